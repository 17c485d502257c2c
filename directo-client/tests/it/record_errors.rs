//! One bad record is that record's error, not the whole read's: invalid UTF-8 or a value that
//! does not fit its typed field yields [`Error::Record`] for that record and the stream goes
//! on; only structural breakage ends a read.

use directo_client::{Customer, Error, Query, Receipt, Record, RecordReader};
use futures::StreamExt;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Three customers; the second has the byte 0xFF inside its `name`.
fn invalid_utf8_body() -> (Vec<u8>, u64) {
    let mut body = br#"<?xml version="1.0" encoding="UTF-8"?><transport><customers><customer code="A" name="Ann"/><customer code="B" name="B"#.to_vec();
    let at = body.len() as u64;
    body.push(0xFF);
    body.extend_from_slice(
        br#"rt"/><customer code="C" name="Cecilia" email="c@example.ee"/></customers></transport>"#,
    );
    (body, at)
}

fn assert_record_error(item: &Result<Customer, Error>, n: u64, code: &str, field: &str) -> u64 {
    match item {
        Err(
            e @ Error::Record {
                record,
                code: c,
                field: f,
                offset,
                ..
            },
        ) => {
            assert!(e.is_record_scoped());
            assert_eq!(*record, n, "{e}");
            assert_eq!(c.as_deref(), Some(code), "{e}");
            assert_eq!(f.as_deref(), Some(field), "{e}");
            *offset
        }
        other => panic!("expected a record error, got {other:?}"),
    }
}

#[test]
fn invalid_utf8_fails_one_record_and_the_read_goes_on() {
    let (body, at) = invalid_utf8_body();
    let items: Vec<Result<Customer, Error>> = RecordReader::new(&body[..], "customer").collect();
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().code, "A");
    let offset = assert_record_error(&items[1], 2, "B", "name");
    assert_eq!(offset, at, "the offset of the bad byte in the body");
    let c = items[2].as_ref().unwrap();
    assert_eq!((c.code.as_str(), c.email()), ("C", Some("c@example.ee")));
    let text = items[1].as_ref().unwrap_err().to_string();
    assert!(
        text.starts_with(r#"field "name" cannot be decoded: invalid UTF-8 (byte 0xFF)"#),
        "{text}"
    );
    assert!(text.contains(r#"code "B""#), "{text}");
}

#[tokio::test]
async fn invalid_utf8_over_http_fails_one_record_and_the_stream_goes_on() {
    let (body, at) = invalid_utf8_body();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
        .expect(1)
        .mount(&server)
        .await;
    let client = crate::common::client(&server);
    let items: Vec<Result<Customer, Error>> = client.customers(Query::new()).collect().await;
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(items[0].is_ok() && items[2].is_ok());
    assert_eq!(assert_record_error(&items[1], 2, "B", "name"), at);
}

#[test]
fn a_value_that_does_not_fit_its_field_fails_that_record_only() {
    let body = br#"<transport><customers>
        <customer code="A" balance="1.50"/>
        <customer code="B" balance="12,50" name="Bert"/>
        <customer code="C" closed="yes"/>
        <customer code="D" ts="yesterday"/>
        <customer code="E" vatregion="EU"/>
        <customer code="F"/>
    </customers></transport>"#;
    let items: Vec<Result<Customer, Error>> = RecordReader::new(&body[..], "customer").collect();
    assert_eq!(items.len(), 6);
    assert!(items[0].is_ok());
    assert_record_error(&items[1], 2, "B", "balance");
    assert_record_error(&items[2], 3, "C", "closed");
    assert_record_error(&items[3], 4, "D", "ts");
    // The output name of `vatzone`.
    assert_record_error(&items[4], 5, "E", "vatregion");
    assert_eq!(items[5].as_ref().unwrap().code, "F");
    let reason = items[1].as_ref().unwrap_err().to_string();
    assert!(
        reason.contains(r#""12,50" is not a decimal number"#),
        "{reason}"
    );
    // The generic record keeps every value verbatim: nothing fails.
    let records: Vec<Record> = RecordReader::new(&body[..], "customer")
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(records[1].get("balance"), Some("12,50"));
}

#[test]
fn a_bad_value_in_a_nested_row_names_its_path() {
    let body = br#"<transport><receipts>
        <receipt number="1"><rows><row invoice="10" received="5"/><row invoice="11" received="x"/></rows></receipt>
        <receipt number="2"><rows><row invoice="12" received="7"/></rows></receipt>
    </receipts></transport>"#;
    let items: Vec<Result<Receipt, Error>> = RecordReader::new(&body[..], "receipt").collect();
    assert_eq!(items.len(), 2);
    match &items[0] {
        Err(Error::Record { code, field, .. }) => {
            assert_eq!(code.as_deref(), Some("1"));
            assert_eq!(field.as_deref(), Some("rows/row[2]/@received"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(items[1].as_ref().unwrap().rows[0].received, Some(7.into()));
}

#[test]
fn a_record_whose_name_is_damaged_is_a_record_error_not_a_silent_skip() {
    let mut body = b"<transport><customers><customer code=\"A\"/><custo".to_vec();
    body.push(0xFF);
    body.extend_from_slice(b"mer code=\"B\"/><customer code=\"C\"/></customers></transport>");
    let items: Vec<Result<Customer, Error>> = RecordReader::new(&body[..], "customer").collect();
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(matches!(&items[1], Err(Error::Record { record: 2, code: Some(c), .. }) if c == "B"));
    assert_eq!(items[2].as_ref().unwrap().code, "C");
}

#[test]
fn structural_breakage_still_ends_the_read() {
    // Truncated in the middle of a record.
    let body = br#"<transport><customers><customer code="A"/><customer code="B" name="x"#;
    let items: Vec<Result<Customer, Error>> = RecordReader::new(&body[..], "customer").collect();
    assert_eq!(items.len(), 2);
    let err = items[1].as_ref().unwrap_err();
    assert!(!err.is_record_scoped(), "{err:?}");
    // A mismatched end tag.
    let body = br#"<transport><customers><customer code="A"></x></customers></transport>"#;
    let items: Vec<Result<Customer, Error>> = RecordReader::new(&body[..], "customer").collect();
    assert!(
        matches!(items.last(), Some(Err(Error::Xml { .. }))),
        "{items:?}"
    );
    // The parser's message is in the error's own: said once, not also as its `source`.
    let err = items.last().unwrap().as_ref().unwrap_err();
    assert!(err.to_string().contains("</x>"), "{err}");
    assert!(std::error::Error::source(err).is_none());
}
