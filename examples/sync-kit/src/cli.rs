//! The command-line flags every sync shares ([`CommonArgs`], to `#[command(flatten)]` into a
//! binary's own parser), `--since` parsing, the main loop ([`main_loop`]) that runs a job once
//! or on a schedule, prints the summary and maps the outcome to an exit code, and the views that
//! replace a run: `--status` and `--discard-failed` ([`inspect`]).

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

use crate::error::{Error, ExitCode};
use crate::progress::Progress;
use crate::state::StateStore;
use crate::stop::Stop;
use crate::summary::Summary;

/// The shortest `--every`: a tighter schedule only hammers the services (and `0s` spins).
pub const MIN_EVERY: Duration = Duration::from_secs(10);

pub use crate::status::{STATUS_RUNS, inspect};

/// The error of a run refused because `other` runs the job (exit 2).
///
/// ```
/// let state = sync_kit::StateStore::in_memory().unwrap();
/// # let sync_kit::state::Begun::Started(_) = state.begin_run("job", sync_kit::Mode::Run, None).unwrap() else { panic!() };
/// let other = &state.runs("job", 1).unwrap()[0];
/// let e = sync_kit::cli::already_running("job", other);
/// assert!(e.to_string().starts_with("job job is already running"));
/// ```
pub fn already_running(job: &str, other: &crate::state::RunRecord) -> Error {
    crate::error::already_running(job, other)
}

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

    /// Keep running and repeat the job this often (e.g. 15m, 1h; at least 10s); stop with
    /// Ctrl-C or SIGTERM.
    #[arg(long, value_parser = parse_every, value_name = "DURATION")]
    pub every: Option<Duration>,

    /// Print each run's summary (or error) as one JSON line on stdout, with `exit_code`
    /// (and no progress or table).
    #[arg(long)]
    pub json: bool,

    /// Run against in-process fakes seeded with demo data (no account or credentials needed).
    #[arg(long)]
    pub sandbox: bool,

    /// Check everything the job needs without changing anything (config, credentials and
    /// reachability of each service, the mapping against the destination's fields, the SFTP
    /// host key, the state store), one line per check; exit 0, 2 (config or credentials) or 1
    /// (unreachable).
    #[arg(long, conflicts_with_all = ["dry_run", "replay_failed", "every", "status", "discard_failed"])]
    pub check: bool,

    /// Show the job's last runs, watermark and parked records from the state file, and exit
    /// (nothing is read or sent; with --json as one JSON line).
    #[arg(long, conflicts_with_all = ["dry_run", "replay_failed", "every", "discard_failed"])]
    pub status: bool,

    /// Remove a parked record on purpose (it will not be replayed), by its key; repeatable.
    /// Logged in the run log.
    #[arg(long, value_name = "KEY", conflicts_with_all = ["dry_run", "replay_failed", "every"])]
    pub discard_failed: Vec<String>,

    /// After every run, write the job's Prometheus metrics to this file (text exposition
    /// format, for node_exporter's textfile collector; written whole, then renamed).
    #[arg(long, env = "SYNC_METRICS_FILE", value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,

    /// After every run, push the job's Prometheus metrics to this Pushgateway (e.g.
    /// http://127.0.0.1:9091), grouped by job.
    #[arg(long, env = "SYNC_METRICS_PUSH", value_name = "URL")]
    pub metrics_push: Option<url::Url>,
}

impl CommonArgs {
    /// Where an incremental read of a source in `tz` starts: `--since`, else the job's stored
    /// watermark minus its overlap, else the start of yesterday (the first run, as the Make
    /// template does). See [`crate::read_from`]. A `--since` later than now in `tz` is a usage
    /// error: it would read nothing.
    ///
    /// ```
    /// # use clap::Parser;
    /// # #[derive(Parser)] struct Cli { #[command(flatten)] common: sync_kit::CommonArgs }
    /// // An hour ahead in UTC: in the future for a source in UTC.
    /// let ahead = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).datetime()
    ///     .checked_add(jiff::SignedDuration::from_hours(1)).unwrap().to_string();
    /// let args = Cli::parse_from(["sync", "--since", ahead.as_str()]).common;
    /// let state = sync_kit::StateStore::in_memory().unwrap();
    /// let job = sync_kit::JobConfig::named("demo");
    /// let err = args.read_from(&state, &job, &jiff::tz::TimeZone::UTC).unwrap_err();
    /// assert_eq!(err.exit_code(), sync_kit::ExitCode::Usage);
    /// ```
    pub fn read_from(
        &self,
        state: &StateStore,
        job: &crate::JobConfig,
        tz: &TimeZone,
    ) -> Result<DateTime, Error> {
        let since = self.since.map(|s| s.resolve(tz));
        if let Some(since) = since {
            let now = jiff::Timestamp::now().to_zoned(tz.clone()).datetime();
            if since > now {
                return Err(Error::Config(format!(
                    "--since {since} is in the future (it is {} in {}): a run from there \
                     reads nothing; give a date in the past, or leave --since out to read from \
                     the stored watermark",
                    now.strftime("%Y-%m-%dT%H:%M:%S"),
                    tz.iana_name().unwrap_or("the source's time zone")
                )));
            }
        }
        crate::read_from(state, job, since, yesterday(tz))
    }

