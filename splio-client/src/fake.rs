//! A stateful, in-process HTTP fake of the Splio REST API (feature `fake`).
//!
//! It follows Splio's reference, not this client: contacts keyed by the universe unique key,
//! custom fields with types, lists, blacklists, JWT tokens that expire, `207` multi-status bulk
//! answers, `429` with `rateLimit-reset`, bare-string 401 bodies, and the `{status, errors}`
//! envelope. Fault injection: [`fail_next`](FakeSplio::fail_next),
//! [`rate_limit_next`](FakeSplio::rate_limit_next), [`delay_next`](FakeSplio::delay_next),
//! [`drop_next`](FakeSplio::drop_next).
//!
//! It starts with the spec's example fields `0 ext_id` (system, text) and `1 civility` (text),
//! an email unique key, and accepts the API key [`FakeSplio::api_key`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> splio_client::Result<()> {
//! use splio_client::{fake::FakeSplio, Client, ContactData};
//! let fake = FakeSplio::start().await;
//! let news = fake.seed_list("newsletter");
//! fake.seed_contact(ContactData::with_email("old@example.com").list(news));
//! let client = Client::builder(fake.api_key()).base_url(fake.base_url()).allow_http(true).build()?;
//! client.unsubscribe("old@example.com", &[news]).await?;
//! assert!(fake.contact("old@example.com").unwrap().lists.is_empty());
//! fake.fail_next(1, 503);
//! client.get_contact("old@example.com").await?; // retried
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use indexmap::IndexMap;
use serde_json::{Value, json};

use crate::blacklists::Channel;
use crate::contacts::ContactData;
use crate::fields::FieldType;
use crate::universe::UniqueKey;

const API_KEY: &str = "fake-splio-api-key";

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

/// A request the fake received.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path as sent (still percent-encoded).
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// `Authorization` header.
    pub authorization: Option<String>,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
    /// Body parsed as JSON (None when empty or not JSON).
    pub body: Option<Value>,
}

#[derive(Clone, Debug)]
enum Fault {
    Status(u16),
    Drop,
    RateLimit(u64),
    Delay(Duration),
}

#[derive(Clone, Debug)]
struct FakeField {
    name: String,
    ty: FieldType,
    is_system: bool,
}

struct State {
    unique_key: UniqueKey,
    token_ttl: Duration,
    tokens: HashMap<String, Instant>,
    issued: u64,
    contacts: IndexMap<String, FakeContact>,
    next_id: i64,
    fields: BTreeMap<u32, FakeField>,
    lists: BTreeMap<u64, String>,
    blacklists: HashMap<Channel, IndexMap<String, (String, String)>>,
    faults: VecDeque<Fault>,
    requests: Vec<RecordedRequest>,
    auth_count: usize,
}

