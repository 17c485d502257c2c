//! Declared encodings are decoded (encoding_rs), never refused or garbled: the XML
//! declaration's `encoding` (XML 1.0 §4.3.3), else the HTTP `charset` (RFC 7303 §3.2), else
//! UTF-8 (Directo's documented encoding, wiki `en/xmlcore`). Bytes that are not UTF-8 in an
//! undeclared answer stay a per-record error.

use directo_client::{Customer, Error, Query, RecordReader};
use futures::StreamExt;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{PATH, client, fixture};

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// "Tõnu Ülemiste OÜ" in windows-1257: õ = 0xF5, Ü = 0xDC.
const TONU_1257: &[u8] = b"T\xF5nu \xDClemiste O\xDC";

fn body_1257(declaration: bool) -> Vec<u8> {
    let mut b = Vec::new();
    if declaration {
        b.extend_from_slice(br#"<?xml version="1.0" encoding="windows-1257"?>"#);
    }
    b.extend_from_slice(br#"<transport><customers><customer code="W1" name=""#);
    b.extend_from_slice(TONU_1257);
    b.extend_from_slice(br#""/><customer code="W2" name="Mari"/></customers></transport>"#);
    b
}

async fn read_from(body: Vec<u8>, content_type: &str) -> Vec<Result<Customer, Error>> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(body_string_contains("what=customer"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", content_type)
                .set_body_bytes(body),
        )
        .expect(1)
        .mount(&server)
        .await;
    client(&server).customers(Query::new()).collect().await
}

fn names(read: &[Result<Customer, Error>]) -> Vec<String> {
    read.iter()
        .map(|r| match r {
            Ok(c) => c.name.clone().unwrap_or_default(),
            Err(e) => format!("error: {e}"),
        })
        .collect()
}

#[test]
fn a_declared_windows_1257_document_is_decoded_by_the_sync_reader() {
    let read: Vec<Customer> =
        RecordReader::new(&fixture_bytes("customers_windows1257.xml")[..], "customer")
            .collect::<Result<_, _>>()
            .unwrap();
    assert_eq!(read[0].name.as_deref(), Some("Tõnu Ülemiste OÜ"));
    let _ = fixture("customers.xml");
}

#[tokio::test]
async fn the_declaration_is_decoded_whatever_the_http_charset_says() {
    for ct in ["text/xml", "text/xml; charset=utf-8", "text/html"] {
        let read = read_from(body_1257(true), ct).await;
        assert_eq!(names(&read), ["Tõnu Ülemiste OÜ", "Mari"], "{ct}");
    }
}

#[tokio::test]
async fn without_a_declaration_the_http_charset_is_decoded() {
    for ct in [
        "text/xml; charset=windows-1257",
        "text/xml; Charset=\"Windows-1257\"",
    ] {
        let read = read_from(body_1257(false), ct).await;
        assert_eq!(names(&read), ["Tõnu Ülemiste OÜ", "Mari"], "{ct}");
    }
}

#[tokio::test]
async fn undeclared_bad_bytes_stay_one_records_error() {
    let read = read_from(body_1257(false), "text/xml").await;
    assert_eq!(read.len(), 2);
    assert!(
        matches!(&read[0], Err(e @ Error::Record { .. }) if e.is_record_scoped()),
        "{:?}",
        read[0]
    );
    assert_eq!(read[1].as_ref().unwrap().name.as_deref(), Some("Mari"));
}

#[tokio::test]
async fn an_unknown_encoding_is_refused_whole() {
    let mut body = br#"<?xml version="1.0" encoding="x-klingon"?>"#.to_vec();
    body.extend_from_slice(&body_1257(false));
    let read = read_from(body, "text/xml").await;
    assert!(
        matches!(&read[..], [Err(Error::UnsupportedEncoding(l))] if l == "x-klingon"),
        "{read:?}"
    );
    let read = read_from(body_1257(false), "text/xml; charset=x-klingon").await;
    assert!(
        matches!(&read[..], [Err(Error::UnsupportedEncoding(_))]),
        "{read:?}"
    );
}
