//! The customer → subscriber mapping (the template's filter and field map).

use serde_json::{Map, Value};

use super::Config;
use crate::shared::directo::CustomerFields;
use sync_kit::email;
use sync_kit::{Item, SourceRecord, Verdict};

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
    // A mapped attribute the customer does not have (or has empty) is kept as "": the sink
    // sends it (a clear) only to a subscriber whose last delivery held a value.
    for (from, to) in &config.mapping.fields {
        let value = customer.attr(from).unwrap_or("");
        common.insert(to.clone(), Value::String(value.to_owned()));
    }
    for (code, to) in &config.mapping.datafields {
        let value = customer.datafield(code).unwrap_or("");
        common.insert(to.clone(), Value::String(value.to_owned()));
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
    use crate::directo_to_smaily::JOB_NAME;
    use serde_json::json;
    use sync_kit::email::MultipleEmails;

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
                // The customer has no name: kept empty, for the sink to clear it in Smaily
                // when the last delivery held one (issue 20 point 4).
                json!({"email": "a@example.com", "directo_code": "C4", "loyalty": "gold", "name": "", "is_unsubscribed": 1}),
                json!({"email": "b@example.com", "directo_code": "C4", "loyalty": "gold", "name": "", "is_unsubscribed": 1}),
            ]
        );
        config.emails.multiple = MultipleEmails::First;
        config.unsubscribe_closed = false;
        let sent = items(prepare(&config, &customer));
        assert_eq!(
            sent,
            vec![
                json!({"email": "a@example.com", "directo_code": "C4", "loyalty": "gold", "name": ""})
            ]
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
