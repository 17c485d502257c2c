//! One activation: read the source, screen the contacts never delivered, deliver by REST or
//! Datahub files; and the binary's `main`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use futures::stream::LocalBoxStream;
use marketing_sync_core::count_requests;
use splio_client::ContactData;

use super::cli::{Cli, DeliveryKind, SourceKind};
use super::config::{CREATION_DATE_HOUR, Config, client_from_env};
use super::existence::{Existence, Learned, Presence, ProbeBy};
use super::mapping::{changed, contact, held_address, prepare_customer, segment};
use super::{DIRECTO_JOB_NAME, JOB_NAME, NOT_INSERTED, Sandbox, api, checks, demo, sftp};
use crate::directo_to_smaily::run::{log_setup_failure, refuse_overlap};
use crate::shared::directo::{directo_from_env, open_read, source_record};
use sync_kit::input::{Columns, InputFile};
use sync_kit::preview::{DryRun, Preview};
#[cfg(feature = "sandbox")]
use sync_kit::sandbox::SandboxFile;
use sync_kit::state_guard::StateGuard;
use sync_kit::{
    BoxError, Error, ExitCode, Item, RunContext, Sink, SourceRecord, StateStore, Summary, Verdict,
    env, report_error,
};

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
/// so a contact without a snapshot counts as new (as does every contact of the batch when the
/// state cannot be read, with a warning: a real run would send none of them).
pub fn preview(batch: &[Item], state: &StateStore, job: &str) -> Vec<Preview> {
    let keys: Vec<&str> = batch.iter().map(|i| i.key.as_str()).collect();
    let snapshots = state.snapshots(job, &keys).unwrap_or_else(|e| {
        tracing::warn!(job, error = %e, "the last delivered attributes could not be read: a real run would send none of these contacts");
        vec![None; batch.len()]
    });
    let mut creates = Vec::new();
    let mut patches = Vec::new();
    for (item, before) in batch.iter().zip(snapshots) {
        match before {
            Some(before) => {
                let body = contact(&changed(Some(&before), &item.fields))
                    .patch_body(&splio_client::UniqueKey::Email, CREATION_DATE_HOUR);
                let address = held_address(&item.key, &before).unwrap_or(&item.key);
                patches.push(Preview::json(
                    "PATCH",
                    splio_client::contact_path(address),
                    &body,
                ));
            }
            None => creates.push(contact(&changed(None, &item.fields))),
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

/// `record` with each item's `email` in the form Splio holds it, as its snapshot keeps it
/// ([`held_address`]): so an unchanged contact equals its snapshot, and the address is kept.
fn addressed(mut record: SourceRecord, state: &StateStore, job: &str) -> SourceRecord {
    if let Verdict::Send(items) = &mut record.verdict {
        for item in items.iter_mut() {
            if let Ok(Some(before)) = state.snapshot(job, &item.key)
                && let Some(held) = held_address(&item.key, &before)
            {
                item.fields
                    .insert("email".into(), serde_json::Value::String(held.to_owned()));
            }
        }
    }
    record
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
            let file = InputFile::open(path, Columns::required(&[key]))?;
            segment_header(config, path)?;
            Ok(Some(file))
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

/// The header of the segment file at `path` (`None` for JSON lines), checked with the mapping
/// ([`checks::check_header`]).
pub fn segment_header(config: &Config, path: &Path) -> Result<Option<Vec<String>>, Error> {
    let header = checks::read_header(path)?;
    if let Some(header) = &header {
        checks::check_header(config, path, header)?;
    }
    Ok(header)
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
    header: Option<Vec<String>>,
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
        (None, Some(file)) => {
            let rows = file.rows()?;
            if header.is_none() {
                // JSON lines have no header: the keys of its lines stand for it.
                checks::check_json_keys(config, &rows)?;
            }
            Ok((segment(config, header, rows), None))
        }
        // `open_segment` let no file through only for the sandbox's demo (or a replay).
        (None, None) => Ok((segment(config, None, demo::segment(demo::RECORDS)), None)),
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

/// The screening every sink of this sync shares: once the run's records are staged, it checks
/// that Splio has every custom field the run sends ([`checks::check_fields`]), learns which of
/// the contacts never delivered exist in Splio (kept in `learned`, which the REST delivery reads
/// too) and, without `--insert`, skips those known to be absent. The requests spent (counted
/// with `count_requests`) are added to the run's count.
#[derive(Clone, Copy)]
struct Screening<'a> {
    cli: &'a Cli,
    config: &'a Config,
    /// The segment file's header, if it has one.
    header: Option<&'a [String]>,
    /// Requests the screening sent (its field check and existence lookups).
    requests: &'a AtomicU64,
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
            config,
            header,
            requests,
            endpoints,
            concurrency,
            learned,
        } = self.screening;
        let (existence, sent) = count_requests(async {
            // Fields Splio does not have are found before the first write, not one record at
            // a time (a dry run outside the sandbox asks Splio nothing; `--check` does ask).
            if let Some(rest) = &endpoints.rest {
                checks::check_fields(rest, config, header).await?;
            }
            learn_existence(cli, endpoints, concurrency, unknown).await
        })
        .await;
        requests.fetch_add(sent, Ordering::Relaxed);
        let existence = existence?;
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
        summary.requests += self.screening.requests.load(Ordering::Relaxed);
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
    // Read again on every run: an export rewritten between runs of --every.
    let header = match (input, &cli.segment) {
        (Some(_), Some(path)) => segment_header(config, path)?,
        _ => None,
    };
    let (records, read_from) =
        read_source(cli, config, endpoints, input, header.clone(), state).await?;
    let job = config.job.name.as_str();
    let records = records.map(move |record| record.map(|r| addressed(r, state, job)));
    let ctx = RunContext {
        job: &config.job,
        state,
        dry_run: args.dry_run,
        force: args.force,
        read_from,
        // The Directo source's read has started by now: no cap (job.overlap re-reads it).
        read_until: None,
        progress: args.progress(),
        stop: sync_kit::Stop::process(),
    };
    let learned = Learned::default();
    let screening_requests = AtomicU64::new(0);
    let screening = Screening {
        cli,
        config,
        header: header.as_deref(),
        requests: &screening_requests,
        endpoints,
        concurrency: config.job.concurrency * 4,
        learned: &learned,
    };
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
                emptied_values: config.sftp.emptied_values,
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
                concurrency: config.job.concurrency * 4,
                learned_addresses: Default::default(),
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

/// The whole binary. Everything that can be wrong with the flags, the config or the segment
/// file is found before the state file is opened, so none is created for nothing; from the
/// first request on (the SFTP login), a failure is a failed run in the run log.
pub async fn main(cli: Cli) -> ExitCode {
    sync_kit::progress::init_logging();
    if cli.common.check {
        return super::preflight::check(&cli).await;
    }
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
        // Everything above sends nothing: its errors leave no state file. From the first
        // request on, a failure is a run in the run log, with its error.
        let state = args.open_state()?;
        if let Some((_, Some(connection))) = &endpoints.sftp {
            let job = config.job.name.as_str();
            refuse_overlap(&state, job)?;
            // The SFTP login, checked once here so a refusal is a logged run.
            match sftp::connect(connection).await {
                Ok(uploader) => {
                    let _ = uploader.close().await;
                }
                Err(e) => {
                    log_setup_failure(&args, &state, job, &e);
                    return Err(e);
                }
            }
        }
        Ok::<_, Error>(Ok((config, input, state, sandbox, endpoints)))
    };
    // The set-up's HTTP requests are counted into the first run.
    let (setup, startup) = marketing_sync_core::count_requests(setup).await;
    let (config, input, state, sandbox, endpoints) = match setup {
        Ok(Ok(ok)) => ok,
        Ok(Err(code)) => return code,
        Err(e) => return report_error(args.json, &e),
    };
    let job =
        async |state: &StateStore| run_once(&cli, &config, &endpoints, input.as_ref(), state).await;
    crate::shared::run::run_job(&args, &config.job.name, sandbox, guard, state, startup, job).await
}
