//! End to end: the sandboxes as the guides use them. With `--state` the fakes keep their state
//! beside the state file, so a second run and the `send` → `status` flow behave as against the
//! real services; the segment guide's own `[mapping]` example runs against the Splio sandbox.

use crate::common::sync_bin::{self, stderr};

use std::path::Path;

use serde_json::Value;
use sync_examples::shared::demo_customers as demo;

const DIRECTO_TO_SMAILY: &str = env!("CARGO_BIN_EXE_directo-to-smaily");
const SPLIO: &str = env!("CARGO_BIN_EXE_segment-to-splio");
const MESSAGING: &str = env!("CARGO_BIN_EXE_messaging");

async fn run(bin: &str, dir: &Path, args: &[&str]) -> (i32, Value, std::process::Output) {
    let mut cmd = sync_bin::command(bin, dir);
    cmd.args(args);
    sync_bin::run(cmd).await
}

#[tokio::test]
async fn the_documented_second_sandbox_run_skips_everything_and_the_fake_keeps_its_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--sandbox", "--state", "demo.db", "--json"];
    let (code, first, output) = run(DIRECTO_TO_SMAILY, dir.path(), &args).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    let deliverable = demo::deliverable(sync_examples::directo_to_smaily::SANDBOX_CUSTOMERS) as u64;
    assert_eq!(first["delivered"], deliverable);
    assert!(dir.path().join("demo.db.sandbox.json").exists());

    let (code, second, output) = run(DIRECTO_TO_SMAILY, dir.path(), &args).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(second["delivered"], 0, "{second:#}");
    let read = second["read"].as_u64().unwrap();
    assert!(read > 0);
    assert_eq!(
        second["skipped"].as_u64().unwrap() + second["filtered"].as_u64().unwrap(),
        read
    );
    // The table's sandbox line counts what the fake holds after both runs.
    let (code, _, output) = run(
        DIRECTO_TO_SMAILY,
        dir.path(),
        &["--sandbox", "--state", "demo.db"],
    )
    .await;
    assert_eq!(code, 0);
    assert!(
        stderr(&output).contains(&format!("holds {deliverable} subscribers")),
        "{}",
        stderr(&output)
    );

    // A dry run changes no state, the sandbox's included.
    let before = std::fs::read(dir.path().join("demo.db.sandbox.json")).unwrap();
    let (code, _, _) = run(
        DIRECTO_TO_SMAILY,
        dir.path(),
        &["--sandbox", "--state", "demo.db", "--dry-run", "--force"],
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read(dir.path().join("demo.db.sandbox.json")).unwrap(),
        before
    );
}

#[tokio::test]
async fn a_sandbox_send_then_status_finds_the_sent_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (code, summary, output) = run(
        MESSAGING,
        dir.path(),
        &[
            "send",
            "7",
            "--sandbox",
            "--state",
            "demo.db",
            "--request-ids",
            "ids.csv",
            "--json",
        ],
    )
    .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert!(summary["delivered"].as_u64().unwrap() > 0);
    let ids = std::fs::read_to_string(dir.path().join("ids.csv")).unwrap();
    let first: Vec<&str> = ids
        .lines()
        .take(3)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    let mut args = vec!["status"];
    args.extend(&first);
    args.extend(["--sandbox", "--state", "demo.db", "--json"]);
    let (code, statuses, output) = run(MESSAGING, dir.path(), &args).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    let statuses = statuses.as_array().unwrap();
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert!(statuses.iter().all(|s| s["status"] == "DELIVERED"));

    // A second send skips everyone: they got the message, and the fake still knows them.
    let (code, summary, _) = run(
        MESSAGING,
        dir.path(),
        &["send", "7", "--sandbox", "--state", "demo.db", "--json"],
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(summary["delivered"], 0);
}

/// The TOML of the guide's configuration reference.
fn guide_config() -> String {
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/segment-to-splio.md"
    ))
    .unwrap();
    let section = &guide[guide.find("## Configuration reference").unwrap()..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + section[start..].find("```").unwrap();
    section[start..end].to_owned()
}

#[tokio::test]
async fn the_segment_guides_mapping_example_runs_against_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let config = sync_bin::write_file(dir.path(), "vip.toml", &guide_config());
    assert!(config.contains("vip.toml"));
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/segment-to-splio.md"
    ))
    .unwrap();
    let start = guide.find("```csv\n").expect("the guide's example segment") + "```csv\n".len();
    let csv = &guide[start..start + guide[start..].find("```").unwrap()];
    let rows = csv.lines().count() as u64 - 1;
    let file = sync_bin::write_file(dir.path(), "vip.csv", csv);
    let (code, summary, output) = run(
        SPLIO,
        dir.path(),
        &[
            &file,
            "--sandbox",
            "--insert",
            "--config",
            &config,
            "--json",
        ],
    )
    .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], rows, "{summary:#}");
    assert_eq!(summary["failed"], 0);
}
