//! [`Client`], its builder, and the one private path every request takes.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use futures::{StreamExt, TryFutureExt, TryStreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use tracing::Instrument;
use url::Url;

use crate::error::{Error, Result};
use crate::put::PutLimits;
use crate::query::Query;
use crate::reader::stream_records;
use crate::record::{FromRecord, Record};

const USER_AGENT: &str = concat!("directo-client/", env!("CARGO_PKG_VERSION"));

/// The XML Direct endpoint (one URL for all companies; `token=` auth).
pub const XML_DIRECT_URL: &str = "https://login.directo.ee/xmlcore/cap_xml_direct/xmlcore.asp";
/// The BI Direct endpoint (read-only; `token=` auth).
pub const BI_DIRECT_URL: &str = "https://login.directo.ee/xmlcore/cap_bi/xmlcore.asp";

/// How the client authenticates.
#[derive(Clone)]
pub enum Auth {
    /// Legacy per-company `…/xmlcore/<db>/xmlcore.asp` with `key=<32-char appkey>`.
    /// Needs a [`ClientBuilder::base_url`].
    AppKey(SecretString),
    /// XML Direct / BI Direct with `token=` (default URL [`XML_DIRECT_URL`]).
    Token(SecretString),
}

impl Auth {
    /// Legacy appkey auth (`key=`).
    pub fn app_key(key: impl Into<String>) -> Self {
        Auth::AppKey(SecretString::from(key.into()))
    }

    /// XML Direct / BI Direct token auth (`token=`).
    pub fn token(token: impl Into<String>) -> Self {
        Auth::Token(SecretString::from(token.into()))
    }

    fn param(&self) -> (&'static str, &str) {
        match self {
            Auth::AppKey(k) => ("key", k.expose_secret()),
            Auth::Token(t) => ("token", t.expose_secret()),
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::AppKey(_) => f.write_str("AppKey([REDACTED])"),
            Auth::Token(_) => f.write_str("Token([REDACTED])"),
        }
    }
}

/// How reads are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadMethod {
    /// `POST` form-urlencoded (official). The secret goes in the body only.
    #[default]
    Post,
    /// `GET` with everything, the key included, in the query string, as legacy installs and
    /// the Make scenario do. The URL (never logged by this crate) then carries the secret.
    Get,
}

/// Retry schedule: exponential backoff with jitter, honouring `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Largest backoff delay (a server `Retry-After` may exceed it).
    pub max_delay: Duration,
    /// Randomise delays.
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

    /// `max_retries` retries with millisecond delays (tests).
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
    /// 4 retries, 1 s .. 60 s, with jitter.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            jitter: true,
        }
    }
}

/// Builds a [`Client`]. Start with [`Client::builder`].
pub struct ClientBuilder {
    auth: Auth,
    base_url: Option<String>,
    method: ReadMethod,
    routing_in_query: bool,
    key_attribute: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    rate_limit: Option<NonZeroU32>,
    allow_http: bool,
    put_limits: PutLimits,
}

/// Directo's documented limit on one post: "the whole XML post size limit is 19 MB" (wiki
/// `en/xml_direct/alustamine/tehnilised_nouded`). Held against the form-encoded `xmldata`,
/// in decimal megabytes, which stays under the limit however Directo counts.
pub const MAX_XMLDATA_BYTES: usize = 19_000_000;

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("auth", &self.auth)
            .field("base_url", &self.base_url)
            .field("method", &self.method)
            .field("routing_in_query", &self.routing_in_query)
            .field("key_attribute", &self.key_attribute)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("allow_http", &self.allow_http)
            .field("put_limits", &self.put_limits)
            .finish()
    }
}

impl ClientBuilder {
    /// The `xmlcore.asp` URL: the per-company legacy URL (required with [`Auth::AppKey`]),
    /// BI Direct, a proxy or a fake. Default for tokens: [`XML_DIRECT_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// How reads are sent (default [`ReadMethod::Post`]).
    pub fn read_method(mut self, method: ReadMethod) -> Self {
        self.method = method;
        self
    }

