//! The views that replace a run: `--status` (a health check: exit 0 healthy, 1 when the job's
//! last run failed or was interrupted or records are parked, 2 when the state file or the job
//! does not exist) and `--discard-failed`; and the check, before any request, that no other
//! live process runs the job.

use crate::state::pg::PgUrl;
use jiff::civil::DateTime;

use crate::cli::{CommonArgs, report_error};
use crate::config::JobConfig;
use crate::error::already_running;
use crate::error::{Error, ExitCode};
use crate::state::{FailedRecord, RunRecord, SkippedInRun, StateStore};
use crate::summary::Mode;

/// How many runs `--status` lists.
pub const STATUS_RUNS: usize = crate::state::RECENT_RUNS;

/// `--status` or `--discard-failed`, if the flags ask for one: opens the state file (see
/// [`CommonArgs::open_state`]: `--status` never writes, and neither creates a missing file),
/// shows or changes the state of `job` instead of running it, and returns the exit code
/// (`None`: run the job). A binary calls it as soon as it knows its job's name, before it
/// checks input files or credentials, which a view of the state does not need.
pub fn inspect(args: &CommonArgs, job: &JobConfig) -> Option<ExitCode> {
    if !args.status && args.discard_failed.is_empty() {
        return match not_running_elsewhere(args, job) {
            Ok(()) => None,
            Err(e) => Some(report_error(args.json, &e)),
        };
    }
    if args.status
        && let Some(path) = args
            .state_path()
            .filter(|p| !p.exists() && !PgUrl::is_url(&p.to_string_lossy()))
    {
        let e = Error::Config(format!(
            "no state file at {}: no run of {} was logged there (check --state or SYNC_STATE)",
            path.display(),
            job.name
        ));
        return Some(report_error(args.json, &e));
    }
    let shown = args.open_state().and_then(|state| {
        if args.status {
            status(args, job, &state)
        } else {
            discard(args, job, &state).map(|()| ExitCode::Success)
        }
    });
    Some(match shown {
        Ok(code) => code,
        Err(e) => report_error(args.json, &e),
    })
}

/// Refuses a run (not a dry run) while another live process runs the job in the same state
/// file: checked when [`inspect`] is called, before any request (the run's own row is written
/// later, and checks again).
fn not_running_elsewhere(args: &CommonArgs, job: &JobConfig) -> Result<(), Error> {
    if let Some(url) = args.state_url()? {
        if args.dry_run {
            return Ok(());
        }
        let state = StateStore::open_postgres(&url, true)?;
        return match state.running_elsewhere(&job.name)? {
            Some(other) => Err(already_running(&job.name, &other)),
            None => Ok(()),
        };
    }
    let Some(path) = args.state_path().filter(|p| !args.dry_run && p.exists()) else {
        return Ok(());
    };
    let state = StateStore::open_read_only(&path)
        .map_err(|e| Error::Config(format!("cannot open state file {}: {e}", path.display())))?;
    match state.running_elsewhere(&job.name)? {
        Some(other) => Err(already_running(&job.name, &other)),
        None => Ok(()),
    }
}

/// What `--status` shows; in JSON one line with `"kind": "status"`.
#[derive(Debug, serde::Serialize)]
#[serde(tag = "kind", rename = "status")]
struct Status {
    job: String,
    state: String,
    watermark: Option<String>,
    watermark_updated_at: Option<String>,
    /// Where the next run without `--since` starts reading (none before a first run).
    next_read_from: Option<String>,
    runs: Vec<RunRecord>,
    parked_total: usize,
    parked: Vec<FailedRecord>,
    /// The records the newest run that skipped any listed by key.
    last_skipped: Option<SkippedInRun>,
    /// The job's health: the exit code of `--status` and why it is not 0.
    health: Health,
    /// Every job in the state file, with its last run and parked records.
    jobs: Vec<JobLine>,
}

/// A job's health, as `--status` exits with it.
#[derive(Debug, serde::Serialize)]
struct Health {
    #[serde(flatten, serialize_with = "crate::summary::exit_fields")]
    exit_code: ExitCode,
    /// Why the job is not healthy (empty when it is).
    problems: Vec<String>,
}

/// One job of the state file, in `--status`'s list of them.
#[derive(Debug, serde::Serialize)]
struct JobLine {
    job: String,
    last_run_status: Option<crate::RunStatus>,
    last_run_started_at: Option<String>,
    parked: u64,
}

