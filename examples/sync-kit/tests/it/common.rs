//! What the runner tests share: a scripted sink, a job, a context and numbered records.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, json};
use sync_kit::{
    BoxError, Delivery, Item, JobConfig, Outcome, RetrySchedule, RunContext, Sink, SourceRecord,
    StateStore, Verdict,
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
    RunContext::new(job, state)
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

/// Where a test's state lives: every state-store test runs against both.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    /// An in-memory SQLite store.
    Sqlite,
    /// A fresh database on the test PostgreSQL (see [`crate::pg_state::fresh_database`]).
    Postgres,
}

/// An empty store of `backend`.
pub fn store(backend: Backend) -> StateStore {
    match backend {
        Backend::Sqlite => StateStore::in_memory().unwrap(),
        Backend::Postgres => {
            let url = sync_kit::state::pg::off_runtime(crate::pg_state::fresh_database);
            StateStore::open_postgres(&sync_kit::state::pg::PgUrl::parse(&url).unwrap(), false)
                .unwrap()
        }
    }
}

/// Runs a test once per backend: `on_both_backends! { async fn name(backend: Backend) {…} }`
/// (a tokio test, on the current-thread runtime the syncs use) or `fn name(backend: Backend)`
/// (a plain test) becomes `name::sqlite` and `name::postgres`.
macro_rules! on_both_backends {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident: Backend) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(#[$meta])*
            async fn body($backend: crate::common::Backend) $body
            #[tokio::test]
            async fn sqlite() {
                body(crate::common::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                body(crate::common::Backend::Postgres).await
            }
        }
    };
    ($(#[$meta:meta])* fn $name:ident($backend:ident: Backend) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(#[$meta])*
            fn body($backend: crate::common::Backend) $body
            #[test]
            fn sqlite() {
                body(crate::common::Backend::Sqlite)
            }
            #[test]
            fn postgres() {
                body(crate::common::Backend::Postgres)
            }
        }
    };
}
pub(crate) use on_both_backends;
