//! [`Client`], its builder, and the one private path every request takes.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use marketing_sync_core::{Executor, RateLimiter, Secret, Settings};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::Instrument;
use url::Url;

use crate::answer::{Kind, Listing, classify, decode_json, decode_rows, status_of};
use crate::error::{Error, Result};
use crate::form::php_form;

use marketing_sync_core::RetryPolicy;

const USER_AGENT: &str = concat!("smaily-client/", env!("CARGO_PKG_VERSION"));

/// Smaily's documented rate limit: 5 requests per second per IP.
pub const DOCUMENTED_RATE_LIMIT: u32 = 5;

/// The span the client spreads each [`rate_limit`](ClientBuilder::rate_limit) requests over
/// by default: 1.2 s, one request every 240 ms at 5/s.
///
/// A second plus room for a network that delivers requests unevenly (a new connection's TLS
/// handshake, a slow upload): requests 5 places apart leave 1.2 s apart, so they still
/// arrive more than a second apart when their delivery times differ by up to 150 ms (with
/// 50 ms to spare for the sender's own scheduling). Measured in `benches/rate_limit.rs`
/// against a server that counts any sliding second, with 0–150 ms of jitter per request: no
/// 429, where the former 1.02 s earned them. A long run takes `1.2 × requests / limit`.
pub const DEFAULT_RATE_LIMIT_WINDOW: Duration = Duration::from_millis(1_200);

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

/// An API user (Smaily: Preferences → Integrations → API users), sent as HTTP Basic. The
/// password never shows in `Debug`.
///
/// ```
/// let credentials = smaily_client::Credentials::new("api-user", "s3cret");
/// assert_eq!(credentials.user(), "api-user");
/// assert!(!format!("{credentials:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct Credentials {
    user: String,
    password: Secret,
}

impl Credentials {
    /// The API user's name and password.
    pub fn new(user: impl Into<String>, password: impl Into<Secret>) -> Self {
        Credentials {
            user: user.into(),
            password: password.into(),
        }
    }

    /// The API user's name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password, for the fake that checks it.
    #[cfg(feature = "fake")]
    pub(crate) fn password(&self) -> &str {
        self.password.expose()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &self.password)
            .finish()
    }
}

/// Builds a [`Client`]. Start with [`Client::builder`]; no setter fails, [`build`](Self::build)
/// checks everything.
pub struct ClientBuilder {
    credentials: Credentials,
    subdomain: Option<String>,
    base_url: Option<String>,
    settings: Settings,
    rate_limit: u32,
    rate_limit_window: Duration,
    batch_size: usize,
    concurrency: usize,
    encoding: BodyEncoding,
    allow_http: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("credentials", &self.credentials)
            .field("subdomain", &self.subdomain)
            .field("base_url", &self.base_url)
            .field("settings", &self.settings)
            .field("rate_limit", &self.rate_limit)
            .field("rate_limit_window", &self.rate_limit_window)
            .field("batch_size", &self.batch_size)
            .field("concurrency", &self.concurrency)
            .field("encoding", &self.encoding)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl ClientBuilder {
    /// The account: requests go to `https://{subdomain}.sendsmaily.net/api/`. A pasted
    /// address (`acme.sendsmaily.net`, `https://acme.sendsmaily.net/…`) is normalised to its
    /// subdomain, as the official WooCommerce plugin does; checked in
    /// [`build`](Self::build) (one DNS label).
    ///
    /// ```
    /// use smaily_client::{Client, Credentials};
    /// let client = Client::builder(Credentials::new("api-user", "s3cret"))
    ///     .subdomain("https://acme.sendsmaily.net/campaigns")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(client.base_url().as_str(), "https://acme.sendsmaily.net/api/");
    /// ```
    pub fn subdomain(mut self, subdomain: impl Into<String>) -> Self {
        self.subdomain = Some(subdomain.into());
        self
    }

    /// Overrides the API root (instead of the subdomain's); scripts such as `contact.php` are
    /// appended to it. For tests, sandboxes and proxies.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Per-attempt timeout (default 60 s: large batches can take over 25 s server-side).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// Retry schedule (default: 4 retries, 1 s .. 30 s with jitter).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.settings.retry = retry;
        self
    }

