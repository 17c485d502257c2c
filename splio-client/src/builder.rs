//! [`ClientBuilder`] and what it is built from: the [`ApiKey`] and Splio's [`RateLimits`].

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use marketing_sync_core::{Executor, RateLimiter, RetryPolicy, Secret, Settings};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use tokio::sync::{Mutex, OnceCell};
use url::Url;

use crate::client::{Client, Inner, USER_AGENT};
use crate::contacts::CreationDateHour;
use crate::error::{Error, Result};
use crate::universe::UniqueKey;

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.splio.com";

/// A Splio API key (the credential `POST /authenticate` trades for a JWT). Never shown by
/// `Debug` or `Display`.
///
/// ```
/// let key = splio_client::ApiKey::new("my-api-key");
/// assert!(!format!("{key:?} {key}").contains("my-api-key"));
/// ```
#[derive(Clone, Debug)]
pub struct ApiKey(pub(crate) Secret);

impl ApiKey {
    /// Wraps the key.
    ///
    /// ```
    /// let _ = splio_client::ApiKey::new(String::from("my-api-key"));
    /// ```
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(Secret::new(key))
    }

    /// The key as text, to hand it on (an environment variable, a child process); never log it.
    ///
    /// ```
    /// assert_eq!(splio_client::ApiKey::new("my-api-key").expose(), "my-api-key");
    /// ```
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

/// Client-side rate limits in requests per second; `None` turns a limiter off.
/// Defaults are Splio's documented limits: 20/s for `/data/contacts*`, 10/s elsewhere, each a
/// [`marketing_sync_core::RateLimiter`] (no burst: never more than the limit within any second).
///
/// ```
/// let limits = splio_client::RateLimits::default();
/// assert_eq!(limits.contacts_per_second.map(|n| n.get()), Some(20));
/// assert_eq!(splio_client::RateLimits::unlimited().other_per_second, None);
/// ```
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
    ///
    /// ```
    /// assert_eq!(splio_client::RateLimits::unlimited().contacts_per_second, None);
    /// ```
    pub fn unlimited() -> Self {
        RateLimits {
            contacts_per_second: None,
            other_per_second: None,
        }
    }
}

