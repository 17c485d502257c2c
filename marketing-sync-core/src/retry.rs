//! The retry decision, the backoff schedule and idempotency by method.

use std::time::Duration;

use backon::ExponentialBuilder;
use reqwest::Method;

/// The statuses that may succeed when repeated: 408 and 429, 500, 502, 503, 504.
///
/// 429 says the request was not processed ([`RetryClass::NotProcessed`]); the others say it may
/// have been ([`RetryClass::Transient`]). Other 5xx (501 Not Implemented, 505, …) will answer the
/// same way again.
///
/// ```
/// assert!(marketing_sync_core::RETRIED_STATUSES.contains(&503));
/// assert!(!marketing_sync_core::RETRIED_STATUSES.contains(&501));
/// ```
pub const RETRIED_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];

/// What a failure says about repeating the request.
///
/// ```
/// use marketing_sync_core::RetryClass;
/// assert_eq!(RetryClass::of_status(429), RetryClass::NotProcessed);
/// assert_eq!(RetryClass::of_status(503), RetryClass::Transient);
/// assert_eq!(RetryClass::of_status(400), RetryClass::Permanent);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// The request provably was not processed (a connect failure, a 429): repeated whatever
    /// the method.
    NotProcessed,
    /// It may or may not have been processed (a timeout, a cut connection, a 408 or a retried
    /// 5xx): repeated only when the call is idempotent.
    Transient,
    /// Repeating it will not help.
    Permanent,
}

impl RetryClass {
    /// The class of an HTTP status (see [`RETRIED_STATUSES`]); 2xx and the rest are
    /// [`Permanent`](RetryClass::Permanent).
    ///
    /// ```
    /// assert_eq!(marketing_sync_core::RetryClass::of_status(408), marketing_sync_core::RetryClass::Transient);
    /// ```
    pub fn of_status(status: u16) -> Self {
        match status {
            429 => RetryClass::NotProcessed,
            408 | 500 | 502 | 503 | 504 => RetryClass::Transient,
            _ => RetryClass::Permanent,
        }
    }
}

/// An error the retry loop can judge: its [`RetryClass`] and the server's wait hint.
///
/// Each client implements it for its own error type (a service may add transient body codes).
///
/// ```
/// use std::time::Duration;
/// use marketing_sync_core::{RetryClass, Retryable};
/// struct Busy;
/// impl Retryable for Busy {
///     fn retry_class(&self) -> RetryClass { RetryClass::NotProcessed }
///     fn retry_after(&self) -> Option<Duration> { Some(Duration::from_secs(2)) }
/// }
/// assert_eq!(Busy.retry_after(), Some(Duration::from_secs(2)));
/// ```
pub trait Retryable {
    /// How this failure bears on a retry.
    fn retry_class(&self) -> RetryClass;

