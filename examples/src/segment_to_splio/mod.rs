//! `segment-to-splio`: a reverse-ETL activation. A segment file (CSV with a header row, keyed by
//! the `email` column unless configured) → mapped to Splio standard and custom attributes → only
//! the attributes that changed since the last activation are sent (the last delivered values
//! are the snapshot in the state store) → Splio contacts API. With `--source directo` the
//! segment is instead the Directo customers changed since the last run (the same watermark rules
//! as `directo-to-smaily`). See docs/segment-to-splio.md.

pub mod demo;
pub mod sftp;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::stream::LocalBoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use splio_client::{ContactData, CustomFieldValue, FieldRef};

use crate::config::duration_str;
use crate::directo_to_smaily::job::{directo_from_env, open_read, sandbox_directo, source_record};
use crate::directo_to_smaily::{CustomerFields, DirectoConfig};
use crate::messaging::input::{self, Row};
use crate::{
    BoxError, CommonArgs, Delivery, Error, ExitCode, Item, JobConfig, Outcome, RunContext, Sink,
    SourceRecord, StateStore, Summary, Verdict, env,
};

/// The default job name (the state key).
pub const JOB_NAME: &str = "segment-to-splio";

/// The default job name with `--source directo` (its own watermark and snapshots).
pub const DIRECTO_JOB_NAME: &str = "segment-to-splio-directo";

/// The skip reason of new contacts when `--insert` is not given.
pub const NOT_INSERTED: &str = "new contact, not created without --insert";

/// Splio's standard contact attributes; every other mapped attribute is a custom field.
pub const STANDARD: &[&str] = &["email", "cellphone", "firstname", "lastname", "language"];

/// The command line.
#[derive(Debug, clap::Parser)]
#[command(name = "segment-to-splio", version, about = "Activates a segment file in Splio: new and changed attributes only, as contact upserts.", long_about = None)]
pub struct Cli {
    /// The segment file (CSV with a header row); optional with --sandbox (demo segment).
    pub segment: Option<PathBuf>,
    /// Where the segment comes from: `csv` (the file) or `directo` (Directo customers changed
    /// since the last run; credentials from DIRECTO_*).
    #[arg(long, value_enum, default_value = "csv")]
    pub source: SourceKind,
    /// Create contacts that do not exist in Splio yet (without it they are counted as skipped).
    #[arg(long)]
    pub insert: bool,
    /// How to deliver: `api` (REST: PATCH existing, bulk create new) or `sftp` (Datahub files).
    #[arg(long, value_enum, default_value = "api")]
    pub delivery: DeliveryKind,
    /// The common sync flags.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `--source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    /// The segment file given as the argument.
    Csv,
    /// Directo customers changed since the last run.
    Directo,
}

/// `--delivery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeliveryKind {
    /// REST: PATCH existing contacts, bulk create new ones.
    Api,
    /// Datahub contacts files uploaded over SFTP into `/imports/`.
    Sftp,
}

/// The TOML config.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Batch size, concurrency, retry schedule.
    pub job: JobConfig,
    /// The segment file's shape.
    pub source: SourceConfig,
    /// Segment column → Splio attribute (`email`, `cellphone`, `firstname`, `lastname`,
    /// `language`, or a custom field's name). Unmapped columns keep their name.
    pub mapping: BTreeMap<String, String>,
    /// Columns not sent at all.
    pub ignore: Vec<String>,
    /// Client settings.
    pub splio: SplioConfig,
    /// Datahub/SFTP settings (`--delivery sftp`).
    pub sftp: sftp::SftpSettings,
    /// Reading Directo (`--source directo`): its time zone and read timeout.
    pub directo: DirectoConfig,
}

/// The segment file's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// The key column (an email address per row).
    pub key_column: String,
}

impl Default for SourceConfig {
    fn default() -> Self {
        Self {
            key_column: "email".into(),
        }
    }
}

/// Client settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplioConfig {
    /// Retries of one request inside the client.
    pub retries: usize,
    /// First backoff delay of those retries.
    #[serde(with = "duration_str")]
    pub retry_delay: Duration,
    /// Keep to Splio's documented request rates (turn off only for a local fake).
    pub rate_limit: bool,
}

