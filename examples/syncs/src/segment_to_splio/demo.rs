//! The sandbox: a demo segment (a few thousand rows, some bad), a Splio fake with the custom
//! fields the demo and the guide's examples use that already holds half of the demo contacts,
//! and what the fake holds saved for the next sandbox run.

use serde_json::Value;
#[cfg(feature = "sandbox")]
use serde_json::json;
#[cfg(feature = "sandbox")]
use splio_client::fake::FakeService as _;
#[cfg(feature = "sandbox")]
use splio_client::{ContactData, CustomFieldValue, FieldType};

use sync_kit::input::Row;

/// Rows in the demo segment.
pub const RECORDS: usize = 3_000;

/// The custom fields of the sandbox's Splio: `tier` and `score` (the demo segment, and the
/// `LOYALTY` datafield of the demo Directo customers mapped to `tier`) and `ltv` (the guide's
/// `[mapping]` example).
pub const CUSTOM_FIELDS: &[&str] = &["tier", "score", "ltv"];

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

/// Creates the sandbox's [`CUSTOM_FIELDS`] (always in this order, so their ids stay the same
/// from run to run).
#[cfg(feature = "sandbox")]
pub fn seed_fields(fake: &splio_client::fake::FakeSplio) {
    for name in CUSTOM_FIELDS {
        fake.seed_field(name, FieldType::Text);
    }
}

/// Seeds the fake with every other demo member.
#[cfg(feature = "sandbox")]
pub fn seed(fake: &splio_client::fake::FakeSplio) {
    for i in (0..RECORDS).step_by(2) {
        fake.seed_contact(ContactData::with_email(format!("member{i}@example.com")));
    }
}

/// Demo Directo customers for `--sandbox --source directo`.
pub const CUSTOMERS: usize = 3_000;

/// A Directo fake seeded with [`CUSTOMERS`] demo customers changed within the 12 hours before
/// `demo_time` (the same demo data as `directo-to-smaily --sandbox`).
#[cfg(feature = "sandbox")]
pub async fn directo_customers(
    config: &crate::shared::directo::DirectoConfig,
    demo_time: jiff::Timestamp,
) -> Result<directo_client::fake::FakeDirecto, sync_kit::Error> {
    let tz = config.time_zone()?;
    let fake = directo_client::fake::FakeDirecto::start().await;
    let now = demo_time.to_zoned(tz).datetime();
    let customers = crate::shared::demo_customers::customers(CUSTOMERS, now, 12 * 60);
    crate::shared::directo::seed(&fake, &customers);
    Ok(fake)
}

/// Seeds the Splio fake with every other demo Directo customer, so a sandbox run without
/// `--insert` has contacts to update.
#[cfg(feature = "sandbox")]
pub fn seed_customers(fake: &splio_client::fake::FakeSplio) {
    for i in (0..CUSTOMERS).step_by(2) {
        fake.seed_contact(ContactData::with_email(format!("customer{i}@example.com")));
    }
}

/// What the fake holds, for the sandbox file: each contact's standard attributes and custom
/// field values (by field id).
#[cfg(feature = "sandbox")]
pub fn state(fake: &splio_client::fake::FakeSplio) -> Value {
    let contacts: Vec<Value> = fake
        .contacts()
        .into_iter()
        .map(|(_, c)| {
            json!({
                "email": c.email,
                "cellphone": c.cellphone,
                "firstname": c.firstname,
                "lastname": c.lastname,
                "language": c.language,
                "custom_fields": c.custom_fields,
            })
        })
        .collect();
    json!({ "contacts": contacts })
}

