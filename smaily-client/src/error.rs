//! The crate's single error type.

use std::time::Duration;

use marketing_sync_core::{RetryClass, Retryable};

/// Everything that can go wrong when talking to Smaily.
///
/// The API password never appears in any variant: it travels in the `Authorization` header only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client could not be built (bad subdomain, bad base URL, plain http without
    /// `allow_http`, ...).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The input was rejected before anything was sent; `field` names the record and field.
    #[error("invalid input in {field}: {reason}")]
    InvalidInput {
        /// Which record/field is wrong (for example `fields["Eesnimi"]`).
        field: String,
        /// Why it is wrong.
        reason: String,
    },
    /// The HTTP exchange itself failed: no connection, a timeout, a cut connection, or a body
    /// that is not the documented shape ([`marketing_sync_core::Error::Decode`], with its JSON path and
    /// a snippet). The same taxonomy in every client of the suite.
    #[error(transparent)]
    Transport(#[from] marketing_sync_core::Error),
    /// HTTP 401 (wrong or missing API credentials, or a deleted API user), or HTTP 403
    /// without code 227 (the official Smaily Connect clients read both as refused
    /// credentials).
    #[error("unauthorized (HTTP {status}): check the API user and password")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The response body, verbatim.
        body: String,
    },
    /// HTTP 403 with code 227 ("A paid package is required."): the account's plan blocks the
    /// API. Checked by Smaily before authentication, so it says nothing about the credentials.
    #[error("plan blocked (HTTP 403, code 227): {message}")]
    PlanBlocked {
        /// The server's message, verbatim.
        message: String,
    },
    /// HTTP 404 with an empty body: the subdomain or the script does not exist.
    #[error("not found (HTTP 404): unknown subdomain or endpoint")]
    NotFound {
        /// The response body, verbatim (normally empty).
        body: String,
    },
    /// HTTP 429: Smaily throttled the request; it was not processed.
    #[error("rate limited by Smaily (HTTP 429)")]
    RateLimited {
        /// The server's `Retry-After` hint, if it sent one.
        retry_after: Option<Duration>,
        /// The response body, verbatim.
        body: String,
    },
    /// HTTP 5xx.
    #[error("Smaily server error (HTTP {status})")]
    Server {
        /// HTTP status code.
        status: u16,
        /// The response body, verbatim.
        body: String,
    },
    /// Any other unexpected HTTP status.
    #[error("unexpected HTTP {status} from Smaily")]
    Http {
        /// HTTP status code.
        status: u16,
        /// The response body, verbatim.
        body: String,
    },
    /// A body code other than 101 (usually on HTTP 200): Smaily's own error.
    #[error("Smaily error {code}: {message}")]
    Api {
        /// Smaily's result code (203, 204, 207, 216, ...).
        code: u16,
        /// The server's message, verbatim.
        message: String,
    },
}

impl Error {
    /// Whether repeating the same request later could succeed: transport failures, 429, the
    /// retried 5xx ([`marketing_sync_core::RETRIED_STATUSES`]), and the server-side failure codes 205
    /// and 225. Whether the client *does* retry also depends on the operation's idempotency.
    pub fn is_retryable(&self) -> bool {
        self.retry_class() != RetryClass::Permanent
    }

    /// Whether the request provably was not processed: a connect failure or a 429. Only these
    /// are retried for operations that are not idempotent.
    pub fn provably_not_processed(&self) -> bool {
        self.retry_class() == RetryClass::NotProcessed
    }

    /// The server's retry hint, for 429 answers that carried one.
    pub fn retry_after(&self) -> Option<Duration> {
        Retryable::retry_after(self)
    }

    /// Smaily's body code, for [`Error::Api`] and [`Error::PlanBlocked`].
    pub fn code(&self) -> Option<u16> {
        match self {
            Error::Api { code, .. } => Some(*code),
            Error::PlanBlocked { .. } => Some(227),
            _ => None,
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
            Error::Server { status, .. } | Error::Http { status, .. } => {
                RetryClass::of_status(*status)
            }
            // 205 "Could not add or update provided contact" and 225 (a server-side failure):
            // smaily.com/help/api/general/response-codes.
            Error::Api {
                code: 205 | 225, ..
            } => RetryClass::Transient,
            _ => RetryClass::Permanent,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
