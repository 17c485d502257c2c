//! The request executor: one path every request of every client takes.

use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::Retryable as _;
use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use url::Url;

use crate::decode::decode_json;
use crate::error::{Error, Result};
use crate::limiter::RateLimiter;
use crate::retry::{RetryPolicy, Retryable, idempotent_by_default, next_delay, should_retry};

/// Parses a base URL and checks its scheme: `https`, or `http` only with `allow_http` (loopback
/// fakes, proxies on the same host); and it must be able to carry a path.
///
/// ```
/// assert!(marketing_sync_core::parse_base_url("https://api.example.com/v1/", false).is_ok());
/// assert!(marketing_sync_core::parse_base_url("http://127.0.0.1:8080/", false).is_err());
/// assert!(marketing_sync_core::parse_base_url("http://127.0.0.1:8080/", true).is_ok());
/// assert!(marketing_sync_core::parse_base_url("mailto:a@b.c", true).is_err());
/// ```
pub fn parse_base_url(raw: &str, allow_http: bool) -> Result<Url> {
    let url = Url::parse(raw).map_err(|e| Error::Config(format!("base URL {raw:?}: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        other => {
            return Err(Error::Config(format!(
                "base URL scheme {other:?} not allowed (https only unless allow_http(true))"
            )));
        }
    }
    if url.cannot_be_a_base() {
        return Err(Error::Config(format!("base URL {raw:?} cannot be a base")));
    }
    Ok(url)
}

/// What an [`Executor`] is built from: the builder vocabulary every client shares.
///
/// ```
/// use std::time::Duration;
/// let settings = marketing_sync_core::Settings::new("my-client/1.0")
///     .timeout(Duration::from_secs(30))
///     .connect_timeout(Duration::from_secs(5))
///     .retry(marketing_sync_core::RetryPolicy::default())
///     .rate_limit(5)
///     .deadline(Some(Duration::from_secs(120)));
/// assert_eq!(settings.rate_limit.map(|n| n.get()), Some(5));
/// ```
#[derive(Debug, Clone)]
pub struct Settings {
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Per-attempt timeout (default 30 s).
    pub timeout: Duration,
    /// Connect timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Retry schedule (default [`RetryPolicy::default`]).
    pub retry: RetryPolicy,
    /// Client-side limit in requests per second (default none); see [`RateLimiter`].
    pub rate_limit: Option<NonZeroU32>,
    /// Total time for one call, every attempt and wait included (default none).
    pub deadline: Option<Duration>,
}

impl Settings {
    /// Defaults with this `User-Agent`.
    ///
    /// ```
    /// let s = marketing_sync_core::Settings::new("x/1");
    /// assert_eq!(s.timeout, std::time::Duration::from_secs(30));
    /// assert!(s.rate_limit.is_none() && s.deadline.is_none());
    /// ```
    pub fn new(user_agent: impl Into<String>) -> Self {
        Settings {
            user_agent: user_agent.into(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            rate_limit: None,
            deadline: None,
        }
    }

    /// Per-attempt timeout.
    ///
    /// ```
    /// let s = marketing_sync_core::Settings::new("x").timeout(std::time::Duration::from_secs(5));
    /// assert_eq!(s.timeout.as_secs(), 5);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout.
    ///
    /// ```
    /// let s = marketing_sync_core::Settings::new("x").connect_timeout(std::time::Duration::from_secs(2));
    /// assert_eq!(s.connect_timeout.as_secs(), 2);
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retry schedule.
    ///
    /// ```
    /// let s = marketing_sync_core::Settings::new("x").retry(marketing_sync_core::RetryPolicy::none());
    /// assert_eq!(s.retry.max_retries, 0);
    /// ```
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Client-side rate limit in requests per second; `0` turns it off.
    ///
    /// ```
    /// assert!(marketing_sync_core::Settings::new("x").rate_limit(0).rate_limit.is_none());
    /// ```
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate_limit = NonZeroU32::new(per_second);
        self
    }

    /// Total deadline for one call (`None`: attempts are bounded by the retry policy only).
    ///
    /// ```
    /// let s = marketing_sync_core::Settings::new("x").deadline(Some(std::time::Duration::from_secs(60)));
    /// assert!(s.deadline.is_some());
    /// ```
    pub fn deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }
}

