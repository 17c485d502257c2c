//! Benchmark of the `directo-to-smaily` binary against the fakes (run with
//! `cargo bench -p sync-examples --bench directo_to_smaily`; `-- <records>` to change the count).
//!
//! 1. Throughput: 100,000 Directo customers to the Smaily fake, rate limit off: records/s, peak
//!    memory (VmHWM of the sync process) and request count.
//! 2. Pacing: 10,000 customers with the real limit of 5 requests/s: the run must take no more
//!    than 5% longer than the bound the limit sets (requests / 5 s), i.e. the pipeline keeps the
//!    API busy.
//! 3. State backends: the same customers, rate limit off, with the state in SQLite and in
//!    PostgreSQL (`SYNC_BENCH_POSTGRES_URL`, else the test cluster's URL in
//!    /tmp/sync-test-postgres.url from `.ci/postgres.sh`), side by side in one process: both
//!    times, PG / SQLite (target ≤ 1.5), and PostgreSQL transactions per batch (the server's
//!    `xact_commit`). The test cluster runs with `fsync=off`. `-- backends` runs this part alone.

use std::time::Instant;

use directo_client::fake::FakeDirecto;
use serde_json::Value;
use smaily_client::fake::{FAKE_PASSWORD, FAKE_USER, FakeService as _, FakeSmaily};
use sync_examples::shared::demo_customers as demo;

const BIN: &str = env!("CARGO_BIN_EXE_directo-to-smaily");

async fn run(
    customers: usize,
    requests_per_second: u32,
    enforce: Option<u32>,
) -> (Value, f64, u64) {
    run_on(customers, requests_per_second, enforce, None).await
}

/// The run, its state in the SQLite file of a fresh directory or in `state_url`.
async fn run_on(
    customers: usize,
    requests_per_second: u32,
    enforce: Option<u32>,
    state_url: Option<&str>,
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
        .arg(match state_url {
            Some(url) => std::ffi::OsString::from(url),
            None => dir.path().join("state.db").into_os_string(),
        })
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

/// A fresh database on the bench's PostgreSQL; its URL and the admin URL.
fn fresh_database() -> Option<(String, String)> {
    let admin = std::env::var("SYNC_BENCH_POSTGRES_URL").ok().or_else(|| {
        std::fs::read_to_string("/tmp/sync-test-postgres.url")
            .ok()
            .map(|u| u.trim().to_owned())
    })?;
    let name = format!("sync_bench_{}", std::process::id());
    sync_kit::state::pg::off_runtime(|| {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).ok()?;
        // Two statements: CREATE DATABASE cannot run in the implicit transaction of a batch.
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .ok()?;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .ok()
    })?;
    let (base, _) = admin.rsplit_once('/')?;
    Some((format!("{base}/{name}"), admin))
}

/// Transactions committed in `database` so far (the server's statistics, flushed first).
fn commits(admin: &str, database: &str) -> i64 {
    let database = database.rsplit_once('/').unwrap().1.to_owned();
    sync_kit::state::pg::off_runtime(|| {
        let mut client = postgres::Client::connect(admin, postgres::NoTls).unwrap();
        client
            .batch_execute("SELECT pg_stat_force_next_flush()")
            .ok();
        client
            .batch_execute("SELECT pg_stat_clear_snapshot()")
            .unwrap();
        client
            .query_one(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = $1",
                &[&database],
            )
            .unwrap()
            .get(0)
    })
}

async fn backends(count: usize) {
    let Some((url, admin)) = fresh_database() else {
        panic!("no PostgreSQL for the state-backend bench: run `bash .ci/postgres.sh`");
    };
    let (sqlite, _, _) = run_on(count, 0, None, None).await;
    let before = commits(&admin, &url);
    let (pg, _, _) = run_on(count, 0, None, Some(&url)).await;
    // Give the server's statistics collector a moment to see the last commits.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let transactions = commits(&admin, &url) - before;
    let (sqlite_secs, pg_secs) = (
        sqlite["elapsed_secs"].as_f64().unwrap(),
        pg["elapsed_secs"].as_f64().unwrap(),
    );
    let batches = count.div_ceil(500) as f64;
    println!("## state backends: {count} customers, rate limit off, batches of 500");
    println!(
        "SQLite {sqlite_secs:.2} s · PostgreSQL {pg_secs:.2} s · PG/SQLite {:.2}× (target ≤ 1.5×) · \
         server round trips {transactions} by `xact_commit` ({:.2} per batch of {batches} \
         batches: each statement's prepare and execute, and each BEGIN…COMMIT, count one; the \
         run's start, claim, heartbeats and end included; one write transaction per batch) · \
         fsync=off on the test cluster",
        pg_secs / sqlite_secs,
        transactions as f64 / batches,
    );
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    // `-- backends` runs the state-backend comparison alone.
    if std::env::args().any(|a| a == "backends") {
        backends(count).await;
        return;
    }

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

    backends(count).await;

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