/// The job's health from its runs (newest first; a discard is no run of the job's data) and
/// its parked records.
fn health(runs: &[RunRecord], parked: usize) -> Health {
    let mut problems = Vec::new();
    if let Some(last) = runs.iter().find(|r| r.mode != Mode::DiscardFailed.as_str()) {
        let why = last
            .aborted
            .as_deref()
            .map(|a| format!(": {a}"))
            .unwrap_or_default();
        match last.status {
            crate::RunStatus::Failed => {
                problems.push(format!("the last run failed (run {}{why})", last.id))
            }
            crate::RunStatus::Interrupted => problems.push(format!(
                "the last run was interrupted (run {}{why})",
                last.id
            )),
            crate::RunStatus::Running | crate::RunStatus::Completed => {}
        }
    }
    if parked > 0 {
        problems.push(format!(
            "{} parked (send again with --replay-failed)",
            crate::summary::count(parked as u64, "record")
        ));
    }
    Health {
        exit_code: if problems.is_empty() {
            ExitCode::Success
        } else {
            ExitCode::Failed
        },
        problems,
    }
}

fn status(args: &CommonArgs, job: &JobConfig, state: &StateStore) -> Result<ExitCode, Error> {
    let jobs = state.jobs()?;
    if !jobs.contains(&job.name) && args.state_path().is_some() {
        return Err(Error::Config(format!(
            "job {} has no runs in {} (jobs there: {}; the job's name comes from [job] name in \
             --config)",
            job.name,
            args.state_description(),
            if jobs.is_empty() {
                "none".to_owned()
            } else {
                jobs.join(", ")
            }
        )));
    }
    let next = crate::read_from(state, job, None, DateTime::MAX)?;
    let parked = state.failed(&job.name)?;
    let runs = state.runs(&job.name, STATUS_RUNS)?;
    let mut lines = Vec::with_capacity(jobs.len());
    for name in jobs {
        let last = state.runs(&name, 1)?.into_iter().next();
        lines.push(JobLine {
            parked: state.failed_count(&name)?,
            last_run_status: last.as_ref().map(|r| r.status),
            last_run_started_at: last.map(|r| r.started_at),
            job: name,
        });
    }
    let status = Status {
        job: job.name.clone(),
        state: args.state_description(),
        watermark: state.watermark(&job.name)?.map(|w| w.to_string()),
        watermark_updated_at: state.watermark_updated_at(&job.name)?,
        next_read_from: (next != DateTime::MAX).then(|| next.to_string()),
        health: health(&runs, parked.len()),
        runs,
        parked_total: parked.len(),
        parked,
        last_skipped: state.last_skipped(&job.name)?,
        jobs: lines,
    };
    if args.json {
        crate::output::out(serde_json::to_string(&status).unwrap_or_default());
    } else {
        crate::output::out_raw(status_table(&status));
    }
    Ok(status.health.exit_code)
}

