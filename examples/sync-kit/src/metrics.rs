//! Prometheus metrics of a job's last run, the ecosystem's way to watch batch jobs: written
//! after every run as the text exposition format for node_exporter's textfile collector
//! (`--metrics-file PATH`, written whole then renamed into place), and pushed to a Prometheus
//! Pushgateway grouped by job (`--metrics-push URL`: `PUT URL/metrics/job/<job>`). The values
//! come from the run log, so a run that failed before its first record is exported too.
//!
//! Every metric has the label `job` (the job's name). All are gauges:
//!
//! | metric | value |
//! |---|---|
//! | `marketing_sync_last_run_start_timestamp_seconds` | when the last run started (Unix time) |
//! | `marketing_sync_last_run_end_timestamp_seconds` | when it ended |
//! | `marketing_sync_last_run_duration_seconds` | how long it took |
//! | `marketing_sync_last_run_exit_code` | its exit code (0, 1, 2, 3) |
//! | `marketing_sync_last_run_success` | 1 if it exited 0, else 0 |
//! | `marketing_sync_last_success_timestamp_seconds` | when the last run that exited 0 ended (0: never) |
//! | `marketing_sync_last_run_records{outcome}` | its records by outcome: `read`, `filtered`, `delivered`, `failed`, `skipped` |
//! | `marketing_sync_parked_records` | records parked for `--replay-failed` (all runs) |
//!
//! ```
//! use sync_kit::{ExitCode, Mode, StateStore, Summary};
//! let state = StateStore::in_memory().unwrap();
//! state.claim_run("demo", Mode::Run).unwrap();
//! let mut summary = Summary::new("demo", Mode::Run);
//! summary.finish(std::time::Duration::from_millis(5));
//! state.finish_claim("demo", &summary).unwrap();
//! let text = sync_kit::metrics::exposition(&state, "demo", ExitCode::Success).unwrap().unwrap();
//! assert!(text.contains("marketing_sync_last_run_exit_code{job=\"demo\"} 0"));
//! ```

use std::path::Path;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::error::{Error, ExitCode};
use crate::state::StateStore;
use crate::summary::Mode;

/// The prefix of every metric's name.
pub const PREFIX: &str = "marketing_sync";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabel {
    job: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    job: String,
    outcome: String,
}

type F64Gauge = Gauge<f64, std::sync::atomic::AtomicU64>;

/// Unix seconds of an RFC 3339 time.
fn unix(at: &str) -> Option<f64> {
    let t: jiff::Timestamp = at.parse().ok()?;
    Some(t.as_millisecond() as f64 / 1000.0)
}

/// The text exposition of `job`'s last run (`None` when the job has no run in the log), with
/// `exit_code` as the process's exit code for it.
pub fn exposition(
    state: &StateStore,
    job: &str,
    exit_code: ExitCode,
) -> Result<Option<String>, Error> {
    let runs = state.runs(job, crate::state::RECENT_RUNS)?;
    let Some(last) = runs
        .into_iter()
        .find(|r| r.mode != Mode::DiscardFailed.as_str())
    else {
        return Ok(None);
    };
    let mut registry = Registry::with_prefix(PREFIX);
    let label = JobLabel {
        job: job.to_owned(),
    };
    let mut gauge = |name: &str, help: &str, value: Option<f64>| {
        let family = Family::<JobLabel, F64Gauge>::default();
        if let Some(value) = value {
            family.get_or_create(&label).set(value);
            registry.register(name, help, family);
        }
    };
    gauge(
        "last_run_start_timestamp_seconds",
        "When the job's last run started (Unix time)",
        unix(&last.started_at),
    );
    gauge(
        "last_run_end_timestamp_seconds",
        "When the job's last run ended (Unix time)",
        last.finished_at.as_deref().and_then(unix),
    );
    gauge(
        "last_run_duration_seconds",
        "How long the job's last run took",
        last.elapsed_secs,
    );
    gauge(
        "last_run_exit_code",
        "The exit code of the job's last run (0 success, 1 failed, 2 usage, 3 interrupted)",
        Some(f64::from(exit_code as i32)),
    );
    gauge(
        "last_run_success",
        "1 if the job's last run exited 0, else 0",
        Some(if exit_code == ExitCode::Success {
            1.0
        } else {
            0.0
        }),
    );
    gauge(
        "last_success_timestamp_seconds",
        "When the job's last run that exited 0 ended (Unix time; 0 if none did)",
        Some(
            state
                .last_success(job)?
                .as_deref()
                .and_then(unix)
                .unwrap_or(0.0),
        ),
    );
    gauge(
        "parked_records",
        "Records of the job parked after failing every attempt (send again with --replay-failed)",
        Some(state.failed_count(job)? as f64),
    );
    let records = Family::<OutcomeLabels, F64Gauge>::default();
    for (outcome, n) in [
        ("read", last.read),
        ("filtered", last.filtered),
        ("delivered", last.delivered),
        ("failed", last.failed),
        ("skipped", last.skipped),
    ] {
        records
            .get_or_create(&OutcomeLabels {
                job: job.to_owned(),
                outcome: outcome.to_owned(),
            })
            .set(n as f64);
    }
    registry.register(
        "last_run_records",
        "The job's last run's records by outcome",
        records,
    );
    let mut text = String::new();
    prometheus_client::encoding::text::encode_registry(&mut text, &registry)
        .map_err(|e| Error::Config(format!("metrics: {e}")))?;
    Ok(Some(text))
}

