//! Custom fields: definitions (list, create, delete) and typed values.

use futures::Stream;
use jiff::civil::DateTime;
use serde::{Deserialize, Serialize};

use crate::client::{Client, Request, segment};
use crate::error::{Error, Result};
use crate::lenient;

/// The type of a custom field (`POST /data/fields` `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Free text.
    Text,
    /// Integer.
    Int,
    /// Floating point.
    Double,
    /// Date and time, sent as `YYYY-MM-DD HH:MM:SS`.
    Date,
}

impl FieldType {
    fn lenient(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" | "string" => Some(FieldType::Text),
            "int" | "integer" => Some(FieldType::Int),
            "double" | "float" => Some(FieldType::Double),
            "date" | "datetime" => Some(FieldType::Date),
            _ => None,
        }
    }
}

/// The date format Splio uses for custom field values and `creation_date`.
pub(crate) const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// A typed custom-field value; encoded on the wire as a string.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// Text.
    Text(String),
    /// Integer.
    Int(i64),
    /// Double (must be finite).
    Double(f64),
    /// Date, sent as `YYYY-MM-DD HH:MM:SS` in the API user's time zone.
    Date(DateTime),
}

impl FieldValue {
    /// The field type this value belongs to.
    pub fn field_type(&self) -> FieldType {
        match self {
            FieldValue::Text(_) => FieldType::Text,
            FieldValue::Int(_) => FieldType::Int,
            FieldValue::Double(_) => FieldType::Double,
            FieldValue::Date(_) => FieldType::Date,
        }
    }

    /// The wire string.
    pub fn to_wire(&self) -> String {
        match self {
            FieldValue::Text(s) => s.clone(),
            FieldValue::Int(i) => i.to_string(),
            FieldValue::Double(d) => d.to_string(),
            FieldValue::Date(d) => d.strftime(DATE_FORMAT).to_string(),
        }
    }

    /// Parse a raw value (e.g. from a warehouse column) as a field of type `ty`, failing with a
    /// clear [`Error::InvalidInput`] before anything is sent. Dates accept `YYYY-MM-DD HH:MM:SS`,
    /// `YYYY-MM-DDTHH:MM:SS` and `YYYY-MM-DD`.
    ///
    /// ```
    /// use splio_client::{FieldType, FieldValue};
    /// assert_eq!(FieldValue::parse(FieldType::Int, "42").unwrap(), FieldValue::Int(42));
    /// assert_eq!(FieldValue::parse(FieldType::Date, "2024-05-01").unwrap().to_wire(), "2024-05-01 00:00:00");
    /// assert!(FieldValue::parse(FieldType::Int, "4.2").is_err());
    /// ```
    pub fn parse(ty: FieldType, raw: &str) -> Result<Self> {
        let fail = |why: &str| Error::invalid(format!("value {raw:?}"), format!("{ty:?}"), why);
        let t = raw.trim();
        Ok(match ty {
            FieldType::Text => FieldValue::Text(raw.to_string()),
            FieldType::Int => FieldValue::Int(t.parse().map_err(|_| fail("not an integer"))?),
            FieldType::Double => {
                let d: f64 = t.parse().map_err(|_| fail("not a number"))?;
                if !d.is_finite() {
                    return Err(fail("not a finite number"));
                }
                FieldValue::Double(d)
            }
            FieldType::Date => FieldValue::Date(
                DateTime::strptime(DATE_FORMAT, t)
                    .or_else(|_| t.parse::<DateTime>())
                    .map_err(|_| fail("not a date (YYYY-MM-DD HH:MM:SS)"))?,
            ),
        })
    }

