//! Property: any customer the client writes parses back identical (XML escaping, datafields,
//! decimals, dates, non-ASCII and whitespace in values), and the reader never panics.

use std::borrow::Cow;

use directo_client::{Customer, FromRecord, Record, RecordReader, Target, ToRecord};
use proptest::prelude::*;

/// The customer schema's text attributes (`xml_IN_kliendid.xsd`).
const TEXT: &[&str] = &[
    "name",
    "object",
    "address1",
    "address2",
    "address3",
    "deliveryaddress1",
    "deliveryaddress2",
    "deliveryaddress3",
    "county",
    "country",
    "contact",
    "phone",
    "email",
    "regno",
    "vatregno",
    "class",
    "loyaltycard",
    "deliveryname",
    "deliverymode",
    "alert",
    "factoring",
    "fax",
    "comment",
    "payterm",
    "language",
    "salesman",
    "bank",
    "bankaccount",
    "url",
    "status",
    "accountmanager",
    "dealtype",
    "priceformula",
    "specialpriceformula",
    "destination",
    "firstname",
    "lastname",
    "extcode",
    "currency",
    "deliveryterm",
];
const INTS: &[&str] = &["gender", "type", "vatzone", "vatcode", "deliveryinvoice"];
const DECIMALS: &[&str] = &["creditlimit", "discount"];
const FLAGS: &[&str] = &["notice", "rikeinvoice", "closed"];

/// The length xml_IN_kliendid.xsd documents for a customer attribute (the comment after it:
/// `<!-- length: 32; … -->`, `<!-- 2; … -->`), or no limit.
fn documented_length(name: &str) -> usize {
    let xsd = crate::common::fixture("xsd/xml_IN_kliendid.xsd");
    let line = xsd
        .lines()
        .find(|l| l.contains(&format!(r#"<xsd:attribute name="{name}""#)));
    line.and_then(|l| l.split("<!--").nth(1))
        .map(|c| c.trim().trim_start_matches("length:").trim_start())
        .and_then(|c| {
            let digits: String = c.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or(usize::MAX)
}

/// Any text, including XML specials, quotes, tabs and newlines.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[\\PC\t\n\r]{1,24}",
        Just(r#"Tom & "Jerry" <OÜ>"#.to_string()),
        Just("a]]>b&amp;'x'".to_string()),
    ]
}

fn value(name: &'static str) -> BoxedStrategy<(&'static str, String)> {
    if INTS.contains(&name) {
        any::<i32>()
            .prop_map(move |n| (name, n.to_string()))
            .boxed()
    } else if DECIMALS.contains(&name) {
        (any::<i64>(), 0u32..6)
            .prop_map(move |(m, s)| (name, rust_decimal::Decimal::new(m, s).to_string()))
            .boxed()
    } else if FLAGS.contains(&name) {
        any::<bool>()
            .prop_map(move |b| (name, u8::from(b).to_string()))
            .boxed()
    } else if name == "birthday" {
        (
            1900i16..2100,
            1i8..13,
            1i8..29,
            0i8..24,
            0i8..60,
            0i32..1_000_000_000,
        )
            .prop_map(move |(y, m, d, h, min, ns)| {
                (
                    name,
                    jiff::civil::date(y, m, d).at(h, min, 7, ns).to_string(),
                )
            })
            .boxed()
    } else {
        // Within the length xml_IN_kliendid.xsd documents (`country` is 2): a put refuses more.
        let max = documented_length(name);
        text()
            .prop_map(move |t| (name, t.chars().take(max).collect::<String>()))
            .boxed()
    }
}

prop_compose! {
    fn customer()(
        // No control characters: XML 1.0 forbids most of them, and a put refuses them.
        code in "[\\PC]{0,8}[^\\s\\p{C}][\\PC]{0,8}",
        fields in proptest::sample::subsequence(
            TEXT.iter().chain(INTS).chain(DECIMALS).chain(FLAGS).chain(&["birthday"]).copied().collect::<Vec<_>>(),
            0..12,
        ).prop_flat_map(|names| names.into_iter().map(value).collect::<Vec<_>>()),
        datafields in proptest::collection::vec((text(), "[\\PC]{0,12}", "[\\PC]{0,8}"), 0..4),
    ) -> Customer {
        let mut c = Customer::new(code);
        for (k, v) in fields {
            c.attr(k, Cow::Owned(v)).unwrap();
        }
        let data = Record {
            tag: "datafields".into(),
            children: datafields
                .into_iter()
                .map(|(code, content, param)| {
                    Record::new("data").attr("code", code).attr("content", content).attr("param", param)
                })
                .collect(),
            ..Record::default()
        };
        c.child(data).unwrap();
        c
    }
}

proptest! {
    #[test]
    fn written_customers_parse_back_identical(customers in proptest::collection::vec(customer(), 1..4)) {
        let records: Vec<Record> = customers.iter().map(ToRecord::to_record).collect();
        let xml = Target::of("customer").unwrap().xmldata(&records)
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
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
