//! Issue 20, `messaging contacts push`: a column naming a custom field the account does not have
//! is refused before the first write (exit 2, naming it and the nearest field), not found one
//! record at a time.

use crate::common;

use common::sync_bin::{self, stderr};

use messaging_client::fake::FakeMessaging;

const BIN: &str = env!("CARGO_BIN_EXE_messaging");

#[tokio::test]
async fn a_column_the_field_catalogue_lacks_is_refused_before_the_first_write() {
    let fake = FakeMessaging::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = sync_bin::write_file(
        dir.path(),
        "contacts.csv",
        "email;firstName;Gendr\nann@example.com;Ann;F\nbob@example.com;Bob;M\n",
    );
    let mut cmd = sync_bin::command(BIN, dir.path());
    cmd.env("MESSAGING_BASE_URL", fake.base_url())
        .env("MESSAGING_API_KEY", fake.api_key())
        .args(["contacts", "push", &file]);
    let (code, _, output) = sync_bin::run(cmd).await;
    let err = stderr(&output);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the messaging account has no custom field \"Gendr\" (column \"Gendr\"; did you mean \"Gender\"?)"),
        "{err}"
    );
    assert!(
        fake.requests().iter().all(|r| r.method == "GET"),
        "nothing written: {:?}",
        fake.requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
}
