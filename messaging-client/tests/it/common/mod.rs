//! Shared test helpers: a wiremock server with a loud catch-all, a fast client, fixtures.

use std::time::Duration;

use messaging_client::{Client, RateLimits, RetryPolicy};
use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const KEY: &str = "s3cr3t-key-value";
/// base64("user:s3cr3t-key-value")
pub const AUTH: &str = "Basic dXNlcjpzM2NyM3Qta2V5LXZhbHVl";

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
        jitter: false,
    }
}

/// A mock server whose unmatched requests fail the test when the server drops.
pub async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(599).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .expect(0)
        .named("catch-all: no unexpected requests")
        .mount(&server)
        .await;
    server
}

pub fn client(server: &MockServer) -> Client {
    Client::builder(KEY)
        .base_url(format!("{}/api", server.uri()))
        .allow_http(true)
        .retry(fast_retry())
        .rate_limit(RateLimits::unlimited())
        .build()
        .unwrap()
}

/// The JSON body of the only request received on `path`.
pub async fn only_body(server: &MockServer, path: &str) -> Value {
    let reqs: Vec<Request> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect();
    assert_eq!(reqs.len(), 1, "requests to {path}");
    assert_request_basics(&reqs[0]);
    serde_json::from_slice(&reqs[0].body).unwrap()
}

pub fn assert_request_basics(r: &Request) {
    assert_eq!(r.headers.get("authorization").unwrap(), AUTH);
    assert_eq!(r.headers.get("accept").unwrap(), "application/json");
    let ua = r.headers.get("user-agent").unwrap().to_str().unwrap();
    assert!(ua.starts_with("messaging-client/"), "{ua}");
    if !r.body.is_empty() {
        assert_eq!(
            r.headers.get("content-type").unwrap(),
            "application/json; charset=UTF-8"
        );
    }
}