    /// Total time for one request, every attempt and wait included (default none).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.settings.deadline = Some(deadline);
        self
    }

    /// Client-side rate limit in requests per second (default [`DOCUMENTED_RATE_LIMIT`], 5);
    /// `0` turns the limiter off.
    ///
    /// Requests are spaced evenly with no burst ([`marketing_sync_core::RateLimiter`]): each
    /// `per_second` of them spread over the [`rate_limit_window`](Self::rate_limit_window)
    /// (default [`DEFAULT_RATE_LIMIT_WINDOW`], 1.2 s), so no second holds more than
    /// `per_second` of them even when the network delivers them unevenly. Every attempt,
    /// retries included, waits its turn; clones share the limit.
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate_limit = per_second;
        self
    }

    /// The span each [`rate_limit`](Self::rate_limit) requests are spread over (default
    /// [`DEFAULT_RATE_LIMIT_WINDOW`], 1.2 s; at least a second). Longer leaves more room for
    /// uneven delivery (a slow, distant link) at the cost of throughput.
    ///
    /// ```
    /// use std::time::Duration;
    /// use smaily_client::{Client, Credentials};
    /// let client = Client::builder(Credentials::new("api-user", "s3cret"))
    ///     .subdomain("mycompany")
    ///     .rate_limit(5)
    ///     .rate_limit_window(Duration::from_millis(1_500)) // one request every 300 ms
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    pub fn rate_limit_window(mut self, window: Duration) -> Self {
        self.rate_limit_window = window;
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
    /// Fails with [`Error::Config`] without a subdomain or base URL, for a subdomain that is
    /// not one DNS label (`[A-Za-z0-9-]+`) or a `<label>.sendsmaily.net` address, for an
    /// unparsable base URL and for an `http` URL without [`allow_http`](Self::allow_http).
    pub fn build(self) -> Result<Client> {
        let raw = match (&self.base_url, &self.subdomain) {
            (Some(url), _) => url.clone(),
            (None, Some(subdomain)) => {
                let subdomain = normalize_subdomain(subdomain)?;
                format!("https://{subdomain}.sendsmaily.net/api/")
            }
            (None, None) => {
                return Err(Error::Config(
                    "no account: set subdomain (the part before .sendsmaily.net) or base_url"
                        .into(),
                ));
            }
        };
        let mut base = marketing_sync_core::parse_base_url(&raw, self.allow_http)?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let auth = self
            .credentials
            .password
            .basic_auth(&self.credentials.user)?;
        // The executor limits nothing itself: every request carries this limiter (a window
        // of Smaily's own, not the core's default headroom).
        let limiter = std::num::NonZeroU32::new(self.rate_limit)
            .map(|n| RateLimiter::with_window(n, self.rate_limit_window));
        Ok(Client {
            inner: std::sync::Arc::new(Inner {
                executor: Executor::new(&self.settings.rate_limit(0))?,
                limiter,
                base,
                auth,
                batch_size: self.batch_size,
                concurrency: self.concurrency,
                encoding: self.encoding,
            }),
        })
    }
}

