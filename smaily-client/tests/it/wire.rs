//! Wire tests against wiremock: every request asserted server-side, every documented code.

use std::time::Duration;

use serde_json::{Value, json};
use smaily_client::{
    AutomationTrigger, BodyEncoding, Client, Credentials, Error, FieldName, ItemError, RetryPolicy,
    SegmentQuery, Subscriber,
};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const AUTH: &str = "Basic dXNlcjpzM2NyZXQ="; // user:s3cret

async fn server() -> MockServer {
    MockServer::start().await
}

/// Catch-all: any request no other mock matched fails the test loudly.
async fn catch_all(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(599).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .expect(0)
        .named("unexpected request")
        .mount(server)
        .await;
}

fn client(server: &MockServer) -> Client {
    builder(server).build().unwrap()
}

fn builder(server: &MockServer) -> smaily_client::ClientBuilder {
    Client::builder(Credentials::new("user", "s3cret"))
        .subdomain("acme")
        .base_url(format!("{}/api/", server.uri()))
        .allow_http(true)
        .rate_limit(0)
        .retry(RetryPolicy::fast(2))
}

/// Smaily's JSON, labelled as HTML.
fn html(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "text/html; charset=UTF-8")
}

fn ok101() -> ResponseTemplate {
    html(r#"{"code":101,"message":"OK"}"#)
}

/// A file of `tests/fixtures/`.
pub(crate) fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn form_json(req: &Request) -> Value {
    smaily_client::form::parse_php_form(std::str::from_utf8(&req.body).unwrap())
}

#[tokio::test]
async fn get_subscriber_decodes_the_documented_example() {
    let s = server().await;
    catch_all(&s).await;
    Mock::given(method("GET"))
        .and(path("/api/contact.php"))
        .and(query_param("email", "subscriber+1@domain.tld"))
        .and(header("authorization", AUTH))
        .and(header("accept", "application/json"))
        .and(header(
            "user-agent",
            concat!("smaily-client/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(html(&fixture("subscriber.json")))
        .expect(1)
        .mount(&s)
        .await;
    let c = client(&s)
        .subscriber("subscriber+1@domain.tld")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.email, "subscriber@domain.tld");
    assert!(!c.is_unsubscribed);
    let created = c.created_at.unwrap();
    assert_eq!(created.time_zone().iana_name(), Some("Europe/Tallinn"));
    assert_eq!(created.offset().seconds(), 3 * 3600, "April is EEST");
    assert_eq!(created.timestamp().to_string(), "2014-04-23T07:32:55Z");
    assert_eq!(
        c.modified_at.unwrap().offset().seconds(),
        2 * 3600,
        "March 22 is EET"
    );
    assert_eq!(c.last_response_code, Some(200));
    assert_eq!(c.last_click_at, None);
    assert_eq!(c.total_opens, Some(0));
    assert_eq!(c.fields["first_name"], "Mari");
    assert_eq!(c.fields.len(), 1);
}

#[tokio::test]
async fn get_subscriber_accepts_strings_and_a_one_element_list() {
    let s = server().await;
    Mock::given(method("GET"))
        .and(path("/api/contact.php"))
        .respond_with(html(&fixture("subscriber_strings.json")))
        .mount(&s)
        .await;
    let c = client(&s)
        .subscriber("subscriber@domain.tld")
        .await
        .unwrap()
        .unwrap();
    assert!(c.is_unsubscribed);
    assert_eq!(c.last_response_code, Some(1001));
    assert_eq!((c.total_opens, c.total_clicks), (Some(3), Some(2)));
    // 03:30 on the autumn-back night is ambiguous? No: that is Oct 25 2015; Nov 1 is EET.
    assert_eq!(c.unsubscribed_at.unwrap().offset().seconds(), 2 * 3600);
    assert_eq!(c.fields["store"], "12");
    assert_eq!(c.fields["vip"], "true");
}

#[tokio::test]
async fn a_miss_is_none_not_an_error() {
    let s = server().await;
    Mock::given(method("GET"))
        .and(path("/api/contact.php"))
        .respond_with(html(
            r#"{"code":206,"message":"Could not find requested email address"}"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    assert!(
        client(&s)
            .subscriber("none@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn upsert_sends_json_and_omits_absent_status() {
    let s = server().await;
    catch_all(&s).await;
    Mock::given(method("POST"))
        .and(path("/api/contact.php"))
        .and(header("content-type", "application/json"))
        .and(header("authorization", AUTH))
        .and(body_json(
            json!({"email":"subscriber@domain.tld","foo":"bar"}),
        ))
        .respond_with(ok101())
        .expect(1)
        .mount(&s)
        .await;
    let sub = Subscriber::new("subscriber@domain.tld").field(FieldName::new("foo").unwrap(), "bar");
    client(&s).upsert(&sub).await.unwrap();
}

#[tokio::test]
async fn upsert_form_encoding_matches_the_documented_body() {
    let s = server().await;
    catch_all(&s).await;
    Mock::given(method("POST"))
        .and(path("/api/contact.php"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(wiremock::matchers::body_string(
            "email=support%40smaily.com&is_unsubscribed=1",
        ))
        .respond_with(ok101())
        .expect(1)
        .mount(&s)
        .await;
    let c = builder(&s)
        .body_encoding(BodyEncoding::Form)
        .build()
        .unwrap();
    c.unsubscribe("support@smaily.com").await.unwrap();
}

#[tokio::test]
async fn batch_is_a_json_array_in_chunks_and_form_is_indexed() {
    for encoding in [BodyEncoding::Json, BodyEncoding::Form] {
        let s = server().await;
        catch_all(&s).await;
        Mock::given(method("POST"))
            .and(path("/api/contact.php"))
            .respond_with(ok101())
            .expect(3)
            .mount(&s)
            .await;
        let c = builder(&s)
            .batch_size(2)
            .body_encoding(encoding)
            .build()
            .unwrap();
        let rows: Vec<Subscriber> = (0..5)
            .map(|i| {
                Subscriber::new(format!("u{i}@example.com"))
                    .subscribed(true)
                    .field(FieldName::new("name").unwrap(), format!("N{i}"))
            })
            .collect();
        let out = c.upsert_many(&rows).await;
        assert!(out.iter().all(|o| o.is_ok()));
        assert_eq!(c.requests_sent(), 3);
        let mut bodies: Vec<Value> = s
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| match encoding {
                BodyEncoding::Json => r.body_json::<Value>().unwrap(),
                BodyEncoding::Form => form_json(r),
            })
            .collect();
        bodies.sort_by_key(|b| b.to_string());
        let n = |v: u8| match encoding {
            BodyEncoding::Json => json!(v),
            BodyEncoding::Form => json!(v.to_string()),
        };
        assert_eq!(
            bodies[0],
            json!([
                {"email":"u0@example.com","is_unsubscribed":n(0),"name":"N0"},
                {"email":"u1@example.com","is_unsubscribed":n(0),"name":"N1"}
            ])
        );
        // A lone row goes as an object, not a one-element array.
        assert_eq!(
            bodies[2],
            json!({"email":"u4@example.com","is_unsubscribed":n(0),"name":"N4"})
        );
    }
}

/// Answers 203 to any batch containing a row whose email has two `@` (an address the client's
/// own check lets through, Smaily having the last word), 204 for such a lone row.
struct RejectBad;

impl wiremock::Respond for RejectBad {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = req.body_json().unwrap();
        let bad = |r: &Value| r["email"].as_str().unwrap().matches('@').count() != 1;
        match &body {
            Value::Array(rows) if rows.iter().any(bad) => {
                html(r#"{"code":203,"message":"Invalid data submitted"}"#)
            }
            Value::Object(_) if bad(&body) => html(&format!(
                r#"{{"code":204,"message":"Invalid email address provided - {}"}}"#,
                body["email"].as_str().unwrap()
            )),
            _ => ok101(),
        }
    }
}

#[tokio::test]
async fn batch_203_is_bisected_to_per_email_outcomes() {
    let s = server().await;
    Mock::given(method("POST"))
        .and(path("/api/contact.php"))
        .respond_with(RejectBad)
        .mount(&s)
        .await;
    let c = builder(&s).batch_size(8).build().unwrap();
    let emails: Vec<String> = (0..8)
        .map(|i| {
            if i == 5 {
                "a@b@example.com".into()
            } else {
                format!("u{i}@example.com")
            }
        })
        .collect();
    let rows: Vec<Subscriber> = emails.iter().map(Subscriber::new).collect();
    let out = c.upsert_many(&rows).await;
    assert_eq!(out.len(), 8);
    for (o, e) in out.iter().zip(&emails) {
        assert_eq!(&o.key, e, "input order kept");
    }
    match &out[5].result {
        Err(ItemError::Rejected { code, message }) => {
            assert_eq!(*code, 204);
            assert_eq!(message, "Invalid email address provided - a@b@example.com");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(out.iter().filter(|o| o.is_ok()).count(), 7);
    // 8 → 4+4 → (4 ok) 2+2 → (2 ok) 1+1: 1 + 2 + 2 + 2 = 7 requests.
    assert_eq!(c.requests_sent(), 7);
}

#[tokio::test]
async fn a_failing_chunk_reports_failed_rows_and_keeps_the_others() {
    let s = server().await;
    Mock::given(method("POST"))
        .and(path("/api/contact.php"))
        .and(wiremock::matchers::body_string_contains("bad-server"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3) // 1 + 2 retries
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/contact.php"))
        .respond_with(ok101())
        .expect(1)
        .mount(&s)
        .await;
    let c = builder(&s).batch_size(2).build().unwrap();
    let out = c
        .upsert_many(&[
            Subscriber::new("a@example.com"),
            Subscriber::new("b@example.com"),
            Subscriber::new("bad-server@example.com"),
        ])
        .await;
    assert!(out[0].is_ok() && out[1].is_ok());
    match &out[2].result {
        Err(ItemError::Failed(e)) => {
            assert!(matches!(&**e, Error::Transport(t) if t.http_status() == Some(503)))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn code_205_is_retried_for_upserts() {
    let s = server().await;
    Mock::given(method("POST"))
        .and(path("/api/contact.php"))
        .respond_with(html(
            r#"{"code":205,"message":"Could not add or update provided contact"}"#,
        ))
        .up_to_n_times(1)
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/contact.php"))
        .respond_with(ok101())
        .expect(1)
        .mount(&s)
        .await;
    client(&s)
        .upsert(&Subscriber::new("a@example.com"))
        .await
        .unwrap();
}

#[tokio::test]
async fn delete_body() {
    let s = server().await;
    catch_all(&s).await;
    Mock::given(method("POST"))
        .and(path("/api/contact.php"))
        .and(body_json(json!({"email":"x@example.com","is_deleted":1})))
        .respond_with(ok101())
        .expect(1)
        .mount(&s)
        .await;
    client(&s).delete("x@example.com").await.unwrap();
}

#[tokio::test]
async fn http_statuses_map_to_their_own_errors() {
    type Check = fn(&Error) -> bool;
    let cases: Vec<(ResponseTemplate, Check, u64)> = vec![
        (
            ResponseTemplate::new(401),
            |e| matches!(e, Error::Unauthorized { .. }),
            1,
        ),
        (
            ResponseTemplate::new(403)
                .set_body_string(r#"{"code":227,"message":"A paid package is required."}"#),
            |e| {
                matches!(e, Error::PlanBlocked { message } if message == "A paid package is required.")
                    && e.code() == Some(227)
            },
            1,
        ),
        (
            ResponseTemplate::new(404),
            |e| matches!(e, Error::NotFound { body } if body.is_empty()),
            1,
        ),
        (
            ResponseTemplate::new(502),
            |e| matches!(e, Error::Transport(t) if t.http_status() == Some(502)),
            3,
        ),
        (
            ResponseTemplate::new(429).insert_header("retry-after", "0"),
            |e| matches!(e, Error::RateLimited { retry_after: Some(d), .. } if d.is_zero()),
            3,
        ),
        (
            html(r#"{"code":"202","message":"Forbidden"}"#),
            |e| matches!(e, Error::Api { code: 202, message } if message == "Forbidden"),
            1,
        ),
        (
            html("<html>oops</html>"),
            |e| {
                matches!(
                    e,
                    Error::Transport(marketing_sync_core::Error::Decode { .. })
                )
            },
            1,
        ),
    ];
    for (template, check, hits) in cases {
        let s = server().await;
        Mock::given(method("GET"))
            .respond_with(template)
            .expect(hits)
            .mount(&s)
            .await;
        let err = client(&s).subscriber("a@example.com").await.unwrap_err();
        assert!(check(&err), "{err:?}");
        s.verify().await;
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let s = server().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .respond_with(html(&fixture("subscriber.json")))
        .mount(&s)
        .await;
    let started = std::time::Instant::now();
    client(&s).subscriber("a@example.com").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn triggers_are_not_retried_after_reaching_the_server() {
    let s = server().await;
    catch_all(&s).await;
    Mock::given(method("POST"))
        .and(path("/api/autoresponder.php"))
        .and(body_json(json!({
            "autoresponder": 1,
            "addresses": [{"email":"subscriber+1@domain.tld"}],
            "force_opt_in": false
        })))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&s)
        .await;
    let t = AutomationTrigger::new([Subscriber::new("subscriber+1@domain.tld")])
        .workflow(1)
        .force_opt_in(false);
    let err = client(&s).trigger_automation(&t).await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(t) if t.http_status() == Some(500)),
        "{err:?}"
    );
}

#[tokio::test]
async fn triggers_are_retried_after_a_429_and_return_accepted_addresses() {
    let s = server().await;
    Mock::given(method("POST"))
        .and(path("/api/autoresponder.php"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/autoresponder.php"))
        .respond_with(html(
            r#"{"code":101,"message":"OK","addresses":["subscriber+1@domain.tld"]}"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    let t = AutomationTrigger::new([Subscriber::new(" Subscriber+1@domain.tld")]);
    let accepted = client(&s).trigger_automation(&t).await.unwrap();
    assert_eq!(accepted, ["subscriber+1@domain.tld"]);
    let trigger = client(&s)
        .trigger_automation(&AutomationTrigger::new([]))
        .await;
    assert!(matches!(trigger, Err(Error::InvalidInput { .. })));
}

#[tokio::test]
async fn workflows_are_listed_with_filters() {
    let s = server().await;
    catch_all(&s).await;
    Mock::given(method("GET"))
        .and(path("/api/autoresponder.php"))
        .and(query_param("status[]", "ACTIVE"))
        .and(query_param("limit", "0"))
        .respond_with(html(&fixture("workflows.json")))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/workflows.php"))
        .and(query_param("trigger_type", "form_submitted"))
        .respond_with(html(
            r#"[{"id":"4","title":"Cart"},{"id":5,"name":"Opt-in","is_enabled":"0"}]"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    let c = client(&s);
    let q = smaily_client::WorkflowQuery {
        status: vec!["ACTIVE".into()],
        limit: Some(0),
        ..Default::default()
    };
    let flows = c.workflows(&q).await.unwrap();
    assert_eq!(flows[0].id, 3);
    assert_eq!(flows[0].sections[0].id, 7);
    assert_eq!(flows[0].sections[0].template.as_ref().unwrap().id, 9);
    assert_eq!(
        flows[0].created_at.as_ref().unwrap().offset().seconds(),
        3 * 3600
    );
    let forms = c.form_workflows().await.unwrap();
    assert_eq!(
        (forms[0].id, forms[0].title.as_str(), forms[0].is_enabled),
        (4, "Cart", None)
    );
    assert_eq!(
        (forms[1].title.as_str(), forms[1].is_enabled),
        ("Opt-in", Some(false))
    );
}

#[tokio::test]
async fn segment_stream_pages_by_index_until_a_short_page() {
    let s = server().await;
    catch_all(&s).await;
    for (page, body) in [
        ("0", r#"[{"email":"a@x.ee"},{"email":"b@x.ee"}]"#),
        (
            "1",
            r#"[{"email":"c@x.ee","unsubscribed_at":"2020-01-01 00:00:00"}]"#,
        ),
    ] {
        Mock::given(method("GET"))
            .and(path("/api/contact.php"))
            .and(query_param("list", "2"))
            .and(query_param("offset", page))
            .and(query_param("limit", "2"))
            .and(query_param("fields", "email,unsubscribed_at"))
            .respond_with(html(body))
            .expect(1)
            .mount(&s)
            .await;
    }
    use futures::TryStreamExt;
    let rows: Vec<_> = client(&s)
        .segment_subscribers(
            smaily_client::SEGMENT_UNSUBSCRIBED,
            SegmentQuery::default()
                .fields(["email", "unsubscribed_at"])
                .page_size(2),
        )
        .try_collect()
        .await
        .unwrap();
    let emails: Vec<_> = rows.iter().map(|c| c.email.as_str()).collect();
    assert_eq!(emails, ["a@x.ee", "b@x.ee", "c@x.ee"]);
}

#[tokio::test]
async fn the_password_never_shows() {
    let s = server().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string("denied"))
        .mount(&s)
        .await;
    let b = builder(&s);
    assert!(!format!("{b:?}").contains("s3cret"));
    let c = b.build().unwrap();
    assert!(!format!("{c:?}").contains("s3cret"));
    assert!(!format!("{c:?}").contains("dXNlcjpzM2NyZXQ"));
    let e = c.subscriber("a@example.com").await.unwrap_err();
    for text in [format!("{e:?}"), e.to_string()] {
        assert!(
            !text.contains("s3cret") && !text.contains("dXNlcjpzM2NyZXQ"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn client_side_rate_limit_spaces_requests() {
    let s = server().await;
    Mock::given(method("GET"))
        .respond_with(html(&fixture("subscriber.json")))
        .mount(&s)
        .await;
    let c = builder(&s).rate_limit(5).build().unwrap();
    let started = std::time::Instant::now();
    for _ in 0..7 {
        c.subscriber("a@example.com").await.unwrap();
    }
    // No burst: 200 ms between requests from the first on.
    assert!(
        started.elapsed() >= Duration::from_millis(1200),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn every_documented_body_code_is_a_typed_error_with_the_verbatim_message() {
    let codes: [(u16, &str); 24] = [
        (201, "Data must be posted with POST method."),
        (202, "Forbidden"),
        (203, "Invalid data submitted"),
        (204, "Invalid email address provided - x"),
        (205, "Could not add or update provided contact"),
        (207, "Following fields are required - email"),
        (208, "Could not find list with ID - 9"),
        (209, "Could not load content from remote URL - https://x"),
        (210, "Invalid due date provided"),
        (211, "Invalid From address provided"),
        (212, "Launch failed with error - boom"),
        (213, "Invalid win date provided"),
        (214, "Invalid winning condition provided"),
        (215, "Invalid campaign ID provided"),
        (216, "Could not find campaign matching provided ID"),
        (217, "Unknown column in filter data - x"),
        (218, "Unknown operator \"X\" for field \"y\""),
        (219, "Could not find list with ID - 9"),
        (220, "Could not find statistics entry by email - a@x.ee"),
        (221, "Invalid autoresponder ID provided"),
        (223, "Missing start or end date"),
        (224, "End date cannot be before start"),
        (225, "Database insert failed"),
        (226, "Failed to download file from URL"),
    ];
    let s = server().await;
    for (code, message) in codes {
        s.reset().await;
        Mock::given(method("POST"))
            .and(path("/api/contact.php"))
            .respond_with(html(&json!({"code": code, "message": message}).to_string()))
            .mount(&s)
            .await;
        let c = client(&s);
        let err = c
            .upsert(&Subscriber::new("a@example.com"))
            .await
            .unwrap_err();
        match &err {
            Error::Api {
                code: c2,
                message: m,
            } => {
                assert_eq!((*c2, m.as_str()), (code, message));
            }
            other => panic!("{code}: {other:?}"),
        }
        let transient = matches!(code, 205 | 225);
        assert_eq!(err.is_retryable(), transient, "{code}");
        let expected_hits = if transient { 3 } else { 1 };
        assert_eq!(c.requests_sent(), expected_hits, "{code}");
    }
}

#[tokio::test]
async fn trigger_in_form_encoding() {
    let s = server().await;
    catch_all(&s).await;
    Mock::given(method("POST"))
        .and(path("/api/autoresponder.php"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(html(
            r#"{"code":101,"message":"OK","addresses":["a@example.com"]}"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    let c = builder(&s)
        .body_encoding(BodyEncoding::Form)
        .build()
        .unwrap();
    let t = AutomationTrigger::new([
        Subscriber::new("a@example.com").field(FieldName::new("cart").unwrap(), "2")
    ])
    .workflow(4)
    .force_opt_in(false)
    .abandoned_cart(true);
    c.trigger_automation(&t).await.unwrap();
    let req = &s.received_requests().await.unwrap()[0];
    assert_eq!(
        form_json(req),
        json!({
            "autoresponder": "4",
            "addresses": [{"email": "a@example.com", "cart": "2"}],
            "force_opt_in": "0",
            "is_abandoned_cart": "1"
        })
    );
}

#[tokio::test]
async fn decode_errors_name_the_field_and_keep_a_snippet() {
    let s = server().await;
    Mock::given(method("GET"))
        .and(path("/api/contact.php"))
        .respond_with(html(r#"{"email":"a@x.ee","created_at":"last tuesday"}"#))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/list.php"))
        .respond_with(html(r#"[{"id":1,"name":"A"},{"id":"two","name":"B"}]"#))
        .mount(&s)
        .await;
    let c = client(&s);
    match c.subscriber("a@x.ee").await.unwrap_err() {
        Error::Transport(marketing_sync_core::Error::Decode {
            message, snippet, ..
        }) => {
            assert!(message.contains("created_at"), "{message}");
            assert!(snippet.contains("last tuesday"), "{snippet}");
        }
        other => panic!("{other:?}"),
    }
    // A bad row is that row's error; the list still comes (it used to fail as a whole).
    let list = c.segments().await.unwrap();
    assert_eq!(list.len(), 1);
    match &list.invalid()[0].error {
        Error::Transport(marketing_sync_core::Error::Decode { path, .. }) => {
            assert_eq!(path, "[1].id")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn empty_batches_send_nothing() {
    let s = server().await;
    catch_all(&s).await;
    let c = client(&s);
    assert!(c.upsert_many(&[]).await.is_empty());
    assert!(c.forget::<&str>(&[]).await.is_empty());
    assert_eq!(c.requests_sent(), 0);
}

/// `force_opt_in` is left out of smaily.com/help/api/automations-2/autoresponder/, and Smaily
/// then opts unsubscribed people back in (erkkimarkus/smaily-api-docs-unofficial
/// `reference/automations.md`). The official WordPress plugin's
/// `includes/Smaily/Client.php` `trigger_automation` defaults it to `false`: so does the
/// client, in both body encodings; opting in takes `force_opt_in(true)`, by name.
#[tokio::test]
async fn triggers_keep_consent_unless_opt_in_is_asked_for_by_name() {
    let s = server().await;
    catch_all(&s).await;
    Mock::given(method("POST"))
        .and(path("/api/autoresponder.php"))
        .respond_with(html(
            r#"{"code":101,"message":"OK","addresses":["a@example.com"]}"#,
        ))
        .expect(4)
        .mount(&s)
        .await;
    let plain = AutomationTrigger::new([Subscriber::new("a@example.com")]).workflow(3);
    let asked = plain.clone().force_opt_in(true);
    client(&s).trigger_automation(&plain).await.unwrap();
    client(&s).trigger_automation(&asked).await.unwrap();
    let form = builder(&s)
        .body_encoding(BodyEncoding::Form)
        .build()
        .unwrap();
    form.trigger_automation(&plain).await.unwrap();
    form.trigger_automation(&asked).await.unwrap();
    let got = s.received_requests().await.unwrap();
    assert_eq!(
        got[0].body_json::<Value>().unwrap(),
        json!({"autoresponder": 3, "addresses": [{"email": "a@example.com"}], "force_opt_in": false})
    );
    assert_eq!(got[1].body_json::<Value>().unwrap()["force_opt_in"], true);
    assert_eq!(form_json(&got[2])["force_opt_in"], "0");
    assert_eq!(form_json(&got[3])["force_opt_in"], "1");
}

/// smaily.com/help/api/subscribers-2/forget-subscribers: "Request body must contain a JSON
/// list of email addresses", so it is JSON whatever the client's body encoding.
#[tokio::test]
async fn forget_sends_a_json_list_even_with_form_encoding() {
    let s = server().await;
    catch_all(&s).await;
    Mock::given(method("POST"))
        .and(path("/api/contact/forget.php"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!(["x@example.com", "y@example.com"])))
        .respond_with(ok101())
        .expect(2)
        .mount(&s)
        .await;
    for encoding in [BodyEncoding::Json, BodyEncoding::Form] {
        let c = builder(&s).body_encoding(encoding).build().unwrap();
        let outcomes = c.forget(&["x@example.com", "y@example.com"]).await;
        assert!(outcomes.iter().all(|o| o.is_ok()), "{encoding:?}");
    }
}

/// A subdomain pasted as the account's address is normalised to its first label, as the
/// official WooCommerce plugin does (sendsmaily/smaily-woocommerce-plugin `inc/Api/Api.php`
/// `collect_api_credentials_data`: a full URL whose host has 3+ labels, or
/// `^[^.]+\.sendsmaily\.net$`, gives its first label). What is not a Smaily address is
/// refused with a clear error instead of guessed at.
#[test]
fn pasted_smaily_addresses_are_normalised_to_the_subdomain() {
    let build = |sub: &str| {
        Client::builder(Credentials::new("user", "s3cret"))
            .subdomain(sub)
            .build()
    };
    for pasted in [
        "acme",
        "https://acme.sendsmaily.net/",
        "https://acme.sendsmaily.net/api/contact.php?email=a%40b.ee",
        " HTTPS://Acme.SendSmaily.NET/login ",
        "http://acme.sendsmaily.net",
        "acme.sendsmaily.net",
        "acme.sendsmaily.net/campaigns",
    ] {
        let client = build(pasted).unwrap_or_else(|e| panic!("{pasted:?}: {e}"));
        assert_eq!(
            client.base_url().as_str(),
            "https://acme.sendsmaily.net/api/",
            "{pasted:?}"
        );
    }
    for bad in [
        "https://sendsmaily.net/",
        "https://acme.example.com/",
        "https://a.b.sendsmaily.net/",
        "acme.example.com",
        "https://",
        "my company",
    ] {
        match build(bad) {
            Err(Error::Config(msg)) => assert!(msg.contains("subdomain"), "{bad:?}: {msg}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}
