//! Every request the client sends, asserted on the server side (wiremock on loopback):
//! method, path, query, content type, form body, and where the secret goes.

use crate::common::{PATH, answer, failed, mail, read_error};
use std::collections::HashMap;

use directo_client::{Auth, Client, Customer, PutMode, Query, ReadMethod, RetryPolicy};
use futures::TryStreamExt;
use jiff::civil::date;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "SECRET-TOKEN-123";
const KEY: &str = "0123456789ABCDEF0123456789ABCDEF";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn xml(body: impl Into<String>) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/xml; charset=utf-8")
        .set_body_string(body.into())
}

fn form(req: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

fn query(req: &Request) -> HashMap<String, String> {
    req.url.query_pairs().into_owned().collect()
}

async fn server() -> MockServer {
    MockServer::start().await
}

/// Fails loudly on anything no other mock matched (mounted last, lowest priority).
async fn catch_all(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(599).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .expect(0)
        .mount(server)
        .await;
}

fn token_client(server: &MockServer) -> Client {
    Client::builder(Auth::token(TOKEN))
        .base_url(format!("{}{PATH}", server.uri()))
        .allow_http(true)
        .retry(RetryPolicy::fast(2))
        .build()
        .unwrap()
}

#[tokio::test]
async fn post_read_puts_the_token_in_the_body_only() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(xml(fixture("customers.xml")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = token_client(&server);
    let customers: Vec<Customer> = client
        .customers(Query::new().since(date(2026, 1, 12)).filter("closed", "0"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(customers.len(), 1);

    let reqs = server.received_requests().await.unwrap();
    let req = &reqs[0];
    assert_eq!(
        req.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    assert!(
        req.headers
            .get("user-agent")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("directo-client/")
    );
    let body = form(req);
    assert_eq!(body["token"], TOKEN);
    assert_eq!(body["get"], "1");
    assert_eq!(body["what"], "customer");
    assert_eq!(body["ts"], "12.01.2026");
    assert_eq!(body["closed"], "0");
    // Routing repeated in the query string (default), the secret never.
    let q = query(req);
    assert_eq!(q["get"], "1");
    assert_eq!(q["what"], "customer");
    assert_eq!(q["ts"], "12.01.2026");
    assert!(!q.contains_key("token"));
    assert!(!req.url.as_str().contains(TOKEN));
}

#[tokio::test]
async fn routing_can_stay_out_of_the_query() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(xml(fixture("empty.xml")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = Client::builder(Auth::token(TOKEN))
        .base_url(format!("{}{PATH}", server.uri()))
        .allow_http(true)
        .routing_in_query(false)
        .build()
        .unwrap();
    let n = client
        .records("item", Query::new().filter("code", "000001"))
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len();
    assert_eq!(n, 0);
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(req.url.query(), None);
    let body = form(req);
    assert_eq!(body["what"], "item");
    assert_eq!(body["code"], "000001");
}

#[tokio::test]
async fn legacy_get_sends_everything_in_the_query() {
    let server = server().await;
    let legacy = "/xmlcore/demo_ee/xmlcore.asp";
    Mock::given(method("GET"))
        .and(path(legacy))
        .respond_with(xml(fixture("customers_legacy.xml")))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = Client::builder(Auth::app_key(KEY))
        .base_url(format!("{}{legacy}", server.uri()))
        .allow_http(true)
        .read_method(ReadMethod::Get)
        .build()
        .unwrap();
    let customers: Vec<Customer> = client
        .customers(Query::new().since(date(2026, 1, 12).at(7, 5, 0, 0)))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(customers.len(), 3);
    // The Make/Magento filter: skip blank e-mails.
    let with_mail: Vec<_> = customers.iter().filter_map(Customer::email).collect();
    assert_eq!(with_mail, ["mari@example.ee"]);
    assert_eq!(
        customers[0].extra.get("pricelist").map(String::as_str),
        Some("HIND1")
    );
    let req = &server.received_requests().await.unwrap()[0];
    let q = query(req);
    assert_eq!(q["key"], KEY);
    assert_eq!(q["get"], "1");
    assert_eq!(q["what"], "customer");
    assert_eq!(q["ts"], "12.01.2026 07:05");
    assert!(req.body.is_empty());
}

#[tokio::test]
async fn reads_are_retried_on_5xx_and_429() {
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(xml(fixture("customers.xml")))
        .expect(1)
        .mount(&server)
        .await;
    let client = token_client(&server);
    let n = client
        .customers(Query::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len();
    assert_eq!(n, 1);
    assert_eq!(client.requests_sent(), 3);
}

#[tokio::test]
async fn reads_give_up_after_the_configured_retries() {
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .expect(3)
        .mount(&server)
        .await;
    let client = token_client(&server);
    let err = read_error(&client).await;
    assert!(
        matches!(
            err,
            directo_client::Error::Transport(marketing_sync_core::Error::Status {
                status: 502,
                ..
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn client_errors_and_in_200_errors_are_not_retried() {
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(xml(fixture("unauthorized.xml")))
        .expect(1)
        .mount(&server)
        .await;
    let client = token_client(&server);
    let err = read_error(&client).await;
    assert!(
        matches!(err, directo_client::Error::Unauthorized { ref desc } if desc == "Unauthorized"),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains(TOKEN));

    let server = self::server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("nope"))
        .expect(1)
        .mount(&server)
        .await;
    let client = token_client(&server);
    let err = read_error(&client).await;
    assert!(
        matches!(
            err,
            directo_client::Error::Transport(marketing_sync_core::Error::Status {
                status: 400,
                ..
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn every_documented_error_body_is_an_error() {
    use directo_client::Error;
    type Check = fn(&Error) -> bool;
    let cases: [(&str, Check); 5] = [
        (
            "unauthorized.xml",
            |e| matches!(e, Error::Unauthorized { desc } if desc == "Unauthorized"),
        ),
        (
            "token_required.xml",
            |e| matches!(e, Error::Api { code: None, desc } if desc == "token required"),
        ),
        (
            "invalid_url.xml",
            |e| matches!(e, Error::Api { code: Some(404), desc } if desc == "Invalid url given"),
        ),
        (
            "legacy_error.xml",
            |e| matches!(e, Error::Api { code: Some(3), desc } if desc == "Access denied"),
        ),
        (
            "err_reason.xml",
            |e| matches!(e, Error::Api { code: None, desc } if desc == "appkey not valid"),
        ),
    ];
    for (name, check) in cases {
        let server = server().await;
        Mock::given(method("POST"))
            .respond_with(xml(fixture(name)))
            .expect(1)
            .mount(&server)
            .await;
        let err = read_error(&token_client(&server)).await;
        assert!(check(&err), "{name}: {err:?}");
        assert!(!err.is_retryable(), "{name}");
    }
}

#[tokio::test]
async fn http_401_is_unauthorized() {
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string("denied"))
        .expect(1)
        .mount(&server)
        .await;
    let err = read_error(&token_client(&server)).await;
    assert!(
        matches!(err, directo_client::Error::Unauthorized { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn malformed_xml_names_offset_and_record() {
    let server = server().await;
    let body = r#"<transport><customers><customer code="A"/><customer code="B"></oops></customers></transport>"#;
    Mock::given(method("POST"))
        .respond_with(xml(body))
        .expect(1)
        .mount(&server)
        .await;
    let mut got = Vec::new();
    let mut stream = std::pin::pin!(token_client(&server).customers(Query::new()));
    let err = loop {
        match stream.try_next().await {
            Ok(Some(c)) => got.push(c.code),
            Ok(None) => panic!("expected an error after {got:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, ["A"]);
    match err {
        directo_client::Error::Xml { offset, record, .. } => {
            assert_eq!(record, 2);
            assert!(offset > 40 && offset <= body.len() as u64, "{offset}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn put_posts_xmldata_with_the_secret_in_the_body() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .respond_with(xml(fixture("put_result_ok.xml")))
        .expect(2)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = token_client(&server);
    let mut tom = Customer::new("C1");
    tom.name = Some(r#"Tom & "Jerry" <OÜ>"#.into());
    tom.email = Some("tom@example.ee".into());
    let results = client
        .put(std::slice::from_ref(&tom), PutMode::Create)
        .await;
    assert_eq!(results.len(), 1);
    assert!(results[0].is_ok());
    let result = results[0].result.as_ref().unwrap();
    assert_eq!(result.docid.as_deref(), Some("100034"));
    let updated = client
        .put(std::slice::from_ref(&tom), PutMode::Replace)
        .await;
    assert!(updated[0].is_ok());

    let reqs = server.received_requests().await.unwrap();
    for (i, req) in reqs.iter().enumerate() {
        assert_eq!(req.method.as_str(), "POST");
        assert_eq!(
            req.headers.get("content-type").unwrap(),
            "application/x-www-form-urlencoded"
        );
        let body = form(req);
        assert_eq!(body["token"], TOKEN);
        assert_eq!(body["put"], "1");
        assert_eq!(body["what"], "customer");
        assert!(!req.url.as_str().contains(TOKEN));
        assert!(!query(req).contains_key("xmldata"));
        assert_eq!(
            body.get("xd_update").map(String::as_str),
            (i == 1).then_some("1")
        );
        // The document parses back to the same customer.
        let back: Vec<Customer> =
            directo_client::RecordReader::new(body["xmldata"].as_bytes(), "customer")
                .collect::<Result<_, _>>()
                .unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].name, tom.name);
        assert_eq!(back[0].email, tom.email);
        assert!(body["xmldata"].contains("Tom &amp; &quot;Jerry&quot; &lt;OÜ&gt;"));
    }
}

#[tokio::test]
async fn puts_are_not_retried_on_5xx_but_are_on_429() {
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let res = token_client(&server)
        .put(&[mail("C1")], PutMode::Create)
        .await;
    let err = res[0].result.as_ref().unwrap_err();
    assert!(
        matches!(
            *failed(err),
            directo_client::Error::Transport(marketing_sync_core::Error::Status {
                status: 503,
                ..
            })
        ),
        "{err:?}"
    );

    let server = self::server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(xml(fixture("put_result_ok.xml")))
        .expect(1)
        .mount(&server)
        .await;
    let ok = token_client(&server)
        .put(&[mail("C1")], PutMode::Create)
        .await;
    assert!(ok[0].is_ok());
}

#[tokio::test]
async fn put_results_are_per_document() {
    use directo_client::PutStatus;
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(xml(fixture("put_result_mixed.xml")))
        .expect(1)
        .mount(&server)
        .await;
    let docs = [mail("A"), mail("B"), mail("C")];
    let results = token_client(&server).put(&docs, PutMode::Create).await;
    let statuses: Vec<_> = results.iter().map(|r| answer(r).status).collect();
    assert_eq!(
        statuses,
        [
            PutStatus::OkLinked,
            PutStatus::Other(1),
            PutStatus::UpdateNotAllowed
        ]
    );
    assert!(matches!(
        results[1].error(),
        Some(directo_client::ItemError::Rejected { message, code: Some(1), .. }) if message == "korduv arve"
    ));
    assert!(results[0].is_ok() && !results[1].is_ok());
}

#[test]
fn secrets_stay_out_of_debug() {
    let builder = Client::builder(Auth::token(TOKEN)).base_url("https://example.invalid/x.asp");
    assert!(!format!("{builder:?}").contains(TOKEN));
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains(TOKEN));
    let legacy = Client::builder(Auth::app_key(KEY))
        .base_url("https://example.invalid/xmlcore/demo_ee/xmlcore.asp")
        .build()
        .unwrap();
    assert!(!format!("{legacy:?}").contains(KEY));
}

#[test]
fn plain_http_needs_allow_http() {
    let http = || Client::builder(Auth::token(TOKEN)).base_url("http://127.0.0.1:9/x.asp");
    assert!(matches!(
        http().build(),
        Err(directo_client::Error::Config(_))
    ));
    assert!(http().allow_http(true).build().is_ok());
}
