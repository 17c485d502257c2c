//! End to end, issue 20 "What to add": `--status` is a health check. Exit 0 healthy; 1 when
//! the job's last run failed or was interrupted, or records are parked; 2 when the state file
//! or the job does not exist. It lists every job in the state, shows discarded keys, and says
//! no "watermark none" above completed runs of a source without one.

use std::path::Path;

use serde_json::{Map, Value, json};
use sync_kit::state::Begun;
use sync_kit::{Item, Mode, StateStore, Summary};

use crate::common::sync_bin::{self, stderr, write_file};

const BIN: &str = env!("CARGO_BIN_EXE_directo-to-smaily");
const JOB: &str = "directo-to-smaily";

async fn status(dir: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut cmd = sync_bin::command(BIN, dir);
    cmd.args(["--state", "s.db", "--status", "--json"])
        .args(extra);
    let (code, json, _) = sync_bin::run(cmd).await;
    let mut cmd = sync_bin::command(BIN, dir);
    cmd.args(["--state", "s.db", "--status"]).args(extra);
    let (table_code, _, output) = sync_bin::run(cmd).await;
    assert_eq!(
        code, table_code,
        "the table and --json agree on the exit code"
    );
    let shown = String::from_utf8_lossy(&output.stdout).into_owned() + &stderr(&output);
    (code, json, shown)
}

fn item(key: &str) -> Item {
    let mut fields = Map::new();
    fields.insert("email".into(), json!(key));
    Item {
        key: key.into(),
        fields,
    }
}

#[tokio::test]
async fn status_is_a_health_check() {
    let dir = tempfile::tempdir().unwrap();
    // No state file: exit 2, and none is created.
    let (code, json, shown) = status(dir.path(), &[]).await;
    assert_eq!(code, 2, "{shown}");
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("no state file at s.db"),
        "{json}"
    );
    assert!(!dir.path().join("s.db").exists());

    // A completed run: healthy.
    let mut cmd = sync_bin::command(BIN, dir.path());
    cmd.args(["--sandbox", "--state", "s.db", "--json"]);
    let (code, _, output) = sync_bin::run(cmd).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    let (code, json, shown) = status(dir.path(), &[]).await;
    assert_eq!(code, 0, "{shown}");
    assert_eq!(json["health"]["exit_code"], 0, "{json}");
    assert_eq!(json["health"]["problems"], json!([]));
    assert!(shown.contains("health           ok"), "{shown}");

    // A job the state file does not have: exit 2, naming the jobs it has.
    let config = write_file(dir.path(), "other.toml", "[job]\nname = \"other-job\"\n");
    let (code, json, shown) = status(dir.path(), &["--config", &config]).await;
    assert_eq!(code, 2, "{shown}");
    let error = json["error"].as_str().unwrap();
    assert!(
        error.contains("job other-job has no runs in s.db"),
        "{error}"
    );
    assert!(error.contains("jobs there: directo-to-smaily"), "{error}");

    // A parked record: exit 1.
    let state = StateStore::open(&dir.path().join("s.db")).unwrap();
    state
        .record_outcomes(JOB, &[], &[(item("p@example.com"), "HTTP 503".into(), 3)])
        .unwrap();
    let (code, json, shown) = status(dir.path(), &[]).await;
    assert_eq!(code, 1, "{shown}");
    assert_eq!(json["health"]["exit_code"], 1);
    assert!(
        json["health"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("1 record parked"),
        "{json}"
    );
    assert!(
        shown.contains("health           FAILING: 1 record parked"),
        "{shown}"
    );

    // Discarded: healthy again, and the discarded key is shown.
    let mut cmd = sync_bin::command(BIN, dir.path());
    cmd.args(["--state", "s.db", "--discard-failed", "p@example.com"]);
    let (code, _, output) = sync_bin::run(cmd).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    let (code, json, shown) = status(dir.path(), &[]).await;
    assert_eq!(code, 0, "{shown}");
    assert_eq!(json["runs"][0]["mode"], "discard_failed");
    assert_eq!(json["runs"][0]["discarded"], json!(["p@example.com"]));
    assert!(shown.contains("discarded p@example.com"), "{shown}");

    // A run that failed: exit 1, with its error.
    let Begun::Started(_) = state.claim_run(JOB, Mode::Run).unwrap() else {
        panic!("not claimed");
    };
    state
        .fail_claim(JOB, "reading Directo failed: connection refused")
        .unwrap();
    let (code, json, shown) = status(dir.path(), &[]).await;
    assert_eq!(code, 1, "{shown}");
    let problem = json["health"]["problems"][0].as_str().unwrap();
    assert!(problem.contains("the last run failed"), "{problem}");
    assert!(problem.contains("connection refused"), "{problem}");

    // Every job of the state file is listed; a job whose source has no watermark (a file)
    // and whose runs completed is not shown "none (no completed run yet)".
    let file_job = "segment-to-splio";
    state.claim_run(file_job, Mode::Run).unwrap();
    let mut done = Summary::new(file_job, Mode::Run);
    done.finish(std::time::Duration::from_millis(5));
    state.finish_claim(file_job, &done).unwrap();
    let (_, json, _) = status(dir.path(), &[]).await;
    let jobs: Vec<&str> = json["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job"].as_str().unwrap())
        .collect();
    assert_eq!(jobs, [JOB, file_job], "{json}");
    let config = write_file(
        dir.path(),
        "file.toml",
        &format!("[job]\nname = \"{file_job}\"\n"),
    );
    let (code, _, shown) = status(dir.path(), &["--config", &config]).await;
    assert_eq!(code, 0, "{shown}");
    assert!(!shown.contains("no completed run yet"), "{shown}");
    assert!(shown.contains("watermark        none kept"), "{shown}");
}
