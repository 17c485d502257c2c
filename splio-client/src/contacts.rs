//! Contacts: get, create, patch, delete, subscribe/unsubscribe, bulk create/delete, opt-out, upsert.

use std::collections::{HashMap, VecDeque};

use futures::StreamExt;
use jiff::civil::DateTime;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::client::{Client, Idempotency, Request, segment};
use crate::error::{Error, Result};
use crate::fields::{CustomFieldValue, FieldRef};
use crate::lenient;
use crate::page::Page;
use crate::universe::UniqueKey;

/// How the hour of a sent `creation_date` is written. The sources disagree: the OpenAPI
/// pattern for the field (`(00|[0-9]|1[0-9]|2[0-3])` for the hour) refuses zero-padded hours
/// 01–09, while Splio's own answers pad them (`2019-01-03 09:00:00` in the subscribe examples)
/// and the field is described as `YYYY-MM-DD HH:MM:SS`. Answers are read in either form
/// ([`Contact::created_at`]); set the form to send with
/// [`ClientBuilder::creation_date_hour`](crate::ClientBuilder::creation_date_hour).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CreationDateHour {
    /// `2024-01-02 3:04:05`, which the OpenAPI pattern accepts (default).
    #[default]
    Unpadded,
    /// `2024-01-02 03:04:05`, the form of Splio's answers.
    ZeroPadded,
}

impl CreationDateHour {
    fn format(self) -> &'static str {
        match self {
            CreationDateHour::Unpadded => "%Y-%m-%d %-H:%M:%S",
            CreationDateHour::ZeroPadded => "%Y-%m-%d %H:%M:%S",
        }
    }
}

/// Most items Splio accepts in one bulk request.
pub const BULK_MAX: usize = 1000;

/// A contact as Splio returns it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Contact {
    /// Internal database id (not the unique key). Absent in subscribe/unsubscribe answers.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    /// Email.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
    /// Cellphone.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub cellphone: Option<String>,
    /// First name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub firstname: Option<String>,
    /// Last name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub lastname: Option<String>,
    /// Language code.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub language: Option<String>,
    /// Creation date as sent (`2019-01-03` or `2018-01-24 15:00:00`; some answers call it `date_added`).
    #[serde(
        default,
        alias = "date_added",
        deserialize_with = "lenient::opt_string"
    )]
    pub creation_date: Option<String>,
    /// Custom field values.
    #[serde(default, deserialize_with = "lenient::vec_or_empty")]
    pub custom_fields: Vec<ContactFieldValue>,
    /// List memberships.
    #[serde(default, deserialize_with = "lenient::vec_or_empty")]
    pub lists: Vec<ListRef>,
    /// Loyalty cards, as sent.
    #[serde(default, deserialize_with = "lenient::vec_or_empty")]
    pub loyalty: Vec<Value>,
}

impl Contact {
    /// `creation_date` as a date-time, read in every form Splio answers: `2019-01-03 09:00:00`,
    /// `2019-01-03 9:00:00`, or a bare date `2019-01-03` (midnight). `None` when absent or in
    /// none of these forms.
    ///
    /// ```
    /// let c: splio_client::Contact = serde_json::from_str(r#"{"creation_date":"2019-01-03 9:00:00"}"#).unwrap();
    /// assert_eq!(c.created_at(), Some(jiff::civil::date(2019, 1, 3).at(9, 0, 0, 0)));
    /// ```
    pub fn created_at(&self) -> Option<DateTime> {
        let text = self.creation_date.as_deref()?.trim();
        DateTime::strptime("%Y-%m-%d %H:%M:%S", text)
            .ok()
            .or_else(|| {
                jiff::civil::Date::strptime("%Y-%m-%d", text)
                    .ok()
                    .map(|d| d.at(0, 0, 0, 0))
            })
    }

    /// The value of a custom field, by id or name.
    pub fn custom_field(&self, field: &FieldRef) -> Option<&str> {
        self.custom_fields
            .iter()
            .find(|f| match field {
                FieldRef::Id(id) => f.id == Some(i64::from(*id)),
                FieldRef::Name(name) => f.name.as_deref() == Some(name),
            })
            .and_then(|f| f.value.as_deref())
    }
}

