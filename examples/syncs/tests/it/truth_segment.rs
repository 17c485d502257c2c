//! Issue 20, `segment-to-splio`: mapping mistakes and fields Splio does not have are refused
//! before any request (exit 2, naming them); an emptied cell reaches Splio as a clear, a column
//! missing from the file is left alone; the dry run classifies a record as the real run does.
//! A contact Splio holds as `Mixed.Case@Example.com` is addressed under that form on every
//! run, where Splio matches email keys exactly (the fake's `EmailKeys::Exact`).

use crate::common;

use common::sync_bin::{self, dry_run_items, stderr};

use std::process::Output;

use serde_json::{Value, json};
use splio_client::FieldType;
use splio_client::fake::FakeService as _;
use splio_client::fake::{FakeSplio, JsonBody as _, ReceivedRequest};

const BIN: &str = env!("CARGO_BIN_EXE_segment-to-splio");

struct World {
    fake: FakeSplio,
    dir: tempfile::TempDir,
}

impl World {
    async fn start() -> World {
        let fake = FakeSplio::start().await;
        fake.seed_field("tier", FieldType::Text);
        World {
            fake,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, text: &str) -> String {
        sync_bin::write_file(self.dir.path(), name, text)
    }

    fn config(&self, extra: &str) -> String {
        self.write(
            "config.toml",
            &format!(
                "{extra}\n[job.retry]\nattempts = 1\ndelay = \"1ms\"\n\
                 [splio]\nretries = 0\nretry_delay = \"1ms\"\nrate_limit = false\n"
            ),
        )
    }

    async fn run(&self, args: &[&str]) -> (i32, Value, Output) {
        let mut cmd = sync_bin::command(BIN, self.dir.path());
        cmd.env("SPLIO_BASE_URL", self.fake.base_url())
            .env("SPLIO_API_KEY", self.fake.credentials().expose())
            .args(args);
        sync_bin::run(cmd).await
    }

    /// The requests that wrote contacts (anything but reading fields and contacts).
    fn writes(&self) -> Vec<ReceivedRequest> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.method != "GET" && !r.path.contains("/authenticate"))
            .collect()
    }
}

/// Runs the segment `csv` with `config_extra`, expecting exit 2 before any contact request;
/// returns stderr.
async fn refused(csv: &str, config_extra: &str) -> String {
    let world = World::start().await;
    let file = world.write("segment.csv", csv);
    let config = world.config(config_extra);
    let (code, _, output) = world.run(&[&file, "--config", &config, "--insert"]).await;
    let err = stderr(&output);
    assert_eq!(code, 2, "{err}");
    assert_eq!(world.writes().len(), 0, "nothing written: {err}");
    assert!(
        world
            .fake
            .requests()
            .iter()
            .all(|r| !r.path.starts_with("/data/contacts")),
        "no contact request: {err}"
    );
    err
}

#[tokio::test]
async fn a_mapping_key_that_is_not_a_column_is_refused_naming_the_nearest() {
    let err = refused(
        "email,firstname,tier\na@example.com,Ann,gold\n",
        "[mapping]\nfrstname = \"firstname\"\n",
    )
    .await;
    assert!(
        err.contains("mapping.frstname: the segment has no column \"frstname\"")
            && err.contains("did you mean \"firstname\"?"),
        "{err}"
    );
}

#[tokio::test]
async fn mapping_the_key_column_or_onto_email_is_refused() {
    let err = refused(
        "email,firstname,tier\na@example.com,Ann,gold\n",
        "[mapping]\nemail = \"firstname\"\n",
    )
    .await;
    assert!(
        err.contains("mapping.email: \"email\" is the key column (source.key_column)"),
        "{err}"
    );
    let err = refused(
        "email,firstname,tier,mail2\na@example.com,Ann,gold,b@example.com\n",
        "[mapping]\nmail2 = \"email\"\n",
    )
    .await;
    assert!(err.contains("mapping.mail2 = \"email\""), "{err}");
}

#[tokio::test]
async fn two_columns_onto_one_field_are_named() {
    let err = refused(
        "email,first,given,tier\na@example.com,Ann,Ann,gold\n",
        "[mapping]\nfirst = \"firstname\"\ngiven = \"firstname\"\n",
    )
    .await;
    assert!(
        err.contains("the columns \"first\" and \"given\" are both mapped to \"firstname\""),
        "{err}"
    );
}

