//! The crate's one [`Error`] type.

use std::sync::Arc;
use std::time::Duration;

use marketing_sync_core::{RetryClass, Retryable};

use crate::put_results::PutResult;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to Directo.
///
/// Secrets (the appkey or token) never appear in an error: requests carry them in the body
/// (POST), and transport errors carry no URL (a GET read has the key in its query string).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration is invalid (bad base URL, http without `allow_http`, …).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A value was rejected before anything was sent (which record / field and why).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A value of a put's document holds a character XML 1.0 does not allow (the `Char`
    /// production: a control character other than tab, LF and CR, or U+FFFE/U+FFFF). Only
    /// that document is refused; Directo would answer "8 Invalid xml given" for the whole
    /// request. See [`ClientBuilder::strip_invalid_xml_chars`](crate::ClientBuilder::strip_invalid_xml_chars).
    #[error("document {}: field {field:?} holds U+{code_point:04X} at character {position}, which XML 1.0 does not allow", document.as_deref().unwrap_or("(no code)"))]
    InvalidCharacter {
        /// The document's `code` (or `number`), as sent.
        document: Option<String>,
        /// The attribute, as a path for nested rows (`datafields/data[2]/@content`).
        field: String,
        /// The character.
        code_point: u32,
        /// Its 0-based character index in the value.
        position: usize,
    },
    /// The HTTP exchange failed: no connection, a timeout, a cut connection, or an HTTP status
    /// other than 2xx, 401, 403 and 429 ([`marketing_sync_core::Error::Status`], its body cut
    /// to a snippet). The same taxonomy in every client of the suite; the message carries the
    /// cause (`could not connect: … Connection refused`).
    #[error(transparent)]
    Transport(marketing_sync_core::Error),
    /// HTTP 429: too many requests. Directo documents no rate limit, but a proxy in front of
    /// it may answer one; the request was not processed.
    #[error("rate limited by Directo (HTTP 429){}", retry_after.map_or_else(String::new, |d| format!(", retry after {d:?}")))]
    RateLimited {
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
        /// The start of the answer's body.
        body: String,
    },
    /// The request was sent and may have been processed, but its answer was lost (a timeout,
    /// a cut connection, the deadline passing) or could not be read. A put is not
    /// idempotent: look the documents up before sending them again.
    #[error("outcome unknown: {reason}")]
    OutcomeUnknown {
        /// What happened, with its cause.
        reason: String,
    },
    /// Reading the input failed: an I/O error of the reader a [`RecordReader`](crate::RecordReader)
    /// was given (a file). A response body cut short is [`Error::Transport`].
    #[error("reading the input failed: {0}")]
    Io(std::io::Error),
    /// Directo refused the key or token (`<result type="5" desc="Unauthorized"/>`, or HTTP 401/403).
    #[error("unauthorized: {desc}")]
    Unauthorized {
        /// Directo's description, verbatim.
        desc: String,
    },
    /// Directo's own error, reported inside a 200: `<result type desc/>`, `<err>…</err>`,
    /// `<error desc code/>` or a root `err_reason` attribute. Code and message are verbatim.
    #[error("Directo error {}: {desc}", code.map_or_else(|| "(no code)".to_string(), |c| c.to_string()))]
    Api {
        /// The numeric code (`type` / `code`), when there is one.
        code: Option<i32>,
        /// The description or text, verbatim.
        desc: String,
    },
    /// Malformed XML: where (byte offset) and in which record (1-based; 0 = before the first).
    #[error("malformed XML at byte {offset} (record {record}): {error}")]
    Xml {
        /// Byte offset in the response body.
        offset: u64,
        /// 1-based number of the record being read (0 = in the envelope before any record).
        record: u64,
        /// The parser's error (in the message, so not also the `source`).
        error: quick_xml::Error,
    },
    /// Well-formed XML that is not what was expected (unknown envelope, undecodable value).
    #[error("unexpected response at byte {offset} (record {record}): expected {expected}: {found}")]
    Decode {
        /// What the parser expected.
        expected: &'static str,
        /// What it found (a short snippet).
        found: String,
        /// Byte offset in the body.
        offset: u64,
        /// 1-based record number (0 = envelope).
        record: u64,
    },
    /// One record could not be decoded (invalid UTF-8, a value that does not fit its typed
    /// field). **Record-scoped**: the stream yields this for the record and goes on with the
    /// next one (see [`Error::is_record_scoped`]); only structural breakage ends a read.
    #[error("{}: {reason} (record {record}{}, byte {offset})",
        field.as_ref().map_or_else(|| "record cannot be decoded".to_string(), |f| format!("field {f:?} cannot be decoded")),
        code.as_ref().map_or_else(String::new, |c| format!(", code {c:?}")))]
    Record {
        /// 1-based number of the record in the response.
        record: u64,
        /// The record's `code` (or, for numbered documents, `number`) attribute, verbatim,
        /// when it has one: the key to look the record up in Directo.
        code: Option<String>,
        /// Byte offset of the problem (or of the record) in the response body.
        offset: u64,
        /// The attribute (a path for nested rows: `rows/row[2]/@received`), when known.
        field: Option<String>,
        /// What is wrong, with the raw value where there is one.
        reason: String,
    },
    /// The answer declares (in its XML declaration or HTTP `charset`) an encoding this crate
    /// cannot decode: a label `encoding_rs` does not know, or UTF-16. Declared encodings it
    /// knows (`windows-1257`, `ISO-8859-13`, …) are decoded.
    #[error("unsupported XML encoding {0:?} (Directo documents are UTF-8)")]
    UnsupportedEncoding(String),
}

