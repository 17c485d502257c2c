//! `POST /v1/event` and `POST /v2/event`.

use serde_json::Value;

use super::RecordedEvent;
use super::http::{Answer, bad, empty, json_body};
use super::state::FakeState;

pub(super) fn event(s: &mut FakeState, version: &str, body: &[u8]) -> Answer {
    if body.len() > 20 * 1024 {
        return Err(bad("Request body is larger than 20 KB"));
    }
    let v = json_body(body)?;
    if v.get("eventTypeKey")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(bad("eventTypeKey is required"));
    }
    let params = v
        .get("params")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if version == "v1"
        && params
            .iter()
            .any(|p| !p.get("value").is_some_and(Value::is_string))
    {
        return Err(bad("params[].value must be a string in v1"));
    }
    s.events.push(RecordedEvent {
        version: if version == "v1" { 1 } else { 2 },
        body: v,
    });
    Ok(empty())
}