#[tokio::test]
async fn duplicate_and_empty_header_names_are_refused() {
    let err = refused("email,tier,tier\na@example.com,gold,silver\n", "").await;
    assert!(
        err.contains("column \"tier\" appears twice in the header (columns 2 and 3)"),
        "{err}"
    );
    let err = refused("email,,tier\na@example.com,x,gold\n", "").await;
    assert!(err.contains("column 2 of the header has no name"), "{err}");
}

#[tokio::test]
async fn a_column_splio_has_no_field_for_is_refused_before_the_first_write() {
    let err = refused(
        "email,firstname,tier,city\na@example.com,Ann,gold,Tartu\n",
        "",
    )
    .await;
    assert!(
        err.contains("Splio has no contact field \"city\" (column \"city\")"),
        "{err}"
    );
}

#[tokio::test]
async fn an_emptied_cell_is_sent_as_a_clear_and_a_missing_column_is_left_alone() {
    let world = World::start().await;
    let config = world.config("");
    let first = world.write(
        "segment.csv",
        "email,firstname,cellphone,tier\na@example.com,Ann,+3725550001,gold\n",
    );
    let (code, summary, output) = world
        .run(&[&first, "--config", &config, "--insert", "--json"])
        .await;
    assert_eq!(
        (code, summary["delivered"].clone()),
        (0, json!(1)),
        "{}",
        stderr(&output)
    );
    // The cellphone is emptied, the tier column is dropped from the export.
    let second = world.write(
        "segment.csv",
        "email,firstname,cellphone\na@example.com,Ann,\n",
    );
    let before = world.fake.requests().len();
    let (code, summary, output) = world
        .run(&[&second, "--config", &config, "--insert", "--json"])
        .await;
    assert_eq!(
        (code, summary["delivered"].clone()),
        (0, json!(1)),
        "{}",
        stderr(&output)
    );
    let patches: Vec<ReceivedRequest> = world.fake.requests()[before..]
        .iter()
        .filter(|r| r.method == "PATCH")
        .cloned()
        .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    let body = patches[0].json_body().unwrap();
    assert_eq!(body["cellphone"], "", "the emptied cell is cleared: {body}");
    assert!(
        body.get("custom_fields").is_none(),
        "the tier column is missing from the file: not managed, not blanked: {body}"
    );
}

#[tokio::test]
async fn the_dry_run_refuses_a_line_break_as_the_real_run_does() {
    let world = World::start().await;
    let config = world.config("");
    let file = world.write(
        "segment.csv",
        "email,firstname,tier\na@example.com,\"Ann\nMarie\",gold\nb@example.com,Bob,gold\n",
    );
    let (code, dry_summary, dry) = world
        .run(&[
            &file,
            "--config",
            &config,
            "--insert",
            "--dry-run",
            "--json",
        ])
        .await;
    assert_eq!(code, 0, "{}", stderr(&dry));
    let items = dry_run_items(&dry);
    let emails: Vec<&str> = items.iter().filter_map(|i| i["email"].as_str()).collect();
    assert_eq!(emails, ["b@example.com"], "{items:?}");
    let (code, summary, output) = world
        .run(&[&file, "--config", &config, "--insert", "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 1, "{summary}");
    assert_eq!(
        summary["filtered"], 1,
        "the same record refused in both: {summary}"
    );
    assert_eq!(dry_summary["filtered"], 1, "{dry_summary}");
    assert!(
        summary
            .to_string()
            .contains("firstname contains a line break")
            && dry_summary
                .to_string()
                .contains("firstname contains a line break"),
        "{summary} {dry_summary}"
    );
}

#[tokio::test]
async fn a_missing_sftp_key_file_is_a_configuration_error() {
    let world = World::start().await;
    let config = world.write(
        "config.toml",
        "[sftp]\nhost_key_fingerprint = \"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"\n",
    );
    let file = world.write("segment.csv", "email,firstname\na@example.com,Ann\n");
    let missing = world.dir.path().join("no-such-key");
    let mut cmd = sync_bin::command(BIN, world.dir.path());
    cmd.env("SPLIO_SFTP_HOST", "127.0.0.1")
        .env("SPLIO_SFTP_PORT", "9")
        .env("SPLIO_SFTP_USER", "splio")
        .env("SPLIO_SFTP_KEY", &missing)
        .env("SPLIO_UNIVERSE", "demo")
        .args([&file, "--delivery", "sftp", "--insert", "--config", &config]);
    let (code, _, output) = sync_bin::run(cmd).await;
    let err = stderr(&output);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "SPLIO_SFTP_KEY: cannot read the key file {}",
            missing.display()
        )),
        "{err}"
    );
    assert!(
        !world.dir.path().join("sync-state.db").exists(),
        "found before the state file is created"
    );
}

