//! The crate's one error type.

use std::time::Duration;

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
    /// The HTTP request failed in transport (DNS, connect, TLS, reset). `connect` is true when the
    /// request provably never reached the service.
    #[error("transport error (connect: {connect})")]
    Transport {
        /// Whether the failure happened while connecting (the request was not sent).
        connect: bool,
        /// The underlying error, with its full source chain.
        #[source]
        source: reqwest::Error,
    },
    /// The request timed out.
    #[error("request timed out")]
    Timeout(#[source] reqwest::Error),
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
    /// A response body could not be decoded.
    #[error("could not decode {expected} at `{path}`: {message}; body starts with: {snippet}")]
    Decode {
        /// What we expected to read.
        expected: &'static str,
        /// JSON path where decoding failed.
        path: String,
        /// The decoder's message.
        message: String,
        /// The beginning of the body.
        snippet: String,
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
    /// A per-item failure inside a 207 multi-status answer.
    #[error("Splio rejected item {key} with code {code}: {description}")]
    Item {
        /// The item's key (`contact_id`, touchpoint).
        key: String,
        /// The per-item code (e.g. 400, 404).
        code: u16,
        /// The per-item description, verbatim.
        description: String,
    },
    /// Splio's 207 answer gave no outcome for this item (no item named it, and its position
    /// could not stand in: the answer's item count differed). A create may have happened, so
    /// the client looked the contact up: `exists` is what that lookup found (`None` when it
    /// failed too). [`is_already_exists`](Error::is_already_exists) is true when the contact is
    /// there (update it to be sure it holds your attributes); otherwise the item is retryable.
    #[error("Splio's answer gave no outcome for item {key}; {}", match exists {
        Some(true) => "the contact exists now",
        Some(false) => "the contact does not exist (not created)",
        None => "looking it up failed too",
    })]
    OutcomeUnknown {
        /// The item's key.
        key: String,
        /// What a lookup found afterwards.
        exists: Option<bool>,
    },
    /// SFTP/SSH failure (connect, protocol, remote file operation).
    #[error("SFTP {action} failed")]
    Sftp {
        /// What we were doing.
        action: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
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
    /// Local I/O (reading a key file, known_hosts, a CSV file).
    #[error("I/O error")]
    Io(#[from] std::io::Error),
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
    /// Whether a retry may succeed (transport failures, timeouts, 429, 5xx).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Timeout(_) | Error::RateLimited { .. } => true,
            Error::Api { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            // An item of a request that failed as a whole (code 0: no HTTP answer), or an item
            // Splio itself answered with a transient code.
            Error::Item { code, .. } => matches!(code, 0 | 429 | 500 | 502 | 503 | 504),
            Error::OutcomeUnknown { exists, .. } => *exists != Some(true),
            _ => false,
        }
    }

    /// The wait the service asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status (or per-item code) of a service error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Unauthorized { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            Error::Item { code, .. } => Some(*code),
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
            Error::Item {
                code: 400,
                description,
                ..
            } => description.contains("already exist"),
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

    pub(crate) fn sftp(
        action: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Sftp {
            action: action.into(),
            source: source.into(),
        }
    }
}

/// Crate result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
