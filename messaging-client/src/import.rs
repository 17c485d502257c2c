//! The bulk contact import (`POST /v1/contacts`); its asynchronous session is read in
//! `import_status.rs`.
//!
//! The service updates only the standard fields listed in `contactFields` (all of them when the
//! list is absent, setting those a contact does not carry to null) and only the custom fields
//! listed in `customFieldsIDs` [Yespo OpenAPI `ContactsBulkUpdate`; docs.reteno.com
//! contactsbulkupdate-1]. By default every request therefore lists exactly the fields its
//! contacts carry: contacts are grouped by the fields they carry, one request per group (and
//! per 3,000 contacts), so a field a contact does not carry is never listed, whichever way the
//! service reads "no data" for a listed field.

use std::collections::BTreeSet;

use futures::{StreamExt, stream};
use marketing_sync_core::ItemOutcome;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::batch::ItemError;
use crate::client::{Client, Request};
use crate::contacts::Contact;
use crate::de;
use crate::error::{Error, Result};
use crate::events::{MAX_EVENT_TYPE_KEY_CHARS, check_key};

/// Maximum contacts per bulk request.
pub const CONTACTS_CHUNK: usize = 3000;

/// What decides whether an imported contact already exists (`dedupeOn`, required by the
/// service). Contacts with an `externalCustomerId` are matched on it whatever this says, and the
/// field named here is never updated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DedupeOn {
    /// `email` (the default).
    #[default]
    Email,
    /// `sms`.
    Sms,
    /// `push`.
    Push,
    /// `email_or_sms`.
    EmailOrSms,
    /// `fieldId`: the custom field in [`ImportOptions::field_id`].
    FieldId,
    /// `id`.
    Id,
    /// `externalCustomerId` (what the official plugins send).
    ExternalCustomerId,
    /// Any other value, sent verbatim.
    Other(String),
}

impl DedupeOn {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            DedupeOn::Email => "email",
            DedupeOn::Sms => "sms",
            DedupeOn::Push => "push",
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

/// Which standard fields an import updates (`contactFields`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StandardFields {
    /// The fields each contact carries (the default): contacts are grouped by the standard
    /// fields they carry and each request lists its group's fields (names from
    /// [`Contact::standard_fields`]). A field a contact does not carry is left as it is.
    #[default]
    Present,
    /// Every standard field (`contactFields` omitted): the service sets the fields a contact
    /// does not carry to null. Use it to replace whole profiles.
    All,
    /// Exactly these `contactFields` names for every contact (a listed field a contact does not
    /// carry may be set to null).
    Only(Vec<String>),
}

/// Which custom fields an import updates (`customFieldsIDs`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CustomFields {
    /// The custom field ids each contact carries (the default): contacts are grouped by them
    /// and each request lists its group's ids (omitted when there are none).
    #[default]
    Present,
    /// Exactly these ids for every contact (sent even when empty: no custom field is updated).
    Only(Vec<i64>),
}

/// Options of a bulk import (everything in the request besides `contacts`).
///
/// ```
/// use messaging_client::{DedupeOn, ImportOptions, StandardFields};
/// let options = ImportOptions {
///     dedupe_on: DedupeOn::ExternalCustomerId,
///     group_names: vec!["Newsletter".into()],
///     ..Default::default()
/// };
/// assert_eq!(options.contact_fields, StandardFields::Present);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportOptions {
    /// `dedupeOn` (always sent; default `email`).
    pub dedupe_on: DedupeOn,
    /// `fieldId`, required with [`DedupeOn::FieldId`].
    pub field_id: Option<i64>,
    /// `contactFields`: the standard fields to update (default: those each contact carries).
    pub contact_fields: StandardFields,
    /// `customFieldsIDs`: the custom fields to update (default: those each contact carries).
    pub custom_fields_ids: CustomFields,
    /// `groupNames`: segments to add the contacts to (created if missing).
    pub group_names: Vec<String>,
    /// `groupNamesExclude`: segments to remove the contacts from.
    pub group_names_exclude: Vec<String>,
    /// `restoreDeleted`.
    pub restore_deleted: Option<bool>,
    /// `eventKeyForNewContacts`: an event raised for each new contact.
    pub event_key_for_new_contacts: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BulkBody<'a> {
    contacts: Vec<&'a Contact>,
    dedupe_on: &'a DedupeOn,
    #[serde(skip_serializing_if = "Option::is_none")]
    field_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_fields: Option<Vec<String>>,
    #[serde(rename = "customFieldsIDs", skip_serializing_if = "Option::is_none")]
    custom_fields_ids: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    group_names: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    group_names_exclude: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    restore_deleted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_key_for_new_contacts: Option<&'a str>,
}

