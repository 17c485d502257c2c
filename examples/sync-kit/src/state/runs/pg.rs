//! The run log on PostgreSQL: the same rows and rules as the SQLite one (the parent module),
//! with the start of a run serialised per job across hosts (`pg_advisory_xact_lock`) and the
//! job's lease ([`PgState::take_lease`](crate::state::pg::PgState::take_lease)) taken in the
//! same transaction.

use jiff::civil::DateTime;
use postgres::{GenericClient, Row};

use super::{Begun, RunId, RunRecord, RunRow, SkippedInRun, gone_reason};
use crate::process::{Liveness, ProcessId};
use crate::state::pg::{Lease, PgError, PgState, beat_in, take_lease_in};
use crate::state::{StateStore, now};
use crate::summary::{Mode, RunStatus, Summary};

const RUN_COLUMNS: &str = "id, mode, status, started_at, finished_at, read_from, read, filtered,
    delivered, failed, skipped, requests, aborted, pid, host, process_started, heartbeat_at,
    settled_by, (summary->>'elapsed_secs')::float8, (summary->'discarded')::text";

/// A key for `pg_advisory_xact_lock` per job: runs of one job start one at a time.
const START_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtextextended('sync-kit run ' || $1, 0))";

fn run_row(row: &Row) -> RunRow {
    let count = |i: usize| row.get::<_, i64>(i).max(0) as u64;
    let status: String = row.get(2);
    let started_at: String = row.get(3);
    let finished_at: Option<String> = row.get(4);
    let pid: Option<i64> = row.get(13);
    let host: Option<String> = row.get(14);
    let process = pid.zip(host).map(|(pid, host)| ProcessId {
        pid: pid as u32,
        host,
        started: row.get(15),
    });
    let elapsed_secs = row.get::<_, Option<f64>>(18).or_else(|| {
        let start: jiff::Timestamp = started_at.parse().ok()?;
        let end: jiff::Timestamp = finished_at.as_deref()?.parse().ok()?;
        Some(end.duration_since(start).as_secs_f64())
    });
    let run = RunRecord {
        id: row.get(0),
        mode: row.get(1),
        status: RunStatus::parse(&status),
        started_at,
        finished_at,
        elapsed_secs,
        read_from: row.get(5),
        read: count(6),
        filtered: count(7),
        delivered: count(8),
        failed: count(9),
        skipped: count(10),
        requests: count(11),
        aborted: row.get(12),
        process: process.as_ref().map(|p| {
            let name = p.host.split('/').next().unwrap_or(&p.host);
            format!("pid {} on {name}", p.pid)
        }),
        resumed_by: row.get(17),
        discarded: row
            .get::<_, Option<String>>(19)
            .and_then(|json| serde_json::from_str::<Vec<serde_json::Value>>(&json).ok())
            .unwrap_or_default()
            .iter()
            .filter_map(|f| f["key"].as_str().map(str::to_owned))
            .collect(),
    };
    RunRow {
        run,
        process,
        heartbeat_at: row.get(16),
    }
}

fn running(client: &mut impl GenericClient, job: &str) -> Result<Vec<RunRow>, postgres::Error> {
    Ok(client
        .query(
            &format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE job = $1 AND status = 'running' ORDER BY id"
            ),
            &[&job],
        )?
        .iter()
        .map(run_row)
        .collect())
}

fn unsettled(
    client: &mut impl GenericClient,
    job: &str,
) -> Result<Vec<(i64, DateTime)>, postgres::Error> {
    Ok(client
        .query(
            "SELECT id, read_from FROM runs
             WHERE job = $1 AND mode = 'run' AND status <> 'completed' AND settled_by IS NULL
                 AND read_from IS NOT NULL",
            &[&job],
        )?
        .iter()
        .filter_map(|r| Some((r.get(0), r.get::<_, String>(1).parse().ok()?)))
        .collect())
}

