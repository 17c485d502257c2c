//! A stateful, in-process HTTP fake of Smaily (feature `fake`), on loopback.
//!
//! It follows the reference, not the client, and every rule it enforces names its source
//! beside the code: answers are JSON sent as `text/html`; business errors are body codes on
//! HTTP 200 (206 for a subscriber miss, 204 for a malformed email, 203 for a reserved-TLD
//! email or a batch with any bad row, whose good rows are still saved, 207 for a missing
//! field, 208 for an unknown segment, 215/216 for a bad or unknown campaign, …); 401 for bad
//! credentials, 403 + 227 when plan-blocked (before auth), 404 with an empty body for an
//! unknown script. Bodies are read as their `Content-Type` says (JSON or a PHP form; anything
//! else carries no parameters), `message/send.php` takes JSON only.
//!
//! It serves `contact.php`, `contact/forget.php`, `list.php` (segments with rules, beyond the
//! well-known 1 and 2), `campaign.php`, `unsubscribe.php`, `split.php`, `autoresponder.php`,
//! `workflows.php`, `message/send.php`, `message/action/log.php`, `history.php` (filled by what
//! happens to subscribers), `templates.php` and `organizations/users.php`. Page indexes follow
//! [`Paging`] (the references disagree; see there).
//!
//! The request log, the credentials and the faults are the suite's one fake API,
//! [`FakeService`] (bring it into scope with `smaily_client::prelude::*`), with the same
//! meaning in every fake of the suite: fail the next N requests with a status (a 5xx with a
//! JSON error body, 403 with Smaily's 227 body, 429 with `Retry-After`, others empty), with
//! 429 + `Retry-After`, drop the connection before or after processing, delay answers. Smaily's
//! own: fail with a body code ([`FakeSmaily::fail_next_with_code`]), and Smaily's rate limit,
//! enforced over a sliding one-second window (on by default, as on the service;
//! [`FakeSmaily::enforce_rate_limit`]).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use smaily_client::fake::{FakeService, FakeSmaily};
//! use smaily_client::Subscriber;
//! let fake = FakeSmaily::start().await;
//! let client = fake.client();
//! fake.fail_next(1, 503); // answered as Smaily answers a 503
//! assert_eq!(fake.credentials().user(), smaily_client::fake::FAKE_USER);
//! client.upsert(&Subscriber::new("mari@example.com")).await.unwrap(); // retried past the 503
//! assert!(!fake.subscriber("mari@example.com").unwrap().is_unsubscribed);
//! assert_eq!(fake.request_count(), 2);
//! # });
//! ```

mod automations;
mod campaigns;
mod catalog;
mod contacts;
mod http;
mod logs;
mod segments;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use marketing_sync_core::fake::{FakeServer, Harness};
use serde_json::{Value, json};

pub use marketing_sync_core::fake::{DropPoint, FakeService, ReceivedRequest};
pub use state::{FakeCampaign, FakeContact, Paging, SmailyRequest, Trigger};

use crate::RetryPolicy;
use crate::client::{Client, Credentials};
use crate::segments::SegmentDefinition;
use crate::subscribers::Subscriber;
use state::{FakeState, SegmentRecord, now_text};

/// The API user the fake accepts unless told otherwise.
pub const FAKE_USER: &str = "fake-user";
/// The API password the fake accepts unless told otherwise.
pub const FAKE_PASSWORD: &str = "fake-password";

/// The fake server. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeSmaily {
    server: FakeServer,
    harness: Harness,
    state: Arc<Mutex<FakeState>>,
}

