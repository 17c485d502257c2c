//! Single contacts (`/v1/contact...`), contact search and subscribe; the bulk import is in
//! `import.rs`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::RecordedEvent;
use super::http::{Answer, Query, Refused, bad, empty, json_body, ok_json, page, refuse};
use super::schema::{self, SUBSCRIBE_CONTACT};
use super::segments::segment_by_name;
use super::state::FakeState;

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

/// The (lower-cased) value of the first channel of type `kind`.
pub(super) fn channel_of(c: &Value, kind: &str) -> Option<String> {
    c.get("channels")?
        .as_array()?
        .iter()
        .find(|ch| ch.get("type").and_then(Value::as_str) == Some(kind))
        .and_then(|ch| ch.get("value")?.as_str().map(str::to_lowercase))
}

/// The stored contact a single-contact request names: `externalCustomerId`, else the email,
/// else the phone.
fn find(s: &FakeState, c: &Value) -> Option<i64> {
    let stored =
        |pred: &dyn Fn(&Value) -> bool| s.contacts.iter().find(|(_, v)| pred(v)).map(|(id, _)| *id);
    if let Some(ext) = c.get("externalCustomerId").and_then(Value::as_str) {
        return stored(&|v| v.get("externalCustomerId").and_then(Value::as_str) == Some(ext));
    }
    ["email", "sms"].into_iter().find_map(|kind| {
        let mine = channel_of(c, kind)?;
        stored(&|v| channel_of(v, kind).as_deref() == Some(&mine))
    })
}

/// Adds a contact, or updates the one it names with the keys it carries; with `keep_channels`
/// the stored channels stay and only channels of new types are added.
fn upsert(s: &mut FakeState, c: &Value, keep_channels: bool) -> (i64, bool) {
    let Some(id) = find(s, c) else {
        let mut c = c.clone();
        if let Some(m) = c.as_object_mut() {
            m.remove("id");
        }
        return (insert_contact(s, c), true);
    };
    let stored = s.contacts.get_mut(&id).expect("found");
    for (k, v) in c.as_object().into_iter().flatten() {
        if k == "id" || (keep_channels && k == "channels") {
            continue;
        }
        stored[k] = v.clone();
    }
    if keep_channels {
        let have: Vec<Value> = stored["channels"].as_array().cloned().unwrap_or_default();
        let mut channels = have.clone();
        for ch in c["channels"].as_array().into_iter().flatten() {
            if !have.iter().any(|h| h["type"] == ch["type"]) {
                channels.push(ch.clone());
            }
        }
        stored["channels"] = Value::Array(channels);
    }
    (id, false)
}

/// `GET /v1/contacts`: search by `email` (substring), `externalCustomerId`, `sms`,
/// `firstname`, `lastname`, paged; `sortBy` takes only `contactId` [OA `searchContacts`:
/// "Possible value is 'contactId'"] (the fake's store is in contact id order either way).
pub(super) fn search(s: &mut FakeState, q: &Query) -> Answer {
    if q.get("sortBy").is_some_and(|v| v != "contactId") {
        return Err(bad("sortBy: the possible value is contactId"));
    }
    let named = |key: &str, field: &str, c: &Value| {
        q.get(key)
            .is_none_or(|want| c.get(field).and_then(Value::as_str) == Some(want.as_str()))
    };
    let email = q.get("email").map(|e| e.to_lowercase());
    let ext = q.get("externalCustomerId");
    let sms = q.get("sms");
    let hits: Vec<Value> = s
        .contacts
        .values()
        .filter(|c| {
            email
                .as_ref()
                .is_none_or(|e| channel_of(c, "email").is_some_and(|m| m.contains(e.as_str())))
        })
        .filter(|c| {
            ext.is_none_or(|x| c.get("externalCustomerId").and_then(Value::as_str) == Some(x))
        })
        .filter(|c| sms.is_none_or(|p| channel_of(c, "sms").as_deref() == Some(p)))
        .filter(|c| named("firstname", "firstName", c) && named("lastname", "lastName", c))
        .cloned()
        .collect();
    page(q, hits)
}

/// "409 Conflict: Repeated request within 1 minute" [OA `addContact`, `updateContact`,
/// `subscribeContact`]. OA does not say what makes a request a repeat; the fake takes the same
/// method, path and body (a changed body is a new request), and only a request it accepted
/// counts.
fn not_repeated(s: &mut FakeState, request: &str, body: &[u8]) -> Result<(), Refused> {
    let now = Instant::now();
    s.recent_writes
        .retain(|(_, at)| now.duration_since(*at) < Duration::from_secs(60));
    let key = format!("{request}\n{}", String::from_utf8_lossy(body));
    if s.recent_writes.iter().any(|(k, _)| *k == key) {
        return Err(refuse(409, "Repeated request within 1 minute"));
    }
    s.recent_writes.push((key, now));
    Ok(())
}

/// `POST /v1/contact`: add (or update the contact it names).
pub(super) fn add(s: &mut FakeState, body: &[u8]) -> Answer {
    let c = json_body(body)?;
    schema::contact(&c, "the contact")?;
    if !c.get("channels").is_some_and(Value::is_array) {
        return Err(bad(
            json!({"errorMessage": "channels are required"}).to_string()
        ));
    }
    not_repeated(s, "POST /v1/contact", body)?;
    let (id, _) = upsert(s, &c, false);
    // IDResult [OpenAPI addContact].
    Ok(ok_json(json!({ "id": id })))
}

