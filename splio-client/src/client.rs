//! [`Client`], its builder, and the one private path every request takes.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use backon::{ExponentialBuilder, Retryable};
use base64::Engine;
use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, OnceCell};
use tracing::Instrument;
use url::Url;

use crate::contacts::CreationDateHour;
use crate::error::{ApiErrorItem, Error, Result};
use crate::universe::UniqueKey;

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.splio.com";
const USER_AGENT: &str = concat!("splio-client/", env!("CARGO_PKG_VERSION"));
/// Refresh a token this long before its `exp`.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Retry policy: exponential backoff with jitter, honouring `rateLimit-reset` / `Retry-After`.
#[derive(Clone, Debug)]
pub struct RetryConfig {
    /// Retries after the first attempt (0 disables retries).
    pub max_retries: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Largest backoff delay (and cap on a server-requested wait).
    pub max_delay: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 3,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryConfig {
    /// No retries at all.
    pub fn none() -> Self {
        RetryConfig {
            max_retries: 0,
            ..Self::default()
        }
    }
}

/// Client-side rate limits in requests per second; `None` turns a limiter off.
/// Defaults are Splio's documented limits: 20/s for `/data/contacts*`, 10/s elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Limit for `/data/contacts*`.
    pub contacts_per_second: Option<NonZeroU32>,
    /// Limit for every other endpoint.
    pub other_per_second: Option<NonZeroU32>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            contacts_per_second: NonZeroU32::new(20),
            other_per_second: NonZeroU32::new(10),
        }
    }
}

impl RateLimits {
    /// No client-side limiting.
    pub fn unlimited() -> Self {
        RateLimits {
            contacts_per_second: None,
            other_per_second: None,
        }
    }
}

/// The last `rateLimit-*` headers Splio sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// `rateLimit-limit`.
    pub limit: Option<u64>,
    /// `rateLimit-remaining`.
    pub remaining: Option<u64>,
    /// `rateLimit-reset`, in seconds.
    pub reset_secs: Option<u64>,
}

impl RateLimitStatus {
    fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|v| v.max(0.0).ceil() as u64)
        };
        let status = RateLimitStatus {
            limit: num("ratelimit-limit"),
            remaining: num("ratelimit-remaining"),
            reset_secs: num("ratelimit-reset"),
        };
        (status != RateLimitStatus::default()).then_some(status)
    }
}

/// Builder for [`Client`]. Start with [`Client::builder`].
pub struct ClientBuilder {
    api_key: SecretString,
    base_url: String,
    allow_http: bool,
    timeout: Duration,
    retry: RetryConfig,
    rate_limits: RateLimits,
    token_ttl: Duration,
    unique_key: Option<UniqueKey>,
    concurrency: usize,
    creation_date_hour: CreationDateHour,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &"[redacted]")
            .field("base_url", &self.base_url)
            .field("allow_http", &self.allow_http)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("rate_limits", &self.rate_limits)
            .field("token_ttl", &self.token_ttl)
            .field("unique_key", &self.unique_key)
            .field("concurrency", &self.concurrency)
            .field("creation_date_hour", &self.creation_date_hour)
            .finish()
    }
}

