//! Parser throughput on a synthetic 100,000-customer `what=customer` answer (realistic field mix,
//! datafields, non-ASCII names, escaped characters), against a bare quick-xml event loop that
//! does nothing with the events (the ceiling) and the same loop reading every attribute value
//! (what any attribute-based reader pays before it stores anything).
//!
//! `cargo bench -p directo-client --bench parse`

use std::hint::black_box;
use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use directo_client::{Customer, Record, RecordReader};
use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};

const CUSTOMERS: usize = 100_000;

/// One customer element, the way Directo writes them: attributes only, plus `<datafields>`.
fn write_customer(out: &mut Vec<u8>, i: usize) {
    const FIRST: [&str; 6] = ["Mari", "Jüri", "Tõnu", "Ülle", "Šarlota", "Žanna"];
    const LAST: [&str; 5] = ["Tamm", "Sääsk", "Õun", "Mägi", "Kõiv"];
    let (first, last) = (FIRST[i % 6], LAST[i % 5]);
    let email = if i.is_multiple_of(10) {
        String::new()
    } else {
        format!(
            "{}.{}{i}@example.ee",
            first.to_lowercase(),
            last.to_lowercase()
        )
    };
    write!(
        out,
        r#"<customer code="C{i:08}" name="{first} {last} &amp; Pojad OÜ" address1="Pärnu mnt {street}" address2="Tallinn" country="EE" phone="+372 5{i:07}" email="{email}" regno="{regno}" vatregno="EE{vat:09}" class="{class}" payterm="14" vatregion="{region}" priceformula="HIND1" balance="{balance}.{cents:02}" creditlimit="1000" currency="EUR" salesman="MK" closed="{closed}" ts="2025-{month:02}-{day:02}T{hour:02}:{min:02}:00" pricelist="A">"#,
        street = i % 300 + 1,
        regno = 10_000_000 + i % 89_999_999,
        vat = 100_000_000 + i,
        class = ["RETAIL", "WHOLESALE", "VIP"][i % 3],
        region = i % 3,
        balance = i % 10_000,
        cents = i % 100,
        closed = u8::from(i.is_multiple_of(50)),
        month = i % 12 + 1,
        day = i % 28 + 1,
        hour = i % 24,
        min = i % 60,
    )
    .unwrap();
    write!(
        out,
        r#"<datafields><data code="LOYALTY" content="{}" param=""/><data code="NEWSLETTER" content="{}" param=""/></datafields></customer>"#,
        i % 7,
        if i.is_multiple_of(2) { "jah" } else { "ei" }
    )
    .unwrap();
    out.push(b'\n');
}

fn document(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 700);
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<transport><customers>\n");
    for i in 0..n {
        write_customer(&mut out, i);
    }
    out.extend_from_slice(b"</customers></transport>\n");
    out
}

/// The ceiling: every event read into one reused buffer, nothing done with it.
fn bare_event_loop(xml: &[u8]) -> usize {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut events = 0;
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf).unwrap() {
            Event::Eof => return events,
            ev => {
                black_box(&ev);
                events += 1;
            }
        }
    }
}

/// What any reader of attribute-only records pays on top of the ceiling: every attribute
/// iterated and its value unescaped and normalised by quick-xml, then discarded.
fn attribute_loop(xml: &[u8]) -> usize {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut values = 0;
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf).unwrap() {
            Event::Eof => return values,
            Event::Start(e) | Event::Empty(e) => {
                for attr in e.attributes().with_checks(false) {
                    let value = attr
                        .unwrap()
                        .normalized_value(XmlVersion::Implicit1_0)
                        .unwrap();
                    black_box(&value);
                    values += 1;
                }
            }
            ev => {
                black_box(&ev);
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let xml = document(CUSTOMERS);
    // Sanity: the parser sees every record.
    let n = RecordReader::<_, Customer>::new(&xml[..], "customer")
        .map(Result::unwrap)
        .count();
    assert_eq!(n, CUSTOMERS);
    eprintln!(
        "document: {CUSTOMERS} customers, {:.1} MB",
        xml.len() as f64 / 1e6
    );

    let mut group = c.benchmark_group("parse_100k_customers");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(xml.len() as u64));
    group.bench_function("ceiling: bare quick-xml event loop", |b| {
        b.iter(|| bare_event_loop(black_box(&xml)))
    });
    group.bench_function(
        "attributes only: the event loop + every value, discarded",
        |b| b.iter(|| attribute_loop(black_box(&xml))),
    );
    group.bench_function("RecordReader<Customer>", |b| {
        b.iter(|| {
            RecordReader::<_, Customer>::new(black_box(&xml[..]), "customer").fold(
                0usize,
                |n, c| {
                    black_box(c.unwrap());
                    n + 1
                },
            )
        })
    });
    group.bench_function("RecordReader<Record>", |b| {
        b.iter(|| {
            RecordReader::<_, Record>::new(black_box(&xml[..]), "customer").fold(0usize, |n, c| {
                black_box(c.unwrap());
                n + 1
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
