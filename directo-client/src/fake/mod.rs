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
//! The request log and the faults are the suite's one fake API, [`FakeService`] (in scope with
//! `directo_client::prelude::*`), with the same meaning in every fake of the suite:
//! [`fail_next`](FakeService::fail_next), [`rate_limit_next`](FakeService::rate_limit_next)
//! and [`reply_next`](FakeService::reply_next) answer unprocessed,
//! [`delay_next`](FakeService::delay_next) processes after the wait, and
//! [`drop_next`](FakeService::drop_next) cuts the connection before or after processing.
//! [`requests`](FakeService::requests) is the raw log;
//! [`xmlcore_requests`](FakeDirecto::xmlcore_requests) the same requests as `xmlcore.asp`
//! reads their parameters.
//!
//! The full list, with each rule's source: [`conformance`](crate::conformance).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use directo_client::prelude::*;
//! use directo_client::{fake::FakeDirecto, Customer, Query};
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

use marketing_sync_core::fake::{FakeServer, Harness};

use crate::client::{Auth, Client, RetryPolicy};
use crate::customer::Customer;
use crate::record::Record;
use state::{Shared, State, lock};

pub use marketing_sync_core::fake::{DropPoint, FakeService, ReceivedRequest};
pub use read::synthetic_customer;
pub use state::{Envelope, ReceivedPut, XmlcoreRequest};

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
    /// The token the XML Direct and BI Direct URLs accept (`token=`) until
    /// [`set_credentials`](FakeService::set_credentials) changes it.
    pub const TOKEN: &'static str = "fake-directo-token";
    /// The appkey the legacy per-company URL accepts (`key=`, or an `appkey`/`key`
    /// attribute on every written record) until
    /// [`set_credentials`](FakeService::set_credentials) changes it.
    pub const APP_KEY: &'static str = "0123456789ABCDEF0123456789ABCDEF";

    /// Starts the fake on `127.0.0.1` (random port), with no data.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::prelude::*;
    /// use directo_client::{fake::FakeDirecto, Customer, Query};
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

    /// The XML Direct URL (`token=` auth): what [`client`](Self::client) uses (also
    /// [`FakeService::base_url`]).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = directo_client::fake::FakeDirecto::start().await;
    /// assert!(fake.base_url().ends_with("/xmlcore/cap_xml_direct/xmlcore.asp"));
    /// # });
    /// ```
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

    /// A client for this fake: the token it accepts now, http allowed, millisecond retries
    /// (also [`FakeService::client`]).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::FakeDirecto, Customer, PutMode};
    /// let fake = FakeDirecto::start().await;
    /// let mut c = Customer::new("C1");
    /// c.email = Some("c1@example.ee".into());
    /// assert!(fake.client().put(&[c], PutMode::Create).await[0].is_ok());
    /// # });
    /// ```
    pub fn client(&self) -> Client {
        let token = self.state().token.clone();
        Client::builder(Auth::token(token))
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
    ///
    /// Their dates: customer `i` ([`synthetic_customer`]) has `ts` 2024-01-01 00:00:00 plus
    /// `i` seconds, so every customer of a set of up to 86,400 falls on **2024-01-01** (and
    /// a `since` filter of any later day returns none of them). Larger sets run on, one day
    /// per 86,400 customers.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::prelude::*;
    /// use directo_client::{fake::FakeDirecto, jiff::civil::date, Customer, Query};
    /// let fake = FakeDirecto::start().await;
    /// fake.generate_customers(Some(1_000));
    /// let all: Vec<Customer> = fake.client().customers(Query::new()).try_collect().await?;
    /// assert_eq!(all.len(), 1_000);
    /// assert!(all.iter().all(|c| c.ts.unwrap().date() == date(2024, 1, 1)));
    /// let later = fake.client().customers(Query::new().since(date(2024, 1, 2)));
    /// assert_eq!(later.try_collect::<Vec<_>>().await?.len(), 0);
    /// # Ok::<(), directo_client::Error>(()) }).unwrap();
    /// ```
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

    /// Every request received, in order (faulted ones included), as `xmlcore.asp` reads its
    /// parameters (query string, then form body). The raw log is
    /// [`FakeService::requests`].
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::prelude::*;
    /// use directo_client::{fake::FakeDirecto, Query, Record};
    /// let fake = FakeDirecto::start().await;
    /// let _: Vec<Record> = fake.client().records("item", Query::new()).try_collect().await.unwrap();
    /// let seen = &fake.xmlcore_requests()[0];
    /// assert_eq!((seen.param("get"), seen.param("what")), (Some("1"), Some("item")));
    /// assert_eq!(fake.requests()[0].method, "POST");
    /// # });
    /// ```
    pub fn xmlcore_requests(&self) -> Vec<XmlcoreRequest> {
        self.harness
            .requests()
            .iter()
            .map(XmlcoreRequest::from)
            .collect()
    }

    /// Every put accepted for processing, in order.
    pub fn puts(&self) -> Vec<ReceivedPut> {
        self.state().puts.clone()
    }
}

/// The suite's one fake API: the request log, every fault, and the credentials (an
/// [`Auth`]: the token the XML Direct and BI Direct URLs accept, or the appkey of the
/// legacy URL).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use directo_client::prelude::*;
/// use directo_client::{fake::FakeDirecto, Auth, Customer, Error, Query};
/// let fake = FakeDirecto::start().await;
/// let old = fake.client();
/// fake.set_credentials(Auth::token("rotated"));
/// let refused = old.customers(Query::new()).try_collect::<Vec<Customer>>().await;
/// assert!(matches!(refused, Err(Error::Unauthorized { .. })));
/// assert!(fake.client().customers(Query::new()).try_collect::<Vec<Customer>>().await.is_ok());
/// # });
/// ```
impl FakeService for FakeDirecto {
    type Client = Client;
    type Credentials = Auth;

    fn harness(&self) -> &Harness {
        &self.harness
    }

    fn base_url(&self) -> String {
        FakeDirecto::base_url(self)
    }

    fn client(&self) -> Client {
        FakeDirecto::client(self)
    }

    /// The token the XML Direct and BI Direct URLs accept now (what
    /// [`client`](FakeDirecto::client) uses).
    fn credentials(&self) -> Auth {
        Auth::token(self.state().token.clone())
    }

    /// A token changes what the XML Direct and BI Direct URLs accept; an appkey what the
    /// legacy URL ([`legacy_url`](FakeDirecto::legacy_url)) accepts. The old one is refused
    /// from then on (`<result type="5" desc="Unauthorized"/>`).
    fn set_credentials(&self, credentials: Auth) {
        let mut s = self.state();
        match credentials {
            Auth::Token(token) => s.token = token.expose().to_string(),
            Auth::AppKey(key) => s.app_key = key.expose().to_string(),
        }
    }
}