impl Error {
    /// Whether repeating the same request may succeed: transport failures, timeouts, a body
    /// cut short, 429 and the retried 5xx ([`marketing_sync_core::RETRIED_STATUSES`]). (Whether it is
    /// *safe* to repeat depends on the operation; see [`crate::Client`].)
    ///
    /// ```
    /// let busy = directo_client::Error::from(marketing_sync_core::Error::Status {
    ///     status: 503,
    ///     retry_after: None,
    ///     body: String::new(),
    /// });
    /// assert!(busy.is_retryable());
    /// assert!(!directo_client::Error::InvalidInput("x".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        self.retry_class() != RetryClass::Permanent
    }

    /// Whether this error concerns one record of a read only ([`Error::Record`]): the stream
    /// goes on after it, so a sync can set that record aside and process the rest. Every
    /// other error of a read stream ends it.
    ///
    /// ```
    /// use directo_client::{Customer, RecordReader};
    /// let xml = br#"<customers><customer code="A" balance="x"/><customer code="B"/></customers>"#;
    /// let read: Vec<_> = RecordReader::<_, Customer>::new(&xml[..], "customer").collect();
    /// assert!(read[0].as_ref().unwrap_err().is_record_scoped());
    /// assert_eq!(read[1].as_ref().unwrap().code, "B");
    /// ```
    pub fn is_record_scoped(&self) -> bool {
        matches!(self, Error::Record { .. })
    }

    /// The server's `Retry-After`, if it sent one.
    ///
    /// ```
    /// let limited = directo_client::Error::RateLimited {
    ///     retry_after: Some(std::time::Duration::from_secs(60)),
    ///     body: String::new(),
    /// };
    /// assert_eq!(limited.retry_after(), Some(std::time::Duration::from_secs(60)));
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        Retryable::retry_after(self)
    }

    /// Whether Directo provably did not process the request, so repeating it cannot apply it
    /// twice, whatever the call: nothing was sent (a configuration error, input refused before
    /// sending), Directo refused the credentials, the connection was never made, or a 429. The
    /// same rule in all four clients.
    ///
    /// ```
    /// use directo_client::Error;
    /// let limited = Error::RateLimited { retry_after: None, body: String::new() };
    /// assert!(limited.provably_not_processed());
    /// let refused = Error::InvalidInput("a new <customer> needs email or regno".into());
    /// assert!(refused.provably_not_processed() && !refused.is_retryable());
    /// assert!(Error::Unauthorized { desc: "bad key".into() }.provably_not_processed());
    /// let lost = Error::OutcomeUnknown { reason: "timed out".into() };
    /// assert!(!lost.provably_not_processed() && !lost.is_retryable());
    /// ```
    pub fn provably_not_processed(&self) -> bool {
        matches!(
            self,
            Error::Config(_)
                | Error::InvalidInput(_)
                | Error::InvalidCharacter { .. }
                | Error::Unauthorized { .. }
        ) || self.retry_class() == RetryClass::NotProcessed
    }

    /// Maps a Directo `type`/`code` to the right variant (5 = Unauthorized).
    pub(crate) fn api(code: Option<i32>, desc: String) -> Self {
        if code == Some(5) {
            Error::Unauthorized { desc }
        } else {
            Error::Api { code, desc }
        }
    }
}

impl Retryable for Error {
    fn retry_class(&self) -> RetryClass {
        match self {
            Error::Transport(e) => e.retry_class(),
            Error::RateLimited { .. } => RetryClass::NotProcessed,
            // A reader handed to `RecordReader` failed (the client's own response bodies
            // fail as `Transport`): taken as passing, like a cut connection.
            Error::Io(_)
            | Error::Xml {
                error: quick_xml::Error::Io(_),
                ..
            } => RetryClass::Transient,
            _ => RetryClass::Permanent,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Transport(e) => e.retry_after(),
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The core's configuration errors are this crate's [`Error::Config`], its 429 is
/// [`Error::RateLimited`]; everything else it reports is [`Error::Transport`].
///
/// ```
/// use directo_client::Error;
/// let core = marketing_sync_core::Error::Config("bad URL".into());
/// assert!(matches!(Error::from(core), Error::Config(_)));
/// let core = marketing_sync_core::Error::Status { status: 429, retry_after: None, body: String::new() };
/// assert!(matches!(Error::from(core), Error::RateLimited { .. }));
/// ```
impl From<marketing_sync_core::Error> for Error {
    fn from(e: marketing_sync_core::Error) -> Self {
        match e {
            marketing_sync_core::Error::Config(message) => Error::Config(message),
            marketing_sync_core::Error::Status {
                status: 429,
                retry_after,
                body,
            } => Error::RateLimited { retry_after, body },
            other => Error::Transport(other),
        }
    }
}

/// An I/O error that carries this crate's error (a response body that broke while it was
/// streamed: [`Error::Transport`]) is that error; any other is [`Error::Io`], its message
/// carrying the I/O error (so it is not also the `source`).
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::carried_by(e).unwrap_or_else(Error::Io)
    }
}

impl Error {
    /// The error an I/O error carries, if it carries one of this crate's.
    fn carried_by(e: std::io::Error) -> std::result::Result<Error, std::io::Error> {
        if !e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            return Err(e);
        }
        let kind = e.kind();
        match e.into_inner() {
            Some(inner) => inner
                .downcast::<Error>()
                .map(|carried| *carried)
                .map_err(|other| std::io::Error::new(kind, other)),
            None => Err(std::io::Error::from(kind)),
        }
    }

