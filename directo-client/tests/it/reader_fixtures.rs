//! The reference's documented shapes (tests/fixtures), read with the synchronous reader: the
//! same parser core the async client streams through.

use directo_client::{Customer, Error, Item, Receipt, Record, RecordReader};
use jiff::civil::date;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn read<T: directo_client::FromRecord>(name: &str, tag: &str) -> Result<Vec<T>, Error> {
    RecordReader::new(&fixture(name)[..], tag).collect()
}

#[test]
fn customer_example_from_the_reference() {
    let c: Vec<Customer> = read("customers.xml", "customer").unwrap();
    assert_eq!(c.len(), 1);
    let c = &c[0];
    assert_eq!(c.code, "CUST001");
    assert_eq!(c.name.as_deref(), Some("Test Customer OÜ"));
    assert_eq!(c.address1.as_deref(), Some("Test Street 123"));
    assert_eq!(c.address2.as_deref(), Some("Tallinn"));
    assert_eq!(c.country.as_deref(), Some("EE"));
    assert_eq!(c.email(), Some("test@example.com"));
    assert_eq!(c.phone.as_deref(), Some("+372 5551234"));
    assert_eq!(c.regno.as_deref(), Some("12345678"));
    assert_eq!(c.balance, Some(0.into()));
    assert_eq!(c.creditlimit, Some(0.into()));
    assert_eq!(c.closed, Some(false));
    assert_eq!(c.ts, Some(date(2024, 1, 15).at(10, 30, 0, 0)));
    assert_eq!(c.datafields.len(), 1);
    assert_eq!(c.datafields[0].code, "EXTRAFIELD");
    assert_eq!(c.datafields[0].content, "some value");
    assert_eq!(c.datafields[0].param, "");
    assert!(c.extra.is_empty(), "{:?}", c.extra);
}

#[test]
fn legacy_customers_keep_unknown_attributes_in_order() {
    let c: Vec<Customer> = read("customers_legacy.xml", "customer").unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].balance, Some("12.50".parse().unwrap()));
    assert_eq!(c[2].balance, Some("-3.10".parse().unwrap()));
    assert_eq!(c[0].extra.keys().collect::<Vec<_>>(), ["pricelist"]);
    // Empty and missing e-mails are both "no e-mail".
    assert_eq!(c[1].email(), None);
    assert_eq!(c[2].email(), None);
}

#[test]
fn every_envelope_shape() {
    let no_container: Vec<Customer> = read("customers_no_container.xml", "customer").unwrap();
    assert_eq!(
        no_container
            .iter()
            .map(|c| c.code.as_str())
            .collect::<Vec<_>>(),
        ["C1", "C2"]
    );
    assert_eq!(
        no_container[0].ts,
        Some(date(2024, 1, 15).at(10, 30, 0, 123_000_000))
    );
    assert_eq!(no_container[1].ts, Some(date(2024, 1, 16).at(0, 0, 0, 0)));

    let bare: Vec<Customer> = read("customer_bare.xml", "customer").unwrap();
    assert_eq!(bare.len(), 1);
    assert_eq!(bare[0].closed, Some(true));

    for empty in ["empty.xml", "empty_self_closing.xml"] {
        let none: Vec<Customer> = read(empty, "customer").unwrap();
        assert!(none.is_empty(), "{empty}");
    }
    // The IN-schema example (plural container as the root) reads too.
    let input: Vec<Customer> = read("customer_input.xml", "customer").unwrap();
    assert_eq!(input[0].vatregno.as_deref(), Some("EE123456789"));
    assert_eq!(input[0].customer_type, Some(0));
}

