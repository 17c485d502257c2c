//! The run log: a row per run, written when it starts and ended with its summary, and whether
//! the process of a `running` row is still alive.

use jiff::civil::DateTime;
use rusqlite::{Transaction, params};
use serde::Serialize;

use super::{StateError, StateStore, now};
use crate::process::{Liveness, ProcessId, STALE_AFTER};
use crate::summary::{Mode, RunStatus, Summary};

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

/// The columns of a run row, in the order [`RunRecord`]s are read.
const RUN_COLUMNS: &str = "id, mode, status, started_at, finished_at, read_from, read, filtered,
    delivered, failed, skipped, requests, aborted, pid, host, process_started, heartbeat_at,
    settled_by, json_extract(summary, '$.elapsed_secs')";

impl StateStore {
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
