//! A stateful, in-process HTTP fake of Smaily (feature `fake`), on loopback.
//!
//! It follows the reference, not the client: answers are JSON sent as `text/html`, business
//! errors are body codes on HTTP 200 (206 for a subscriber miss, 204 for a malformed email, 203
//! for a reserved-TLD email or a batch with any bad row, whose good rows are still saved, 207
//! for a missing field), 401 for bad credentials, 403 + 227 when plan-blocked (before auth),
//! 404 with an empty body for an unknown script. It accepts JSON and PHP-style form bodies.
//!
//! State: subscribers (a sorted map; 100,000 are fine), segments 1 (all) and 2 (unsubscribed),
//! the workflows, the autoresponder trigger log and sent messages. Faults: fail the next N
//! requests with a status, with a body code, with 429 + `Retry-After`, drop the connection,
//! delay every answer, and an optional enforced rate limit (off by default).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use smaily_client::{fake::FakeSmaily, Subscriber};
//! let fake = FakeSmaily::start().await;
//! let client = fake.client();
//! fake.fail_next(1, 503);
//! client.upsert(&Subscriber::new("mari@example.com")).await.unwrap(); // retried past the 503
//! assert!(!fake.subscriber("mari@example.com").unwrap().is_unsubscribed);
//! assert_eq!(fake.request_count(), 2);
//! # });
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::client::{Client, RetryPolicy};
use crate::de::{format_smaily_time, tallinn, value_to_bool, value_to_i64, value_to_text};
use crate::form::parse_php_form;
use crate::subscribers::Subscriber;

/// The API user the fake accepts unless told otherwise.
pub const FAKE_USER: &str = "fake-user";
/// The API password the fake accepts unless told otherwise.
pub const FAKE_PASSWORD: &str = "fake-password";

/// A subscriber as the fake stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeContact {
    /// Email, as first given.
    pub email: String,
    /// Unsubscribed flag.
    pub is_unsubscribed: bool,
    /// Deleted (`is_deleted: 1`): hidden from reads and segments, custom data purged.
    pub is_deleted: bool,
    /// Custom fields, as text.
    pub fields: BTreeMap<String, String>,
    /// Tallinn-local `YYYY-MM-DD HH:MM:SS`.
    pub created_at: String,
    /// Tallinn-local `YYYY-MM-DD HH:MM:SS`, when unsubscribed.
    pub unsubscribed_at: Option<String>,
}

impl FakeContact {
    fn to_json(&self, only: Option<&[String]>) -> Value {
        let mut m = Map::new();
        m.insert("email".into(), json!(self.email));
        let mut put = |k: &str, v: Value| {
            if only.is_none_or(|f| f.iter().any(|x| x == k)) {
                m.insert(k.into(), v);
            }
        };
        // Numbers as strings, as a live probe reports.
        put(
            "is_unsubscribed",
            json!(if self.is_unsubscribed { "1" } else { "0" }),
        );
        put("created_at", json!(self.created_at));
        put("subscribed_at", json!(self.created_at));
        put("modified_at", json!(self.created_at));
        put(
            "unsubscribed_at",
            self.unsubscribed_at
                .clone()
                .map_or(Value::Null, Value::String),
        );
        put("last_response_code", json!("0"));
        put("total_opens", json!("0"));
        put("total_clicks", json!("0"));
        for (k, v) in &self.fields {
            put(k, json!(v));
        }
        Value::Object(m)
    }
}

/// One `autoresponder.php` trigger the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// The workflow id, if given.
    pub autoresponder: Option<u64>,
    /// The addresses' emails.
    pub emails: Vec<String>,
    /// `force_opt_in` (default true).
    pub force_opt_in: bool,
}

/// A request as the fake received it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, including `/api/`.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// `Authorization` header.
    pub authorization: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
    /// The raw body.
    pub body: String,
}

impl ReceivedRequest {
    /// The body as JSON, whichever encoding it came in (form values become strings).
    pub fn body_json(&self) -> Value {
        body_json(self.content_type.as_deref(), &self.body)
    }