fn counts(summary: &Summary) -> [i64; 6] {
    [
        summary.read as i64,
        summary.filtered as i64,
        summary.delivered as i64,
        summary.failed as i64,
        summary.skipped as i64,
        summary.requests as i64,
    ]
}

impl StateStore {
    /// [`begin_run`](Self::begin_run) on PostgreSQL: under the job's start lock, leftovers of
    /// gone processes marked interrupted, a live run refused, else the row written and the
    /// job's lease taken, all in one transaction.
    pub(super) fn pg_begin_run(
        &self,
        pg: &mut PgState,
        job: &str,
        mode: Mode,
        read_from: Option<DateTime>,
    ) -> Result<Begun, StateError> {
        let process = self.process.clone();
        let read_from = read_from.map(|r| r.to_string());
        pg.with_client(|client| {
            let mut tx = client.transaction()?;
            tx.execute(START_LOCK, &[&job])?;
            for row in running(&mut tx, job)? {
                match self.liveness(&row) {
                    Liveness::Gone => {
                        let reason = gone_reason(&row.run);
                        tx.execute(
                            "UPDATE runs SET status = 'interrupted', aborted = $2 WHERE id = $1",
                            &[&row.run.id, &reason],
                        )?;
                        tracing::warn!(job, run = row.run.id, started_at = %row.run.started_at, "{reason}");
                    }
                    Liveness::Alive | Liveness::Unknown => {
                        return Ok(Begun::AlreadyRunning(Box::new(row.run)));
                    }
                }
            }
            let at = now();
            let id: i64 = tx
                .query_one(
                    "INSERT INTO runs (job, mode, status, started_at, heartbeat_at, read_from,
                                       pid, host, process_started)
                     VALUES ($1, $2, 'running', $3, $3, $4, $5, $6, $7) RETURNING id",
                    &[
                        &job,
                        &mode.as_str(),
                        &at,
                        &read_from,
                        &i64::from(process.pid),
                        &process.host,
                        &process.started,
                    ],
                )?
                .get(0);
            match take_lease_in(&mut tx, &process, job, id)? {
                Lease::Taken => {}
                Lease::Held(holder) => {
                    // A live holder without a live run row (its row was removed by hand):
                    // still refused, named by the lease.
                    return Ok(Begun::AlreadyRunning(Box::new(RunRecord {
                        id: 0,
                        mode: mode.as_str().to_owned(),
                        status: RunStatus::Running,
                        started_at: holder.started_at.clone(),
                        finished_at: None,
                        elapsed_secs: None,
                        read_from: None,
                        read: 0,
                        filtered: 0,
                        delivered: 0,
                        failed: 0,
                        skipped: 0,
                        requests: 0,
                        aborted: None,
                        process: Some(format!("pid {} on {}", holder.pid, holder.host)),
                        resumed_by: None,
                        discarded: Vec::new(),
                    })));
                }
            }
            tx.commit()?;
            Ok::<_, PgError>(Begun::Started(RunId(id)))
        })
        .map_err(StateError::from)
    }

    pub(super) fn pg_adopt(
        pg: &mut PgState,
        run: RunId,
        mode: Mode,
        read_from: Option<DateTime>,
    ) -> Result<(), StateError> {
        let read_from = read_from.map(|r| r.to_string());
        pg.with_client(|c| {
            c.execute(
                "UPDATE runs SET mode = $2, read_from = $3, heartbeat_at = $4 WHERE id = $1",
                &[&run.0, &mode.as_str(), &read_from, &now()],
            )
        })
        .map_err(PgError::from)?;
        Ok(())
    }

    pub(super) fn pg_mode_and_start(
        pg: &mut PgState,
        run: RunId,
    ) -> Result<(String, String), StateError> {
        let row = pg
            .with_client(|c| {
                c.query_one("SELECT mode, started_at FROM runs WHERE id = $1", &[&run.0])
            })
            .map_err(PgError::from)?;
        Ok((row.get(0), row.get(1)))
    }

    pub(super) fn pg_running_elsewhere(
        &self,
        pg: &mut PgState,
        job: &str,
    ) -> Result<Option<RunRecord>, StateError> {
        let rows = pg.with_client(|c| running(c, job)).map_err(PgError::from)?;
        Ok(rows
            .into_iter()
            .find(|row| self.liveness(row) != Liveness::Gone)
            .map(|row| row.run))
    }

    /// The heartbeat of the run's row and of the job's lease, in one transaction;
    /// [`StateError::LeaseLost`] when this process no longer holds the lease.
    pub(super) fn pg_heartbeat(
        &self,
        pg: &mut PgState,
        run: RunId,
        summary: &Summary,
    ) -> Result<(), StateError> {
        let [read, filtered, delivered, failed, skipped, requests] = counts(summary);
        let process = self.process.clone();
        let lost = pg.with_client(|c| {
            let mut tx = c.transaction()?;
            let job: String = tx
                .query_one(
                    "UPDATE runs SET heartbeat_at = $2, read = $3, filtered = $4, delivered = $5,
                         failed = $6, skipped = $7, requests = $8
                     WHERE id = $1 RETURNING job",
                    &[
                        &run.0,
                        &now(),
                        &read,
                        &filtered,
                        &delivered,
                        &failed,
                        &skipped,
                        &requests,
                    ],
                )?
                .get(0);
            let lost = if beat_in(&mut tx, &process, &job)? {
                None
            } else {
                let holder = tx
                    .query_opt(
                        "SELECT pid, host FROM leases WHERE job = $1 AND pid IS NOT NULL",
                        &[&job],
                    )?
                    .map_or_else(
                        || "nobody".to_owned(),
                        // The host as `Holder` names it: without the boot id.
                        |row| {
                            let host: String = row.get(1);
                            let host = host.split('/').next().unwrap_or_default();
                            format!("pid {} on {host}", row.get::<_, i64>(0))
                        },
                    );
                Some(StateError::LeaseLost { job, holder })
            };
            tx.commit()?;
            Ok::<_, PgError>(lost)
        })?;
        lost.map_or(Ok(()), Err)
    }

    /// Ends the run's row (settling earlier unfinished runs it covered) and gives up the job's
    /// lease, in one transaction.
    pub(super) fn pg_finish_run(
        &self,
        pg: &mut PgState,
        run: RunId,
        summary: &Summary,
    ) -> Result<(), StateError> {
        let json = serde_json::to_string(summary).unwrap_or_default();
        let [read, filtered, delivered, failed, skipped, requests] = counts(summary);
        let process = self.process.clone();
        let read_from = summary
            .read_from
            .as_deref()
            .and_then(|r| r.parse::<DateTime>().ok());
        pg.with_client(|c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "UPDATE runs SET status = $2, finished_at = $3, heartbeat_at = $3, read = $4,
                     filtered = $5, delivered = $6, failed = $7, skipped = $8, requests = $9,
                     aborted = $10, summary = ($11::text)::jsonb
                 WHERE id = $1",
                &[
                    &run.0,
                    &summary.status.as_str(),
                    &now(),
                    &read,
                    &filtered,
                    &delivered,
                    &failed,
                    &skipped,
                    &requests,
                    &summary.aborted,
                    &json,
                ],
            )?;
            if summary.status == RunStatus::Completed
                && summary.mode == Mode::Run
                && let Some(read_from) = read_from
            {
                for (id, from) in unsettled(&mut tx, &summary.job)? {
                    if id < run.0 && from >= read_from {
                        tx.execute(
                            "UPDATE runs SET settled_by = $2 WHERE id = $1",
                            &[&id, &run.0],
                        )?;
                    }
                }
            }
            tx.execute(
                "UPDATE leases SET run_id = NULL, pid = NULL, host = NULL, process_started = NULL,
                     started_at = NULL, heartbeat_at = NULL
                 WHERE job = $1 AND run_id = $2 AND pid = $3 AND host = $4",
                &[&summary.job, &run.0, &i64::from(process.pid), &process.host],
            )?;
            tx.commit()
        })
        .map_err(PgError::from)?;
        Ok(())
    }

    pub(super) fn pg_unsettled_from(
        pg: &mut PgState,
        job: &str,
    ) -> Result<Option<DateTime>, StateError> {
        let rows = pg
            .with_client(|c| unsettled(c, job))
            .map_err(PgError::from)?;
        Ok(rows.into_iter().map(|(_, from)| from).min())
    }

    pub(super) fn pg_runs(
        pg: &mut PgState,
        job: &str,
        limit: usize,
    ) -> Result<Vec<RunRow>, StateError> {
        let limit = limit as i64;
        let rows = pg
            .with_client(|c| {
                c.query(
                    &format!(
                        "SELECT {RUN_COLUMNS} FROM runs WHERE job = $1 ORDER BY id DESC LIMIT $2"
                    ),
                    &[&job, &limit],
                )
            })
            .map_err(PgError::from)?;
        Ok(rows.iter().map(run_row).collect())
    }

    pub(super) fn pg_last_skipped(
        pg: &mut PgState,
        job: &str,
    ) -> Result<Option<SkippedInRun>, StateError> {
        let row = pg
            .with_client(|c| {
                c.query_opt(
                    "SELECT id, (summary->'skips')::text, (summary->>'skips_left_out')::bigint
                     FROM runs
                     WHERE job = $1 AND jsonb_typeof(summary->'skips') = 'array'
                         AND jsonb_array_length(summary->'skips') > 0
                     ORDER BY id DESC LIMIT 1",
                    &[&job],
                )
            })
            .map_err(PgError::from)?;
        Ok(row.map(|row| SkippedInRun {
            run: row.get(0),
            skips: serde_json::from_str(row.get(1)).unwrap_or_default(),
            left_out: row.get::<_, Option<i64>>(2).unwrap_or_default().max(0) as u64,
        }))
    }

    pub(super) fn pg_last_success(
        pg: &mut PgState,
        job: &str,
    ) -> Result<Option<String>, StateError> {
        let row = pg
            .with_client(|c| {
                c.query_opt(
                    "SELECT finished_at FROM runs
                     WHERE job = $1 AND mode IN ('run', 'replay_failed') AND status = 'completed'
                         AND (summary->>'exit_code')::bigint = 0
                     ORDER BY id DESC LIMIT 1",
                    &[&job],
                )
            })
            .map_err(PgError::from)?;
        Ok(row.and_then(|r| r.get(0)))
    }

    pub(super) fn pg_set_last_run_requests(
        pg: &mut PgState,
        job: &str,
        requests: u64,
    ) -> Result<(), StateError> {
        let requests = requests as i64;
        pg.with_client(|c| {
            c.execute(
                "UPDATE runs SET requests = $2,
                     summary = CASE WHEN summary IS NULL THEN NULL
                                    ELSE jsonb_set(summary, '{requests}', to_jsonb($2::bigint)) END
                 WHERE id = (SELECT max(id) FROM runs WHERE job = $1 AND mode <> 'discard_failed')",
                &[&job, &requests],
            )
        })
        .map_err(PgError::from)?;
        Ok(())
    }

    pub(super) fn pg_jobs(pg: &mut PgState) -> Result<Vec<String>, StateError> {
        let rows = pg
            .with_client(|c| {
                c.query(
                    "SELECT job FROM runs UNION SELECT job FROM watermarks
                     UNION SELECT job FROM failed UNION SELECT job FROM snapshots ORDER BY job",
                    &[],
                )
            })
            .map_err(PgError::from)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub(super) fn pg_run_count(pg: &mut PgState, job: &str) -> Result<u64, StateError> {
        let n: i64 = pg
            .with_client(|c| c.query_one("SELECT count(*) FROM runs WHERE job = $1", &[&job]))
            .map_err(PgError::from)?
            .get(0);
        Ok(n as u64)
    }
}

use crate::state::StateError;
