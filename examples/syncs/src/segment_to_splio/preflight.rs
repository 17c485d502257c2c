//! `segment-to-splio --check`: everything a run needs, checked without changing anything (see
//! [`sync_kit::check`]): the config, the segment file against the mapping, Directo (with
//! `--source directo`), Splio's API and its contact fields against the mapping, the SFTP server
//! and its host key (with `--delivery sftp`), and the state store.

use futures::StreamExt;

use super::cli::{Cli, DeliveryKind, SourceKind};
use super::config::{Config, client_from_env};
use super::{DIRECTO_JOB_NAME, JOB_NAME, checks, run, sftp};
use crate::shared::directo::{directo_from_env, open_read};
use sync_kit::check::Checks;
use sync_kit::{Error, ExitCode, env};

/// Runs the checks these flags call for, prints one line each, returns the exit code.
pub async fn check(cli: &Cli) -> ExitCode {
    let mut checks = Checks::default();
    run_checks(cli, &mut checks).await;
    checks.finish(cli.common.json)
}

async fn run_checks(cli: &Cli, checks: &mut Checks) {
    let args = &cli.common;
    if !checks.record(
        "environment",
        env::load_dotenv().map(|()| "read".to_owned()),
    ) {
        return;
    }
    let job_name = match cli.source {
        SourceKind::Csv => JOB_NAME,
        SourceKind::Directo => DIRECTO_JOB_NAME,
    };
    let config = match Config::load(args.config.as_deref(), job_name) {
        Ok(config) => {
            let from = args
                .config
                .as_ref()
                .map_or("defaults (no --config)".to_owned(), |p| {
                    p.display().to_string()
                });
            checks.pass("config", from);
            config
        }
        Err(e) => {
            checks.record("config", Err(e));
            return;
        }
    };
    let header = segment(cli, &config, checks);

    #[cfg(feature = "sandbox")]
    let sandbox = if args.sandbox {
        let started = async {
            let file = sync_kit::sandbox::SandboxFile::open(args)?;
            super::Sandbox::start(file, &config, cli.source).await
        };
        match started.await {
            Ok((sandbox, rest, directo)) => Some((sandbox, rest, directo)),
            Err(e) => {
                checks.record("sandbox", Err(e));
                return;
            }
        }
    } else {
        None
    };
    #[cfg(not(feature = "sandbox"))]
    let sandbox: Option<((), splio_client::Client, Option<directo_client::Client>)> =
        match super::Sandbox::start::<()>(args.sandbox) {
            Ok(_) => None,
            Err(e) => {
                checks.record("sandbox", Err(e));
                return;
            }
        };

    if cli.source == SourceKind::Directo {
        let client = match &sandbox {
            Some((_, _, directo)) => directo
                .clone()
                .ok_or_else(|| Error::Config("the sandbox started no Directo fake".into())),
            None => directo_from_env(&config.directo),
        };
        let result = match client {
            Ok(client) => directo_reachable(&client, &config.directo).await,
            Err(e) => Err(e),
        };
        checks.record("Directo", result);
    } else {
        checks.skip("Directo", "not used (--source csv)");
    }

    let api_needed = cli.delivery == DeliveryKind::Api || !cli.insert;
    let rest = match &sandbox {
        Some((_, rest, _)) => Some(Ok(rest.clone())),
        None if api_needed || env::optional("SPLIO_API_KEY").is_some() => {
            Some(client_from_env(&config.splio))
        }
        None => None,
    };
    match rest {
        None => {
            checks.skip(
                "Splio API",
                "not used (--delivery sftp --insert, no SPLIO_API_KEY)",
            );
            checks.skip("Splio fields", "not checked without the API");
        }
        Some(Err(e)) => {
            checks.record("Splio API", Err(e));
        }
        Some(Ok(client)) => match checks::fetch_fields(&client).await {
            Ok(fields) => {
                checks.pass(
                    "Splio API",
                    format!("credentials accepted, {} contact fields", fields.len()),
                );
                let result =
                    checks::missing_fields(&config, header.as_deref(), &fields).map(|sent| {
                        match sent.len() {
                            0 => "the mapping sends standard attributes only".to_owned(),
                            _ => format!(
                                "every custom field the mapping sends exists: {}",
                                sent.join(", ")
                            ),
                        }
                    });
                checks.record("Splio fields", result);
            }
            Err(e) => {
                checks.record("Splio API", Err(e));
                checks.skip("Splio fields", "not checked: the API could not be read");
            }
        },
    }

    if cli.delivery == DeliveryKind::Sftp {
        let result = if args.sandbox {
            Err(Error::Config(
                "the sandbox has no SFTP server; use --delivery api with --sandbox".into(),
            ))
        } else {
            sftp_reachable(&config).await
        };
        checks.record("SFTP", result);
    } else {
        checks.skip("SFTP", "not used (--delivery api)");
    }
    checks.state_store(args);
}