    /// Now in the source's time zone `tz`: the moment a read starts, for
    /// [`RunContext::read_until`](crate::RunContext::read_until) (`None` for a replay, which
    /// reads no source).
    ///
    /// ```
    /// # use clap::Parser;
    /// # #[derive(Parser)] struct Cli { #[command(flatten)] common: sync_kit::CommonArgs }
    /// let args = Cli::parse_from(["sync"]).common;
    /// assert!(args.read_until(&jiff::tz::TimeZone::UTC).is_some());
    /// ```
    pub fn read_until(&self, tz: &TimeZone) -> Option<DateTime> {
        (!self.replay_failed).then(|| jiff::Timestamp::now().to_zoned(tz.clone()).datetime())
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

    /// Whether these flags only read the state file, never creating it: `--dry-run`,
    /// `--status`, and `--discard-failed` when there is no file (then nothing is parked, and
    /// the discard is refused as naming unknown keys).
    fn reads_state_only(&self, path: &std::path::Path) -> bool {
        self.dry_run || self.status || (!self.discard_failed.is_empty() && !path.exists())
    }

    /// Opens the state store these flags ask for: read-only for `--dry-run`, `--status` and a
    /// `--discard-failed` without a state file, in memory for `--sandbox` without `--state`,
    /// else the file (default `./sync-state.db`).
    pub fn open_state(&self) -> Result<StateStore, Error> {
        let Some(path) = self.state_path() else {
            return Ok(StateStore::in_memory()?);
        };
        if let Some(url) = self.state_url()? {
            // A database that is down is a failed run (exit 1, the host named), not a usage
            // error: the URL itself was fine.
            let read_only = self.dry_run || self.status;
            return Ok(StateStore::open_postgres(&url, read_only)?);
        }
        let store = if self.reads_state_only(&path) {
            StateStore::open_read_only(&path)
        } else {
            StateStore::open(&path)
        };
        store.map_err(|e| {
            // SQLite names the path it could not open: a URL's password must not show there.
            let shown = shown_state(&path);
            let raw = path.display().to_string();
            let error = e.to_string().replace(&raw, &shown);
            Error::Config(format!("cannot open state file {shown}: {error}"))
        })
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

    /// The PostgreSQL URL `--state` (or `SYNC_STATE`) names, if it names one
    /// (`postgres://` / `postgresql://`); a URL that does not parse is a usage error, its
    /// password redacted.
    ///
    /// ```
    /// # use clap::Parser;
    /// # #[derive(Parser)] struct Cli { #[command(flatten)] common: sync_kit::CommonArgs }
    /// let args = Cli::parse_from(["x", "--state", "postgres://sync@db/sync"]).common;
    /// assert_eq!(args.state_url().unwrap().unwrap().host(), "db:5432");
    /// let args = Cli::parse_from(["x", "--state", "state.db"]).common;
    /// assert!(args.state_url().unwrap().is_none());
    /// ```
    pub fn state_url(&self) -> Result<Option<crate::state::pg::PgUrl>, Error> {
        let Some(text) = self.state.as_deref().and_then(|p| p.to_str()) else {
            return Ok(None);
        };
        if !crate::state::pg::PgUrl::is_url(text) {
            return Ok(None);
        }
        crate::state::pg::PgUrl::parse(text)
            .map(Some)
            .map_err(|e| Error::Config(e.to_string()))
    }

    /// A human description of where state lives, for the first log line.
    pub fn state_description(&self) -> String {
        match (&self.state, self.sandbox) {
            (Some(path), _) => shown_state(path),
            (None, true) => "in memory (sandbox; pass --state FILE to keep it)".into(),
            (None, false) => "./sync-state.db".into(),
        }
    }

    /// Progress display for these flags (hidden with `--json`).
    pub fn progress(&self) -> Progress {
        Progress::auto(self.json)
    }
}

/// A `--state` value as it may be shown: a `postgres://` URL with its password redacted, a
/// file path as it is.
fn shown_state(state: &std::path::Path) -> String {
    let text = state.display().to_string();
    if !crate::state::pg::PgUrl::is_url(&text) {
        return text;
    }
    match url::Url::parse(&text) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "(a PostgreSQL URL that does not parse)".into(),
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

/// Parses `--every`: a duration of at least [`MIN_EVERY`].
pub fn parse_every(text: &str) -> Result<Duration, String> {
    let every = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if every < MIN_EVERY {
        return Err(format!(
            "{text} is too short: the schedule must be at least 10s (a tighter one only \
             hammers the services)"
        ));
    }
    Ok(every)
}

/// Parses `--since`.
pub fn parse_since(text: &str) -> Result<Since, String> {
    let since = parse_since_text(text)?;
    if let Since::At(at) = since {
        refuse_future(at)?;
    }
    Ok(since)
}

/// A date-time later than now in the easternmost time zone (UTC+14) is in the future wherever
/// the source is: refused while the arguments are read, before any request or state file.
/// (One still in the future only in the source's own time zone is refused by
/// [`CommonArgs::read_from`].)
fn refuse_future(at: DateTime) -> Result<(), String> {
    let easternmost = jiff::tz::TimeZone::fixed(jiff::tz::offset(14));
    let latest = jiff::Timestamp::now().to_zoned(easternmost).datetime();
    if at > latest {
        return Err(format!(
            "--since {at} is in the future in every time zone: a run from there reads nothing; \
             give a date in the past, or leave --since out to read from the stored watermark"
        ));
    }
    Ok(())
}

fn parse_since_text(text: &str) -> Result<Since, String> {
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

/// Parses the process's arguments into `C`, as `C::parse()` does, except that a usage error
/// under `--json` also prints its JSON error line on stdout (`{"kind": "error", "error": …,
/// "exit_code": 2, "outcome": "usage"}`), as every other error does. Clap's own message (with
/// its usage and tip) goes to stderr; `--help` and `--version` print as usual. Nothing here
/// panics on a closed pipe.
///
/// ```no_run
/// # #[derive(clap::Parser)] struct Cli { #[command(flatten)] common: sync_kit::CommonArgs }
/// let cli: Cli = sync_kit::cli::parse();
/// ```
pub fn parse<C: clap::Parser>() -> C {
    parse_with_help(std::env::args_os(), "")
}

/// [`parse`] over `args` (the first is the program name), with `after_help` at the end of
/// `--help` (of every subcommand too): a binary lists its environment variables and exit
/// codes there.
///
/// ```
/// # #[derive(clap::Parser)] struct Cli { #[command(flatten)] common: sync_kit::CommonArgs }
/// let cli: Cli = sync_kit::cli::parse_with_help(["sync", "--json"], "Exit codes: …");
/// assert!(cli.common.json);
/// ```
pub fn parse_with_help<C, I, T>(args: I, after_help: &str) -> C
where
    C: clap::Parser,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let mut command = C::command();
    if !after_help.is_empty() {
        let text = after_help.to_owned();
        command = command
            .after_help(text.clone())
            .mut_subcommands(|sub| sub.after_help(text.clone()));
    }
    let parsed = command
        .try_get_matches_from(&args)
        .and_then(|mut matches| C::from_arg_matches_mut(&mut matches));
    match parsed {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let informational =
                matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
            if !informational && args.iter().skip(1).any(|a| a == "--json") {
                crate::output::out(error_line(&clap_error_line(&e), ExitCode::Usage));
            }
            let _ = e.print();
            let code = if informational {
                0
            } else {
                ExitCode::Usage as i32
            };
            std::process::exit(code)
        }
    }
}

/// Clap's error as one line: its first line without the `error: ` prefix and styling.
fn clap_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .trim_start_matches("error: ")
        .to_owned()
}

/// Prints a summary as the flags ask: one JSON line on stdout with `--json` (so appending runs
/// to a file makes a JSON-lines file), else the table on stderr.
pub fn print_summary(args: &CommonArgs, summary: &Summary) {
    if args.json {
        crate::output::out(
            serde_json::to_string(summary)
                .unwrap_or_else(|e| error_line(&e.to_string(), ExitCode::Failed)),
        );
    } else {
        crate::output::err_raw(summary.table());
    }
}

/// Prints an error: one `error: …` line on stderr, and with `json` also a JSON line on stdout
/// (`{"kind": "error", "error": …, "exit_code": 2, "outcome": "usage"}`). Returns its exit code.
pub fn report_error(json: bool, e: &Error) -> ExitCode {
    let line = e.one_line();
    let code = e.exit_code();
    if json {
        crate::output::out(error_line(&line, code));
    }
    crate::output::err(format_args!("error: {line}"));
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

/// Runs `job` once, or every `--every` until stopped, printing each summary; returns the exit
/// code of the last run. Errors print one line (`error: …`) on stderr. A configuration error
/// stops a scheduled loop; other errors are logged and the schedule continues.
///
/// SIGINT and SIGTERM are listened for from here on at the latest (a binary calls
/// [`crate::stop::listen`] when it starts; see [`crate::stop`]): the first ends the run going on
/// as interrupted (exit code 3), or the wait for the next run (with the last run's code); a
/// second one ends the process at once.
pub async fn main_loop<F, Fut>(args: &CommonArgs, mut job: F) -> ExitCode
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Summary, Error>>,
{
    crate::stop::listen();
    let stop = Stop::process();
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
        if code == ExitCode::Usage || stop.is_requested() {
            if stop.is_requested() {
                crate::output::err("stopped");
            }
            return code;
        }
        tracing::info!(next_in = %humantime::format_duration(every), "waiting for the next run");
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.requested() => {
                crate::output::err("stopped");
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
    fn every_has_a_floor() {
        assert_eq!(parse_every("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_every("10s").unwrap(), MIN_EVERY);
        assert!(parse_every("9s").unwrap_err().contains("at least 10s"));
        assert!(parse_every("0s").is_err());
        assert!(parse_every("soon").is_err());
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