/// `DELETE /v1/contact?externalCustomerId=&erase=` (`erase` a boolean) [OA `deleteContact`].
pub(super) fn delete_by_external_id(s: &mut FakeState, q: &Query) -> Answer {
    if q.get("erase").is_some_and(|e| e != "true" && e != "false") {
        return Err(bad("erase must be true or false"));
    }
    let Some(ext) = q.get("externalCustomerId") else {
        return Err(bad("externalCustomerId is required"));
    };
    s.contacts
        .retain(|_, c| c.get("externalCustomerId").and_then(Value::as_str) != Some(ext.as_str()));
    Ok(empty())
}

/// The id of an existing contact named in the path, or the service's 404.
fn existing(s: &FakeState, id: &str) -> Result<i64, Refused> {
    let Ok(id) = id.parse::<i64>() else {
        return Err(refuse(404, "Not Found"));
    };
    if !s.contacts.contains_key(&id) {
        return Err(refuse(404, "Contact not found"));
    }
    Ok(id)
}

/// `GET /v1/contact/{id}`.
pub(super) fn get(s: &mut FakeState, id: &str) -> Answer {
    let id = existing(s, id)?;
    Ok(ok_json(s.contacts[&id].clone()))
}

/// `DELETE /v1/contact/{id}` (and its segment memberships); `erase` is a boolean [OA
/// `deleteContact_1`].
pub(super) fn delete(s: &mut FakeState, id: &str, q: &Query) -> Answer {
    if q.get("erase").is_some_and(|e| e != "true" && e != "false") {
        return Err(bad("erase must be true or false"));
    }
    let id = existing(s, id)?;
    s.contact_subscriptions.remove(&id);
    s.contacts.remove(&id);
    for seg in s.segments.values_mut() {
        seg.members.remove(&id);
    }
    Ok(empty())
}

/// `PUT /v1/contact/{id}`: replaces the contact (never creates).
pub(super) fn update(s: &mut FakeState, id: &str, body: &[u8]) -> Answer {
    let id = existing(s, id)?;
    let mut c = json_body(body)?;
    schema::contact_update(&c, "the contact")?;
    not_repeated(s, &format!("PUT /v1/contact/{id}"), body)?;
    c["id"] = json!(id);
    s.contacts.insert(id, c);
    Ok(empty())
}

/// `POST /v1/contact/subscribe` [OpenAPI subscribeContact]: creates an unconfirmed contact or
/// updates one ("except existing media channels"), adds it to `groups`, raises
/// `subscribeFromAPI` / `subscribeUpdateFromAPI` [E2, E13], answers
/// `ContactSubscriptionResult` (`id`, `emailStatus`, `new`), and refuses the same request
/// repeated within a minute with 409.
pub(super) fn subscribe(s: &mut FakeState, body: &[u8]) -> Answer {
    let v = json_body(body)?;
    schema::known_keys(&v, SUBSCRIBE_CONTACT, "the request")?;
    let Some(c) = v.get("contact") else {
        return Err(bad("contact is required"));
    };
    schema::contact(c, "contact")?;
    not_repeated(s, "POST /v1/contact/subscribe", body)?;
    let (id, new) = upsert(s, c, true);
    for name in schema::strings(&v, "groups", "the request")? {
        let gid = segment_by_name(s, &name);
        if let Some(seg) = s.segments.get_mut(&gid) {
            seg.members.insert(id);
        }
    }
    let key = if new {
        "subscribeFromAPI"
    } else {
        "subscribeUpdateFromAPI"
    };
    s.events.push(RecordedEvent {
        version: 1,
        body: json!({"eventTypeKey": key, "params": [{"name": "contactId", "value": id.to_string()}]}),
    });
    let status = if new {
        "NEED_CONFIRMATION"
    } else {
        "ALREADY_SUBSCRIBED"
    };
    Ok(ok_json(
        json!({"id": id, "emailStatus": status, "new": new}),
    ))
}

/// `GET /v1/contact/{id}/subscriptions`: the contact's categories
/// (`ContactSubscriptionCategoryDto`: `id`, `key`, `groupId`, `name`) [OA
/// `getContactSubscriptionCategories`], one as an object (the XML-mapped quirk, E2).
pub(super) fn subscriptions(s: &mut FakeState, id: &str) -> Answer {
    let id = existing(s, id)?;
    let keys = s
        .contact_subscriptions
        .get(&id)
        .cloned()
        .unwrap_or_default();
    let mine: Vec<Value> = s
        .subscription_categories
        .iter()
        .filter(|c| {
            c["key"]
                .as_str()
                .is_some_and(|k| keys.iter().any(|m| m == k))
        })
        .map(
            |c| json!({"id": c["id"], "key": c["key"], "groupId": c["groupId"], "name": c["name"]}),
        )
        .collect();
    Ok(ok_json(super::http::one_or_many(mine)))
}

/// `PUT /v1/contact/{id}/subscriptions`: `ContactSubscriptionCategoryUpsertRequest`
/// (`subscriptions`, required: category keys) replaces the contact's categories [OA
/// `changeContactSubscriptionCategories`].
pub(super) fn set_subscriptions(s: &mut FakeState, id: &str, body: &[u8]) -> Answer {
    let id = existing(s, id)?;
    let v = json_body(body)?;
    schema::known_keys(&v, &["subscriptions"], "the request")?;
    if v.get("subscriptions").is_none() {
        return Err(bad("subscriptions is required"));
    }
    let keys = schema::strings(&v, "subscriptions", "the request")?;
    s.contact_subscriptions.insert(id, keys);
    Ok(empty())
}
