//! Contacts: bulk add/update with import-status polling, single-contact CRUD, search,
//! subscribe.

use std::ops::Range;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt, stream};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::batch::ItemError;
use crate::client::{Bucket, Client, Request};
use crate::de;
use crate::error::{Error, Result};
use crate::events::{MAX_EVENT_TYPE_KEY_CHARS, check_key};
use crate::paging::all_pages;

/// Maximum contacts per bulk request.
pub const CONTACTS_CHUNK: usize = 3000;
/// Maximum `maxrows` of a contact search or segment listing.
pub const MAX_PAGE_SIZE: u32 = 500;

/// A contact, as sent and as read. Absent fields are omitted when sending.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// eSputnik id (ignored on add).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_i64"
    )]
    pub id: Option<i64>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Channels (email, sms, ...).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de::one_or_many"
    )]
    pub channels: Vec<Channel>,
    /// Postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Custom field values by field id (see [`FieldCatalog`](crate::FieldCatalog) to use names).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de::one_or_many"
    )]
    pub fields: Vec<ContactField>,
    /// Catalog id.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_i64"
    )]
    pub address_book_id: Option<i64>,
    /// Legacy unique key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_key: Option<String>,
    /// Your customer id (takes precedence for deduplication).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub external_customer_id: Option<String>,
    /// Language, e.g. `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
    /// IANA time zone, e.g. `Europe/Kyiv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Segments.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de::one_or_many"
    )]
    pub groups: Vec<ContactGroup>,
}

impl Contact {
    /// A contact with one email channel.
    ///
    /// ```
    /// let c = messaging_client::Contact::email("test@mail.com");
    /// assert_eq!(c.channels[0].value, "test@mail.com");
    /// ```
    pub fn email(email: impl Into<String>) -> Self {
        Contact {
            channels: vec![Channel::email(email)],
            ..Default::default()
        }
    }

    /// The first email channel's value.
    pub fn email_address(&self) -> Option<&str> {
        self.channels
            .iter()
            .find(|c| c.kind == "email")
            .map(|c| c.value.as_str())
    }
}

/// A contact channel: `type` (`email`, `sms`, `mobilepush`, ...) and value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Channel type (`type` on the wire).
    #[serde(rename = "type", deserialize_with = "de::string_lenient")]
    pub kind: String,
    /// Address, phone or token.
    #[serde(default, deserialize_with = "de::string_lenient")]
    pub value: String,
}

impl Channel {
    /// An email channel.
    pub fn email(value: impl Into<String>) -> Self {
        Channel {
            kind: "email".into(),
            value: value.into(),
        }
    }

    /// An SMS channel (phone number).
    pub fn sms(value: impl Into<String>) -> Self {
        Channel {
            kind: "sms".into(),
            value: value.into(),
        }
    }
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Town.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub town: Option<String>,
    /// Street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Postcode.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub postcode: Option<String>,
    /// Country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
}

/// A custom field value: `{ "id": <field id>, "value": "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactField {
    /// Field id (from the catalog).
    #[serde(deserialize_with = "de::i64_lenient")]
    pub id: i64,
    /// Value, as a string.
    #[serde(default, deserialize_with = "de::string_lenient")]
    pub value: String,
}

/// A segment membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactGroup {
    /// Segment id.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_i64"
    )]
    pub id: Option<i64>,
    /// Segment name.
    #[serde(default, deserialize_with = "de::string_lenient")]
    pub name: String,
    /// `Static`, `Dynamic` or `Combined`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// What decides whether an imported contact already exists (`dedupeOn`). Contacts with an
/// `externalCustomerId` are matched on it whatever this says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DedupeOn {
    /// `email`.
    Email,
    /// `sms`.
    Sms,
    /// `email_or_sms`.
    EmailOrSms,
    /// `fieldId`: the custom field in [`ImportOptions::field_id`].
    FieldId,
    /// `id`.
    Id,
    /// `externalCustomerId` (what the official plugins send).
    ExternalCustomerId,
    /// Any other value, sent verbatim (e.g. `contact_key`).
    Other(String),
}

impl DedupeOn {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            DedupeOn::Email => "email",
            DedupeOn::Sms => "sms",
            DedupeOn::EmailOrSms => "email_or_sms",
            DedupeOn::FieldId => "fieldId",
            DedupeOn::Id => "id",
            DedupeOn::ExternalCustomerId => "externalCustomerId",
            DedupeOn::Other(s) => s,
        }
    }
}

