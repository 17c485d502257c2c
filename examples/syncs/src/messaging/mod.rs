//! `messaging`: the messaging API guide as a CLI over `messaging-client`. One-shot commands
//! (`account`, `unsubscribe`, `event`, `status`, `fields`), and syncs that run through the sync
//! toolkit (state, dry run, replay, summary): the file pushes `orders push`, `contacts push` and
//! `send`, and `directo-orders` (Directo invoices → orders). See docs/messaging.md.

pub mod contacts;
pub mod demo;
pub mod directo_orders;
pub mod oneshot;
pub mod orders;
pub mod send;

/// The toolkit's input files, which the file pushes read.
pub use sync_kit::input;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use messaging_client::ItemError;
use serde::{Deserialize, Serialize};

use sync_kit::config::duration_str;
use sync_kit::input::{Columns, InputFile};
use sync_kit::preview::DryRun;
#[cfg(feature = "sandbox")]
use sync_kit::sandbox::SandboxFile;
use sync_kit::state_guard::StateGuard;

#[cfg(feature = "sandbox")]
use sync_kit::summary::count;
use sync_kit::{
    CommonArgs, Error, ExitCode, JobConfig, Outcome, RunContext, StateStore, Summary, env,
    error_chain, report_error,
};

/// The `messaging` command line.
#[derive(Debug, Parser)]
#[command(
    name = "messaging",
    version,
    about = "The messaging API (eSputnik/Yespo) as a command line: the account, unsubscribes, \
             events, sends and their statuses, orders, contacts and custom fields; orders, \
             contacts and recipients are read from CSV or JSON-lines files, and directo-orders \
             syncs Directo invoices to orders.",
    long_about = None
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--json`, `--sandbox` and the sandbox's `--state` for the one-shot commands.
#[derive(Debug, Clone, clap::Args)]
pub struct OneShotArgs {
    /// Print the answer as one JSON line on stdout.
    #[arg(long)]
    pub json: bool,
    /// Run against the in-process fake seeded with demo data (no account needed).
    #[arg(long)]
    pub sandbox: bool,
    /// With --sandbox: the state file of the sandbox runs to continue (the fake keeps what
    /// they sent beside it, e.g. the messages of `send --sandbox --state FILE` for `status`).
    #[arg(long, value_name = "FILE", requires = "sandbox")]
    pub state: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the account (and so check the credentials).
    Account(OneShotArgs),
    /// Add or remove emails on the unsubscribed list.
    Unsubscribe {
        /// `add` or `remove`.
        #[command(subcommand)]
        action: UnsubscribeAction,
    },
    /// Generate one event (not idempotent: sent once, never retried after it may have arrived).
    Event {
        /// The event type key.
        type_key: String,
        /// The event's key value (e.g. the contact's email): required unless a --param names
        /// the contact (contactId, externalCustomerId, email, phone or pushToken).
        #[arg(long)]
        key: Option<String>,
        /// A parameter, `name=value` (repeatable).
        #[arg(long = "param", value_parser = parse_param, value_name = "NAME=VALUE")]
        params: Vec<(String, String)>,
        /// Output and sandbox flags.
        #[command(flatten)]
        out: OneShotArgs,
    },
    /// Send a prepared message to every recipient of a file (CSV or JSON lines), once each.
    Send {
        /// The prepared message's id.
        message_id: i64,
        /// The recipients file: CSV with a header row (`locator`, `email` or `contactId`;
        /// `language`; every other column a message parameter) or JSON lines (`{"locator": …,
        /// "params": {…}}`). Optional with --sandbox (demo recipients) and --replay-failed.
        #[arg(long, value_name = "FILE")]
        recipients: Option<PathBuf>,
        /// The message is not an email (SMS, Viber, …).
        #[arg(long)]
        not_email: bool,
        /// Append `key,requestId` of every delivered recipient to this CSV file (for `status`).
        #[arg(long, value_name = "FILE")]
        request_ids: Option<PathBuf>,
        /// The common sync flags.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Delivery statuses of sent messages by request id.
    Status {
        /// Request ids (as returned by `send`).
        #[arg(required = true)]
        request_ids: Vec<String>,
        /// Output and sandbox flags.
        #[command(flatten)]
        out: OneShotArgs,
    },
    /// Push orders from a CSV or JSON-lines file (for RFM segments).
    Orders {
        /// `push`.
        #[command(subcommand)]
        action: PushAction,
    },
    /// Sync Directo invoices changed since the last run to orders (DELIVERED when paid,
    /// else INITIALIZED), for RFM segments. Directo credentials from DIRECTO_*.
    DirectoOrders {
        /// The common sync flags.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Push contacts from a CSV or JSON-lines file (custom fields by name).
    Contacts {
        /// `push`.
        #[command(subcommand)]
        action: PushAction,
    },
    /// List the custom fields of the account (the catalog `contacts push` resolves names with).
    Fields(OneShotArgs),
}

/// `unsubscribe add|remove`.
#[derive(Debug, Subcommand)]
pub enum UnsubscribeAction {
    /// Add emails to the unsubscribed list.
    Add {
        /// The emails.
        #[arg(required = true)]
        emails: Vec<String>,
        /// Output and sandbox flags.
        #[command(flatten)]
        out: OneShotArgs,
    },
    /// Remove emails from the unsubscribed list.
    Remove {
        /// The emails.
        #[arg(required = true)]
        emails: Vec<String>,
        /// Output and sandbox flags.
        #[command(flatten)]
        out: OneShotArgs,
    },
}

/// `orders push` / `contacts push`.
#[derive(Debug, Subcommand)]
pub enum PushAction {
    /// Push every record of a file: CSV with a header row (`,` or `;`) or JSON lines (one
    /// object per line), in the API's field names (see docs/messaging.md).
    Push {
        /// The file (.csv, or .jsonl/.ndjson/.json for JSON lines); optional with --sandbox
        /// (demo data) and --replay-failed.
        file: Option<PathBuf>,
        /// The common sync flags.
        #[command(flatten)]
        common: CommonArgs,
    },
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("{text:?} is not name=value")),
    }
}

