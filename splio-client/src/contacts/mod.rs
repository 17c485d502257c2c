//! Contacts: the types (what Splio returns, what we send), then the operations by concern:
//! [`single`] (list, get, create, patch, delete, subscribe/unsubscribe, upsert) and [`bulk`]
//! (bulk create/delete, opt-out, upsert of many, and matching 207 items to their inputs).

mod bulk;
mod single;

use jiff::civil::DateTime;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::client::segment;
use crate::error::{Error, Result};
use crate::fields::{CustomFieldValue, FieldRef};
use crate::lenient;
use crate::universe::UniqueKey;

pub use bulk::{ContactOutcome, MultiStatus, MultiStatusItem};
pub(crate) use bulk::{all_failed, chunk_failed};

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
    /// Consent events to record (`tracking_consent`, on create and on PATCH); empty sends none.
    pub tracking_consent: Vec<TrackingConsent>,
}

/// One consent event of `tracking_consent` on `POST /data/contacts` and `PATCH
/// /data/contacts/{id}` (OpenAPI document: `channel`, `scope`, `enabled`, optional `source` and
/// `date` `YYYY-MM-DD HH:mm:ss` in the universe's time zone, "defaults to current date").
/// Splio supports only channel `email` and scope `open` so far; other values are sent as given.
///
/// ```
/// use splio_client::{ContactData, CreationDateHour, TrackingConsent};
/// let c = ContactData::with_email("a@example.com").tracking_consent(
///     TrackingConsent::email_open(false)
///         .source("shop")
///         .date(jiff::civil::date(2026, 7, 1).at(10, 0, 0, 0)),
/// );
/// assert_eq!(
///     c.create_body(CreationDateHour::default())["tracking_consent"],
///     serde_json::json!([{"channel": "email", "scope": "open", "enabled": false, "source": "shop", "date": "2026-07-01 10:00:00"}])
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingConsent {
    /// Channel (`email`).
    pub channel: String,
    /// Scope (`open`).
    pub scope: String,
    /// Opted in (`true`) or out (`false`).
    pub enabled: bool,
    /// Where the consent was given, e.g. `shopify`.
    pub source: Option<String>,
    /// When, in the universe's time zone (Splio uses the current date when absent).
    pub date: Option<DateTime>,
}

impl TrackingConsent {
    /// Email-open tracking consent given (`true`) or withdrawn (`false`).
    pub fn email_open(enabled: bool) -> Self {
        TrackingConsent {
            channel: "email".into(),
            scope: "open".into(),
            enabled,
            source: None,
            date: None,
        }
    }

    /// Set the source.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Set the date.
    pub fn date(mut self, date: DateTime) -> Self {
        self.date = Some(date);
        self
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("channel".into(), json!(self.channel));
        m.insert("scope".into(), json!(self.scope));
        m.insert("enabled".into(), json!(self.enabled));
        if let Some(source) = &self.source {
            m.insert("source".into(), json!(source));
        }
        if let Some(date) = &self.date {
            m.insert(
                "date".into(),
                json!(date.strftime(crate::fields::DATE_FORMAT).to_string()),
            );
        }
        Value::Object(m)
    }
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
    /// Add a consent event.
    pub fn tracking_consent(mut self, v: TrackingConsent) -> Self {
        self.tracking_consent.push(v);
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
            // Name the key field, never the contact (its values may be personal data).
            _ => Err(Error::invalid(
                "a contact without a unique key",
                key.as_wire(),
                format!(
                    "the universe unique key `{}` is missing or empty",
                    key.as_wire()
                ),
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
                v.check(v.field_type(), &f.field.to_string())?;
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
        if !self.tracking_consent.is_empty() {
            let events = self.tracking_consent.iter().map(TrackingConsent::to_json);
            m.insert("tracking_consent".into(), Value::Array(events.collect()));
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
    /// `creation_date`'s hour written as `hour`, as [`Client::bulk_create`](crate::Client::bulk_create) sends it. For dry
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

/// What an update-only operation ([`Client::update`](crate::Client::update),
/// [`Client::update_many`](crate::Client::update_many)) did: it never creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateAction {
    /// The contact existed and was patched (and subscribed to its lists).
    Updated,
    /// No contact has this key (`404`): nothing was created.
    NotFound,
}

/// What an upsert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsertAction {
    /// The contact did not exist and was created.
    Created,
    /// The contact existed and was patched.
    Updated,
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
}