fn status_table(status: &Status) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{} — status ({})", status.job, status.state);
    let health = match status.health.problems.as_slice() {
        [] => "ok".to_owned(),
        problems => format!("FAILING: {}", problems.join("; ")),
    };
    let _ = writeln!(out, "  health           {health}");
    let completed = status
        .runs
        .iter()
        .any(|r| r.status == crate::RunStatus::Completed && r.mode == Mode::Run.as_str());
    let watermark = match (&status.watermark, &status.watermark_updated_at) {
        (Some(w), Some(at)) => format!("{w} (source time; stored {})", to_the_second(at)),
        (Some(w), None) => w.clone(),
        // A source without change times (a file) is read whole by every run.
        (None, _) if completed => "none kept (the source is read whole by every run)".to_owned(),
        (None, _) => "none (no completed run yet)".to_owned(),
    };
    let _ = writeln!(out, "  watermark        {watermark}");
    if let Some(next) = &status.next_read_from {
        let _ = writeln!(out, "  next run reads   from {next}");
    }
    let _ = writeln!(out, "  parked           {}", status.parked_total);
    if status.runs.is_empty() {
        let _ = writeln!(out, "\n  no runs logged yet");
    } else {
        let _ = writeln!(out, "\n  last runs, newest first:");
        let _ = writeln!(
            out,
            "    {:>5}  {:<20}  {:>9}  {:<14}  {:<11}  {:>7}  {:>8}  {:>9}  {:>6}  {:>7}",
            "run",
            "started",
            "took",
            "mode",
            "status",
            "read",
            "filtered",
            "delivered",
            "failed",
            "skipped"
        );
        for run in &status.runs {
            let took = run
                .elapsed_secs
                .map_or_else(|| "-".to_owned(), |s| format!("{s:.2} s"));
            let _ = writeln!(
                out,
                "    {:>5}  {:<20}  {:>9}  {:<14}  {:<11}  {:>7}  {:>8}  {:>9}  {:>6}  {:>7}",
                run.id,
                to_the_second(&run.started_at),
                took,
                run.mode,
                run.status.as_str(),
                run.read,
                run.filtered,
                run.delivered,
                run.failed,
                run.skipped
            );
            if let Some(from) = &run.read_from {
                let resumed = run
                    .resumed_by
                    .map(|id| format!("; resumed by run {id}"))
                    .unwrap_or_default();
                let _ = writeln!(out, "           read from {from}{resumed}");
            }
            if let Some(why) = &run.aborted {
                let _ = writeln!(out, "           {why}");
            }
            if !run.discarded.is_empty() {
                let _ = writeln!(out, "           discarded {}", run.discarded.join(", "));
            }
        }
    }
    if let Some(skipped) = &status.last_skipped {
        let total = skipped.skips.len() as u64 + skipped.left_out;
        let _ = writeln!(
            out,
            "\n  skipped in run {} (not sent; first {} of {total}, --json lists {}{}):",
            skipped.run,
            total.min(20),
            skipped.skips.len(),
            if skipped.left_out > 0 {
                format!(", {} left out", skipped.left_out)
            } else {
                String::new()
            }
        );
        for s in skipped.skips.iter().take(20) {
            let _ = writeln!(out, "    {:<32}  {}", s.key, s.reason);
        }
    }
    if status.jobs.len() > 1 {
        let _ = writeln!(out, "\n  jobs in this state file:");
        for j in &status.jobs {
            let last = match (&j.last_run_status, &j.last_run_started_at) {
                (Some(st), Some(at)) => format!("last run {} {}", st.as_str(), to_the_second(at)),
                _ => "no runs".to_owned(),
            };
            let _ = writeln!(out, "    {:<32}  {last}; {} parked", j.job, j.parked);
        }
    }
    if !status.parked.is_empty() {
        let _ = writeln!(
            out,
            "\n  parked records (send again with --replay-failed, drop one with --discard-failed KEY):"
        );
        let _ = writeln!(
            out,
            "    {:<32}  {:>8}  {:<20}  {:<20}  error",
            "key", "attempts", "first failed", "last failed"
        );
        for f in status.parked.iter().take(20) {
            let _ = writeln!(
                out,
                "    {:<32}  {:>8}  {:<20}  {:<20}  {}",
                f.key,
                f.attempts,
                to_the_second(&f.first_failed_at),
                to_the_second(&f.last_failed_at),
                f.error
            );
        }
        if status.parked.len() > 20 {
            let _ = writeln!(
                out,
                "    … and {} more (all are in --json)",
                status.parked.len() - 20
            );
        }
    }
    out
}

/// An RFC 3339 UTC time shown to the second (`2026-01-10T10:00:05Z`).
fn to_the_second(at: &str) -> String {
    at.parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| at.to_owned())
}

fn discard(args: &CommonArgs, job: &JobConfig, state: &StateStore) -> Result<(), Error> {
    let parked: Vec<String> = state
        .failed(&job.name)?
        .into_iter()
        .map(|f| f.key)
        .collect();
    let unknown: Vec<&String> = args
        .discard_failed
        .iter()
        .filter(|k| !parked.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(Error::Config(format!(
            "not parked in job {}: {} (see --status)",
            job.name,
            unknown
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let discarded = state.discard_failed(&job.name, &args.discard_failed)?;
    if args.json {
        crate::output::out(
            serde_json::json!({ "kind": "discarded", "job": job.name, "discarded": discarded }),
        );
    } else {
        for f in &discarded {
            crate::output::out(format_args!(
                "discarded {} (parked since {}, {}, last error: {})",
                f.key,
                f.first_failed_at,
                crate::summary::count(f.attempts.into(), "attempt"),
                f.error
            ));
        }
    }
    tracing::info!(job = %job.name, count = discarded.len(), "parked records discarded");
    Ok(())
}
