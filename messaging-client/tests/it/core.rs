//! The request path: auth, headers, errors, retries and idempotency, rate limits, redaction.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use messaging_client::marketing_sync_core::Error as CoreError;
use messaging_client::{ApiKey, Client, Error, EventV1, RateLimits, Recipient, SmartSend};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn account_info_sends_basic_auth_and_decodes_the_documented_example() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/account/info"))
        .and(header("authorization", AUTH))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("account_info.json")))
        .expect(1)
        .mount(&server)
        .await;
    let info = client(&server).account_info().await.unwrap();
    assert_eq!(info.user_email, "api-user162065");
    assert_eq!(info.organisation_name, "ExampleName");
    assert_eq!(info.org_id, Some(123456));
    let reqs = server.received_requests().await.unwrap();
    assert_request_basics(&reqs[0]);
    assert!(reqs[0].body.is_empty());
}

#[tokio::test]
async fn account_info_accepts_org_id_as_a_string() {
    let server = server().await;
    Mock::given(path("/api/v1/account/info"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"userEmail":"u","organisationName":"O","orgId":"77"}"#),
        )
        .mount(&server)
        .await;
    assert_eq!(
        client(&server).account_info().await.unwrap().org_id,
        Some(77)
    );
}

#[tokio::test]
async fn wrong_key_is_unauthorized_and_not_retried() {
    let server = server().await;
    Mock::given(path("/api/v1/account/info"))
        .respond_with(ResponseTemplate::new(401).set_body_string(r#"{"status":401}"#))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).account_info().await.unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { ref body } if body == r#"{"status":401}"#),
        "{err:?}"
    );
}

#[tokio::test]
async fn idempotent_reads_retry_5xx_up_to_the_limit() {
    let server = server().await;
    Mock::given(path("/api/v1/account/info"))
        .respond_with(ResponseTemplate::new(503).set_body_string("busy"))
        .expect(4)
        .mount(&server)
        .await;
    let err = client(&server).account_info().await.unwrap_err();
    assert!(
        matches!(err, Error::Api { status: 503, ref message, .. } if message == "busy"),
        "{err:?}"
    );
}

#[tokio::test]
async fn retry_recovers_after_transient_failures() {
    let server = server().await;
    Mock::given(path("/api/v1/account/info"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/account/info"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("account_info.json")))
        .expect(1)
        .mount(&server)
        .await;
    client(&server).account_info().await.unwrap();
}

#[tokio::test]
async fn bad_request_is_permanent_and_keeps_the_plain_text_body() {
    let server = server().await;
    let text = r#"The event should have the following params: [ {"name": "EmailAddress", "required": true} ]"#;
    Mock::given(path("/api/v2/event"))
        .respond_with(ResponseTemplate::new(400).set_body_string(text))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .generate_event(&EventV1::new("ev").key_value("k"))
        .await
        .unwrap_err();
    match err {
        Error::Api {
            status,
            message,
            body,
        } => {
            assert_eq!(status, 400);
            assert_eq!(message, text);
            assert_eq!(body, text);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn events_are_not_retried_after_a_5xx() {
    let server = server().await;
    Mock::given(path("/api/v2/event"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .generate_event(&EventV1::new("ev").key_value("k"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
}

#[tokio::test]
async fn events_are_retried_after_a_429_honouring_retry_after() {
    let server = server().await;
    Mock::given(path("/api/v2/event"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/v2/event"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .generate_event_v2(&messaging_client::EventV2::new("ev").key_value("k"))
        .await
        .unwrap();
}

#[tokio::test]
async fn smartsend_is_not_retried_on_timeout() {
    let server = server().await;
    Mock::given(path("/api/v1/message/5/smartsend"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(500)))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder(ApiKey::new(KEY))
        .base_url(format!("{}/api", server.uri()))
        .allow_http(true)
        .retry(fast_retry())
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let send = SmartSend::new(vec![Recipient::locator("a@b.c")]);
    let out = client.smartsend(5, &send).await;
    let err = out[0].result.clone().unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(err.is_outcome_unknown() && !err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn connect_failures_are_retried_even_for_events() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder(ApiKey::new(KEY))
        .base_url(format!("http://127.0.0.1:{port}/api"))
        .allow_http(true)
        .retry(fast_retry())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client
        .generate_event(&EventV1::new("ev").key_value("k"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport(CoreError::Connect(_))),
        "{err:?}"
    );
    // The message carries the cause (the OS's "Connection refused"), not "transport error"
    // alone; the cause is in the message, so not also a `source()`.
    assert!(err.to_string().contains("refused"), "{err}");
    assert!(err.provably_not_processed() && err.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn decode_errors_name_the_json_path_and_keep_a_snippet() {
    let server = server().await;
    Mock::given(path("/api/v1/account/info"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"userEmail":"u","organisationName":"O","orgId":"perhaps"}"#),
        )
        .mount(&server)
        .await;
    let err = client(&server).account_info().await.unwrap_err();
    match err {
        Error::Transport(CoreError::Decode { path, snippet, .. }) => {
            assert_eq!(path, "orgId");
            assert!(snippet.contains("perhaps"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rate_limiter_spaces_requests_beyond_the_burst() {
    let server = server().await;
    Mock::given(path("/api/v1/account/info"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("account_info.json")))
        .expect(8)
        .mount(&server)
        .await;
    let client = Client::builder(ApiKey::new(KEY))
        .base_url(format!("{}/api", server.uri()))
        .allow_http(true)
        .rate_limit(RateLimits {
            default: std::num::NonZeroU32::new(4),
            ..RateLimits::unlimited()
        })
        .build()
        .unwrap();
    let started = Instant::now();
    for _ in 0..8 {
        client.account_info().await.unwrap();
    }
    // 4/s, no burst (marketing-sync-core's limiter): one every 255 ms, 8 requests take ~1.8 s; the
    // bound from when a burst of 4 went at once (~1 s for the other 4) still holds.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn secrets_never_show_in_debug_or_errors() {
    let server = server().await;
    Mock::given(path("/api/v1/account/info"))
        .respond_with(ResponseTemplate::new(401).set_body_string("no"))
        .mount(&server)
        .await;
    let builder = Client::builder(ApiKey::new(KEY))
        .base_url(format!("{}/api", server.uri()))
        .allow_http(true);
    assert!(!format!("{builder:?}").contains(KEY));
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains(KEY));
    assert!(!format!("{client:?}").contains(AUTH));
    let err = client.account_info().await.unwrap_err();
    for shown in [format!("{err:?}"), err.to_string()] {
        assert!(
            !shown.contains(KEY) && !shown.contains("dXNlcjpz"),
            "{shown}"
        );
    }
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.path(), "/api/v1/account/info");
    assert_eq!(requests[0].url.query(), None, "nothing secret in the URL");
}

#[tokio::test]
async fn base_url_may_have_a_trailing_slash_and_the_user_is_configurable() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/emails/unsubscribed/add"))
        .and(header("authorization", "Basic OnMzY3IzdC1rZXktdmFsdWU=")) // ":s3cr3t-key-value"
        .and(body_json(serde_json::json!({"emails": ["a@example.com"]})))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder(ApiKey::new(KEY))
        .base_url(format!("{}/api/", server.uri()))
        .user("")
        .allow_http(true)
        .build()
        .unwrap();
    client.add_unsubscribed(["a@example.com"]).await.unwrap();
}

#[test]
fn only_https_unless_allowed() {
    assert!(matches!(
        Client::builder(ApiKey::new(KEY))
            .base_url("http://example.com/api")
            .build(),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        Client::builder(ApiKey::new(KEY))
            .base_url("not a url")
            .build(),
        Err(Error::Config(_))
    ));
    assert!(Client::builder(ApiKey::new(KEY)).build().is_ok());
}

#[tokio::test]
async fn json_with_a_wrong_content_type_still_decodes() {
    let server = server().await;
    Mock::given(path("/api/v1/account/info"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"userEmail":"u","organisationName":"O","orgId":1}"#)
                .insert_header("content-type", "text/html"),
        )
        .mount(&server)
        .await;
    assert_eq!(
        client(&server)
            .account_info()
            .await
            .unwrap()
            .organisation_name,
        "O"
    );
}

async fn time_requests(limits: RateLimits, search: bool) -> Duration {
    let server = server().await;
    Mock::given(path("/api/v1/contacts"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    Mock::given(path("/api/v2/event"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let client = Client::builder(ApiKey::new(KEY))
        .base_url(format!("{}/api", server.uri()))
        .allow_http(true)
        .rate_limit(limits)
        .build()
        .unwrap();
    let started = Instant::now();
    for _ in 0..6 {
        if search {
            use futures::TryStreamExt;
            let q = messaging_client::ContactQuery::default();
            client
                .search_contacts(&q)
                .try_collect::<Vec<_>>()
                .await
                .unwrap();
        } else {
            client
                .generate_event(&EventV1::new("ev").key_value("k"))
                .await
                .unwrap();
        }
    }
    started.elapsed()
}

#[tokio::test]
async fn contact_search_and_events_draw_from_their_own_buckets() {
    let four = std::num::NonZeroU32::new(4);
    let only_search = RateLimits {
        contact_search: four,
        ..RateLimits::unlimited()
    };
    let only_events = RateLimits {
        events: four,
        ..RateLimits::unlimited()
    };
    let only_default = RateLimits {
        default: four,
        ..RateLimits::unlimited()
    };
    // 4/s, one every 255 ms: 6 requests need >= 500 ms in their own bucket (>= 1.2 s now that
    // the limiter has no burst).
    assert!(time_requests(only_search, true).await >= Duration::from_millis(450));
    assert!(time_requests(only_events, false).await >= Duration::from_millis(450));
    assert!(time_requests(only_default, true).await < Duration::from_millis(400));
    assert!(time_requests(only_default, false).await < Duration::from_millis(400));
    assert!(time_requests(only_search, false).await < Duration::from_millis(400));
}

#[test]
fn duplicated_request_is_recognisable() {
    let e = Error::Api {
        status: 400,
        message: "Duplicated request".into(),
        body: "Duplicated request".into(),
    };
    assert!(e.is_duplicated_request());
    assert!(
        !Error::Api {
            status: 400,
            message: "x".into(),
            body: String::new()
        }
        .is_duplicated_request()
    );
}
