//! Job configuration from TOML: the parts every sync shares ([`JobConfig`], [`RetrySchedule`]) and
//! a loader for a sync's own config type. Credentials never live here: see [`crate::env`].

use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The delivery retry schedule applied by the runner on top of the client's own transport retries:
/// a record whose delivery failed with a retryable error is sent again `attempts - 1` more times,
/// `delay` apart, and parked as failed after the last attempt. The default is the Make template's
/// "3 attempts, 1 minute apart".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrySchedule {
    /// Total attempts per record (at least 1).
    pub attempts: u32,
    /// Pause between attempts, e.g. `"1m"`, `"30s"`, `"250ms"`.
    #[serde(with = "duration_str")]
    pub delay: Duration,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self {
            attempts: 3,
            delay: Duration::from_secs(60),
        }
    }
}

/// What a run does when several of its records map to one destination key (the same email,
/// Splio key or order id): the key is written once, and the records that lose are filtered with
/// the reason `shares key <key> with <id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateKeys {
    /// The record changed last in the source wins (its `ts`); between records with the same
    /// change time, or none, the one read last.
    #[default]
    Newest,
    /// The record read first wins.
    First,
    /// None of them is sent: all are filtered, and the run exits 1 so the data gets fixed.
    Fail,
}

/// The pipeline settings every sync shares (the `[job]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobConfig {
    /// The job's name: the key of its watermark, snapshots and failures in the state file.
    /// Empty means "the binary's default" (see [`JobConfig::default_name`]).
    pub name: String,
    /// Records per delivery request.
    pub batch_size: usize,
    /// How many batches may be in flight at once (the client's rate limiter still applies).
    pub concurrency: usize,
    /// How far before the stored watermark the next run starts reading, so records changed
    /// during the previous run, or with a clock skew, are not missed.
    #[serde(with = "duration_str")]
    pub overlap: Duration,
    /// Skip records whose mapped payload equals the one last delivered.
    pub skip_unchanged: bool,
    /// Several records of one run with the same key: `"newest"`, `"first"` or `"fail"`.
    pub duplicate_keys: DuplicateKeys,
    /// The delivery retry schedule.
    pub retry: RetrySchedule,
}

impl JobConfig {
    /// The defaults for a job called `name`.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    /// Uses `name` if the config left the job name empty.
    pub fn default_name(&mut self, name: &str) {
        if self.name.trim().is_empty() {
            self.name = name.to_owned();
        }
    }

    /// Checks the values make sense.
    pub fn validate(&self) -> Result<(), Error> {
        if self.name.trim().is_empty() {
            return Err(Error::Config("job.name must not be empty".into()));
        }
        if self.batch_size == 0 {
            return Err(Error::Config("job.batch_size must be at least 1".into()));
        }
        if self.concurrency == 0 {
            return Err(Error::Config("job.concurrency must be at least 1".into()));
        }
        if self.retry.attempts == 0 {
            return Err(Error::Config(
                "job.retry.attempts must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

impl Default for JobConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            batch_size: 500,
            concurrency: 2,
            overlap: Duration::from_secs(6 * 3600),
            skip_unchanged: true,
            duplicate_keys: DuplicateKeys::Newest,
            retry: RetrySchedule::default(),
        }
    }
}

/// Reads a sync's TOML config; unknown keys and bad values are configuration errors naming the
/// file and the key.
pub fn load_toml<T: DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read config {}: {e}", path.display())))?;
    parse_toml(&text).map_err(|e| match e {
        Error::Config(msg) => Error::Config(format!("{}: {msg}", path.display())),
        other => other,
    })
}

/// Parses a sync's TOML config from a string.
pub fn parse_toml<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    toml::from_str(text)
        .map_err(|e| Error::Config(e.message().replace('\n', " ").to_string() + &span_hint(&e)))
}

fn span_hint(e: &toml::de::Error) -> String {
    e.span()
        .map(|span| format!(" (at byte {})", span.start))
        .unwrap_or_default()
}

/// Serde helper: a [`Duration`] written as a humantime string (`"1m"`, `"6h"`, `"250ms"`).
pub mod duration_str {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as a humantime string.
    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*value).to_string())
    }

    /// Deserializes from a humantime string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration {text:?}: {e} (e.g. \"1m\", \"6h\")"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Cfg {
        #[serde(default)]
        job: JobConfig,
    }

    #[test]
    fn defaults_are_the_templates() {
        let mut cfg: Cfg = parse_toml("").unwrap();
        assert!(cfg.job.validate().is_err(), "the name must be filled in");
        cfg.job.default_name("x");
        cfg.job.validate().unwrap();
        assert_eq!(cfg.job.retry.attempts, 3);
        assert_eq!(cfg.job.retry.delay, Duration::from_secs(60));
        assert_eq!(cfg.job.batch_size, 500);
    }

    #[test]
    fn durations_are_humantime() {
        let cfg: Cfg = parse_toml(
            "[job]\nname = \"x\"\noverlap = \"1h\"\n[job.retry]\nattempts = 5\ndelay = \"250ms\"\n",
        )
        .unwrap();
        assert_eq!(cfg.job.overlap, Duration::from_secs(3600));
        assert_eq!(cfg.job.retry.delay, Duration::from_millis(250));
        assert_eq!(cfg.job.retry.attempts, 5);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_config_errors() {
        let err = parse_toml::<Cfg>("[job]\nbatchsize = 5\n").unwrap_err();
        assert!(
            matches!(err, Error::Config(ref m) if m.contains("batchsize")),
            "{err}"
        );
        let err = parse_toml::<Cfg>("[job.retry]\ndelay = \"soon\"\n").unwrap_err();
        assert!(
            matches!(err, Error::Config(ref m) if m.contains("soon")),
            "{err}"
        );
        assert!(
            JobConfig {
                batch_size: 0,
                ..JobConfig::default()
            }
            .validate()
            .is_err()
        );
    }
}
