//! Issue 20, `messaging contacts push`: a column naming a custom field the account does not have
//! is refused before the first write (exit 2, naming it and the nearest field), not found one
//! record at a time.

use crate::common;

use common::sync_bin::{self, stderr};

use messaging_client::fake::{FakeMessaging, FakeService as _};

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
        .env("MESSAGING_API_KEY", fake.credentials().expose())
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

/// Issue 20 point 7: the messaging API refusing the key (the setup's account check) is a run
/// that failed, in the run log with its error: `--status` shows it (exit 1) and the new state
/// file is kept; still a credentials error (exit 2).
#[tokio::test]
async fn the_api_refusing_the_key_is_a_failed_run_in_the_status() {
    let fake = FakeMessaging::start().await;
    let dir = tempfile::tempdir().unwrap();
    let orders = sync_bin::write_file(
        dir.path(),
        "orders.csv",
        "externalOrderId,email,status,totalCost,currency,date\nO1,a@example.com,DELIVERED,1,EUR,2024-03-01\n",
    );
    let mut cmd = sync_bin::command(BIN, dir.path());
    cmd.env("MESSAGING_BASE_URL", fake.base_url())
        .env("MESSAGING_API_KEY", "wrong")
        .args(["orders", "push", &orders, "--state", "s.db", "--json"]);
    let (code, error, output) = sync_bin::run(cmd).await;
    assert_eq!(code, 2, "{}", stderr(&output));
    let said = error["error"].as_str().unwrap().to_owned();
    let mut status = sync_bin::command(BIN, dir.path());
    status.args(["orders", "push", "--state", "s.db", "--status", "--json"]);
    let (code, status, output) = sync_bin::run(status).await;
    assert_eq!(code, 1, "the last run failed: {}", stderr(&output));
    let runs = status["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{status}");
    assert_eq!(runs[0]["status"], "failed", "{status}");
    assert_eq!(runs[0]["aborted"], said.as_str(), "{status}");
}
