//! `messaging`: the messaging API guide as a CLI over `messaging-client`. One-shot commands
//! (`account`, `unsubscribe`, `event`, `status`, `fields`), and syncs that run through the sync
//! toolkit (state, dry run, replay, summary): the file pushes `orders push`, `contacts push` and
//! `send`, and `directo-orders` (Directo invoices → orders). See docs/messaging.md.

pub mod contacts;
pub mod demo;
pub mod directo_orders;
pub mod input;
pub mod oneshot;
pub mod orders;
pub mod send;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use messaging_client::ItemError;
use serde::{Deserialize, Serialize};

use crate::config::duration_str;
use crate::{
    CommonArgs, Error, ExitCode, JobConfig, Outcome, RunContext, StateStore, Summary, env,
};

/// The `messaging` command line.
#[derive(Debug, Parser)]
#[command(name = "messaging", version, about = "The messaging API as a command line: account, unsubscribes, events, sends, statuses, orders, contacts and fields.", long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--json` and `--sandbox` for the one-shot commands.
#[derive(Debug, Clone, clap::Args)]
pub struct OneShotArgs {
    /// Print the answer as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Run against the in-process fake seeded with demo data (no account needed).
    #[arg(long)]
    pub sandbox: bool,
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
        /// The event's key value (e.g. the contact's email).
        #[arg(long)]
        key: Option<String>,
        /// A parameter, `name=value` (repeatable).
        #[arg(long = "param", value_parser = parse_param, value_name = "NAME=VALUE")]
        params: Vec<(String, String)>,
        /// Output and sandbox flags.
        #[command(flatten)]
        out: OneShotArgs,
    },
    /// Send a prepared message to every recipient of a file (CSV or JSON lines).
    Send {
        /// The prepared message's id.
        message_id: i64,
        /// The recipients file (optional with --sandbox: demo recipients).
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
    /// Push orders (for RFM segments).
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
    /// Push contacts (custom fields by name).
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
    /// Push every record of a file (CSV or JSON lines); optional with --sandbox (demo data).
    Push {
        /// The file.
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
            Some(path) => crate::config::load_toml(path)?,
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
    let mut builder = messaging_client::Client::builder(key);
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

/// The fake and a client pointing at it (`--sandbox`).
pub async fn sandbox(
    config: &ClientConfig,
) -> Result<
    (
        messaging_client::fake::FakeMessaging,
        messaging_client::Client,
    ),
    Error,
> {
    let fake = messaging_client::fake::FakeMessaging::start().await;
    demo::seed(&fake);
    let client = tune(
        messaging_client::Client::builder(fake.api_key())
            .base_url(fake.base_url())
            .allow_http(true),
        config,
    )
    .build()
    .map_err(|e| Error::Config(format!("messaging client: {e}")))?;
    Ok((fake, client))
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

/// An error with its sources, on one line.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text.replace('\n', " ")
}

/// A client error as a toolkit error: bad credentials or input are configuration errors (exit
/// 2), everything else a failure (exit 1).
pub fn client_error(e: messaging_client::Error) -> Error {
    match e {
        messaging_client::Error::Unauthorized { .. }
        | messaging_client::Error::Config(_)
        | messaging_client::Error::InvalidInput { .. } => Error::Config(error_chain(&e)),
        other => Error::Source(Box::new(other)),
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
}

/// Runs a file push once per the flags (normal run, dry run, or replay of parked records).
pub async fn run_push(
    push: Push,
    file: Option<&std::path::Path>,
    request_ids: Option<&PathBuf>,
    args: &CommonArgs,
    config: &Config,
    client: &messaging_client::Client,
    state: &StateStore,
) -> Result<Summary, Error> {
    let tz = config.time_zone()?;
    let rows = match file {
        Some(path) => input::read_rows(path)?,
        None if args.sandbox || args.replay_failed => match push {
            _ if args.replay_failed => Vec::new(),
            Push::Orders => demo::orders(demo::RECORDS),
            Push::Contacts => demo::contacts(demo::RECORDS),
            Push::Send { .. } => demo::recipients(demo::RECORDS),
        },
        None => {
            return Err(Error::Config(
                "no input file given (or use --sandbox for demo data)".into(),
            ));
        }
    };
    let ctx = RunContext {
        job: &config.job,
        state,
        dry_run: args.dry_run,
        force: args.force,
        read_from: None,
        progress: args.progress(),
    };
    let records =
        |prepared: Vec<crate::SourceRecord>| futures::stream::iter(prepared.into_iter().map(Ok));
    match push {
        Push::Orders => {
            let sink = orders::OrdersSink {
                client: client.clone(),
                tz: tz.clone(),
            };
            if args.replay_failed {
                return crate::replay_failed(ctx, &sink).await;
            }
            let prepared = rows.into_iter().map(|r| orders::prepare(r, &tz)).collect();
            crate::run(ctx, records(prepared), &sink).await
        }
        Push::Contacts => {
            let catalog = client.field_catalog().await.map_err(client_error)?;
            let sink = contacts::ContactsSink {
                client: client.clone(),
                catalog,
                polling: Default::default(),
            };
            if args.replay_failed {
                return crate::replay_failed(ctx, &sink).await;
            }
            let prepared = rows
                .into_iter()
                .map(|r| contacts::prepare(r, &sink.catalog))
                .collect();
            crate::run(ctx, records(prepared), &sink).await
        }
        Push::Send { message_id, email } => {
            let sink = send::SendSink {
                client: client.clone(),
                message_id,
                email,
                job: config.job.name.clone(),
                state,
                request_ids: send::SendSink::request_ids_file(request_ids)?,
            };
            if args.replay_failed {
                return crate::replay_failed(ctx, &sink).await;
            }
            let parked: std::collections::HashSet<String> = state
                .failed(&config.job.name)?
                .into_iter()
                .map(|f| f.key)
                .collect();
            let prepared = rows
                .into_iter()
                .map(send::prepare)
                .map(|mut record| {
                    if let crate::Verdict::Send(items) = &record.verdict
                        && items.iter().any(|i| parked.contains(&i.key))
                    {
                        record.verdict = crate::Verdict::Reject(send::PARKED.into());
                    }
                    record
                })
                .collect();
            crate::run(ctx, records(prepared), &sink).await
        }
    }
}

/// The whole binary: parse, dispatch, exit code.
pub async fn main(cli: Cli) -> ExitCode {
    crate::progress::init_logging();
    if let Err(e) = env::load_dotenv() {
        eprintln!("error: {}", e.one_line());
        return e.exit_code();
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
    let setup = async {
        let config = Config::load(common.config.as_deref(), &push.job_name())?;
        let state = common.open_state()?;
        let (fake, client) = if common.sandbox {
            let (fake, client) = sandbox(&config.messaging).await?;
            (Some(fake), client)
        } else {
            (None, client_from_env(&config.messaging)?)
        };
        if !common.dry_run {
            // Wrong credentials are a configuration error, not thousands of parked records.
            client.account_info().await.map_err(client_error)?;
        }
        Ok::<_, Error>((config, state, fake, client))
    };
    let (config, state, fake, client) = match setup.await {
        Ok(ok) => ok,
        Err(e) => return report(common.json, &e),
    };
    tracing::info!(job = %config.job.name, state = %common.state_description(), sandbox = common.sandbox, "starting");
    let code = crate::main_loop(&common, || {
        run_push(
            push,
            file.as_deref(),
            request_ids.as_ref(),
            &common,
            &config,
            &client,
            &state,
        )
    })
    .await;
    if let Some(fake) = fake
        && !common.json
    {
        eprintln!(
            "\nsandbox: the fake now holds {} orders, {} contacts, {} sent messages ({} requests).",
            fake.orders().len(),
            fake.contacts().len(),
            fake.message_statuses().len(),
            fake.requests().len()
        );
    }
    code
}

/// Prints an error as one line (and as JSON with `--json`) and returns its exit code.
pub fn report(json: bool, e: &Error) -> ExitCode {
    let line = e.one_line();
    if json {
        println!(
            "{}",
            serde_json::json!({ "error": line, "exit_code": e.exit_code() })
        );
    }
    eprintln!("error: {line}");
    e.exit_code()
}
