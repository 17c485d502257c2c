//! End to end: what the binaries print. `--json` is JSON lines (`"kind"` tells summaries,
//! errors and dry-run requests apart; `exit_code` is the process's exit code), a dry run prints
//! exactly the request bodies a real run sends, the table reads right, and `--help` describes
//! each binary and the formats it reads.

use crate::common;
use crate::common::directo_to_smaily::{BIN as DIRECTO_TO_SMAILY, directo_with_customers};
use crate::common::sync_bin::{self, dry_run_requests, json_lines, stderr};
use smaily_client::fake::FakeService as _;

use std::path::Path;
use std::process::Output;

use directo_client::fake::FakeDirecto;
use messaging_client::fake::FakeMessaging;
use serde_json::Value;
use smaily_client::fake::FakeSmaily;
use splio_client::FieldType;
use splio_client::fake::FakeSplio;
use splio_client::fake::JsonBody as _;

const SPLIO: &str = env!("CARGO_BIN_EXE_segment-to-splio");
const MESSAGING: &str = env!("CARGO_BIN_EXE_messaging");

/// A Directo fake with `customers` demo customers and an empty Smaily fake.
async fn directo_and_smaily(customers: usize) -> (FakeDirecto, FakeSmaily) {
    (
        directo_with_customers(customers).await,
        FakeSmaily::start().await,
    )
}

fn directo_to_smaily(
    directo: &FakeDirecto,
    smaily: &FakeSmaily,
    dir: &Path,
    args: &[&str],
) -> tokio::process::Command {
    common::directo_to_smaily::command(directo, Some(smaily), dir, args)
}

fn config(dir: &Path) -> String {
    sync_bin::write_file(
        dir,
        "config.toml",
        "[job]\nbatch_size = 40\n[job.retry]\nattempts = 1\ndelay = \"1ms\"\n\
         [smaily]\nrequests_per_second = 0\ntransport_retries = 0\n",
    )
}

/// The JSON bodies of the `POST contact.php` requests Smaily received.
fn smaily_posts(smaily: &FakeSmaily) -> Vec<Value> {
    smaily
        .smaily_requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("contact.php"))
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect()
}

fn sorted(mut bodies: Vec<Value>) -> Vec<Value> {
    bodies.sort_by_key(|b| b.to_string());
    bodies
}

#[tokio::test]
async fn json_summaries_are_json_lines_with_the_exit_code_as_a_number() {
    let (directo, smaily) = directo_and_smaily(50).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let args = ["--config", config.as_str(), "--state", "s.db", "--json"];
    let output = directo_to_smaily(&directo, &smaily, dir.path(), &args)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1, "one line per summary");
    assert_eq!(lines[0]["kind"], "summary");
    assert_eq!(lines[0]["exit_code"], 0);
    assert_eq!(lines[0]["outcome"], "success");

    // A run that parks records exits 1 and says so as a number: the credentials check and
    // both batches (all 46 good customers, 40 per batch, one attempt) get a 503.
    smaily.fail_next(3, 503);
    let again = [&args[..], &["--force", "--since", "2d"]].concat();
    let output = directo_to_smaily(&directo, &smaily, dir.path(), &again)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["exit_code"], 1);
    assert_eq!(lines[0]["outcome"], "failed");

    // A usage error is one line too.
    let output = directo_to_smaily(&directo, &smaily, dir.path(), &args)
        .env("SMAILY_PASSWORD", "wrong")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["kind"], "error");
    assert_eq!(lines[0]["exit_code"], 2);
    assert!(lines[0]["error"].as_str().unwrap().contains("Smaily"));
}

#[tokio::test]
async fn smaily_dry_run_prints_the_bodies_a_real_run_posts() {
    let (directo, smaily) = directo_and_smaily(120).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let output = directo_to_smaily(
        &directo,
        &smaily,
        dir.path(),
        &["--config", &config, "--dry-run", "--json"],
    )
    .output()
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = json_lines(&output);
    assert!(
        lines
            .iter()
            .all(|l| matches!(l["kind"].as_str(), Some("request" | "summary"))),
        "{lines:?}"
    );
    assert_eq!(lines.last().unwrap()["kind"], "summary");
    let requests = dry_run_requests(&output);
    assert_eq!(
        requests.len(),
        3,
        "120 customers, 40 per batch, some filtered"
    );
    for r in &requests {
        assert_eq!(r["method"], "POST");
        assert_eq!(r["path"], "/api/contact.php");
    }
    let printed: Vec<Value> = requests.iter().map(|r| r["body"].clone()).collect();

    let output = directo_to_smaily(&directo, &smaily, dir.path(), &["--config", &config])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(sorted(printed), sorted(smaily_posts(&smaily)));
}

