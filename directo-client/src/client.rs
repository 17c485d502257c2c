//! [`Client`], its builder, and the one private path every request takes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryFutureExt, TryStreamExt};
use marketing_sync_core::{Executor, Secret, Settings};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use tracing::Instrument;
use url::Url;

pub use marketing_sync_core::RetryPolicy;

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

/// How the client authenticates. `Debug` shows the kind, never the secret.
///
/// ```
/// let auth = directo_client::Auth::token("t0ken");
/// assert_eq!(format!("{auth:?}"), "Token([REDACTED])");
/// ```
#[derive(Clone, Debug)]
pub enum Auth {
    /// Legacy per-company `…/xmlcore/<db>/xmlcore.asp` with `key=<32-char appkey>`.
    /// Needs a [`ClientBuilder::base_url`].
    AppKey(Secret),
    /// XML Direct / BI Direct with `token=` (default URL [`XML_DIRECT_URL`]).
    Token(Secret),
}

impl Auth {
    /// Legacy appkey auth (`key=`).
    ///
    /// ```
    /// assert!(matches!(directo_client::Auth::app_key("k"), directo_client::Auth::AppKey(_)));
    /// ```
    pub fn app_key(key: impl Into<String>) -> Self {
        Auth::AppKey(Secret::new(key))
    }

    /// XML Direct / BI Direct token auth (`token=`).
    ///
    /// ```
    /// assert!(matches!(directo_client::Auth::token("t"), directo_client::Auth::Token(_)));
    /// ```
    pub fn token(token: impl Into<String>) -> Self {
        Auth::Token(Secret::new(token))
    }

    fn param(&self) -> (&'static str, &str) {
        match self {
            Auth::AppKey(k) => ("key", k.expose()),
            Auth::Token(t) => ("token", t.expose()),
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

/// This client's default retry schedule: 4 retries, 1 s to 60 s apart, with jitter.
const DEFAULT_RETRY: RetryPolicy = RetryPolicy {
    max_retries: 4,
    min_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(60),
    jitter: true,
};

/// Builds a [`Client`]. Start with [`Client::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    auth: Auth,
    base_url: Option<String>,
    method: ReadMethod,
    routing_in_query: bool,
    key_attribute: Option<String>,
    /// User agent, idle timeout, connect timeout, retries, rate limit.
    settings: Settings,
    allow_http: bool,
    put_limits: PutLimits,
}

/// Directo's documented limit on one post: "the whole XML post size limit is 19 MB" (wiki
/// `en/xml_direct/alustamine/tehnilised_nouded`). Held against the form-encoded `xmldata`,
/// in decimal megabytes, which stays under the limit however Directo counts.
pub const MAX_XMLDATA_BYTES: usize = 19_000_000;

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
        self.settings = self.settings.timeout(timeout);
        self
    }

    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings = self.settings.connect_timeout(timeout);
        self
    }

    /// Total time for one request until its answer starts, every attempt and wait included
    /// (default none). A read's body then streams under the idle [`timeout`](Self::timeout).
    ///
    /// ```
    /// # use std::time::Duration;
    /// use directo_client::{Auth, Client};
    /// let client = Client::builder(Auth::token("t")).deadline(Duration::from_secs(300)).build()?;
    /// # Ok::<(), directo_client::Error>(())
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.settings = self.settings.deadline(Some(deadline));
        self
    }

    /// Retry schedule (default: 4 retries, 1 s to 60 s apart with jitter).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.settings = self.settings.retry(retry);
        self
    }

    /// Client-side limit in requests per second, never more in any one-second window
    /// ([`marketing_sync_core::RateLimiter`]); `0` = off (the default: Directo documents no rate
    /// limit).
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.settings = self.settings.rate_limit(per_second);
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

    /// Strip the characters XML 1.0 does not allow (control characters other than tab, LF
    /// and CR; U+FFFE, U+FFFF) from the values a put sends, instead of refusing the
    /// document that holds one. Off by default: a document holding one is refused alone
    /// with [`Error::InvalidCharacter`] (naming the document, the field and where), and the
    /// others go (Directo answers "8 Invalid xml given" for a whole request holding one).
    ///
    /// ```
    /// let client = directo_client::Client::builder(directo_client::Auth::token("t"))
    ///     .strip_invalid_xml_chars(true)
    ///     .build()?;
    /// # Ok::<(), directo_client::Error>(())
    /// ```
    pub fn strip_invalid_xml_chars(mut self, strip: bool) -> Self {
        self.put_limits.strip_invalid_chars = strip;
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
        let url = marketing_sync_core::parse_base_url(&raw, self.allow_http)?;
        if url.query().is_some() {
            return Err(Error::Config(
                "the base URL must not have a query string".into(),
            ));
        }
        // An idle timeout, not a total one: a full dump has no size limit.
        let http = reqwest::Client::builder()
            .user_agent(&self.settings.user_agent)
            .read_timeout(self.settings.timeout)
            .connect_timeout(self.settings.connect_timeout)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                executor: Executor::with_client(http, &self.settings),
                url,
                auth: self.auth,
                method: self.method,
                routing_in_query: self.routing_in_query,
                key_attribute: self.key_attribute,
                put_limits: self.put_limits,
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
/// timeouts, 429 and the 5xx of [`marketing_sync_core::RETRIED_STATUSES`]) until the body starts
/// arriving. Writes (`put=1`) are not blindly
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
    /// Rate limit, attempt count, retries.
    executor: Executor,
    url: Url,
    auth: Auth,
    method: ReadMethod,
    routing_in_query: bool,
    key_attribute: Option<String>,
    put_limits: PutLimits,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.url.as_str())
            .field("auth", &self.inner.auth)
            .field("method", &self.inner.method)
            .field("retry", &self.inner.executor.retry_policy())
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
            settings: Settings::new(USER_AGENT)
                .timeout(Duration::from_secs(120))
                .connect_timeout(Duration::from_secs(10))
                .retry(DEFAULT_RETRY),
            allow_http: false,
            put_limits: PutLimits {
                bytes: MAX_XMLDATA_BYTES,
                documents: 100,
                strip_invalid_chars: false,
            },
        }
    }

    /// How many HTTP requests (retries included) this client and its clones have sent.
    pub fn requests_sent(&self) -> u64 {
        self.inner.executor.requests_sent()
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
            let charset = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(crate::encoding::charset_of);
            let body: crate::reader::Body = Box::pin(
                response
                    .bytes_stream()
                    .map_err(|e| std::io::Error::other(transport(e))),
            );
            let tag = query.tag().unwrap_or(&what).to_string();
            Ok(stream_records::<T>(body, &what, &tag, charset))
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
        let answer = match self.send(call).await {
            Ok(response) => response.bytes().await.map_err(transport),
            Err(e) => Err(e),
        };
        answer.map_err(|e| match e {
            // Sent, and the answer lost: Directo may have stored the documents.
            Error::Transport(core) if core.answer_lost() => Error::OutcomeUnknown {
                reason: core.to_string(),
            },
            other => other,
        })
    }

    /// The one path every request takes: rate limit, auth, retries, tracing, status mapping.
    /// Retries end when an answer's body starts: a read streams what follows.
    async fn send(&self, call: Call) -> Result<reqwest::Response> {
        let what = call
            .routing
            .iter()
            .find(|(k, _)| k == "what")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let span =
            tracing::debug_span!("directo.request", what = %what, write = call.xmldata.is_some());
        let request = self.request(&call);
        self.inner
            .executor
            .send_with(request, accept)
            .instrument(span)
            .await
    }

    /// The HTTP request of a call: auth and routing in the query string or the form body.
    fn request(&self, call: &Call) -> marketing_sync_core::Request {
        let inner = &*self.inner;
        let (key_name, secret) = inner.auth.param();
        let mut url = inner.url.clone();
        let request = match call.method {
            ReadMethod::Get => {
                url.query_pairs_mut()
                    .extend_pairs(&call.routing)
                    .append_pair(key_name, secret);
                inner.executor.request(Method::GET, url)
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
                    .executor
                    .request(Method::POST, url)
                    .header(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    )
                    .body(form.finish())
            }
        };
        // A read is safe to repeat whatever its method; a put (a POST) is not.
        request.idempotent(call.idempotent)
    }
}

