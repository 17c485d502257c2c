//! Stopping cleanly on SIGINT (Ctrl-C) and SIGTERM (what systemd, cron and container runtimes
//! send on stop).
//!
//! [`listen`] installs the handlers once, for the rest of the process's life. The first signal
//! requests a stop: a run watching [`Stop::process`] stops reading its source, lets the batches
//! in flight settle, records their outcomes, and ends as interrupted (exit code 3,
//! [`ExitCode::Interrupted`]). A second signal ends the process at once with the same code; what
//! was committed stays committed (each batch's outcomes are one transaction), and the next run
//! resumes the rest.
//!
//! The handlers run on their own thread, so a second signal works even while the run's thread
//! is busy.
//!
//! ```
//! use sync_kit::Stop;
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let (trigger, stop) = Stop::manual();
//! assert!(!stop.is_requested());
//! trigger.request("test");
//! stop.requested().await; // returns at once: the stop was requested
//! assert_eq!(stop.reason(), Some("test"));
//! # });
//! ```

use std::sync::{Arc, OnceLock};

use tokio::sync::watch;

use crate::error::ExitCode;

/// Whether a stop was requested, and by what (`"SIGTERM"`, `"SIGINT"`). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Stop {
    rx: watch::Receiver<Option<&'static str>>,
}

/// Requests the stop of the [`Stop`]s it was made with (see [`Stop::manual`]).
#[derive(Debug, Clone)]
pub struct StopTrigger {
    tx: Arc<watch::Sender<Option<&'static str>>>,
}

impl StopTrigger {
    /// Requests the stop, giving the reason shown in the summary. Later requests keep the first
    /// reason.
    pub fn request(&self, reason: &'static str) {
        self.tx.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(reason);
                true
            } else {
                false
            }
        });
    }
}

fn process_trigger() -> &'static StopTrigger {
    static TRIGGER: OnceLock<StopTrigger> = OnceLock::new();
    TRIGGER.get_or_init(|| StopTrigger {
        tx: Arc::new(watch::channel(None).0),
    })
}

impl Stop {
    /// The process's stop, requested by SIGINT or SIGTERM once [`listen`] has run (never
    /// before).
    pub fn process() -> Self {
        Self {
            rx: process_trigger().tx.subscribe(),
        }
    }

    /// A stop of its own and the trigger that requests it (tests, embedding).
    pub fn manual() -> (StopTrigger, Self) {
        let (tx, rx) = watch::channel(None);
        (StopTrigger { tx: Arc::new(tx) }, Self { rx })
    }

    /// Whether the stop was requested.
    pub fn is_requested(&self) -> bool {
        self.rx.borrow().is_some()
    }

    /// What requested the stop, if it was.
    pub fn reason(&self) -> Option<&'static str> {
        *self.rx.borrow()
    }

    /// Waits until the stop is requested (at once if it was). Never returns for a stop that no
    /// one can request any more.
    pub async fn requested(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(Option::is_some).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Installs the SIGINT and SIGTERM handlers for the rest of the process (once; later calls do
/// nothing). The first signal requests [`Stop::process`]; a second one exits at once with
/// [`ExitCode::Interrupted`].
pub fn listen() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let trigger = process_trigger().clone();
        // Registered before returning, so no signal is missed once `listen` returned.
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        tracing::error!("cannot listen for signals: {e}");
                        let _ = ready_tx.send(());
                        return;
                    }
                };
                runtime.block_on(wait_for_signals(trigger, ready_tx));
            });
        match spawned {
            Ok(_) => {
                let _ = ready_rx.recv();
            }
            Err(e) => tracing::error!("cannot listen for signals: {e}"),
        }
    });
}

async fn wait_for_signals(trigger: StopTrigger, ready: std::sync::mpsc::Sender<()>) {
    let mut signals = match Signals::new() {
        Ok(signals) => signals,
        Err(e) => {
            tracing::error!("cannot listen for signals: {e}");
            let _ = ready.send(());
            return;
        }
    };
    let _ = ready.send(());
    let mut received = 0;
    loop {
        let name = signals.next().await;
        received += 1;
        if received == 1 {
            tracing::warn!(
                signal = name,
                "stopping: no new batches; the ones in flight settle and are recorded \
                 (send the signal again to stop at once)"
            );
            trigger.request(name);
        } else {
            crate::output::err(format_args!(
                "{name} again: stopping now (the next run resumes what is unsettled)"
            ));
            std::process::exit(ExitCode::Interrupted as i32);
        }
    }
}

#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> std::io::Result<Self> {
        Ok(Self)
    }

    async fn next(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_stop_wakes_its_waiters_and_keeps_its_first_reason() {
        let (trigger, stop) = Stop::manual();
        let waiter = {
            let stop = stop.clone();
            tokio::spawn(async move { stop.requested().await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        trigger.request("first");
        trigger.request("second");
        waiter.await.unwrap();
        assert!(stop.is_requested());
        assert_eq!(stop.reason(), Some("first"));
    }
}
