//! `segment-to-splio`: a reverse-ETL activation. A segment file (CSV with a header row, keyed by
//! the `email` column unless configured) → mapped to Splio standard and custom attributes → only
//! the attributes that changed since the last activation are sent (the last delivered values
//! are the snapshot in the state store) → Splio contacts API. With `--source directo` the
//! segment is instead the Directo customers changed since the last run (the same watermark rules
//! as `directo-to-smaily`). See docs/segment-to-splio.md.

pub mod api;
pub mod demo;
pub mod existence;
pub mod sftp;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::LocalBoxStream;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use splio_client::{ContactData, CustomFieldValue, FieldRef};

use crate::shared::directo::{
    CustomerFields, DirectoConfig, directo_from_env, open_read, source_record,
};
use existence::{Existence, Learned, Presence, ProbeBy};
use sync_kit::config::duration_str;
use sync_kit::input::{self, Columns, InputFile, Row};
use sync_kit::preview::{DryRun, Preview};
#[cfg(feature = "sandbox")]
use sync_kit::sandbox::SandboxFile;
use sync_kit::state_guard::StateGuard;
#[cfg(feature = "sandbox")]
use sync_kit::summary::count;
use sync_kit::{
    BoxError, CommonArgs, Error, ExitCode, Item, JobConfig, RunContext, Sink, SourceRecord,
    StateStore, Summary, Verdict, env, report_error,
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
#[command(
    name = "segment-to-splio",
    version,
    about = "Activates a segment in Splio: the rows of a CSV or JSON-lines file (or, with \
             --source directo, the Directo customers changed since the last run) become Splio \
             contacts, sending only what changed since the last activation, by REST or as \
             Datahub files over SFTP.",
    long_about = None
)]
pub struct Cli {
    /// The segment file: CSV with a header row (`,` or `;`) or JSON lines (.jsonl, .ndjson,
    /// .json), keyed by its `email` column (source.key_column). Optional with --sandbox (demo
    /// segment), --source directo and --replay-failed.
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
            Some(path) => sync_kit::config::load_toml(path)?,
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

/// A segment's rows as the runner's records.
fn segment(config: &Config, rows: Vec<Row>) -> LocalBoxStream<'_, Result<SourceRecord, BoxError>> {
    futures::stream::iter(rows.into_iter().map(move |row| Ok(prepare(config, row)))).boxed_local()
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
    let verdict = match sync_kit::email::extract(raw, sync_kit::email::MultipleEmails::First) {
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
    sync_kit::email::check(&email).map_err(|reason| format!("{reason}: {email:?}"))?;
    let key = sync_kit::email::key(&email);
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

pub(crate) fn client_error(e: &splio_client::Error) -> Error {
    let line = sync_kit::error_chain(e);
    if matches!(e, splio_client::Error::Unauthorized { .. }) {
        Error::Config(line)
    } else {
        Error::delivering("Splio", format!("learning which contacts exist: {line}"))
    }
}

/// What a dry run prints for a batch sent by REST: one `POST /data/contacts/bulk` creating the
/// contacts new to this job with all their attributes, and a `PATCH /data/contacts/{email}`
/// with the changed attributes of each contact delivered before. A dry run asks Splio nothing,
/// so a contact without a snapshot counts as new.
pub fn preview(batch: &[Item], state: &StateStore, job: &str) -> Vec<Preview> {
    let mut creates = Vec::new();
    let mut patches = Vec::new();
    for item in batch {
        match state.snapshot(job, &item.key).ok().flatten() {
            Some(before) => {
                let body = contact(&changed(Some(&before), &item.fields))
                    .patch_body(&splio_client::UniqueKey::Email, CREATION_DATE_HOUR);
                patches.push(Preview::json(
                    "PATCH",
                    splio_client::contact_path(&item.key),
                    &body,
                ));
            }
            None => creates.push(contact(&item.fields)),
        }
    }
    creates
        .chunks(splio_client::BULK_MAX)
        .map(|chunk| {
            Preview::json(
                "POST",
                "/data/contacts/bulk",
                &ContactData::bulk_body(chunk, CREATION_DATE_HOUR),
            )
        })
        .chain(patches)
        .collect()
}

/// What a run talks to.
pub struct Endpoints {
    /// The REST client (needed for `--delivery api`, and to know the existing contacts
    /// without `--insert`); `None` in a dry run outside the sandbox, which asks Splio nothing.
    pub rest: Option<splio_client::Client>,
    /// `--delivery sftp`: the writer of the Datahub files (it names and writes them, in a dry
    /// run too) and the connection settings (`None` in a dry run, which connects to nothing).
    pub sftp: Option<(
        splio_client::datahub::ContactCsvWriter,
        Option<splio_client::sftp::SftpConfig>,
    )>,
    /// Where customers come from (`--source directo`).
    pub directo: Option<directo_client::Client>,
}

/// The segment file these flags name, read and checked (it exists, its header has the key
/// column, no quote swallows the rest of it) when the process starts, before any request to
/// Splio; `None` when the segment comes from Directo or the sandbox's demo, or for a replay.
pub fn open_segment(cli: &Cli, config: &Config) -> Result<Option<InputFile>, Error> {
    match (cli.source, &cli.segment) {
        (SourceKind::Directo, Some(_)) => Err(Error::Config(
            "--source directo reads no segment file; drop the file argument".into(),
        )),
        // A replay sends the parked records: it reads no file.
        (SourceKind::Csv, Some(_)) if cli.common.replay_failed => Ok(None),
        (SourceKind::Csv, Some(path)) => {
            let key = config.source.key_column.as_str();
            InputFile::open(path, Columns::required(&[key])).map(Some)
        }
        (SourceKind::Csv, None) if !cli.common.sandbox && !cli.common.replay_failed => {
            Err(Error::Config(
                "no segment file given (or use --sandbox for a demo segment, or --source directo)"
                    .into(),
            ))
        }
        _ => Ok(None),
    }
}

/// The run's records (the segment file [`open_segment`] opened and checked, the sandbox's demo
/// segment, or the Directo customers changed since the last run; none for a replay), and where
/// an incremental source is read from. The runner reads them all into its staging area before
/// the first request to Splio; the screening ([`Screened`]) then counts the keys never
/// delivered, and so chooses how to learn whether they exist. This is the one place the segment
/// is read.
async fn read_source<'a>(
    cli: &'a Cli,
    config: &'a Config,
    endpoints: &'a Endpoints,
    input: Option<&InputFile>,
    state: &StateStore,
) -> Result<
    (
        LocalBoxStream<'a, Result<SourceRecord, BoxError>>,
        Option<jiff::civil::DateTime>,
    ),
    Error,
> {
    let args = &cli.common;
    match (&endpoints.directo, input) {
        _ if args.replay_failed => Ok((futures::stream::empty().boxed_local(), None)),
        (Some(directo), _) => {
            let tz = config.directo.time_zone()?;
            let read_from = args.read_from(state, &config.job, &tz)?;
            tracing::info!(job = %config.job.name, from = %read_from, "reading Directo customers");
            let query = directo_client::Query::new().since(read_from);
            let customers = open_read::<directo_client::Record>(directo, "customer", query)
                .await?
                .map(|c| source_record(c, |c| prepare_customer(config, &c)))
                .boxed_local();
            Ok((customers, Some(read_from)))
        }
        (None, Some(file)) => Ok((segment(config, file.rows()?), None)),
        // `open_segment` let no file through only for the sandbox's demo (or a replay).
        (None, None) => Ok((segment(config, demo::segment(demo::RECORDS)), None)),
    }
}

/// What the run learns about the contacts it never delivered before (see [`existence`]).
async fn learn_existence(
    cli: &Cli,
    endpoints: &Endpoints,
    concurrency: usize,
    unknown: &HashSet<String>,
) -> Result<Existence, Error> {
    let args = &cli.common;
    let probe_by = match (&endpoints.sftp, cli.insert) {
        // Datahub files with --insert: the import creates or updates, nothing to ask.
        (Some(_), true) => return Ok(Existence::probe_all()),
        (Some(_), false) => ProbeBy::Get,
        (None, _) => ProbeBy::Patch,
    };
    let client = match &endpoints.rest {
        // A dry run reads nothing from Splio: every record without a snapshot counts as new.
        _ if args.dry_run => return Ok(Existence::assume_absent()),
        // A replay's few parked records are probed by their delivery.
        _ if args.replay_failed => return Ok(Existence::probe_all()),
        Some(client) => client,
        None => return Err(Error::Config("no Splio API client configured".into())),
    };
    Existence::learn(client, unknown, probe_by, concurrency).await
}

/// The screening every sink of this sync shares: once the run's records are staged, it learns
/// which of the contacts never delivered exist in Splio (kept in `learned`, which the REST
/// delivery reads too) and, without `--insert`, skips those known to be absent. The requests
/// spent learning it are added to the run's count.
#[derive(Clone, Copy)]
struct Screening<'a> {
    cli: &'a Cli,
    endpoints: &'a Endpoints,
    concurrency: usize,
    learned: &'a Learned,
}