/// A custom field value inside a [`Contact`].
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct ContactFieldValue {
    /// Field id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    /// Field name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// Value (strings, numbers and bools are all read as text).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub value: Option<String>,
    /// `""`, `text`, `double`, `string`, …
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub data_type: Option<String>,
}

/// A list membership `{id, name}`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct ListRef {
    /// List id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    /// List name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
}

/// The writable part of a contact, for create, patch and upsert. Absent fields are not sent
/// (absence means "leave unchanged"). Emails are sent lowercased.
///
/// `lists` are list ids to subscribe to: sent as `lists` on create; after a patch they are added
/// with `subscribe`, because `lists` on PATCH would replace every membership.
///
/// ```
/// use splio_client::{ContactData, CustomFieldValue};
/// let c = ContactData::with_email("Jane+news@Example.com")
///     .firstname("Jane")
///     .custom_field(CustomFieldValue::by_id(3, 42))
///     .list(7);
/// assert_eq!(c.email.as_deref(), Some("Jane+news@Example.com"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContactData {
    /// Email.
    pub email: Option<String>,
    /// Cellphone, e.g. `+331122334455`.
    pub cellphone: Option<String>,
    /// First name.
    pub firstname: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
    /// Language (`en`, `fr`, …).
    pub language: Option<String>,
    /// Creation date (API user's time zone), sent as `YYYY-MM-DD H:MM:SS` or `YYYY-MM-DD
    /// HH:MM:SS` per [`CreationDateHour`].
    pub creation_date: Option<DateTime>,
    /// Custom field values.
    pub custom_fields: Vec<CustomFieldValue>,
    /// List ids to subscribe the contact to (never removes memberships).
    pub lists: Vec<u64>,
    /// Double opt-in settings, sent verbatim on create (`{"enabled":true}` or the legacy form).
    pub double_optin: Option<Value>,
}

impl ContactData {
    /// A contact with this email.
    pub fn with_email(email: impl Into<String>) -> Self {
        ContactData {
            email: Some(email.into()),
            ..Self::default()
        }
    }
    /// A contact with this cellphone.
    pub fn with_cellphone(cellphone: impl Into<String>) -> Self {
        ContactData {
            cellphone: Some(cellphone.into()),
            ..Self::default()
        }
    }
    /// Set the first name.
    pub fn firstname(mut self, v: impl Into<String>) -> Self {
        self.firstname = Some(v.into());
        self
    }
    /// Set the last name.
    pub fn lastname(mut self, v: impl Into<String>) -> Self {
        self.lastname = Some(v.into());
        self
    }
    /// Set the language.
    pub fn language(mut self, v: impl Into<String>) -> Self {
        self.language = Some(v.into());
        self
    }
    /// Set the cellphone.
    pub fn cellphone(mut self, v: impl Into<String>) -> Self {
        self.cellphone = Some(v.into());
        self
    }
    /// Set the creation date.
    pub fn creation_date(mut self, v: DateTime) -> Self {
        self.creation_date = Some(v);
        self
    }
    /// Add a custom field value.
    pub fn custom_field(mut self, v: CustomFieldValue) -> Self {
        self.custom_fields.push(v);
        self
    }
    /// Subscribe to a list.
    pub fn list(mut self, id: u64) -> Self {
        self.lists.push(id);
        self
    }

