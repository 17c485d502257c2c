//! Wire-level assertions with wiremock: auth, headers, paths, bodies, retries, error bodies.

use std::time::Duration;

use futures::TryStreamExt;
use serde_json::json;
use splio_client::{
    ApiKey, Channel, Client, ContactData, Error, ItemError, RateLimits, RetryPolicy, UniqueKey,
};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "secret-api-key-123";

fn fixture(name: &str) -> serde_json::Value {
    let p = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn client(server: &MockServer) -> Client {
    Client::builder(ApiKey::new(KEY))
        .base_url(server.uri())
        .allow_http(true)
        .unique_key(UniqueKey::Email)
        .rate_limit(RateLimits::unlimited())
        .retry(RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
            jitter: true,
        })
        .build()
        .unwrap()
}

async fn server_with_auth(expected_auths: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/authenticate"))
        .and(header("content-type", "application/json"))
        .and(header("accept", "application/json"))
        .and(body_json(json!({"api_key": KEY})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": "tok"})))
        .expect(expected_auths)
        .mount(&server)
        .await;
    server
}

/// Mounted last: any request nothing else matched fails loudly.
async fn catch_all(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(599).set_body_string("unexpected request"))
        .expect(0)
        .mount(server)
        .await;
}

#[tokio::test]
async fn patch_sends_exact_path_headers_and_body() {
    let server = server_with_auth(1).await;
    Mock::given(method("PATCH"))
        .and(path("/data/contacts/a%2Bb%40x.com"))
        .and(header("authorization", "Bearer tok"))
        .and(header("content-type", "application/json"))
        .and(header(
            "user-agent",
            concat!("splio-client/", env!("CARGO_PKG_VERSION")),
        ))
        .and(body_json(
            json!({"firstname": "A", "custom_fields": [{"id": 2, "value": "7"}]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("contact.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/data/contacts/a%2Bb%40x.com/lists/subscribe"))
        .and(body_json(json!({"list_ids": [5]})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"email": "a+b@x.com", "lists": [{"id": 5}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let c = client(&server);
    let contact = ContactData::with_email("A+B@x.com")
        .firstname("A")
        .custom_field(splio_client::CustomFieldValue::by_id(2, 7))
        .list(5);
    assert_eq!(
        c.upsert(&contact).await.unwrap(),
        splio_client::UpsertAction::Updated
    );
}

#[tokio::test]
async fn fixture_contact_decodes() {
    let server = server_with_auth(1).await;
    Mock::given(method("GET"))
        .and(path("/data/contacts/jdoe%40personal.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("contact.json")))
        .mount(&server)
        .await;
    let got = client(&server)
        .get_contact("jdoe@personal.com")
        .await
        .unwrap();
    assert_eq!(got.id, Some(1));
    assert_eq!(
        got.custom_field(&splio_client::FieldRef::Name("civility".into())),
        Some("mr")
    );
    assert_eq!(got.lists.len(), 2);
    assert_eq!(got.creation_date.as_deref(), Some("2019-01-03"));
}

#[tokio::test]
async fn pages_decode_leniently_and_stream_stops() {
    let server = server_with_auth(1).await;
    Mock::given(method("GET"))
        .and(path("/data/fields/contacts"))
        .and(query_param("per_page", "1000"))
        .and(query_param("page_number", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("fields_page.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data/v1/lists"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("lists_page_sort_array.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let c = client(&server);
    let fields: Vec<_> = c.contact_fields().try_collect().await.unwrap();
    assert_eq!(fields[0].intid, None);
    assert_eq!(fields[1].name, "civility");
    let lists: Vec<_> = c.lists().try_collect().await.unwrap();
    assert_eq!(lists[0].id, Some(1));
}

#[tokio::test]
async fn refreshes_once_on_401_then_gives_up() {
    let server = server_with_auth(2).await;
    Mock::given(method("GET"))
        .and(path("/data/contacts/a%40x.com"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!("Authentication failed.")))
        .expect(2)
        .mount(&server)
        .await;
    let err = client(&server).get_contact("a@x.com").await.unwrap_err();
    assert!(
        matches!(&err, Error::Unauthorized { message, .. } if message == "Authentication failed."),
        "{err}"
    );
}

#[tokio::test]
async fn token_without_exp_is_refreshed_after_ttl_and_shared_by_concurrent_callers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/authenticate"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"token": "opaque"}))
                .set_delay(Duration::from_millis(30)),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/universes/unique-key"))
        .and(header("authorization", "Bearer opaque"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"unique_key": "cellphone"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data/contacts/%2B3361"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"cellphone": "+3361"})))
        .expect(10)
        .mount(&server)
        .await;
    let c = Client::builder(ApiKey::new(KEY))
        .base_url(server.uri())
        .allow_http(true)
        .rate_limit(RateLimits::unlimited())
        .token_ttl(Duration::from_millis(300))
        .build()
        .unwrap();
    let calls = (0..5).map(|_| {
        let c = c.clone();
        async move { c.get_contact("+3361").await }
    });
    let (key, results) = tokio::join!(c.unique_key(), futures::future::join_all(calls));
    assert_eq!(key.unwrap(), UniqueKey::Cellphone);
    assert!(results.iter().all(Result::is_ok));
    tokio::time::sleep(Duration::from_millis(350)).await;
    for _ in 0..5 {
        c.get_contact("+3361").await.unwrap();
    }
}

#[tokio::test]
async fn retries_idempotent_reads_but_not_creates_on_5xx() {
    let server = server_with_auth(1).await;
    Mock::given(method("GET"))
        .and(path("/data/contacts/a%40x.com"))
        .respond_with(ResponseTemplate::new(503))
        .expect(4)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/data/contacts"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    assert_eq!(
        c.get_contact("a@x.com").await.unwrap_err().status(),
        Some(503)
    );
    assert_eq!(
        c.create_contact(&ContactData::with_email("a@x.com"))
            .await
            .unwrap_err()
            .status(),
        Some(502)
    );
}

#[tokio::test]
async fn create_is_retried_after_429_with_rate_limit_headers() {
    let server = server_with_auth(1).await;
    Mock::given(method("POST"))
        .and(path("/data/contacts"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("rateLimit-limit", "20")
                .insert_header("rateLimit-remaining", "0")
                .insert_header("rateLimit-reset", "0")
                .set_body_json(json!({"message": "API rate limit exceeded"})),
        )
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/data/contacts"))
        .and(body_json(json!({"email": "a@x.com"})))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": 3, "email": "a@x.com"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    c.create_contact(&ContactData::with_email("a@x.com"))
        .await
        .unwrap();
    assert_eq!(c.last_rate_limit().unwrap().remaining, Some(0));
}

#[tokio::test]
async fn service_errors_are_verbatim_and_items_from_207() {
    let server = server_with_auth(1).await;
    Mock::given(method("POST"))
        .and(path("/data/contacts"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"status":400,"errors":[{"error_key":"contact_key","error":"wrong_contact_key","error_description":"Bad key formating against universe key, c0 is empty"}]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/data/contacts/bulk"))
        .and(body_json(
            json!({"contacts": [{"email": "hhogan@gmail.com"}, {"email": "jdoe@msn.com"}]}),
        ))
        .respond_with(ResponseTemplate::new(207).set_body_json(fixture("bulk_create_207.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/data/blacklists/email"))
        .and(body_json(json!({"data": ["john@doe.com"]})))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(fixture("blacklist_all_failed_400.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let c = client(&server);
    let err = c
        .create_contact(&ContactData::with_email("x@y.z"))
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            status: 400,
            errors,
            ..
        } => assert_eq!(errors[0].error, "wrong_contact_key"),
        other => panic!("{other}"),
    }
    let out = c
        .bulk_create(&[
            ContactData::with_email("hhogan@gmail.com"),
            ContactData::with_email("jdoe@msn.com"),
        ])
        .await;
    assert!(out[0].result.as_ref().unwrap_err().is_already_exists());
    assert!(out[1].result.is_ok());
    let r = c
        .blacklist_add(Channel::Email, &["john@doe.com".into()])
        .await;
    assert!(
        matches!(r[0].result.as_ref().unwrap_err(), ItemError::Rejected { error_key: Some(k), .. } if k == "touchpoint_already_exist"),
        "{r:?}"
    );
}

#[tokio::test]
async fn secrets_never_printed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/authenticate"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!("Authentication failed.")))
        .mount(&server)
        .await;
    let builder = Client::builder(ApiKey::new(KEY))
        .base_url(server.uri())
        .allow_http(true);
    assert!(!format!("{builder:?}").contains(KEY));
    let c = builder.build().unwrap();
    assert!(!format!("{c:?}").contains(KEY));
    let err = c.get_contact("a@x.com").await.unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { status: 400, .. }),
        "{err}"
    );
    assert!(!format!("{err:?} {err}").contains(KEY));
    assert!(
        Client::builder(ApiKey::new(KEY))
            .base_url("http://api.splio.com")
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn waits_for_reset_when_the_window_is_exhausted() {
    let server = server_with_auth(1).await;
    Mock::given(method("GET"))
        .and(path("/data/contacts/a%40x.com"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("rateLimit-limit", "20")
                .insert_header("rateLimit-remaining", "0")
                .insert_header("rateLimit-reset", "0.25")
                .set_body_json(json!({"email": "a@x.com"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let c = Client::builder(ApiKey::new(KEY))
        .base_url(server.uri())
        .allow_http(true)
        .unique_key(UniqueKey::Email)
        .rate_limit(RateLimits::unlimited())
        .build()
        .unwrap();
    c.get_contact("a@x.com").await.unwrap();
    let start = std::time::Instant::now();
    c.get_contact("a@x.com").await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn client_side_limiter_spaces_requests() {
    let server = server_with_auth(1).await;
    Mock::given(method("GET"))
        .and(path("/data/contacts/a%40x.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"email": "a@x.com"})))
        .expect(25)
        .mount(&server)
        .await;
    let c = Client::builder(ApiKey::new(KEY))
        .base_url(server.uri())
        .allow_http(true)
        .unique_key(UniqueKey::Email)
        .build()
        .unwrap();
    let start = std::time::Instant::now();
    for _ in 0..25 {
        c.get_contact("a@x.com").await.unwrap();
    }
    // Default 20/s for contacts, no burst: one every 51 ms (1.02 s / 20), 24 gaps ≈ 1.2 s.
    assert!(
        start.elapsed() >= Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
}

/// A 207 item is matched to its input by `contact_id` (as Splio normalises it: lower case,
/// trimmed), never by position; an input left without an item is "outcome unknown" and looked
/// up with a GET before anything is concluded.
#[tokio::test]
async fn bulk_items_match_by_contact_id_else_a_get_decides() {
    let server = server_with_auth(1).await;
    // Three inputs, two items: A under Splio's spelling, B; C has no item.
    Mock::given(method("POST"))
        .and(path("/data/contacts/bulk"))
        .and(body_json(json!({"contacts": [
            {"email": "a@x.com"}, {"email": "b@x.com"}, {"email": "c@x.com"}, {"email": "d@x.com"}
        ]})))
        .respond_with(ResponseTemplate::new(207).set_body_json(json!({"time": 3, "errors": 1, "items": [
            {"contact_id": "b@x.com", "code": 400, "description": "Contact with unique key b@x.com already exists"},
            {"contact_id": " A@X.com", "code": 201, "description": ""},
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data/contacts/c%40x.com"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 7, "email": "c@x.com"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data/contacts/d%40x.com"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"status":404,"errors":[{"error_key":"id","error":"wrong_value","error_description":"Record not found for id d@x.com."}]})))
        .expect(1)
        .mount(&server)
        .await;
    // Items whose contact_id names no input, one per input: never matched by position (a
    // reordered answer would swap outcomes); a GET decides, as for a missing item.
    Mock::given(method("POST"))
        .and(path("/data/contacts/bulk"))
        .and(body_json(
            json!({"contacts": [{"email": "e@x.com"}, {"email": "f@x.com"}]}),
        ))
        .respond_with(ResponseTemplate::new(207).set_body_json(
            json!({"time": 3, "errors": 1, "items": [
                {"contact_id": "101", "code": 201, "description": ""},
                {"contact_id": "102", "code": 400, "description": "list 777 does not exist"},
            ]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data/contacts/e%40x.com"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"status":404,"errors":[{"error_key":"id","error":"wrong_value","error_description":"Record not found for id e@x.com."}]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data/contacts/f%40x.com"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 8, "email": "f@x.com"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let c = client(&server);
    let out = c
        .bulk_create(&["A@x.com", "b@x.com", "c@x.com", "d@x.com"].map(ContactData::with_email))
        .await;
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);
    assert!(out[1].result.as_ref().unwrap_err().is_already_exists());
    // No item named c: looked up and there now, so its outcome stays unknown (created by
    // this request or before it); a caller settles it with an update.
    let exists_now = |e: &ItemError| matches!(e, ItemError::OutcomeUnknown { reason } if reason.contains("exists now"));
    // Looked up and absent: not created, creating again is safe.
    let not_created = |e: &ItemError| {
        matches!(e, ItemError::Failed(inner) if matches!(**inner, Error::OutcomeUnknown { exists: Some(false), .. }))
            && e.is_retryable()
            && e.provably_not_processed()
    };
    let c_err = out[2].result.as_ref().unwrap_err();
    assert!(exists_now(c_err), "{c_err}");
    let d_err = out[3].result.as_ref().unwrap_err();
    assert!(not_created(d_err), "{d_err}");
    let out = c
        .bulk_create(&["e@x.com", "f@x.com"].map(ContactData::with_email))
        .await;
    // Position would have called e created and f refused: the reverse of the truth.
    assert!(
        not_created(out[0].result.as_ref().unwrap_err()),
        "{:?}",
        out[0].result
    );
    assert!(
        exists_now(out[1].result.as_ref().unwrap_err()),
        "{:?}",
        out[1].result
    );
}

/// A 207 item that names its input but carries no code says nothing of what became of it:
/// a create it may have made is looked up like a missing item, never reported as refused.
#[tokio::test]
async fn a_bulk_item_without_a_code_is_looked_up_not_called_refused() {
    let server = server_with_auth(1).await;
    Mock::given(method("POST"))
        .and(path("/data/contacts/bulk"))
        .and(body_json(json!({"contacts": [{"email": "a@x.com"}]})))
        .respond_with(ResponseTemplate::new(207).set_body_json(
            json!({"time": 3, "errors": 0, "items": [
                {"contact_id": "a@x.com", "description": ""},
            ]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data/contacts/a%40x.com"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 7, "email": "a@x.com"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let out = client(&server)
        .bulk_create(&[ContactData::with_email("a@x.com")])
        .await;
    let err = out[0].result.as_ref().unwrap_err();
    assert!(
        matches!(err, ItemError::OutcomeUnknown { reason } if reason.contains("exists now")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_failed_bulk_request_leaves_its_items_retryable() {
    let server = server_with_auth(1).await;
    Mock::given(method("POST"))
        .and(path("/data/contacts/bulk"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let out = client(&server)
        .bulk_create(&[ContactData::with_email("a@x.com")])
        .await;
    let err = out[0].result.as_ref().unwrap_err();
    assert!(
        matches!(err, ItemError::Failed(e) if e.status() == Some(503)),
        "{err:?}"
    );
    assert!(err.is_retryable(), "{err}");
}

/// `creation_date`: the OpenAPI pattern allows no zero-padded hour 01–09, Splio's own answers
/// pad it (`2019-01-03 09:00:00` in the subscribe examples). What is sent is a setting.
#[tokio::test]
async fn creation_date_hour_is_sent_as_configured() {
    let server = server_with_auth(2).await;
    Mock::given(method("POST"))
        .and(path("/data/contacts"))
        .and(body_json(
            json!({"email": "a@x.com", "creation_date": "2024-01-02 3:04:05"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/data/contacts"))
        .and(body_json(
            json!({"email": "b@x.com", "creation_date": "2024-01-02 03:04:05"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 2})))
        .expect(1)
        .mount(&server)
        .await;
    // The bulk path sends what the public body builder gives for the client's setting.
    let bulk = json!({"contacts": [{"email": "c@x.com", "creation_date": "2024-01-02 03:04:05"}]});
    Mock::given(method("POST"))
        .and(path("/data/contacts/bulk"))
        .and(body_json(bulk.clone()))
        .respond_with(ResponseTemplate::new(207).set_body_json(
            json!({"time": 1, "errors": 0, "items": [{"contact_id": "c@x.com", "code": 201, "description": ""}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let when = jiff::civil::date(2024, 1, 2).at(3, 4, 5, 0);
    let c = ContactData::with_email("c@x.com").creation_date(when);
    assert_eq!(
        ContactData::bulk_body([&c], splio_client::CreationDateHour::ZeroPadded),
        bulk
    );
    client(&server)
        .create_contact(&ContactData::with_email("a@x.com").creation_date(when))
        .await
        .unwrap();
    let padded = Client::builder(ApiKey::new(KEY))
        .base_url(server.uri())
        .allow_http(true)
        .unique_key(UniqueKey::Email)
        .rate_limit(RateLimits::unlimited())
        .creation_date_hour(splio_client::CreationDateHour::ZeroPadded)
        .build()
        .unwrap();
    padded
        .create_contact(&ContactData::with_email("b@x.com").creation_date(when))
        .await
        .unwrap();
    let out = padded.bulk_create(&[c]).await;
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);
}

#[tokio::test]
async fn creation_dates_decode_in_every_form_splio_answers() {
    let server = server_with_auth(1).await;
    for (key, sent) in [
        ("a", "2019-01-03 09:00:00"),
        ("b", "2019-01-03 9:00:00"),
        ("c", "2019-01-03"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/data/contacts/{key}%40x.com")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"email": "x", "creation_date": sent})),
            )
            .mount(&server)
            .await;
    }
    let c = client(&server);
    let nine = jiff::civil::date(2019, 1, 3).at(9, 0, 0, 0);
    for key in ["a", "b"] {
        let contact = c.get_contact(&format!("{key}@x.com")).await.unwrap();
        assert_eq!(contact.created_at(), Some(nine), "{contact:?}");
    }
    let contact = c.get_contact("c@x.com").await.unwrap();
    assert_eq!(
        contact.created_at(),
        Some(jiff::civil::date(2019, 1, 3).at(0, 0, 0, 0))
    );
}

/// `term` filters a blacklist on a value (OpenAPI `GET /data/blacklists/emails`; go-splio sends
/// it as a query parameter). Whether it matches whole values is undocumented, so the lookup
/// keeps only the entries for the address itself.
#[tokio::test]
async fn blacklist_lookup_sends_term_and_keeps_the_address_itself() {
    let server = server_with_auth(1).await;
    Mock::given(method("GET"))
        .and(path("/data/blacklists/emails"))
        .and(query_param("term", "John@Doe.com"))
        .and(query_param("per_page", "1000"))
        .and(query_param("page_number", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count_element": 3, "current_page": 1, "per_page": 1000, "sort": [],
            "elements": [
                {"number": "john@doe.com", "creation_date": "2017-05-09", "source": "custom"},
                {"number": "big.john@doe.com", "creation_date": "2017-05-09", "source": "custom"},
                {"number": "john@doe.com", "creation_date": "2018-01-01", "source": "unsub"}
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data/blacklists/cellphones"))
        .and(query_param("term", "+33614021388"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count_element": 1, "current_page": 1, "sort": [],
            "elements": [{"number": "33614021388", "creation_date": "2017-05-09", "source": "stop"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let c = client(&server);
    let found = c
        .blacklist_lookup(Channel::Email, "John@Doe.com")
        .await
        .unwrap();
    assert_eq!(
        found
            .iter()
            .map(|e| e.source.as_deref().unwrap())
            .collect::<Vec<_>>(),
        vec!["custom", "unsub"]
    );
    let found = c
        .blacklist_lookup(Channel::Cellphone, "+33614021388")
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "the same number without its +");
}

/// The search filter goes out as the chosen encoding says; a condition on an unknown key
/// fails before anything is sent.
#[tokio::test]
async fn search_filters_go_out_in_the_chosen_encoding() {
    use splio_client::{ContactSearch, SearchEncoding, SearchFilter, SearchOperator};
    let server = server_with_auth(1).await;
    let page = json!({"count_element": 1, "current_page": 1, "per_page": 10, "sort": [], "elements": [{"email": "ann@x.com"}]});
    Mock::given(method("GET"))
        .and(path("/data/contacts"))
        .and(query_param(
            "fields",
            r#"[{"key":"lastname","operator":"equal","value":"Doe"},{"key":"c3","operator":"greater","value":"10"}]"#,
        ))
        .and(query_param("per_page", "10"))
        .and(query_param("page_number", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data/contacts"))
        .and(query_param("fields[0][key]", "lastname"))
        .and(query_param("fields[0][operator]", "equal"))
        .and(query_param("fields[0][value]", "Doe"))
        .and(query_param("fields[1][key]", "c3"))
        .and(query_param("fields[1][operator]", "greater"))
        .and(query_param("fields[1][value]", "10"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data/contacts"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"fields": [
            {"key": "lastname", "operator": "equal", "value": "Doe"},
            {"key": "c3", "operator": "greater", "value": "10"}
        ]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let c = client(&server);
    let search = ContactSearch::new()
        .filter(SearchFilter::new("lastname", SearchOperator::Equal, "Doe"))
        .filter(SearchFilter::new("c3", SearchOperator::Greater, "10"));
    for encoding in [
        SearchEncoding::JsonQuery,
        SearchEncoding::Brackets,
        SearchEncoding::JsonBody,
    ] {
        let page = c
            .search_contacts_page(&search.clone().encoding(encoding), 2, 10)
            .await
            .unwrap();
        assert_eq!(
            page.elements[0].email.as_deref(),
            Some("ann@x.com"),
            "{encoding:?}"
        );
    }
    let bad = ContactSearch::new().filter(SearchFilter::new("shoe size", SearchOperator::Is, "4"));
    let err = c.search_contacts_page(&bad, 1, 10).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    let err = c
        .search_contacts(&bad)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("shoe size"), "{err}");
}

/// `n` distinct keys (`k0@x.com`, …), to go past the 10,000 a group creation carries.
fn group_keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("k{i}@x.com")).collect()
}

/// The group creation answers `answer` (201), once.
async fn mount_group_created(server: &MockServer, answer: serde_json::Value) {
    Mock::given(method("POST"))
        .and(path("/target/groups"))
        .respond_with(ResponseTemplate::new(201).set_body_json(answer))
        .expect(1)
        .mount(server)
        .await;
}

/// Groups: a creation past 10,000 keys sends the first 10,000 with the group, the rest to
/// `add`; `clear` is a POST without a body.
#[tokio::test]
async fn group_requests_follow_the_document() {
    use splio_client::NewGroup;
    let server = server_with_auth(1).await;
    let keys = group_keys(10_001);
    Mock::given(method("POST"))
        .and(path("/target/groups"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"name": "vip", "source": "sync", "keys": keys[..10_000]})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "group": {"id": 7, "name": "vip", "description": null, "members": 9999, "user_creator": "api", "source": "sync"},
            "keys_not_found": ["k3@x.com"]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/target/groups/7/add"))
        .and(body_json(json!({"keys": ["k10000@x.com"]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "group_id": 7, "nb_total_contacts": 10000, "nb_inserted_contacts": 1, "keys_not_found": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/target/groups/7/remove"))
        .and(body_json(json!({"keys": ["k1@x.com"]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "group_id": 7, "nb_total_contacts": 9999, "nb_removed_contacts": 1, "keys_not_found": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/target/groups/7/clear"))
        .and(wiremock::matchers::body_bytes(Vec::<u8>::new()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/target/groups/list"))
        .and(query_param("per_page", "1000"))
        .and(query_param("page_number", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count_element": 1, "current_page": 1, "per_page": 50, "sort": [],
            "elements": [{"intid": 10, "id": 7, "name": "vip", "tags": ["optin"], "status": "active", "nb_emails": 3, "nb_sms": 1}]})))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let c = client(&server);
    let created = c
        .create_group(&NewGroup {
            name: "vip".into(),
            source: Some("sync".into()),
            keys: keys.clone(),
            ..NewGroup::default()
        })
        .await
        .unwrap();
    assert_eq!(created.group.id, Some(7));
    assert_eq!(created.group.members, Some(10000));
    assert_eq!(created.keys_not_found, ["k3@x.com"]);
    let removed = c.remove_from_group(7, &["k1@x.com".into()]).await.unwrap();
    assert_eq!(removed.nb_removed_contacts, Some(1));
    c.clear_group(7).await.unwrap();
    let groups: Vec<_> = c.groups().try_collect().await.unwrap();
    assert_eq!(
        (groups[0].id, groups[0].tags.clone()),
        (Some(7), vec!["optin".to_string()])
    );
    assert!(matches!(
        c.add_to_group(7, &[]).await.unwrap_err(),
        Error::InvalidInput { .. }
    ));
}

/// A creation past 10,000 keys whose follow-up `add` fails: the group exists, so the error
/// names it and the keys still to add, and is not retryable (a repeat would make a second
/// group); the add is idempotent, so those keys can be added again as they are.
#[tokio::test]
async fn a_group_created_whose_remaining_keys_fail_names_the_group_and_the_keys() {
    use splio_client::NewGroup;
    let server = server_with_auth(1).await;
    let keys = group_keys(10_002);
    mount_group_created(
        &server,
        json!({"group": {"id": 7, "name": "vip", "members": 9999}, "keys_not_found": ["k3@x.com"]}),
    )
    .await;
    // Retried (idempotent): the first try and three retries, all refused.
    Mock::given(method("POST"))
        .and(path("/target/groups/7/add"))
        .and(body_json(json!({"keys": ["k10000@x.com", "k10001@x.com"]})))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({
            "status": 503, "errors": [{"error_key": "", "error": "unavailable", "error_description": "try later"}]})))
        .expect(4)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let err = client(&server)
        .create_group(&NewGroup {
            name: "vip".into(),
            keys,
            ..NewGroup::default()
        })
        .await
        .unwrap_err();
    let Error::GroupIncomplete {
        group_id,
        created,
        pending_keys,
        cause,
    } = &err
    else {
        panic!("expected GroupIncomplete, got {err:?}")
    };
    assert_eq!(*group_id, 7);
    assert_eq!(created.keys_not_found, ["k3@x.com"]);
    assert_eq!(pending_keys, &["k10000@x.com", "k10001@x.com"]);
    assert_eq!(cause.status(), Some(503));
    assert!(
        !err.is_retryable() && !err.provably_not_processed(),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("group 7 was created")
            && text.contains("2 keys")
            && text.contains("try later"),
        "{text}"
    );
}

/// A creation past 10,000 keys answered without the group's id: the group exists but the rest
/// cannot be added. Never "provably not processed" (a resend would make a second group).
#[tokio::test]
async fn a_group_created_without_an_id_is_never_safe_to_resend() {
    use splio_client::NewGroup;
    let server = server_with_auth(1).await;
    mount_group_created(
        &server,
        json!({"group": {"name": "vip", "members": 10000}, "keys_not_found": []}),
    )
    .await;
    catch_all(&server).await;
    let err = client(&server)
        .create_group(&NewGroup {
            name: "vip".into(),
            keys: group_keys(10_001),
            ..NewGroup::default()
        })
        .await
        .unwrap_err();
    assert!(
        !err.is_retryable() && !err.provably_not_processed(),
        "{err:?}"
    );
    assert!(
        matches!(&err, Error::OutcomeUnknown { key, .. } if key == "POST /target/groups"),
        "{err:?}"
    );
    assert!(err.to_string().contains("no id"), "{err}");
}

/// Activities: the contact's path (key percent-encoded), `channel` when asked, paging.
#[tokio::test]
async fn activities_request_the_contacts_path_and_channel() {
    use splio_client::ActivityChannel;
    let server = server_with_auth(1).await;
    Mock::given(method("GET"))
        .and(path("/data/contacts/a%2Bb%40x.com/activities"))
        .and(query_param("channel", "fwd_email"))
        .and(query_param("per_page", "1000"))
        .and(query_param("page_number", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count_element": 1, "current_page": 1, "per_page": 50,
            "elements": [{"channel": "fwd_email", "contact": null, "event": "opened", "value_date": "2019-08-29 00:00:00"}]})))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let c = client(&server);
    let got: Vec<_> = c
        .contact_activities("a+b@x.com", Some(ActivityChannel::FwdEmail))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got[0].event.as_deref(), Some("opened"));
}

/// A non-idempotent call whose success answer cannot be read (Splio accepted it) is outcome
/// unknown, named by its request, and sent once: never a retryable transport error.
#[tokio::test]
async fn an_unreadable_answer_to_a_create_is_outcome_unknown_and_not_resent() {
    use splio_client::NewGroup;
    let server = server_with_auth(1).await;
    Mock::given(method("POST"))
        .and(path("/target/groups"))
        .and(body_json(json!({"name": "vip", "keys": []})))
        .respond_with(ResponseTemplate::new(201).set_body_string("<html>not json</html>"))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let err = client(&server)
        .create_group(&NewGroup {
            name: "vip".into(),
            ..NewGroup::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::OutcomeUnknown { key, exists: None, .. } if key == "POST /target/groups"),
        "{err:?}"
    );
    assert!(
        !err.is_retryable() && !err.provably_not_processed(),
        "{err}"
    );
}