/// Sends requests: waits for the rate limiter, counts every attempt, sends over `reqwest`,
/// repeats by the [retry decision](crate::should_retry) and gives up at the deadline. Cheap to
/// clone; clones share the limiter and the count.
///
/// ```
/// let executor = marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x/1").rate_limit(5))?;
/// assert_eq!(executor.requests_sent(), 0);
/// assert_eq!(executor.rate_limiter().map(|l| l.limit().get()), Some(5));
/// # Ok::<(), marketing_sync_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    retry: RetryPolicy,
    limiter: Option<RateLimiter>,
    deadline: Option<Duration>,
    requests: AtomicU64,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("retry", &self.inner.retry)
            .field("limiter", &self.inner.limiter)
            .field("deadline", &self.inner.deadline)
            .field("requests_sent", &self.requests_sent())
            .finish()
    }
}

impl Executor {
    /// An executor with its own `reqwest` client (user agent, timeouts from `settings`).
    ///
    /// ```
    /// assert!(marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x/1")).is_ok());
    /// ```
    pub fn new(settings: &Settings) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(&settings.user_agent)
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Self::with_client(http, settings))
    }

    /// An executor over a `reqwest` client built by the caller (for instance with a read
    /// timeout instead of a total one, for streamed answers); the timeouts and user agent of
    /// `settings` are then the caller's business.
    ///
    /// ```
    /// let http = reqwest::Client::builder().read_timeout(std::time::Duration::from_secs(60)).build().unwrap();
    /// let executor = marketing_sync_core::Executor::with_client(http, &marketing_sync_core::Settings::new("x/1"));
    /// # drop(executor);
    /// ```
    pub fn with_client(http: reqwest::Client, settings: &Settings) -> Self {
        Executor {
            inner: Arc::new(Inner {
                http,
                retry: settings.retry,
                limiter: settings.rate_limit.map(RateLimiter::new),
                deadline: settings.deadline,
                requests: AtomicU64::new(0),
            }),
        }
    }

    /// The `reqwest` client requests are built on.
    ///
    /// ```
    /// let executor = marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x/1"))?;
    /// let _ = executor.http().get("https://example.com/");
    /// # Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// How many attempts (retries included) this executor and its clones have sent.
    ///
    /// ```
    /// assert_eq!(marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x"))?.requests_sent(), 0);
    /// # Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// The retry schedule.
    ///
    /// ```
    /// let s = marketing_sync_core::Settings::new("x").retry(marketing_sync_core::RetryPolicy::fast(2));
    /// assert_eq!(marketing_sync_core::Executor::new(&s)?.retry_policy().max_retries, 2);
    /// # Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// The default rate limiter, if any.
    ///
    /// ```
    /// assert!(marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x"))?.rate_limiter().is_none());
    /// # Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn rate_limiter(&self) -> Option<&RateLimiter> {
        self.inner.limiter.as_ref()
    }

    /// The total deadline of one call, if any.
    ///
    /// ```
    /// assert!(marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x"))?.deadline().is_none());
    /// # Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn deadline(&self) -> Option<Duration> {
        self.inner.deadline
    }

    /// Starts a request; it is idempotent when its method is ([`idempotent_by_default`]).
    ///
    /// ```
    /// let executor = marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x"))?;
    /// let post = executor.request(reqwest::Method::POST, "https://example.com/a".parse().unwrap());
    /// assert!(!post.is_idempotent());
    /// assert!(post.idempotent(true).is_idempotent());
    /// # Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn request(&self, method: Method, url: Url) -> Request {
        Request {
            idempotent: idempotent_by_default(&method),
            builder: self.inner.http.request(method.clone(), url),
            method,
            limiter: None,
        }
    }

    /// One attempt, no retry: waits for the request's rate limiter, counts the attempt, sends.
    /// Any status is `Ok`; transport failures are sorted by [`Error::from_reqwest`].
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let executor = marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x"))?;
    /// let request = executor.request(reqwest::Method::GET, "http://127.0.0.1:9/".parse().unwrap());
    /// assert!(executor.attempt(&request).await.is_err());
    /// assert_eq!(executor.requests_sent(), 1);
    /// # Ok::<(), marketing_sync_core::Error>(()) }).unwrap();
    /// ```
    pub async fn attempt(&self, request: &Request) -> Result<reqwest::Response> {
        let builder = request.builder.try_clone().ok_or_else(|| {
            Error::Config("a request with a streamed body cannot be repeated".into())
        })?;
        let limiter = match &request.limiter {
            Some(chosen) => chosen.as_ref(),
            None => self.inner.limiter.as_ref(),
        };
        if let Some(limiter) = limiter {
            limiter.until_ready().await;
        }
        log_retry();
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        crate::count::count_attempt();
        builder.send().await.map_err(Error::from_reqwest)
    }

    /// Runs `op` until it succeeds, fails for good, runs out of retries or passes the deadline.
    ///
    /// A failure is repeated when [`should_retry`](crate::should_retry) says so for
    /// `idempotent`; the wait is the server's `Retry-After` or the backoff. A wait that would end
    /// past the deadline is not taken (the last error is returned at once); an attempt still
    /// running at the deadline is dropped and the call fails with [`Error::Deadline`].
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use marketing_sync_core::{Error, Executor, RetryPolicy, Settings};
    /// let executor = Executor::new(&Settings::new("x").retry(RetryPolicy::fast(3)))?;
    /// let mut calls = 0;
    /// let answer: Result<u8, Error> = executor.run(false, || {
    ///     calls += 1;
    ///     let n = calls;
    ///     async move {
    ///         if n < 3 { Err(Error::Status { status: 429, retry_after: None, body: String::new() }) } else { Ok(7) }
    ///     }
    /// }).await;
    /// assert_eq!((answer?, calls), (7, 3)); // a 429 was not processed: repeated even for a POST
    /// # Ok::<(), marketing_sync_core::Error>(()) }).unwrap();
    /// ```
    pub async fn run<T, E, F, Fut>(&self, idempotent: bool, op: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Retryable + From<Error> + fmt::Display,
    {
        let deadline = self.inner.deadline;
        let start = tokio::time::Instant::now();
        let pending: std::sync::Mutex<Option<RetryNote>> = std::sync::Mutex::new(None);
        // Attempts started so far: the retry a failure schedules is the next one.
        let started = std::sync::atomic::AtomicU32::new(0);
        let mut op = op;
        let op = || {
            started.fetch_add(1, Ordering::Relaxed);
            let note = pending.lock().unwrap_or_else(|p| p.into_inner()).take();
            let attempt = op();
            async move {
                match note {
                    Some(note) => RETRY_NOTE.scope(Arc::new(note), attempt).await,
                    None => attempt.await,
                }
            }
        };
        let retried = op
            .retry(self.inner.retry.backoff())
            .sleep(tokio::time::sleep)
            .when(|e: &E| should_retry(e.retry_class(), idempotent))
            .adjust(|e: &E, backoff| {
                let delay = next_delay(e, backoff)?;
                match deadline {
                    Some(limit) if start.elapsed() + delay >= limit => None,
                    _ => Some(delay),
                }
            })
            .notify(|e: &E, backoff| {
                *pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(RetryNote {
                    attempt: started.load(Ordering::Relaxed) + 1,
                    error: e.to_string(),
                    backoff,
                    failed_at: tokio::time::Instant::now(),
                    logged: std::sync::atomic::AtomicBool::new(false),
                });
            });
        match deadline {
            Some(limit) => tokio::time::timeout(limit, retried)
                .await
                .unwrap_or_else(|_| Err(E::from(Error::Deadline(limit)))),
            None => retried.await,
        }
    }

    /// Sends a request with retries and reads the answer; a non-2xx status is an
    /// [`Error::Status`] (its `Retry-After` read, its body cut to a snippet).
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use marketing_sync_core::{Executor, Settings, fake::{FakeServer, Harness}};
    /// let harness = Harness::new();
    /// let app = harness.mount(axum::Router::new().route("/hi", axum::routing::get(|| async { "hello" })));
    /// let server = FakeServer::start(app).await;
    /// let executor = Executor::new(&Settings::new("x"))?;
    /// harness.fail_next(1, 503);
    /// let url = format!("{}/hi", server.base_url()).parse().unwrap();
    /// let answer = executor.send(executor.request(reqwest::Method::GET, url)).await?;
    /// assert_eq!((answer.status, answer.text().as_str()), (200, "hello"));
    /// assert_eq!(executor.requests_sent(), 2); // the 503, then the answer
    /// # Ok::<(), marketing_sync_core::Error>(()) }).unwrap();
    /// ```
    pub async fn send(&self, request: Request) -> Result<Response> {
        self.send_with(request, Response::read_success).await
    }

    /// Sends a request with retries, `interpret` reading each answer: the client's own status
    /// and body mapping (a service's error codes on HTTP 200, a streamed body, …). Its errors
    /// drive the retries through [`Retryable`].
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use marketing_sync_core::{Error, Executor, Response, Settings, fake::{FakeServer, Harness}};
    /// let harness = Harness::new();
    /// let server = FakeServer::start(harness.mount(axum::Router::new()
    ///     .route("/n", axum::routing::get(|| async { "41" })))).await;
    /// let executor = Executor::new(&Settings::new("x"))?;
    /// let url = format!("{}/n", server.base_url()).parse().unwrap();
    /// let n: u32 = executor.send_with(executor.request(reqwest::Method::GET, url), |r| async {
    ///     Response::read_success(r).await?.json("a number")
    /// }).await?;
    /// assert_eq!(n + 1, 42);
    /// # Ok::<(), marketing_sync_core::Error>(()) }).unwrap();
    /// ```
    pub async fn send_with<T, E, F, Fut>(&self, request: Request, interpret: F) -> Result<T, E>
    where
        F: Fn(reqwest::Response) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Retryable + From<Error> + fmt::Display,
    {
        let (request, interpret) = (&request, &interpret);
        self.run(request.idempotent, move || async move {
            let response = self.attempt(request).await.map_err(E::from)?;
            interpret(response).await
        })
        .await
    }
}

