//! The file pushes (`orders push`, `contacts push`, `send`) through the toolkit, and the
//! binary's `main`.

use std::path::PathBuf;

use messaging_client::ItemError;

use super::cli::{Cli, Command, PushAction};
use super::config::{Config, client_from_env};
use super::{Sandbox, contacts, demo, directo_orders, oneshot, orders, send};
use crate::directo_to_smaily::run::{log_setup_failure, refuse_overlap};
use sync_kit::input::{Columns, InputFile};
use sync_kit::preview::DryRun;
#[cfg(feature = "sandbox")]
use sync_kit::sandbox::SandboxFile;
use sync_kit::state_guard::StateGuard;
use sync_kit::{
    CommonArgs, Error, ExitCode, Outcome, RunContext, StateStore, Summary, env, error_chain,
    report_error,
};

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
        other => Outcome::failed(other, other.is_retryable()),
    }
}

/// A client error as a toolkit error: bad credentials or input are configuration errors (exit
/// 2), everything else `calling the messaging API failed: …` (exit 1).
pub fn client_error(e: messaging_client::Error) -> Error {
    match e {
        messaging_client::Error::Unauthorized { .. }
        | messaging_client::Error::Config(_)
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
        read_until: None,
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
            let books = client.address_books().await.map_err(client_error)?;
            let catalog = messaging_client::FieldCatalog::new(&books);
            // Columns the catalogue lacks are found before the first write, not one record at
            // a time.
            contacts::check_columns(&rows, &catalog, &books)?;
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
    if common.check {
        return super::preflight::check_push(push, file.as_ref(), &common).await;
    }
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
        // Everything above sends nothing: its errors leave no state file. From the first
        // request on, a failure is a run in the run log, with its error.
        let state = common.open_state()?;
        if let Some(client) = client.as_ref().filter(|_| !common.dry_run) {
            refuse_overlap(&state, &config.job.name)?;
            // Wrong credentials are a configuration error, not thousands of parked records.
            if let Err(e) = client.account_info().await.map_err(client_error) {
                log_setup_failure(&common, &state, &config.job.name, &e);
                return Err(e);
            }
        }
        Ok::<_, Error>(Ok((config, input, state, sandbox, client)))
    };
    // The set-up's requests (the credentials check) are counted into the first run.
    let (setup, startup) = marketing_sync_core::count_requests(setup).await;
    let (config, input, state, sandbox, client) = match setup {
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
        sandbox,
        guard,
        state,
        startup,
        job,
    )
    .await
}
