//! The crate's one error type.

use std::time::Duration;

use marketing_sync_core::{RetryClass, Retryable};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;

/// One entry of Splio's error envelope `{"status":400,"errors":[{error_key, error, error_description}]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ApiErrorItem {
    /// Which input the error is about, e.g. `custom_fields`, `id`, `list_id`.
    #[serde(default)]
    pub error_key: String,
    /// The error slug, e.g. `wrong_value`, `wrong_type`, `wrong_email`, `wrong_contact_key`.
    #[serde(default)]
    pub error: String,
    /// Human-readable description, verbatim from Splio.
    #[serde(default)]
    pub error_description: String,
}

/// Everything that can go wrong talking to Splio (REST or Datahub SFTP).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// What went wrong between the client and Splio, whatever the service: connect, timeout,
    /// a cut connection, an undecodable body, the total deadline ([`marketing_sync_core::Error`]; its
    /// source chain kept). A base-URL or HTTP-client setup failure is [`Error::Config`] instead.
    #[error(transparent)]
    Transport(marketing_sync_core::Error),
    /// Authentication failed: a bad API key (`/authenticate` answers 400/401), or a 401 that a fresh
    /// token did not cure.
    #[error("unauthorized (HTTP {status}): {message}")]
    Unauthorized {
        /// HTTP status.
        status: u16,
        /// The service's message, verbatim.
        message: String,
    },
    /// HTTP 429. `retry_after` comes from `rateLimit-reset` (seconds) or `Retry-After`.
    #[error("rate limited by Splio (retry after {retry_after:?}): {message}")]
    RateLimited {
        /// How long the service asks us to wait.
        retry_after: Option<Duration>,
        /// The service's message (`API rate limit exceeded`).
        message: String,
    },
    /// The service answered with an error status. `errors` holds the envelope's entries; `message`
    /// holds a bare-string or `{message}` body, or the raw body when it had neither shape.
    #[error("Splio API error (HTTP {status}): {}", describe(errors, message))]
    Api {
        /// HTTP status.
        status: u16,
        /// Entries of the `{status, errors:[…]}` envelope (empty for other body shapes).
        errors: Vec<ApiErrorItem>,
        /// A bare-string or `{message}` body, or a snippet of an unrecognised body.
        message: Option<String>,
    },
    /// Input rejected before anything was sent.
    #[error("invalid input for {record}, field `{field}`: {reason}")]
    InvalidInput {
        /// Which record (a key, an index, or a file line).
        record: String,
        /// Which field or column.
        field: String,
        /// Why.
        reason: String,
    },
    /// A single non-idempotent call (a create, a blacklist add) was sent and its answer was
    /// lost (timeout, cut connection, unreadable body): Splio may have processed it, so it is
    /// not retryable; look it up first. `exists` is what a lookup found, when one was made.
    /// [`is_already_exists`](Error::is_already_exists) is true when the contact is there
    /// (update it to be sure it holds your attributes). Per-item outcomes of batch calls are
    /// [`ItemError`].
    #[error("outcome unknown for {key}: {reason}{}", match exists {
        Some(true) => "; the contact exists now",
        Some(false) => "; the contact does not exist (not created)",
        None => "",
    })]
    OutcomeUnknown {
        /// The contact's key, or the request (`POST /data/contacts`) when the call has none.
        key: String,
        /// Why (the lost answer's cause, or what the answer left out).
        reason: String,
        /// What a lookup found afterwards (`None`: none was made, or it failed).
        exists: Option<bool>,
    },
    /// A group was created ([`Client::create_group`](crate::Client::create_group), not
    /// idempotent) with its first 10,000 keys, but adding the keys past those failed. Do not
    /// create it again: add `pending_keys` to `group_id` with
    /// [`Client::add_to_group`](crate::Client::add_to_group), which is idempotent. Not
    /// retryable.
    #[error(
        "group {group_id} was created, but adding its remaining {} keys failed: {cause}; add \
         them with add_to_group({group_id}, …) rather than creating the group again",
        pending_keys.len()
    )]
    GroupIncomplete {
        /// The created group's id.
        group_id: i64,
        /// What the creation answered (the group, and the keys its first request did not find).
        created: Box<crate::CreatedGroup>,
        /// Every key past the first request's 10,000 (some may have been added before the
        /// failure: adding again keeps each once).
        pending_keys: Vec<String>,
        /// Why adding them failed (in the message, not in `source()`).
        cause: Box<Error>,
    },
    /// SFTP/SSH failure (connect, protocol, remote file operation); the message carries the
    /// cause.
    #[error("SFTP {action} failed: {cause}")]
    Sftp {
        /// What we were doing.
        action: String,
        /// The underlying error (in the message, not in `source()`).
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The SFTP server rejected our credentials.
    #[error("SFTP authentication failed for user {user}")]
    SftpAuth {
        /// The login that was refused.
        user: String,
    },
    /// The SFTP server's host key did not match the configured fingerprint or known_hosts.
    #[error("SFTP host key rejected: {fingerprint} is not the expected key")]
    HostKeyRejected {
        /// The SHA256 fingerprint the server presented.
        fingerprint: String,
    },
    /// Local I/O (reading a key file, known_hosts, a CSV file); the message carries the cause.
    #[error("I/O error: {0}")]
    Io(std::io::Error),
    /// Invalid client configuration.
    #[error("invalid configuration: {0}")]
    Config(String),
}

