//! The bulk contact import (`POST /v1/contacts`) and its sessions
//! (`GET /v1/importstatus/{sessionId}`), with the field rules of `ContactsBulkUpdate`.
//!
//! Sources: the Yespo OpenAPI (`ContactsBulkUpdate`, `ContactBulkUpdateResult`,
//! `FailedContact`, `ImportSessionStatus`, `DedupeMapping`), docs.reteno.com
//! contactsbulkupdate-1 (the same operation), the guide "Adding New Contacts" (name rules) and
//! the mobile-token guide (events for new contacts only).

use serde_json::{Value, json};

use super::RecordedEvent;
use super::contacts::{channel_of, insert_contact};
use super::http::{Answer, Query, bad, json_body, ok_json, one_or_many, refuse};
use super::schema::{self, CONTACT_FIELDS, CONTACTS_BULK_UPDATE, DEDUPE_ON, int};
use super::segments::segment_by_name;
use super::state::{FakeState, ImportJob, ImportSession};

/// Channel types `contactFields` has a name for; with `contactFields` absent the others are
/// replaced too ("All the contact fields will be updated").
const LISTED_CHANNELS: &[&str] = &["email", "sms", "mobilepush", "webpush"];

pub(super) fn bulk(s: &mut FakeState, body: &[u8]) -> Answer {
    let v = json_body(body)?;
    schema::known_keys(&v, CONTACTS_BULK_UPDATE, "the request")?;
    let Some(contacts) = v.get("contacts").and_then(Value::as_array) else {
        return Err(bad("contacts is required"));
    };
    // "The list of contacts that will be added or updated (max. 3000)".
    if contacts.len() > 3000 {
        return Err(bad("At most 3000 contacts per request"));
    }
    // `dedupeOn` is required, one of its enum [ContactsBulkUpdate.required, .dedupeOn].
    let dedupe_on = match v.get("dedupeOn").and_then(Value::as_str) {
        Some(d) if DEDUPE_ON.contains(&d) => d.to_owned(),
        Some(d) => return Err(bad(format!("dedupeOn: unknown value {d:?}"))),
        None => return Err(bad("dedupeOn is required")),
    };
    // "This field is taken into account when dedupeOnProperty has the fieldId value."
    let field_id = v.get("fieldId").and_then(int);
    if dedupe_on == "fieldId" && field_id.is_none() {
        return Err(bad("fieldId is required when dedupeOn is fieldId"));
    }
    let contact_fields = match v.get("contactFields") {
        None => None,
        Some(_) => {
            let names = schema::strings(&v, "contactFields", "the request")?;
            if let Some(n) = names.iter().find(|n| !CONTACT_FIELDS.contains(&n.as_str())) {
                return Err(bad(format!("contactFields: unknown field {n:?}")));
            }
            Some(names)
        }
    };
    let custom_ids = match v.get("customFieldsIDs") {
        None => None,
        Some(_) => Some(
            schema::array(&v, "customFieldsIDs", "the request")?
                .iter()
                .map(|id| int(id).ok_or_else(|| bad("customFieldsIDs must hold integers")))
                .collect::<Result<Vec<i64>, _>>()?,
        ),
    };
    let group_names = schema::strings(&v, "groupNames", "the request")?;
    let group_names_exclude = schema::strings(&v, "groupNamesExclude", "the request")?;
    let event_key = v
        .get("eventKeyForNewContacts")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut valid = Vec::new();
    let mut failed = Vec::new();
    for (i, c) in contacts.iter().enumerate() {
        schema::bulk_contact(c, &format!("contacts[{i}]"))?;
        let mut c = c.clone();
        if let Some(m) = c.as_object_mut() {
            for extra in schema::BULK_CONTACT_EXTRA {
                m.remove(*extra);
            }
        }
        let c = &c;
        match invalid(c) {
            Some(error) => {
                let mut entry = c.clone();
                entry["error"] = json!(error);
                failed.push(entry);
            }
            None => valid.push(c.clone()),
        }
    }
    s.next_import += 1;
    let session = format!("5b2b0a4e-0000-4000-8000-{:012x}", s.next_import);
    let job = ImportJob {
        contacts: valid,
        dedupe_on,
        field_id,
        contact_fields,
        custom_ids,
        group_names,
        group_names_exclude,
        event_key,
    };
    s.imports.insert(
        session.clone(),
        ImportSession {
            polls_left: s.import_polls,
            failed: s.fail_imports,
            job: Some(job),
            mapping: Vec::new(),
        },
    );
    let mut answer = json!({ "asyncSessionId": session });
    if !failed.is_empty() {
        // "If 1 element is found, failedContacts is an object; if multiple, an array."
        answer["failedContacts"] = one_or_many(failed);
    }
    Ok(ok_json(answer))
}