/// The running fake. Dropping it stops the server.
pub struct FakeSplio {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSplio {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeSplio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSplio")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakeSplio {
    /// Start the fake on `127.0.0.1` with a free port: the system fields, no contacts.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use splio_client::fake::FakeSplio;
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
        let mut fields = BTreeMap::new();
        fields.insert(
            0,
            FakeField {
                name: "ext_id".into(),
                ty: FieldType::Text,
                is_system: true,
            },
        );
        fields.insert(
            1,
            FakeField {
                name: "civility".into(),
                ty: FieldType::Text,
                is_system: false,
            },
        );
        let state = Arc::new(Mutex::new(State {
            unique_key: UniqueKey::Email,
            token_ttl: Duration::from_secs(3600),
            tokens: HashMap::new(),
            issued: 0,
            contacts: IndexMap::new(),
            next_id: 1,
            fields,
            lists: BTreeMap::new(),
            blacklists: HashMap::new(),
            faults: VecDeque::new(),
            requests: Vec::new(),
            auth_count: 0,
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move { handle(state, method, uri, headers, body).await }
            },
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeSplio { addr, state, task }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `http://127.0.0.1:<port>`; use with `allow_http(true)`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client for this fake: its base URL, plain http allowed, millisecond retry backoff.
    pub fn client(&self) -> crate::Client {
        crate::Client::builder(API_KEY)
            .base_url(self.base_url())
            .allow_http(true)
            .retry(crate::RetryConfig {
                max_retries: 3,
                min_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(50),
            })
            .build()
            .expect("loopback client")
    }

    /// The API key the fake accepts.
    pub fn api_key(&self) -> &'static str {
        API_KEY
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

    /// Answer the next `n` requests with `status` (and the error envelope).
    pub fn fail_next(&self, n: usize, status: u16) {
        self.state()
            .faults
            .extend(std::iter::repeat_n(Fault::Status(status), n));
    }

    /// Answer the next `n` requests with `429 {"message":"API rate limit exceeded"}` and
    /// `rateLimit-reset: reset_secs`.
    pub fn rate_limit_next(&self, n: usize, reset_secs: u64) {
        self.state()
            .faults
            .extend(std::iter::repeat_n(Fault::RateLimit(reset_secs), n));
    }

    /// Drop the connection on the next `n` requests after they were received (headers sent,
    /// body cut off), as when a proxy or the network fails mid-answer. The request is not applied.
    pub fn drop_next(&self, n: usize) {
        self.state()
            .faults
            .extend(std::iter::repeat_n(Fault::Drop, n));
    }

    /// Delay the next `n` requests by `delay` before answering normally.
    pub fn delay_next(&self, n: usize, delay: Duration) {
        self.state()
            .faults
            .extend(std::iter::repeat_n(Fault::Delay(delay), n));
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
        let (status, body) = s.create_contact(&contact.create_body());
        assert_eq!(status, StatusCode::CREATED, "seed_contact refused: {body}");
        let key = s.unique_key.clone();
        contact.key_for(&key).expect("seeded contact has a key")
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
        self.state().contacts.get(key).cloned()
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

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }
}

fn envelope(
    status: StatusCode,
    key: &str,
    error: &str,
    description: impl Into<String>,
) -> (StatusCode, Value) {
    let description = description.into();
    (
        status,
        json!({"status": status.as_u16(), "errors": [{"error_key": key, "error": error, "error_description": description}]}),
    )
}

/// The OpenAPI pattern for `creation_date`: hours are `00`, `0`–`9` or `10`–`23` (no `01`–`09`).
fn creation_date_matches(value: &str) -> bool {
    let Some((date, time)) = value.split_once(' ') else {
        return false;
    };
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    let num = |s: &str, max: u32| {
        s.chars().all(|c| c.is_ascii_digit()) && s.parse::<u32>().is_ok_and(|n| n <= max)
    };
    let hour_ok = t.first().is_some_and(|h| {
        *h == "00" || (h.len() == 1 || !h.starts_with('0')) && num(h, 23) && !h.is_empty()
    });
    d.len() == 3
        && d[0].len() == 4
        && num(d[0], 9999)
        && (1..=2).contains(&d[1].len())
        && num(d[1], 12)
        && (1..=2).contains(&d[2].len())
        && num(d[2], 31)
        && t.len() == 3
        && hour_ok
        && t[1..]
            .iter()
            .all(|p| (1..=2).contains(&p.len()) && num(p, 59))
}

fn decode_segment(seg: &str) -> String {
    url::form_urlencoded::parse(format!("k={seg}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn handle(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let json_body: Option<Value> = serde_json::from_slice(&body).ok();
    let fault = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests.push(RecordedRequest {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
            authorization: header("authorization"),
            content_type: header("content-type"),
            user_agent: header("user-agent"),
            body: json_body.clone(),
        });
        s.faults.pop_front()
    };
    match fault {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (status, body) = envelope(status, "fault", "injected", "Injected failure.");
            return (status, axum::Json(body)).into_response();
        }
        Some(Fault::RateLimit(reset)) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("rateLimit-limit", "10".to_string()),
                    ("rateLimit-remaining", "0".to_string()),
                    ("rateLimit-reset", reset.to_string()),
                ],
                axum::Json(json!({"message": "API rate limit exceeded"})),
            )
                .into_response();
        }
        Some(Fault::Drop) => {
            let broken = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "fake: connection dropped",
                ))
            });
            return (StatusCode::OK, axum::body::Body::from_stream(broken)).into_response();
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    let path = uri.path().to_string();
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    if path == "/authenticate" && method == Method::POST {
        return s.authenticate(json_body.as_ref()).into_response();
    }
    let authorized = header("authorization")
        .and_then(|h| h.strip_prefix("Bearer ").map(str::to_string))
        .and_then(|t| s.tokens.get(&t).copied())
        .is_some_and(|expiry| expiry > Instant::now());
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!("Authentication failed.")),
        )
            .into_response();
    }
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(decode_segment)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let body = json_body.unwrap_or(Value::Null);
    let (status, value) = match (&method, segs.as_slice()) {
        (&Method::GET, ["universes", "unique-key"]) => (
            StatusCode::OK,
            json!({"unique_key": s.unique_key.as_wire()}),
        ),
        (&Method::GET, ["ping"]) => (StatusCode::OK, json!({"user_id": 1})),
        (&Method::GET, ["data", "contacts"]) => {
            let elements: Vec<Value> = s
                .contacts
                .values()
                .map(|c| s.contact_json(c, true))
                .collect();
            page(&query, elements, 20)
        }
        (&Method::POST, ["data", "contacts"]) => s.create_contact(&body),
        (&Method::POST, ["data", "contacts", "bulk"]) => s.bulk_create(&body),
        (&Method::DELETE, ["data", "contacts", "bulk"]) => s.bulk_keys(&body, |s, key| {
            if s.contacts.shift_remove(key).is_some() {
                (204, String::new())
            } else {
                (404, "Contact not found.".into())
            }
        }),
        (&Method::POST, ["data", "contacts", "optout"]) => {
            s.bulk_keys(&body, |s, key| match s.contacts.get_mut(key) {
                Some(c) => {
                    c.lists.clear();
                    (200, String::new())
                }
                None => (404, "Contact not found.".into()),
            })
        }
        (&Method::GET, ["data", "contacts", key]) => match s.contacts.get(*key) {
            Some(c) => (StatusCode::OK, s.contact_json(c, true)),
            None => envelope(
                StatusCode::NOT_FOUND,
                "id",
                "wrong_value",
                format!("Record not found for id {key}."),
            ),
        },
        (&Method::PATCH, ["data", "contacts", key]) => s.patch_contact(key, &body),
        (&Method::DELETE, ["data", "contacts", key]) => match s.contacts.shift_remove(*key) {
            Some(_) => (StatusCode::NO_CONTENT, Value::Null),
            None => envelope(
                StatusCode::NOT_FOUND,
                "id",
                "wrong_value",
                format!("Record not found for id {key}."),
            ),
        },
        (
            &Method::POST,
            [
                "data",
                "contacts",
                key,
                "lists",
                action @ ("subscribe" | "unsubscribe"),
            ],
        ) => s.change_lists(key, action == &"subscribe", &body),
        (&Method::GET, ["data", "fields", "contacts"]) => {
            let elements: Vec<Value> = s
                .fields
                .iter()
                .map(|(id, f)| json!({"intid": if f.is_system { Value::Null } else { json!(id) }, "id": id, "is_system": f.is_system, "filling": null, "unique_values": null, "name": f.name, "translation_key": f.name, "label": f.name, "field_key": f.name, "data_type": f.ty}))
                .collect();
            page(&query, elements, 50)
        }
        (&Method::POST, ["data", "fields"]) => s.create_field(&body),
        (&Method::DELETE, ["data", "fields", "contacts", id]) => {
            match id.parse::<u32>().ok().and_then(|id| s.fields.remove(&id)) {
                Some(_) => (StatusCode::NO_CONTENT, Value::Null),
                None => envelope(
                    StatusCode::NOT_FOUND,
                    "id",
                    "wrong_value",
                    "Custom field not found.",
                ),
            }
        }
        (&Method::GET, ["data", "v1", "lists"]) => {
            let elements: Vec<Value> = s
                .lists
                .iter()
                .map(|(id, name)| {
                    let members = s.contacts.values().filter(|c| c.lists.contains(id)).count();
                    json!({"id": id, "name": name, "members": members, "nb_emails": members, "nb_sms": 0, "is_displayed_by_default": true, "is_selected_by_default": false})
                })
                .collect();
            page(&query, elements, 50)
        }
        (&Method::GET, ["data", "blacklists", channel @ ("emails" | "cellphones")]) => {
            let channel = if *channel == "emails" {
                Channel::Email
            } else {
                Channel::Cellphone
            };
            let wanted = query.get("source").cloned();
            let elements: Vec<Value> = s
                .blacklists
                .get(&channel)
                .map(|m| {
                    m.iter()
                        .filter(|(_, (src, _))| wanted.as_ref().is_none_or(|w| w == src))
                        .map(|(n, (src, date))| json!({"number": n, "creation_date": date, "source": src}))
                        .collect()
                })
                .unwrap_or_default();
            page(&query, elements, 50)
        }
        (&Method::POST, ["data", "blacklists", channel @ ("email" | "cellphone")]) => {
            let channel = if *channel == "email" {
                Channel::Email
            } else {
                Channel::Cellphone
            };
            s.blacklist_change(channel, None, &body)
        }
        (
            &Method::DELETE,
            [
                "data",
                "blacklists",
                channel @ ("email" | "cellphone"),
                source @ ("custom" | "unsub" | "all"),
            ],
        ) => {
            let channel = if *channel == "email" {
                Channel::Email
            } else {
                Channel::Cellphone
            };
            s.blacklist_change(channel, Some(source), &body)
        }
        _ => (StatusCode::NOT_FOUND, json!("Not Found.")),
    };
    let remaining = 9;
    let mut response = if status == StatusCode::NO_CONTENT {
        status.into_response()
    } else {
        (status, axum::Json(value)).into_response()
    };
    let h = response.headers_mut();
    h.insert("ratelimit-limit", 10.into());
    h.insert("ratelimit-remaining", remaining.into());
    h.insert("ratelimit-reset", 1.into());
    response
}

