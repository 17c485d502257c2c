//! A stateful, in-process HTTP fake of the Splio REST API (feature `fake`).
//!
//! It follows Splio's reference, not this client: contacts keyed by the universe unique key,
//! custom fields with types, lists, blacklists, JWT tokens that expire, `207` multi-status bulk
//! answers, `429` with `rateLimit-reset`, bare-string 401 bodies, and the `{status, errors}`
//! envelope. It is an axum route per operation on [`marketing_sync_core::fake`]'s scaffolding:
//! the loopback server, the request log and fault injection with one meaning in every fake,
//! offered by [`FakeService`] (the suite's one fake API: `requests`, `request_count`,
//! `fail_next`, `rate_limit_next` answered as Splio answers a rate limit, `delay_next`,
//! `drop_next` before or after processing, `reply_next`, `credentials`, …).
//!
//! It starts with the spec's example fields `0 ext_id` (system, text) and `1 civility` (text),
//! an email unique key, and accepts the API key [`FakeService::credentials`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> splio_client::Result<()> {
//! use splio_client::fake::{FakeService, FakeSplio};
//! use splio_client::{Client, ContactData};
//! let fake = FakeSplio::start().await;
//! let news = fake.seed_list("newsletter");
//! fake.seed_contact(ContactData::with_email("old@example.com").list(news));
//! let client = Client::builder(fake.credentials()).base_url(fake.base_url()).allow_http(true).build()?;
//! client.unsubscribe("old@example.com", &[news]).await?;
//! assert!(fake.contact("old@example.com").unwrap().lists.is_empty());
//! fake.fail_next(1, 503);
//! client.get_contact("old@example.com").await?; // retried
//! # Ok(()) }
//! ```

mod blacklists;
mod contact_body;
mod contacts;
mod faults;
mod fields;
mod groups;
mod routes;
mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use marketing_sync_core::fake::{FakeServer, Harness};
use serde_json::Value;

pub use marketing_sync_core::fake::{DropPoint, FakeService, ReceivedRequest};

use crate::blacklists::Channel;
use crate::contacts::ContactData;
use crate::fields::FieldType;
use crate::universe::UniqueKey;

pub use state::EmailKeys;
use state::{FakeField, State};

pub(crate) const API_KEY: &str = "fake-splio-api-key";

/// A contact as the fake stores it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FakeContact {
    /// Internal id.
    pub id: i64,
    /// Email.
    pub email: Option<String>,
    /// Cellphone.
    pub cellphone: Option<String>,
    /// First name.
    pub firstname: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
    /// Language.
    pub language: Option<String>,
    /// Creation date as sent.
    pub creation_date: Option<String>,
    /// Custom field values by field id.
    pub custom_fields: BTreeMap<u32, String>,
    /// List memberships.
    pub lists: BTreeSet<u64>,
}

/// The body of a [`ReceivedRequest`] read as JSON, as Splio reads it (the request log keeps
/// the raw bytes).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use splio_client::fake::{FakeService, FakeSplio, JsonBody};
/// let fake = FakeSplio::start().await;
/// fake.client().ping().await?;
/// let auth = &fake.requests()[0];
/// assert_eq!(auth.path, "/authenticate");
/// assert_eq!(auth.json_body(), Some(serde_json::json!({"api_key": "fake-splio-api-key"})));
/// # Ok::<(), splio_client::Error>(()) }).unwrap();
/// ```
pub trait JsonBody {
    /// The body parsed as JSON (`None` when empty or not JSON).
    fn json_body(&self) -> Option<Value>;
}

