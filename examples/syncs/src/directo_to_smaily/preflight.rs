//! `directo-to-smaily --check`: everything a run needs, checked without changing anything (see
//! [`sync_kit::check`]): the config (its mapping against Directo's customer attributes), Directo,
//! Smaily's credentials, and the state store.

use super::config::Config;
use super::run::{check_smaily, endpoints_from_env};
use crate::segment_to_splio::preflight::directo_reachable;
use sync_kit::check::Checks;
use sync_kit::{CommonArgs, Error, ExitCode, env};

/// Runs the checks, prints one line each, returns the exit code.
pub async fn check(args: &CommonArgs) -> ExitCode {
    let mut checks = Checks::default();
    run_checks(args, &mut checks).await;
    checks.finish(args.json)
}

async fn run_checks(args: &CommonArgs, checks: &mut Checks) {
    if !checks.record(
        "environment",
        env::load_dotenv().map(|()| "read".to_owned()),
    ) {
        return;
    }
    let config = match &args.config {
        Some(path) => Config::load(path).map(|c| (c, path.display().to_string())),
        None => {
            let mut config = Config::default();
            config.job.default_name(super::JOB_NAME);
            Ok((config, "defaults (no --config)".to_owned()))
        }
    };
    let config = match config {
        Ok((config, from)) => {
            checks.pass(
                "config",
                format!("{from}; the mapping names Directo customer attributes"),
            );
            config
        }
        Err(e) => {
            checks.record("config", Err(e));
            return;
        }
    };
    #[cfg(feature = "sandbox")]
    let endpoints = if args.sandbox {
        let started = async {
            let file = sync_kit::sandbox::SandboxFile::open(args)?;
            super::Sandbox::start(super::SANDBOX_CUSTOMERS, &config, file).await
        };
        started
            .await
            .map(|(sandbox, endpoints)| (Some(sandbox), endpoints))
    } else {
        endpoints_from_env(&config, true).map(|e| (None, e))
    };
    #[cfg(not(feature = "sandbox"))]
    let endpoints = crate::shared::sandbox::Unavailable::start::<()>(args.sandbox)
        .and_then(|_| endpoints_from_env(&config, true))
        .map(|e| (None::<()>, e));
    let (_sandbox, endpoints) = match endpoints {
        Ok(ok) => ok,
        Err(e) => {
            checks.record("credentials", Err(e));
            return;
        }
    };
    checks.record(
        "Directo",
        directo_reachable(&endpoints.directo, &config.directo).await,
    );
    let smaily = match &endpoints.smaily {
        Some(smaily) => check_smaily(smaily)
            .await
            .map(|()| "reachable, credentials accepted".to_owned()),
        None => Err(Error::Config("no Smaily client".into())),
    };
    checks.record("Smaily", smaily);
    checks.skip(
        "Smaily fields",
        "not checkable: Smaily creates a custom field on its first use and no API lists them \
         (docs/smaily: custom field naming)",
    );
    checks.state_store(args);
}
