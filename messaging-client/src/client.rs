//! [`Client`], its builder, and the one private path every request takes.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use base64::Engine as _;
use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use crate::error::{Error, Result};

/// The documented production base URL (the `/v1/...` paths are appended).
pub const DEFAULT_BASE_URL: &str = "https://esputnik.com/api";

const USER_AGENT: &str = concat!("messaging-client/", env!("CARGO_PKG_VERSION"));

/// Client-side rate limits, in requests per second. `None` turns a bucket off.
///
/// Defaults are the documented limits: 200/s shared by most methods, 50/s for contact search
/// (`GET /v1/contacts`), 350/s for events (`/v1/event`, `/v2/event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Shared bucket for every method not listed below.
    pub default: Option<NonZeroU32>,
    /// `GET /v1/contacts` (search).
    pub contact_search: Option<NonZeroU32>,
    /// `POST /v1/event` and `POST /v2/event`.
    pub events: Option<NonZeroU32>,
}

impl RateLimits {
    /// The service's documented limits (200 / 50 / 350 per second).
    pub const fn documented() -> Self {
        RateLimits {
            default: NonZeroU32::new(200),
            contact_search: NonZeroU32::new(50),
            events: NonZeroU32::new(350),
        }
    }

    /// No client-side limiting at all.
    pub const fn unlimited() -> Self {
        RateLimits {
            default: None,
            contact_search: None,
            events: None,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::documented()
    }
}

/// Retry schedule: exponential backoff with jitter, honouring `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Upper bound of a backoff delay (a server `Retry-After` may exceed it).
    pub max_delay: Duration,
    /// Randomise delays (on by default).
    pub jitter: bool,
}

impl RetryPolicy {
    /// Never retry.
    pub const fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            min_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            jitter: false,
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            jitter: true,
        }
    }
}

/// Whether [`Client::push_orders`] repeats a chunk whose outcome is unknown (a timeout, a
/// dropped connection, a 5xx). Set with [`ClientBuilder::order_retry`].
///
/// An order is an upsert keyed by `externalOrderId`, so a repeat never duplicates the order
/// itself; but every order the service accepts raises the event `order<STATUS>`, which can
/// start a workflow. If the first attempt was in fact accepted, a repeat raises that event
/// again (a second "thank you for your order" message, for instance). Requests that provably
/// did not arrive (connect failure, 429) are repeated either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderRetry {
    /// Repeat only what provably did not arrive (the default): an unknown outcome is
    /// reported, and the order may be missing until it is sent again.
    #[default]
    WhenNotReceived,
    /// Also repeat after an unknown outcome: the order data arrives, at the risk of a second
    /// `order<STATUS>` event.
    AfterUnknownOutcome,
}

impl OrderRetry {
    /// Whether repeating an order push that failed with `err` is allowed by this choice.
    ///
    /// ```
    /// use messaging_client::{Error, OrderRetry};
    /// let server_error = Error::Api { status: 503, message: String::new(), body: String::new() };
    /// assert!(!OrderRetry::WhenNotReceived.repeats(&server_error));
    /// assert!(OrderRetry::AfterUnknownOutcome.repeats(&server_error));
    /// ```
    pub fn repeats(self, err: &Error) -> bool {
        match self {
            OrderRetry::WhenNotReceived => err.provably_not_processed(),
            OrderRetry::AfterUnknownOutcome => err.is_retryable(),
        }
    }
}

/// Which client-side rate-limit bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bucket {
    Default,
    ContactSearch,
    Events,
}

/// Builds a [`Client`]. Start with [`Client::builder`].
pub struct ClientBuilder {
    api_key: SecretString,
    user: String,
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    rate_limits: RateLimits,
    concurrency: usize,
    allow_http: bool,
    order_retry: OrderRetry,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &"[REDACTED]")
            .field("user", &self.user)
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("rate_limits", &self.rate_limits)
            .field("concurrency", &self.concurrency)
            .field("allow_http", &self.allow_http)
            .field("order_retry", &self.order_retry)
            .finish()
    }
}

