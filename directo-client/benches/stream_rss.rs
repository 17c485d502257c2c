//! Peak memory while streaming a large generated customer dump from the fake: the client reads
//! `what=customer` over loopback HTTP and parses while the body arrives, so the peak resident
//! set (VmHWM) must stay flat whatever the size.
//!
//! `cargo bench -p directo-client --features fake --bench stream_rss`
//! (`DIRECTO_RSS_MB=256` for a smaller run; default 1024 MB).

use std::time::Instant;

use directo_client::Query;
use directo_client::fake::FakeDirecto;
use futures::TryStreamExt;

/// A field of /proc/self/status, in kB (Linux only; 0 elsewhere).
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let target_mb: u64 = std::env::var("DIRECTO_RSS_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let fake = FakeDirecto::start().await;
    let client = fake.client();

    // Bytes per record on the wire: ask the fake for 1,000 and measure the raw HTTP body.
    fake.generate_customers(Some(1_000));
    let mut body = Vec::new();
    {
        let resp = reqwest::Client::new()
            .post(fake.base_url())
            .form(&[
                ("token", FakeDirecto::TOKEN),
                ("get", "1"),
                ("what", "customer"),
            ])
            .send()
            .await
            .expect("raw probe");
        body.extend_from_slice(&resp.bytes().await.expect("raw probe body"));
    }
    let per_record = (body.len() as u64 / 1_000).max(1);
    drop(body);
    let count = target_mb * 1024 * 1024 / per_record;
    fake.generate_customers(Some(count));

    let baseline_hwm = status_kb("VmHWM:");
    let baseline_rss = status_kb("VmRSS:");
    println!(
        "streaming {count} customers (~{per_record} B each, ~{target_mb} MB) from the fake; \
         baseline VmRSS {baseline_rss} kB, VmHWM {baseline_hwm} kB"
    );

    let started = Instant::now();
    let step = (count / 10).max(1);
    let mut stream = std::pin::pin!(client.customers(Query::new()));
    let mut seen: u64 = 0;
    let mut with_email: u64 = 0;
    let mut samples = Vec::new();
    while let Some(c) = stream.try_next().await.expect("stream") {
        seen += 1;
        with_email += u64::from(c.email().is_some());
        if seen.is_multiple_of(step) {
            samples.push((seen, status_kb("VmRSS:")));
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(seen, count, "every generated customer arrives");
    let peak = status_kb("VmHWM:");
    let mb = (count * per_record) as f64 / (1024.0 * 1024.0);
    println!(
        "read {seen} customers ({with_email} with e-mail), {mb:.0} MB in {:.1} s: {:.1} MB/s, {:.0} records/s",
        elapsed.as_secs_f64(),
        mb / elapsed.as_secs_f64(),
        seen as f64 / elapsed.as_secs_f64()
    );
    for (n, rss) in &samples {
        println!("  after {n:>9} records: VmRSS {rss} kB");
    }
    println!(
        "peak VmHWM {peak} kB ({:.1} MB); growth over baseline {} kB",
        peak as f64 / 1024.0,
        peak.saturating_sub(baseline_hwm)
    );
}
