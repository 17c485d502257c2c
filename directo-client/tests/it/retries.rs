//! The retry rules directo-client shares with every client of the suite (`marketing_sync_core`): one
//! retried status set, `Retry-After` as seconds or an HTTP date, and one meaning for a cut
//! connection in the fake.

use std::time::{Duration, Instant};

use directo_client::{Client, Query, RetryPolicy};
use futures::TryStreamExt;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate, Times};

use crate::common::{builder, fixture, mail, read_error};

fn customers_xml() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/xml; charset=utf-8")
        .set_body_string(fixture("customers.xml"))
}

/// A client with two fast retries.
fn retrying(server: &MockServer) -> Client {
    builder(server).retry(RetryPolicy::fast(2)).build().unwrap()
}

/// A server that answers every POST with `answer`, and expects `times` of them.
async fn always(answer: ResponseTemplate, times: impl Into<Times>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer)
        .expect(times)
        .mount(&server)
        .await;
    server
}

/// The first request is answered `first`, the next one with a customer.
async fn once_then_customers(first: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(first)
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(customers_xml())
        .expect(1)
        .mount(&server)
        .await;
    server
}

/// 408 is repeated; 501 (Not Implemented) is not: it answers the same way again
/// (`marketing_sync_core::RETRIED_STATUSES`).
#[tokio::test]
async fn reads_retry_the_suites_statuses_only() {
    let server = always(ResponseTemplate::new(501), ..).await;
    let client = retrying(&server);
    let err = read_error(&client).await;
    assert!(!err.is_retryable(), "{err:?}");
    assert_eq!(client.requests_sent(), 1);

    let server = once_then_customers(ResponseTemplate::new(408)).await;
    let client = retrying(&server);
    let read = client.customers(Query::new()).try_collect::<Vec<_>>().await;
    assert_eq!(read.unwrap().len(), 1);
    assert_eq!(client.requests_sent(), 2);
}

/// `Retry-After` as an HTTP date (RFC 9110 §10.2.3) is waited, like delta-seconds.
#[tokio::test]
async fn retry_after_as_an_http_date_is_waited() {
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
    let date = jiff::fmt::rfc2822::DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&at)
        .unwrap();
    let limited = ResponseTemplate::new(429).insert_header("retry-after", date.as_str());
    let server = once_then_customers(limited).await;
    let client = retrying(&server);
    let start = Instant::now();
    let read = client.customers(Query::new()).try_collect::<Vec<_>>().await;
    assert_eq!(read.unwrap().len(), 1);
    // The date has whole seconds: between 1 and 2 s from the first answer.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "{waited:?} for {date}"
    );
}

/// A cut connection has one meaning in every fake: before processing nothing is stored;
/// after processing the put went through, though the client cannot know. Either way a put
/// is not repeated.
#[cfg(feature = "fake")]
#[tokio::test]
async fn puts_cut_by_a_dropped_connection_are_not_repeated() {
    use directo_client::PutMode;
    use directo_client::fake::{DropPoint, FakeDirecto, FakeService};
    let fake = FakeDirecto::start().await;
    let client = fake.client();
    // Cut before processing: the client sees an answer break off, as after processing; it
    // cannot tell the two apart, so neither is "safe to send again".
    fake.drop_next(1, DropPoint::BeforeProcessing);
    let res = client.put(&[mail("A")], PutMode::Create).await;
    let err = res[0].result.as_ref().unwrap_err();
    assert!(
        err.is_outcome_unknown() && !err.is_retryable() && !err.provably_not_processed(),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1);
    assert!(fake.customers().is_empty());

    fake.drop_next(1, DropPoint::AfterProcessing);
    let res = client.put(&[mail("B"), mail("C")], PutMode::Create).await;
    for o in &res {
        let err = o.error().unwrap();
        assert!(err.is_outcome_unknown() && !err.is_retryable(), "{err:?}");
        assert!(err.to_string().starts_with("outcome unknown: "), "{err}");
    }
    assert_eq!(fake.requests().len(), 2);
    let held: Vec<_> = fake.customers().into_iter().map(|c| c.code).collect();
    assert_eq!(held, ["B", "C"], "Directo stored both");
}

