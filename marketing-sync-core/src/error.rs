//! The transport-error taxonomy every client shares.

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::decode::snippet;
use crate::headers::retry_after;
use crate::retry::{RetryClass, Retryable};

/// What can go wrong between a client and an HTTP API, whatever the service.
///
/// No variant shows a secret: request URLs are stripped from `reqwest` errors (some services
/// take a key in the query string), and bodies are the server's.
///
/// ```
/// use marketing_sync_core::{Error, RetryClass, Retryable};
/// let e = Error::Status { status: 503, retry_after: None, body: "busy".into() };
/// assert_eq!(e.retry_class(), RetryClass::Transient);
/// assert_eq!(e.to_string(), "HTTP 503: busy");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client could not be built (bad base URL, plain http without `allow_http`, …).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The connection could not be established: the request provably never reached the server.
    ///
    /// Its message carries the cause's chain (`could not connect: … Connection refused`), so
    /// the `reqwest` error is not also given as [`source`](std::error::Error::source).
    #[error("could not connect: {}", chain(.0))]
    Connect(reqwest::Error),
    /// The request (or reading its answer) timed out; it may or may not have been processed.
    #[error("request timed out: {}", chain(.0))]
    Timeout(reqwest::Error),
    /// Any other transport failure (connection reset, a body cut short, …).
    #[error("transport error: {}", chain(.0))]
    Transport(reqwest::Error),
    /// A status the caller does not accept (non-2xx for [`Executor::send`](crate::Executor::send)).
    #[error("HTTP {status}: {body}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// The server's wait hint ([`retry_after`](crate::retry_after)).
        retry_after: Option<Duration>,
        /// The start of the response body ([`snippet`](crate::snippet)).
        body: String,
    },
    /// A response body that is not the expected shape.
    #[error("could not decode {expected} at `{path}`: {message} (body starts: {snippet:?})")]
    Decode {
        /// What we tried to decode.
        expected: &'static str,
        /// JSON path of the failure (`results[0].status`).
        path: String,
        /// The decoder's message.
        message: String,
        /// The first characters of the body.
        snippet: String,
    },
    /// The call's total deadline passed (attempts and waits together).
    #[error("gave up: the {0:?} deadline passed")]
    Deadline(Duration),
}

impl Error {
    /// Sorts a `reqwest` error into [`Connect`](Error::Connect), [`Timeout`](Error::Timeout) or
    /// [`Transport`](Error::Transport), dropping its URL.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let e = reqwest::get("http://127.0.0.1:9/?key=s3cret").await.unwrap_err();
    /// let e = marketing_sync_core::Error::from_reqwest(e);
    /// assert!(matches!(e, marketing_sync_core::Error::Connect(_)));
    /// assert!(!format!("{e:?}").contains("s3cret"));
    /// // The message carries the cause, not "could not connect" alone.
    /// assert!(e.to_string().contains("refused"), "{e}");
    /// # });
    /// ```
    pub fn from_reqwest(e: reqwest::Error) -> Self {
        let e = e.without_url();
        // A connect timeout is a connect failure: the request was never sent.
        if e.is_connect() {
            Error::Connect(e)
        } else if e.is_timeout() {
            Error::Timeout(e)
        } else {
            Error::Transport(e)
        }
    }

    /// The error for an unaccepted status: its `Retry-After` and the start of its body.
    ///
    /// ```
    /// let e = marketing_sync_core::Error::status(404, &Default::default(), b"no such list");
    /// assert_eq!(e.http_status(), Some(404));
    /// ```
    pub fn status(status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        Error::Status {
            status,
            retry_after: retry_after(headers),
            body: snippet(body),
        }
    }

    /// The HTTP status of a [`Status`](Error::Status) error.
    ///
    /// ```
    /// let e = marketing_sync_core::Error::Config("x".into());
    /// assert_eq!(e.http_status(), None);
    /// ```
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the request provably never reached the service (a connect failure, a 429), so
    /// repeating it cannot apply it twice, whatever the method.
    ///
    /// ```
    /// let e = marketing_sync_core::Error::Status { status: 429, retry_after: None, body: String::new() };
    /// assert!(e.provably_not_processed());
    /// assert!(!marketing_sync_core::Error::Deadline(std::time::Duration::from_secs(1)).provably_not_processed());
    /// ```
    pub fn provably_not_processed(&self) -> bool {
        self.retry_class() == RetryClass::NotProcessed
    }

    /// Whether the request may have reached the service with no answer coming back: a
    /// timeout, a cut connection, the call's deadline passing during an attempt, or a success
    /// whose body could not be read. For a call that is not idempotent (a send, a put, a
    /// trigger) the outcome is unknown: look it up before repeating it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use marketing_sync_core::Error;
    /// assert!(Error::Deadline(Duration::from_secs(5)).answer_lost());
    /// assert!(!Error::Status { status: 500, retry_after: None, body: String::new() }.answer_lost());
    /// ```
    pub fn answer_lost(&self) -> bool {
        matches!(
            self,
            Error::Timeout(_) | Error::Transport(_) | Error::Deadline(_) | Error::Decode { .. }
        )
    }
}

/// `error: its source: its source's source`, the way a person reads a cause.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let part = cause.to_string();
        // hyper and reqwest repeat a cause's text in their own; say it once.
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}

impl Retryable for Error {
    fn retry_class(&self) -> RetryClass {
        match self {
            Error::Connect(_) => RetryClass::NotProcessed,
            Error::Timeout(_) | Error::Transport(_) => RetryClass::Transient,
            Error::Status { status, .. } => RetryClass::of_status(*status),
            Error::Config(_) | Error::Decode { .. } | Error::Deadline(_) => RetryClass::Permanent,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