impl ClientBuilder {
    /// Base URL (default `https://api.splio.com`). Plain `http` needs [`allow_http`](Self::allow_http).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Accept a plain-http base URL (loopback fakes and tests only).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Per-request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retry policy (default: 3 retries, 500 ms … 30 s).
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Client-side rate limits (default 20/s contacts, 10/s elsewhere).
    pub fn rate_limit(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Token lifetime assumed when the JWT carries no `exp` (default 50 minutes).
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Declare the universe's unique key instead of asking `GET /universes/unique-key`.
    pub fn unique_key(mut self, key: UniqueKey) -> Self {
        self.unique_key = Some(key);
        self
    }

    /// How many requests batch helpers run at once (default 4; the rate limiter still applies).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How the hour of `creation_date` is sent (default [`CreationDateHour::Unpadded`], which
    /// the OpenAPI pattern accepts; [`CreationDateHour::ZeroPadded`] is the form of Splio's own
    /// answers). Answers are read in either form.
    pub fn creation_date_hour(mut self, hour: CreationDateHour) -> Self {
        self.creation_date_hour = hour;
        self
    }

    /// Build the client.
    pub fn build(self) -> Result<Client> {
        let base = Url::parse(&self.base_url)
            .map_err(|e| Error::Config(format!("base URL {:?}: {e}", self.base_url)))?;
        match base.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            other => {
                return Err(Error::Config(format!(
                    "base URL scheme {other:?} refused: use https (or allow_http(true) for loopback fakes)"
                )));
            }
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .timeout(self.timeout)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let limiter = |n: Option<NonZeroU32>| n.map(|n| RateLimiter::direct(Quota::per_second(n)));
        let unique_key = OnceCell::new();
        if let Some(k) = self.unique_key {
            let _ = unique_key.set(k);
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base: base.as_str().trim_end_matches('/').to_string(),
                api_key: self.api_key,
                token: Mutex::new(None),
                token_ttl: self.token_ttl,
                retry: self.retry,
                contacts_limiter: limiter(self.rate_limits.contacts_per_second),
                other_limiter: limiter(self.rate_limits.other_per_second),
                unique_key,
                last_rate_limit: std::sync::Mutex::new(None),
                paused_until: std::sync::Mutex::new([None, None]),
                concurrency: self.concurrency,
                creation_date_hour: self.creation_date_hour,
            }),
        })
    }
}

/// A Splio REST client. Cheap to clone; clones share the token, limiter and unique-key cache.
///
/// ```no_run
/// # async fn demo() -> splio_client::Result<()> {
/// let client = splio_client::Client::builder("my-api-key").build()?;
/// let key = client.unique_key().await?;
/// println!("contacts are keyed by {key:?}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: reqwest::Client,
    base: String,
    api_key: SecretString,
    token: Mutex<Option<Token>>,
    token_ttl: Duration,
    retry: RetryConfig,
    contacts_limiter: Option<DefaultDirectRateLimiter>,
    other_limiter: Option<DefaultDirectRateLimiter>,
    pub(crate) unique_key: OnceCell<UniqueKey>,
    last_rate_limit: std::sync::Mutex<Option<RateLimitStatus>>,
    /// Per endpoint group (contacts, other): when Splio said the window is exhausted
    /// (`rateLimit-remaining: 0` or a 429), wait until `rateLimit-reset` before sending more.
    paused_until: std::sync::Mutex<[Option<Instant>; 2]>,
    pub(crate) concurrency: usize,
    pub(crate) creation_date_hour: CreationDateHour,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base)
            .field("api_key", &"[redacted]")
            .field("unique_key", &self.inner.unique_key.get())
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Token {
    value: SecretString,
    refresh_at: Instant,
}

/// Whether repeating a request is harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Reads, PATCH, DELETE, subscribe: retry on any transient failure.
    Idempotent,
    /// Creates, bulk creates, blacklist adds: retry only when the request provably was not processed.
    NotIdempotent,
}

/// A request description; resource modules build these and hand them to [`Client::send`].
#[derive(Clone)]
pub(crate) struct Request {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<serde_json::Value>,
    idempotency: Idempotency,
    authenticated: bool,
}

impl Request {
    pub(crate) fn new(method: Method, path: impl Into<String>) -> Self {
        let idempotency = if method == Method::POST {
            Idempotency::NotIdempotent
        } else {
            Idempotency::Idempotent
        };
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotency,
            authenticated: true,
        }
    }
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }
    pub(crate) fn post(path: impl Into<String>, body: serde_json::Value) -> Self {
        Self::new(Method::POST, path).json(body)
    }
    pub(crate) fn patch(path: impl Into<String>, body: serde_json::Value) -> Self {
        Self::new(Method::PATCH, path).json(body)
    }
    pub(crate) fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }
    pub(crate) fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }
    pub(crate) fn query(mut self, name: &'static str, value: impl ToString) -> Self {
        self.query.push((name, value.to_string()));
        self
    }
    pub(crate) fn idempotency(mut self, i: Idempotency) -> Self {
        self.idempotency = i;
        self
    }
    fn unauthenticated(mut self) -> Self {
        self.authenticated = false;
        self
    }
    fn is_contacts(&self) -> bool {
        self.path.starts_with("/data/contacts")
    }
}

/// A successful response's body.
pub(crate) struct Response {
    pub(crate) body: Bytes,
}