/// `n` orders as CSV in the API's field names, money with trailing zeros, a civil date, a
/// lower-case status and an `items` cell.
fn orders_csv(n: usize) -> String {
    let mut text = String::from("externalOrderId;email;status;totalCost;currency;date;items\n");
    for i in 0..n {
        text.push_str(&format!(
            "O{i};c{i}@example.com;delivered;{i}.50;EUR;2024-03-01;\
             \"[{{\"\"externalItemId\"\":\"\"S{i}\"\",\"\"name\"\":\"\"Mug\"\",\"\"quantity\"\":2,\"\"cost\"\":\"\"4.00\"\"}}]\"\n"
        ));
    }
    text
}

#[tokio::test]
async fn orders_dry_run_prints_the_wire_format_a_real_run_sends() {
    let fake = FakeMessaging::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = sync_bin::write_file(dir.path(), "orders.csv", &orders_csv(3));
    let tz = sync_bin::write_file(
        dir.path(),
        "c.toml",
        "[messaging]\ntime_zone = \"Europe/Tallinn\"\n",
    );
    let run = |extra: &[&str]| {
        let mut cmd = sync_bin::command(MESSAGING, dir.path());
        cmd.env("MESSAGING_BASE_URL", fake.base_url())
            .env("MESSAGING_API_KEY", fake.credentials().expose())
            .args(["orders", "push", file.as_str(), "--config", tz.as_str()])
            .args(extra);
        cmd
    };
    let output = run(&["--dry-run"]).output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        stdout.contains("\"totalCost\":1.50"),
        "money as an exact number: {stdout}"
    );
    assert!(
        stdout.contains("\"date\":\"2024-03-01T00:00:00+02:00\""),
        "the API's date format, no zone name: {stdout}"
    );
    assert!(!stdout.contains("[Europe/Tallinn]"));
    let requests = dry_run_requests(&output);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["path"], "/v1/orders");
    let order = &requests[0]["body"]["orders"][0];
    assert_eq!(order["status"], "DELIVERED", "the API's casing");
    assert_eq!(order["items"][0]["quantity"], 2, "items as an array");
    assert_eq!(order["items"][0]["cost"].as_f64(), Some(4.0));

    let output = run(&[]).output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let sent: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/v1/orders"))
        .map(|r| r.body_text())
        .collect();
    assert_eq!(sent.len(), 1);
    let printed_body = stdout
        .lines()
        .find(|l| l.contains("\"kind\":\"request\""))
        .unwrap();
    assert!(
        printed_body.contains(&sent[0]),
        "the dry run printed the exact bytes sent:\n{printed_body}\n{}",
        sent[0]
    );
}