impl Default for SplioConfig {
    fn default() -> Self {
        Self {
            retries: 3,
            retry_delay: Duration::from_millis(500),
            rate_limit: true,
        }
    }
}

impl Config {
    /// Loads `path` (or the defaults), names the job `default_job` unless the file does, and
    /// checks it.
    pub fn load(path: Option<&Path>, default_job: &str) -> Result<Self, Error> {
        let mut config: Config = match path {
            Some(path) => crate::config::load_toml(path)?,
            None => Config::default(),
        };
        config.job.default_name(default_job);
        config.job.validate()?;
        if config.source.key_column.trim().is_empty() {
            return Err(Error::Config("source.key_column must not be empty".into()));
        }
        let mut seen = HashSet::new();
        for target in config.mapping.values() {
            if target.trim().is_empty() || !seen.insert(target.as_str()) {
                return Err(Error::Config(format!(
                    "mapping: {target:?} is empty or mapped twice"
                )));
            }
        }
        config.directo.time_zone()?;
        Ok(config)
    }

    /// The Splio attribute a column goes to (`None`: not sent).
    fn target<'a>(&'a self, column: &'a str) -> Option<&'a str> {
        if column == self.source.key_column {
            return Some("email");
        }
        if self.ignore.iter().any(|c| c == column) {
            return None;
        }
        Some(self.mapping.get(column).map_or(column, String::as_str))
    }
}

/// Maps one segment row to a record: a valid key email and the attributes by Splio name.
pub fn prepare(config: &Config, row: Row) -> SourceRecord {
    let verdict = match row.fields {
        Err(reason) => Verdict::Reject(reason),
        Ok(fields) => match map_row(config, &fields) {
            Ok(item) => Verdict::Send(vec![item]),
            Err(reason) => Verdict::Reject(reason),
        },
    };
    SourceRecord {
        id: row.position,
        watermark: None,
        verdict,
    }
}

/// A segment's rows as the runner's source.
fn segment(config: &Config, rows: Vec<Row>) -> LocalBoxStream<'_, Result<SourceRecord, BoxError>> {
    futures::stream::iter(rows.into_iter().map(|row| Ok(prepare(config, row)))).boxed_local()
}

/// Maps one Directo customer like a segment row. Only the key column and the columns named in
/// `[mapping]` are taken (a customer has dozens of attributes, `ts` among them), each looked up
/// as an attribute, else as an extra field (datafield) code. When the key field holds several
/// addresses, the first valid one is used. The watermark is the customer's `ts`.
pub fn prepare_customer<C: CustomerFields + ?Sized>(config: &Config, customer: &C) -> SourceRecord {
    let id = customer.id();
    let watermark = customer.changed_at();
    let key_column = &config.source.key_column;
    let raw = customer.attr(key_column).unwrap_or("");
    let verdict = match crate::email::extract(raw, crate::email::MultipleEmails::First) {
        Err(reason) => Verdict::Reject(reason),
        Ok(addresses) => {
            let mut fields = Map::new();
            fields.insert(key_column.clone(), Value::String(addresses[0].clone()));
            for column in config.mapping.keys().filter(|c| *c != key_column) {
                let value = customer
                    .attr(column)
                    .or_else(|| customer.datafield(column))
                    .map(str::trim)
                    .filter(|v| !v.is_empty());
                if let Some(value) = value {
                    fields.insert(column.clone(), Value::String(value.to_owned()));
                }
            }
            match map_row(config, &fields) {
                Ok(item) => Verdict::Send(vec![item]),
                Err(reason) => Verdict::Reject(reason),
            }
        }
    };
    SourceRecord {
        id,
        watermark,
        verdict,
    }
}

fn map_row(config: &Config, fields: &Map<String, Value>) -> Result<Item, String> {
    let email = input::text(fields, &config.source.key_column)
        .ok_or_else(|| format!("missing {}", config.source.key_column))?;
    crate::email::check(&email).map_err(|reason| format!("{reason}: {email:?}"))?;
    let key = crate::email::key(&email);
    let mut out = Map::new();
    for (column, value) in fields {
        if let Some(target) = config.target(column) {
            out.insert(target.to_owned(), value.clone());
        }
    }
    out.insert("email".into(), Value::String(key.clone()));
    Ok(Item { key, fields: out })
}

