//! Checks made before sending, each from its source: a new customer carries `email` or
//! `regno` (Directo: "Missing customer email or reg.no"); the lengths the input schemas
//! document in their comments (`code` 32, `country` 2, …); document numbers are integers up
//! to 2147483647 (wiki `en/xmlcore`); contacts carry `customername` / `suppliername`.

use directo_client::{
    Contact, Customer, Error, Invoice, PutMode, Receipt, ReceiptRow, Record, RecordReader, Target,
};

use crate::common::{accepting, client, failed, form_field};

fn refused(out: &directo_client::PutOutcome) -> String {
    match out.result.as_ref() {
        Err(e) => match failed(e) {
            Error::InvalidInput(m) => m.clone(),
            other => panic!("{other:?}"),
        },
        Ok(r) => panic!("sent: {r:?}"),
    }
}

#[tokio::test]
async fn a_new_customer_may_carry_regno_instead_of_email() {
    let server = accepting().await;
    let mut by_regno = Customer::new("C1");
    by_regno.regno = Some("12345678".into());
    let neither = Customer::new("C2");
    let out = client(&server)
        .put(&[by_regno, neither], PutMode::Create)
        .await;
    assert!(out[0].is_ok(), "{:?}", out[0]);
    let msg = refused(&out[1]);
    assert!(msg.contains("email") && msg.contains("regno"), "{msg}");
    let got = server.received_requests().await.unwrap();
    assert_eq!(got.len(), 1);
    let xml = form_field(&got[0], "xmldata").unwrap();
    assert!(
        xml.contains(r#"<customer code="C1" regno="12345678">"#),
        "{xml}"
    );
    assert!(!xml.contains("C2"));
}

#[tokio::test]
async fn documented_lengths_are_checked_before_sending() {
    let server = accepting().await;
    let mut long_code = Customer::new("C".repeat(33));
    long_code.email = Some("a@b.ee".into());
    let mut country = Customer::new("C2");
    country.email = Some("a@b.ee".into());
    country.country = Some("EST".into());
    let mut fits = Customer::new("Õ".repeat(32)); // 32 characters, 64 bytes
    fits.email = Some("a@b.ee".into());
    fits.country = Some("EE".into());
    let out = client(&server)
        .put(&[long_code, country, fits], PutMode::Create)
        .await;
    let msg = refused(&out[0]);
    assert!(msg.contains("code") && msg.contains("32"), "{msg}");
    let msg = refused(&out[1]);
    assert!(msg.contains("country") && msg.contains('2'), "{msg}");
    assert!(out[2].is_ok(), "{:?}", out[2]);
    let got = server.received_requests().await.unwrap();
    assert_eq!(got.len(), 1);
    assert!(!form_field(&got[0], "xmldata").unwrap().contains("EST"));
    // A datafield's content: 2000 documented.
    let target = Target::of("customer").unwrap();
    let mut r = Record::new("customer")
        .attr("code", "C3")
        .attr("email", "a@b.ee");
    let mut fields = Record::new("datafields");
    fields.children.push(
        Record::new("data")
            .attr("code", "X")
            .attr("content", "x".repeat(2001)),
    );
    r.children.push(fields);
    let out = client(&server)
        .put_records(&target, &[r], PutMode::Create)
        .await;
    let msg = refused(&out[0]);
    assert!(msg.contains("content") && msg.contains("2000"), "{msg}");
}

#[tokio::test]
async fn document_numbers_stop_at_2147483647() {
    let server = accepting().await;
    let client = client(&server);
    let invoice = |n| Invoice {
        number: Some(n),
        ..Default::default()
    };
    let out = client
        .put(
            &[invoice(2_147_483_648), invoice(2_147_483_647)],
            PutMode::Create,
        )
        .await;
    let msg = refused(&out[0]);
    assert!(msg.contains("2147483647"), "{msg}");
    assert!(out[1].is_ok(), "{:?}", out[1]);
    let receipt = Receipt {
        number: Some(3_000_000_000),
        rows: vec![ReceiptRow {
            invoice: Some(1),
            ..Default::default()
        }],
        ..Default::default()
    };
    let out = client.put(&[receipt], PutMode::Create).await;
    assert!(out[0].result.is_err());
    // A generic record of a known target: not a number at all.
    let target = Target::of("order").unwrap();
    let out = client
        .put_records(
            &target,
            &[Record::new("order").attr("number", "A-1")],
            PutMode::Create,
        )
        .await;
    assert!(refused(&out[0]).contains("number"));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[test]
fn contacts_carry_customername_and_suppliername() {
    let xml = r#"<transport><contacts><contact code="7" customercode="C1" customername="Mari OÜ" suppliercode="S1" suppliername="Tarnija AS" name="Mari"/></contacts></transport>"#;
    let c: Vec<Contact> = RecordReader::new(xml.as_bytes(), "contact")
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(c[0].customername.as_deref(), Some("Mari OÜ"));
    assert_eq!(c[0].suppliername.as_deref(), Some("Tarnija AS"));
    assert!(c[0].extra.is_empty(), "{:?}", c[0].extra);
    use directo_client::ToRecord;
    let r = c[0].to_record();
    assert_eq!(r.get("customername"), Some("Mari OÜ"));
    assert_eq!(r.get("suppliername"), Some("Tarnija AS"));
}

/// Messages name the fields in words, never as a Debug dump of a list.
#[tokio::test]
async fn refusals_name_the_fields_without_debug_dumps() {
    use directo_client::{Auth, Client, Customer, Error, ItemError, PutMode};
    let client = Client::builder(Auth::token("t"))
        .base_url("http://127.0.0.1:9/xmlcore.asp")
        .allow_http(true)
        .build()
        .unwrap();
    let mut c = Customer::new("C1");
    c.email = Some("c1@example.ee".into());
    c.vatzone = Some(1);
    c.country = Some("EE".into());
    let out = client.put(&[c.clone()], PutMode::CustomerUpdate).await;
    let Some(ItemError::Failed(e)) = out[0].error() else {
        panic!("{out:?}")
    };
    let Error::InvalidInput(msg) = &**e else {
        panic!("{e:?}")
    };
    assert!(msg.contains("country, vatzone would be ignored"), "{msg}");
    let out = client.put(&[c], PutMode::Update).await;
    let msg = out[0].error().unwrap().to_string();
    assert!(
        msg.contains("leaves out ") && msg.contains(" and "),
        "{msg}"
    );
    assert!(!msg.contains("[\"") && !msg.contains("\"]"), "{msg}");
}
