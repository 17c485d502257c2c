//! What a [`Client`](crate::Client) is configured with beside the shared runtime settings:
//! the credentials, the per-endpoint rate limits and the order-retry choice.

use std::fmt;
use std::num::NonZeroU32;

use marketing_sync_core::Secret;

use crate::error::Error;

/// The API key, sent as the HTTP Basic password: a type of its own, so it cannot be swapped
/// with another string, and `[REDACTED]` in `Debug` and `Display`.
///
/// ```
/// let key = messaging_client::ApiKey::new("s3cret");
/// assert_eq!(format!("{key:?} {key}"), "ApiKey([REDACTED]) [REDACTED]");
/// ```
#[derive(Clone, Debug)]
pub struct ApiKey(pub(crate) Secret);

impl ApiKey {
    /// Wraps the key (from the account's API settings).
    ///
    /// ```
    /// let client = messaging_client::Client::builder(messaging_client::ApiKey::new("k")).build();
    /// assert!(client.is_ok());
    /// ```
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(Secret::new(key))
    }

    /// The key itself, for where it must be handed on as text (a child process's
    /// environment, a config file). Never log it.
    ///
    /// ```
    /// assert_eq!(messaging_client::ApiKey::new("s3cret").expose(), "s3cret");
    /// ```
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

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

/// Which event API [`Client::generate_event`](crate::Client::generate_event) posts to. Set
/// with [`ClientBuilder::event_api`](crate::ClientBuilder::event_api).
///
/// OA marks `POST /v1/event` `deprecated: true`; `POST /v2/event` takes the same body (its
/// values may be any JSON, so v1's strings are valid).
///
/// ```
/// assert_eq!(messaging_client::EventApi::default(), messaging_client::EventApi::V2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventApi {
    /// `POST /v1/event` (deprecated in OA).
    V1,
    /// `POST /v2/event` (the default).
    #[default]
    V2,
}

/// Whether [`Client::push_orders`](crate::Client::push_orders) repeats a chunk whose outcome is unknown (a timeout, a
/// dropped connection, a 5xx). Set with [`ClientBuilder::order_retry`](crate::ClientBuilder::order_retry).
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
            OrderRetry::WhenNotReceived => err.provably_not_processed() && err.is_retryable(),
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
