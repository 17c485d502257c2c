//! What `messaging directo-orders` reads from Directo per run, in a steady state (run with
//! `cargo bench -p sync-examples --bench directo_orders`; `-- <receipts per day>` to change the
//! volume, default 1,000).
//!
//! The Directo fake holds 90 days of invoices and receipts, `per_day` of each a day: every
//! invoice is paid by one receipt an hour after it was written. A first run establishes the
//! state (watermark, snapshots, and the receipts it keeps); then 20 new receipts arrive, paying
//! 20 older invoices, and a second run picks them up. For each run: Directo requests, and the
//! records Directo returned, per kind of read.

use std::collections::BTreeMap;
use std::path::Path;

use directo_client::fake::FakeDirecto;
use directo_client::{Invoice, InvoiceRow, Query, Receipt, ReceiptRow, ToRecord};
use futures::TryStreamExt;
use jiff::SignedDuration;
use jiff::civil::DateTime;
use messaging_client::fake::{FakeMessaging, FakeService as _};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_messaging");
const DAYS: i64 = 90;
const NEW_RECEIPTS: i64 = 20;

fn invoice(number: i64, ts: DateTime) -> directo_client::Record {
    let mut invoice = Invoice {
        number: Some(number),
        customercode: Some(format!("C{}", number % 5000)),
        date: Some(ts.date()),
        currency: Some("EUR".into()),
        email: Some(format!("customer{}@example.com", number % 5000)),
        ts: Some(ts),
        rows: vec![InvoiceRow {
            item: Some("SKU-1".into()),
            description: Some("Product".into()),
            quantity: Some(1.into()),
            price: Some(rust_decimal::Decimal::new(2500, 2)),
            ..Default::default()
        }],
        ..Default::default()
    };
    invoice.extra.insert("total".into(), "25.00".into());
    invoice.to_output_record()
}

fn receipt(number: i64, invoice: i64, received: &str, ts: DateTime) -> directo_client::Record {
    Receipt {
        number: Some(number),
        confirmed: Some(true),
        ts: Some(ts),
        rows: vec![ReceiptRow {
            invoice: Some(invoice),
            received: Some(received.parse().unwrap()),
            ..Default::default()
        }],
        ..Default::default()
    }
    .to_output_record()
}

/// What one run cost on the Directo side: requests and records returned, by read.
#[derive(Debug, Default)]
struct Reads {
    requests: usize,
    records: BTreeMap<String, (usize, usize)>,
}

/// Replays the requests Directo received since `from` (same filters, same fake) to count what
/// each one returned.
async fn reads(directo: &FakeDirecto, from: usize) -> Reads {
    let requests = directo.xmlcore_requests();
    let client = directo.client();
    let mut out = Reads::default();
    for r in &requests[from..] {
        let what = r.param("what").unwrap_or_default().to_owned();
        let mut query = Query::new();
        let mut label = what.clone();
        if let Some(ts) = r.param("ts") {
            let since = DateTime::strptime("%d.%m.%Y %H:%M", ts)
                .or_else(|_| {
                    jiff::civil::Date::strptime("%d.%m.%Y", ts)
                        .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
                })
                .unwrap();
            query = query.since(since);
            label.push_str(" by ts");
        }
        if let Some(number) = r.param("number") {
            query = query.filter("number", number);
            label.push_str(" by number");
        }
        let records: Vec<directo_client::Record> =
            client.records(&what, query).try_collect().await.unwrap();
        let entry = out.records.entry(label).or_default();
        entry.0 += 1;
        entry.1 += records.len();
        out.requests += 1;
    }
    out
}

async fn run(dir: &Path, directo: &FakeDirecto, messaging: &FakeMessaging) -> Value {
    let output = tokio::process::Command::new(BIN)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env("DIRECTO_URL", directo.base_url())
        .env("DIRECTO_TOKEN", FakeDirecto::TOKEN)
        .env_remove("DIRECTO_KEY")
        .env("MESSAGING_BASE_URL", messaging.base_url())
        .env("MESSAGING_API_KEY", messaging.credentials().expose())
        .arg("directo-orders")
        .arg("--state")
        .arg(dir.join("state.db"))
        .arg("--json")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The state file's size with its write-ahead log, in KiB.
fn state_kib(dir: &Path) -> u64 {
    ["state.db", "state.db-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(dir.join(name)).ok())
        .map(|m| m.len())
        .sum::<u64>()
        / 1024
}

fn print(title: &str, summary: &Value, reads: &Reads, dir: &Path) {
    println!("## {title}");
    println!(
        "Directo requests {} · orders read {} · delivered {} · skipped {} · run {:.2} s · state file {} KiB",
        reads.requests,
        summary["read"],
        summary["delivered"],
        summary["skipped"],
        summary["elapsed_secs"].as_f64().unwrap_or_default(),
        state_kib(dir)
    );
    for (label, (requests, records)) in &reads.records {
        println!("  {label}: {requests} request(s), {records} record(s)");
    }
}

#[tokio::main]
async fn main() {
    let per_day: i64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000);
    let tz = jiff::tz::TimeZone::get("Europe/Tallinn").unwrap();
    let now = jiff::Timestamp::now().to_zoned(tz).datetime();
    let start = now
        .checked_sub(SignedDuration::from_hours(24 * DAYS))
        .unwrap();
    let step = SignedDuration::from_secs(86_400 / per_day);
    let directo = FakeDirecto::start().await;
    let (mut invoices, mut receipts) = (Vec::new(), Vec::new());
    for n in 0..DAYS * per_day {
        // Written two hours ago at the latest, paid an hour later.
        let ts = start
            .checked_add(step * (n as i32))
            .unwrap()
            .checked_sub(SignedDuration::from_hours(2))
            .unwrap();
        let number = 1_000_000 + n;
        invoices.push(invoice(number, ts));
        receipts.push(receipt(
            number,
            number,
            "25.00",
            ts.checked_add(SignedDuration::from_hours(1)).unwrap(),
        ));
    }
    directo.seed_records("invoice", invoices);
    directo.seed_records("receipt", receipts);
    let messaging = FakeMessaging::start().await;
    let dir = tempfile::tempdir().unwrap();
    println!(
        "# directo-orders: {DAYS} days × {per_day} invoices and receipts a day, then {NEW_RECEIPTS} new receipts"
    );

    let first = run(dir.path(), &directo, &messaging).await;
    print("first run", &first, &reads(&directo, 0).await, dir.path());

    // 20 new receipts since the last run, each paying (again) an invoice of a month ago.
    // (Counting the first run's reads sent requests of its own: the second run's start after.)
    let seen = directo.xmlcore_requests().len();
    let new_receipts = (0..NEW_RECEIPTS).map(|i| {
        let invoice = 1_000_000 + (DAYS - 30) * per_day + i * 7;
        receipt(9_000_000 + i, invoice, "0.01", now)
    });
    directo.seed_records("receipt", new_receipts);
    let second = run(dir.path(), &directo, &messaging).await;
    print(
        "steady-state run (20 new receipts)",
        &second,
        &reads(&directo, seen).await,
        dir.path(),
    );
}
