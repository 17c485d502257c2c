//! End to end: the built `directo-to-smaily` binary against the Directo and Smaily fakes started
//! here, on loopback.

use crate::common;
use smaily_client::fake::FakeService as _;

use common::sync_bin::{self, send_signal, stderr, wait_until};

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::Ordering;
use std::time::Duration;

use directo_client::fake::FakeDirecto;
use serde_json::Value;
use smaily_client::fake::{FAKE_PASSWORD, FAKE_USER, FakeSmaily};
use sync_examples::shared::demo_customers as demo;

const BIN: &str = env!("CARGO_BIN_EXE_directo-to-smaily");

struct World {
    directo: FakeDirecto,
    smaily: FakeSmaily,
    dir: tempfile::TempDir,
    smaily_url: String,
    /// `--state` when it is not the file in `dir`: a PostgreSQL database's URL.
    state_url: Option<String>,
}

impl World {
    async fn start(customers: usize) -> World {
        World::start_spread(customers, 600).await
    }

    /// `customers` demo customers changed within the last `spread_minutes`.
    async fn start_spread(customers: usize, spread_minutes: i64) -> World {
        let directo =
            common::directo_to_smaily::directo_with_customers_within(customers, spread_minutes)
                .await;
        let smaily = FakeSmaily::start().await;
        // These runs send with no client-side limit (`requests_per_second = 0`) to stay fast;
        // the fake enforces Smaily's 5/s by default, tested in smaily-client.
        smaily.enforce_rate_limit(None);
        let smaily_url = smaily.base_url();
        World {
            directo,
            smaily,
            dir: tempfile::tempdir().unwrap(),
            smaily_url,
            state_url: None,
        }
    }

