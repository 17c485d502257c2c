//! Property: any customer the client writes parses back identical (XML escaping, order of
//! unknown attributes, datafields, decimals, non-ASCII and whitespace in values).

use directo_client::{Customer, DataField, Record, RecordReader, ToRecord, to_xmldata};
use indexmap::IndexMap;
use proptest::prelude::*;
use rust_decimal::Decimal;

/// Any text, including XML specials, quotes, tabs and newlines.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[\\PC\t\n\r]{1,24}",
        Just(r#"Tom & "Jerry" <OÜ>"#.to_string()),
        Just("a]]>b&amp;'x'".to_string()),
    ]
}

fn some_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn decimal() -> impl Strategy<Value = Option<Decimal>> {
    proptest::option::of((any::<i64>(), 0u32..6).prop_map(|(m, s)| Decimal::new(m, s)))
}

prop_compose! {
    fn customer()(
        code in text(),
        names in proptest::collection::vec(some_text(), 23),
        vatregion in proptest::option::of(0i32..3),
        deliveryinvoice in proptest::option::of(0i32..2),
        balance in decimal(), creditlimit in decimal(), creditbalance in decimal(), discount in decimal(),
        closed in any::<bool>(),
        datafields in proptest::collection::vec((text(), "[\\PC]{0,12}", "[\\PC]{0,8}"), 0..4),
        extra in proptest::collection::vec(("legacy_[a-z]{1,8}", "[\\PC\n]{0,16}"), 0..4),
    ) -> Customer {
        let mut n = names.into_iter();
        let mut next = || n.next().unwrap();
        Customer {
            code,
            name: next(), object: next(), address1: next(), address2: next(), address3: next(),
            deliveryaddress1: next(), deliveryaddress2: next(), deliveryaddress3: next(),
            country: next(), county: next(), contact: next(), phone: next(), email: next(),
            regno: next(), loyaltycard: next(), vatregno: next(), class: next(), comment: next(),
            payterm: next(), priceformula: next(), specialpriceformula: next(), salesman: next(),
            currency: next(),
            vatregion, deliveryinvoice, balance, creditlimit, creditbalance, discount, closed,
            ts: None,
            datafields: datafields
                .into_iter()
                .map(|(code, content, param)| DataField { code, content, param })
                .collect(),
            extra: extra.into_iter().collect::<IndexMap<_, _>>(),
            children: Vec::new(),
        }
    }
}

proptest! {
    #[test]
    fn written_customers_parse_back_identical(customers in proptest::collection::vec(customer(), 1..4)) {
        let records: Vec<Record> = customers.iter().map(ToRecord::to_record).collect();
        let xml = to_xmldata("customer", &records);
        let back: Vec<Customer> = RecordReader::new(xml.as_bytes(), "customer")
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(back, customers);
    }

    /// The reader never panics on arbitrary bytes (errors are values).
    #[test]
    fn reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for item in RecordReader::<_, Customer>::new(&bytes[..], "customer") {
            let _ = item;
        }
    }
}
