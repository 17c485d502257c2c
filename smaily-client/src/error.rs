//! The crate's single error type.

use std::sync::Arc;
use std::time::Duration;

use marketing_sync_core::{RetryClass, Retryable};

/// Everything that can go wrong when talking to Smaily.
///
/// The same variant names for the same things in every client of the suite (`Config`,
/// `Transport`, `RateLimited`, `Unauthorized`, `Api`, `InvalidInput`, `OutcomeUnknown`), plus
/// Smaily's own `PlanBlocked` and `NotFound`. Every message carries its cause. The API
/// password never appears in any variant: it travels in the `Authorization` header only.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use smaily_client::{Client, Credentials, Error, RetryPolicy};
/// let client = Client::builder(Credentials::new("u", "p"))
///     .base_url("http://127.0.0.1:9/api/") // nothing listens there
///     .allow_http(true)
///     .retry(RetryPolicy::none())
///     .build()?;
/// let err = client.subscriber("mari@example.com").await.unwrap_err();
/// assert!(matches!(err, Error::Transport(_)) && err.provably_not_processed());
/// assert!(err.to_string().contains("refused"), "{err}");
/// # Ok::<(), Error>(()) }).unwrap();
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client could not be built (no account, a bad subdomain or base URL, plain http
    /// without `allow_http`, ...).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The input was refused before anything was sent; `field` names the record and field.
    #[error("invalid input in {field}: {reason}")]
    InvalidInput {
        /// Which record/field is wrong (for example `subscribers[3].email`).
        field: String,
        /// Why it is wrong.
        reason: String,
    },
    /// The HTTP exchange itself failed: no connection, a timeout, a cut connection, a status
    /// with no Smaily answer in its body (5xx, an unexpected 4xx:
    /// [`marketing_sync_core::Error::Status`]), a body that is not the documented shape
    /// ([`marketing_sync_core::Error::Decode`], with its JSON path and a snippet), or the
    /// call's deadline. The same taxonomy in every client of the suite.
    #[error(transparent)]
    Transport(marketing_sync_core::Error),
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
    /// A body code other than 101 (usually on HTTP 200): Smaily's own error.
    #[error("Smaily error {code}: {message}")]
    Api {
        /// Smaily's result code (203, 204, 207, 216, ...).
        code: u16,
        /// The server's message, verbatim.
        message: String,
    },
    /// A call that is not idempotent ([`Client::trigger_automation`](crate::Client::trigger_automation),
    /// [`Client::send_message`](crate::Client::send_message), the launches, creating a
    /// segment) was sent and its answer was lost or unreadable: Smaily may have processed
    /// it. Look it up (the message log, the campaign list) before repeating it; it is not
    /// retried.
    #[error(
        "outcome unknown: {operation} may have been processed ({cause}); check before repeating it"
    )]
    OutcomeUnknown {
        /// What was sent (`POST autoresponder.php`).
        operation: String,
        /// How the answer was lost.
        cause: marketing_sync_core::Error,
    },
}

/// A transport error, except the core's configuration error, which is [`Error::Config`].
impl From<marketing_sync_core::Error> for Error {
    fn from(e: marketing_sync_core::Error) -> Self {
        match e {
            marketing_sync_core::Error::Config(message) => Error::Config(message),
            e => Error::Transport(e),
        }
    }
}