    /// The query decoded into pairs.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    }
}

fn body_json(content_type: Option<&str>, body: &str) -> Value {
    if content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
        parse_php_form(body)
    } else {
        serde_json::from_str(body).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Clone)]
enum Fault {
    Status(u16),
    Code(u16, String),
    RateLimit(u64),
    Drop,
}

#[derive(Debug)]
struct FakeState {
    user: String,
    password: String,
    contacts: BTreeMap<String, FakeContact>,
    triggers: Vec<Trigger>,
    messages: Vec<Value>,
    workflows: Vec<Value>,
    requests: Vec<ReceivedRequest>,
    request_count: u64,
    record_requests: bool,
    faults: VecDeque<Fault>,
    delay: Option<Duration>,
    plan_blocked: bool,
    rate_limit: Option<u32>,
    /// Token bucket of the enforced limit: (tokens, last refill).
    bucket: (f64, Instant),
    rate_limited_count: u64,
    next_message_id: u64,
}

/// The fake server. Dropping it stops the server.
pub struct FakeSmaily {
    addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSmaily {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for FakeSmaily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSmaily")
            .field("addr", &self.addr)
            .finish()
    }
}

impl FakeSmaily {
    /// Starts the fake on `127.0.0.1:<free port>`, with no subscribers, segments 1 and 2,
    /// workflow 1 ("Welcome", ACTIVE, form submitted), credentials [`FAKE_USER`] /
    /// [`FAKE_PASSWORD`], no enforced rate limit.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use smaily_client::{fake::FakeSmaily, Subscriber};
    /// let fake = FakeSmaily::start().await;
    /// fake.client().upsert(&Subscriber::new("mari@example.com")).await?;
    /// assert_eq!(fake.subscriber_count(), 1);
    /// assert_eq!(fake.requests()[0].path, "/api/contact.php");
    /// # Ok::<(), smaily_client::Error>(()) }).unwrap();
    /// ```
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState {
            user: FAKE_USER.into(),
            password: FAKE_PASSWORD.into(),
            contacts: BTreeMap::new(),
            triggers: Vec::new(),
            messages: Vec::new(),
            workflows: vec![json!({
                "id": 1, "name": "Welcome", "title": "Welcome", "status": "ACTIVE", "is_enabled": true,
                "trigger_type": "form_submitted",
                "created_at": "2024-01-10 09:00:00", "activated_at": "2024-01-10 09:05:00",
                "tags": [], "sections": [{"id": 11, "name": "Welcome mail",
                    "template": {"id": 5, "name": "Welcome", "preview_url": "https://example.com/p/5"}}]
            })],
            requests: Vec::new(),
            request_count: 0,
            record_requests: true,
            faults: VecDeque::new(),
            delay: None,
            plan_blocked: false,
            rate_limit: None,
            bucket: (0.0, Instant::now()),
            rate_limited_count: 0,
            next_message_id: 1,
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeSmaily { addr, state, task }
    }

