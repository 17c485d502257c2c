//! The fake's puts (`put=1`): `xmldata` checked as Directo's input schemas describe it, the
//! transport parameters' semantics, and one `<Result>` per document.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::civil::DateTime;

use super::routes::{DECL, xml_response};
use super::{ReceivedPut, State, XmlcoreRequest, lock};
use crate::customer::Customer;
use crate::reader::RecordReader;
use crate::record::{FromRecord, Record};
use crate::schema::{ElementSchema, XsdType};
use crate::target::{KNOWN, Known, Target};
use crate::values::parse_ts;
use crate::xmldata::write_record;

/// Components whose confirmed documents `xd_updateconfirmed=1` may modify (wiki
/// `en/xml_direct/alustamine/tehnilised_nouded`).
const UPDATE_CONFIRMED: &[&str] = &["order", "invoice", "purchaseorder", "stockreceipt"];

/// The whole `xmldata` document as one [`Record`] (its root), or why it is not XML.
fn document(xmldata: &str) -> Option<Record> {
    let mut reader = quick_xml::Reader::from_str(xmldata);
    let root = loop {
        match reader.read_event().ok()? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let name = e.name();
                let name: &str = name.as_ref();
                break name.to_string();
            }
            quick_xml::events::Event::Eof => return None,
            _ => {}
        }
    };
    let mut docs = RecordReader::<_, Record>::new(xmldata.as_bytes(), &root);
    let doc = docs.next()?.ok()?;
    docs.next().is_none().then_some(doc)
}

/// Whether `xmldata` holds only characters XML 1.0 allows, raw or as character references:
/// the `Char` production (W3C XML 1.0 §2.2) and the WFC "Legal Character" (§4.1). A
/// conforming parser refuses the whole document otherwise, and Directo answers such a request
/// "8 Invalid xml given" (wiki `en/xml_direct/alustamine/vastused_ja_veakoodid`).
fn legal_chars(xmldata: &str) -> bool {
    use crate::xmldata::is_xml_char;
    if !xmldata.chars().all(is_xml_char) {
        return false;
    }
    xmldata.split("&#").skip(1).all(|rest| {
        let Some(end) = rest.find(';') else {
            return false;
        };
        let r = &rest[..end];
        let n = match r.strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => r.parse(),
        };
        n.ok().and_then(char::from_u32).is_some_and(is_xml_char)
    })
}

/// Whether every record of a legacy put carries the appkey as an attribute (Protoshell
/// bridge: `<delivery appkey="…">`; arvutitark: `<customer key="…">`).
pub(super) fn every_record_has_appkey(req: &XmlcoreRequest, app_key: &str) -> bool {
    let Some(doc) = document(req.param("xmldata").unwrap_or_default()) else {
        return false;
    };
    !doc.children.is_empty()
        && doc.children.iter().all(|r| {
            [r.get("appkey"), r.get("key")]
                .into_iter()
                .flatten()
                .any(|k| k == app_key)
        })
}

fn key_of(r: &Record) -> Option<String> {
    r.get("code")
        .or_else(|| r.get("number"))
        .map(str::to_string)
}

/// Adds `r` to `stored`, replacing the document with the same key.
pub(super) fn upsert(stored: &mut Vec<Record>, r: Record) {
    upsert_all(stored, [r]);
}

/// Adds each record to `stored`, replacing the document with the same key, in one pass
/// (seeding 100,000 records would otherwise scan the store once per record).
pub(super) fn upsert_all(stored: &mut Vec<Record>, records: impl IntoIterator<Item = Record>) {
    let mut index = std::collections::HashMap::new();
    for (i, s) in stored.iter().enumerate() {
        if let Some(k) = key_of(s) {
            index.entry(k).or_insert(i);
        }
    }
    for r in records {
        match key_of(&r) {
            Some(k) => match index.get(&k) {
                Some(&i) => stored[i] = r,
                None => {
                    index.insert(k, stored.len());
                    stored.push(r);
                }
            },
            None => stored.push(r),
        }
    }
}

