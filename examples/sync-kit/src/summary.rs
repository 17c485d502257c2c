//! What a run did: counts, rejected and failed records, and how it ended.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::error::ExitCode;

/// How many filtered, skipped and failed records a summary lists by key (all are counted, and
/// the count left out of each list is given).
pub const MAX_LISTED: usize = 1_000;

/// The reason the toolkit skips a record: its fields equal what was last delivered.
pub const UNCHANGED: &str = "unchanged since last delivery";

/// The kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A normal run: read the source from the watermark, deliver, advance the watermark.
    Run,
    /// `--dry-run`: print what would be sent, send nothing, change no state.
    DryRun,
    /// `--replay-failed`: send the parked failures again.
    ReplayFailed,
    /// `--discard-failed`: parked records removed on purpose (logged, never a source read).
    DiscardFailed,
}

impl Mode {
    /// The mode's name as stored in the run log.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Run => "run",
            Mode::DryRun => "dry_run",
            Mode::ReplayFailed => "replay_failed",
            Mode::DiscardFailed => "discard_failed",
        }
    }
}

/// How a run ended, as the run log and `--status` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still going (its process is alive).
    Running,
    /// The source was read to its end and every record settled (delivered, filtered, skipped
    /// or parked).
    Completed,
    /// Stopped by an error before the end (the source or the state file failed).
    Failed,
    /// Stopped before the end by a signal, or its process was killed: the next run resumes
    /// from where it started reading.
    Interrupted,
}

impl RunStatus {
    /// The name stored in the run log.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// Reads a stored name (an unknown one reads as failed).
    pub fn parse(text: &str) -> Self {
        match text {
            "running" => RunStatus::Running,
            "completed" => RunStatus::Completed,
            "interrupted" => RunStatus::Interrupted,
            _ => RunStatus::Failed,
        }
    }
}

/// The filter reason kind of records that lose to another record with the same key (see
/// [`crate::config::DuplicateKeys`]); each one's reason is `shares key <key> with <id>`.
pub const DUPLICATE_KEY: &str = "duplicate key";

/// A source record the sync did not send, and why (the template's filter, made visible).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The source record's identifier (for Directo customers: the customer code).
    pub id: String,
    /// Why it was not sent.
    pub reason: String,
}

/// A record that was valid but not sent, and why (not listed when it was only unchanged since
/// its last delivery: those are counted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Skip {
    /// The record's key (for a record skipped as it was read: its id in the source).
    pub key: String,
    /// Why it was not sent.
    pub reason: String,
}

/// A record that failed every attempt in this run and was parked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The record's key.
    pub key: String,
    /// The last error.
    pub error: String,
    /// Attempts made: in this run while it runs, then (once the run is recorded) all the
    /// attempts the state file holds for the record, earlier runs' included.
    pub attempts: u32,
}