    /// The parser's error, or the transport error it met while reading (a body cut short
    /// is a transport failure, not malformed XML).
    pub(crate) fn of_parser(
        error: quick_xml::Error,
    ) -> std::result::Result<Error, quick_xml::Error> {
        let quick_xml::Error::Io(shared) = error else {
            return Err(error);
        };
        match Arc::try_unwrap(shared) {
            Ok(io) => Error::carried_by(io).map_err(|io| quick_xml::Error::Io(Arc::new(io))),
            Err(shared) => Err(quick_xml::Error::Io(shared)),
        }
    }
}

/// What became of one document of a put, when it was not stored: the error of a
/// [`PutOutcome`](crate::PutOutcome).
///
/// ```
/// use directo_client::{Error, ItemError};
/// let lost = ItemError::OutcomeUnknown { reason: "request timed out".into() };
/// assert!(!lost.is_retryable() && lost.is_outcome_unknown());
/// let down = ItemError::Failed(std::sync::Arc::new(Error::RateLimited { retry_after: None, body: String::new() }));
/// assert!(down.is_retryable() && down.provably_not_processed());
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ItemError {
    /// Directo answered and refused this document (its `<Result>` has a failure `Type`, e.g.
    /// 11 "Duplicate", 13, 14, or an `error` attribute). Sending it again unchanged will not
    /// help.
    #[error("rejected by Directo{}: {message}", code.map_or_else(String::new, |c| format!(" ({c})")))]
    Rejected {
        /// Directo's `Desc` (or its `error` attribute), verbatim.
        message: String,
        /// The `Type` code, when it is a number.
        code: Option<i32>,
        /// Directo's whole answer for this document (`Desc`, `docid`, `doctype`, …).
        result: Box<PutResult>,
    },
    /// Directo may have stored this document: its request's answer was lost (a timeout, a cut
    /// connection) or could not be read, or the answer does not say what became of it (no
    /// `<Result>` for it, a `Type` that is not a number). Look it up before sending it again.
    #[error("outcome unknown: {reason}")]
    OutcomeUnknown {
        /// Why, with the cause.
        reason: String,
    },
    /// Not stored: refused before sending ([`Error::InvalidInput`],
    /// [`Error::InvalidCharacter`]) or its request failed (shared by the documents of that
    /// request).
    #[error("{0}")]
    Failed(Arc<Error>),
}

impl ItemError {
    /// Whether sending the document again may succeed: never for [`Rejected`](Self::Rejected)
    /// and [`OutcomeUnknown`](Self::OutcomeUnknown); for [`Failed`](Self::Failed), the
    /// request error's [`Error::is_retryable`].
    ///
    /// ```
    /// let e = directo_client::ItemError::OutcomeUnknown { reason: "cut".into() };
    /// assert!(!e.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            ItemError::Failed(e) => e.is_retryable(),
            _ => false,
        }
    }

    /// Whether the document provably never reached Directo (only [`Failed`](Self::Failed),
    /// by its error's [`Error::provably_not_processed`]).
    ///
    /// ```
    /// let e = directo_client::ItemError::OutcomeUnknown { reason: "cut".into() };
    /// assert!(!e.provably_not_processed());
    /// ```
    pub fn provably_not_processed(&self) -> bool {
        match self {
            ItemError::Failed(e) => e.provably_not_processed(),
            _ => false,
        }
    }

    /// Whether Directo may have stored it ([`OutcomeUnknown`](Self::OutcomeUnknown)).
    ///
    /// ```
    /// let e = directo_client::ItemError::OutcomeUnknown { reason: "cut".into() };
    /// assert!(e.is_outcome_unknown());
    /// ```
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, ItemError::OutcomeUnknown { .. })
    }
}

/// A request error shared by the documents it carried: a lost answer
/// ([`Error::OutcomeUnknown`]) stays one for each of them.
impl From<Arc<Error>> for ItemError {
    fn from(e: Arc<Error>) -> Self {
        match &*e {
            Error::OutcomeUnknown { reason } => ItemError::OutcomeUnknown {
                reason: reason.clone(),
            },
            _ => ItemError::Failed(e),
        }
    }
}
