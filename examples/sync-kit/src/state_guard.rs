//! A run that stops on a usage or configuration error before it sends anything leaves no state
//! file behind: a file this process created is removed again when the process ends with exit
//! code 2 and nothing was stored in it (no watermark, snapshot, parked record, report position or
//! kept receipt, and no run in the log that sent a request), and with it the sandbox's file
//! beside it (`FILE.sandbox.json`) if this process created that too. A run that reached a
//! service (a refused token, a field the destination lacks) stays in the run log, with its
//! error, whatever its exit code: `--status` shows it.
//!
//! ```
//! use sync_kit::state_guard::StateGuard;
//! use sync_kit::{CommonArgs, ExitCode};
//! # use clap::Parser;
//! # #[derive(Parser)] struct Cli { #[command(flatten)] common: CommonArgs }
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("state.db");
//! let args = Cli::parse_from(["x", "--state", path.to_str().unwrap()]).common;
//! let guard = StateGuard::new(&args);
//! let state = args.open_state().unwrap();
//! assert!(path.exists());
//! assert_eq!(guard.finish(state, ExitCode::Usage), ExitCode::Usage);
//! assert!(!path.exists());
//! ```

use std::path::PathBuf;

use crate::{CommonArgs, ExitCode, StateStore};

/// Created before the state is opened; [`finish`](Self::finish) at the end of the process.
#[derive(Debug)]
pub struct StateGuard {
    created: Option<PathBuf>,
    /// Whether the sandbox file beside the state file existed before (then it is kept).
    sandbox_existed: bool,
}

/// `FILE.sandbox.json` beside the state file `FILE`.
fn sandbox_file(state: &std::path::Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".sandbox.json");
    PathBuf::from(name)
}

impl StateGuard {
    /// Remembers the state file `args` name if it does not exist yet and the run may create it
    /// (not a dry run, which never creates one).
    pub fn new(args: &CommonArgs) -> Self {
        let created = args.state_path().filter(|path| {
            !args.dry_run
                && !path.exists()
                && !crate::state::pg::PgUrl::is_url(&path.to_string_lossy())
        });
        let sandbox_existed = created
            .as_deref()
            .is_some_and(|path| sandbox_file(path).exists());
        StateGuard {
            created,
            sandbox_existed,
        }
    }

    /// Closes `state`; when the process ends with a usage error and the file it created holds
    /// nothing, removes the file (and its SQLite side files). Returns `code`.
    pub fn finish(self, state: StateStore, code: ExitCode) -> ExitCode {
        drop(state);
        if let Some(path) = self.created
            && code == ExitCode::Usage
            && holds_nothing(&path)
        {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                let _ = std::fs::remove_file(file);
            }
            if !self.sandbox_existed {
                let _ = std::fs::remove_file(sandbox_file(&path));
            }
        }
        code
    }
}

/// Whether the state file at `path` stores nothing a later run would need.
fn holds_nothing(path: &std::path::Path) -> bool {
    let Ok(conn) = rusqlite::Connection::open(path) else {
        return false;
    };
    conn.query_row(
        "SELECT (SELECT count(*) FROM watermarks) + (SELECT count(*) FROM snapshots)
              + (SELECT count(*) FROM failed) + (SELECT count(*) FROM report_rows)
              + (SELECT count(*) FROM contributions)
              + (SELECT count(*) FROM runs WHERE requests > 0)",
        [],
        |row| row.get::<_, i64>(0),
    )
    .is_ok_and(|n| n == 0)
}