    /// On POST, also put the routing parameters (`get`/`put`, `what`, filters, `xd_update`)
    /// in the query string (default `true`: one client reports XML Direct needs them there;
    /// they are repeated in the body, which the official docs use). The secret and `xmldata`
    /// are always in the body only.
    pub fn routing_in_query(mut self, on: bool) -> Self {
        self.routing_in_query = on;
        self
    }

    /// Legacy installs that authenticate writes by an attribute on every record
    /// (`<delivery appkey="…">`, `<customer key="…">`): name the attribute here and each
    /// written record carries the appkey or token in it (inside the POST body). The form
    /// field is sent too. Default: none.
    pub fn key_attribute(mut self, name: impl Into<String>) -> Self {
        self.key_attribute = Some(name.into());
        self
    }

    /// Idle timeout: the longest wait for the next bytes of an answer (default 120 s). There
    /// is no total timeout, because a full dump has no size limit.
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

    /// Client-side limit in requests per second; `0` = off (the default: Directo documents
    /// no rate limit).
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate_limit = NonZeroU32::new(per_second);
        self
    }

    /// The most `xmldata` one put request carries, counted form-encoded (default
    /// [`MAX_XMLDATA_BYTES`], the documented 19 MB). Larger puts are split; a single
    /// document over it is refused.
    ///
    /// ```
    /// use directo_client::{Auth, Client};
    /// let client = Client::builder(Auth::token("t"))
    ///     .max_put_bytes(5_000_000)
    ///     .max_put_documents(30)
    ///     .build()?;
    /// # Ok::<(), directo_client::Error>(())
    /// ```
    pub fn max_put_bytes(mut self, bytes: usize) -> Self {
        self.put_limits.bytes = bytes;
        self
    }

    /// The most documents one put request carries (default 100, our choice: Directo
    /// documents no count limit; public clients send 10 or 30). At least 1.
    pub fn max_put_documents(mut self, documents: usize) -> Self {
        self.put_limits.documents = documents.max(1);
        self
    }

    /// Accept a plain `http://` URL (loopback fakes). Off by default.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Builds the client. Fails with [`Error::Config`] for a bad or non-https URL, or an
    /// appkey without a base URL.
    pub fn build(self) -> Result<Client> {
        let raw = match (&self.base_url, &self.auth) {
            (Some(url), _) => url.clone(),
            (None, Auth::Token(_)) => XML_DIRECT_URL.to_string(),
            (None, Auth::AppKey(_)) => {
                return Err(Error::Config(
                    "an appkey needs the company's xmlcore.asp URL (base_url)".into(),
                ));
            }
        };
        let url = Url::parse(&raw).map_err(|e| Error::Config(format!("base URL: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            other => {
                return Err(Error::Config(format!(
                    "URL scheme {other:?} not allowed (https only unless allow_http(true))"
                )));
            }
        }
        if url.query().is_some() {
            return Err(Error::Config(
                "the base URL must not have a query string".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .read_timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                url,
                auth: self.auth,
                method: self.method,
                routing_in_query: self.routing_in_query,
                key_attribute: self.key_attribute,
                put_limits: self.put_limits,
                retry: self.retry,
                limiter: self
                    .rate_limit
                    .map(|r| RateLimiter::direct(Quota::per_second(r))),
                requests: AtomicU64::new(0),
            }),
        })
    }
}

/// A stream of records, yielded while the response is still arriving. `Unpin`, `Send`,
/// `'static`: hold it across awaits, move it into tasks.
pub type RecordStream<T> = futures::stream::BoxStream<'static, Result<T>>;

/// A Directo client. Cheap to clone; one client serves many concurrent tasks.
///
/// Reads (`get=1`) are idempotent and retried on transient failures (connect errors,
/// timeouts, 429, 5xx) until the body starts arriving. Writes (`put=1`) are not blindly
/// repeated: only when the request provably never reached Directo.
///
/// ```no_run
/// # async fn run() -> Result<(), directo_client::Error> {
/// use directo_client::{Auth, Client, Query};
/// use futures::TryStreamExt;
/// let client = Client::builder(Auth::token("my-token")).build()?;
/// let mut customers = client.customers(Query::new().since(jiff::civil::date(2026, 1, 12)));
/// while let Some(c) = customers.try_next().await? {
///     println!("{} {:?}", c.code, c.email());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    url: Url,
    auth: Auth,
    method: ReadMethod,
    routing_in_query: bool,
    key_attribute: Option<String>,
    put_limits: PutLimits,
    retry: RetryPolicy,
    limiter: Option<DefaultDirectRateLimiter>,
    requests: AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.url.as_str())
            .field("auth", &self.inner.auth)
            .field("method", &self.inner.method)
            .field("retry", &self.inner.retry)
            .finish()
    }
}

