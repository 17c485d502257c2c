//! Reads that are not the standard shape: a record element named apart from `what`, and
//! answers that are not Directo read answers at all (which must never read as "no records").

use directo_client::{Client, Error, Query, Record, RecordReader};
use futures::TryStreamExt;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::read_error;

async fn answering(status: u16, content_type: &str, body: &str) -> (MockServer, Client) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("content-type", content_type)
                .set_body_string(body),
        )
        .mount(&server)
        .await;
    let client = crate::common::client(&server);
    (server, client)
}

const EVENTS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><transport><events2><unasigned_event code="E1" name="Kick-off"/><unasigned_event code="E2" name="Fair"/></events2></transport>"#;

#[tokio::test]
async fn the_record_element_can_be_named_apart_from_what() {
    let (_server, client) = answering(200, "text/xml", EVENTS).await;
    let events: Vec<Record> = client
        .records("event2", Query::new().record_tag("unasigned_event"))
        .try_collect()
        .await
        .unwrap();
    let codes: Vec<_> = events.iter().filter_map(|e| e.get("code")).collect();
    assert_eq!(codes, ["E1", "E2"]);
}

#[tokio::test]
async fn records_under_another_name_are_an_error_not_an_empty_read() {
    let (_server, client) = answering(200, "text/xml", EVENTS).await;
    let err = client
        .records("event2", Query::new())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { found, .. } if found.contains("<unasigned_event>")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_html_page_answered_with_200_is_an_error_not_no_customers() {
    let pages = [
        // Well-formed (XHTML): parses, holds no customers, and is not a Directo answer.
        "<html><head><title>Maintenance</title></head><body><p>Back soon</p></body></html>",
        // A typical HTML page is not even XML.
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>502</title></head><body>Bad gateway<br></body></html>",
    ];
    for page in pages {
        let (_server, client) = answering(200, "text/html", page).await;
        let read = client.customers(Query::new()).try_collect::<Vec<_>>().await;
        assert!(read.is_err(), "{page}: {read:?}");
        assert!(!read.unwrap_err().is_record_scoped());
    }
}

#[tokio::test]
async fn an_empty_body_is_an_error_not_no_customers() {
    let (_server, client) = answering(200, "text/xml", "").await;
    let err = read_error(&client).await;
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[test]
fn known_empty_answers_are_empty() {
    for body in [
        "<transport/>",
        "<transport></transport>",
        "<transport><customers/></transport>",
        "<customers></customers>",
    ] {
        let read: Vec<Record> = RecordReader::new(body.as_bytes(), "customer")
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{body}: {e}"));
        assert!(read.is_empty(), "{body}");
    }
    // A bare root that is not a known container and holds no records is no answer.
    let err = RecordReader::<_, Record>::new(&b"<kliendid/>"[..], "customer")
        .next()
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}
