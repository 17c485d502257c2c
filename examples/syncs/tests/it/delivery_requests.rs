//! Issue 21: a delivery reports the HTTP requests it took, exactly (retries included, counted
//! by `marketing_sync_core::count_requests` around the sink's calls), and a run's summary is
//! the sum of its deliveries' counts.

use futures::stream;
use smaily_client::fake::{FakeService as _, FakeSmaily};
use sync_examples::directo_to_smaily::SmailySink;
use sync_kit::{Item, JobConfig, Outcome, RunContext, Sink, SourceRecord, StateStore, Verdict};

fn item(n: usize) -> Item {
    let mut fields = serde_json::Map::new();
    fields.insert("email".into(), format!("user{n}@example.com").into());
    fields.insert("firstname".into(), format!("User {n}").into());
    Item {
        key: format!("user{n}@example.com"),
        fields,
    }
}

/// The Smaily fake, its rate limit off (the client keeps its own).
async fn smaily() -> FakeSmaily {
    let smaily = FakeSmaily::start().await;
    smaily.enforce_rate_limit(None);
    smaily
}

#[tokio::test]
async fn a_smaily_delivery_reports_every_attempt_the_service_received() {
    let smaily = smaily().await;
    // One 503: the client retries it, so the service receives two POSTs for one batch.
    smaily.fail_next(1, 503);
    let sink = SmailySink::new(smaily.client());
    let delivery = sink.deliver(&[item(1), item(2), item(3)]).await;
    assert_eq!(delivery.outcomes, vec![Outcome::Delivered; 3]);
    let received = smaily.requests();
    assert_eq!(received.len(), 2, "{received:?}");
    for r in &received {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/api/contact.php")
        );
    }
    assert_eq!(delivery.requests, 2);
    assert_eq!(smaily.subscriber_count(), 3);
}

#[tokio::test]
async fn a_runs_summary_is_the_sum_of_its_concurrent_deliveries() {
    let smaily = smaily().await;
    smaily.fail_next(1, 503);
    let state = StateStore::in_memory().unwrap();
    let mut job = JobConfig::named("requests");
    job.batch_size = 2;
    job.concurrency = 3;
    let records: Vec<_> = (0..6)
        .map(|n| {
            Ok(SourceRecord {
                id: n.to_string(),
                watermark: None,
                verdict: Verdict::Send(vec![item(n)]),
            })
        })
        .collect();
    let ctx = RunContext::new(&job, &state);
    let sink = SmailySink::new(smaily.client());
    let summary = sync_kit::run(ctx, stream::iter(records), &sink)
        .await
        .unwrap();
    assert_eq!(summary.delivered, 6);
    // Three batches, one of them retried once: four POSTs, as the service counted them.
    assert_eq!(smaily.request_count(), 4);
    assert_eq!(summary.requests, 4);
}

#[tokio::test]
async fn a_splio_delivery_counts_its_probes_retries_and_creates() {
    use sync_examples::segment_to_splio::api::SplioSink;
    use sync_examples::segment_to_splio::existence::{Existence, Learned};
    let splio = splio_client::fake::FakeSplio::start().await;
    // One 503 on the first request (the login): the client sends it again.
    splio.fail_next(1, 503);
    let state = StateStore::in_memory().unwrap();
    let learned = Learned::default();
    learned.set(Existence::probe_all());
    let sink = SplioSink {
        client: splio.client(),
        state: &state,
        job: "requests".into(),
        existence: &learned,
        insert: true,
        concurrency: 1,
        learned_addresses: Default::default(),
    };
    let delivery = sink.deliver(&[item(1), item(2)]).await;
    assert_eq!(delivery.outcomes, vec![Outcome::Delivered; 2]);
    // The login (twice), the unique-key lookup, a probe per contact (each answered 404), then
    // one bulk create: as Splio received them.
    let received: Vec<(String, String)> = splio
        .requests()
        .iter()
        .map(|r| (r.method.as_str().to_owned(), r.path.clone()))
        .collect();
    let expected = [
        ("POST", "/authenticate"),
        ("POST", "/authenticate"),
        ("GET", "/universes/unique-key"),
        ("PATCH", "/data/contacts/user1%40example.com"),
        ("PATCH", "/data/contacts/user2%40example.com"),
        ("POST", "/data/contacts/bulk"),
    ]
    .map(|(m, p)| (m.to_owned(), p.to_owned()));
    assert_eq!(received, expected);
    assert_eq!(delivery.requests, received.len() as u64);
}

#[tokio::test]
async fn a_messaging_import_counts_its_retried_request_and_its_status_polls() {
    use messaging_client::{FieldCatalog, ImportPolling};
    use sync_examples::messaging::contacts::ContactsSink;
    let fake = messaging_client::fake::FakeMessaging::start().await;
    // A 429 is repeated even for a POST (the service did not process it).
    fake.rate_limit_next(1, 0);
    let sink = ContactsSink {
        client: fake.client(),
        catalog: FieldCatalog::default(),
        polling: ImportPolling {
            first_interval: std::time::Duration::from_millis(1),
            max_interval: std::time::Duration::from_millis(5),
            timeout: std::time::Duration::from_secs(10),
        },
    };
    let mut one = item(1);
    one.fields.remove("firstname");
    let delivery = sink.deliver(&[one]).await;
    assert_eq!(delivery.outcomes, vec![Outcome::Delivered]);
    let received = fake.requests();
    let imports = received
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.path == "/api/v1/contacts")
        .count();
    assert_eq!(imports, 2, "{received:?}");
    assert!(
        received.len() > imports,
        "the import's status was polled: {received:?}"
    );
    assert_eq!(delivery.requests, received.len() as u64);
}
