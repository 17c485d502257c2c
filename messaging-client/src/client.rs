//! [`Client`], its builder, and the one private path every request takes.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use marketing_sync_core::{Executor, RateLimiter, RetryPolicy, Settings};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use crate::error::{Error, Result};
pub(crate) use crate::settings::Bucket;
pub use crate::settings::{ApiKey, EventApi, OrderRetry, RateLimits};

/// The documented production base URL (the `/v1/...` paths are appended).
pub const DEFAULT_BASE_URL: &str = "https://esputnik.com/api";

const USER_AGENT: &str = concat!("messaging-client/", env!("CARGO_PKG_VERSION"));

/// Builds a [`Client`]. Start with [`Client::builder`]; every setter is infallible, `build`
/// checks.
pub struct ClientBuilder {
    api_key: ApiKey,
    user: String,
    base_url: String,
    settings: Settings,
    rate_limits: RateLimits,
    concurrency: usize,
    allow_http: bool,
    order_retry: OrderRetry,
    event_api: EventApi,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key)
            .field("user", &self.user)
            .field("base_url", &self.base_url)
            .field("settings", &self.settings)
            .field("rate_limits", &self.rate_limits)
            .field("concurrency", &self.concurrency)
            .field("allow_http", &self.allow_http)
            .field("order_retry", &self.order_retry)
            .field("event_api", &self.event_api)
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
        self.settings = self.settings.timeout(timeout);
        self
    }

    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings = self.settings.connect_timeout(timeout);
        self
    }

    /// Total time for one call, every attempt and retry wait included (default none: the
    /// retry policy alone bounds it).
    ///
    /// ```
    /// use std::time::Duration;
    /// use messaging_client::{ApiKey, Client};
    /// let client = Client::builder(ApiKey::new("k")).deadline(Duration::from_secs(120)).build();
    /// assert!(client.is_ok());
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.settings = self.settings.deadline(Some(deadline));
        self
    }

    /// Retry schedule (default: 3 retries, 0.5 s..30 s with jitter).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.settings = self.settings.retry(retry);
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

    /// Which event API [`Client::generate_event`] posts to (default [`EventApi::V2`]: OA
    /// marks v1 deprecated).
    ///
    /// ```
    /// use messaging_client::{ApiKey, Client, EventApi};
    /// let client = Client::builder(ApiKey::new("k")).event_api(EventApi::V1).build();
    /// assert!(client.is_ok());
    /// ```
    pub fn event_api(mut self, api: EventApi) -> Self {
        self.event_api = api;
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
        let base = marketing_sync_core::parse_base_url(
            self.base_url.trim_end_matches('/'),
            self.allow_http,
        )?;
        let auth = self.api_key.0.basic_auth(&self.user)?;
        let limiter = |rate: Option<NonZeroU32>| rate.map(RateLimiter::new);
        Ok(Client {
            inner: Arc::new(Inner {
                executor: Executor::new(&self.settings)?,
                base,
                auth,
                concurrency: self.concurrency,
                order_retry: self.order_retry,
                event_api: self.event_api,
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
/// let client = messaging_client::Client::builder(messaging_client::ApiKey::new("my-api-key")).build()?;
/// let me = client.account_info().await?;
/// println!("connected to {}", me.organisation_name);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    executor: Executor,
    base: Url,
    auth: HeaderValue,
    concurrency: usize,
    order_retry: OrderRetry,
    event_api: EventApi,
    default_limiter: Option<RateLimiter>,
    search_limiter: Option<RateLimiter>,
    events_limiter: Option<RateLimiter>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("auth", &"[REDACTED]")
            .field("retry", &self.inner.executor.retry_policy())
            .field("requests_sent", &self.requests_sent())
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
    /// Idempotent when its method is (GET, PUT, DELETE; not POST), default bucket, unless told
    /// otherwise.
    pub(crate) fn new<S: ToString>(method: Method, segments: &[S]) -> Self {
        Request {
            segments: segments.iter().map(ToString::to_string).collect(),
            query: Vec::new(),
            body: None,
            idempotent: marketing_sync_core::idempotent_by_default(&method),
            bucket: Bucket::Default,
            method,
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

    /// Overrides the method's idempotency: `true` for a POST that is safe to repeat (say why at
    /// the call), `false` for an operation that is not (retried only when provably not
    /// processed).
    pub(crate) fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
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
        Ok(marketing_sync_core::decode_json(&self.body, expected)?)
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

impl Client {
    /// Starts building a client with the API key (sent as the HTTP Basic password).
    ///
    /// ```
    /// use std::time::Duration;
    /// use messaging_client::{ApiKey, Client, RateLimits, RetryPolicy};
    /// let client = Client::builder(ApiKey::new("api-key"))
    ///     .base_url("https://yespo.io/api")
    ///     .timeout(Duration::from_secs(10))
    ///     .retry(RetryPolicy::default())
    ///     .rate_limit(RateLimits::documented())
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{client:?}").contains("api-key"));
    /// ```
    pub fn builder(api_key: ApiKey) -> ClientBuilder {
        ClientBuilder {
            api_key,
            user: "user".into(),
            base_url: DEFAULT_BASE_URL.into(),
            // Settings' defaults: 30 s per attempt, 10 s to connect, 3 retries 0.5 s..30 s.
            settings: Settings::new(USER_AGENT),
            rate_limits: RateLimits::documented(),
            concurrency: 4,
            allow_http: false,
            order_retry: OrderRetry::default(),
            event_api: EventApi::default(),
        }
    }

    /// The builder's choice for repeating order pushes.
    ///
    /// ```
    /// use messaging_client::{ApiKey, Client, OrderRetry};
    /// let client = Client::builder(ApiKey::new("k")).order_retry(OrderRetry::AfterUnknownOutcome).build().unwrap();
    /// assert_eq!(client.order_retry(), OrderRetry::AfterUnknownOutcome);
    /// ```
    pub fn order_retry(&self) -> OrderRetry {
        self.inner.order_retry
    }

    /// The event API [`generate_event`](Self::generate_event) posts to.
    pub(crate) fn event_api(&self) -> EventApi {
        self.inner.event_api
    }

    /// How many chunks batch helpers run at once.
    pub(crate) fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// How many HTTP requests (retries included) this client and its clones have sent.
    ///
    /// ```
    /// let client = messaging_client::Client::builder(messaging_client::ApiKey::new("k")).build()?;
    /// assert_eq!(client.requests_sent(), 0);
    /// # Ok::<(), messaging_client::Error>(())
    /// ```
    pub fn requests_sent(&self) -> u64 {
        self.inner.executor.requests_sent()
    }

    /// The one path every request takes: auth and headers here; rate limit, retries by
    /// idempotency and deadline in [`marketing_sync_core::Executor`]; tracing; status mapping. Returns
    /// the 2xx response; everything else is an [`Error`].
    pub(crate) async fn send(&self, req: Request) -> Result<Response> {
        let span = tracing::debug_span!("messaging.request", method = %req.method, path = %req.segments.join("/"));
        let idempotent = req.idempotent;
        let operation = format!("{} /{}", req.method, req.segments.join("/"));
        let inner = &*self.inner;
        let limiter = match req.bucket {
            Bucket::Default => &inner.default_limiter,
            Bucket::ContactSearch => &inner.search_limiter,
            Bucket::Events => &inner.events_limiter,
        };
        let mut url = inner.base.clone();
        url.path_segments_mut()
            .expect("checked in build()")
            .pop_if_empty()
            .extend(&req.segments);
        let mut request = inner
            .executor
            .request(req.method, url)
            .header(AUTHORIZATION, inner.auth.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .idempotent(req.idempotent)
            .rate_limiter(limiter.clone());
        if !req.query.is_empty() {
            request = request.query(&req.query);
        }
        if let Some(body) = req.body {
            request = request
                .header(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=UTF-8"),
                )
                .body(body);
        }
        let result = inner
            .executor
            .send_with(request, |response| async move {
                let answer = marketing_sync_core::Response::read(response).await?;
                if (200..300).contains(&answer.status) {
                    Ok(Response { body: answer.body })
                } else {
                    Err(status_error(answer.status, &answer.headers, &answer.body))
                }
            })
            .instrument(span)
            .await;
        match result {
            // Not idempotent, sent, and no answer came back (a cut, a timeout, the deadline):
            // the service may have acted on it, and repeating it could act twice.
            Err(Error::Transport(e)) if !idempotent && e.answer_lost() => {
                Err(Error::answer_lost(operation, &e))
            }
            other => other,
        }
    }
}

/// Maps a non-2xx answer to an error, keeping the body verbatim.
pub(crate) fn status_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let text = String::from_utf8_lossy(body).into_owned();
    match status {
        401 => Error::Unauthorized { body: text },
        429 => Error::RateLimited {
            retry_after: marketing_sync_core::retry_after(headers),
            body: text,
        },
        _ => Error::Api {
            status,
            message: service_message(&text),
            body: text,
        },
    }
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
    use marketing_sync_core::{Retryable, next_delay};
    use reqwest::header::RETRY_AFTER;

    /// The core's retry decision, applied to this crate's errors.
    fn should_retry(err: &Error, idempotent: bool) -> bool {
        marketing_sync_core::should_retry(err.retry_class(), idempotent)
    }

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
            Client::builder(ApiKey::new("k"))
                .base_url("http://127.0.0.1:1")
                .build(),
            Err(Error::Config(_))
        ));
        assert!(
            Client::builder(ApiKey::new("k"))
                .base_url("http://127.0.0.1:1")
                .allow_http(true)
                .build()
                .is_ok()
        );
    }
}
