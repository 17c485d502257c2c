//! The transport parameters (wiki en/xml_direct/alustamine/tehnilised_nouded) as a typed
//! choice, what each sends, and what the client refuses before sending; the typed records
//! write only what the caller set.

use directo_client::{Customer, Error, Invoice, PutMode, Record, Target, ToRecord};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{client, failed};

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(
                r#"<results><Result Type="30" Desc="Updated" docid="C1"/></results>"#,
            ),
        )
        .mount(&server)
        .await;
    server
}

fn params(req: &wiremock::Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .filter(|(k, _)| k.starts_with("xd_"))
        .collect()
}

fn mail(code: &str) -> Customer {
    let mut c = Customer::new(code);
    c.email = Some("a@b.ee".into());
    c
}

#[tokio::test]
async fn each_mode_sends_its_documented_parameters() {
    let server = server().await;
    let client = client(&server);
    let invoice = Invoice {
        number: Some(1),
        ..Default::default()
    };
    let _ = client.put(&[mail("C1")], PutMode::Create).await;
    let _ = client.put(&[mail("C1")], PutMode::Replace).await;
    let _ = client.put(&[invoice], PutMode::UpdateConfirmed).await;
    let _ = client.put(&[mail("C1")], PutMode::CustomerUpdate).await;
    let supplier = Record::new("supplier")
        .attr("code", "S1")
        .attr("email", "s@b.ee");
    let _ = client
        .put_records(
            &Target::new("supplier", "suppliers", "supplier"),
            &[supplier],
            PutMode::SupplierUpdate,
        )
        .await;
    let sent: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(params)
        .collect();
    let pair = |k: &str| (k.to_string(), "1".to_string());
    assert_eq!(
        sent,
        [
            vec![],
            vec![pair("xd_update")],
            vec![pair("xd_update"), pair("xd_updateconfirmed")],
            vec![pair("xd_customer_update")],
            vec![pair("xd_supplier_update")],
        ]
    );
}

#[tokio::test]
async fn modes_that_do_not_apply_are_refused_before_sending() {
    let server = server().await;
    let client = client(&server);
    // xd_updateconfirmed: order, invoice, purchaseorder, stockreceipt only.
    let out = client
        .put(&[mail("C1"), mail("C2")], PutMode::UpdateConfirmed)
        .await;
    assert_eq!(out.len(), 2, "one outcome per document");
    for o in &out {
        let err = failed(o.error().unwrap());
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    }
    let out = client
        .put(&[Invoice::default()], PutMode::CustomerUpdate)
        .await;
    let err = failed(out[0].error().unwrap());
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    // A partial customer update changes name, email and phone only: anything else would be
    // ignored by Directo, so it is refused.
    let mut c = mail("C1");
    c.vatzone = Some(1);
    let out = client.put(&[c, mail("C2")], PutMode::CustomerUpdate).await;
    let err = out[0].result.as_ref().unwrap_err();
    assert!(
        matches!(*failed(err), Error::InvalidInput(ref m) if m.contains("vatzone")),
        "{err:?}"
    );
    assert!(out[1].result.is_ok());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_customer_create_needs_its_email_an_update_does_not() {
    let server = server().await;
    let client = client(&server);
    let out = client.put(&[Customer::new("C1")], PutMode::Create).await;
    let err = out[0].result.as_ref().unwrap_err();
    assert!(
        matches!(*failed(err), Error::InvalidInput(ref m) if m.contains("email")),
        "{err:?}"
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing sent"
    );
    let out = client.put(&[Customer::new("C1")], PutMode::Replace).await;
    assert!(out[0].result.is_ok());
}

#[test]
fn typed_records_write_only_what_was_set_under_input_names() {
    let r = Customer::new("C1").to_record();
    assert_eq!(r.attrs.len(), 1, "only the code: {r:?}");
    let mut c = Customer::new("C1");
    c.closed = Some(false);
    c.vatzone = Some(2);
    c.balance = Some(3.into());
    c.creditbalance = Some(4.into());
    c.ts = Some("2026-01-01T00:00:00".parse().unwrap());
    c.extra.insert("pricelist".into(), "A".into());
    let r = c.to_record();
    let names: Vec<_> = r.attrs.keys().map(String::as_str).collect();
    assert_eq!(names, ["code", "vatzone", "closed"]);
    let invoice = Invoice {
        number: Some(7),
        ts: Some("2026-01-01T00:00:00".parse().unwrap()),
        ..Default::default()
    };
    assert!(invoice.to_record().get("ts").is_none(), "ts is output only");
}

#[tokio::test]
async fn a_generic_record_with_an_attribute_outside_the_schema_is_refused() {
    let server = server().await;
    let client = client(&server);
    let target = Target::of("customer").unwrap();
    let bad = Record::new("customer")
        .attr("code", "C1")
        .attr("email", "a@b.ee")
        .attr("vatregion", "1");
    let out = client.put_records(&target, &[bad], PutMode::Create).await;
    let err = out[0].result.as_ref().unwrap_err();
    assert!(
        matches!(*failed(err), Error::InvalidInput(ref m) if m.contains("vatregion")),
        "{err:?}"
    );
    let wrong_element = Record::new("klient").attr("code", "C1");
    let out = client
        .put_records(&target, &[wrong_element], PutMode::Update)
        .await;
    assert!(out[0].result.is_err());
    let session = Record::new("customer")
        .attr("code", "C1")
        .attr("session_id", "x");
    let out = client
        .put_records(&target, &[session], PutMode::Update)
        .await;
    assert!(out[0].result.is_err());
    assert!(server.received_requests().await.unwrap().is_empty());
    // A component that is not in the table needs its names.
    assert!(Target::of("project").is_err());
}

/// What a Smaily → Directo e-mail write-back needs: change one customer's e-mail, nothing
/// else, answered "30 Updated".
#[cfg(feature = "fake")]
#[tokio::test]
async fn a_partial_customer_update_changes_the_email_only() {
    let fake = directo_client::fake::FakeDirecto::start().await;
    let mut c = mail("C1");
    c.name = Some("Mari".into());
    c.vatzone = Some(1);
    fake.seed_customers([c]);
    let mut update = Customer::new("C1");
    update.email = Some("new@b.ee".into());
    let out = fake.client().put(&[update], PutMode::CustomerUpdate).await;
    let result = out[0].result.as_ref().unwrap();
    assert_eq!(result.code, Some(30));
    assert!(result.is_success());
    let stored = &fake.customers()[0];
    assert_eq!(
        (
            stored.email.as_deref(),
            stored.name.as_deref(),
            stored.vatzone
        ),
        (Some("new@b.ee"), Some("Mari"), Some(1))
    );
}
