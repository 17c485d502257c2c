//! `contacts push <file>`: contacts (CSV or JSON lines) → `POST /v1/contacts` (a bulk upsert
//! deduplicated on the email). Standard columns are `email` (required, the key), `firstName`,
//! `lastName`, `phone`, `externalCustomerId`, `languageCode`, `timeZone`; every other column is
//! a custom field by name, resolved to its id through the field catalog (`GET /v1/addressbooks`).

use marketing_sync_core::count_requests;
use messaging_client::{
    Channel, Contact, DedupeOn, FieldCatalog, ImportOptions, ImportOutcome, ImportPolling,
};
use serde_json::{Map, Value};

use super::input::{Row, text};
use super::item_error;
use sync_kit::error_chain;
use sync_kit::preview::Preview;
use sync_kit::{Delivery, Item, Outcome, Sink, SourceRecord, Verdict};

const STANDARD: &[&str] = &[
    "email",
    "firstName",
    "lastName",
    "phone",
    "externalCustomerId",
    "languageCode",
    "timeZone",
];

/// Checks that every column of `rows` that is not a standard field names a custom field of the
/// account (`catalog`, built from `books`), before anything is sent: the ones it lacks are named
/// together, each with the nearest field, as a configuration error (exit 2).
pub fn check_columns(
    rows: &[Row],
    catalog: &FieldCatalog,
    books: &[messaging_client::AddressBook],
) -> Result<(), sync_kit::Error> {
    let names: Vec<&str> = books
        .iter()
        .flat_map(|b| &b.field_groups)
        .flat_map(|g| &g.fields)
        .map(|f| f.name.as_str())
        .collect();
    let mut missing: Vec<String> = Vec::new();
    for fields in rows.iter().filter_map(|r| r.fields.as_ref().ok()) {
        for column in fields.keys() {
            let unknown = !STANDARD.contains(&column.as_str()) && catalog.field(column).is_none();
            let line = format!(
                "{column:?} (column {column:?}{})",
                crate::segment_to_splio::checks::nearest(column, names.iter().copied())
            );
            if unknown && !missing.contains(&line) {
                missing.push(line);
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(sync_kit::Error::Config(format!(
        "the messaging account has no custom field {}; create it in the account, or remove the \
         column (`messaging fields` lists the fields)",
        missing.join(", ")
    )))
}

/// Turns a row into a record keyed by the lower-cased email, or a rejection.
pub fn prepare(row: Row, catalog: &FieldCatalog) -> SourceRecord {
    let verdict = match row
        .fields
        .and_then(|f| contact(&f, catalog).map(|c| (f, c)))
    {
        Ok((fields, contact)) => Verdict::Send(vec![Item {
            key: sync_kit::email::key(contact.email_address().unwrap_or_default()),
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
    sync_kit::email::check(&email).map_err(|reason| format!("{reason}: {email:?}"))?;
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

/// Delivers contacts with [`messaging_client::Client::import_contacts`] (dedupe on the email;
/// each request lists the standard and custom fields its rows carry, so a cell left empty
/// leaves that field as it is in the account).
///
/// The service imports asynchronously: a contact counts as delivered only when its import
/// session has `FINISHED` and the service did not list it in `failedContacts`. Listed ones are
/// parked with the service's reason; a session that ends in `ERROR` fails its contacts for a
/// retry (an import is an upsert); a session still running after the polling's timeout, or an
/// answer without a session, parks its contacts as "outcome unknown" for `--replay-failed`.
#[derive(Debug)]
pub struct ContactsSink {
    /// The client.
    pub client: messaging_client::Client,
    /// The catalog the custom field names are resolved with.
    pub catalog: FieldCatalog,
    /// How the import sessions are polled.
    pub polling: ImportPolling,
}

impl ContactsSink {
    /// How an import session ended, for the contacts it carries.
    async fn wait(&self, id: &str) -> Result<(), Outcome> {
        match self.client.wait_for_import(id, &self.polling).await {
            Ok(_) => Ok(()),
            Err(e @ messaging_client::Error::ImportFailed { .. }) => {
                Err(Outcome::failed(error_chain(&e), true))
            }
            Err(e @ messaging_client::Error::ImportTimedOut { .. }) => Err(Outcome::failed(
                format!("{}: outcome unknown", error_chain(&e)),
                false,
            )),
            Err(e) => Err(Outcome::failed(error_chain(&e), e.is_retryable())),
        }
    }

    /// Each contact's outcome (`positions` maps the import's input index to the batch), once
    /// the sessions that carry them have ended (each session waited for once).
    async fn settle(
        &self,
        imported: Vec<ImportOutcome>,
        positions: &[usize],
    ) -> Vec<(usize, Outcome)> {
        let sessions: std::collections::BTreeSet<String> = imported
            .iter()
            .filter_map(|o| o.result.as_ref().ok()?.async_session_id.clone())
            .collect();
        let ended: std::collections::BTreeMap<String, Result<(), Outcome>> =
            futures::future::join_all(sessions.into_iter().map(|id| async move {
                let end = self.wait(&id).await;
                (id, end)
            }))
            .await
            .into_iter()
            .collect();
        imported
            .into_iter()
            .map(|o| {
                let outcome = match &o.result {
                    Err(e) => item_error(e),
                    Ok(session) => match session.async_session_id.as_ref().map(|id| &ended[id]) {
                        None => Outcome::failed(
                            "accepted without an import session id: outcome unknown",
                            false,
                        ),
                        Some(Ok(())) => Outcome::Delivered,
                        Some(Err(outcome)) => outcome.clone(),
                    },
                };
                (positions[o.index], outcome)
            })
            .collect()
    }
}

/// The import options of every push: contacts deduplicated on the email.
fn options() -> ImportOptions {
    ImportOptions {
        dedupe_on: DedupeOn::Email,
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
        // Every attempt the import and its status polls send (retries included), counted
        // where they are sent; contacts the client refused before sending took none.
        let (settled, requests) = count_requests(async {
            let imported = self.client.import_contacts(&contacts, &options()).await;
            self.settle(imported, &positions).await
        })
        .await;
        for (i, outcome) in settled {
            outcomes[i] = outcome;
        }
        Delivery { outcomes, requests }
    }
}
