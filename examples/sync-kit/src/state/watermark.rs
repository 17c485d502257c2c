//! How far each job has read: its source's watermark, and the rows of each delivery report.

use jiff::civil::DateTime;
use rusqlite::{OptionalExtension, params};

use super::{StateError, StateStore, now};

impl StateStore {
    /// The job's watermark, if it ever completed a run.
    pub fn watermark(&self, job: &str) -> Result<Option<DateTime>, StateError> {
        if let Some(mut pg) = self.pg() {
            return Ok(pg.watermark(job)?);
        }
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
        if let Some(mut pg) = self.pg() {
            return Ok(pg.watermark_updated_at(job)?);
        }
        self.conn()
            .query_row(
                "SELECT updated_at FROM watermarks WHERE job = ?1",
                [job],
                |row| row.get(0),
            )
            .optional()
            .map_err(StateError::from)
    }
    /// Stores the job's watermark.
    pub fn set_watermark(&self, job: &str, value: DateTime) -> Result<(), StateError> {
        if self.read_only {
            return Ok(());
        }
        if let Some(mut pg) = self.pg() {
            return Ok(pg.set_watermark(job, value)?);
        }
        self.conn().execute(
            "INSERT INTO watermarks (job, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (job) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![job, value.to_string(), now()],
        )?;
        Ok(())
    }

    /// How many rows of report `name` the job has already read.
    pub fn report_rows_read(&self, job: &str, name: &str) -> Result<u64, StateError> {
        if let Some(mut pg) = self.pg() {
            return Ok(pg.report_rows_read(job, name)?);
        }
        self.conn()
            .query_row(
                "SELECT rows FROM report_rows WHERE job = ?1 AND name = ?2",
                [job, name],
                |row| row.get::<_, i64>(0).map(|n| n as u64),
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(StateError::from)
    }

    /// Records that the first `rows` rows of report `name` were read.
    pub fn set_report_rows_read(&self, job: &str, name: &str, rows: u64) -> Result<(), StateError> {
        if self.read_only {
            return Ok(());
        }
        if let Some(mut pg) = self.pg() {
            return Ok(pg.set_report_rows_read(job, name, rows)?);
        }
        self.conn().execute(
            "INSERT INTO report_rows (job, name, rows, read_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (job, name) DO UPDATE SET rows = excluded.rows, read_at = excluded.read_at",
            params![job, name, rows as i64, now()],
        )?;
        Ok(())
    }
}
