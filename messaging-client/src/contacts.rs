//! Contacts: the contact object, single-contact CRUD, search and subscribe (the bulk import is
//! in `import.rs`).

use futures::{Stream, StreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Bucket, Client, Request};
use crate::de;
use crate::error::{Error, Result};
use crate::paging::all_pages;
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

    /// The `contactFields` names of the standard fields this contact carries, in the order of
    /// the reference's list (`firstName`, `contactKey`, `lastName`, `languageCode`, `timeZone`,
    /// `email`, `sms`, `mobilepush`, `webpush`, `address`, `town`, `region`,
    /// `externalCustomerId`, `postcode`) [Yespo OpenAPI `ContactsBulkUpdate.contactFields`].
    /// `address.countryCode` travels with `address` (seen in a production integration; not in
    /// the reference). A channel type the list has no name for (`viber`, `appinbox`, ...) is an
    /// [`Error::InvalidInput`] at `channels[n].type`: such a contact can only be imported with
    /// [`StandardFields::All`](crate::StandardFields::All) or
    /// [`Only`](crate::StandardFields::Only).
    ///
    /// ```
    /// let mut c = messaging_client::Contact::email("a@example.com");
    /// c.first_name = Some("Ann".into());
    /// assert_eq!(c.standard_fields().unwrap(), ["firstName", "email"]);
    /// ```
    pub fn standard_fields(&self) -> Result<Vec<&'static str>> {
        if let Some((n, ch)) = self
            .channels
            .iter()
            .enumerate()
            .find(|(_, ch)| !LISTED_CHANNELS.contains(&ch.kind.as_str()))
        {
            return Err(Error::invalid(
                format!("channels[{n}].type"),
                format!(
                    "{:?} has no contactFields name (only {}); import it with StandardFields::All or Only",
                    ch.kind,
                    LISTED_CHANNELS.join(", ")
                ),
            ));
        }
        let has_channel = |kind: &str| self.channels.iter().any(|c| c.kind == kind);
        let address = self.address.as_ref();
        let carried = [
            ("firstName", self.first_name.is_some()),
            ("contactKey", self.contact_key.is_some()),
            ("lastName", self.last_name.is_some()),
            ("languageCode", self.language_code.is_some()),
            ("timeZone", self.time_zone.is_some()),
            ("email", has_channel("email")),
            ("sms", has_channel("sms")),
            ("mobilepush", has_channel("mobilepush")),
            ("webpush", has_channel("webpush")),
            (
                "address",
                address.is_some_and(|a| a.address.is_some() || a.country_code.is_some()),
            ),
            ("town", address.is_some_and(|a| a.town.is_some())),
            ("region", address.is_some_and(|a| a.region.is_some())),
            ("externalCustomerId", self.external_customer_id.is_some()),
            ("postcode", address.is_some_and(|a| a.postcode.is_some())),
        ];
        Ok(carried
            .into_iter()
            .filter(|(_, present)| *present)
            .map(|(name, _)| name)
            .collect())
    }
}

/// Channel types with a `contactFields` name.
const LISTED_CHANNELS: &[&str] = &["email", "sms", "mobilepush", "webpush"];

/// A contact channel: `type` (`email`, `sms`, `viber`, `mobilepush`, `webpush`, `appinbox`,
/// `widget`, `inapp`) and value; a `mobilepush` channel may carry its [`Device`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Channel {
    /// Channel type (`type` on the wire).
    #[serde(rename = "type", deserialize_with = "de::string_lenient")]
    pub kind: String,
    /// Address, phone or token.
    #[serde(default, deserialize_with = "de::string_lenient")]
    pub value: String,
    /// The device of a `mobilepush` token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
}

impl Channel {
    /// A channel of any type.
    pub fn new(kind: impl Into<String>, value: impl Into<String>) -> Self {
        Channel {
            kind: kind.into(),
            value: value.into(),
            device: None,
        }
    }

    /// An email channel.
    pub fn email(value: impl Into<String>) -> Self {
        Channel::new("email", value)
    }

    /// An SMS channel (phone number).
    pub fn sms(value: impl Into<String>) -> Self {
        Channel::new("sms", value)
    }

    /// A mobile push token with its device.
    ///
    /// ```
    /// use messaging_client::{Channel, Device};
    /// let ch = Channel::mobilepush("8900-7654", Device { os: Some("Android".into()), ..Default::default() });
    /// assert_eq!(ch.kind, "mobilepush");
    /// ```
    pub fn mobilepush(token: impl Into<String>, device: Device) -> Self {
        Channel {
            device: Some(device),
            ..Channel::new("mobilepush", token)
        }
    }
}

