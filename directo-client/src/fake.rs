//! A stateful, in-process fake of Directo's `xmlcore.asp` (feature `fake`), following the
//! reference: `get=1`/`put=1` with `what`, auth by `token=` or `key=` in the query or the form
//! body, errors inside HTTP 200 (`<err>token required</err>`,
//! `<result type="5" desc="Unauthorized"/>`), `<transport><customers>…` answers streamed
//! record by record, `ts` filtering, `<results><Result …/>` answers to puts, and fault injection.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use directo_client::{fake::FakeDirecto, Customer, Query};
//! use futures::TryStreamExt;
//! let fake = FakeDirecto::start().await;
//! fake.seed_customers([Customer::new("C1")]);
//! fake.fail_next(1, 503); // the client retries reads
//! let all: Vec<Customer> = fake.client().customers(Query::new()).try_collect().await.unwrap();
//! assert_eq!(all.len(), 1);
//! assert_eq!(fake.requests().len(), 2);
//! # });
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use jiff::civil::DateTime;

use crate::client::{Auth, Client, RetryPolicy};
use crate::customer::{Customer, DataField, customer_with_ts};
use crate::reader::RecordReader;
use crate::record::{FromRecord, Record};
use crate::values::{parse_dotted, parse_ts};
use crate::write::write_record;

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The URL path.
    pub path: String,
    /// Query string pairs, in order.
    pub query: Vec<(String, String)>,
    /// Form body pairs, in order (empty for GET).
    pub form: Vec<(String, String)>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
}

impl ReceivedRequest {
    /// A parameter as ASP's `Request(name)` sees it: the query string first, then the form.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(&self.form)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One accepted `put=1` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPut {
    /// `what`.
    pub what: String,
    /// `xd_update=1` was sent.
    pub update: bool,
    /// The raw `xmldata`.
    pub xmldata: String,
}

/// A fault to inject into the next request(s).
#[derive(Debug, Clone)]
enum Fault {
    Status(u16, Option<u64>),
    Body(String),
    Delay(Duration),
    Drop,
}

/// Which envelope reads are answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Envelope {
    /// `<transport><customers><customer/>…</customers></transport>` (default).
    #[default]
    WithContainer,
    /// `<transport><customer/>…</transport>`.
    NoContainer,
}

#[derive(Default)]
struct State {
    customers: BTreeMap<String, Customer>,
    records: BTreeMap<String, Vec<Record>>,
    synthetic: Option<u64>,
    requests: Vec<ReceivedRequest>,
    puts: Vec<ReceivedPut>,
    faults: VecDeque<Fault>,
    envelope: Envelope,
    next_docid: u64,
}

/// The fake. Dropping it stops the server.
pub struct FakeDirecto {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeDirecto {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeDirecto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDirecto")
            .field("addr", &self.addr)
            .finish()
    }
}

impl FakeDirecto {
    /// The token the fake accepts (`token=`).
    pub const TOKEN: &'static str = "fake-directo-token";
    /// The legacy appkey the fake accepts (`key=`).
    pub const APP_KEY: &'static str = "0123456789ABCDEF0123456789ABCDEF";