#[test]
fn error_documents() {
    let err = read::<Record>("unauthorized.xml", "customer").unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    let err = read::<Record>("token_required.xml", "customer").unwrap_err();
    assert!(
        matches!(err, Error::Api { code: None, ref desc } if desc == "token required"),
        "{err:?}"
    );
    let err = read::<Record>("legacy_error.xml", "customer").unwrap_err();
    assert!(matches!(err, Error::Api { code: Some(3), .. }), "{err:?}");
    let err = read::<Record>("invalid_url.xml", "customer").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Api {
                code: Some(404),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn items_with_datafields_and_supplier_items() {
    let items: Vec<Item> = read("items.xml", "item").unwrap();
    let item = &items[0];
    assert_eq!(item.code.as_deref(), Some("000001"));
    assert_eq!(item.class.as_deref(), Some("NÕUD"));
    assert_eq!(item.salesprice, Some("4.90".parse().unwrap()));
    assert_eq!(item.closed, Some(false));
    assert_eq!(item.datafields[0].content, "valge");
    assert_eq!(item.supplieritems[0].supplieritem.as_deref(), Some("CUP-1"));
    assert_eq!(item.supplieritems[0].sales, Some(true));
}

#[test]
fn receipts_without_a_container() {
    let receipts: Vec<Receipt> = read("receipts.xml", "receipt").unwrap();
    let r = &receipts[0];
    assert_eq!(r.number, Some(100001));
    assert_eq!(r.confirmed, Some(true));
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0].invoice, Some(2024001));
    assert_eq!(r.rows[0].received, Some("125.50".parse().unwrap()));
    assert_eq!(r.rows[0].customername.as_deref(), Some("Test Customer OÜ"));
}

#[test]
fn generic_records_keep_everything() {
    let recs: Vec<Record> = read("items.xml", "item").unwrap();
    let r = &recs[0];
    assert_eq!(r.tag, "item");
    assert_eq!(
        r.attrs.keys().take(3).collect::<Vec<_>>(),
        ["code", "name", "class"]
    );
    assert_eq!(r.children.len(), 2);
}

#[test]
fn a_declared_windows_1257_document_is_decoded_never_garbled() {
    let c = read::<Customer>("customers_windows1257.xml", "customer").unwrap();
    assert_eq!(c[0].name.as_deref(), Some("Tõnu Ülemiste OÜ"));
}

#[test]
fn utf16_declaration_is_refused() {
    let err = read::<Customer>("declared_utf16.xml", "customer").unwrap_err();
    assert!(matches!(err, Error::UnsupportedEncoding(_)), "{err:?}");
}

#[test]
fn truncated_body_is_an_error_not_a_short_list() {
    let body = br#"<transport><customers><customer code="A"/><customer code="B"/>"#;
    let out: Vec<Result<Customer, Error>> = RecordReader::new(&body[..], "customer").collect();
    assert_eq!(out.len(), 3);
    assert!(out[0].is_ok() && out[1].is_ok());
    assert!(out[2].is_err(), "{:?}", out[2]);
}

#[test]
fn typed_datafields_match_the_generic_record_path() {
    // `<data>` taken straight into `DataField` (the fast path) must equal what the generic
    // `Record` → `Customer` conversion gives, whatever the markup around it.
    let xml = br#"<transport><customers>
      <customer code="C1" name="Tom &amp; &quot;Jerry&quot; &lt;O&#220;&gt;">
        <datafields>
          <data code="A" content="1 &amp; 2" param="p"/>
          <data code='B' content="multi
line"><note>ignored</note></data>
          <DATA code="C" content="" extra="dropped"/>
        </datafields>
        <contacts><contact name="Mari"/></contacts>
      </customer>
    </customers></transport>"#;
    let typed: Vec<Customer> = RecordReader::new(&xml[..], "customer")
        .collect::<Result<_, _>>()
        .unwrap();
    let generic: Vec<Customer> = RecordReader::<_, Record>::new(&xml[..], "customer")
        .map(|r| r.map(|r| <Customer as directo_client::FromRecord>::from_record(r).unwrap()))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(typed, generic);
    let c = &typed[0];
    assert_eq!(c.name.as_deref(), Some(r#"Tom & "Jerry" <OÜ>"#));
    let fields: Vec<_> = c
        .datafields
        .iter()
        .map(|d| (d.code.as_str(), d.content.as_str(), d.param.as_str()))
        .collect();
    assert_eq!(
        fields,
        [("A", "1 & 2", "p"), ("B", "multi line", ""), ("C", "", "")]
    );
    assert_eq!(c.children.len(), 1);
    assert_eq!(c.children[0].tag, "contacts");
}