    /// Check this value against a field's declared type.
    pub fn check(&self, ty: FieldType, field: &str) -> Result<()> {
        if self.field_type() == ty {
            return match self {
                FieldValue::Double(d) if !d.is_finite() => Err(Error::invalid(
                    "custom field",
                    field,
                    "double must be finite",
                )),
                _ => Ok(()),
            };
        }
        Err(Error::invalid(
            "custom field",
            field,
            format!(
                "value {:?} is {:?} but the field is of type {ty:?}",
                self.to_wire(),
                self.field_type()
            ),
        ))
    }
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> Self {
        FieldValue::Text(s.to_string())
    }
}
impl From<String> for FieldValue {
    fn from(s: String) -> Self {
        FieldValue::Text(s)
    }
}
impl From<i64> for FieldValue {
    fn from(i: i64) -> Self {
        FieldValue::Int(i)
    }
}
impl From<f64> for FieldValue {
    fn from(d: f64) -> Self {
        FieldValue::Double(d)
    }
}
impl From<DateTime> for FieldValue {
    fn from(d: DateTime) -> Self {
        FieldValue::Date(d)
    }
}

/// How a custom field is addressed in a contact body: by numeric id (preferred) or by name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FieldRef {
    /// Numeric id (`c5` → 5).
    Id(u32),
    /// Field name.
    Name(String),
}

/// `custom field 5` or `custom field "name"`, as error messages name it.
///
/// ```
/// assert_eq!(splio_client::FieldRef::Id(5).to_string(), "custom field 5");
/// assert_eq!(splio_client::FieldRef::Name("shoe size".into()).to_string(), "custom field \"shoe size\"");
/// ```
impl std::fmt::Display for FieldRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldRef::Id(id) => write!(f, "custom field {id}"),
            FieldRef::Name(name) => write!(f, "custom field {name:?}"),
        }
    }
}

/// A custom field value in a contact write: `{"id":5,"value":"…"}` or `{"name":"foo","value":"…"}`.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomFieldValue {
    /// Which field.
    pub field: FieldRef,
    /// The value; `None` clears it (sent as `""`).
    pub value: Option<FieldValue>,
}

impl CustomFieldValue {
    /// A value for the field with numeric id `id` (preferred addressing).
    pub fn by_id(id: u32, value: impl Into<FieldValue>) -> Self {
        CustomFieldValue {
            field: FieldRef::Id(id),
            value: Some(value.into()),
        }
    }

    /// A value for the field named `name`.
    pub fn by_name(name: impl Into<String>, value: impl Into<FieldValue>) -> Self {
        CustomFieldValue {
            field: FieldRef::Name(name.into()),
            value: Some(value.into()),
        }
    }

    /// Clear the field (sends an empty string).
    pub fn cleared(field: FieldRef) -> Self {
        CustomFieldValue { field, value: None }
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        let value = self
            .value
            .as_ref()
            .map(FieldValue::to_wire)
            .unwrap_or_default();
        match &self.field {
            FieldRef::Id(id) => serde_json::json!({ "id": id, "value": value }),
            FieldRef::Name(name) => serde_json::json!({ "name": name, "value": value }),
        }
    }
}

/// A custom field definition from `GET /data/fields/contacts`. The documented answer (the
/// OpenAPI example, and go-splio's `FieldElement`) names no type: see [`FieldSchema`].
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Field {
    /// Numeric id (`c5` → 5).
    #[serde(deserialize_with = "lenient::opt_i64", default)]
    pub id: Option<i64>,
    /// Internal id (may be null).
    #[serde(deserialize_with = "lenient::opt_i64", default)]
    pub intid: Option<i64>,
    /// Field name.
    #[serde(default)]
    pub name: String,
    /// Whether Splio created it.
    #[serde(default)]
    pub is_system: Option<bool>,
    /// Fill rate (may be null).
    #[serde(deserialize_with = "lenient::opt_i64", default)]
    pub filling: Option<i64>,
    /// Distinct values (may be null).
    #[serde(deserialize_with = "lenient::opt_i64", default)]
    pub unique_values: Option<i64>,
    /// Display label.
    #[serde(default)]
    pub label: Option<String>,
    /// Translation key.
    #[serde(default)]
    pub translation_key: Option<String>,
    /// Field key.
    #[serde(default)]
    pub field_key: Option<String>,
    /// A `data_type`, should an answer carry one. The documented answer does not, so this is
    /// normally `None`: the type is unknown, not text.
    #[serde(default, deserialize_with = "field_type_opt")]
    pub data_type: Option<FieldType>,
}

fn field_type_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<FieldType>, D::Error> {
    Ok(lenient::opt_string(d)?.and_then(|s| FieldType::lenient(&s)))
}