    /// This contact's unique key under `key`, or a clear error when it is missing.
    pub fn key_for(&self, key: &UniqueKey) -> Result<String> {
        let value = match key {
            UniqueKey::Email => self.email.as_deref().map(|e| e.trim().to_lowercase()),
            UniqueKey::Cellphone => self.cellphone.as_deref().map(|c| c.trim().to_string()),
            UniqueKey::CustomField(id) => self
                .custom_fields
                .iter()
                .find(|f| {
                    f.field == FieldRef::Id(*id) || f.field == FieldRef::Name(format!("c{id}"))
                })
                .and_then(|f| f.value.as_ref().map(|v| v.to_wire())),
        };
        match value {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Error::invalid(
                format!("{self:?}"),
                key.as_wire(),
                "the universe unique key is missing or empty",
            )),
        }
    }

    fn validate(&self, record: &str) -> Result<()> {
        for (name, value) in [
            ("email", &self.email),
            ("cellphone", &self.cellphone),
            ("firstname", &self.firstname),
            ("lastname", &self.lastname),
            ("language", &self.language),
        ] {
            if value.as_deref().is_some_and(|v| v.contains(['\n', '\r'])) {
                return Err(Error::invalid(record, name, "contains a line break"));
            }
        }
        for f in &self.custom_fields {
            if let Some(v) = &f.value {
                v.check(v.field_type(), &format!("{:?}", f.field))?;
            }
        }
        Ok(())
    }

    /// The common attributes; `skip` drops the unique-key attribute (it cannot be patched).
    fn attributes(&self, skip: Option<&UniqueKey>, hour: CreationDateHour) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.insert(name.into(), Value::String(v.clone()));
            }
        };
        if skip != Some(&UniqueKey::Email) {
            put(
                "email",
                &self.email.as_ref().map(|e| e.trim().to_lowercase()),
            );
        }
        if skip != Some(&UniqueKey::Cellphone) {
            put("cellphone", &self.cellphone);
        }
        put("firstname", &self.firstname);
        put("lastname", &self.lastname);
        put("language", &self.language);
        put(
            "creation_date",
            &self
                .creation_date
                .map(|d| d.strftime(hour.format()).to_string()),
        );
        let fields: Vec<Value> = self
            .custom_fields
            .iter()
            .filter(|f| match skip {
                Some(UniqueKey::CustomField(id)) => {
                    f.field != FieldRef::Id(*id) && f.field != FieldRef::Name(format!("c{id}"))
                }
                _ => true,
            })
            .map(CustomFieldValue::to_json)
            .collect();
        if !fields.is_empty() {
            m.insert("custom_fields".into(), Value::Array(fields));
        }
        m
    }

    /// Body of `POST /data/contacts` (and of each bulk item) with `creation_date`'s hour
    /// written as `hour`, as the client sends it (with its
    /// [`creation_date_hour`](crate::ClientBuilder::creation_date_hour)). For dry runs and logs.
    ///
    /// ```
    /// use splio_client::{ContactData, CreationDateHour};
    /// let c = ContactData::with_email("Ann@Example.com")
    ///     .firstname("Ann")
    ///     .creation_date(jiff::civil::date(2024, 1, 2).at(3, 4, 5, 0));
    /// assert_eq!(
    ///     c.create_body(CreationDateHour::Unpadded),
    ///     serde_json::json!({"email": "ann@example.com", "firstname": "Ann", "creation_date": "2024-01-02 3:04:05"})
    /// );
    /// ```
    pub fn create_body(&self, hour: CreationDateHour) -> Value {
        let mut m = self.attributes(None, hour);
        if !self.lists.is_empty() {
            let lists = self.lists.iter().map(|id| json!({ "id": id })).collect();
            m.insert("lists".into(), Value::Array(lists));
        }
        if let Some(d) = &self.double_optin {
            m.insert("double_optin".into(), d.clone());
        }
        Value::Object(m)
    }

    /// Body of `PATCH /data/contacts/{key}` in a universe keyed by `key`, with
    /// `creation_date`'s hour written as `hour`, as the client sends it: never `lists` (that
    /// would replace memberships), never the key itself. For dry runs and logs.
    ///
    /// ```
    /// use splio_client::{ContactData, CreationDateHour, UniqueKey};
    /// let c = ContactData::with_email("ann@example.com").lastname("Doe");
    /// assert_eq!(
    ///     c.patch_body(&UniqueKey::Email, CreationDateHour::default()),
    ///     serde_json::json!({"lastname": "Doe"})
    /// );
    /// ```
    pub fn patch_body(&self, key: &UniqueKey, hour: CreationDateHour) -> Value {
        Value::Object(self.attributes(Some(key), hour))
    }

    /// Body of one `POST /data/contacts/bulk` carrying `contacts` (at most [`BULK_MAX`]) with
    /// `creation_date`'s hour written as `hour`, as [`Client::bulk_create`] sends it. For dry
    /// runs and logs.
    ///
    /// ```
    /// use splio_client::{ContactData, CreationDateHour};
    /// let body = ContactData::bulk_body(
    ///     &[ContactData::with_email("a@example.com")],
    ///     CreationDateHour::default(),
    /// );
    /// assert_eq!(body, serde_json::json!({"contacts": [{"email": "a@example.com"}]}));
    /// ```
    pub fn bulk_body<'a>(
        contacts: impl IntoIterator<Item = &'a ContactData>,
        hour: CreationDateHour,
    ) -> Value {
        let contacts: Vec<Value> = contacts.into_iter().map(|c| c.create_body(hour)).collect();
        json!({ "contacts": contacts })
    }
}

