//! The retry log, in its own test binary: a tracing subscriber set for one test thread does
//! not see callsites another test thread registered first.
#![cfg(feature = "fake")]

use std::sync::{Arc, Mutex};

use marketing_sync_core::fake::{FakeServer, Harness};
use marketing_sync_core::{Executor, RetryPolicy, Settings, count_requests};
use reqwest::Method;

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Each retry's log line names its attempt and says how long the caller really waited: the backoff (1 ms here) and the
/// rate limiter's wait (about a second here) together, not the backoff alone.
#[tokio::test]
async fn a_retry_is_logged_with_the_whole_wait_the_limiters_included() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let harness = Harness::new();
    let app = harness.mount(axum::Router::new().route("/", axum::routing::get(|| async { "ok" })));
    let server = FakeServer::start(app).await;
    let settings = Settings::new("x").retry(RetryPolicy::fast(2)).rate_limit(1);
    let exec = Executor::new(&settings).unwrap();
    harness.fail_next(2, 503);
    let url: reqwest::Url = server.base_url().parse().unwrap();
    let (answer, requests) = count_requests(exec.send(exec.request(Method::GET, url))).await;
    assert_eq!((answer.unwrap().status, requests), (200, 3));

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let retries: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("retrying request"))
        .collect();
    assert_eq!(retries.len(), 2, "{text}");
    // Each retry names its own attempt.
    assert!(retries[1].contains("attempt=3"), "{}", retries[1]);
    let line = retries[0];
    assert!(
        line.contains("attempt=2") && line.contains("HTTP 503"),
        "{line}"
    );
    let waited = line
        .split("waited=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let seconds = match waited.strip_suffix("ms") {
        Some(ms) => ms.parse::<f64>().unwrap() / 1000.0,
        None => waited.strip_suffix('s').unwrap().parse::<f64>().unwrap(),
    };
    assert!(seconds >= 0.5, "the limiter's wait is missing: {line}");
}