/// Keeps what the input schema has, as Directo's bulk load does: "the schema silently
/// ignores unknown attributes and elements" (qbitsoftware/accounting-service
/// `directo/xml_test.go`), so an unknown or output-only attribute is never stored. `session_id`
/// is Directo's own ("do not send this field", every `xml_IN_*.xsd`). A value outside its
/// XSD type cannot be imported.
fn filtered(el: &ElementSchema, r: &Record) -> Result<Record, String> {
    let mut out = Record::new(r.tag.as_str());
    for (k, v) in &r.attrs {
        if k == "session_id" {
            continue;
        }
        if let Some(ty) = el.attr(k) {
            // Dates: the XSD says xsd:dateTime, but public clients in live use send
            // `YYYY-MM-DD` (qbitsoftware directo_adapter.go) and `DD.MM.YYYY` (its
            // xml_test.go), so every known form is taken.
            let ok = match ty {
                XsdType::DateTime => v.trim().is_empty() || parse_ts(v).is_some(),
                _ => ty.check(v).is_none(),
            };
            if !ok {
                return Err(format!("{k}: {v:?} is not a {ty:?}"));
            }
            out.attrs.insert(k.clone(), v.clone());
        }
    }
    for container in &el.containers {
        for child in r.children.iter().filter(|c| c.tag == container.name) {
            let mut items = Record::new(container.name.as_str());
            for item in child
                .children
                .iter()
                .filter(|i| i.tag == container.item.name)
            {
                items.children.push(filtered(&container.item, item)?);
            }
            out.children.push(items);
        }
    }
    Ok(out)
}

/// An input document as the output schema describes it (names by SQL field).
fn as_output(input: &ElementSchema, output: &ElementSchema, r: &Record) -> Record {
    let mut out = Record::new(r.tag.as_str());
    for (k, v) in &r.attrs {
        if let Some(name) = output.same_field(input, k) {
            out.attrs.insert(name.to_string(), v.clone());
        }
    }
    for child in &r.children {
        let Some((i, o)) = input
            .containers
            .iter()
            .find(|c| c.name == child.tag)
            .zip(output.containers.iter().find(|c| c.name == child.tag))
        else {
            continue;
        };
        let mut items = Record::new(o.name.as_str());
        for item in &child.children {
            items.children.push(as_output(&i.item, &o.item, item));
        }
        out.children.push(items);
    }
    out
}

fn now() -> DateTime {
    let now = jiff::Zoned::now().with_time_zone(
        jiff::tz::TimeZone::get("Europe/Tallinn").unwrap_or(jiff::tz::TimeZone::UTC),
    );
    now.datetime()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| now.datetime())
}

/// The transport parameters that change what a put does.
struct Mode {
    update: bool,
    update_confirmed: bool,
    partial: bool,
}

struct Answer<'a> {
    doctype: String,
    submit: String,
    out: &'a mut Vec<String>,
}

impl Answer<'_> {
    /// One `<Result Type Desc docid doctype submit/>` (wiki
    /// `en/xml_direct/alustamine/vastused_ja_veakoodid`).
    fn push(&mut self, code: u32, desc: &str, docid: &str) {
        let mut x = String::new();
        let mut r = Record::new("Result")
            .attr("Type", code.to_string())
            .attr("Desc", desc);
        if !docid.is_empty() {
            r = r.attr("docid", docid);
        }
        write_record(
            &mut x,
            &r.attr("doctype", self.doctype.as_str())
                .attr("submit", self.submit.as_str()),
        );
        self.out.push(x);
    }
}

fn results(items: &[String]) -> Response {
    xml_response(format!("{DECL}<results>{}</results>", items.concat()))
}