/// Answer of `POST /data/fields`: the one documented answer that names a field's type.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct CreatedField {
    /// Numeric id of the new field.
    #[serde(deserialize_with = "lenient::opt_i64", default)]
    pub id: Option<i64>,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its type.
    #[serde(default, deserialize_with = "field_type_opt")]
    pub data_type: Option<FieldType>,
}

/// The custom fields a universe has and, where known, their types: to turn raw values (e.g.
/// warehouse columns) into typed values and to check a contact before it is sent, with a clear
/// error naming the field.
///
/// Splio's field list (`GET /data/fields/contacts`) names the fields but not their types, so a
/// schema built [`from_fields`](Self::from_fields) knows which fields exist and leaves their
/// types unknown. Types come from [`with`](Self::with) (your own declaration) or
/// [`with_created`](Self::with_created) (the answer of a field creation). [`check`](Self::check)
/// returns the fields it could not check, never a silent pass.
///
/// ```
/// use splio_client::{ContactData, CustomFieldValue, FieldRef, FieldSchema, FieldType};
/// let schema = FieldSchema::default()
///     .with(FieldRef::Id(5), FieldType::Date)
///     .with(FieldRef::Name("points".into()), FieldType::Int);
/// let birthday = schema.value(FieldRef::Id(5), "1990-02-03 00:00:00").unwrap().value;
/// assert!(schema.value(FieldRef::Name("points".into()), "many").is_err());
/// let contact = ContactData::with_email("a@b.c").custom_field(CustomFieldValue::by_id(5, 12));
/// assert!(schema.check(&contact).is_err()); // an Int sent to a date field
/// let other = ContactData::with_email("a@b.c").custom_field(CustomFieldValue::by_id(9, "x"));
/// assert_eq!(schema.check(&other).unwrap(), vec![FieldRef::Id(9)]); // not checked
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSchema {
    /// Every known field, with its type when someone named it.
    types: std::collections::HashMap<FieldRef, Option<FieldType>>,
}

impl FieldSchema {
    /// Declare a field's type.
    pub fn with(mut self, field: FieldRef, ty: FieldType) -> Self {
        self.types.insert(field, Some(ty));
        self
    }

    /// The fields a universe lists, by id and by name. Their types stay unknown unless an answer
    /// carried a `data_type` (the documented one does not).
    pub fn from_fields<'a>(fields: impl IntoIterator<Item = &'a Field>) -> Self {
        let mut schema = FieldSchema::default();
        for f in fields {
            schema.insert(f.id, &f.name, f.data_type);
        }
        schema
    }

    /// Add a field as its creation answered (`POST /data/fields`), with the type it names.
    pub fn with_created(mut self, field: &CreatedField) -> Self {
        self.insert(field.id, &field.name, field.data_type);
        self
    }

    fn insert(&mut self, id: Option<i64>, name: &str, ty: Option<FieldType>) {
        if let Some(id) = id.and_then(|id| u32::try_from(id).ok()) {
            self.types.insert(FieldRef::Id(id), ty);
        }
        if !name.is_empty() {
            self.types.insert(FieldRef::Name(name.to_owned()), ty);
        }
    }

    /// Whether the schema knows this field (with or without its type).
    pub fn contains(&self, field: &FieldRef) -> bool {
        self.types.contains_key(field)
    }

    /// The field's type, when known.
    pub fn field_type(&self, field: &FieldRef) -> Option<FieldType> {
        self.types.get(field).copied().flatten()
    }

    /// Parse a raw value for `field` by its type. A field whose type the schema does not know
    /// (Splio's field list names none) takes the value as text, and the outcome says so
    /// ([`SchemaValue::checked_as`] is `None`): Splio then checks it.
    ///
    /// ```
    /// use splio_client::{FieldRef, FieldSchema, FieldType, FieldValue};
    /// let schema = FieldSchema::default().with(FieldRef::Id(5), FieldType::Int);
    /// let known = schema.value(FieldRef::Id(5), "42")?;
    /// assert_eq!(known.checked_as, Some(FieldType::Int));
    /// let unknown = schema.value(FieldRef::Id(9), "42")?;
    /// assert_eq!(unknown.checked_as, None); // sent as text, not checked
    /// assert_eq!(unknown.value.value, Some(FieldValue::Text("42".into())));
    /// # Ok::<(), splio_client::Error>(())
    /// ```
    pub fn value(&self, field: FieldRef, raw: &str) -> Result<SchemaValue> {
        let checked_as = self.field_type(&field);
        let ty = checked_as.unwrap_or(FieldType::Text);
        let value = FieldValue::parse(ty, raw).map_err(|e| match e {
            Error::InvalidInput { reason, .. } => {
                Error::invalid(format!("value {raw:?}"), field.to_string(), reason)
            }
            other => other,
        })?;
        Ok(SchemaValue {
            value: CustomFieldValue {
                field,
                value: Some(value),
            },
            checked_as,
        })
    }

    /// Check every custom field value of a contact against its field's type. Fails on the first
    /// value of the wrong type; otherwise returns the fields it could not check (type unknown,
    /// or not in the schema), in the contact's order.
    pub fn check(&self, contact: &crate::ContactData) -> Result<Vec<FieldRef>> {
        let mut unchecked = Vec::new();
        for f in &contact.custom_fields {
            match (self.field_type(&f.field), &f.value) {
                (Some(ty), Some(v)) => v.check(ty, &f.field.to_string())?,
                (Some(_), None) => {}
                (None, _) => unchecked.push(f.field.clone()),
            }
        }
        Ok(unchecked)
    }
}