/// The path of a contact, `/data/contacts/{key}` with the key percent-encoded, as the client
/// requests it.
///
/// ```
/// assert_eq!(splio_client::contact_path("a+b@example.com"), "/data/contacts/a%2Bb%40example.com");
/// ```
pub fn contact_path(key: &str) -> String {
    format!("/data/contacts/{}", segment(key))
}

/// One item of a 207 multi-status answer.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct MultiStatusItem {
    /// The contact key the item is about.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub contact_id: Option<String>,
    /// Per-item status (201, 204, 200, 400, 404).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub code: Option<i64>,
    /// Per-item message.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
}

/// A 207 multi-status answer `{time, errors, items}`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct MultiStatus {
    /// Processing time.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub time: Option<i64>,
    /// Number of failed items.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub errors: Option<i64>,
    /// Per-item results.
    #[serde(default, deserialize_with = "lenient::vec_or_empty")]
    pub items: Vec<MultiStatusItem>,
}

/// The outcome of one item of a batch helper.
#[derive(Debug)]
pub struct ItemOutcome<T> {
    /// Position of the item in the input.
    pub index: usize,
    /// The item's unique key (empty when it had none).
    pub key: String,
    /// What happened to it.
    pub result: Result<T>,
}

/// What an upsert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsertAction {
    /// The contact did not exist and was created.
    Created,
    /// The contact existed and was patched.
    Updated,
}

/// Per-item result of [`Client::upsert_many`].
pub type UpsertOutcome = ItemOutcome<UpsertAction>;

