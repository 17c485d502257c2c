//! `list.php`: segments with their rules (smaily.com/help/api/segments/list-segment-rules,
//! /create-or-update-a-segment), and which subscribers a segment selects.

use std::collections::BTreeMap;

use axum::response::Response;
use serde_json::{Value, json};

use super::http::{Call, code, ok, required};
use super::state::{FakeContact, FakeState, SegmentRecord};
use crate::de::value_to_text;
use crate::fields::READ_ONLY_KEYS;

/// The documented operators (smaily.com/help/api/segments/create-or-update-a-segment).
const OPERATORS: [&str; 10] = [
    "Equal",
    "NotEqual",
    "BeginsWith",
    "Contains",
    "DoesNotContain",
    "EndsWith",
    "LessThan",
    "LessThanEqual",
    "GreaterThanEqual",
    "GreaterThan",
];

/// Segments 1 (every subscriber) and 2 (the unsubscribed): the ids the official plugins rely
/// on (`list=2` "unsubscribers list", sendsmaily/smaily-woocommerce-plugin `inc/Base/Cron.php`;
/// `list=1` the full list, sendsmaily/smaily-wordpress-plugin `includes/Smaily/Client.php`).
pub(crate) fn defaults() -> BTreeMap<u64, SegmentRecord> {
    BTreeMap::from([
        (
            1,
            SegmentRecord {
                name: "All subscribers".into(),
                filter_type: "ALL".into(),
                rules: Vec::new(),
            },
        ),
        (
            2,
            SegmentRecord {
                name: "Unsubscribed".into(),
                filter_type: "ALL".into(),
                rules: vec![("is_unsubscribed".into(), "Equal".into(), "1".into())],
            },
        ),
    ])
}

/// The (not deleted) subscribers a segment selects, sorted by email; `None` for an unknown id.
pub(crate) fn members(s: &FakeState, id: u64) -> Option<Vec<FakeContact>> {
    let seg = s.segments.get(&id)?;
    Some(
        s.contacts
            .values()
            .filter(|c| !c.is_deleted && selects(seg, c))
            .cloned()
            .collect(),
    )
}

fn selects(seg: &SegmentRecord, c: &FakeContact) -> bool {
    let hit = |(field, op, value): &(String, String, String)| {
        let have = c.field(field).unwrap_or_default();
        let numbers = have
            .trim()
            .parse::<f64>()
            .ok()
            .zip(value.trim().parse::<f64>().ok());
        let order = match numbers {
            Some((a, b)) => a.partial_cmp(&b),
            None => Some(have.as_str().cmp(value.as_str())),
        };
        use std::cmp::Ordering::{Equal, Greater, Less};
        match op.as_str() {
            "Equal" => have == *value,
            "NotEqual" => have != *value,
            "BeginsWith" => have.starts_with(value.as_str()),
            "Contains" => have.contains(value.as_str()),
            "DoesNotContain" => !have.contains(value.as_str()),
            "EndsWith" => have.ends_with(value.as_str()),
            "LessThan" => order == Some(Less),
            "LessThanEqual" => matches!(order, Some(Less | Equal)),
            "GreaterThanEqual" => matches!(order, Some(Greater | Equal)),
            "GreaterThan" => order == Some(Greater),
            _ => false,
        }
    };
    match seg.filter_type.as_str() {
        "ANY" => seg.rules.is_empty() || seg.rules.iter().any(hit),
        _ => seg.rules.iter().all(hit),
    }
}

fn to_json(s: &FakeState, id: u64, seg: &SegmentRecord) -> Value {
    let count = members(s, id).map_or(0, |m| m.len());
    json!({
        "id": id,
        "name": seg.name,
        "filter_type": seg.filter_type,
        "filter_data": seg.rules.iter().map(|(f, o, v)| json!([f, [o, v]])).collect::<Vec<_>>(),
        "subscribers_count": count,
    })
}

/// `GET list.php` (`[{id, name, subscribers_count}]`, alphabetical) or `?id=` (the segment
/// with its rules; 208 for an unknown id).
pub(crate) fn get(s: &mut FakeState, call: &Call<'_>) -> Response {
    match call.number("id") {
        Ok(None) => {
            let mut rows: Vec<Value> = s
                .segments
                .iter()
                .map(|(id, seg)| {
                    let count = members(s, *id).map_or(0, |m| m.len());
                    // Counts come as strings, as a live answer shows them.
                    json!({"id": id, "name": seg.name, "subscribers_count": count.to_string()})
                })
                .collect();
            rows.sort_by_key(|r| r["name"].as_str().unwrap_or("").to_lowercase());
            ok(Value::Array(rows))
        }
        Ok(Some(id)) => match s.segments.get(&id) {
            Some(seg) => ok(to_json(s, id, seg)),
            None => code(208, format!("Could not find list with ID - {id}")),
        },
        Err(text) => code(208, format!("Could not find list with ID - {text}")),
    }
}

/// Columns a rule may name: the system fields and every custom field any subscriber has.
fn known_column(s: &FakeState, field: &str) -> bool {
    ["email", "is_unsubscribed"].contains(&field)
        || READ_ONLY_KEYS.contains(&field)
        || s.contacts.values().any(|c| c.fields.contains_key(field))
}

/// `POST list.php`: create, or update with `id`. Required `name`, `filter_type` (`ALL`/`ANY`)
/// and `filter_data`; 217 for an unknown column, 218 for an unknown operator, 219 for an
/// update of an unknown id (the code table gives 208 and 219 the same message; 219 is taken
/// here for writes).
pub(crate) fn post(s: &mut FakeState, call: &Call<'_>) -> Response {
    let b = &call.body;
    let name = b.get("name").map(value_to_text).unwrap_or_default();
    let filter_type = b.get("filter_type").map(value_to_text).unwrap_or_default();
    let mut missing = Vec::new();
    if name.trim().is_empty() {
        missing.push("name");
    }
    if filter_type.is_empty() {
        missing.push("filter_type");
    }
    if b.get("filter_data").is_none_or(Value::is_null) {
        missing.push("filter_data");
    }
    if !missing.is_empty() {
        return required(&missing);
    }
    if !["ALL", "ANY"].contains(&filter_type.as_str()) {
        return code(203, "Invalid data submitted");
    }
    let Some(rows) = b["filter_data"].as_array() else {
        return code(203, "Invalid data submitted");
    };
    let mut rules = Vec::new();
    for row in rows {
        let (Some(field), Some(op), Some(value)) = (
            row.get(0).and_then(Value::as_str),
            row.get(1).and_then(|r| r.get(0)).and_then(Value::as_str),
            row.get(1).and_then(|r| r.get(1)),
        ) else {
            return code(203, "Invalid data submitted");
        };
        if !OPERATORS.contains(&op) {
            return code(
                218,
                format!("Unknown operator \"{op}\" for field \"{field}\""),
            );
        }
        if !known_column(s, field) {
            return code(217, format!("Unknown column in filter data - {field}"));
        }
        rules.push((field.to_string(), op.to_string(), value_to_text(value)));
    }
    let id = match b.get("id").filter(|v| !v.is_null()) {
        None => s.next_id(),
        Some(v) => match crate::de::value_to_int(v).and_then(|n| u64::try_from(n).ok()) {
            Some(id) if s.segments.contains_key(&id) => id,
            _ => {
                return code(
                    219,
                    format!("Could not find list with ID - {}", value_to_text(v)),
                );
            }
        },
    };
    s.segments.insert(
        id,
        SegmentRecord {
            name,
            filter_type,
            rules,
        },
    );
    ok(json!({"code": 101, "message": "OK", "id": id}))
}