impl ClientBuilder {
    /// Base URL without the `/v1` part (default [`DEFAULT_BASE_URL`]; `https://yespo.io/api`
    /// serves the same API).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The HTTP Basic user name (any value works; default `user`).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into();
        self
    }

    /// Per-attempt timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retry schedule (default: 3 retries, 0.5 s..30 s with jitter).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Client-side rate limits (default [`RateLimits::documented`]).
    pub fn rate_limit(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// How many chunks of a batch helper run at once (default 4; at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Whether order pushes are repeated after an unknown outcome (default
    /// [`OrderRetry::WhenNotReceived`]; see [`OrderRetry`] for what a repeat risks).
    pub fn order_retry(mut self, choice: OrderRetry) -> Self {
        self.order_retry = choice;
        self
    }

    /// Accept a plain `http://` base URL (loopback fakes). Off by default.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Builds the client.
    ///
    /// Fails with [`Error::Config`] for an unparsable base URL, or an `http` URL without
    /// [`allow_http`](Self::allow_http).
    pub fn build(self) -> Result<Client> {
        let base = Url::parse(self.base_url.trim_end_matches('/'))
            .map_err(|e| Error::Config(format!("base URL {:?}: {e}", self.base_url)))?;
        match base.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            other => {
                return Err(Error::Config(format!(
                    "base URL scheme {other:?} not allowed (https only unless allow_http(true))"
                )));
            }
        }
        if base.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "base URL {:?} cannot be a base",
                self.base_url
            )));
        }
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.user,
            self.api_key.expose_secret()
        ));
        let mut auth = HeaderValue::from_str(&format!("Basic {credentials}")).map_err(|_| {
            Error::Config("API key contains characters not allowed in a header".into())
        })?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let limiter =
            |rate: Option<NonZeroU32>| rate.map(|r| RateLimiter::direct(Quota::per_second(r)));
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                retry: self.retry,
                concurrency: self.concurrency,
                order_retry: self.order_retry,
                default_limiter: limiter(self.rate_limits.default),
                search_limiter: limiter(self.rate_limits.contact_search),
                events_limiter: limiter(self.rate_limits.events),
            }),
        })
    }
}

/// An eSputnik / Yespo API v1 client. Cheap to clone; one client serves many tasks.
///
/// ```no_run
/// # async fn run() -> Result<(), messaging_client::Error> {
/// let client = messaging_client::Client::builder("my-api-key").build()?;
/// let me = client.account_info().await?;
/// println!("connected to {}", me.organisation_name);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    retry: RetryPolicy,
    concurrency: usize,
    order_retry: OrderRetry,
    default_limiter: Option<DefaultDirectRateLimiter>,
    search_limiter: Option<DefaultDirectRateLimiter>,
    events_limiter: Option<DefaultDirectRateLimiter>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("auth", &"[REDACTED]")
            .field("retry", &self.inner.retry)
            .field("concurrency", &self.inner.concurrency)
            .field("order_retry", &self.inner.order_retry)
            .finish()
    }
}

/// A request, as described by a resource module.
pub(crate) struct Request {
    method: Method,
    segments: Vec<String>,
    query: Vec<(&'static str, String)>,
    body: Option<Bytes>,
    bucket: Bucket,
    idempotent: bool,
}

impl Request {
    /// A request to `segments` joined under the base URL (each segment is percent-encoded).
    /// Idempotent, default bucket, unless told otherwise.
    pub(crate) fn new<S: ToString>(method: Method, segments: &[S]) -> Self {
        Request {
            method,
            segments: segments.iter().map(ToString::to_string).collect(),
            query: Vec::new(),
            body: None,
            bucket: Bucket::Default,
            idempotent: true,
        }
    }

    pub(crate) fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Self> {
        let bytes =
            serde_json::to_vec(body).map_err(|e| Error::invalid("request body", e.to_string()))?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    pub(crate) fn raw_json(mut self, body: Vec<u8>) -> Self {
        self.body = Some(Bytes::from(body));
        self
    }

    /// Marks the operation as not idempotent: retried only when provably not processed.
    pub(crate) fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }

    pub(crate) fn bucket(mut self, bucket: Bucket) -> Self {
        self.bucket = bucket;
        self
    }
}

/// A successful (2xx) response.
pub(crate) struct Response {
    pub(crate) body: Bytes,
}

impl Response {
    /// Whether the body is empty or whitespace only.
    pub(crate) fn is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }

    /// Decodes the JSON body, naming the JSON path on failure.
    pub(crate) fn decode<T: DeserializeOwned>(&self, expected: &'static str) -> Result<T> {
        decode_json(&self.body, expected)
    }

    /// Decodes the JSON body, or `None` for an empty body.
    pub(crate) fn decode_opt<T: DeserializeOwned>(
        &self,
        expected: &'static str,
    ) -> Result<Option<T>> {
        if self.is_empty() {
            Ok(None)
        } else {
            self.decode(expected).map(Some)
        }
    }