impl Client {
    /// Stream every contact (`GET /data/contacts`, 1,000 per page). Idempotent. (The search
    /// filter `fields` is not offered: its query-string encoding is undocumented.)
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// use futures::TryStreamExt;
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com"));
    /// let all: Vec<splio_client::Contact> = client.contacts().try_collect().await?;
    /// assert_eq!(all[0].email.as_deref(), Some("a@example.com"));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub fn contacts(&self) -> impl futures::Stream<Item = Result<Contact>> + Send + 'static {
        self.paged(|| Request::get("/data/contacts"))
    }

    /// One page of contacts (`GET /data/contacts`, `per_page` 1..1000). Its `count_element`
    /// is the universe's size, so page 1 tells in one request how many pages a full listing
    /// takes. Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// for i in 0..3 {
    ///     fake.seed_contact(splio_client::ContactData::with_email(format!("c{i}@example.com")));
    /// }
    /// let page = client.contacts_page(1, 2).await?;
    /// assert_eq!((page.count_element, page.elements.len()), (Some(3), 2));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn contacts_page(&self, page_number: u32, per_page: u32) -> Result<Page<Contact>> {
        if !(1..=1000).contains(&per_page) || page_number == 0 {
            return Err(Error::invalid(
                "contacts page",
                "per_page/page_number",
                "per_page must be 1..1000 and page_number at least 1",
            ));
        }
        self.page(Request::get("/data/contacts"), per_page, page_number)
            .await
    }

    /// `GET /data/contacts/{key}` (key percent-encoded). Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) -> splio_client::Result<()> {
    /// let contact = client.get_contact("jane+news@example.com").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_contact(&self, key: &str) -> Result<Contact> {
        self.json(Request::get(contact_path(key)), "contact").await
    }

    /// `POST /data/contacts`. Not idempotent (a repeat fails with "already exists"): retried only
    /// when the request provably did not reach Splio.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// use splio_client::ContactData;
    /// let created = client.create_contact(&ContactData::with_email("new@example.com").firstname("New")).await?;
    /// assert!(created.id.is_some());
    /// assert!(client.create_contact(&ContactData::with_email("new@example.com")).await.unwrap_err().is_already_exists());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn create_contact(&self, contact: &ContactData) -> Result<Contact> {
        let key = self.unique_key().await?;
        let id = contact.key_for(&key)?;
        contact.validate(&id)?;
        self.json(
            Request::post(
                "/data/contacts",
                contact.create_body(self.inner.creation_date_hour),
            ),
            "contact",
        )
        .await
    }

    /// `PATCH /data/contacts/{key}` with the given attributes. Idempotent. `contact.lists` and the
    /// unique-key attribute are not sent (use [`subscribe`](Self::subscribe)); a missing contact is
    /// a 404 error (see [`Error::is_not_found`]).
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// use splio_client::ContactData;
    /// fake.seed_contact(ContactData::with_email("a@example.com"));
    /// let patched = client.patch_contact("a@example.com", &ContactData::default().lastname("Doe")).await?;
    /// assert_eq!(patched.lastname.as_deref(), Some("Doe"));
    /// assert!(client.patch_contact("nobody@example.com", &ContactData::default()).await.unwrap_err().is_not_found());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn patch_contact(&self, key: &str, contact: &ContactData) -> Result<Contact> {
        let universe_key = self.unique_key().await?;
        contact.validate(key)?;
        let body = contact.patch_body(&universe_key, self.inner.creation_date_hour);
        self.json(Request::patch(contact_path(key), body), "contact")
            .await
    }

    /// `DELETE /data/contacts/{key}`. Idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com"));
    /// client.delete_contact("a@example.com").await?;
    /// assert!(fake.contact("a@example.com").is_none());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn delete_contact(&self, key: &str) -> Result<()> {
        self.send(Request::delete(contact_path(key)))
            .await
            .map(drop)
    }

    /// Add memberships: `POST /data/contacts/{key}/lists/subscribe`. Idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// let list = fake.seed_list("newsletter");
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com"));
    /// client.subscribe("a@example.com", &[list]).await?;
    /// assert!(fake.contact("a@example.com").unwrap().lists.contains(&list));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn subscribe(&self, key: &str, list_ids: &[u64]) -> Result<Contact> {
        self.lists_change(key, list_ids, "subscribe").await
    }

    /// Remove memberships: `POST /data/contacts/{key}/lists/unsubscribe`. Idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// let list = fake.seed_list("newsletter");
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com").list(list));
    /// client.unsubscribe("a@example.com", &[list]).await?;
    /// assert!(fake.contact("a@example.com").unwrap().lists.is_empty());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn unsubscribe(&self, key: &str, list_ids: &[u64]) -> Result<Contact> {
        self.lists_change(key, list_ids, "unsubscribe").await
    }

    async fn lists_change(&self, key: &str, list_ids: &[u64], action: &str) -> Result<Contact> {
        let path = format!("{}/lists/{action}", contact_path(key));
        let request = Request::post(path, json!({ "list_ids": list_ids }))
            .idempotency(Idempotency::Idempotent);
        self.json(request, "contact").await
    }

    /// Create or update one contact: PATCH, then POST on 404; list ids are subscribed after a
    /// patch. Idempotent as a whole.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) -> splio_client::Result<()> {
    /// use splio_client::{ContactData, UpsertAction};
    /// let action = client.upsert(&ContactData::with_email("jane@example.com").firstname("Jane")).await?;
    /// assert!(matches!(action, UpsertAction::Created | UpsertAction::Updated));
    /// # Ok(()) }
    /// ```
    pub async fn upsert(&self, contact: &ContactData) -> Result<UpsertAction> {
        let universe_key = self.unique_key().await?;
        let key = contact.key_for(&universe_key)?;
        match self.patch_contact(&key, contact).await {
            Ok(_) => {
                if !contact.lists.is_empty() {
                    self.subscribe(&key, &contact.lists).await?;
                }
                Ok(UpsertAction::Updated)
            }
            Err(e) if e.is_not_found() => match self.create_contact(contact).await {
                Ok(_) => Ok(UpsertAction::Created),
                // Created concurrently by someone else: patch it after all.
                Err(e) if e.is_already_exists() => {
                    self.patch_contact(&key, contact).await?;
                    if !contact.lists.is_empty() {
                        self.subscribe(&key, &contact.lists).await?;
                    }
                    Ok(UpsertAction::Updated)
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Create many contacts with `POST /data/contacts/bulk` (1,000 per request, chunks run
    /// concurrently within the rate limit). Returns one outcome per input item, in input order;
    /// items without a unique key fail locally and are not sent. Not idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// use splio_client::ContactData;
    /// fake.seed_contact(ContactData::with_email("taken@example.com"));
    /// let out = client.bulk_create(&[ContactData::with_email("new@example.com"), ContactData::with_email("taken@example.com")]).await?;
    /// assert!(out[0].result.is_ok());
    /// assert!(out[1].result.as_ref().unwrap_err().is_already_exists());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn bulk_create(&self, contacts: &[ContactData]) -> Result<Vec<ItemOutcome<()>>> {
        let universe_key = self.unique_key().await?;
        let mut outcomes: Vec<Option<ItemOutcome<()>>> =
            (0..contacts.len()).map(|_| None).collect();
        let mut valid = Vec::new();
        for (index, c) in contacts.iter().enumerate() {
            match c
                .key_for(&universe_key)
                .and_then(|k| c.validate(&k).map(|_| k))
            {
                Ok(key) => valid.push((index, key)),
                Err(e) => {
                    outcomes[index] = Some(ItemOutcome {
                        index,
                        key: String::new(),
                        result: Err(e),
                    })
                }
            }
        }
        let chunks: Vec<Vec<(usize, String)>> = valid.chunks(BULK_MAX).map(<[_]>::to_vec).collect();
        let hour = self.inner.creation_date_hour;
        let results = futures::stream::iter(chunks.into_iter().map(|chunk| async move {
            let body = ContactData::bulk_body(chunk.iter().map(|(i, _)| &contacts[*i]), hour);
            let result = self
                .json::<MultiStatus>(Request::post("/data/contacts/bulk", body), "multi-status")
                .await;
            (chunk, result)
        }))
        .buffer_unordered(self.inner.concurrency)
        .collect::<Vec<_>>()
        .await;
        let mut unknown = Vec::new();
        for (chunk, result) in results {
            for o in multi_status_outcomes(&chunk, result, 201) {
                let index = o.index;
                if matches!(o.result, Err(Error::OutcomeUnknown { .. })) {
                    unknown.push((index, o.key.clone()));
                }
                outcomes[index] = Some(o);
            }
        }
        // The answer left these out: the create may have happened. Look before concluding.
        let found = futures::stream::iter(unknown.into_iter().map(|(index, key)| async move {
            let exists = match self.get_contact(&key).await {
                Ok(_) => Some(true),
                Err(e) if e.is_not_found() => Some(false),
                Err(e) => {
                    tracing::warn!(%key, error = %e, "could not look up a contact whose bulk outcome is unknown");
                    None
                }
            };
            (index, key, exists)
        }))
        .buffer_unordered(self.inner.concurrency)
        .collect::<Vec<_>>()
        .await;
        for (index, key, exists) in found {
            outcomes[index] = Some(ItemOutcome {
                index,
                key: key.clone(),
                result: Err(Error::OutcomeUnknown { key, exists }),
            });
        }
        Ok(outcomes.into_iter().flatten().collect())
    }

    /// Delete many contacts by key with `DELETE /data/contacts/bulk` (1,000 per request; Splio
    /// deletes asynchronously). Per-item outcomes (204 deleted, 404 unknown). Idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com"));
    /// let out = client.bulk_delete(&["a@example.com".into(), "nobody@example.com".into()]).await;
    /// assert!(out[0].result.is_ok() && out[1].result.as_ref().unwrap_err().is_not_found());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn bulk_delete(&self, keys: &[String]) -> Vec<ItemOutcome<()>> {
        self.key_batches(keys, Request::delete("/data/contacts/bulk"), 204)
            .await
    }

    /// Opt many contacts out of all lists with `POST /data/contacts/optout` (1,000 per request).
    /// Idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// let list = fake.seed_list("newsletter");
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com").list(list));
    /// let out = client.optout(&["a@example.com".into()]).await;
    /// assert!(out[0].result.is_ok());
    /// assert!(fake.contact("a@example.com").unwrap().lists.is_empty());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn optout(&self, keys: &[String]) -> Vec<ItemOutcome<()>> {
        let template = Request::new(reqwest::Method::POST, "/data/contacts/optout")
            .idempotency(Idempotency::Idempotent);
        self.key_batches(keys, template, 200).await
    }

    async fn key_batches(
        &self,
        keys: &[String],
        template: Request,
        success: i64,
    ) -> Vec<ItemOutcome<()>> {
        let indexed: Vec<(usize, String)> = keys.iter().cloned().enumerate().collect();
        let chunks: Vec<Vec<(usize, String)>> =
            indexed.chunks(BULK_MAX).map(<[_]>::to_vec).collect();
        let template = &template;
        let mut results = futures::stream::iter(chunks.into_iter().map(|chunk| async move {
            let body = json!({ "contacts": chunk.iter().map(|(_, k)| k).collect::<Vec<_>>() });
            let result = self
                .json::<MultiStatus>(template.clone().json(body), "multi-status")
                .await;
            (chunk, result)
        }))
        .buffer_unordered(self.inner.concurrency)
        .flat_map(|(chunk, result)| {
            futures::stream::iter(multi_status_outcomes(&chunk, result, success))
        })
        .collect::<Vec<_>>()
        .await;
        results.sort_by_key(|o| o.index);
        results
    }

    /// Create or update many contacts: bulk-create them (1,000 per request), then PATCH (and
    /// subscribe lists for) the ones Splio reports as already existing. One outcome per input
    /// item, in input order; one bad item never sinks the rest.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) -> splio_client::Result<()> {
    /// use splio_client::ContactData;
    /// let batch = vec![ContactData::with_email("a@example.com"), ContactData::with_email("b@example.com")];
    /// for outcome in client.upsert_many(&batch).await? {
    ///     if let Err(e) = &outcome.result { eprintln!("{}: {e}", outcome.key); }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn upsert_many(&self, contacts: &[ContactData]) -> Result<Vec<UpsertOutcome>> {
        let created = self.bulk_create(contacts).await?;
        let results = futures::stream::iter(created.into_iter().map(|o| async move {
            let result = match o.result {
                Ok(()) => Ok(UpsertAction::Created),
                Err(e) if e.is_already_exists() => {
                    let contact = &contacts[o.index];
                    match self.patch_contact(&o.key, contact).await {
                        Ok(_) if !contact.lists.is_empty() => self
                            .subscribe(&o.key, &contact.lists)
                            .await
                            .map(|_| UpsertAction::Updated),
                        Ok(_) => Ok(UpsertAction::Updated),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            ItemOutcome {
                index: o.index,
                key: o.key,
                result,
            }
        }))
        .buffer_unordered(self.inner.concurrency)
        .collect::<Vec<_>>()
        .await;
        let mut results = results;
        results.sort_by_key(|o| o.index);
        Ok(results)
    }
}

/// How Splio spells a key in `contact_id`: trimmed, lower case (emails are case-insensitive;
/// the documented answers show them in lower case).
fn normalised(key: &str) -> String {
    key.trim().to_lowercase()
}

/// Match a multi-status answer back to the chunk's items: an item to the input its
/// `contact_id` names (normalised), then, when the answer has one item per input, the items
/// still unmatched to the inputs at their positions. An input left without an item is
/// [`Error::OutcomeUnknown`]. A failed request fails every item of its chunk with the
/// request's status (retryable when the request was).
fn multi_status_outcomes(
    chunk: &[(usize, String)],
    result: Result<MultiStatus>,
    success: i64,
) -> Vec<ItemOutcome<()>> {
    let status = match result {
        Ok(s) => s,
        Err(e) => {
            let code = e.status().unwrap_or(0);
            let description = e.to_string();
            return chunk
                .iter()
                .map(|(index, key)| ItemOutcome {
                    index: *index,
                    key: key.clone(),
                    result: Err(Error::Item {
                        key: key.clone(),
                        code,
                        description: description.clone(),
                    }),
                })
                .collect();
        }
    };
    let mut by_key: HashMap<String, VecDeque<usize>> = HashMap::new();
    for (pos, (_, key)) in chunk.iter().enumerate() {
        by_key.entry(normalised(key)).or_default().push_back(pos);
    }
    let mut matched: Vec<Option<&MultiStatusItem>> = vec![None; chunk.len()];
    let mut unmatched = Vec::new();
    for (n, item) in status.items.iter().enumerate() {
        let pos = item
            .contact_id
            .as_deref()
            .and_then(|id| by_key.get_mut(&normalised(id)))
            .and_then(VecDeque::pop_front);
        match pos {
            Some(pos) => matched[pos] = Some(item),
            None => unmatched.push((n, item)),
        }
    }
    if status.items.len() == chunk.len() {
        for (n, item) in unmatched {
            if matched[n].is_none() {
                matched[n] = Some(item);
            }
        }
    } else if !unmatched.is_empty() {
        tracing::warn!(
            items = status.items.len(),
            inputs = chunk.len(),
            unmatched = unmatched.len(),
            "multi-status items name no input and the counts differ: those outcomes are unknown"
        );
    }
    chunk
        .iter()
        .zip(matched)
        .map(|((index, key), item)| {
            let result = match item {
                Some(item)
                    if item
                        .code
                        .is_some_and(|c| c == success || (200..300).contains(&c)) =>
                {
                    Ok(())
                }
                Some(item) => Err(Error::Item {
                    key: key.clone(),
                    code: item.code.unwrap_or(0).clamp(0, u16::MAX as i64) as u16,
                    description: item.description.clone().unwrap_or_default(),
                }),
                None => Err(Error::OutcomeUnknown {
                    key: key.clone(),
                    exists: None,
                }),
            };
            ItemOutcome {
                index: *index,
                key: key.clone(),
                result,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldValue;

    #[test]
    fn patch_body_omits_key_and_lists() {
        let c = ContactData::with_email("A@B.com").firstname("A").list(3);
        let h = CreationDateHour::Unpadded;
        assert_eq!(c.patch_body(&UniqueKey::Email, h), json!({"firstname":"A"}));
        assert_eq!(
            c.create_body(h),
            json!({"email":"a@b.com","firstname":"A","lists":[{"id":3}]})
        );
        let c = ContactData::default().custom_field(CustomFieldValue::by_id(0, "K1"));
        assert_eq!(c.key_for(&UniqueKey::CustomField(0)).unwrap(), "K1");
        assert_eq!(c.patch_body(&UniqueKey::CustomField(0), h), json!({}));
        assert!(ContactData::default().key_for(&UniqueKey::Email).is_err());
        let d = ContactData::with_email("x@y.z")
            .creation_date(jiff::civil::date(2024, 1, 2).at(3, 4, 5, 0));
        assert_eq!(d.create_body(h)["creation_date"], "2024-01-02 3:04:05");
        assert_eq!(
            d.create_body(CreationDateHour::ZeroPadded)["creation_date"],
            "2024-01-02 03:04:05"
        );
        let d = ContactData::with_email("x@y.z")
            .creation_date(jiff::civil::date(2024, 1, 2).at(0, 0, 0, 0));
        assert_eq!(d.create_body(h)["creation_date"], "2024-01-02 0:00:00");
        let f = ContactData::with_email("x@y.z")
            .custom_field(CustomFieldValue::by_name("n", FieldValue::Double(f64::NAN)));
        assert!(f.validate("x").is_err());
    }

    #[test]
    fn contact_decodes_leniently() {
        let c: Contact = serde_json::from_str(
            r#"{"email":"a@b.c","date_added":"2018-01-24 15:00:00","custom_fields":[{"id":"3","name":"n","value":12.5,"data_type":"double"}],"lists":{},"loyalty":null}"#,
        )
        .unwrap();
        assert_eq!(c.creation_date.as_deref(), Some("2018-01-24 15:00:00"));
        assert_eq!(c.custom_field(&FieldRef::Id(3)), Some("12.5"));
        assert!(c.lists.is_empty() && c.id.is_none());
    }

    #[test]
    fn multi_status_matches_by_key() {
        let chunk = vec![(0, "a@x.com".to_string()), (1, "b@x.com".to_string())];
        let status: MultiStatus = serde_json::from_str(
            r#"{"time":59,"errors":1,"items":[{"contact_id":"B@x.com","code":400,"description":"Contact with unique key b@x.com already exists"},{"contact_id":"a@x.com","code":"201","description":""}]}"#,
        )
        .unwrap();
        let out = multi_status_outcomes(&chunk, Ok(status), 201);
        assert!(out[0].result.is_ok());
        assert!(out[1].result.as_ref().unwrap_err().is_already_exists());
    }
}
