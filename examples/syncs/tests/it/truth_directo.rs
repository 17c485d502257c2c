//! Issue 20, `directo-to-smaily` and the configuration errors every sync shares: a mapping key
//! Directo's customers do not have is refused before any request (exit 2), naming it and the
//! nearest attribute.

use crate::common;

use common::sync_bin::{self, stderr};

use smaily_client::fake::FakeSmaily;

#[tokio::test]
async fn a_mapping_typo_is_refused_before_any_request_naming_the_nearest_attribute() {
    let directo = common::directo_to_smaily::directo_with_customers(5).await;
    let smaily = FakeSmaily::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = sync_bin::write_file(
        dir.path(),
        "config.toml",
        "[mapping.fields]\nphnoe = \"phone\"\nname = \"name\"\n",
    );
    let cmd = common::directo_to_smaily::command(
        &directo,
        Some(&smaily),
        dir.path(),
        &["--config", &config],
    );
    let (code, _, output) = sync_bin::run(cmd).await;
    let err = stderr(&output);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "mapping.fields.phnoe: Directo's customer export has no attribute \"phnoe\"; did you \
             mean \"phone\"?"
        ),
        "{err}"
    );
    assert!(directo.requests().is_empty(), "nothing asked of Directo");
    assert!(smaily.requests().is_empty(), "nothing sent to Smaily");
}
