//! The phases of a run before delivery: reading the source into the staging area, and the
//! sink's screening of the keys it never delivered.

use std::collections::{HashMap, HashSet};
use std::pin::pin;

use futures::stream::{Stream, StreamExt};
use jiff::civil::DateTime;

use super::deliver::deliver;
use super::{RunContext, Sink, SourceRecord, Verdict};
use crate::error::{BoxError, Error};
use crate::process::HEARTBEAT;
use crate::staging::Staging;
use crate::state::{RunId, StateStore};
use crate::summary::{DUPLICATE_KEY, Summary};

/// Reads the source into the staging area, then delivers and records what it holds. Returns
/// whether the source was read to its end and everything settled (no error, no stop).
pub(super) async fn pump<S, K>(
    ctx: &mut RunContext<'_>,
    summary: &mut Summary,
    source: S,
    sink: &K,
    skip_unchanged: bool,
    highest: &mut Option<DateTime>,
    run: Option<RunId>,
) -> Result<bool, Error>
where
    S: Stream<Item = Result<SourceRecord, BoxError>>,
    K: Sink,
{
    let mut staging = Staging::new(ctx.job.duplicate_keys)?;
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let read = read(ctx, summary, source, &mut staging, highest, run, &mut beat).await?;
    let (losers, shared) = staging.losers()?;
    summary.duplicate_keys = shared;
    for loser in losers {
        let reason = format!("shares key {} with {}", loser.key, loser.winner);
        summary.reject_as(DUPLICATE_KEY, loser.id, reason);
    }
    if let Read::Stopped = read {
        // Nothing is sent after a stop: the run's read-from point stays unsettled, so the next
        // run reads it all again.
        return Ok(false);
    }
    let Some(skips) = screen(ctx, summary, &staging, sink, run, &mut beat).await? else {
        return Ok(false);
    };
    // What was read before a source error is still delivered and recorded.
    let settled = deliver(
        ctx,
        summary,
        &staging,
        sink,
        Filter {
            skip_unchanged,
            skips: &skips,
        },
        run,
        &mut beat,
    )
    .await?;
    Ok(settled && matches!(read, Read::Done))
}

/// The staged keys `job` has never delivered (no snapshot), for [`Sink::screen`].
fn new_keys(state: &StateStore, job: &str, staging: &Staging) -> Result<HashSet<String>, Error> {
    let mut new = HashSet::new();
    let mut position = 0;
    loop {
        let items = staging.next(&mut position, 1000)?;
        if items.is_empty() {
            return Ok(new);
        }
        let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
        let snapshots = state.snapshots(job, &keys)?;
        for (key, snapshot) in keys.into_iter().zip(snapshots) {
            if snapshot.is_none() {
                new.insert(key.to_owned());
            }
        }
    }
}

/// The screening of a sink that [`SCREENS`](Sink::SCREENS): the keys to skip, or `None` when
/// a stop came first (the run sends nothing then).
async fn screen<K: Sink>(
    ctx: &RunContext<'_>,
    summary: &mut Summary,
    staging: &Staging,
    sink: &K,
    run: Option<RunId>,
    beat: &mut tokio::time::Interval,
) -> Result<Option<HashMap<String, String>>, Error> {
    if !K::SCREENS {
        return Ok(Some(HashMap::new()));
    }
    let new = new_keys(ctx.state, &ctx.job.name, staging)?;
    let mut screening = pin!(sink.screen(&new));
    loop {
        tokio::select! {
            biased;
            _ = ctx.stop.requested() => {
                stopped(ctx, summary);
                return Ok(None);
            }
            skips = &mut screening => return skips.map(Some),
            _ = beat.tick() => {
                if let Some(run) = run {
                    ctx.state.heartbeat(run, summary)?;
                }
            }
        }
    }
}

/// Which staged items are not sent: those equal to their snapshot (when the run skips
/// unchanged ones), and those the sink's screening skipped.
#[derive(Clone, Copy)]
pub(super) struct Filter<'a> {
    pub(super) skip_unchanged: bool,
    pub(super) skips: &'a HashMap<String, String>,
}

/// How the read phase ended.
enum Read {
    /// The source was read to its end.
    Done,
    /// The source failed (see [`Summary::aborted`]).
    Aborted,
    /// A stop was requested.
    Stopped,
}

/// The read phase. Returns whether the source was read to its end.
async fn read<S>(
    ctx: &mut RunContext<'_>,
    summary: &mut Summary,
    source: S,
    staging: &mut Staging,
    highest: &mut Option<DateTime>,
    run: Option<RunId>,
    beat: &mut tokio::time::Interval,
) -> Result<Read, Error>
where
    S: Stream<Item = Result<SourceRecord, BoxError>>,
{
    let job = ctx.job;
    let mut source = pin!(source);
    loop {
        let next = tokio::select! {
            biased;
            _ = ctx.stop.requested() => {
                stopped(ctx, summary);
                return Ok(Read::Stopped);
            }
            _ = beat.tick() => {
                if let Some(run) = run {
                    ctx.state.heartbeat(run, summary)?;
                }
                continue;
            }
            next = source.next() => next,
        };
        match next {
            None => return Ok(Read::Done),
            Some(Err(e)) => {
                let reason = Error::from_source(e).one_line();
                tracing::error!(job = %job.name, "{reason}");
                summary.aborted = Some(reason);
                return Ok(Read::Aborted);
            }
            Some(Ok(record)) => {
                summary.read += 1;
                if let Some(ts) = record.watermark {
                    *highest = Some(highest.map_or(ts, |h| h.max(ts)));
                }
                match record.verdict {
                    Verdict::Reject(reason) => summary.reject(record.id, reason),
                    Verdict::Skip(reason) => summary.skip_key(record.id, &reason),
                    Verdict::Send(items) => {
                        for item in items {
                            staging.offer(&record.id, record.watermark, item)?;
                        }
                    }
                }
            }
        }
        ctx.progress.update(summary);
    }
}

pub(super) fn stopped(ctx: &RunContext<'_>, summary: &mut Summary) {
    if summary.stopped_by.is_none() {
        let by = ctx.stop.reason().unwrap_or("a stop request");
        tracing::warn!(job = %ctx.job.name, "stopped by {by}: no new batches");
        summary.stopped_by = Some(by.to_owned());
    }
}
