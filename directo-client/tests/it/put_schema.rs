//! Every kind of put the crate builds, validated with xmllint against Directo's input XSDs
//! (tests/fixtures/xsd, from Directo via 5dvision/directo), and the `xmldata` roots.

use directo_client::{
    Customer, Document, Item, PutMode, Receipt, ReceiptRow, Record, RecordReader, Target,
};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{client, fixture, form_field};

/// Validates `xml` against `xsd` with xmllint; fails loudly when xmllint is missing (CI installs it).
pub(crate) fn xmllint(xsd: &str, xml: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("directo-xmllint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = dir.join(format!("{n}.xml"));
    std::fs::write(&file, xml).unwrap();
    let schema = format!("{}/tests/fixtures/xsd/{xsd}", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema", &schema])
        .arg(&file)
        .output()
        .expect("xmllint is required (Debian package libxml2-utils; .ci/xmllint.sh installs it)");
    let _ = std::fs::remove_file(&file);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}\n{xml}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// The `xmldata` of a put of `records` at `target`, answered OK (one request).
async fn sent(target: &Target, records: &[Record], mode: PutMode) -> String {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("put_result_ok.xml")))
        .mount(&server)
        .await;
    let outcomes = client(&server).put_records(target, records, mode).await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    form_field(&requests[0], "xmldata").unwrap()
}

/// The same for typed documents at their own target.
async fn sent_typed<T: Document>(docs: &[T], mode: PutMode) -> String {
    let records: Vec<Record> = docs
        .iter()
        .map(directo_client::ToRecord::to_record)
        .collect();
    sent(&Target::of(T::WHAT).unwrap(), &records, mode).await
}

#[tokio::test]
async fn a_customer_create_is_valid_against_xml_in_kliendid() {
    let mut c = Customer::new("C1");
    c.name = Some("Mari".into());
    c.email = Some("mari@example.ee".into());
    let xml = sent_typed(&[c], PutMode::Create).await;
    xmllint("xml_IN_kliendid.xsd", &xml).unwrap();
}

#[tokio::test]
async fn a_customer_read_and_put_back_is_valid_against_xml_in_kliendid() {
    let read: Vec<Customer> = RecordReader::new(fixture("customers.xml").as_bytes(), "customer")
        .collect::<Result<_, _>>()
        .unwrap();
    let xml = sent_typed(&read, PutMode::Replace).await;
    xmllint("xml_IN_kliendid.xsd", &xml).unwrap();
}

#[tokio::test]
async fn an_item_put_is_valid_against_xml_in_artiklid() {
    let read: Vec<Item> = RecordReader::new(fixture("items.xml").as_bytes(), "item")
        .collect::<Result<_, _>>()
        .unwrap();
    let xml = sent_typed(&read, PutMode::Replace).await;
    xmllint("xml_IN_artiklid.xsd", &xml).unwrap();
}

