//! The client against the stateful fake: request shapes asserted server-side, `ts`
//! filtering, streaming, puts, every error form the fake produces, retries and faults.

#![cfg(feature = "fake")]

use crate::common::{answer, failed};
use directo_client::fake::{DropPoint, Envelope, FakeDirecto, FakeService};
use directo_client::{
    Auth, Client, Customer, Error, Item, ItemError, PutMode, PutOutcome, PutStatus, Query,
    ReadMethod, Record, RetryPolicy,
};
use futures::{StreamExt, TryStreamExt};
use jiff::civil::date;

fn customer(code: &str, ts: jiff::civil::DateTime) -> Customer {
    let mut c = Customer::new(code);
    c.name = Some(format!("Name {code}"));
    c.email = Some(format!("{}@example.ee", code.to_lowercase()));
    c.ts = Some(ts);
    c
}

fn seeded(fake: &FakeDirecto) {
    fake.seed_customers([
        customer("OLD", date(2025, 12, 31).at(23, 59, 0, 0)),
        customer("MORNING", date(2026, 1, 12).at(8, 0, 0, 0)),
        customer("NOON", date(2026, 1, 12).at(12, 0, 0, 0)),
    ]);
}

async fn codes(client: &Client, query: Query) -> Vec<String> {
    client
        .customers(query)
        .map_ok(|c| c.code)
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn ts_filter_by_date_and_by_date_time() {
    let fake = FakeDirecto::start().await;
    seeded(&fake);
    let client = fake.client();
    assert_eq!(
        codes(&client, Query::new().since(date(2026, 1, 12))).await,
        ["MORNING", "NOON"]
    );
    assert_eq!(
        codes(
            &client,
            Query::new().since(date(2026, 1, 12).at(9, 30, 0, 0))
        )
        .await,
        ["NOON"]
    );
    // The boundary is inclusive (ts >= filter) in the fake.
    assert_eq!(
        codes(
            &client,
            Query::new().since(date(2026, 1, 12).at(12, 0, 0, 0))
        )
        .await,
        ["NOON"]
    );
    assert_eq!(codes(&client, Query::new()).await.len(), 3);
    let sent: Vec<Option<String>> = fake
        .xmlcore_requests()
        .iter()
        .map(|r| r.param("ts").map(str::to_string))
        .collect();
    assert_eq!(
        sent,
        [
            Some("12.01.2026".to_string()),
            Some("12.01.2026 09:30".into()),
            Some("12.01.2026 12:00".into()),
            None
        ]
    );
}

#[tokio::test]
async fn post_read_shape_secret_only_in_the_body() {
    let fake = FakeDirecto::start().await;
    seeded(&fake);
    let client = fake.client();
    let got = codes(
        &client,
        Query::new().filter("code", "NOON").since(date(2026, 1, 1)),
    )
    .await;
    assert_eq!(got, ["NOON"]);
    let req = &fake.xmlcore_requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/xmlcore/cap_xml_direct/xmlcore.asp");
    assert_eq!(
        req.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let pairs = |v: &[(String, String)]| {
        v.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        pairs(&req.query),
        ["get=1", "what=customer", "code=NOON", "ts=01.01.2026"]
    );
    assert_eq!(
        pairs(&req.form),
        [
            format!("token={}", FakeDirecto::TOKEN),
            "get=1".into(),
            "what=customer".into(),
            "code=NOON".into(),
            "ts=01.01.2026".into()
        ]
    );
}

#[tokio::test]
async fn post_body_only_when_configured() {
    let fake = FakeDirecto::start().await;
    seeded(&fake);
    let client = Client::builder(Auth::token(FakeDirecto::TOKEN))
        .base_url(fake.base_url())
        .allow_http(true)
        .routing_in_query(false)
        .build()
        .unwrap();
    assert_eq!(codes(&client, Query::new()).await.len(), 3);
    let req = &fake.xmlcore_requests()[0];
    assert!(req.query.is_empty());
    assert_eq!(req.param("what"), Some("customer"));
}

#[tokio::test]
async fn legacy_get_with_appkey_puts_everything_in_the_query() {
    let fake = FakeDirecto::start().await;
    seeded(&fake);
    let client = Client::builder(Auth::app_key(FakeDirecto::APP_KEY))
        .base_url(fake.legacy_url())
        .allow_http(true)
        .read_method(ReadMethod::Get)
        .build()
        .unwrap();
    assert_eq!(
        codes(&client, Query::new().since(date(2026, 1, 12))).await,
        ["MORNING", "NOON"]
    );
    let req = &fake.xmlcore_requests()[0];
    assert_eq!(req.method, "GET");
    assert!(req.form.is_empty());
    let q: Vec<(&str, &str)> = req
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        q,
        [
            ("get", "1"),
            ("what", "customer"),
            ("ts", "12.01.2026"),
            ("key", FakeDirecto::APP_KEY)
        ]
    );
}

#[tokio::test]
async fn wrong_and_missing_credentials_are_typed_errors_without_the_secret() {
    let fake = FakeDirecto::start().await;
    seeded(&fake);
    let client = Client::builder(Auth::token("wrong-secret-value"))
        .base_url(fake.base_url())
        .allow_http(true)
        .build()
        .unwrap();
    let err = client
        .customers(Query::new())
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { ref desc } if desc == "Unauthorized"),
        "{err:?}"
    );
    for text in [format!("{err}"), format!("{err:?}"), format!("{client:?}")] {
        assert!(!text.contains("wrong-secret-value"), "{text}");
    }
    fake.reply_next(
        1,
        200,
        "text/xml; charset=utf-8",
        "<err>token required</err>",
    );
    let err = fake
        .client()
        .customers(Query::new())
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, Error::Api { code: None, ref desc } if desc == "token required"),
        "{err:?}"
    );
}

