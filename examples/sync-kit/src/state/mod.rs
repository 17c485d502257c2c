//! The state store: one SQLite file per deployment, shared by every job that runs there.
//!
//! Tables (all keyed by job name, so several syncs can share one file):
//! - `watermarks`: how far each job has read its source (a civil date-time of the source system);
//! - `snapshots`: the last payload delivered per key, for "send only what changed";
//! - `failed`: records that still failed after every retry (the "incomplete executions"), with the
//!   payload to replay, the last error and the attempt count;
//! - `runs`: the run log. A row is written when a run starts (`running`, with where it reads
//!   from and which process runs it) and ends as `completed`, `failed` or `interrupted`, with its
//!   counts and full summary. A `running` row whose process is gone (killed) reads as
//!   `interrupted` (see [`crate::process`]); the next run marks it so;
//! - `report_rows`: how many rows of each delivery report a job has already read (Splio Datahub
//!   reports, which can grow during the day);
//! - `contributions`: amounts that parts of source records contribute to a target (a receipt
//!   row's payment of an invoice), replaced per source record.
//!
//! The schema has a version (`PRAGMA user_version`, [`SCHEMA_VERSION`]); [`StateStore::open`]
//! migrates older files in place, and [`StateStore::open_read_only`] reads them as they are.
//!
//! Every method takes `&self` (a mutex guards the connection), so the store can be shared by the
//! pipeline stages of one run.

/// How many recent runs `--status` lists and the metrics read.
pub(crate) const RECENT_RUNS: usize = 10;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags};

use crate::process::ProcessId;

mod contributions;
mod parked;
pub mod pg;
mod runs;
mod schema;
mod snapshots;
mod watermark;

pub use parked::FailedRecord;
pub use runs::{Begun, RunId, RunRecord, SkippedInRun};
pub use schema::SCHEMA_VERSION;

use schema::{migrate, present_as_current};

/// Errors of the state store, whichever backend holds it.
///
/// ```
/// use sync_kit::state::StateError;
/// let err = StateError::NewerSchema { found: 9, supported: 1 };
/// assert!(err.to_string().contains("schema version 9"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The SQLite state file could not be read or written.
    #[error("state file: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The PostgreSQL state database could not be reached, read or written (the password is
    /// never shown).
    #[error(transparent)]
    Postgres(#[from] pg::PgError),
    /// The state file's schema is newer than this program's: a newer build wrote it.
    #[error(
        "the state file has schema version {found}, newer than this program's ({supported}): \
         run a newer build"
    )]
    NewerSchema {
        /// The version found in the file.
        found: i64,
        /// The newest version this program knows ([`SCHEMA_VERSION`]).
        supported: i64,
    },
    /// This run no longer holds its job's lease (PostgreSQL backend): its heartbeat went
    /// stale (the process was paused, or the database unreachable, for longer than
    /// [`STALE_AFTER`](crate::process::STALE_AFTER)) and another run took the job over. The
    /// run stops at the heartbeat that finds out, so two runs never go on side by side; what
    /// it delivered before is recorded, and what it did not record is read again by the runs
    /// after it.
    #[error(
        "this run of job {job:?} lost its lease: its heartbeat went stale and another run \
         ({holder}) took the job over; this run stops"
    )]
    LeaseLost {
        /// The job.
        job: String,
        /// The run that holds the lease now, as `pid P on HOST`, or `nobody` when it was
        /// released.
        holder: String,
    },
}

/// Where the state lives.
enum Backend {
    /// A SQLite file (or memory).
    Sqlite(Mutex<Connection>),
    /// A PostgreSQL database (`--state postgres://…`).
    Postgres(Box<Mutex<pg::PgState>>),
}

/// The state of all jobs in one SQLite file or one PostgreSQL database: the same methods and
/// guarantees on both.
pub struct StateStore {
    backend: Backend,
    read_only: bool,
    process: ProcessId,
    /// The run row [`StateStore::claim_run`] wrote and no run has adopted yet: `(job, row)`.
    claimed: Mutex<Option<(String, RunId)>>,
    /// Called before each batch's outcomes are recorded (see
    /// [`StateStore::set_before_record`]).
    before_record: Mutex<Option<BeforeRecord>>,
}

type BeforeRecord = Box<dyn Fn() + Send + Sync>;

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

pub(crate) fn now() -> String {
    jiff::Timestamp::now().to_string()
}

