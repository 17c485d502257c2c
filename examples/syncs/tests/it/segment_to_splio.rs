//! End to end: the built `segment-to-splio` binary against the Splio fake started here (and a
//! fault-injecting proxy in front of it), on loopback.

use crate::common;

use common::sync_bin::{self, dry_run_items, stderr};

use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;
use splio_client::fake::FakeSplio;
use splio_client::fake::{FakeService as _, JsonBody as _};
use splio_client::{ContactData, FieldType};

const BIN: &str = env!("CARGO_BIN_EXE_segment-to-splio");

struct World {
    fake: FakeSplio,
    dir: tempfile::TempDir,
    base_url: String,
}

impl World {
    async fn start() -> World {
        let fake = FakeSplio::start().await;
        fake.seed_field("tier", FieldType::Text);
        fake.seed_field("score", FieldType::Text);
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

    fn config(&self, job: &str) -> String {
        self.write(
            "config.toml",
            &format!(
                "[job]\n{job}\n[job.retry]\nattempts = 3\ndelay = \"1ms\"\n\
                 [splio]\nretries = 0\nretry_delay = \"1ms\"\nrate_limit = false\n"
            ),
        )
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = sync_bin::command(BIN, self.dir.path());
        cmd.env("SPLIO_BASE_URL", &self.base_url)
            .env("SPLIO_API_KEY", self.fake.credentials().expose())
            .args(args);
        cmd
    }

    async fn run(&self, args: &[&str]) -> (i32, Value, Output) {
        sync_bin::run(self.command(args)).await
    }
}

/// `n` members; every 40th has a broken email. Returns the CSV and the number of good rows.
fn segment(n: usize, tier: &str) -> (String, usize) {
    let mut text = String::from("email,firstname,tier,score\n");
    let mut good = 0;
    for i in 0..n {
        if i % 40 == 9 {
            text.push_str(&format!("m{i}.example.com,M{i},{tier},{i}\n"));
        } else {
            good += 1;
            text.push_str(&format!("m{i}@example.com,M{i},{tier},{i}\n"));
        }
    }
    (text, good)
}

#[tokio::test]
async fn updates_existing_skips_new_without_insert_and_sends_only_changes() {
    let world = World::start().await;
    for i in 0..10 {
        world
            .fake
            .seed_contact(ContactData::with_email(format!("m{i}@example.com")));
    }
    let (csv, good) = segment(20, "gold");
    let file = world.write("segment.csv", &csv);
    let config = world.config("");
    let (code, summary, output) = world.run(&[&file, "--config", &config, "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["filtered"], 1);
    assert_eq!(summary["delivered"], 9, "the existing ones (m9 is broken)");
    assert_eq!(
        summary["skipped"],
        (good - 9) as u64,
        "new ones without --insert"
    );
    assert_eq!(
        summary["skipped_by_reason"]["new contact, not created without --insert"],
        (good - 9) as u64
    );
    let logged: (i64, i64) = rusqlite::Connection::open(world.path("sync-state.db"))
        .unwrap()
        .query_row(
            "SELECT skipped, requests FROM runs ORDER BY id DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        logged,
        (
            summary["skipped"].as_i64().unwrap(),
            summary["requests"].as_i64().unwrap()
        ),
        "the run log has the final counts"
    );
    assert_eq!(
        summary["requests"], 13,
        "every HTTP request (issue 20 point 9): authenticating, the unique-key lookup, reading \
         Splio's contact fields (point 3), listing the contacts, then 9 PATCHes"
    );
    assert_eq!(world.fake.contacts().len(), 10);
    let m1 = world.fake.contact("m1@example.com").unwrap();
    assert_eq!(m1.firstname.as_deref(), Some("M1"));
    assert!(m1.custom_fields.values().any(|v| v == "gold"), "{m1:?}");

    let (code, summary, output) = world
        .run(&[&file, "--insert", "--config", &config, "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], (good - 9) as u64);
    assert_eq!(summary["skipped"], 9, "unchanged");
    assert_eq!(
        summary["skipped_by_reason"],
        serde_json::json!({ "unchanged since last delivery": 9 })
    );
    assert_eq!(world.fake.contacts().len(), good + 1);

    // One attribute changes for everyone: only it (and the key) goes out.
    let before = world.fake.requests().len();
    let (csv, _) = segment(20, "silver");
    let file = world.write("segment.csv", &csv);
    let (code, summary, _) = world.run(&[&file, "--config", &config, "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(summary["delivered"], good as u64);
    let patches: Vec<Value> = world.fake.requests()[before..]
        .iter()
        .filter(|r| r.method == "PATCH")
        .filter_map(|r| r.json_body())
        .collect();
    assert_eq!(patches.len(), good);
    for body in &patches {
        let text = body.to_string();
        assert!(text.contains("silver"), "{text}");
        assert!(
            !text.contains("firstname") && !text.contains("score"),
            "only the change: {text}"
        );
    }
    let m15 = world.fake.contact("m15@example.com").unwrap();
    assert!(m15.custom_fields.values().any(|v| v == "silver"));
}

#[tokio::test]
async fn dry_run_sends_nothing_and_changes_no_state() {
    let world = World::start().await;
    let (csv, good) = segment(30, "gold");
    let file = world.write("segment.csv", &csv);
    let output = world
        .command(&[&file, "--insert", "--dry-run"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(dry_run_items(&output).len(), good);
    assert!(world.fake.requests().is_empty());
    assert!(!world.path("sync-state.db").exists());
}

#[tokio::test]
async fn twenty_percent_server_errors_lose_nothing() {
    let world = World::start().await;
    let proxy = common::proxy::start(&world.base_url).await;
    let world = World {
        base_url: proxy.url.clone(),
        ..world
    };
    let (csv, good) = segment(400, "gold");
    let file = world.write("segment.csv", &csv);
    let config = world.config("batch_size = 25");
    proxy.faults.fail_every.store(5, Ordering::SeqCst);
    let (code, summary, output) = world
        .run(&[&file, "--insert", "--config", &config, "--json"])
        .await;
    assert!(
        proxy.faults.failed.load(Ordering::SeqCst) >= 3,
        "{}",
        stderr(&output)
    );
    let delivered = summary["delivered"].as_u64().unwrap_or(0);
    let failed = summary["failed"].as_u64().unwrap_or(0);
    if summary["aborted"].is_string() || summary.is_null() {
        // The existing-contacts read itself hit a fault: nothing was sent, nothing changed.
        assert_eq!(code, 1, "{}", stderr(&output));
        assert_eq!(world.fake.contacts().len(), 0);
    } else {
        assert_eq!(delivered + failed, good as u64, "{}", stderr(&output));
        assert_eq!(code, if failed == 0 { 0 } else { 1 });
        assert_eq!(world.fake.contacts().len() as u64, delivered);
    }
    proxy.faults.fail_every.store(0, Ordering::SeqCst);
    let (code, _, output) = world
        .run(&["--replay-failed", "--insert", "--config", &config, "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    let (code, summary, _) = world
        .run(&[&file, "--insert", "--config", &config, "--json"])
        .await;
    assert_eq!(code, 0);
    assert_eq!(world.fake.contacts().len(), good, "nothing lost");
    assert_eq!(summary["failed"], 0);
}

#[tokio::test]
async fn killed_mid_run_then_rerun_loses_nothing() {
    let world = World::start().await;
    for i in (0..2000).step_by(2) {
        world
            .fake
            .seed_contact(ContactData::with_email(format!("m{i}@example.com")));
    }
    let (csv, good) = segment(2000, "gold");
    let file = world.write("segment.csv", &csv);
    let config = world.config("batch_size = 50\nconcurrency = 2");
    world.fake.delay_next(100_000, Duration::from_millis(3));
    let args = [file.as_str(), "--insert", "--config", &config];
    let mut child = world.command(&args).spawn().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while world
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .count()
        < 200
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never got going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.start_kill().unwrap();
    assert!(!child.wait().await.unwrap().success());
    let patched_before = world
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .count();
    assert!(patched_before < 1000, "killed before the end");

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let (code, summary, output) = world.run(&json_args).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(world.fake.contacts().len(), good, "nothing lost");
    let skipped = summary["skipped"].as_u64().unwrap();
    assert!(
        skipped >= 100,
        "the re-run skipped what was recorded: {skipped}"
    );
    assert_eq!(
        summary["delivered"].as_u64().unwrap() + skipped,
        good as u64
    );
}

#[tokio::test]
async fn exit_codes_and_sandbox() {
    let world = World::start().await;
    let (code, _, _) = world.run(&["--delivery", "ftp"]).await;
    assert_eq!(code, 2);
    let (code, _, output) = world.run(&[]).await;
    assert_eq!(code, 2);
    assert!(stderr(&output).contains("segment"));
    let bad = world.write("bad.toml", "[mapping]\na = \"tier\"\nb = \"tier\"\n");
    let (code, _, _) = world.run(&["x.csv", "--config", &bad]).await;
    assert_eq!(code, 2);
    let segment = world.write("x.csv", "email\nann@example.com\n");
    let output = world
        .command(&[&segment])
        .env("SPLIO_BASE_URL", "http://example.com")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("loopback"));
    let output = world
        .command(&["--sandbox", "--insert", "--json"])
        .env_remove("SPLIO_API_KEY")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["read"], 3000);
    assert!(summary["filtered"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn one_email_twice_in_a_segment_is_written_once_and_status_shows_the_job() {
    let world = World::start().await;
    let file = world.write(
        "segment.csv",
        "email,firstname,tier\nAnn@Example.com,Ann,gold\nb@example.com,Bob,silver\n\
         ann@example.com,Annie,platinum\n",
    );
    let config = world.config("");
    let (code, summary, output) = world
        .run(&[&file, "--insert", "--config", &config, "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 2);
    assert_eq!(summary["filtered_by_reason"]["duplicate key"], 1);
    assert_eq!(
        summary["rejections"][0]["reason"],
        "shares key ann@example.com with line 4"
    );
    let writes = world
        .fake
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .filter(|r| {
            r.json_body()
                .is_some_and(|b| b.to_string().contains("ann@example.com"))
        })
        .count();
    assert_eq!(writes, 1, "the key is written once");
    let ann = world.fake.contact("ann@example.com").unwrap();
    assert_eq!(
        ann.firstname.as_deref(),
        Some("Annie"),
        "the row read last wins"
    );

    let (code, status, output) = world.run(&["--status", "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(status["job"], "segment-to-splio");
    assert_eq!(status["runs"][0]["status"], "completed");
    assert_eq!(status["runs"][0]["delivered"], 2);
    assert_eq!(status["watermark"], Value::Null, "a file has no watermark");
}