tokio::task_local! {
    static RETRY_NOTE: Arc<RetryNote>;
}

/// Why and when the attempt about to be sent is a retry: logged once it goes out, so the log
/// shows the whole wait (the backoff and the rate limiter's), not the backoff alone.
struct RetryNote {
    attempt: u32,
    error: String,
    backoff: Duration,
    failed_at: tokio::time::Instant,
    logged: std::sync::atomic::AtomicBool,
}

fn log_retry() {
    let _ = RETRY_NOTE.try_with(|note| {
        if !note.logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                attempt = note.attempt,
                error = %note.error,
                waited = ?note.failed_at.elapsed(),
                backoff = ?note.backoff,
                "retrying request"
            );
        }
    });
}

/// A request being prepared for an [`Executor`]: a `reqwest` request plus whether it may be
/// repeated and which rate limiter it waits for.
///
/// ```
/// let executor = marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x"))?;
/// let request = executor
///     .request(reqwest::Method::POST, "https://example.com/contacts".parse().unwrap())
///     .header(reqwest::header::CONTENT_TYPE, reqwest::header::HeaderValue::from_static("application/json"))
///     .query(&[("page", "2")])
///     .body(r#"{"email":"a@example.com"}"#)
///     .idempotent(true) // an upsert by key: repeating it is harmless
///     .rate_limiter(marketing_sync_core::RateLimiter::per_second(20));
/// assert!(request.is_idempotent());
/// # Ok::<(), marketing_sync_core::Error>(())
/// ```
pub struct Request {
    builder: reqwest::RequestBuilder,
    method: Method,
    idempotent: bool,
    /// `None`: the executor's limiter; `Some(choice)`: this one (or none).
    limiter: Option<Option<RateLimiter>>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("idempotent", &self.idempotent)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// Adds a header.
    ///
    /// ```
    /// # let executor = marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x"))?;
    /// let request = executor.request(reqwest::Method::GET, "https://example.com/".parse().unwrap())
    ///     .header(reqwest::header::ACCEPT, reqwest::header::HeaderValue::from_static("application/json"));
    /// # drop(request); Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn header(self, name: HeaderName, value: HeaderValue) -> Self {
        self.with(|b| b.header(name, value))
    }

    /// Adds query parameters (`reqwest`'s `query`).
    ///
    /// ```
    /// # let executor = marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x"))?;
    /// let request = executor.request(reqwest::Method::GET, "https://example.com/".parse().unwrap())
    ///     .query(&[("limit", 10)]);
    /// # drop(request); Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn query<Q: serde::Serialize + ?Sized>(self, query: &Q) -> Self {
        self.with(|b| b.query(query))
    }

    /// Sets the body (set the content type with [`header`](Self::header)).
    ///
    /// ```
    /// # let executor = marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x"))?;
    /// let request = executor.request(reqwest::Method::PUT, "https://example.com/a".parse().unwrap())
    ///     .body(bytes::Bytes::from_static(b"{}"));
    /// # drop(request); Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn body(self, body: impl Into<Bytes>) -> Self {
        let body: Bytes = body.into();
        self.with(|b| b.body(body))
    }

    /// Anything else `reqwest` offers (a bearer token, a form, a per-request timeout, …).
    ///
    /// ```
    /// # let executor = marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x"))?;
    /// let request = executor.request(reqwest::Method::GET, "https://example.com/".parse().unwrap())
    ///     .with(|b| b.timeout(std::time::Duration::from_secs(5)));
    /// # drop(request); Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn with(
        mut self,
        f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Self {
        self.builder = f(self.builder);
        self
    }

    /// Overrides the method's idempotency: `true` for an operation safe to repeat (an upsert by
    /// key sent as POST), `false` for one that is not (a send, a create).
    ///
    /// ```
    /// # let executor = marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x"))?;
    /// let put = executor.request(reqwest::Method::PUT, "https://example.com/".parse().unwrap());
    /// assert!(!put.idempotent(false).is_idempotent());
    /// # Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Waits for this limiter (or none) instead of the executor's (several limits per
    /// service: contacts and the rest, events, …).
    ///
    /// ```
    /// # let executor = marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x").rate_limit(10))?;
    /// let unlimited = executor.request(reqwest::Method::GET, "https://example.com/".parse().unwrap())
    ///     .rate_limiter(None);
    /// # drop(unlimited); Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn rate_limiter(mut self, limiter: Option<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Whether a failure that may have been processed is repeated.
    ///
    /// ```
    /// # let executor = marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x"))?;
    /// assert!(executor.request(reqwest::Method::DELETE, "https://example.com/".parse().unwrap()).is_idempotent());
    /// # Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// The request's method.
    ///
    /// ```
    /// # let executor = marketing_sync_core::Executor::new(&marketing_sync_core::Settings::new("x"))?;
    /// let r = executor.request(reqwest::Method::HEAD, "https://example.com/".parse().unwrap());
    /// assert_eq!(r.method(), reqwest::Method::HEAD);
    /// # Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn method(&self) -> &Method {
        &self.method
    }
}