#[tokio::test]
async fn a_mapping_key_no_json_line_has_is_refused() {
    let world = World::start().await;
    let file = world.write(
        "segment.jsonl",
        "{\"email\": \"a@example.com\", \"firstname\": \"Ann\"}\n",
    );
    let config = world.config("[mapping]\nfirstnme = \"firstname\"\n");
    let (code, _, output) = world.run(&[&file, "--config", &config, "--insert"]).await;
    let err = stderr(&output);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("mapping.firstnme: no line of the segment has the key \"firstnme\"; did you mean \"firstname\"?"),
        "{err}"
    );
    assert!(world.writes().is_empty(), "nothing written");
}

/// Issue 20 point 5: Splio holds `Mixed.Case@Example.com` and matches keys exactly (whether it
/// does is not documented; the fake's `EmailKeys::Exact`). The first run learns the held form
/// by listing; the second, with the contact's snapshot, must still PATCH under that form, and
/// `--insert` must never create a second, lower-case contact.
#[tokio::test]
async fn a_mixed_case_contact_is_addressed_as_splio_holds_it_on_every_run() {
    let world = World::start().await;
    world
        .fake
        .set_email_keys(splio_client::fake::EmailKeys::Exact);
    world
        .fake
        .seed_contact_body(json!({"email": "Mixed.Case@Example.com", "firstname": "Old"}));
    let config = world.config("");
    let held = splio_client::contact_path("Mixed.Case@Example.com");
    for (run, firstname) in [(1, "Ann"), (2, "Anna")] {
        let file = world.write(
            "segment.csv",
            &format!("email,firstname\nmixed.case@example.com,{firstname}\n"),
        );
        let before = world.fake.requests().len();
        let (code, summary, output) = world
            .run(&[&file, "--config", &config, "--insert", "--json"])
            .await;
        assert_eq!(
            (code, summary["delivered"].clone()),
            (0, json!(1)),
            "run {run}: {}",
            stderr(&output)
        );
        let writes: Vec<(String, String)> = world.fake.requests()[before..]
            .iter()
            .filter(|r| r.method != "GET" && !r.path.contains("/authenticate"))
            .map(|r| (r.method.to_string(), r.path.clone()))
            .collect();
        assert_eq!(
            writes,
            [("PATCH".to_owned(), held.clone())],
            "run {run}: one PATCH under the held form, nothing created"
        );
        let contacts = world.fake.contacts();
        assert_eq!(
            contacts.len(),
            1,
            "run {run}: no second contact: {contacts:?}"
        );
        assert_eq!(
            world
                .fake
                .contact("Mixed.Case@Example.com")
                .unwrap()
                .firstname
                .as_deref(),
            Some(firstname),
            "run {run}"
        );
    }
    // Unchanged since: the stored address does not make the contact look changed.
    let before = world.fake.requests().len();
    let (code, summary, output) = world
        .run(&[
            &world.dir.path().join("segment.csv").to_string_lossy(),
            "--config",
            &config,
            "--insert",
            "--json",
        ])
        .await;
    assert_eq!(
        (code, summary["delivered"].clone()),
        (0, json!(0)),
        "{}",
        stderr(&output)
    );
    assert!(
        world.fake.requests()[before..]
            .iter()
            .all(|r| r.method == "GET" || r.path.contains("/authenticate")),
        "an unchanged contact is not sent again"
    );
}