impl StateStore {
    /// Opens (creating if needed) the state file at `path`, migrating an older schema.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        migrate(&mut conn)?;
        Ok(Self::new(conn, false))
    }

    /// An empty store in memory (sandbox runs, tests).
    pub fn in_memory() -> Result<Self, StateError> {
        let mut conn = Connection::open_in_memory()?;
        migrate(&mut conn)?;
        Ok(Self::new(conn, false))
    }

    /// Opens the PostgreSQL database at `url` (connecting within its connect timeout, migrating
    /// its schema, a newer one refused).
    ///
    /// ```no_run
    /// use sync_kit::state::pg::PgUrl;
    /// let url = PgUrl::parse("postgres://sync@db.example.com/sync?sslmode=verify-full").unwrap();
    /// let state = sync_kit::StateStore::open_postgres(&url, false).unwrap();
    /// assert_eq!(state.watermark("job").unwrap(), None);
    /// ```
    ///
    /// With `read_only` (dry run, `--status`) every write method is a no-op; the schema is
    /// still created or migrated, as the run log of the database is shared by every host.
    pub fn open_postgres(url: &pg::PgUrl, read_only: bool) -> Result<Self, StateError> {
        let state = pg::PgState::connect(url)?;
        Ok(Self::with_backend(
            Backend::Postgres(Box::new(Mutex::new(state))),
            read_only,
        ))
    }

    /// Which backend holds the state: `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Opens the file for reading only, for `--dry-run` and `--status`: every write method
    /// becomes a no-op, a file that does not exist is not created (an empty in-memory store
    /// stands in for it), and an older schema is read as it is (not migrated).
    pub fn open_read_only(path: &Path) -> Result<Self, StateError> {
        let conn = if path.exists() {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            present_as_current(&conn)?;
            conn
        } else {
            let mut conn = Connection::open_in_memory()?;
            migrate(&mut conn)?;
            conn
        };
        Ok(Self::new(conn, true))
    }

    fn new(conn: Connection, read_only: bool) -> Self {
        Self::with_backend(Backend::Sqlite(Mutex::new(conn)), read_only)
    }

    fn with_backend(backend: Backend, read_only: bool) -> Self {
        Self {
            backend,
            read_only,
            process: ProcessId::current(),
            claimed: Mutex::new(None),
            before_record: Mutex::new(None),
        }
    }

    /// Whether writes are ignored (dry run).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Calls `hook` before each batch's outcomes are recorded
    /// ([`record_outcomes`](Self::record_outcomes)), so what the state file says was delivered
    /// is never ahead of something the hook keeps: a sandbox saves its fakes there, and a kill
    /// between the two leaves the fakes ahead (the next run re-sends, idempotently), never
    /// behind.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// let state = sync_kit::StateStore::in_memory().unwrap();
    /// let calls = Arc::new(AtomicU32::new(0));
    /// let seen = Arc::clone(&calls);
    /// state.set_before_record(move || { seen.fetch_add(1, Ordering::Relaxed); });
    /// state.record_outcomes("job", &[], &[]).unwrap();
    /// assert_eq!(calls.load(Ordering::Relaxed), 1);
    /// ```
    pub fn set_before_record(&self, hook: impl Fn() + Send + Sync + 'static) {
        *self
            .before_record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Box::new(hook));
    }

    fn run_before_record(&self) {
        let hook = self
            .before_record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(hook) = hook.as_ref() {
            hook();
        }
    }

    /// The SQLite connection; every method asks [`pg`](Self::pg) first.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        match &self.backend {
            Backend::Sqlite(conn) => conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
            Backend::Postgres(_) => unreachable!("PostgreSQL stores are routed by `pg()` first"),
        }
    }

    /// The PostgreSQL connection, if the state lives there.
    fn pg(&self) -> Option<MutexGuard<'_, pg::PgState>> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(state) => Some(
                state
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::Item;

    fn item(key: &str, name: &str) -> Item {
        let mut fields = Map::new();
        fields.insert("email".into(), key.into());
        fields.insert("name".into(), name.into());
        Item {
            key: key.into(),
            fields,
        }
    }

    #[test]
    fn read_only_store_ignores_writes_and_creates_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = StateStore::open_read_only(&path).unwrap();
        store
            .set_watermark("j", "2024-01-01T00:00".parse().unwrap())
            .unwrap();
        store
            .record_outcomes("j", &[item("a@example.com", "A")], &[])
            .unwrap();
        assert_eq!(store.watermark("j").unwrap(), None);
        assert!(!path.exists());

        let writable = StateStore::open(&path).unwrap();
        writable
            .set_watermark("j", "2024-01-01T00:00".parse().unwrap())
            .unwrap();
        drop(writable);
        let ro = StateStore::open_read_only(&path).unwrap();
        assert!(ro.watermark("j").unwrap().is_some());
        ro.set_watermark("j", "2030-01-01T00:00".parse().unwrap())
            .unwrap();
        assert_eq!(
            ro.watermark("j").unwrap(),
            Some("2024-01-01T00:00".parse().unwrap())
        );
    }
}