/// The TOML config of the file pushes (`--config`): the job and the client settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Batch size, concurrency, retry schedule (the job name defaults to the command's).
    pub job: JobConfig,
    /// Client settings.
    pub messaging: ClientConfig,
}

/// Client settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// The zone order dates without an offset are read in (default UTC).
    pub time_zone: String,
    /// Retries of one request inside the client (idempotent requests, or ones that provably
    /// did not arrive).
    pub retries: usize,
    /// First backoff delay of those retries.
    #[serde(with = "duration_str")]
    pub retry_delay: Duration,
    /// Timeout of one request.
    #[serde(with = "duration_str")]
    pub timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            time_zone: "UTC".into(),
            retries: 3,
            retry_delay: Duration::from_millis(500),
            timeout: Duration::from_secs(60),
        }
    }
}

impl Config {
    /// Loads `path` (or the defaults), names the job `default_job` unless the file does.
    pub fn load(path: Option<&std::path::Path>, default_job: &str) -> Result<Self, Error> {
        let mut config: Config = match path {
            Some(path) => sync_kit::config::load_toml(path)?,
            None => Config::default(),
        };
        config.job.default_name(default_job);
        config.job.validate()?;
        config.time_zone()?;
        Ok(config)
    }

    /// The zone of `messaging.time_zone`.
    pub fn time_zone(&self) -> Result<jiff::tz::TimeZone, Error> {
        jiff::tz::TimeZone::get(&self.messaging.time_zone).map_err(|e| {
            Error::Config(format!(
                "messaging.time_zone = {:?}: {e}",
                self.messaging.time_zone
            ))
        })
    }
}

/// A client from `MESSAGING_API_KEY` and `MESSAGING_BASE_URL` (plain http only on loopback).
pub fn client_from_env(config: &ClientConfig) -> Result<messaging_client::Client, Error> {
    let key = env::required("MESSAGING_API_KEY", "the messaging API key")?;
    let mut builder = messaging_client::Client::builder(messaging_client::ApiKey::new(key));
    if let Some(base) = env::optional("MESSAGING_BASE_URL") {
        let (url, allow_http) = env::base_url("MESSAGING_BASE_URL", &base)?;
        builder = builder
            .base_url(url.as_str().trim_end_matches('/'))
            .allow_http(allow_http);
    }
    tune(builder, config)
        .build()
        .map_err(|e| Error::Config(format!("messaging client: {e}")))
}

