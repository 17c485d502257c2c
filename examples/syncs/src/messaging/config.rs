//! The TOML config of the file pushes, and the messaging client it sets up.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::orders;
use sync_kit::config::duration_str;
use sync_kit::{Error, JobConfig, env};

/// The TOML config of the file pushes (`--config`): the job and the client settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Batch size, concurrency, retry schedule (the job name defaults to the command's).
    pub job: JobConfig,
    /// Client settings.
    pub messaging: ClientConfig,
}

/// Client settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// The zone order dates without an offset are read in (default UTC).
    pub time_zone: String,
    /// Retries of one request inside the client (idempotent requests, or ones that provably
    /// did not arrive).
    pub retries: usize,
    /// First backoff delay of those retries.
    #[serde(with = "duration_str")]
    pub retry_delay: Duration,
    /// Timeout of one request.
    #[serde(with = "duration_str")]
    pub timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            time_zone: "UTC".into(),
            retries: 3,
            retry_delay: Duration::from_millis(500),
            timeout: Duration::from_secs(60),
        }
    }
}

impl Config {
    /// Loads `path` (or the defaults), names the job `default_job` unless the file does.
    pub fn load(path: Option<&std::path::Path>, default_job: &str) -> Result<Self, Error> {
        let mut config: Config = match path {
            Some(path) => sync_kit::config::load_toml(path)?,
            None => Config::default(),
        };
        config.job.default_name(default_job);
        config.job.validate()?;
        config.time_zone()?;
        Ok(config)
    }

    /// The zone of `messaging.time_zone`.
    pub fn time_zone(&self) -> Result<jiff::tz::TimeZone, Error> {
        jiff::tz::TimeZone::get(&self.messaging.time_zone).map_err(|e| {
            Error::Config(format!(
                "messaging.time_zone = {:?}: {e}",
                self.messaging.time_zone
            ))
        })
    }
}

/// A client from `MESSAGING_API_KEY` and `MESSAGING_BASE_URL` (plain http only on loopback).
pub fn client_from_env(config: &ClientConfig) -> Result<messaging_client::Client, Error> {
    let key = env::required("MESSAGING_API_KEY", "the messaging API key")?;
    let mut builder = messaging_client::Client::builder(messaging_client::ApiKey::new(key));
    if let Some(base) = env::optional("MESSAGING_BASE_URL") {
        let (url, allow_http) = env::base_url("MESSAGING_BASE_URL", &base)?;
        builder = builder
            .base_url(url.as_str().trim_end_matches('/'))
            .allow_http(allow_http);
    }
    tune(builder, config)
        .build()
        .map_err(|e| Error::Config(format!("messaging client: {e}")))
}

pub(crate) fn tune(
    builder: messaging_client::ClientBuilder,
    config: &ClientConfig,
) -> messaging_client::ClientBuilder {
    builder
        .timeout(config.timeout)
        .order_retry(orders::ORDER_RETRY)
        .retry(messaging_client::RetryPolicy {
            max_retries: config.retries,
            min_delay: config.retry_delay,
            max_delay: config.retry_delay.saturating_mul(30),
            jitter: true,
        })
}
