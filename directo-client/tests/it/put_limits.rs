//! Puts split under the size and document limits, with one outcome per input document matched
//! back to it, and per-request failures kept to the documents of that request.

use crate::common::{answer, failed};
use directo_client::{Client, Customer, Error, ItemError, PutMode, PutOutcome, PutStatus};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn customer(i: usize, comment_len: usize) -> Customer {
    let mut c = Customer::new(format!("C{i:05}"));
    c.email = Some(format!("c{i}@example.ee"));
    c.comment = (comment_len > 0).then(|| "õ".repeat(comment_len / 2));
    c
}

fn xmldata(req: &Request) -> String {
    crate::common::form_field(req, "xmldata").unwrap()
}

fn encoded_len(s: &str) -> usize {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .map(str::len)
        .sum()
}

/// Answers each document with its code as `docid`, in reverse order (Directo's order is not
/// documented), so matching by position would be wrong.
struct Reversed;

impl Respond for Reversed {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let xml = xmldata(req);
        let codes: Vec<&str> = xml
            .split("code=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .collect();
        let results: String = codes
            .iter()
            .rev()
            .map(|c| format!(r#"<Result Type="0" Desc="Created" docid="{c}"/>"#))
            .collect();
        ResponseTemplate::new(200).set_body_string(format!("<results>{results}</results>"))
    }
}

async fn server(responder: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer, bytes: usize, documents: usize) -> Client {
    crate::common::builder(server)
        .max_put_bytes(bytes)
        .max_put_documents(documents)
        .build()
        .unwrap()
}

fn keys(outcomes: &[PutOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| o.result.as_ref().unwrap().docid.clone().unwrap())
        .collect()
}

#[tokio::test]
async fn a_put_is_split_under_the_byte_limit_and_results_match_their_documents() {
    let server = server(Reversed).await;
    let docs: Vec<Customer> = (0..40).map(|i| customer(i, 60)).collect();
    let limit = 2_000;
    let outcomes = client(&server, limit, 1_000)
        .put(&docs, PutMode::Create)
        .await;
    let requests = server.received_requests().await.unwrap();
    assert!(requests.len() > 1, "split into {} requests", requests.len());
    for r in &requests {
        assert!(encoded_len(&xmldata(r)) <= limit);
    }
    assert_eq!(outcomes.len(), 40);
    let expected: Vec<String> = docs.iter().map(|c| c.code.clone()).collect();
    assert_eq!(
        keys(&outcomes),
        expected,
        "matched by docid, not by position"
    );
    assert!(
        outcomes
            .iter()
            .enumerate()
            .all(|(i, o)| o.index == i && o.key.as_deref() == Some(expected[i].as_str()))
    );
}

#[tokio::test]
async fn a_put_is_split_under_the_document_limit() {
    let server = server(Reversed).await;
    let docs: Vec<Customer> = (0..25).map(|i| customer(i, 0)).collect();
    let outcomes = client(&server, 1_000_000, 10)
        .put(&docs, PutMode::Create)
        .await;
    let sizes: Vec<usize> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| xmldata(r).matches("<customer ").count())
        .collect();
    assert_eq!(sizes, [10, 10, 5]);
    assert!(outcomes.iter().all(PutOutcome::is_ok));
}

#[tokio::test]
async fn a_document_over_the_limit_is_refused_alone() {
    let server = server(Reversed).await;
    let docs = [customer(0, 0), customer(1, 5_000), customer(2, 0)];
    let outcomes = client(&server, 2_000, 100)
        .put(&docs, PutMode::Create)
        .await;
    assert!(outcomes[0].is_ok() && outcomes[2].is_ok());
    let err = outcomes[1].result.as_ref().unwrap_err();
    assert!(
        matches!(*failed(err), Error::InvalidInput(ref m) if m.contains("limit")),
        "{err:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_empty_answer_for_a_non_empty_put_is_an_unknown_outcome() {
    let server = server(ResponseTemplate::new(200).set_body_string("<results/>")).await;
    let outcomes = client(&server, 1_000_000, 100)
        .put(&[customer(0, 0), customer(1, 0)], PutMode::Create)
        .await;
    for o in &outcomes {
        let err = o.result.as_ref().unwrap_err();
        assert!(
            matches!(err, ItemError::OutcomeUnknown { reason } if reason.contains("0 result(s) for 2 document(s)")),
            "{err:?}"
        );
        assert!(!err.is_retryable());
    }
}

/// Fails the second request with 503; answers the others.
struct SecondFails(std::sync::atomic::AtomicUsize);

impl Respond for SecondFails {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            ResponseTemplate::new(503)
        } else {
            Reversed.respond(req)
        }
    }
}

#[tokio::test]
async fn a_failed_request_fails_its_documents_only() {
    let server = server(SecondFails(Default::default())).await;
    let docs: Vec<Customer> = (0..6).map(|i| customer(i, 0)).collect();
    let outcomes = client(&server, 1_000_000, 2)
        .put(&docs, PutMode::Create)
        .await;
    let ok: Vec<bool> = outcomes.iter().map(PutOutcome::is_ok).collect();
    assert_eq!(ok, [true, true, false, false, true, true]);
    assert!(matches!(
        failed(outcomes[2].result.as_ref().unwrap_err()),
        Error::Transport(marketing_sync_core::Error::Status { status: 503, .. })
    ));
}

#[tokio::test]
async fn results_without_a_docid_match_by_position() {
    let server = server(ResponseTemplate::new(200).set_body_string(
        r#"<results><Result Type="0" Desc="OK"/><Result Type="11" Desc="Duplicate"/></results>"#,
    ))
    .await;
    let outcomes = client(&server, 1_000_000, 100)
        .put(&[customer(0, 0), customer(1, 0)], PutMode::Create)
        .await;
    let status: Vec<_> = outcomes.iter().map(|o| answer(o).status).collect();
    assert_eq!(status, [PutStatus::Ok, PutStatus::Duplicate]);
    assert!(outcomes[0].is_ok() && !outcomes[1].is_ok());
}

/// The documented limit itself (with no document cap): a put of about 25 MB goes in two
/// requests, each under 19 000 000 bytes as sent, and the fake (which enforces the limit)
/// takes every document.
#[cfg(feature = "fake")]
#[tokio::test]
async fn the_default_limit_is_the_documented_19_mb() {
    let fake = directo_client::fake::FakeDirecto::start().await;
    // Each comment is 80 000 ASCII bytes: form-encoded as long.
    let docs: Vec<Customer> = (0..300)
        .map(|i| {
            let mut c = customer(i, 0);
            c.comment = Some("x".repeat(80_000));
            c
        })
        .collect();
    let client = Client::builder(directo_client::Auth::token(
        directo_client::fake::FakeDirecto::TOKEN,
    ))
    .base_url(fake.base_url())
    .allow_http(true)
    .max_put_documents(usize::MAX)
    .build()
    .unwrap();
    let outcomes = client.put(&docs, PutMode::Create).await;
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.is_ok()).take(3).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let puts = fake.puts();
    assert_eq!(puts.len(), 2);
    for p in &puts {
        assert!(encoded_len(&p.xmldata) <= directo_client::MAX_XMLDATA_BYTES);
    }
    assert_eq!(fake.customers().len(), 300);
}