fn tune(
    builder: messaging_client::ClientBuilder,
    config: &ClientConfig,
) -> messaging_client::ClientBuilder {
    builder
        .timeout(config.timeout)
        .order_retry(orders::ORDER_RETRY)
        .retry(messaging_client::RetryPolicy {
            max_retries: config.retries,
            min_delay: config.retry_delay,
            max_delay: config.retry_delay.saturating_mul(30),
            jitter: true,
        })
}

/// The messaging sandbox (`--sandbox`): the fake, holding what the sandbox file beside
/// `--state` says (else the demo data), and a client pointing at it.
#[cfg(feature = "sandbox")]
#[derive(Debug)]
pub struct Sandbox {
    /// The fake.
    pub fake: messaging_client::fake::FakeMessaging,
    /// The Directo fake `directo-orders` reads (counted in the closing line).
    pub directo: Option<directo_client::fake::FakeDirecto>,
    file: SandboxFile,
}

/// A build without the `sandbox` feature has no sandbox.
#[cfg(not(feature = "sandbox"))]
pub use crate::shared::sandbox::Unavailable as Sandbox;

#[cfg(feature = "sandbox")]
impl Sandbox {
    /// Starts the fake, restored from `file`, and a client for it.
    pub async fn start(
        file: SandboxFile,
        config: &ClientConfig,
    ) -> Result<(Sandbox, messaging_client::Client), Error> {
        let fake = messaging_client::fake::FakeMessaging::start().await;
        match file.section("messaging") {
            Some(saved) => demo::restore(&fake, saved),
            None => demo::seed(&fake),
        }
        let client = tune(
            messaging_client::Client::builder(messaging_client::ApiKey::new(fake.api_key()))
                .base_url(fake.base_url())
                .allow_http(true),
            config,
        )
        .build()
        .map_err(|e| Error::Config(format!("messaging client: {e}")))?;
        let sandbox = Sandbox {
            fake,
            directo: None,
            file,
        };
        Ok((sandbox, client))
    }

    /// When the demo data was made (the same on every run that keeps its state).
    pub fn demo_time(&self) -> jiff::Timestamp {
        self.file.demo_time()
    }
}

#[cfg(feature = "sandbox")]
impl crate::shared::sandbox::Fakes for Sandbox {
    /// Saves what the fake holds beside the state file (a warning if that fails).
    fn save(&self) {
        if let Err(e) = self.file.save([("messaging", demo::state(&self.fake))]) {
            tracing::warn!("sandbox state not kept: {}", e.one_line());
        }
    }

    /// The closing line: what the fake holds, and the requests the fakes saw.
    fn closing_line(&self) -> String {
        let fake = &self.fake;
        let directo = self.directo.as_ref();
        let directo_requests = directo.map(|d| count(d.requests().len() as u64, "Directo request"));
        let requests: Vec<String> = directo_requests
            .into_iter()
            .chain([count(fake.requests().len() as u64, "messaging request")])
            .collect();
        crate::shared::sandbox::closing_line(
            "messaging",
            &[
                count(fake.orders().len() as u64, "order"),
                count(fake.contacts().len() as u64, "contact"),
                count(fake.message_statuses().len() as u64, "sent message"),
            ],
            &requests,
        )
    }
}

/// A per-item error of the client as a runner outcome. "Duplicated request" (the service saw
/// this exact request already) counts as delivered.
pub fn item_error(e: &ItemError) -> Outcome {
    match e {
        ItemError::Rejected { message } => {
            Outcome::failed(format!("rejected by the service: {message}"), false)
        }
        ItemError::OutcomeUnknown { .. } => Outcome::failed(e, false),
        ItemError::Failed(err) if err.is_duplicated_request() => Outcome::Delivered,
        ItemError::Failed(err) => Outcome::failed(error_chain(&**err), err.is_retryable()),
    }
}