    /// Starts the fake on `127.0.0.1` (random port), with no data.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::FakeDirecto, Customer, Query};
    /// use futures::TryStreamExt;
    /// let fake = FakeDirecto::start().await;
    /// assert!(fake.base_url().starts_with("http://127.0.0.1:"));
    /// fake.seed_customers([Customer::new("C1"), Customer::new("C2")]);
    /// let read: Vec<Customer> = fake.client().customers(Query::new()).try_collect().await?;
    /// assert_eq!(read.len(), 2);
    /// assert_eq!(fake.requests().len(), 1);
    /// # Ok::<(), directo_client::Error>(()) }).unwrap();
    /// ```
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            next_docid: 100_001,
            ..State::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                handle(shared.clone(), method, uri, headers, body)
            },
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeDirecto { addr, state, task }
    }

    /// The `xmlcore.asp` URL to give the client.
    pub fn base_url(&self) -> String {
        format!("http://{}/xmlcore/cap_xml_direct/xmlcore.asp", self.addr)
    }

    /// A client for this fake: token auth, http allowed, millisecond retries.
    pub fn client(&self) -> Client {
        Client::builder(Auth::token(Self::TOKEN))
            .base_url(self.base_url())
            .allow_http(true)
            .retry(RetryPolicy::fast(3))
            .build()
            .expect("fake client")
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds or replaces customers (by code). Their `ts` is kept as given (`None` = never
    /// returned by a `ts`-filtered read).
    pub fn seed_customers(&self, customers: impl IntoIterator<Item = Customer>) {
        let mut s = self.state();
        for c in customers {
            s.customers.insert(c.code.clone(), c);
        }
    }

    /// Adds records for any other `what` (e.g. `item`, `receipt`); each must be a `<{what}>`.
    pub fn seed_records(&self, what: &str, records: impl IntoIterator<Item = Record>) {
        self.state()
            .records
            .entry(what.to_string())
            .or_default()
            .extend(records);
    }

    /// Answers customer reads with `count` synthetic customers generated on the fly (never
    /// held in memory), instead of the seeded ones; for streaming and memory tests.
    /// Each is about 500 bytes on the wire. `None` goes back to the seeded customers.
    pub fn generate_customers(&self, count: Option<u64>) {
        self.state().synthetic = count;
    }

    /// Which read envelope to use.
    pub fn set_envelope(&self, envelope: Envelope) {
        self.state().envelope = envelope;
    }

    /// The stored customers, by code.
    pub fn customers(&self) -> Vec<Customer> {
        self.state().customers.values().cloned().collect()
    }

    /// The stored records of `what` (other than customers), including accepted puts.
    pub fn records(&self, what: &str) -> Vec<Record> {
        self.state().records.get(what).cloned().unwrap_or_default()
    }

    /// Every request received, in order (faulted ones included).
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.state().requests.clone()
    }

    /// Every put received (after auth), in order.
    pub fn puts(&self) -> Vec<ReceivedPut> {
        self.state().puts.clone()
    }

    /// The next `n` requests fail with HTTP `status` (empty body).
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut s = self.state();
        s.faults
            .extend(std::iter::repeat_n(Fault::Status(status, None), n));
    }

    /// The next request gets `429` with `Retry-After: secs`.
    pub fn rate_limit_next(&self, retry_after_secs: u64) {
        self.state()
            .faults
            .push_back(Fault::Status(429, Some(retry_after_secs)));
    }

    /// The next `n` requests get HTTP 200 with this body (e.g. `<err>…</err>`).
    pub fn respond_next(&self, n: usize, body: &str) {
        let mut s = self.state();
        s.faults
            .extend(std::iter::repeat_n(Fault::Body(body.to_string()), n));
    }

    /// The next request waits `delay` before answering.
    pub fn delay_next(&self, delay: Duration) {
        self.state().faults.push_back(Fault::Delay(delay));
    }

    /// The next request's answer is cut off mid-body (the connection drops).
    pub fn drop_next(&self) {
        self.state().faults.push_back(Fault::Drop);
    }
}

fn xml_response(body: impl Into<Body>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

async fn handle(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parse = |s: &[u8]| -> Vec<(String, String)> {
        url::form_urlencoded::parse(s).into_owned().collect()
    };
    let req = ReceivedRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: parse(uri.query().unwrap_or_default().as_bytes()),
        form: if method == Method::POST {
            parse(&body)
        } else {
            Vec::new()
        },
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    let fault = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests.push(req.clone());
        s.faults.pop_front()
    };
    let mut drop_mid_body = false;
    match fault {
        Some(Fault::Status(code, retry_after)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = status.into_response();
            if let Some(secs) = retry_after {
                resp.headers_mut().insert(
                    header::RETRY_AFTER,
                    secs.to_string().parse().expect("header"),
                );
            }
            return resp;
        }
        Some(Fault::Body(b)) => return xml_response(b),
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Drop) => drop_mid_body = true,
        None => {}
    }
    // Auth, as XML Direct answers it (inside a 200).
    let authorized = match (req.param("token"), req.param("key")) {
        (Some(t), _) => t == FakeDirecto::TOKEN,
        (None, Some(k)) => k == FakeDirecto::APP_KEY,
        (None, None) => return xml_response("<err>token required</err>"),
    };
    if !authorized {
        return xml_response(r#"<result type="5" desc="Unauthorized"/>"#);
    }
    let what = req.param("what").unwrap_or_default().to_string();
    if req.param("get") == Some("1") {
        let resp = read(&state, &req, &what);
        if drop_mid_body {
            return cut(resp).await;
        }
        return resp;
    }
    if req.param("put") == Some("1") {
        if method != Method::POST {
            return xml_response(r#"<result type="8" desc="Invalid xml given"/>"#);
        }
        return xml_response(put(&state, &req, &what));
    }
    xml_response(r#"<result type="404" desc="Invalid url given"/>"#)
}

/// Sends the first bytes of an answer, then fails the body (the client sees a cut connection).
async fn cut(resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    let stream = futures::stream::iter([
        Ok::<_, std::io::Error>(half),
        Err(std::io::Error::other("connection dropped by FakeDirecto")),
    ]);
    Response::from_parts(parts, Body::from_stream(stream))
}

fn read(state: &Arc<Mutex<State>>, req: &ReceivedRequest, what: &str) -> Response {
    if what.is_empty() {
        return xml_response(r#"<result type="404" desc="Invalid url given"/>"#);
    }
    let since = match req.param("ts") {
        None | Some("") => None,
        Some(raw) => match parse_dotted(raw.trim()) {
            Some(ts) => Some(ts),
            None => return xml_response(format!("<err>invalid ts: {raw}</err>")),
        },
    };
    // Component filters: any other parameter compared with the attribute of that name.
    let filters: Vec<(String, String)> = req
        .query
        .iter()
        .chain(&req.form)
        .filter(|(k, _)| !matches!(k.as_str(), "get" | "what" | "ts" | "token" | "key"))
        .cloned()
        .collect();
    let mut seen = std::collections::HashSet::new();
    let filters: Vec<(String, String)> = filters
        .into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect();
    let s = state.lock().unwrap_or_else(|e| e.into_inner());
    let envelope = s.envelope;
    let (open, close) = match envelope {
        Envelope::WithContainer => (
            format!("{DECL}<transport><{what}s>"),
            format!("</{what}s></transport>"),
        ),
        Envelope::NoContainer => (format!("{DECL}<transport>"), "</transport>".to_string()),
    };
    if let (true, Some(count)) = (what == "customer", s.synthetic) {
        drop(s);
        return synthetic_response(open, close, count, since);
    }
    let records: Vec<Record> = if what == "customer" {
        s.customers.values().map(customer_with_ts).collect()
    } else {
        s.records.get(what).cloned().unwrap_or_default()
    };
    drop(s);
    let matching: Vec<Record> = records
        .into_iter()
        .filter(|r| matches_filters(r, since, &filters))
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

/// `ts` keeps records changed at or after the filter (records without `ts` are left out);
/// other filters compare the attribute exactly (`closed=0` also matches a missing `closed`).
fn matches_filters(r: &Record, since: Option<DateTime>, filters: &[(String, String)]) -> bool {
    if let Some(since) = since {
        match r.get("ts").and_then(parse_ts) {
            Some(ts) if ts >= since => {}
            _ => return false,
        }
    }
    filters.iter().all(|(k, v)| {
        let have = r.get(k).unwrap_or(if k == "closed" { "0" } else { "" });
        have == v
    })
}

/// Synthetic customer `i`: a realistic mix of fields, non-ASCII names, datafields.
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
    c.vatregion = Some((i % 3) as i32);
    c.priceformula = Some("HIND1".into());
    c.balance = Some(rust_decimal::Decimal::new((i % 100_000) as i64, 2));
    c.creditlimit = Some(rust_decimal::Decimal::new(1000, 0));
    c.currency = Some("EUR".into());
    c.salesman = Some("MK".into());
    c.closed = i.is_multiple_of(50);
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
            write_record(&mut out, &customer_with_ts(&c));
        }
        Bytes::from(out)
    }));
    let tail = futures::stream::once(async move { Bytes::from(close) });
    let stream = head.chain(body).chain(tail).map(Ok::<_, std::io::Error>);
    xml_response(Body::from_stream(stream))
}

