//! The end of every sync's `main`: run the job, once or every `--every`, around its sandbox.

use marketing_sync_core::count_requests;
use sync_kit::cli::already_running;
use sync_kit::state::{Begun, StateStore};
use sync_kit::state_guard::StateGuard;
use sync_kit::{CommonArgs, Error, ExitCode, Mode, Summary};

use super::sandbox::{Fakes, print_closing_line};

/// Runs `run_once` under [`sync_kit::main_loop`] (once, or every `--every` until a stop),
/// saving the sandbox's fakes before each batch is recorded and after each run; then prints the sandbox's closing line and
/// settles the state file ([`StateGuard::finish`]). Returns the exit code.
///
/// `startup_requests` is how many HTTP requests the set-up sent before the first run (the
/// credentials check): the first run's count includes them. Each run's requests are counted
/// with [`count_requests`] around it, every attempt of every client (source reads, lookups,
/// retries, and the deliveries, whose own exact counts the runner summed): the summary and the
/// run log say that number.
///
/// Each run is in the run log from its start: its row is claimed
/// ([`StateStore::claim_run`]) before `run_once` sends anything, so a run that fails before
/// its first record (its source unreachable, a refused connection) is logged as failed with
/// its error, and another live run of the job is refused before any request. After each run
/// its metrics are exported as `--metrics-file` and `--metrics-push` ask
/// ([`sync_kit::metrics::export`]).
pub async fn run_job<S: Fakes + Send + Sync + 'static>(
    args: &CommonArgs,
    job: &str,
    sandbox: Option<S>,
    guard: StateGuard,
    state: StateStore,
    startup_requests: u64,
    run_once: impl AsyncFn(&StateStore) -> Result<Summary, Error>,
) -> ExitCode {
    tracing::info!(job, state = %args.state_description(), sandbox = args.sandbox, "starting");
    // The sandbox's fakes are saved before each batch is recorded: after a kill, they hold at
    // least what the state file says was delivered.
    let sandbox = sandbox.map(std::sync::Arc::new);
    if let Some(sandbox) = &sandbox {
        let fakes = std::sync::Arc::clone(sandbox);
        state.set_before_record(move || fakes.save());
    }
    let sandbox = sandbox.as_deref();
    let startup = std::cell::Cell::new(startup_requests);
    let code = sync_kit::main_loop(args, || async {
        let summary = logged(args, job, &state, &run_once, startup.take()).await;
        if let Some(sandbox) = sandbox {
            sandbox.save();
        }
        summary
    })
    .await;
    print_closing_line(sandbox.map(S::closing_line), args.json);
    guard.finish(state, code)
}

/// One run of `run_once`, in the run log from its start (see [`run_job`]).
async fn logged(
    args: &CommonArgs,
    job: &str,
    state: &StateStore,
    run_once: &impl AsyncFn(&StateStore) -> Result<Summary, Error>,
    startup_requests: u64,
) -> Result<Summary, Error> {
    let mode = if args.replay_failed {
        Mode::ReplayFailed
    } else {
        Mode::Run
    };
    match state.claim_run(job, mode)? {
        Begun::AlreadyRunning(other) => return Err(already_running(job, &other)),
        Begun::Started(_) | Begun::ReadOnly => {}
    }
    let (mut outcome, sent) = count_requests(run_once(state)).await;
    let sent = sent + startup_requests;
    let settled = match &outcome {
        Ok(summary) => state.finish_claim(job, summary),
        Err(e) => state.fail_claim(job, &e.one_line()),
    };
    if let Err(e) = settled {
        tracing::error!(job, "cannot record the run in the run log: {e}");
    }
    // The runner logged the sum of its deliveries' requests; the run also read its source,
    // screened and (the first run) checked credentials: its count is all of them. A dry run's
    // count stays the requests a real run would send. A failed run that reached a service is
    // kept in the log with its requests too (see `StateGuard`).
    if !args.dry_run {
        if let Ok(summary) = &mut outcome {
            summary.requests = sent;
        }
        if let Err(e) = state.set_last_run_requests(job, sent) {
            tracing::error!(job, "cannot record the run's requests in the run log: {e}");
        }
    }
    let code = match &outcome {
        Ok(summary) => summary.exit_code,
        Err(e) => e.exit_code(),
    };
    sync_kit::metrics::export(args, state, job, code).await;
    outcome
}
