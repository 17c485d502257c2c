//! The fake's reads (`get=1`): the documented filters of each component, `ts`, and answers
//! streamed record by record in Directo's envelope.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::response::Response;
use futures::StreamExt;
use jiff::civil::DateTime;

use super::routes::{DECL, INVALID_URL, xml_response};
use super::{Envelope, State, XmlcoreRequest, lock};
use crate::customer::Customer;
use crate::document::DataField;
use crate::put::ToRecord;
use crate::record::Record;
use crate::values::{parse_dotted, parse_ts};
use crate::xmldata::write_record;

/// The filters each component's output documents ("optional filter" rows of its page), with
/// the source. `ts` ("changed-since (for syncing)") is accepted for every component.
/// Components not listed document no filters here, so the fake accepts any filter for them.
const FILTERS: &[(&str, &[&str], &str)] = &[
    // 5dvision/directo src/Endpoint/CustomersEndpoint.php (the wiki's customer page was not
    // retrieved; its per-field "optional filter" pattern matches).
    (
        "customer",
        &["code", "loyaltycard", "regno", "email", "phone", "closed"],
        "5dvision/directo CustomersEndpoint",
    ),
    // Wiki en/xml_direct/partnerid/contact.
    (
        "contact",
        &[
            "code",
            "customercode",
            "suppliercode",
            "email",
            "pid",
            "closed",
        ],
        "wiki en/xml_direct/partnerid/contact",
    ),
    // Wiki en/xml_direct/muuk/receipt.
    (
        "receipt",
        &["number", "date1", "date2", "paymentmode", "confirmed"],
        "wiki en/xml_direct/muuk/receipt",
    ),
    // 5dvision/directo src/Endpoint/ItemsEndpoint.php.
    (
        "item",
        &[
            "class",
            "code",
            "type",
            "barcode",
            "supplier",
            "supplieritem",
            "closed",
        ],
        "5dvision/directo ItemsEndpoint",
    ),
    // Wiki en/xml_direct/finants/object.
    (
        "object",
        &["code", "master", "type", "level"],
        "wiki en/xml_direct/finants/object",
    ),
    // Wiki en/xml_direct/finants/asset.
    (
        "asset",
        &["code", "sn", "user", "barcode", "item", "type", "closed"],
        "wiki en/xml_direct/finants/asset",
    ),
    // Protoshell/Directo-TCPlus-bridge lib/directo_client.rb (legacy installs).
    (
        "delivery",
        &["stock", "status", "number"],
        "Protoshell/Directo-TCPlus-bridge",
    ),
    (
        "movement",
        &["tostock", "fromstock", "status", "number"],
        "Protoshell/Directo-TCPlus-bridge",
    ),
];

/// The components a read may name: those with "get" in XML Direct's component table (wiki
/// `en/xml_direct/start`; the public page ends after `expense`), the BI Direct components of
/// the Python BI client (`project`, `account`), and the legacy verbs seen in public clients
/// (`delivery`, `movement`). A component seeded into the fake is one too.
const COMPONENTS: &[&str] = &[
    "quotation",
    "order",
    "invoice",
    "receipt",
    "customer",
    "supplier",
    "contact",
    "item",
    "itemstocklimit",
    "itempackage",
    "itemrelitem",
    "itemaccountvatcode",
    "itemclass",
    "itemhistoryrow",
    "pricechange",
    "priceformularow",
    "stock",
    "stocklevel",
    "stocklevel_variant_sn",
    "allocation",
    "recipe",
    "delivery",
    "stockreturn",
    "movement",
    "stockorder",
    "taking",
    "writeoff",
    "purchaseorder",
    "stockreceipt",
    "purchase",
    "production",
    "expense",
    "object",
    "asset",
    "project",
    "account",
];

/// Parameters that are not filters.
const ROUTING: &[&str] = &["get", "what", "ts", "token", "key"];