    /// The API root for [`ClientBuilder::base_url`](crate::ClientBuilder::base_url):
    /// `http://127.0.0.1:<port>/api/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/", self.addr)
    }

    /// A client for this fake: its credentials, plain http allowed, no client-side rate limit,
    /// fast retries (3, milliseconds apart).
    pub fn client(&self) -> Client {
        self.client_builder().build().expect("fake client")
    }

    /// A builder preset like [`client`](Self::client), to adjust further.
    pub fn client_builder(&self) -> crate::ClientBuilder {
        Client::builder("fake", FAKE_USER, FAKE_PASSWORD)
            .base_url(self.base_url())
            .allow_http(true)
            .rate_limit(0)
            .retry(RetryPolicy::fast(3))
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Accept these credentials instead of the defaults.
    pub fn set_credentials(&self, user: &str, password: &str) {
        let mut s = self.lock();
        s.user = user.into();
        s.password = password.into();
    }

    /// Seeds subscribers directly (no request, no validation). A missing status means subscribed.
    pub fn seed_subscribers(&self, subscribers: impl IntoIterator<Item = Subscriber>) {
        let now = now_text();
        let mut s = self.lock();
        for sub in subscribers {
            let key = sub.email.to_lowercase();
            let unsub = sub.is_unsubscribed.unwrap_or(false);
            s.contacts.insert(
                key,
                FakeContact {
                    email: sub.email.clone(),
                    is_unsubscribed: unsub,
                    is_deleted: false,
                    fields: sub
                        .fields
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    created_at: now.clone(),
                    unsubscribed_at: unsub.then(|| now.clone()),
                },
            );
        }
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

    /// Every accepted `autoresponder.php` trigger, in order.
    pub fn triggers(&self) -> Vec<Trigger> {
        self.lock().triggers.clone()
    }

    /// Every accepted `message/send.php` body, in order.
    pub fn sent_messages(&self) -> Vec<Value> {
        self.lock().messages.clone()
    }

    /// How many HTTP requests reached the fake (faulted and refused ones included).
    pub fn request_count(&self) -> u64 {
        self.lock().request_count
    }

    /// How many requests the enforced rate limit refused with 429.
    pub fn rate_limited_count(&self) -> u64 {
        self.lock().rate_limited_count
    }

    /// Every request received, in order (see [`record_requests`](Self::record_requests)).
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.lock().requests.clone()
    }

    /// Whether to keep full requests for [`requests`](Self::requests) (on by default; turn off
    /// for large benchmarks; [`request_count`](Self::request_count) always counts).
    pub fn record_requests(&self, on: bool) {
        self.lock().record_requests = on;
    }

    /// Forgets the recorded requests and resets the counters.
    pub fn clear_requests(&self) {
        let mut s = self.lock();
        s.requests.clear();
        s.request_count = 0;
        s.rate_limited_count = 0;
    }

    /// Answers the next `n` requests with HTTP `status` (a JSON error body for 5xx, the 227
    /// body for 403, an empty body otherwise), without processing them.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.lock()
            .faults
            .extend(std::iter::repeat_n(Fault::Status(status), n));
    }

    /// Answers the next `n` requests with HTTP 200 and body `{"code": code, "message": ...}`
    /// without processing them (e.g. 205 "Could not add or update provided contact").
    pub fn fail_next_with_code(&self, n: usize, code: u16, message: &str) {
        self.lock()
            .faults
            .extend(std::iter::repeat_n(Fault::Code(code, message.into()), n));
    }

    /// Answers the next `n` requests with 429 and `Retry-After: retry_after_secs`.
    pub fn rate_limit_next(&self, n: usize, retry_after_secs: u64) {
        self.lock()
            .faults
            .extend(std::iter::repeat_n(Fault::RateLimit(retry_after_secs), n));
    }

    /// Cuts the connection mid-answer for the next `n` requests (after processing them).
    pub fn drop_next(&self, n: usize) {
        self.lock()
            .faults
            .extend(std::iter::repeat_n(Fault::Drop, n));
    }

    /// Delays every answer (`None` to stop).
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.lock().delay = delay;
    }

    /// Enforces a rate limit like Smaily's 5 requests/second (`Some(5)`): a token bucket of 5
    /// refilled at 5 per second; a request finding it empty gets 429 with `Retry-After: 1`,
    /// unprocessed. `None` (the default) turns the fake's own 429s off.
    pub fn enforce_rate_limit(&self, per_second: Option<u32>) {
        let mut s = self.lock();
        s.rate_limit = per_second;
        s.bucket = (f64::from(per_second.unwrap_or(0)), Instant::now());
    }

    /// Plan-blocked account: every request gets 403 + code 227, before authentication.
    pub fn set_plan_blocked(&self, blocked: bool) {
        self.lock().plan_blocked = blocked;
    }
}

fn now_text() -> String {
    format_smaily_time(&jiff::Zoned::now().with_time_zone(tallinn()))
}

fn answer(status: StatusCode, body: Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    // Smaily labels its JSON as HTML.
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    r
}

fn ok(body: Value) -> Response {
    answer(StatusCode::OK, body)
}

