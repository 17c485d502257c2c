//! End to end, issue 20 point 6: skipped records are listed by key like filtered ones (in
//! `--json`, the table, `--status` and the run log), and a list that stops at its limit says
//! how many it left out.

use splio_client::ContactData;
use splio_client::fake::FakeService as _;
use splio_client::fake::FakeSplio;

use crate::common::sync_bin::{self, stderr};

const BIN: &str = env!("CARGO_BIN_EXE_segment-to-splio");
const NEW: &str = "new contact, not created without --insert";

#[tokio::test]
async fn skipped_keys_are_listed_and_a_cut_list_says_how_many_it_left_out() {
    let fake = FakeSplio::start().await;
    let dir = tempfile::tempdir().unwrap();
    for i in 0..10 {
        fake.seed_contact(ContactData::with_email(format!("m{i}@example.com")));
    }
    // 1,100 members, 10 of them in Splio: 1,090 new ones, skipped without --insert.
    let mut csv = String::from("email,firstname\n");
    for i in 0..1_100 {
        csv.push_str(&format!("m{i}@example.com,M{i}\n"));
    }
    let file = sync_bin::write_file(dir.path(), "segment.csv", &csv);
    let config = sync_bin::write_file(
        dir.path(),
        "config.toml",
        "[splio]\nretries = 0\nretry_delay = \"1ms\"\nrate_limit = false\n",
    );
    let command = |args: &[&str]| {
        let mut cmd = sync_bin::command(BIN, dir.path());
        cmd.env("SPLIO_BASE_URL", fake.base_url())
            .env("SPLIO_API_KEY", fake.credentials().expose())
            .args([file.as_str(), "--config", &config, "--state", "s.db"])
            .args(args);
        cmd
    };

    let (code, summary, output) = sync_bin::run(command(&["--json"])).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 10);
    assert_eq!(summary["skipped"], 1_090);
    let skips = summary["skips"].as_array().unwrap();
    assert_eq!(skips.len(), 1_000, "the first 1,000 are listed");
    assert_eq!(
        summary["skips_left_out"], 90,
        "and the count left out is given"
    );
    assert_eq!(skips[0]["key"], "m10@example.com");
    assert_eq!(skips[0]["reason"], NEW);
    assert_eq!(summary["rejections_left_out"], 0);

    // The table lists the first ones and says how many there are.
    let (code, _, output) = sync_bin::run(command(&[])).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    let table = stderr(&output);
    assert!(
        table.contains("skipped records, first 10 of 1090"),
        "{table}"
    );
    let line = format!("    {:<32}  {NEW}", "m10@example.com");
    assert!(table.contains(&line), "{table}");
    assert!(
        table.contains("--json lists the first 1000 (90 left out)"),
        "{table}"
    );

    // --status and the run log show the last run's skipped keys.
    let (code, status, output) = sync_bin::run(command(&["--status", "--json"])).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(
        status["last_skipped"]["skips"].as_array().unwrap().len(),
        1_000
    );
    assert_eq!(status["last_skipped"]["left_out"], 90);
    assert_eq!(status["last_skipped"]["skips"][0]["key"], "m10@example.com");
    let (_, _, output) = sync_bin::run(command(&["--status"])).await;
    let shown = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(shown.contains("skipped in run 2"), "{shown}");
    assert!(shown.contains("m10@example.com"), "{shown}");
}
