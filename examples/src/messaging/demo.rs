//! Demo data for `--sandbox`: a few thousand records with some bad ones mixed in (about one
//! in fifty), so the summary shows filtering as well as delivery.

use serde_json::{Map, Value};

use super::input::Row;

/// How many demo records a sandbox push reads.
pub const RECORDS: usize = 3_000;

fn row(n: usize, pairs: Vec<(&str, String)>) -> Row {
    let fields: Map<String, Value> = pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v)))
        .collect();
    Row {
        position: format!("demo {n}"),
        fields: Ok(fields),
    }
}

fn bad(n: usize) -> bool {
    n % 50 == 7
}

/// `n` demo orders; every 50th has an invalid amount or email.
pub fn orders(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let status = ["DELIVERED", "INITIALIZED", "IN_PROGRESS", "CANCELLED"][i % 4];
            let total = if bad(i) {
                "n/a".to_owned()
            } else {
                format!("{}.{:02}", 10 + i % 90, i % 100)
            };
            let email = if i % 50 == 13 {
                format!("customer{i}.example.com")
            } else {
                format!("customer{}@example.com", i % 1000)
            };
            row(
                i,
                vec![
                    ("externalOrderId", format!("DEMO-{i:05}")),
                    ("externalCustomerId", format!("C{}", i % 1000)),
                    ("email", email),
                    ("status", status.into()),
                    ("totalCost", total),
                    ("currency", "EUR".into()),
                    (
                        "date",
                        format!("2024-{:02}-{:02}T12:00:00+02:00", 1 + i % 12, 1 + i % 28),
                    ),
                ],
            )
        })
        .collect()
}

/// `n` demo contacts; every 50th has a broken email or a Gender outside the catalog's list.
pub fn contacts(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let email = if bad(i) {
                format!("contact{i}@")
            } else {
                format!("contact{i}@example.com")
            };
            let gender = if i % 50 == 13 {
                "X"
            } else if i % 2 == 0 {
                "F"
            } else {
                "M"
            };
            row(
                i,
                vec![
                    ("email", email),
                    ("firstName", format!("Demo{i}")),
                    ("Gender", gender.into()),
                    (
                        "Birthday",
                        format!("19{:02}-{:02}-{:02}", 50 + i % 50, 1 + i % 12, 1 + i % 28),
                    ),
                ],
            )
        })
        .collect()
}

/// `n` demo recipients with a `discount` parameter; every 50th has a broken email.
pub fn recipients(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let email = if bad(i) {
                format!("recipient{i} at example.com")
            } else {
                format!("recipient{i}@example.com")
            };
            row(
                i,
                vec![("email", email), ("discount", format!("{}%", 5 + i % 20))],
            )
        })
        .collect()
}

/// Seeds the fake for the one-shot commands (a few unsubscribed addresses).
pub fn seed(fake: &messaging_client::fake::FakeMessaging) {
    fake.seed_unsubscribed((0..20).map(|i| format!("unsubscribed{i}@example.com")));
}