/// Why the service would list a contact in `failedContacts`: no channel (`channels` is
/// required [Contact.required]), an email without `@`, a name over 40 characters ("The maximum
/// field value length is 40 characters" [Adding New Contacts]).
fn invalid(c: &Value) -> Option<String> {
    let channels = c.get("channels").and_then(Value::as_array);
    if channels.is_none_or(Vec::is_empty) {
        return Some("channels are required".into());
    }
    if let Some(email) = channel_of(c, "email")
        && !email.contains('@')
    {
        return Some(format!("'{email}' is not valid email"));
    }
    for name in ["firstName", "lastName"] {
        if c.get(name)
            .and_then(Value::as_str)
            .is_some_and(|n| n.chars().count() > 40)
        {
            return Some(format!("{name} is longer than 40 characters"));
        }
    }
    None
}

/// `GET /v1/importstatus/{id}`: `STARTED`, `IMPORTING`, then `FINISHED` (the import applies)
/// or `ERROR` [ImportSessionStatus.status].
pub(super) fn status(s: &mut FakeState, id: &str, _q: &Query) -> Answer {
    let Some(session) = s.imports.get_mut(id) else {
        return Err(refuse(404, "Session not found"));
    };
    if session.polls_left > 0 {
        session.polls_left -= 1;
        let state = if session.polls_left > 0 {
            "STARTED"
        } else {
            "IMPORTING"
        };
        return Ok(ok_json(json!({ "status": state })));
    }
    if session.failed {
        session.job = None;
        return Ok(ok_json(
            json!({"status": "ERROR", "description": "Import failed"}),
        ));
    }
    finish(s, id);
    let mapping = s.imports[id].mapping.clone();
    Ok(ok_json(
        json!({"status": "FINISHED", "mapping": one_or_many(mapping)}),
    ))
}

/// Runs every pending session to its end (what the service does whether anyone polls or not).
pub(super) fn finish_all(s: &mut FakeState) {
    let ids: Vec<String> = s.imports.keys().cloned().collect();
    for id in ids {
        if let Some(session) = s.imports.get_mut(&id) {
            session.polls_left = 0;
            if session.failed {
                session.job = None;
            }
        }
        finish(s, &id);
    }
}

/// Applies a session's import once.
fn finish(s: &mut FakeState, id: &str) {
    let Some(job) = s.imports.get_mut(id).and_then(|session| session.job.take()) else {
        return;
    };
    let mut mapping = Vec::new();
    let mut touched = Vec::new();
    for c in &job.contacts {
        let (contact_id, dedupe_value) = upsert(s, c, &job);
        mapping.push(json!({"dedupeValue": dedupe_value, "contactId": contact_id}));
        touched.push(contact_id);
    }
    for name in &job.group_names {
        let gid = segment_by_name(s, name);
        if let Some(seg) = s.segments.get_mut(&gid) {
            seg.members.extend(&touched);
        }
    }
    for name in &job.group_names_exclude {
        if let Some(seg) = s.segments.values_mut().find(|g| &g.name == name) {
            for id in &touched {
                seg.members.remove(id);
            }
        }
    }
    if let Some(session) = s.imports.get_mut(id) {
        session.mapping = mapping;
    }
}

/// The stored contact `c` names, and the field it was found by. "If this array of objects
/// contains externalCustomerId, the search uses externalCustomerId and ignores dedupeOn."
fn find(s: &FakeState, c: &Value, job: &ImportJob) -> Option<(i64, &'static str)> {
    let stored =
        |pred: &dyn Fn(&Value) -> bool| s.contacts.iter().find(|(_, v)| pred(v)).map(|(id, _)| *id);
    if let Some(ext) = c.get("externalCustomerId").and_then(Value::as_str) {
        return stored(&|v| v.get("externalCustomerId").and_then(Value::as_str) == Some(ext))
            .map(|id| (id, "externalCustomerId"));
    }
    let by_channel = |kind: &'static str| {
        let mine = channel_of(c, kind)?;
        stored(&|v| channel_of(v, kind).as_deref() == Some(&mine)).map(|id| (id, kind))
    };
    match job.dedupe_on.as_str() {
        "email" => by_channel("email"),
        "sms" => by_channel("sms"),
        "push" => by_channel("mobilepush").or_else(|| by_channel("webpush")),
        "email_or_sms" => by_channel("email").or_else(|| by_channel("sms")),
        "id" => c
            .get("id")
            .and_then(int)
            .filter(|id| s.contacts.contains_key(id))
            .map(|id| (id, "id")),
        "fieldId" => {
            let field = job.field_id?;
            let mine = custom_value(c, field)?;
            stored(&|v| custom_value(v, field).as_ref() == Some(&mine)).map(|id| (id, "fieldId"))
        }
        _ => None,
    }
}

fn custom_value(c: &Value, id: i64) -> Option<Value> {
    c.get("fields")?
        .as_array()?
        .iter()
        .find(|f| f.get("id").and_then(int) == Some(id))
        .and_then(|f| f.get("value").cloned())
}

