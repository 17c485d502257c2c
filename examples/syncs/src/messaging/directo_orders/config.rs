//! The TOML config of `directo-orders`.

use std::path::Path;
use std::time::Duration;

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::JOB_NAME;
use crate::messaging::ClientConfig;
use crate::shared::directo::DirectoConfig;
use sync_kit::config::duration_str;
use sync_kit::{Error, JobConfig};

/// The TOML config of `directo-orders` (`--config`). Every table and key is optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Batch size, concurrency, watermark overlap, retry schedule.
    pub job: JobConfig,
    /// Reading Directo: its time zone (of `ts` and invoice dates) and read timeout.
    pub directo: DirectoConfig,
    /// The messaging client.
    pub messaging: ClientConfig,
    /// How invoices become orders.
    pub invoices: InvoiceRules,
}

/// The `[invoices]` table: where the total is, and when an invoice counts as paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InvoiceRules {
    /// Invoice attributes holding the total, first present wins. The reference documents no
    /// total attribute on invoice reads, so this is configurable.
    pub total_attributes: Vec<String>,
    /// Without any of those attributes, use the sum of the rows' `quantity × price`.
    pub total_from_rows: bool,
    /// An invoice attribute holding the open balance (e.g. `"balance"`); when configured and
    /// present, the invoice is paid when it is zero or less, whatever the receipts say.
    pub balance_attribute: Option<String>,
    /// How far before the first run's start point receipts are read (later runs read only the
    /// receipts changed since the watermark; the state keeps the others), so payments made in
    /// several parts over time add up. Receipts last changed longer ago than this before a
    /// run's start point stop counting.
    #[serde(with = "duration_str")]
    pub receipts_lookback: Duration,
    /// Also read (by `number=`) invoices that receipts changed in this run refer to, when the
    /// invoice itself did not change (an old invoice paid now).
    pub reread_paid: bool,
    /// The currency of invoices that carry none.
    pub default_currency: String,
}

impl Default for InvoiceRules {
    fn default() -> Self {
        Self {
            total_attributes: vec!["total".into(), "sum".into()],
            total_from_rows: true,
            balance_attribute: None,
            receipts_lookback: Duration::from_secs(90 * 24 * 3600),
            reread_paid: true,
            default_currency: "EUR".into(),
        }
    }
}

impl Config {
    /// Loads `path` (or the defaults) and checks it.
    pub fn load(path: Option<&Path>) -> Result<Self, Error> {
        let mut config: Config = match path {
            Some(path) => sync_kit::config::load_toml(path)?,
            None => Config::default(),
        };
        config.job.default_name(JOB_NAME);
        config.job.validate()?;
        config.time_zone()?;
        // `[messaging]` is shared with the file pushes; its time_zone reads their order dates.
        // Invoice dates here are read in directo.time_zone, so a zone set there is refused
        // rather than ignored.
        if config.messaging.time_zone != ClientConfig::default().time_zone {
            return Err(Error::Config(format!(
                "messaging.time_zone = {:?} is not used by directo-orders: invoice dates and ts \
                 are read in directo.time_zone ({:?}); remove the key or set it there",
                config.messaging.time_zone, config.directo.time_zone
            )));
        }
        if config.invoices.default_currency.trim().is_empty() {
            return Err(Error::Config(
                "invoices.default_currency must not be empty".into(),
            ));
        }
        Ok(config)
    }

    /// The zone of Directo's `ts` values and invoice dates.
    pub fn time_zone(&self) -> Result<TimeZone, Error> {
        self.directo.time_zone()
    }
}

#[cfg(test)]
mod shipped_config {
    #[test]
    fn the_example_config_is_the_default() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/directo-orders.toml");
        let config = super::Config::load(Some(std::path::Path::new(path))).unwrap();
        let mut default = super::Config::default();
        default.job.default_name(super::super::JOB_NAME);
        assert_eq!(config, default);
    }
}

#[cfg(test)]
mod unused_keys {
    #[test]
    fn a_messaging_time_zone_is_refused_as_directo_orders_reads_dates_in_directo_time_zone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[messaging]\ntime_zone = \"Europe/Tallinn\"\n").unwrap();
        let error = super::Config::load(Some(&path)).unwrap_err().to_string();
        assert!(error.contains("messaging.time_zone"), "{error}");
        assert!(error.contains("directo.time_zone"), "{error}");
        // The default (the shipped file writes it out) stays accepted.
        std::fs::write(&path, "[messaging]\ntime_zone = \"UTC\"\n").unwrap();
        super::Config::load(Some(&path)).unwrap();
    }
}
