//! The command-line flags every sync shares ([`CommonArgs`], to `#[command(flatten)]` into a
//! binary's own parser), `--since` parsing, and the main loop ([`main_loop`]) that runs a job once
//! or on a schedule, prints the summary and maps the outcome to an exit code.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

use crate::error::{Error, ExitCode};
use crate::progress::Progress;
use crate::state::StateStore;
use crate::summary::Summary;

/// The flags every sync binary has.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// The job's TOML config (field mapping, batch size, retry schedule). Optional: defaults apply.
    #[arg(long, env = "SYNC_CONFIG", value_name = "TOML")]
    pub config: Option<PathBuf>,

    /// The SQLite state file (watermarks, last-sent snapshots, failed records, run log).
    /// Default: ./sync-state.db; with --sandbox an in-memory store unless given, and then the
    /// sandbox's fakes keep their state beside it (FILE.sandbox.json).
    #[arg(long, env = "SYNC_STATE", value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Read changes since this point instead of the stored watermark: a date (2024-01-15,
    /// 15.01.2024), a date and time (2024-01-15T10:30), or an age (36h, 2d).
    #[arg(long, value_parser = parse_since, value_name = "WHEN")]
    pub since: Option<Since>,

    /// Print the requests a real run would send, exactly as they would go on the wire (one
    /// JSON line each on stdout); send nothing, change no state, and need no credentials for
    /// the destination.
    #[arg(long)]
    pub dry_run: bool,

    /// Send the records parked as failed again, instead of reading the source.
    #[arg(long)]
    pub replay_failed: bool,

    /// Send records even if they equal what was last delivered.
    #[arg(long)]
    pub force: bool,

    /// Keep running and repeat the job this often (e.g. 15m, 1h); stop with Ctrl-C.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub every: Option<Duration>,

    /// Print each run's summary (or error) as one JSON line on stdout, with `exit_code`
    /// (and no progress or table).
    #[arg(long)]
    pub json: bool,

    /// Run against in-process fakes seeded with demo data (no account or credentials needed).
    #[arg(long)]
    pub sandbox: bool,
}

impl CommonArgs {
    /// Where an incremental read of a source in `tz` starts: `--since`, else the job's stored
    /// watermark minus its overlap, else the start of yesterday (the first run, as the Make
    /// template does). See [`crate::read_from`].
    pub fn read_from(
        &self,
        state: &StateStore,
        job: &crate::JobConfig,
        tz: &TimeZone,
    ) -> Result<DateTime, Error> {
        let since = self.since.map(|s| s.resolve(tz));
        crate::read_from(state, job, since, yesterday(tz))
    }

    /// The state file these flags name: `--state`, else `./sync-state.db`; `None` for the
    /// in-memory store of `--sandbox` without `--state`.
    pub fn state_path(&self) -> Option<PathBuf> {
        match (&self.state, self.sandbox) {
            (Some(path), _) => Some(path.clone()),
            (None, true) => None,
            (None, false) => Some(PathBuf::from("sync-state.db")),
        }
    }

    /// Opens the state store these flags ask for: read-only for `--dry-run`, in memory for
    /// `--sandbox` without `--state`, else the file (default `./sync-state.db`).
    pub fn open_state(&self) -> Result<StateStore, Error> {
        let Some(path) = self.state_path() else {
            return Ok(StateStore::in_memory()?);
        };
        let store = if self.dry_run {
            StateStore::open_read_only(&path)
        } else {
            StateStore::open(&path)
        };
        store.map_err(|e| Error::Config(format!("cannot open state file {}: {e}", path.display())))
    }

    /// Runs `records` into `sink`, or, with `--replay-failed`, sends the parked records again
    /// instead (the records are not read then).
    pub async fn run_or_replay<S, K>(
        &self,
        ctx: crate::RunContext<'_>,
        records: S,
        sink: &K,
    ) -> Result<Summary, Error>
    where
        S: futures::Stream<Item = Result<crate::SourceRecord, crate::BoxError>>,
        K: crate::Sink,
    {
        if self.replay_failed {
            crate::replay_failed(ctx, sink).await
        } else {
            crate::run(ctx, records, sink).await
        }
    }

    /// A human description of where state lives, for the first log line.
    pub fn state_description(&self) -> String {
        match (&self.state, self.sandbox) {
            (Some(path), _) => path.display().to_string(),
            (None, true) => "in memory (sandbox; pass --state FILE to keep it)".into(),
            (None, false) => "./sync-state.db".into(),
        }
    }

    /// Progress display for these flags (hidden with `--json`).
    pub fn progress(&self) -> Progress {
        Progress::auto(self.json)
    }
}

/// A `--since` value: a fixed point, or an age relative to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// A civil date-time in the source system's time zone.
    At(DateTime),
    /// This long ago.
    Ago(Duration),
}

impl Since {
    /// The point in the source's time zone.
    pub fn resolve(self, tz: &TimeZone) -> DateTime {
        match self {
            Since::At(at) => at,
            Since::Ago(age) => {
                let now = jiff::Timestamp::now();
                let then = now
                    .checked_sub(
                        jiff::SignedDuration::try_from(age).unwrap_or(jiff::SignedDuration::MAX),
                    )
                    .unwrap_or(jiff::Timestamp::MIN);
                then.to_zoned(tz.clone()).datetime()
            }
        }
    }
}