/// The attributes of `now` that differ from `before` (a removed attribute is sent empty, to
/// clear it). The email is always included: it is the key.
pub fn changed(
    before: Option<&Map<String, Value>>,
    now: &Map<String, Value>,
) -> Map<String, Value> {
    let Some(before) = before else {
        return now.clone();
    };
    let mut diff: Map<String, Value> = now
        .iter()
        .filter(|(k, v)| k.as_str() == "email" || before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for k in before.keys().filter(|k| !now.contains_key(*k)) {
        diff.insert(k.clone(), Value::String(String::new()));
    }
    diff
}

/// Builds the client's [`ContactData`] from attributes by Splio name.
pub fn contact(fields: &Map<String, Value>) -> ContactData {
    let mut c = ContactData::default();
    for (name, value) in fields {
        let text = input::text(fields, name).unwrap_or_default();
        let opt = (!text.is_empty()).then(|| text.clone());
        match name.as_str() {
            "email" => c.email = opt,
            "cellphone" => c.cellphone = opt,
            "firstname" => c.firstname = Some(text),
            "lastname" => c.lastname = Some(text),
            "language" => c.language = Some(text),
            _ if value.is_null() || text.is_empty() => c
                .custom_fields
                .push(CustomFieldValue::cleared(FieldRef::Name(name.clone()))),
            _ => c.custom_fields.push(CustomFieldValue::by_name(name, text)),
        }
    }
    c
}

/// Delivers a batch: existing contacts get a PATCH with their changed attributes; new ones are
/// bulk-created with all of them (`--insert` only: without it they never reach the sink).
pub struct SplioSink<'a> {
    /// The client.
    pub client: splio_client::Client,
    /// The last delivered attributes.
    pub state: &'a StateStore,
    /// The job (state key).
    pub job: String,
    /// Keys that exist in Splio.
    pub existing: &'a HashSet<String>,
    /// Requests sent (for the summary).
    pub requests: AtomicU64,
    /// Concurrent PATCHes.
    pub concurrency: usize,
}

fn splio_outcome(e: &splio_client::Error) -> Outcome {
    Outcome::failed(crate::messaging::error_chain(e), e.is_retryable())
}

impl Sink for SplioSink<'_> {
    async fn deliver(&self, batch: &[Item]) -> Delivery {
        let mut outcomes = vec![Outcome::Delivered; batch.len()];
        let (mut updates, mut creates) = (Vec::new(), Vec::new());
        for (i, item) in batch.iter().enumerate() {
            let before = match self.state.snapshot(&self.job, &item.key) {
                Ok(before) => before,
                Err(e) => {
                    outcomes[i] = Outcome::failed(format!("state file: {e}"), true);
                    continue;
                }
            };
            if before.is_some() || self.existing.contains(&item.key) {
                updates.push((i, contact(&changed(before.as_ref(), &item.fields))));
            } else {
                creates.push((i, contact(&item.fields)));
            }
        }
        if !creates.is_empty() {
            let data: Vec<ContactData> = creates.iter().map(|(_, c)| c.clone()).collect();
            self.requests.fetch_add(
                data.len().div_ceil(splio_client::BULK_MAX) as u64,
                Ordering::Relaxed,
            );
            match self.client.bulk_create(&data).await {
                Ok(results) => {
                    for r in results {
                        let i = creates[r.index].0;
                        outcomes[i] = match &r.result {
                            Ok(()) => Outcome::Delivered,
                            // Created by an earlier, interrupted run: update it instead.
                            Err(e) if e.is_already_exists() => {
                                updates.push((i, creates[r.index].1.clone()));
                                Outcome::Delivered
                            }
                            Err(e) => splio_outcome(e),
                        };
                    }
                }
                Err(e) => {
                    for (i, _) in &creates {
                        outcomes[*i] = splio_outcome(&e);
                    }
                }
            }
        }
        self.requests
            .fetch_add(updates.len() as u64, Ordering::Relaxed);
        let patched: Vec<(usize, Result<(), splio_client::Error>)> =
            futures::stream::iter(updates.into_iter().map(|(i, data)| async move {
                let key = batch[i].key.clone();
                (i, self.client.patch_contact(&key, &data).await.map(|_| ()))
            }))
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        for (i, result) in patched {
            if let Err(e) = result {
                outcomes[i] = if e.is_not_found() {
                    Outcome::failed(
                        "the contact no longer exists in Splio (run with --insert to create it)",
                        false,
                    )
                } else {
                    splio_outcome(&e)
                };
            }
        }
        Delivery {
            outcomes,
            requests: 0,
        }
    }

    /// The run's request count is the sink's own: one per PATCH and per bulk create, plus the
    /// listing of existing contacts.
    async fn finish(&self, summary: &mut Summary) -> Result<(), Error> {
        summary.requests = self.requests.load(Ordering::Relaxed);
        Ok(())
    }
}

