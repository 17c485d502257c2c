//! The toolkit's error type and the process exit codes every sync uses.

/// A boxed error from a source or sink (any client crate's error type).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a run could not start or could not finish.
///
/// Records that fail delivery are *not* errors: they are parked in the state store and counted in
/// the [`Summary`](crate::Summary).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command line, config file, environment variable or credentials (exit code 2).
    #[error("{0}")]
    Config(String),
    /// The source could not be read (the run is aborted; the watermark does not move).
    #[error("reading the source failed: {0}")]
    Source(#[source] BoxError),
    /// The state file could not be read or written.
    #[error("state file: {0}")]
    State(#[from] rusqlite::Error),
}

impl Error {
    /// The process exit code for this error: 2 for configuration errors, 1 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Config(_) => ExitCode::Usage,
            Error::Source(_) | Error::State(_) => ExitCode::Failed,
        }
    }

    /// The error and all its sources on one line (`a: b: c`), for the final message.
    pub fn one_line(&self) -> String {
        let mut line = self.to_string();
        let mut source = std::error::Error::source(self);
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
}

/// The exit codes of every sync binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitCode {
    /// 0: every record was delivered (or filtered or unchanged).
    Success = 0,
    /// 1: some records failed and were parked (replay them with `--replay-failed`), or the run was
    /// aborted (source unreachable, state file unwritable).
    Failed = 1,
    /// 2: usage or configuration error (bad flag, config file, missing or rejected credentials).
    Usage = 2,
    /// 3: stopped by SIGINT or SIGTERM before the end; what was delivered is recorded, and the
    /// next run resumes the rest.
    Interrupted = 3,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}
