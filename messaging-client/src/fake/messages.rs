//! Sends (`smartsend`, email, SMS) and `GET /v1/message/status`.

use axum::response::Response;
use serde_json::{Value, json};

use super::http::{Answer, Query, bad, json_body, ok_json, one_or_many, refuse};
use super::state::{FakeState, StatusEntry};

fn new_request_id(s: &mut FakeState) -> String {
    s.next_request += 1;
    format!("00000000-0000-4000-8000-{:012x}", s.next_request)
}

fn queue(s: &mut FakeState, locator: Option<&str>, email: bool) -> Value {
    if email && locator.is_some_and(|l| !l.contains('@')) {
        let l = locator.unwrap_or_default();
        return json!({"id": 0, "locator": l, "status": "ERROR", "message": format!("'{l}' is not valid email")});
    }
    let request_id = new_request_id(s);
    s.statuses.insert(
        request_id.clone(),
        StatusEntry {
            status: "DELIVERED".into(),
            delivered: true,
            failed: false,
        },
    );
    let mut r = json!({"id": 0, "status": "OK", "requestId": request_id});
    if let Some(l) = locator {
        r["locator"] = json!(l);
    }
    r
}

pub(super) fn smartsend(s: &mut FakeState, id: &str, body: &[u8]) -> Answer {
    if id.parse::<i64>().is_err() {
        return Err(refuse(404, "Message not found"));
    }
    let v = json_body(body)?;
    let Some(recipients) = v.get("recipients").and_then(Value::as_array) else {
        return Err(bad("recipients is required"));
    };
    if recipients.is_empty() || recipients.len() > 1000 {
        return Err(bad(
            "Up to a thousand recipients are transmitted in one request",
        ));
    }
    let email = v.get("email").and_then(Value::as_bool).unwrap_or(false);
    let mut results = Vec::new();
    for r in recipients {
        if !r
            .get("jsonParam")
            .is_none_or(|p| p.is_string() || p.is_null())
        {
            return Err(bad("jsonParam must be a string"));
        }
        if let Some(Value::String(p)) = r.get("jsonParam")
            && serde_json::from_str::<Value>(p).is_err()
        {
            return Err(bad("jsonParam is not valid JSON"));
        }
        let locator = r.get("locator").and_then(Value::as_str);
        if locator.is_none() && r.get("contactId").is_none() {
            return Err(bad("locator or contactId is required"));
        }
        results.push(queue(s, locator, email));
    }
    Ok(ok_json(json!({"id": 0, "results": one_or_many(results)})))
}

pub(super) fn plain_send(s: &mut FakeState, channel: &str, body: &[u8]) -> Answer {
    let v = json_body(body)?;
    let key = if channel == "email" {
        "emails"
    } else {
        "phoneNumbers"
    };
    let targets: Vec<String> = v
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if targets.is_empty() && !(channel == "sms" && v.get("groupId").is_some()) {
        return Err(bad(format!("{key} is required")));
    }
    let results: Vec<Value> = targets
        .iter()
        .map(|t| queue(s, Some(t), channel == "email"))
        .collect();
    Ok(ok_json(json!({"results": one_or_many(results)})))
}

pub(super) fn statuses(s: &FakeState, query: &Query) -> Response {
    let ids = query.get("ids").cloned().unwrap_or_default();
    let results: Vec<Value> = ids
        .split(',')
        .filter_map(|id| {
            s.statuses.get(id).map(|e| {
                json!({"id": 0, "requestId": id, "status": e.status, "delivered": e.delivered, "failed": e.failed})
            })
        })
        .collect();
    ok_json(json!({ "results": one_or_many(results) }))
}
