//! [`Client`], its builder, and the one private path every request takes.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use base64::Engine as _;
use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::Instrument;
use url::Url;

use crate::answer::{Kind, Listing, classify, decode_json, decode_rows, snippet, status_of};
use crate::error::{Error, Result};
use crate::form::php_form;

const USER_AGENT: &str = concat!("smaily-client/", env!("CARGO_PKG_VERSION"));

/// Smaily's documented rate limit: 5 requests per second per IP.
pub const DOCUMENTED_RATE_LIMIT: u32 = 5;

/// Default number of subscribers per `contact.php` batch POST (the size the official Smaily
/// Connect plugin uses; the maximum is not documented).
pub const DEFAULT_BATCH_SIZE: usize = 500;

/// How POST bodies are encoded. Smaily accepts both; JSON is the documented recommendation.
///
/// `message/send.php` is documented as JSON only and is always sent as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyEncoding {
    /// `application/json` (default).
    #[default]
    Json,
    /// `application/x-www-form-urlencoded`, PHP `http_build_query` style (`0[email]=…`,
    /// `list[]=1`, booleans as `1`/`0`), as the WooCommerce and OpenCart plugins send it.
    Form,
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

    /// `max_retries` retries with a fixed tiny delay (tests).
    pub const fn fast(max_retries: usize) -> Self {
        RetryPolicy {
            max_retries,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            jitter: false,
        }
    }
}

impl Default for RetryPolicy {
    /// 4 retries, 1 s .. 30 s with jitter.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            jitter: true,
        }
    }
}

/// Builds a [`Client`]. Start with [`Client::builder`].
pub struct ClientBuilder {
    subdomain: String,
    user: String,
    password: SecretString,
    base_url: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    rate_limit: Option<NonZeroU32>,
    batch_size: usize,
    concurrency: usize,
    encoding: BodyEncoding,
    allow_http: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("subdomain", &self.subdomain)
            .field("user", &self.user)
            .field("password", &"[REDACTED]")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("batch_size", &self.batch_size)
            .field("concurrency", &self.concurrency)
            .field("encoding", &self.encoding)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl ClientBuilder {
    /// Overrides the API root (default `https://{subdomain}.sendsmaily.net/api/`); scripts such
    /// as `contact.php` are appended to it. For tests, sandboxes and proxies.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Per-attempt timeout (default 60 s: large batches can take over 25 s server-side).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retry schedule (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Client-side rate limit in requests per second (default [`DOCUMENTED_RATE_LIMIT`], 5);
    /// `0` turns the limiter off.
    ///
    /// Requests are spaced evenly with no burst, one every `1.02 s / per_second`, so no
    /// one-second window ever holds more than `per_second` of them, even when the transport
    /// delivers them a little unevenly (a bucket of `per_second` would let `per_second + 1`
    /// into one window: the burst, then one more after `1 s / per_second`). A long run takes
    /// 2 % longer than `requests / per_second`. Every attempt, retries included, waits its
    /// turn; clones share the limit.
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate_limit = NonZeroU32::new(per_second);
        self
    }

