//! A toolkit for record syncs between services. It knows syncing and nothing about any service:
//! it depends on no client crate, and a sync brings its source and its destination.
//!
//! Every sync is the same pipeline:
//!
//! ```text
//! source (stream of records) → validate and filter → map fields → diff against the last run
//!   → batch → deliver with retries → record each outcome → advance the watermark
//! ```
//!
//! A sync binary provides the two ends and the toolkit does the rest:
//!
//! - a **source**: any `Stream<Item = Result<SourceRecord, BoxError>>`, where each
//!   [`SourceRecord`] is already validated and mapped ([`Verdict::Send`] with [`Item`]s, or
//!   [`Verdict::Reject`] with a reason that the summary lists);
//! - a **sink**: a [`Sink`] that delivers a batch of items and returns one [`Outcome`] per item.
//!
//! [`run`] then logs the run's start, reads the source keeping one item per key (see
//! [`DuplicateKeys`]), diffs each item against the last delivered snapshot, batches, delivers
//! with bounded concurrency, retries per the [`RetrySchedule`], parks what still fails in the
//! [`StateStore`], and advances the watermark only when everything read was settled; a run that
//! does not get there (stopped by a [`Stop`], failed, killed) is resumed by the next one (see
//! [`read_from`]). [`replay_failed`] sends the parked records again. [`CommonArgs`] holds the
//! flags every binary shares, and [`main_loop`] runs a job once or on a schedule (stopping
//! cleanly on SIGINT and SIGTERM) and turns its [`Summary`] into an [`ExitCode`].
//!
//! ```
//! use futures::stream;
//! use sync_kit::{Delivery, Item, JobConfig, Outcome, Progress, RunContext, Sink,
//!     SourceRecord, StateStore, Stop, Verdict};
//!
//! struct Print;
//! impl Sink for Print {
//!     async fn deliver(&self, batch: &[Item]) -> Delivery {
//!         Delivery::all(batch.len(), Outcome::Delivered, 1)
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let state = StateStore::in_memory().unwrap();
//! let job = JobConfig::named("demo");
//! let records = (0..3).map(|n| {
//!     let mut fields = serde_json::Map::new();
//!     fields.insert("email".into(), format!("user{n}@example.com").into());
//!     Ok(SourceRecord {
//!         id: n.to_string(),
//!         watermark: None,
//!         verdict: Verdict::Send(vec![Item { key: format!("user{n}@example.com"), fields }]),
//!     })
//! });
//! let ctx = RunContext { job: &job, state: &state, dry_run: false, force: false,
//!     read_from: None, read_until: None, progress: Progress::hidden(), stop: Stop::process() };
//! let summary = sync_kit::run(ctx, stream::iter(records), &Print).await.unwrap();
//! assert_eq!(summary.delivered, 3);
//! # });
//! ```

pub mod check;
pub mod cli;
pub mod config;
pub mod email;
pub mod env;
mod error;
pub mod input;
pub mod metrics;
pub mod output;
pub mod preview;
pub mod process;
pub mod progress;
mod runner;
pub mod sandbox;
mod staging;
pub mod state;
pub mod state_guard;
pub mod status;
pub mod stop;
pub mod summary;

pub use cli::{CommonArgs, Since, main_loop, report_error};
pub use config::{DuplicateKeys, JobConfig, RetrySchedule};
pub use error::{BoxError, Error, ExitCode, error_chain};
pub use progress::Progress;
pub use runner::{
    Delivery, Item, Outcome, RunContext, Sink, SourceRecord, Verdict, read_from, replay_failed, run,
};
pub use state::StateStore;
pub use stop::Stop;
pub use summary::{Mode, RunStatus, Summary};