/// A value [`FieldSchema::value`] parsed, and whether its type was known.
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaValue {
    /// The value, ready for [`ContactData::custom_field`](crate::ContactData::custom_field).
    pub value: CustomFieldValue,
    /// The type it was parsed and checked as; `None` when the schema does not know the field's
    /// type, so it was taken as text unchecked.
    pub checked_as: Option<FieldType>,
}

impl Client {
    /// Stream every contact custom field (`GET /data/fields/contacts`, paged). Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) -> splio_client::Result<()> {
    /// use futures::TryStreamExt;
    /// let fields: Vec<splio_client::Field> = client.contact_fields().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn contact_fields(&self) -> impl Stream<Item = Result<Field>> + Send + 'static {
        self.paged(|| Request::get("/data/fields/contacts"))
    }

    /// Create a contact custom field (`POST /data/fields`, scope `contacts`). Not idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::FieldType;
    /// let field = client.create_contact_field("loyalty_tier", FieldType::Text).await?;
    /// assert_eq!(field.data_type, Some(FieldType::Text));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn create_contact_field(&self, name: &str, ty: FieldType) -> Result<CreatedField> {
        if name.trim().is_empty() {
            return Err(Error::invalid("new field", "name", "must not be empty"));
        }
        let body = serde_json::json!({ "scope": "contacts", "name": name, "type": ty });
        self.json(Request::post("/data/fields", body), "created field")
            .await
    }

    /// Delete a contact custom field by numeric id (`DELETE /data/fields/contacts/{id}`). Idempotent
    /// (a second delete answers 404).
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// let id = fake.seed_field("old", splio_client::FieldType::Int);
    /// client.delete_contact_field(id).await?;
    /// assert!(client.delete_contact_field(id).await.unwrap_err().is_not_found());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn delete_contact_field(&self, id: u32) -> Result<()> {
        let path = format!("/data/fields/contacts/{}", segment(&id.to_string()));
        self.send(Request::delete(path)).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values() {
        let d = FieldValue::parse(FieldType::Date, "2024-01-02 03:04:05").unwrap();
        assert_eq!(d.to_wire(), "2024-01-02 03:04:05");
        assert!(FieldValue::parse(FieldType::Double, "NaN").is_err());
        assert_eq!(
            FieldValue::parse(FieldType::Double, "1.5")
                .unwrap()
                .to_wire(),
            "1.5"
        );
        let err = FieldValue::Int(3)
            .check(FieldType::Date, "birthday")
            .unwrap_err();
        assert!(err.to_string().contains("birthday"), "{err}");
        assert_eq!(
            CustomFieldValue::by_id(5, 7).to_json(),
            serde_json::json!({"id":5,"value":"7"})
        );
    }
}