fn describe(errors: &[ApiErrorItem], message: &Option<String>) -> String {
    let mut parts: Vec<String> = errors
        .iter()
        .map(|e| format!("{}/{}: {}", e.error_key, e.error, e.error_description))
        .collect();
    if let Some(m) = message {
        parts.push(m.clone());
    }
    parts.join("; ")
}

impl Error {
    /// Whether a retry may succeed: transport failures, timeouts, 429 and the retried 5xx
    /// ([`marketing_sync_core::RETRIED_STATUSES`]), an outcome unknown that a lookup showed
    /// not processed.
    ///
    /// ```
    /// let e = splio_client::Error::Api { status: 503, errors: vec![], message: None };
    /// assert!(e.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::OutcomeUnknown { exists, .. } => *exists == Some(false),
            other => other.retry_class() != RetryClass::Permanent,
        }
    }

    /// The wait the service asked for, if any.
    ///
    /// ```
    /// let e = splio_client::Error::RateLimited { retry_after: Some(std::time::Duration::from_secs(2)), message: String::new() };
    /// assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(2)));
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            Error::Transport(e) => e.retry_after(),
            _ => None,
        }
    }

    /// The HTTP status of a service error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Unauthorized { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            Error::Transport(e) => e.http_status(),
            _ => None,
        }
    }

    /// Whether this is a 404 (contact, field, … not found).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether the record exists although a create did not report creating it: the service said
    /// it already exists (create of an existing unique key), or the create's outcome was
    /// unknown and a lookup found the contact ([`Error::OutcomeUnknown`]). Either way, an update
    /// brings it to the values sent.
    pub fn is_already_exists(&self) -> bool {
        match self {
            Error::OutcomeUnknown { exists, .. } => *exists == Some(true),
            Error::Api {
                status: 400,
                errors,
                ..
            } => errors
                .iter()
                .any(|e| e.error_description.contains("already exist")),
            _ => false,
        }
    }

    pub(crate) fn invalid(
        record: impl Into<String>,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidInput {
            record: record.into(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    #[cfg(feature = "sftp")]
    pub(crate) fn sftp(
        action: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Sftp {
            action: action.into(),
            cause: source.into(),
        }
    }

    /// Whether the request was provably not processed by Splio: nothing was sent (a
    /// configuration error, input refused locally, the SFTP login or host key refused), the
    /// connection was never made, the credentials were refused, or Splio answered 429. Safe to
    /// resend whether or not the call is idempotent.
    ///
    /// ```
    /// let e = splio_client::Error::RateLimited { retry_after: None, message: String::new() };
    /// assert!(e.provably_not_processed());
    /// let e = splio_client::Error::Api { status: 500, errors: vec![], message: None };
    /// assert!(!e.provably_not_processed());
    /// ```
    pub fn provably_not_processed(&self) -> bool {
        match self {
            Error::Transport(e) => e.provably_not_processed(),
            Error::Config(_)
            | Error::InvalidInput { .. }
            | Error::RateLimited { .. }
            | Error::Unauthorized { .. }
            | Error::SftpAuth { .. }
            | Error::HostKeyRejected { .. } => true,
            Error::OutcomeUnknown { exists, .. } => *exists == Some(false),
            _ => false,
        }
    }

    /// The request was sent and no answer came back (timeout, cut connection, deadline,
    /// unreadable success body): it may have been processed.
    pub(crate) fn answer_lost(&self) -> bool {
        matches!(self, Error::Transport(e) if e.answer_lost())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

/// What became of one item of a batch call ([`crate::ContactOutcome`]) when it did not succeed.
///
/// ```
/// let e = splio_client::ItemError::Rejected { message: "Contact with unique key a@x.com already exists".into(), code: 400, error_key: None };
/// assert_eq!(e.to_string(), "rejected by Splio (400): Contact with unique key a@x.com already exists");
/// assert!(!e.is_retryable() && e.is_already_exists());
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ItemError {
    /// Splio answered and refused this item (its per-item code in a 207 answer, a blacklist
    /// failure, or the error of the single request made for it). Resending it unchanged will
    /// not help.
    #[error("rejected by Splio ({code}): {message}")]
    Rejected {
        /// Splio's description, verbatim.
        message: String,
        /// The per-item code (or the HTTP status of the item's own request), e.g. 400, 404.
        code: u16,
        /// Splio's error key when it gives one (blacklists: `touchpoint_already_exist`,
        /// `touchpoint_not_blacklisted`; a request's envelope: e.g. `list_id`).
        error_key: Option<String>,
    },
    /// Splio may have processed it (a create whose answer was lost, or an answer that does not
    /// say what became of it): look it up before resending.
    #[error("outcome unknown: {reason}")]
    OutcomeUnknown {
        /// Why the outcome is unknown.
        reason: String,
    },
    /// Not delivered: the request carrying it failed, or it was refused locally
    /// ([`Error::InvalidInput`]) and never sent. Shared by every item of that request.
    #[error(transparent)]
    Failed(std::sync::Arc<Error>),
}

impl ItemError {
    /// Whether resending the item may succeed: never for [`Rejected`](Self::Rejected) or
    /// [`OutcomeUnknown`](Self::OutcomeUnknown) (look it up first); the failed request's
    /// [`Error::is_retryable`] for [`Failed`](Self::Failed).
    ///
    /// ```
    /// let e = splio_client::ItemError::Failed(std::sync::Arc::new(splio_client::Error::Api { status: 503, errors: vec![], message: None }));
    /// assert!(e.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            ItemError::Failed(e) => e.is_retryable(),
            _ => false,
        }
    }

    /// Whether Splio provably did not process the item ([`Error::provably_not_processed`] of
    /// the failed request); false for the other variants.
    ///
    /// ```
    /// let e = splio_client::ItemError::OutcomeUnknown { reason: "connection cut".into() };
    /// assert!(!e.provably_not_processed());
    /// ```
    pub fn provably_not_processed(&self) -> bool {
        match self {
            ItemError::Failed(e) => e.provably_not_processed(),
            _ => false,
        }
    }

    /// Whether Splio may have processed the item (look it up before resending).
    ///
    /// ```
    /// assert!(splio_client::ItemError::OutcomeUnknown { reason: "cut".into() }.is_outcome_unknown());
    /// ```
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, ItemError::OutcomeUnknown { .. })
    }

    /// Whether the contact exists although its create did not report creating it: Splio
    /// refused the create because the key is taken (per-item 400 "already exists"), or the
    /// failed request says so ([`Error::is_already_exists`]).
    ///
    /// ```
    /// let e = splio_client::ItemError::Rejected { message: "Contact with unique key a@x.com already exists".into(), code: 400, error_key: None };
    /// assert!(e.is_already_exists());
    /// ```
    pub fn is_already_exists(&self) -> bool {
        match self {
            ItemError::Rejected {
                code: 400,
                message,
                error_key,
            } => {
                message.contains("already exist")
                    || error_key.as_deref() == Some("touchpoint_already_exist")
            }
            ItemError::Failed(e) => e.is_already_exists(),
            _ => false,
        }
    }

    /// Whether Splio answered that the contact does not exist (per-item 404, or a 404 to the
    /// item's own request).
    ///
    /// ```
    /// assert!(splio_client::ItemError::Rejected { message: "Contact not found".into(), code: 404, error_key: None }.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        match self {
            ItemError::Rejected { code, .. } => *code == 404,
            ItemError::Failed(e) => e.is_not_found(),
            ItemError::OutcomeUnknown { .. } => false,
        }
    }

    /// The error of a batch request, as the outcome of each item it carried: a lost answer of
    /// a non-idempotent request ([`Error::OutcomeUnknown`]) is
    /// [`OutcomeUnknown`](Self::OutcomeUnknown) (`request` names the request in the reason),
    /// the rest is [`Failed`](Self::Failed).
    pub(crate) fn from_request(request: &str, e: Error) -> ItemError {
        match e {
            Error::OutcomeUnknown { reason, .. } => ItemError::OutcomeUnknown {
                reason: format!("{request}: {reason}"),
            },
            e => ItemError::Failed(std::sync::Arc::new(e)),
        }
    }

    /// The error of a single call made for one item, as that item's outcome: a service
    /// error about this item (4xx other than 401, 408 and 429) is
    /// [`Rejected`](Self::Rejected), a lost answer of a non-idempotent call
    /// ([`Error::OutcomeUnknown`]) is [`OutcomeUnknown`](Self::OutcomeUnknown), the rest is
    /// [`Failed`](Self::Failed).
    pub(crate) fn from_call(e: Error) -> ItemError {
        match e {
            Error::Api {
                status,
                errors,
                message,
            } if (400..500).contains(&status) && !matches!(status, 401 | 408 | 429) => {
                ItemError::Rejected {
                    error_key: errors.first().map(|e| e.error_key.clone()),
                    message: describe(&errors, &message),
                    code: status,
                }
            }
            Error::OutcomeUnknown {
                exists: None | Some(true),
                ..
            } => ItemError::OutcomeUnknown {
                reason: e.to_string(),
            },
            e => ItemError::Failed(std::sync::Arc::new(e)),
        }
    }
}

