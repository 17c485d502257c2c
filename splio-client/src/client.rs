//! [`Client`], its builder, and the one private path every request takes (through
//! [`marketing_sync_core::Executor`]: limiter, attempt count, retry decision, deadline).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use marketing_sync_core::{Executor, RateLimitStatus, RateLimiter, Secret};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, OnceCell};
use tracing::Instrument;
use url::Url;

use crate::builder::ApiKey;
use crate::contacts::CreationDateHour;
use crate::error::{Error, Result, error_from_response};
use crate::universe::UniqueKey;

pub(crate) const USER_AGENT: &str = concat!("splio-client/", env!("CARGO_PKG_VERSION"));
/// Refresh a token this long before its `exp`.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);

/// A Splio REST client. Cheap to clone; clones share the token, limiters, request count and
/// unique-key cache.
///
/// ```no_run
/// # async fn demo() -> splio_client::Result<()> {
/// let client = splio_client::Client::builder(splio_client::ApiKey::new("my-api-key")).build()?;
/// let key = client.unique_key().await?;
/// println!("contacts are keyed by {key:?}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) executor: Executor,
    pub(crate) base: String,
    pub(crate) api_key: ApiKey,
    pub(crate) token: Mutex<Option<Token>>,
    pub(crate) token_ttl: Duration,
    pub(crate) contacts_limiter: Option<RateLimiter>,
    pub(crate) other_limiter: Option<RateLimiter>,
    pub(crate) unique_key: OnceCell<UniqueKey>,
    pub(crate) last_rate_limit: std::sync::Mutex<Option<RateLimitStatus>>,
    /// Per endpoint group (contacts, other): when Splio said the window is exhausted
    /// (`rateLimit-remaining: 0` or a 429), wait until `rateLimit-reset` before sending more.
    pub(crate) paused_until: std::sync::Mutex<[Option<Instant>; 2]>,
    pub(crate) concurrency: usize,
    pub(crate) creation_date_hour: CreationDateHour,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base)
            .field("api_key", &self.inner.api_key)
            .field("unique_key", &self.inner.unique_key.get())
            .field("executor", &self.inner.executor)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub(crate) struct Token {
    value: Secret,
    refresh_at: Instant,
}

/// A non-idempotent request whose answer was lost ([`Error::answer_lost`]) may have been
/// processed: [`Error::OutcomeUnknown`], never a retryable transport error.
fn lost(method: &Method, path: &str, e: Error) -> Error {
    if e.answer_lost() {
        Error::OutcomeUnknown {
            key: format!("{method} {path}"),
            reason: format!("the answer was lost, Splio may have processed it: {e}"),
            exists: None,
        }
    } else {
        e
    }
}

/// A request description; resource modules build these and hand them to [`Client::send`].
/// Idempotency follows the method ([`marketing_sync_core::idempotent_by_default`]: POST and PATCH
/// are not) unless the operation says otherwise with [`idempotent`](Self::idempotent).
#[derive(Clone)]
pub(crate) struct Request {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<serde_json::Value>,
    idempotent: bool,
    authenticated: bool,
}

impl Request {
    pub(crate) fn new(method: Method, path: impl Into<String>) -> Self {
        Request {
            idempotent: marketing_sync_core::idempotent_by_default(&method),
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            authenticated: true,
        }
    }
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }
    pub(crate) fn post(path: impl Into<String>, body: serde_json::Value) -> Self {
        Self::new(Method::POST, path).json(body)
    }
    /// Splio's PATCH sets the attributes sent: repeating it is harmless, so it is idempotent
    /// (unlike PATCH in general).
    pub(crate) fn patch(path: impl Into<String>, body: serde_json::Value) -> Self {
        Self::new(Method::PATCH, path).json(body).idempotent(true)
    }
    pub(crate) fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }
    pub(crate) fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }
    pub(crate) fn query(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((name.into(), value.to_string()));
        self
    }
    /// Overrides the method's idempotency for this operation.
    pub(crate) fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
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

impl Client {
    /// The last `rateLimit-*` headers seen on any response.
    ///
    /// ```
    /// let client = splio_client::Client::builder(splio_client::ApiKey::new("k")).build().unwrap();
    /// assert!(client.last_rate_limit().is_none());
    /// ```
    pub fn last_rate_limit(&self) -> Option<RateLimitStatus> {
        *self
            .inner
            .last_rate_limit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// How many HTTP requests this client and its clones have sent (retries and
    /// authentication included).
    ///
    /// ```
    /// let client = splio_client::Client::builder(splio_client::ApiKey::new("k")).build().unwrap();
    /// assert_eq!(client.requests_sent(), 0);
    /// ```
    pub fn requests_sent(&self) -> u64 {
        self.inner.executor.requests_sent()
    }

    /// Send a request and decode a JSON body (an empty body reads as `null`).
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        request: Request,
        expected: &'static str,
    ) -> Result<T> {
        // Only what `lost` names, not the whole request (a bulk body is large).
        let described =
            (!request.idempotent).then(|| (request.method.clone(), request.path.clone()));
        let response = self.send(request).await?;
        let body: &[u8] = if response.is_empty() {
            b"null"
        } else {
            &response.body
        };
        marketing_sync_core::decode_json(body, expected).map_err(|e| match &described {
            // Splio accepted it and the answer cannot be read.
            Some((method, path)) => lost(method, path, Error::from(e)),
            None => Error::from(e),
        })
    }

