//! `messaging orders push|contacts push|send|directo-orders --check`: everything a run needs,
//! checked without changing anything (see [`sync_kit::check`]): the config, the input file,
//! Directo (`directo-orders`), the messaging API's credentials (and, for `contacts push`, its
//! field catalogue), and the state store.

use std::path::PathBuf;

use super::config::{ClientConfig, Config};
use super::run::{Push, client_error};
use super::{client_from_env, directo_orders};
use crate::segment_to_splio::preflight::directo_reachable;
use sync_kit::check::Checks;
use sync_kit::input::InputFile;
use sync_kit::{CommonArgs, Error, ExitCode, env};

/// `--check` of a file push.
pub async fn check_push(push: Push, file: Option<&PathBuf>, args: &CommonArgs) -> ExitCode {
    let mut checks = Checks::default();
    if checks.record(
        "environment",
        env::load_dotenv().map(|()| "read".to_owned()),
    ) {
        match Config::load(args.config.as_deref(), &push.job_name()) {
            Err(e) => {
                checks.record("config", Err(e));
            }
            Ok(config) => {
                checks.pass("config", from(args));
                let input = match file {
                    Some(path) => InputFile::open(path, push.columns()).map(|_| {
                        format!("{}: the columns the push needs are there", path.display())
                    }),
                    None if args.sandbox => Ok("the sandbox's demo data".to_owned()),
                    None => Err(Error::Config("no input file given".into())),
                };
                checks.record("input file", input);
                let client = messaging_client(args, &config.messaging).await;
                let ok = checks.record("messaging API", account(client.as_ref()).await);
                if let (Push::Contacts, true, Ok(client)) = (push, ok, &client) {
                    let catalog = client
                        .field_catalog()
                        .await
                        .map(|_| "the custom-field catalogue `contacts push` resolves names with is readable".to_owned())
                        .map_err(client_error);
                    checks.record("messaging fields", catalog);
                }
                checks.state_store(args);
            }
        }
    }
    checks.finish(args.json)
}

/// `--check` of `directo-orders`.
pub async fn check_directo_orders(args: &CommonArgs) -> ExitCode {
    let mut checks = Checks::default();
    if checks.record(
        "environment",
        env::load_dotenv().map(|()| "read".to_owned()),
    ) {
        match directo_orders::Config::load(args.config.as_deref()) {
            Err(e) => {
                checks.record("config", Err(e));
            }
            Ok(config) => {
                checks.pass("config", from(args));
                let directo = directo(args, &config).await;
                let reached = match directo {
                    Ok(client) => directo_reachable(&client, &config.directo).await,
                    Err(e) => Err(e),
                };
                checks.record("Directo", reached);
                let client = messaging_client(args, &config.messaging).await;
                checks.record("messaging API", account(client.as_ref()).await);
                checks.state_store(args);
            }
        }
    }
    checks.finish(args.json)
}

fn from(args: &CommonArgs) -> String {
    args.config
        .as_ref()
        .map_or("defaults (no --config)".to_owned(), |p| {
            p.display().to_string()
        })
}

/// The messaging client of the sandbox or the environment.
async fn messaging_client(
    args: &CommonArgs,
    config: &ClientConfig,
) -> Result<messaging_client::Client, Error> {
    #[cfg(feature = "sandbox")]
    if args.sandbox {
        let file = sync_kit::sandbox::SandboxFile::open(args)?;
        // The fake lives as long as the process: this check's requests need it.
        let (sandbox, client) = super::Sandbox::start(file, config).await?;
        std::mem::forget(sandbox);
        return Ok(client);
    }
    #[cfg(not(feature = "sandbox"))]
    crate::shared::sandbox::Unavailable::start::<()>(args.sandbox)?;
    client_from_env(config)
}

/// The Directo client of the sandbox or the environment.
async fn directo(
    args: &CommonArgs,
    config: &directo_orders::Config,
) -> Result<directo_client::Client, Error> {
    #[cfg(feature = "sandbox")]
    if args.sandbox {
        let tz = config.time_zone()?;
        let fake = directo_orders::sandbox_directo_fake(&tz, jiff::Timestamp::now()).await;
        let client = crate::shared::directo::sandbox_directo(&fake, &config.directo)?;
        std::mem::forget(fake);
        return Ok(client);
    }
    #[cfg(not(feature = "sandbox"))]
    crate::shared::sandbox::Unavailable::start::<()>(args.sandbox)?;
    crate::shared::directo::directo_from_env(&config.directo)
}

/// The account answers with these credentials.
async fn account(client: Result<&messaging_client::Client, &Error>) -> Result<String, Error> {
    let client = client.map_err(|e| match e {
        Error::Config(m) => Error::Config(m.clone()),
        other => Error::Config(other.to_string()),
    })?;
    client
        .account_info()
        .await
        .map(|_| "reachable, credentials accepted".to_owned())
        .map_err(client_error)
}
