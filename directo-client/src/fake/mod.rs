//! A stateful, in-process fake of Directo's `xmlcore.asp` (feature `fake`), as strict as the
//! service is documented to be. Every rule it enforces cites its source where it is made:
//!
//! - `fake/http.rs`: the URLs (XML Direct and BI Direct take `token=` only, a legacy per-company URL
//!   takes `key=`), auth answered inside HTTP 200, `get=1` / `put=1` routing read from the
//!   query string or the form body, fault injection.
//! - `fake/read.rs`: `<transport><customers>…` answers streamed record by record, `ts` and only the
//!   documented filters of each component.
//! - `fake/put.rs`: `xmldata` checked against the input schemas (root and record element, unknown
//!   attributes ignored and not stored, value types, mandatory fields, the 19 MB limit),
//!   create / `xd_update` / `xd_updateconfirmed` / `xd_customer_update` semantics, and one
//!   `<Result>` per document.
//!
//! The full list, with each rule's source: [`conformance`](crate::conformance).
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

mod http;
mod put;
mod read;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};

use crate::client::{Auth, Client, RetryPolicy};
use crate::customer::Customer;
use crate::record::Record;

pub use read::synthetic_customer;

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

/// One `put=1` request the fake accepted (authorized, within the size limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPut {
    /// `what`.
    pub what: String,
    /// `xd_update=1` was sent.
    pub update: bool,
    /// The transport parameters sent (`xd_update`, `xd_updateconfirmed`, …), in order.
    pub params: Vec<(String, String)>,
    /// The raw `xmldata`.
    pub xmldata: String,
}

/// A fault to inject into the next request(s).
#[derive(Debug, Clone)]
enum Fault {
    Status(u16, Option<u64>),
    Body(Vec<u8>),
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

struct State {
    customers: BTreeMap<String, Customer>,
    /// Other components' documents, in insertion order (as Directo outputs them).
    records: BTreeMap<String, Vec<Record>>,
    synthetic: Option<u64>,
    requests: Vec<ReceivedRequest>,
    puts: Vec<ReceivedPut>,
    faults: VecDeque<Fault>,
    envelope: Envelope,
    next_docid: u64,
    max_xmldata: usize,
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

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeDirecto {
    /// The token the XML Direct and BI Direct URLs accept (`token=`).
    pub const TOKEN: &'static str = "fake-directo-token";
    /// The appkey the legacy per-company URL accepts (`key=`, or an `appkey`/`key`
    /// attribute on every written record).
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
            customers: BTreeMap::new(),
            records: BTreeMap::new(),
            synthetic: None,
            requests: Vec::new(),
            puts: Vec::new(),
            faults: VecDeque::new(),
            envelope: Envelope::default(),
            next_docid: 100_001,
            max_xmldata: crate::client::MAX_XMLDATA_BYTES,
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = state.clone();
        let app = axum::Router::new()
            .fallback(
                move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                    http::handle(shared.clone(), method, uri, headers, body)
                },
            )
            // Room for a 19 MB `xmldata` however it is percent-encoded; the documented limit
            // itself is checked on the decoded value.
            .layer(axum::extract::DefaultBodyLimit::max(128 * 1024 * 1024));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeDirecto { addr, state, task }
    }

    /// The XML Direct URL (`token=` auth): what [`client`](Self::client) uses.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, http::XML_DIRECT_PATH)
    }

    /// A legacy per-company URL (`…/xmlcore/<db>/xmlcore.asp`, `key=` auth).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::FakeDirecto, Auth, Client, Query, Record};
    /// use futures::TryStreamExt;
    /// let fake = FakeDirecto::start().await;
    /// let legacy = Client::builder(Auth::app_key(FakeDirecto::APP_KEY))
    ///     .base_url(fake.legacy_url())
    ///     .allow_http(true)
    ///     .build()?;
    /// let read: Vec<Record> = legacy.records("customer", Query::new()).try_collect().await?;
    /// assert!(read.is_empty());
    /// // The XML Direct URL takes a token only: an appkey there is "token required".
    /// let wrong = Client::builder(Auth::app_key(FakeDirecto::APP_KEY))
    ///     .base_url(fake.base_url())
    ///     .allow_http(true)
    ///     .build()?;
    /// assert!(wrong.records("customer", Query::new()).try_collect::<Vec<_>>().await.is_err());
    /// # Ok::<(), directo_client::Error>(()) }).unwrap();
    /// ```
    pub fn legacy_url(&self) -> String {
        format!("http://{}/xmlcore/fake_db/xmlcore.asp", self.addr)
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
        lock(&self.state)
    }

    /// Adds or replaces customers (by code), as Directo holds them: every field is kept,
    /// the output-only ones (`balance`, `ts`) included. Their `ts` is kept as given (`None` =
    /// never returned by a `ts`-filtered read).
    pub fn seed_customers(&self, customers: impl IntoIterator<Item = Customer>) {
        let mut s = self.state();
        for c in customers {
            s.customers.insert(c.code.clone(), c);
        }
    }

    /// Adds records for any other `what` (e.g. `item`, `receipt`) as Directo's output has
    /// them; each must be a `<{what}>` (or the element its answers use). A record with the
    /// `code`/`number` of a stored one replaces it.
    pub fn seed_records(&self, what: &str, records: impl IntoIterator<Item = Record>) {
        let mut s = self.state();
        let stored = s.records.entry(what.to_string()).or_default();
        put::upsert_all(stored, records);
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

    /// The size limit on one put's `xmldata`, in bytes (default the documented 19 MB, as
    /// 19 000 000). Lower it to exercise splitting without building 19 MB.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::FakeDirecto, Auth, Client, Customer, PutMode};
    /// let fake = FakeDirecto::start().await;
    /// fake.set_max_xmldata_bytes(1_000);
    /// let client = Client::builder(Auth::token(FakeDirecto::TOKEN))
    ///     .base_url(fake.base_url())
    ///     .allow_http(true)
    ///     .max_put_bytes(1_000)
    ///     .build()?;
    /// let customers: Vec<Customer> = (0..20)
    ///     .map(|i| {
    ///         let mut c = Customer::new(format!("C{i}"));
    ///         c.email = Some(format!("c{i}@example.ee"));
    ///         c
    ///     })
    ///     .collect();
    /// let outcomes = client.put(&customers, PutMode::Create).await?;
    /// assert!(outcomes.iter().all(|o| o.is_success()));
    /// assert!(fake.puts().len() > 1); // split to stay under the limit
    /// # Ok::<(), directo_client::Error>(()) }).unwrap();
    /// ```
    pub fn set_max_xmldata_bytes(&self, bytes: usize) {
        self.state().max_xmldata = bytes;
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

    /// Every put accepted for processing, in order.
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

    /// The next `n` requests get HTTP 200 with this body (e.g. `<err>…</err>`, or bytes that
    /// are not valid UTF-8).
    pub fn respond_next(&self, n: usize, body: impl AsRef<[u8]>) {
        let mut s = self.state();
        let body = body.as_ref().to_vec();
        s.faults.extend(std::iter::repeat_n(Fault::Body(body), n));
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
