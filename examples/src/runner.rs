//! The generic pipeline: source → validate/filter → map → diff → batch → deliver with retries →
//! record outcomes → advance the watermark.
//!
//! A sync supplies two things: a stream of [`SourceRecord`]s (each already validated and mapped to
//! zero or more [`Item`]s, or rejected with a reason), and a [`Sink`] that delivers a batch of items
//! and says, per item, whether it arrived. The runner does everything else.

use std::future::Future;
use std::io::Write;
use std::pin::pin;
use std::time::Instant;

use futures::stream::{FuturesUnordered, Stream, StreamExt};
use jiff::civil::DateTime;
use serde_json::{Map, Value};

use crate::config::{JobConfig, RetrySchedule};
use crate::error::{BoxError, Error};
use crate::preview::Preview;
use crate::progress::Progress;
use crate::state::StateStore;
use crate::summary::{Mode, Summary};

/// One record to deliver: its key (what the destination upserts on, e.g. the email) and its
/// mapped fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The destination's key for this record; snapshots and failures are stored under it.
    pub key: String,
    /// The fields to send, as a JSON object.
    pub fields: Map<String, Value>,
}

/// What the sync decided about one source record.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Send these items (one source record may become several, e.g. one per email address).
    Send(Vec<Item>),
    /// Do not send; counted and listed in the summary with this reason.
    Reject(String),
    /// Valid, but deliberately not sent this time (e.g. a new contact when the sync may only
    /// update); counted as skipped with this reason.
    Skip(String),
}

/// One record read from the source, validated and mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// The record's identifier in the source (e.g. the Directo customer code), for the summary.
    pub id: String,
    /// The record's change time in the source, if the source is incremental (Directo `ts`).
    pub watermark: Option<DateTime>,
    /// What to do with it.
    pub verdict: Verdict,
}

/// The outcome of one item's delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The destination accepted it.
    Delivered,
    /// It failed; `retryable` says whether another attempt may succeed (server error, timeout,
    /// rate limit) or not (the destination rejected the data).
    Failed {
        /// The error, verbatim.
        error: String,
        /// Whether to try again per the retry schedule.
        retryable: bool,
    },
    /// The destination showed, at delivery, that the item must not be sent after all (e.g. a
    /// contact that does not exist, when the sync may only update): counted as skipped with
    /// this reason; no snapshot is stored and nothing is parked.
    Skipped(String),
}

impl Outcome {
    /// A failure, with its retryability.
    pub fn failed(error: impl std::fmt::Display, retryable: bool) -> Self {
        Outcome::Failed {
            error: error.to_string(),
            retryable,
        }
    }
}

/// What a [`Sink`] reports for one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// One outcome per item, in the batch's order.
    pub outcomes: Vec<Outcome>,
    /// How many HTTP requests the delivery took.
    pub requests: u64,
}

impl Delivery {
    /// The same outcome for every item of a batch of `len` (a request that failed as a whole).
    pub fn all(len: usize, outcome: Outcome, requests: u64) -> Self {
        Self {
            outcomes: vec![outcome; len],
            requests,
        }
    }
}

/// The destination of a sync: delivers a batch and reports per-item outcomes, as a `Send` future so
/// a run can go on any task. It must never panic or give up on the whole batch because of one bad
/// item.
pub trait Sink: Sync {
    /// Delivers `batch` (at most `job.batch_size` items).
    fn deliver(&self, batch: &[Item]) -> impl Future<Output = Delivery> + Send;

    /// What a dry run prints for `batch` instead of delivering it: the requests a real run
    /// would send, exactly as they would go on the wire (see [`crate::preview::DryRun`] for a
    /// dry-run sink that needs no connection). The default is the items' fields.
    fn preview(&self, batch: &[Item]) -> Vec<Preview> {
        vec![Preview::batch(batch)]
    }

    /// Called once after the last batch of a run that sends (not on a dry run), before the
    /// summary is final and logged. A sink that learns outcomes late (a file import's report
    /// read back) or counts its own requests settles them here. The default does nothing.
    fn finish(&self, _summary: &mut Summary) -> impl Future<Output = Result<(), Error>> + Send {
        async { Ok(()) }
    }
}

/// Everything a run needs besides its source and sink.
#[derive(Debug)]
pub struct RunContext<'a> {
    /// The job's settings.
    pub job: &'a JobConfig,
    /// The state store (read-only for dry runs).
    pub state: &'a StateStore,
    /// Print what would be sent to stdout instead of sending, and change no state.
    pub dry_run: bool,
    /// Send records even if they equal what was last delivered.
    pub force: bool,
    /// Where the source is read from, for the summary.
    pub read_from: Option<DateTime>,
    /// Progress display.
    pub progress: Progress,
}

/// Where an incremental source should start reading: `--since` if given; otherwise the stored
/// watermark minus the job's overlap; otherwise `default` (the first run).
pub fn read_from(
    state: &StateStore,
    job: &JobConfig,
    since: Option<DateTime>,
    default: DateTime,
) -> Result<DateTime, Error> {
    if let Some(since) = since {
        return Ok(since);
    }
    match state.watermark(&job.name)? {
        Some(watermark) => {
            let overlap = jiff::SignedDuration::try_from(job.overlap)
                .map_err(|e| Error::Config(format!("job.overlap: {e}")))?;
            Ok(watermark.checked_sub(overlap).unwrap_or(DateTime::MIN))
        }
        None => Ok(default),
    }
}

struct BatchResult {
    delivered: Vec<Item>,
    failed: Vec<(Item, String, u32)>,
    skipped: Vec<String>,
    requests: u64,
}