    /// How long the server asked us to wait, if it did.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

/// The retry decision: idempotent calls repeat every transient failure; the others only
/// failures that prove the request was not processed (a connect failure, a 429).
///
/// ```
/// use marketing_sync_core::{RetryClass, should_retry};
/// assert!(should_retry(RetryClass::Transient, true));
/// assert!(!should_retry(RetryClass::Transient, false)); // a POST may have gone through
/// assert!(should_retry(RetryClass::NotProcessed, false));
/// assert!(!should_retry(RetryClass::Permanent, true));
/// ```
pub fn should_retry(class: RetryClass, idempotent: bool) -> bool {
    match class {
        RetryClass::NotProcessed => true,
        RetryClass::Transient => idempotent,
        RetryClass::Permanent => false,
    }
}

/// The next delay: the server's `Retry-After` beats the backoff; an exhausted backoff (`None`)
/// stays exhausted.
///
/// ```
/// use std::time::Duration;
/// use marketing_sync_core::{Error, next_delay};
/// let limited = Error::Status { status: 429, retry_after: Some(Duration::from_secs(7)), body: String::new() };
/// assert_eq!(next_delay(&limited, Some(Duration::from_millis(1))), Some(Duration::from_secs(7)));
/// assert_eq!(next_delay(&limited, None), None);
/// ```
pub fn next_delay(err: &impl Retryable, backoff: Option<Duration>) -> Option<Duration> {
    backoff.map(|d| err.retry_after().unwrap_or(d))
}

/// Whether a method is idempotent by default (RFC 9110 §9.2.2): GET, HEAD, OPTIONS, TRACE, PUT
/// and DELETE are; POST and PATCH are not unless the call says so.
///
/// ```
/// use reqwest::Method;
/// assert!(marketing_sync_core::idempotent_by_default(&Method::PUT));
/// assert!(!marketing_sync_core::idempotent_by_default(&Method::POST));
/// ```
pub fn idempotent_by_default(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Retry schedule: exponential backoff with jitter, honouring `Retry-After`.
///
/// ```
/// use std::time::Duration;
/// let policy = marketing_sync_core::RetryPolicy { max_retries: 2, ..Default::default() };
/// assert_eq!(policy.min_delay, Duration::from_millis(500));
/// assert_eq!(marketing_sync_core::RetryPolicy::none().max_retries, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: usize,
    /// First backoff delay.
    pub min_delay: Duration,
    /// Upper bound of a backoff delay (a server `Retry-After` may exceed it; a deadline bounds
    /// the whole).
    pub max_delay: Duration,
    /// Randomise delays (on by default).
    pub jitter: bool,
}

impl RetryPolicy {
    /// Never retry.
    ///
    /// ```
    /// assert_eq!(marketing_sync_core::RetryPolicy::none().max_retries, 0);
    /// ```
    pub const fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            min_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            jitter: false,
        }
    }

    /// `max_retries` retries a millisecond or so apart, no jitter (tests and fakes).
    ///
    /// ```
    /// assert_eq!(marketing_sync_core::RetryPolicy::fast(3).max_retries, 3);
    /// ```
    pub const fn fast(max_retries: usize) -> Self {
        RetryPolicy {
            max_retries,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            jitter: false,
        }
    }

    /// The backoff schedule this policy describes.
    ///
    /// ```
    /// use backon::BackoffBuilder;
    /// let mut delays = marketing_sync_core::RetryPolicy::fast(2).backoff().build();
    /// assert!(delays.next().is_some() && delays.next().is_some() && delays.next().is_none());
    /// ```
    pub fn backoff(&self) -> ExponentialBuilder {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries);
        if self.jitter {
            backoff.with_jitter()
        } else {
            backoff
        }
    }
}

impl Default for RetryPolicy {
    /// 3 retries, 0.5 s .. 30 s with jitter.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            jitter: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_retried_status_set() {
        for s in [408, 500, 502, 503, 504] {
            assert_eq!(RetryClass::of_status(s), RetryClass::Transient, "{s}");
            assert!(should_retry(RetryClass::of_status(s), true), "{s}");
            assert!(!should_retry(RetryClass::of_status(s), false), "{s}");
        }
        assert!(should_retry(RetryClass::of_status(429), false));
        for s in [
            200, 301, 400, 401, 403, 404, 405, 409, 415, 422, 425, 501, 505, 507,
        ] {
            assert_eq!(RetryClass::of_status(s), RetryClass::Permanent, "{s}");
            assert!(!should_retry(RetryClass::of_status(s), true), "{s}");
        }
        for s in RETRIED_STATUSES {
            assert_ne!(RetryClass::of_status(s), RetryClass::Permanent, "{s}");
        }
    }

    #[test]
    fn idempotency_follows_the_method() {
        for m in [
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ] {
            assert!(idempotent_by_default(&m), "{m}");
        }
        for m in [Method::POST, Method::PATCH, Method::CONNECT] {
            assert!(!idempotent_by_default(&m), "{m}");
        }
    }

    #[test]
    fn retry_after_beats_backoff() {
        struct Hint(Option<Duration>);
        impl Retryable for Hint {
            fn retry_class(&self) -> RetryClass {
                RetryClass::NotProcessed
            }
            fn retry_after(&self) -> Option<Duration> {
                self.0
            }
        }
        let seven = Hint(Some(Duration::from_secs(7)));
        assert_eq!(
            next_delay(&seven, Some(Duration::from_millis(1))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(next_delay(&seven, None), None);
        assert_eq!(
            next_delay(&Hint(None), Some(Duration::from_millis(3))),
            Some(Duration::from_millis(3))
        );
    }
}
