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

/// Maps one segment row to a record: a valid key email and the attributes by Splio name. A
/// field absent from the row is not managed by this segment (left as Splio holds it); see
/// [`prepare_in`] for a CSV file, whose empty cells are emptied values.
pub fn prepare(config: &Config, row: Row) -> SourceRecord {
    prepare_in(config, None, row)
}

/// [`prepare`] for a row of a file whose columns are `header` (a CSV file): a column of the
/// header the row leaves empty is an emptied value, sent as a clear (`""`); a column not in
/// the header is not managed by this file and never sent.
pub fn prepare_in(config: &Config, header: Option<&[String]>, row: Row) -> SourceRecord {
    let verdict = match row.fields {
        Err(reason) => Verdict::Reject(reason),
        Ok(fields) => match map_row(config, header, &fields) {
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
    header: Option<Vec<String>>,
    rows: Vec<Row>,
) -> LocalBoxStream<'_, Result<SourceRecord, BoxError>> {
    futures::stream::iter(
        rows.into_iter()
            .map(move |row| Ok(prepare_in(config, header.as_deref(), row))),
    )
    .boxed_local()
}

/// Maps one Directo customer like a segment row. Only the key column and the columns named in
/// `[mapping]` are taken (a customer has dozens of attributes, `ts` among them), each looked up
/// as an attribute, else as an extra field (datafield) code. When the key field holds several
/// addresses, the first valid one is used. The watermark is the customer's `ts`. A mapped
/// attribute the customer no longer has (or has empty) is an emptied value, sent as a clear.
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
            let managed: Vec<String> = config.mapping.keys().cloned().collect();
            match map_row(config, Some(&managed), &fields) {
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

/// One row's attributes by Splio name. `managed`: the columns whose absence from the row is an
/// emptied value (the CSV header; the mapped attributes of a Directo customer), mapped to `""`.
/// A line break in a standard attribute refuses the record, in a dry run as in a real run:
/// Splio's REST client refuses it (splio-client `ContactData` validation) and a Datahub file
/// cannot carry it.
pub(crate) fn map_row(
    config: &Config,
    managed: Option<&[String]>,
    fields: &Map<String, Value>,
) -> Result<Item, String> {
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
    for column in managed.unwrap_or_default() {
        if let Some(target) = config.target(column)
            && input::text(fields, column).is_none()
        {
            out.insert(target.to_owned(), Value::String(String::new()));
        }
    }
    out.insert("email".into(), Value::String(key.clone()));
    for name in super::STANDARD {
        if let Some(Value::String(v)) = out.get(*name)
            && v.contains(['\n', '\r'])
        {
            return Err(format!("{name} contains a line break"));
        }
    }
    Ok(Item { key, fields: out })
}

/// Whether an attribute value is empty (an emptied cell, `""` or `null`).
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// The attributes of `now` to send to a contact last delivered as `before` (`None`: never
/// delivered). An attribute absent from `now` is not managed by the source and never sent; an
/// emptied one (`""`) is sent as a clear when `before` held a value; one that is the same is
/// not sent. A contact never delivered gets its non-empty attributes (nothing to clear). The
/// email is always included: it is the key.
pub fn changed(
    before: Option<&Map<String, Value>>,
    now: &Map<String, Value>,
) -> Map<String, Value> {
    now.iter()
        .filter(|(k, v)| {
            if k.as_str() == "email" {
                return true;
            }
            match before {
                None => !is_empty(v),
                Some(before) => match before.get(*k) {
                    None => !is_empty(v),
                    Some(was) if is_empty(v) => !is_empty(was),
                    Some(was) => was != *v,
                },
            }
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The address of `key` as Splio holds it, kept in its snapshot's `email` (issue 20 point 5):
/// `Some` when the snapshot's email differs from the key by case only (a contact created in
/// Splio as `Mixed.Case@Example.com`), `None` when it is the key itself.
///
/// ```
/// use serde_json::{Map, Value, json};
/// use sync_examples::segment_to_splio::mapping::held_address;
/// let snapshot: Map<String, Value> =
///     serde_json::from_value(json!({"email": "Mixed.Case@Example.com"})).unwrap();
/// assert_eq!(held_address("mixed.case@example.com", &snapshot), Some("Mixed.Case@Example.com"));
/// assert_eq!(held_address("other@example.com", &snapshot), None);
/// ```
pub fn held_address<'s>(key: &str, snapshot: &'s Map<String, Value>) -> Option<&'s str> {
    snapshot
        .get("email")
        .and_then(Value::as_str)
        .filter(|email| *email != key && sync_kit::email::key(email) == key)
}

/// `item` with its `email` set to `address` (the form Splio holds), when that is its key in
/// another case: what is stored as its snapshot, so later runs address it so, and what a
/// record read again is compared with (so an unchanged contact stays unchanged).
///
/// ```
/// use serde_json::json;
/// use sync_examples::segment_to_splio::mapping::with_address;
/// let item = sync_kit::Item {
///     key: "mixed.case@example.com".into(),
///     fields: serde_json::from_value(json!({"email": "mixed.case@example.com"})).unwrap(),
/// };
/// let held = with_address(item.clone(), "Mixed.Case@Example.com");
/// assert_eq!(held.fields["email"], "Mixed.Case@Example.com");
/// assert_eq!(held.key, item.key);
/// assert_eq!(with_address(item.clone(), "other@example.com"), item);
/// ```
pub fn with_address(mut item: Item, address: &str) -> Item {
    if address != item.key && sync_kit::email::key(address) == item.key {
        item.fields
            .insert("email".into(), Value::String(address.to_owned()));
    }
    item
}

/// Builds the client's [`ContactData`] from attributes by Splio name.
pub fn contact(fields: &Map<String, Value>) -> ContactData {
    let mut c = ContactData::default();
    for (name, value) in fields {
        let text = input::text(fields, name).unwrap_or_default();
        let opt = (!text.is_empty()).then(|| text.clone());
        match name.as_str() {
            "email" => c.email = opt,
            // An emptied cellphone is sent as "": the contact model holds "" for a contact
            // without one (docs/splio-conformance.md, the API reference's contact example).
            "cellphone" => c.cellphone = Some(text),
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
        // `city` is absent: not managed by this source, so not sent (issue 20 point 4).
        let diff = changed(Some(&before), &now);
        assert_eq!(diff, map(&[("email", "a@example.com"), ("tier", "silver")]));
        assert_eq!(changed(None, &now), now);
    }

    #[test]
    fn an_emptied_value_is_a_clear_an_absent_one_is_left_alone() {
        let before = map(&[("email", "a@example.com"), ("cellphone", "+3725550001")]);
        let now = map(&[("email", "a@example.com"), ("cellphone", ""), ("tier", "")]);
        assert_eq!(
            changed(Some(&before), &now),
            map(&[("email", "a@example.com"), ("cellphone", "")]),
            "the cellphone is cleared; the never-set tier is not sent"
        );
        assert_eq!(changed(None, &now), map(&[("email", "a@example.com")]));
        assert_eq!(
            contact(&map(&[("cellphone", "")])).cellphone.as_deref(),
            Some("")
        );
        let header = ["Mail".to_owned(), "First".to_owned()];
        let config: Config = sync_kit::config::parse_toml(
            "[source]\nkey_column = \"Mail\"\n[mapping]\nFirst = \"firstname\"\n",
        )
        .unwrap();
        let item = map_row(&config, Some(&header), &map(&[("Mail", "a@example.com")])).unwrap();
        assert_eq!(
            item.fields,
            map(&[("email", "a@example.com"), ("firstname", "")])
        );
        let broken = map(&[("Mail", "a@example.com"), ("First", "Ann\nMarie")]);
        assert_eq!(
            map_row(&config, Some(&header), &broken).unwrap_err(),
            "firstname contains a line break"
        );
    }

    #[test]
    fn mapping_renames_and_ignores_columns() {
        let config: Config = sync_kit::config::parse_toml(
            "ignore = [\"internal\"]\n[source]\nkey_column = \"Mail\"\n[mapping]\nFirst = \"firstname\"\n",
        )
        .unwrap();
        let item = map_row(
            &config,
            None,
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
        assert!(map_row(&config, None, &map(&[("Mail", "nope")])).is_err());
        let c = contact(&item.fields);
        assert_eq!(c.firstname.as_deref(), Some("Ann"));
        assert_eq!(
            c.custom_fields,
            vec![CustomFieldValue::by_name("tier", "gold")]
        );
    }
}