#[tokio::test]
async fn send_and_splio_dry_runs_print_their_request_bodies() {
    let fake = FakeMessaging::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = sync_bin::write_file(dir.path(), "r.csv", "email,discount\nann@example.com,5%\n");
    let mut cmd = sync_bin::command(MESSAGING, dir.path());
    cmd.env("MESSAGING_BASE_URL", fake.base_url())
        .env("MESSAGING_API_KEY", fake.credentials().expose())
        .args(["send", "7", "--recipients", &file, "--dry-run"]);
    let output = cmd.output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let requests = dry_run_requests(&output);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["path"], "/v1/message/7/smartsend");
    let body = &requests[0]["body"];
    assert_eq!(body["email"], true);
    let recipient = &body["recipients"][0];
    assert_eq!(recipient["locator"], "ann@example.com");
    assert_eq!(recipient["jsonParam"], "{\"discount\":\"5%\"}", "{body}");
    assert_eq!(
        recipient["externalRequestId"],
        "messaging-send-7:ann@example.com"
    );
    // A real send posts exactly that body.
    let mut cmd = sync_bin::command(MESSAGING, dir.path());
    cmd.env("MESSAGING_BASE_URL", fake.base_url())
        .env("MESSAGING_API_KEY", fake.credentials().expose())
        .args(["send", "7", "--recipients", &file]);
    assert!(cmd.output().await.unwrap().status.success());
    let sent: Vec<Value> = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/smartsend"))
        .map(crate::common::json_body)
        .collect();
    assert_eq!(sent, std::slice::from_ref(body));

    let splio = FakeSplio::start().await;
    splio.seed_field("tier", FieldType::Text);
    let file = sync_bin::write_file(
        dir.path(),
        "vip.csv",
        "email,firstname,tier\nAnn@Example.com,Ann,gold\n",
    );
    let mut cmd = sync_bin::command(SPLIO, dir.path());
    cmd.env("SPLIO_BASE_URL", splio.base_url())
        .env("SPLIO_API_KEY", splio.credentials().expose())
        .args([file.as_str(), "--insert", "--dry-run"]);
    let output = cmd.output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let requests = dry_run_requests(&output);
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["path"], "/data/contacts/bulk");
    let contact = &requests[0]["body"]["contacts"][0];
    assert_eq!(contact["email"], "ann@example.com");
    assert_eq!(contact["firstname"], "Ann");
    assert_eq!(
        contact["custom_fields"],
        serde_json::json!([{"name": "tier", "value": "gold"}])
    );
    assert!(splio.requests().is_empty());
    // A real run creates the contact with exactly that body.
    let mut cmd = sync_bin::command(SPLIO, dir.path());
    cmd.env("SPLIO_BASE_URL", splio.base_url())
        .env("SPLIO_API_KEY", splio.credentials().expose())
        .args([file.as_str(), "--insert"]);
    let output = cmd.output().await.unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let created: Vec<Value> = splio
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/data/contacts/bulk")
        .filter_map(|r| r.json_body())
        .collect();
    assert_eq!(created, [requests[0]["body"].clone()]);
}

#[tokio::test]
async fn an_sftp_dry_run_prints_the_datahub_files_and_needs_no_sftp_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let file = sync_bin::write_file(
        dir.path(),
        "vip.csv",
        "email,firstname\nAnn@Example.com,Ann\n",
    );
    let mut cmd = sync_bin::command(SPLIO, dir.path());
    cmd.env_remove("SPLIO_API_KEY")
        .env_remove("SPLIO_SFTP_HOST")
        .env("SPLIO_UNIVERSE", "uni")
        .args([
            file.as_str(),
            "--delivery",
            "sftp",
            "--insert",
            "--dry-run",
            "--json",
        ]);
    let output = cmd.output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["kind"], "upload");
    let path = lines[0]["path"].as_str().unwrap();
    assert!(
        path.starts_with("/imports/uni_contacts_contacts_") && path.ends_with(".csv"),
        "{path}"
    );
    assert_eq!(
        lines[0]["content"],
        "email;firstname\nann@example.com;Ann\n"
    );
    assert_eq!(lines[1]["kind"], "summary");
    assert_eq!(lines[1]["requests"], 1);

    // The file a dry run prints is named by the same writer as a real upload: `[sftp] file_name`.
    let config = sync_bin::write_file(
        dir.path(),
        "config.toml",
        "[sftp]\nfile_name = \"{universe}_contacts_{subsequence}{date}_{unique}\"\n",
    );
    cmd.args(["--config", config.as_str()]);
    let output = cmd.output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = json_lines(&output);
    let path = lines[0]["path"].as_str().unwrap();
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y%m%d")
        .to_string();
    assert!(
        path.starts_with(&format!("/imports/uni_contacts_contacts{today}_")) && !path.contains('.'),
        "{path}"
    );
}

#[tokio::test]
async fn contacts_dry_run_prints_the_import_a_real_push_sends() {
    let fake = FakeMessaging::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = sync_bin::write_file(
        dir.path(),
        "contacts.csv",
        "email;firstName;Gender\nann@example.com;Ann;F\n",
    );
    let push = |extra: &[&str]| {
        let mut cmd = sync_bin::command(MESSAGING, dir.path());
        cmd.env("MESSAGING_BASE_URL", fake.base_url())
            .env("MESSAGING_API_KEY", fake.credentials().expose())
            .args(["contacts", "push", file.as_str()])
            .args(extra);
        cmd
    };
    let output = push(&["--dry-run"]).output().await.unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let requests = dry_run_requests(&output);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["path"], "/v1/contacts");
    assert_eq!(requests[0]["body"]["dedupeOn"], "email");
    assert!(
        fake.requests().iter().all(|r| r.method == "GET"),
        "only the field catalog is read"
    );
    assert!(push(&[]).output().await.unwrap().status.success());
    let sent: Vec<Value> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/v1/contacts"))
        .map(crate::common::json_body)
        .collect();
    assert_eq!(sent, [requests[0]["body"].clone()]);
}