/// Every contact key (lower-cased email) that exists in Splio, read once per run.
pub async fn existing_keys(client: &splio_client::Client) -> Result<HashSet<String>, Error> {
    client
        .contacts()
        .map_ok(|c| c.email.as_deref().map(crate::email::key))
        .try_filter_map(|k| async move { Ok(k) })
        .try_collect()
        .await
        .map_err(|e| client_error(&e))
}

fn client_error(e: &splio_client::Error) -> Error {
    let line = crate::messaging::error_chain(e);
    if matches!(e, splio_client::Error::Unauthorized { .. }) {
        Error::Config(line)
    } else {
        Error::Source(line.into())
    }
}

/// What a run talks to.
pub struct Endpoints {
    /// The REST client (needed for `--delivery api`, and to know the existing contacts
    /// without `--insert`).
    pub rest: Option<splio_client::Client>,
    /// SFTP settings and the universe (`--delivery sftp`).
    pub sftp: Option<(splio_client::sftp::SftpConfig, String)>,
    /// Where customers come from (`--source directo`).
    pub directo: Option<directo_client::Client>,
}

/// Runs the activation once per the flags.
pub async fn run_once(
    cli: &Cli,
    config: &Config,
    endpoints: &Endpoints,
    state: &StateStore,
) -> Result<Summary, Error> {
    let args = &cli.common;
    let existing = match &endpoints.rest {
        // A dry run reads nothing from Splio: every record without a snapshot counts as new.
        _ if args.dry_run && !args.sandbox => HashSet::new(),
        // Datahub files with --insert need no API: the import creates or updates.
        None => HashSet::new(),
        Some(client) => existing_keys(client).await?,
    };
    let (source, read_from): (LocalBoxStream<'_, Result<SourceRecord, BoxError>>, _) = match (
        &endpoints.directo,
        &cli.segment,
    ) {
        _ if args.replay_failed => (futures::stream::empty().boxed_local(), None),
        (Some(directo), None) => {
            let tz = config.directo.time_zone()?;
            let read_from = args.read_from(state, &config.job, &tz)?;
            tracing::info!(job = %config.job.name, from = %read_from, "reading Directo customers");
            let query = directo_client::Query::new().since(read_from);
            let customers = open_read::<directo_client::Record>(directo, "customer", query)
                .await?
                .map(|c| source_record(c, |c| prepare_customer(config, &c)));
            (customers.boxed_local(), Some(read_from))
        }
        (Some(_), Some(_)) => {
            return Err(Error::Config(
                "--source directo reads no segment file; drop the file argument".into(),
            ));
        }
        (None, Some(path)) => (segment(config, input::read_rows(path)?), None),
        (None, None) if args.sandbox => (segment(config, demo::segment(demo::RECORDS)), None),
        (None, None) => {
            return Err(Error::Config(
                "no segment file given (or use --sandbox for a demo segment, or --source directo)"
                    .into(),
            ));
        }
    };
    let ctx = RunContext {
        job: &config.job,
        state,
        dry_run: args.dry_run,
        force: args.force,
        read_from,
        progress: args.progress(),
    };
    let records = source.map(|record| {
        let mut record = record?;
        if !cli.insert
            && let Verdict::Send(items) = &record.verdict
        {
            let new = items.iter().all(|i| {
                !existing.contains(&i.key)
                    && state
                        .snapshot(&config.job.name, &i.key)
                        .ok()
                        .flatten()
                        .is_none()
            });
            if new {
                record.verdict = Verdict::Skip(NOT_INSERTED.into());
            }
        }
        Ok(record)
    });
    let summary = match (&endpoints.sftp, &endpoints.rest) {
        (Some((sftp_config, universe)), _) => {
            if args.dry_run {
                // Nothing is uploaded: no connection either.
                if args.replay_failed {
                    crate::replay_failed(ctx, &NoSink).await?
                } else {
                    crate::run(ctx, records, &NoSink).await?
                }
            } else {
                let sink = sftp::SftpSink {
                    uploader: sftp::connect(sftp_config).await?,
                    universe: universe.clone(),
                    subsequence: config.sftp.subsequence.clone(),
                    state,
                    job: config.job.name.clone(),
                    reports: config
                        .sftp
                        .reports
                        .enabled
                        .then(|| config.sftp.reports.clone()),
                };
                let summary = if args.replay_failed {
                    crate::replay_failed(ctx, &sink).await?
                } else {
                    crate::run(ctx, records, &sink).await?
                };
                let _ = sink.uploader.close().await;
                summary
            }
        }
        (None, Some(client)) => {
            let sink = SplioSink {
                client: client.clone(),
                state,
                job: config.job.name.clone(),
                existing: &existing,
                requests: AtomicU64::new(1),
                concurrency: config.job.concurrency * 4,
            };
            if args.replay_failed {
                crate::replay_failed(ctx, &sink).await?
            } else {
                crate::run(ctx, records, &sink).await?
            }
        }
        (None, None) => return Err(Error::Config("no delivery configured".into())),
    };
    if let Some(count) = summary.skipped_by_reason.get(NOT_INSERTED) {
        tracing::warn!(
            count,
            "new contacts counted as skipped, not created (run with --insert to create them)"
        );
    }
    Ok(summary)
}