    /// Subscribers per batch POST in [`Client::upsert_many`] (default [`DEFAULT_BATCH_SIZE`];
    /// at least 1). Lower it for wide rows (60+ custom fields: ~100).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// How many batch requests run at once (default 5; at least 1). The rate limit still holds.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How POST bodies are encoded (default [`BodyEncoding::Json`]).
    pub fn body_encoding(mut self, encoding: BodyEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Accept a plain `http://` base URL (loopback fakes). Off by default.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Builds the client.
    ///
    /// Fails with [`Error::Config`] for a subdomain that is not one DNS label
    /// (`[A-Za-z0-9-]+`), an unparsable base URL, or an `http` URL without
    /// [`allow_http`](Self::allow_http).
    pub fn build(self) -> Result<Client> {
        let raw = match &self.base_url {
            Some(url) => url.clone(),
            None => {
                validate_subdomain(&self.subdomain)?;
                format!("https://{}.sendsmaily.net/api/", self.subdomain)
            }
        };
        let mut base =
            Url::parse(&raw).map_err(|e| Error::Config(format!("base URL {raw:?}: {e}")))?;
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
            return Err(Error::Config(format!("base URL {raw:?} cannot be a base")));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.user,
            self.password.expose_secret()
        ));
        let mut auth = HeaderValue::from_str(&format!("Basic {credentials}"))
            .map_err(|_| Error::Config("credentials not allowed in a header".into()))?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                retry: self.retry,
                limiter: self.rate_limit.map(limiter),
                batch_size: self.batch_size,
                concurrency: self.concurrency,
                encoding: self.encoding,
                requests: AtomicU64::new(0),
            }),
        })
    }
}

/// How much longer than a second the limiter takes for each second's quota: room for the
/// transport to deliver requests unevenly (a new connection's handshake delays one request
/// while the next goes out on a warm one) without the server ever seeing more than the limit
/// within one of its seconds. 2 % of the bound; see `benches/rate_limit.rs` for why.
const WINDOW_WITH_HEADROOM: Duration = Duration::from_millis(1_020);

/// The limiter: GCRA with a burst of one, one request every `1.02 s / per_second` (see
/// [`ClientBuilder::rate_limit`]).
fn limiter(per_second: NonZeroU32) -> DefaultDirectRateLimiter {
    let period = WINDOW_WITH_HEADROOM / per_second.get();
    let quota = Quota::with_period(period).expect("a non-zero period");
    RateLimiter::direct(quota.allow_burst(NonZeroU32::MIN))
}

/// Checks that a subdomain is one DNS label of `[A-Za-z0-9-]` (no leading/trailing hyphen).
pub(crate) fn validate_subdomain(sub: &str) -> Result<()> {
    let ok = !sub.is_empty()
        && sub.len() <= 63
        && sub.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !sub.starts_with('-')
        && !sub.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "subdomain {sub:?} must be one DNS label of letters, digits and hyphens \
             (the part before .sendsmaily.net)"
        )))
    }
}

/// A Smaily API client. Cheap to clone; one client serves many concurrent tasks.
///
/// ```no_run
/// # async fn run() -> Result<(), smaily_client::Error> {
/// let client = smaily_client::Client::builder("mycompany", "api-user", "api-password").build()?;
/// let hit = client.subscriber("mari@example.com").await?;
/// println!("{hit:?}");
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
    limiter: Option<DefaultDirectRateLimiter>,
    batch_size: usize,
    concurrency: usize,
    encoding: BodyEncoding,
    requests: AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("auth", &"[REDACTED]")
            .field("retry", &self.inner.retry)
            .field("batch_size", &self.inner.batch_size)
            .field("concurrency", &self.inner.concurrency)
            .field("encoding", &self.inner.encoding)
            .finish()
    }
}

/// A request, as described by a resource module.
pub(crate) struct Request {
    method: Method,
    script: &'static str,
    query: Vec<(String, String)>,
    body: Option<Value>,
    kind: Kind,
    json_only: bool,
    idempotent: bool,
}

impl Request {
    /// `GET {base}{script}`: a read (answers with data); reads are idempotent.
    pub(crate) fn get(script: &'static str) -> Self {
        Request {
            method: Method::GET,
            script,
            query: Vec::new(),
            body: None,
            kind: Kind::Read,
            json_only: false,
            idempotent: true,
        }
    }

    /// `POST {base}{script}` with a body: a write (answers with the `{code, message}`
    /// envelope). Idempotent unless marked otherwise.
    pub(crate) fn post(script: &'static str, body: Value) -> Self {
        Request {
            method: Method::POST,
            script,
            query: Vec::new(),
            body: Some(body),
            kind: Kind::Write,
            json_only: false,
            idempotent: true,
        }
    }

