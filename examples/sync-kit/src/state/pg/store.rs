//! The PostgreSQL side of the state the store keeps per job: watermarks, delivery-report rows,
//! snapshots, parked records. The same tables and meaning as the SQLite file (see
//! [`crate::state`]); every call runs off the tokio runtime ([`super::off_runtime`]) and each
//! batch's outcomes are one transaction.

use jiff::civil::DateTime;
use postgres::Transaction;
use serde_json::{Map, Value};

use super::{PgError, PgState};
use crate::Item;
use crate::state::{FailedRecord, now};

/// Parks a record (as the SQLite `PARK`): attempts add up, the payload and error are the last.
const PARK: &str =
    "INSERT INTO failed (job, key, payload, error, attempts, first_failed_at, last_failed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6)
     ON CONFLICT (job, key) DO UPDATE SET payload = excluded.payload, error = excluded.error,
         attempts = failed.attempts + excluded.attempts, last_failed_at = excluded.last_failed_at";

const SNAPSHOT: &str = "SELECT payload FROM snapshots WHERE job = $1 AND key = $2";

fn payload(fields: &Map<String, Value>) -> String {
    Value::Object(fields.clone()).to_string()
}

impl PgState {
    /// The job's watermark, if it has one.
    ///
    /// ```no_run
    /// # let url = sync_kit::state::pg::PgUrl::parse("postgres://db/sync").unwrap();
    /// let mut state = sync_kit::state::pg::PgState::connect(&url).unwrap();
    /// state.set_watermark("job", "2024-01-15T10:30".parse().unwrap()).unwrap();
    /// assert!(state.watermark("job").unwrap().is_some());
    /// ```
    pub fn watermark(&mut self, job: &str) -> Result<Option<DateTime>, PgError> {
        let value: Option<String> = self.with_client(|c| {
            c.query_opt("SELECT value FROM watermarks WHERE job = $1", &[&job])
                .map(|row| row.map(|r| r.get(0)))
        })?;
        Ok(value.and_then(|v| v.parse().ok()))
    }

    /// When the job's watermark was last set (UTC, RFC 3339).
    pub fn watermark_updated_at(&mut self, job: &str) -> Result<Option<String>, PgError> {
        Ok(self.with_client(|c| {
            c.query_opt("SELECT updated_at FROM watermarks WHERE job = $1", &[&job])
                .map(|row| row.map(|r| r.get(0)))
        })?)
    }

    /// Sets the job's watermark.
    pub fn set_watermark(&mut self, job: &str, value: DateTime) -> Result<(), PgError> {
        let value = value.to_string();
        self.with_client(|c| {
            c.execute(
                "INSERT INTO watermarks (job, value, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (job) DO UPDATE SET value = excluded.value,
                     updated_at = excluded.updated_at",
                &[&job, &value, &now()],
            )
        })?;
        Ok(())
    }

    /// How many rows of the delivery report `name` the job has read (0 if none).
    pub fn report_rows_read(&mut self, job: &str, name: &str) -> Result<u64, PgError> {
        let rows: Option<i64> = self.with_client(|c| {
            c.query_opt(
                "SELECT rows FROM report_rows WHERE job = $1 AND name = $2",
                &[&job, &name],
            )
            .map(|row| row.map(|r| r.get(0)))
        })?;
        Ok(rows.unwrap_or_default().max(0) as u64)
    }

    /// Records how many rows of the delivery report `name` the job has read.
    pub fn set_report_rows_read(
        &mut self,
        job: &str,
        name: &str,
        rows: u64,
    ) -> Result<(), PgError> {
        let rows = rows as i64;
        self.with_client(|c| {
            c.execute(
                "INSERT INTO report_rows (job, name, rows, read_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (job, name) DO UPDATE SET rows = excluded.rows,
                     read_at = excluded.read_at",
                &[&job, &name, &rows, &now()],
            )
        })?;
        Ok(())
    }

    /// The payload last delivered for `key`.
    pub fn snapshot(
        &mut self,
        job: &str,
        key: &str,
    ) -> Result<Option<Map<String, Value>>, PgError> {
        let payload: Option<String> = self.with_client(|c| {
            c.query_opt(SNAPSHOT, &[&job, &key])
                .map(|row| row.map(|r| r.get(0)))
        })?;
        Ok(payload.and_then(|p| serde_json::from_str(&p).ok()))
    }

