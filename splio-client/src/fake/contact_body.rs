//! What Splio accepts in a contact body (`POST /data/contacts`, `PATCH /data/contacts/{id}`,
//! each item of `POST /data/contacts/bulk`), per the OpenAPI document [E1] and the error cases
//! of the reference pages [E2d][E2e]. Source tags refer to shared/api/splio.md.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::FakeContact;
use super::routes::{Answer, envelope};
use super::state::{EmailKeys, State};
use crate::fields::FieldType;
use crate::universe::UniqueKey;

/// `creation_date`: `YYYY-MM-DD H:MM:SS` as the OpenAPI pattern gives it
/// (`^\d\d\d\d-(0?[1-9]|1[0-2])-(0?[1-9]|[12][0-9]|3[01]) (00|[0-9]|1[0-9]|2[0-3]):([0-9]|[0-5][0-9]):([0-9]|[0-5][0-9])$`
/// [E1]), and with a zero-padded hour `01`–`09` too, the form of Splio's own answers
/// (`2019-01-03 09:00:00` in the subscribe examples [E1]): the two sources disagree, so both
/// are taken.
fn creation_date_matches(value: &str) -> bool {
    let Some((date, time)) = value.split_once(' ') else {
        return false;
    };
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    let num = |s: &str, max: u32| {
        s.chars().all(|c| c.is_ascii_digit()) && s.parse::<u32>().is_ok_and(|n| n <= max)
    };
    let hour_ok = t
        .first()
        .is_some_and(|h| (1..=2).contains(&h.len()) && num(h, 23));
    d.len() == 3
        && d[0].len() == 4
        && num(d[0], 9999)
        && (1..=2).contains(&d[1].len())
        && num(d[1], 12)
        && (1..=2).contains(&d[2].len())
        && num(d[2], 31)
        && t.len() == 3
        && hour_ok
        && t[1..]
            .iter()
            .all(|p| (1..=2).contains(&p.len()) && num(p, 59))
}

/// Every attribute of a contact body that is present is a string, as the document types them
/// (`email`, `cellphone`, `firstname`, `lastname`, `language`, `creation_date`, and
/// `custom_fields[].value`, all `"type": "string"` [E1]; `tracking_consent` items as their
/// schema types them [E1]); another JSON type is a 400 with the
/// envelope's `wrong_type`, the slug dev-scp's contact error cases use for a value of the wrong
/// type [E2d][E2e]. Checked before anything is stored.
pub(crate) fn check_value_types(body: &Value) -> Result<(), Answer> {
    let Some(obj) = body.as_object() else {
        return Ok(());
    };
    for name in [
        "email",
        "cellphone",
        "firstname",
        "lastname",
        "language",
        "creation_date",
    ] {
        if obj.get(name).is_some_and(|v| !v.is_string()) {
            return Err(envelope(
                StatusCode::BAD_REQUEST,
                name,
                "wrong_type",
                format!("{name} must be of type string."),
            ));
        }
    }
    // `tracking_consent[]`: `channel`, `scope`, `source`, `date` strings, `enabled` a boolean
    // [E1] (POST and PATCH contact bodies).
    if let Some(consents) = obj.get("tracking_consent") {
        let ok = consents.as_array().is_some_and(|items| {
            items.iter().all(|c| {
                c.as_object().is_some_and(|c| {
                    c.iter().all(|(k, v)| match k.as_str() {
                        "enabled" => v.is_boolean(),
                        "channel" | "scope" | "source" | "date" => v.is_string(),
                        _ => true,
                    })
                })
            })
        });
        if !ok {
            return Err(envelope(
                StatusCode::BAD_REQUEST,
                "tracking_consent",
                "wrong_type",
                "tracking_consent must be an array of {channel, scope, enabled (boolean), source, date}.",
            ));
        }
    }
    if let Some(fields) = obj.get("custom_fields").and_then(Value::as_array) {
        for f in fields {
            if f.get("value").is_some_and(|v| !v.is_string()) {
                let shown = f
                    .get("id")
                    .or(f.get("name"))
                    .cloned()
                    .unwrap_or(Value::Null);
                return Err(envelope(
                    StatusCode::BAD_REQUEST,
                    "custom_fields",
                    "wrong_type",
                    format!("Custom field with id {shown} must be of type string."),
                ));
            }
        }
    }
    Ok(())
}

impl State {
    /// A key as the fake stores it. Emails are trimmed and, by default, lower-cased: the
    /// Datahub contacts file requires them lower case [E5] and every `contact_id` of the
    /// document's 207 examples is [E1]; whether the API folds them the same way is not
    /// documented (docs/splio-conformance.md), so [`EmailKeys::Exact`] keeps them as given.
    pub(crate) fn stored_key(&self, key: &str) -> String {
        match self.unique_key {
            UniqueKey::Email => self.stored_email(key),
            _ => key.to_owned(),
        }
    }

    /// An email as the fake stores it, per [`EmailKeys`].
    pub(crate) fn stored_email(&self, email: &str) -> String {
        match self.email_keys {
            EmailKeys::CaseInsensitive => email.trim().to_lowercase(),
            EmailKeys::Exact => email.trim().to_owned(),
        }
    }

