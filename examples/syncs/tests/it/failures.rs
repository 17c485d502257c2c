//! End to end: how the binaries fail. Dry runs need credentials only for what they read, a run
//! stopped by a usage or credentials error leaves no state file behind, errors name the side
//! that failed, replays report the attempts the state file holds, and the endpoint overrides
//! are checked.

use crate::common::directo_to_smaily::{command as directo_to_smaily, directo_with_customers};
use crate::common::sync_bin::{self, stderr};

use std::path::Path;

use messaging_client::fake::FakeMessaging;
use smaily_client::fake::FakeSmaily;
use splio_client::fake::FakeService as _;
use splio_client::fake::FakeSplio;
use sync_examples::shared::demo_customers as demo;

const SPLIO: &str = env!("CARGO_BIN_EXE_segment-to-splio");
const MESSAGING: &str = env!("CARGO_BIN_EXE_messaging");

fn config(dir: &Path) -> String {
    sync_bin::write_file(
        dir,
        "config.toml",
        "[job.retry]\nattempts = 2\ndelay = \"1ms\"\n\
         [smaily]\nrequests_per_second = 0\ntransport_retries = 0\n",
    )
}

#[tokio::test]
async fn dry_runs_need_credentials_only_for_what_they_read() {
    let directo = directo_with_customers(20).await;
    let dir = tempfile::tempdir().unwrap();
    let output = directo_to_smaily(&directo, None, dir.path(), &["--dry-run"])
        .output()
        .await
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "no Smaily password needed: {}",
        stderr(&output)
    );
    assert!(!sync_bin::dry_run_items(&output).is_empty());

    let orders = sync_bin::write_file(
        dir.path(),
        "orders.csv",
        "externalOrderId,email,status,totalCost,currency,date\nO1,a@example.com,DELIVERED,1,EUR,2024-03-01\n",
    );
    let recipients = sync_bin::write_file(dir.path(), "r.csv", "email\nann@example.com\n");
    for args in [
        vec!["orders", "push", orders.as_str(), "--dry-run"],
        vec![
            "send",
            "7",
            "--recipients",
            recipients.as_str(),
            "--dry-run",
        ],
    ] {
        let output = sync_bin::command(MESSAGING, dir.path())
            .env_remove("MESSAGING_API_KEY")
            .args(&args)
            .output()
            .await
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
    }

    let segment = sync_bin::write_file(dir.path(), "vip.csv", "email\nann@example.com\n");
    let output = sync_bin::command(SPLIO, dir.path())
        .env_remove("SPLIO_API_KEY")
        .args([segment.as_str(), "--insert", "--dry-run"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(sync_bin::dry_run_items(&output).len(), 1);
    assert!(!dir.path().join("sync-state.db").exists());
}

#[tokio::test]
async fn a_run_stopped_by_a_usage_or_credentials_error_leaves_no_state_file() {
    let directo = directo_with_customers(20).await;
    let smaily = FakeSmaily::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let state_arg = state.to_str().unwrap();
    // A missing Smaily variable is found before any request: no state file. (A wrong Directo
    // token or Smaily password reached the service: a failed run in the run log since issue 20
    // point 7, `truth_directo::directo_refusing_the_token_is_a_failed_run_in_the_status` and
    // `truth_directo::smaily_refusing_the_credentials_is_a_failed_run_in_the_status`.)
    let mut no_user = directo_to_smaily(&directo, None, dir.path(), &["--state", state_arg]);
    let output = no_user.output().await.unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(!state.exists(), "{}", stderr(&output));

    // The same for the messaging pushes and segment-to-splio.
    let messaging = FakeMessaging::start().await;
    let orders = sync_bin::write_file(
        dir.path(),
        "orders.csv",
        "externalOrderId,email,status,totalCost,currency,date\nO1,a@example.com,DELIVERED,1,EUR,2024-03-01\n",
    );
    let output = sync_bin::command(MESSAGING, dir.path())
        .env("MESSAGING_BASE_URL", messaging.base_url())
        .env("MESSAGING_API_KEY", "wrong")
        .args(["orders", "push", &orders, "--state", state_arg])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    // The key refused by the account check is a failed run in the run log since issue 20
    // point 7 (`truth_messaging::the_api_refusing_the_key_is_a_failed_run_in_the_status`):
    // the file is kept for it.
    assert!(state.exists());
    std::fs::remove_file(&state).unwrap();
    let splio = FakeSplio::start().await;
    let segment = sync_bin::write_file(dir.path(), "vip.csv", "email\nann@example.com\n");
    let output = sync_bin::command(SPLIO, dir.path())
        .env("SPLIO_BASE_URL", splio.base_url())
        .env("SPLIO_API_KEY", "wrong")
        .args([segment.as_str(), "--state", state_arg])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    // Refused by `/authenticate`: the run reached Splio, so it is in the run log.
    assert!(state.exists());
    std::fs::remove_file(&state).unwrap();

    // A state file that holds a run is kept, whatever the next run does.
    let mut ok = directo_to_smaily(&directo, Some(&smaily), dir.path(), &["--state", state_arg]);
    assert_eq!(ok.output().await.unwrap().status.code(), Some(0));
    let mut wrong_password =
        directo_to_smaily(&directo, Some(&smaily), dir.path(), &["--state", state_arg]);
    wrong_password.env("SMAILY_PASSWORD", "wrong");
    assert_eq!(
        wrong_password.output().await.unwrap().status.code(),
        Some(2)
    );
    assert!(state.exists());
}

#[tokio::test]
async fn errors_name_the_side_that_failed() {
    // Directo failing mid-run: the summary says it was Directo.
    let directo = directo_with_customers(20).await;
    let smaily = FakeSmaily::start().await;
    let dir = tempfile::tempdir().unwrap();
    directo.fail_next(10, 500);
    let config = config(dir.path());
    let (code, summary, output) = sync_bin::run(directo_to_smaily(
        &directo,
        Some(&smaily),
        dir.path(),
        &["--config", &config, "--json"],
    ))
    .await;
    assert_eq!(code, 1, "{}", stderr(&output));
    let text = format!("{} {}", summary, stderr(&output));
    assert!(text.contains("reading Directo failed"), "{text}");
    assert!(!text.contains("the source"), "{text}");

    // The messaging API answering 404 to a one-shot command.
    let messaging = FakeMessaging::start().await;
    let output = sync_bin::command(MESSAGING, dir.path())
        .env(
            "MESSAGING_BASE_URL",
            format!("{}/nowhere", messaging.base_url()),
        )
        .env("MESSAGING_API_KEY", messaging.api_key())
        .args(["status", "some-id"])
        .output()
        .await
        .unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("the messaging API"), "{text}");
    assert!(!text.contains("the source"), "{text}");

    // An SFTP server that refuses the connection: delivering to Splio failed.
    let segment = sync_bin::write_file(dir.path(), "vip.csv", "email\nann@example.com\n");
    let sftp = sync_bin::write_file(
        dir.path(),
        "sftp.toml",
        "[sftp]\nhost_key_fingerprint = \"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"\n",
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let output = sftp_delivery(dir.path(), port, &segment, &sftp)
        .output()
        .await
        .unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("delivering to Splio failed"), "{text}");
    assert!(!text.contains("the source"), "{text}");
}