/// The pure retry decision: may this error be retried for a request of this idempotency?
pub(crate) fn should_retry(error: &Error, idempotency: Idempotency) -> bool {
    match error {
        // Never reached the service, or the service refused it unprocessed.
        Error::Transport { connect: true, .. } | Error::RateLimited { .. } => true,
        Error::Transport { .. } | Error::Timeout(_) => idempotency == Idempotency::Idempotent,
        Error::Api { status, .. } => {
            idempotency == Idempotency::Idempotent && matches!(status, 500 | 502 | 503 | 504)
        }
        _ => false,
    }
}

impl Client {
    /// Start building a client from a Splio API key.
    ///
    /// ```
    /// let client = splio_client::Client::builder("my-api-key")
    ///     .timeout(std::time::Duration::from_secs(10))
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{client:?}").contains("my-api-key"));
    /// ```
    pub fn builder(api_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            api_key: SecretString::from(api_key.into()),
            base_url: DEFAULT_BASE_URL.to_string(),
            allow_http: false,
            timeout: Duration::from_secs(30),
            retry: RetryConfig::default(),
            rate_limits: RateLimits::default(),
            token_ttl: Duration::from_secs(50 * 60),
            unique_key: None,
            concurrency: 4,
            creation_date_hour: CreationDateHour::default(),
        }
    }

    /// The last `rateLimit-*` headers seen on any response.
    pub fn last_rate_limit(&self) -> Option<RateLimitStatus> {
        *self
            .inner
            .last_rate_limit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Send a request and decode a JSON body.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        request: Request,
        expected: &'static str,
    ) -> Result<T> {
        let response = self.send(request).await?;
        decode(&response.body, expected)
    }

    /// Send a request and return the raw successful response. Boxed because authentication
    /// itself goes through this path.
    pub(crate) fn send(
        &self,
        request: Request,
    ) -> futures::future::BoxFuture<'_, Result<Response>> {
        Box::pin(self.send_with_retries(request))
    }

    async fn send_with_retries(&self, request: Request) -> Result<Response> {
        let span = tracing::debug_span!("splio", method = %request.method, path = %request.path);
        let retry = &self.inner.retry;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(retry.min_delay)
            .with_max_delay(retry.max_delay)
            .with_max_times(retry.max_retries)
            .with_jitter();
        let max_delay = retry.max_delay;
        let idempotency = request.idempotency;
        (|| self.attempt(&request))
            .retry(backoff)
            .when(|e| should_retry(e, idempotency))
            .adjust(|e, next| next.map(|d| e.retry_after().map_or(d, |r| r.min(max_delay))))
            .notify(|e, d| tracing::debug!(error = %e, delay = ?d, "retrying"))
            .instrument(span)
            .await
    }

    /// One attempt, including one re-authentication on 401.
    async fn attempt(&self, request: &Request) -> Result<Response> {
        let limiter = if request.is_contacts() {
            &self.inner.contacts_limiter
        } else {
            &self.inner.other_limiter
        };
        let group = usize::from(!request.is_contacts());
        let pause = self
            .inner
            .paused_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())[group];
        if let Some(until) = pause.filter(|u| *u > Instant::now()) {
            tracing::debug!(wait = ?(until - Instant::now()), "rate-limit window exhausted: waiting");
            tokio::time::sleep_until(until.into()).await;
        }
        if let Some(l) = limiter {
            l.until_ready().await;
        }
        if !request.authenticated {
            return self.transmit(request, None).await;
        }
        let token = self.bearer().await?;
        match self.transmit(request, Some(&token)).await {
            Err(Error::Unauthorized { .. }) => {
                tracing::debug!("401: re-authenticating once");
                let fresh = self.refresh_token(&token).await?;
                self.transmit(request, Some(&fresh)).await
            }
            other => other,
        }
    }

    async fn transmit(&self, request: &Request, token: Option<&SecretString>) -> Result<Response> {
        let url = format!("{}{}", self.inner.base, request.path);
        let mut builder = self.inner.http.request(request.method.clone(), url);
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .map_err(|_| Error::Config("token is not a valid header value".into()))?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body).expect("JSON values always serialize"));
        }
        let response = builder.send().await.map_err(transport_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport_error)?;
        let rate = RateLimitStatus::from_headers(&headers);
        let exhausted =
            status == StatusCode::TOO_MANY_REQUESTS || rate.is_some_and(|r| r.remaining == Some(0));
        if let Some(wait) = retry_after(&headers).filter(|_| exhausted) {
            let wait = wait.min(self.inner.retry.max_delay);
            let group = usize::from(!request.is_contacts());
            self.inner
                .paused_until
                .lock()
                .unwrap_or_else(|e| e.into_inner())[group] = Some(Instant::now() + wait);
        }
        if rate.is_some() {
            *self
                .inner
                .last_rate_limit
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = rate;
        }
        tracing::debug!(status = status.as_u16(), "response");
        if status.is_success() {
            return Ok(Response { body });
        }
        Err(error_from_response(status, &headers, &body))
    }

    /// A valid token, authenticating if none is cached or it is due for refresh. The mutex is
    /// held while authenticating, so concurrent callers wait for one authentication.
    async fn bearer(&self) -> Result<SecretString> {
        let mut slot = self.inner.token.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| t.refresh_at > Instant::now()) {
            return Ok(t.value.clone());
        }
        let token = self.authenticate().await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    /// After a 401 with `stale`: re-authenticate unless another task already did.
    async fn refresh_token(&self, stale: &SecretString) -> Result<SecretString> {
        let mut slot = self.inner.token.lock().await;
        if let Some(t) = slot.as_ref()
            && t.value.expose_secret() != stale.expose_secret()
            && t.refresh_at > Instant::now()
        {
            return Ok(t.value.clone());
        }
        let token = self.authenticate().await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    /// `POST /authenticate` (idempotent).
    async fn authenticate(&self) -> Result<Token> {
        #[derive(Deserialize)]
        struct Answer {
            token: String,
        }
        let body = serde_json::json!({ "api_key": self.inner.api_key.expose_secret() });
        let request = Request::post("/authenticate", body)
            .idempotency(Idempotency::Idempotent)
            .unauthenticated();
        let answer: Answer = match self.json(request, "authentication token").await {
            Ok(a) => a,
            Err(Error::Api {
                status: status @ (400 | 401 | 403),
                errors,
                message,
            }) => {
                let message = message
                    .or_else(|| errors.first().map(|e| e.error_description.clone()))
                    .unwrap_or_else(|| "Authentication failed.".into());
                return Err(Error::Unauthorized { status, message });
            }
            Err(e) => return Err(e),
        };
        let lifetime = jwt_lifetime(&answer.token).unwrap_or(self.inner.token_ttl);
        tracing::debug!(?lifetime, "authenticated");
        Ok(Token {
            value: SecretString::from(answer.token),
            refresh_at: Instant::now() + lifetime,
        })
    }
}