fn put(state: &Arc<Mutex<State>>, req: &ReceivedRequest, what: &str) -> String {
    let xmldata = req.param("xmldata").unwrap_or_default().to_string();
    let update = req.param("xd_update") == Some("1");
    let parsed: Result<Vec<Record>, _> =
        RecordReader::<_, Record>::new(xmldata.as_bytes(), what).collect();
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.puts.push(ReceivedPut {
        what: what.to_string(),
        update,
        xmldata: xmldata.clone(),
    });
    let records = match parsed {
        Ok(r) => r,
        Err(_) => return results([r#"<Result Type="8" Desc="Invalid xml given"/>"#.to_string()]),
    };
    if records.is_empty() {
        return results([
            r#"<Result Type="99" Desc="No processable XML data found"/>"#.to_string(),
        ]);
    }
    let doctype = what.to_uppercase();
    let submit = format!("{}{}s", what[..1].to_uppercase(), &what[1..]);
    let mut out = Vec::new();
    for mut r in records {
        // Legacy installs authenticate by a per-record attribute; it is not data.
        r.attrs.shift_remove("appkey");
        r.attrs.shift_remove("key");
        let result = |code: u32, desc: &str, docid: &str| {
            let mut x = String::new();
            write_record(
                &mut x,
                &Record::new("Result")
                    .attr("Type", code.to_string())
                    .attr("Desc", desc)
                    .attr("docid", docid)
                    .attr("doctype", doctype.as_str())
                    .attr("submit", submit.as_str()),
            );
            x
        };
        if what == "customer" {
            let Some(code) = r.get("code").map(str::to_string) else {
                out.push(result(12, "Missing document identificator", ""));
                continue;
            };
            let exists = s.customers.contains_key(&code);
            if exists && !update {
                out.push(result(11, "Duplicate", &code));
                continue;
            }
            let mut c = Customer::from_record(r);
            c.ts = Some(now());
            s.customers.insert(code.clone(), c);
            out.push(result(0, if exists { "Updated" } else { "Created" }, &code));
        } else {
            let docid = s.next_docid.to_string();
            s.next_docid += 1;
            s.records.entry(what.to_string()).or_default().push(r);
            out.push(result(0, "Created", &docid));
        }
    }
    results(out)
}

fn now() -> DateTime {
    let now = jiff::Zoned::now().with_time_zone(
        jiff::tz::TimeZone::get("Europe/Tallinn").unwrap_or(jiff::tz::TimeZone::UTC),
    );
    now.datetime()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| now.datetime())
}

fn results(items: impl IntoIterator<Item = String>) -> String {
    let mut out = format!("{DECL}<results>");
    for i in items {
        out.push_str(&i);
    }
    out.push_str("</results>");
    out
}