    /// For answers whose body is optional and loosely specified (orders, contact imports): the
    /// decoded body, or `None` when it is empty or not the expected JSON (logged, not an error:
    /// the request was accepted).
    pub(crate) fn decode_lenient<T: DeserializeOwned>(&self, expected: &'static str) -> Option<T> {
        match self.decode_opt(expected) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring an unexpected 2xx body");
                None
            }
        }
    }

    /// The body as text (lossy UTF-8).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub(crate) fn decode_json<T: DeserializeOwned>(body: &[u8], expected: &'static str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Decode {
        expected,
        path: e.path().to_string(),
        message: e.inner().to_string(),
        snippet: snippet(body),
    })
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(200).collect()
}

/// The retry decision: idempotent operations retry any transient failure; the others only
/// failures that prove the request was not processed (connect failure, 429).
pub(crate) fn should_retry(err: &Error, idempotent: bool) -> bool {
    if idempotent {
        err.is_retryable()
    } else {
        err.provably_not_processed()
    }
}

/// The next delay: the server's `Retry-After` beats the backoff; `None` (backoff exhausted)
/// stays `None`.
pub(crate) fn next_delay(err: &Error, backoff: Option<Duration>) -> Option<Duration> {
    backoff.map(|d| err.retry_after().unwrap_or(d))
}

impl Client {
    /// Starts building a client with the API key (sent as the HTTP Basic password).
    ///
    /// ```
    /// use std::time::Duration;
    /// use messaging_client::{Client, RateLimits, RetryPolicy};
    /// let client = Client::builder("api-key")
    ///     .base_url("https://yespo.io/api")
    ///     .timeout(Duration::from_secs(10))
    ///     .retry(RetryPolicy::default())
    ///     .rate_limit(RateLimits::documented())
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{client:?}").contains("api-key"));
    /// ```
    pub fn builder(api_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            api_key: SecretString::from(api_key.into()),
            user: "user".into(),
            base_url: DEFAULT_BASE_URL.into(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            rate_limits: RateLimits::documented(),
            concurrency: 4,
            allow_http: false,
            order_retry: OrderRetry::default(),
        }
    }

    /// The builder's choice for repeating order pushes.
    ///
    /// ```
    /// use messaging_client::{Client, OrderRetry};
    /// let client = Client::builder("k").order_retry(OrderRetry::AfterUnknownOutcome).build().unwrap();
    /// assert_eq!(client.order_retry(), OrderRetry::AfterUnknownOutcome);
    /// ```
    pub fn order_retry(&self) -> OrderRetry {
        self.inner.order_retry
    }

    /// How many chunks batch helpers run at once.
    pub(crate) fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// The one path every request takes: rate limit, auth, headers, retries, tracing, status
    /// mapping. Returns the 2xx response; everything else is an [`Error`].
    pub(crate) async fn send(&self, req: Request) -> Result<Response> {
        let span = tracing::debug_span!("messaging.request", method = %req.method, path = %req.segments.join("/"));
        let policy = self.inner.retry;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_retries);
        if policy.jitter {
            backoff = backoff.with_jitter();
        }
        let idempotent = req.idempotent;
        (|| self.attempt(&req))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e| should_retry(e, idempotent))
            .adjust(next_delay)
            .notify(|e, d| tracing::warn!(error = %e, delay = ?d, "retrying messaging request"))
            .instrument(span)
            .await
    }

    async fn attempt(&self, req: &Request) -> Result<Response> {
        let inner = &*self.inner;
        let limiter = match req.bucket {
            Bucket::Default => &inner.default_limiter,
            Bucket::ContactSearch => &inner.search_limiter,
            Bucket::Events => &inner.events_limiter,
        };
        if let Some(limiter) = limiter {
            limiter.until_ready().await;
        }
        let mut url = inner.base.clone();
        url.path_segments_mut()
            .expect("checked in build()")
            .pop_if_empty()
            .extend(&req.segments);
        let mut builder = inner
            .http
            .request(req.method.clone(), url)
            .header(AUTHORIZATION, inner.auth.clone())
            .header(ACCEPT, "application/json");
        if !req.query.is_empty() {
            builder = builder.query(&req.query);
        }
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json; charset=UTF-8")
                .body(body.clone());
        }
        let response = builder.send().await.map_err(transport_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport_error)?;
        tracing::debug!(
            status = status.as_u16(),
            bytes = body.len(),
            "messaging response"
        );
        if status.is_success() {
            Ok(Response { body })
        } else {
            Err(status_error(status.as_u16(), &headers, &body))
        }
    }
}

