//! Demo data for `--sandbox`: a few thousand records with some bad ones mixed in (about one
//! in fifty), so the summary shows filtering as well as delivery.

use serde_json::{Map, Value};

use sync_kit::input::Row;

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
#[cfg(feature = "sandbox")]
pub fn seed(fake: &messaging_client::fake::FakeMessaging) {
    fake.seed_unsubscribed((0..20).map(|i| format!("unsubscribed{i}@example.com")));
}

/// What the fake holds, for the sandbox file: orders, contacts, the unsubscribed list and the
/// sent messages' statuses (events are not kept: nothing reads them back).
#[cfg(feature = "sandbox")]
pub fn state(fake: &messaging_client::fake::FakeMessaging) -> Value {
    serde_json::json!({
        "orders": fake.orders().into_values().collect::<Vec<_>>(),
        "contacts": fake.contacts().into_values().collect::<Vec<_>>(),
        "unsubscribed": fake.unsubscribed(),
        "statuses": fake.message_statuses(),
    })
}

/// Puts what [`state`] saved into a fresh fake.
#[cfg(feature = "sandbox")]
pub fn restore(fake: &messaging_client::fake::FakeMessaging, saved: &Value) {
    let list = |name: &str| saved[name].as_array().cloned().unwrap_or_default();
    for order in list("orders") {
        fake.seed_order(order);
    }
    for contact in list("contacts") {
        fake.seed_contact(contact);
    }
    fake.seed_unsubscribed(
        list("unsubscribed")
            .iter()
            .filter_map(|e| e.as_str().map(str::to_owned)),
    );
    for (request_id, status) in saved["statuses"].as_object().into_iter().flatten() {
        let status = status.as_str().unwrap_or_default();
        fake.set_message_status(request_id, status, status == "DELIVERED", false);
    }
}

/// How many demo invoices the `directo-orders` sandbox seeds.
pub const INVOICES: usize = 500;

/// `n` demo Directo invoices changed within the hour before `now` (Directo local time), and
/// the receipts paying some of them, as records for the Directo fake. Of every 50 invoices:
/// one has no email, one a total that is not a number, one a number that is not a number; a
/// third of the rest are paid in full, one in ten half paid.
pub fn invoices(
    n: usize,
    now: jiff::civil::DateTime,
) -> (Vec<directo_client::Record>, Vec<directo_client::Record>) {
    use directo_client::{Invoice, InvoiceRow, Receipt, ReceiptRow, ToRecord};
    let ts = |i: usize| {
        now.checked_sub(jiff::SignedDuration::from_secs(60 + (i as i64 * 7) % 3600))
            .unwrap_or(now)
    };
    let mut invoices = Vec::with_capacity(n);
    let mut receipts = Vec::new();
    for i in 0..n {
        let number = 100_000 + i as i64;
        let quantity: rust_decimal::Decimal =
            ["1", "2", "0.5", "3.25"][i % 4].parse().unwrap_or_default();
        let price = rust_decimal::Decimal::new(1000 + (i as i64 % 90) * 10, 2);
        let total = (quantity * price).round_dp(2);
        let mut invoice = Invoice {
            number: Some(number),
            customercode: Some(format!("C{:06}", i % 1000 + 1)),
            customername: Some(format!("Customer {i}")),
            date: Some(now.date()),
            currency: Some("EUR".into()),
            email: (i % 50 != 7).then(|| format!("customer{}@example.com", i % 1000)),
            ts: Some(ts(i)),
            rows: vec![InvoiceRow {
                item: Some(format!("SKU-{}", i % 40)),
                description: Some(format!("Product {}", i % 40)),
                quantity: Some(quantity),
                price: Some(price),
                ..Default::default()
            }],
            ..Default::default()
        };
        let total_text = if i % 50 == 13 {
            "n/a".to_owned()
        } else {
            total.to_string()
        };
        invoice.extra.insert("total".into(), total_text);
        if i % 50 == 29 {
            invoice.number = None;
            invoice.extra.insert("number".into(), format!("X-{i}"));
        }
        let received = match i % 10 {
            0 | 3 | 6 => Some(total),
            9 => Some((total / rust_decimal::Decimal::TWO).round_dp(2)),
            _ => None,
        };
        if let Some(received) = received
            && invoice.number.is_some()
        {
            receipts.push(
                Receipt {
                    number: Some(500_000 + i as i64),
                    confirmed: Some(true),
                    ts: Some(ts(i)),
                    rows: vec![ReceiptRow {
                        invoice: Some(number),
                        received: Some(received),
                        ..Default::default()
                    }],
                    ..Default::default()
                }
                .to_output_record(),
            );
        }
        invoices.push(invoice.to_output_record());
    }
    (invoices, receipts)
}