/// How long to use a JWT: until `exp` minus a margin (5 min, or a fifth of the remaining life when
/// that is shorter). `None` when the token carries no readable `exp`.
pub(crate) fn jwt_lifetime(token: &str) -> Option<Duration> {
    #[derive(Deserialize)]
    struct Claims {
        exp: f64,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Claims = serde_json::from_slice(&bytes).ok()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    let remaining = Duration::from_secs_f64((claims.exp - now.as_secs_f64()).max(0.0));
    Some(remaining.saturating_sub(EXPIRY_MARGIN.min(remaining / 5)))
}

fn transport_error(e: reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::Timeout(e)
    } else {
        Error::Transport {
            connect: e.is_connect(),
            source: e,
        }
    }
}

/// A snippet of a body for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(300).collect();
    if text.chars().count() > 300 {
        s.push('…');
    }
    s
}

/// Decode JSON with the failing path named.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8], expected: &'static str) -> Result<T> {
    let body_for_decode: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    let de = &mut serde_json::Deserializer::from_slice(body_for_decode);
    serde_path_to_error::deserialize(de).map_err(|e| Error::Decode {
        expected,
        path: e.path().to_string(),
        message: e.inner().to_string(),
        snippet: snippet(body),
    })
}

/// Map an error status and body (envelope, bare string, `{message}`, anything) to an [`Error`].
pub(crate) fn error_from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Body {
        Envelope { errors: Vec<ApiErrorItem> },
        Message { message: String },
        Bare(String),
    }
    let (errors, message) = match serde_json::from_slice::<Body>(body) {
        Ok(Body::Envelope { errors }) => (errors, None),
        Ok(Body::Message { message }) => (Vec::new(), Some(message)),
        Ok(Body::Bare(s)) => (Vec::new(), Some(s)),
        Err(_) if body.iter().all(u8::is_ascii_whitespace) => (Vec::new(), None),
        Err(_) if body.len() <= 64 * 1024 => {
            (Vec::new(), Some(String::from_utf8_lossy(body).into_owned()))
        }
        Err(_) => (Vec::new(), Some(snippet(body))),
    };
    let text = || {
        message
            .clone()
            .or_else(|| errors.first().map(|e| e.error_description.clone()))
            .unwrap_or_default()
    };
    match status.as_u16() {
        401 => Error::Unauthorized {
            status: 401,
            message: text(),
        },
        429 => Error::RateLimited {
            retry_after: retry_after(headers),
            message: text(),
        },
        code => Error::Api {
            status: code,
            errors,
            message,
        },
    }
}

