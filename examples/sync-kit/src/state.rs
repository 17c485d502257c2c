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

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use jiff::civil::DateTime;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Item;
use crate::process::{Liveness, ProcessId, STALE_AFTER};
use crate::summary::{Mode, RunStatus, Summary};

/// Errors of the state store (SQLite).
pub type StateError = rusqlite::Error;

/// A record parked after its last failed attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedRecord {
    /// The record's key (for Smaily: the email address).
    pub key: String,
    /// The payload that failed, replayed as-is by `--replay-failed`.
    pub fields: Map<String, Value>,
    /// The last error, verbatim.
    pub error: String,
    /// How many delivery attempts were made in total, over all runs.
    pub attempts: u32,
    /// When the record first failed (UTC, RFC 3339).
    pub first_failed_at: String,
    /// When the record last failed (UTC, RFC 3339).
    pub last_failed_at: String,
}

impl FailedRecord {
    /// The payload as an [`Item`], ready to send again.
    pub fn item(&self) -> Item {
        Item {
            key: self.key.clone(),
            fields: self.fields.clone(),
        }
    }
}

/// A run's row in the run log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunId(i64);

/// What [`StateStore::begin_run`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Begun {
    /// The run's row was written.
    Started(RunId),
    /// Another process is still running the job: nothing was written.
    AlreadyRunning(Box<RunRecord>),
    /// The store is read-only (dry run): nothing was written.
    ReadOnly,
}

/// One run of the run log, as `--status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// The row's id (runs are numbered in the order they started).
    pub id: i64,
    /// `run`, `replay_failed` or `discard_failed`.
    pub mode: String,
    /// How it ended; `running` only while its process is alive (a row whose process is gone
    /// reads as `interrupted`).
    pub status: RunStatus,
    /// When it started (UTC, RFC 3339).
    pub started_at: String,
    /// When it ended (UTC); absent while running and for a run whose process was killed.
    pub finished_at: Option<String>,
    /// How long it took (seconds), when it ended.
    pub elapsed_secs: Option<f64>,
    /// Where it read its source from (incremental sources).
    pub read_from: Option<String>,
    /// Source records read.
    pub read: u64,
    /// Records filtered.
    pub filtered: u64,
    /// Records delivered.
    pub delivered: u64,
    /// Records parked as failed.
    pub failed: u64,
    /// Records skipped.
    pub skipped: u64,
    /// Delivery requests.
    pub requests: u64,
    /// Why it failed or was interrupted.
    pub aborted: Option<String>,
    /// The process that ran it: pid and host name.
    pub process: Option<String>,
    /// The id of the later completed run that read everything this unfinished run had started
    /// (its range is settled), if any.
    pub resumed_by: Option<i64>,
}

/// The SQLite-backed state of all jobs in one file.
pub struct StateStore {
    conn: Mutex<Connection>,
    read_only: bool,
    process: ProcessId,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

/// The schema version this code writes (`PRAGMA user_version`). Version 0 is the schema before
/// run rows were written at the start of a run; [`StateStore::open`] migrates it.
pub const SCHEMA_VERSION: i64 = 1;

/// The tables of [`SCHEMA_VERSION`], by name.
const TABLES: &[(&str, &str)] = &[
    (
        "watermarks",
        "CREATE TABLE IF NOT EXISTS watermarks (
            job TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )",
    ),
    (
        "snapshots",
        "CREATE TABLE IF NOT EXISTS snapshots (
            job TEXT NOT NULL,
            key TEXT NOT NULL,
            payload TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            PRIMARY KEY (job, key)
        )",
    ),
    (
        "failed",
        "CREATE TABLE IF NOT EXISTS failed (
            job TEXT NOT NULL,
            key TEXT NOT NULL,
            payload TEXT NOT NULL,
            error TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            first_failed_at TEXT NOT NULL,
            last_failed_at TEXT NOT NULL,
            PRIMARY KEY (job, key)
        )",
    ),
    ("runs", RUNS),
    (
        "report_rows",
        "CREATE TABLE IF NOT EXISTS report_rows (
            job TEXT NOT NULL,
            name TEXT NOT NULL,
            rows INTEGER NOT NULL,
            read_at TEXT NOT NULL,
            PRIMARY KEY (job, name)
        )",
    ),
    (
        "contributions",
        "CREATE TABLE IF NOT EXISTS contributions (
            job TEXT NOT NULL,
            source TEXT NOT NULL,
            part TEXT NOT NULL,
            target TEXT NOT NULL,
            amount TEXT NOT NULL,
            source_ts TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (job, source, part)
        )",
    ),
];