/// `segment-to-splio` delivering `segment` over SFTP to 127.0.0.1:`port` (user and password
/// set), with `config`.
fn sftp_delivery(dir: &Path, port: u16, segment: &str, config: &str) -> tokio::process::Command {
    let mut cmd = sync_bin::command(SPLIO, dir);
    cmd.env("SPLIO_UNIVERSE", "uni")
        .env("SPLIO_SFTP_HOST", "127.0.0.1")
        .env("SPLIO_SFTP_PORT", port.to_string())
        .env("SPLIO_SFTP_USER", "u")
        .env("SPLIO_SFTP_PASSWORD", "p")
        .args([
            segment,
            "--delivery",
            "sftp",
            "--insert",
            "--config",
            config,
        ]);
    cmd
}

#[tokio::test]
async fn sftp_setup_mistakes_say_how_to_fix_them_without_a_sandbox_hint() {
    let dir = tempfile::tempdir().unwrap();
    let segment = sync_bin::write_file(dir.path(), "vip.csv", "email\nann@example.com\n");
    let missing = dir.path().join("no-such-known_hosts");
    let config = sync_bin::write_file(
        dir.path(),
        "sftp.toml",
        &format!("[sftp]\nknown_hosts = \"{}\"\n", missing.display()),
    );
    let output = sftp_delivery(dir.path(), 1, &segment, &config)
        .output()
        .await
        .unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("no-such-known_hosts") && text.contains("does not exist"),
        "{text}"
    );
    assert!(
        text.contains("ssh-keyscan") && text.contains("host_key_fingerprint"),
        "{text}"
    );
    assert!(!text.contains("--sandbox"), "{text}");

    let mut cmd = sftp_delivery(dir.path(), 1, &segment, &config);
    cmd.env_remove("SPLIO_SFTP_HOST");
    let output = cmd.output().await.unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("SPLIO_SFTP_HOST"), "{text}");
    assert!(
        !text.contains("--sandbox"),
        "the sandbox has no SFTP: {text}"
    );
}

