//! Contacts: the bulk import and its sessions, single-contact CRUD, search and subscribe.

use axum::http::Method;
use serde_json::{Value, json};

use super::RecordedEvent;
use super::http::{Answer, Query, bad, empty, json_body, ok_json, page, refuse, text};
use super::segments::segment_by_name;
use super::state::{FakeState, ImportSession};

pub(super) fn insert_contact(s: &mut FakeState, mut contact: Value) -> i64 {
    let id = match contact.get("id").and_then(Value::as_i64) {
        Some(id) if id > 0 => id,
        _ => {
            s.next_contact += 1;
            s.next_contact
        }
    };
    s.next_contact = s.next_contact.max(id);
    contact["id"] = json!(id);
    s.contacts.insert(id, contact);
    id
}

fn email_of(c: &Value) -> Option<String> {
    channel_of(c, "email")
}

fn channel_of(c: &Value, kind: &str) -> Option<String> {
    c.get("channels")?
        .as_array()?
        .iter()
        .find(|ch| ch.get("type").and_then(Value::as_str) == Some(kind))
        .and_then(|ch| ch.get("value")?.as_str().map(str::to_lowercase))
}

/// The id of the stored contact matching `c` (externalCustomerId first, then `dedupe_on`).
fn find_contact(s: &FakeState, c: &Value, dedupe_on: &str) -> Option<i64> {
    if let Some(ext) = c.get("externalCustomerId").and_then(Value::as_str) {
        return s
            .contacts
            .iter()
            .find(|(_, v)| v.get("externalCustomerId").and_then(Value::as_str) == Some(ext))
            .map(|(id, _)| *id);
    }
    let same = |kind: &str| {
        let mine = channel_of(c, kind)?;
        s.contacts
            .iter()
            .find(|(_, v)| channel_of(v, kind).as_deref() == Some(&mine))
            .map(|(id, _)| *id)
    };
    match dedupe_on {
        "id" => c
            .get("id")
            .and_then(Value::as_i64)
            .filter(|id| s.contacts.contains_key(id)),
        "sms" => same("sms"),
        "email_or_sms" => same("email").or_else(|| same("sms")),
        _ => same("email"),
    }
}

fn upsert_contact(s: &mut FakeState, c: &Value, dedupe_on: &str) -> i64 {
    match find_contact(s, c, dedupe_on) {
        Some(id) => {
            let stored = s.contacts.get_mut(&id).expect("found");
            for (k, v) in c.as_object().into_iter().flatten() {
                if k != "id" {
                    stored[k] = v.clone();
                }
            }
            id
        }
        None => {
            let mut c = c.clone();
            if let Some(m) = c.as_object_mut() {
                m.remove("id");
            }
            insert_contact(s, c)
        }
    }
}

pub(super) fn route(
    s: &mut FakeState,
    method: &Method,
    rest: &[&str],
    q: &Query,
    body: &[u8],
) -> Answer {
    Ok(match (method.as_str(), rest) {
        ("POST", ["v1", "contacts"]) => {
            let v = json_body(body)?;
            let Some(contacts) = v.get("contacts").and_then(Value::as_array) else {
                return Err(bad("contacts is required"));
            };
            if contacts.len() > 3000 {
                return Err(bad("At most 3000 contacts per request"));
            }
            let dedupe = v
                .get("dedupeOn")
                .and_then(Value::as_str)
                .unwrap_or("email")
                .to_string();
            let groups: Vec<String> = v
                .get("groupNames")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let ids: Vec<i64> = contacts
                .iter()
                .map(|c| upsert_contact(s, c, &dedupe))
                .collect();
            for g in groups {
                let gid = segment_by_name(s, &g);
                if let Some(seg) = s.segments.get_mut(&gid) {
                    seg.members.extend(&ids);
                }
            }
            s.next_import += 1;
            let session = format!("5b2b0a4e-0000-4000-8000-{:012x}", s.next_import);
            let polls_left = s.import_polls;
            let failed = s.fail_imports;
            s.imports
                .insert(session.clone(), ImportSession { polls_left, failed });
            ok_json(json!({ "asyncSessionId": session }))
        }
        ("GET", ["v1", "importstatus", id]) => match s.imports.get_mut(*id) {
            None => text(404, "Session not found"),
            Some(session) if session.polls_left > 0 => {
                session.polls_left -= 1;
                ok_json(
                    json!({"status": if session.polls_left > 0 { "STARTED" } else { "IMPORTING" }}),
                )
            }
            Some(session) if session.failed => {
                ok_json(json!({"status": "ERROR", "description": "Import failed"}))
            }
            Some(_) => ok_json(json!({"status": "FINISHED"})),
        },
        ("GET", ["v1", "contacts"]) => {
            let email = q.get("email").map(|e| e.to_lowercase());
            let ext = q.get("externalCustomerId");
            let sms = q.get("sms");
            let hits: Vec<Value> = s
                .contacts
                .values()
                .filter(|c| {
                    email
                        .as_ref()
                        .is_none_or(|e| email_of(c).is_some_and(|m| m.contains(e.as_str())))
                })
                .filter(|c| {
                    ext.is_none_or(|x| {
                        c.get("externalCustomerId").and_then(Value::as_str) == Some(x)
                    })
                })
                .filter(|c| sms.is_none_or(|p| channel_of(c, "sms").as_deref() == Some(p)))
                .cloned()
                .collect();
            page(q, hits)?
        }
        ("POST", ["v1", "contact"]) => {
            let c = json_body(body)?;
            if !c.get("channels").is_some_and(Value::is_array) {
                return Err(bad(
                    json!({"errorMessage": "channels are required"}).to_string()
                ));
            }
            let id = upsert_contact(s, &c, "email");
            ok_json(json!({ "id": id }))
        }
        ("POST", ["v1", "contact", "subscribe"]) => {
            let v = json_body(body)?;
            let Some(c) = v.get("contact") else {
                return Err(bad("contact is required"));
            };
            let id = upsert_contact(s, c, "email");
            for g in v
                .get("groups")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = g.as_str() {
                    let gid = segment_by_name(s, name);
                    if let Some(seg) = s.segments.get_mut(&gid) {
                        seg.members.insert(id);
                    }
                }
            }
            s.events.push(RecordedEvent {
                version: 1,
                body: json!({"eventTypeKey": "subscribeFromAPI", "params": [{"name": "contactId", "value": id.to_string()}]}),
            });
            empty()
        }
        ("DELETE", ["v1", "contact"]) => {
            let Some(ext) = q.get("externalCustomerId") else {
                return Err(bad("externalCustomerId is required"));
            };
            s.contacts.retain(|_, c| {
                c.get("externalCustomerId").and_then(Value::as_str) != Some(ext.as_str())
            });
            empty()
        }
        (m, ["v1", "contact", id]) => {
            let Ok(id) = id.parse::<i64>() else {
                return Err(refuse(404, "Not Found"));
            };
            if !s.contacts.contains_key(&id) {
                return Err(refuse(404, "Contact not found"));
            }
            match m {
                "GET" => ok_json(s.contacts[&id].clone()),
                "DELETE" => {
                    s.contacts.remove(&id);
                    for seg in s.segments.values_mut() {
                        seg.members.remove(&id);
                    }
                    empty()
                }
                "PUT" => {
                    let mut c = json_body(body)?;
                    c["id"] = json!(id);
                    s.contacts.insert(id, c);
                    empty()
                }
                _ => text(405, "Method Not Allowed"),
            }
        }
        _ => text(404, "Not Found"),
    })
}
