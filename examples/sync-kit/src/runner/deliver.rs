//! The delivery phase: batches from the staging area, delivered with retries, each one's
//! outcomes recorded as it finishes; and what a dry run prints instead.

use std::io::Write;

use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::Value;

use super::phases::{Filter, stopped};
use super::{Item, Outcome, RunContext, Sink};
use crate::config::RetrySchedule;
use crate::error::Error;
use crate::staging::Staging;
use crate::state::{RunId, StateStore};
use crate::stop::Stop;
use crate::summary::Summary;

struct BatchResult {
    delivered: Vec<Item>,
    failed: Vec<(Item, String, u32)>,
    skipped: Vec<(String, String)>,
    requests: u64,
}

async fn deliver_with_retries<K: Sink>(
    sink: &K,
    batch: Vec<Item>,
    schedule: &RetrySchedule,
    job: &str,
    stop: &Stop,
) -> BatchResult {
    let mut result = BatchResult {
        delivered: Vec::with_capacity(batch.len()),
        failed: Vec::new(),
        skipped: Vec::new(),
        requests: 0,
    };
    let mut pending = batch;
    for attempt in 1..=schedule.attempts.max(1) {
        let delivery = sink.deliver(&pending).await;
        result.requests += delivery.requests;
        let mut retry = Vec::new();
        let mut outcomes = delivery.outcomes.into_iter();
        for item in pending {
            match outcomes.next() {
                Some(Outcome::Delivered) => result.delivered.push(item),
                Some(Outcome::Skipped(reason)) => result.skipped.push((item.key, reason)),
                Some(Outcome::Failed { error, retryable }) => {
                    if retryable && attempt < schedule.attempts {
                        retry.push((item, error));
                    } else {
                        result.failed.push((item, error, attempt));
                    }
                }
                None => {
                    let error = "the sink reported no outcome for this item".to_owned();
                    result.failed.push((item, error, attempt));
                }
            }
        }
        if retry.is_empty() {
            break;
        }
        tracing::warn!(
            job,
            attempt,
            records = retry.len(),
            error = %retry[0].1,
            next_in = %humantime::format_duration(schedule.delay),
            "delivery failed; retrying"
        );
        // A stop cuts the retries short: what still fails is parked with its last error.
        let stopped = tokio::select! {
            _ = tokio::time::sleep(schedule.delay) => stop.is_requested(),
            _ = stop.requested() => true,
        };
        if stopped {
            result.failed.extend(
                retry
                    .into_iter()
                    .map(|(item, error)| (item, error, attempt)),
            );
            break;
        }
        pending = retry.into_iter().map(|(item, _)| item).collect();
    }
    result
}

/// Prints what the sink would send for `batch`, one JSON line per request.
fn print_dry_run<K: Sink>(sink: &K, batch: &[Item]) -> BatchResult {
    let previews = sink.preview(batch);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for preview in &previews {
        let line = serde_json::to_string(preview)
            .unwrap_or_else(|e| Value::from(e.to_string()).to_string());
        let _ = writeln!(out, "{line}");
    }
    BatchResult {
        delivered: batch.to_vec(),
        failed: Vec::new(),
        skipped: Vec::new(),
        requests: previews.iter().filter(|p| p.is_sent()).count() as u64,
    }
}
/// The delivery phase: batches from the staging area, up to `job.concurrency` in flight, each
/// recorded as it finishes. Returns whether everything was delivered or parked (no stop).
pub(super) async fn deliver<K: Sink>(
    ctx: &mut RunContext<'_>,
    summary: &mut Summary,
    staging: &Staging,
    sink: &K,
    filter: Filter<'_>,
    run: Option<RunId>,
    beat: &mut tokio::time::Interval,
) -> Result<bool, Error> {
    let job = ctx.job;
    let state = ctx.state;
    let dry_run = ctx.dry_run;
    let batch_size = job.batch_size.max(1);
    let concurrency = job.concurrency.max(1);
    let stop = ctx.stop.clone();
    let mut position = 0;
    let mut exhausted = false;
    let mut in_flight = FuturesUnordered::new();
    let launch = |batch: Vec<Item>| {
        let stop = stop.clone();
        async move {
            if dry_run {
                print_dry_run(sink, &batch)
            } else {
                deliver_with_retries(sink, batch, &job.retry, &job.name, &stop).await
            }
        }
    };
    loop {
        let stopping = ctx.stop.is_requested();
        if stopping {
            stopped(ctx, summary);
        }
        if !stopping && !exhausted && in_flight.len() < concurrency {
            let batch = next_batch(
                state,
                &job.name,
                staging,
                &mut position,
                batch_size,
                filter,
                summary,
            )?;
            if batch.is_empty() {
                exhausted = true;
            } else {
                in_flight.push(launch(batch));
            }
            ctx.progress.update(summary);
            continue;
        }
        if in_flight.is_empty() {
            return Ok(!stopping);
        }
        tokio::select! {
            biased;
            Some(done) = in_flight.next() => {
                record(state, &job.name, summary, done)?;
                if let Some(run) = run {
                    state.heartbeat(run, summary)?;
                }
            }
            _ = stop.requested(), if !stopping => {}
            _ = beat.tick() => {
                if let Some(run) = run {
                    state.heartbeat(run, summary)?;
                }
            }
        }
        ctx.progress.update(summary);
    }
}

/// The next batch to send: staged items after `position`, those the `filter` leaves out skipped
/// (and counted).
fn next_batch(
    state: &StateStore,
    job: &str,
    staging: &Staging,
    position: &mut i64,
    batch_size: usize,
    filter: Filter<'_>,
    summary: &mut Summary,
) -> Result<Vec<Item>, Error> {
    let mut batch = Vec::with_capacity(batch_size);
    while batch.len() < batch_size {
        let mut items = staging.next(position, batch_size - batch.len())?;
        if items.is_empty() {
            break;
        }
        if !filter.skips.is_empty() {
            items.retain(|item| match filter.skips.get(&item.key) {
                Some(reason) => {
                    summary.skip_key(item.key.clone(), reason);
                    false
                }
                None => true,
            });
        }
        if !filter.skip_unchanged {
            batch.extend(items);
            continue;
        }
        let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
        let snapshots = state.snapshots(job, &keys)?;
        for (item, snapshot) in items.into_iter().zip(snapshots) {
            if snapshot.as_ref() == Some(&item.fields) {
                summary.skip(crate::summary::UNCHANGED, 1);
            } else {
                batch.push(item);
            }
        }
    }
    Ok(batch)
}

fn record(
    state: &StateStore,
    job: &str,
    summary: &mut Summary,
    done: BatchResult,
) -> Result<(), Error> {
    state.record_outcomes(job, &done.delivered, &done.failed)?;
    summary.delivered += done.delivered.len() as u64;
    summary.requests += done.requests;
    for (key, reason) in done.skipped {
        summary.skip_key(key, &reason);
    }
    for (item, error, attempts) in done.failed {
        tracing::warn!(job, key = %item.key, attempts, %error, "record parked as failed");
        summary.fail(item.key, error, attempts);
    }
    Ok(())
}