impl Error {
    /// Whether repeating the same request later could succeed: transport failures, 429, the
    /// retried 5xx ([`marketing_sync_core::RETRIED_STATUSES`]), and the server-side failure codes 205
    /// and 225. Whether the client *does* retry also depends on the operation's idempotency.
    ///
    /// ```
    /// let e = smaily_client::Error::Api { code: 205, message: "Could not add or update provided contact".into() };
    /// assert!(e.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        self.retry_class() != RetryClass::Permanent
    }

    /// Whether the request provably was not processed: nothing was sent (a configuration
    /// error, input refused before sending), Smaily refused the credentials or the plan, a
    /// connect failure, or a 429. The same rule in all four clients. Of these, the connect failure
    /// and the 429 are retried for operations that are not idempotent.
    ///
    /// ```
    /// let e = smaily_client::Error::RateLimited { retry_after: None, body: String::new() };
    /// assert!(e.provably_not_processed());
    /// let e = smaily_client::Error::Unauthorized { status: 401, body: String::new() };
    /// assert!(e.provably_not_processed() && !e.is_retryable());
    /// ```
    pub fn provably_not_processed(&self) -> bool {
        matches!(
            self,
            Error::Config(_)
                | Error::InvalidInput { .. }
                | Error::Unauthorized { .. }
                | Error::PlanBlocked { .. }
        ) || self.retry_class() == RetryClass::NotProcessed
    }

    /// The server's retry hint, for 429 answers that carried one.
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = smaily_client::Error::RateLimited { retry_after: Some(Duration::from_secs(2)), body: String::new() };
    /// assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        Retryable::retry_after(self)
    }

    /// Smaily's body code, for [`Error::Api`] and [`Error::PlanBlocked`].
    ///
    /// ```
    /// let e = smaily_client::Error::Api { code: 216, message: String::new() };
    /// assert_eq!(e.code(), Some(216));
    /// ```
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
            Error::Transport(e) => Retryable::retry_after(e),
            _ => None,
        }
    }
}

/// What went wrong with one subscriber of a batch call ([`Client::upsert_many`]): the suite's
/// one item error, with the same variants in every client.
///
/// ```
/// use smaily_client::ItemError;
/// let e = ItemError::Rejected { message: "Invalid email address provided - x".into(), code: 204 };
/// assert_eq!(e.to_string(), "rejected by Smaily (204): Invalid email address provided - x");
/// assert!(!e.is_retryable());
/// ```
///
/// [`Client::upsert_many`]: crate::Client::upsert_many
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ItemError {
    /// Smaily answered and refused this item on its own (203, 204 or 207), with its message.
    /// Resending it unchanged will not help.
    #[error("rejected by Smaily ({code}): {message}")]
    Rejected {
        /// The server's message, verbatim.
        message: String,
        /// Smaily's code.
        code: u16,
    },
    /// Smaily may have processed this item and no answer says so: look it up before
    /// resending. (Upserts are idempotent, so [`Client::upsert_many`] reports a lost answer
    /// as a retryable [`Failed`](ItemError::Failed) instead.)
    ///
    /// [`Client::upsert_many`]: crate::Client::upsert_many
    #[error("outcome unknown: {reason}")]
    OutcomeUnknown {
        /// Why the outcome is unknown.
        reason: String,
    },
    /// Not delivered: the request carrying it failed after its retries (shared by its whole
    /// chunk), or the item was refused before sending ([`Error::InvalidInput`]).
    #[error(transparent)]
    Failed(Arc<Error>),
}

impl ItemError {
    /// Whether resending the item later could succeed: never for a refusal or an unknown
    /// outcome; for a failure, as its error says.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let e = smaily_client::ItemError::Failed(Arc::new(smaily_client::Error::Api { code: 205, message: String::new() }));
    /// assert!(e.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            ItemError::Failed(e) => e.is_retryable(),
            ItemError::Rejected { .. } | ItemError::OutcomeUnknown { .. } => false,
        }
    }

    /// Whether the item provably did not reach Smaily (refused before sending, a connect
    /// failure, a 429).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let e = smaily_client::ItemError::Failed(Arc::new(smaily_client::Error::InvalidInput { field: "email".into(), reason: "empty".into() }));
    /// assert!(e.provably_not_processed() && !e.is_retryable());
    /// ```
    pub fn provably_not_processed(&self) -> bool {
        match self {
            ItemError::Failed(e) => e.provably_not_processed(),
            ItemError::Rejected { .. } | ItemError::OutcomeUnknown { .. } => false,
        }
    }

    /// Whether Smaily may have processed the item: look it up before resending.
    ///
    /// ```
    /// let e = smaily_client::ItemError::OutcomeUnknown { reason: "the connection was cut".into() };
    /// assert!(e.is_outcome_unknown());
    /// ```
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, ItemError::OutcomeUnknown { .. })
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
