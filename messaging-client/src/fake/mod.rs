//! A stateful, in-process HTTP fake of the messaging API (feature `fake`), on loopback.
//!
//! It follows the references, quirks included: one-result collections come back as a single
//! object with numbers and booleans as strings, events/unsubscribes (and orders without
//! failures) answer with an empty body, attach/detach answer in plain text, validation errors
//! are plain-text 400s.
//!
//! And it is as strict as the service: a body with a key its schema does not know, a body not
//! declared `application/json`, a bulk import without `dedupeOn` are refused; a contact import
//! updates only the fields its request lists and applies when its session finishes; invalid
//! contacts and orders are listed as failed. Every rule cites its source in the module that
//! enforces it (`schema`, `import`, `orders`, `events`, `messages`, `contacts`, `segments`);
//! `docs/messaging-conformance.md` lists them per operation.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use messaging_client::fake::FakeMessaging;
//! let fake = FakeMessaging::start().await;
//! let client = fake.client();
//! client.add_unsubscribed(["gone@example.com"]).await.unwrap();
//! assert!(fake.unsubscribed().contains("gone@example.com"));
//! fake.fail_next(1, 500);
//! client.account_info().await.unwrap(); // retried past the injected 500
//! # });
//! ```
//!
//! The scaffolding is `marketing_sync_core::fake`'s: the loopback server, the request log and the
//! faults, each with the meaning it has in every fake (see [`FakeMessaging::fail_next`] and its
//! siblings); `routes` has one axum route per endpoint.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use marketing_sync_core::fake::{FakeServer, Harness};
use serde_json::{Value, json};

use crate::client::{ApiKey, Client, RateLimits};
use marketing_sync_core::RetryPolicy;

mod contacts;
mod events;
mod http;
mod import;
mod messages;
mod orders;
mod routes;
mod schema;
mod segments;
mod state;

pub use marketing_sync_core::fake::DropPoint;
use state::{FakeState, Segment, StatusEntry};

/// The API key the fake accepts unless told otherwise.
pub const FAKE_API_KEY: &str = "fake-api-key";

/// A request as the fake received it (a view of `marketing_sync_core::fake::ReceivedRequest`, the
/// shared request log).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, including the `/api` prefix.
    pub path: String,
    /// Query string (undecoded), if any.
    pub query: Option<String>,
    /// `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The raw body.
    pub body: String,
}

impl From<&marketing_sync_core::fake::ReceivedRequest> for ReceivedRequest {
    fn from(r: &marketing_sync_core::fake::ReceivedRequest) -> Self {
        ReceivedRequest {
            method: r.method.to_string(),
            path: r.path.clone(),
            query: r.query.clone(),
            content_type: r.header("content-type").map(str::to_owned),
            authorization: r.header("authorization").map(str::to_owned),
            body: r.body_text(),
        }
    }
}

impl ReceivedRequest {
    /// The body parsed as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// An event the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// 1 or 2 (the API version path).
    pub version: u8,
    /// The request body.
    pub body: Value,
}

/// The fake server. Dropping it stops the server.
pub struct FakeMessaging {
    server: FakeServer,
    harness: Harness,
    state: Arc<Mutex<FakeState>>,
}

impl std::fmt::Debug for FakeMessaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeMessaging")
            .field("addr", &self.server.addr())
            .finish()
    }
}

impl FakeMessaging {
    /// Starts the fake on `127.0.0.1:0` with the default catalog (`Main` address book with
    /// fields `Birthday` 15867 and `Gender` 15868) and no other data.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use messaging_client::fake::FakeMessaging;
    /// let fake = FakeMessaging::start().await;
    /// fake.client().add_unsubscribed(["a@example.com"]).await?;
    /// assert!(fake.unsubscribed().contains("a@example.com"));
    /// let request = &fake.requests()[0];
    /// assert_eq!(request.method, "POST");
    /// assert!(request.authorization.as_deref().unwrap_or_default().starts_with("Basic "));
    /// # Ok::<(), messaging_client::Error>(()) }).unwrap();
    /// ```
    pub async fn start() -> Self {
        let state = FakeState {
            api_key: FAKE_API_KEY.into(),
            next_contact: 1000,
            import_polls: 2,
            address_books: vec![json!({
                "addressBookId": "7200", "name": "Main",
                "fieldGroups": { "name": "Personal", "fields": [
                    { "id": "15867", "name": "Birthday",
                      "description": { "type": "date", "required": "false", "readonly": "false" } },
                    { "id": "15868", "name": "Gender",
                      "description": { "type": "combobox", "allowedValues": { "possibleValues": ["M", "F"] },
                                       "required": "false", "readonly": "false" } } ] }
            })],
            ..Default::default()
        };
        let state = Arc::new(Mutex::new(state));
        let harness = Harness::new().answer_faults_with(routes::fault_answer);
        let server = FakeServer::start(harness.mount(routes::router(state.clone()))).await;
        FakeMessaging {
            server,
            harness,
            state,
        }
    }

