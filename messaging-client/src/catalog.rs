//! The catalog (`GET /v1/addressbooks`): address books and their custom fields, and
//! [`FieldCatalog`], which turns field names into ids.

use reqwest::Method;
use serde::Deserialize;

use crate::client::{Client, Request};
use crate::contacts::ContactField;
use crate::de;
use crate::error::{Error, Result};

/// An address book (catalog) with its field groups.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AddressBook {
    /// Id.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub address_book_id: Option<i64>,
    /// Name.
    #[serde(default, deserialize_with = "de::string_lenient")]
    pub name: String,
    /// Field groups (one group may arrive as an object).
    #[serde(default, deserialize_with = "de::one_or_many")]
    pub field_groups: Vec<FieldGroup>,
}

/// A group of custom fields.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct FieldGroup {
    /// Group name.
    #[serde(default, deserialize_with = "de::string_lenient")]
    pub name: String,
    /// Fields.
    #[serde(default, deserialize_with = "de::one_or_many")]
    pub fields: Vec<FieldInfo>,
}

/// A custom field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct FieldInfo {
    /// Field id (goes into `fields[].id` and `customFieldsIDs`).
    #[serde(deserialize_with = "de::i64_lenient")]
    pub id: i64,
    /// Field name.
    #[serde(default, deserialize_with = "de::string_lenient")]
    pub name: String,
    /// Type and constraints.
    #[serde(default)]
    pub description: FieldDescription,
}

/// A field's type and constraints.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FieldDescription {
    /// `textfield`, `combobox`, `checkboxlist`, `textarea`, `date`, `number`, `datetime`,
    /// `decimal`, verbatim: OA spells them upper-case (`COMBOBOX`), the guide lower-case, so
    /// compare with `eq_ignore_ascii_case`.
    #[serde(rename = "type", default, deserialize_with = "de::string_lenient")]
    pub kind: String,
    /// Required.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub required: bool,
    /// Read-only.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub readonly: bool,
    /// Allowed values (combobox, checkboxlist).
    #[serde(default)]
    pub allowed_values: Option<AllowedValues>,
}

/// Allowed values of a field.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AllowedValues {
    /// The choices.
    #[serde(default, deserialize_with = "de::one_or_many")]
    pub possible_values: Vec<String>,
    /// Minimum.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub min_value: Option<i64>,
    /// Maximum.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub max_value: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddressBooksResponse {
    #[serde(default, deserialize_with = "de::one_or_many")]
    address_book: Vec<AddressBook>,
}

/// Every custom field of the account, looked up by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldCatalog {
    fields: Vec<FieldInfo>,
}

impl FieldCatalog {
    /// A catalog over the fields of these address books.
    pub fn new(books: &[AddressBook]) -> Self {
        FieldCatalog {
            fields: books
                .iter()
                .flat_map(|b| &b.field_groups)
                .flat_map(|g| g.fields.iter().cloned())
                .collect(),
        }
    }

    /// The field called `name`: exact match first, then a unique case-insensitive match.
    pub fn field(&self, name: &str) -> Option<&FieldInfo> {
        self.fields.iter().find(|f| f.name == name).or_else(|| {
            let mut it = self
                .fields
                .iter()
                .filter(|f| f.name.eq_ignore_ascii_case(name));
            match (it.next(), it.next()) {
                (Some(f), None) => Some(f),
                _ => None,
            }
        })
    }

    /// The id of the field called `name`.
    pub fn id(&self, name: &str) -> Option<i64> {
        self.field(name).map(|f| f.id)
    }

    /// Turns `{"Gender": "F"}`-style pairs into `fields` entries, checking names and the
    /// allowed values of combobox fields. The error names the offending field.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use messaging_client::prelude::*;
    /// let fake = messaging_client::fake::FakeMessaging::start().await;
    /// let catalog = fake.client().field_catalog().await.unwrap();
    /// let fields = catalog.resolve([("Gender", "F"), ("Birthday", "1990-01-31")]).unwrap();
    /// assert_eq!(fields[0].id, 15868);
    /// assert!(catalog.resolve([("Gender", "X")]).is_err());
    /// # });
    /// ```
    pub fn resolve<I, K, V>(&self, named: I) -> Result<Vec<ContactField>>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        named
            .into_iter()
            .map(|(name, value)| {
                let name = name.as_ref();
                let value = value.into();
                let field = self.field(name).ok_or_else(|| {
                    Error::invalid(format!("fields.{name}"), "no custom field with this name")
                })?;
                if let Some(allowed) = &field.description.allowed_values
                    // `COMBOBOX` in OA, `combobox` in the guide (E2).
                    && field.description.kind.eq_ignore_ascii_case("combobox")
                    && !allowed.possible_values.is_empty()
                    && !allowed.possible_values.contains(&value)
                {
                    return Err(Error::invalid(
                        format!("fields.{name}"),
                        format!(
                            "{value:?} is not one of {}",
                            allowed
                                .possible_values
                                .iter()
                                .map(|v| format!("{v:?}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                Ok(ContactField {
                    id: field.id,
                    value,
                })
            })
            .collect()
    }
}

impl Client {
    /// Lists the address books with their custom fields. Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// for book in client.address_books().await? {
    ///     println!("{} has {} field groups", book.name, book.field_groups.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn address_books(&self) -> Result<Vec<AddressBook>> {
        let resp = self
            .send(Request::new(Method::GET, &["v1", "addressbooks"]))
            .await?;
        Ok(resp
            .decode_opt::<AddressBooksResponse>("address books")?
            .map(|r| r.address_book)
            .unwrap_or_default())
    }

    /// Reads the address books into a [`FieldCatalog`] for name → id resolution.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// let catalog = client.field_catalog().await?;
    /// let mut contact = messaging_client::Contact::email("a@example.com");
    /// contact.fields = catalog.resolve([("Gender", "F")])?;
    /// # Ok(()) }
    /// ```
    pub async fn field_catalog(&self) -> Result<FieldCatalog> {
        Ok(FieldCatalog::new(&self.address_books().await?))
    }
}