/// A client error as a toolkit error: bad credentials or input are configuration errors (exit
/// 2), everything else `calling the messaging API failed: …` (exit 1).
pub fn client_error(e: messaging_client::Error) -> Error {
    match e {
        messaging_client::Error::Unauthorized { .. }
        | messaging_client::Error::Transport(
            messaging_client::marketing_sync_core::Error::Config(_),
        )
        | messaging_client::Error::InvalidInput { .. } => Error::Config(error_chain(&e)),
        other => Error::calling("the messaging API", other),
    }
}

/// Which file push to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// `orders push`.
    Orders,
    /// `contacts push`.
    Contacts,
    /// `send <message-id>`.
    Send {
        /// The message.
        message_id: i64,
        /// Email or another channel.
        email: bool,
    },
}

impl Push {
    /// The default job name (the state key).
    pub fn job_name(self) -> String {
        match self {
            Push::Orders => "messaging-orders".into(),
            Push::Contacts => "messaging-contacts".into(),
            Push::Send { message_id, .. } => format!("messaging-send-{message_id}"),
        }
    }

    /// The columns its input file must have.
    pub fn columns(self) -> Columns {
        match self {
            Push::Orders => orders::columns(),
            Push::Contacts => Columns::required(&["email"]),
            Push::Send { .. } => Columns::default().one_of(&["locator", "email", "contactId"]),
        }
    }

    /// Whether a dry run reads the service (`contacts push` reads the field catalog; the others
    /// need neither the service nor its credentials).
    fn dry_run_reads_the_service(self) -> bool {
        matches!(self, Push::Contacts)
    }
}

/// Runs a file push once per the flags (normal run, dry run, or replay of parked records).
/// `client` is `None` only for a dry run that reads nothing from the service.
pub async fn run_push(
    push: Push,
    input: Option<&InputFile>,
    request_ids: Option<&PathBuf>,
    args: &CommonArgs,
    config: &Config,
    client: Option<&messaging_client::Client>,
    state: &StateStore,
) -> Result<Summary, Error> {
    let tz = config.time_zone()?;
    let rows = match input {
        _ if args.replay_failed => Vec::new(),
        Some(input) => input.rows()?,
        None => match push {
            Push::Orders => demo::orders(demo::RECORDS),
            Push::Contacts => demo::contacts(demo::RECORDS),
            Push::Send { .. } => demo::recipients(demo::RECORDS),
        },
    };
    let ctx = RunContext {
        job: &config.job,
        state,
        dry_run: args.dry_run,
        force: args.force,
        read_from: None,
        progress: args.progress(),
        stop: sync_kit::Stop::process(),
    };
    let job = config.job.name.as_str();
    let records =
        |prepared: Vec<sync_kit::SourceRecord>| futures::stream::iter(prepared.into_iter().map(Ok));
    match push {
        Push::Orders => {
            let prepared = rows.into_iter().map(|r| orders::prepare(r, &tz)).collect();
            match client.filter(|_| !args.dry_run) {
                Some(client) => {
                    let sink = orders::OrdersSink {
                        client: client.clone(),
                        tz: tz.clone(),
                    };
                    args.run_or_replay(ctx, records(prepared), &sink).await
                }
                None => {
                    let sink = DryRun(|batch: &[sync_kit::Item]| orders::preview(batch, &tz));
                    args.run_or_replay(ctx, records(prepared), &sink).await
                }
            }
        }
        Push::Contacts => {
            let client = client.ok_or_else(|| Error::Config("no messaging client".into()))?;
            let catalog = client.field_catalog().await.map_err(client_error)?;
            let sink = contacts::ContactsSink {
                client: client.clone(),
                catalog,
                polling: Default::default(),
            };
            let prepared = rows
                .into_iter()
                .map(|r| contacts::prepare(r, &sink.catalog))
                .collect();
            args.run_or_replay(ctx, records(prepared), &sink).await
        }
        Push::Send { message_id, email } => {
            let parked: std::collections::HashSet<String> =
                state.failed(job)?.into_iter().map(|f| f.key).collect();
            let prepared = rows
                .into_iter()
                .map(send::prepare)
                .map(|mut record| {
                    if let sync_kit::Verdict::Send(items) = &record.verdict
                        && items.iter().any(|i| parked.contains(&i.key))
                    {
                        record.verdict = sync_kit::Verdict::Reject(send::PARKED.into());
                    }
                    record
                })
                .collect();
            match client.filter(|_| !args.dry_run) {
                Some(client) => {
                    let sink = send::SendSink {
                        client: client.clone(),
                        message_id,
                        email,
                        job: job.to_owned(),
                        state,
                        request_ids: send::SendSink::request_ids_file(request_ids)?,
                    };
                    args.run_or_replay(ctx, records(prepared), &sink).await
                }
                None => {
                    let sink = DryRun(|batch: &[sync_kit::Item]| {
                        send::preview(batch, job, message_id, email)
                    });
                    args.run_or_replay(ctx, records(prepared), &sink).await
                }
            }
        }
    }
}

