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
//! [`read_from`]). [`replay_failed`] sends the parked records again.
//!
//! Feature `cli` (off by default; a sync binary turns it on) adds the command line: `CommonArgs`
//! holds the flags every binary shares (clap), and `main_loop` runs a job once or on a schedule
//! (stopping cleanly on SIGINT and SIGTERM) and turns its [`Summary`] into an [`ExitCode`];
//! with them `--status`, `--check`, the progress spinner (indicatif), logging set-up
//! (tracing-subscriber) and `.env` loading (dotenvy). Without it the library compiles none of
//! those crates.
//!
//! A complete small sync: a JSON-lines file → a sink that posts each batch to a loopback fake
//! (`marketing_sync_core`'s fake scaffolding), with its state in a SQLite file, run twice —
//! the second run sends nothing, since nothing changed. Each delivery counts its requests
//! where they are sent ([`Delivery::requests`]), and the summary is their sum.
//!
//! ```
//! use marketing_sync_core::fake::{FakeServer, Harness};
//! use marketing_sync_core::{Executor, RetryPolicy, Settings, count_requests, parse_base_url};
//! use sync_kit::input::{Columns, Row, read_rows};
//! use sync_kit::{
//!     BoxError, Delivery, Item, JobConfig, Outcome, RunContext, Sink, SourceRecord, StateStore,
//!     Verdict,
//! };
//!
//! /// The destination: each batch is one `POST /contacts`, a JSON array of the items' fields.
//! struct Contacts {
//!     executor: Executor,
//!     url: reqwest::Url,
//! }
//!
//! impl Sink for Contacts {
//!     async fn deliver(&self, batch: &[Item]) -> Delivery {
//!         let body: Vec<_> = batch.iter().map(|item| &item.fields).collect();
//!         // An upsert by key: safe to repeat, so the executor retries a 5xx or a timeout.
//!         let request = self.executor.request(reqwest::Method::POST, self.url.clone());
//!         let request = request.with(|b| b.json(&body)).idempotent(true);
//!         // Every attempt, retries included, counted where it is sent.
//!         let (answer, requests) = count_requests(self.executor.send(request)).await;
//!         let outcome = match answer {
//!             Ok(_) => Outcome::Delivered,
//!             // Safe to send again: the run retries it on its schedule, then parks it.
//!             Err(e) => Outcome::failed(e, true),
//!         };
//!         Delivery::all(batch.len(), outcome, requests)
//!     }
//! }
//!
//! /// The source: one record per row of the file, keyed by its email; a bad row is filtered.
//! fn record(row: Row) -> Result<SourceRecord, BoxError> {
//!     let fields = match row.fields {
//!         Ok(fields) => fields,
//!         Err(reason) => return Ok(SourceRecord::rejected(row.position, None, reason)),
//!     };
//!     let Some(email) = fields.get("email").and_then(|e| e.as_str()) else {
//!         return Ok(SourceRecord::rejected(row.position, None, "no email"));
//!     };
//!     let item = Item { key: email.to_lowercase(), fields };
//!     Ok(SourceRecord { id: row.position, watermark: None, verdict: Verdict::Send(vec![item]) })
//! }
//!
//! /// One run: read the file, then deliver what changed since the last run.
//! async fn sync(
//!     file: &std::path::Path,
//!     job: &JobConfig,
//!     state: &StateStore,
//!     sink: &Contacts,
//! ) -> Result<sync_kit::Summary, Box<dyn std::error::Error>> {
//!     let rows = read_rows(file, &Columns::required(&["email"]))?;
//!     let records = futures::stream::iter(rows.into_iter().map(record));
//!     Ok(sync_kit::run(RunContext::new(job, state), records, sink).await?)
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // A loopback fake of the destination, which logs every request and injects faults.
//!     let harness = Harness::new();
//!     let routes = axum::Router::new().route("/contacts", axum::routing::post(|| async { "{}" }));
//!     let server = FakeServer::start(harness.mount(routes)).await;
//!     let settings = Settings::new("contacts-sync/1.0").retry(RetryPolicy::fast(3));
//!     let sink = Contacts {
//!         executor: Executor::new(&settings)?,
//!         url: parse_base_url(&format!("{}/contacts", server.base_url()), true)?,
//!     };
//!
//!     // The input file (JSON lines; a `.csv` with a header row works the same) and the state
//!     // file, which keeps what was delivered between runs.
//!     let dir = tempfile::tempdir()?;
//!     let file = dir.path().join("contacts.jsonl");
//!     std::fs::write(
//!         &file,
//!         concat!(
//!             "{\"email\": \"ann@example.com\", \"name\": \"Ann\"}\n",
//!             "{\"email\": \"bob@example.com\", \"name\": \"Bob\"}\n",
//!             "{\"name\": \"Nobody\"}\n",
//!         ),
//!     )?;
//!     let state = StateStore::open(&dir.path().join("contacts.db"))?;
//!     let job = JobConfig::named("contacts");
//!
//!     // The first run delivers both contacts in one batch; its first attempt gets a 503.
//!     harness.fail_next(1, 503);
//!     let first = sync(&file, &job, &state, &sink).await?;
//!     assert_eq!((first.delivered, first.filtered, first.requests), (2, 1, 2));
//!     assert_eq!(harness.requests()[1].path, "/contacts");
//!
//!     // The second run finds nothing new: nothing is sent.
//!     let second = sync(&file, &job, &state, &sink).await?;
//!     assert_eq!((second.delivered, second.skipped, second.requests), (0, 2, 0));
//!     assert_eq!(harness.request_count(), 2);
//!
//!     println!("first run: {} delivered in {} requests", first.delivered, first.requests);
//!     println!("second run: {} unchanged, nothing sent", second.skipped);
//!     Ok(())
//! }
//! ```

#[cfg(feature = "cli")]
pub mod check;
#[cfg(feature = "cli")]
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
#[cfg(feature = "cli")]
pub mod state_guard;
#[cfg(feature = "cli")]
pub mod status;
pub mod stop;
pub mod summary;

#[cfg(feature = "cli")]
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

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
