//! `xd_update=1` overwrites the whole document: "Modify: requires `xd_update=1` and posting
//! the whole document (it is overwritten)" (wiki `en/xml_direct/alustamine/tehnilised_nouded`).
//! A full update that leaves input fields out would blank them, so `PutMode::Update` refuses
//! one unless the caller names the overwrite (`PutMode::Replace`), and points to the partial
//! `PutMode::CustomerUpdate` (name, email, phone).

use directo_client::{Customer, Error, PutMode, Record, Target};

use crate::common::{accepting, client, failed, form_field};

/// Every attribute of `<customer>` in xml_IN_kliendid.xsd (not `session_id`, "do not send";
/// not `<data>`'s),
/// with a value of its type: the whole document.
fn whole_customer() -> Record {
    let xsd = std::fs::read_to_string(format!(
        "{}/tests/fixtures/xsd/xml_IN_kliendid.xsd",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut r = Record::new("customer");
    for line in xsd.lines() {
        let Some(rest) = line.split(r#"<xsd:attribute name=""#).nth(1) else {
            continue;
        };
        let name = &rest[..rest.find('"').unwrap()];
        let value = match () {
            // `content` and `param` (and the second `code`) are `<data>`'s.
            _ if ["session_id", "content", "param"].contains(&name) || r.get(name).is_some() => {
                continue;
            }
            _ if name == "code" => "C1",
            _ if name == "email" => "mari@example.ee",
            _ if line.contains("xsd:int") => "0",
            _ if line.contains("xsd:decimal") => "1.5",
            _ if line.contains("xsd:dateTime") => "2000-01-01T00:00:00",
            _ => "x",
        };
        r = r.attr(name, value);
    }
    assert!(r.attrs.len() > 40, "{r:?}");
    r
}

#[tokio::test]
async fn a_sparse_full_update_is_refused_and_points_to_customer_update() {
    let server = accepting().await;
    let mut mari = Customer::new("C1");
    mari.email = Some("mari@example.ee".into());
    let out = client(&server).put(&[mari], PutMode::Update).await;
    let err = out[0].result.as_ref().unwrap_err();
    let Error::InvalidInput(msg) = failed(err) else {
        panic!("{err:?}")
    };
    for needle in [
        "overwrit",
        "CustomerUpdate",
        "PutMode::Replace",
        "leaves out name, ",
    ] {
        assert!(msg.contains(needle), "{needle}: {msg}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_whole_document_updates_and_replace_is_the_named_overwrite() {
    let server = accepting().await;
    let client = client(&server);
    let target = Target::of("customer").unwrap();
    let out = client
        .put_records(&target, &[whole_customer()], PutMode::Update)
        .await;
    assert!(out[0].is_ok(), "{:?}", out[0]);
    let sparse = Record::new("customer")
        .attr("code", "C2")
        .attr("name", "Jüri");
    let out = client
        .put_records(&target, &[sparse], PutMode::Replace)
        .await;
    assert!(out[0].is_ok(), "{:?}", out[0]);
    let got = server.received_requests().await.unwrap();
    assert_eq!(got.len(), 2);
    for req in &got {
        assert_eq!(form_field(req, "xd_update").as_deref(), Some("1"));
        assert_eq!(form_field(req, "put").as_deref(), Some("1"));
    }
    assert!(
        form_field(&got[1], "xmldata")
            .unwrap()
            .contains(r#"<customer code="C2" name="Jüri">"#)
    );
    assert_eq!(PutMode::Replace.params(), [("xd_update", "1")]);
}

/// Without a vendored input schema the whole field set is unknown: the update goes as built.
#[tokio::test]
async fn targets_without_a_schema_are_not_checked() {
    let server = accepting().await;
    let target = Target::of("delivery").unwrap();
    let d = Record::new("delivery").attr("number", "5");
    let out = client(&server)
        .put_records(&target, &[d], PutMode::Update)
        .await;
    assert!(out[0].is_ok(), "{:?}", out[0]);
}
