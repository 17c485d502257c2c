//! Component-specific transport parameters of a put (`xd_confirm`, `confirm`, `object`,
//! `project`, as the receipt page lists them; any other by name), checked before sending and
//! sent where the mode's own parameters go.

use directo_client::{Error, PutMode, PutParams, Receipt, ReceiptRow, Record, Target};

use crate::common::{accepting, builder, client, form_field};

fn receipt() -> Receipt {
    Receipt {
        number: Some(77),
        rows: vec![ReceiptRow {
            invoice: Some(1001),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn transport_parameters_reach_the_server_beside_the_modes() {
    let server = accepting().await;
    let params = PutParams::new()
        .xd_confirm(true)
        .confirm(true)
        .object("OBJ1")
        .unwrap()
        .project("P-7")
        .unwrap()
        .param("xd_rowdelete", "1")
        .unwrap();
    let out = client(&server)
        .put_with(&[receipt()], PutMode::Create, &params)
        .await;
    assert!(out[0].is_ok());
    let got = &server.received_requests().await.unwrap()[0];
    for (k, v) in [
        ("put", "1"),
        ("what", "receipt"),
        ("xd_confirm", "1"),
        ("confirm", "1"),
        ("object", "OBJ1"),
        ("project", "P-7"),
        ("xd_rowdelete", "1"),
    ] {
        assert_eq!(form_field(got, k).as_deref(), Some(v), "{k}");
        // Routing (and these with it) also goes in the query string by default.
        assert!(
            got.url.query_pairs().any(|(qk, qv)| qk == k && qv == v),
            "{k} in {}",
            got.url
        );
    }
    assert!(
        got.url
            .query_pairs()
            .all(|(k, _)| k != "token" && k != "xmldata")
    );
}

#[tokio::test]
async fn without_routing_in_the_query_they_go_in_the_body_only() {
    let server = accepting().await;
    let client = builder(&server).routing_in_query(false).build().unwrap();
    let target = Target::of("delivery").unwrap();
    let d = Record::new("delivery").attr("number", "5");
    let params = PutParams::new().xd_confirm(true);
    let _ = client
        .put_records_with(&target, &[d], PutMode::Create, &params)
        .await;
    let got = &server.received_requests().await.unwrap()[0];
    assert_eq!(form_field(got, "xd_confirm").as_deref(), Some("1"));
    assert_eq!(got.url.query(), None);
}

#[test]
fn parameters_are_checked() {
    // The protocol's own names and the modes' parameters cannot be overridden.
    for name in [
        "put",
        "get",
        "what",
        "xmldata",
        "token",
        "key",
        "ts",
        "xd_update",
        "xd_updateconfirmed",
        "xd_customer_update",
        "xd_supplier_update",
    ] {
        let err = PutParams::new().param(name, "1").unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput(m) if m.contains(name)),
            "{name}: {err:?}"
        );
    }
    for name in ["", "two words", "ä", "a=b", "a&b"] {
        assert!(PutParams::new().param(name, "1").is_err(), "{name:?}");
    }
    assert!(PutParams::new().param("x", "bad\u{1}").is_err());
    assert!(PutParams::new().object("").is_err());
    // Twice the same name: the last value stands, sent once.
    let p = PutParams::new()
        .param("object", "A")
        .unwrap()
        .object("B")
        .unwrap();
    assert_eq!(p.iter().collect::<Vec<_>>(), [("object", "B")]);
    // A flag set to false is not sent at all.
    assert_eq!(
        PutParams::new()
            .xd_confirm(true)
            .xd_confirm(false)
            .iter()
            .count(),
        0
    );
}
