//! The crate's single error type.

use std::time::Duration;

use marketing_sync_core::{RetryClass, Retryable};

/// Everything that can go wrong when talking to the messaging API.
///
/// The API key never appears in any variant: it travels in the `Authorization` header only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was rejected before anything was sent. `field` names the offending record and
    /// field (for example `orders[3].externalOrderId` or `eventTypeKey`).
    #[error("invalid input in {field}: {reason}")]
    InvalidInput {
        /// Which record/field is wrong.
        field: String,
        /// Why it is wrong.
        reason: String,
    },
    /// The client could not be built: an unparsable base URL, a plain `http` URL without
    /// [`allow_http`](crate::ClientBuilder::allow_http), an API key that cannot be a header, …
    /// (the shared runtime's [`Config`](marketing_sync_core::Error::Config) lands here).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// What the shared runtime reports, whatever the service: the request could not connect,
    /// timed out or was cut
    /// ([`Connect`](marketing_sync_core::Error::Connect), [`Timeout`](marketing_sync_core::Error::Timeout),
    /// [`Transport`](marketing_sync_core::Error::Transport)), a 2xx body is not the documented shape
    /// ([`Decode`](marketing_sync_core::Error::Decode), with the JSON path and a snippet), or the
    /// call's deadline passed.
    #[error(transparent)]
    Transport(marketing_sync_core::Error),
    /// HTTP 401: the API key is wrong or missing.
    #[error("unauthorized (HTTP 401): check the API key")]
    Unauthorized {
        /// The response body, verbatim.
        body: String,
    },
    /// HTTP 429: the service throttled the request (it was not processed).
    #[error("rate limited by the messaging API (HTTP 429)")]
    RateLimited {
        /// The server's `Retry-After` hint, if it sent one.
        retry_after: Option<Duration>,
        /// The response body, verbatim.
        body: String,
    },
    /// Any other non-2xx answer. `message` is the service's message (the `message` /
    /// `errorMessage` JSON field, or the whole plain-text body); `body` is the body verbatim.
    #[error("messaging API error (HTTP {status}): {message}")]
    Api {
        /// HTTP status code.
        status: u16,
        /// The service's message.
        message: String,
        /// The response body, verbatim.
        body: String,
    },
    /// The write may or may not have landed: a call that is not idempotent (an event, a send,
    /// a contact add, orders unless [`OrderRetry::AfterUnknownOutcome`](crate::OrderRetry)) was
    /// sent and its answer was lost (a cut connection, a timeout, the deadline), or reading
    /// back could not tell (a retry after a lost answer met the service's "409 Repeated request
    /// within 1 minute" and the contact read back does not hold what was sent). Not retryable:
    /// check before writing again.
    #[error("outcome unknown for {operation}: {reason}")]
    OutcomeUnknown {
        /// The operation, as `METHOD /path`.
        operation: String,
        /// What was seen.
        reason: String,
    },
    /// A contact import session ended in `ERROR`.
    #[error("contact import {session_id} failed: {description}")]
    ImportFailed {
        /// The `asyncSessionId`.
        session_id: String,
        /// The service's description, verbatim (may be empty).
        description: String,
    },
    /// A contact import session did not finish within the allowed time.
    #[error("contact import {session_id} still {status} after {waited:?}")]
    ImportTimedOut {
        /// The `asyncSessionId`.
        session_id: String,
        /// The last status seen.
        status: String,
        /// How long we waited.
        waited: Duration,
    },
}

impl Error {
    /// Whether repeating the same request later could succeed (connect/timeout/transport errors,
    /// 408, 429 and 500/502/503/504: [`marketing_sync_core::RETRIED_STATUSES`]). Whether the client
    /// *does* retry also depends on the operation's idempotency.
    pub fn is_retryable(&self) -> bool {
        self.retry_class() != RetryClass::Permanent
    }

    /// Whether the service provably did not process the request: nothing was sent (a
    /// configuration error, input refused before sending), the service refused the
    /// credentials, the connection was never made, or a 429. The same rule in all four
    /// clients. Of these, only the connect failure and the 429 are retried for
    /// non-idempotent operations.
    ///
    /// ```
    /// use messaging_client::Error;
    /// let refused = Error::InvalidInput { field: "email".into(), reason: "empty".into() };
    /// assert!(refused.provably_not_processed() && !refused.is_retryable());
    /// let server = Error::Api { status: 500, message: String::new(), body: String::new() };
    /// assert!(!server.provably_not_processed());
    /// ```
    pub fn provably_not_processed(&self) -> bool {
        matches!(
            self,
            Error::Config(_) | Error::InvalidInput { .. } | Error::Unauthorized { .. }
        ) || self.retry_class() == RetryClass::NotProcessed
    }

    /// The server's retry hint, for 429 answers that carried one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            Error::Transport(e) => Retryable::retry_after(e),
            _ => None,
        }
    }

    /// The HTTP status, for errors that carry one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { .. } => Some(401),
            Error::RateLimited { .. } => Some(429),
            Error::Api { status, .. } => Some(*status),
            Error::Transport(e) => e.http_status(),
            _ => None,
        }
    }

    /// Whether the service refused the request as a repeat of an identical one: 409 ("Repeated
    /// request within 1 minute", documented for `contact/subscribe`, `POST /v1/contact` and
    /// `PUT /v1/contact/{id}`) or a "Duplicated request" message (undocumented; the official
    /// plugins treat it as success for upserts). `update_contact` and `add_contact` resolve it
    /// by reading back ([`Error::OutcomeUnknown`] when they cannot); elsewhere the client does
    /// not decide what it means for you.
    pub fn is_duplicated_request(&self) -> bool {
        matches!(self, Error::Api { status: 409, .. })
            || matches!(self, Error::Api { message, .. } if message.contains("Duplicated request"))
    }

    /// The outcome of a call that is not idempotent whose request was sent and whose answer was
    /// lost ([`marketing_sync_core::Error::answer_lost`]).
    pub(crate) fn answer_lost(operation: String, cause: &marketing_sync_core::Error) -> Self {
        Error::OutcomeUnknown {
            operation,
            reason: format!(
                "the request was sent and its answer was lost ({cause}); it may have been processed: look it up before repeating it"
            ),
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl Retryable for Error {
    fn retry_class(&self) -> RetryClass {
        match self {
            Error::Transport(e) => e.retry_class(),
            Error::RateLimited { .. } => RetryClass::NotProcessed,
            Error::Api { status, .. } => RetryClass::of_status(*status),
            _ => RetryClass::Permanent,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        Error::retry_after(self)
    }
}

/// The shared runtime's error: [`Config`](marketing_sync_core::Error::Config) becomes
/// [`Error::Config`], everything else [`Error::Transport`].
impl From<marketing_sync_core::Error> for Error {
    fn from(e: marketing_sync_core::Error) -> Self {
        match e {
            marketing_sync_core::Error::Config(message) => Error::Config(message),
            e => Error::Transport(e),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
