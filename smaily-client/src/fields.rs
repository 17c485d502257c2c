//! Custom field names and values.

use std::fmt;

use indexmap::IndexMap;
use serde::Serialize;

use crate::error::{Error, Result};

/// Keys the API gives a meaning of its own; never custom fields.
pub const RESERVED_KEYS: &[&str] = &["email", "is_unsubscribed", "is_deleted"];

/// System fields Smaily returns but that must not be sent.
pub const READ_ONLY_KEYS: &[&str] = &[
    "created_at",
    "subscribed_at",
    "modified_at",
    "unsubscribed_at",
    "last_response_code",
    "last_response_at",
    "last_open_at",
    "total_opens",
    "last_click_at",
    "total_clicks",
];

/// A custom field name: non-empty `[a-z0-9_]`, not reserved, not read-only.
///
/// ```
/// use smaily_client::FieldName;
/// assert_eq!(FieldName::new("first_name").unwrap().as_str(), "first_name");
/// assert!(FieldName::new("First Name").is_err());
/// assert!(FieldName::new("is_unsubscribed").is_err());
/// assert_eq!(FieldName::normalize("Eesnimi Ä-tüüp").unwrap().as_str(), "eesnimi_a_tuup");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct FieldName(String);

impl FieldName {
    /// Validates a name as is.
    pub fn new(name: &str) -> Result<Self> {
        if name.is_empty() {
            return Err(Error::invalid("field name \"\"", "must not be empty"));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
        {
            return Err(Error::invalid(
                format!("field name {name:?}"),
                format!(
                    "{bad:?} is outside [a-z0-9_] (use FieldName::normalize to convert {name:?})"
                ),
            ));
        }
        if RESERVED_KEYS.contains(&name) {
            return Err(Error::invalid(
                format!("field name {name:?}"),
                "reserved key; set it through Subscriber's own fields",
            ));
        }
        if READ_ONLY_KEYS.contains(&name) {
            return Err(Error::invalid(
                format!("field name {name:?}"),
                "read-only system field; Smaily sets it",
            ));
        }
        Ok(FieldName(name.to_string()))
    }

    /// Normalises a label the way the official plugins do (trim, lowercase, `-` and space to
    /// `_`, Estonian/German letters and other accents to their base letter, anything else
    /// outside `[a-z0-9_]` dropped), then validates it.
    pub fn normalize(label: &str) -> Result<Self> {
        let mut out = String::with_capacity(label.len());
        for c in label.trim().to_lowercase().chars() {
            match c {
                'a'..='z' | '0'..='9' | '_' => out.push(c),
                '-' | ' ' => out.push('_'),
                other => {
                    if let Some(base) = fold_accent(other) {
                        out.push(base);
                    }
                }
            }
        }
        if out.is_empty() {
            return Err(Error::invalid(
                format!("field name {label:?}"),
                "nothing left after normalising to [a-z0-9_]",
            ));
        }
        FieldName::new(&out)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn fold_accent(c: char) -> Option<char> {
    Some(match c {
        'ä' | 'à' | 'á' | 'â' | 'ã' | 'å' | 'ā' => 'a',
        'ö' | 'õ' | 'ò' | 'ó' | 'ô' | 'ø' | 'ō' => 'o',
        'ü' | 'ù' | 'ú' | 'û' | 'ū' => 'u',
        'é' | 'è' | 'ê' | 'ë' | 'ē' => 'e',
        'í' | 'ì' | 'î' | 'ï' | 'ī' => 'i',
        'š' | 'ś' => 's',
        'ž' | 'ź' | 'ż' => 'z',
        'č' | 'ç' | 'ć' => 'c',
        'ñ' | 'ń' | 'ņ' => 'n',
        'ļ' | 'ł' => 'l',
        'ķ' => 'k',
        'ģ' => 'g',
        'ý' | 'ÿ' => 'y',
        _ => return None,
    })
}

/// Custom fields of a subscriber: validated names, text values (Smaily stores text; an empty
/// value clears the field). Insertion order is kept on the wire.
///
/// ```
/// use smaily_client::CustomFields;
/// let mut fields = CustomFields::new();
/// fields.insert("first_name", "Mari").unwrap();
/// fields.insert_normalized("Linn", "Tartu").unwrap();
/// assert_eq!(fields.get("linn"), Some("Tartu"));
/// assert!(fields.insert("E-mail", "x").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CustomFields(IndexMap<FieldName, String>);

impl CustomFields {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a field whose name must already be valid ([`FieldName::new`]).
    pub fn insert(&mut self, name: &str, value: impl Into<String>) -> Result<()> {
        self.0.insert(FieldName::new(name)?, value.into());
        Ok(())
    }

    /// Sets a field, normalising its name first ([`FieldName::normalize`]); returns the name used.
    pub fn insert_normalized(
        &mut self,
        label: &str,
        value: impl Into<String>,
    ) -> Result<FieldName> {
        let name = FieldName::normalize(label)?;
        self.0.insert(name.clone(), value.into());
        Ok(name)
    }

    /// Sets a field by an already validated name.
    pub fn set(&mut self, name: FieldName, value: impl Into<String>) {
        self.0.insert(name, value.into());
    }

    /// A field's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == name)
            .map(|(_, v)| v.as_str())
    }

    /// All fields in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&FieldName, &str)> {
        self.0.iter().map(|(k, v)| (k, v.as_str()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_reserved_and_read_only_keys() {
        for k in RESERVED_KEYS.iter().chain(READ_ONLY_KEYS) {
            let err = FieldName::new(k).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{k}");
            assert!(FieldName::normalize(k).is_err(), "{k}");
        }
        assert!(FieldName::normalize("E-mail").is_ok_and(|n| n.as_str() == "e_mail"));
        assert!(FieldName::normalize("!!!").is_err());
        let err = FieldName::new("Nimi").unwrap_err().to_string();
        assert!(err.contains("[a-z0-9_]") && err.contains("Nimi"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn normalised_names_are_valid(label in "\\PC{0,20}") {
            if let Ok(n) = FieldName::normalize(&label) {
                proptest::prop_assert!(n.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
                proptest::prop_assert!(FieldName::new(n.as_str()).is_ok());
            }
        }
    }
}
