//! A run and a replay, from the row written when they start to the row ended with their
//! summary.

use std::time::Instant;

use futures::stream::Stream;
use jiff::civil::DateTime;

use super::phases::pump;
use super::{RunContext, Sink, SourceRecord, Verdict};
use crate::config::DuplicateKeys;
use crate::error::{BoxError, Error};
use crate::state::{Begun, RunId, StateStore};
use crate::summary::{Mode, Summary};

/// Runs the pipeline over `source` into `sink` and returns what happened.
///
/// - The run's row is written to the run log first (`running`, with `read_from`); a second
///   process running the same job is refused.
/// - The source is read to its end into a staging area, one item per key: when several records
///   map to one key, `job.duplicate_keys` picks the one delivered, and the others are filtered
///   (`shares key <key> with <id>`).
/// - A sink that [screens](Sink::SCREENS) then learns what it needs about the staged keys it
///   never delivered, and may skip some of them ([`Sink::screen`]).
/// - Batches of `job.batch_size` are then delivered with up to `job.concurrency` in flight;
///   items that fail retryably are retried per `job.retry`; what still fails is parked in the
///   state store. Each batch's outcomes are committed as soon as the batch finishes, so a killed
///   run resumes without re-sending what was delivered (unchanged records are skipped).
/// - The watermark is advanced only when the whole source was read and every record was
///   delivered, filtered, skipped or parked: the source's order is not assumed, so no earlier
///   point is safe. A run that does not get there leaves its `read_from` unsettled, and the
///   next run reads from there (see [`read_from`](fn@crate::read_from)).
/// - A stop ([`RunContext::stop`]) ends reading, lets the batches in flight settle and records
///   them, and ends the run as interrupted.
///
/// A source error aborts the run (in-flight batches still finish and are recorded) and is
/// reported in [`Summary::aborted`]; only errors of the state store, of the sink's screening
/// and of its [`finish`](Sink::finish) are returned as `Err` (the run is logged as failed).
pub async fn run<S, K>(mut ctx: RunContext<'_>, source: S, sink: &K) -> Result<Summary, Error>
where
    S: Stream<Item = Result<SourceRecord, BoxError>>,
    K: Sink,
{
    let mode = if ctx.dry_run { Mode::DryRun } else { Mode::Run };
    let mut summary = Summary::new(&ctx.job.name, mode);
    summary.read_from = ctx.read_from.map(|d| d.to_string());
    let before = ctx.state.watermark(&ctx.job.name)?;
    summary.watermark_before = before.map(|d| d.to_string());
    let mut highest = None;
    let skip_unchanged = ctx.job.skip_unchanged && !ctx.force;

    let run = begin(&ctx, Mode::Run)?;
    let started = Instant::now();
    let pumped = pump(
        &mut ctx,
        &mut summary,
        source,
        sink,
        skip_unchanged,
        &mut highest,
        run,
    )
    .await;
    let finished = match pumped {
        Ok(finished) => finished,
        Err(e) => return Err(fail(&ctx, run, summary, e)),
    };

    if finished && !ctx.dry_run {
        let mut after = next_watermark(before, ctx.read_from, highest, ctx.job.overlap);
        if let (Some(a), Some(until)) = (after, ctx.read_until)
            && a > until
        {
            tracing::warn!(
                job = %ctx.job.name,
                newest = %a,
                "the source reported a change time after the read started ({until}); the \
                 watermark stops at {until}"
            );
            after = Some(until);
        }
        if let Some(watermark) = after {
            ctx.state.set_watermark(&ctx.job.name, watermark)?;
        }
        summary.watermark_after = after.map(|d| d.to_string());
    } else {
        summary.watermark_after = summary.watermark_before.clone();
    }
    conclude(ctx, summary, started, sink, run).await
}

/// Where a completed run leaves the watermark: the newest change time it read, even when that
/// is earlier than the stored watermark (an explicit `--since` earlier than the watermark
/// moves it back, and a watermark left in the future is corrected). A run that read no change
/// time keeps the stored watermark unless it read from earlier than the watermark minus the
/// overlap (then the watermark moves back so the next run reads from the same point); a first
/// run that read nothing starts it at its read-from point.
fn next_watermark(
    before: Option<DateTime>,
    read_from: Option<DateTime>,
    highest: Option<DateTime>,
    overlap: std::time::Duration,
) -> Option<DateTime> {
    if highest.is_some() {
        return highest;
    }
    match (before, read_from) {
        (Some(before), Some(from)) => {
            let overlap = jiff::SignedDuration::try_from(overlap).unwrap_or_default();
            Some(before.min(from.checked_add(overlap).unwrap_or(DateTime::MAX)))
        }
        (None, from) => from,
        (before, None) => before,
    }
}

/// Sends the job's parked failures again (`--replay-failed`). Delivered ones are removed from the
/// failed table; failures get their attempt count and error updated. The watermark is untouched.
pub async fn replay_failed<K: Sink>(ctx: RunContext<'_>, sink: &K) -> Result<Summary, Error> {
    let mut ctx = ctx;
    let parked = ctx.state.failed(&ctx.job.name)?;
    let mut summary = Summary::new(&ctx.job.name, Mode::ReplayFailed);
    if ctx.dry_run {
        summary.mode = Mode::DryRun;
    }
    let before = ctx.state.watermark(&ctx.job.name)?.map(|d| d.to_string());
    summary.watermark_before = before.clone();
    summary.watermark_after = before;
    let source = futures::stream::iter(parked.into_iter().map(|record| {
        Ok(SourceRecord {
            id: record.key.clone(),
            watermark: None,
            verdict: Verdict::Send(vec![record.item()]),
        })
    }));
    let run = begin(&ctx, Mode::ReplayFailed)?;
    let started = Instant::now();
    let mut ignored = None;
    if let Err(e) = pump(
        &mut ctx,
        &mut summary,
        source,
        sink,
        false,
        &mut ignored,
        run,
    )
    .await
    {
        return Err(fail(&ctx, run, summary, e));
    }
    conclude(ctx, summary, started, sink, run).await
}

/// Writes the run's row (`None` for a dry run), or refuses when another process runs the job.
fn begin(ctx: &RunContext<'_>, mode: Mode) -> Result<Option<RunId>, Error> {
    match ctx.state.begin_run(&ctx.job.name, mode, ctx.read_from)? {
        Begun::Started(run) => Ok(Some(run)),
        Begun::ReadOnly => Ok(None),
        Begun::AlreadyRunning(other) => Err(crate::error::already_running(&ctx.job.name, &other)),
    }
}

/// Ends the run's row as failed with `error` (best effort: the error is what is returned).
fn fail(ctx: &RunContext<'_>, run: Option<RunId>, mut summary: Summary, error: Error) -> Error {
    if let Some(run) = run {
        summary.aborted = Some(error.one_line());
        summary.finish(std::time::Duration::ZERO);
        if let Err(e) = ctx.state.finish_run(run, &summary) {
            tracing::error!(job = %ctx.job.name, "cannot record the failed run: {e}");
        }
    }
    error
}

async fn conclude<K: Sink>(
    mut ctx: RunContext<'_>,
    mut summary: Summary,
    started: Instant,
    sink: &K,
    run: Option<RunId>,
) -> Result<Summary, Error> {
    if !ctx.dry_run {
        if let Err(e) = sink.finish(&mut summary).await {
            return Err(fail(&ctx, run, summary, e));
        }
        if let Err(e) = attempts_held(ctx.state, &ctx.job.name, &mut summary) {
            return Err(fail(&ctx, run, summary, e));
        }
    }
    ctx.progress.update(&summary);
    ctx.progress.finish();
    summary.parked_total = ctx.state.failed_count(&ctx.job.name)?;
    summary.finish(started.elapsed());
    if ctx.job.duplicate_keys == DuplicateKeys::Fail
        && summary.duplicate_keys > 0
        && summary.exit_code == crate::ExitCode::Success
    {
        summary.exit_code = crate::ExitCode::Failed;
    }
    if let Some(run) = run {
        ctx.state.finish_run(run, &summary)?;
    }
    Ok(summary)
}

/// Gives each listed failure the attempts the state file holds for it (earlier runs' and
/// replays' included), so a replay's summary says how often the record has failed in all.
fn attempts_held(state: &StateStore, job: &str, summary: &mut Summary) -> Result<(), Error> {
    if summary.failures.is_empty() {
        return Ok(());
    }
    let held: std::collections::HashMap<String, u32> = state
        .failed(job)?
        .into_iter()
        .map(|f| (f.key, f.attempts))
        .collect();
    for failure in &mut summary.failures {
        if let Some(&attempts) = held.get(&failure.key) {
            failure.attempts = attempts;
        }
    }
    Ok(())
}
