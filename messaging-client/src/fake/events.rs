//! `POST /v1/event` and `POST /v2/event`.
//!
//! Sources: the Yespo OpenAPI (`EventDto`, `Event`, `Parameter`, `EventParameter`),
//! "Generate events v1" [E5] (20 KB, v1 values are strings), "How to use the Generate event
//! API resource" [E4] (v2 ignores blank `externalCustomerId`), site-activity tracking [E16]
//! (an event that names no contact is rejected).

use serde_json::Value;

use super::RecordedEvent;
use super::http::{Answer, bad, empty, json_body};
use super::schema;
use super::state::FakeState;

/// `EventDto` (v1); `Event` (v2) has no `keyValue` in the schema, but the guide's v2 example
/// sends one [E2], so both accept it.
const EVENT: &[&str] = &["eventTypeKey", "keyValue", "params"];

/// `Parameter` / `EventParameter`.
const PARAMETER: &[&str] = &["name", "value"];

/// The parameters that name the contact when `keyValue` is absent [EventDto.keyValue].
const CONTACT_PARAMS: &[&str] = &[
    "contactId",
    "externalCustomerId",
    "email",
    "phone",
    "pushToken",
];

pub(super) fn event(s: &mut FakeState, version: &str, body: &[u8]) -> Answer {
    if body.len() > 20 * 1024 {
        return Err(bad("Request body is larger than 20 KB"));
    }
    let v = json_body(body)?;
    schema::known_keys(&v, EVENT, "the event")?;
    if v.get("eventTypeKey")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(bad("eventTypeKey is required"));
    }
    if version == "v1" {
        key_rules(&v)?;
    }
    let params = schema::array(&v, "params", "the event")?;
    for (n, p) in params.iter().enumerate() {
        schema::known_keys(p, PARAMETER, &format!("params[{n}]"))?;
    }
    if version == "v1"
        && params
            .iter()
            .any(|p| !p.get("value").is_some_and(Value::is_string))
    {
        return Err(bad("params[].value must be a string in v1"));
    }
    let keyed = v
        .get("keyValue")
        .and_then(Value::as_str)
        .is_some_and(|k| !k.trim().is_empty());
    if !keyed && !params.iter().any(names_contact) {
        return Err(bad(
            "The event must have keyValue or a contact identifier in params \
             (contactId, externalCustomerId, email, phone, pushToken)",
        ));
    }
    s.events.push(RecordedEvent {
        version: if version == "v1" { 1 } else { 2 },
        body: v,
    });
    Ok(empty())
}

/// OA `EventDto` (v1): "All characters are allowed except < ; ’ \ / | \" ` ' ^ ? ! , >",
/// `eventTypeKey` "Max length: 100 symbols", `keyValue` "Max length: 300 symbols". OA's v2
/// `Event` states neither, so v2 is not held to them.
fn key_rules(v: &Value) -> Result<(), super::http::Refused> {
    const FORBIDDEN: &[char] = &[
        '<', ';', '’', '\\', '/', '|', '"', '`', '\'', '^', '?', '!', ',', '>',
    ];
    for (key, max) in [("eventTypeKey", 100), ("keyValue", 300)] {
        let Some(text) = v.get(key).and_then(Value::as_str) else {
            continue;
        };
        if text.chars().count() > max {
            return Err(bad(format!("{key}: max length is {max} symbols")));
        }
        if let Some(c) = text.chars().find(|c| FORBIDDEN.contains(c)) {
            return Err(bad(format!("{key}: the character {c:?} is not allowed")));
        }
    }
    Ok(())
}

/// A contact parameter with a value: "", blanks, "null" and null are ignored [E4].
fn names_contact(p: &Value) -> bool {
    let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
    CONTACT_PARAMS.contains(&name)
        && match p.get("value") {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => {
                let s = s.trim();
                !s.is_empty() && !s.eq_ignore_ascii_case("null")
            }
            Some(_) => true,
        }
}