impl<'a> Screening<'a> {
    /// `sink`, screened by this.
    fn of<K: Sink>(self, sink: K) -> Screened<'a, K> {
        Screened {
            sink,
            screening: self,
        }
    }
}

/// A sink with the [`Screening`].
struct Screened<'a, K> {
    sink: K,
    screening: Screening<'a>,
}

impl<K: Sink> Sink for Screened<'_, K> {
    const SCREENS: bool = true;

    async fn deliver(&self, batch: &[Item]) -> sync_kit::Delivery {
        self.sink.deliver(batch).await
    }

    fn preview(&self, batch: &[Item]) -> Vec<Preview> {
        self.sink.preview(batch)
    }

    async fn screen(&self, unknown: &HashSet<String>) -> Result<HashMap<String, String>, Error> {
        let Screening {
            cli,
            endpoints,
            concurrency,
            learned,
        } = self.screening;
        let existence = learn_existence(cli, endpoints, concurrency, unknown).await?;
        let skips = if cli.insert {
            HashMap::new()
        } else {
            unknown
                .iter()
                .filter(|key| existence.of(key) == Presence::Absent)
                .map(|key| (key.clone(), NOT_INSERTED.to_owned()))
                .collect()
        };
        learned.set(existence);
        Ok(skips)
    }

    async fn finish(&self, summary: &mut Summary) -> Result<(), Error> {
        self.sink.finish(summary).await?;
        summary.requests += self.screening.learned.requests();
        Ok(())
    }
}

