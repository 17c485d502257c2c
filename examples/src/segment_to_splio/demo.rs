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

/// Demo Directo customers for `--sandbox --source directo`.
pub const CUSTOMERS: usize = 3_000;

/// A Directo fake seeded with [`CUSTOMERS`] demo customers changed within the last 12 hours
/// (the same demo data as `directo-to-smaily --sandbox`).
pub async fn directo_customers(
    config: &crate::directo_to_smaily::DirectoConfig,
) -> Result<directo_client::fake::FakeDirecto, crate::Error> {
    let tz = config.time_zone()?;
    let fake = directo_client::fake::FakeDirecto::start().await;
    let now = jiff::Timestamp::now().to_zoned(tz).datetime();
    let customers = crate::directo_to_smaily::demo::customers(CUSTOMERS, now, 12 * 60);
    crate::directo_to_smaily::directo::seed(&fake, &customers);
    Ok(fake)
}

/// Seeds the Splio fake with every other demo Directo customer, so a sandbox run without
/// `--insert` has contacts to update.
pub fn seed_customers(fake: &splio_client::fake::FakeSplio) {
    for i in (0..CUSTOMERS).step_by(2) {
        fake.seed_contact(ContactData::with_email(format!("customer{i}@example.com")));
    }
}
