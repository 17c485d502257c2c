//! A stateful, in-process HTTP fake of the messaging API (feature `fake`), on loopback.
//!
//! It follows the reference, quirks included: one-result collections come back as a single
//! object with numbers and booleans as strings, events/orders/unsubscribes answer with an
//! empty body, attach/detach answer in plain text, validation errors are plain text 400s.
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

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::client::{Client, RateLimits, RetryPolicy};

/// The API key the fake accepts unless told otherwise.
pub const FAKE_API_KEY: &str = "fake-api-key";

/// A request as the fake received it.
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

#[derive(Debug, Clone)]
enum Fault {
    Status(u16),
    RateLimit(Option<u64>),
    Drop,
}

#[derive(Debug, Clone)]
struct StatusEntry {
    status: String,
    delivered: bool,
    failed: bool,
}

#[derive(Debug, Clone)]
struct ImportSession {
    polls_left: u32,
    failed: bool,
}

#[derive(Debug, Clone)]
struct Segment {
    name: String,
    kind: String,
    members: BTreeSet<i64>,
}

#[derive(Debug, Default)]
struct FakeState {
    api_key: String,
    requests: Vec<ReceivedRequest>,
    faults: VecDeque<Fault>,
    delay: Option<Duration>,
    unsubscribed: BTreeSet<String>,
    events: Vec<RecordedEvent>,
    orders: BTreeMap<String, Value>,
    statuses: BTreeMap<String, StatusEntry>,
    next_request: u64,
    contacts: BTreeMap<i64, Value>,
    next_contact: i64,
    imports: HashMap<String, ImportSession>,
    next_import: u64,
    import_polls: u32,
    fail_imports: bool,
    address_books: Vec<Value>,
    segments: BTreeMap<i64, Segment>,
}

/// The fake server. Dropping it stops the server.
pub struct FakeMessaging {
    addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeMessaging {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeMessaging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeMessaging")
            .field("addr", &self.addr)
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
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeMessaging { addr, state, task }
    }

    /// The base URL to give [`ClientBuilder::base_url`](crate::ClientBuilder::base_url)
    /// (`http://127.0.0.1:<port>/api`).
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// The API key the fake accepts.
    pub fn api_key(&self) -> String {
        self.lock().api_key.clone()
    }