    /// The same world with its state on `backend` (a fresh PostgreSQL database, or the file).
    fn on(mut self, backend: crate::pg_runs::Backend) -> World {
        if let crate::pg_runs::Backend::Postgres = backend {
            self.state_url = Some(crate::pg_runs::fresh_database());
        }
        self
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    fn config(&self, extra: &str) -> PathBuf {
        let path = self.dir.path().join("config.toml");
        let text = format!(
            "[job]\n{extra}\n[job.retry]\nattempts = 3\ndelay = \"10ms\"\n\
             [smaily]\nrequests_per_second = 0\ntransport_retries = 0\ntransport_retry_delay = \"1ms\"\n"
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = sync_bin::command(BIN, self.dir.path());
        cmd.env_remove("DIRECTO_KEY")
            .env_remove("SMAILY_SUBDOMAIN")
            .env("DIRECTO_URL", self.directo.base_url())
            .env("DIRECTO_TOKEN", FakeDirecto::TOKEN)
            .env("SMAILY_BASE_URL", &self.smaily_url)
            .env("SMAILY_USER", FAKE_USER)
            .env("SMAILY_PASSWORD", FAKE_PASSWORD)
            .arg("--state")
            .arg(match &self.state_url {
                Some(url) => std::ffi::OsString::from(url),
                None => self.state().into_os_string(),
            })
            .args(args);
        cmd
    }

    async fn run(&self, args: &[&str]) -> (i32, Value, Output) {
        sync_bin::run(self.command(args)).await
    }
}

/// Subscriber rows the Smaily fake received in `contact.php` POSTs (batches counted per row).
fn rows_received(smaily: &FakeSmaily) -> usize {
    smaily
        .smaily_requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("contact.php"))
        .map(|r| match r.body_json() {
            Value::Array(rows) => rows.len(),
            Value::Object(_) => 1,
            _ => 0,
        })
        .sum()
}

#[tokio::test]
async fn full_run_filters_bad_records_then_rerun_sends_nothing() {
    let world = World::start(1000).await;
    let config = world.config("batch_size = 100");
    let config = config.to_str().unwrap();
    let (code, summary, output) = world.run(&["--config", config, "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    let deliverable = demo::deliverable(1000) as u64;
    assert_eq!(summary["read"], 1000);
    assert_eq!(summary["delivered"], deliverable, "{summary:#}");
    assert_eq!(summary["filtered"], 1000 - deliverable);
    assert_eq!(summary["filtered_by_reason"]["no email"], 40);
    assert_eq!(
        summary["filtered_by_reason"]["reserved top-level domain"],
        20
    );
    assert_eq!(
        summary["rejections"].as_array().unwrap().len() as u64,
        1000 - deliverable
    );
    // Every HTTP request: 10 batch POSTs, the credentials check and the Directo read.
    assert_eq!(summary["requests"], 12);
    assert_eq!(summary["exit_code"], 0);
    assert_eq!(world.smaily.subscriber_count() as u64, deliverable);
    let c = world.smaily.subscriber("customer0@example.com").unwrap();
    assert_eq!(c.fields["directo_code"], "C000001");
    assert_eq!(c.fields["name"], "Mari Tamm");
    // "several" addresses in one field: the first one only (default).
    assert!(world.smaily.subscriber("customer37@example.com").is_some());
    assert!(world.smaily.subscriber("accounts37@example.org").is_none());

    let posts_before = rows_received(&world.smaily);
    let (code, summary, output) = world.run(&["--config", config, "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    // The re-run reads from (watermark - 6h overlap): fewer customers, all unchanged.
    let read = summary["read"].as_u64().unwrap();
    assert!(read > 0 && read < 1000, "{read}");
    assert_eq!(
        summary["skipped"].as_u64().unwrap(),
        read - summary["filtered"].as_u64().unwrap()
    );
    assert_eq!(summary["delivered"], 0);
    assert_eq!(
        summary["requests"], 2,
        "the credentials check and the Directo read"
    );
    assert_eq!(rows_received(&world.smaily), posts_before);
}

#[tokio::test]
async fn dry_run_sends_nothing_and_changes_no_state() {
    let world = World::start(300).await;
    let (code, summary, output) = world.run(&["--dry-run", "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(world.smaily.request_count(), 0);
    assert!(
        !world.state().exists(),
        "a dry run must not create the state file"
    );
    assert_eq!(summary["mode"], "dry_run");
    assert_eq!(summary["delivered"], demo::deliverable(300) as u64);
    assert_eq!(
        sync_bin::dry_run_items(&output)[0]["email"],
        "customer0@example.com"
    );

    // After a real run, a dry run still leaves the file byte for byte as it was.
    let (code, _, _) = world.run(&[]).await;
    assert_eq!(code, 0);
    let before = std::fs::read(world.state()).unwrap();
    let requests = world.smaily.request_count();
    let (code, _, _) = world.run(&["--dry-run", "--force"]).await;
    assert_eq!(code, 0);
    assert_eq!(world.smaily.request_count(), requests);
    assert_eq!(std::fs::read(world.state()).unwrap(), before);
}

#[tokio::test]
async fn twenty_percent_server_errors_lose_nothing() {
    let world = World::start(1000).await;
    let proxy = common::proxy::start(world.smaily_url.trim_end_matches("/api/")).await;
    proxy.faults.fail_every.store(5, Ordering::SeqCst);
    let world = World {
        smaily_url: format!("{}/api/", proxy.url),
        ..world
    };
    let config = world.config("batch_size = 50");
    let (code, summary, output) = world
        .run(&["--config", config.to_str().unwrap(), "--json"])
        .await;
    let deliverable = demo::deliverable(1000) as u64;
    assert!(
        proxy.faults.failed.load(Ordering::SeqCst) >= 4,
        "faults were injected: {summary:#} {}",
        stderr(&output)
    );
    let delivered = summary["delivered"].as_u64().unwrap();
    let failed = summary["failed"].as_u64().unwrap();
    assert_eq!(delivered + failed, deliverable, "{}", stderr(&output));
    assert_eq!(code, if failed == 0 { 0 } else { 1 });
    assert_eq!(world.smaily.subscriber_count() as u64, delivered);

    // Whatever was parked goes out on replay.
    proxy.faults.fail_every.store(0, Ordering::SeqCst);
    let (code, summary, _) = world.run(&["--replay-failed", "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(summary["delivered"].as_u64().unwrap(), failed);
    assert_eq!(world.smaily.subscriber_count() as u64, deliverable);
}

#[tokio::test]
async fn failures_are_parked_then_replayed() {
    let world = World::start(200).await;
    let config = world.config("batch_size = 100");
    let config = config.to_str().unwrap();
    let deliverable = demo::deliverable(200) as u64;
    // The credentials check (1 request) and 2 batches x 3 attempts all get 503.
    world.smaily.fail_next(7, 503);
    let (code, summary, output) = world.run(&["--config", config, "--json"]).await;
    assert_eq!(code, 1, "{}", stderr(&output));
    assert_eq!(summary["failed"], deliverable);
    assert_eq!(summary["parked_total"], deliverable);
    assert!(
        summary["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("503")
    );
    assert_eq!(summary["failures"][0]["attempts"], 3);
    assert!(
        summary["watermark_after"].is_string(),
        "parked records are settled"
    );
    assert_eq!(world.smaily.subscriber_count(), 0);

    let (code, summary, output) = world.run(&["--replay-failed", "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["mode"], "replay_failed");
    assert_eq!(summary["delivered"], deliverable);
    assert_eq!(summary["parked_total"], 0);
    assert_eq!(world.smaily.subscriber_count() as u64, deliverable);

    // Nothing left to replay.
    let (code, summary, _) = world.run(&["--replay-failed", "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(summary["read"], 0);
}

#[tokio::test]
async fn killed_mid_run_then_rerun_loses_nothing_and_duplicates_only_in_flight() {
    let world = World::start(2000).await;
    let config = world.config("batch_size = 50\nconcurrency = 2");
    let config = config.to_str().unwrap();
    world.smaily.set_delay(Some(Duration::from_millis(40)));
    let mut child = world.command(&["--config", config]).spawn().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while world.smaily.subscriber_count() < 300 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never got going"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(!status.success());
    let deliverable = demo::deliverable(2000);
    assert!(
        world.smaily.subscriber_count() < deliverable,
        "killed before the end"
    );

    world.smaily.set_delay(None);
    let (code, summary, output) = world.run(&["--config", config, "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(world.smaily.subscriber_count(), deliverable, "nothing lost");
    // The kill came once Smaily held 300 subscribers; all but the batches in flight (at most
    // `concurrency` × `batch_size`, their outcomes not yet recorded) were recorded, and the
    // re-run skips them. (On a loaded machine the last 2 batches may still be unrecorded.)
    let resumed = summary["skipped"].as_u64().unwrap();
    assert!(
        resumed >= 300 - 2 * 50,
        "the re-run skipped what was recorded: {resumed}"
    );
    assert_eq!(
        summary["delivered"].as_u64().unwrap() + resumed,
        deliverable as u64
    );
    // Rows sent twice: at most the batches in flight at the kill.
    let duplicates = rows_received(&world.smaily) - deliverable;
    assert!(duplicates <= 2 * 50, "{duplicates} duplicate rows");
}

#[tokio::test]
async fn exit_code_2_for_usage_and_configuration_errors() {
    let world = World::start(10).await;
    // Unknown flag (clap).
    let (code, _, _) = world.run(&["--no-such-flag"]).await;
    assert_eq!(code, 2);
    // Bad config key.
    let bad = world.dir.path().join("bad.toml");
    std::fs::write(&bad, "[job]\nbatchsize = 1\n").unwrap();
    let (code, _, output) = world.run(&["--config", bad.to_str().unwrap()]).await;
    assert_eq!(code, 2);
    assert!(stderr(&output).contains("batchsize"), "{}", stderr(&output));
    // Missing credentials: one line naming the variable.
    let output = world
        .command(&[])
        .env_remove("SMAILY_PASSWORD")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("SMAILY_PASSWORD"), "{text}");
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    // Plain http to a non-loopback host.
    let output = world
        .command(&[])
        .env("SMAILY_BASE_URL", "http://example.com/api/")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    // Wrong Smaily password, wrong Directo key.
    let output = world
        .command(&[])
        .env("SMAILY_PASSWORD", "wrong")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let output = world
        .command(&[])
        .env("DIRECTO_TOKEN", "wrong")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("Directo refused"));
    assert_eq!(world.smaily.subscriber_count(), 0);
}

#[tokio::test]
async fn sandbox_runs_with_no_credentials_and_in_memory_state() {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(BIN)
        .current_dir(dir.path())
        .env_remove("SMAILY_USER")
        .env_remove("DIRECTO_KEY")
        .args(["--sandbox", "--json"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["read"], 3000);
    assert_eq!(summary["delivered"], demo::deliverable(3000) as u64);
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "no files left behind"
    );
    let _ = Path::new(BIN);
}

#[tokio::test]
async fn unsubscribe_closed_and_all_addresses_when_configured() {
    let world = World::start(100).await;
    let config = world.config("batch_size = 100\n");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text = format!("unsubscribe_closed = true\n[emails]\nmultiple = \"all\"\n{text}");
    std::fs::write(&config, text).unwrap();
    let (code, summary, output) = world
        .run(&["--config", config.to_str().unwrap(), "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    // Customer 41 is closed; customer 37 has two addresses.
    assert!(
        world
            .smaily
            .subscriber("customer41@example.com")
            .unwrap()
            .is_unsubscribed
    );
    assert!(
        !world
            .smaily
            .subscriber("customer40@example.com")
            .unwrap()
            .is_unsubscribed
    );
    assert!(world.smaily.subscriber("accounts37@example.org").is_some());
    assert_eq!(summary["delivered"], demo::deliverable(100) as u64 + 2);
}

#[tokio::test]
async fn every_repeats_the_run_until_ctrl_c_between_runs() {
    let world = World::start(20).await;
    // No client-side limit, like the other runs here: at 5/s two runs take over 600 ms.
    let config = world.config("");
    let child = world
        .command(&["--config", config.to_str().unwrap(), "--every", "10s"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let state = world.state();
    // Ctrl-C between runs: once the second has ended (its row is written when it starts).
    wait_until(40, "a second run to end", || completed_runs(&state) >= 2).await;
    send_signal(child.id().unwrap(), "INT");
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("stopped"), "{}", stderr(&output));
    assert_eq!(world.smaily.subscriber_count(), demo::deliverable(20));
}

/// How many runs the state file logged for the job (0 while it does not exist).
fn run_count(state: &Path) -> u64 {
    if !state.exists() {
        return 0;
    }
    let state = sync_kit::StateStore::open_read_only(state).unwrap();
    state.run_count("directo-to-smaily").unwrap_or(0)
}

/// How many runs of the job the state file logged as completed.
fn completed_runs(state: &Path) -> usize {
    if !state.exists() {
        return 0;
    }
    let state = sync_kit::StateStore::open_read_only(state).unwrap();
    state.runs("directo-to-smaily", 10).map_or(0, |runs| {
        runs.iter()
            .filter(|r| r.status.as_str() == "completed")
            .count()
    })
}

#[tokio::test]
async fn every_below_ten_seconds_is_refused() {
    let world = World::start(5).await;
    for every in ["0s", "50ms", "9s"] {
        let (code, _, output) = world.run(&["--every", every]).await;
        assert_eq!(code, 2, "--every {every}: {}", stderr(&output));
        assert!(
            stderr(&output).contains("at least 10s"),
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(world.smaily.subscriber_count(), 0);
}

/// The `--status --json` view of the state file.
async fn status(world: &World) -> Value {
    let (code, status, output) = world.run(&["--status", "--json"]).await;
    // A health check: 1 when the last run failed or was interrupted, or records are parked.
    assert!(matches!(code, 0 | 1), "{}", stderr(&output));
    assert_eq!(status["health"]["exit_code"], code);
    status
}

#[tokio::test]
async fn a_first_load_killed_mid_way_is_resumed_by_the_next_plain_run() {
    first_load_killed_mid_way_is_resumed(crate::pg_runs::Backend::Sqlite).await;
}

#[tokio::test]
async fn a_first_load_killed_mid_way_is_resumed_by_the_next_plain_run_on_postgres() {
    first_load_killed_mid_way_is_resumed(crate::pg_runs::Backend::Postgres).await;
}

/// `kill -9` of a `--since` first load, then a plain run: nothing lost, on either backend.
async fn first_load_killed_mid_way_is_resumed(backend: crate::pg_runs::Backend) {
    // Customers changed over the last 30 days; the first load asks for all of them.
    let world = World::start_spread(2000, 30 * 24 * 60).await.on(backend);
    let config = world.config("batch_size = 50\nconcurrency = 2");
    let config = config.to_str().unwrap();
    world.smaily.set_delay(Some(Duration::from_millis(40)));
    let mut child = world
        .command(&["--config", config, "--since", "31d"])
        .spawn()
        .unwrap();
    wait_until(30, "the first load to get going", || {
        world.smaily.subscriber_count() >= 300
    })
    .await;
    send_signal(child.id().unwrap(), "KILL");
    assert!(!child.wait().await.unwrap().success());
    let deliverable = demo::deliverable(2000);
    assert!(
        world.smaily.subscriber_count() < deliverable,
        "killed mid-way"
    );

    // The killed run is in the log, shown as interrupted; the watermark did not move.
    let before = status(&world).await;
    assert_eq!(before["watermark"], Value::Null, "{before:#}");
    assert_eq!(before["runs"][0]["status"], "interrupted", "{before:#}");
    assert!(before["runs"][0]["read_from"].is_string(), "{before:#}");
    let got_to = before["runs"][0]["delivered"].as_u64().unwrap();
    // The kill came once Smaily held 300: all but the batches in flight (at most
    // `concurrency` = 2 batches of 50) were recorded.
    assert!(
        got_to >= 300 - 2 * 50,
        "the log shows how far the killed run got: {before:#}"
    );

    // A plain run (no --since) resumes from where the killed one started reading.
    world.smaily.set_delay(None);
    let (code, summary, output) = world.run(&["--config", config, "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["read_from"], before["runs"][0]["read_from"]);
    assert_eq!(world.smaily.subscriber_count(), deliverable, "nothing lost");
    assert_eq!(summary["status"], "completed");
    let after = status(&world).await;
    assert_eq!(after["runs"][0]["status"], "completed", "{after:#}");
    assert_eq!(after["runs"][1]["status"], "interrupted", "{after:#}");

    // Settled: the next plain run reads from the watermark minus the overlap again.
    let (code, summary, _) = world.run(&["--config", config, "--json"]).await;
    assert_eq!(code, 0);
    assert_ne!(summary["read_from"], before["runs"][0]["read_from"]);
    assert_eq!(summary["delivered"], 0);
}

#[tokio::test]
async fn sigterm_settles_the_batches_in_flight_marks_the_run_interrupted_and_exits_3() {
    let world = World::start(2000).await;
    let config = world.config("batch_size = 50\nconcurrency = 2");
    let config = config.to_str().unwrap();
    world.smaily.set_delay(Some(Duration::from_millis(40)));
    let child = world
        .command(&["--config", config, "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(30, "the run to get going", || {
        world.smaily.subscriber_count() >= 300
    })
    .await;
    send_signal(child.id().unwrap(), "TERM");
    let output = child.wait_with_output().await.unwrap();
    let (code, summary) = sync_bin::code_and_summary(&output);
    assert_eq!(code, 3, "{}", stderr(&output));
    assert_eq!(summary["status"], "interrupted", "{summary:#}");
    assert_eq!(summary["stopped_by"], "SIGTERM");
    assert_eq!(summary["exit_code"], 3);
    assert_eq!(summary["outcome"], "interrupted");
    let delivered = summary["delivered"].as_u64().unwrap() as usize;
    assert!(delivered < demo::deliverable(2000));
    // Every batch that was sent was answered and recorded: what Smaily holds is what was counted.
    assert_eq!(world.smaily.subscriber_count(), delivered);
    assert_eq!(status(&world).await["runs"][0]["status"], "interrupted");

    // The next run delivers the rest, and nothing twice.
    world.smaily.set_delay(None);
    let (code, summary, output) = world.run(&["--config", config, "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["skipped"].as_u64().unwrap() as usize, delivered);
    assert_eq!(world.smaily.subscriber_count(), demo::deliverable(2000));
    assert_eq!(rows_received(&world.smaily), demo::deliverable(2000));
}

#[tokio::test]
async fn a_second_signal_stops_at_once() {
    let world = World::start(200).await;
    let config = world.config("batch_size = 50\nconcurrency = 1");
    world.smaily.set_delay(Some(Duration::from_secs(20)));
    let child = world
        .command(&["--config", config.to_str().unwrap()])
        .spawn()
        .unwrap();
    wait_until(30, "the first batch to be sent", || {
        world
            .smaily
            .smaily_requests()
            .iter()
            .any(|r| r.method == "POST")
    })
    .await;
    let pid = child.id().unwrap();
    send_signal(pid, "INT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    send_signal(pid, "INT");
    let output = child.wait_with_output().await.unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "did not wait for the batch"
    );
    world.smaily.set_delay(None);
    assert_eq!(status(&world).await["runs"][0]["status"], "interrupted");
}

#[tokio::test]
async fn ctrl_c_during_a_scheduled_run_stops_the_loop() {
    let world = World::start(200).await;
    let child = world
        .command(&["--every", "10s"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let state = world.state();
    wait_until(30, "the first run", || run_count(&state) >= 1).await;
    // The second run waits on a slow Directo answer when Ctrl-C arrives (long enough that a
    // loaded machine still signals before it comes; the stop lets that read finish).
    world.directo.delay_next(1, Duration::from_secs(8));
    wait_until(30, "the second run to start", || {
        world.directo.xmlcore_requests().len() >= 2
    })
    .await;
    send_signal(child.id().unwrap(), "INT");
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the scheduled loop went on after Ctrl-C")
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(run_count(&state), 2, "no third run");
    assert_eq!(status(&world).await["runs"][0]["status"], "interrupted");
}

#[tokio::test]
async fn customers_sharing_an_email_are_written_once_the_newest_winning() {
    let world = World::start(0).await;
    let customers: Vec<directo_client::Customer> = (1..=24)
        .map(|n| {
            common::directo::customer(
                &format!("C{n:03}"),
                "Office <office@example.com>",
                &format!("Branch {n}"),
                "",
                // C007 is the newest; the others are older the higher their number.
                &if n == 7 {
                    "2024-03-02T10:00:00".to_owned()
                } else {
                    format!("2024-03-01T{:02}:00:00", 23 - n % 24)
                },
            )
        })
        .chain([common::directo::customer(
            "C100",
            "solo@example.com",
            "Solo",
            "",
            "2024-03-01T12:00:00",
        )])
        .collect();
    world.directo.seed_customers(customers);
    let config = world.config("batch_size = 10");
    let config = config.to_str().unwrap();
    let (code, summary, output) = world
        .run(&["--config", config, "--since", "2024-01-01", "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["read"], 25);
    assert_eq!(summary["delivered"], 2);
    assert_eq!(summary["filtered"], 23);
    assert_eq!(summary["duplicate_keys"], 1);
    assert_eq!(
        summary["filtered_by_reason"]["duplicate key"], 23,
        "{summary:#}"
    );
    let rejections = summary["rejections"].as_array().unwrap();
    assert_eq!(rejections.len(), 23);
    assert!(
        rejections
            .iter()
            .all(|r| r["reason"] == "shares key office@example.com with C007"),
        "{rejections:#?}"
    );
    assert!(rejections.iter().all(|r| r["id"] != "C007"));
    let rows: Vec<Value> = world
        .smaily
        .smaily_requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("contact.php"))
        .flat_map(|r| match r.body_json() {
            Value::Array(rows) => rows,
            other => vec![other],
        })
        .filter(|row| row["email"] == "office@example.com")
        .collect();
    assert_eq!(rows.len(), 1, "the key is written once: {rows:#?}");
    assert_eq!(rows[0]["name"], "Branch 7");

    // `first`: the first one read (C001) wins; `fail`: none is sent and the run exits 1.
    let first = world.config("batch_size = 10\nduplicate_keys = \"first\"");
    let (code, summary, _) = world
        .run(&[
            "--config",
            first.to_str().unwrap(),
            "--since",
            "2024-01-01",
            "--force",
            "--json",
        ])
        .await;
    assert_eq!(code, 0);
    assert_eq!(
        summary["rejections"][0]["reason"],
        "shares key office@example.com with C001"
    );
    assert_eq!(
        world
            .smaily
            .subscriber("office@example.com")
            .unwrap()
            .fields["name"],
        "Branch 1"
    );
    let fail = world.config("batch_size = 10\nduplicate_keys = \"fail\"");
    let before = rows_received(&world.smaily);
    let (code, summary, _) = world
        .run(&[
            "--config",
            fail.to_str().unwrap(),
            "--since",
            "2024-01-01",
            "--force",
            "--json",
        ])
        .await;
    assert_eq!(code, 1, "{summary:#}");
    assert_eq!(summary["filtered_by_reason"]["duplicate key"], 24);
    assert_eq!(summary["delivered"], 1, "solo only");
    assert_eq!(rows_received(&world.smaily), before + 1);
}

#[tokio::test]
async fn status_shows_runs_the_watermark_and_parked_records_and_discard_removes_one() {
    let world = World::start(200).await;
    // Nothing yet: no state file, and neither --status nor --discard-failed creates one; they
    // read the state file only, so they need no credentials.
    let without_credentials = |args: &[&str]| {
        let mut cmd = world.command(args);
        for name in [
            "DIRECTO_URL",
            "DIRECTO_TOKEN",
            "SMAILY_USER",
            "SMAILY_PASSWORD",
        ] {
            cmd.env_remove(name);
        }
        sync_bin::run(cmd)
    };
    // No state file: --status is a health check, and a job never run there is exit 2.
    let (code, empty, output) = without_credentials(&["--status", "--json"]).await;
    assert_eq!(code, 2, "{}", stderr(&output));
    assert_eq!(empty["kind"], "error");
    assert!(
        empty["error"].as_str().unwrap().contains("no state file"),
        "{empty}"
    );
    assert_eq!(sync_bin::json_lines(&output).len(), 1, "one JSON line");
    let (code, refused, output) =
        without_credentials(&["--discard-failed", "a@example.com", "--json"]).await;
    assert_eq!(code, 2, "{}", stderr(&output));
    assert_eq!(refused["kind"], "error");
    assert!(
        refused["error"].as_str().unwrap().contains("a@example.com"),
        "{refused}"
    );
    assert!(!world.state().exists());

    let config = world.config("batch_size = 100\nconcurrency = 1");
    let config = config.to_str().unwrap();
    world.smaily.fail_next(4, 503); // the credentials check, then the first batch's 3 attempts
    let (code, run, _) = world.run(&["--config", config, "--json"]).await;
    assert_eq!(code, 1);
    let parked = run["failed"].as_u64().unwrap();
    assert_eq!(parked, 100);

    let view = status(&world).await;
    assert_eq!(view["watermark"], run["watermark_after"]);
    let last = &view["runs"][0];
    assert_eq!(last["status"], "completed");
    assert_eq!(last["mode"], "run");
    assert_eq!(last["read"], 200);
    assert_eq!(last["delivered"], run["delivered"]);
    assert_eq!(last["failed"], 100);
    assert!(last["elapsed_secs"].as_f64().unwrap() >= 0.0);
    assert_eq!(view["parked"].as_array().unwrap().len(), 100);
    let first = &view["parked"][0];
    assert_eq!(first["attempts"], 3);
    assert!(
        first["error"].as_str().unwrap().contains("503"),
        "{first:#}"
    );
    assert!(first["first_failed_at"].is_string() && first["last_failed_at"].is_string());

    // The table is on stdout, without --json; parked records make the health check exit 1.
    let (code, _, output) = world.run(&["--status"]).await;
    assert_eq!(code, 1);
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("completed") && table.contains("parked"),
        "{table}"
    );

    // Discarding a parked record on purpose: gone from the parked list, logged as a run.
    let key = first["key"].as_str().unwrap().to_owned();
    let (code, discard, output) = world.run(&["--discard-failed", &key, "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(discard["kind"], "discarded");
    assert_eq!(discard["discarded"][0]["key"], key.as_str());
    let (code, _, output) = world.run(&["--discard-failed", "nobody@example.com"]).await;
    assert_eq!(code, 2, "an unknown key is a usage error");
    assert!(
        stderr(&output).contains("nobody@example.com"),
        "{}",
        stderr(&output)
    );
    let view = status(&world).await;
    assert_eq!(view["parked"].as_array().unwrap().len(), 99);
    assert_eq!(view["runs"][0]["mode"], "discard_failed");
    let (_, replay, _) = world.run(&["--replay-failed", "--json"]).await;
    assert_eq!(replay["read"], 99, "a discarded record is not replayed");
}

/// One customer Directo sends with a byte that is not UTF-8 in its name is filtered with the
/// reason (its code as the id); the customers after it are still delivered, and the run ends
/// as its summary says.
#[tokio::test]
async fn a_customer_with_invalid_utf8_is_filtered_and_the_others_delivered() {
    use directo_client::{Target, ToRecord};
    let world = World::start(0).await;
    let now = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Tallinn").unwrap())
        .datetime();
    let customers = demo::customers(4, now, 60);
    let records: Vec<_> = customers
        .iter()
        .map(|c| sync_examples::shared::directo::to_directo(c).to_output_record())
        .collect();
    let xml = Target::new("customer", "customers", "customer")
        .xmldata(&records)
        .unwrap();
    let mut body = xml
        .replacen("<customers>", "<transport><customers>", 1)
        .replacen("</customers>", "</customers></transport>", 1)
        .into_bytes();
    // The second customer's name gets a 0xFF byte.
    let second = String::from_utf8_lossy(&body)
        .find(r#"code="C000002""#)
        .unwrap();
    let name = second
        + String::from_utf8_lossy(&body[second..])
            .find("name=\"")
            .unwrap()
        + 6;
    body.insert(name + 1, 0xFF);
    world
        .directo
        .reply_next(1, 200, "text/xml; charset=utf-8", body);

    let (code, summary, output) = world.run(&["--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["exit_code"], 0);
    assert_eq!(summary["read"], 4);
    assert_eq!(summary["delivered"], 3, "{summary:#}");
    assert_eq!(summary["filtered"], 1);
    assert_eq!(
        summary["filtered_by_reason"][r#"field "name" cannot be decoded"#], 1,
        "{summary:#}"
    );
    let rejection = &summary["rejections"][0];
    assert_eq!(rejection["id"], "C000002");
    let reason = rejection["reason"].as_str().unwrap();
    assert!(reason.contains("invalid UTF-8 (byte 0xFF)"), "{reason}");
    assert!(world.smaily.subscriber("customer0@example.com").is_some());
    assert!(world.smaily.subscriber("customer1@example.com").is_none());
    assert!(world.smaily.subscriber("customer3@example.com").is_some());
}