    /// The payloads last delivered for `keys`, in their order, read in one round trip.
    pub fn snapshots(
        &mut self,
        job: &str,
        keys: &[&str],
    ) -> Result<Vec<Option<Map<String, Value>>>, PgError> {
        let rows = self.with_client(|c| {
            c.query(
                "SELECT k.key, s.payload FROM unnest($2::text[]) AS k(key)
                 LEFT JOIN snapshots s ON s.job = $1 AND s.key = k.key",
                &[&job, &keys],
            )
        })?;
        let found: std::collections::HashMap<String, Option<String>> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok(keys
            .iter()
            .map(|key| {
                found
                    .get(*key)
                    .cloned()
                    .flatten()
                    .and_then(|p| serde_json::from_str(&p).ok())
            })
            .collect())
    }

    /// Records a batch's outcomes in one transaction: the delivered records' snapshots (and
    /// their unparking), the failed ones parked with their attempts.
    pub fn record_outcomes(
        &mut self,
        job: &str,
        delivered: &[Item],
        failed: &[(Item, String, u32)],
    ) -> Result<(), PgError> {
        self.with_client(|c| {
            let mut tx = c.transaction()?;
            record(&mut tx, job, delivered, failed)?;
            tx.commit()
        })?;
        Ok(())
    }

    /// The number of snapshots the job keeps.
    pub fn snapshot_count(&mut self, job: &str) -> Result<u64, PgError> {
        let n: i64 = self.with_client(|c| {
            c.query_one("SELECT count(*) FROM snapshots WHERE job = $1", &[&job])
                .map(|r| r.get(0))
        })?;
        Ok(n as u64)
    }

    /// Parks a record whose delivery the target refused afterwards, with its snapshot's
    /// payload, and drops the snapshot; `false` if it has none.
    pub fn park_delivered(&mut self, job: &str, key: &str, error: &str) -> Result<bool, PgError> {
        Ok(self.with_client(|c| {
            let mut tx = c.transaction()?;
            let payload: Option<String> = tx
                .query_opt(
                    "DELETE FROM snapshots WHERE job = $1 AND key = $2 RETURNING payload",
                    &[&job, &key],
                )?
                .map(|r| r.get(0));
            let Some(payload) = payload else {
                return Ok(false);
            };
            tx.execute(PARK, &[&job, &key, &payload, &error, &1_i64, &now()])?;
            tx.commit()?;
            Ok::<_, postgres::Error>(true)
        })?)
    }

    /// The job's parked records, oldest failure first.
    pub fn failed(&mut self, job: &str) -> Result<Vec<FailedRecord>, PgError> {
        let rows = self.with_client(|c| {
            c.query(
                "SELECT key, payload, error, attempts, first_failed_at, last_failed_at
                 FROM failed WHERE job = $1 ORDER BY first_failed_at, key",
                &[&job],
            )
        })?;
        Ok(rows
            .iter()
            .map(|row| FailedRecord {
                key: row.get(0),
                fields: serde_json::from_str(row.get(1)).unwrap_or_default(),
                error: row.get(2),
                attempts: u32::try_from(row.get::<_, i64>(3)).unwrap_or(u32::MAX),
                first_failed_at: row.get(4),
                last_failed_at: row.get(5),
            })
            .collect())
    }

    /// The number of the job's parked records.
    pub fn failed_count(&mut self, job: &str) -> Result<u64, PgError> {
        let n: i64 = self.with_client(|c| {
            c.query_one("SELECT count(*) FROM failed WHERE job = $1", &[&job])
                .map(|r| r.get(0))
        })?;
        Ok(n as u64)
    }
}

/// A batch's outcomes, in `tx`: three statements prepared once, then one execution per record
/// (pipelined by the transaction, not committed per record).
fn record(
    tx: &mut Transaction<'_>,
    job: &str,
    delivered: &[Item],
    failed: &[(Item, String, u32)],
) -> Result<(), postgres::Error> {
    let at = now();
    if !delivered.is_empty() {
        // One row per key, the last delivery winning (as one upsert per record would): a
        // single upsert may not touch a row twice.
        let mut last = std::collections::HashMap::with_capacity(delivered.len());
        for (i, item) in delivered.iter().enumerate() {
            last.insert(item.key.as_str(), i);
        }
        let (keys, payloads): (Vec<&str>, Vec<String>) = delivered
            .iter()
            .enumerate()
            .filter(|(i, item)| last.get(item.key.as_str()) == Some(i))
            .map(|(_, item)| (item.key.as_str(), payload(&item.fields)))
            .unzip();
        tx.execute(
            "INSERT INTO snapshots (job, key, payload, sent_at)
             SELECT $1, k, p, $4 FROM unnest($2::text[], $3::text[]) AS u(k, p)
             ON CONFLICT (job, key) DO UPDATE SET payload = excluded.payload,
                 sent_at = excluded.sent_at",
            &[&job, &keys, &payloads, &at],
        )?;
        tx.execute(
            "DELETE FROM failed WHERE job = $1 AND key = ANY($2::text[])",
            &[&job, &keys],
        )?;
    }
    if !failed.is_empty() {
        let park = tx.prepare(PARK)?;
        for (item, error, attempts) in failed {
            tx.execute(
                &park,
                &[
                    &job,
                    &item.key,
                    &payload(&item.fields),
                    error,
                    &i64::from(*attempts),
                    &at,
                ],
            )?;
        }
    }
    Ok(())
}