    /// A client wired to this fake: plain http allowed, millisecond retry backoff.
    pub fn client(&self) -> Client {
        Client::builder(self.api_key())
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

    /// The next `n` requests fail with `status` (plain-text body `injected failure`).
    pub fn fail_next(&self, n: usize, status: u16) {
        self.lock()
            .faults
            .extend(std::iter::repeat_n(Fault::Status(status), n));
    }

    /// The next `n` requests get a 429, with `Retry-After: <secs>` when given.
    pub fn rate_limit_next(&self, n: usize, retry_after_secs: Option<u64>) {
        self.lock()
            .faults
            .extend(std::iter::repeat_n(Fault::RateLimit(retry_after_secs), n));
    }

    /// The next `n` requests are processed by nobody and the connection is dropped
    /// mid-response (the client sees a transport error after sending).
    pub fn drop_next(&self, n: usize) {
        self.lock()
            .faults
            .extend(std::iter::repeat_n(Fault::Drop, n));
    }

    /// Delays every response by `delay` (`None` to stop).
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.lock().delay = delay;
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

    // ---- seeds -------------------------------------------------------------------

    /// Adds a contact (the API's JSON shape) and returns its id.
    pub fn seed_contact(&self, contact: Value) -> i64 {
        let mut s = self.lock();
        insert_contact(&mut s, contact)
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
        self.lock().requests.clear();
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
            .strip_prefix(REQUEST_ID_PREFIX)
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
        self.lock().requests.clone()
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

type Shared = Arc<Mutex<FakeState>>;

fn text(status: u16, body: impl Into<String>) -> Response {
    let mut r = Response::new(Body::from(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

fn empty() -> Response {
    StatusCode::OK.into_response()
}

fn ok_json(v: Value) -> Response {
    axum::Json(v).into_response()
}

fn bad(msg: impl Into<String>) -> Response {
    text(400, msg)
}

/// One result as an object with string scalars (the XML-mapped quirk), several as an array.
fn one_or_many(items: Vec<Value>) -> Value {
    if items.len() == 1 {
        stringify_scalars(items.into_iter().next().expect("one"))
    } else {
        Value::Array(items)
    }
}

fn stringify_scalars(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, stringify_scalars(v)))
                .collect(),
        ),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        other => other,
    }
}

fn authorized(headers: &HeaderMap, key: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let decoded = String::from_utf8_lossy(&decoded);
    decoded
        .split_once(':')
        .is_some_and(|(_, password)| password == key)
}

fn query_map(uri: &Uri) -> HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (fault, delay) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests.push(ReceivedRequest {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().map(str::to_owned),
            content_type: headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        (s.faults.pop_front(), s.delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    match fault {
        Some(Fault::Status(status)) => return text(status, "injected failure"),
        Some(Fault::RateLimit(after)) => {
            let mut r = text(
                429,
                "Too many requests: More than 200 requests per 1 second",
            );
            if let Some(secs) = after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            return r;
        }
        Some(Fault::Drop) => {
            let broken = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("dropped"))
            });
            return Response::new(Body::from_stream(broken));
        }
        None => {}
    }
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if !authorized(&headers, &s.api_key) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"status": 401, "message": "Unauthorized"})),
        )
            .into_response();
    }
    let json_body = || serde_json::from_slice::<Value>(&body);
    let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    let Some(("api", rest)) = segments.split_first().map(|(a, b)| (*a, b)) else {
        return text(404, "Not Found");
    };
    let query = query_map(&uri);
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !body.is_empty() && !is_json {
        return text(415, "Unsupported Media Type");
    }
    match (method.as_str(), rest) {
        ("GET", ["v1", "account", "info"]) => ok_json(
            json!({"userEmail": "api-user", "organisationName": "Fake Org", "orgId": 123456}),
        ),
        ("POST", ["v1", "emails", "unsubscribed", action @ ("add" | "delete")]) => {
            let Ok(v) = json_body() else {
                return bad("Malformed JSON");
            };
            let Some(emails) = v.get("emails").and_then(Value::as_array) else {
                return bad("emails is required");
            };
            for e in emails.iter().filter_map(Value::as_str) {
                if *action == "add" {
                    s.unsubscribed.insert(e.to_string());
                } else {
                    s.unsubscribed.remove(e);
                }
            }
            empty()
        }
        ("POST", [version @ ("v1" | "v2"), "event"]) => event(&mut s, version, &body),
        ("POST", ["v1", "message", id, "smartsend"]) => match json_body() {
            Ok(v) => smartsend(&mut s, id, &v),
            Err(_) => bad("Malformed JSON"),
        },
        ("POST", ["v1", "message", channel @ ("email" | "sms")]) => match json_body() {
            Ok(v) => plain_send(&mut s, channel, &v),
            Err(_) => bad("Malformed JSON"),
        },
        ("GET", ["v1", "message", "status"]) => {
            let ids = query.get("ids").cloned().unwrap_or_default();
            let results: Vec<Value> = ids
                .split(',')
                .filter_map(|id| {
                    s.statuses.get(id).map(|e| {
                        json!({"id": 0, "requestId": id, "status": e.status, "delivered": e.delivered, "failed": e.failed})
                    })
                })
                .collect();
            ok_json(json!({ "results": one_or_many(results) }))
        }
        ("POST", ["v1", "orders"]) => match json_body() {
            Ok(v) => orders(&mut s, &v),
            Err(_) => bad("Malformed JSON"),
        },
        ("DELETE", ["v1", "orders"]) => delete_orders(&mut s, &query),
        _ => contacts_routes(&mut s, &method, rest, &query, &body),
    }
}