#[tokio::test]
async fn a_replay_reports_the_attempts_the_state_file_holds() {
    let directo = directo_with_customers(10).await;
    let smaily = FakeSmaily::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    // The credentials check, then 2 attempts of the one batch.
    smaily.fail_next(3, 503);
    let (code, summary, output) = sync_bin::run(directo_to_smaily(
        &directo,
        Some(&smaily),
        dir.path(),
        &["--config", &config, "--json"],
    ))
    .await;
    assert_eq!(code, 1, "{}", stderr(&output));
    assert_eq!(summary["failures"][0]["attempts"], 2);

    // The credentials check and both replay attempts fail again: 4 attempts in the state file.
    let replay = || {
        directo_to_smaily(
            &directo,
            Some(&smaily),
            dir.path(),
            &["--config", &config, "--replay-failed"],
        )
    };
    smaily.fail_next(3, 503);
    let mut json = replay();
    json.arg("--json");
    let (code, summary, output) = sync_bin::run(json).await;
    assert_eq!(code, 1, "{}", stderr(&output));
    let attempts: i64 = rusqlite::Connection::open(dir.path().join("sync-state.db"))
        .unwrap()
        .query_row("SELECT max(attempts) FROM failed", [], |row| row.get(0))
        .unwrap();
    assert_eq!(attempts, 4);
    assert_eq!(summary["failures"][0]["attempts"], 4, "{summary:#}");

    smaily.fail_next(3, 503);
    let output = replay().output().await.unwrap();
    let text = stderr(&output);
    assert!(text.contains("after 6 attempts:"), "{text}");
}

#[tokio::test]
async fn smaily_base_url_is_the_api_root_and_a_root_without_api_is_fixed_with_a_warning() {
    let directo = directo_with_customers(10).await;
    let smaily = FakeSmaily::start().await;
    let dir = tempfile::tempdir().unwrap();
    let root = smaily.base_url().trim_end_matches("api/").to_owned();
    let mut cmd = directo_to_smaily(&directo, Some(&smaily), dir.path(), &["--json"]);
    cmd.env("SMAILY_BASE_URL", &root);
    let (code, summary, output) = sync_bin::run(cmd).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], demo::deliverable(10) as u64);
    assert!(stderr(&output).contains("/api/"), "{}", stderr(&output));

    let mut cmd = directo_to_smaily(&directo, Some(&smaily), dir.path(), &[]);
    cmd.env("SMAILY_BASE_URL", format!("{root}smaily/"));
    let output = cmd.output().await.unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("contact.php"),
        "{}",
        stderr(&output)
    );
}
