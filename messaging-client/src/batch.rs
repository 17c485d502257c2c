//! Per-item outcomes of batch helpers.

use std::sync::Arc;

use crate::error::Error;

/// Why one item of a batch failed. One bad item never sinks the others.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ItemError {
    /// The service accepted the request but rejected this item (HTTP 200 with an `ERROR`
    /// result or a `failed*` entry); `message` is the service's text, verbatim.
    #[error("rejected by the service: {message}")]
    Rejected {
        /// The service's message.
        message: String,
    },
    /// The service accepted the request but its answer does not say what became of this item
    /// (no result names it, or the body was empty or unreadable). For a send, the message may
    /// have gone out: do not send it again blindly; look it up (by `externalRequestId`, see
    /// [`Client::contacts_activity`](crate::Client::contacts_activity)).
    #[error("outcome unknown: {reason}")]
    OutcomeUnknown {
        /// What the answer lacked.
        reason: String,
    },
    /// The item was invalid (not sent) or its chunk's request failed; the error is shared by
    /// every item of that chunk.
    #[error(transparent)]
    Failed(Arc<Error>),
}

impl From<Error> for ItemError {
    fn from(e: Error) -> Self {
        ItemError::Failed(Arc::new(e))
    }
}