/// The builder's deadline bounds a read until its answer starts, every retry and wait
/// included: slow 503s with five retries allowed, ended by a 1 s deadline.
#[tokio::test]
async fn the_deadline_bounds_a_read_with_its_retries() {
    let slow = ResponseTemplate::new(503).set_delay(Duration::from_millis(700));
    let server = always(slow, ..).await;
    let client = builder(&server)
        .retry(RetryPolicy::fast(5))
        .deadline(Duration::from_secs(1))
        .build()
        .unwrap();
    let err = read_error(&client).await;
    assert!(
        matches!(
            err,
            directo_client::Error::Transport(marketing_sync_core::Error::Deadline(_))
        ),
        "{err:?}"
    );
    // Six attempts were allowed; the deadline leaves room for two at most.
    assert!(client.requests_sent() <= 2, "{}", client.requests_sent());
}

/// A put whose answer does not come within the client's timeout: the fake processes it
/// anyway (a server finishes what it started), so every document of that request is
/// "outcome unknown", never a failure to send again.
#[cfg(feature = "fake")]
#[tokio::test]
async fn a_put_that_times_out_is_an_unknown_outcome_for_each_document() {
    use directo_client::fake::{FakeDirecto, FakeService};
    use directo_client::{Auth, PutMode};
    let fake = FakeDirecto::start().await;
    let client = Client::builder(Auth::token(FakeDirecto::TOKEN))
        .base_url(fake.base_url())
        .allow_http(true)
        .retry(RetryPolicy::fast(3))
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let docs = [mail("T1"), mail("T2")];
    fake.delay_next(1, Duration::from_millis(400));
    let res = client.put(&docs, PutMode::Create).await;
    assert_eq!(res.len(), 2);
    for o in &res {
        let err = o.error().unwrap();
        assert!(
            err.is_outcome_unknown() && !err.is_retryable() && !err.provably_not_processed(),
            "{err:?}"
        );
        assert!(err.to_string().contains("timed out"), "{err}");
    }
    assert_eq!(client.requests_sent(), 1, "a put is not repeated");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.customers().len(), 2, "the fake stored them after all");
}

/// A 429 is `Error::RateLimited` with its wait, retried for a put too (the request was not
/// processed), and reported as such when the retries run out.
#[tokio::test]
async fn a_429_is_rate_limited_with_its_wait() {
    use directo_client::{Error, ItemError, PutMode};
    let limited = || ResponseTemplate::new(429).insert_header("retry-after", "0");
    let server = always(limited(), 3).await;
    let client = retrying(&server);
    let err = read_error(&client).await;
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::ZERO),
        "{err:?}"
    );
    assert!(err.provably_not_processed() && err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::ZERO));

    let server = always(limited(), 3).await;
    let out = retrying(&server).put(&[mail("C1")], PutMode::Create).await;
    let Some(ItemError::Failed(err)) = out[0].error() else {
        panic!("{out:?}")
    };
    assert!(matches!(**err, Error::RateLimited { .. }), "{err:?}");
    assert!(out[0].error().unwrap().provably_not_processed());
}

/// The message of a transport failure carries its cause: a connect failure says the
/// connection was refused, not "transport error" alone.
#[tokio::test]
async fn a_connect_failure_says_why() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = Client::builder(directo_client::Auth::token("t"))
        .base_url(format!("http://127.0.0.1:{port}/xmlcore.asp"))
        .allow_http(true)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = read_error(&client).await;
    assert!(
        matches!(err, directo_client::Error::Transport(_)),
        "{err:?}"
    );
    assert!(err.provably_not_processed());
    let text = err.to_string();
    assert!(text.contains("refused"), "{text}");
    assert!(!text.contains("Transport("), "no Debug dump: {text}");
}