/// The account's subdomain from what a person typed or pasted: `acme`, `acme.sendsmaily.net`,
/// or any `http(s)://acme.sendsmaily.net/…` address gives `acme`, as the official WooCommerce
/// plugin normalises it (sendsmaily/smaily-woocommerce-plugin `inc/Api/Api.php`
/// `collect_api_credentials_data`). Unlike the plugin, which strips every other character and
/// takes the first label of any host, an address that is not `<label>.sendsmaily.net` is
/// refused, and the label is checked, not rewritten.
pub(crate) fn normalize_subdomain(raw: &str) -> Result<String> {
    const SUFFIX: &str = ".sendsmaily.net";
    let input = raw.trim();
    let lower = input.to_ascii_lowercase();
    let host = if lower.contains("://") {
        let url = Url::parse(input).ok();
        match url.as_ref().and_then(|u| u.host_str()) {
            Some(host) => host.to_ascii_lowercase(),
            None => {
                return Err(Error::Config(format!(
                    "subdomain {raw:?}: not an address with a host (expected \
                     https://<subdomain>.sendsmaily.net/…)"
                )));
            }
        }
    } else if lower.contains(SUFFIX) {
        // `acme.sendsmaily.net` or `acme.sendsmaily.net/path`, without a scheme.
        lower
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .to_string()
    } else {
        validate_subdomain(input)?;
        return Ok(input.to_string());
    };
    match host.strip_suffix(SUFFIX) {
        Some(label) if !label.contains('.') => {
            validate_subdomain(label)?;
            Ok(label.to_string())
        }
        _ => Err(Error::Config(format!(
            "subdomain {raw:?}: {host:?} is not a Smaily account address \
             (<subdomain>.sendsmaily.net)"
        ))),
    }
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
/// use smaily_client::{Client, Credentials};
/// let client = Client::builder(Credentials::new("api-user", "api-password"))
///     .subdomain("mycompany")
///     .build()?;
/// let hit = client.subscriber("mari@example.com").await?;
/// println!("{hit:?}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: std::sync::Arc<Inner>,
}