/// A read answer: status, headers and the whole body.
///
/// ```
/// let r = marketing_sync_core::Response { status: 200, headers: Default::default(), body: bytes::Bytes::from_static(b"[1]") };
/// assert_eq!(r.json::<Vec<u8>>("numbers")?, [1]);
/// # Ok::<(), marketing_sync_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// Reads a whole answer, whatever its status.
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let server = marketing_sync_core::fake::FakeServer::start(axum::Router::new()).await;
    /// let raw = reqwest::get(format!("{}/nowhere", server.base_url())).await.unwrap();
    /// assert_eq!(marketing_sync_core::Response::read(raw).await?.status, 404);
    /// # Ok::<(), marketing_sync_core::Error>(()) }).unwrap();
    /// ```
    pub async fn read(response: reqwest::Response) -> Result<Self> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(Error::from_reqwest)?;
        tracing::debug!(status, bytes = body.len(), "response");
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// Reads a whole answer; a non-2xx status is an [`Error::Status`].
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let server = marketing_sync_core::fake::FakeServer::start(axum::Router::new()).await;
    /// let raw = reqwest::get(format!("{}/nowhere", server.base_url())).await.unwrap();
    /// let err = marketing_sync_core::Response::read_success(raw).await.unwrap_err();
    /// assert_eq!(err.http_status(), Some(404));
    /// # });
    /// ```
    pub async fn read_success(response: reqwest::Response) -> Result<Self> {
        let answer = Self::read(response).await?;
        if (200..300).contains(&answer.status) {
            Ok(answer)
        } else {
            Err(Error::status(answer.status, &answer.headers, &answer.body))
        }
    }

    /// Decodes the JSON body (see [`decode_json`](crate::decode_json)).
    ///
    /// ```
    /// let r = marketing_sync_core::Response { status: 200, headers: Default::default(), body: "7".into() };
    /// assert_eq!(r.json::<u8>("a number")?, 7);
    /// # Ok::<(), marketing_sync_core::Error>(())
    /// ```
    pub fn json<T: DeserializeOwned>(&self, expected: &'static str) -> Result<T> {
        decode_json(&self.body, expected)
    }

    /// Whether the body is empty or whitespace only.
    ///
    /// ```
    /// let r = marketing_sync_core::Response { status: 204, headers: Default::default(), body: " \n".into() };
    /// assert!(r.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }

    /// The body as text (lossy UTF-8).
    ///
    /// ```
    /// let r = marketing_sync_core::Response { status: 200, headers: Default::default(), body: "ok".into() };
    /// assert_eq!(r.text(), "ok");
    /// ```
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::RetryClass;
    use std::sync::atomic::AtomicUsize;

    fn status(status: u16, retry_after: Option<Duration>) -> Error {
        Error::Status {
            status,
            retry_after,
            body: String::new(),
        }
    }

    fn executor(settings: Settings) -> Executor {
        Executor::new(&settings).unwrap()
    }

    /// Runs an operation that fails with `errors` in turn, then succeeds; returns the result
    /// and the number of calls.
    async fn attempts(
        exec: &Executor,
        idempotent: bool,
        errors: Vec<Error>,
    ) -> (Result<()>, usize) {
        let calls = AtomicUsize::new(0);
        let errors = std::sync::Mutex::new(errors.into_iter());
        let result = exec
            .run(idempotent, || {
                calls.fetch_add(1, Ordering::SeqCst);
                let next = errors.lock().unwrap().next();
                async move { next.map_or(Ok(()), Err) }
            })
            .await;
        (result, calls.into_inner())
    }

    #[tokio::test(start_paused = true)]
    async fn post_is_not_repeated_after_a_5xx_but_after_a_429() {
        let exec = executor(Settings::new("t").retry(RetryPolicy::fast(3)));
        let (r, n) = attempts(&exec, false, vec![status(503, None)]).await;
        assert_eq!((r.unwrap_err().http_status(), n), (Some(503), 1));
        let (r, n) = attempts(&exec, false, vec![status(429, None), status(429, None)]).await;
        assert!(r.is_ok());
        assert_eq!(n, 3);
        let (r, n) = attempts(&exec, true, vec![status(503, None), status(502, None)]).await;
        assert!(r.is_ok());
        assert_eq!(n, 3);
        let (r, n) = attempts(&exec, true, vec![status(400, None)]).await;
        assert_eq!(
            (r.unwrap_err().retry_class(), n),
            (RetryClass::Permanent, 1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_when_the_policy_runs_out() {
        let exec = executor(Settings::new("t").retry(RetryPolicy::fast(2)));
        let (r, n) = attempts(&exec, true, (0..5).map(|_| status(503, None)).collect()).await;
        assert!(r.is_err());
        assert_eq!(n, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_waited() {
        let exec = executor(Settings::new("t").retry(RetryPolicy::fast(1)));
        let start = tokio::time::Instant::now();
        let (r, _) = attempts(
            &exec,
            false,
            vec![status(429, Some(Duration::from_secs(7)))],
        )
        .await;
        assert!(r.is_ok());
        assert_eq!(start.elapsed(), Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_the_deadline_is_not_taken() {
        let exec = executor(
            Settings::new("t")
                .retry(RetryPolicy::fast(5))
                .deadline(Some(Duration::from_secs(10))),
        );
        let start = tokio::time::Instant::now();
        let (r, n) = attempts(
            &exec,
            true,
            vec![status(429, Some(Duration::from_secs(60)))],
        )
        .await;
        assert_eq!(r.unwrap_err().http_status(), Some(429));
        assert_eq!(n, 1);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_cuts_a_slow_attempt() {
        let exec = executor(
            Settings::new("t")
                .retry(RetryPolicy::fast(5))
                .deadline(Some(Duration::from_secs(10))),
        );
        let start = tokio::time::Instant::now();
        let r: Result<()> = exec
            .run(true, || async {
                tokio::time::sleep(Duration::from_secs(4)).await;
                Err(status(503, None))
            })
            .await;
        assert!(matches!(r, Err(Error::Deadline(d)) if d == Duration::from_secs(10)));
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[test]
    fn base_urls() {
        assert!(parse_base_url("not a url", true).is_err());
        assert!(parse_base_url("ftp://example.com/", true).is_err());
        assert_eq!(
            parse_base_url("https://example.com/api", false)
                .unwrap()
                .as_str(),
            "https://example.com/api"
        );
    }
}
