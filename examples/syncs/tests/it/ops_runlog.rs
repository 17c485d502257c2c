//! End to end, issue 20 point 7: every run is in the run log from its start, with its error,
//! even when it fails before its first record; and another live run of the job is found before
//! any request is sent.

use smaily_client::fake::FakeService as _;
use smaily_client::fake::FakeSmaily;

use crate::common::directo_to_smaily::{command, directo_with_customers};
use crate::common::sync_bin::{self, stderr};

const JOB: &str = "directo-to-smaily";

async fn status_of(dir: &std::path::Path) -> serde_json::Value {
    let mut cmd = sync_bin::command(crate::common::directo_to_smaily::BIN, dir);
    cmd.args(["--state", "s.db", "--status", "--json"]);
    let (_, status, output) = sync_bin::run(cmd).await;
    assert_eq!(status["kind"], "status", "{}", stderr(&output));
    status
}

#[tokio::test]
async fn a_run_that_fails_before_its_first_record_is_logged_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let directo = directo_with_customers(5).await;
    let smaily = FakeSmaily::start().await;
    // Directo unreachable: a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let mut cmd = command(
        &directo,
        Some(&smaily),
        dir.path(),
        &["--state", "s.db", "--json"],
    );
    cmd.env("DIRECTO_URL", &url);
    let (code, error, output) = sync_bin::run(cmd).await;
    assert_eq!(code, 1, "{}", stderr(&output));
    assert_eq!(error["kind"], "error");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("reading Directo failed"),
        "{error}"
    );
    // The new state file is not left empty: it holds the failed run, with its error.
    let status = status_of(dir.path()).await;
    let runs = status["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{status}");
    assert_eq!(runs[0]["status"], "failed");
    assert_eq!(runs[0]["mode"], "run");
    assert!(
        runs[0]["aborted"]
            .as_str()
            .unwrap()
            .contains("reading Directo failed"),
        "{status}"
    );
    assert!(runs[0]["finished_at"].is_string(), "{status}");
    // It took what the client's retries took, not "0.00 s".
    assert!(runs[0]["elapsed_secs"].as_f64().unwrap() > 0.5, "{status}");
    // The next run is logged as a run of its own, after the failed one.
    let (code, _, output) = sync_bin::run(command(
        &directo,
        Some(&smaily),
        dir.path(),
        &["--state", "s.db", "--json"],
    ))
    .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    let status = status_of(dir.path()).await;
    let runs = status["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{status}");
    assert_eq!(runs[0]["status"], "completed");
    assert_eq!(runs[1]["status"], "failed");
}

#[tokio::test]
async fn another_live_run_of_the_job_is_refused_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    drop(sync_kit::StateStore::open(&path).unwrap());
    // Another process's run of the job, still alive, as it would have written its row.
    let mut other = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO runs (job, mode, status, started_at, heartbeat_at, pid, host)
             VALUES (?1, 'run', 'running', ?2, ?2, ?3, ?4)",
            rusqlite::params![
                JOB,
                jiff::Timestamp::now().to_string(),
                other.id(),
                sync_kit::process::ProcessId::current().host
            ],
        )
        .unwrap();
    let directo = directo_with_customers(5).await;
    let smaily = FakeSmaily::start().await;
    let (code, error, output) = sync_bin::run(command(
        &directo,
        Some(&smaily),
        dir.path(),
        &["--state", "s.db", "--json"],
    ))
    .await;
    other.kill().unwrap();
    other.wait().unwrap();
    assert_eq!(code, 2, "{}", stderr(&output));
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("is already running"),
        "{error}"
    );
    // Nothing was asked of either service: not even Smaily's credentials check.
    assert_eq!(directo.xmlcore_requests().len(), 0);
    assert_eq!(smaily.request_count(), 0);
}
