//! Running a sync binary as the tests do, and reading what it printed: its exit code, its
//! `--json` summary, its dry-run batches and its stderr.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

/// `bin` started in `dir` with none of the caller's sync settings (`SYNC_CONFIG`, `SYNC_STATE`),
/// warnings only, and killed if the test drops it; tests add service variables and arguments.
pub fn command(bin: &str, dir: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.current_dir(dir)
        .env_remove("SYNC_CONFIG")
        .env_remove("SYNC_STATE")
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    cmd
}

/// Writes `text` to the file `name` in `dir` (a config, a segment) and returns its path, ready
/// to be passed as an argument.
pub fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Runs `cmd` to the end: the exit code, the `--json` summary and all it printed.
pub async fn run(mut cmd: tokio::process::Command) -> (i32, Value, Output) {
    let output = cmd.output().await.unwrap();
    let (code, summary) = code_and_summary(&output);
    (code, summary, output)
}

/// Stderr, for assertion messages.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code and the `--json` output: all of stdout, or the summary object that ends it
/// after dry-run batches (`Null` when there is none).
pub fn code_and_summary(output: &Output) -> (i32, Value) {
    let code = output.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = serde_json::from_str(&stdout)
        .ok()
        .or_else(|| {
            let last = stdout.rfind("\n{")?;
            serde_json::from_str(&stdout[last + 1..]).ok()
        })
        .unwrap_or(Value::Null);
    (code, summary)
}

/// Every item a dry run printed (one JSON array per batch, one batch per line).
pub fn dry_run_items(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .flat_map(|line| match serde_json::from_str::<Value>(line) {
            Ok(Value::Array(items)) => items,
            other => panic!("not a batch: {line:?} ({other:?})"),
        })
        .collect()
}

/// Sends `signal` (`TERM`, `INT`, `KILL`) to process `pid` with the system's `kill`, as systemd,
/// cron or a terminal would.
pub fn send_signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -s {signal} {pid}");
}

/// Waits (polling every 10 ms, at most `secs` seconds) until `done` holds.
pub async fn wait_until(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
