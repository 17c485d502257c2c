//! The Smaily side of the sandbox: what its fake holds, kept in the sandbox file and restored
//! from it. (The demo customers are [`crate::shared::demo_customers`].)

/// What the sandbox's Smaily fake holds, for the sandbox file: each subscriber's email, status
/// and fields.
pub fn smaily_state(fake: &smaily_client::fake::FakeSmaily) -> serde_json::Value {
    let subscribers: Vec<serde_json::Value> = fake
        .subscribers()
        .into_iter()
        .map(|s| {
            serde_json::json!({
                "email": s.email,
                "is_unsubscribed": s.is_unsubscribed,
                "fields": s.fields,
            })
        })
        .collect();
    serde_json::json!({ "subscribers": subscribers })
}

/// Puts what [`smaily_state`] saved into a fresh fake.
pub fn restore_smaily(fake: &smaily_client::fake::FakeSmaily, saved: &serde_json::Value) {
    let subscribers = saved["subscribers"].as_array().into_iter().flatten();
    fake.seed_subscribers(subscribers.filter_map(|s| {
        let mut sub = smaily_client::Subscriber::new(s["email"].as_str()?);
        sub.is_unsubscribed = s["is_unsubscribed"].as_bool();
        for (name, value) in s["fields"].as_object().into_iter().flatten() {
            sub = sub.field(
                smaily_client::FieldName::new(name).ok()?,
                value.as_str().unwrap_or_default(),
            );
        }
        Some(sub)
    }));
}

#[cfg(test)]
mod tests {
    use jiff::civil::DateTime;
    use sync_kit::Verdict;

    use crate::directo_to_smaily::{Config, prepare};
    use crate::shared::demo_customers::{DemoCustomer, customers, deliverable};
    use crate::shared::directo::CustomerFields;

    impl CustomerFields for DemoCustomer {
        fn attr(&self, name: &str) -> Option<&str> {
            DemoCustomer::attr(self, name)
        }
        fn datafield(&self, code: &str) -> Option<&str> {
            self.datafields
                .iter()
                .find(|(k, _)| k == code)
                .map(|(_, v)| v.as_str())
        }
        fn changed_at(&self) -> Option<DateTime> {
            self.attr("ts").and_then(|t| t.parse().ok())
        }
    }

    #[test]
    fn demo_data_has_the_advertised_mix() {
        let now: DateTime = "2026-01-10T12:00:00".parse().unwrap();
        let all = customers(1000, now, 600);
        let config = Config::default();
        let sent = all
            .iter()
            .filter(|c| matches!(prepare(&config, *c).verdict, Verdict::Send(_)))
            .count();
        assert_eq!(sent, deliverable(1000));
        assert_eq!(1000 - sent, 80);
        assert!(all.iter().all(|c| {
            let ts = c.changed_at().unwrap();
            ts < now
                && ts
                    > now
                        .checked_sub(jiff::SignedDuration::from_hours(11))
                        .unwrap()
        }));
    }
}
