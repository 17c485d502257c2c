//! Amounts that parts of source records contribute to a target (a receipt row's payment of an
//! invoice), replaced per source record.

use jiff::civil::DateTime;
use rusqlite::params;
use rust_decimal::Decimal;

use super::{StateError, StateStore, now};

impl StateStore {
    /// What source record `source` contributes, part by part: `(part, target, amount)`.
    pub fn contributions_of(
        &self,
        job: &str,
        source: &str,
    ) -> Result<Vec<(String, String, Decimal)>, StateError> {
        if let Some(mut pg) = self.pg() {
            return Ok(pg.contributions_of(job, source)?);
        }
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT part, target, amount FROM contributions WHERE job = ?1 AND source = ?2
             ORDER BY part",
        )?;
        let rows = stmt.query_map([job, source], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get::<_, String>(2)?))
        })?;
        rows.map(|r| r.map(|(part, target, amount)| (part, target, decimal(&amount))))
            .collect::<Result<Vec<_>, rusqlite::Error>>()
            .map_err(StateError::from)
    }

    /// Whether the job keeps any contribution.
    pub fn has_contributions(&self, job: &str) -> Result<bool, StateError> {
        if let Some(mut pg) = self.pg() {
            return Ok(pg.has_contributions(job)?);
        }
        self.conn()
            .prepare_cached("SELECT 1 FROM contributions WHERE job = ?1 LIMIT 1")?
            .exists([job])
            .map_err(StateError::from)
    }

    /// What is contributed to `target`, source by source: `(source, amount)`.
    pub fn contributions_to(
        &self,
        job: &str,
        target: &str,
    ) -> Result<Vec<(String, Decimal)>, StateError> {
        if let Some(mut pg) = self.pg() {
            return Ok(pg.contributions_to(job, target)?);
        }
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT source, amount FROM contributions WHERE job = ?1 AND target = ?2",
        )?;
        let rows = stmt.query_map([job, target], |row| {
            Ok((row.get(0)?, row.get::<_, String>(1)?))
        })?;
        rows.map(|r| r.map(|(source, amount)| (source, decimal(&amount))))
            .collect::<Result<Vec<_>, rusqlite::Error>>()
            .map_err(StateError::from)
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
        if let Some(mut pg) = self.pg() {
            let sources: Vec<_> = sources
                .into_iter()
                .map(|(source, ts, parts)| {
                    let parts = parts
                        .iter()
                        .map(|(part, target, amount)| {
                            (part.clone(), target.clone(), amount.to_string())
                        })
                        .collect();
                    (source.to_owned(), ts.map(sortable), parts)
                })
                .collect();
            return Ok(pg.replace_contributions(job, &sources)?);
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
        tx.commit().map_err(StateError::from)
    }

    /// Removes the contributions of source records last changed before `before`; returns how
    /// many parts were removed.
    pub fn prune_contributions(&self, job: &str, before: DateTime) -> Result<u64, StateError> {
        if self.read_only {
            return Ok(0);
        }
        if let Some(mut pg) = self.pg() {
            return Ok(pg.prune_contributions(job, &sortable(before))?);
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
