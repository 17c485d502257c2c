//! End to end, issue 20 point 1: a `--since` in the future is refused, and an explicit earlier
//! `--since` moves the watermark back to the newest change time it read.

use crate::common::sync_bin::{self, stderr};

const BIN: &str = env!("CARGO_BIN_EXE_directo-to-smaily");

async fn run(dir: &std::path::Path, args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut cmd = sync_bin::command(BIN, dir);
    cmd.args(args);
    let (code, json, output) = sync_bin::run(cmd).await;
    (code, json, stderr(&output))
}

#[tokio::test]
async fn a_future_since_is_a_usage_error_and_an_earlier_since_moves_the_watermark_back() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = ["--sandbox", "--state", "s.db", "--json"];

    let future = [&sandbox[..], &["--since", "2030-01-01"]].concat();
    let (code, error, err) = run(dir.path(), &future).await;
    assert_eq!(code, 2, "{err}");
    assert_eq!(error["kind"], "error", "{error}");
    let text = error["error"].as_str().unwrap();
    assert!(
        text.contains("--since 2030-01-01T00:00:00 is in the future"),
        "{text}"
    );
    // Nothing was stored: the new state file is not left behind (README: exit 2), nor the
    // sandbox's file beside it.
    assert!(!dir.path().join("s.db").exists());
    assert!(!dir.path().join("s.db.sandbox.json").exists());

    // A first plain run, then an explicit `--since` long before the watermark.
    let (code, first, err) = run(dir.path(), &sandbox).await;
    assert_eq!(code, 0, "{err}");
    let watermark = first["watermark_after"].as_str().unwrap().to_owned();
    let (code, again, err) = run(
        dir.path(),
        &[&sandbox[..], &["--since", "2024-01-01"]].concat(),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(again["read_from"], "2024-01-01T00:00:00");
    assert!(again["read"].as_u64().unwrap() > 0, "{again}");
    // The newest change time read: the same records, so the same watermark (never 2024, never
    // a point in the future).
    assert_eq!(again["watermark_after"], watermark.as_str(), "{again}");
    let now = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Tallinn").unwrap())
        .datetime();
    assert!(watermark.parse::<jiff::civil::DateTime>().unwrap() <= now);
}
