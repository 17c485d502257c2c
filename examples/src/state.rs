//! The state store: one SQLite file per deployment, shared by every job that runs there.
//!
//! Tables (all keyed by job name, so several syncs can share one file):
//! - `watermarks`: how far each job has read its source (a civil date-time of the source system);
//! - `snapshots`: the last payload delivered per key, for "send only what changed";
//! - `failed`: records that still failed after every retry (the "incomplete executions"), with the
//!   payload to replay, the last error and the attempt count;
//! - `runs`: a log of every run with its counts;
//! - `report_rows`: how many rows of each delivery report a job has already read (Splio Datahub
//!   reports, which can grow during the day).
//!
//! Every method takes `&self` (a mutex guards the connection), so the store can be shared by the
//! pipeline stages of one run.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use jiff::civil::DateTime;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde_json::{Map, Value};

use crate::Item;
use crate::summary::Summary;

/// Errors of the state store (SQLite).
pub type StateError = rusqlite::Error;

/// A record parked after its last failed attempt.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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

/// The SQLite-backed state of all jobs in one file.
pub struct StateStore {
    conn: Mutex<Connection>,
    read_only: bool,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS watermarks (
    job TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    job TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (job, key)
);
CREATE TABLE IF NOT EXISTS failed (
    job TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    first_failed_at TEXT NOT NULL,
    last_failed_at TEXT NOT NULL,
    PRIMARY KEY (job, key)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    mode TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    read INTEGER NOT NULL,
    filtered INTEGER NOT NULL,
    delivered INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    aborted TEXT,
    summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS report_rows (
    job TEXT NOT NULL,
    name TEXT NOT NULL,
    rows INTEGER NOT NULL,
    read_at TEXT NOT NULL,
    PRIMARY KEY (job, name)
);
";

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

impl StateStore {
    /// Opens (creating if needed) the state file at `path`.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
            read_only: false,
        })
    }

    /// An empty store in memory (sandbox runs, tests).
    pub fn in_memory() -> Result<Self, StateError> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
            read_only: false,
        })
    }

    /// Opens the file for reading only, for `--dry-run`: every write method becomes a no-op, and a
    /// file that does not exist is not created (an empty in-memory store stands in for it).
    pub fn open_read_only(path: &Path) -> Result<Self, StateError> {
        let conn = if path.exists() {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            conn
        } else {
            let conn = Connection::open_in_memory()?;
            conn.execute_batch(SCHEMA)?;
            conn
        };
        Ok(Self {
            conn: Mutex::new(conn),
            read_only: true,
        })
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
            .optional()
            .or_else(missing_table_is_empty)?;
        Ok(value.and_then(|v| v.parse().ok()))
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
        let mut stmt = match conn.prepare(
            "SELECT key, payload, error, attempts, first_failed_at, last_failed_at
             FROM failed WHERE job = ?1 ORDER BY first_failed_at, key",
        ) {
            Ok(stmt) => stmt,
            Err(e) if is_missing_table(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
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
            .or_else(|e| if is_missing_table(&e) { Ok(0) } else { Err(e) })
    }

    /// How many snapshots (keys delivered at least once) the job has.
    pub fn snapshot_count(&self, job: &str) -> Result<u64, StateError> {
        self.conn()
            .query_row(
                "SELECT COUNT(*) FROM snapshots WHERE job = ?1",
                [job],
                |row| row.get::<_, i64>(0).map(|n| n as u64),
            )
            .or_else(|e| if is_missing_table(&e) { Ok(0) } else { Err(e) })
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
            .or_else(|e| if is_missing_table(&e) { Ok(0) } else { Err(e) })
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

    /// Appends a run to the run log.
    pub fn log_run(&self, summary: &Summary) -> Result<(), StateError> {
        if self.read_only {
            return Ok(());
        }
        let json = serde_json::to_string(summary).unwrap_or_default();
        self.conn().execute(
            "INSERT INTO runs (job, mode, started_at, finished_at, read, filtered, delivered, failed,
                               skipped, requests, aborted, summary)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                summary.job,
                summary.mode.as_str(),
                summary.started_at,
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
        Ok(())
    }

    /// The number of runs logged for the job.
    pub fn run_count(&self, job: &str) -> Result<u64, StateError> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM runs WHERE job = ?1", [job], |row| {
                row.get::<_, i64>(0).map(|n| n as u64)
            })
            .or_else(|e| if is_missing_table(&e) { Ok(0) } else { Err(e) })
    }
}

fn is_missing_table(e: &rusqlite::Error) -> bool {
    e.to_string().contains("no such table")
}

fn missing_table_is_empty<T>(e: rusqlite::Error) -> Result<Option<T>, rusqlite::Error> {
    if is_missing_table(&e) {
        Ok(None)
    } else {
        Err(e)
    }
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
