//! Benchmark of the `segment-to-splio` binary against a Splio fake holding a large universe (run
//! with `cargo bench -p sync-examples --bench segment_to_splio`; `-- <contacts> <rows>` to change
//! the sizes, default 1,000,000 contacts and a 50,000-row segment).
//!
//! 1. First run of the segment (`--insert`): 90% of its rows are contacts Splio already holds,
//!    spread over the universe, 10% are new. No state yet, so every key is unknown.
//! 2. The next run, with 10 rows changed.
//!
//! For each: requests the fake received (authentication included), the run's time, and the
//! sync process's peak memory (`VmHWM`, from its `--json` summary). Rate limit off, so the time
//! is the work, not the 20 requests/s Splio allows (at that rate, divide the requests by 20 for
//! the wall time).

use std::path::Path;
use std::time::Instant;

use serde_json::Value;
use splio_client::fake::FakeService as _;
use splio_client::fake::FakeSplio;
use splio_client::{ContactData, FieldType};

const BIN: &str = env!("CARGO_BIN_EXE_segment-to-splio");

fn segment(rows: usize, contacts: usize, changed: usize) -> String {
    let mut text = String::from("email,firstname,tier,score\n");
    let existing = rows - rows / 10;
    let stride = (contacts / existing.max(1)).max(1);
    for i in 0..rows {
        let email = if i < existing {
            format!("c{}@example.com", i * stride)
        } else {
            format!("new{i}@example.com")
        };
        let tier = if i < changed { "silver" } else { "gold" };
        text.push_str(&format!("{email},First{i},{tier},{}\n", i % 100));
    }
    text
}

async fn run(fake: &FakeSplio, dir: &Path, label: &str) -> Value {
    let before = fake.request_count();
    let started = Instant::now();
    let output = tokio::process::Command::new(BIN)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env("SPLIO_BASE_URL", fake.base_url())
        .env("SPLIO_API_KEY", fake.credentials().expose())
        .env_remove("SYNC_CONFIG")
        .env_remove("SYNC_STATE")
        .arg(dir.join("segment.csv"))
        .arg("--insert")
        .arg("--config")
        .arg(dir.join("config.toml"))
        .arg("--state")
        .arg(dir.join("state.db"))
        .arg("--json")
        .output()
        .await
        .unwrap();
    let wall = started.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    println!(
        "{label}: read {} · delivered {} · skipped {} · failed {} · requests {} (the sync counted {}) · run {:.2} s ({wall:.2} s with process start) · peak memory {} KiB",
        summary["read"],
        summary["delivered"],
        summary["skipped"],
        summary["failed"],
        fake.request_count() - before,
        summary["requests"],
        summary["elapsed_secs"].as_f64().unwrap_or(0.0),
        summary["peak_memory_kib"],
    );
    summary
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let contacts = sizes.first().copied().unwrap_or(1_000_000);
    let rows = sizes.get(1).copied().unwrap_or(50_000);

    let fake = FakeSplio::start().await;
    fake.record_requests(false);
    fake.seed_field("tier", FieldType::Text);
    fake.seed_field("score", FieldType::Text);
    let seeding = Instant::now();
    for i in 0..contacts {
        fake.seed_contact(ContactData::with_email(format!("c{i}@example.com")));
    }
    println!(
        "## a universe of {contacts} contacts (seeded in {:.1} s), a segment of {rows} rows",
        seeding.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[job]\nbatch_size = 500\nconcurrency = 2\n[splio]\nrate_limit = false\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("segment.csv"), segment(rows, contacts, 0)).unwrap();
    let first = run(&fake, dir.path(), "first run").await;
    assert_eq!(first["delivered"], rows as u64);
    assert_eq!(fake.contacts().len(), contacts + rows / 10);

    std::fs::write(dir.path().join("segment.csv"), segment(rows, contacts, 10)).unwrap();
    let next = run(&fake, dir.path(), "10 rows changed").await;
    assert_eq!(next["delivered"], 10);
}
