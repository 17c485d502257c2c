//! The TOML config of `segment-to-splio`, and the Splio client it sets up.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::sftp;
use crate::shared::directo::DirectoConfig;
use sync_kit::config::duration_str;
use sync_kit::{Error, JobConfig, env};

/// The TOML config.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Batch size, concurrency, retry schedule.
    pub job: JobConfig,
    /// The segment file's shape.
    pub source: SourceConfig,
    /// Segment column → Splio attribute (`email`, `cellphone`, `firstname`, `lastname`,
    /// `language`, or a custom field's name). Unmapped columns keep their name.
    pub mapping: BTreeMap<String, String>,
    /// Columns not sent at all.
    pub ignore: Vec<String>,
    /// Client settings.
    pub splio: SplioConfig,
    /// Datahub/SFTP settings (`--delivery sftp`).
    pub sftp: sftp::SftpSettings,
    /// Reading Directo (`--source directo`): its time zone and read timeout.
    pub directo: DirectoConfig,
}

/// The segment file's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// The key column (an email address per row).
    pub key_column: String,
}

impl Default for SourceConfig {
    fn default() -> Self {
        Self {
            key_column: "email".into(),
        }
    }
}

/// Client settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplioConfig {
    /// Retries of one request inside the client.
    pub retries: usize,
    /// First backoff delay of those retries.
    #[serde(with = "duration_str")]
    pub retry_delay: Duration,
    /// Keep to Splio's documented request rates (turn off only for a local fake).
    pub rate_limit: bool,
}

impl Default for SplioConfig {
    fn default() -> Self {
        Self {
            retries: 3,
            retry_delay: Duration::from_millis(500),
            rate_limit: true,
        }
    }
}

impl Config {
    /// Loads `path` (or the defaults), names the job `default_job` unless the file does, and
    /// checks it.
    pub fn load(path: Option<&Path>, default_job: &str) -> Result<Self, Error> {
        let mut config: Config = match path {
            Some(path) => sync_kit::config::load_toml(path)?,
            None => Config::default(),
        };
        config.job.default_name(default_job);
        config.job.validate()?;
        if config.source.key_column.trim().is_empty() {
            return Err(Error::Config("source.key_column must not be empty".into()));
        }
        config.check_mapping()?;
        config.directo.time_zone()?;
        Ok(config)
    }

    /// The checks of `[mapping]` that need no segment: no empty target, the key column not
    /// mapped (it always goes to `email`), nothing else mapped onto `email`, no two columns onto
    /// one attribute (both named).
    fn check_mapping(&self) -> Result<(), Error> {
        let key = self.source.key_column.as_str();
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for (column, target) in &self.mapping {
            if target.trim().is_empty() {
                return Err(Error::Config(format!(
                    "mapping.{column} is empty: name the Splio attribute the column goes to, or \
                     list the column in ignore"
                )));
            }
            if column == key {
                return Err(Error::Config(format!(
                    "mapping.{column}: {column:?} is the key column (source.key_column); it \
                     always goes to Splio's email and cannot be mapped"
                )));
            }
            if target == "email" {
                return Err(Error::Config(format!(
                    "mapping.{column} = \"email\": the email comes from the key column {key:?}; \
                     to key the segment by {column:?}, set source.key_column = {column:?}"
                )));
            }
            if let Some(first) = seen.insert(target.as_str(), column.as_str()) {
                return Err(Error::Config(format!(
                    "mapping: the columns {first:?} and {column:?} are both mapped to {target:?}"
                )));
            }
        }
        Ok(())
    }

    /// The Splio attribute a column goes to (`None`: not sent).
    pub(crate) fn target<'a>(&'a self, column: &'a str) -> Option<&'a str> {
        if column == self.source.key_column {
            return Some("email");
        }
        if self.ignore.iter().any(|c| c == column) {
            return None;
        }
        Some(self.mapping.get(column).map_or(column, String::as_str))
    }
}

/// How the clients of this sync write `creation_date` hours, and so the dry run's bodies.
pub(crate) const CREATION_DATE_HOUR: splio_client::CreationDateHour =
    splio_client::CreationDateHour::Unpadded;

pub(crate) fn tune(
    builder: splio_client::ClientBuilder,
    config: &SplioConfig,
) -> splio_client::ClientBuilder {
    let builder = builder.creation_date_hour(CREATION_DATE_HOUR);
    let builder = if config.rate_limit {
        builder
    } else {
        builder.rate_limit(splio_client::RateLimits::unlimited())
    };
    builder.retry(splio_client::RetryPolicy {
        max_retries: config.retries,
        min_delay: config.retry_delay,
        max_delay: config.retry_delay.saturating_mul(30),
        jitter: true,
    })
}

/// A client from `SPLIO_API_KEY` and `SPLIO_BASE_URL` (plain http only on loopback).
pub fn client_from_env(config: &SplioConfig) -> Result<splio_client::Client, Error> {
    let key = env::required("SPLIO_API_KEY", "the Splio API key")?;
    let mut builder = splio_client::Client::builder(splio_client::ApiKey::new(key));
    if let Some(base) = env::optional("SPLIO_BASE_URL") {
        let (url, allow_http) = env::base_url("SPLIO_BASE_URL", &base)?;
        builder = builder
            .base_url(url.as_str().trim_end_matches('/'))
            .allow_http(allow_http);
    }
    tune(builder, config)
        .build()
        .map_err(|e| Error::Config(format!("Splio client: {e}")))
}