async fn deliver_with_retries<K: Sink>(
    sink: &K,
    batch: Vec<Item>,
    schedule: &RetrySchedule,
    job: &str,
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
                Some(Outcome::Skipped(reason)) => result.skipped.push(reason),
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
        tokio::time::sleep(schedule.delay).await;
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

/// Runs the pipeline over `source` into `sink` and returns what happened.
///
/// - Batches of `job.batch_size` are delivered with up to `job.concurrency` in flight; items that
///   fail retryably are retried per `job.retry`; what still fails is parked in the state store.
/// - Each batch's outcomes are committed to the state store as soon as the batch finishes, so a
///   killed run resumes without re-sending what was delivered (unchanged records are skipped).
/// - The watermark is advanced only when the whole source was read and every record was
///   delivered, filtered, skipped or parked: the source's order is not assumed, so no earlier
///   point is safe.
///
/// A source error aborts the run (in-flight batches still finish and are recorded) and is
/// reported in [`Summary::aborted`]; only state-store errors are returned as `Err`.
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
    let mut highest = match (before, ctx.read_from) {
        (Some(b), Some(r)) => Some(b.max(r)),
        (b, r) => b.or(r),
    };
    let skip_unchanged = ctx.job.skip_unchanged && !ctx.force;

    let started = Instant::now();
    let finished = pump(
        &mut ctx,
        &mut summary,
        source,
        sink,
        skip_unchanged,
        &mut highest,
    )
    .await?;

    if finished && summary.aborted.is_none() && !ctx.dry_run {
        if let Some(watermark) = highest {
            ctx.state.set_watermark(&ctx.job.name, watermark)?;
        }
        summary.watermark_after = highest.map(|d| d.to_string());
    } else {
        summary.watermark_after = summary.watermark_before.clone();
    }
    conclude(ctx, summary, started, sink).await
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
    let started = Instant::now();
    let mut ignored = None;
    pump(&mut ctx, &mut summary, source, sink, false, &mut ignored).await?;
    conclude(ctx, summary, started, sink).await
}

async fn conclude<K: Sink>(
    mut ctx: RunContext<'_>,
    mut summary: Summary,
    started: Instant,
    sink: &K,
) -> Result<Summary, Error> {
    if !ctx.dry_run {
        sink.finish(&mut summary).await?;
        attempts_held(ctx.state, &ctx.job.name, &mut summary)?;
    }
    ctx.progress.update(&summary);
    ctx.progress.finish();
    summary.parked_total = ctx.state.failed_count(&ctx.job.name)?;
    summary.finish(started.elapsed());
    ctx.state.log_run(&summary)?;
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

/// Reads the source, batches, delivers and records. Returns whether the source was read to its end.
async fn pump<S, K>(
    ctx: &mut RunContext<'_>,
    summary: &mut Summary,
    source: S,
    sink: &K,
    skip_unchanged: bool,
    highest: &mut Option<DateTime>,
) -> Result<bool, Error>
where
    S: Stream<Item = Result<SourceRecord, BoxError>>,
    K: Sink,
{
    let job = ctx.job;
    let state = ctx.state;
    let dry_run = ctx.dry_run;
    let batch_size = job.batch_size.max(1);
    let concurrency = job.concurrency.max(1);

    let mut source = pin!(source.fuse());
    let mut source_done = false;
    let mut building: Vec<Item> = Vec::with_capacity(batch_size);
    let mut waiting: Option<Vec<Item>> = None;
    let mut in_flight = FuturesUnordered::new();
    let launch = |batch: Vec<Item>| async move {
        if dry_run {
            print_dry_run(sink, &batch)
        } else {
            deliver_with_retries(sink, batch, &job.retry, &job.name).await
        }
    };

    loop {
        // Hand full batches to free delivery slots; flush the last partial batch at the end.
        if waiting.is_none()
            && (building.len() >= batch_size || (source_done && !building.is_empty()))
        {
            waiting = Some(std::mem::replace(
                &mut building,
                Vec::with_capacity(batch_size),
            ));
        }
        if in_flight.len() < concurrency
            && let Some(batch) = waiting.take()
        {
            in_flight.push(launch(batch));
            continue;
        }
        if source_done && in_flight.is_empty() && waiting.is_none() && building.is_empty() {
            break;
        }
        let can_read = !source_done && waiting.is_none();
        tokio::select! {
            biased;
            Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                record(state, &job.name, summary, done)?;
            }
            next = source.next(), if can_read => match next {
                None => source_done = true,
                Some(Err(e)) => {
                    let reason = Error::from_source(e).one_line();
                    tracing::error!(job = %job.name, "{reason}");
                    summary.aborted = Some(reason);
                    source_done = true;
                    // Deliver what was already read; the watermark stays where it was.
                }
                Some(Ok(record)) => {
                    summary.read += 1;
                    if let Some(ts) = record.watermark {
                        *highest = Some(highest.map_or(ts, |h| h.max(ts)));
                    }
                    match record.verdict {
                        Verdict::Reject(reason) => summary.reject(record.id, reason),
                        Verdict::Skip(reason) => summary.skip(&reason, 1),
                        Verdict::Send(items) => {
                            for item in items {
                                if skip_unchanged
                                    && state.snapshot(&job.name, &item.key)?.as_ref() == Some(&item.fields)
                                {
                                    summary.skip(crate::summary::UNCHANGED, 1);
                                } else {
                                    building.push(item);
                                }
                            }
                        }
                    }
                }
            },
        }
        ctx.progress.update(summary);
    }
    Ok(summary.aborted.is_none())
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
    for reason in &done.skipped {
        summary.skip(reason, 1);
    }
    for (item, error, attempts) in done.failed {
        tracing::warn!(job, key = %item.key, attempts, %error, "record parked as failed");
        summary.fail(item.key, error, attempts);
    }
    Ok(())
}