const RUNS: &str = "CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    heartbeat_at TEXT,
    read_from TEXT,
    pid INTEGER,
    host TEXT,
    process_started TEXT,
    read INTEGER NOT NULL DEFAULT 0,
    filtered INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    aborted TEXT,
    settled_by INTEGER,
    summary TEXT
)";

const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job, id);
CREATE INDEX IF NOT EXISTS contributions_by_target ON contributions (job, target);
";

/// A version-0 `runs` table (`{table}`) read in the version-1 shape: old rows are `completed`,
/// or `failed` when they were aborted; their read-from point is in their summary.
const RUNS_V0_AS_V1: &str = "SELECT id, job, mode,
        CASE WHEN aborted IS NULL THEN 'completed' ELSE 'failed' END AS status,
        started_at, finished_at, NULL AS heartbeat_at,
        json_extract(summary, '$.read_from') AS read_from,
        NULL AS pid, NULL AS host, NULL AS process_started,
        read, filtered, delivered, failed, skipped, requests, aborted,
        NULL AS settled_by, summary
    FROM {table}";

/// The columns of a run row, in the order [`RunRecord`]s are read.
const RUN_COLUMNS: &str = "id, mode, status, started_at, finished_at, read_from, read, filtered,
    delivered, failed, skipped, requests, aborted, pid, host, process_started, heartbeat_at,
    settled_by, json_extract(summary, '$.elapsed_secs')";

/// Parks a record (job, key, payload, error, attempts, time); a record parked again keeps its
/// first time and adds up its attempts.
const PARK: &str =
    "INSERT INTO failed (job, key, payload, error, attempts, first_failed_at, last_failed_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
    ON CONFLICT (job, key) DO UPDATE SET payload = excluded.payload, error = excluded.error,
        attempts = failed.attempts + excluded.attempts, last_failed_at = excluded.last_failed_at";

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn user_version(conn: &Connection) -> Result<i64, StateError> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Whether `table` in `schema` has `column`.
fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool, StateError> {
    let mut stmt = conn.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?;
    stmt.exists(params![table, column])
}

fn newer_schema(version: i64) -> StateError {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
        Some(format!(
            "the state file has schema version {version}, newer than this program's \
             ({SCHEMA_VERSION}): run a newer build"
        )),
    )
}

/// Brings a writable connection's schema to [`SCHEMA_VERSION`], in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), StateError> {
    let version = user_version(conn)?;
    if version > SCHEMA_VERSION {
        return Err(newer_schema(version));
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction()?;
    if has_column(&tx, "runs", "id")? && !has_column(&tx, "runs", "status")? {
        tx.execute_batch("ALTER TABLE runs RENAME TO runs_v0;")?;
        tx.execute_batch(RUNS)?;
        tx.execute(
            &format!(
                "INSERT INTO runs (id, job, mode, status, started_at, finished_at, heartbeat_at,
                    read_from, pid, host, process_started, read, filtered, delivered, failed,
                    skipped, requests, aborted, settled_by, summary) {}",
                RUNS_V0_AS_V1.replace("{table}", "runs_v0")
            ),
            [],
        )?;
        tx.execute_batch("DROP TABLE runs_v0;")?;
    }
    for (_, create) in TABLES {
        tx.execute_batch(create)?;
    }
    tx.execute_batch(INDEXES)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()
}