pub(super) fn put(state: &Arc<Mutex<State>>, req: &XmlcoreRequest, what: &str) -> Response {
    let xmldata = req.param("xmldata").unwrap_or_default().to_string();
    let mut s = lock(state);
    // "The whole XML post size limit is 19 MB" (wiki en/xml_direct/alustamine/
    // tehnilised_nouded). How Directo answers a larger post is not documented; the fake
    // answers 413, as a web server refusing a request body does (assumed).
    if xmldata.len() > s.max_xmldata {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "xmldata of {} bytes is over {}",
                xmldata.len(),
                s.max_xmldata
            ),
        )
            .into_response();
    }
    let param = |name: &str| req.param(name) == Some("1");
    let mode = Mode {
        update: param("xd_update"),
        update_confirmed: param("xd_updateconfirmed") && UPDATE_CONFIRMED.contains(&what),
        partial: (what == "customer" && param("xd_customer_update"))
            || (what == "supplier" && param("xd_supplier_update")),
    };
    s.puts.push(ReceivedPut {
        what: what.to_string(),
        update: mode.update,
        params: req
            .query
            .iter()
            .chain(&req.form)
            .filter(|(k, _)| k.starts_with("xd_"))
            .cloned()
            .collect(),
        xmldata: xmldata.clone(),
    });
    let mut out = Vec::new();
    let mut answer = Answer {
        doctype: what.to_uppercase(),
        submit: format!(
            "{}s",
            what.get(..1).unwrap_or_default().to_uppercase() + what.get(1..).unwrap_or_default()
        ),
        out: &mut out,
    };
    // Result codes: 8 "Invalid xml given" and 99 "No processable XML data found" (wiki
    // en/xml_direct/alustamine/vastused_ja_veakoodid).
    let Some(doc) = document(&xmldata).filter(|_| legal_chars(&xmldata)) else {
        answer.push(8, "Invalid xml given", "");
        return results(&out);
    };
    let known = KNOWN.iter().find(|k| k.what == what);
    // A wrong root maps to nothing in the schema: nothing processable (assumed code).
    if let Some(k) = known
        && doc.tag != k.root
    {
        answer.push(99, "No processable XML data found", "");
        return results(&out);
    }
    let documents: Vec<&Record> = doc
        .children
        .iter()
        .filter(|r| known.is_none_or(|k| r.tag == k.record))
        .collect();
    if documents.is_empty() {
        answer.push(99, "No processable XML data found", "");
        return results(&out);
    }
    for r in documents {
        // `<receipt number="…" delete="1"/>` (qbitsoftware/accounting-service
        // directo/payments.go, in live use). Customers and items: their input schemas have no
        // `delete`, and Directo ignores what its schema does not have (below).
        if r.get("delete") == Some("1") && what != "customer" && what != "item" {
            delete_record(&mut s, what, r, &mut answer);
            continue;
        }
        let mut r = r.clone();
        // Legacy installs authenticate by a per-record attribute; it is not data.
        r.attrs.shift_remove("appkey");
        r.attrs.shift_remove("key");
        if let Some(schema) = Target::of(what).ok().and_then(|t| t.schema()) {
            match filtered(&schema.record, &r) {
                Ok(f) => r = f,
                Err(_) => {
                    // 9 "Error on import" (documented code; which code a bad value gets is
                    // assumed).
                    answer.push(9, "Error on import", &key_of(&r).unwrap_or_default());
                    continue;
                }
            }
        }
        if let Some(k) = known
            && k.required.iter().any(|a| r.get(a).is_none())
        {
            // "document number/ID, mandatory" (every xml_IN_*.xsd) → 12 "Missing document
            // identificator".
            answer.push(12, "Missing document identificator", "");
            continue;
        }
        if what == "customer" {
            put_customer(&mut s, r, known, &mode, &mut answer);
        } else {
            put_record(&mut s, what, r, &mode, &mut answer);
        }
    }
    drop(s);
    results(&out)
}

fn put_customer(
    s: &mut State,
    r: Record,
    known: Option<&Known>,
    mode: &Mode,
    answer: &mut Answer<'_>,
) {
    let code = r.get("code").unwrap_or_default().to_string();
    let existing = s.customers.get(&code).cloned();
    match existing {
        // xd_customer_update=1 "updates an existing customer/supplier name, email and phone
        // (response 30 Updated)".
        Some(mut c) if mode.partial => {
            for (name, slot) in [
                ("name", &mut c.name),
                ("email", &mut c.email),
                ("phone", &mut c.phone),
            ] {
                if let Some(v) = r.attrs.get(name) {
                    *slot = (!v.is_empty()).then(|| v.clone());
                }
            }
            c.ts = Some(now());
            s.customers.insert(code.clone(), c);
            answer.push(30, "Updated", &code);
        }
        // "To modify, the component must have xd_update=1": without it an existing document
        // is a duplicate (11).
        Some(_) if !mode.update && !mode.partial => answer.push(11, "Duplicate", &code),
        _ => {
            let create = existing.is_none();
            if create
                && known.is_some_and(|k| {
                    !k.required_on_create.is_empty()
                        && k.required_on_create
                            .iter()
                            .all(|a| r.get(a).is_none_or(str::is_empty))
                })
            {
                // "email … mandatory" (xml_IN_kliendid.xsd), or the registry code: Directo's
                // answer is "Missing customer email or reg.no" (issue 22), under 13 "Missing
                // customer code / regno" (wiki en/xml_direct/alustamine/vastused_ja_veakoodid).
                answer.push(13, "Missing customer email or reg.no", &code);
                return;
            }
            let Ok(mut c) = Customer::from_record(r) else {
                answer.push(9, "Error on import", &code);
                return;
            };
            // On update the posted document overwrites the stored one ("post the whole
            // document (it is overwritten)"); what Directo computes stays.
            if let Some(old) = existing {
                c.balance = old.balance;
                c.creditbalance = old.creditbalance;
            }
            c.ts = Some(now());
            s.customers.insert(code.clone(), c);
            answer.push(0, if create { "Created" } else { "Updated" }, &code);
        }
    }
}

