//! A stateful, in-process fake of Directo's `xmlcore.asp` (feature `fake`), as strict as the
//! service is documented to be. Every rule it enforces cites its source where it is made:
//!
//! - `fake/routes.rs`: a route per URL (XML Direct and BI Direct take `token=` only, a legacy
//!   per-company URL takes `key=`), auth answered inside HTTP 200, `get=1` / `put=1` routing
//!   read from the query string or the form body.
//! - `fake/state.rs`: the data it holds and its view of a request.
//! - `fake/read.rs`: `<transport><customers>…` answers streamed record by record, `ts` and only the
//!   documented filters of each component.
//! - `fake/put.rs`: `xmldata` checked against the input schemas (root and record element, unknown
//!   attributes ignored and not stored, value types, mandatory fields, the 19 MB limit),
//!   create / `xd_update` / `xd_updateconfirmed` / `xd_customer_update` semantics, and one
//!   `<Result>` per document.
//!
//! The request log and the faults are `marketing_sync_core::fake`'s, with the same meaning in every
//! fake of the suite: [`fail_next`](FakeDirecto::fail_next) and
//! [`rate_limit_next`](FakeDirecto::rate_limit_next) answer unprocessed,
//! [`delay_next`](FakeDirecto::delay_next) processes after the wait, and
//! [`drop_next`](FakeDirecto::drop_next) cuts the connection before or after processing.
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

mod put;
mod read;
mod routes;
mod state;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use marketing_sync_core::fake::{FakeServer, Harness};

use crate::client::{Auth, Client, RetryPolicy};
use crate::customer::Customer;
use crate::record::Record;
use state::{Shared, State, lock};

pub use marketing_sync_core::fake::DropPoint;
pub use read::synthetic_customer;
pub use state::{Envelope, ReceivedPut, ReceivedRequest};

/// The fake. Dropping it stops the server.
pub struct FakeDirecto {
    server: FakeServer,
    harness: Harness,
    state: Shared,
}

impl std::fmt::Debug for FakeDirecto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDirecto")
            .field("addr", &self.server.addr())
            .finish()
    }
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
        let state: Shared = Arc::new(Mutex::new(State::default()));
        let harness = Harness::new();
        let server = FakeServer::start(routes::app(state.clone(), &harness)).await;
        FakeDirecto {
            server,
            harness,
            state,
        }
    }

    /// The XML Direct URL (`token=` auth): what [`client`](Self::client) uses.
    pub fn base_url(&self) -> String {
        format!("{}{}", self.server.base_url(), routes::XML_DIRECT_PATH)
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
        format!("{}/xmlcore/fake_db/xmlcore.asp", self.server.base_url())
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

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
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
    /// let outcomes = client.put(&customers, PutMode::Create).await;
    /// assert!(outcomes.iter().all(|o| o.is_ok()));
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
        self.harness
            .requests()
            .iter()
            .map(ReceivedRequest::from)
            .collect()
    }

    /// Every put accepted for processing, in order.
    pub fn puts(&self) -> Vec<ReceivedPut> {
        self.state().puts.clone()
    }

    /// The next `n` requests fail with HTTP `status` (empty body), unprocessed.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.harness.fail_next(n, status);
    }

    /// The next `n` requests get `429` with `Retry-After: retry_after_secs`, unprocessed.
    pub fn rate_limit_next(&self, n: usize, retry_after_secs: u64) {
        self.harness.rate_limit_next(n, retry_after_secs);
    }

    /// The next `n` requests get HTTP 200 with this XML body (e.g. `<err>…</err>`, or bytes
    /// that are not valid UTF-8), unprocessed.
    pub fn respond_next(&self, n: usize, body: impl AsRef<[u8]>) {
        let body = body.as_ref().to_vec();
        self.harness
            .reply_next(n, 200, "text/xml; charset=utf-8", body);
    }

    /// The next `n` requests wait `delay`, then are processed and answered (also when the
    /// client stopped waiting, as a server finishes what it started).
    pub fn delay_next(&self, n: usize, delay: Duration) {
        self.harness.delay_next(n, delay);
    }

    /// The next `n` requests' connections are cut: before processing (headers, then a broken
    /// body), or after (half of the real answer, then a broken body).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::{DropPoint, FakeDirecto}, Customer, PutMode};
    /// let fake = FakeDirecto::start().await;
    /// let mut c = Customer::new("C1");
    /// c.email = Some("c1@example.ee".into());
    /// fake.drop_next(1, DropPoint::AfterProcessing);
    /// let outcomes = fake.client().put(&[c], PutMode::Create).await;
    /// assert!(outcomes[0].result.is_err()); // the client cannot know…
    /// assert_eq!(fake.customers().len(), 1); // …that it went through: puts are never repeated
    /// # });
    /// ```
    pub fn drop_next(&self, n: usize, point: DropPoint) {
        self.harness.drop_next(n, point);
    }
}