    /// The base URL to give [`ClientBuilder::base_url`](crate::ClientBuilder::base_url)
    /// (`http://127.0.0.1:<port>/api`).
    pub fn base_url(&self) -> String {
        format!("{}/api", self.server.base_url())
    }

    /// The address the fake listens on (loopback).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = messaging_client::fake::FakeMessaging::start().await;
    /// assert!(fake.addr().ip().is_loopback());
    /// # });
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The API key the fake accepts.
    pub fn api_key(&self) -> String {
        self.lock().api_key.clone()
    }

    /// A client wired to this fake: plain http allowed, millisecond retry backoff.
    pub fn client(&self) -> Client {
        Client::builder(ApiKey::new(self.api_key()))
            .base_url(self.base_url())
            .allow_http(true)
            .retry(RetryPolicy {
                max_retries: 3,
                min_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                jitter: true,
            })
            .rate_limit(RateLimits::documented())
            .build()
            .expect("fake client")
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    // ---- fault injection -------------------------------------------------------------

    /// The request log and fault queue (`marketing_sync_core::fake::Harness`), for faults beyond the
    /// shortcuts below.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = messaging_client::fake::FakeMessaging::start().await;
    /// fake.harness().fail_next(2, 503);
    /// assert_eq!(fake.harness().pending_faults(), 2);
    /// # });
    /// ```
    pub fn harness(&self) -> &Harness {
        &self.harness
    }

    /// The next `n` requests are answered `status` (plain-text body `injected failure`),
    /// unprocessed.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.harness.fail_next(n, status);
    }

    /// The next `n` requests get the service's 429 with `Retry-After: <secs>`, unprocessed.
    pub fn rate_limit_next(&self, n: usize, retry_after_secs: u64) {
        self.harness.rate_limit_next(n, retry_after_secs);
    }

    /// The connection of the next `n` requests is cut, before or after they are processed
    /// (the client sees a transport error either way).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use messaging_client::fake::{DropPoint, FakeMessaging};
    /// let fake = FakeMessaging::start().await;
    /// fake.drop_next(1, DropPoint::AfterProcessing);
    /// let client = fake.client();
    /// assert!(client.add_unsubscribed(["a@example.com"]).await.is_ok()); // repeated: a set
    /// assert_eq!(client.requests_sent(), 2);
    /// # });
    /// ```
    pub fn drop_next(&self, n: usize, point: DropPoint) {
        self.harness.drop_next(n, point);
    }

    /// The next `n` answers are delayed by `delay` (the requests are processed).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = messaging_client::fake::FakeMessaging::start().await;
    /// fake.delay_next(1, std::time::Duration::from_millis(20));
    /// fake.client().account_info().await.unwrap();
    /// # });
    /// ```
    pub fn delay_next(&self, n: usize, delay: Duration) {
        self.harness.delay_next(n, delay);
    }