impl From<marketing_sync_core::Error> for Error {
    /// A configuration failure stays [`Error::Config`] (one variant for it); the rest is
    /// [`Error::Transport`].
    fn from(e: marketing_sync_core::Error) -> Self {
        match e {
            marketing_sync_core::Error::Config(message) => Error::Config(message),
            other => Error::Transport(other),
        }
    }
}

/// How each failure bears on a retry (the decision itself is [`marketing_sync_core::should_retry`]).
impl Retryable for Error {
    fn retry_class(&self) -> RetryClass {
        match self {
            Error::Transport(e) => e.retry_class(),
            // Splio refused it unprocessed.
            Error::RateLimited { .. } => RetryClass::NotProcessed,
            Error::Api { status, .. } => RetryClass::of_status(*status),
            _ => RetryClass::Permanent,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        Error::retry_after(self)
    }
}

/// Map an error status and body (envelope, bare string, `{message}`, anything) to an [`Error`].
pub(crate) fn error_from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Body {
        Envelope { errors: Vec<ApiErrorItem> },
        Message { message: String },
        Bare(String),
    }
    let (errors, message) = match serde_json::from_slice::<Body>(body) {
        Ok(Body::Envelope { errors }) => (errors, None),
        Ok(Body::Message { message }) => (Vec::new(), Some(message)),
        Ok(Body::Bare(s)) => (Vec::new(), Some(s)),
        Err(_) if body.iter().all(u8::is_ascii_whitespace) => (Vec::new(), None),
        Err(_) if body.len() <= 64 * 1024 => {
            (Vec::new(), Some(String::from_utf8_lossy(body).into_owned()))
        }
        Err(_) => (Vec::new(), Some(marketing_sync_core::snippet(body))),
    };
    let text = || {
        message
            .clone()
            .or_else(|| errors.first().map(|e| e.error_description.clone()))
            .unwrap_or_default()
    };
    match status.as_u16() {
        401 => Error::Unauthorized {
            status: 401,
            message: text(),
        },
        429 => Error::RateLimited {
            retry_after: marketing_sync_core::retry_after(headers),
            message: text(),
        },
        code => Error::Api {
            status: code,
            errors,
            message,
        },
    }
}

