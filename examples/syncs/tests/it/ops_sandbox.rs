//! End to end, issue 20 "What to add": the sandbox tells the truth after a kill. Its fakes are
//! saved before each batch is recorded, so a `kill -9` followed by a rerun shows what really
//! arrived: the fake ends up holding every deliverable subscriber, never fewer than the state
//! file says were delivered.

use std::process::Stdio;

use crate::common::sync_bin::{self, send_signal, stderr, wait_until, write_file};

const BIN: &str = env!("CARGO_BIN_EXE_directo-to-smaily");

fn delivered_so_far(db: &std::path::Path) -> i64 {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("SELECT count(*) FROM snapshots", [], |r| r.get(0)))
        .unwrap_or(0)
}

#[tokio::test]
async fn a_sandbox_killed_mid_run_then_rerun_holds_what_was_recorded() {
    let dir = tempfile::tempdir().unwrap();
    // Small batches, one at a time: the run takes long enough to be killed half-way.
    let config = write_file(
        dir.path(),
        "c.toml",
        "[job]\nbatch_size = 25\nconcurrency = 1\n",
    );
    let args = ["--sandbox", "--state", "s.db"];
    let mut cmd = sync_bin::command(BIN, dir.path());
    cmd.args(args)
        .args(["--config", config.as_str()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let db = dir.path().join("s.db");
    wait_until(60, "some batches recorded", || delivered_so_far(&db) >= 200).await;
    send_signal(child.id().unwrap(), "KILL");
    child.wait().await.unwrap();
    let recorded = delivered_so_far(&db);
    let deliverable = sync_examples::shared::demo_customers::deliverable(
        sync_examples::directo_to_smaily::SANDBOX_CUSTOMERS,
    );
    assert!(recorded < deliverable as i64, "killed half-way: {recorded}");

    // The rerun (default batches) sends the rest; the fake, restored from its file, then
    // holds them all.
    let mut cmd = sync_bin::command(BIN, dir.path());
    cmd.args(args);
    let (code, _, output) = sync_bin::run(cmd).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains(&format!(
            "the Smaily fake now holds {deliverable} subscribers"
        )),
        "recorded {recorded} before the kill; {said}"
    );
}