/// Puts what [`state`] saved into a fresh fake (after [`seed_fields`]).
#[cfg(feature = "sandbox")]
pub fn restore(fake: &splio_client::fake::FakeSplio, saved: &Value) {
    let text = |c: &Value, name: &str| c[name].as_str().map(str::to_owned);
    for c in saved["contacts"].as_array().into_iter().flatten() {
        let mut contact = ContactData {
            email: text(c, "email"),
            cellphone: text(c, "cellphone"),
            firstname: text(c, "firstname"),
            lastname: text(c, "lastname"),
            language: text(c, "language"),
            ..ContactData::default()
        };
        for (id, value) in c["custom_fields"].as_object().into_iter().flatten() {
            if let (Ok(id), Some(value)) = (id.parse::<u32>(), value.as_str()) {
                contact
                    .custom_fields
                    .push(CustomFieldValue::by_id(id, value));
            }
        }
        fake.seed_contact(contact);
    }
}

#[cfg(feature = "sandbox")]
use super::cli::SourceKind;
#[cfg(feature = "sandbox")]
use super::config::{Config, SplioConfig, tune};
#[cfg(feature = "sandbox")]
use sync_kit::Error;
#[cfg(feature = "sandbox")]
use sync_kit::sandbox::SandboxFile;
#[cfg(feature = "sandbox")]
use sync_kit::summary::count;

#[cfg(feature = "sandbox")]
/// The sandbox: a Splio fake holding what the sandbox file beside `--state` kept (else the
/// demo contacts), and for `--source directo` a Directo fake with the demo customers.
pub struct Sandbox {
    /// The Splio fake.
    pub splio: splio_client::fake::FakeSplio,
    /// The Directo fake (`--source directo`).
    pub directo: Option<directo_client::fake::FakeDirecto>,
    file: SandboxFile,
}

#[cfg(feature = "sandbox")]
impl Sandbox {
    /// Starts the fakes and clients for them.
    pub async fn start(
        file: SandboxFile,
        config: &Config,
        source: SourceKind,
    ) -> Result<
        (
            Sandbox,
            splio_client::Client,
            Option<directo_client::Client>,
        ),
        Error,
    > {
        let (directo, reader) = match source {
            SourceKind::Csv => (None, None),
            SourceKind::Directo => {
                let fake = directo_customers(&config.directo, file.demo_time()).await?;
                let client = crate::shared::directo::sandbox_directo(&fake, &config.directo)?;
                (Some(fake), Some(client))
            }
        };
        let splio = splio_client::fake::FakeSplio::start().await;
        seed_fields(&splio);
        match file.section("splio") {
            Some(saved) => restore(&splio, saved),
            None if directo.is_some() => seed_customers(&splio),
            None => seed(&splio),
        }
        let settings = SplioConfig {
            rate_limit: false,
            ..config.splio.clone()
        };
        let client = tune(
            splio_client::Client::builder(splio.credentials())
                .base_url(splio.base_url())
                .allow_http(true),
            &settings,
        )
        .build()
        .map_err(|e| Error::Config(format!("Splio client: {e}")))?;
        let sandbox = Sandbox {
            splio,
            directo,
            file,
        };
        Ok((sandbox, client, reader))
    }
}

#[cfg(feature = "sandbox")]
impl crate::shared::sandbox::Fakes for Sandbox {
    /// Saves what the Splio fake holds beside the state file (a warning if that fails).
    fn save(&self) {
        if let Err(e) = self.file.save([("splio", state(&self.splio))]) {
            tracing::warn!("sandbox state not kept: {}", e.one_line());
        }
    }

    /// The closing line: what the Splio fake holds, and the requests the fakes saw.
    fn closing_line(&self) -> String {
        let directo = self.directo.as_ref();
        let directo_requests = directo.map(|d| {
            count(
                directo_client::fake::FakeService::request_count(d),
                "Directo request",
            )
        });
        let requests: Vec<String> = directo_requests
            .into_iter()
            .chain([count(self.splio.requests().len() as u64, "Splio request")])
            .collect();
        crate::shared::sandbox::closing_line(
            "Splio",
            &[count(self.splio.contacts().len() as u64, "contact")],
            &requests,
        )
    }
}
