//! `contacts push <file>`: contacts (CSV or JSON lines) → `POST /v1/contacts` (a bulk upsert
//! deduplicated on the email). Standard columns are `email` (required, the key), `firstName`,
//! `lastName`, `phone`, `externalCustomerId`, `languageCode`, `timeZone`; every other column is
//! a custom field by name, resolved to its id through the field catalog (`GET /v1/addressbooks`).

use messaging_client::{Channel, Contact, DedupeOn, FieldCatalog, ImportOptions};
use serde_json::{Map, Value};

use super::input::{Row, text};
use super::item_error;
use crate::preview::Preview;
use crate::{Delivery, Item, Outcome, Sink, SourceRecord, Verdict};

const STANDARD: &[&str] = &[
    "email",
    "firstName",
    "lastName",
    "phone",
    "externalCustomerId",
    "languageCode",
    "timeZone",
];

/// Turns a row into a record keyed by the lower-cased email, or a rejection.
pub fn prepare(row: Row, catalog: &FieldCatalog) -> SourceRecord {
    let verdict = match row
        .fields
        .and_then(|f| contact(&f, catalog).map(|c| (f, c)))
    {
        Ok((fields, contact)) => Verdict::Send(vec![Item {
            key: crate::email::key(contact.email_address().unwrap_or_default()),
            fields,
        }]),
        Err(reason) => Verdict::Reject(reason),
    };
    SourceRecord {
        id: row.position,
        watermark: None,
        verdict,
    }
}

/// Builds the client's [`Contact`]: a valid email, the standard fields, and the custom fields
/// resolved by name (an unknown name or a value outside a combobox's list is refused).
pub fn contact(fields: &Map<String, Value>, catalog: &FieldCatalog) -> Result<Contact, String> {
    let email = text(fields, "email").ok_or("missing email")?;
    crate::email::check(&email).map_err(|reason| format!("{reason}: {email:?}"))?;
    let mut contact = Contact::email(email);
    if let Some(phone) = text(fields, "phone") {
        contact.channels.push(Channel::sms(phone));
    }
    contact.first_name = text(fields, "firstName");
    contact.last_name = text(fields, "lastName");
    contact.external_customer_id = text(fields, "externalCustomerId");
    contact.language_code = text(fields, "languageCode");
    contact.time_zone = text(fields, "timeZone");
    let custom: Vec<(String, String)> = fields
        .keys()
        .filter(|k| !STANDARD.contains(&k.as_str()))
        .filter_map(|k| text(fields, k).map(|v| (k.clone(), v)))
        .collect();
    contact.fields = catalog.resolve(custom).map_err(|e| e.to_string())?;
    Ok(contact)
}

/// Delivers contacts with [`messaging_client::Client::import_contacts`] (dedupe on email). The
/// import itself is asynchronous on the service's side: a contact counts as delivered when its
/// chunk was accepted and it is not listed in `failedContacts`.
#[derive(Debug)]
pub struct ContactsSink {
    /// The client.
    pub client: messaging_client::Client,
    /// The catalog the custom field names are resolved with.
    pub catalog: FieldCatalog,
}

/// The import options of every push: contacts deduplicated on the email.
fn options() -> ImportOptions {
    ImportOptions {
        dedupe_on: Some(DedupeOn::Email),
        ..Default::default()
    }
}

impl Sink for ContactsSink {
    /// The `POST /v1/contacts` bodies [`deliver`](Sink::deliver) would send.
    fn preview(&self, batch: &[Item]) -> Vec<Preview> {
        let contacts: Vec<Contact> = batch
            .iter()
            .filter_map(|item| contact(&item.fields, &self.catalog).ok())
            .collect();
        messaging_client::import_bodies(&contacts, &options())
            .into_iter()
            .map(|body| Preview::request("POST", "/v1/contacts", body))
            .collect()
    }

    async fn deliver(&self, batch: &[Item]) -> Delivery {
        let mut outcomes = vec![Outcome::Delivered; batch.len()];
        let mut contacts = Vec::with_capacity(batch.len());
        let mut positions = Vec::with_capacity(batch.len());
        for (i, item) in batch.iter().enumerate() {
            match contact(&item.fields, &self.catalog) {
                Ok(c) => {
                    contacts.push(c);
                    positions.push(i);
                }
                Err(reason) => outcomes[i] = Outcome::failed(reason, false),
            }
        }
        let chunks = self.client.import_contacts(&contacts, &options()).await;
        let requests = chunks.len() as u64;
        for chunk in chunks {
            for n in chunk.range.clone() {
                let i = positions[n];
                outcomes[i] = match &chunk.result {
                    Err(e) => item_error(e),
                    Ok(session) => {
                        let email = &batch[i].key;
                        match session.failed_contacts.iter().find(|f| {
                            f.to_string()
                                .to_lowercase()
                                .contains(&format!("\"{email}\""))
                        }) {
                            Some(entry) => {
                                Outcome::failed(format!("rejected by the service: {entry}"), false)
                            }
                            None => Outcome::Delivered,
                        }
                    }
                };
            }
        }
        Delivery { outcomes, requests }
    }
}