/// The outcome of one run. Serialised as the `--json` output (one line, with `"kind":
/// "summary"`) and stored in the run log.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename = "summary")]
pub struct Summary {
    /// The job name.
    pub job: String,
    /// What kind of run this was.
    pub mode: Mode,
    /// How it ended: `completed`, `failed` (see `aborted`) or `interrupted` (see `stopped_by`).
    pub status: RunStatus,
    /// When the run started (UTC, RFC 3339).
    pub started_at: String,
    /// Wall-clock seconds.
    pub elapsed_secs: f64,
    /// Where the source was read from (the `ts` filter), if the source is incremental.
    pub read_from: Option<String>,
    /// Source records read.
    pub read: u64,
    /// Source records not sent because they failed validation (see `rejections`).
    pub filtered: u64,
    /// Records delivered (in a dry run: that would have been sent).
    pub delivered: u64,
    /// Records that failed every attempt and were parked for `--replay-failed`.
    pub failed: u64,
    /// Records not sent although valid: unchanged since the last delivery, or new contacts a
    /// sync may only update (see `skipped_by_reason`).
    pub skipped: u64,
    /// Skipped records by reason ([`UNCHANGED`] or a sync's own).
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// The first [`MAX_LISTED`] records skipped for a reason other than [`UNCHANGED`], by key.
    pub skips: Vec<Skip>,
    /// How many skipped records (other than unchanged ones) `skips` leaves out.
    pub skips_left_out: u64,
    /// HTTP requests made: the runner sums each batch's [`Delivery::requests`](crate::Delivery::requests)
    /// (exact when the sink counts its calls with `marketing_sync_core::count_requests`),
    /// retries included. The template syncs count their whole run the same way and set it to
    /// every HTTP attempt their clients sent for it (source reads, lookups, retries, and for a
    /// process's first run its start-up credentials check), as the services see them. In a dry
    /// run: the requests a real run would send.
    pub requests: u64,
    /// The watermark before the run.
    pub watermark_before: Option<String>,
    /// The watermark after the run (unchanged on a dry run, replay, or aborted run).
    pub watermark_after: Option<String>,
    /// Filtered records by reason.
    pub filtered_by_reason: BTreeMap<String, u64>,
    /// Filtered records, at most [`MAX_LISTED`].
    pub rejections: Vec<Rejection>,
    /// How many filtered records `rejections` leaves out.
    pub rejections_left_out: u64,
    /// Records parked in this run, at most [`MAX_LISTED`].
    pub failures: Vec<Failure>,
    /// How many parked records `failures` leaves out.
    pub failures_left_out: u64,
    /// Records of this job parked in the state file after the run (from all runs).
    pub parked_total: u64,
    /// Why the run stopped early, if it did.
    pub aborted: Option<String>,
    /// The signal that stopped the run early (`SIGTERM`, `SIGINT`), if one did.
    pub stopped_by: Option<String>,
    /// Keys shared by several records of this run: one record per key was delivered, the
    /// others are filtered as [`DUPLICATE_KEY`] (or all of them, with `duplicate_keys = "fail"`).
    pub duplicate_keys: u64,
    /// The process's peak resident memory so far, in KiB (Linux `VmHWM`; absent elsewhere).
    pub peak_memory_kib: Option<u64>,
    /// The process exit code this run maps to; in JSON its number (`exit_code`) and its name
    /// (`outcome`: `success`, `failed`, `usage`, `interrupted`).
    #[serde(flatten, serialize_with = "exit_fields")]
    pub exit_code: ExitCode,
}

/// `"exit_code": 1, "outcome": "failed"`.
pub(crate) fn exit_fields<S: serde::Serializer>(code: &ExitCode, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(2))?;
    map.serialize_entry("exit_code", code)?;
    map.serialize_entry("outcome", code.as_str())?;
    map.end()
}

/// `1 request`, `2 requests`: a count and a noun made plural by an `s` when it is not 1.
///
/// ```
/// use sync_kit::summary::count;
/// assert_eq!(count(1, "request"), "1 request");
/// assert_eq!(count(0, "attempt"), "0 attempts");
/// ```
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

impl Summary {
    /// An empty summary for a run starting now.
    pub fn new(job: &str, mode: Mode) -> Self {
        Self {
            job: job.to_owned(),
            mode,
            status: RunStatus::Completed,
            started_at: jiff::Timestamp::now().to_string(),
            elapsed_secs: 0.0,
            read_from: None,
            read: 0,
            filtered: 0,
            delivered: 0,
            failed: 0,
            skipped: 0,
            skipped_by_reason: BTreeMap::new(),
            skips: Vec::new(),
            skips_left_out: 0,
            requests: 0,
            watermark_before: None,
            watermark_after: None,
            filtered_by_reason: BTreeMap::new(),
            rejections: Vec::new(),
            rejections_left_out: 0,
            failures: Vec::new(),
            failures_left_out: 0,
            parked_total: 0,
            aborted: None,
            stopped_by: None,
            duplicate_keys: 0,
            peak_memory_kib: None,
            exit_code: ExitCode::Success,
        }
    }

    /// Counts `count` records skipped for `reason`, without their keys (use
    /// [`skip_key`](Self::skip_key) for a record whose key is known).
    pub fn skip(&mut self, reason: &str, count: u64) {
        if count == 0 {
            return;
        }
        self.skipped += count;
        *self.skipped_by_reason.entry(reason.to_owned()).or_default() += count;
    }

    /// Counts the record `key` skipped for `reason`, and lists it in [`skips`](Self::skips)
    /// unless `reason` is [`UNCHANGED`].
    ///
    /// ```
    /// use sync_kit::{Mode, Summary};
    /// let mut summary = Summary::new("job", Mode::Run);
    /// summary.skip_key("a@example.com".into(), "new contact, not created without --insert");
    /// summary.skip_key("b@example.com".into(), sync_kit::summary::UNCHANGED);
    /// assert_eq!(summary.skipped, 2);
    /// assert_eq!(summary.skips.len(), 1);
    /// assert_eq!(summary.skips[0].key, "a@example.com");
    /// ```
    pub fn skip_key(&mut self, key: String, reason: &str) {
        self.skip(reason, 1);
        if reason == UNCHANGED {
            return;
        }
        if self.skips.len() < MAX_LISTED {
            self.skips.push(Skip {
                key,
                reason: reason.to_owned(),
            });
        } else {
            self.skips_left_out += 1;
        }
    }