fn code(code: u16, message: impl Into<String>) -> Response {
    ok(json!({"code": code, "message": message.into()}))
}

fn ok101() -> Response {
    code(101, "OK")
}

fn empty(status: u16) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r
}

fn status_fault(status: u16) -> Response {
    match status {
        403 => answer(
            StatusCode::FORBIDDEN,
            json!({"code": 227, "message": "A paid package is required."}),
        ),
        429 => {
            let mut r = empty(429);
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        s if s >= 500 => {
            let mut r = answer(StatusCode::OK, json!({"error": "Internal Server Error"}));
            *r.status_mut() = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r
        }
        s => empty(s),
    }
}

async fn handle(
    State(state): State<Arc<Mutex<FakeState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let req = ReceivedRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        content_type: header_text(header::CONTENT_TYPE),
        authorization: header_text(header::AUTHORIZATION),
        user_agent: header_text(header::USER_AGENT),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (fault, delay) = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.request_count += 1;
        if s.record_requests {
            s.requests.push(req.clone());
        }
        (s.faults.pop_front(), s.delay)
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    match fault {
        Some(Fault::Status(status)) => return status_fault(status),
        Some(Fault::RateLimit(secs)) => {
            let mut r = empty(429);
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&secs.to_string()).expect("digits"),
            );
            return r;
        }
        Some(Fault::Code(c, m)) => return code(c, m),
        Some(Fault::Drop) => {
            let _ = process(&state, &req);
            let broken = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("dropped"))
            });
            return Response::new(Body::from_stream(broken));
        }
        None => {}
    }
    process(&state, &req)
}

fn process(state: &Mutex<FakeState>, req: &ReceivedRequest) -> Response {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    if s.plan_blocked {
        return status_fault(403);
    }
    if let Some(limit) = s.rate_limit {
        let now = Instant::now();
        let (tokens, last) = s.bucket;
        let rate = f64::from(limit);
        let tokens = (tokens + now.duration_since(last).as_secs_f64() * rate).min(rate);
        if tokens < 1.0 {
            s.bucket = (tokens, now);
            s.rate_limited_count += 1;
            return status_fault(429);
        }
        s.bucket = (tokens - 1.0, now);
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", s.user, s.password))
    );
    if req.authorization.as_deref() != Some(expected.as_str()) {
        return empty(401);
    }
    let Some(script) = req.path.strip_prefix("/api/") else {
        return empty(404);
    };
    let query: BTreeMap<String, String> = req.query_pairs().into_iter().collect();
    let body = req.body_json();
    match (req.method.as_str(), script) {
        ("GET", "contact.php") => get_contact(&s, &query),
        ("POST", "contact.php") => post_contact(&mut s, &body),
        ("POST", "contact/forget.php") => forget(&mut s, &body),
        ("GET", "list.php") => segments(&s, &query),
        ("POST", "autoresponder.php") => trigger(&mut s, &body),
        ("GET", "autoresponder.php") => ok(Value::Array(s.workflows.clone())),
        ("GET", "workflows.php") => ok(Value::Array(s.workflows.clone())),
        ("POST", "message/send.php") => send_message(&mut s, req, &body),
        ("POST", "unsubscribe.php") => unsubscribe_from_campaign(&mut s, &body),
        ("GET", "organizations/users.php") => ok(json!([{
            "id": 1, "email": "owner@example.com", "first_name": "Fake", "last_name": "Owner",
            "is_owner": true, "role": {"id": 1, "name": "Owner"}
        }])),
        (_, known)
            if [
                "contact.php",
                "contact/forget.php",
                "autoresponder.php",
                "message/send.php",
                "unsubscribe.php",
            ]
            .contains(&known) =>
        {
            code(201, "Data must be posted with POST method.")
        }
        _ => empty(404),
    }
}

