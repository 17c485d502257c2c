//! The end of every sync's `main`: run the job, once or every `--every`, around its sandbox.

use sync_kit::state::StateStore;
use sync_kit::state_guard::StateGuard;
use sync_kit::{CommonArgs, Error, ExitCode, Summary};

use super::sandbox::{Fakes, print_closing_line};

/// Runs `run_once` under [`sync_kit::main_loop`] (once, or every `--every` until a stop),
/// saving the sandbox's fakes after each run; then prints the sandbox's closing line and
/// settles the state file ([`StateGuard::finish`]). Returns the exit code.
pub async fn run_job<S: Fakes>(
    args: &CommonArgs,
    job: &str,
    sandbox: Option<&S>,
    guard: StateGuard,
    state: StateStore,
    run_once: impl AsyncFn(&StateStore) -> Result<Summary, Error>,
) -> ExitCode {
    tracing::info!(job, state = %args.state_description(), sandbox = args.sandbox, "starting");
    let code = sync_kit::main_loop(args, || async {
        let summary = run_once(&state).await;
        if let Some(sandbox) = sandbox {
            sandbox.save();
        }
        summary
    })
    .await;
    print_closing_line(sandbox.map(S::closing_line), args.json);
    guard.finish(state, code)
}