/// Runs the activation once per the flags.
pub async fn run_once(
    cli: &Cli,
    config: &Config,
    endpoints: &Endpoints,
    input: Option<&InputFile>,
    state: &StateStore,
) -> Result<Summary, Error> {
    let args = &cli.common;
    let (records, read_from) = read_source(cli, config, endpoints, input, state).await?;
    let ctx = RunContext {
        job: &config.job,
        state,
        dry_run: args.dry_run,
        force: args.force,
        read_from,
        progress: args.progress(),
        stop: sync_kit::Stop::process(),
    };
    let learned = Learned::default();
    let screening = Screening {
        cli,
        endpoints,
        concurrency: config.job.concurrency * 4,
        learned: &learned,
    };
    let job = config.job.name.as_str();
    let summary = match (&endpoints.sftp, &endpoints.rest) {
        (Some((writer, _)), _) if args.dry_run => {
            let sink = screening.of(DryRun(|batch: &[Item]| {
                sftp::preview(writer, &config.sftp, batch, state, job)
            }));
            args.run_or_replay(ctx, records, &sink).await?
        }
        _ if args.dry_run => {
            let sink = screening.of(DryRun(|batch: &[Item]| preview(batch, state, job)));
            args.run_or_replay(ctx, records, &sink).await?
        }
        (Some((writer, Some(sftp_config))), _) => {
            let sink = screening.of(sftp::SftpSink {
                uploader: sftp::connect(sftp_config).await?,
                writer: writer.clone(),
                state,
                job: job.to_owned(),
                reports: config
                    .sftp
                    .reports
                    .enabled
                    .then(|| config.sftp.reports.clone()),
            });
            let summary = args.run_or_replay(ctx, records, &sink).await?;
            let _ = sink.sink.uploader.close().await;
            summary
        }
        (None, Some(client)) => {
            let sink = screening.of(api::SplioSink {
                client: client.clone(),
                state,
                job: job.to_owned(),
                existence: &learned,
                insert: cli.insert,
                requests: AtomicU64::new(0),
                concurrency: config.job.concurrency * 4,
            });
            args.run_or_replay(ctx, records, &sink).await?
        }
        _ => return Err(Error::Config("no delivery configured".into())),
    };
    if let Some(count) = summary.skipped_by_reason.get(NOT_INSERTED) {
        tracing::warn!(
            count,
            "new contacts counted as skipped, not created (run with --insert to create them)"
        );
    }
    Ok(summary)
}