fn get_contact(s: &FakeState, query: &BTreeMap<String, String>) -> Response {
    if let Some(email) = query.get("email") {
        return match s.contacts.get(&email.to_lowercase()) {
            Some(c) if !c.is_deleted => ok(c.to_json(None)),
            _ => code(206, "Could not find requested email address"),
        };
    }
    let Some(list) = query.get("list") else {
        return code(207, "Following fields are required - email");
    };
    let only: Option<Vec<String>> = query
        .get("fields")
        .map(|f| f.split(',').map(|x| x.trim().to_string()).collect());
    let filter: fn(&FakeContact) -> bool = match list.as_str() {
        "1" => |c| !c.is_deleted,
        "2" => |c| !c.is_deleted && c.is_unsubscribed,
        other => return code(208, format!("Could not find list with ID - {other}")),
    };
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25_000)
        .clamp(1, 25_000);
    let page = query
        .get("offset")
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    let rows: Vec<Value> = s
        .contacts
        .values()
        .filter(|c| filter(c))
        .skip(page * limit)
        .take(limit)
        .map(|c| c.to_json(only.as_deref()))
        .collect();
    ok(Value::Array(rows))
}

/// Why a row is refused: the code and message Smaily gives for it alone.
fn row_error(row: &Value) -> Option<(u16, String)> {
    let email = match row.get("email") {
        None | Some(Value::Null) => {
            return Some((207, "Following fields are required - email".into()));
        }
        Some(v) => value_to_text(v),
    };
    let email = email.trim();
    if email.is_empty() {
        return Some((207, "Following fields are required - email".into()));
    }
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.contains(char::is_whitespace)
            && !domain.contains('@')
    });
    if !valid {
        return Some((204, format!("Invalid email address provided - {email}")));
    }
    let domain = email.rsplit('@').next().unwrap_or("").to_lowercase();
    if [".test", ".invalid", ".localhost", ".example"]
        .iter()
        .any(|tld| domain.ends_with(tld))
    {
        return Some((203, "Invalid data submitted".into()));
    }
    None
}

fn apply_row(s: &mut FakeState, row: &Map<String, Value>, force_subscribe: bool) {
    let email = value_to_text(&row["email"]).trim().to_string();
    let key = email.to_lowercase();
    let now = now_text();
    let contact = s.contacts.entry(key).or_insert_with(|| FakeContact {
        email: email.clone(),
        is_unsubscribed: false,
        is_deleted: false,
        fields: BTreeMap::new(),
        created_at: now.clone(),
        unsubscribed_at: None,
    });
    let deleted = row
        .get("is_deleted")
        .and_then(value_to_bool)
        .unwrap_or(false);
    if deleted {
        contact.is_deleted = true;
        contact.fields.clear();
        return;
    }
    contact.is_deleted = false;
    let unsub = row.get("is_unsubscribed").and_then(value_to_bool);
    let unsub = if force_subscribe { Some(false) } else { unsub };
    if let Some(u) = unsub {
        if u && !contact.is_unsubscribed {
            contact.unsubscribed_at = Some(now.clone());
        }
        if !u {
            contact.unsubscribed_at = None;
        }
        contact.is_unsubscribed = u;
    }
    for (k, v) in row {
        if !["email", "is_unsubscribed", "is_deleted"].contains(&k.as_str()) {
            contact.fields.insert(k.clone(), value_to_text(v));
        }
    }
}

fn post_contact(s: &mut FakeState, body: &Value) -> Response {
    match body {
        Value::Object(row) if !row.is_empty() => {
            if let Some((c, m)) = row_error(body) {
                return code(c, m);
            }
            apply_row(s, row, false);
            ok101()
        }
        Value::Array(rows) if !rows.is_empty() => {
            // Valid rows are saved; any bad row makes the whole answer 203.
            let mut bad = false;
            for row in rows {
                match (row, row_error(row)) {
                    (Value::Object(r), None) => apply_row(s, r, false),
                    _ => bad = true,
                }
            }
            if bad {
                code(203, "Invalid data submitted")
            } else {
                ok101()
            }
        }
        _ => code(203, "Invalid data submitted"),
    }
}