#[cfg(feature = "sandbox")]
use super::config::{ClientConfig, tune};
#[cfg(feature = "sandbox")]
use sync_kit::Error;
#[cfg(feature = "sandbox")]
use sync_kit::sandbox::SandboxFile;
#[cfg(feature = "sandbox")]
use sync_kit::summary::count;

/// The messaging sandbox (`--sandbox`): the fake, holding what the sandbox file beside
/// `--state` says (else the demo data), and a client pointing at it.
#[cfg(feature = "sandbox")]
#[derive(Debug)]
pub struct Sandbox {
    /// The fake.
    pub fake: messaging_client::fake::FakeMessaging,
    /// The Directo fake `directo-orders` reads (counted in the closing line).
    pub directo: Option<directo_client::fake::FakeDirecto>,
    file: SandboxFile,
}

#[cfg(feature = "sandbox")]
impl Sandbox {
    /// Starts the fake, restored from `file`, and a client for it.
    pub async fn start(
        file: SandboxFile,
        config: &ClientConfig,
    ) -> Result<(Sandbox, messaging_client::Client), Error> {
        use messaging_client::fake::FakeService as _;
        let fake = messaging_client::fake::FakeMessaging::start().await;
        match file.section("messaging") {
            Some(saved) => restore(&fake, saved),
            None => seed(&fake),
        }
        let client = tune(
            messaging_client::Client::builder(fake.credentials())
                .base_url(fake.base_url())
                .allow_http(true),
            config,
        )
        .build()
        .map_err(|e| Error::Config(format!("messaging client: {e}")))?;
        let sandbox = Sandbox {
            fake,
            directo: None,
            file,
        };
        Ok((sandbox, client))
    }

    /// When the demo data was made (the same on every run that keeps its state).
    pub fn demo_time(&self) -> jiff::Timestamp {
        self.file.demo_time()
    }
}

#[cfg(feature = "sandbox")]
impl crate::shared::sandbox::Fakes for Sandbox {
    /// Saves what the fake holds beside the state file (a warning if that fails).
    fn save(&self) {
        if let Err(e) = self.file.save([("messaging", state(&self.fake))]) {
            tracing::warn!("sandbox state not kept: {}", e.one_line());
        }
    }

    /// The closing line: what the fake holds, and the requests the fakes saw.
    fn closing_line(&self) -> String {
        use messaging_client::fake::FakeService as _;
        let fake = &self.fake;
        let directo = self.directo.as_ref();
        let directo_requests = directo.map(|d| {
            count(
                directo_client::fake::FakeService::request_count(d),
                "Directo request",
            )
        });
        let requests: Vec<String> = directo_requests
            .into_iter()
            .chain([count(fake.requests().len() as u64, "messaging request")])
            .collect();
        crate::shared::sandbox::closing_line(
            "messaging",
            &[
                count(fake.orders().len() as u64, "order"),
                count(fake.contacts().len() as u64, "contact"),
                count(fake.message_statuses().len() as u64, "sent message"),
            ],
            &requests,
        )
    }
}
