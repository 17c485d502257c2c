//! A segment row or a Directo customer → a contact keyed by its email, with its attributes by
//! Splio name; what changed since the last delivery; the client's contact.

use futures::StreamExt;
use futures::stream::LocalBoxStream;
use serde_json::{Map, Value};
use splio_client::{ContactData, CustomFieldValue, FieldRef};

use super::Config;
use crate::shared::directo::CustomerFields;
use sync_kit::input::{self, Row};
use sync_kit::{BoxError, Item, SourceRecord, Verdict};

/// Maps one segment row to a record: a valid key email and the attributes by Splio name.
pub fn prepare(config: &Config, row: Row) -> SourceRecord {
    let verdict = match row.fields {
        Err(reason) => Verdict::Reject(reason),
        Ok(fields) => match map_row(config, &fields) {
            Ok(item) => Verdict::Send(vec![item]),
            Err(reason) => Verdict::Reject(reason),
        },
    };
    SourceRecord {
        id: row.position,
        watermark: None,
        verdict,
    }
}

/// A segment's rows as the runner's records.
pub(crate) fn segment(
    config: &Config,
    rows: Vec<Row>,
) -> LocalBoxStream<'_, Result<SourceRecord, BoxError>> {
    futures::stream::iter(rows.into_iter().map(move |row| Ok(prepare(config, row)))).boxed_local()
}

/// Maps one Directo customer like a segment row. Only the key column and the columns named in
/// `[mapping]` are taken (a customer has dozens of attributes, `ts` among them), each looked up
/// as an attribute, else as an extra field (datafield) code. When the key field holds several
/// addresses, the first valid one is used. The watermark is the customer's `ts`.
pub fn prepare_customer<C: CustomerFields + ?Sized>(config: &Config, customer: &C) -> SourceRecord {
    let id = customer.id();
    let watermark = customer.changed_at();
    let key_column = &config.source.key_column;
    let raw = customer.attr(key_column).unwrap_or("");
    let verdict = match sync_kit::email::extract(raw, sync_kit::email::MultipleEmails::First) {
        Err(reason) => Verdict::Reject(reason),
        Ok(addresses) => {
            let mut fields = Map::new();
            fields.insert(key_column.clone(), Value::String(addresses[0].clone()));
            for column in config.mapping.keys().filter(|c| *c != key_column) {
                let value = customer
                    .attr(column)
                    .or_else(|| customer.datafield(column))
                    .map(str::trim)
                    .filter(|v| !v.is_empty());
                if let Some(value) = value {
                    fields.insert(column.clone(), Value::String(value.to_owned()));
                }
            }
            match map_row(config, &fields) {
                Ok(item) => Verdict::Send(vec![item]),
                Err(reason) => Verdict::Reject(reason),
            }
        }
    };
    SourceRecord {
        id,
        watermark,
        verdict,
    }
}

pub(crate) fn map_row(config: &Config, fields: &Map<String, Value>) -> Result<Item, String> {
    let email = input::text(fields, &config.source.key_column)
        .ok_or_else(|| format!("missing {}", config.source.key_column))?;
    sync_kit::email::check(&email).map_err(|reason| format!("{reason}: {email:?}"))?;
    let key = sync_kit::email::key(&email);
    let mut out = Map::new();
    for (column, value) in fields {
        if let Some(target) = config.target(column) {
            out.insert(target.to_owned(), value.clone());
        }
    }
    out.insert("email".into(), Value::String(key.clone()));
    Ok(Item { key, fields: out })
}

/// The attributes of `now` that differ from `before` (a removed attribute is sent empty, to
/// clear it). The email is always included: it is the key.
pub fn changed(
    before: Option<&Map<String, Value>>,
    now: &Map<String, Value>,
) -> Map<String, Value> {
    let Some(before) = before else {
        return now.clone();
    };
    let mut diff: Map<String, Value> = now
        .iter()
        .filter(|(k, v)| k.as_str() == "email" || before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for k in before.keys().filter(|k| !now.contains_key(*k)) {
        diff.insert(k.clone(), Value::String(String::new()));
    }
    diff
}

/// Builds the client's [`ContactData`] from attributes by Splio name.
pub fn contact(fields: &Map<String, Value>) -> ContactData {
    let mut c = ContactData::default();
    for (name, value) in fields {
        let text = input::text(fields, name).unwrap_or_default();
        let opt = (!text.is_empty()).then(|| text.clone());
        match name.as_str() {
            "email" => c.email = opt,
            "cellphone" => c.cellphone = opt,
            "firstname" => c.firstname = Some(text),
            "lastname" => c.lastname = Some(text),
            "language" => c.language = Some(text),
            _ if value.is_null() || text.is_empty() => c
                .custom_fields
                .push(CustomFieldValue::cleared(FieldRef::Name(name.clone()))),
            _ => c.custom_fields.push(CustomFieldValue::by_name(name, text)),
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect()
    }

    #[test]
    fn only_changed_attributes_are_sent() {
        let before = map(&[
            ("email", "a@example.com"),
            ("firstname", "Ann"),
            ("tier", "gold"),
            ("city", "Tartu"),
        ]);
        let now = map(&[
            ("email", "a@example.com"),
            ("firstname", "Ann"),
            ("tier", "silver"),
        ]);
        let diff = changed(Some(&before), &now);
        assert_eq!(
            diff,
            map(&[("email", "a@example.com"), ("tier", "silver"), ("city", "")])
        );
        assert_eq!(changed(None, &now), now);
    }

    #[test]
    fn mapping_renames_and_ignores_columns() {
        let config: Config = sync_kit::config::parse_toml(
            "ignore = [\"internal\"]\n[source]\nkey_column = \"Mail\"\n[mapping]\nFirst = \"firstname\"\n",
        )
        .unwrap();
        let item = map_row(
            &config,
            &map(&[
                ("Mail", "A@Example.com"),
                ("First", "Ann"),
                ("internal", "x"),
                ("tier", "gold"),
            ]),
        )
        .unwrap();
        assert_eq!(item.key, "a@example.com");
        assert_eq!(
            item.fields,
            map(&[
                ("email", "a@example.com"),
                ("firstname", "Ann"),
                ("tier", "gold")
            ])
        );
        assert!(map_row(&config, &map(&[("Mail", "nope")])).is_err());
        let c = contact(&item.fields);
        assert_eq!(c.firstname.as_deref(), Some("Ann"));
        assert_eq!(
            c.custom_fields,
            vec![CustomFieldValue::by_name("tier", "gold")]
        );
    }
}