/// Crate result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn error_bodies() {
        let h = HeaderMap::new();
        let e = error_from_response(
            StatusCode::NOT_FOUND,
            &h,
            br#"{"status":404,"errors":[{"error_key":"id","error":"wrong_value","error_description":"Record not found for id ee."}]}"#,
        );
        assert!(e.is_not_found());
        assert!(e.to_string().contains("Record not found for id ee."));
        let e = error_from_response(StatusCode::UNAUTHORIZED, &h, br#""Authentication failed.""#);
        assert!(
            matches!(e, Error::Unauthorized { ref message, .. } if message == "Authentication failed.")
        );
        let e = error_from_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &h,
            br#""Method Not Allowed.""#,
        );
        assert!(
            matches!(e, Error::Api { status: 405, message: Some(ref m), .. } if m == "Method Not Allowed.")
        );
        let mut h = HeaderMap::new();
        h.insert("ratelimit-reset", HeaderValue::from_static("7"));
        let e = error_from_response(
            StatusCode::TOO_MANY_REQUESTS,
            &h,
            br#"{"message":"API rate limit exceeded"}"#,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.to_string().contains("API rate limit exceeded"));
        let e = error_from_response(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"<html>oops</html>",
        );
        assert!(
            matches!(e, Error::Api { status: 502, message: Some(ref m), .. } if m.contains("oops"))
        );
    }

    #[test]
    fn a_single_call_error_becomes_the_item_outcome_it_means() {
        let refused = error_from_response(
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            br#"{"status":400,"errors":[{"error_key":"list_id","error":"wrong_value","error_description":"list 7 does not exist"}]}"#,
        );
        let e = ItemError::from_call(refused);
        assert!(
            matches!(&e, ItemError::Rejected { code: 400, message, error_key: Some(k) } if message.contains("list 7 does not exist") && k == "list_id"),
            "{e:?}"
        );
        assert!(!e.is_retryable());
        let e = ItemError::from_call(Error::Api {
            status: 503,
            errors: vec![],
            message: None,
        });
        assert!(matches!(e, ItemError::Failed(_)) && e.is_retryable());
        let e = ItemError::from_call(Error::RateLimited {
            retry_after: None,
            message: String::new(),
        });
        assert!(e.is_retryable() && e.provably_not_processed());
        let e = ItemError::from_call(Error::OutcomeUnknown {
            key: "a@x.com".into(),
            reason: "cut".into(),
            exists: None,
        });
        assert!(e.is_outcome_unknown() && !e.is_retryable());
        assert_eq!(
            e.to_string(),
            "outcome unknown: outcome unknown for a@x.com: cut"
        );
        let e = ItemError::from_call(Error::invalid("r", "email", "missing"));
        assert!(
            matches!(e, ItemError::Failed(_)) && e.provably_not_processed() && !e.is_retryable()
        );
    }

    #[test]
    fn io_and_sftp_errors_say_their_cause_in_the_message_only() {
        let io = Error::from(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such key file",
        ));
        assert_eq!(io.to_string(), "I/O error: no such key file");
        assert!(std::error::Error::source(&io).is_none());
        let sftp = Error::Sftp {
            action: "rename".into(),
            cause: "permission denied".into(),
        };
        assert_eq!(sftp.to_string(), "SFTP rename failed: permission denied");
        assert!(std::error::Error::source(&sftp).is_none());
    }

    proptest::proptest! {
        #[test]
        fn any_error_body_maps_without_panicking(status in 400u16..600, body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let e = error_from_response(StatusCode::from_u16(status).unwrap(), &HeaderMap::new(), &body);
            proptest::prop_assert_eq!(e.status(), Some(status));
        }
    }
}
