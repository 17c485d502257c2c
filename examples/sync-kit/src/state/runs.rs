//! The run log: a row per run, written when it starts and ended with its summary, and whether
//! the process of a `running` row is still alive.

use jiff::civil::DateTime;
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{StateError, StateStore, now};
use crate::process::{Liveness, ProcessId, STALE_AFTER};
use crate::summary::{Mode, RunStatus, Summary};

mod pg;

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
    /// The keys a `discard_failed` run removed (empty for other runs).
    pub discarded: Vec<String>,
}

/// The records the last run that skipped any listed by key (see [`crate::summary::Skip`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedInRun {
    /// The run's id.
    pub run: i64,
    /// The first [`crate::summary::MAX_LISTED`] skipped records, by key, with their reasons.
    pub skips: Vec<crate::summary::Skip>,
    /// How many skipped records the list leaves out.
    pub left_out: u64,
}

/// The columns of a run row, in the order [`RunRecord`]s are read.
const RUN_COLUMNS: &str = "id, mode, status, started_at, finished_at, read_from, read, filtered,
    delivered, failed, skipped, requests, aborted, pid, host, process_started, heartbeat_at,
    settled_by, json_extract(summary, '$.elapsed_secs'), json_extract(summary, '$.discarded')";

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
        if let Some(run) = self.adopt_claim(job, mode, read_from)? {
            return Ok(Begun::Started(run));
        }
        if let Some(mut pg) = self.pg() {
            return self.pg_begin_run(&mut pg, job, mode, read_from);
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

    /// Writes the row of a run of `job` starting now, before anything is known about it but
    /// its mode, and refuses (as [`begin_run`](Self::begin_run) does) when another live
    /// process runs the job. A binary claims its run before it sends any request, so a run
    /// that fails before its first record (a source that is unreachable, a refused
    /// connection) is still logged: the run that then begins adopts this row (see
    /// [`begin_run`](Self::begin_run)), and [`fail_claim`](Self::fail_claim) ends it as failed
    /// if none did.
    ///
    /// ```
    /// use sync_kit::state::Begun;
    /// use sync_kit::{Mode, StateStore};
    /// let state = StateStore::in_memory().unwrap();
    /// let Begun::Started(_) = state.claim_run("job", Mode::Run).unwrap() else { panic!() };
    /// state.fail_claim("job", "reading Directo failed: connection refused").unwrap();
    /// assert_eq!(state.runs("job", 1).unwrap()[0].status, sync_kit::RunStatus::Failed);
    /// ```
    pub fn claim_run(&self, job: &str, mode: Mode) -> Result<Begun, StateError> {
        // A claim of an earlier run that was never settled is this process's leftover: the
        // new row marks it interrupted.
        self.take_claim(job);
        let begun = self.begin_run(job, mode, None)?;
        if let Begun::Started(run) = begun {
            *self.claim_slot() = Some((job.to_owned(), run));
        }
        Ok(begun)
    }

    /// Ends the claimed run of `job` as failed with `error`, if no run adopted it (a no-op
    /// otherwise: a run that began ends its own row).
    pub fn fail_claim(&self, job: &str, error: &str) -> Result<(), StateError> {
        let Some(run) = self.take_claim(job) else {
            return Ok(());
        };
        let (mode, started_at): (String, String) = match self.pg() {
            Some(mut pg) => Self::pg_mode_and_start(&mut pg, run)?,
            None => self.conn().query_row(
                "SELECT mode, started_at FROM runs WHERE id = ?1",
                [run.0],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?,
        };
        let took = started_at
            .parse::<jiff::Timestamp>()
            .ok()
            .and_then(|t| jiff::Timestamp::now().duration_since(t).try_into().ok())
            .unwrap_or_default();
        let mode = match mode.as_str() {
            "replay_failed" => Mode::ReplayFailed,
            _ => Mode::Run,
        };
        let mut summary = Summary::new(job, mode);
        summary.aborted = Some(error.to_owned());
        summary.started_at = started_at;
        summary.finish(took);
        self.finish_run(run, &summary)
    }

    /// Ends the claimed run of `job` with `summary`, if no run adopted it (a job that made its
    /// summary without the pipeline); a no-op otherwise.
    pub fn finish_claim(&self, job: &str, summary: &Summary) -> Result<(), StateError> {
        match self.take_claim(job) {
            Some(run) => self.finish_run(run, summary),
            None => Ok(()),
        }
    }

    /// The claimed row of `job`, if there is one, given the run's mode and read-from point.
    fn adopt_claim(
        &self,
        job: &str,
        mode: Mode,
        read_from: Option<DateTime>,
    ) -> Result<Option<RunId>, StateError> {
        let Some(run) = self.take_claim(job) else {
            return Ok(None);
        };
        if let Some(mut pg) = self.pg() {
            Self::pg_adopt(&mut pg, run, mode, read_from)?;
            return Ok(Some(run));
        }
        self.conn().execute(
            "UPDATE runs SET mode = ?2, read_from = ?3, heartbeat_at = ?4 WHERE id = ?1",
            params![
                run.0,
                mode.as_str(),
                read_from.map(|r| r.to_string()),
                now()
            ],
        )?;
        Ok(Some(run))
    }

    fn take_claim(&self, job: &str) -> Option<RunId> {
        let mut slot = self.claim_slot();
        match slot.as_ref() {
            Some((claimed, run)) if claimed == job => {
                let run = *run;
                *slot = None;
                Some(run)
            }
            _ => None,
        }
    }

    fn claim_slot(&self) -> std::sync::MutexGuard<'_, Option<(String, RunId)>> {
        self.claimed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Another process's run of `job` that is still going (its process alive, or not
    /// checkable and its heartbeat fresh), if there is one: what [`begin_run`](Self::begin_run)
    /// would refuse to start next to. Read-only, so a binary checks it before anything else.
    pub fn running_elsewhere(&self, job: &str) -> Result<Option<RunRecord>, StateError> {
        if let Some(mut pg) = self.pg() {
            return self.pg_running_elsewhere(&mut pg, job);
        }
        let rows: Vec<RunRow> = {
            let conn = self.conn();
            let mut stmt = conn.prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE job = ?1 AND status = 'running' ORDER BY id"
            ))?;
            stmt.query_map([job], run_row)?.collect::<Result<_, _>>()?
        };
        Ok(rows
            .into_iter()
            .find(|row| self.liveness(row) != Liveness::Gone)
            .map(|row| row.run))
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
    /// counts so far, so a run that is killed shows how far it got. On PostgreSQL it also
    /// refreshes the job's lease, and fails with [`StateError::LeaseLost`] when another run
    /// has taken the job over: the run stops there.
    pub fn heartbeat(&self, run: RunId, summary: &Summary) -> Result<(), StateError> {
        if self.read_only {
            return Ok(());
        }
        if let Some(mut pg) = self.pg() {
            return self.pg_heartbeat(&mut pg, run, summary);
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
        if let Some(mut pg) = self.pg() {
            return self.pg_finish_run(&mut pg, run, summary);
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
        tx.commit().map_err(StateError::from)
    }

    /// The earliest read-from point of the job's normal runs that never completed and that no
    /// later completed run has covered: where the next run must start reading at the latest,
    /// so that nothing a killed, failed or interrupted run had started is skipped.
    pub fn unsettled_from(&self, job: &str) -> Result<Option<DateTime>, StateError> {
        if let Some(mut pg) = self.pg() {
            return Self::pg_unsettled_from(&mut pg, job);
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let earliest = unsettled(&tx, job)?.into_iter().map(|(_, from)| from).min();
        Ok(earliest)
    }

    /// The job's last `limit` runs, newest first. A `running` row whose process is gone reads as
    /// `interrupted`.
    pub fn runs(&self, job: &str, limit: usize) -> Result<Vec<RunRecord>, StateError> {
        let rows = match self.pg() {
            Some(mut pg) => Self::pg_runs(&mut pg, job, limit)?,
            None => {
                let conn = self.conn();
                let mut stmt = conn.prepare(&format!(
                    "SELECT {RUN_COLUMNS} FROM runs WHERE job = ?1 ORDER BY id DESC LIMIT ?2"
                ))?;
                stmt.query_map(params![job, limit as i64], run_row)?
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
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

    /// The skipped records listed by the job's newest run that listed any, if one did.
    pub fn last_skipped(&self, job: &str) -> Result<Option<SkippedInRun>, StateError> {
        if let Some(mut pg) = self.pg() {
            return Self::pg_last_skipped(&mut pg, job);
        }
        let row: Option<(i64, String, Option<i64>)> = self
            .conn()
            .query_row(
                "SELECT id, json_extract(summary, '$.skips'), json_extract(summary, '$.skips_left_out')
                 FROM runs
                 WHERE job = ?1 AND json_array_length(summary, '$.skips') > 0
                 ORDER BY id DESC LIMIT 1",
                [job],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        Ok(row.map(|(run, skips, left_out)| SkippedInRun {
            run,
            skips: serde_json::from_str(&skips).unwrap_or_default(),
            left_out: left_out.unwrap_or_default().max(0) as u64,
        }))
    }

    /// When the job's newest run that exited 0 (completed, nothing failed) ended (UTC, RFC
    /// 3339).
    pub fn last_success(&self, job: &str) -> Result<Option<String>, StateError> {
        if let Some(mut pg) = self.pg() {
            return Self::pg_last_success(&mut pg, job);
        }
        self.conn()
            .query_row(
                "SELECT finished_at FROM runs
                 WHERE job = ?1 AND mode IN ('run', 'replay_failed') AND status = 'completed'
                     AND json_extract(summary, '$.exit_code') = 0
                 ORDER BY id DESC LIMIT 1",
                [job],
                |row| row.get(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(StateError::from)
    }

    /// Sets the request count of the job's newest run (its row and its summary), once the
    /// binary knows every HTTP attempt the run made (see [`Summary::requests`]).
    pub fn set_last_run_requests(&self, job: &str, requests: u64) -> Result<(), StateError> {
        if self.read_only {
            return Ok(());
        }
        if let Some(mut pg) = self.pg() {
            return Self::pg_set_last_run_requests(&mut pg, job, requests);
        }
        self.conn().execute(
            "UPDATE runs SET requests = ?2,
                 summary = CASE WHEN summary IS NULL THEN NULL
                                ELSE json_set(summary, '$.requests', ?2) END
             WHERE id = (SELECT max(id) FROM runs WHERE job = ?1 AND mode <> 'discard_failed')",
            params![job, requests as i64],
        )?;
        Ok(())
    }

    /// Every job the state file holds anything of (runs, a watermark, snapshots, parked
    /// records), by name.
    pub fn jobs(&self) -> Result<Vec<String>, StateError> {
        if let Some(mut pg) = self.pg() {
            return Self::pg_jobs(&mut pg);
        }
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT job FROM runs UNION SELECT job FROM watermarks UNION SELECT job FROM failed
             UNION SELECT job FROM snapshots ORDER BY job",
        )?;
        stmt.query_map([], |row| row.get(0))?
            .collect::<Result<Vec<_>, rusqlite::Error>>()
            .map_err(StateError::from)
    }

    /// The number of runs logged for the job.
    pub fn run_count(&self, job: &str) -> Result<u64, StateError> {
        if let Some(mut pg) = self.pg() {
            return Self::pg_run_count(&mut pg, job);
        }
        self.conn()
            .query_row("SELECT COUNT(*) FROM runs WHERE job = ?1", [job], |row| {
                row.get::<_, i64>(0).map(|n| n as u64)
            })
            .map_err(StateError::from)
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
        discarded: row
            .get::<_, Option<String>>(19)?
            .and_then(|json| serde_json::from_str::<Vec<serde_json::Value>>(&json).ok())
            .unwrap_or_default()
            .iter()
            .filter_map(|f| f["key"].as_str().map(str::to_owned))
            .collect(),
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