#[tokio::test]
async fn reads_retry_transient_failures_with_exact_hit_counts() {
    let fake = FakeDirecto::start().await;
    seeded(&fake);
    fake.fail_next(2, 503);
    assert_eq!(codes(&fake.client(), Query::new()).await.len(), 3);
    assert_eq!(fake.requests().len(), 3);

    fake.rate_limit_next(1, 0);
    assert_eq!(codes(&fake.client(), Query::new()).await.len(), 3);
    assert_eq!(fake.requests().len(), 5);

    // 400 is not transient: one attempt, a typed status error.
    fake.fail_next(1, 400);
    let err = fake
        .client()
        .customers(Query::new())
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport(marketing_sync_core::Error::Status { status: 400, .. })
        ),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 6);

    // More failures than retries: the last error comes back.
    fake.fail_next(4, 502);
    let err = fake
        .client()
        .customers(Query::new())
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(fake.requests().len(), 10);
}

#[tokio::test]
async fn a_cut_connection_mid_body_is_an_error_after_the_records_already_read() {
    let fake = FakeDirecto::start().await;
    fake.generate_customers(Some(2_000));
    fake.drop_next(1, DropPoint::AfterProcessing);
    let items: Vec<Result<Customer, Error>> = fake.client().customers(Query::new()).collect().await;
    let last = items.last().unwrap();
    assert!(last.is_err(), "must end with an error");
    let err = last.as_ref().unwrap_err();
    assert!(err.is_retryable(), "a cut body is transient: {err:?}");
    // A cut is a transport failure, under the suite's one name for it, saying why.
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(
        err.to_string().contains("error decoding response body")
            || err.to_string().contains("connection"),
        "{err}"
    );
    assert!(items.len() > 1 && items.len() < 2_000, "{}", items.len());
    assert!(items[..items.len() - 1].iter().all(Result::is_ok));
}