/// Creates or updates one contact; returns its id and the value it was deduplicated on.
fn upsert(s: &mut FakeState, c: &Value, job: &ImportJob) -> (i64, Value) {
    let dedupe_value = |by: &str| match by {
        "email" | "sms" | "mobilepush" | "webpush" => json!(channel_of(c, by)),
        "fieldId" => job
            .field_id
            .and_then(|f| custom_value(c, f))
            .unwrap_or(Value::Null),
        other => c.get(other).cloned().unwrap_or(Value::Null),
    };
    let Some((id, by)) = find(s, c, job) else {
        // A new contact is stored as given.
        let mut new = c.clone();
        if let Some(m) = new.as_object_mut() {
            m.remove("id");
            m.remove("groups");
        }
        let id = insert_contact(s, new);
        let by = if c.get("externalCustomerId").is_some() {
            "externalCustomerId"
        } else {
            match job.dedupe_on.as_str() {
                "email_or_sms" | "email" => "email",
                "push" => "mobilepush",
                other => other,
            }
        };
        if let Some(key) = &job.event_key {
            s.events.push(RecordedEvent {
                version: 1,
                body: json!({"eventTypeKey": key, "keyValue": dedupe_value(by),
                             "params": [{"name": "contactId", "value": id.to_string()}]}),
            });
        }
        return (id, dedupe_value(by));
    };
    let stored = s.contacts.get_mut(&id).expect("found");
    // "The field set as dedupeOn will not be updated."
    let names: Vec<&str> = match &job.contact_fields {
        Some(listed) => listed.iter().map(String::as_str).collect(),
        None => CONTACT_FIELDS.to_vec(),
    };
    for name in names.into_iter().filter(|n| *n != by) {
        update_standard(stored, c, name);
    }
    if job.contact_fields.is_none() {
        let other_types: Vec<String> = channel_types(stored)
            .into_iter()
            .chain(channel_types(c))
            .filter(|t| !LISTED_CHANNELS.contains(&t.as_str()))
            .collect();
        for kind in other_types {
            replace_channels(stored, c, &kind);
        }
        if let Some(book) = c.get("addressBookId") {
            stored["addressBookId"] = book.clone();
        }
    }
    // "The custom fields are updated if their IDs are in this list."
    for field in job.custom_ids.iter().flatten() {
        if by == "fieldId" && Some(*field) == job.field_id {
            continue;
        }
        set_custom(stored, *field, custom_value(c, *field));
    }
    (id, dedupe_value(by))
}

fn channel_types(c: &Value) -> Vec<String> {
    c.get("channels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|ch| ch.get("type").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Sets the standard field `name` of `stored` from `incoming`, or clears it ("updated with the
/// 'null' value if no data for updating is transmitted").
fn update_standard(stored: &mut Value, incoming: &Value, name: &str) {
    match name {
        "email" | "sms" | "mobilepush" | "webpush" => replace_channels(stored, incoming, name),
        // `countryCode` travels with `address` (reference C9).
        "address" => {
            set_address(stored, incoming, "address");
            set_address(stored, incoming, "countryCode");
        }
        "town" | "region" | "postcode" => set_address(stored, incoming, name),
        "ordersInfo" => {}
        top => set(stored, top, incoming.get(top).cloned()),
    }
}

fn set(target: &mut Value, key: &str, value: Option<Value>) {
    let Some(map) = target.as_object_mut() else {
        return;
    };
    match value {
        Some(v) if !v.is_null() => {
            map.insert(key.to_owned(), v);
        }
        _ => {
            map.remove(key);
        }
    }
}

fn set_address(stored: &mut Value, incoming: &Value, key: &str) {
    let value = incoming.get("address").and_then(|a| a.get(key)).cloned();
    if stored.get("address").is_none() {
        stored["address"] = json!({});
    }
    set(&mut stored["address"], key, value);
    if stored["address"].as_object().is_some_and(|a| a.is_empty()) {
        set(stored, "address", None);
    }
}

fn replace_channels(stored: &mut Value, incoming: &Value, kind: &str) {
    let of_kind = |ch: &Value| ch.get("type").and_then(Value::as_str) == Some(kind);
    let mut channels: Vec<Value> = stored
        .get("channels")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter(|ch| !of_kind(ch)).cloned().collect())
        .unwrap_or_default();
    channels.extend(
        incoming
            .get("channels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|ch| of_kind(ch))
            .cloned(),
    );
    set(stored, "channels", Some(Value::Array(channels)));
}

fn set_custom(stored: &mut Value, id: i64, value: Option<Value>) {
    let mut fields: Vec<Value> = stored
        .get("fields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let slot = fields
        .iter()
        .position(|f| f.get("id").and_then(int) == Some(id));
    match (slot, value) {
        (Some(i), Some(v)) => fields[i]["value"] = v,
        (None, Some(v)) => fields.push(json!({"id": id, "value": v})),
        (Some(i), None) => {
            fields.remove(i);
        }
        (None, None) => {}
    }
    set(
        stored,
        "fields",
        (!fields.is_empty()).then_some(Value::Array(fields)),
    );
}