/// The sink of a dry run without a connection (the runner never calls it in a dry run).
struct NoSink;

impl Sink for NoSink {
    async fn deliver(&self, batch: &[Item]) -> Delivery {
        Delivery::all(
            batch.len(),
            Outcome::failed("dry run: nothing is delivered", false),
            0,
        )
    }
}

fn tune(builder: splio_client::ClientBuilder, config: &SplioConfig) -> splio_client::ClientBuilder {
    let builder = if config.rate_limit {
        builder
    } else {
        builder.rate_limit(splio_client::RateLimits::unlimited())
    };
    builder.retry(splio_client::RetryConfig {
        max_retries: config.retries,
        min_delay: config.retry_delay,
        max_delay: config.retry_delay.saturating_mul(30),
    })
}

/// A client from `SPLIO_API_KEY` and `SPLIO_BASE_URL` (plain http only on loopback).
pub fn client_from_env(config: &SplioConfig) -> Result<splio_client::Client, Error> {
    let key = env::required("SPLIO_API_KEY", "the Splio API key")?;
    let mut builder = splio_client::Client::builder(key);
    if let Some(base) = env::optional("SPLIO_BASE_URL") {
        let (url, allow_http) = env::base_url("SPLIO_BASE_URL", &base)?;
        builder = builder
            .base_url(url.as_str().trim_end_matches('/'))
            .allow_http(allow_http);
    }
    tune(builder, config)
        .build()
        .map_err(|e| Error::Config(format!("Splio client: {e}")))
}