/// Parses `--since`.
pub fn parse_since(text: &str) -> Result<Since, String> {
    let text = text.trim();
    if let Ok(dt) = text.parse::<DateTime>() {
        return Ok(Since::At(dt));
    }
    if let Ok(date) = text.parse::<Date>() {
        return Ok(Since::At(date.to_datetime(jiff::civil::Time::midnight())));
    }
    for format in ["%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M"] {
        if let Ok(dt) = DateTime::strptime(format, text) {
            return Ok(Since::At(dt));
        }
    }
    if let Ok(date) = Date::strptime("%d.%m.%Y", text) {
        return Ok(Since::At(date.to_datetime(jiff::civil::Time::midnight())));
    }
    if let Ok(age) = humantime::parse_duration(text) {
        return Ok(Since::Ago(age));
    }
    Err(format!(
        "{text:?} is not a date (2024-01-15, 15.01.2024), date-time (2024-01-15T10:30) or age (36h, 2d)"
    ))
}

/// Midnight at the start of yesterday in `tz`: the Make template's default (`addDays(now; -1)`
/// formatted as a date).
pub fn yesterday(tz: &TimeZone) -> DateTime {
    let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    today
        .yesterday()
        .unwrap_or(today)
        .to_datetime(jiff::civil::Time::midnight())
}

/// Prints a summary as the flags ask: one JSON line on stdout with `--json` (so appending runs
/// to a file makes a JSON-lines file), else the table on stderr.
pub fn print_summary(args: &CommonArgs, summary: &Summary) {
    if args.json {
        println!(
            "{}",
            serde_json::to_string(summary)
                .unwrap_or_else(|e| error_line(&e.to_string(), ExitCode::Failed))
        );
    } else {
        eprint!("{}", summary.table());
    }
}

/// Prints an error: one `error: …` line on stderr, and with `json` also a JSON line on stdout
/// (`{"kind": "error", "error": …, "exit_code": 2, "outcome": "usage"}`). Returns its exit code.
pub fn report_error(json: bool, e: &Error) -> ExitCode {
    let line = e.one_line();
    let code = e.exit_code();
    if json {
        println!("{}", error_line(&line, code));
    }
    eprintln!("error: {line}");
    code
}

fn error_line(error: &str, code: ExitCode) -> String {
    /// `{"kind": "error", "error": …, "exit_code": 2, "outcome": "usage"}`.
    #[derive(serde::Serialize)]
    #[serde(tag = "kind", rename = "error")]
    struct ErrorLine<'a> {
        error: &'a str,
        #[serde(flatten, serialize_with = "crate::summary::exit_fields")]
        exit_code: ExitCode,
    }
    serde_json::to_string(&ErrorLine {
        error,
        exit_code: code,
    })
    .unwrap_or_default()
}

/// Runs `job` once, or every `--every` until Ctrl-C, printing each summary; returns the exit
/// code of the last run. Errors print one line (`error: …`) on stderr. A configuration error
/// stops a scheduled loop; other errors are logged and the schedule continues.
pub async fn main_loop<F, Fut>(args: &CommonArgs, mut job: F) -> ExitCode
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Summary, Error>>,
{
    loop {
        let code = match job().await {
            Ok(summary) => {
                print_summary(args, &summary);
                summary.exit_code
            }
            Err(err) => report_error(args.json, &err),
        };
        let Some(every) = args.every else {
            return code;
        };
        if code == ExitCode::Usage {
            return code;
        }
        tracing::info!(next_in = %humantime::format_duration(every), "waiting for the next run");
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = tokio::signal::ctrl_c() => {
                eprintln!("stopped");
                return code;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_formats() {
        let at = |s: &str| match parse_since(s).unwrap() {
            Since::At(dt) => dt.to_string(),
            Since::Ago(_) => panic!("{s} parsed as an age"),
        };
        assert_eq!(at("2024-01-15"), "2024-01-15T00:00:00");
        assert_eq!(at("2024-01-15T10:30"), "2024-01-15T10:30:00");
        assert_eq!(at("2024-01-15 10:30:05"), "2024-01-15T10:30:05");
        assert_eq!(at("15.01.2024"), "2024-01-15T00:00:00");
        assert_eq!(at("15.01.2024 10:30"), "2024-01-15T10:30:00");
        assert_eq!(
            parse_since("36h").unwrap(),
            Since::Ago(Duration::from_secs(36 * 3600))
        );
        assert!(parse_since("last tuesday").is_err());
    }

    #[test]
    fn yesterday_is_midnight_before_today() {
        let tz = TimeZone::get("Europe/Tallinn").unwrap();
        let y = yesterday(&tz);
        let today = jiff::Timestamp::now().to_zoned(tz).date();
        assert_eq!(y.date().tomorrow().unwrap(), today);
        assert_eq!(y.time(), jiff::civil::Time::midnight());
    }
}
