//! The last payload delivered per key ("send only what changed"), and the outcomes of a batch's
//! deliveries.

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};

use super::parked::PARK;
use super::{StateError, StateStore, now};
use crate::Item;

impl StateStore {
    /// The payload last delivered for `key`, if any.
    pub fn snapshot(&self, job: &str, key: &str) -> Result<Option<Map<String, Value>>, StateError> {
        if let Some(mut pg) = self.pg() {
            return Ok(pg.snapshot(job, key)?);
        }
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
        if let Some(mut pg) = self.pg() {
            return Ok(pg.snapshots(job, keys)?);
        }
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
        self.run_before_record();
        if let Some(mut pg) = self.pg() {
            return Ok(pg.record_outcomes(job, delivered, failed)?);
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
        tx.commit().map_err(StateError::from)
    }

    /// How many snapshots (keys delivered at least once) the job has.
    pub fn snapshot_count(&self, job: &str) -> Result<u64, StateError> {
        if let Some(mut pg) = self.pg() {
            return Ok(pg.snapshot_count(job)?);
        }
        self.conn()
            .query_row(
                "SELECT COUNT(*) FROM snapshots WHERE job = ?1",
                [job],
                |row| row.get::<_, i64>(0).map(|n| n as u64),
            )
            .map_err(StateError::from)
    }

    /// Turns a delivered record into a parked failure, when the destination reports later that
    /// it refused it: the last delivered payload is parked with `error` (for `--replay-failed`)
    /// and its snapshot removed (so a normal run sends it again in full). Returns whether the key
    /// had a snapshot; without one nothing changes.
    pub fn park_delivered(&self, job: &str, key: &str, error: &str) -> Result<bool, StateError> {
        if self.read_only {
            return Ok(false);
        }
        if let Some(mut pg) = self.pg() {
            return Ok(pg.park_delivered(job, key, error)?);
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
}
