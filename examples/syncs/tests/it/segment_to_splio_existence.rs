//! End to end: how the built `segment-to-splio` learns which contacts exist in Splio (from its
//! state, by probing, or by listing the universe, whichever costs fewer requests), and what
//! `--insert` does with a contact deleted in Splio. Against the Splio fake, on loopback.

use crate::common;

use common::sync_bin::{self, stderr};

use std::process::Output;

use serde_json::Value;
use splio_client::fake::FakeService as _;
use splio_client::fake::{FakeSplio, JsonBody as _, ReceivedRequest};
use splio_client::{ContactData, FieldType};

const BIN: &str = env!("CARGO_BIN_EXE_segment-to-splio");

struct World {
    fake: FakeSplio,
    dir: tempfile::TempDir,
    config: String,
}

impl World {
    /// A universe of `contacts` contacts `c{i}@example.com`, and a config without retries.
    async fn start(contacts: usize) -> World {
        let fake = FakeSplio::start().await;
        fake.seed_field("tier", FieldType::Text);
        for i in 0..contacts {
            fake.seed_contact(ContactData::with_email(format!("c{i}@example.com")));
        }
        let dir = tempfile::tempdir().unwrap();
        let config = sync_bin::write_file(
            dir.path(),
            "config.toml",
            "[job]\nbatch_size = 100\n[job.retry]\nattempts = 1\ndelay = \"1ms\"\n\
             [splio]\nretries = 0\nretry_delay = \"1ms\"\nrate_limit = false\n",
        );
        World { fake, dir, config }
    }

    /// Writes the segment: `email,firstname,tier`, one row per email.
    fn segment(&self, rows: &[(&str, &str, &str)]) -> String {
        let mut text = String::from("email,firstname,tier\n");
        for (email, first, tier) in rows {
            text.push_str(&format!("{email},{first},{tier}\n"));
        }
        sync_bin::write_file(self.dir.path(), "segment.csv", &text)
    }

    /// Runs the binary with `--config` and `--json`; returns the exit code, the summary, what it
    /// printed, and the requests the fake received meanwhile.
    async fn run(&self, args: &[&str]) -> (i32, Value, Output, Vec<ReceivedRequest>) {
        let before = self.fake.requests().len();
        let mut cmd = sync_bin::command(BIN, self.dir.path());
        cmd.env("SPLIO_BASE_URL", self.fake.base_url())
            .env("SPLIO_API_KEY", self.fake.credentials().expose())
            .args(args)
            .args(["--config", &self.config, "--json"]);
        let (code, summary, output) = sync_bin::run(cmd).await;
        let requests = self.fake.requests()[before..].to_vec();
        (code, summary, output, requests)
    }
}

