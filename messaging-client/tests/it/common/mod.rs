//! Shared test helpers: a wiremock server with a loud catch-all, a fast client, fixtures.

use std::time::Duration;

use messaging_client::{ApiKey, Client, Order, OrderItem, OrderStatus, RateLimits, RetryPolicy};
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
    Client::builder(ApiKey::new(KEY))
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

/// The API guide's order example (`POST /v1/orders`), as an `Order`.
pub fn documented_order() -> Order {
    let mut o = Order::new(
        "100500",
        OrderStatus::Initialized,
        "1000".parse().unwrap(),
        "USD",
        "2017-03-08T09:30:00+02:00[+02:00]".parse().unwrap(),
    );
    o.external_customer_id = Some("12345".into());
    o.email = Some("mail@example.com".into());
    o.phone = Some("380942583691".into());
    o.first_name = Some("John".into());
    o.last_name = Some("Smith".into());
    o.shipping = Some("10".parse().unwrap());
    o.discount = Some("0".parse().unwrap());
    o.delivery_method = Some("express".into());
    o.payment_method = Some("cash".into());
    o.delivery_address = Some("First str. 1".into());
    let mut item = OrderItem::new("200600", "Super Device", 1, "990".parse().unwrap());
    item.category = Some("devices".into());
    item.url = Some("http://example.com/item/200600".into());
    item.image_url = Some("http://example.com/item/200600/image.png".into());
    item.description = Some("High quality".into());
    o.items.push(item);
    o
}