pub(super) fn read(state: &Arc<Mutex<State>>, req: &XmlcoreRequest, what: &str) -> Response {
    // A component Directo does not have: how it answers is not documented; the fake answers
    // as it does a request it cannot route (assumed), never an empty `<transport/>` that
    // would read as "no records".
    if what.is_empty() || !(COMPONENTS.contains(&what) || lock(state).records.contains_key(what)) {
        return xml_response(INVALID_URL);
    }
    let since = match req.param("ts") {
        None | Some("") => None,
        // "ts=xx.xx.xxxx" (wiki en/xml_direct); `DD.MM.YYYY HH:MM` in public client code.
        Some(raw) => match parse_dotted(raw.trim()) {
            Some(ts) => Some(ts),
            None => return xml_response(format!("<err>invalid ts: {raw}</err>")),
        },
    };
    let mut filters: Vec<(String, String)> = Vec::new();
    for (k, v) in req.query.iter().chain(&req.form) {
        if ROUTING.contains(&k.as_str()) || filters.iter().any(|(f, _)| f == k) {
            continue;
        }
        filters.push((k.clone(), v.clone()));
    }
    if let Some((_, documented, source)) = FILTERS.iter().find(|(w, _, _)| *w == what)
        && let Some((k, _)) = filters
            .iter()
            .find(|(k, _)| !documented.contains(&k.as_str()))
    {
        // The assumption here: an undocumented filter is refused, never silently ignored
        // (which would answer every record).
        return xml_response(format!(
            "<err>unknown filter {k} for what={what} (documented: {}, ts; {source})</err>",
            documented.join(", ")
        ));
    }
    let s = lock(state);
    let envelope = s.envelope;
    let container = crate::target::KNOWN
        .iter()
        .find(|k| k.what == what)
        .map_or_else(|| format!("{what}s"), |k| k.root.to_string());
    let (open, close) = match envelope {
        Envelope::WithContainer => (
            format!("{DECL}<transport><{container}>"),
            format!("</{container}></transport>"),
        ),
        Envelope::NoContainer => (format!("{DECL}<transport>"), "</transport>".to_string()),
    };
    if let (true, Some(count)) = (what == "customer", s.synthetic) {
        drop(s);
        return synthetic_response(open, close, count, since);
    }
    let records: Vec<Record> = if what == "customer" {
        s.customers
            .values()
            .map(ToRecord::to_output_record)
            .collect()
    } else {
        s.records.get(what).cloned().unwrap_or_default()
    };
    drop(s);
    // Directo's output schema always has its containers (`<datafields>`, `<rows>`, …), empty
    // or not (ws_kliendid.xsd, ws_artiklid.xsd, ws_laekumised.xsd).
    let output = crate::schema::output_schema(what);
    let matching: Vec<Record> = records
        .into_iter()
        .filter(|r| matches_filters(r, since, &filters))
        .map(|r| match output {
            Some(schema) if r.tag == schema.record.name => {
                crate::schema::with_containers(&schema.record, &r)
            }
            _ => r,
        })
        .collect();
    if matching.is_empty() {
        return xml_response(format!("{DECL}<transport/>"));
    }
    // Stream record by record, as the real service writes them.
    let head = futures::stream::once(async move { Bytes::from(open) });
    let body = futures::stream::iter(matching).map(|r| {
        let mut out = String::new();
        write_record(&mut out, &r);
        Bytes::from(out)
    });
    let tail = futures::stream::once(async move { Bytes::from(close) });
    let stream = head.chain(body).chain(tail).map(Ok::<_, std::io::Error>);
    xml_response(Body::from_stream(stream))
}

/// `ts` keeps records changed at or after the filter (records without `ts` are left out;
/// whether Directo's comparison is `>` or `>=` is not documented); `date1`/`date2` bound a
/// receipt's date; other filters compare the attribute exactly (`closed=0` also matches a
/// missing `closed`).
fn matches_filters(r: &Record, since: Option<DateTime>, filters: &[(String, String)]) -> bool {
    if let Some(since) = since {
        match r.get("ts").and_then(parse_ts) {
            Some(ts) if ts >= since => {}
            _ => return false,
        }
    }
    filters.iter().all(|(k, v)| {
        let bound = || parse_dotted(v.trim()).or_else(|| parse_ts(v));
        let date = || r.get("date").or_else(|| r.get("aeg")).and_then(parse_ts);
        match k.as_str() {
            "date1" => matches!((date(), bound()), (Some(d), Some(b)) if d >= b),
            "date2" => matches!((date(), bound()), (Some(d), Some(b)) if d <= b),
            _ => r.get(k).unwrap_or(if k == "closed" { "0" } else { "" }) == v,
        }
    })
}