/// The requests to Splio's data endpoints (authentication and the unique-key lookup left out).
fn data(requests: &[ReceivedRequest]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.path.starts_with("/data/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn count(requests: &[String], prefix: &str) -> usize {
    requests.iter().filter(|r| r.starts_with(prefix)).count()
}

#[tokio::test]
async fn insert_recreates_a_contact_deleted_in_splio_with_all_its_attributes() {
    let world = World::start(0).await;
    let file = world.segment(&[
        ("ann@example.com", "Ann", "gold"),
        ("bob@example.com", "Bob", "gold"),
        ("cy@example.com", "Cy", "gold"),
    ]);
    let (code, summary, output, _) = world.run(&[&file, "--insert"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 3);

    // Someone deletes Ann and Bob in Splio; then their tier changes in the segment.
    let client = world.fake.client();
    client.delete_contact("ann@example.com").await.unwrap();
    client.delete_contact("bob@example.com").await.unwrap();
    let file = world.segment(&[
        ("ann@example.com", "Ann", "silver"),
        ("bob@example.com", "Bob", "silver"),
        ("cy@example.com", "Cy", "gold"),
    ]);

    // With --insert: the PATCH of the change finds no contact, so Ann is created again, with
    // every attribute, not just the changed one.
    let (code, summary, output, requests) = world.run(&[&file, "--insert"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 2);
    assert_eq!(summary["failed"], 0);
    let ann = world.fake.contact("ann@example.com").expect("re-created");
    assert_eq!(ann.firstname.as_deref(), Some("Ann"));
    assert!(ann.custom_fields.values().any(|v| v == "silver"), "{ann:?}");
    let created = requests
        .iter()
        .find(|r| r.method == "POST" && r.path.starts_with("/data/contacts"))
        .and_then(|r| r.json_body())
        .expect("a create");
    assert!(
        created.to_string().contains("\"firstname\":\"Ann\""),
        "all attributes: {created}"
    );

    // Without --insert a contact that vanished is parked (it was delivered before) …
    client.delete_contact("cy@example.com").await.unwrap();
    let file = world.segment(&[
        ("ann@example.com", "Ann", "silver"),
        ("bob@example.com", "Bob", "silver"),
        ("cy@example.com", "Cy", "bronze"),
    ]);
    let (code, summary, _, _) = world.run(&[&file]).await;
    assert_eq!(code, 1);
    assert_eq!(summary["failed"], 1);
    assert!(
        summary["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("--insert"),
        "{summary}"
    );
    assert!(world.fake.contact("cy@example.com").is_none());

    // … and `--replay-failed --insert` creates it, with all its attributes.
    let (code, summary, output, _) = world.run(&["--replay-failed", "--insert"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 1);
    assert_eq!(summary["parked_total"], 0);
    let cy = world.fake.contact("cy@example.com").expect("re-created");
    assert_eq!(cy.firstname.as_deref(), Some("Cy"));
    assert!(cy.custom_fields.values().any(|v| v == "bronze"), "{cy:?}");
}

#[tokio::test]
async fn requests_grow_with_the_segment_not_with_the_universe() {
    // 5,000 contacts: the listing takes 5 pages of 1,000.
    let world = World::start(5_000).await;
    let mut rows: Vec<(String, String)> = (0..20)
        .map(|i| (format!("c{}@example.com", i * 200), format!("C{i}")))
        .collect();
    rows.extend((0..10).map(|i| (format!("new{i}@example.com"), format!("N{i}"))));
    let segment = |rows: &[(String, String)], tier: &dyn Fn(usize) -> &'static str| {
        let rows: Vec<(&str, &str, &str)> = rows
            .iter()
            .enumerate()
            .map(|(i, (e, f))| (e.as_str(), f.as_str(), tier(i)))
            .collect();
        world.segment(&rows)
    };

    // First run: 30 unknown keys, more than the 5 pages: the universe is listed once.
    let file = segment(&rows, &|_| "gold");
    let (code, summary, output, requests) = world.run(&[&file, "--insert"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 30);
    let sent = data(&requests);
    assert_eq!(count(&sent, "GET /data/contacts"), 5, "{sent:?}");
    assert_eq!(count(&sent, "PATCH "), 20, "the existing ones");
    assert_eq!(count(&sent, "POST /data/contacts/bulk"), 1, "the new ones");
    // Every HTTP request the fake saw (issue 20 point 9), authentication included.
    assert_eq!(summary["requests"], requests.len() as u64);
    assert_eq!(world.fake.contacts().len(), 5_010);

    // Three rows change: every key was delivered before, so nothing is read from Splio.
    let file = segment(&rows, &|i| if i < 3 { "silver" } else { "gold" });
    let (code, summary, _, requests) = world.run(&[&file, "--insert"]).await;
    assert_eq!(code, 0);
    assert_eq!(summary["delivered"], 3);
    let mut sent = data(&requests);
    // The mapping checked against Splio's fields before the first write (issue 20); then the
    // PATCHes, sent concurrently, so in any order.
    assert_eq!(
        sent.first().map(String::as_str),
        Some("GET /data/fields/contacts"),
        "{sent:?}"
    );
    sent[1..].sort();
    assert_eq!(
        sent[1..],
        [
            "PATCH /data/contacts/c0%40example.com",
            "PATCH /data/contacts/c200%40example.com",
            "PATCH /data/contacts/c400%40example.com",
        ]
    );

    // Two keys join, one in Splio, one not: 2 unknown keys cost less than 5 pages, so they
    // are probed (the first page, read for the universe's size, then a PATCH each; the 404
    // is created with --insert).
    let mut more = rows.clone();
    more.push(("c4999@example.com".into(), "Last".into()));
    more.push(("fresh@example.com".into(), "Fresh".into()));
    let file = segment(&more, &|i| if i < 3 { "silver" } else { "gold" });
    let (code, summary, output, requests) = world.run(&[&file, "--insert"]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 2);
    let sent = data(&requests);
    assert_eq!(count(&sent, "GET /data/contacts"), 1, "{sent:?}");
    assert_eq!(count(&sent, "PATCH "), 2, "{sent:?}");
    assert_eq!(count(&sent, "POST /data/contacts"), 1, "{sent:?}");
    // Every HTTP request the fake saw (issue 20 point 9), authentication included.
    assert_eq!(summary["requests"], requests.len() as u64);
    assert_eq!(
        world
            .fake
            .contact("fresh@example.com")
            .unwrap()
            .firstname
            .as_deref(),
        Some("Fresh")
    );

    // Without --insert a probed key Splio does not hold is skipped, not parked, and nothing
    // is created.
    more.push(("stranger@example.com".into(), "S".into()));
    let file = segment(&more, &|i| if i < 3 { "silver" } else { "gold" });
    let (code, summary, output, requests) = world.run(&[&file]).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 0);
    assert_eq!(
        summary["skipped_by_reason"]["new contact, not created without --insert"], 1,
        "{summary}"
    );
    assert_eq!(summary["parked_total"], 0);
    assert!(world.fake.contact("stranger@example.com").is_none());
    assert!(!data(&requests).iter().any(|r| r.starts_with("POST")));
}