/// A delete: 0 when the document was there, 19 "Removal not allowed" when it is confirmed,
/// 31 "… not found" when there is none (codes: wiki
/// en/xml_direct/alustamine/vastused_ja_veakoodid; which one each case gets is assumed).
fn delete_record(s: &mut State, what: &str, r: &Record, answer: &mut Answer<'_>) {
    let key = key_of(r).unwrap_or_default();
    let stored = s.records.entry(what.to_string()).or_default();
    match stored
        .iter()
        .position(|d| key_of(d).as_deref() == Some(key.as_str()))
    {
        Some(i) if is_confirmed(&stored[i]) => answer.push(19, "Removal not allowed", &key),
        Some(i) => {
            stored.remove(i);
            answer.push(0, "Deleted", &key);
        }
        None => answer.push(31, "Document not found", &key),
    }
}

fn is_confirmed(r: &Record) -> bool {
    r.get("confirmed") == Some("1") || r.get("confirm") == Some("1")
}

fn put_record(s: &mut State, what: &str, mut r: Record, mode: &Mode, answer: &mut Answer<'_>) {
    let stored = s.records.entry(what.to_string()).or_default();
    let key = key_of(&r);
    let existing = key
        .as_ref()
        .and_then(|k| stored.iter().position(|d| key_of(d).as_ref() == Some(k)));
    if let Some(i) = existing {
        if !mode.update {
            answer.push(11, "Duplicate", key.as_deref().unwrap_or_default());
            return;
        }
        // "A confirmed document cannot be modified – response Type=14 … Exception:
        // xd_updateconfirmed=1 … order, invoice, purchaseorder, stockreceipt. Exception: a
        // delivery document cannot be modified."
        if what == "delivery" || (is_confirmed(&stored[i]) && !mode.update_confirmed) {
            answer.push(14, "Update not allowed", key.as_deref().unwrap_or_default());
            return;
        }
    }
    let docid = match &key {
        Some(k) => k.clone(),
        None => {
            let n = s.next_docid;
            s.next_docid += 1;
            r.attrs.insert("number".into(), n.to_string());
            n.to_string()
        }
    };
    // Directo's output carries `confirmed` and `ts` ("document last changed").
    let confirm = r.get("confirm").map(str::to_string);
    // What a read returns is the output schema's view of the document: each input field
    // under its output name (same `sql:field`), input-only ones not at all.
    if let (Some(input), Some(output)) = (
        Target::of(what).ok().and_then(|t| t.schema()),
        crate::schema::output_schema(what),
    ) {
        r = as_output(&input.record, &output.record, &r);
    }
    if let Some(c) = confirm {
        r.attrs.insert("confirmed".into(), c);
    }
    r.attrs.insert("ts".into(), now().to_string());
    let stored = s.records.entry(what.to_string()).or_default();
    upsert(stored, r);
    answer.push(
        0,
        if existing.is_some() {
            "Updated"
        } else {
            "Created"
        },
        &docid,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(code: &str, name: &str) -> Record {
        Record::new("item").attr("code", code).attr("name", name)
    }

    #[test]
    fn seeding_replaces_by_key_and_keeps_the_order_of_first_arrival() {
        let mut stored = vec![
            item("A", "old A"),
            Record::new("item").attr("name", "no key"),
        ];
        upsert_all(
            &mut stored,
            [
                item("B", "B"),
                item("A", "new A"),
                item("B", "new B"),
                item("C", "C"),
            ],
        );
        let names: Vec<_> = stored.iter().map(|r| r.get("name").unwrap()).collect();
        assert_eq!(names, ["new A", "no key", "new B", "C"]);
        upsert(&mut stored, item("C", "new C"));
        assert_eq!(stored.len(), 4);
        assert_eq!(stored[3].get("name"), Some("new C"));
    }
}