/// Synthetic customer `i`: a realistic mix of fields, non-ASCII names, datafields. Its `ts`
/// is 2024-01-01 00:00:00 plus `i` seconds (wrapping after 63,000,000): customers 0 to
/// 86,399 all fall on 2024-01-01.
///
/// ```
/// use directo_client::{fake::synthetic_customer, jiff::civil::date};
/// assert_eq!(synthetic_customer(0).ts, Some(date(2024, 1, 1).at(0, 0, 0, 0)));
/// assert_eq!(synthetic_customer(86_399).ts.unwrap().date(), date(2024, 1, 1));
/// assert_eq!(synthetic_customer(86_400).ts.unwrap().date(), date(2024, 1, 2));
/// ```
pub fn synthetic_customer(i: u64) -> Customer {
    const FIRST: [&str; 6] = ["Mari", "Jüri", "Tõnu", "Ülle", "Šarlota", "Žanna"];
    const LAST: [&str; 5] = ["Tamm", "Sääsk", "Õun", "Mägi", "Kõiv"];
    let first = FIRST[(i % 6) as usize];
    let last = LAST[(i % 5) as usize];
    let mut c = Customer::new(format!("C{i:08}"));
    c.name = Some(format!("{first} {last} & Pojad OÜ"));
    c.address1 = Some(format!("Pärnu mnt {}", i % 300 + 1));
    c.address2 = Some("Tallinn".into());
    c.country = Some("EE".into());
    c.phone = Some(format!("+372 5{:07}", i % 10_000_000));
    c.email = (!i.is_multiple_of(10)).then(|| {
        format!(
            "{}.{}{i}@example.ee",
            first.to_lowercase(),
            last.to_lowercase()
        )
    });
    c.regno = Some(format!("{:08}", 10_000_000 + i % 89_999_999));
    c.vatregno = i
        .is_multiple_of(3)
        .then(|| format!("EE{:09}", 100_000_000 + i % 899_999_999));
    c.class = Some(["RETAIL", "WHOLESALE", "VIP"][(i % 3) as usize].into());
    c.payterm = Some("14".into());
    c.vatzone = Some((i % 3) as i64);
    c.priceformula = Some("HIND1".into());
    c.balance = Some(rust_decimal::Decimal::new((i % 100_000) as i64, 2));
    c.creditlimit = Some(rust_decimal::Decimal::new(1000, 0));
    c.currency = Some("EUR".into());
    c.salesman = Some("MK".into());
    c.closed = Some(i.is_multiple_of(50));
    c.ts = Some(
        jiff::civil::date(2024, 1, 1)
            .at(0, 0, 0, 0)
            .saturating_add(jiff::SignedDuration::from_secs((i % 63_000_000) as i64)),
    );
    c.datafields = vec![
        DataField {
            code: "LOYALTY".into(),
            content: format!("{}", i % 7),
            param: String::new(),
        },
        DataField {
            code: "NEWSLETTER".into(),
            content: if i.is_multiple_of(2) { "jah" } else { "ei" }.into(),
            param: String::new(),
        },
    ];
    c.extra.insert("pricelist".into(), "A".into());
    c
}

fn synthetic_response(
    open: String,
    close: String,
    count: u64,
    since: Option<DateTime>,
) -> Response {
    const PER_CHUNK: u64 = 256;
    let head = futures::stream::once(async move { Bytes::from(open) });
    let body = futures::stream::iter((0..count.div_ceil(PER_CHUNK)).map(move |chunk| {
        let mut out = String::with_capacity(300 * 1024);
        for i in chunk * PER_CHUNK..((chunk + 1) * PER_CHUNK).min(count) {
            let c = synthetic_customer(i);
            if since.is_some_and(|s| c.ts.is_none_or(|ts| ts < s)) {
                continue;
            }
            write_record(&mut out, &c.to_output_record());
        }
        Bytes::from(out)
    }));
    let tail = futures::stream::once(async move { Bytes::from(close) });
    let stream = head.chain(body).chain(tail).map(Ok::<_, std::io::Error>);
    xml_response(Body::from_stream(stream))
}