fn page(
    query: &HashMap<String, String>,
    elements: Vec<Value>,
    default_per_page: usize,
) -> (StatusCode, Value) {
    let num =
        |name: &str, default: usize| query.get(name).map_or(Ok(default), |v| v.parse::<usize>());
    let (Ok(per_page), Ok(page_number)) =
        (num("per_page", default_per_page), num("page_number", 1))
    else {
        return envelope(
            StatusCode::BAD_REQUEST,
            "per_page",
            "wrong_type",
            "per_page and page_number must be integers.",
        );
    };
    if !(1..=1000).contains(&per_page) || page_number < 1 {
        return envelope(
            StatusCode::BAD_REQUEST,
            "per_page",
            "wrong_value",
            "per_page must be between 1 and 1000.",
        );
    }
    let total = elements.len();
    let slice: Vec<Value> = elements
        .into_iter()
        .skip((page_number - 1) * per_page)
        .take(per_page)
        .collect();
    (
        StatusCode::OK,
        json!({"count_element": total, "current_page": page_number, "per_page": per_page, "sort": [], "elements": slice}),
    )
}

impl State {
    fn authenticate(&mut self, body: Option<&Value>) -> (StatusCode, axum::Json<Value>) {
        if body.and_then(|b| b.get("api_key")).and_then(Value::as_str) != Some(API_KEY) {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!("Authentication failed.")),
            );
        }
        self.issued += 1;
        self.auth_count += 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = json!({"exp": (now + self.token_ttl).as_secs(), "jti": self.issued});
        let token = format!(
            "{}.{}.{}",
            engine.encode(r#"{"alg":"none"}"#),
            engine.encode(payload.to_string()),
            self.issued
        );
        self.tokens
            .insert(token.clone(), Instant::now() + self.token_ttl);
        (StatusCode::OK, axum::Json(json!({"token": token})))
    }

    fn contact_json(&self, c: &FakeContact, with_id: bool) -> Value {
        let fields: Vec<Value> = c
            .custom_fields
            .iter()
            .map(|(id, v)| {
                let f = self.fields.get(id);
                json!({"id": id, "name": f.map(|f| f.name.clone()), "value": v, "data_type": f.map(|f| f.ty)})
            })
            .collect();
        let lists: Vec<Value> = c
            .lists
            .iter()
            .map(|id| json!({"id": id, "name": self.lists.get(id)}))
            .collect();
        let mut v = json!({
            "email": c.email.clone().unwrap_or_default(), "cellphone": c.cellphone.clone().unwrap_or_default(),
            "firstname": c.firstname, "lastname": c.lastname, "language": c.language,
            "creation_date": c.creation_date, "custom_fields": fields, "lists": lists, "loyalty": [],
        });
        if with_id {
            v["id"] = json!(c.id);
        }
        v
    }

    fn key_of(&self, body: &Value) -> Option<String> {
        let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        match &self.unique_key {
            UniqueKey::Email => s(body.get("email")),
            UniqueKey::Cellphone => s(body.get("cellphone")),
            UniqueKey::CustomField(id) => body
                .get("custom_fields")
                .and_then(Value::as_array)
                .and_then(|fs| {
                    fs.iter()
                        .find(|f| {
                            f.get("id").and_then(Value::as_u64) == Some(u64::from(*id))
                                || f.get("name").and_then(Value::as_str)
                                    == self.fields.get(id).map(|f| f.name.as_str())
                        })
                        .and_then(|f| s(f.get("value")))
                }),
        }
        .filter(|k| !k.is_empty())
    }

    /// Apply attributes from a body to a contact, validating like Splio.
    fn apply(
        &self,
        c: &mut FakeContact,
        body: &Value,
        replace_lists: bool,
    ) -> Result<(), (StatusCode, Value)> {
        let Some(obj) = body.as_object() else {
            return Err(envelope(
                StatusCode::BAD_REQUEST,
                "body",
                "invalid_json",
                "Invalid JSON.",
            ));
        };
        let text = |name: &str| obj.get(name).and_then(Value::as_str).map(str::to_string);
        if let Some(email) = text("email") {
            if !email.is_empty() && (!email.contains('@') || email.contains(' ')) {
                return Err(envelope(
                    StatusCode::BAD_REQUEST,
                    "email",
                    "wrong_email",
                    format!("{email} is not a valid email."),
                ));
            }
            c.email = Some(email);
        }
        if let Some(date) = text("creation_date").filter(|d| !creation_date_matches(d)) {
            return Err(envelope(
                StatusCode::BAD_REQUEST,
                "creation_date",
                "wrong_value",
                format!("{date} does not match the date format."),
            ));
        }
        for (name, slot) in [
            ("cellphone", &mut c.cellphone),
            ("firstname", &mut c.firstname),
            ("lastname", &mut c.lastname),
            ("language", &mut c.language),
            ("creation_date", &mut c.creation_date),
        ] {
            if let Some(v) = text(name) {
                *slot = Some(v);
            }
        }
        if let Some(fields) = obj.get("custom_fields").and_then(Value::as_array) {
            for f in fields {
                let id = match (
                    f.get("id").and_then(Value::as_u64),
                    f.get("name").and_then(Value::as_str),
                ) {
                    (Some(id), _) => u32::try_from(id)
                        .ok()
                        .filter(|id| self.fields.contains_key(id)),
                    (None, Some(name)) => self
                        .fields
                        .iter()
                        .find(|(_, fd)| fd.name == name)
                        .map(|(id, _)| *id),
                    _ => None,
                };
                let Some(id) = id else {
                    let shown = f
                        .get("id")
                        .or(f.get("name"))
                        .cloned()
                        .unwrap_or(Value::Null);
                    return Err(envelope(
                        StatusCode::BAD_REQUEST,
                        "custom_fields",
                        "wrong_value",
                        format!("Custom field not found for id {shown}."),
                    ));
                };
                let value = f
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let fd = &self.fields[&id];
                let ok = value.is_empty()
                    || match fd.ty {
                        FieldType::Text => true,
                        FieldType::Int => value.parse::<i64>().is_ok(),
                        FieldType::Double => value.parse::<f64>().is_ok(),
                        FieldType::Date => {
                            jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", &value).is_ok()
                        }
                    };
                if !ok {
                    return Err(envelope(
                        StatusCode::BAD_REQUEST,
                        "custom_fields",
                        "wrong_type",
                        format!(
                            "Custom field with id {id} and name {} must be of type {}.",
                            fd.name,
                            json!(fd.ty).as_str().unwrap_or("")
                        ),
                    ));
                }
                c.custom_fields.insert(id, value);
            }
        }
        if let Some(lists) = obj.get("lists").and_then(Value::as_array) {
            let mut ids = BTreeSet::new();
            for l in lists {
                let Some(id) = l.get("id").and_then(Value::as_u64) else {
                    return Err(envelope(
                        StatusCode::BAD_REQUEST,
                        "lists",
                        "wrong_value",
                        "lists for contact created should contains id key",
                    ));
                };
                if !self.lists.contains_key(&id) {
                    return Err(envelope(
                        StatusCode::BAD_REQUEST,
                        "list_id",
                        "wrong_value",
                        format!("list {id} does not exist"),
                    ));
                }
                ids.insert(id);
            }
            if replace_lists {
                c.lists = ids;
            } else {
                c.lists.extend(ids);
            }
        }
        if obj.contains_key("double_optin") && c.lists.is_empty() {
            return Err(envelope(
                StatusCode::BAD_REQUEST,
                "double_optin",
                "wrong_value",
                "double optin option should have some lists to prepare",
            ));
        }
        Ok(())
    }

    fn create_contact(&mut self, body: &Value) -> (StatusCode, Value) {
        let Some(key) = self.key_of(body) else {
            let k = self.unique_key.as_wire();
            return envelope(
                StatusCode::BAD_REQUEST,
                "contact_key",
                "wrong_contact_key",
                format!("Bad key formating against universe key, {k} is empty"),
            );
        };
        if self.contacts.contains_key(&key) {
            return envelope(
                StatusCode::BAD_REQUEST,
                "id",
                "wrong_value",
                format!("contact with unique key {key} already exists"),
            );
        }
        let mut c = FakeContact {
            id: self.next_id,
            ..FakeContact::default()
        };
        if let Err(e) = self.apply(&mut c, body, true) {
            return e;
        }
        if c.creation_date.is_none() {
            c.creation_date = Some(
                jiff::Zoned::now()
                    .strftime("%Y-%m-%d %-H:%M:%S")
                    .to_string(),
            );
        }
        self.next_id += 1;
        let json = self.contact_json(&c, true);
        self.contacts.insert(key, c);
        (StatusCode::CREATED, json)
    }

    fn patch_contact(&mut self, key: &str, body: &Value) -> (StatusCode, Value) {
        let Some(mut c) = self.contacts.get(key).cloned() else {
            return envelope(
                StatusCode::NOT_FOUND,
                "id",
                "wrong_value",
                format!("Record not found for id {key}."),
            );
        };
        if let Some(new_key) = self.key_of(body).filter(|k| k != key) {
            let _ = new_key;
            let name = self.unique_key.as_wire();
            return envelope(
                StatusCode::BAD_REQUEST,
                "unique_key",
                "wrong_value",
                format!("unique key \"{name}\" can't be updated"),
            );
        }
        if let Err(e) = self.apply(&mut c, body, true) {
            return e;
        }
        let json = self.contact_json(&c, true);
        self.contacts.insert(key.to_string(), c);
        (StatusCode::OK, json)
    }

    fn change_lists(&mut self, key: &str, subscribe: bool, body: &Value) -> (StatusCode, Value) {
        let Some(ids) = body.get("list_ids").and_then(Value::as_array) else {
            return envelope(
                StatusCode::BAD_REQUEST,
                "list_ids",
                "wrong_value",
                "list_ids is required.",
            );
        };
        let ids: Vec<u64> = ids.iter().filter_map(Value::as_u64).collect();
        if let Some(missing) = ids.iter().find(|id| !self.lists.contains_key(id)) {
            return envelope(
                StatusCode::BAD_REQUEST,
                "lists",
                "wrong_value",
                format!("list {missing} does not exist"),
            );
        }
        let Some(c) = self.contacts.get_mut(key) else {
            return envelope(
                StatusCode::NOT_FOUND,
                "id",
                "wrong_value",
                "Contact not found for given identifier.",
            );
        };
        for id in ids {
            if subscribe {
                c.lists.insert(id);
            } else {
                c.lists.remove(&id);
            }
        }
        let c = c.clone();
        (StatusCode::OK, self.contact_json(&c, false))
    }

    fn bulk_create(&mut self, body: &Value) -> (StatusCode, Value) {
        let Some(items) = body.get("contacts").and_then(Value::as_array) else {
            return envelope(
                StatusCode::BAD_REQUEST,
                "contacts",
                "wrong_value",
                "contacts is required.",
            );
        };
        if items.is_empty() || items.len() > 1000 {
            return envelope(
                StatusCode::BAD_REQUEST,
                "contacts",
                "wrong_value",
                "Between 1 and 1000 contacts are accepted.",
            );
        }
        let mut errors = 0;
        let mut out = Vec::new();
        for item in items.clone() {
            let key = self.key_of(&item).unwrap_or_default();
            let (status, value) = self.create_contact(&item);
            let (code, description) = if status == StatusCode::CREATED {
                (201, String::new())
            } else {
                errors += 1;
                let d = value["errors"][0]["error_description"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                // The bulk endpoint words duplicates as "Contact with unique key … already exists".
                let d = if d.contains("already exists") {
                    format!("Contact with unique key {key} already exists")
                } else {
                    d
                };
                (status.as_u16(), d)
            };
            out.push(json!({"contact_id": key, "code": code, "description": description}));
        }
        (
            StatusCode::MULTI_STATUS,
            json!({"time": 1, "errors": errors, "items": out}),
        )
    }

    fn bulk_keys(
        &mut self,
        body: &Value,
        mut op: impl FnMut(&mut State, &str) -> (u16, String),
    ) -> (StatusCode, Value) {
        let Some(keys) = body.get("contacts").and_then(Value::as_array) else {
            return envelope(
                StatusCode::BAD_REQUEST,
                "contacts",
                "wrong_value",
                "contacts is required.",
            );
        };
        if keys.is_empty() || keys.len() > 1000 {
            return envelope(
                StatusCode::BAD_REQUEST,
                "contacts",
                "wrong_value",
                "Between 1 and 1000 contacts are accepted.",
            );
        }
        let mut errors = 0;
        let items: Vec<Value> = keys
            .iter()
            .map(|k| {
                let key = k.as_str().unwrap_or_default();
                let (code, description) = op(self, key);
                if code >= 400 {
                    errors += 1;
                }
                json!({"contact_id": key, "code": code, "description": description})
            })
            .collect();
        (
            StatusCode::MULTI_STATUS,
            json!({"time": 1, "errors": errors, "items": items}),
        )
    }

    fn create_field(&mut self, body: &Value) -> (StatusCode, Value) {
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let ty: Option<FieldType> = body
            .get("type")
            .and_then(|t| serde_json::from_value(t.clone()).ok());
        let scope = body.get("scope").and_then(Value::as_str);
        let (Some(ty), false, Some("contacts")) = (ty, name.is_empty(), scope) else {
            return envelope(
                StatusCode::BAD_REQUEST,
                "field_1",
                "wrong_value",
                "The request was malformed and it is unable to be processed. Please review and try again.",
            );
        };
        let id = self.fields.keys().next_back().map_or(0, |k| k + 1);
        self.fields.insert(
            id,
            FakeField {
                name: name.clone(),
                ty,
                is_system: false,
            },
        );
        (
            StatusCode::CREATED,
            json!({"id": id, "name": name, "data_type": ty}),
        )
    }

    fn blacklist_change(
        &mut self,
        channel: Channel,
        remove: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let Some(data) = body.get("data").and_then(Value::as_array) else {
            return envelope(
                StatusCode::BAD_REQUEST,
                "data",
                "wrong_value",
                "data is required.",
            );
        };
        let list = self.blacklists.entry(channel).or_default();
        let (mut successes, mut failures) = (Vec::new(), Vec::new());
        for t in data.iter().filter_map(Value::as_str) {
            match remove {
                None if list.contains_key(t) => failures.push(json!({"touchpoint": t, "error": format!("Touchpoint {t} is already blacklisted."), "error_key": "touchpoint_already_exist"})),
                None => {
                    list.insert(t.to_string(), ("custom".into(), jiff::Zoned::now().strftime("%Y-%m-%d").to_string()));
                    successes.push(json!(t));
                }
                Some(source) => match list.get(t) {
                    Some((src, _)) if source == "all" || src == source => {
                        list.shift_remove(t);
                        successes.push(json!(t));
                    }
                    _ => failures.push(json!({"touchpoint": t, "error": format!("Touchpoint {t} is not blacklisted."), "error_key": "touchpoint_not_blacklisted"})),
                },
            }
        }
        let status = match (successes.is_empty(), failures.is_empty()) {
            (_, true) => StatusCode::OK,
            (true, false) => StatusCode::BAD_REQUEST,
            (false, false) => StatusCode::MULTI_STATUS,
        };
        (
            status,
            json!({"successes": successes, "failures": failures}),
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn creation_date_pattern() {
        for ok in [
            "2024-01-02 3:04:05",
            "2024-1-2 00:00:00",
            "2024-12-31 23:59:59",
            "2024-01-02 0:0:0",
        ] {
            assert!(super::creation_date_matches(ok), "{ok}");
        }
        for bad in [
            "2024-01-02 03:04:05",
            "2024-01-02",
            "2024-13-02 3:04:05",
            "2024-01-02 24:00:00",
        ] {
            assert!(!super::creation_date_matches(bad), "{bad}");
        }
    }
}
