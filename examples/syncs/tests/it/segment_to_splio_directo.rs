//! End to end: the built `segment-to-splio --source directo` against the Directo and Splio
//! fakes started here (and a fault-injecting proxy in front of the Splio fake), on loopback.

use crate::common;

use common::sync_bin::{self, dry_run_items, stderr};

use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::Ordering;

use common::directo::customer;
use directo_client::fake::FakeDirecto;
use serde_json::Value;
use splio_client::fake::FakeSplio;
use splio_client::fake::{FakeService as _, JsonBody as _};
use splio_client::{ContactData, FieldType};

const BIN: &str = env!("CARGO_BIN_EXE_segment-to-splio");

struct World {
    directo: FakeDirecto,
    splio: FakeSplio,
    splio_url: String,
    tier: u32,
    dir: tempfile::TempDir,
}

impl World {
    /// Directo: ann (Splio has her), bob (new), cy (two addresses; Splio has the first), one
    /// without an email and one with a broken one.
    async fn start() -> World {
        let directo = FakeDirecto::start().await;
        directo.seed_customers([
            customer(
                "C1",
                "Ann@Example.com",
                "Ann",
                "gold",
                "2024-03-01T10:00:00",
            ),
            customer("C2", "bob@example.com", "Bob", "", "2024-03-01T10:30:00"),
            customer(
                "C3",
                "cy@example.com; accounts@example.org",
                "Cy",
                "bronze",
                "2024-03-01T11:00:00",
            ),
            customer("C4", "", "Dee", "gold", "2024-03-01T11:00:00"),
            customer("C5", "eve at example.com", "Eve", "", "2024-03-01T11:00:00"),
        ]);
        let splio = FakeSplio::start().await;
        let tier = splio.seed_field("tier", FieldType::Text);
        let splio_url = splio.base_url();
        World {
            directo,
            splio,
            splio_url,
            tier,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn seed_existing(&self) {
        for email in ["ann@example.com", "cy@example.com"] {
            self.splio.seed_contact(ContactData::with_email(email));
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config(&self, job: &str) -> String {
        let text = format!(
            "[job]\n{job}\n[job.retry]\nattempts = 1\ndelay = \"1ms\"\n\
             [splio]\nretries = 0\nretry_delay = \"1ms\"\nrate_limit = false\n\
             [mapping]\nname = \"firstname\"\nLOYALTY = \"tier\"\n"
        );
        sync_bin::write_file(self.dir.path(), "config.toml", &text)
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = sync_bin::command(BIN, self.dir.path());
        cmd.env_remove("DIRECTO_KEY")
            .envs(common::directo::env(&self.directo))
            .env("SPLIO_BASE_URL", &self.splio_url)
            .env("SPLIO_API_KEY", self.splio.credentials().expose())
            .args(["--source", "directo"])
            .args(args);
        cmd
    }

    async fn run(&self, args: &[&str]) -> (i32, Value, Output) {
        sync_bin::run(self.command(args)).await
    }

    fn tier(&self, email: &str) -> Option<String> {
        let contact = self.splio.contact(email)?;
        contact.custom_fields.get(&self.tier).cloned()
    }
}

#[tokio::test]
async fn changed_customers_update_splio_with_only_changed_attributes() {
    let world = World::start().await;
    world.seed_existing();
    let config = world.config("");
    let (code, summary, output) = world
        .run(&["--since", "2024-02-01", "--config", &config, "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["job"], "segment-to-splio-directo");
    assert_eq!(summary["read"], 5);
    assert_eq!(summary["delivered"], 2, "ann and cy exist in Splio");
    assert_eq!(summary["skipped"], 1, "bob is new: not without --insert");
    assert_eq!(summary["filtered"], 2);
    let reasons = summary["filtered_by_reason"].as_object().unwrap();
    assert_eq!(reasons["no email"], 1, "{reasons:?}");
    assert_eq!(reasons["email contains whitespace"], 1, "{reasons:?}");
    assert_eq!(summary["watermark_after"], "2024-03-01T11:00:00");
    let ann = world.splio.contact("ann@example.com").unwrap();
    assert_eq!(ann.firstname.as_deref(), Some("Ann"));
    assert_eq!(world.tier("ann@example.com").as_deref(), Some("gold"));
    let cy = world.splio.contact("cy@example.com").unwrap();
    assert_eq!(
        cy.firstname.as_deref(),
        Some("Cy"),
        "the first of two addresses"
    );
    assert_eq!(world.tier("cy@example.com").as_deref(), Some("bronze"));
    assert!(world.splio.contact("accounts@example.org").is_none());
    assert!(world.splio.contact("bob@example.com").is_none());

    // With --insert bob is created; ann and cy are unchanged and not sent again.
    let (code, summary, _) = world
        .run(&["--insert", "--config", &config, "--json"])
        .await;
    assert_eq!(code, 0);
    assert_eq!(summary["read_from"], "2024-03-01T05:00:00");
    assert_eq!(summary["delivered"], 1);
    assert_eq!(summary["skipped"], 2);
    let bob = world.splio.contact("bob@example.com").unwrap();
    assert_eq!(bob.firstname.as_deref(), Some("Bob"));
    assert_eq!(world.tier("bob@example.com"), None);

    // Ann's loyalty changes in Directo: only the tier goes out.
    world.directo.seed_customers([customer(
        "C1",
        "ann@example.com",
        "Ann",
        "silver",
        "2024-03-02T09:00:00",
    )]);
    let before = world.splio.requests().len();
    let (code, summary, _) = world.run(&["--config", &config, "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(summary["delivered"], 1);
    let patches: Vec<String> = world.splio.requests()[before..]
        .iter()
        .filter(|r| r.method == "PATCH")
        .filter_map(|r| r.json_body())
        .map(|b| b.to_string())
        .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert!(patches[0].contains("silver"), "{}", patches[0]);
    assert!(
        !patches[0].contains("firstname"),
        "only the change: {}",
        patches[0]
    );
    assert_eq!(world.tier("ann@example.com").as_deref(), Some("silver"));

    // Nothing changed since: nothing is sent.
    let before = world.splio.requests().len();
    let (code, summary, _) = world.run(&["--config", &config, "--json"]).await;
    assert_eq!(code, 0);
    assert_eq!(summary["delivered"], 0);
    assert!(
        world.splio.requests()[before..]
            .iter()
            .all(|r| r.method == "GET" || r.path.ends_with("/authenticate")),
        "only the existing-contacts read"
    );
}

#[tokio::test]
async fn server_errors_park_contacts_that_replay_delivers() {
    let world = World::start().await;
    let proxy = common::proxy::start(&world.splio_url).await;
    let world = World {
        splio_url: proxy.url.clone(),
        ..world
    };
    let config = world.config("batch_size = 1\nconcurrency = 1");
    // Requests 1-3 authenticate, read the (empty) contact list and the universe's unique key;
    // 4-6 create one contact each, and the fifth request fails.
    proxy.faults.fail_every.store(5, Ordering::SeqCst);
    let (code, summary, output) = world
        .run(&[
            "--insert",
            "--since",
            "2024-02-01",
            "--config",
            &config,
            "--json",
        ])
        .await;
    let sent: Vec<String> = world
        .splio
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(code, 1, "{} {sent:?}", stderr(&output));
    assert_eq!(summary["delivered"], 2, "{sent:?}");
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["parked_total"], 1);
    assert_eq!(world.splio.contacts().len(), 2);

    proxy.faults.fail_every.store(0, Ordering::SeqCst);
    let (code, summary, output) = world
        .run(&["--insert", "--replay-failed", "--config", &config, "--json"])
        .await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 1);
    assert_eq!(summary["parked_total"], 0);
    assert_eq!(world.splio.contacts().len(), 3);
    assert_eq!(world.tier("ann@example.com").as_deref(), Some("gold"));
}

#[tokio::test]
async fn dry_run_sends_nothing_and_changes_no_state() {
    let world = World::start().await;
    let config = world.config("");
    let output = world
        .command(&[
            "--insert",
            "--since",
            "2024-02-01",
            "--config",
            &config,
            "--dry-run",
        ])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = dry_run_items(&output);
    assert_eq!(printed.len(), 3);
    assert!(printed.iter().any(|c| c["email"] == "ann@example.com"
        && c["firstname"] == "Ann"
        && c["custom_fields"] == serde_json::json!([{"name": "tier", "value": "gold"}])));
    assert!(world.splio.requests().is_empty());
    assert!(!world.path("sync-state.db").exists());
}

#[tokio::test]
async fn flags_credentials_and_sandbox() {
    let world = World::start().await;
    let (code, _, output) = world.run(&["segment.csv"]).await;
    assert_eq!(code, 2);
    assert!(
        stderr(&output).contains("no segment file"),
        "{}",
        stderr(&output)
    );
    let output = world
        .command(&["--since", "2024-02-01"])
        .env("DIRECTO_TOKEN", "wrong")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("Directo refused the credentials"));

    let output = world
        .command(&["--sandbox", "--json"])
        .env_remove("DIRECTO_TOKEN")
        .env_remove("SPLIO_API_KEY")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["read"], 3000);
    assert_eq!(summary["filtered"], 240);
    assert_eq!(
        summary["delivered"], 1500,
        "every other customer is in Splio"
    );
}

/// The run is logged before Splio is asked which contacts exist (that can take many requests):
/// a first load with `--since` killed then is resumed by the next plain run.
#[tokio::test]
async fn a_run_killed_while_learning_which_contacts_exist_is_resumed_by_the_next_plain_run() {
    let world = World::start().await;
    world.seed_existing();
    let config = world.config("");
    // Splio's first answer (the authentication before the first page of contacts) takes long.
    world
        .splio
        .delay_next(1, std::time::Duration::from_secs(30));
    let mut child = world
        .command(&["--since", "2024-02-01", "--config", &config])
        .spawn()
        .unwrap();
    let state = world.path("sync-state.db");
    let running = || {
        state.exists()
            && sync_kit::StateStore::open_read_only(&state)
                .and_then(|s| s.runs("segment-to-splio-directo", 1))
                .is_ok_and(|runs| runs.first().is_some_and(|r| r.status.as_str() == "running"))
    };
    sync_bin::wait_until(20, "Splio to be asked (the delayed answer)", || {
        !world.splio.requests().is_empty()
    })
    .await;
    assert!(running(), "the run is logged while Splio is asked");
    sync_bin::send_signal(child.id().unwrap(), "KILL");
    assert!(!child.wait().await.unwrap().success());
    assert!(
        world
            .splio
            .contact("ann@example.com")
            .unwrap()
            .firstname
            .is_none()
    );

    let (code, summary, output) = world.run(&["--config", &config, "--json"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["read_from"], "2024-02-01T00:00:00", "{summary:#}");
    assert_eq!(summary["delivered"], 2, "{summary:#}");
    let ann = world.splio.contact("ann@example.com").unwrap();
    assert_eq!(ann.firstname.as_deref(), Some("Ann"));
}