    /// Counts a filtered record, grouped by its reason's kind (the part before any `:`).
    pub fn reject(&mut self, id: String, reason: String) {
        let kind = reason
            .split(':')
            .next()
            .unwrap_or(&reason)
            .trim()
            .to_owned();
        self.reject_as(&kind, id, reason);
    }

    /// Counts a filtered record under the reason kind `kind`.
    pub fn reject_as(&mut self, kind: &str, id: String, reason: String) {
        self.filtered += 1;
        *self.filtered_by_reason.entry(kind.to_owned()).or_default() += 1;
        if self.rejections.len() < MAX_LISTED {
            self.rejections.push(Rejection { id, reason });
        } else {
            self.rejections_left_out += 1;
        }
    }

    /// Counts a record parked as failed after `attempts` attempts.
    pub fn fail(&mut self, key: String, error: String, attempts: u32) {
        self.failed += 1;
        if self.failures.len() < MAX_LISTED {
            self.failures.push(Failure {
                key,
                error,
                attempts,
            });
        } else {
            self.failures_left_out += 1;
        }
    }

    /// Fills in the status and exit code: 3 if it was interrupted, 1 if anything failed or the
    /// run was aborted.
    pub fn finish(&mut self, elapsed: Duration) {
        self.elapsed_secs = elapsed.as_secs_f64();
        self.peak_memory_kib = peak_memory_kib();
        self.status = if self.stopped_by.is_some() {
            RunStatus::Interrupted
        } else if self.aborted.is_some() {
            RunStatus::Failed
        } else {
            RunStatus::Completed
        };
        self.exit_code = if self.status == RunStatus::Interrupted {
            ExitCode::Interrupted
        } else if self.failed > 0 || self.aborted.is_some() {
            ExitCode::Failed
        } else {
            ExitCode::Success
        };
    }

    /// Records per second delivered (or skipped) over the run.
    pub fn rate(&self) -> f64 {
        if self.elapsed_secs > 0.0 {
            self.read as f64 / self.elapsed_secs
        } else {
            0.0
        }
    }

    /// `12 (unchanged since last delivery: 10, …)`, or just the count when nothing was skipped.
    fn skipped_line(&self) -> String {
        if self.skipped_by_reason.is_empty() {
            return self.skipped.to_string();
        }
        let reasons: Vec<String> = self
            .skipped_by_reason
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        format!("{} ({})", self.skipped, reasons.join(", "))
    }