impl Serialize for DedupeOn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Options of a bulk import (everything in the request besides `contacts`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportOptions {
    /// `dedupeOn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedupe_on: Option<DedupeOn>,
    /// `fieldId`, required with [`DedupeOn::FieldId`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_id: Option<i64>,
    /// `contactFields`: the standard fields to update. `None` updates **all** of them and
    /// sets those without data to null.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_fields: Option<Vec<String>>,
    /// `customFieldsIDs`: custom fields to update (only listed ones are).
    #[serde(rename = "customFieldsIDs", skip_serializing_if = "Option::is_none")]
    pub custom_fields_ids: Option<Vec<i64>>,
    /// `groupNames`: segments to add the contacts to (created if missing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_names: Vec<String>,
    /// `groupNamesExclude`: segments to remove the contacts from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_names_exclude: Vec<String>,
    /// `restoreDeleted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_deleted: Option<bool>,
    /// `eventKeyForNewContacts`: an event raised for each new contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_key_for_new_contacts: Option<String>,
}

#[derive(Serialize)]
struct BulkBody<'a> {
    contacts: &'a [Contact],
    #[serde(flatten)]
    options: &'a ImportOptions,
}

/// The JSON bodies [`Client::import_contacts`] sends for `contacts` with `options`: one per
/// chunk of up to [`CONTACTS_CHUNK`]. For dry runs and logs.
///
/// ```
/// use messaging_client::{Contact, DedupeOn, ImportOptions, import_bodies};
/// let options = ImportOptions { dedupe_on: Some(DedupeOn::Email), ..Default::default() };
/// let bodies = import_bodies(&[Contact::email("ann@example.com")], &options);
/// assert!(bodies[0].ends_with(r#"],"dedupeOn":"email"}"#), "{}", bodies[0]);
/// ```
pub fn import_bodies(contacts: &[Contact], options: &ImportOptions) -> Vec<String> {
    contacts
        .chunks(CONTACTS_CHUNK)
        .map(|chunk| {
            serde_json::to_string(&BulkBody {
                contacts: chunk,
                options,
            })
            .unwrap_or_default()
        })
        .collect()
}

/// The service's answer to one bulk request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImportSession {
    /// Poll with [`Client::wait_for_import`].
    #[serde(default, deserialize_with = "de::opt_string")]
    pub async_session_id: Option<String>,
    /// Contacts the service refused, verbatim (shape undocumented).
    #[serde(default, deserialize_with = "de::one_or_many")]
    pub failed_contacts: Vec<serde_json::Value>,
}

/// The outcome of one chunk of a bulk import.
#[derive(Debug, Clone)]
pub struct ImportChunk {
    /// Which input contacts this chunk carried.
    pub range: Range<usize>,
    /// The import session, or why the chunk failed.
    pub result: Result<ImportSession, ItemError>,
}

/// State of an import session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportState {
    /// `STARTED`.
    Started,
    /// `IMPORTING`.
    Importing,
    /// `FINISHED`.
    Finished,
    /// `ERROR`.
    Error,
    /// Anything else, verbatim.
    Other(String),
}

impl<'de> Deserialize<'de> for ImportState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(match de::string_lenient(d)?.as_str() {
            "STARTED" => ImportState::Started,
            "IMPORTING" => ImportState::Importing,
            "FINISHED" => ImportState::Finished,
            "ERROR" => ImportState::Error,
            other => ImportState::Other(other.to_string()),
        })
    }
}

/// `GET /v1/importstatus/{sessionId}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ImportStatus {
    /// The state.
    pub status: ImportState,
    /// Description (errors), verbatim.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub description: Option<String>,
    /// Contact mapping, verbatim (shape undocumented).
    #[serde(default, deserialize_with = "de::one_or_many")]
    pub mapping: Vec<serde_json::Value>,
}

/// Filters of a contact search (`GET /v1/contacts`). Email search is not an exact match on
/// the service: compare addresses yourself if that matters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactQuery {
    /// `email`.
    pub email: Option<String>,
    /// `sms` (phone).
    pub sms: Option<String>,
    /// `externalCustomerId`.
    pub external_customer_id: Option<String>,
    /// Page size (`maxrows`, 1..=500; `None` = 500).
    pub page_size: Option<u32>,
}

/// A double opt-in subscription (`POST /v1/contact/subscribe`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// The contact.
    pub contact: Contact,
    /// Segment names (created if missing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Form type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_type: Option<String>,
}

#[derive(Deserialize)]
struct IdResponse {
    #[serde(default, deserialize_with = "de::opt_i64")]
    id: Option<i64>,
}