/// The whole binary: parse, dispatch, exit code.
pub async fn main(cli: Cli) -> ExitCode {
    sync_kit::progress::init_logging();
    if let Err(e) = env::load_dotenv() {
        return report_error(false, &e);
    }
    let command = match cli.command {
        Command::DirectoOrders { common } => return directo_orders::main(common).await,
        other => other,
    };
    let (push, file, request_ids, common) = match command {
        Command::Send {
            message_id,
            recipients,
            not_email,
            request_ids,
            common,
        } => (
            Push::Send {
                message_id,
                email: !not_email,
            },
            recipients,
            request_ids,
            common,
        ),
        Command::Orders {
            action: PushAction::Push { file, common },
        } => (Push::Orders, file, None, common),
        Command::Contacts {
            action: PushAction::Push { file, common },
        } => (Push::Contacts, file, None, common),
        other => return oneshot::main(other).await,
    };
    sync_kit::stop::listen();
    // Everything that can be wrong with the command, the input file, the config or the
    // credentials is found before the state file is opened (so none is created for nothing).
    let guard = StateGuard::new(&common);
    let setup = async {
        let config = Config::load(common.config.as_deref(), &push.job_name())?;
        if let Some(code) = sync_kit::cli::inspect(&common, &config.job) {
            return Ok(Err(code));
        }
        let input = match &file {
            Some(path) => Some(InputFile::open(path, push.columns())?),
            None if common.sandbox || common.replay_failed => None,
            None => {
                return Err(Error::Config(
                    "no input file given (or use --sandbox for demo data)".into(),
                ));
            }
        };
        #[cfg(feature = "sandbox")]
        let started = match common.sandbox {
            true => Some(Sandbox::start(SandboxFile::open(&common)?, &config.messaging).await?),
            false => None,
        };
        #[cfg(not(feature = "sandbox"))]
        let started = Sandbox::start(common.sandbox)?;
        let (sandbox, client) = match started {
            Some((sandbox, client)) => (Some(sandbox), Some(client)),
            None if common.dry_run && !push.dry_run_reads_the_service() => (None, None),
            None => (None, Some(client_from_env(&config.messaging)?)),
        };
        if let Some(client) = client.as_ref().filter(|_| !common.dry_run) {
            // Wrong credentials are a configuration error, not thousands of parked records.
            client.account_info().await.map_err(client_error)?;
        }
        let state = common.open_state()?;
        Ok::<_, Error>(Ok((config, input, state, sandbox, client)))
    };
    let (config, input, state, sandbox, client) = match setup.await {
        Ok(Ok(ok)) => ok,
        Ok(Err(code)) => return code,
        Err(e) => return report_error(common.json, &e),
    };
    let job = async |state: &StateStore| {
        run_push(
            push,
            input.as_ref(),
            request_ids.as_ref(),
            &common,
            &config,
            client.as_ref(),
            state,
        )
        .await
    };
    crate::shared::run::run_job(
        &common,
        &config.job.name,
        sandbox.as_ref(),
        guard,
        state,
        job,
    )
    .await
}
