//! End to end, issue 20 point 9: the summary's `requests` is every HTTP request the process sent
//! for the run, retries and the start-up checks included, as the services counted them.

use smaily_client::fake::FakeService as _;
use smaily_client::fake::FakeSmaily;

use crate::common::directo_to_smaily::{command, directo_with_customers};
use crate::common::sync_bin::{self, stderr, write_file};

#[tokio::test]
async fn requests_counts_every_http_attempt_the_services_saw() {
    let dir = tempfile::tempdir().unwrap();
    let directo = directo_with_customers(300).await;
    let smaily = FakeSmaily::start().await;
    let config = write_file(
        dir.path(),
        "c.toml",
        "[job]\nbatch_size = 50\n[job.retry]\nattempts = 3\ndelay = \"1ms\"\n",
    );
    // Two answers of 503: the client retries them (attempts the services see).
    smaily.fail_next(3, 503);
    let args = ["--config", config.as_str(), "--state", "s.db", "--json"];
    let (code, summary, output) =
        sync_bin::run(command(&directo, Some(&smaily), dir.path(), &args)).await;
    assert!(code == 0 || code == 1, "{}", stderr(&output));
    let seen = directo.xmlcore_requests().len() as u64 + smaily.request_count();
    assert_eq!(summary["requests"], seen, "{summary}");

    // A second run counts its own requests only.
    let (_, again, output) =
        sync_bin::run(command(&directo, Some(&smaily), dir.path(), &args)).await;
    let seen_again = directo.xmlcore_requests().len() as u64 + smaily.request_count() - seen;
    assert_eq!(again["requests"], seen_again, "{}", stderr(&output));
    // The run log says the same.
    let mut cmd = sync_bin::command(crate::common::directo_to_smaily::BIN, dir.path());
    cmd.args(["--state", "s.db", "--status", "--json"]);
    let (_, status, _) = sync_bin::run(cmd).await;
    assert_eq!(status["runs"][0]["requests"], seen_again, "{status}");
    assert_eq!(status["runs"][1]["requests"], seen, "{status}");
}
