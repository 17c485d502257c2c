//! The toolkit's error type and the process exit codes every sync uses.

/// A boxed error from a source or sink (any client crate's error type).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a run could not start or could not finish.
///
/// Records that fail delivery are *not* errors: they are parked in the state store and counted in
/// the [`Summary`](crate::Summary).
///
/// ```
/// use sync_kit::{Error, ExitCode};
/// let e = Error::reading("Directo", "connection refused");
/// assert_eq!(e.to_string(), "reading Directo failed: connection refused");
/// assert_eq!(e.exit_code(), ExitCode::Failed);
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command line, config file, input file, environment variable or credentials (exit
    /// code 2).
    #[error("{0}")]
    Config(String),
    /// A service failed as a whole, named with what the sync was doing: `reading Directo
    /// failed: …`, `delivering to Splio failed: …` (exit code 1). A source failing mid-run
    /// aborts the run without moving the watermark.
    #[error("{doing} failed: {source}")]
    Service {
        /// What the sync was doing, naming the service: `reading Directo`.
        doing: String,
        /// The service's error.
        #[source]
        source: BoxError,
    },
    /// An anonymous source could not be read (a toolkit user's stream that did not name its
    /// service with [`Error::reading`]).
    #[error("reading the source failed: {0}")]
    Source(#[source] BoxError),
    /// The state (a SQLite file or a PostgreSQL database) could not be read or written.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

impl Error {
    /// Reading `service` failed (`reading Directo failed: …`).
    pub fn reading(service: &str, source: impl Into<BoxError>) -> Self {
        Error::Service {
            doing: format!("reading {service}"),
            source: source.into(),
        }
    }

    /// Delivering to `service` failed as a whole (`delivering to Splio failed: …`): connecting,
    /// or a read the delivery needs.
    pub fn delivering(service: &str, source: impl Into<BoxError>) -> Self {
        Error::Service {
            doing: format!("delivering to {service}"),
            source: source.into(),
        }
    }

    /// A one-shot call to `service` failed (`calling the messaging API failed: …`).
    pub fn calling(service: &str, source: impl Into<BoxError>) -> Self {
        Error::Service {
            doing: format!("calling {service}"),
            source: source.into(),
        }
    }

    /// A source stream's error as the run reports it: the [`Error`] a sync put in the stream
    /// (naming its service) as it is, anything else as [`Error::Source`].
    pub fn from_source(e: BoxError) -> Self {
        match e.downcast::<Error>() {
            Ok(e) => *e,
            Err(e) => Error::Source(e),
        }
    }

    /// The process exit code for this error: 2 for configuration errors, 1 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Config(_) => ExitCode::Usage,
            Error::Service { .. } | Error::Source(_) | Error::State(_) => ExitCode::Failed,
        }
    }

    /// The error and all its sources on one line (`a: b: c`, see [`error_chain`]), for the
    /// final message.
    pub fn one_line(&self) -> String {
        error_chain(self)
    }
}

/// Any error with its sources, on one line: each source's text that the text so far does not
/// already contain is added after `: ` (a parent that quotes its source is not repeated), and
/// line breaks become spaces.
///
/// ```
/// let io = std::io::Error::other("connection reset");
/// let e = sync_kit::Error::reading("Directo", io);
/// assert_eq!(sync_kit::error_chain(&e), "reading Directo failed: connection reset");
/// ```
pub fn error_chain(err: &(dyn std::error::Error + '_)) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        let text = err.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = err.source();
    }
    line.replace('\n', " ")
}

/// The exit codes of every sync binary. In JSON (the `--json` summary) an exit code is its
/// number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: every record was delivered (or filtered or unchanged).
    Success = 0,
    /// 1: some records failed and were parked (replay them with `--replay-failed`), or the run was
    /// aborted (source unreachable, state file unwritable).
    Failed = 1,
    /// 2: usage or configuration error (bad flag, config file, input file, missing or rejected
    /// credentials).
    Usage = 2,
    /// 3: stopped by SIGINT or SIGTERM before the end; what was delivered is recorded, and the
    /// next run resumes the rest.
    Interrupted = 3,
}

impl ExitCode {
    /// The code's name: `success`, `failed`, `usage` or `interrupted`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExitCode::Success => "success",
            ExitCode::Failed => "failed",
            ExitCode::Usage => "usage",
            ExitCode::Interrupted => "interrupted",
        }
    }
}

impl serde::Serialize for ExitCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(*self as u8)
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// The error of a run refused because `other` runs the job (exit 2); public as
/// `sync_kit::cli::already_running`.
pub(crate) fn already_running(job: &str, other: &crate::state::RunRecord) -> Error {
    Error::Config(format!(
        "job {job} is already running ({}, started {}); two runs of one job must not overlap",
        other.process.as_deref().unwrap_or("another process"),
        other.started_at
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_error_keeps_the_service_a_sync_named() {
        let named: BoxError = Box::new(Error::reading("Directo", "HTTP 500"));
        assert_eq!(
            Error::from_source(named).one_line(),
            "reading Directo failed: HTTP 500"
        );
        let anonymous: BoxError = "HTTP 500".into();
        assert_eq!(
            Error::from_source(anonymous).one_line(),
            "reading the source failed: HTTP 500"
        );
        assert_eq!(serde_json::json!(ExitCode::Usage), serde_json::json!(2));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Chained {
        text: &'static str,
        #[source]
        source: Option<Box<Chained>>,
    }

    fn chain(texts: &[&'static str]) -> Chained {
        let last = texts.iter().rev().fold(None, |source, text| {
            Some(Chained {
                text,
                source: source.map(Box::new),
            })
        });
        last.unwrap()
    }

    #[test]
    fn error_chain_has_every_new_source_once_on_one_line() {
        let e = chain(&["sending failed", "timed out", "line one\nline two"]);
        assert_eq!(
            error_chain(&e),
            "sending failed: timed out: line one line two"
        );
        let e = chain(&["sending failed: timed out", "timed out"]);
        assert_eq!(error_chain(&e), "sending failed: timed out");
    }
}
