//! The faults a fake can be told to inject, with one meaning in every fake.

use axum::body::Bytes;
use std::time::Duration;

/// One injected fault, consumed by one request, in arrival order.
///
/// Every fake gives each the same meaning: whether the request is processed (applied to the
/// fake's state) is part of the fault.
///
/// ```
/// use marketing_sync_core::fake::{DropPoint, Fault};
/// assert!(!Fault::Status(503).processes());
/// assert!(Fault::Drop(DropPoint::AfterProcessing).processes());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status, unprocessed (the body is the fake's; empty by default).
    Status(u16),
    /// Answer 429 with `Retry-After: retry_after_secs`, unprocessed.
    RateLimit {
        /// The `Retry-After` seconds.
        retry_after_secs: u64,
    },
    /// Wait this long, then process and answer normally.
    Delay(Duration),
    /// Cut the connection; the point says whether the request was processed first.
    Drop(DropPoint),
    /// Answer exactly this, unprocessed (a service's own error body on HTTP 200, …).
    Reply {
        /// HTTP status.
        status: u16,
        /// `Content-Type` of the body.
        content_type: String,
        /// The body.
        body: Bytes,
    },
}

impl Fault {
    /// Whether the request reaches the fake's routes (is applied to its state).
    ///
    /// ```
    /// use marketing_sync_core::fake::Fault;
    /// assert!(Fault::Delay(std::time::Duration::from_millis(5)).processes());
    /// assert!(!Fault::RateLimit { retry_after_secs: 1 }.processes());
    /// ```
    pub fn processes(&self) -> bool {
        matches!(
            self,
            Fault::Delay(_) | Fault::Drop(DropPoint::AfterProcessing)
        )
    }
}

/// Where a [`Fault::Drop`] cuts the connection.
///
/// ```
/// let point = marketing_sync_core::fake::DropPoint::BeforeProcessing;
/// assert_ne!(point, marketing_sync_core::fake::DropPoint::AfterProcessing);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropPoint {
    /// The request is not processed; the answer's headers are followed by a broken body.
    BeforeProcessing,
    /// The request is processed; half of the real answer's body is sent, then the connection
    /// breaks (the client cannot know it went through).
    AfterProcessing,
}
