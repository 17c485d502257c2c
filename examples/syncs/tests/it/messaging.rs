//! End to end: the built `messaging` binary against the messaging fake started here (and a
//! fault-injecting proxy in front of it), on loopback.

use crate::common;

use common::sync_bin::{self, dry_run_items, stderr};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::Ordering;
use std::time::Duration;

use messaging_client::fake::{FakeMessaging, FakeService as _};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_messaging");

struct World {
    fake: FakeMessaging,
    dir: tempfile::TempDir,
    base_url: String,
}

impl World {
    async fn start() -> World {
        let fake = FakeMessaging::start().await;
        let base_url = fake.base_url();
        World {
            fake,
            dir: tempfile::tempdir().unwrap(),
            base_url,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> String {
        sync_bin::write_file(self.dir.path(), name, text)
    }

    fn config(&self, job: &str, attempts: u32) -> String {
        self.write(
            "config.toml",
            &format!(
                "[job]\n{job}\n[job.retry]\nattempts = {attempts}\ndelay = \"1ms\"\n\
                 [messaging]\nretries = 0\nretry_delay = \"1ms\"\n"
            ),
        )
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = sync_bin::command(BIN, self.dir.path());
        cmd.env("MESSAGING_BASE_URL", &self.base_url)
            .env("MESSAGING_API_KEY", self.fake.credentials().expose())
            .args(args);
        cmd
    }

    async fn run(&self, args: &[&str]) -> (i32, Value, Output) {
        sync_bin::run(self.command(args)).await
    }
}

/// `n` orders as CSV; every 25th row is bad (a rotating fault: amount, status, date, customer).
fn orders_csv(n: usize) -> (String, usize) {
    let mut text = String::from("externalOrderId,email,status,totalCost,currency,date\n");
    let mut bad = 0;
    for i in 0..n {
        let (mut email, mut status, mut cost, mut date) = (
            format!("c{}@example.com", i % 300),
            "DELIVERED".to_owned(),
            format!("{}.50", i),
            "2024-03-01T10:00:00+02:00".to_owned(),
        );
        if i % 25 == 3 {
            bad += 1;
            match (i / 25) % 4 {
                0 => cost = "12.5x".into(),
                1 => status = "SHIPPED".into(),
                2 => date = "last week".into(),
                _ => email = String::new(),
            }
        }
        text.push_str(&format!("O{i},{email},{status},{cost},EUR,{date}\n"));
    }
    (text, n - bad)
}

fn recipients_csv(n: usize) -> String {
    let mut text = String::from("email,discount\n");
    for i in 0..n {
        text.push_str(&format!("r{i}@example.com,{}%\n", i % 30));
    }
    text
}

/// How many times each locator was in a smartsend request the fake received.
fn sends_per_locator(fake: &FakeMessaging) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in fake.requests() {
        if r.method == "POST" && r.path.ends_with("/smartsend") {
            for rec in crate::common::json_body(&r)["recipients"]
                .as_array()
                .into_iter()
                .flatten()
            {
                *counts
                    .entry(rec["locator"].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
        }
    }
    counts
}

#[tokio::test]
async fn orders_push_filters_bad_records_then_rerun_sends_nothing() {
    let world = World::start().await;
    let (csv, good) = orders_csv(500);
    let file = world.write("orders.csv", &csv);
    let (code, summary, output) = world.run(&["orders", "push", &file, "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["read"], 500);
    assert_eq!(summary["filtered"], (500 - good) as u64);
    assert_eq!(summary["delivered"], good as u64);
    assert_eq!(world.fake.orders().len(), good);
    let o = &world.fake.orders()["O10"];
    assert_eq!(o["status"], "DELIVERED");
    assert_eq!(o["totalCost"].as_f64(), Some(10.5));
    assert!(
        world
            .fake
            .requests()
            .iter()
            .any(|r| r.body_text().contains("\"totalCost\":10.50")),
        "money keeps its digits"
    );
    assert_eq!(o["date"], "2024-03-01T10:00:00+02:00");
    let reasons = summary["filtered_by_reason"].as_object().unwrap();
    for reason in [
        "invalid totalCost",
        "invalid status",
        "invalid date",
        "missing customer",
    ] {
        assert!(reasons.contains_key(reason), "{reasons:?}");
    }
    assert!(world.path("sync-state.db").exists(), "default state file");

    // Unchanged records are not sent again; a changed one is.
    world.fake.clear_requests();
    let file = world.write(
        "orders.csv",
        &csv.replace(
            "O10,c10@example.com,DELIVERED,10.50",
            "O10,c10@example.com,CANCELLED,10.50",
        ),
    );
    let (code, summary, _) = world.run(&["orders", "push", &file, "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(summary["delivered"], 1);
    assert_eq!(summary["skipped"], (good - 1) as u64);
    assert_eq!(world.fake.orders()["O10"]["status"], "CANCELLED");
}

#[tokio::test]
async fn dry_run_sends_nothing_and_changes_no_state() {
    let world = World::start().await;
    let (csv, good) = orders_csv(60);
    let file = world.write("orders.csv", &csv);
    let output = world
        .command(&["orders", "push", &file, "--dry-run"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(dry_run_items(&output).len(), good);
    assert!(world.fake.orders().is_empty());
    assert!(!world.path("sync-state.db").exists());
    assert!(
        world.fake.requests().is_empty(),
        "not even the credentials check"
    );
}

#[tokio::test]
async fn twenty_percent_server_errors_lose_nothing() {
    let world = World::start().await;
    let proxy = common::proxy::start(world.base_url.trim_end_matches("/api")).await;
    let world = World {
        base_url: format!("{}/api", proxy.url),
        ..world
    };
    let (csv, good) = orders_csv(1000);
    let file = world.write("orders.csv", &csv);
    let config = world.config("batch_size = 40", 3);
    let (code, _, output) = world.run(&["account"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    proxy.faults.fail_every.store(5, Ordering::SeqCst);
    let (code, summary, output) = world
        .run(&["orders", "push", &file, "--config", &config, "--json"])
        .await;
    assert!(
        proxy.faults.failed.load(Ordering::SeqCst) >= 5,
        "{}",
        stderr(&output)
    );
    let delivered = summary["delivered"].as_u64().unwrap();
    let failed = summary["failed"].as_u64().unwrap();
    assert_eq!(delivered + failed, good as u64, "{}", stderr(&output));
    assert_eq!(code, if failed == 0 { 0 } else { 1 });
    assert_eq!(world.fake.orders().len() as u64, delivered);

    proxy.faults.fail_every.store(0, Ordering::SeqCst);
    let (code, summary, _) = world
        .run(&[
            "orders",
            "push",
            "--replay-failed",
            "--config",
            &config,
            "--json",
        ])
        .await;
    assert_eq!(code, 0);
    assert_eq!(summary["delivered"].as_u64().unwrap(), failed);
    assert_eq!(world.fake.orders().len(), good);
}

#[tokio::test]
async fn failed_sends_are_parked_never_resent_blindly_and_replayed_on_request() {
    let world = World::start().await;
    let proxy = common::proxy::start(world.base_url.trim_end_matches("/api")).await;
    let world = World {
        base_url: format!("{}/api", proxy.url),
        ..world
    };
    let file = world.write(
        "recipients.csv",
        &(recipients_csv(300) + "broken-address,5%\n"),
    );
    // Attempts = 3 in the job: sends must still go once.
    let config = world.config("batch_size = 20", 3);
    proxy.faults.fail_every.store(5, Ordering::SeqCst);
    let args = [
        "send",
        "42",
        "--recipients",
        &file,
        "--config",
        &config,
        "--json",
    ];
    let (code, summary, output) = world.run(&args).await;
    assert_eq!(code, 1, "{}", stderr(&output));
    assert_eq!(summary["filtered"], 1, "the broken address is never sent");
    let failed = summary["failed"].as_u64().unwrap();
    assert!(failed >= 20, "{summary:#}");
    assert_eq!(summary["delivered"].as_u64().unwrap() + failed, 300);
    assert!(
        summary["failures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["attempts"] == 1),
        "a send is tried once"
    );
    let counts = sends_per_locator(&world.fake);
    assert!(
        counts.values().all(|&n| n == 1),
        "one attempt per recipient"
    );

    // A normal re-run neither re-sends the delivered nor the parked recipients.
    proxy.faults.fail_every.store(0, Ordering::SeqCst);
    let (code, summary, _) = world.run(&args).await;
    assert_eq!(code, 0);
    assert_eq!(summary["delivered"], 0);
    assert_eq!(summary["filtered"].as_u64().unwrap(), failed + 1);
    assert_eq!(summary["parked_total"].as_u64().unwrap(), failed);

    // --replay-failed sends exactly the parked ones.
    let ids = world.path("ids.csv");
    let (code, summary, output) = world
        .run(&[
            "send",
            "42",
            "--replay-failed",
            "--config",
            &config,
            "--json",
            "--request-ids",
            ids.to_str().unwrap(),
        ])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"].as_u64().unwrap(), failed);
    let delivered_total = world.fake.message_statuses().len();
    assert_eq!(delivered_total, 300);
    let ids = std::fs::read_to_string(ids).unwrap();
    assert_eq!(ids.lines().count() as u64, failed);

    // Their statuses.
    let first_id = ids
        .lines()
        .next()
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .to_owned();
    let (code, statuses, _) = world.run(&["status", &first_id, "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(statuses[0]["requestId"], first_id.as_str());
}

#[tokio::test]
async fn send_killed_mid_run_then_rerun_sends_nobody_twice() {
    let world = World::start().await;
    let file = world.write("recipients.csv", &recipients_csv(2000));
    let config = world.config("batch_size = 50\nconcurrency = 2", 1);
    world.fake.set_delay(Some(Duration::from_millis(30)));
    let args = ["send", "7", "--recipients", &file, "--config", &config];
    let mut child = world.command(&args).spawn().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while world.fake.message_statuses().len() < 300 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never got going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.start_kill().unwrap();
    assert!(!child.wait().await.unwrap().success());
    assert!(
        world.fake.message_statuses().len() < 2000,
        "killed before the end"
    );

    world.fake.set_delay(None);
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let (code, summary, output) = world.run(&json_args).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    let counts = sends_per_locator(&world.fake);
    assert!(
        counts.values().all(|&n| n == 1),
        "nobody got the message twice"
    );
    // Recipients whose batch was in flight at the kill are parked (outcome unknown), the rest
    // were either skipped (delivered before) or sent now: nothing is lost.
    let unknown = summary["parked_total"].as_u64().unwrap();
    assert!(unknown <= 2 * 50, "{unknown}");
    assert_eq!(
        summary["skipped"].as_u64().unwrap() + summary["delivered"].as_u64().unwrap() + unknown,
        2000
    );
    assert_eq!(summary["filtered"].as_u64().unwrap(), unknown);
    assert!(
        counts.len() as u64 >= 2000 - unknown,
        "everyone not parked got it"
    );
}

#[tokio::test]
async fn contacts_push_resolves_custom_fields_by_name() {
    let world = World::start().await;
    let file = world.write(
        "contacts.csv",
        "email;firstName;Gender;Birthday\nann@example.com;Ann;F;1990-01-31\nbob@example.com;Bob;X;\nnot-an-email;Eve;F;\ncid@example.com;Cid;;\n",
    );
    let (code, summary, output) = world.run(&["contacts", "push", &file, "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 2);
    assert_eq!(summary["filtered"], 2);
    let contacts = world.fake.contacts();
    let ann = contacts
        .values()
        .find(|c| c.to_string().contains("ann@example.com"))
        .unwrap();
    let fields = ann["fields"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .any(|f| f["id"].to_string().contains("15868") && f["value"] == "F"),
        "{ann}"
    );
    assert!(
        fields.iter().any(|f| f["id"].to_string().contains("15867")),
        "{ann}"
    );
}

#[tokio::test]
async fn one_shot_commands() {
    let world = World::start().await;
    let (code, account, _) = world.run(&["account", "--json"]).await;
    assert_eq!(code, 0);
    assert!(account["organisationName"].is_string());

    let (code, _, _) = world
        .run(&["unsubscribe", "add", "a@example.com", "b@example.com"])
        .await;
    assert_eq!(code, 0);
    assert!(world.fake.unsubscribed().contains("b@example.com"));
    let (code, _, _) = world.run(&["unsubscribe", "remove", "a@example.com"]).await;
    assert_eq!(code, 0);
    assert!(!world.fake.unsubscribed().contains("a@example.com"));

    let (code, _, output) = world
        .run(&[
            "event",
            "purchase",
            "--key",
            "b@example.com",
            "--param",
            "amount=10",
            "--param",
            "sku=A=1",
        ])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    let events = world.fake.events();
    assert_eq!(events.len(), 1);
    let body = format!("{:?}", events[0]);
    assert!(body.contains("purchase") && body.contains("A=1"), "{body}");

    let (code, fields, _) = world.run(&["fields", "--json"]).await;
    assert_eq!(code, 0);
    assert!(
        fields
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Gender")
    );
}

#[tokio::test]
async fn exit_code_2_for_usage_and_configuration_errors() {
    let world = World::start().await;
    // Usage.
    let (code, _, _) = world.run(&["event"]).await;
    assert_eq!(code, 2);
    let (code, _, _) = world.run(&["event", "x", "--param", "novalue"]).await;
    assert_eq!(code, 2);
    // Bad input.
    let (code, _, output) = world.run(&["unsubscribe", "add", "nope"]).await;
    assert_eq!(code, 2, "{}", stderr(&output));
    // Missing file, bad config.
    let (code, _, output) = world.run(&["orders", "push", "missing.csv"]).await;
    assert_eq!(code, 2);
    assert!(stderr(&output).contains("missing.csv"));
    let config = world.write("bad.toml", "[job]\nbatch_sise = 3\n");
    let (code, _, _) = world
        .run(&["orders", "push", "--sandbox", "--config", &config])
        .await;
    assert_eq!(code, 2);
    // Wrong key: one line, exit 2, nothing parked.
    let (code, out, output) = world
        .run(&["contacts", "push", "--sandbox", "--json"])
        .await;
    assert_eq!(
        code,
        0,
        "the sandbox needs no credentials: {}",
        stderr(&output)
    );
    assert_eq!(
        out["delivered"].as_u64().unwrap() + out["filtered"].as_u64().unwrap(),
        3000
    );
    let output = world
        .command(&["orders", "push", "--sandbox", "--json"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let wrong = |args: &[&str]| {
        let mut cmd = world.command(args);
        cmd.env("MESSAGING_API_KEY", "wrong-key");
        cmd
    };
    let file = world.write("o.csv", &orders_csv(10).0);
    let output = wrong(&["orders", "push", &file, "--json"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(world.fake.orders().is_empty());
    let output = wrong(&["account", "--json"]).output().await.unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(out["error"].is_string());
    assert_eq!(
        stderr(&output)
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1
    );
    // Plain http to a non-loopback host is refused.
    let output = world
        .command(&["account"])
        .env("MESSAGING_BASE_URL", "http://10.1.2.3/api")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("loopback"));
}

#[tokio::test]
async fn one_order_id_or_recipient_twice_in_a_file_is_sent_once_and_status_shows_the_jobs() {
    let world = World::start().await;
    let file = world.write(
        "orders.csv",
        "externalOrderId,email,status,totalCost,currency,date\n\
         O1,a@example.com,INITIALIZED,10.00,EUR,2024-03-01\n\
         O2,b@example.com,DELIVERED,5.00,EUR,2024-03-01\n\
         O1,a@example.com,DELIVERED,10.00,EUR,2024-03-01\n",
    );
    let config = world.config("", 1);
    let (code, summary, output) = world
        .run(&["orders", "push", &file, "--config", &config, "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 2);
    assert_eq!(summary["duplicate_keys"], 1);
    assert_eq!(summary["rejections"][0]["id"], "line 2");
    assert_eq!(
        summary["rejections"][0]["reason"],
        "shares key O1 with line 4"
    );
    let posted: Vec<Value> = world
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/orders"))
        .flat_map(|r| {
            crate::common::json_body(r)["orders"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter(|o| o["externalOrderId"] == "O1")
        .collect();
    assert_eq!(posted.len(), 1, "{posted:#?}");
    assert_eq!(posted[0]["status"], "DELIVERED", "the row read last wins");

    // A recipient listed twice gets the message once (sends are not idempotent).
    let recipients = world.write(
        "recipients.csv",
        "email,discount\nr1@example.com,5%\nr2@example.com,5%\nR1@example.com,10%\n",
    );
    let (code, summary, output) = world
        .run(&["send", "42", "--recipients", &recipients, "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 2);
    assert_eq!(sends_per_locator(&world.fake).values().sum::<usize>(), 2);

    // Each sync subcommand has its own job, and its own status.
    let (code, orders, _) = world.run(&["orders", "push", "--status", "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(orders["job"], "messaging-orders");
    assert_eq!(orders["runs"][0]["status"], "completed");
    assert_eq!(orders["runs"][0]["filtered"], 1);
    let (code, sends, _) = world.run(&["send", "42", "--status", "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(sends["job"], "messaging-send-42");
    assert_eq!(sends["runs"][0]["delivered"], 2);
    // A job the state file has no run of: the health check says so (exit 2).
    let (code, contacts, _) = world.run(&["contacts", "push", "--status", "--json"]).await;
    assert_eq!(code, 2);
    assert!(
        contacts["error"]
            .as_str()
            .unwrap()
            .contains("job messaging-contacts has no runs"),
        "{contacts}"
    );
}

#[tokio::test]
async fn contacts_push_sends_custom_fields_and_leaves_a_missing_standard_field_as_it_was() {
    let world = World::start().await;
    let ann = world.fake.seed_contact(serde_json::json!({
        "firstName": "Ann", "lastName": "Smith",
        "channels": [{"type": "email", "value": "ann@example.com"}],
        "fields": [{"id": 15868, "value": "M"}]}));
    // Ann's row has no lastName: her last name must stay; Bob is new.
    let file = world.write(
        "contacts.csv",
        "email,firstName,lastName,Gender\nann@example.com,Anna,,F\nbob@example.com,Bob,Berg,M\n",
    );
    let (code, summary, output) = world.run(&["contacts", "push", &file, "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 2, "{summary:#}");
    let contacts = world.fake.contacts();
    let stored = &contacts[&ann];
    assert_eq!(stored["firstName"], "Anna");
    assert_eq!(
        stored["lastName"], "Smith",
        "the empty cell left it as it was"
    );
    assert_eq!(
        stored["fields"],
        serde_json::json!([{"id": 15868, "value": "F"}]),
        "the custom value arrived"
    );
    let bob = contacts
        .values()
        .find(|c| c.to_string().contains("bob@example.com"))
        .unwrap();
    assert_eq!(
        (&bob["firstName"], &bob["lastName"]),
        (&"Bob".into(), &"Berg".into())
    );
    // What went out: the field lists per row shape, dedupeOn always.
    let imports: Vec<Value> = world
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v1/contacts")
        .map(crate::common::json_body)
        .collect();
    assert_eq!(imports.len(), 2, "{imports:#?}");
    for body in &imports {
        assert_eq!(body["dedupeOn"], "email");
        assert_eq!(body["customFieldsIDs"], serde_json::json!([15868]));
        let listed = body["contactFields"].as_array().unwrap();
        let carries_last_name = body["contacts"][0].get("lastName").is_some();
        assert_eq!(
            listed.contains(&"lastName".into()),
            carries_last_name,
            "{body}"
        );
    }
}

#[tokio::test]
async fn contacts_push_counts_a_contact_only_when_its_import_finished_and_parks_refused_ones() {
    let world = World::start().await;
    let long = "Bartholomew-Maximilian Alexander-Konstantin";
    let file = world.write(
        "contacts.csv",
        &format!("email,firstName\nann@example.com,Ann\nbob@example.com,{long}\n"),
    );
    let config = world.config("batch_size = 10", 1);
    // The service lists Bob as failed (a name over 40 characters): parked with its reason.
    let (code, summary, output) = world
        .run(&["contacts", "push", &file, "--config", &config, "--json"])
        .await;
    assert_eq!(code, 1, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 1, "{summary:#}");
    assert_eq!(summary["failed"], 1);
    let failure = &summary["failures"][0];
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .contains("longer than 40 characters"),
        "{failure}"
    );
    assert_eq!(world.fake.contacts().len(), 1);

    // A session that ends in ERROR delivers nobody.
    world.fake.fail_imports(true);
    let file = world.write("more.csv", "email,firstName\ncid@example.com,Cid\n");
    let (code, summary, _) = world
        .run(&["contacts", "push", &file, "--config", &config, "--json"])
        .await;
    assert_eq!(code, 1);
    assert_eq!(summary["delivered"], 0, "{summary:#}");
    assert!(
        summary["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("failed"),
        "{summary:#}"
    );
    assert_eq!(world.fake.contacts().len(), 1, "cid was never imported");
}

#[tokio::test]
async fn a_contact_import_still_running_after_the_timeout_is_parked_as_unknown() {
    use sync_examples::messaging::contacts::ContactsSink;
    use sync_kit::Sink;
    let fake = FakeMessaging::start().await;
    fake.set_import_polls(u32::MAX);
    let client = fake.client();
    let sink = ContactsSink {
        catalog: client.field_catalog().await.unwrap(),
        client,
        polling: messaging_client::ImportPolling {
            first_interval: Duration::from_millis(1),
            max_interval: Duration::from_millis(5),
            timeout: Duration::from_millis(50),
        },
    };
    let mut fields = serde_json::Map::new();
    fields.insert("email".into(), "ann@example.com".into());
    let item = sync_kit::Item {
        key: "ann@example.com".into(),
        fields,
    };
    let delivery = sink.deliver(&[item]).await;
    match &delivery.outcomes[0] {
        sync_kit::Outcome::Failed { error, retryable } => {
            assert!(error.contains("outcome unknown"), "{error}");
            assert!(!retryable);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn orders_push_repeats_an_order_whose_outcome_is_unknown_as_it_documents() {
    // The sync chooses OrderRetry::AfterUnknownOutcome (orders.rs ORDER_RETRY): a 500 may hide
    // an accepted order, and the sync prefers complete order data to a possible second
    // order<STATUS> event. Here the client repeats the request itself (retries = 3) although
    // the job allows a single attempt.
    let world = World::start().await;
    let proxy = common::proxy::start(world.base_url.trim_end_matches("/api")).await;
    let world = World {
        base_url: format!("{}/api", proxy.url),
        ..world
    };
    let file = world.write(
        "orders.csv",
        "externalOrderId,email,status,totalCost,currency,date\nO1,a@example.com,DELIVERED,10,EUR,2024-03-01T10:00:00+02:00\n",
    );
    let config = world.write(
        "config.toml",
        "[job]\n[job.retry]\nattempts = 1\ndelay = \"1ms\"\n[messaging]\nretries = 3\nretry_delay = \"1ms\"\n",
    );
    // Request 1 is the credentials check, request 2 the order push: it gets a 500.
    proxy.faults.fail_every.store(2, Ordering::SeqCst);
    let (code, summary, output) = world
        .run(&["orders", "push", &file, "--config", &config, "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 1, "{summary:#}");
    assert_eq!(proxy.faults.failed.load(Ordering::SeqCst), 1);
    assert_eq!(
        proxy.faults.seen.load(Ordering::SeqCst),
        3,
        "the check, the push that got a 500, its repeat"
    );
    assert_eq!(world.fake.orders().len(), 1);
}