fn forget(s: &mut FakeState, body: &Value) -> Response {
    let Value::Array(emails) = body else {
        return code(203, "Invalid data submitted");
    };
    for e in emails {
        s.contacts.remove(&value_to_text(e).to_lowercase());
    }
    ok101()
}

fn segments(s: &FakeState, query: &BTreeMap<String, String>) -> Response {
    let all = s.contacts.values().filter(|c| !c.is_deleted).count();
    let unsub = s
        .contacts
        .values()
        .filter(|c| !c.is_deleted && c.is_unsubscribed)
        .count();
    let list = [
        json!({"id": 1, "name": "All subscribers", "subscribers_count": all,
               "filter_type": "ALL", "filter_data": []}),
        json!({"id": 2, "name": "Unsubscribed", "subscribers_count": unsub,
               "filter_type": "ALL", "filter_data": [["is_unsubscribed", ["Equal", "1"]]]}),
    ];
    match query.get("id").map(String::as_str) {
        None => ok(json!([
            {"id": 1, "name": "All subscribers", "subscribers_count": all.to_string()},
            {"id": 2, "name": "Unsubscribed", "subscribers_count": unsub.to_string()},
        ])),
        Some("1") => ok(list[0].clone()),
        Some("2") => ok(list[1].clone()),
        Some(other) => code(208, format!("Could not find list with ID - {other}")),
    }
}

fn trigger(s: &mut FakeState, body: &Value) -> Response {
    let Some(Value::Array(addresses)) = body.get("addresses") else {
        return code(207, "Following fields are required - addresses");
    };
    let autoresponder = match body.get("autoresponder") {
        None | Some(Value::Null) => None,
        Some(v) => match value_to_i64(v) {
            Some(id) if s.workflows.iter().any(|w| w["id"] == json!(id)) => Some(id as u64),
            _ => return code(221, "Invalid autoresponder ID provided"),
        },
    };
    let force_opt_in = body
        .get("force_opt_in")
        .and_then(value_to_bool)
        .unwrap_or(true);
    let mut accepted = Vec::new();
    for a in addresses {
        if let Some((c, m)) = row_error(a) {
            return code(c, m);
        }
        if let Value::Object(row) = a {
            apply_row(s, row, force_opt_in);
            accepted.push(value_to_text(&row["email"]).trim().to_string());
        }
    }
    s.triggers.push(Trigger {
        autoresponder,
        emails: accepted.clone(),
        force_opt_in,
    });
    ok(json!({"code": 101, "message": "OK", "addresses": accepted}))
}

fn send_message(s: &mut FakeState, req: &ReceivedRequest, body: &Value) -> Response {
    if !req
        .content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return code(203, "Invalid data submitted");
    }
    let missing: Vec<&str> = ["autoresponder_id", "to"]
        .into_iter()
        .filter(|k| body.get(k).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return code(
            207,
            format!("Following fields are required - {}", missing.join(", ")),
        );
    }
    let id = value_to_i64(&body["autoresponder_id"]);
    if !id.is_some_and(|id| s.workflows.iter().any(|w| w["id"] == json!(id))) {
        return code(221, "Invalid autoresponder ID provided");
    }
    let Some(to) = body["to"].as_array() else {
        return code(203, "Invalid data submitted");
    };
    let ids: Vec<u64> = to
        .iter()
        .map(|_| {
            s.next_message_id += 1;
            s.next_message_id
        })
        .collect();
    s.messages.push(body.clone());
    ok(json!({"code": 101, "message": "OK", "message_ids": ids}))
}

fn unsubscribe_from_campaign(s: &mut FakeState, body: &Value) -> Response {
    let missing: Vec<&str> = ["email", "campaign_id"]
        .into_iter()
        .filter(|k| body.get(k).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return code(
            207,
            format!("Following fields are required - {}", missing.join(", ")),
        );
    }
    let mut row = Map::new();
    row.insert("email".into(), body["email"].clone());
    row.insert("is_unsubscribed".into(), json!(1));
    if let Some((c, m)) = row_error(&Value::Object(row.clone())) {
        return code(c, m);
    }
    apply_row(s, &row, false);
    ok101()
}