pub(crate) fn page_size(requested: Option<u32>) -> Result<u32> {
    match requested {
        None => Ok(MAX_PAGE_SIZE),
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        Some(n) => Err(Error::invalid("maxrows", format!("{n} is outside 1..=500"))),
    }
}

impl Client {
    /// Adds or updates any number of contacts (`POST /v1/contacts`), in concurrent chunks of
    /// 3,000. Each chunk becomes an asynchronous import session; poll it with
    /// [`wait_for_import`](Self::wait_for_import). Idempotent (an upsert; retried).
    ///
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use std::time::Duration;
    /// use messaging_client::{Contact, DedupeOn, ImportOptions};
    /// let options = ImportOptions { dedupe_on: Some(DedupeOn::Email), ..Default::default() };
    /// for chunk in client.import_contacts(&[Contact::email("a@example.com")], &options).await {
    ///     let Ok(session) = chunk.result else { continue };
    ///     if let Some(id) = session.async_session_id {
    ///         client.wait_for_import(&id, Duration::from_secs(10), Duration::from_secs(1200)).await?;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn import_contacts(
        &self,
        contacts: &[Contact],
        options: &ImportOptions,
    ) -> Vec<ImportChunk> {
        let invalid = if let Some(key) = &options.event_key_for_new_contacts {
            check_key("eventKeyForNewContacts", key, MAX_EVENT_TYPE_KEY_CHARS).err()
        } else if options.dedupe_on == Some(DedupeOn::FieldId) && options.field_id.is_none() {
            Some(Error::invalid(
                "fieldId",
                "required when dedupeOn is fieldId",
            ))
        } else {
            None
        };
        let ranges: Vec<Range<usize>> = (0..contacts.len())
            .step_by(CONTACTS_CHUNK)
            .map(|start| start..(start + CONTACTS_CHUNK).min(contacts.len()))
            .collect();
        if let Some(e) = invalid {
            let shared = ItemError::from(e);
            return ranges
                .into_iter()
                .map(|range| ImportChunk {
                    range,
                    result: Err(shared.clone()),
                })
                .collect();
        }
        let mut chunks: Vec<ImportChunk> = stream::iter(ranges)
            .map(|range| async move {
                let body = BulkBody {
                    contacts: &contacts[range.clone()],
                    options,
                };
                let result = async {
                    let req = Request::new(Method::POST, &["v1", "contacts"]).json(&body)?;
                    let resp = self.send(req).await?;
                    Ok::<_, Error>(
                        resp.decode_lenient::<ImportSession>("contacts import response")
                            .unwrap_or(ImportSession {
                                async_session_id: None,
                                failed_contacts: Vec::new(),
                            }),
                    )
                }
                .await
                .map_err(ItemError::from);
                ImportChunk { range, result }
            })
            .buffer_unordered(self.concurrency())
            .collect()
            .await;
        chunks.sort_by_key(|c| c.range.start);
        chunks
    }

    /// One read of an import session's status. Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// let status = client.import_status("5b2b0a4e-0000").await?;
    /// println!("{:?}", status.status);
    /// # Ok(()) }
    /// ```
    pub async fn import_status(&self, session_id: &str) -> Result<ImportStatus> {
        self.send(Request::new(
            Method::GET,
            &["v1", "importstatus", session_id],
        ))
        .await?
        .decode("import status")
    }

    /// Polls an import session every `interval` until it is `FINISHED` (returned), `ERROR`
    /// ([`Error::ImportFailed`]) or `timeout` has passed ([`Error::ImportTimedOut`]).
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use std::time::Duration;
    /// client.wait_for_import("5b2b0a4e-0000", Duration::from_secs(10), Duration::from_secs(20 * 60)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_import(
        &self,
        session_id: &str,
        interval: Duration,
        timeout: Duration,
    ) -> Result<ImportStatus> {
        let started = Instant::now();
        loop {
            let status = self.import_status(session_id).await?;
            match status.status {
                ImportState::Finished => return Ok(status),
                ImportState::Error => {
                    return Err(Error::ImportFailed {
                        session_id: session_id.into(),
                        description: status.description.unwrap_or_default(),
                    });
                }
                ref other if started.elapsed() + interval > timeout => {
                    return Err(Error::ImportTimedOut {
                        session_id: session_id.into(),
                        status: format!("{other:?}"),
                        waited: started.elapsed(),
                    });
                }
                _ => tokio::time::sleep(interval).await,
            }
        }
    }

    /// Reads one contact; `None` if it does not exist (404). Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// if let Some(contact) = client.get_contact(42).await? {
    ///     println!("{:?}", contact.email_address());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_contact(&self, id: i64) -> Result<Option<Contact>> {
        match self
            .send(Request::new(
                Method::GET,
                &["v1", "contact", &id.to_string()],
            ))
            .await
        {
            Ok(resp) => resp.decode("contact").map(Some),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Adds (or, on current accounts, updates) one contact and returns its id. **Not
    /// idempotent** (older accounts create duplicates): retried only when not processed.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// let id = client.add_contact(&messaging_client::Contact::email("a@example.com")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_contact(&self, contact: &Contact) -> Result<i64> {
        let req = Request::new(Method::POST, &["v1", "contact"])
            .json(contact)?
            .not_idempotent();
        let resp: IdResponse = self.send(req).await?.decode("contact id")?;
        resp.id.ok_or_else(|| Error::Decode {
            expected: "contact id",
            path: "id".into(),
            message: "missing".into(),
            snippet: String::new(),
        })
    }

    /// Updates one contact by id (never creates; 404 if absent). Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// let mut contact = client.get_contact(42).await?.expect("exists");
    /// contact.first_name = Some("Ann".into());
    /// client.update_contact(42, &contact).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_contact(&self, id: i64, contact: &Contact) -> Result<()> {
        let req = Request::new(Method::PUT, &["v1", "contact", &id.to_string()]).json(contact)?;
        self.send(req).await.map(drop)
    }

    /// Deletes one contact by id; `false` if it did not exist. Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// let existed = client.delete_contact(42).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_contact(&self, id: i64) -> Result<bool> {
        match self
            .send(Request::new(
                Method::DELETE,
                &["v1", "contact", &id.to_string()],
            ))
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes the contact with an `externalCustomerId`; `erase = true` removes its data for
    /// good (GDPR). Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// client.delete_contact_by_external_id("C-1", true).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_contact_by_external_id(
        &self,
        external_customer_id: &str,
        erase: bool,
    ) -> Result<()> {
        if external_customer_id.trim().is_empty() {
            return Err(Error::invalid("externalCustomerId", "must not be empty"));
        }
        let req = Request::new(Method::DELETE, &["v1", "contact"])
            .query("externalCustomerId", external_customer_id)
            .query("erase", erase);
        self.send(req).await.map(drop)
    }

    /// Searches contacts, streaming every page (`startindex`/`maxrows`) until a short page.
    /// Uses the contact-search rate limit (50/s). Idempotent.
    ///
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use futures::TryStreamExt;
    /// let query = messaging_client::ContactQuery { email: Some("a@example.com".into()), ..Default::default() };
    /// let found: Vec<_> = client.search_contacts(&query).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn search_contacts(
        &self,
        query: &ContactQuery,
    ) -> impl Stream<Item = Result<Contact>> + Send + 'static {
        let client = self.clone();
        let query = query.clone();
        let rows = page_size(query.page_size).unwrap_or(MAX_PAGE_SIZE);
        all_pages(rows, move |start| {
            let client = client.clone();
            let query = query.clone();
            async move {
                let rows = page_size(query.page_size)?;
                let mut req =
                    Request::new(Method::GET, &["v1", "contacts"]).bucket(Bucket::ContactSearch);
                for (key, value) in [
                    ("email", &query.email),
                    ("sms", &query.sms),
                    ("externalCustomerId", &query.external_customer_id),
                ] {
                    if let Some(v) = value {
                        req = req.query(key, v);
                    }
                }
                let req = req.query("startindex", start).query("maxrows", rows);
                client
                    .send(req)
                    .await?
                    .decode_opt::<de::List<Contact>>("contacts page")
                    .map(|l| l.map(|l| l.0).unwrap_or_default())
            }
        })
    }

    /// Subscribes a contact through the double opt-in flow (raises `subscribeFromAPI` or
    /// `subscribeUpdateFromAPI`). **Not idempotent.** Returns the contact id when the service
    /// reports one.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use messaging_client::{Contact, Subscription};
    /// let sub = Subscription { contact: Contact::email("a@example.com"), groups: vec!["Subscribers".into()], form_type: None };
    /// client.subscribe_contact(&sub).await?;
    /// # Ok(()) }
    /// ```
    pub async fn subscribe_contact(&self, subscription: &Subscription) -> Result<Option<i64>> {
        if subscription.contact.channels.is_empty() {
            return Err(Error::invalid(
                "contact.channels",
                "at least one channel is required",
            ));
        }
        let req = Request::new(Method::POST, &["v1", "contact", "subscribe"])
            .json(subscription)?
            .not_idempotent();
        let resp = self.send(req).await?;
        Ok(resp
            .decode_opt::<IdResponse>("subscribe response")
            .ok()
            .flatten()
            .and_then(|r| r.id))
    }
}
