//! Benchmark of the `directo-to-smaily` binary against the fakes (run with
//! `cargo bench -p sync-examples --bench directo_to_smaily`; `-- <records>` to change the count).
//!
//! 1. Throughput: 100,000 Directo customers to the Smaily fake, rate limit off: records/s, peak
//!    memory (VmHWM of the sync process) and request count.
//! 2. Pacing: 10,000 customers with the real limit of 5 requests/s: the run must take no more
//!    than 5% longer than the bound the limit sets (requests / 5 s), i.e. the pipeline keeps the
//!    API busy.

use std::time::Instant;

use directo_client::fake::FakeDirecto;
use serde_json::Value;
use smaily_client::fake::{FAKE_PASSWORD, FAKE_USER, FakeSmaily};
use sync_examples::shared::demo_customers as demo;

const BIN: &str = env!("CARGO_BIN_EXE_directo-to-smaily");

async fn run(
    customers: usize,
    requests_per_second: u32,
    enforce: Option<u32>,
) -> (Value, f64, u64) {
    let directo = FakeDirecto::start().await;
    let now = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Tallinn").unwrap())
        .datetime();
    sync_examples::shared::directo::seed(&directo, &demo::customers(customers, now, 600));
    let smaily = FakeSmaily::start().await;
    smaily.record_requests(false);
    smaily.enforce_rate_limit(enforce);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[job]\nbatch_size = 500\nconcurrency = 2\n[smaily]\nrequests_per_second = {requests_per_second}\n"),
    )
    .unwrap();
    let started = Instant::now();
    let output = tokio::process::Command::new(BIN)
        .current_dir(dir.path())
        .env("RUST_LOG", "warn")
        .env("DIRECTO_URL", directo.base_url())
        .env("DIRECTO_TOKEN", FakeDirecto::TOKEN)
        .env_remove("DIRECTO_KEY")
        .env("SMAILY_BASE_URL", smaily.base_url())
        .env("SMAILY_USER", FAKE_USER)
        .env("SMAILY_PASSWORD", FAKE_PASSWORD)
        .arg("--config")
        .arg(&config)
        .arg("--state")
        .arg(dir.path().join("state.db"))
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
    assert_eq!(summary["delivered"], demo::deliverable(customers) as u64);
    assert_eq!(smaily.subscriber_count(), demo::deliverable(customers));
    (summary, wall, smaily.rate_limited_count())
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);

    let (s, wall, _) = run(count, 0, None).await;
    let secs = s["elapsed_secs"].as_f64().unwrap();
    println!("## throughput: {count} customers, rate limit off");
    println!(
        "read {} · delivered {} · filtered {} · requests {} · run {:.2} s ({:.2} s with process start) · {:.0} records/s · peak memory {} KiB",
        s["read"],
        s["delivered"],
        s["filtered"],
        s["requests"],
        secs,
        wall,
        count as f64 / secs,
        s["peak_memory_kib"]
    );

    let paced = (count / 10).clamp(1_000, 10_000);
    let (s, _, limited) = run(paced, 5, None).await;
    let secs = s["elapsed_secs"].as_f64().unwrap();
    let requests = s["requests"].as_u64().unwrap();
    let bound = requests as f64 / 5.0;
    // smaily-client's limiter has no burst: one request every 1.02 s / 5 (2% headroom, so no
    // 1-second window ever sees more than 5), the credentials check taking the first slot.
    let spaced = requests as f64 * 1.02 / 5.0;
    println!("## pacing: {paced} customers, 5 requests/s");
    println!(
        "requests {requests} · bound {bound:.2} s (the limiter's spacing: {spaced:.2} s) · run {secs:.2} s · {:+.1}% vs bound · 429s {limited}",
        (secs / bound - 1.0) * 100.0
    );
    assert!(
        secs <= bound * 1.05,
        "the run took more than 5% over the rate-limit bound"
    );
}