/// One request, as described by a resource.
struct Call {
    method: ReadMethod,
    /// `get`/`put`, `what`, filters, `xd_update`.
    routing: Vec<(String, String)>,
    /// `xmldata`, when writing.
    xmldata: Option<String>,
    idempotent: bool,
}

/// The retry decision: reads retry any transient failure; writes only failures that prove
/// the request was not processed (connect failure, 429).
pub(crate) fn should_retry(err: &Error, idempotent: bool) -> bool {
    if idempotent {
        err.is_retryable()
    } else {
        err.not_processed()
    }
}

/// The next delay: the server's `Retry-After` beats the backoff; exhausted stays exhausted.
pub(crate) fn next_delay(err: &Error, backoff: Option<Duration>) -> Option<Duration> {
    backoff.map(|d| err.retry_after().unwrap_or(d))
}

impl Client {
    /// Starts building a client.
    ///
    /// ```
    /// use directo_client::{Auth, Client, ReadMethod};
    /// let legacy = Client::builder(Auth::app_key("0123456789ABCDEF0123456789ABCDEF"))
    ///     .base_url("https://login.directo.ee/xmlcore/demo_ee/xmlcore.asp")
    ///     .read_method(ReadMethod::Get)
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{legacy:?}").contains("0123456789ABCDEF"));
    /// let direct = Client::builder(Auth::token("t0ken")).build().unwrap();
    /// assert!(Client::builder(Auth::app_key("k")).build().is_err()); // needs its URL
    /// ```
    pub fn builder(auth: Auth) -> ClientBuilder {
        ClientBuilder {
            auth,
            base_url: None,
            method: ReadMethod::Post,
            routing_in_query: true,
            key_attribute: None,
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            rate_limit: None,
            allow_http: false,
            put_limits: PutLimits {
                bytes: MAX_XMLDATA_BYTES,
                documents: 100,
            },
        }
    }

    /// How many HTTP requests (retries included) this client and its clones have sent.
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// The `xmlcore.asp` URL requests go to.
    pub fn url(&self) -> &Url {
        &self.inner.url
    }

