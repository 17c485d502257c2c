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
//! It implements [`FakeService`], the one fake API of every client (the request log, the
//! faults, the credentials, a client wired to it): bring it into scope with
//! `messaging_client::prelude::*`.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use messaging_client::fake::{FakeMessaging, FakeService};
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
//! faults, each with the meaning it has in every fake (see [`FakeService::fail_next`] and its
//! siblings; an injected status or rate limit answers in the service's plain-text shape);
//! `routes` has one axum route per endpoint.

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

pub use marketing_sync_core::fake::{DropPoint, FakeService, ReceivedRequest};
use state::{FakeState, Segment, StatusEntry};

/// The API key the fake accepts unless told otherwise.
pub const FAKE_API_KEY: &str = "fake-api-key";

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
    /// use messaging_client::fake::{FakeMessaging, FakeService};
    /// let fake = FakeMessaging::start().await;
    /// fake.client().add_unsubscribed(["a@example.com"]).await?;
    /// assert!(fake.unsubscribed().contains("a@example.com"));
    /// let request = &fake.requests()[0];
    /// assert_eq!(request.method, "POST");
    /// assert!(request.header("authorization").unwrap_or_default().starts_with("Basic "));
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

    /// The address the fake listens on (loopback).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use messaging_client::prelude::*;
    /// let fake = messaging_client::fake::FakeMessaging::start().await;
    /// assert!(fake.addr().ip().is_loopback());
    /// # });
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    // ---- the service's own knobs -------------------------------------------------

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
    /// use messaging_client::prelude::*;
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

/// The one fake API ([`FakeService`]): the request log, the faults (an injected status answers
/// with a plain-text body, a rate limit with the service's 429 text and `Retry-After`), and
/// the API key it accepts.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use messaging_client::ApiKey;
/// use messaging_client::fake::{DropPoint, FakeMessaging, FakeService};
/// let fake = FakeMessaging::start().await;
/// assert!(fake.base_url().starts_with("http://127.0.0.1:") && fake.base_url().ends_with("/api"));
/// fake.drop_next(1, DropPoint::AfterProcessing);
/// // A set: repeating it is safe, so it is repeated after the cut.
/// fake.client().add_unsubscribed(["a@example.com"]).await.unwrap();
/// assert_eq!(fake.request_count(), 2);
/// fake.set_credentials(ApiKey::new("rotated"));
/// assert_eq!(fake.credentials().expose(), "rotated");
/// assert!(fake.client().account_info().await.is_ok());
/// # });
/// ```
impl FakeService for FakeMessaging {
    type Client = Client;
    type Credentials = ApiKey;

    fn harness(&self) -> &Harness {
        &self.harness
    }

    /// `http://127.0.0.1:<port>/api`, for
    /// [`ClientBuilder::base_url`](crate::ClientBuilder::base_url).
    fn base_url(&self) -> String {
        format!("{}/api", self.server.base_url())
    }

    /// A client with the accepted key: plain http allowed, millisecond retry backoff, the
    /// documented rate limits.
    fn client(&self) -> Client {
        Client::builder(self.credentials())
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

    /// The API key the fake accepts (default [`FAKE_API_KEY`]).
    fn credentials(&self) -> ApiKey {
        ApiKey::new(self.lock().api_key.clone())
    }

    /// Accept `key` (and refuse the old one) from now on.
    fn set_credentials(&self, key: ApiKey) {
        self.lock().api_key = key.expose().to_owned();
    }
}
