//! The generic pipeline: source → validate/filter → map → diff → batch → deliver with retries →
//! record outcomes → advance the watermark.
//!
//! A sync supplies two things: a stream of [`SourceRecord`]s (each already validated and mapped to
//! zero or more [`Item`]s, or rejected with a reason), and a [`Sink`] that delivers a batch of items
//! and says, per item, whether it arrived. The runner does everything else.
//!
//! A run has two phases. It first reads the whole source into a staging area on disk, keeping
//! one item per key (see [`DuplicateKeys`](crate::DuplicateKeys)), then delivers the staged items in batches (after
//! the sink, if it [screens](Sink::SCREENS), has looked at the keys it never delivered). Its row
//! in the run log is written when it starts and ended when it ends.
//!
//! The code is split by concern: [`read_from`](fn@read_from) (where an incremental read starts),
//! `pipeline` (a run and a replay from their start to their logged end), `phases` (reading into
//! the staging area and screening) and `deliver` (batches, retries and recording outcomes).

use std::collections::{HashMap, HashSet};
use std::future::Future;

use jiff::civil::DateTime;
use serde_json::{Map, Value};

use crate::config::JobConfig;
use crate::error::Error;
use crate::preview::Preview;
use crate::progress::Progress;
use crate::state::StateStore;
use crate::stop::Stop;
use crate::summary::Summary;

mod deliver;
mod phases;
mod pipeline;
mod read_from;

pub use pipeline::{replay_failed, run};
pub use read_from::read_from;

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
    /// Between several records with one key, the latest wins (see [`DuplicateKeys`](crate::DuplicateKeys)).
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
    /// How many HTTP requests the delivery took, every attempt included (retries, lookups):
    /// count them where they are sent, e.g. with `marketing_sync_core::count_requests` around
    /// the client calls, exact while other batches are in flight. The run's
    /// [`Summary::requests`] is their sum.
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

/// Everything a run needs besides its source and sink. [`RunContext::new`] gives the defaults
/// of a plain run; set the public fields to change them.
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
    /// The moment the read started, in the source's time zone (see
    /// `CommonArgs::read_until`, feature `cli`): a completed run never moves
    /// the watermark past it, whatever change times the source reports. `None`: no such cap
    /// (a source without change times, a replay).
    pub read_until: Option<DateTime>,
    /// Progress display.
    pub progress: Progress,
    /// What stops the run early ([`Stop::process`] for the binaries: SIGINT and SIGTERM).
    pub stop: Stop,
}

impl<'a> RunContext<'a> {
    /// A plain run of `job` on `state`: it sends (not a dry run), skips what is unchanged,
    /// reads the whole source (no `read_from`, no `read_until`), shows no progress and stops
    /// on [`Stop::process`] (requested only once [`stop::listen`](crate::stop::listen) runs).
    ///
    /// ```
    /// use sync_kit::{JobConfig, RunContext, StateStore};
    /// let (job, state) = (JobConfig::named("demo"), StateStore::in_memory().unwrap());
    /// let mut ctx = RunContext::new(&job, &state);
    /// ctx.dry_run = true;
    /// assert!(!ctx.force && ctx.read_from.is_none());
    /// ```
    pub fn new(job: &'a JobConfig, state: &'a StateStore) -> Self {
        Self {
            job,
            state,
            dry_run: false,
            force: false,
            read_from: None,
            read_until: None,
            progress: Progress::hidden(),
            stop: Stop::process(),
        }
    }
}
