//! Per-item outcomes of batch helpers.

use std::sync::Arc;

use crate::error::Error;

/// Why one item of a batch did not succeed. One bad item never sinks the others.
///
/// ```
/// use messaging_client::ItemError;
/// let unknown = ItemError::OutcomeUnknown { reason: "the connection was cut".into() };
/// assert!(unknown.is_outcome_unknown() && !unknown.is_retryable());
/// assert_eq!(unknown.to_string(), "outcome unknown: the connection was cut");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ItemError {
    /// The service answered and refused this item (HTTP 200 with an `ERROR` result or a
    /// `failed*` entry); `message` is the service's text, verbatim. Resending it unchanged will
    /// not help.
    #[error("rejected by the messaging API: {message}")]
    Rejected {
        /// The service's message.
        message: String,
    },
    /// The service may have processed this item: its request was sent and the answer was lost
    /// (a cut connection, a timeout) on a call that is not idempotent, or the answer does not
    /// say what became of the item (no result names it, the body was empty or unreadable). For
    /// a send, the message may have gone out: do not send it again blindly; look it up first
    /// (by `externalRequestId`, see
    /// [`Client::contacts_activity`](crate::Client::contacts_activity)).
    #[error("outcome unknown: {reason}")]
    OutcomeUnknown {
        /// What was seen.
        reason: String,
    },
    /// Not delivered: the item was invalid (refused locally, never sent) or the request
    /// carrying it failed; the error is shared by every item of that request.
    #[error(transparent)]
    Failed(Arc<Error>),
}

impl ItemError {
    /// Whether sending this item again later could succeed: only for [`Failed`](Self::Failed)
    /// with a retryable error. A refusal or an unknown outcome is never retryable.
    ///
    /// ```
    /// use messaging_client::{Error, ItemError};
    /// let limited = ItemError::from(Error::RateLimited { retry_after: None, body: String::new() });
    /// assert!(limited.is_retryable());
    /// assert!(!ItemError::Rejected { message: "bad".into() }.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            ItemError::Failed(e) => e.is_retryable(),
            ItemError::Rejected { .. } | ItemError::OutcomeUnknown { .. } => false,
        }
    }

    /// Whether this item provably never reached the service (its request failed to connect,
    /// or was rate limited), so sending it again cannot apply it twice.
    ///
    /// ```
    /// use messaging_client::{Error, ItemError};
    /// let limited = ItemError::from(Error::RateLimited { retry_after: None, body: String::new() });
    /// assert!(limited.provably_not_processed());
    /// assert!(!ItemError::OutcomeUnknown { reason: "cut".into() }.provably_not_processed());
    /// ```
    pub fn provably_not_processed(&self) -> bool {
        match self {
            ItemError::Failed(e) => e.provably_not_processed(),
            ItemError::Rejected { .. } | ItemError::OutcomeUnknown { .. } => false,
        }
    }

    /// Whether the service may have processed this item ([`OutcomeUnknown`](Self::OutcomeUnknown)):
    /// look it up before sending it again.
    ///
    /// ```
    /// let e = messaging_client::ItemError::OutcomeUnknown { reason: "cut".into() };
    /// assert!(e.is_outcome_unknown());
    /// ```
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, ItemError::OutcomeUnknown { .. })
    }
}

/// A request error given to each item it carried: [`Error::OutcomeUnknown`] (a call that is
/// not idempotent lost its answer after sending) becomes [`ItemError::OutcomeUnknown`];
/// everything else is [`ItemError::Failed`].
impl From<Error> for ItemError {
    fn from(e: Error) -> Self {
        match e {
            Error::OutcomeUnknown { operation, reason } => ItemError::OutcomeUnknown {
                reason: format!("{operation}: {reason}"),
            },
            e => ItemError::Failed(Arc::new(e)),
        }
    }
}
