//! `contact.php` (get, list a segment, upsert one or many) and `contact/forget.php`.

use axum::response::Response;
use serde_json::{Map, Value};

use super::http::{Call, code, ok, ok101, required};
use super::segments;
use super::state::{FakeContact, FakeState, now_text};
use crate::de::{value_to_bool, value_to_text};
use crate::fields::READ_ONLY_KEYS;

/// Largest (and default) `limit` of a segment page, and its documented page size
/// (smaily.com/help/api/segments/list-subscribers-of-a-segment).
const SEGMENT_PAGE: usize = 25_000;

/// `GET contact.php?email=` (smaily.com/help/api/subscribers-2/get-a-subscriber: a bare object;
/// a miss is 206 on HTTP 200) or `?list=&offset=&limit=&fields=`
/// (smaily.com/help/api/segments/list-subscribers-of-a-segment: `email` always included,
/// unknown fields ignored, sorted by email, `offset` a page index).
pub(crate) fn get(s: &mut FakeState, call: &Call<'_>) -> Response {
    if let Some(email) = call.get("email") {
        return match s.contacts.get(&email.trim().to_lowercase()) {
            Some(c) if !c.is_deleted => ok(c.to_json(None)),
            _ => code(206, "Could not find requested email address"),
        };
    }
    let list = match call.number("list") {
        Ok(Some(id)) => id,
        Ok(None) => return required(&["email"]),
        Err(text) => return code(208, format!("Could not find list with ID - {text}")),
    };
    let Some(members) = segments::members(s, list) else {
        return code(208, format!("Could not find list with ID - {list}"));
    };
    let only: Option<Vec<String>> = call
        .get("fields")
        .map(|f| f.split(',').map(|x| x.trim().to_string()).collect());
    let (limit, page) = (call.limit(SEGMENT_PAGE), call.page("offset"));
    let rows: Vec<Value> = s
        .paging
        .page(&members, page, limit, SEGMENT_PAGE)
        .iter()
        .map(|c| c.to_json(only.as_deref()))
        .collect();
    ok(Value::Array(rows))
}

/// Why a row is refused: the code and message Smaily gives for it alone
/// (help.smaily.com …/16000018661-possible-results: 207 required field, 204 invalid address;
/// 203 for reserved TLDs, erkkimarkus/smaily-api-docs-unofficial `guides/gotchas.md`; 203 for
/// a read-only system field sent as a custom field: smaily.com/help/api/subscribers-2/
/// get-a-subscriber lists those fields, /create-and-update-subscribers lets a request set only
/// `email`, `is_unsubscribed`, `is_deleted` and custom fields; the code is the one for invalid
/// parameters, the page names none).
pub(crate) fn row_error(row: &Value) -> Option<(u16, String)> {
    if let Some(key) = row
        .as_object()
        .and_then(|m| m.keys().find(|k| READ_ONLY_KEYS.contains(&k.as_str())))
    {
        return Some((
            203,
            format!("Invalid data submitted - {key} is a read-only system field"),
        ));
    }
    let email = match row.get("email") {
        None | Some(Value::Null) => {
            return Some((207, "Following fields are required - email".into()));
        }
        Some(v) => value_to_text(v),
    };
    let email = email.trim();
    if email.is_empty() {
        return Some((207, "Following fields are required - email".into()));
    }
    if !valid_email(email) {
        return Some((204, format!("Invalid email address provided - {email}")));
    }
    let domain = email.rsplit('@').next().unwrap_or("").to_lowercase();
    if [".test", ".invalid", ".localhost", ".example"]
        .iter()
        .any(|tld| domain.ends_with(tld))
    {
        return Some((203, "Invalid data submitted".into()));
    }
    None
}

/// A plausible address: one `@`, a local part, a dotted domain, no whitespace.
pub(crate) fn valid_email(email: &str) -> bool {
    email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.contains(char::is_whitespace)
            && !domain.contains('@')
    })
}