    /// Delays every response by `delay` (`None` to stop).
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.harness.set_delay(delay);
    }

    /// Changes the accepted API key.
    pub fn set_api_key(&self, key: impl Into<String>) {
        self.lock().api_key = key.into();
    }

    /// How many status polls a contact import session takes to finish (default 2).
    pub fn set_import_polls(&self, polls: u32) {
        self.lock().import_polls = polls;
    }

    /// Make new contact import sessions end in `ERROR`.
    pub fn fail_imports(&self, fail: bool) {
        self.lock().fail_imports = fail;
    }

    /// Runs every pending contact import session to its end at once, as the service does
    /// whether anyone polls or not (an import applies when its session finishes).
    pub fn finish_imports(&self) {
        import::finish_all(&mut self.lock());
    }

    // ---- seeds -------------------------------------------------------------------

    /// Adds a contact (the API's JSON shape) and returns its id.
    pub fn seed_contact(&self, contact: Value) -> i64 {
        let mut s = self.lock();
        contacts::insert_contact(&mut s, contact)
    }

    /// Adds a subscription category (`key`, `name`, with a segment of that name behind it, as
    /// `groupId`) and returns its id.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = messaging_client::fake::FakeMessaging::start().await;
    /// fake.seed_subscription_category("news", "News");
    /// let all = fake.client().subscription_categories().await.unwrap();
    /// assert_eq!(all[0].key, "news");
    /// # });
    /// ```
    pub fn seed_subscription_category(&self, key: &str, name: &str) -> i64 {
        let mut s = self.lock();
        let group_id = segments::segment_by_name(&mut s, name);
        let id = s.subscription_categories.len() as i64 + 1;
        s.subscription_categories.push(json!({
            "id": id, "key": key, "groupId": group_id, "contactsCount": 0, "name": name
        }));
        id
    }

    /// Adds a segment and returns its id.
    pub fn seed_segment(&self, id: i64, name: &str, kind: &str) -> i64 {
        self.lock().segments.insert(
            id,
            Segment {
                name: name.into(),
                kind: kind.into(),
                members: BTreeSet::new(),
            },
        );
        id
    }

    /// Replaces the address books (the API's JSON shape, one object per book).
    pub fn seed_address_books(&self, books: Vec<Value>) {
        self.lock().address_books = books;
    }

    /// Adds emails to the unsubscribed set.
    pub fn seed_unsubscribed<I: IntoIterator<Item = S>, S: Into<String>>(&self, emails: I) {
        self.lock()
            .unsubscribed
            .extend(emails.into_iter().map(Into::into));
    }

    /// Stores an order (the API's JSON shape, keyed by its `externalOrderId`).
    pub fn seed_order(&self, order: Value) {
        let id = order
            .get("externalOrderId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.lock().orders.insert(id, order);
    }

    /// Forgets the requests received so far (state is kept).
    pub fn clear_requests(&self) {
        self.harness.clear_requests();
    }

    /// Sets a message status (as the status endpoint will report it). A request id of the
    /// fake's own form (a sent message restored into a new fake) keeps the ids it generates
    /// later distinct from it.
    pub fn set_message_status(
        &self,
        request_id: &str,
        status: &str,
        delivered: bool,
        failed: bool,
    ) {
        let mut s = self.lock();
        if let Some(n) = request_id
            .strip_prefix(messages::REQUEST_ID_PREFIX)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        {
            s.next_request = s.next_request.max(n);
        }
        s.statuses.insert(
            request_id.into(),
            StatusEntry {
                status: status.into(),
                delivered,
                failed,
            },
        );
    }

    // ---- state -------------------------------------------------------------------

    /// Every request received, faults included, in order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.harness
            .requests()
            .iter()
            .map(ReceivedRequest::from)
            .collect()
    }

    /// The unsubscribed email set.
    pub fn unsubscribed(&self) -> BTreeSet<String> {
        self.lock().unsubscribed.clone()
    }

    /// Events accepted so far.
    pub fn events(&self) -> Vec<RecordedEvent> {
        self.lock().events.clone()
    }

    /// Orders by `externalOrderId` (as last sent).
    pub fn orders(&self) -> BTreeMap<String, Value> {
        self.lock().orders.clone()
    }

    /// Contacts by id.
    pub fn contacts(&self) -> BTreeMap<i64, Value> {
        self.lock().contacts.clone()
    }

    /// Contact ids in a segment.
    pub fn segment_members(&self, id: i64) -> BTreeSet<i64> {
        self.lock()
            .segments
            .get(&id)
            .map(|s| s.members.clone())
            .unwrap_or_default()
    }

    /// Known request ids (sent messages) and their status names.
    pub fn message_statuses(&self) -> BTreeMap<String, String> {
        self.lock()
            .statuses
            .iter()
            .map(|(k, v)| (k.clone(), v.status.clone()))
            .collect()
    }
}