    /// The unique key a body names (`GET /universes/unique-key` decides which attribute [E1]),
    /// as stored.
    pub(crate) fn key_of(&self, body: &Value) -> Option<String> {
        let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        match &self.unique_key {
            UniqueKey::Email => s(body.get("email")),
            UniqueKey::Cellphone => s(body.get("cellphone")),
            UniqueKey::CustomField(id) => body
                .get("custom_fields")
                .and_then(Value::as_array)
                .and_then(|fs| {
                    fs.iter()
                        .find(|f| {
                            f.get("id").and_then(Value::as_u64) == Some(u64::from(*id))
                                || f.get("name").and_then(Value::as_str)
                                    == self.fields.get(id).map(|f| f.name.as_str())
                        })
                        .and_then(|f| s(f.get("value")))
                }),
        }
        .map(|k| self.stored_key(&k))
        .filter(|k| !k.is_empty())
    }

    /// Apply attributes from a body to a contact, validating like Splio.
    pub(crate) fn apply(
        &self,
        c: &mut FakeContact,
        body: &Value,
        replace_lists: bool,
    ) -> Result<(), Answer> {
        let Some(obj) = body.as_object() else {
            return Err(envelope(
                StatusCode::BAD_REQUEST,
                "body",
                "invalid_json",
                "Invalid JSON.",
            ));
        };
        let text = |name: &str| obj.get(name).and_then(Value::as_str).map(str::to_string);
        if let Some(email) = text("email").map(|e| self.stored_email(&e)) {
            if !email.is_empty() && (!email.contains('@') || email.contains(' ')) {
                return Err(envelope(
                    StatusCode::BAD_REQUEST,
                    "email",
                    "wrong_email",
                    format!("{email} is not a valid email."),
                ));
            }
            c.email = Some(email);
        }
        if let Some(date) = text("creation_date").filter(|d| !creation_date_matches(d)) {
            return Err(envelope(
                StatusCode::BAD_REQUEST,
                "creation_date",
                "wrong_value",
                format!("{date} does not match the date format."),
            ));
        }
        for (name, slot) in [
            ("cellphone", &mut c.cellphone),
            ("firstname", &mut c.firstname),
            ("lastname", &mut c.lastname),
            ("language", &mut c.language),
            ("creation_date", &mut c.creation_date),
        ] {
            if let Some(v) = text(name) {
                *slot = Some(v);
            }
        }
        if let Some(fields) = obj.get("custom_fields").and_then(Value::as_array) {
            for f in fields {
                let id = match (
                    f.get("id").and_then(Value::as_u64),
                    f.get("name").and_then(Value::as_str),
                ) {
                    (Some(id), _) => u32::try_from(id)
                        .ok()
                        .filter(|id| self.fields.contains_key(id)),
                    (None, Some(name)) => self
                        .fields
                        .iter()
                        .find(|(_, fd)| fd.name == name)
                        .map(|(id, _)| *id),
                    _ => None,
                };
                let Some(id) = id else {
                    let shown = f
                        .get("id")
                        .or(f.get("name"))
                        .cloned()
                        .unwrap_or(Value::Null);
                    return Err(envelope(
                        StatusCode::BAD_REQUEST,
                        "custom_fields",
                        "wrong_value",
                        format!("Custom field not found for id {shown}."),
                    ));
                };
                let value = f
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let fd = &self.fields[&id];
                let ok = value.is_empty()
                    || match fd.ty {
                        FieldType::Text => true,
                        FieldType::Int => value.parse::<i64>().is_ok(),
                        FieldType::Double => value.parse::<f64>().is_ok(),
                        FieldType::Date => {
                            jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", &value).is_ok()
                        }
                    };
                if !ok {
                    return Err(envelope(
                        StatusCode::BAD_REQUEST,
                        "custom_fields",
                        "wrong_type",
                        format!(
                            "Custom field with id {id} and name {} must be of type {}.",
                            fd.name,
                            json!(fd.ty).as_str().unwrap_or("")
                        ),
                    ));
                }
                c.custom_fields.insert(id, value);
            }
        }
        if let Some(lists) = obj.get("lists").and_then(Value::as_array) {
            let mut ids = BTreeSet::new();
            for l in lists {
                let Some(id) = l.get("id").and_then(Value::as_u64) else {
                    return Err(envelope(
                        StatusCode::BAD_REQUEST,
                        "lists",
                        "wrong_value",
                        "lists for contact created should contains id key",
                    ));
                };
                if !self.lists.contains_key(&id) {
                    return Err(envelope(
                        StatusCode::BAD_REQUEST,
                        "list_id",
                        "wrong_value",
                        format!("list {id} does not exist"),
                    ));
                }
                ids.insert(id);
            }
            if replace_lists {
                c.lists = ids;
            } else {
                c.lists.extend(ids);
            }
        }
        if obj.contains_key("double_optin") && c.lists.is_empty() {
            return Err(envelope(
                StatusCode::BAD_REQUEST,
                "double_optin",
                "wrong_value",
                "double optin option should have some lists to prepare",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn creation_date_pattern() {
        for ok in [
            "2024-01-02 3:04:05",
            "2024-1-2 00:00:00",
            "2024-12-31 23:59:59",
            "2024-01-02 0:0:0",
        ] {
            assert!(super::creation_date_matches(ok), "{ok}");
        }
        assert!(super::creation_date_matches("2024-01-02 03:04:05"));
        for bad in [
            "2024-01-02",
            "2024-01-02T03:04:05",
            "2024-01-02 003:04:05",
            "2024-13-02 3:04:05",
            "2024-01-02 24:00:00",
        ] {
            assert!(!super::creation_date_matches(bad), "{bad}");
        }
    }
}