struct Inner {
    executor: Executor,
    limiter: Option<RateLimiter>,
    base: Url,
    auth: HeaderValue,
    batch_size: usize,
    concurrency: usize,
    encoding: BodyEncoding,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("auth", &"[REDACTED]")
            .field("executor", &self.inner.executor)
            .field("limiter", &self.inner.limiter)
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
        Self::new(Method::GET, script, None, Kind::Read)
    }

    /// `POST {base}{script}` with a body: a write (answers with the `{code, message}`
    /// envelope). Like every POST, not idempotent unless marked
    /// [`idempotent`](Self::idempotent).
    pub(crate) fn post(script: &'static str, body: Value) -> Self {
        Self::new(Method::POST, script, Some(body), Kind::Write)
    }

    fn new(method: Method, script: &'static str, body: Option<Value>, kind: Kind) -> Self {
        Request {
            idempotent: marketing_sync_core::idempotent_by_default(&method),
            method,
            script,
            query: Vec::new(),
            body,
            kind,
            json_only: false,
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

    /// Marks a POST that is safe to repeat (an upsert keyed by email): retried after any
    /// transient failure, not only when provably not processed.
    pub(crate) fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// Always JSON, whatever the client's [`BodyEncoding`].
    pub(crate) fn json_only(mut self) -> Self {
        self.json_only = true;
        self
    }
}

impl Client {
    /// Starts building a client with an API user; then name the account with
    /// [`subdomain`](ClientBuilder::subdomain) (or [`base_url`](ClientBuilder::base_url)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use smaily_client::{BodyEncoding, Client, Credentials, RetryPolicy};
    /// let client = Client::builder(Credentials::new("api-user", "s3cret"))
    ///     .subdomain("mycompany")
    ///     .timeout(Duration::from_secs(30))
    ///     .retry(RetryPolicy::default())
    ///     .rate_limit(5)
    ///     .batch_size(500)
    ///     .body_encoding(BodyEncoding::Json)
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{client:?}").contains("s3cret"));
    /// let bad = Client::builder(Credentials::new("u", "p")).subdomain("not a label");
    /// assert!(bad.build().is_err());
    /// ```
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder {
            credentials,
            subdomain: None,
            base_url: None,
            settings: Settings::new(USER_AGENT)
                .timeout(Duration::from_secs(60))
                .connect_timeout(Duration::from_secs(10))
                .retry(RetryPolicy {
                    max_retries: 4,
                    min_delay: Duration::from_secs(1),
                    max_delay: Duration::from_secs(30),
                    jitter: true,
                }),
            rate_limit: DOCUMENTED_RATE_LIMIT,
            rate_limit_window: DEFAULT_RATE_LIMIT_WINDOW,
            batch_size: DEFAULT_BATCH_SIZE,
            concurrency: 5,
            encoding: BodyEncoding::Json,
            allow_http: false,
        }
    }

    /// How many HTTP requests (attempts, retries included) this client and its clones have sent.
    pub fn requests_sent(&self) -> u64 {
        self.inner.executor.requests_sent()
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
    ///
    /// A write that is not idempotent whose answer was lost after it was sent (a timeout, a
    /// cut connection, the deadline, a success that does not read as one) is
    /// [`Error::OutcomeUnknown`]: Smaily may have processed it.
    pub(crate) async fn write<T: DeserializeOwned>(
        &self,
        req: Request,
        expected: &'static str,
    ) -> Result<T> {
        let idempotent = req.idempotent;
        let operation = format!("{} {}", req.method, req.script);
        let answer = async {
            let body = self.send(req).await?;
            match status_of(&body, Kind::Write) {
                Some((101, _)) => decode_json(&body, expected),
                _ => Err(marketing_sync_core::Error::Decode {
                    expected: "a {\"code\":101} result",
                    path: "code".into(),
                    message: "missing result code".into(),
                    snippet: marketing_sync_core::snippet(&body),
                }
                .into()),
            }
        }
        .await;
        match answer {
            Err(Error::Transport(cause)) if !idempotent && cause.answer_lost() => {
                Err(Error::OutcomeUnknown { operation, cause })
            }
            answer => answer,
        }
    }

    /// The one path every request takes: auth, headers, then the shared executor (rate limit,
    /// retries, deadline), and Smaily's status and body-code mapping. Returns the body of a
    /// successful answer.
    async fn send(&self, req: Request) -> Result<Bytes> {
        let span =
            tracing::debug_span!("smaily.request", method = %req.method, script = req.script);
        let inner = &*self.inner;
        let mut url = inner
            .base
            .join(req.script)
            .map_err(|e| Error::Config(format!("script {}: {e}", req.script)))?;
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&req.query);
        }
        let mut request = inner
            .executor
            .request(req.method.clone(), url)
            .header(AUTHORIZATION, inner.auth.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .rate_limiter(inner.limiter.clone())
            .idempotent(req.idempotent);
        match &req.body {
            None => {}
            Some(v) if req.json_only || inner.encoding == BodyEncoding::Json => {
                let json = serde_json::to_vec(v)
                    .map_err(|e| Error::invalid("request body", e.to_string()))?;
                request = request
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(json);
            }
            Some(v) => {
                request = request
                    .header(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    )
                    .body(php_form(v));
            }
        }
        let kind = req.kind;
        inner
            .executor
            .send_with(request, |response| async move {
                let answer = marketing_sync_core::Response::read(response).await?;
                classify(answer.status, &answer.headers, answer.body, kind)
            })
            .instrument(span)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use marketing_sync_core::{Retryable, next_delay};

    /// The shared retry decision, for Smaily's errors.
    fn should_retry(err: &Error, idempotent: bool) -> bool {
        marketing_sync_core::should_retry(err.retry_class(), idempotent)
    }

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
        let server = Error::Transport(marketing_sync_core::Error::Status {
            status: 503,
            retry_after: None,
            body: String::new(),
        });
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
        for bad in ["", "a.b", "-a", "a-", "a b", "ä"] {
            assert!(validate_subdomain(bad).is_err(), "{bad}");
            assert!(normalize_subdomain(bad).is_err(), "{bad}");
        }
        // A pasted address is not a label, but it names one.
        assert!(validate_subdomain("https://x.sendsmaily.net").is_err());
        assert_eq!(
            normalize_subdomain("https://x.sendsmaily.net").unwrap(),
            "x"
        );
        let creds = || Credentials::new("u", "p");
        let c = Client::builder(creds()).subdomain("acme").build().unwrap();
        assert_eq!(c.base_url().as_str(), "https://acme.sendsmaily.net/api/");
        let c = Client::builder(creds())
            .subdomain("ignored")
            .base_url("http://127.0.0.1:9/api")
            .allow_http(true)
            .build()
            .unwrap();
        assert_eq!(c.base_url().as_str(), "http://127.0.0.1:9/api/");
        assert!(
            Client::builder(creds())
                .subdomain("acme")
                .base_url("http://127.0.0.1:9/api/")
                .build()
                .is_err()
        );
        assert!(matches!(
            Client::builder(creds()).build(),
            Err(Error::Config(_))
        ));
    }
}
