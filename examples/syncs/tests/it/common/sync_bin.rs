//! Running a sync binary as the tests do, and reading what it printed: its exit code, its
//! `--json` summary, its dry-run requests and its stderr.

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

/// Every line of stdout as JSON; a line that is not JSON fails the test (`--json` and
/// `--dry-run` print JSON lines only).
pub fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line: {line:?}: {e}"))
        })
        .collect()
}

/// The exit code and the `--json` output: the last `summary` or `error` line (a sync), or the
/// one line a one-shot command printed (`Null` when there is none).
pub fn code_and_summary(output: &Output) -> (i32, Value) {
    let code = output.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let summary = lines
        .iter()
        .rev()
        .find(|v| matches!(v["kind"].as_str(), Some("summary" | "error")))
        .cloned()
        .or_else(|| (lines.len() == 1).then(|| lines[0].clone()))
        .unwrap_or(Value::Null);
    (code, summary)
}

/// The requests a dry run printed (its `"kind": "request"` lines), in order.
pub fn dry_run_requests(output: &Output) -> Vec<Value> {
    json_lines(output)
        .into_iter()
        .filter(|line| line["kind"] == "request")
        .collect()
}

/// Every record in the request bodies a dry run printed: the body's elements when it is an
/// array, the elements of its `orders`, `contacts` or `recipients` list, else the body itself
/// (one PATCH).
pub fn dry_run_items(output: &Output) -> Vec<Value> {
    dry_run_requests(output)
        .into_iter()
        .flat_map(|request| match &request["body"] {
            Value::Array(items) => items.clone(),
            body => ["orders", "contacts", "recipients"]
                .iter()
                .find_map(|list| body[list].as_array().cloned())
                .unwrap_or_else(|| vec![body.clone()]),
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
