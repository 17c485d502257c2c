//! Reading what a sync binary printed: its exit code, its `--json` summary, its dry-run batches
//! and its stderr.
#![allow(dead_code)] // each test binary uses a part

use std::process::Output;

use serde_json::Value;

/// Stderr, for assertion messages.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code and the `--json` summary on stdout (`Null` when there is none).
pub fn code_and_summary(output: &Output) -> (i32, Value) {
    let code = output.status.code().unwrap_or(-1);
    let summary = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
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
