//! The sandbox: a demo segment (a few thousand rows, some bad) and a Splio fake that already
//! holds half of its contacts.

use serde_json::Value;
use splio_client::{ContactData, FieldType};

use crate::messaging::input::Row;

/// Rows in the demo segment.
pub const RECORDS: usize = 3_000;

/// The demo segment: `email,firstname,lastname,tier,score`; every 50th row has a broken email.
pub fn segment(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let email = if i % 50 == 7 {
                format!("member{i}-at-example.com")
            } else {
                format!("member{i}@example.com")
            };
            let fields = [
                ("email", email),
                ("firstname", format!("Member{i}")),
                ("lastname", "Demo".to_owned()),
                ("tier", ["gold", "silver", "bronze"][i % 3].to_owned()),
                ("score", (i % 100).to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v)))
            .collect();
            Row {
                position: format!("demo {i}"),
                fields: Ok(fields),
            }
        })
        .collect()
}

/// Seeds the fake: the custom fields `tier` and `score`, and every other demo member.
pub fn seed(fake: &splio_client::fake::FakeSplio) {
    fake.seed_field("tier", FieldType::Text);
    fake.seed_field("score", FieldType::Text);
    for i in (0..RECORDS).step_by(2) {
        fake.seed_contact(ContactData::with_email(format!("member{i}@example.com")));
    }
}