impl JsonBody for ReceivedRequest {
    fn json_body(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// The running fake. Dropping it stops the server.
pub struct FakeSplio {
    server: FakeServer,
    harness: Harness,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for FakeSplio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSplio")
            .field("server", &self.server)
            .field("harness", &self.harness)
            .finish_non_exhaustive()
    }
}

impl FakeSplio {
    /// Start the fake on `127.0.0.1` with a free port: the system fields, no contacts.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use splio_client::fake::{FakeService, FakeSplio};
    /// use splio_client::{ContactData, UpsertAction};
    /// let fake = FakeSplio::start().await;
    /// let client = fake.client();
    /// let ann = ContactData::with_email("ann@example.com");
    /// assert_eq!(client.upsert(&ann).await?, UpsertAction::Created);
    /// assert_eq!(client.upsert(&ann).await?, UpsertAction::Updated);
    /// assert_eq!(fake.contacts().len(), 1);
    /// # Ok::<(), splio_client::Error>(()) }).unwrap();
    /// ```
    pub async fn start() -> FakeSplio {
        let state = Arc::new(Mutex::new(State::new()));
        let harness = Harness::new().answer_faults_with(faults::render);
        let server = FakeServer::start(harness.mount(routes::router(state.clone()))).await;
        FakeSplio {
            server,
            harness,
            state,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Change the universe unique key (a custom-field key `cN` gets a text field `N` if missing).
    pub fn set_unique_key(&self, key: UniqueKey) {
        let mut s = self.state();
        if let UniqueKey::CustomField(id) = key {
            s.fields.entry(id).or_insert(FakeField {
                name: format!("c{id}"),
                ty: FieldType::Text,
                is_system: false,
            });
        }
        s.unique_key = key;
    }

    /// How email keys are matched: [`EmailKeys::CaseInsensitive`] (the default) or
    /// [`EmailKeys::Exact`]; Splio does not document which (see [`EmailKeys`]).
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() {
    /// use splio_client::fake::{EmailKeys, FakeSplio};
    /// let fake = FakeSplio::start().await;
    /// fake.set_email_keys(EmailKeys::Exact);
    /// fake.seed_contact_body(serde_json::json!({"email": "Mixed.Case@Example.com"}));
    /// assert!(fake.contact("Mixed.Case@Example.com").is_some());
    /// assert!(fake.contact("mixed.case@example.com").is_none());
    /// # }
    /// ```
    pub fn set_email_keys(&self, keys: EmailKeys) {
        self.state().email_keys = keys;
    }

    /// Lifetime of newly issued tokens (default one hour; written into the JWT `exp`).
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.state().token_ttl = ttl;
    }

    /// Invalidate every issued token: the next authenticated request gets a 401.
    pub fn expire_tokens(&self) {
        self.state().tokens.clear();
    }

    /// How many successful `POST /authenticate` calls were made.
    pub fn auth_count(&self) -> usize {
        self.state().auth_count
    }

    /// Fault: the next `n` multi-status (`207`) answers list their items in reverse order
    /// (nothing in Splio's reference promises input order), so a client that matched items
    /// by position would swap outcomes.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use splio_client::fake::{FakeService, FakeSplio};
    /// use splio_client::ContactData;
    /// let fake = FakeSplio::start().await;
    /// fake.seed_contact(ContactData::with_email("taken@example.com"));
    /// fake.reorder_next_multi_status(1);
    /// let out = fake.client().bulk_create(&[
    ///     ContactData::with_email("new@example.com"),
    ///     ContactData::with_email("taken@example.com"),
    /// ]).await;
    /// assert!(out[0].result.is_ok());
    /// assert!(out[1].result.as_ref().unwrap_err().is_already_exists());
    /// # }
    /// ```
    pub fn reorder_next_multi_status(&self, n: usize) {
        self.state().reorder_multi_status = n;
    }

    /// Add a custom field; returns its id.
    pub fn seed_field(&self, name: &str, ty: FieldType) -> u32 {
        let mut s = self.state();
        let id = s.fields.keys().next_back().map_or(0, |k| k + 1);
        s.fields.insert(
            id,
            FakeField {
                name: name.into(),
                ty,
                is_system: false,
            },
        );
        id
    }

    /// Record an activity of a seeded contact (`event` on `channel`, e.g. `"email"`,
    /// `"opened"`), shaped like the OpenAPI document's example, for
    /// `GET /data/contacts/{id}/activities`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let fake = splio_client::fake::FakeSplio::start().await;
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com"));
    /// fake.seed_activity("a@example.com", "email", "clicked");
    /// # }
    /// ```
    pub fn seed_activity(&self, key: &str, channel: &str, event: &str) {
        let mut s = self.state();
        let key = s.stored_key(key);
        let n = s.activities.len();
        s.activities.push((
            key,
            serde_json::json!({"channel": channel, "contact": null,
                "channel_details_id": format!("C{n}"), "channel_details_name": "Campaign",
                "event_type": "system", "event": event, "value_date": "2024-01-02 03:04:05",
                "source_id": format!("S{n}"), "source_name": "Template", "source_type": "standard",
                "source_date": "2024-01-01 00:00:00"}),
        ));
    }

    /// The members of group `id` (keys as stored), or `None` when there is no such group.
    pub fn group_members(&self, id: u64) -> Option<Vec<String>> {
        self.state()
            .groups
            .get(&id)
            .map(|g| g.members.iter().cloned().collect())
    }

    /// Add a list; returns its id.
    pub fn seed_list(&self, name: &str) -> u64 {
        let mut s = self.state();
        let id = s.lists.keys().next_back().map_or(1, |k| k + 1);
        s.lists.insert(id, name.into());
        id
    }

    /// Add a contact as `POST /data/contacts` would (panics when Splio would refuse it).
    pub fn seed_contact(&self, contact: ContactData) -> String {
        let mut s = self.state();
        let (status, body) =
            s.create_contact(&contact.create_body(crate::CreationDateHour::default()));
        assert_eq!(status, StatusCode::CREATED, "seed_contact refused: {body}");
        let key = s.unique_key.clone();
        contact.key_for(&key).expect("seeded contact has a key")
    }

    /// Add a contact from a raw `POST /data/contacts` body, exactly as given (the client's
    /// [`ContactData`] lower-cases emails; this keeps e.g. a mixed-case email a person typed
    /// in Splio's UI). Returns the contact's key as stored; panics when Splio would refuse it.
    pub fn seed_contact_body(&self, body: Value) -> String {
        let mut s = self.state();
        let (status, answer) = s.create_contact(&body);
        assert_eq!(
            status,
            StatusCode::CREATED,
            "seed_contact_body refused: {answer}"
        );
        s.key_of(&body).expect("seeded contact has a key")
    }

    /// Blacklist a touchpoint with a source (`custom`, `unsub`, `bounce`, …).
    pub fn seed_blacklist(&self, channel: Channel, touchpoint: &str, source: &str) {
        self.state()
            .blacklists
            .entry(channel)
            .or_default()
            .insert(touchpoint.into(), (source.into(), "2024-01-01".into()));
    }

    /// Every stored contact, in creation order, with its key.
    pub fn contacts(&self) -> Vec<(String, FakeContact)> {
        self.state()
            .contacts
            .iter()
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect()
    }

    /// One stored contact by unique key.
    pub fn contact(&self, key: &str) -> Option<FakeContact> {
        let s = self.state();
        s.contacts.get(&s.stored_key(key)).cloned()
    }

    /// Blacklisted touchpoints of a channel with their source.
    pub fn blacklisted(&self, channel: Channel) -> Vec<(String, String)> {
        self.state()
            .blacklists
            .get(&channel)
            .map(|m| {
                m.iter()
                    .map(|(k, (src, _))| (k.clone(), src.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Custom fields as `(id, name, type)`.
    pub fn fields(&self) -> Vec<(u32, String, FieldType)> {
        self.state()
            .fields
            .iter()
            .map(|(id, f)| (*id, f.name.clone(), f.ty))
            .collect()
    }
}

/// The suite's one fake API: the request log, the faults (answered as Splio answers them: its
/// error envelope, its 429 with `rateLimit-reset`) and the credentials ([`ApiKey`](crate::ApiKey)).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use splio_client::fake::{DropPoint, FakeService, FakeSplio};
/// use splio_client::ContactData;
/// let fake = FakeSplio::start().await;
/// let client = fake.client();
/// client.unique_key().await?;
/// fake.drop_next(1, DropPoint::AfterProcessing);
/// assert!(client.create_contact(&ContactData::with_email("a@example.com")).await.unwrap_err().to_string().contains("outcome unknown"));
/// assert!(fake.contact("a@example.com").is_some(), "created, though the client cannot know");
/// fake.record_requests(false);
/// fake.client().ping().await?;
/// assert_eq!(fake.request_count(), 5); // authenticate, unique key, create, authenticate, ping
/// # Ok::<(), splio_client::Error>(()) }).unwrap();
/// ```
impl FakeService for FakeSplio {
    type Client = crate::Client;
    type Credentials = crate::ApiKey;

    fn harness(&self) -> &Harness {
        &self.harness
    }

    /// `http://127.0.0.1:<port>`; use with `allow_http(true)`.
    fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// A client for this fake: its API key and base URL, plain http allowed, millisecond retry
    /// backoff.
    fn client(&self) -> crate::Client {
        crate::Client::builder(self.credentials())
            .base_url(self.base_url())
            .allow_http(true)
            .retry(crate::RetryPolicy {
                max_retries: 3,
                min_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(50),
                jitter: true,
            })
            .build()
            .expect("loopback client")
    }

    /// The API key `/authenticate` accepts (`fake-splio-api-key` until changed).
    fn credentials(&self) -> crate::ApiKey {
        crate::ApiKey::new(self.state().api_key.clone())
    }

    /// From now on `/authenticate` accepts this key and refuses the old one (tokens already
    /// issued stay valid until they expire, see [`FakeSplio::expire_tokens`]).
    fn set_credentials(&self, credentials: crate::ApiKey) {
        self.state().api_key = credentials.expose().to_string();
    }
}