#[tokio::test]
async fn a_receipt_put_is_valid_against_xml_in_laekumised() {
    let receipt = Receipt {
        number: Some(77),
        date: Some(jiff::civil::date(2026, 6, 11).at(0, 0, 0, 0)),
        confirm: Some(true),
        rows: vec![ReceiptRow {
            invoice: Some(1001),
            customer: Some("C1".into()),
            payment: Some("19.80".parse().unwrap()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let xml = sent_typed(&[receipt], PutMode::Create).await;
    xmllint("xml_IN_laekumised.xsd", &xml).unwrap();
}

#[tokio::test]
async fn a_delivery_put_has_the_root_deliveries() {
    let d = Record::new("delivery")
        .attr("number", "5")
        .attr("status", "S");
    let xml = sent(&Target::of("delivery").unwrap(), &[d], PutMode::Update).await;
    assert!(xml.contains("<deliveries><delivery "), "{xml}");
}

/// A document with every attribute of `file`'s record and of one item per container, each
/// with a valid value of its XSD type (read from the schema itself).
fn full_document(file: &str) -> Record {
    let text = fixture(&format!("xsd/{file}"));
    let schema: Record = RecordReader::new(text.as_bytes(), "xsd:schema")
        .next()
        .unwrap()
        .unwrap();
    let elements: Vec<&Record> = schema
        .children
        .iter()
        .filter(|e| e.tag == "xsd:element")
        .collect();
    let child = |r: &Record, tag: &str| r.children.iter().find(|c| c.tag == tag).cloned();
    let sample = |ty: &str, i: usize| match ty {
        "xsd:int" => (i % 2).to_string(),
        "xsd:decimal" => format!("{i}.25"),
        "xsd:dateTime" => "2026-06-11T10:30:00".to_string(),
        // One character: every string fits its documented length (`abc` is 1, `country` 2).
        _ => ["Õ", "&", "<", "\""][i % 4].to_string(),
    };
    let fill = |complex: &Record, mut out: Record| {
        for (i, a) in complex
            .children
            .iter()
            .filter(|a| a.tag == "xsd:attribute")
            .enumerate()
        {
            let name = a.get("name").unwrap();
            if name != "session_id" {
                out = out.attr(name, sample(a.get("type").unwrap(), i));
            }
        }
        out
    };
    let root = elements[0];
    let record = child(
        &child(&child(root, "xsd:complexType").unwrap(), "xsd:sequence").unwrap(),
        "xsd:element",
    )
    .unwrap();
    let complex = child(&record, "xsd:complexType").unwrap();
    let mut doc = fill(&complex, Record::new(record.get("name").unwrap()));
    if let Some(seq) = child(&complex, "xsd:sequence") {
        for container in seq.children.iter().filter(|c| c.tag == "xsd:element") {
            let item = child(
                &child(
                    &child(container, "xsd:complexType").unwrap(),
                    "xsd:sequence",
                )
                .unwrap(),
                "xsd:element",
            )
            .unwrap();
            let name = item.get("ref").unwrap();
            let def = elements
                .iter()
                .find(|e| e.get("name") == Some(name))
                .unwrap();
            let filled = fill(&child(def, "xsd:complexType").unwrap(), Record::new(name));
            doc = doc.child(Record::new(container.get("name").unwrap()).child(filled));
        }
    }
    doc
}

fn attr_names(r: &Record) -> Vec<String> {
    let mut names: Vec<String> = r.attrs.keys().cloned().collect();
    names.sort();
    names
}

/// The typed record knows every attribute of the input schema (reads it, writes it back
/// under the same name) and writes nothing else; the result validates.
fn typed_covers_the_schema<
    T: directo_client::FromRecord + directo_client::ToRecord + directo_client::Document,
>(
    file: &str,
) {
    let full = full_document(file);
    let typed = T::from_record(full.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
    let written = typed.to_record();
    assert_eq!(
        attr_names(&written),
        attr_names(&full),
        "{file}: record attributes"
    );
    for child in &full.children {
        let w = written
            .children
            .iter()
            .find(|c| c.tag == child.tag)
            .unwrap_or_else(|| panic!("{file}: <{}> not written", child.tag));
        assert_eq!(
            attr_names(&w.children[0]),
            attr_names(&child.children[0]),
            "{file}: <{}>",
            child.tag
        );
    }
    let xml = Target::of(T::WHAT).unwrap().xmldata(&[written]).unwrap();
    xmllint(file, &xml).unwrap();
}

#[test]
fn the_typed_customer_writes_exactly_xml_in_kliendid() {
    typed_covers_the_schema::<Customer>("xml_IN_kliendid.xsd");
}

#[test]
fn the_typed_item_writes_exactly_xml_in_artiklid() {
    typed_covers_the_schema::<Item>("xml_IN_artiklid.xsd");
}

#[test]
fn the_typed_receipt_writes_exactly_xml_in_laekumised() {
    typed_covers_the_schema::<Receipt>("xml_IN_laekumised.xsd");
}

#[test]
fn generic_records_are_shaped_to_validate() {
    let target = Target::of("item").unwrap();
    // Containers out of order and missing: written in the schema's order, empty ones added.
    let item = Record::new("item")
        .attr("code", "I1")
        .child(
            Record::new("supplieritems").child(Record::new("supplieritem").attr("supplier", "S1")),
        )
        .child(
            Record::new("datafields")
                .child(Record::new("data").attr("code", "A").attr("content", "1")),
        );
    let xml = target.xmldata(&[item]).unwrap();
    assert!(
        xml.contains(
            "<datafields><data code=\"A\" content=\"1\"/></datafields><packages/><supplieritems>"
        ),
        "{xml}"
    );
    xmllint("xml_IN_artiklid.xsd", &xml).unwrap();
    let customer = Record::new("customer")
        .attr("code", "C1")
        .attr("email", "a@b.ee");
    xmllint(
        "xml_IN_kliendid.xsd",
        &Target::of("customer")
            .unwrap()
            .xmldata(&[customer])
            .unwrap(),
    )
    .unwrap();
    let receipt = Record::new("receipt")
        .attr("number", "1")
        .attr("date", "2026-06-11T00:00:00");
    xmllint(
        "xml_IN_laekumised.xsd",
        &Target::of("receipt").unwrap().xmldata(&[receipt]).unwrap(),
    )
    .unwrap();
    // A value outside its type never reaches the wire.
    let bad = Record::new("receipt")
        .attr("number", "1")
        .attr("date", "11.06.2026");
    assert!(Target::of("receipt").unwrap().xmldata(&[bad]).is_err());
}

#[tokio::test]
async fn a_partial_customer_update_is_valid_against_xml_in_kliendid() {
    let mut c = Customer::new("C1");
    c.email = Some("new@example.ee".into());
    let xml = sent_typed(&[c], PutMode::CustomerUpdate).await;
    xmllint("xml_IN_kliendid.xsd", &xml).unwrap();
}

#[test]
fn xmllint_refuses_what_directo_refuses() {
    // The check itself can fail: a customer without <datafields>, an output-only attribute.
    assert!(
        xmllint(
            "xml_IN_kliendid.xsd",
            r#"<customers><customer code="C1"/></customers>"#
        )
        .is_err()
    );
    assert!(
        xmllint(
            "xml_IN_kliendid.xsd",
            r#"<customers><customer code="C1" balance="1"><datafields/></customer></customers>"#
        )
        .is_err()
    );
}
