//! The generic pipeline: source → validate/filter → map → diff → batch → deliver with retries →
//! record outcomes → advance the watermark.
//!
//! A sync supplies two things: a stream of [`SourceRecord`]s (each already validated and mapped to
//! zero or more [`Item`]s, or rejected with a reason), and a [`Sink`] that delivers a batch of items
//! and says, per item, whether it arrived. The runner does everything else.
//!
//! A run has two phases. It first reads the whole source into a staging area on disk, keeping
//! one item per key (see [`DuplicateKeys`]), then delivers the staged items in batches (after
//! the sink, if it [screens](Sink::SCREENS), has looked at the keys it never delivered). Its row
//! in the run log is written when it starts and ended when it ends.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io::Write;
use std::pin::pin;
use std::time::Instant;

use futures::stream::{FuturesUnordered, Stream, StreamExt};
use jiff::civil::DateTime;
use serde_json::{Map, Value};

use crate::config::{DuplicateKeys, JobConfig, RetrySchedule};
use crate::error::{BoxError, Error};
use crate::preview::Preview;
use crate::process::HEARTBEAT;
use crate::progress::Progress;
use crate::staging::Staging;
use crate::state::{Begun, RunId, StateStore};
use crate::stop::Stop;
use crate::summary::{DUPLICATE_KEY, Mode, Summary};

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
    /// Between several records with one key, the latest wins (see [`DuplicateKeys`]).
    pub watermark: Option<DateTime>,
    /// What to do with it.
    pub verdict: Verdict,
}

impl SourceRecord {
    /// A record the source could not decode (or the sync cannot use), filtered with `reason`:
    /// counted and listed like any filtered record, and settled for the watermark. A source
    /// turns a per-record error into this rather than ending the stream with it.
    ///
    /// ```
    /// use sync_kit::{SourceRecord, Verdict};
    /// let r = SourceRecord::rejected("C17", None, "invalid ts: \"31.02.2024\"");
    /// assert_eq!(r.verdict, Verdict::Reject("invalid ts: \"31.02.2024\"".into()));
    /// ```
    pub fn rejected(
        id: impl Into<String>,
        watermark: Option<DateTime>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            watermark,
            verdict: Verdict::Reject(reason.into()),
        }
    }
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

    /// Whether the sink screens the keys it has never delivered (see [`Sink::screen`]); the
    /// runner collects them only then.
    const SCREENS: bool = false;

    /// Called once per run of a sink that [`SCREENS`](Sink::SCREENS), dry runs and replays
    /// included: after the whole source is in the staging area and before the first batch,
    /// with the staged keys this job has never delivered (no snapshot). Returns those not to
    /// send after all, each with the reason it is counted as skipped. A sink that must learn
    /// something about new keys first (which of them exist at the destination) asks here, once
    /// per run, at a cost that grows with the new keys. An error ends the run as failed. The
    /// default skips nothing.
    fn screen(
        &self,
        _new: &HashSet<String>,
    ) -> impl Future<Output = Result<HashMap<String, String>, Error>> + Send {
        async { Ok(HashMap::new()) }
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
    /// Where the source is read from, for the summary and the run log (the next run resumes
    /// from here if this one does not complete).
    pub read_from: Option<DateTime>,
    /// Progress display.
    pub progress: Progress,
    /// What stops the run early ([`Stop::process`] for the binaries: SIGINT and SIGTERM).
    pub stop: Stop,
}

/// Where an incremental source should start reading: `--since` if given; otherwise the earliest
/// unsettled point: the stored watermark minus the job's overlap, or the read-from point of an
/// earlier run that never completed (killed, failed, interrupted) and that no completed run has
/// covered since, whichever is earlier; `default` when there is neither (the first run), or
/// when it is earlier than an unfinished first load's point.
pub fn read_from(
    state: &StateStore,
    job: &JobConfig,
    since: Option<DateTime>,
    default: DateTime,
) -> Result<DateTime, Error> {
    let unsettled = state.unsettled_from(&job.name)?;
    if let Some(since) = since {
        if let Some(unsettled) = unsettled.filter(|u| *u < since) {
            tracing::warn!(
                job = %job.name,
                %unsettled,
                "an earlier run that did not complete read from {unsettled}; a run without \
                 --since will resume from there"
            );
        }
        return Ok(since);
    }
    let from_watermark = match state.watermark(&job.name)? {
        Some(watermark) => {
            let overlap = jiff::SignedDuration::try_from(job.overlap)
                .map_err(|e| Error::Config(format!("job.overlap: {e}")))?;
            Some(watermark.checked_sub(overlap).unwrap_or(DateTime::MIN))
        }
        None => None,
    };
    Ok(match (from_watermark, unsettled) {
        (Some(w), Some(u)) => w.min(u),
        (Some(w), None) => w,
        (None, Some(u)) => u.min(default),
        (None, None) => default,
    })
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
///   next run reads from there (see [`read_from`]).
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
    let mut highest = match (before, ctx.read_from) {
        (Some(b), Some(r)) => Some(b.max(r)),
        (b, r) => b.or(r),
    };
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
        if let Some(watermark) = highest {
            ctx.state.set_watermark(&ctx.job.name, watermark)?;
        }
        summary.watermark_after = highest.map(|d| d.to_string());
    } else {
        summary.watermark_after = summary.watermark_before.clone();
    }
    conclude(ctx, summary, started, sink, run).await
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
        Begun::AlreadyRunning(other) => Err(Error::Config(format!(
            "job {} is already running ({}, started {}); two runs of one job must not overlap",
            ctx.job.name,
            other.process.as_deref().unwrap_or("another process"),
            other.started_at
        ))),
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

/// Reads the source into the staging area, then delivers and records what it holds. Returns
/// whether the source was read to its end and everything settled (no error, no stop).
async fn pump<S, K>(
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
struct Filter<'a> {
    skip_unchanged: bool,
    skips: &'a HashMap<String, String>,
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
                    Verdict::Skip(reason) => summary.skip(&reason, 1),
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

fn stopped(ctx: &RunContext<'_>, summary: &mut Summary) {
    if summary.stopped_by.is_none() {
        let by = ctx.stop.reason().unwrap_or("a stop request");
        tracing::warn!(job = %ctx.job.name, "stopped by {by}: no new batches");
        summary.stopped_by = Some(by.to_owned());
    }
}

/// The delivery phase: batches from the staging area, up to `job.concurrency` in flight, each
/// recorded as it finishes. Returns whether everything was delivered or parked (no stop).
async fn deliver<K: Sink>(
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
                    summary.skip(reason, 1);
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
    for reason in &done.skipped {
        summary.skip(reason, 1);
    }
    for (item, error, attempts) in done.failed {
        tracing::warn!(job, key = %item.key, attempts, %error, "record parked as failed");
        summary.fail(item.key, error, attempts);
    }
    Ok(())
}