/// The device of a `mobilepush` channel [Yespo OpenAPI `Device`; "Uploading Your Mobile Token
/// Base"]. Absent fields are omitted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// The application id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Device model (`iPhone 13`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_model: Option<String>,
    /// Operating system (`iOS`, `Android`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Locale (`en_UK`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// SDK: `native` or `esputnik-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_version: Option<String>,
    /// The app's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// Whether the token is active.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_bool"
    )]
    pub active: Option<bool>,
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
    /// `firstname`.
    pub first_name: Option<String>,
    /// `lastname`.
    pub last_name: Option<String>,
    /// `sortBy=contactId`: a stable (and faster) order for a full export. OA: "only actual for
    /// searches without conditions", so it is refused together with a filter.
    pub sort_by_contact_id: bool,
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
    /// Subscription category keys added for the contact.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<String>,
    /// Form type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_type: Option<String>,
}

/// The answer to a subscription (`ContactSubscriptionResult`). Every field is `None` when the
/// service answered without a readable body (the subscription still happened).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Subscribed {
    /// The contact's id.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub id: Option<i64>,
    /// `NEED_CONFIRMATION`, `SUBSCRIBED`, `ALREADY_SUBSCRIBED` or `BLACKLISTED`, verbatim.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub email_status: Option<String>,
    /// Whether the contact was created (`new`).
    #[serde(rename = "new", default, deserialize_with = "de::opt_bool")]
    pub is_new: Option<bool>,
}