    pub(crate) fn query(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((key.into(), value.to_string()));
        self
    }

    pub(crate) fn query_opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    /// Marks the operation as not idempotent: retried only when provably not processed.
    pub(crate) fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }

    /// Always JSON, whatever the client's [`BodyEncoding`].
    pub(crate) fn json_only(mut self) -> Self {
        self.json_only = true;
        self
    }
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

/// The next delay: the server's `Retry-After` beats the backoff; an exhausted backoff stays
/// exhausted.
pub(crate) fn next_delay(err: &Error, backoff: Option<Duration>) -> Option<Duration> {
    backoff.map(|d| err.retry_after().unwrap_or(d))
}

impl Client {
    /// Starts building a client for `https://{subdomain}.sendsmaily.net/api/` with an API user
    /// (Preferences → Integrations), sent as HTTP Basic.
    ///
    /// ```
    /// use std::time::Duration;
    /// use smaily_client::{BodyEncoding, Client, RetryPolicy};
    /// let client = Client::builder("mycompany", "api-user", "s3cret")
    ///     .timeout(Duration::from_secs(30))
    ///     .retry(RetryPolicy::default())
    ///     .rate_limit(5)
    ///     .batch_size(500)
    ///     .body_encoding(BodyEncoding::Json)
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{client:?}").contains("s3cret"));
    /// assert!(Client::builder("not a label", "u", "p").build().is_err());
    /// ```
    pub fn builder(
        subdomain: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> ClientBuilder {
        ClientBuilder {
            subdomain: subdomain.into(),
            user: user.into(),
            password: SecretString::from(password.into()),
            base_url: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            rate_limit: NonZeroU32::new(DOCUMENTED_RATE_LIMIT),
            batch_size: DEFAULT_BATCH_SIZE,
            concurrency: 5,
            encoding: BodyEncoding::Json,
            allow_http: false,
        }
    }

    /// How many HTTP requests (attempts, retries included) this client and its clones have sent.
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// The API root requests go to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    pub(crate) fn batch_size(&self) -> usize {
        self.inner.batch_size
    }

    pub(crate) fn concurrency(&self) -> usize {
        self.inner.concurrency
    }

    /// Sends a request and decodes a bare (read) answer into `T`.
    pub(crate) async fn read<T: DeserializeOwned>(
        &self,
        req: Request,
        expected: &'static str,
    ) -> Result<T> {
        let body = self.send(req).await?;
        decode_json(&body, expected)
    }

    /// Sends a read whose answer is a list and decodes it row by row.
    pub(crate) async fn read_list<T: DeserializeOwned>(
        &self,
        req: Request,
        expected: &'static str,
    ) -> Result<Listing<T>> {
        self.read_rows(req, expected).await.map(Listing::from_rows)
    }

    /// Like [`read_list`](Self::read_list), keeping each row's result in answer order.
    pub(crate) async fn read_rows<T: DeserializeOwned>(
        &self,
        req: Request,
        expected: &'static str,
    ) -> Result<Vec<Result<T>>> {
        let body = self.send(req).await?;
        decode_rows(&body, expected)
    }

    /// Sends a write and decodes its `{code: 101, ...}` envelope (extras included) into `T`.
    pub(crate) async fn write<T: DeserializeOwned>(
        &self,
        req: Request,
        expected: &'static str,
    ) -> Result<T> {
        let body = self.send(req).await?;
        match status_of(&body, Kind::Write) {
            Some((101, _)) => decode_json(&body, expected),
            _ => Err(Error::Decode {
                expected: "a {\"code\":101} result",
                path: "code".into(),
                message: "missing result code".into(),
                snippet: snippet(&body),
            }),
        }
    }

