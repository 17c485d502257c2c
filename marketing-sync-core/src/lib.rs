//! The shared runtime of the marketing-sync API clients, with no knowledge of any service.
//!
//! Each client builds its own requests and reads its own answers; this crate sends them:
//! [`Executor`] waits for the [`RateLimiter`], counts the attempt, sends it over `reqwest`, and
//! repeats it by one [retry decision](should_retry) (idempotency from the method unless the call
//! says otherwise, `Retry-After` honoured) within an optional total deadline. Around it: the
//! transport [`Error`] taxonomy, JSON [decoding](decode_json) with the failing path and a body
//! [`snippet`], a redacting [`Secret`], and one per-item batch [`ItemOutcome`]. Under the `fake`
//! feature, [`fake`] holds the scaffolding every service fake mounts.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use marketing_sync_core::{Executor, RetryPolicy, Settings};
//! let settings = Settings::new("my-client/1.0").retry(RetryPolicy::none());
//! let executor = Executor::new(&settings)?;
//! let request = executor.request(reqwest::Method::GET, "http://127.0.0.1:9/".parse().unwrap());
//! assert!(request.is_idempotent()); // a GET: retried on 5xx and timeouts
//! let err = executor.send(request).await.unwrap_err(); // nothing listens on port 9
//! assert!(matches!(err, marketing_sync_core::Error::Connect(_)));
//! assert_eq!(executor.requests_sent(), 1);
//! # Ok::<(), marketing_sync_core::Error>(()) }).unwrap();
//! ```

mod batch;
mod count;
mod decode;
mod error;
mod executor;
mod headers;
mod limiter;
mod retry;
mod secret;

#[cfg(feature = "fake")]
pub mod fake;

pub use batch::ItemOutcome;
pub use count::count_requests;
pub use decode::{decode_json, decode_rows, decode_value, snippet};
pub use error::{Error, Result};
pub use executor::{Executor, Request, Response, Settings, parse_base_url};
pub use headers::{RateLimitStatus, retry_after};
pub use limiter::RateLimiter;
pub use retry::{
    RETRIED_STATUSES, RetryClass, RetryPolicy, Retryable, idempotent_by_default, next_delay,
    should_retry,
};
pub use secret::Secret;

/// The README's example (it runs against the fake), compiled and run as a doctest.
#[cfg(all(doctest, feature = "fake"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