fn event(s: &mut FakeState, version: &str, body: &[u8]) -> Response {
    if body.len() > 20 * 1024 {
        return bad("Request body is larger than 20 KB");
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return bad("Malformed JSON");
    };
    if v.get("eventTypeKey")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return bad("eventTypeKey is required");
    }
    let params = v
        .get("params")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if version == "v1"
        && params
            .iter()
            .any(|p| !p.get("value").is_some_and(Value::is_string))
    {
        return bad("params[].value must be a string in v1");
    }
    s.events.push(RecordedEvent {
        version: if version == "v1" { 1 } else { 2 },
        body: v,
    });
    empty()
}

/// The fake's request ids: a UUID whose last group counts the messages queued.
const REQUEST_ID_PREFIX: &str = "00000000-0000-4000-8000-";

fn new_request_id(s: &mut FakeState) -> String {
    s.next_request += 1;
    format!("{REQUEST_ID_PREFIX}{:012x}", s.next_request)
}

fn queue(s: &mut FakeState, locator: Option<&str>, email: bool) -> Value {
    if email && locator.is_some_and(|l| !l.contains('@')) {
        let l = locator.unwrap_or_default();
        return json!({"id": 0, "locator": l, "status": "ERROR", "message": format!("'{l}' is not valid email")});
    }
    let request_id = new_request_id(s);
    s.statuses.insert(
        request_id.clone(),
        StatusEntry {
            status: "DELIVERED".into(),
            delivered: true,
            failed: false,
        },
    );
    let mut r = json!({"id": 0, "status": "OK", "requestId": request_id});
    if let Some(l) = locator {
        r["locator"] = json!(l);
    }
    r
}

fn smartsend(s: &mut FakeState, id: &str, v: &Value) -> Response {
    if id.parse::<i64>().is_err() {
        return text(404, "Message not found");
    }
    let Some(recipients) = v.get("recipients").and_then(Value::as_array) else {
        return bad("recipients is required");
    };
    if recipients.is_empty() || recipients.len() > 1000 {
        return bad("Up to a thousand recipients are transmitted in one request");
    }
    let email = v.get("email").and_then(Value::as_bool).unwrap_or(false);
    let mut results = Vec::new();
    for r in recipients {
        if !r
            .get("jsonParam")
            .is_none_or(|p| p.is_string() || p.is_null())
        {
            return bad("jsonParam must be a string");
        }
        if let Some(Value::String(p)) = r.get("jsonParam")
            && serde_json::from_str::<Value>(p).is_err()
        {
            return bad("jsonParam is not valid JSON");
        }
        let locator = r.get("locator").and_then(Value::as_str);
        if locator.is_none() && r.get("contactId").is_none() {
            return bad("locator or contactId is required");
        }
        results.push(queue(s, locator, email));
    }
    ok_json(json!({"id": 0, "results": one_or_many(results)}))
}

fn plain_send(s: &mut FakeState, channel: &str, v: &Value) -> Response {
    let key = if channel == "email" {
        "emails"
    } else {
        "phoneNumbers"
    };
    let targets: Vec<String> = v
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if targets.is_empty() && !(channel == "sms" && v.get("groupId").is_some()) {
        return bad(format!("{key} is required"));
    }
    let results: Vec<Value> = targets
        .iter()
        .map(|t| queue(s, Some(t), channel == "email"))
        .collect();
    ok_json(json!({"results": one_or_many(results)}))
}

const ORDER_STATUSES: &[&str] = &[
    "INITIALIZED",
    "IN_PROGRESS",
    "DELIVERED",
    "CANCELLED",
    "ABANDONED_SHOPPING_CART",
];

fn has_offset(date: &str) -> bool {
    date.parse::<jiff::Timestamp>().is_ok()
}