    /// Streams the records of any component (`get=1&what={what}` plus the query), each as a
    /// generic [`Record`] built from the `<{what}>` elements (or the query's
    /// [`record_tag`](Query::record_tag)). Idempotent.
    ///
    /// ```no_run
    /// # async fn run(client: directo_client::Client) -> Result<(), directo_client::Error> {
    /// use futures::TryStreamExt;
    /// let objects: Vec<directo_client::Record> =
    ///     client.records("object", directo_client::Query::new()).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn records(&self, what: &str, query: Query) -> RecordStream<Record> {
        self.read::<Record>(what, query)
    }

    /// Streams records of component `what` as `T` (see [`FromRecord`]). Idempotent.
    ///
    /// A record whose values cannot be decoded (invalid UTF-8, a value that does not fit its
    /// typed field) is yielded as an [`Error::Record`] and the stream goes on; any other
    /// error ends it. An answer that is not a Directo read answer (an HTML page, a root
    /// that is neither `<transport>` nor the component's container and holds no records) is
    /// an error, never an empty stream.
    pub fn read<T: FromRecord>(&self, what: &str, query: Query) -> RecordStream<T> {
        let client = self.clone();
        let what = what.to_string();
        async move {
            if what.is_empty() {
                return Err(Error::InvalidInput("`what` must not be empty".into()));
            }
            let mut routing = vec![
                ("get".to_string(), "1".to_string()),
                ("what".into(), what.clone()),
            ];
            routing.extend(query.params());
            let call = Call {
                method: client.inner.method,
                routing,
                xmldata: None,
                idempotent: true,
            };
            let response = client.send(call).await?;
            let body: crate::reader::Body = Box::pin(
                response
                    .bytes_stream()
                    .map_err(|e| std::io::Error::other(Error::from_reqwest(e))),
            );
            let tag = query.tag().unwrap_or(&what).to_string();
            Ok(stream_records::<T>(body, &what, &tag))
        }
        .try_flatten_stream()
        .boxed()
    }

    /// The attribute name and secret to stamp on every written record, if configured.
    pub(crate) fn record_key(&self) -> Option<(&str, &str)> {
        let name = self.inner.key_attribute.as_deref()?;
        Some((name, self.inner.auth.param().1))
    }

    pub(crate) fn put_limits(&self) -> PutLimits {
        self.inner.put_limits
    }

    /// Posts an `xmldata` document with transport parameters; returns the answer's body.
    pub(crate) async fn put_xml(
        &self,
        what: &str,
        params: &[(&str, &str)],
        xml: String,
    ) -> Result<Bytes> {
        let mut routing = vec![
            ("put".to_string(), "1".to_string()),
            ("what".into(), what.to_string()),
        ];
        routing.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let call = Call {
            method: ReadMethod::Post,
            routing,
            xmldata: Some(xml),
            idempotent: false,
        };
        let response = self.send(call).await?;
        response.bytes().await.map_err(Error::from_reqwest)
    }

    /// The one path every request takes: rate limit, auth, retries, tracing, status mapping.
    async fn send(&self, call: Call) -> Result<reqwest::Response> {
        let what = call
            .routing
            .iter()
            .find(|(k, _)| k == "what")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let span =
            tracing::debug_span!("directo.request", what = %what, write = call.xmldata.is_some());
        let policy = self.inner.retry;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_retries);
        if policy.jitter {
            backoff = backoff.with_jitter();
        }
        let idempotent = call.idempotent;
        (|| self.attempt(&call))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e| should_retry(e, idempotent))
            .adjust(next_delay)
            .notify(|e, d| tracing::warn!(error = %e, delay = ?d, "retrying Directo request"))
            .instrument(span)
            .await
    }

    async fn attempt(&self, call: &Call) -> Result<reqwest::Response> {
        let inner = &*self.inner;
        if let Some(limiter) = &inner.limiter {
            limiter.until_ready().await;
        }
        inner.requests.fetch_add(1, Ordering::Relaxed);
        let (key_name, secret) = inner.auth.param();
        let mut url = inner.url.clone();
        let request = match call.method {
            ReadMethod::Get => {
                url.query_pairs_mut()
                    .extend_pairs(&call.routing)
                    .append_pair(key_name, secret);
                inner.http.get(url)
            }
            ReadMethod::Post => {
                if inner.routing_in_query {
                    url.query_pairs_mut().extend_pairs(&call.routing);
                }
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                form.append_pair(key_name, secret);
                form.extend_pairs(&call.routing);
                if let Some(xml) = &call.xmldata {
                    form.append_pair("xmldata", xml);
                }
                inner
                    .http
                    .post(url)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.finish())
            }
        };
        let response = request.send().await.map_err(Error::from_reqwest)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await.unwrap_or_default();
        let snippet: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        if status.as_u16() == 401 || status.as_u16() == 403 {
            return Err(Error::Unauthorized { desc: snippet });
        }
        Err(Error::Status {
            status: status.as_u16(),
            retry_after,
            body: snippet,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_decision() {
        let status = |s| Error::Status {
            status: s,
            retry_after: None,
            body: String::new(),
        };
        assert!(should_retry(&status(503), true));
        assert!(should_retry(&status(429), true));
        assert!(!should_retry(&status(400), true));
        assert!(!should_retry(&status(503), false));
        assert!(should_retry(&status(429), false));
        assert!(!should_retry(&Error::api(Some(9), "x".into()), true));
        let hinted = Error::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(7)),
            body: String::new(),
        };
        assert_eq!(
            next_delay(&hinted, Some(Duration::from_millis(1))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(next_delay(&hinted, None), None);
    }
}