/// Makes a read-only connection to an older file read like [`SCHEMA_VERSION`], without writing
/// to it: a missing table is an empty temporary one, and a version-0 `runs` table is seen through
/// a temporary view in the new shape (temporary objects live in the connection's own temp
/// schema, which shadows the file's).
fn present_as_current(conn: &Connection) -> Result<(), StateError> {
    let version = user_version(conn)?;
    if version > SCHEMA_VERSION {
        return Err(newer_schema(version));
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    if has_column(conn, "runs", "id")? && !has_column(conn, "runs", "status")? {
        conn.execute_batch(&format!(
            "CREATE TEMP VIEW runs AS {}",
            RUNS_V0_AS_V1.replace("{table}", "main.runs")
        ))?;
    }
    for (name, create) in TABLES {
        let exists: bool = conn
            .prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?1")?
            .exists([name])?
            || conn
                .prepare("SELECT 1 FROM sqlite_temp_master WHERE name = ?1")?
                .exists([name])?;
        if !exists {
            conn.execute_batch(&create.replacen("CREATE TABLE", "CREATE TEMP TABLE", 1))?;
        }
    }
    Ok(())
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
        Self {
            conn: Mutex::new(conn),
            read_only,
            process: ProcessId::current(),
        }
    }

    /// Whether writes are ignored (dry run).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The job's watermark, if it ever completed a run.
    pub fn watermark(&self, job: &str) -> Result<Option<DateTime>, StateError> {
        let value: Option<String> = self
            .conn()
            .query_row(
                "SELECT value FROM watermarks WHERE job = ?1",
                [job],
                |row| row.get(0),
            )
            .optional()?;
        Ok(value.and_then(|v| v.parse().ok()))
    }

    /// When the job's watermark was last stored (UTC, RFC 3339).
    pub fn watermark_updated_at(&self, job: &str) -> Result<Option<String>, StateError> {
        self.conn()
            .query_row(
                "SELECT updated_at FROM watermarks WHERE job = ?1",
                [job],
                |row| row.get(0),
            )
            .optional()
    }
    /// Stores the job's watermark.
    pub fn set_watermark(&self, job: &str, value: DateTime) -> Result<(), StateError> {
        if self.read_only {
            return Ok(());
        }
        self.conn().execute(
            "INSERT INTO watermarks (job, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (job) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![job, value.to_string(), now()],
        )?;
        Ok(())
    }

    /// The payload last delivered for `key`, if any.
    pub fn snapshot(&self, job: &str, key: &str) -> Result<Option<Map<String, Value>>, StateError> {
        let payload: Option<String> = self
            .conn()
            .prepare_cached("SELECT payload FROM snapshots WHERE job = ?1 AND key = ?2")?
            .query_row([job, key], |row| row.get(0))
            .optional()?;
        Ok(payload.and_then(|p| serde_json::from_str(&p).ok()))
    }

    /// The payloads last delivered for `keys`, in their order, read in one transaction (one
    /// lock of the file instead of one per key).
    pub fn snapshots(
        &self,
        job: &str,
        keys: &[&str],
    ) -> Result<Vec<Option<Map<String, Value>>>, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut out = Vec::with_capacity(keys.len());
        {
            let mut stmt =
                tx.prepare_cached("SELECT payload FROM snapshots WHERE job = ?1 AND key = ?2")?;
            for key in keys {
                let payload: Option<String> =
                    stmt.query_row([job, key], |row| row.get(0)).optional()?;
                out.push(payload.and_then(|p| serde_json::from_str(&p).ok()));
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Records a batch's outcomes in one transaction: delivered items get their snapshot stored and
    /// any parked failure for their key cleared; failed items are parked (or their attempt count and
    /// error updated).
    pub fn record_outcomes(
        &self,
        job: &str,
        delivered: &[Item],
        failed: &[(Item, String, u32)],
    ) -> Result<(), StateError> {
        if self.read_only {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let at = now();
        {
            let mut snap = tx.prepare_cached(
                "INSERT INTO snapshots (job, key, payload, sent_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (job, key) DO UPDATE SET payload = excluded.payload, sent_at = excluded.sent_at",
            )?;
            let mut unpark = tx.prepare_cached("DELETE FROM failed WHERE job = ?1 AND key = ?2")?;
            for item in delivered {
                let payload = Value::Object(item.fields.clone()).to_string();
                snap.execute(params![job, item.key, payload, at])?;
                unpark.execute(params![job, item.key])?;
            }
            let mut park = tx.prepare_cached(PARK)?;
            for (item, error, attempts) in failed {
                let payload = Value::Object(item.fields.clone()).to_string();
                park.execute(params![job, item.key, payload, error, attempts, at])?;
            }
        }
        tx.commit()
    }

    /// The job's parked failures, oldest first.
    pub fn failed(&self, job: &str) -> Result<Vec<FailedRecord>, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT key, payload, error, attempts, first_failed_at, last_failed_at
             FROM failed WHERE job = ?1 ORDER BY first_failed_at, key",
        )?;
        let rows = stmt.query_map([job], |row| {
            let payload: String = row.get(1)?;
            Ok(FailedRecord {
                key: row.get(0)?,
                fields: serde_json::from_str(&payload).unwrap_or_default(),
                error: row.get(2)?,
                attempts: row.get(3)?,
                first_failed_at: row.get(4)?,
                last_failed_at: row.get(5)?,
            })
        })?;
        rows.collect()
    }

    /// How many records of the job are parked as failed.
    pub fn failed_count(&self, job: &str) -> Result<u64, StateError> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM failed WHERE job = ?1", [job], |row| {
                row.get::<_, i64>(0).map(|n| n as u64)
            })
    }

    /// How many snapshots (keys delivered at least once) the job has.
    pub fn snapshot_count(&self, job: &str) -> Result<u64, StateError> {
        self.conn().query_row(
            "SELECT COUNT(*) FROM snapshots WHERE job = ?1",
            [job],
            |row| row.get::<_, i64>(0).map(|n| n as u64),
        )
    }

    /// Turns a delivered record into a parked failure, when the destination reports later that
    /// it refused it: the last delivered payload is parked with `error` (for `--replay-failed`)
    /// and its snapshot removed (so a normal run sends it again in full). Returns whether the key
    /// had a snapshot; without one nothing changes.
    pub fn park_delivered(&self, job: &str, key: &str, error: &str) -> Result<bool, StateError> {
        if self.read_only {
            return Ok(false);
        }
        let Some(fields) = self.snapshot(job, key)? else {
            return Ok(false);
        };
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM snapshots WHERE job = ?1 AND key = ?2",
            params![job, key],
        )?;
        let payload = Value::Object(fields).to_string();
        tx.execute(PARK, params![job, key, payload, error, 1, now()])?;
        tx.commit()?;
        Ok(true)
    }

    /// How many rows of report `name` the job has already read.
    pub fn report_rows_read(&self, job: &str, name: &str) -> Result<u64, StateError> {
        self.conn()
            .query_row(
                "SELECT rows FROM report_rows WHERE job = ?1 AND name = ?2",
                [job, name],
                |row| row.get::<_, i64>(0).map(|n| n as u64),
            )
            .optional()
            .map(Option::unwrap_or_default)
    }

    /// Records that the first `rows` rows of report `name` were read.
    pub fn set_report_rows_read(&self, job: &str, name: &str, rows: u64) -> Result<(), StateError> {
        if self.read_only {
            return Ok(());
        }
        self.conn().execute(
            "INSERT INTO report_rows (job, name, rows, read_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (job, name) DO UPDATE SET rows = excluded.rows, read_at = excluded.read_at",
            params![job, name, rows as i64, now()],
        )?;
        Ok(())
    }

    /// Writes the row of a run of `job` starting now: `running`, with where it reads from and
    /// this process. First, rows of the job left `running` by a process that is gone are marked
    /// `interrupted` (and so are this process's own leftovers, from a run that ended in an
    /// error). If another process still runs the job, nothing is written and that run is
    /// returned: two runs of one job must not overlap.
    pub fn begin_run(
        &self,
        job: &str,
        mode: Mode,
        read_from: Option<DateTime>,
    ) -> Result<Begun, StateError> {
        if self.read_only {
            return Ok(Begun::ReadOnly);
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let running: Vec<RunRow> = {
            let mut stmt = tx.prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE job = ?1 AND status = 'running' ORDER BY id"
            ))?;
            stmt.query_map([job], run_row)?.collect::<Result<_, _>>()?
        };
        for row in running {
            let run = &row.run;
            match self.liveness(&row) {
                Liveness::Gone => {
                    let reason = gone_reason(run);
                    tx.execute(
                        "UPDATE runs SET status = 'interrupted', aborted = ?2 WHERE id = ?1",
                        params![run.id, reason],
                    )?;
                    tracing::warn!(job, run = run.id, started_at = %run.started_at, "{reason}");
                }
                Liveness::Alive | Liveness::Unknown => {
                    return Ok(Begun::AlreadyRunning(Box::new(row.run)));
                }
            }
        }
        let at = now();
        tx.execute(
            "INSERT INTO runs (job, mode, status, started_at, heartbeat_at, read_from, pid, host,
                               process_started)
             VALUES (?1, ?2, 'running', ?3, ?3, ?4, ?5, ?6, ?7)",
            params![
                job,
                mode.as_str(),
                at,
                read_from.map(|r| r.to_string()),
                self.process.pid,
                self.process.host,
                self.process.started,
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Begun::Started(RunId(id)))
    }

    /// Whether the process of a `running` row is alive. This process's own rows other than a
    /// run it is doing count as gone: a run of this process that is still going is the caller.
    fn liveness(&self, row: &RunRow) -> Liveness {
        let Some(process) = &row.process else {
            return Liveness::Gone;
        };
        if *process == self.process {
            return Liveness::Gone;
        }
        match process.liveness() {
            Liveness::Unknown if row.heartbeat_is_stale() => Liveness::Gone,
            other => other,
        }
    }

    /// Refreshes the heartbeat of a running run (see [`crate::process::HEARTBEAT`]) and its
    /// counts so far, so a run that is killed shows how far it got.
    pub fn heartbeat(&self, run: RunId, summary: &Summary) -> Result<(), StateError> {
        if self.read_only {
            return Ok(());
        }
        self.conn()
            .prepare_cached(
                "UPDATE runs SET heartbeat_at = ?2, read = ?3, filtered = ?4, delivered = ?5,
                     failed = ?6, skipped = ?7, requests = ?8
                 WHERE id = ?1",
            )?
            .execute(params![
                run.0,
                now(),
                summary.read as i64,
                summary.filtered as i64,
                summary.delivered as i64,
                summary.failed as i64,
                summary.skipped as i64,
                summary.requests as i64,
            ])?;
        Ok(())
    }

    /// Ends a run's row with its summary: status, counts, the full summary as JSON. A completed
    /// normal run also settles the earlier unfinished runs of its job that read from at or after
    /// its own start point (it read everything they had started).
    pub fn finish_run(&self, run: RunId, summary: &Summary) -> Result<(), StateError> {
        if self.read_only {
            return Ok(());
        }
        let json = serde_json::to_string(summary).unwrap_or_default();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE runs SET status = ?2, finished_at = ?3, heartbeat_at = ?3, read = ?4,
                 filtered = ?5, delivered = ?6, failed = ?7, skipped = ?8, requests = ?9,
                 aborted = ?10, summary = ?11
             WHERE id = ?1",
            params![
                run.0,
                summary.status.as_str(),
                now(),
                summary.read as i64,
                summary.filtered as i64,
                summary.delivered as i64,
                summary.failed as i64,
                summary.skipped as i64,
                summary.requests as i64,
                summary.aborted,
                json
            ],
        )?;
        let read_from = summary
            .read_from
            .as_deref()
            .and_then(|r| r.parse::<DateTime>().ok());
        if summary.status == RunStatus::Completed
            && summary.mode == Mode::Run
            && let Some(read_from) = read_from
        {
            for (id, from) in unsettled(&tx, &summary.job)? {
                if id < run.0 && from >= read_from {
                    tx.execute(
                        "UPDATE runs SET settled_by = ?2 WHERE id = ?1",
                        params![id, run.0],
                    )?;
                }
            }
        }
        tx.commit()
    }

    /// The earliest read-from point of the job's normal runs that never completed and that no
    /// later completed run has covered: where the next run must start reading at the latest,
    /// so that nothing a killed, failed or interrupted run had started is skipped.
    pub fn unsettled_from(&self, job: &str) -> Result<Option<DateTime>, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let earliest = unsettled(&tx, job)?.into_iter().map(|(_, from)| from).min();
        Ok(earliest)
    }

    /// The job's last `limit` runs, newest first. A `running` row whose process is gone reads as
    /// `interrupted`.
    pub fn runs(&self, job: &str, limit: usize) -> Result<Vec<RunRecord>, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE job = ?1 ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![job, limit as i64], run_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let gone =
                    row.run.status == RunStatus::Running && self.liveness(&row) == Liveness::Gone;
                let mut run = row.run;
                if gone {
                    run.aborted = Some(gone_reason(&run));
                    run.status = RunStatus::Interrupted;
                }
                run
            })
            .collect())
    }

    /// The number of runs logged for the job.
    pub fn run_count(&self, job: &str) -> Result<u64, StateError> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM runs WHERE job = ?1", [job], |row| {
                row.get::<_, i64>(0).map(|n| n as u64)
            })
    }

    /// Removes parked records on purpose (they will not be replayed), and logs it in the run
    /// log as a `discard_failed` run whose summary lists them. Returns the records removed;
    /// keys that are not parked are left out. Nothing is logged when none was.
    pub fn discard_failed(
        &self,
        job: &str,
        keys: &[String],
    ) -> Result<Vec<FailedRecord>, StateError> {
        if self.read_only {
            return Ok(Vec::new());
        }
        let parked = self.failed(job)?;
        let discarded: Vec<FailedRecord> = parked
            .into_iter()
            .filter(|f| keys.contains(&f.key))
            .collect();
        if discarded.is_empty() {
            return Ok(discarded);
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for record in &discarded {
            tx.execute(
                "DELETE FROM failed WHERE job = ?1 AND key = ?2",
                params![job, record.key],
            )?;
        }
        let at = now();
        let summary = serde_json::json!({
            "job": job,
            "mode": Mode::DiscardFailed,
            "status": RunStatus::Completed,
            "started_at": at,
            "elapsed_secs": 0.0,
            "discarded": discarded,
        });
        tx.execute(
            "INSERT INTO runs (job, mode, status, started_at, finished_at, heartbeat_at, pid,
                               host, process_started, summary)
             VALUES (?1, ?2, 'completed', ?3, ?3, ?3, ?4, ?5, ?6, ?7)",
            params![
                job,
                Mode::DiscardFailed.as_str(),
                at,
                self.process.pid,
                self.process.host,
                self.process.started,
                summary.to_string(),
            ],
        )?;
        tx.commit()?;
        Ok(discarded)
    }

    /// What source record `source` contributes, part by part: `(part, target, amount)`.
    pub fn contributions_of(
        &self,
        job: &str,
        source: &str,
    ) -> Result<Vec<(String, String, Decimal)>, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT part, target, amount FROM contributions WHERE job = ?1 AND source = ?2
             ORDER BY part",
        )?;
        let rows = stmt.query_map([job, source], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get::<_, String>(2)?))
        })?;
        rows.map(|r| r.map(|(part, target, amount)| (part, target, decimal(&amount))))
            .collect()
    }

    /// Whether the job keeps any contribution.
    pub fn has_contributions(&self, job: &str) -> Result<bool, StateError> {
        self.conn()
            .prepare_cached("SELECT 1 FROM contributions WHERE job = ?1 LIMIT 1")?
            .exists([job])
    }

    /// What is contributed to `target`, source by source: `(source, amount)`.
    pub fn contributions_to(
        &self,
        job: &str,
        target: &str,
    ) -> Result<Vec<(String, Decimal)>, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT source, amount FROM contributions WHERE job = ?1 AND target = ?2",
        )?;
        let rows = stmt.query_map([job, target], |row| {
            Ok((row.get(0)?, row.get::<_, String>(1)?))
        })?;
        rows.map(|r| r.map(|(source, amount)| (source, decimal(&amount))))
            .collect()
    }

    /// Replaces everything `source` contributes with `parts` (`(part, target, amount)`; empty
    /// removes it), with the source record's change time for [`Self::prune_contributions`].
    /// Several sources are replaced in one transaction.
    pub fn replace_contributions<'a>(
        &self,
        job: &str,
        sources: impl IntoIterator<Item = (&'a str, Option<DateTime>, &'a [(String, String, Decimal)])>,
    ) -> Result<(), StateError> {
        if self.read_only {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let at = now();
        {
            let mut clear =
                tx.prepare_cached("DELETE FROM contributions WHERE job = ?1 AND source = ?2")?;
            let mut add = tx.prepare_cached(
                "INSERT INTO contributions (job, source, part, target, amount, source_ts, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (job, source, part) DO UPDATE SET target = excluded.target,
                     amount = excluded.amount, source_ts = excluded.source_ts,
                     updated_at = excluded.updated_at",
            )?;
            for (source, ts, parts) in sources {
                clear.execute(params![job, source])?;
                let ts = ts.map(sortable);
                for (part, target, amount) in parts {
                    add.execute(params![
                        job,
                        source,
                        part,
                        target,
                        amount.to_string(),
                        ts,
                        at
                    ])?;
                }
            }
        }
        tx.commit()
    }

    /// Removes the contributions of source records last changed before `before`; returns how
    /// many parts were removed.
    pub fn prune_contributions(&self, job: &str, before: DateTime) -> Result<u64, StateError> {
        if self.read_only {
            return Ok(0);
        }
        let removed = self.conn().execute(
            "DELETE FROM contributions WHERE job = ?1 AND source_ts < ?2",
            params![job, sortable(before)],
        )?;
        Ok(removed as u64)
    }
}