#[tokio::test]
async fn both_envelopes_and_empty_results() {
    let fake = FakeDirecto::start().await;
    seeded(&fake);
    fake.set_envelope(Envelope::NoContainer);
    assert_eq!(codes(&fake.client(), Query::new()).await.len(), 3);
    assert!(
        codes(&fake.client(), Query::new().since(date(2030, 1, 1)))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn streams_many_generated_customers() {
    let fake = FakeDirecto::start().await;
    fake.generate_customers(Some(20_000));
    let mut n = 0u64;
    let mut with_email = 0u64;
    let mut stream = std::pin::pin!(fake.client().customers(Query::new()));
    while let Some(c) = stream.try_next().await.unwrap() {
        n += 1;
        with_email += u64::from(c.email().is_some());
        assert_eq!(c.datafields.len(), 2);
        assert_eq!(c.extra.get("pricelist").map(String::as_str), Some("A"));
    }
    assert_eq!(n, 20_000);
    assert_eq!(with_email, 18_000);
}

#[tokio::test]
async fn customer_put_round_trips_with_escaping_and_update_mode() {
    let fake = FakeDirecto::start().await;
    let client = fake.client();
    let mut tom = Customer::new("TJ1");
    tom.name = Some(r#"Tom & "Jerry" <OÜ>"#.into());
    tom.email = Some("tom@example.ee".into());
    tom.comment = Some("line 1\nline 2\ttab".into());
    tom.customer_type = Some(0);
    let res = client.put(&[tom.clone()], PutMode::Create).await;
    assert_eq!(res.len(), 1);
    let result = res[0].result.as_ref().unwrap();
    assert_eq!(result.status, PutStatus::Ok);
    assert_eq!(result.docid.as_deref(), Some("TJ1"));

    let put = &fake.xmlcore_requests()[0];
    assert_eq!(put.method, "POST");
    assert_eq!(put.param("put"), Some("1"));
    assert_eq!(put.param("what"), Some("customer"));
    assert_eq!(put.param("xd_update"), None);
    assert!(
        put.query
            .iter()
            .all(|(k, _)| k != "xmldata" && k != "token")
    );
    let xml = put.param("xmldata").unwrap();
    assert!(
        xml.contains(r#"name="Tom &amp; &quot;Jerry&quot; &lt;OÜ&gt;""#),
        "{xml}"
    );
    assert!(
        xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><customers><customer code="TJ1""#)
    );

    let back: Vec<Customer> = client.customers(Query::new()).try_collect().await.unwrap();
    let mut expected = tom.clone();
    expected.ts = back[0].ts;
    // `type` is in the input schema only: stored, but not part of Directo's output.
    expected.customer_type = None;
    assert_eq!(back, [expected]);

    // A second create is a duplicate: a refusal of that document, never an `Ok`.
    let res = client.put(&[tom.clone()], PutMode::Create).await;
    assert!(!res[0].is_ok());
    let err = res[0].error().unwrap();
    assert!(
        matches!(err, ItemError::Rejected { code: Some(11), message, .. } if message == "Duplicate"),
        "{err:?}"
    );
    assert!(!err.is_retryable() && !err.provably_not_processed());
    assert_eq!(err.to_string(), "rejected by Directo (11): Duplicate");
    assert_eq!(answer(&res[0]).status, PutStatus::Duplicate);

    tom.phone = Some("+372 555".into());
    let res = client.put(&[tom], PutMode::Replace).await;
    assert!(res[0].is_ok());
    assert_eq!(
        fake.xmlcore_requests().last().unwrap().param("xd_update"),
        Some("1")
    );
    assert_eq!(fake.customers()[0].phone.as_deref(), Some("+372 555"));
}

#[tokio::test]
async fn puts_are_not_blindly_retried() {
    let fake = FakeDirecto::start().await;
    let client = fake.client();
    let a = customer("A", date(2026, 1, 1).at(0, 0, 0, 0));
    fake.fail_next(1, 503);
    let res = client.put(std::slice::from_ref(&a), PutMode::Create).await;
    let err = res[0].result.as_ref().unwrap_err();
    assert!(
        matches!(
            *failed(err),
            Error::Transport(marketing_sync_core::Error::Status { status: 503, .. })
        ),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1);
    assert!(fake.customers().is_empty());

    // 429 proves the request was not processed: retried.
    fake.rate_limit_next(1, 0);
    let res = client.put(&[a], PutMode::Create).await;
    assert!(res[0].is_ok());
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn put_answer_errors_are_typed() {
    let fake = FakeDirecto::start().await;
    let client = fake.client();
    let ts = date(2026, 1, 1).at(0, 0, 0, 0);
    fake.reply_next(
        1,
        200,
        "text/xml; charset=utf-8",
        r#"<result type="5" desc="Unauthorized"/>"#,
    );
    let res = client.put(&[customer("A", ts)], PutMode::Create).await;
    let err = res[0].result.as_ref().unwrap_err();
    assert!(
        matches!(*failed(err), Error::Unauthorized { .. }),
        "{err:?}"
    );
    fake.reply_next(1, 200, "text/xml; charset=utf-8", r#"<results><Result Type="30" Desc="Created" docid="7" doctype="ARVE" submit="Invoices"/><Result Type="14" Desc="Update not allowed"/></results>"#);
    let res = client
        .put(&[Customer::new("A"), Customer::new("B")], PutMode::Replace)
        .await;
    let status = |i: usize| answer(&res[i]).status;
    assert_eq!(status(0), PutStatus::OkLinked);
    assert!(res[0].is_ok());
    assert_eq!(status(1), PutStatus::UpdateNotAllowed);
    assert!(!res[1].is_ok());
    // A missing code is refused before anything is sent.
    let before = fake.requests().len();
    let res = client.put(&[Customer::new("")], PutMode::Replace).await;
    let err = res[0].result.as_ref().unwrap_err();
    assert!(matches!(*failed(err), Error::InvalidInput(_)), "{err:?}");
    assert_eq!(fake.requests().len(), before);
}

#[tokio::test]
async fn other_components_read_as_records_and_typed_items() {
    let fake = FakeDirecto::start().await;
    fake.seed_records(
        "item",
        [
            Record::new("item")
                .attr("code", "SKU1")
                .attr("name", "Õun")
                .attr("salesprice", "1.50")
                .attr("closed", "0")
                .attr("ts", "2026-01-12T10:00:00"),
            Record::new("item")
                .attr("code", "SKU2")
                .attr("closed", "1")
                .attr("ts", "2026-01-12T10:00:00"),
        ],
    );
    let items: Vec<Item> = fake
        .client()
        .read("item", Query::new().filter("closed", "0"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].name.as_deref(), Some("Õun"));
    assert_eq!(items[0].salesprice, Some("1.50".parse().unwrap()));
    let records: Vec<Record> = fake
        .client()
        .records("item", Query::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(fake.xmlcore_requests()[0].param("closed"), Some("0"));
}

#[tokio::test]
async fn invalid_ts_and_unknown_request_are_errors_from_the_fake() {
    let fake = FakeDirecto::start().await;
    let client = fake.client();
    let err = client
        .records("", Query::new())
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)));
    assert!(fake.xmlcore_requests().is_empty(), "caught before sending");
    let _ = RetryPolicy::none();
}

#[tokio::test]
async fn legacy_key_attribute_on_every_written_record() {
    let fake = FakeDirecto::start().await;
    let client = Client::builder(Auth::app_key(FakeDirecto::APP_KEY))
        .base_url(fake.legacy_url())
        .allow_http(true)
        .key_attribute("appkey")
        .build()
        .unwrap();
    let ts = date(2026, 1, 1).at(0, 0, 0, 0);
    let res = client
        .put(&[customer("A", ts), customer("B", ts)], PutMode::Create)
        .await;
    assert_eq!(res.len(), 2);
    assert!(res.iter().all(PutOutcome::is_ok), "{res:?}");
    let put = &fake.puts()[0];
    assert_eq!(
        put.xmldata
            .matches(&format!(r#"appkey="{}""#, FakeDirecto::APP_KEY))
            .count(),
        2
    );
    let req = &fake.xmlcore_requests()[0];
    assert!(
        req.query.iter().all(|(_, v)| v != FakeDirecto::APP_KEY),
        "never in the URL"
    );
    assert!(!format!("{client:?}").contains(FakeDirecto::APP_KEY));
}

#[tokio::test]
async fn invoices_orders_and_receipts_are_written_from_typed_values() {
    use directo_client::{Invoice, InvoiceRow, Order, OrderRow, Receipt, ReceiptRow};
    let fake = FakeDirecto::start().await;
    let client = fake.client();
    let invoice = Invoice {
        number: Some(1001),
        customercode: Some("C1".into()),
        customername: Some(r#"Tom & "Jerry" <OÜ>"#.into()),
        date: Some(date(2026, 6, 11)),
        confirm: Some(true),
        rows: vec![InvoiceRow {
            item: Some("SKU-1".into()),
            quantity: Some(2.into()),
            price: Some("9.90".parse().unwrap()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let res = client
        .put(std::slice::from_ref(&invoice), PutMode::Create)
        .await;
    let result = res[0].result.as_ref().unwrap();
    assert_eq!(result.status, PutStatus::Ok);
    assert_eq!(result.doctype.as_deref(), Some("INVOICE"));
    let put = &fake.puts()[0];
    assert_eq!(put.what, "invoice");
    assert_eq!(
        put.xmldata,
        r#"<?xml version="1.0" encoding="UTF-8"?><invoices><invoice number="1001" customercode="C1" customername="Tom &amp; &quot;Jerry&quot; &lt;OÜ&gt;" date="2026-06-11" confirm="1"><rows><row item="SKU-1" quantity="2" price="9.90"/></rows></invoice></invoices>"#
    );
    // What the fake stored parses back into the same invoice (plus Directo's own `ts`
    // and `confirmed`).
    let stored = fake.records("invoice");
    let mut back = <Invoice as directo_client::FromRecord>::from_record(stored[0].clone()).unwrap();
    assert!(back.ts.is_some());
    assert_eq!(back.extra.get("confirmed").map(String::as_str), Some("1"));
    back.ts = None;
    back.extra.clear();
    assert_eq!(back, invoice);

    let order = Order {
        number: Some(5),
        customercode: Some("C1".into()),
        rows: vec![OrderRow {
            item: Some("SKU-2".into()),
            quantity: Some(1.into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let receipt = Receipt {
        number: Some(77),
        date: Some(date(2026, 6, 11).at(0, 0, 0, 0)),
        confirm: Some(true),
        rows: vec![ReceiptRow {
            invoice: Some(1001),
            customer: Some("C1".into()),
            payment: Some("19.80".parse().unwrap()),
            ..Default::default()
        }],
        ..Default::default()
    };
    assert!(client.put(&[order], PutMode::Create).await[0].is_ok());
    assert!(client.put(&[receipt], PutMode::Replace).await[0].is_ok());
    let puts = fake.puts();
    assert_eq!(puts[1].what, "order");
    assert!(puts[1].xmldata.contains(r#"<orders><order number="5" customercode="C1"><rows><row item="SKU-2" quantity="1"/></rows></order></orders>"#));
    assert_eq!(puts[2].what, "receipt");
    assert!(puts[2].update);
    assert!(puts[2].xmldata.contains(r#"<receipt number="77" date="2026-06-11T00:00:00" confirm="1"><rows><row invoice="1001" customer="C1" payment="19.80"/></rows></receipt>"#));
}