/// The contributions (receipt rows' payments of invoices) and the discarding of parked records.
impl PgState {
    /// The parts of `source` and the amounts they contribute to their targets, by part.
    pub fn contributions_of(
        &mut self,
        job: &str,
        source: &str,
    ) -> Result<Vec<(String, String, rust_decimal::Decimal)>, PgError> {
        let rows = self.with_client(|c| {
            c.query(
                "SELECT part, target, amount FROM contributions WHERE job = $1 AND source = $2
                 ORDER BY part",
                &[&job, &source],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), decimal(r.get(2))))
            .collect())
    }

    /// Whether the job has any contributions.
    pub fn has_contributions(&mut self, job: &str) -> Result<bool, PgError> {
        Ok(self.with_client(|c| {
            c.query_opt(
                "SELECT 1 FROM contributions WHERE job = $1 LIMIT 1",
                &[&job],
            )
            .map(|r| r.is_some())
        })?)
    }

    /// The sources contributing to `target`, with their amounts.
    pub fn contributions_to(
        &mut self,
        job: &str,
        target: &str,
    ) -> Result<Vec<(String, rust_decimal::Decimal)>, PgError> {
        let rows = self.with_client(|c| {
            c.query(
                "SELECT source, amount FROM contributions WHERE job = $1 AND target = $2",
                &[&job, &target],
            )
        })?;
        Ok(rows.iter().map(|r| (r.get(0), decimal(r.get(1)))).collect())
    }

    /// Replaces each source's contributions, all in one transaction. `sources` holds
    /// `(source, its timestamp as sortable text, parts)`.
    pub(crate) fn replace_contributions(
        &mut self,
        job: &str,
        sources: &[SourceParts],
    ) -> Result<(), PgError> {
        self.with_client(|c| {
            let mut tx = c.transaction()?;
            let at = now();
            let clear = tx.prepare("DELETE FROM contributions WHERE job = $1 AND source = $2")?;
            let add = tx.prepare(
                "INSERT INTO contributions (job, source, part, target, amount, source_ts,
                                            updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (job, source, part) DO UPDATE SET target = excluded.target,
                     amount = excluded.amount, source_ts = excluded.source_ts,
                     updated_at = excluded.updated_at",
            )?;
            for (source, ts, parts) in sources {
                tx.execute(&clear, &[&job, source])?;
                for (part, target, amount) in parts {
                    tx.execute(&add, &[&job, source, part, target, amount, ts, &at])?;
                }
            }
            tx.commit()
        })?;
        Ok(())
    }

    /// Removes contributions of sources older than `before` (sortable text); how many.
    pub(crate) fn prune_contributions(&mut self, job: &str, before: &str) -> Result<u64, PgError> {
        Ok(self.with_client(|c| {
            c.execute(
                "DELETE FROM contributions WHERE job = $1 AND source_ts < $2",
                &[&job, &before],
            )
        })?)
    }

    /// Deletes the parked records of `keys` and logs the discard as a run with `summary`, in
    /// one transaction.
    pub(crate) fn discard(
        &mut self,
        job: &str,
        keys: &[String],
        at: &str,
        summary: &str,
    ) -> Result<(), PgError> {
        let process = self.process.clone();
        self.with_client(|c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "DELETE FROM failed WHERE job = $1 AND key = ANY($2::text[])",
                &[&job, &keys],
            )?;
            tx.execute(
                "INSERT INTO runs (job, mode, status, started_at, finished_at, heartbeat_at, pid,
                                   host, process_started, summary)
                 VALUES ($1, 'discard_failed', 'completed', $2, $2, $2, $3, $4, $5,
                         ($6::text)::jsonb)",
                &[
                    &job,
                    &at,
                    &i64::from(process.pid),
                    &process.host,
                    &process.started,
                    &summary,
                ],
            )?;
            tx.commit()
        })?;
        Ok(())
    }
}

/// A source record's contributions: `(source, its timestamp as sortable text, parts as
/// (part, target, amount as text))`.
pub(crate) type SourceParts = (String, Option<String>, Vec<(String, String, String)>);

fn decimal(text: &str) -> rust_decimal::Decimal {
    text.parse().unwrap_or_default()
}