/// A civil date-time as text that sorts like the date-time (fixed width, for years 0–9999).
fn sortable(at: DateTime) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.f").to_string()
}

fn decimal(text: &str) -> Decimal {
    text.parse().unwrap_or_default()
}

/// The job's unfinished, unsettled normal runs with a read-from point: `(id, read_from)`.
fn unsettled(tx: &Transaction<'_>, job: &str) -> Result<Vec<(i64, DateTime)>, StateError> {
    let mut stmt = tx.prepare(
        "SELECT id, read_from FROM runs
         WHERE job = ?1 AND mode = 'run' AND status <> 'completed' AND settled_by IS NULL
             AND read_from IS NOT NULL",
    )?;
    let rows = stmt.query_map([job], |row| Ok((row.get(0)?, row.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, from) = row?;
        if let Ok(from) = from.parse() {
            out.push((id, from));
        }
    }
    Ok(out)
}

/// A run row as read, with what judging a running one needs.
struct RunRow {
    run: RunRecord,
    /// The process that wrote it.
    process: Option<ProcessId>,
    /// Its last sign of life.
    heartbeat_at: Option<String>,
}

impl RunRow {
    fn heartbeat_is_stale(&self) -> bool {
        let beat = self.heartbeat_at.as_deref().unwrap_or(&self.run.started_at);
        match beat.parse::<jiff::Timestamp>() {
            Ok(beat) => {
                jiff::Timestamp::now().duration_since(beat).as_secs_f64()
                    > STALE_AFTER.as_secs_f64()
            }
            Err(_) => true,
        }
    }
}

/// A run row, selected as [`RUN_COLUMNS`].
fn run_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    let count = |i: usize| row.get::<_, i64>(i).map(|n| n.max(0) as u64);
    let status: String = row.get(2)?;
    let started_at: String = row.get(3)?;
    let finished_at: Option<String> = row.get(4)?;
    let pid: Option<u32> = row.get(13)?;
    let host: Option<String> = row.get(14)?;
    let process = pid.zip(host).map(|(pid, host)| ProcessId {
        pid,
        host,
        started: row.get(15).ok().flatten(),
    });
    let elapsed_secs = row.get::<_, Option<f64>>(18)?.or_else(|| {
        let start: jiff::Timestamp = started_at.parse().ok()?;
        let end: jiff::Timestamp = finished_at.as_deref()?.parse().ok()?;
        Some(end.duration_since(start).as_secs_f64())
    });
    let run = RunRecord {
        id: row.get(0)?,
        mode: row.get(1)?,
        status: RunStatus::parse(&status),
        started_at,
        finished_at,
        elapsed_secs,
        read_from: row.get(5)?,
        read: count(6)?,
        filtered: count(7)?,
        delivered: count(8)?,
        failed: count(9)?,
        skipped: count(10)?,
        requests: count(11)?,
        aborted: row.get(12)?,
        process: process.as_ref().map(|p| {
            let name = p.host.split('/').next().unwrap_or(&p.host);
            format!("pid {} on {name}", p.pid)
        }),
        resumed_by: row.get(17)?,
    };
    Ok(RunRow {
        run,
        process,
        heartbeat_at: row.get(16)?,
    })
}