/// The whole binary.
pub async fn main(cli: Cli) -> ExitCode {
    crate::progress::init_logging();
    let args = cli.common.clone();
    let setup = async {
        env::load_dotenv()?;
        let job_name = match cli.source {
            SourceKind::Csv => JOB_NAME,
            SourceKind::Directo => DIRECTO_JOB_NAME,
        };
        let config = Config::load(args.config.as_deref(), job_name)?;
        let state = args.open_state()?;
        let (directo_fake, directo) = match (cli.source, args.sandbox) {
            (SourceKind::Csv, _) => (None, None),
            (SourceKind::Directo, false) => (None, Some(directo_from_env(&config.directo)?)),
            (SourceKind::Directo, true) => {
                let fake = demo::directo_customers(&config.directo).await?;
                let client = sandbox_directo(&fake, &config.directo)?;
                (Some(fake), Some(client))
            }
        };
        let (fake, rest) = if args.sandbox {
            if cli.delivery == DeliveryKind::Sftp {
                return Err(Error::Config(
                    "the sandbox has no SFTP server; use --delivery api with --sandbox".into(),
                ));
            }
            let fake = splio_client::fake::FakeSplio::start().await;
            demo::seed(&fake);
            if directo_fake.is_some() {
                demo::seed_customers(&fake);
            }
            let sandbox = SplioConfig {
                rate_limit: false,
                ..config.splio.clone()
            };
            let client = tune(
                splio_client::Client::builder(fake.api_key())
                    .base_url(fake.base_url())
                    .allow_http(true),
                &sandbox,
            )
            .build()
            .map_err(|e| Error::Config(format!("Splio client: {e}")))?;
            (Some(fake), Some(client))
        } else if cli.delivery == DeliveryKind::Api || !cli.insert {
            (None, Some(client_from_env(&config.splio)?))
        } else {
            (None, None)
        };
        let sftp = if cli.delivery == DeliveryKind::Sftp {
            let universe = env::required(
                "SPLIO_UNIVERSE",
                "the Splio universe, for Datahub file names",
            )?;
            // Bad file-name parts are a configuration error, not every record parked.
            splio_client::datahub::ContactCsvWriter::new(&universe, &config.sftp.subsequence)
                .map_err(|e| Error::Config(crate::messaging::error_chain(&e)))?;
            Some((sftp::config_from_env(&config.sftp)?, universe))
        } else {
            None
        };
        let endpoints = Endpoints {
            rest,
            sftp,
            directo,
        };
        Ok::<_, Error>((config, state, fake, directo_fake, endpoints))
    };
    let (config, state, fake, _directo_fake, endpoints) = match setup.await {
        Ok(ok) => ok,
        Err(e) => return crate::messaging::report(args.json, &e),
    };
    tracing::info!(job = %config.job.name, state = %args.state_description(), sandbox = args.sandbox, "starting");
    let code = crate::main_loop(&args, || run_once(&cli, &config, &endpoints, &state)).await;
    if let Some(fake) = fake
        && !args.json
    {
        eprintln!(
            "\nsandbox: the Splio fake now holds {} contacts ({} requests).",
            fake.contacts().len(),
            fake.requests().len()
        );
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect()
    }

    #[test]
    fn only_changed_attributes_are_sent() {
        let before = map(&[
            ("email", "a@example.com"),
            ("firstname", "Ann"),
            ("tier", "gold"),
            ("city", "Tartu"),
        ]);
        let now = map(&[
            ("email", "a@example.com"),
            ("firstname", "Ann"),
            ("tier", "silver"),
        ]);
        let diff = changed(Some(&before), &now);
        assert_eq!(
            diff,
            map(&[("email", "a@example.com"), ("tier", "silver"), ("city", "")])
        );
        assert_eq!(changed(None, &now), now);
    }

    #[test]
    fn mapping_renames_and_ignores_columns() {
        let config: Config = crate::config::parse_toml(
            "ignore = [\"internal\"]\n[source]\nkey_column = \"Mail\"\n[mapping]\nFirst = \"firstname\"\n",
        )
        .unwrap();
        let item = map_row(
            &config,
            &map(&[
                ("Mail", "A@Example.com"),
                ("First", "Ann"),
                ("internal", "x"),
                ("tier", "gold"),
            ]),
        )
        .unwrap();
        assert_eq!(item.key, "a@example.com");
        assert_eq!(
            item.fields,
            map(&[
                ("email", "a@example.com"),
                ("firstname", "Ann"),
                ("tier", "gold")
            ])
        );
        assert!(map_row(&config, &map(&[("Mail", "nope")])).is_err());
        let c = contact(&item.fields);
        assert_eq!(c.firstname.as_deref(), Some("Ann"));
        assert_eq!(
            c.custom_fields,
            vec![CustomFieldValue::by_name("tier", "gold")]
        );
    }
}
