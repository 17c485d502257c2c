//! Deleting documents: `<receipts><receipt number="…" delete="1"/></receipts>` as the Go
//! client used live against XML Direct sends it (qbitsoftware/accounting-service
//! `directo/payments.go`, `DeletePayment`), where the input schema allows it: receipts (the
//! Go client's live use) and components without a vendored schema; never customers or items,
//! whose input schemas (xml_IN_kliendid.xsd, xml_IN_artiklid.xsd) have no such attribute.

use directo_client::{Error, PutMode, Record, Target};
use wiremock::MockServer;

use crate::common::{answering_puts, client, failed, form_field};

async fn server() -> MockServer {
    answering_puts(
        r#"<results><Result Type="0" Desc="Deleted"/><Result Type="0" Desc="Deleted"/></results>"#,
    )
    .await
}

#[tokio::test]
async fn a_receipt_delete_is_the_go_clients_shape() {
    let server = server().await;
    let client = client(&server);
    let out = client
        .delete(&Target::of("receipt").unwrap(), &["77", "78"])
        .await;
    assert!(out.iter().all(|o| o.is_ok()), "{out:?}");
    assert_eq!(out[1].key.as_deref(), Some("78"));
    let got = server.received_requests().await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(form_field(&got[0], "put").as_deref(), Some("1"));
    assert_eq!(form_field(&got[0], "what").as_deref(), Some("receipt"));
    assert_eq!(form_field(&got[0], "xd_update"), None);
    assert!(
        form_field(&got[0], "xmldata").unwrap().ends_with(
            r#"<receipts><receipt number="77" delete="1"/><receipt number="78" delete="1"/></receipts>"#
        ),
        "{:?}",
        form_field(&got[0], "xmldata")
    );
    // Components without a vendored schema: by their key too.
    let _ = client
        .delete(&Target::of("invoice").unwrap(), &["1001"])
        .await;
    let got = server.received_requests().await.unwrap();
    assert!(
        form_field(&got[1], "xmldata")
            .unwrap()
            .ends_with(r#"<invoices><invoice number="1001" delete="1"/></invoices>"#)
    );
}

#[tokio::test]
async fn customers_and_items_cannot_be_deleted_nor_bad_keys_sent() {
    let server = server().await;
    let client = client(&server);
    for what in ["customer", "item"] {
        let out = client.delete(&Target::of(what).unwrap(), &["C1"]).await;
        let err = out[0].result.as_ref().unwrap_err();
        assert!(
            matches!(failed(err), Error::InvalidInput(m) if m.contains("delete") && m.contains(".xsd")),
            "{err:?}"
        );
    }
    // A delete carries its key and nothing else; a receipt number is a document number.
    let out = client
        .delete(&Target::of("receipt").unwrap(), &["", "2147483648"])
        .await;
    assert!(out.iter().all(|o| o.result.is_err()), "{out:?}");
    let extra = Record::new("receipt")
        .attr("number", "5")
        .attr("delete", "1")
        .attr("date", "2026-01-01T00:00:00");
    let out = client
        .put_records(&Target::of("receipt").unwrap(), &[extra], PutMode::Create)
        .await;
    assert!(out[0].result.is_err());
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[cfg(feature = "fake")]
#[tokio::test]
async fn the_fake_deletes_what_it_holds_and_refuses_a_confirmed_one() {
    use directo_client::ItemError;
    use directo_client::fake::FakeDirecto;
    let fake = FakeDirecto::start().await;
    let post = |xml: &'static str| {
        let url = fake.base_url();
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&[
                    ("token", FakeDirecto::TOKEN),
                    ("put", "1"),
                    ("what", "receipt"),
                    ("xmldata", xml),
                ])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let types = |body: &str| -> Vec<i32> {
        directo_client::parse_put_results(body.as_bytes())
            .unwrap()
            .iter()
            .map(|r| r.code.unwrap())
            .collect()
    };
    let created = post(r#"<receipts><receipt number="1"><rows><row invoice="10"/></rows></receipt><receipt number="2" confirm="1"><rows><row invoice="11"/></rows></receipt></receipts>"#).await;
    assert_eq!(types(&created), [0, 0]);
    // 19 "Removal not allowed" for the confirmed one, 31 for one that is not there (the
    // result code table, wiki en/xml_direct/alustamine/vastused_ja_veakoodid).
    let deleted = post(r#"<receipts><receipt number="1" delete="1"/><receipt number="2" delete="1"/><receipt number="3" delete="1"/></receipts>"#).await;
    assert_eq!(types(&deleted), [0, 19, 31], "{deleted}");
    let left: Vec<_> = fake
        .records("receipt")
        .iter()
        .map(|r| r.get("number").unwrap().to_string())
        .collect();
    assert_eq!(left, ["2"]);
    // Through the client.
    let out = fake
        .client()
        .delete(&Target::of("receipt").unwrap(), &["2"])
        .await;
    assert!(
        matches!(
            out[0].error(),
            Some(ItemError::Rejected { code: Some(19), .. })
        ),
        "{out:?}"
    );
}