/// Whether `stored` holds every value `sent` carries (the id aside): objects key by key,
/// arrays element by element in any order, strings exactly.
fn holds(stored: &Contact, sent: &Contact) -> bool {
    fn within(sent: &serde_json::Value, stored: &serde_json::Value) -> bool {
        use serde_json::Value;
        match (sent, stored) {
            (Value::Object(a), Value::Object(b)) => a
                .iter()
                .filter(|(k, _)| k.as_str() != "id")
                .all(|(k, v)| b.get(k).is_some_and(|w| within(v, w))),
            (Value::Array(a), Value::Array(b)) => a.iter().all(|v| b.iter().any(|w| within(v, w))),
            _ => sent == stored,
        }
    }
    match (serde_json::to_value(sent), serde_json::to_value(stored)) {
        (Ok(a), Ok(b)) => within(&a, &b),
        _ => false,
    }
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
    ///
    /// When the service refuses the request as a repeat ("409 Repeated request within 1
    /// minute", OA `addContact`: an earlier identical add landed, say one whose answer was
    /// lost), the client searches for the contact by its `externalCustomerId`, else its exact
    /// email, else its phone, and returns the id of the one contact that holds what was sent;
    /// otherwise [`Error::OutcomeUnknown`].
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// let id = client.add_contact(&messaging_client::Contact::email("a@example.com")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_contact(&self, contact: &Contact) -> Result<i64> {
        let req = Request::new(Method::POST, &["v1", "contact"]).json(contact)?;
        let resp: IdResponse = match self.send(req).await {
            // Sent and accepted, but no readable id: the contact may exist.
            Ok(resp) => match resp.decode("contact id") {
                Ok(id) => id,
                Err(Error::Transport(e)) => {
                    return Err(Error::answer_lost("POST /v1/contact".into(), &e));
                }
                Err(e) => return Err(e),
            },
            Err(e) if e.is_duplicated_request() => return self.find_added(contact, &e).await,
            Err(e) => return Err(e),
        };
        resp.id.ok_or_else(|| {
            Error::answer_lost(
                "POST /v1/contact".into(),
                &marketing_sync_core::Error::Decode {
                    expected: "contact id",
                    path: "id".into(),
                    message: "missing".into(),
                    snippet: String::new(),
                },
            )
        })
    }

    /// Updates one contact by id (never creates; 404 if absent). Idempotent. `groups` is not
    /// sent: OA's `ContactUpdate` has none (use [`attach_contacts`](Self::attach_contacts) /
    /// [`detach_contacts`](Self::detach_contacts)).
    ///
    /// A retry after a lost answer can meet "409 Repeated request within 1 minute" (OA
    /// `updateContact`) although the update landed: the client then reads the contact back and
    /// succeeds when it holds every value sent, else answers [`Error::OutcomeUnknown`] (never a
    /// failure that invites another write).
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// let mut contact = client.get_contact(42).await?.expect("exists");
    /// contact.first_name = Some("Ann".into());
    /// client.update_contact(42, &contact).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_contact(&self, id: i64, contact: &Contact) -> Result<()> {
        // `ContactUpdate` has no `groups` (OA `updateContact`): memberships change through
        // attach/detach, so a contact read with its groups is updated without them.
        let mut update = contact.clone();
        update.groups.clear();
        let contact = &update;
        let req = Request::new(Method::PUT, &["v1", "contact", &id.to_string()]).json(contact)?;
        match self.send(req).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_duplicated_request() => {
                let operation = format!("PUT /v1/contact/{id}");
                let unknown = |reason: String| Error::OutcomeUnknown {
                    operation: operation.clone(),
                    reason: format!("{e}; {reason}"),
                };
                match self.get_contact(id).await {
                    Ok(Some(stored)) if holds(&stored, contact) => Ok(()),
                    Ok(Some(_)) => Err(unknown("the contact read back differs".into())),
                    Ok(None) => Err(unknown("the contact is not found".into())),
                    Err(read) => Err(unknown(format!("reading it back failed: {read}"))),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// After a refused repeat of `POST /v1/contact`: the one contact found by what was sent
    /// that holds it.
    async fn find_added(&self, contact: &Contact, refused: &Error) -> Result<i64> {
        use futures::TryStreamExt;
        let unknown = |reason: String| Error::OutcomeUnknown {
            operation: "POST /v1/contact".into(),
            reason: format!("{refused}; {reason}"),
        };
        let mut query = ContactQuery::default();
        if let Some(ext) = &contact.external_customer_id {
            query.external_customer_id = Some(ext.clone());
        } else if let Some(email) = contact.email_address() {
            query.email = Some(email.to_owned());
        } else if let Some(sms) = contact.channels.iter().find(|c| c.kind == "sms") {
            query.sms = Some(sms.value.clone());
        } else {
            return Err(unknown("nothing to search the contact by".into()));
        }
        let found: Vec<Contact> = self
            .search_contacts(&query)
            .take(MAX_PAGE_SIZE as usize)
            .try_collect()
            .await
            .map_err(|e| unknown(format!("searching for it failed: {e}")))?;
        let mut holding = found.iter().filter(|c| holds(c, contact));
        match (holding.next(), holding.next()) {
            (Some(c), None) => {
                c.id.ok_or_else(|| unknown("the contact found has no id".into()))
            }
            (None, _) => Err(unknown("no contact holds what was sent".into())),
            (Some(_), Some(_)) => Err(unknown("several contacts hold what was sent".into())),
        }
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

    /// Deletes one contact by id, sending `erase` (OA `deleteContact_1`): `true` removes its
    /// profile, activity and tracking data for good, `false` is the service's default (a
    /// deleted contact can be restored). `false` if it did not exist. Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// client.delete_contact_with(42, true).await?; // GDPR erasure
    /// # Ok(()) }
    /// ```
    pub async fn delete_contact_with(&self, id: i64, erase: bool) -> Result<bool> {
        let req =
            Request::new(Method::DELETE, &["v1", "contact", &id.to_string()]).query("erase", erase);
        match self.send(req).await {
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
                let filters = [
                    ("email", &query.email),
                    ("sms", &query.sms),
                    ("externalCustomerId", &query.external_customer_id),
                    ("firstname", &query.first_name),
                    ("lastname", &query.last_name),
                ];
                if query.sort_by_contact_id {
                    if let Some((key, _)) = filters.iter().find(|(_, v)| v.is_some()) {
                        return Err(Error::invalid(
                            "sortBy",
                            format!(
                                "sortBy=contactId only applies to a search without conditions (OA), not with {key}"
                            ),
                        ));
                    }
                    req = req.query("sortBy", "contactId");
                }
                for (key, value) in filters {
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

    /// Subscribes a contact through the double opt-in flow (an unconfirmed contact, or an
    /// update that keeps existing channels; raises `subscribeFromAPI` or
    /// `subscribeUpdateFromAPI`). **Not idempotent**: the service refuses the same request
    /// within a minute with 409 ([`Error::is_duplicated_request`]).
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use messaging_client::{Contact, Subscription};
    /// let sub = Subscription { contact: Contact::email("a@example.com"), groups: vec!["Subscribers".into()], ..Default::default() };
    /// let done = client.subscribe_contact(&sub).await?;
    /// println!("{:?} {:?}", done.id, done.email_status);
    /// # Ok(()) }
    /// ```
    pub async fn subscribe_contact(&self, subscription: &Subscription) -> Result<Subscribed> {
        if subscription.contact.channels.is_empty() {
            return Err(Error::invalid(
                "contact.channels",
                "at least one channel is required",
            ));
        }
        let req = Request::new(Method::POST, &["v1", "contact", "subscribe"]).json(subscription)?;
        Ok(self
            .send(req)
            .await?
            .decode_lenient::<Subscribed>("subscribe response")
            .unwrap_or_default())
    }
}