/// A `reqwest` failure while reading an answer's body.
fn transport(e: reqwest::Error) -> Error {
    Error::Transport(marketing_sync_core::Error::from_reqwest(e))
}

/// Accepts a 2xx answer with its body unread; 401 and 403 are [`Error::Unauthorized`], 429
/// [`Error::RateLimited`], any other status a [`marketing_sync_core::Error::Status`].
async fn accept(response: reqwest::Response) -> Result<reqwest::Response> {
    let status = response.status().as_u16();
    if response.status().is_success() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap_or_default();
    if status == 401 || status == 403 {
        return Err(Error::Unauthorized {
            desc: marketing_sync_core::snippet(&body),
        });
    }
    Err(Error::from(marketing_sync_core::Error::status(
        status, &headers, &body,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use marketing_sync_core::{Retryable, next_delay};

    /// Directo's errors through the core's retry decision.
    fn should_retry(err: &Error, idempotent: bool) -> bool {
        marketing_sync_core::should_retry(err.retry_class(), idempotent)
    }

    #[test]
    fn retry_decision() {
        let status = |s| {
            Error::Transport(marketing_sync_core::Error::Status {
                status: s,
                retry_after: None,
                body: String::new(),
            })
        };
        assert!(should_retry(&status(503), true));
        let limited = Error::RateLimited {
            retry_after: None,
            body: String::new(),
        };
        assert!(should_retry(&limited, true) && should_retry(&limited, false));
        assert!(!should_retry(&status(400), true));
        assert!(!should_retry(&status(503), false));
        assert!(!should_retry(&Error::api(Some(9), "x".into()), true));
        let hinted = Error::RateLimited {
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
