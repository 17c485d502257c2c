//! The job's config and the customer → subscriber mapping (the template's filter and field map).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use sync_kit::email::{self, MultipleEmails};
use sync_kit::{Error, Item, JobConfig, SourceRecord, Verdict};

use crate::shared::directo::{CustomerFields, DirectoConfig};

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

/// Applies the template's filter and the field mapping to one customer.
pub fn prepare<C: CustomerFields + ?Sized>(config: &Config, customer: &C) -> SourceRecord {
    let id = customer.id();
    let watermark = customer.changed_at();
    let raw_email = customer.attr("email").unwrap_or("");
    let addresses = match email::extract(raw_email, config.emails.multiple) {
        Ok(addresses) => addresses,
        Err(reason) => {
            return SourceRecord {
                id,
                watermark,
                verdict: Verdict::Reject(reason),
            };
        }
    };
    let mut common = Map::new();
    for (from, to) in &config.mapping.fields {
        if let Some(value) = customer.attr(from).filter(|v| !v.is_empty()) {
            common.insert(to.clone(), Value::String(value.to_owned()));
        }
    }
    for (code, to) in &config.mapping.datafields {
        if let Some(value) = customer.datafield(code).filter(|v| !v.is_empty()) {
            common.insert(to.clone(), Value::String(value.to_owned()));
        }
    }
    let closed = customer.attr("closed").is_some_and(|c| c.trim() == "1");
    if config.unsubscribe_closed && closed {
        common.insert("is_unsubscribed".into(), Value::from(1));
    }
    let items = addresses
        .into_iter()
        .map(|address| {
            let mut fields = Map::with_capacity(common.len() + 1);
            fields.insert("email".into(), Value::String(address.clone()));
            fields.extend(common.clone());
            Item {
                key: email::key(&address),
                fields,
            }
        })
        .collect();
    SourceRecord {
        id,
        watermark,
        verdict: Verdict::Send(items),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Fake(
        Vec<(&'static str, &'static str)>,
        Vec<(&'static str, &'static str)>,
    );

    impl CustomerFields for Fake {
        fn attr(&self, name: &str) -> Option<&str> {
            self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
        }
        fn datafield(&self, code: &str) -> Option<&str> {
            self.1.iter().find(|(k, _)| *k == code).map(|(_, v)| *v)
        }
        fn changed_at(&self) -> Option<jiff::civil::DateTime> {
            self.attr("ts").and_then(|t| t.parse().ok())
        }
    }

    fn items(record: SourceRecord) -> Vec<Value> {
        match record.verdict {
            Verdict::Send(items) => items.into_iter().map(|i| Value::Object(i.fields)).collect(),
            other => panic!("not sent: {other:?}"),
        }
    }

    #[test]
    fn default_mapping_sends_email_name_and_code() {
        let customer = Fake(
            vec![
                ("code", "C1"),
                ("name", "Test OÜ"),
                ("email", "Test@Example.com"),
                ("phone", "+372"),
                ("ts", "2024-01-15T10:30:00"),
            ],
            vec![],
        );
        let record = prepare(&Config::default(), &customer);
        assert_eq!(record.id, "C1");
        assert_eq!(record.watermark.unwrap().to_string(), "2024-01-15T10:30:00");
        assert_eq!(
            items(record),
            vec![json!({"email": "Test@Example.com", "name": "Test OÜ", "directo_code": "C1"})]
        );
    }

    #[test]
    fn invalid_or_missing_email_is_rejected_with_a_reason() {
        let config = Config::default();
        let record = prepare(&config, &Fake(vec![("code", "C2")], vec![]));
        assert_eq!(record.verdict, Verdict::Reject("no email".into()));
        let record = prepare(
            &config,
            &Fake(vec![("code", "C3"), ("email", "x at y")], vec![]),
        );
        assert!(
            matches!(record.verdict, Verdict::Reject(ref r) if r == "email contains whitespace: \"x at y\"")
        );
    }

    #[test]
    fn several_addresses_first_or_all_and_datafields_and_closed() {
        let mut config = Config::default();
        config
            .mapping
            .datafields
            .insert("LOYALTY".into(), "loyalty".into());
        config.emails.multiple = MultipleEmails::All;
        config.unsubscribe_closed = true;
        let customer = Fake(
            vec![
                ("code", "C4"),
                ("email", "a@example.com; b@example.com"),
                ("closed", "1"),
            ],
            vec![("LOYALTY", "gold"), ("OTHER", "x")],
        );
        let sent = items(prepare(&config, &customer));
        assert_eq!(
            sent,
            vec![
                json!({"email": "a@example.com", "directo_code": "C4", "loyalty": "gold", "is_unsubscribed": 1}),
                json!({"email": "b@example.com", "directo_code": "C4", "loyalty": "gold", "is_unsubscribed": 1}),
            ]
        );
        config.emails.multiple = MultipleEmails::First;
        config.unsubscribe_closed = false;
        let sent = items(prepare(&config, &customer));
        assert_eq!(
            sent,
            vec![json!({"email": "a@example.com", "directo_code": "C4", "loyalty": "gold"})]
        );
    }

    #[test]
    fn config_parses_and_validates_field_names() {
        let mut config: Config = sync_kit::config::parse_toml(
            r#"
unsubscribe_closed = true
[job]
batch_size = 200
[job.retry]
attempts = 5
delay = "30s"
[emails]
multiple = "all"
[mapping.fields]
name = "name"
code = "customer_code"
[mapping.datafields]
LOYALTY = "loyalty"
"#,
        )
        .unwrap();
        config.job.default_name(JOB_NAME);
        config.validate().unwrap();
        assert_eq!(config.job.name, JOB_NAME);
        assert_eq!(config.job.batch_size, 200);
        assert_eq!(config.emails.multiple, MultipleEmails::All);
        assert_eq!(config.mapping.fields["code"], "customer_code");

        for bad in [
            "[mapping.fields]\nname = \"First Name\"\n",
            "[mapping.fields]\nname = \"email\"\n",
            "[mapping.fields]\nname = \"x\"\ncode = \"x\"\n",
            "[directo]\ntime_zone = \"Mars/Olympus\"\n",
        ] {
            let mut config: Config = sync_kit::config::parse_toml(bad).unwrap();
            config.job.default_name(JOB_NAME);
            assert!(config.validate().is_err(), "{bad}");
        }
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