/// What the service answered for an imported contact: the import session that applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportSession {
    /// The session to poll with [`Client::wait_for_import`] (shared by every contact of one
    /// request); `None` when the answer carried none (an empty or unexpected 2xx body): the
    /// request was accepted, but its progress cannot be followed.
    pub async_session_id: Option<String>,
}

/// Whom an [`ImportOutcome`] is about: the contact's identifiers, as given.
///
/// ```
/// use messaging_client::{Contact, ContactKey};
/// let mut ann = Contact::email("ann@example.com");
/// assert_eq!(ContactKey::of(&ann).to_string(), "ann@example.com");
/// ann.external_customer_id = Some("C-7".into());
/// assert_eq!(ContactKey::of(&ann).to_string(), "C-7");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ContactKey {
    /// The contact's `externalCustomerId`.
    pub external_customer_id: Option<String>,
    /// Its email channel's value.
    pub email: Option<String>,
    /// Its SMS channel's value.
    pub phone: Option<String>,
    /// Its eSputnik contact id.
    pub id: Option<i64>,
}

impl ContactKey {
    /// The key of `contact`.
    pub fn of(contact: &Contact) -> Self {
        let channel = |kind: &str| {
            contact
                .channels
                .iter()
                .find(|c| c.kind == kind)
                .map(|c| c.value.clone())
        };
        ContactKey {
            external_customer_id: contact.external_customer_id.clone(),
            email: channel("email"),
            phone: channel("sms"),
            id: contact.id,
        }
    }
}

/// The `externalCustomerId`, else the email, else the phone, else `#<id>`.
impl std::fmt::Display for ContactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (
            &self.external_customer_id,
            &self.email,
            &self.phone,
            self.id,
        ) {
            (Some(x), ..) | (None, Some(x), ..) | (None, None, Some(x), _) => f.write_str(x),
            (None, None, None, Some(id)) => write!(f, "#{id}"),
            (None, None, None, None) => f.write_str("(a contact without a key)"),
        }
    }
}

/// The outcome of one contact of [`Client::import_contacts`]: its position, its
/// [`ContactKey`], and the [`ImportSession`] that applies it, or why it was not taken
/// ([`ItemError::Rejected`] for a contact the service listed in `failedContacts`).
pub type ImportOutcome = ItemOutcome<ContactKey, ImportSession, ItemError>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkResponse {
    #[serde(default, deserialize_with = "de::opt_string")]
    async_session_id: Option<String>,
    #[serde(default, deserialize_with = "de::one_or_many")]
    failed_contacts: Vec<serde_json::Value>,
    #[serde(default, deserialize_with = "de::opt_string")]
    error_message: Option<String>,
}

/// One request to send: which contacts, and the field lists they share.
struct Group {
    indices: Vec<usize>,
    contact_fields: Option<Vec<String>>,
    custom_fields_ids: Option<Vec<i64>>,
}

impl Group {
    /// The request body of this group.
    fn body<'a>(&'a self, contacts: &'a [Contact], options: &'a ImportOptions) -> BulkBody<'a> {
        BulkBody {
            contacts: self.indices.iter().map(|&i| &contacts[i]).collect(),
            dedupe_on: &options.dedupe_on,
            field_id: options.field_id,
            contact_fields: self.contact_fields.clone(),
            custom_fields_ids: self.custom_fields_ids.clone(),
            group_names: &options.group_names,
            group_names_exclude: &options.group_names_exclude,
            restore_deleted: options.restore_deleted,
            event_key_for_new_contacts: options.event_key_for_new_contacts.as_deref(),
        }
    }
}