    /// Send a request and return the raw successful response. Boxed because authentication
    /// itself goes through this path.
    pub(crate) fn send(
        &self,
        request: Request,
    ) -> futures::future::BoxFuture<'_, Result<marketing_sync_core::Response>> {
        Box::pin(async move {
            let span =
                tracing::debug_span!("splio", method = %request.method, path = %request.path);
            let result = self
                .inner
                .executor
                .run(request.idempotent, || self.attempt(&request))
                .instrument(span)
                .await;
            match result {
                Err(e) if !request.idempotent => Err(lost(&request.method, &request.path, e)),
                other => other,
            }
        })
    }

    /// One attempt, including one re-authentication on 401.
    async fn attempt(&self, request: &Request) -> Result<marketing_sync_core::Response> {
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

    async fn transmit(
        &self,
        request: &Request,
        token: Option<&Secret>,
    ) -> Result<marketing_sync_core::Response> {
        let executor = &self.inner.executor;
        let url = Url::parse(&format!("{}{}", self.inner.base, request.path))
            .map_err(|e| Error::Config(format!("request URL for {}: {e}", request.path)))?;
        let limiter = if request.is_contacts() {
            &self.inner.contacts_limiter
        } else {
            &self.inner.other_limiter
        };
        let mut sent = executor
            .request(request.method.clone(), url)
            .rate_limiter(limiter.clone());
        if !request.query.is_empty() {
            sent = sent.query(&request.query);
        }
        if let Some(token) = token {
            sent = sent.header(AUTHORIZATION, token.bearer()?);
        }
        if let Some(body) = &request.body {
            sent = sent
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(serde_json::to_vec(body).expect("JSON values always serialize"));
        }
        let answer = marketing_sync_core::Response::read(executor.attempt(&sent).await?).await?;
        let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
        let rate = RateLimitStatus::from_headers(&answer.headers);
        let exhausted =
            status == StatusCode::TOO_MANY_REQUESTS || rate.is_some_and(|r| r.remaining == Some(0));
        if let Some(wait) = marketing_sync_core::retry_after(&answer.headers).filter(|_| exhausted)
        {
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
        if status.is_success() {
            return Ok(answer);
        }
        Err(error_from_response(status, &answer.headers, &answer.body))
    }

    /// A valid token, authenticating if none is cached or it is due for refresh. The mutex is
    /// held while authenticating, so concurrent callers wait for one authentication.
    async fn bearer(&self) -> Result<Secret> {
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
    async fn refresh_token(&self, stale: &Secret) -> Result<Secret> {
        let mut slot = self.inner.token.lock().await;
        if let Some(t) = slot.as_ref()
            && t.value.expose() != stale.expose()
            && t.refresh_at > Instant::now()
        {
            return Ok(t.value.clone());
        }
        let token = self.authenticate().await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    /// `POST /authenticate` (idempotent: it only issues a token).
    async fn authenticate(&self) -> Result<Token> {
        #[derive(Deserialize)]
        struct Answer {
            token: String,
        }
        let body = serde_json::json!({ "api_key": self.inner.api_key.0.expose() });
        let request = Request::post("/authenticate", body)
            .idempotent(true)
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
            value: Secret::new(answer.token),
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

    fn should_retry(e: &Error, idempotent: bool) -> bool {
        marketing_sync_core::should_retry(
            marketing_sync_core::Retryable::retry_class(e),
            idempotent,
        )
    }

    #[test]
    fn retry_decision() {
        let (idempotent, not_idempotent) = (true, false);
        let limited = Error::RateLimited {
            retry_after: None,
            message: String::new(),
        };
        assert!(should_retry(&limited, not_idempotent));
        assert!(should_retry(&api(503), idempotent));
        assert!(!should_retry(&api(503), not_idempotent));
        assert!(!should_retry(&api(400), idempotent));
        assert!(!should_retry(&api(404), idempotent));
        let unauthorized = Error::Unauthorized {
            status: 401,
            message: String::new(),
        };
        assert!(!should_retry(&unauthorized, idempotent));
    }

    #[test]
    fn idempotency_follows_the_method_and_splio_patch_is_idempotent() {
        assert!(Request::get("/x").idempotent);
        assert!(Request::delete("/x").idempotent);
        assert!(!Request::post("/x", serde_json::json!({})).idempotent);
        assert!(Request::patch("/x", serde_json::json!({})).idempotent);
        assert!(
            Request::post("/x", serde_json::json!({}))
                .idempotent(true)
                .idempotent
        );
    }

    #[test]
    fn segments_encode_plus_and_at() {
        assert_eq!(segment("a+b@x.com"), "a%2Bb%40x.com");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
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