fn transport_error(e: reqwest::Error) -> Error {
    if e.is_connect() {
        Error::Connect(e)
    } else if e.is_timeout() {
        Error::Timeout(e)
    } else {
        Error::Transport(e)
    }
}

/// Maps a non-2xx answer to an error, keeping the body verbatim.
pub(crate) fn status_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let text = String::from_utf8_lossy(body).into_owned();
    match status {
        401 => Error::Unauthorized { body: text },
        429 => Error::RateLimited {
            retry_after: retry_after(headers),
            body: text,
        },
        _ => Error::Api {
            status,
            message: service_message(&text),
            body: text,
        },
    }
}

/// The server's wait hint: `Retry-After` (seconds or an HTTP date), else `RateLimit-Reset`
/// (seconds). The service documents neither; both are honoured if they appear.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(value) = header(RETRY_AFTER.as_str()) {
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = jiff::fmt::rfc2822::parse(value) {
            let wait = at.timestamp().duration_since(jiff::Timestamp::now());
            return Some(Duration::try_from(wait).unwrap_or(Duration::ZERO));
        }
    }
    header("ratelimit-reset")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The service's message: `message` or `errorMessage` of a JSON object, else the text itself.
fn service_message(text: &str) -> String {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        for key in ["message", "errorMessage", "error"] {
            if let Some(serde_json::Value::String(m)) = map.get(key) {
                return m.clone();
            }
        }
    }
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> Error {
        Error::Api {
            status,
            message: String::new(),
            body: String::new(),
        }
    }

    #[test]
    fn retry_decision() {
        let limited = Error::RateLimited {
            retry_after: None,
            body: String::new(),
        };
        assert!(should_retry(&limited, true));
        assert!(should_retry(&limited, false));
        for s in [500, 502, 503, 504] {
            assert!(should_retry(&api(s), true), "{s}");
            assert!(!should_retry(&api(s), false), "{s}");
        }
        for s in [400, 404, 405, 415] {
            assert!(!should_retry(&api(s), true), "{s}");
        }
        assert!(!should_retry(
            &Error::Unauthorized {
                body: String::new()
            },
            true
        ));
        assert!(!should_retry(&Error::invalid("x", "y"), true));
    }

    #[test]
    fn retry_after_beats_backoff() {
        let hinted = Error::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
            body: String::new(),
        };
        assert_eq!(
            next_delay(&hinted, Some(Duration::from_millis(1))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(next_delay(&hinted, None), None);
        assert_eq!(
            next_delay(&api(500), Some(Duration::from_millis(3))),
            Some(Duration::from_millis(3))
        );
    }

    #[test]
    fn status_mapping_keeps_body_verbatim() {
        let h = HeaderMap::new();
        match status_error(400, &h, b"The event should have the following params: [x]") {
            Error::Api {
                status,
                message,
                body,
            } => {
                assert_eq!(status, 400);
                assert_eq!(message, "The event should have the following params: [x]");
                assert_eq!(body, "The event should have the following params: [x]");
            }
            other => panic!("{other:?}"),
        }
        match status_error(400, &h, br#"{"errorMessage":"bad contact"}"#) {
            Error::Api { message, .. } => assert_eq!(message, "bad contact"),
            other => panic!("{other:?}"),
        }
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(
            status_error(429, &h, b"").retry_after(),
            Some(Duration::from_secs(2))
        );
        assert!(matches!(
            status_error(401, &h, b"{\"status\":401}"),
            Error::Unauthorized { .. }
        ));
        let mut h = HeaderMap::new();
        h.insert("ratelimit-reset", HeaderValue::from_static("3"));
        assert_eq!(
            status_error(429, &h, b"").retry_after(),
            Some(Duration::from_secs(3))
        );
        let mut h = HeaderMap::new();
        let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(120);
        let date = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&soon)
            .unwrap();
        h.insert(RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
        let wait = status_error(429, &h, b"").retry_after().unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        let mut h = HeaderMap::new();
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(
            status_error(429, &h, b"").retry_after(),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn builder_rejects_plain_http_unless_allowed() {
        assert!(matches!(
            Client::builder("k").base_url("http://127.0.0.1:1").build(),
            Err(Error::Config(_))
        ));
        assert!(
            Client::builder("k")
                .base_url("http://127.0.0.1:1")
                .allow_http(true)
                .build()
                .is_ok()
        );
    }
}