/// The JSON bodies [`Client::import_contacts`] sends for `contacts` with `options`, one per
/// request (contacts refused before sending are left out). For dry runs and logs.
///
/// ```
/// use messaging_client::{Contact, ImportOptions, import_bodies};
/// let bodies = import_bodies(&[Contact::email("ann@example.com")], &ImportOptions::default());
/// assert_eq!(bodies.len(), 1);
/// assert!(bodies[0].contains(r#""dedupeOn":"email""#), "{}", bodies[0]);
/// ```
pub fn import_bodies(contacts: &[Contact], options: &ImportOptions) -> Vec<String> {
    let (groups, _refused) = plan(contacts, options);
    groups
        .iter()
        .map(|g| serde_json::to_string(&g.body(contacts, options)).unwrap_or_default())
        .collect()
}

/// Splits the contacts into requests per the options, and reports those refused before
/// sending (no channel; a channel that cannot be listed in `contactFields`).
fn plan(contacts: &[Contact], options: &ImportOptions) -> (Vec<Group>, Vec<(usize, Error)>) {
    type Shape = (Option<Vec<String>>, Option<Vec<i64>>);
    let mut shapes: Vec<(Shape, Vec<usize>)> = Vec::new();
    let mut refused = Vec::new();
    for (i, c) in contacts.iter().enumerate() {
        let standard = match &options.contact_fields {
            StandardFields::All => Ok(None),
            StandardFields::Only(names) => Ok(Some(names.clone())),
            StandardFields::Present => c
                .standard_fields()
                .map(|names| Some(names.into_iter().map(str::to_owned).collect::<Vec<_>>()))
                .map_err(|e| at_contact(e, i)),
        };
        let standard = standard.and_then(|s| {
            if c.channels.is_empty() {
                Err(Error::invalid(
                    format!("contacts[{i}].channels"),
                    "a contact needs at least one channel",
                ))
            } else {
                Ok(s)
            }
        });
        let standard = match standard {
            Ok(s) => s,
            Err(e) => {
                refused.push((i, e));
                continue;
            }
        };
        let custom = match &options.custom_fields_ids {
            CustomFields::Only(ids) => Some(ids.clone()),
            CustomFields::Present => {
                let ids: BTreeSet<i64> = c.fields.iter().map(|f| f.id).collect();
                (!ids.is_empty()).then(|| ids.into_iter().collect())
            }
        };
        let shape = (standard, custom);
        match shapes.iter_mut().find(|(s, _)| *s == shape) {
            Some((_, indices)) => indices.push(i),
            None => shapes.push((shape, vec![i])),
        }
    }
    let groups = shapes
        .into_iter()
        .flat_map(|((contact_fields, custom_fields_ids), indices)| {
            indices
                .chunks(CONTACTS_CHUNK)
                .map(|part| Group {
                    indices: part.to_vec(),
                    contact_fields: contact_fields.clone(),
                    custom_fields_ids: custom_fields_ids.clone(),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    (groups, refused)
}

/// Names the contact in an input error (`channels[0].type` → `contacts[3].channels[0].type`).
fn at_contact(e: Error, index: usize) -> Error {
    match e {
        Error::InvalidInput { field, reason } => Error::InvalidInput {
            field: format!("contacts[{index}].{field}"),
            reason,
        },
        other => other,
    }
}

fn check_options(options: &ImportOptions) -> Result<()> {
    if let Some(key) = &options.event_key_for_new_contacts {
        check_key("eventKeyForNewContacts", key, MAX_EVENT_TYPE_KEY_CHARS)?;
    }
    if options.dedupe_on == DedupeOn::FieldId && options.field_id.is_none() {
        return Err(Error::invalid(
            "fieldId",
            "required when dedupeOn is fieldId",
        ));
    }
    Ok(())
}

/// Which input contact a `failedContacts` entry names: `externalCustomerId`, then an email,
/// then a phone, among the contacts of its request not matched yet.
fn attribute(
    entry: &serde_json::Value,
    indices: &[usize],
    contacts: &[Contact],
    taken: &mut BTreeSet<usize>,
) -> Option<usize> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let channel = |kind: &str| {
        entry
            .get("channels")
            .into_iter()
            .flat_map(|c| match c {
                serde_json::Value::Array(a) => a.iter().collect::<Vec<_>>(),
                one => vec![one],
            })
            .find(|ch| ch.get("type").and_then(|t| t.as_str()) == Some(kind))
            .and_then(|ch| ch.get("value").and_then(text))
    };
    let ext = entry.get("externalCustomerId").and_then(text);
    let email = channel("email");
    let phone = channel("sms");
    let mut find = |matches: &dyn Fn(&Contact) -> bool| {
        let i = indices
            .iter()
            .copied()
            .find(|i| !taken.contains(i) && matches(&contacts[*i]))?;
        taken.insert(i);
        Some(i)
    };
    let value_of = |c: &Contact, kind: &str| {
        c.channels
            .iter()
            .find(|ch| ch.kind == kind)
            .map(|ch| ch.value.trim().to_owned())
    };
    ext.as_ref()
        .and_then(|x| find(&|c| c.external_customer_id.as_deref().map(str::trim) == Some(x)))
        .or_else(|| {
            email.as_ref().and_then(|e| {
                find(&|c| value_of(c, "email").is_some_and(|m| m.eq_ignore_ascii_case(e)))
            })
        })
        .or_else(|| {
            phone
                .as_ref()
                .and_then(|p| find(&|c| value_of(c, "sms").as_deref() == Some(p.as_str())))
        })
}

/// Each contact's result from its request's answer: the session for the contacts it took,
/// [`ItemError::Rejected`] for those its `failedContacts` names, and
/// [`ItemError::OutcomeUnknown`] for the others when it refused contacts it does not name.
fn settle(
    resp: Option<BulkResponse>,
    indices: &[usize],
    contacts: &[Contact],
) -> Vec<(usize, Result<ImportSession, ItemError>)> {
    let all = |result: Result<ImportSession, ItemError>| {
        indices.iter().map(|&i| (i, result.clone())).collect()
    };
    let Some(resp) = resp else {
        return all(Ok(ImportSession {
            async_session_id: None,
        }));
    };
    if resp.async_session_id.is_none()
        && let Some(message) = resp.error_message
    {
        return all(Err(ItemError::Rejected { message }));
    }
    let mut taken = BTreeSet::new();
    let mut rejected = std::collections::BTreeMap::new();
    let mut unnamed = Vec::new();
    for entry in resp.failed_contacts {
        let error = ["error", "errorMessage", "message"]
            .iter()
            .find_map(|k| entry.get(*k).and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_default();
        match attribute(&entry, indices, contacts, &mut taken) {
            Some(i) => {
                rejected.insert(i, error);
            }
            None if error.is_empty() => unnamed.push(entry.to_string()),
            None => unnamed.push(error),
        }
    }
    let session = ImportSession {
        async_session_id: resp.async_session_id,
    };
    indices
        .iter()
        .map(|&i| {
            let result = match rejected.remove(&i) {
                Some(message) if message.is_empty() => Err(ItemError::Rejected {
                    message: "listed in failedContacts without a reason".into(),
                }),
                Some(message) => Err(ItemError::Rejected { message }),
                None if !unnamed.is_empty() => Err(ItemError::OutcomeUnknown {
                    reason: format!(
                        "the service refused {} contact(s) of this request without naming which ({}); this one may be among them",
                        unnamed.len(),
                        unnamed.join("; ")
                    ),
                }),
                None => Ok(session.clone()),
            };
            (i, result)
        })
        .collect()
}

impl Client {
    /// Adds or updates any number of contacts (`POST /v1/contacts`), in concurrent requests of
    /// at most 3,000 contacts that share the same field lists (see [`StandardFields`] and
    /// [`CustomFields`]). Each request becomes an asynchronous import session; poll it with
    /// [`wait_for_import`](Self::wait_for_import). Idempotent (an upsert; retried), except
    /// with [`ImportOptions::event_key_for_new_contacts`]: then a request is repeated only when
    /// it provably never arrived (connect failure, 429), since a repeat could raise the event
    /// again.
    ///
    /// Returns one [`ImportOutcome`] per contact, in input order: the [`ImportSession`] that
    /// applies it (contacts of one request share it: wait for each session once), the
    /// service's refusal ([`ItemError::Rejected`], from `failedContacts`), or why it was not
    /// sent ([`ItemError::Failed`]: [`Error::InvalidInput`] naming the contact's field, or its
    /// request's error). With `eventKeyForNewContacts`, a request sent whose answer was lost
    /// gives its contacts [`ItemError::OutcomeUnknown`].
    ///
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use std::collections::BTreeSet;
    /// use messaging_client::{Contact, ImportOptions, ImportPolling};
    /// let contacts = [Contact::email("a@example.com"), Contact::email("b@example.com")];
    /// let mut sessions = BTreeSet::new();
    /// for outcome in client.import_contacts(&contacts, &ImportOptions::default()).await {
    ///     match outcome.result {
    ///         Ok(session) => sessions.extend(session.async_session_id),
    ///         Err(e) => eprintln!("{}: {e}", outcome.key),
    ///     }
    /// }
    /// for id in sessions {
    ///     client.wait_for_import(&id, &ImportPolling::default()).await?;
    /// }
    /// # Ok(()) }
    /// ```
    #[must_use = "each contact's outcome says whether the service took it"]
    pub async fn import_contacts(
        &self,
        contacts: &[Contact],
        options: &ImportOptions,
    ) -> Vec<ImportOutcome> {
        let (groups, refused) = plan(contacts, options);
        let mut results: Vec<Option<Result<ImportSession, ItemError>>> = vec![None; contacts.len()];
        for (i, e) in refused {
            results[i] = Some(Err(e.into()));
        }
        if let Err(e) = check_options(options) {
            let shared = ItemError::from(e);
            for i in groups.iter().flat_map(|g| &g.indices) {
                results[*i] = Some(Err(shared.clone()));
            }
        } else {
            let settled: Vec<Vec<(usize, Result<ImportSession, ItemError>)>> = stream::iter(groups)
                .map(|group| async move {
                    let body = group.body(contacts, options);
                    let sent = async {
                        let req = Request::new(Method::POST, &["v1", "contacts"])
                            .json(&body)?
                            // An upsert deduplicated on `dedupeOn`: a repeat updates the
                            // same contacts to the same values. Not with
                            // `eventKeyForNewContacts`: requests may be handled
                            // concurrently (OA `contactsBulkUpdate`), so a repeat can start
                            // a second session that finds the contacts new again and
                            // raises the event twice; then only a request that provably
                            // never arrived (connect failure, 429) is repeated.
                            .idempotent(options.event_key_for_new_contacts.is_none());
                        Ok::<_, Error>(
                            self.send(req)
                                .await?
                                .decode_lenient::<BulkResponse>("contacts import response"),
                        )
                    }
                    .await;
                    match sent {
                        Ok(resp) => settle(resp, &group.indices, contacts),
                        Err(e) => {
                            let shared = ItemError::from(e);
                            group
                                .indices
                                .iter()
                                .map(|&i| (i, Err(shared.clone())))
                                .collect()
                        }
                    }
                })
                .buffer_unordered(self.concurrency())
                .collect()
                .await;
            for (i, result) in settled.into_iter().flatten() {
                results[i] = Some(result);
            }
        }
        results
            .into_iter()
            .enumerate()
            .map(|(i, result)| {
                ItemOutcome::new(
                    i,
                    ContactKey::of(&contacts[i]),
                    result.expect("every contact has an outcome"),
                )
            })
            .collect()
    }
}