#[tokio::test]
async fn the_table_and_the_sandbox_line_count_in_words_that_agree() {
    let dir = tempfile::tempdir().unwrap();
    let output = sync_bin::command(DIRECTO_TO_SMAILY, dir.path())
        .arg("--sandbox")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("(1 Directo request,"), "{text}");
    assert!(!text.contains("(s)"), "{text}");
}

#[tokio::test]
async fn every_sandbox_closes_with_one_line_naming_its_fake() {
    let dir = tempfile::tempdir().unwrap();
    let runs: [(&str, &[&str], &str); 3] = [
        (
            DIRECTO_TO_SMAILY,
            &["--sandbox"],
            "sandbox: the Smaily fake now holds 2760 subscribers (1 Directo request, ",
        ),
        (
            SPLIO,
            &["--sandbox", "--insert"],
            "sandbox: the Splio fake now holds ",
        ),
        (
            MESSAGING,
            &["orders", "push", "--sandbox"],
            "sandbox: the messaging fake now holds ",
        ),
    ];
    for (bin, args, start) in runs {
        let output = sync_bin::command(bin, dir.path())
            .args(args)
            .output()
            .await
            .unwrap();
        let text = stderr(&output);
        let line = text
            .lines()
            .find(|l| l.starts_with("sandbox: "))
            .unwrap_or_else(|| panic!("{bin}: no sandbox line in {text}"));
        assert!(line.starts_with(start), "{bin}: {line}");
        assert!(line.ends_with(")."), "{bin}: {line}");
    }
    let output = sync_bin::command(DIRECTO_TO_SMAILY, dir.path())
        .args(["--sandbox", "--json"])
        .output()
        .await
        .unwrap();
    assert!(
        !stderr(&output).contains("sandbox: "),
        "--json prints no closing line"
    );
}

fn help(bin: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(bin)
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn help_describes_each_binary_and_the_formats_it_reads() {
    for bin in [DIRECTO_TO_SMAILY, SPLIO, MESSAGING] {
        let text = help(bin, &[]);
        let first = text.lines().next().unwrap();
        assert!(
            !first.contains(env!("CARGO_PKG_DESCRIPTION")),
            "{bin} --help opens with the package's blurb: {first}"
        );
    }
    let text = help(MESSAGING, &[]);
    assert!(
        text.lines().next().unwrap().contains("messaging API"),
        "{text}"
    );
    let text = help(DIRECTO_TO_SMAILY, &[]);
    let first = text.lines().next().unwrap();
    assert!(
        first.contains("Directo customers") && first.contains("Smaily"),
        "{first}"
    );
    let text = help(SPLIO, &[]);
    for words in ["Splio", "CSV", "JSON lines", "Directo"] {
        assert!(text.contains(words), "{words:?} not in {text}");
    }
    for command in [&["orders", "push"][..], &["contacts", "push"], &["send"]] {
        let text = help(MESSAGING, command);
        for words in ["CSV", "JSON lines"] {
            assert!(text.contains(words), "{command:?}: {words:?} not in {text}");
        }
    }
    let text = help(MESSAGING, &["event"]);
    assert!(
        text.contains("--key") && text.contains("required unless"),
        "{text}"
    );
}

#[tokio::test]
async fn the_documented_cron_line_keeps_info_lines_out_of_its_error_log() {
    let guide = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/directo-to-smaily.md"
    ))
    .unwrap();
    let line = guide
        .lines()
        .find(|l| l.starts_with("*/15 * * * *"))
        .expect("the cron line");
    assert!(line.contains("RUST_LOG=warn"), "{line}");
    assert!(line.contains("--json >> runs.jsonl"), "{line}");
    let (directo, smaily) = directo_and_smaily(30).await;
    let dir = tempfile::tempdir().unwrap();
    let output: Output = directo_to_smaily(&directo, &smaily, dir.path(), &["--json"])
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(!stderr(&output).contains("INFO"), "{}", stderr(&output));
}