fn orders(s: &mut FakeState, v: &Value) -> Response {
    let Some(orders) = v.get("orders").and_then(Value::as_array) else {
        return bad("orders is required");
    };
    if orders.is_empty() || orders.len() > 1000 {
        return bad("One request can contain from 1 to 1,000 orders");
    }
    for (i, o) in orders.iter().enumerate() {
        for field in ["externalOrderId", "status", "date", "currency"] {
            if o.get(field)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return bad(format!("orders[{i}].{field} is required"));
            }
        }
        if !o
            .get("totalCost")
            .is_some_and(|c| c.is_number() || c.is_string())
        {
            return bad(format!("orders[{i}].totalCost is required"));
        }
        let status = o["status"].as_str().unwrap_or_default();
        if !ORDER_STATUSES.contains(&status) {
            return bad(format!("orders[{i}].status: unknown status {status}"));
        }
        if !has_offset(o["date"].as_str().unwrap_or_default()) {
            return bad(format!("orders[{i}].date must be ISO 8601 with an offset"));
        }
    }
    for o in orders {
        s.orders.insert(
            o["externalOrderId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            o.clone(),
        );
    }
    empty()
}

fn delete_orders(s: &mut FakeState, q: &HashMap<String, String>) -> Response {
    if let Some(id) = q.get("externalOrderId") {
        s.orders.remove(id);
        return empty();
    }
    let parse = |k: &str| {
        q.get(k)
            .and_then(|v| v.parse::<jiff::civil::DateTime>().ok())
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    };
    match (parse("from"), parse("to")) {
        (Some(from), Some(to))
            if from < to && to.duration_since(from) <= jiff::SignedDuration::from_hours(24) =>
        {
            s.orders.retain(|_, o| {
                let t = o["date"]
                    .as_str()
                    .and_then(|d| d.parse::<jiff::Timestamp>().ok());
                !t.is_some_and(|t| t >= from && t < to)
            });
            empty()
        }
        _ => bad("externalOrderId, or from and to (from < to, at most 24 hours), are required"),
    }
}

fn insert_contact(s: &mut FakeState, mut contact: Value) -> i64 {
    let id = match contact.get("id").and_then(Value::as_i64) {
        Some(id) if id > 0 => id,
        _ => {
            s.next_contact += 1;
            s.next_contact
        }
    };
    s.next_contact = s.next_contact.max(id);
    contact["id"] = json!(id);
    s.contacts.insert(id, contact);
    id
}

fn email_of(c: &Value) -> Option<String> {
    channel_of(c, "email")
}

fn channel_of(c: &Value, kind: &str) -> Option<String> {
    c.get("channels")?
        .as_array()?
        .iter()
        .find(|ch| ch.get("type").and_then(Value::as_str) == Some(kind))
        .and_then(|ch| ch.get("value")?.as_str().map(str::to_lowercase))
}

/// The id of the stored contact matching `c` (externalCustomerId first, then `dedupe_on`).
fn find_contact(s: &FakeState, c: &Value, dedupe_on: &str) -> Option<i64> {
    if let Some(ext) = c.get("externalCustomerId").and_then(Value::as_str) {
        return s
            .contacts
            .iter()
            .find(|(_, v)| v.get("externalCustomerId").and_then(Value::as_str) == Some(ext))
            .map(|(id, _)| *id);
    }
    let same = |kind: &str| {
        let mine = channel_of(c, kind)?;
        s.contacts
            .iter()
            .find(|(_, v)| channel_of(v, kind).as_deref() == Some(&mine))
            .map(|(id, _)| *id)
    };
    match dedupe_on {
        "id" => c
            .get("id")
            .and_then(Value::as_i64)
            .filter(|id| s.contacts.contains_key(id)),
        "sms" => same("sms"),
        "email_or_sms" => same("email").or_else(|| same("sms")),
        _ => same("email"),
    }
}

fn upsert_contact(s: &mut FakeState, c: &Value, dedupe_on: &str) -> i64 {
    match find_contact(s, c, dedupe_on) {
        Some(id) => {
            let stored = s.contacts.get_mut(&id).expect("found");
            for (k, v) in c.as_object().into_iter().flatten() {
                if k != "id" {
                    stored[k] = v.clone();
                }
            }
            id
        }
        None => {
            let mut c = c.clone();
            if let Some(m) = c.as_object_mut() {
                m.remove("id");
            }
            insert_contact(s, c)
        }
    }
}