/// Writes `text` to `path` whole: to a hidden file beside it, then renamed over it, so the
/// textfile collector never reads half a file.
pub fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "metrics.prom".into());
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// Where `job`'s metrics go on a Pushgateway at `base`: `base/metrics/job/<job>`, or
/// `…/job@base64/<job in URL-safe base64>` when the name has characters a path segment cannot
/// hold as they are (the Pushgateway's documented encoding).
///
/// ```
/// let base = url::Url::parse("http://127.0.0.1:9091/").unwrap();
/// assert_eq!(sync_kit::metrics::push_url(&base, "directo-to-smaily"),
///     "http://127.0.0.1:9091/metrics/job/directo-to-smaily");
/// assert_eq!(sync_kit::metrics::push_url(&base, "a/b"),
///     "http://127.0.0.1:9091/metrics/job@base64/YS9i");
/// ```
pub fn push_url(base: &url::Url, job: &str) -> String {
    use base64::Engine as _;
    let root = base.as_str().trim_end_matches('/');
    let plain = !job.is_empty()
        && job
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        format!("{root}/metrics/job/{job}")
    } else {
        let encoded = base64::engine::general_purpose::URL_SAFE.encode(job);
        format!("{root}/metrics/job@base64/{encoded}")
    }
}

/// Replaces the metrics of `job`'s group on the Pushgateway at `base` with `text` (`PUT`).
/// Errors never show the URL's user or password.
pub async fn push(base: &url::Url, job: &str, text: String) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.without_url().to_string())?;
    let response = client
        .put(push_url(base, job))
        .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .body(text)
        .send()
        .await
        .map_err(|e| crate::error_chain(&e.without_url()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    Err(format!("HTTP {status}: {}", body.trim()))
}

/// After a run of `job` that exited with `exit_code`: writes `--metrics-file` and pushes to
/// `--metrics-push`, as `args` ask (nothing for a dry run, which logs no run). A failure is
/// logged as an error and does not change the run's exit code.
#[cfg(feature = "cli")]
pub async fn export(args: &crate::CommonArgs, state: &StateStore, job: &str, exit_code: ExitCode) {
    if args.dry_run || (args.metrics_file.is_none() && args.metrics_push.is_none()) {
        return;
    }
    let text = match exposition(state, job, exit_code) {
        Ok(Some(text)) => text,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(job, "metrics not exported: {}", e.one_line());
            return;
        }
    };
    if let Some(path) = &args.metrics_file
        && let Err(e) = write_file(path, &text)
    {
        tracing::error!(job, path = %path.display(), "metrics file not written: {e}");
    }
    if let Some(base) = &args.metrics_push
        && let Err(e) = push(base, job, text).await
    {
        let host = base.host_str().unwrap_or("?");
        tracing::error!(job, pushgateway = host, "metrics not pushed: {e}");
    }
}