impl FakeSmaily {
    /// Starts the fake on `127.0.0.1:<free port>`, with no subscribers, segments 1 and 2,
    /// workflow 1 ("Welcome", ACTIVE, form submitted, one section), template 5, credentials
    /// [`FAKE_USER`] / [`FAKE_PASSWORD`], documented paging, and Smaily's rate limit enforced
    /// (5 requests in any sliding second; [`enforce_rate_limit`](Self::enforce_rate_limit)).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use smaily_client::{fake::{FakeService, FakeSmaily}, Subscriber};
    /// let fake = FakeSmaily::start().await;
    /// fake.client().upsert(&Subscriber::new("mari@example.com")).await?;
    /// assert_eq!(fake.subscriber_count(), 1);
    /// assert_eq!(fake.requests()[0].path, "/api/contact.php");
    /// # Ok::<(), smaily_client::Error>(()) }).unwrap();
    /// ```
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState::new()));
        let harness = Harness::new().answer_faults_with(http::fault_answer);
        let server = FakeServer::start(http::app(Arc::clone(&state), &harness)).await;
        FakeSmaily {
            server,
            harness,
            state,
        }
    }

    /// The API root for [`ClientBuilder::base_url`](crate::ClientBuilder::base_url):
    /// `http://127.0.0.1:<port>/api/`.
    pub fn base_url(&self) -> String {
        format!("{}/api/", self.server.base_url())
    }

    /// A client for this fake: its credentials, plain http allowed, the client's own rate
    /// limiter (the default, as against Smaily, so it meets the fake's enforced limit the way
    /// it meets the service's), fast retries (3, milliseconds apart).
    pub fn client(&self) -> Client {
        self.client_builder().build().expect("fake client")
    }

    /// A builder preset like [`client`](Self::client), to adjust further.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// let client = fake.client_builder().batch_size(100).build()?;
    /// # drop(client);
    /// # Ok::<(), smaily_client::Error>(()) }).unwrap();
    /// ```
    pub fn client_builder(&self) -> crate::ClientBuilder {
        Client::builder(FakeService::credentials(self))
            .base_url(self.base_url())
            .allow_http(true)
            .retry(RetryPolicy::fast(3))
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seeds subscribers directly (no request, no validation, no action log). A missing status
    /// means subscribed.
    pub fn seed_subscribers(&self, subscribers: impl IntoIterator<Item = Subscriber>) {
        let now = now_text();
        let mut s = self.lock();
        for sub in subscribers {
            let unsub = sub.is_unsubscribed.unwrap_or(false);
            let mut contact = FakeContact::new(&sub.email);
            contact.is_unsubscribed = unsub;
            contact.unsubscribed_at = unsub.then(|| now.clone());
            contact.fields = sub
                .fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            s.contacts.insert(sub.email.to_lowercase(), contact);
        }
    }

    /// Seeds a segment (its `id`, or a new one when `None`), returning its id.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use smaily_client::{fake::FakeSmaily, FilterType, Operator, Rule, SegmentDefinition, SegmentQuery, Subscriber, FieldName};
    /// let fake = FakeSmaily::start().await;
    /// fake.seed_subscribers([
    ///     Subscriber::new("a@example.com").field(FieldName::new("city").unwrap(), "Tartu"),
    ///     Subscriber::new("b@example.com").field(FieldName::new("city").unwrap(), "Tallinn"),
    /// ]);
    /// let tartu = fake.seed_segment(&SegmentDefinition {
    ///     id: None,
    ///     name: "Tartu".into(),
    ///     filter_type: FilterType::All,
    ///     filter_data: vec![Rule { field: "city".into(), operator: Operator::Equal, value: "Tartu".into() }],
    /// });
    /// let rows = fake.client().segment_page(tartu, 0, &SegmentQuery::default()).await?;
    /// assert_eq!(rows[0].email, "a@example.com");
    /// assert_eq!(rows.len(), 1);
    /// # Ok::<(), smaily_client::Error>(()) }).unwrap();
    /// ```
    pub fn seed_segment(&self, segment: &SegmentDefinition) -> u64 {
        let mut s = self.lock();
        let id = segment.id.unwrap_or_else(|| s.next_id());
        let filter = |v: Value| v.as_str().unwrap_or_default().to_string();
        s.segments.insert(
            id,
            SegmentRecord {
                name: segment.name.clone(),
                filter_type: filter(json!(segment.filter_type)),
                rules: segment
                    .filter_data
                    .iter()
                    .map(|r| (r.field.clone(), filter(json!(r.operator)), r.value.clone()))
                    .collect(),
            },
        );
        id
    }

    /// Seeds a completed campaign sent now to a segment's subscribed members, returning its
    /// id (for `unsubscribe.php`, statistics and the campaign list).
    pub fn seed_campaign(&self, name: &str, segment: u64) -> u64 {
        let mut s = self.lock();
        let recipients = segments::members(&s, segment)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| !c.is_unsubscribed)
            .map(|c| c.email)
            .collect();
        let id = s.next_id();
        s.campaigns.insert(
            id,
            FakeCampaign {
                id,
                name: name.into(),
                status: "COMPLETED".into(),
                tags: Vec::new(),
                lists: vec![segment],
                recipients,
                unsubscribed: Vec::new(),
                is_ab_test: false,
                sections: Vec::new(),
                request: Value::Null,
                created_at: now_text(),
            },
        );
        id
    }

    /// Seeds a template (`templates.php`), returning its id.
    pub fn seed_template(&self, name: &str) -> u64 {
        let mut s = self.lock();
        let id = s.next_id();
        let at = jiff::Zoned::now()
            .with_time_zone(crate::de::tallinn())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string();
        s.templates.push(json!({
            "id": id, "type": "default", "name": name, "created_at": at, "modified_at": at,
            "preview_url": format!("https://example.com/p/{id}")
        }));
        id
    }

    /// How page indexes select rows (default [`Paging::Documented`]).
    pub fn set_paging(&self, paging: Paging) {
        self.lock().paging = paging;
    }

    /// A stored subscriber (deleted ones included), by email (case-insensitive).
    pub fn subscriber(&self, email: &str) -> Option<FakeContact> {
        self.lock().contacts.get(&email.to_lowercase()).cloned()
    }

    /// Every stored subscriber, sorted by email.
    pub fn subscribers(&self) -> Vec<FakeContact> {
        self.lock().contacts.values().cloned().collect()
    }

    /// How many subscribers are stored (deleted ones included).
    pub fn subscriber_count(&self) -> usize {
        self.lock().contacts.len()
    }

    /// Every campaign and A/B test, by id.
    pub fn campaigns(&self) -> Vec<FakeCampaign> {
        self.lock().campaigns.values().cloned().collect()
    }

    /// Every accepted `autoresponder.php` trigger, in order.
    pub fn triggers(&self) -> Vec<Trigger> {
        self.lock().triggers.clone()
    }

    /// Every accepted `message/send.php` body, in order.
    pub fn sent_messages(&self) -> Vec<Value> {
        self.lock().messages.clone()
    }

    /// How many requests the enforced rate limit refused with 429.
    pub fn rate_limited_count(&self) -> u64 {
        self.lock().rate_limited_count
    }

    /// The most requests that reached the fake within any one second (a sliding window), since
    /// the start or the last [`clear_requests`](FakeService::clear_requests).
    pub fn busiest_second(&self) -> usize {
        self.lock().busiest_second
    }

    /// Every request received, in order, as Smaily reads it: the core log
    /// ([`FakeService::requests`]) plus the body read as its `Content-Type` says
    /// ([`SmailyRequest::body_json`]: JSON, or a PHP form).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use smaily_client::{BodyEncoding, Subscriber, fake::FakeSmaily};
    /// let fake = FakeSmaily::start().await;
    /// let client = fake.client_builder().body_encoding(BodyEncoding::Form).build()?;
    /// client.upsert(&Subscriber::new("mari@example.com")).await?;
    /// let sent = fake.smaily_requests().pop().unwrap();
    /// assert_eq!(sent.body_json()["email"], "mari@example.com");
    /// # Ok::<(), smaily_client::Error>(()) }).unwrap();
    /// ```
    pub fn smaily_requests(&self) -> Vec<SmailyRequest> {
        self.harness
            .requests()
            .iter()
            .map(SmailyRequest::from)
            .collect()
    }

    /// Answers the next `n` requests with HTTP 200 and body `{"code": code, "message": ...}`
    /// without processing them (e.g. 205 "Could not add or update provided contact").
    pub fn fail_next_with_code(&self, n: usize, code: u16, message: &str) {
        let body = json!({"code": code, "message": message}).to_string();
        self.harness
            .reply_next(n, 200, "text/html; charset=UTF-8", body);
    }

    /// Enforces a rate limit like Smaily's 5 requests/second (`Some(5)`, the default), read
    /// strictly: a request that finds `per_second` requests processed within the last second
    /// gets 429 with `Retry-After: 1`, unprocessed. `None` turns the fake's own 429s off.
    pub fn enforce_rate_limit(&self, per_second: Option<u32>) {
        let mut s = self.lock();
        s.rate_limit = per_second;
        s.admitted.clear();
    }

    /// Plan-blocked account: every request gets 403 + code 227, before authentication.
    pub fn set_plan_blocked(&self, blocked: bool) {
        self.lock().plan_blocked = blocked;
    }
}

