//! Progress: a live spinner with counts on a terminal (indicatif), periodic log lines otherwise
//! (tracing), and logging set-up.

#[cfg(feature = "cli")]
use std::io::IsTerminal;
use std::time::{Duration, Instant};

#[cfg(feature = "cli")]
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::summary::Summary;

/// Where progress goes during a run.
#[derive(Debug)]
pub struct Progress {
    #[cfg(feature = "cli")]
    bar: Option<ProgressBar>,
    last_log: Instant,
    log_every: Option<Duration>,
}

impl Progress {
    /// A spinner on stderr when it is a terminal and `quiet` is false (feature `cli`); log
    /// lines every 5 s otherwise (none at all when `quiet`).
    pub fn auto(quiet: bool) -> Self {
        if quiet {
            return Self::hidden();
        }
        #[cfg(feature = "cli")]
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            return Self {
                bar: Some(bar),
                last_log: Instant::now(),
                log_every: None,
            };
        }
        let mut progress = Self::hidden();
        progress.log_every = Some(Duration::from_secs(5));
        progress
    }

    /// No progress output at all (tests, `--json`).
    pub fn hidden() -> Self {
        Self {
            #[cfg(feature = "cli")]
            bar: None,
            last_log: Instant::now(),
            log_every: None,
        }
    }

    /// Shows the current counts.
    pub fn update(&mut self, s: &Summary) {
        #[cfg(feature = "cli")]
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "read {} · filtered {} · delivered {} · failed {} · skipped {} · requests {}",
                s.read, s.filtered, s.delivered, s.failed, s.skipped, s.requests
            ));
            return;
        }
        if let Some(every) = self.log_every
            && self.last_log.elapsed() >= every
        {
            self.last_log = Instant::now();
            tracing::info!(
                job = %s.job,
                read = s.read,
                filtered = s.filtered,
                delivered = s.delivered,
                failed = s.failed,
                skipped = s.skipped,
                requests = s.requests,
                "progress"
            );
        }
    }

    /// Removes the spinner.
    pub fn finish(&mut self) {
        #[cfg(feature = "cli")]
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(feature = "cli")]
/// Sets up logging to stderr: `RUST_LOG` if set, else `info` (or `warn` on a terminal, where the
/// spinner shows progress). Safe to call more than once.
pub fn init_logging() {
    let default = if std::io::stderr().is_terminal() {
        "warn"
    } else {
        "info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        // A closed stderr must not make the subscriber report it with `eprintln!` (a panic).
        .log_internal_errors(false)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