/// `rateLimit-reset` (seconds) or `Retry-After` (seconds).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(Duration::from_secs_f64)
    };
    secs("ratelimit-reset").or_else(|| secs(RETRY_AFTER.as_str()))
}

/// Percent-encode one path segment (keys hold `@`, `+`, spaces, slashes).
pub(crate) fn segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> Error {
        Error::Api {
            status,
            errors: vec![],
            message: None,
        }
    }

    #[test]
    fn retry_decision() {
        use Idempotency::*;
        let limited = Error::RateLimited {
            retry_after: None,
            message: String::new(),
        };
        assert!(should_retry(&limited, NotIdempotent));
        assert!(should_retry(&api(503), Idempotent));
        assert!(!should_retry(&api(503), NotIdempotent));
        assert!(!should_retry(&api(400), Idempotent));
        assert!(!should_retry(&api(404), Idempotent));
        let unauthorized = Error::Unauthorized {
            status: 401,
            message: String::new(),
        };
        assert!(!should_retry(&unauthorized, Idempotent));
    }

    #[test]
    fn segments_encode_plus_and_at() {
        assert_eq!(segment("a+b@x.com"), "a%2Bb%40x.com");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn error_bodies() {
        let h = HeaderMap::new();
        let e = error_from_response(
            StatusCode::NOT_FOUND,
            &h,
            br#"{"status":404,"errors":[{"error_key":"id","error":"wrong_value","error_description":"Record not found for id ee."}]}"#,
        );
        assert!(e.is_not_found());
        assert!(e.to_string().contains("Record not found for id ee."));
        let e = error_from_response(StatusCode::UNAUTHORIZED, &h, br#""Authentication failed.""#);
        assert!(
            matches!(e, Error::Unauthorized { ref message, .. } if message == "Authentication failed.")
        );
        let e = error_from_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &h,
            br#""Method Not Allowed.""#,
        );
        assert!(
            matches!(e, Error::Api { status: 405, message: Some(ref m), .. } if m == "Method Not Allowed.")
        );
        let mut h = HeaderMap::new();
        h.insert("ratelimit-reset", HeaderValue::from_static("7"));
        let e = error_from_response(
            StatusCode::TOO_MANY_REQUESTS,
            &h,
            br#"{"message":"API rate limit exceeded"}"#,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.to_string().contains("API rate limit exceeded"));
        let e = error_from_response(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"<html>oops</html>",
        );
        assert!(
            matches!(e, Error::Api { status: 502, message: Some(ref m), .. } if m.contains("oops"))
        );
    }

    proptest::proptest! {
        #[test]
        fn any_error_body_maps_without_panicking(status in 400u16..600, body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let e = error_from_response(StatusCode::from_u16(status).unwrap(), &HeaderMap::new(), &body);
            proptest::prop_assert_eq!(e.status(), Some(status));
        }
    }

    #[test]
    fn jwt_exp_is_read() {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let payload = engine.encode(format!(r#"{{"exp":{}}}"#, now + 3600));
        let token = format!("h.{payload}.s");
        let life = jwt_lifetime(&token).unwrap();
        assert!(life > Duration::from_secs(3200) && life <= Duration::from_secs(3300));
        assert_eq!(jwt_lifetime("opaque-token"), None);
    }
}
