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
    assert!(
        directo.xmlcore_requests().is_empty(),
        "nothing asked of Directo"
    );
    assert!(
        smaily.smaily_requests().is_empty(),
        "nothing sent to Smaily"
    );
}

/// The bodies of the subscriber upserts Smaily received (`POST /api/contact.php`), as JSON.
fn upserts(smaily: &FakeSmaily) -> Vec<serde_json::Value> {
    smaily
        .smaily_requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("contact.php"))
        .flat_map(
            |r| match serde_json::from_str::<serde_json::Value>(&r.body).unwrap() {
                serde_json::Value::Array(rows) => rows,
                row => vec![row],
            },
        )
        .collect()
}

#[tokio::test]
async fn an_emptied_attribute_reaches_smaily_as_a_clear_and_a_never_set_one_is_not_sent() {
    use common::directo::customer;
    let directo = directo_client::fake::FakeDirecto::start().await;
    let mut ann = customer("C1", "ann@example.com", "Ann", "", "2024-03-01T10:00:00");
    ann.phone = Some("+3725550001".into());
    let bob = customer("C2", "bob@example.com", "Bob", "", "2024-03-01T10:00:00");
    directo.seed_customers([ann.clone(), bob]);
    let smaily = FakeSmaily::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = sync_bin::write_file(
        dir.path(),
        "config.toml",
        "[smaily]\nrequests_per_second = 0\n[mapping.fields]\nname = \"name\"\nphone = \"phone\"\n",
    );
    let run = |args: &[&str]| {
        common::directo_to_smaily::command(&directo, Some(&smaily), dir.path(), args)
    };
    let args = ["--config", &config, "--since", "2024-01-01", "--json"];
    let (code, summary, output) = sync_bin::run(run(&args)).await;
    assert_eq!(
        (code, summary["delivered"].clone()),
        (0, serde_json::json!(2)),
        "{}",
        stderr(&output)
    );
    let first = upserts(&smaily);
    let bob_row = first
        .iter()
        .find(|r| r["email"] == "bob@example.com")
        .unwrap();
    assert!(
        bob_row.get("phone").is_none(),
        "a phone Directo never had is not sent: {bob_row}"
    );

    // Ann's phone is emptied in Directo.
    ann.phone = None;
    ann.ts = Some("2024-03-02T10:00:00".parse().unwrap());
    directo.seed_customers([ann]);
    let before = upserts(&smaily).len();
    let (code, summary, output) = sync_bin::run(run(&args)).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 1, "{summary}");
    let second = upserts(&smaily);
    let ann_row = second[before..]
        .iter()
        .find(|r| r["email"] == "ann@example.com")
        .unwrap_or_else(|| panic!("Ann re-sent: {second:?}"));
    assert_eq!(
        ann_row["phone"], "",
        "the emptied phone is cleared: {ann_row}"
    );
}

/// Issue 20 point 7: Smaily refusing the credentials is a run that failed, in the run log with
/// its error (`--status` exits 1 and shows it), the new state file kept for it; still a
/// credentials error (exit 2). A missing variable, found before any request, leaves nothing.
#[tokio::test]
async fn smaily_refusing_the_credentials_is_a_failed_run_in_the_status() {
    use crate::common::directo_to_smaily::{BIN, command, directo_with_customers};
    let directo = directo_with_customers(5).await;
    let smaily = smaily_client::fake::FakeSmaily::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(
        &directo,
        Some(&smaily),
        dir.path(),
        &["--state", "s.db", "--json"],
    );
    cmd.env("SMAILY_PASSWORD", "wrong");
    let (code, error, output) = sync_bin::run(cmd).await;
    assert_eq!(code, 2, "{}", sync_bin::stderr(&output));
    let said = error["error"].as_str().unwrap().to_owned();
    assert!(said.contains("Smaily refused the credentials"), "{said}");
    let mut status = sync_bin::command(BIN, dir.path());
    status.args(["--state", "s.db", "--status", "--json"]);
    let (code, status, output) = sync_bin::run(status).await;
    assert_eq!(
        code,
        1,
        "the last run failed: {}",
        sync_bin::stderr(&output)
    );
    let runs = status["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{status}");
    assert_eq!(runs[0]["status"], "failed", "{status}");
    assert_eq!(runs[0]["aborted"], said.as_str(), "{status}");
    // Found before any request: no state file.
    let other = dir.path().join("other.db");
    let no_user = command(
        &directo,
        None,
        dir.path(),
        &["--state", other.to_str().unwrap(), "--json"],
    );
    let (code, _, output) = sync_bin::run(no_user).await;
    assert_eq!(code, 2, "{}", sync_bin::stderr(&output));
    assert!(!other.exists());
}

/// Issue 20 point 7: a run refused by Directo itself (a wrong token: the request went out) is a
/// failed run in the log, like a refused Smaily password, not a state file removed as if
/// nothing had happened.
#[tokio::test]
async fn directo_refusing_the_token_is_a_failed_run_in_the_status() {
    use crate::common::directo_to_smaily::{BIN, command, directo_with_customers};
    let directo = directo_with_customers(5).await;
    let smaily = FakeSmaily::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(
        &directo,
        Some(&smaily),
        dir.path(),
        &["--state", "s.db", "--json"],
    );
    cmd.env("DIRECTO_TOKEN", "wrong");
    let (code, error, output) = sync_bin::run(cmd).await;
    assert_eq!(code, 2, "{}", stderr(&output));
    let said = error["error"].as_str().unwrap().to_owned();
    let mut status = sync_bin::command(BIN, dir.path());
    status.args(["--state", "s.db", "--status", "--json"]);
    let (code, status, output) = sync_bin::run(status).await;
    assert_eq!(code, 1, "the last run failed: {}", stderr(&output));
    let runs = status["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{status}");
    assert_eq!(runs[0]["status"], "failed", "{status}");
    assert_eq!(runs[0]["aborted"], said.as_str(), "{status}");
}