    /// The human-readable summary table (for stderr).
    pub fn table(&self) -> String {
        let mut out = String::new();
        let delivered_label = match self.mode {
            Mode::DryRun => "would send",
            _ => "delivered",
        };
        let _ = writeln!(
            out,
            "\n{} — {}",
            self.job,
            self.mode.as_str().replace('_', " ")
        );
        if let Some(from) = &self.read_from {
            let _ = writeln!(out, "  read from   {from}");
        }
        let rows: [(&str, String); 7] = [
            ("read", self.read.to_string()),
            ("filtered", self.filtered.to_string()),
            (delivered_label, self.delivered.to_string()),
            ("failed", self.failed.to_string()),
            ("skipped", self.skipped_line()),
            ("requests", self.requests.to_string()),
            ("time", format!("{:.2} s", self.elapsed_secs)),
        ];
        for (label, value) in rows {
            let _ = writeln!(out, "  {label:<11} {value}");
        }
        if let Some(w) = &self.watermark_after {
            let _ = writeln!(out, "  watermark   {w}");
        }
        if !self.filtered_by_reason.is_empty() {
            let _ = writeln!(out, "\n  filtered records by reason:");
            for (reason, count) in &self.filtered_by_reason {
                let _ = writeln!(out, "    {count:>6}  {reason}");
            }
            let _ = writeln!(
                out,
                "  filtered records, {}:",
                listed(self.filtered, self.rejections_left_out)
            );
            for r in self.rejections.iter().take(10) {
                let _ = writeln!(out, "    {:<16} {}", r.id, r.reason);
            }
        }
        if !self.skips.is_empty() {
            let _ = writeln!(
                out,
                "\n  skipped records, {}:",
                listed(
                    self.skips.len() as u64 + self.skips_left_out,
                    self.skips_left_out
                )
            );
            for s in self.skips.iter().take(10) {
                let _ = writeln!(out, "    {:<32}  {}", s.key, s.reason);
            }
        }
        if !self.failures.is_empty() {
            let _ = writeln!(
                out,
                "\n  failed records (parked; retry with --replay-failed):"
            );
            for f in self.failures.iter().take(10) {
                let _ = writeln!(
                    out,
                    "    {:<32} after {}: {}",
                    f.key,
                    count(f.attempts.into(), "attempt"),
                    f.error
                );
            }
            if self.failures.len() > 10 {
                let _ = writeln!(
                    out,
                    "    … and {} more ({})",
                    self.failed - 10,
                    listed(self.failed, self.failures_left_out)
                );
            }
        }
        if self.parked_total > 0 {
            let (records, are) = match self.parked_total {
                1 => ("1 record".to_owned(), "is"),
                n => (format!("{n} records"), "are"),
            };
            let _ = writeln!(
                out,
                "\n  {records} of this job {are} parked as failed; run with --replay-failed to send {}.",
                if self.parked_total == 1 {
                    "it again"
                } else {
                    "them again"
                }
            );
        }
        if let Some(reason) = &self.aborted {
            let _ = writeln!(out, "\n  ABORTED: {reason}");
        }
        if let Some(signal) = &self.stopped_by {
            let _ = writeln!(
                out,
                "\n  INTERRUPTED by {signal}: the batches in flight were settled; the next run resumes the rest."
            );
        }
        out
    }
}

/// How a table's list of `total` records relates to `--json`: `first 10 of 25; all are in
/// --json`, or `first 10 of 1090; --json lists the first 1000 (90 left out)`.
fn listed(total: u64, left_out: u64) -> String {
    let shown = total.min(10);
    let head = if shown == total {
        format!("all {total}")
    } else {
        format!("first {shown} of {total}")
    };
    if left_out == 0 {
        format!("{head}; all are in --json")
    } else {
        format!(
            "{head}; --json lists the first {} ({left_out} left out)",
            total - left_out
        )
    }
}

/// The process's peak resident set size in KiB (`VmHWM` from `/proc/self/status`), on Linux.
pub fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_says_why_records_were_skipped() {
        let mut summary = Summary::new("job", Mode::Run);
        assert!(summary.table().contains("skipped     0\n"));
        summary.skip(UNCHANGED, 10);
        summary.skip("new contact, not created without --insert", 2);
        summary.skip(UNCHANGED, 0);
        assert_eq!(summary.skipped, 12);
        assert!(
            summary.table().contains(
                "skipped     12 (new contact, not created without --insert: 2, \
                 unchanged since last delivery: 10)\n"
            ),
            "{}",
            summary.table()
        );
    }

    #[test]
    fn the_table_counts_in_words_that_agree() {
        let mut summary = Summary::new("job", Mode::ReplayFailed);
        summary.fail("a@example.com".into(), "HTTP 503".into(), 1);
        summary.parked_total = 1;
        let table = summary.table();
        assert!(table.contains("after 1 attempt: HTTP 503"), "{table}");
        assert!(
            table.contains("1 record of this job is parked as failed"),
            "{table}"
        );
        assert!(table.contains("send it again"), "{table}");
        summary.failures[0].attempts = 4;
        summary.parked_total = 2;
        let table = summary.table();
        assert!(table.contains("after 4 attempts: HTTP 503"), "{table}");
        assert!(
            table.contains("2 records of this job are parked"),
            "{table}"
        );
    }

    #[test]
    fn json_is_one_line_with_its_kind_and_the_exit_code_as_a_number() {
        let mut summary = Summary::new("job", Mode::Run);
        summary.fail("a@example.com".into(), "HTTP 503".into(), 1);
        summary.finish(Duration::from_millis(5));
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["kind"], "summary");
        assert_eq!(json["exit_code"], 1);
        assert_eq!(json["outcome"], "failed");
        assert!(!serde_json::to_string(&summary).unwrap().contains('\n'));
    }

    #[test]
    fn peak_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(super::peak_memory_kib().unwrap() > 100);
        }
    }
}