/// The suite's one fake API: the request log, the faults (answered as Smaily answers them:
/// a 5xx with a JSON error body, 403 with code 227, 429 with `Retry-After`), and the
/// credentials the fake accepts.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use smaily_client::prelude::*;
/// use smaily_client::{Credentials, fake::FakeSmaily};
/// let fake = FakeSmaily::start().await;
/// fake.set_credentials(Credentials::new("other-user", "other-password"));
/// assert_eq!(fake.credentials().user(), "other-user");
/// fake.client().subscriber("a@example.com").await?; // the client follows
/// fake.fail_next(1, 403);
/// assert!(matches!(fake.client().subscriber("a@example.com").await, Err(Error::PlanBlocked { .. })));
/// assert_eq!(fake.request_count(), 2);
/// # Ok::<(), Error>(()) }).unwrap();
/// ```
impl FakeService for FakeSmaily {
    type Client = Client;
    type Credentials = Credentials;

    fn harness(&self) -> &Harness {
        &self.harness
    }

    fn base_url(&self) -> String {
        FakeSmaily::base_url(self)
    }

    fn client(&self) -> Client {
        FakeSmaily::client(self)
    }

    fn credentials(&self) -> Credentials {
        let s = self.lock();
        Credentials::new(s.user.clone(), s.password.clone())
    }

    fn set_credentials(&self, credentials: Credentials) {
        let mut s = self.lock();
        s.user = credentials.user().to_string();
        s.password = credentials.password().to_string();
    }

    /// Empties the request log and its count, and Smaily's own counters
    /// ([`rate_limited_count`](FakeSmaily::rate_limited_count),
    /// [`busiest_second`](FakeSmaily::busiest_second)).
    fn clear_requests(&self) {
        self.harness.clear_requests();
        let mut s = self.lock();
        s.rate_limited_count = 0;
        s.arrivals.clear();
        s.busiest_second = 0;
    }
}
