//! What the runner tests share: a scripted sink, a job, a context and numbered records.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, json};
use sync_kit::{
    BoxError, Delivery, Item, JobConfig, Outcome, Progress, RetrySchedule, RunContext, Sink,
    SourceRecord, StateStore, Stop, Verdict,
};

/// A sink that records every batch and fails keys according to a script: `key → remaining
/// failures` (u32::MAX = always), retryable or not.
#[derive(Default)]
pub struct ScriptedSink {
    batches: Mutex<Vec<Vec<String>>>,
    failures: Mutex<HashMap<String, (u32, bool)>>,
}

impl ScriptedSink {
    pub fn fail(&self, key: &str, times: u32, retryable: bool) {
        self.failures
            .lock()
            .unwrap()
            .insert(key.to_owned(), (times, retryable));
    }
    pub fn sent_keys(&self) -> Vec<String> {
        self.batches
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .cloned()
            .collect()
    }
    pub fn batch_count(&self) -> usize {
        self.batches.lock().unwrap().len()
    }
}

impl Sink for ScriptedSink {
    async fn deliver(&self, batch: &[Item]) -> Delivery {
        tokio::task::yield_now().await;
        self.batches
            .lock()
            .unwrap()
            .push(batch.iter().map(|i| i.key.clone()).collect());
        let mut failures = self.failures.lock().unwrap();
        let outcomes = batch
            .iter()
            .map(|item| match failures.get_mut(&item.key) {
                Some((left, retryable)) if *left > 0 => {
                    *left = left.saturating_sub(1);
                    Outcome::failed(format!("HTTP 503 for {}", item.key), *retryable)
                }
                _ => Outcome::Delivered,
            })
            .collect();
        Delivery {
            outcomes,
            requests: 1,
        }
    }
}

pub fn job() -> JobConfig {
    JobConfig {
        batch_size: 10,
        concurrency: 3,
        retry: RetrySchedule {
            attempts: 3,
            delay: Duration::from_millis(5),
        },
        ..JobConfig::named("test-job")
    }
}

pub fn ctx<'a>(job: &'a JobConfig, state: &'a StateStore) -> RunContext<'a> {
    RunContext {
        job,
        state,
        dry_run: false,
        force: false,
        read_from: None,
        read_until: None,
        progress: Progress::hidden(),
        stop: Stop::process(),
    }
}

pub fn record(n: u32, name: &str) -> Result<SourceRecord, BoxError> {
    let key = format!("user{n}@example.com");
    let mut fields = Map::new();
    fields.insert("email".into(), json!(key));
    fields.insert("name".into(), json!(name));
    Ok(SourceRecord {
        id: format!("C{n}"),
        watermark: Some(
            format!("2024-01-{:02}T10:00:00", 1 + n % 28)
                .parse()
                .unwrap(),
        ),
        verdict: Verdict::Send(vec![Item { key, fields }]),
    })
}

pub fn records(count: u32) -> Vec<Result<SourceRecord, BoxError>> {
    (0..count).map(|n| record(n, "Name")).collect()
}