fn gone_reason(run: &RunRecord) -> String {
    format!(
        "the process that ran it ({}) is gone: killed, or its host restarted",
        run.process.as_deref().unwrap_or("unknown")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn watermark_round_trip() {
        let store = StateStore::in_memory().unwrap();
        assert_eq!(store.watermark("j").unwrap(), None);
        let ts: DateTime = "2024-01-15T10:30:00".parse().unwrap();
        store.set_watermark("j", ts).unwrap();
        assert_eq!(store.watermark("j").unwrap(), Some(ts));
        assert_eq!(store.watermark("other").unwrap(), None);
    }

    #[test]
    fn failures_accumulate_attempts_and_delivery_clears_them() {
        let store = StateStore::in_memory().unwrap();
        let a = item("a@example.com", "A");
        store
            .record_outcomes("j", &[], &[(a.clone(), "HTTP 500".into(), 3)])
            .unwrap();
        store
            .record_outcomes("j", &[], &[(a.clone(), "HTTP 502".into(), 1)])
            .unwrap();
        let failed = store.failed("j").unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].attempts, 4);
        assert_eq!(failed[0].error, "HTTP 502");
        assert_eq!(failed[0].item(), a);

        store
            .record_outcomes("j", std::slice::from_ref(&a), &[])
            .unwrap();
        assert_eq!(store.failed_count("j").unwrap(), 0);
        assert_eq!(
            store.snapshot("j", "a@example.com").unwrap(),
            Some(a.fields)
        );
    }

    #[test]
    fn a_refused_delivery_is_parked_with_its_payload_and_loses_its_snapshot() {
        let store = StateStore::in_memory().unwrap();
        let a = item("a@example.com", "A");
        store
            .record_outcomes("j", std::slice::from_ref(&a), &[])
            .unwrap();
        assert!(store.park_delivered("j", &a.key, "rejected: bad").unwrap());
        assert_eq!(store.snapshot("j", &a.key).unwrap(), None);
        let failed = store.failed("j").unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].item(), a);
        assert_eq!(failed[0].error, "rejected: bad");
        assert!(
            !store
                .park_delivered("j", "nobody@example.com", "x")
                .unwrap()
        );
        assert!(
            !store.park_delivered("j", &a.key, "again").unwrap(),
            "no snapshot left"
        );

        assert_eq!(store.report_rows_read("j", "r.csv").unwrap(), 0);
        store.set_report_rows_read("j", "r.csv", 12).unwrap();
        assert_eq!(store.report_rows_read("j", "r.csv").unwrap(), 12);
        assert_eq!(store.report_rows_read("other", "r.csv").unwrap(), 0);
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