/// The segment file checked as a run checks it (it exists, has the key column, its header
/// matches the mapping); its header, if it has one.
fn segment(cli: &Cli, config: &Config, checks: &mut Checks) -> Option<Vec<String>> {
    let path = match (cli.source, &cli.segment) {
        (SourceKind::Directo, None) => {
            checks.skip("segment file", "none (--source directo)");
            return None;
        }
        (SourceKind::Csv, None) if cli.common.sandbox => {
            checks.pass("segment file", "the sandbox's demo segment");
            return None;
        }
        (_, Some(path)) => path.clone(),
        (SourceKind::Csv, None) => {
            checks.record(
                "segment file",
                Err(Error::Config("no segment file given".into())),
            );
            return None;
        }
    };
    let opened = run::open_segment(cli, config).and_then(|_| run::segment_header(config, &path));
    match opened {
        Ok(header) => {
            let what = match &header {
                Some(h) => format!("{} columns, the mapping matches the header", h.len()),
                None => "JSON lines".to_owned(),
            };
            checks.pass("segment file", format!("{}: {what}", path.display()));
            header
        }
        Err(e) => {
            checks.record("segment file", Err(e));
            None
        }
    }
}

/// Directo answers a read with these credentials (the customers changed from now on: none, or
/// a few; nothing is written).
pub(crate) async fn directo_reachable(
    client: &directo_client::Client,
    config: &crate::shared::directo::DirectoConfig,
) -> Result<String, Error> {
    let tz = config.time_zone()?;
    let now = jiff::Timestamp::now().to_zoned(tz).datetime();
    let query = directo_client::Query::new().since(now);
    let stream = open_read::<directo_client::Record>(client, "customer", query).await?;
    let mut stream = std::pin::pin!(stream);
    if let Some(Err(e)) = stream.next().await {
        return Err(Error::reading("Directo", e));
    }
    Ok("reachable, credentials accepted (read the customers changed from now)".into())
}

/// The SFTP settings are complete, the server answers, its host key is the expected one, the
/// credentials are accepted and the imports folder can be listed. Write access to the staging
/// folder is not tested: it cannot be without writing a file there.
async fn sftp_reachable(config: &Config) -> Result<String, Error> {
    let universe = env::required_no_sandbox(
        "SPLIO_UNIVERSE",
        "the Splio universe, for Datahub file names",
    )?;
    sftp::writer(&config.sftp, &universe)?;
    let settings = sftp::config_from_env(&config.sftp)?;
    let uploader = sftp::connect(&settings).await?;
    let waiting = uploader
        .list_imports()
        .await
        .map_err(|e| Error::delivering("Splio", sync_kit::error_chain(&e)))?;
    let _ = uploader.close().await;
    Ok(format!(
        "host key verified, credentials accepted, {} listed ({} files waiting); write access to \
         the staging folder is not tested (that needs writing a file)",
        config.sftp.imports_dir,
        waiting.len()
    ))
}
