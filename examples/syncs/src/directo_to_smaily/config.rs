//! The TOML config of `directo-to-smaily`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::shared::directo::DirectoConfig;
use sync_kit::email::MultipleEmails;
use sync_kit::{Error, JobConfig};

/// The job's name in the state file unless the config says otherwise.
pub const JOB_NAME: &str = "directo-to-smaily";

/// The whole TOML config of `directo-to-smaily`. Every table and key is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Pipeline settings: batch size, concurrency, watermark overlap, retry schedule.
    pub job: JobConfig,
    /// Reading Directo.
    pub directo: DirectoConfig,
    /// Writing Smaily.
    pub smaily: SmailyConfig,
    /// Which addresses to use.
    pub emails: EmailConfig,
    /// Directo customer fields → Smaily subscriber fields.
    pub mapping: Mapping,
    /// Also unsubscribe in Smaily the customers closed in Directo (`closed=1`): they are sent
    /// with `is_unsubscribed: 1`. Off by default (the template treats closed customers like any
    /// other).
    pub unsubscribe_closed: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            job: JobConfig {
                batch_size: 500,
                ..JobConfig::named(JOB_NAME)
            },
            directo: DirectoConfig::default(),
            smaily: SmailyConfig::default(),
            emails: EmailConfig::default(),
            mapping: Mapping::default(),
            unsubscribe_closed: false,
        }
    }
}

/// The `[smaily]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmailyConfig {
    /// Requests per second (Smaily documents 5 per IP); 0 turns the limiter off.
    pub requests_per_second: u32,
    /// How often the client retries one request on a transient error (connect, timeout, 429,
    /// 5xx, code 205) before the record counts as a failed attempt.
    pub transport_retries: usize,
    /// First backoff delay of those retries (exponential with jitter, `Retry-After` honoured).
    #[serde(with = "sync_kit::config::duration_str")]
    pub transport_retry_delay: std::time::Duration,
}

impl Default for SmailyConfig {
    fn default() -> Self {
        Self {
            requests_per_second: 5,
            transport_retries: 4,
            transport_retry_delay: std::time::Duration::from_secs(1),
        }
    }
}

/// The `[emails]` table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// When the email field holds several addresses: `"first"` (default) or `"all"` (one
    /// subscriber per address).
    pub multiple: MultipleEmails,
}

/// The `[mapping]` table: `email` is always sent; these add subscriber fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mapping {
    /// Directo customer attribute → Smaily field, e.g. `name = "name"`, `code = "directo_code"`.
    pub fields: BTreeMap<String, String>,
    /// Directo extra field (datafield) code → Smaily field, e.g. `LOYALTY = "loyalty_level"`.
    pub datafields: BTreeMap<String, String>,
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            fields: BTreeMap::from([
                ("code".into(), "directo_code".into()),
                ("name".into(), "name".into()),
            ]),
            datafields: BTreeMap::new(),
        }
    }
}

const RESERVED: &[&str] = &["email", "is_unsubscribed", "is_deleted"];

/// The attributes of a customer in Directo's customer export (`ws_kliendid.xsd`, the output
/// schema: what a read returns), as directo-client's `Customer` declares them (`io` and
/// `output`, plus the output name `vatregion`). A `[mapping.fields]` key must be one of them;
/// the test below checks each against `Customer`.
pub const CUSTOMER_ATTRIBUTES: &[&str] = &[
    "code",
    "name",
    "object",
    "address1",
    "address2",
    "address3",
    "deliveryaddress1",
    "deliveryaddress2",
    "deliveryaddress3",
    "county",
    "country",
    "contact",
    "phone",
    "email",
    "regno",
    "vatregno",
    "class",
    "loyaltycard",
    "comment",
    "payterm",
    "vatzone",
    "vatregion",
    "salesman",
    "creditlimit",
    "priceformula",
    "specialpriceformula",
    "discount",
    "deliveryinvoice",
    "currency",
    "closed",
    "balance",
    "creditbalance",
    "ts",
];

impl Config {
    /// Reads and checks the config file.
    pub fn load(path: &std::path::Path) -> Result<Self, Error> {
        let mut config: Config = sync_kit::config::load_toml(path)?;
        config.job.default_name(JOB_NAME);
        config.validate()?;
        Ok(config)
    }

    /// Checks the config: job settings, time zone, and Smaily field names (`[a-z0-9_]+`, not
    /// reserved, not mapped twice).
    pub fn validate(&self) -> Result<(), Error> {
        self.job.validate()?;
        self.time_zone()?;
        for from in self.mapping.fields.keys() {
            if !CUSTOMER_ATTRIBUTES.contains(&from.to_ascii_lowercase().as_str()) {
                return Err(Error::Config(format!(
                    "mapping.fields.{from}: Directo's customer export has no attribute \
                     {from:?}{}; an extra field (<datafields>) goes under [mapping.datafields] \
                     by its code",
                    crate::segment_to_splio::checks::nearest(
                        from,
                        CUSTOMER_ATTRIBUTES.iter().copied()
                    )
                )));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        let targets = self
            .mapping
            .fields
            .iter()
            .map(|(from, to)| (format!("mapping.fields.{from}"), to))
            .chain(
                self.mapping
                    .datafields
                    .iter()
                    .map(|(from, to)| (format!("mapping.datafields.{from}"), to)),
            );
        for (key, to) in targets {
            if to.is_empty()
                || !to
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(Error::Config(format!(
                    "{key} = {to:?}: Smaily field names must be lower-case letters, digits and _"
                )));
            }
            if RESERVED.contains(&to.as_str()) {
                return Err(Error::Config(format!(
                    "{key} = {to:?}: {to} is reserved (email is always sent; use unsubscribe_closed for is_unsubscribed)"
                )));
            }
            if !seen.insert(to.clone()) {
                return Err(Error::Config(format!(
                    "{key} = {to:?}: Smaily field {to} is mapped twice"
                )));
            }
        }
        Ok(())
    }

    /// The configured Directo time zone.
    pub fn time_zone(&self) -> Result<jiff::tz::TimeZone, Error> {
        self.directo.time_zone()
    }
}

#[cfg(test)]
mod attributes {
    use directo_client::{Customer, FromRecord};

    #[test]
    fn every_listed_attribute_is_one_directo_client_knows() {
        for name in super::CUSTOMER_ATTRIBUTES {
            let mut customer = Customer::start("customer");
            // A value that fits no typed field still proves the name is known (an error).
            let known = customer.attr(name, "1".into()).is_err() || customer.extra.is_empty();
            assert!(
                known,
                "{name} is not an attribute of directo-client's Customer"
            );
        }
        let mut customer = Customer::start("customer");
        customer.attr("phnoe", "1".into()).unwrap();
        assert!(
            !customer.extra.is_empty(),
            "an unknown attribute lands in extra"
        );
    }
}

#[cfg(test)]
mod shipped_config {
    #[test]
    fn the_example_config_is_the_default() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/directo-to-smaily.toml");
        let config = super::Config::load(std::path::Path::new(path)).unwrap();
        let mut default = super::Config::default();
        default.job.default_name(super::JOB_NAME);
        assert_eq!(config, default);
    }
}
