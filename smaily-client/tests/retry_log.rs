//! Smaily's retry log, in its own test binary: a tracing subscriber set for one test thread
//! does not see callsites another test thread registered first.
#![cfg(feature = "fake")]

use std::sync::{Arc, Mutex};

use smaily_client::fake::{FakeService, FakeSmaily};
use smaily_client::{RetryPolicy, Subscriber};

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

/// A retried upsert is logged with the whole wait, the client's own rate limiter included
/// (one request every 1.2 s at `rate_limit(1)`), not the 1 ms backoff alone (issue 21: the log
/// said `delay=1ms` where the caller waited over a second). The core's `tests/retry_log.rs`
/// covers the executor's limiter; this is Smaily's per-request one (`rate_limit_window`), which
/// must be waited inside the executor's retry, before the line is logged.
#[tokio::test]
async fn a_retry_is_logged_with_the_real_wait_the_limiters_included() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fake = FakeSmaily::start().await;
    let client = fake
        .client_builder()
        .rate_limit(1)
        .retry(RetryPolicy::fast(2))
        .build()
        .unwrap();
    fake.fail_next(1, 503);
    client
        .upsert(&Subscriber::new("mari@example.com"))
        .await
        .unwrap();
    assert_eq!(fake.request_count(), 2);

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("retrying request"))
        .expect(&text);
    assert!(line.contains("attempt=2") && line.contains("503"), "{line}");
    let waited = line
        .split("waited=")
        .nth(1)
        .and_then(|w| w.split_whitespace().next());
    // A Duration's Debug is in seconds ("1.2s") from a second up, in ms/µs/ns below.
    let seconds = waited.and_then(|w| w.strip_suffix('s')?.parse::<f64>().ok());
    assert!(
        seconds.is_some_and(|s| s >= 1.0),
        "the limiter's wait is missing: {line}"
    );
}
