//! End to end: the built `messaging directo-orders` against the Directo and messaging fakes
//! started here (and a fault-injecting proxy in front of the messaging fake), on loopback.

use crate::common;

use common::sync_bin::{self, dry_run_items, stderr};

use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::Ordering;

use common::directo::{invoice, receipt};
use directo_client::fake::FakeDirecto;
use messaging_client::fake::{FakeMessaging, FakeService as _};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_messaging");

struct World {
    directo: FakeDirecto,
    messaging: FakeMessaging,
    messaging_url: String,
    dir: tempfile::TempDir,
}

impl World {
    /// The fakes, seeded with: 1001 paid in full (two receipts), 1002 half paid and older,
    /// 1003 without an email, 1004 with a total that is not a number, `A-5` with a number that
    /// is not one, 1006 unpaid with a fractional and an empty row.
    async fn start() -> World {
        let directo = FakeDirecto::start().await;
        directo.seed_records(
            "invoice",
            [
                invoice(
                    "1001",
                    "ann@example.com",
                    "12.50",
                    "2024-03-01T10:00:00",
                    &[
                        ("SKU-1", "Mug", "2", "5.00"),
                        ("SKU-2", "Spoon", "1", "2.50"),
                    ],
                ),
                invoice(
                    "1002",
                    "bob@example.com",
                    "40.00",
                    "2024-02-20T09:00:00",
                    &[("SKU-3", "Teapot", "1", "40.00")],
                ),
                invoice("1003", "", "9.00", "2024-03-01T11:00:00", &[]),
                invoice("1004", "cy@example.com", "ten", "2024-03-01T11:00:00", &[]),
                invoice("A-5", "dee@example.com", "5", "2024-03-01T11:00:00", &[]),
                invoice(
                    "1006",
                    "eve@example.com",
                    "7.75",
                    "2024-03-01T12:00:00",
                    &[
                        ("SKU-4", "Tea", "2.5", "3.10"),
                        ("", "delivery note", "0", "0"),
                        ("", "", "1", "1"),
                    ],
                ),
            ],
        );
        directo.seed_records(
            "receipt",
            [
                receipt(1, "1001", "10.00", "2024-03-01T12:00:00"),
                receipt(2, "1001", "2.50", "2024-03-01T13:00:00"),
                receipt(3, "1002", "20.00", "2024-02-21T09:00:00"),
            ],
        );
        let messaging = FakeMessaging::start().await;
        let messaging_url = messaging.base_url();
        World {
            directo,
            messaging,
            messaging_url,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config(&self, job: &str) -> String {
        let text = format!(
            "[job]\n{job}\n[job.retry]\nattempts = 1\ndelay = \"1ms\"\n\
             [messaging]\nretries = 0\nretry_delay = \"1ms\"\n"
        );
        sync_bin::write_file(self.dir.path(), "config.toml", &text)
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = sync_bin::command(BIN, self.dir.path());
        cmd.env_remove("DIRECTO_KEY")
            .envs(common::directo::env(&self.directo))
            .env("MESSAGING_BASE_URL", &self.messaging_url)
            .env("MESSAGING_API_KEY", self.messaging.credentials().expose())
            .arg("directo-orders")
            .args(args);
        cmd
    }

    async fn run(&self, args: &[&str]) -> (i32, Value, Output) {
        sync_bin::run(self.command(args)).await
    }

    fn order_posts(&self) -> usize {
        self.messaging
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/orders"))
            .count()
    }
}

#[tokio::test]
async fn invoices_become_orders_paid_ones_delivered_and_reruns_send_only_news() {
    let world = World::start().await;
    let args = ["--since", "2024-02-01", "--json"];
    let (code, summary, output) = world.run(&args).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["read"], 6);
    assert_eq!(summary["delivered"], 3);
    assert_eq!(summary["filtered"], 3);
    let reasons = summary["filtered_by_reason"].as_object().unwrap();
    // An invoice number that is not a number is a record the client cannot decode.
    for reason in [
        "no email",
        "invalid total",
        r#"field "number" cannot be decoded"#,
    ] {
        assert_eq!(reasons[reason], 1, "{reasons:?}");
    }
    assert_eq!(summary["watermark_after"], "2024-03-01T12:00:00");

    let orders = world.messaging.orders();
    assert_eq!(
        orders.keys().collect::<Vec<_>>(),
        ["1001", "1002", "1006"],
        "bad invoices do not stop the rest"
    );
    let paid = &orders["1001"];
    assert_eq!(paid["status"], "DELIVERED", "two receipts cover 12.50");
    assert_eq!(paid["totalCost"].as_f64(), Some(12.5));
    assert_eq!(paid["currency"], "EUR");
    assert_eq!(paid["email"], "ann@example.com");
    assert_eq!(paid["externalCustomerId"], "C-1001");
    assert_eq!(paid["date"], "2024-03-01T00:00:00+02:00");
    assert_eq!(
        paid["items"],
        json!([
            {"externalItemId": "SKU-1", "name": "Mug", "description": "Mug", "quantity": 2, "cost": 5.0},
            {"externalItemId": "SKU-2", "name": "Spoon", "description": "Spoon", "quantity": 1, "cost": 2.5},
        ])
    );
    assert_eq!(orders["1002"]["status"], "INITIALIZED", "half paid");
    let unpaid = &orders["1006"];
    assert_eq!(unpaid["status"], "INITIALIZED");
    assert_eq!(
        unpaid["items"],
        json!([{"externalItemId": "SKU-4", "name": "Tea", "description": "Tea", "quantity": 3, "cost": 3.1}]),
        "2.5 rounds to 3; the zero and the empty row are skipped"
    );

    // Nothing changed: nothing is sent (the watermark minus the overlap re-reads, the
    // snapshot skips).
    let posts = world.order_posts();
    let (code, summary, _) = world.run(&["--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(summary["read_from"], "2024-03-01T06:00:00");
    assert_eq!(summary["delivered"], 0);
    assert_eq!(summary["skipped"], 2, "1001 and 1006 re-read, unchanged");
    assert_eq!(world.order_posts(), posts, "no order sent again");

    // The rest of 1002 is paid now: the old invoice is read again by number and goes out
    // DELIVERED, although the invoice itself did not change.
    world.directo.seed_records(
        "receipt",
        [receipt(4, "1002", "20.00", "2024-03-02T08:00:00")],
    );
    let (code, summary, output) = world.run(&["--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 1);
    assert_eq!(world.messaging.orders()["1002"]["status"], "DELIVERED");
    assert!(
        world
            .directo
            .xmlcore_requests()
            .iter()
            .any(|r| r.param("what") == Some("invoice") && r.param("number") == Some("1002")),
        "re-read by number"
    );
}

#[tokio::test]
async fn server_errors_park_orders_that_replay_delivers() {
    let world = World::start().await;
    let proxy = common::proxy::start(world.messaging_url.trim_end_matches("/api")).await;
    let world = World {
        messaging_url: format!("{}/api", proxy.url),
        ..world
    };
    let config = world.config("batch_size = 1\nconcurrency = 1");
    // Request 1 is the credentials check; then every second request fails with a 500.
    proxy.faults.fail_every.store(2, Ordering::SeqCst);
    let (code, summary, output) = world
        .run(&["--since", "2024-02-01", "--config", &config, "--json"])
        .await;
    assert_eq!(code, 1, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 1);
    assert_eq!(summary["failed"], 2);
    assert_eq!(summary["parked_total"], 2);
    assert_eq!(world.messaging.orders().len(), 1);
    assert!(
        summary["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("500"),
        "{summary}"
    );

    proxy.faults.fail_every.store(0, Ordering::SeqCst);
    let (code, summary, output) = world
        .run(&["--replay-failed", "--config", &config, "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 2);
    assert_eq!(summary["parked_total"], 0);
    let orders = world.messaging.orders();
    assert_eq!(orders.len(), 3);
    assert_eq!(orders["1001"]["status"], "DELIVERED");
    assert_eq!(orders["1006"]["status"], "INITIALIZED");
}

/// `n` more invoices, numbered from 5001, each for one 10.00 item, all unpaid.
fn seed_many(directo: &FakeDirecto, n: usize) -> Vec<String> {
    let numbers: Vec<String> = (5001..5001 + n).map(|i| i.to_string()).collect();
    directo.seed_records(
        "invoice",
        numbers.iter().map(|number| {
            invoice(
                number,
                &format!("c{number}@example.com"),
                "10.00",
                "2024-03-02T10:00:00",
                &[("SKU-9", "Thing", "1", "10.00")],
            )
        }),
    );
    numbers
}

/// Orders the messaging fake received, counted per `externalOrderId` over every POST.
fn posted_per_order(messaging: &FakeMessaging) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for request in messaging.requests() {
        if request.method != "POST" || !request.path.ends_with("/orders") {
            continue;
        }
        let body = crate::common::json_body(&request);
        let orders = body["orders"].as_array().cloned().unwrap_or_default();
        for order in orders {
            let id = order["externalOrderId"].as_str().unwrap().to_owned();
            *counts.entry(id).or_default() += 1;
        }
    }
    counts
}

#[tokio::test]
async fn twenty_percent_server_errors_lose_nothing() {
    let world = World::start().await;
    let numbers = seed_many(&world.directo, 400);
    let proxy = common::proxy::start(world.messaging_url.trim_end_matches("/api")).await;
    let world = World {
        messaging_url: format!("{}/api", proxy.url),
        ..world
    };
    let config = world.config("batch_size = 10\nconcurrency = 2");
    proxy.faults.fail_every.store(5, Ordering::SeqCst);
    let (code, summary, output) = world
        .run(&["--since", "2024-02-01", "--config", &config, "--json"])
        .await;
    assert!(
        proxy.faults.failed.load(Ordering::SeqCst) >= 5,
        "{}",
        stderr(&output)
    );
    let delivered = summary["delivered"].as_u64().unwrap();
    let failed = summary["failed"].as_u64().unwrap();
    // 400 + 1001, 1002 and 1006 are sendable; the other three seeded invoices are filtered.
    assert_eq!(delivered + failed, 403, "{}", stderr(&output));
    assert!(failed > 0);
    assert_eq!(code, 1);
    assert_eq!(world.messaging.orders().len() as u64, delivered);

    proxy.faults.fail_every.store(0, Ordering::SeqCst);
    let (code, summary, output) = world
        .run(&["--replay-failed", "--config", &config, "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"].as_u64().unwrap(), failed);
    let orders = world.messaging.orders();
    assert_eq!(orders.len(), 403);
    assert!(numbers.iter().all(|n| orders[n]["status"] == "INITIALIZED"));
}

#[tokio::test]
async fn killed_mid_run_then_rerun_loses_nothing() {
    let world = World::start().await;
    let numbers = seed_many(&world.directo, 600);
    let config = world.config("batch_size = 10\nconcurrency = 2");
    world
        .messaging
        .set_delay(Some(std::time::Duration::from_millis(20)));
    let args = ["--since", "2024-02-01", "--config", &config];
    let mut child = world.command(&args).spawn().unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while world.messaging.orders().len() < 100 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never got going"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.start_kill().unwrap();
    assert!(!child.wait().await.unwrap().success());
    assert!(
        world.messaging.orders().len() < 603,
        "killed before the end"
    );

    world.messaging.set_delay(None);
    let (code, summary, output) = world
        .run(&["--since", "2024-02-01", "--config", &config, "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["failed"], 0);
    let orders = world.messaging.orders();
    assert_eq!(orders.len(), 603, "nothing lost");
    assert!(numbers.iter().all(|n| orders.contains_key(n)));
    // The watermark did not move (the first run never completed), so the rerun reads the same
    // invoices; those delivered before the kill are unchanged and skipped, so only orders in
    // flight at the kill (at most `concurrency` batches) can reach the service twice, and an
    // order upsert by `externalOrderId` makes that harmless.
    let posted = posted_per_order(&world.messaging);
    assert_eq!(posted.len(), 603);
    let twice = posted.values().filter(|&&n| n > 1).count();
    assert!(twice <= 2 * 10, "{twice} orders sent twice");
    assert!(summary["skipped"].as_u64().unwrap() >= 100 - 20);
}

#[tokio::test]
async fn dry_run_sends_nothing_and_changes_no_state() {
    let world = World::start().await;
    let output = world
        .command(&["--since", "2024-02-01", "--dry-run"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = dry_run_items(&output);
    assert_eq!(printed.len(), 3);
    assert!(printed.iter().any(|o| o["externalOrderId"] == "1001"
        && o["status"] == "DELIVERED"
        && o["totalCost"].as_f64() == Some(12.5)));
    // The wire format: money as an exact number, the date with its offset and no zone name.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(r#""totalCost":12.50"#), "{stdout}");
    assert!(!stdout.contains("[Europe/Tallinn]"), "{stdout}");
    assert!(
        world.messaging.requests().is_empty(),
        "not even the account"
    );
    assert!(!world.path("sync-state.db").exists());
}

#[tokio::test]
async fn credentials_and_sandbox() {
    let world = World::start().await;
    let output = world
        .command(&["--since", "2024-02-01"])
        .env("DIRECTO_TOKEN", "wrong")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("Directo refused the credentials"));
    assert!(world.messaging.orders().is_empty());

    let output = world
        .command(&[])
        .env_remove("DIRECTO_TOKEN")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("DIRECTO_KEY or DIRECTO_TOKEN"));

    let output = world
        .command(&["--sandbox", "--json"])
        .env_remove("DIRECTO_TOKEN")
        .env_remove("MESSAGING_API_KEY")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["read"], 500);
    assert_eq!(summary["filtered"], 30);
    assert_eq!(summary["delivered"], 470);
}

/// The `ts` filters of the receipt reads Directo received, in order.
fn receipt_reads(directo: &FakeDirecto) -> Vec<String> {
    directo
        .xmlcore_requests()
        .iter()
        .filter(|r| r.param("what") == Some("receipt"))
        .map(|r| r.param("ts").unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn later_runs_read_only_the_receipts_changed_since_the_watermark() {
    let world = World::start().await;
    let (code, _, output) = world.run(&["--since", "2024-02-01", "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    // The first run reads 90 days of receipts before its start, to sum payments made in parts.
    assert_eq!(receipt_reads(&world.directo), ["03.11.2023 00:00"]);

    let (code, summary, output) = world.run(&["--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["read_from"], "2024-03-01T06:00:00");
    assert_eq!(
        receipt_reads(&world.directo),
        ["03.11.2023 00:00", "01.03.2024 06:00"],
        "no lookback once the receipts are in the state"
    );
    assert_eq!(summary["delivered"], 0, "{summary:#}");

    // The receipts are kept per receipt and row: a payment read by an earlier run still
    // counts. 1002 was half paid on 21.02 (read by the first run only); the rest arrives now.
    world.directo.seed_records(
        "receipt",
        [receipt(4, "1002", "20.00", "2024-03-02T08:00:00")],
    );
    let (code, summary, output) = world.run(&["--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 1);
    assert_eq!(world.messaging.orders()["1002"]["status"], "DELIVERED");
    assert_eq!(receipt_reads(&world.directo)[2], "01.03.2024 06:00");
    let by_number = |directo: &FakeDirecto| {
        directo
            .xmlcore_requests()
            .iter()
            .filter(|r| r.param("number") == Some("1002"))
            .count()
    };
    assert_eq!(by_number(&world.directo), 1);

    // The next run reads receipt 4 again (the overlap), but 1002's order already says
    // DELIVERED: the invoice is not read again.
    let (code, summary, _) = world.run(&["--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(summary["delivered"], 0);
    assert_eq!(by_number(&world.directo), 1);
}

#[tokio::test]
async fn an_edited_receipt_replaces_its_earlier_contribution() {
    let world = World::start().await;
    // 1007 (30.00) was paid in full by receipt 5 on 25.02.
    world.directo.seed_records(
        "invoice",
        [invoice(
            "1007",
            "fay@example.com",
            "30.00",
            "2024-02-20T09:00:00",
            &[("SKU-7", "Kettle", "1", "30.00")],
        )],
    );
    world.directo.seed_records(
        "receipt",
        [receipt(5, "1007", "30.00", "2024-02-25T09:00:00")],
    );
    let (code, _, output) = world.run(&["--since", "2024-02-01", "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(world.messaging.orders()["1007"]["status"], "DELIVERED");

    // Receipt 5 is corrected to 10.00: it replaces what it paid, it does not add to it.
    world.directo.seed_records(
        "receipt",
        [receipt(5, "1007", "10.00", "2024-03-02T09:00:00")],
    );
    let (code, summary, output) = world.run(&["--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 1, "{summary:#}");
    assert_eq!(world.messaging.orders()["1007"]["status"], "INITIALIZED");
    let state = sync_kit::StateStore::open_read_only(&world.path("sync-state.db")).unwrap();
    assert_eq!(
        state
            .contributions_to("messaging-directo-orders", "1007")
            .unwrap(),
        [("receipt 5".to_owned(), "10.00".parse().unwrap())]
    );

    // Unconfirmed, it pays nothing any more.
    let mut unconfirmed = receipt(1, "1001", "10.00", "2024-03-02T10:00:00");
    unconfirmed.attrs.insert("confirmed".into(), "0".into());
    world.directo.seed_records("receipt", [unconfirmed]);
    let (code, _, output) = world.run(&["--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(world.messaging.orders()["1001"]["status"], "INITIALIZED");
}

#[tokio::test]
async fn a_state_without_kept_receipts_reads_the_lookback_again() {
    let world = World::start().await;
    let (code, _, output) = world.run(&["--since", "2024-02-01", "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    // A state file from before the receipts were kept has a watermark but no receipts.
    rusqlite::Connection::open(world.path("sync-state.db"))
        .unwrap()
        .execute("DELETE FROM contributions", [])
        .unwrap();
    let (code, _, output) = world.run(&["--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(
        receipt_reads(&world.directo),
        ["03.11.2023 00:00", "02.12.2023 06:00"]
    );
}

#[tokio::test]
async fn status_of_the_job() {
    let world = World::start().await;
    let (code, _, _) = world.run(&["--since", "2024-02-01", "--json"]).await;
    assert_eq!(code, 0);
    let (code, status, output) = world.run(&["--status", "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(status["job"], "messaging-directo-orders");
    assert_eq!(status["watermark"], "2024-03-01T12:00:00");
    assert_eq!(status["next_read_from"], "2024-03-01T06:00:00");
    assert_eq!(status["runs"][0]["read_from"], "2024-02-01T00:00:00");
    assert_eq!(status["runs"][0]["delivered"], 3);
}