/// How the clients of this sync write `creation_date` hours, and so the dry run's bodies.
const CREATION_DATE_HOUR: splio_client::CreationDateHour = splio_client::CreationDateHour::Unpadded;

fn tune(builder: splio_client::ClientBuilder, config: &SplioConfig) -> splio_client::ClientBuilder {
    let builder = builder.creation_date_hour(CREATION_DATE_HOUR);
    let builder = if config.rate_limit {
        builder
    } else {
        builder.rate_limit(splio_client::RateLimits::unlimited())
    };
    builder.retry(splio_client::RetryPolicy {
        max_retries: config.retries,
        min_delay: config.retry_delay,
        max_delay: config.retry_delay.saturating_mul(30),
        jitter: true,
    })
}

/// A client from `SPLIO_API_KEY` and `SPLIO_BASE_URL` (plain http only on loopback).
pub fn client_from_env(config: &SplioConfig) -> Result<splio_client::Client, Error> {
    let key = env::required("SPLIO_API_KEY", "the Splio API key")?;
    let mut builder = splio_client::Client::builder(splio_client::ApiKey::new(key));
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

#[cfg(feature = "sandbox")]
/// The sandbox: a Splio fake holding what the sandbox file beside `--state` kept (else the
/// demo contacts), and for `--source directo` a Directo fake with the demo customers.
pub struct Sandbox {
    /// The Splio fake.
    pub splio: splio_client::fake::FakeSplio,
    /// The Directo fake (`--source directo`).
    pub directo: Option<directo_client::fake::FakeDirecto>,
    file: SandboxFile,
}

#[cfg(feature = "sandbox")]
impl Sandbox {
    /// Starts the fakes and clients for them.
    pub async fn start(
        file: SandboxFile,
        config: &Config,
        source: SourceKind,
    ) -> Result<
        (
            Sandbox,
            splio_client::Client,
            Option<directo_client::Client>,
        ),
        Error,
    > {
        let (directo, reader) = match source {
            SourceKind::Csv => (None, None),
            SourceKind::Directo => {
                let fake = demo::directo_customers(&config.directo, file.demo_time()).await?;
                let client = crate::shared::directo::sandbox_directo(&fake, &config.directo)?;
                (Some(fake), Some(client))
            }
        };
        let splio = splio_client::fake::FakeSplio::start().await;
        demo::seed_fields(&splio);
        match file.section("splio") {
            Some(saved) => demo::restore(&splio, saved),
            None if directo.is_some() => demo::seed_customers(&splio),
            None => demo::seed(&splio),
        }
        let settings = SplioConfig {
            rate_limit: false,
            ..config.splio.clone()
        };
        let client = tune(
            splio_client::Client::builder(splio_client::ApiKey::new(splio.api_key()))
                .base_url(splio.base_url())
                .allow_http(true),
            &settings,
        )
        .build()
        .map_err(|e| Error::Config(format!("Splio client: {e}")))?;
        let sandbox = Sandbox {
            splio,
            directo,
            file,
        };
        Ok((sandbox, client, reader))
    }
}

#[cfg(feature = "sandbox")]
impl crate::shared::sandbox::Fakes for Sandbox {
    /// Saves what the Splio fake holds beside the state file (a warning if that fails).
    fn save(&self) {
        if let Err(e) = self.file.save([("splio", demo::state(&self.splio))]) {
            tracing::warn!("sandbox state not kept: {}", e.one_line());
        }
    }

    /// The closing line: what the Splio fake holds, and the requests the fakes saw.
    fn closing_line(&self) -> String {
        let directo = self.directo.as_ref();
        let directo_requests = directo.map(|d| count(d.requests().len() as u64, "Directo request"));
        let requests: Vec<String> = directo_requests
            .into_iter()
            .chain([count(self.splio.requests().len() as u64, "Splio request")])
            .collect();
        crate::shared::sandbox::closing_line(
            "Splio",
            &[count(self.splio.contacts().len() as u64, "contact")],
            &requests,
        )
    }
}

/// A build without the `sandbox` feature has no sandbox.
#[cfg(not(feature = "sandbox"))]
pub use crate::shared::sandbox::Unavailable as Sandbox;

/// The whole binary. Everything that can be wrong with the flags, the config, the segment file
/// or the credentials is found before the state file is opened, so none is created for nothing.
pub async fn main(cli: Cli) -> ExitCode {
    sync_kit::progress::init_logging();
    sync_kit::stop::listen();
    let args = cli.common.clone();
    let guard = StateGuard::new(&args);
    let setup = async {
        env::load_dotenv()?;
        let job_name = match cli.source {
            SourceKind::Csv => JOB_NAME,
            SourceKind::Directo => DIRECTO_JOB_NAME,
        };
        let config = Config::load(args.config.as_deref(), job_name)?;
        if let Some(code) = sync_kit::cli::inspect(&args, &config.job) {
            return Ok(Err(code));
        }
        let input = open_segment(&cli, &config)?;
        if args.sandbox && cli.delivery == DeliveryKind::Sftp {
            return Err(Error::Config(
                "the sandbox has no SFTP server; use --delivery api with --sandbox".into(),
            ));
        }
        #[cfg(feature = "sandbox")]
        let started = match args.sandbox {
            true => {
                let file = SandboxFile::open(&args)?;
                let (sandbox, rest, directo) = Sandbox::start(file, &config, cli.source).await?;
                Some((sandbox, (rest, directo)))
            }
            false => None,
        };
        #[cfg(not(feature = "sandbox"))]
        let started = Sandbox::start(args.sandbox)?;
        let (sandbox, rest, directo) = if let Some((sandbox, (rest, directo))) = started {
            (Some(sandbox), Some(rest), directo)
        } else {
            let directo = match cli.source {
                SourceKind::Csv => None,
                SourceKind::Directo => Some(directo_from_env(&config.directo)?),
            };
            // A dry run asks Splio nothing; SFTP files with --insert need no API.
            let rest = if args.dry_run || (cli.delivery == DeliveryKind::Sftp && cli.insert) {
                None
            } else {
                Some(client_from_env(&config.splio)?)
            };
            (None, rest, directo)
        };
        let sftp = if cli.delivery == DeliveryKind::Sftp {
            let universe = env::required_no_sandbox(
                "SPLIO_UNIVERSE",
                "the Splio universe, for Datahub file names",
            )?;
            // Bad file-name parts are a configuration error, not every record parked.
            let writer = sftp::writer(&config.sftp, &universe)?;
            let connection = if args.dry_run {
                None
            } else {
                Some(sftp::config_from_env(&config.sftp)?)
            };
            Some((writer, connection))
        } else {
            None
        };
        let endpoints = Endpoints {
            rest,
            sftp,
            directo,
        };
        let state = args.open_state()?;
        Ok::<_, Error>(Ok((config, input, state, sandbox, endpoints)))
    };
    let (config, input, state, sandbox, endpoints) = match setup.await {
        Ok(Ok(ok)) => ok,
        Ok(Err(code)) => return code,
        Err(e) => return report_error(args.json, &e),
    };
    let job =
        async |state: &StateStore| run_once(&cli, &config, &endpoints, input.as_ref(), state).await;
    crate::shared::run::run_job(&args, &config.job.name, sandbox.as_ref(), guard, state, job).await
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
        let config: Config = sync_kit::config::parse_toml(
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