/// Upserts one valid row, recording what happened in the action log. `force_subscribe`
/// opts the address in (`autoresponder.php` with `force_opt_in`).
pub(crate) fn apply_row(s: &mut FakeState, row: &Map<String, Value>, force_subscribe: bool) {
    let email = value_to_text(&row["email"]).trim().to_string();
    let key = email.to_lowercase();
    let created = !s.contacts.contains_key(&key);
    let contact = s
        .contacts
        .entry(key)
        .or_insert_with(|| FakeContact::new(&email));
    let mut happened: Vec<&'static str> = Vec::new();
    if created {
        happened.push("create");
    }
    // is_deleted: custom data purged, the subscription status kept
    // (smaily.com/help/api/subscribers-2/create-and-update-subscribers).
    if row
        .get("is_deleted")
        .and_then(value_to_bool)
        .unwrap_or(false)
    {
        contact.is_deleted = true;
        contact.fields.clear();
        happened.push("delete");
    } else {
        contact.is_deleted = false;
        // No is_unsubscribed keeps an existing contact's status; a new one is subscribed
        // (sendsmaily/smaily-magento-extension `Model/Backfill/ContactsProcessor.php`).
        let unsub = if force_subscribe {
            Some(false)
        } else {
            row.get("is_unsubscribed").and_then(value_to_bool)
        };
        match unsub {
            Some(true) if !contact.is_unsubscribed => {
                contact.is_unsubscribed = true;
                contact.unsubscribed_at = Some(now_text());
                happened.push("optout");
            }
            Some(false) if contact.is_unsubscribed => {
                contact.is_unsubscribed = false;
                contact.unsubscribed_at = None;
                happened.push("optin");
            }
            _ => {}
        }
        let mut modified = false;
        for (k, v) in row {
            if !["email", "is_unsubscribed", "is_deleted"].contains(&k.as_str()) {
                let v = value_to_text(v);
                modified |= contact.fields.get(k) != Some(&v);
                contact.fields.insert(k.clone(), v);
            }
        }
        if modified && !created {
            happened.push("modify");
        }
    }
    let email = contact.email.clone();
    for action in happened {
        s.record(&email, action, None, Value::Null);
    }
}

/// `POST contact.php`: one object or a list (smaily.com/help/api/subscribers-2/
/// create-and-update-subscribers). A batch with a bad row still saves the good rows and
/// answers 203 (sendsmaily/smaily-opencart-module `customer_sync.php`: "Smaily subscribes all
/// valid emails and discards the rest").
pub(crate) fn post(s: &mut FakeState, call: &Call<'_>) -> Response {
    match &call.body {
        Value::Object(row) if !row.is_empty() => {
            if let Some((c, m)) = row_error(&call.body) {
                return code(c, m);
            }
            apply_row(s, row, false);
            ok101()
        }
        Value::Array(rows) if !rows.is_empty() => {
            let mut bad = false;
            for row in rows {
                match (row, row_error(row)) {
                    (Value::Object(r), None) => apply_row(s, r, false),
                    _ => bad = true,
                }
            }
            if bad {
                code(203, "Invalid data submitted")
            } else {
                ok101()
            }
        }
        // Nothing readable arrived (no body, or one whose content type is neither JSON nor a
        // form): no email was submitted.
        Value::Null => required(&["email"]),
        _ => code(203, "Invalid data submitted"),
    }
}

/// `POST contact/forget.php`: "Request body must contain a JSON list of email addresses"
/// (smaily.com/help/api/subscribers-2/forget-subscribers, whose example sends
/// `Content-Type: application/json`). Anything else (a form body, which only the older
/// help.smaily.com …/16000079031 page allowed, or a JSON object) is refused with 203
/// "Invalid data submitted" and forgets nobody.
pub(crate) fn forget(s: &mut FakeState, call: &Call<'_>) -> Response {
    let json = call.req.content_type.as_deref().is_some_and(|ct| {
        ct.trim()
            .to_ascii_lowercase()
            .starts_with("application/json")
    });
    let (true, Value::Array(emails)) = (json, &call.body) else {
        return code(203, "Invalid data submitted");
    };
    for e in emails {
        s.contacts.remove(&value_to_text(e).trim().to_lowercase());
    }
    ok101()
}