fn segment_by_name(s: &mut FakeState, name: &str) -> i64 {
    if let Some((id, _)) = s.segments.iter().find(|(_, g)| g.name == name) {
        return *id;
    }
    let id = s.segments.keys().next_back().copied().unwrap_or(0) + 1;
    s.segments.insert(
        id,
        Segment {
            name: name.into(),
            kind: "Static".into(),
            members: BTreeSet::new(),
        },
    );
    id
}

fn page(q: &HashMap<String, String>, items: Vec<Value>) -> Response {
    let start = q
        .get("startindex")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let rows = q
        .get("maxrows")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(500);
    if rows > 500 {
        return bad("maxrows must not exceed 500");
    }
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start - 1).take(rows).collect();
    let mut r = ok_json(Value::Array(page));
    r.headers_mut()
        .insert("TotalCount", HeaderValue::from(total));
    r
}

fn contacts_routes(
    s: &mut FakeState,
    method: &Method,
    rest: &[&str],
    q: &HashMap<String, String>,
    body: &[u8],
) -> Response {
    let json_body = || serde_json::from_slice::<Value>(body);
    match (method.as_str(), rest) {
        ("POST", ["v1", "contacts"]) => {
            let Ok(v) = json_body() else {
                return bad("Malformed JSON");
            };
            let Some(contacts) = v.get("contacts").and_then(Value::as_array) else {
                return bad("contacts is required");
            };
            if contacts.len() > 3000 {
                return bad("At most 3000 contacts per request");
            }
            let dedupe = v
                .get("dedupeOn")
                .and_then(Value::as_str)
                .unwrap_or("email")
                .to_string();
            let groups: Vec<String> = v
                .get("groupNames")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let ids: Vec<i64> = contacts
                .iter()
                .map(|c| upsert_contact(s, c, &dedupe))
                .collect();
            for g in groups {
                let gid = segment_by_name(s, &g);
                if let Some(seg) = s.segments.get_mut(&gid) {
                    seg.members.extend(&ids);
                }
            }
            s.next_import += 1;
            let session = format!("5b2b0a4e-0000-4000-8000-{:012x}", s.next_import);
            let polls_left = s.import_polls;
            let failed = s.fail_imports;
            s.imports
                .insert(session.clone(), ImportSession { polls_left, failed });
            ok_json(json!({ "asyncSessionId": session }))
        }
        ("GET", ["v1", "importstatus", id]) => match s.imports.get_mut(*id) {
            None => text(404, "Session not found"),
            Some(session) if session.polls_left > 0 => {
                session.polls_left -= 1;
                ok_json(
                    json!({"status": if session.polls_left > 0 { "STARTED" } else { "IMPORTING" }}),
                )
            }
            Some(session) if session.failed => {
                ok_json(json!({"status": "ERROR", "description": "Import failed"}))
            }
            Some(_) => ok_json(json!({"status": "FINISHED"})),
        },
        ("GET", ["v1", "contacts"]) => {
            let email = q.get("email").map(|e| e.to_lowercase());
            let ext = q.get("externalCustomerId");
            let sms = q.get("sms");
            let hits: Vec<Value> = s
                .contacts
                .values()
                .filter(|c| {
                    email
                        .as_ref()
                        .is_none_or(|e| email_of(c).is_some_and(|m| m.contains(e.as_str())))
                })
                .filter(|c| {
                    ext.is_none_or(|x| {
                        c.get("externalCustomerId").and_then(Value::as_str) == Some(x)
                    })
                })
                .filter(|c| sms.is_none_or(|p| channel_of(c, "sms").as_deref() == Some(p)))
                .cloned()
                .collect();
            page(q, hits)
        }
        ("POST", ["v1", "contact"]) => {
            let Ok(c) = json_body() else {
                return bad("Malformed JSON");
            };
            if !c.get("channels").is_some_and(Value::is_array) {
                return bad(json!({"errorMessage": "channels are required"}).to_string());
            }
            let id = upsert_contact(s, &c, "email");
            ok_json(json!({ "id": id }))
        }
        ("POST", ["v1", "contact", "subscribe"]) => {
            let Ok(v) = json_body() else {
                return bad("Malformed JSON");
            };
            let Some(c) = v.get("contact") else {
                return bad("contact is required");
            };
            let id = upsert_contact(s, c, "email");
            for g in v
                .get("groups")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = g.as_str() {
                    let gid = segment_by_name(s, name);
                    if let Some(seg) = s.segments.get_mut(&gid) {
                        seg.members.insert(id);
                    }
                }
            }
            s.events.push(RecordedEvent {
                version: 1,
                body: json!({"eventTypeKey": "subscribeFromAPI", "params": [{"name": "contactId", "value": id.to_string()}]}),
            });
            empty()
        }
        ("DELETE", ["v1", "contact"]) => {
            let Some(ext) = q.get("externalCustomerId") else {
                return bad("externalCustomerId is required");
            };
            s.contacts.retain(|_, c| {
                c.get("externalCustomerId").and_then(Value::as_str) != Some(ext.as_str())
            });
            empty()
        }
        (m, ["v1", "contact", id]) => {
            let Ok(id) = id.parse::<i64>() else {
                return text(404, "Not Found");
            };
            if !s.contacts.contains_key(&id) {
                return text(404, "Contact not found");
            }
            match m {
                "GET" => ok_json(s.contacts[&id].clone()),
                "DELETE" => {
                    s.contacts.remove(&id);
                    for seg in s.segments.values_mut() {
                        seg.members.remove(&id);
                    }
                    empty()
                }
                "PUT" => {
                    let Ok(mut c) = json_body() else {
                        return bad("Malformed JSON");
                    };
                    c["id"] = json!(id);
                    s.contacts.insert(id, c);
                    empty()
                }
                _ => text(405, "Method Not Allowed"),
            }
        }
        ("GET", ["v1", "addressbooks"]) => {
            let books = s.address_books.clone();
            ok_json(
                json!({ "addressBook": if books.len() == 1 { books[0].clone() } else { Value::Array(books) } }),
            )
        }
        ("GET", ["v1", "groups"]) => {
            let name = q.get("name").map(|n| n.to_lowercase());
            let all: Vec<Value> = s
                .segments
                .iter()
                .filter(|(_, g)| {
                    name.as_ref()
                        .is_none_or(|n| g.name.to_lowercase().contains(n.as_str()))
                })
                .map(|(id, g)| json!({"id": id, "name": g.name, "type": g.kind}))
                .collect();
            page(q, all)
        }
        ("GET", ["v1", "group", id, "contacts"]) => {
            let Some(seg) = id.parse::<i64>().ok().and_then(|id| s.segments.get(&id)) else {
                return text(404, "Group not found");
            };
            let members: Vec<Value> = seg
                .members
                .iter()
                .filter_map(|m| s.contacts.get(m).cloned())
                .collect();
            page(q, members)
        }
        (
            "POST",
            [
                "v1",
                "group",
                id,
                "contacts",
                action @ ("attach" | "detach"),
            ],
        ) => {
            let Ok(v) = json_body() else {
                return bad("Malformed JSON");
            };
            let ids: Vec<i64> = v
                .get("contactIds")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            let Some(seg) = id
                .parse::<i64>()
                .ok()
                .and_then(|id| s.segments.get_mut(&id))
            else {
                return text(404, "Group not found");
            };
            if seg.kind != "Static" {
                return bad("Only static segments can be changed");
            }
            if *action == "attach" {
                seg.members.extend(ids);
                text(200, "Contacts were attached")
            } else {
                for i in ids {
                    seg.members.remove(&i);
                }
                text(200, "Contacts were detached")
            }
        }
        _ => text(404, "Not Found"),
    }
}