/// Builder for [`Client`]. Start with [`Client::builder`]; setters never fail, [`build`](Self::build) checks.
pub struct ClientBuilder {
    api_key: ApiKey,
    base_url: String,
    allow_http: bool,
    settings: Settings,
    rate_limits: RateLimits,
    token_ttl: Duration,
    unique_key: Option<UniqueKey>,
    concurrency: usize,
    creation_date_hour: CreationDateHour,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url)
            .field("allow_http", &self.allow_http)
            .field("settings", &self.settings)
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
    ///
    /// ```
    /// let b = splio_client::Client::builder(splio_client::ApiKey::new("k")).base_url("https://api.splio.com");
    /// assert!(b.build().is_ok());
    /// ```
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Accept a plain-http base URL (loopback fakes and tests only).
    ///
    /// ```
    /// let b = splio_client::Client::builder(splio_client::ApiKey::new("k")).base_url("http://127.0.0.1:9");
    /// assert!(b.allow_http(true).build().is_ok());
    /// ```
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Per-attempt timeout (default 30 s).
    ///
    /// ```
    /// let b = splio_client::Client::builder(splio_client::ApiKey::new("k")).timeout(std::time::Duration::from_secs(10));
    /// # drop(b);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings = self.settings.timeout(timeout);
        self
    }

    /// Connect timeout (default 10 s).
    ///
    /// ```
    /// let b = splio_client::Client::builder(splio_client::ApiKey::new("k")).connect_timeout(std::time::Duration::from_secs(3));
    /// # drop(b);
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings = self.settings.connect_timeout(timeout);
        self
    }

    /// Total time for one call, every attempt and wait included (default none: the retry
    /// policy bounds it).
    ///
    /// ```
    /// let b = splio_client::Client::builder(splio_client::ApiKey::new("k")).deadline(std::time::Duration::from_secs(120));
    /// # drop(b);
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.settings = self.settings.deadline(Some(deadline));
        self
    }

    /// Retry policy (default: 3 retries, 500 ms … 30 s with jitter; a server's
    /// `Retry-After` / `rateLimit-reset` replaces the backoff delay).
    ///
    /// ```
    /// let b = splio_client::Client::builder(splio_client::ApiKey::new("k")).retry(splio_client::RetryPolicy::none());
    /// # drop(b);
    /// ```
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.settings = self.settings.retry(retry);
        self
    }

    /// Client-side rate limits (default 20/s contacts, 10/s elsewhere).
    ///
    /// ```
    /// let b = splio_client::Client::builder(splio_client::ApiKey::new("k")).rate_limit(splio_client::RateLimits::unlimited());
    /// # drop(b);
    /// ```
    pub fn rate_limit(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Token lifetime assumed when the JWT carries no `exp` (default 50 minutes).
    ///
    /// ```
    /// let b = splio_client::Client::builder(splio_client::ApiKey::new("k")).token_ttl(std::time::Duration::from_secs(600));
    /// # drop(b);
    /// ```
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Declare the universe's unique key instead of asking `GET /universes/unique-key`.
    ///
    /// ```
    /// let b = splio_client::Client::builder(splio_client::ApiKey::new("k")).unique_key(splio_client::UniqueKey::Email);
    /// # drop(b);
    /// ```
    pub fn unique_key(mut self, key: UniqueKey) -> Self {
        self.unique_key = Some(key);
        self
    }

    /// How many requests batch helpers run at once (default 4; the rate limiter still applies).
    ///
    /// ```
    /// let b = splio_client::Client::builder(splio_client::ApiKey::new("k")).concurrency(8);
    /// # drop(b);
    /// ```
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How the hour of `creation_date` is sent (default [`CreationDateHour::Unpadded`], which
    /// the OpenAPI pattern accepts; [`CreationDateHour::ZeroPadded`] is the form of Splio's own
    /// answers). Answers are read in either form.
    ///
    /// ```
    /// let b = splio_client::Client::builder(splio_client::ApiKey::new("k"))
    ///     .creation_date_hour(splio_client::CreationDateHour::ZeroPadded);
    /// # drop(b);
    /// ```
    pub fn creation_date_hour(mut self, hour: CreationDateHour) -> Self {
        self.creation_date_hour = hour;
        self
    }

    /// Build the client: checks the base URL (https, or http with `allow_http`).
    ///
    /// ```
    /// use splio_client::{ApiKey, Client};
    /// assert!(Client::builder(ApiKey::new("k")).base_url("http://api.splio.com").build().is_err());
    /// ```
    pub fn build(self) -> Result<Client> {
        let base: Url = marketing_sync_core::parse_base_url(&self.base_url, self.allow_http)?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .timeout(self.settings.timeout)
            .connect_timeout(self.settings.connect_timeout)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let limiter = |n: Option<NonZeroU32>| n.map(RateLimiter::new);
        let unique_key = OnceCell::new();
        if let Some(k) = self.unique_key {
            let _ = unique_key.set(k);
        }
        Ok(Client {
            inner: Arc::new(Inner {
                executor: Executor::with_client(http, &self.settings),
                base: base.as_str().trim_end_matches('/').to_string(),
                api_key: self.api_key,
                token: Mutex::new(None),
                token_ttl: self.token_ttl,
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

impl Client {
    /// Start building a client from a Splio API key.
    ///
    /// ```
    /// let client = splio_client::Client::builder(splio_client::ApiKey::new("my-api-key"))
    ///     .timeout(std::time::Duration::from_secs(10))
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{client:?}").contains("my-api-key"));
    /// ```
    pub fn builder(api_key: ApiKey) -> ClientBuilder {
        ClientBuilder {
            api_key,
            base_url: DEFAULT_BASE_URL.to_string(),
            allow_http: false,
            settings: Settings::new(USER_AGENT),
            rate_limits: RateLimits::default(),
            token_ttl: Duration::from_secs(50 * 60),
            unique_key: None,
            concurrency: 4,
            creation_date_hour: CreationDateHour::default(),
        }
    }
}
