//! Records parked after their last failed attempt, for `--replay-failed`, and their discarding.

use rusqlite::params;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{StateError, StateStore, now};
use crate::Item;
use crate::summary::{Mode, RunStatus};

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

/// Parks a record (job, key, payload, error, attempts, time); a record parked again keeps its
/// first time and adds up its attempts.
pub(super) const PARK: &str =
    "INSERT INTO failed (job, key, payload, error, attempts, first_failed_at, last_failed_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
    ON CONFLICT (job, key) DO UPDATE SET payload = excluded.payload, error = excluded.error,
        attempts = failed.attempts + excluded.attempts, last_failed_at = excluded.last_failed_at";

impl StateStore {
    /// The job's parked failures, oldest first.
    pub fn failed(&self, job: &str) -> Result<Vec<FailedRecord>, StateError> {
        if let Some(mut pg) = self.pg() {
            return Ok(pg.failed(job)?);
        }
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
        rows.collect::<Result<Vec<_>, rusqlite::Error>>()
            .map_err(StateError::from)
    }

    /// How many records of the job are parked as failed.
    pub fn failed_count(&self, job: &str) -> Result<u64, StateError> {
        if let Some(mut pg) = self.pg() {
            return Ok(pg.failed_count(job)?);
        }
        self.conn()
            .query_row("SELECT COUNT(*) FROM failed WHERE job = ?1", [job], |row| {
                row.get::<_, i64>(0).map(|n| n as u64)
            })
            .map_err(StateError::from)
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
        if let Some(mut pg) = self.pg() {
            let at = now();
            let keys: Vec<String> = discarded.iter().map(|f| f.key.clone()).collect();
            pg.discard(job, &keys, &at, &discard_summary(job, &at, &discarded))?;
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
                discard_summary(job, &at, &discarded),
            ],
        )?;
        tx.commit()?;
        Ok(discarded)
    }
}

/// The summary logged for a discard.
fn discard_summary(job: &str, at: &str, discarded: &[FailedRecord]) -> String {
    serde_json::json!({
        "job": job,
        "mode": Mode::DiscardFailed,
        "status": RunStatus::Completed,
        "started_at": at,
        "elapsed_secs": 0.0,
        "discarded": discarded,
    })
    .to_string()
}