    /// The one path every request takes: rate limit, auth, headers, retries, tracing, status
    /// and body-code mapping. Returns the body of a successful answer.
    async fn send(&self, req: Request) -> Result<Bytes> {
        let span =
            tracing::debug_span!("smaily.request", method = %req.method, script = req.script);
        let policy = self.inner.retry;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_retries);
        if policy.jitter {
            backoff = backoff.with_jitter();
        }
        let (idempotent, kind) = (req.idempotent, req.kind);
        let (content_type, body) = match &req.body {
            None => (None, None),
            Some(v) if req.json_only || self.inner.encoding == BodyEncoding::Json => (
                Some("application/json"),
                Some(Bytes::from(serde_json::to_vec(v).map_err(|e| {
                    Error::invalid("request body", e.to_string())
                })?)),
            ),
            Some(v) => (
                Some("application/x-www-form-urlencoded"),
                Some(Bytes::from(php_form(v))),
            ),
        };
        let mut url = self
            .inner
            .base
            .join(req.script)
            .map_err(|e| Error::Config(format!("script {}: {e}", req.script)))?;
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&req.query);
        }
        (|| self.attempt(&req.method, &url, kind, content_type, body.clone()))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e| should_retry(e, idempotent))
            .adjust(next_delay)
            .notify(|e, d| tracing::warn!(error = %e, delay = ?d, "retrying Smaily request"))
            .instrument(span)
            .await
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        kind: Kind,
        content_type: Option<&'static str>,
        body: Option<Bytes>,
    ) -> Result<Bytes> {
        let inner = &*self.inner;
        if let Some(limiter) = &inner.limiter {
            limiter.until_ready().await;
        }
        inner.requests.fetch_add(1, Ordering::Relaxed);
        let mut builder = inner
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, inner.auth.clone())
            .header(ACCEPT, "application/json");
        if let (Some(ct), Some(body)) = (content_type, body) {
            builder = builder.header(CONTENT_TYPE, ct).body(body);
        }
        let response = builder.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport_error)?;
        tracing::debug!(status, bytes = body.len(), "Smaily response");
        classify(status, &headers, body, kind)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16) -> Error {
        Error::Api {
            code,
            message: String::new(),
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
        let server = Error::Server {
            status: 503,
            body: String::new(),
        };
        assert!(should_retry(&server, true));
        assert!(!should_retry(&server, false));
        assert!(should_retry(&api(205), true));
        assert!(should_retry(&api(225), true));
        assert!(!should_retry(&api(205), false));
        for code in [203, 204, 206, 207, 216, 221] {
            assert!(!should_retry(&api(code), true), "{code}");
        }
        for e in [
            Error::Unauthorized {
                status: 401,
                body: String::new(),
            },
            Error::PlanBlocked {
                message: String::new(),
            },
            Error::NotFound {
                body: String::new(),
            },
            Error::invalid("x", "y"),
        ] {
            assert!(!should_retry(&e, true), "{e:?}");
        }
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
            next_delay(&api(205), Some(Duration::from_millis(3))),
            Some(Duration::from_millis(3))
        );
    }

    #[test]
    fn subdomains() {
        for ok in ["mycompany", "my-company", "abc123"] {
            assert!(validate_subdomain(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a.b",
            "-a",
            "a-",
            "a b",
            "https://x.sendsmaily.net",
            "ä",
        ] {
            assert!(validate_subdomain(bad).is_err(), "{bad}");
        }
        let c = Client::builder("acme", "u", "p").build().unwrap();
        assert_eq!(c.base_url().as_str(), "https://acme.sendsmaily.net/api/");
        let c = Client::builder("ignored", "u", "p")
            .base_url("http://127.0.0.1:9/api")
            .allow_http(true)
            .build()
            .unwrap();
        assert_eq!(c.base_url().as_str(), "http://127.0.0.1:9/api/");
        assert!(
            Client::builder("acme", "u", "p")
                .base_url("http://127.0.0.1:9/api/")
                .build()
                .is_err()
        );
    }
}
