//! The documented request shapes: every key the service knows, per object, and the checks that
//! refuse anything else (a fake that accepts what the service refuses hides client mistakes).
//!
//! Unless noted, key sets are the schemas of the Yespo OpenAPI document behind docs.yespo.io
//! (`components.schemas.<Name>`). Where another source sends a key the schema lacks, the key is
//! accepted and the source named.

use serde_json::{Map, Value};

use super::http::{Refused, bad};

/// `ContactsBulkUpdate` (`POST /v1/contacts`).
pub(super) const CONTACTS_BULK_UPDATE: &[&str] = &[
    "contacts",
    "dedupeOn",
    "fieldId",
    "contactFields",
    "customFieldsIDs",
    "groupNames",
    "groupNamesExclude",
    "restoreDeleted",
    "eventKeyForNewContacts",
];

/// `ContactsBulkUpdate.dedupeOn` enum.
pub(super) const DEDUPE_ON: &[&str] = &[
    "email",
    "sms",
    "push",
    "email_or_sms",
    "id",
    "externalCustomerId",
    "fieldId",
];

/// `ContactsBulkUpdate.contactFields` enum (`ordersInfo` is listed but read-only).
pub(super) const CONTACT_FIELDS: &[&str] = &[
    "firstName",
    "contactKey",
    "ordersInfo",
    "lastName",
    "languageCode",
    "timeZone",
    "email",
    "sms",
    "mobilepush",
    "webpush",
    "address",
    "town",
    "region",
    "externalCustomerId",
    "postcode",
];

/// `ContactUpdate` (`PUT /v1/contact/{id}`): `Contact` without `groups`.
const CONTACT_UPDATE: &[&str] = &[
    "firstName",
    "lastName",
    "channels",
    "address",
    "fields",
    "addressBookId",
    "id",
    "externalCustomerId",
    "contactKey",
    "languageCode",
    "timeZone",
];

/// What a contact of a bulk import (`POST /v1/contacts`) may carry besides `Contact`'s keys:
/// `email` and `phone`, which Yespo's OpenCart plugin sends there (eSputnik-CDP/esputnik-opencart,
/// admin controller `loadCustomers` @ 247fe23) and the service takes; the channels decide.
pub(super) const BULK_CONTACT_EXTRA: &[&str] = &["email", "phone"];

/// `Contact` (bulk import, `POST /v1/contact`, subscribe).
const CONTACT: &[&str] = &[
    "firstName",
    "lastName",
    "channels",
    "address",
    "fields",
    "addressBookId",
    "id",
    "externalCustomerId",
    "contactKey",
    "groups",
    "languageCode",
    "timeZone",
];

/// `Channel`.
const CHANNEL: &[&str] = &["type", "value", "device", "webPushSubscription"];

/// `Channel.type` enum.
pub(super) const CHANNEL_TYPES: &[&str] = &[
    "email",
    "sms",
    "viber",
    "mobilepush",
    "webpush",
    "appinbox",
    "widget",
    "inapp",
];

/// `Device` ("used together with the mobilepush channel type").
const DEVICE: &[&str] = &[
    "appId",
    "deviceModel",
    "os",
    "locale",
    "clientVersion",
    "appVersion",
    "active",
];

/// `WebPushSubscription` (with the `webpush` channel type).
const WEB_PUSH_SUBSCRIPTION: &[&str] = &[
    "appId",
    "userAgent",
    "userAgentVersion",
    "userAgentLanguage",
    "os",
    "ip",
    "subscriptionPage",
    "swActiveVersion",
];

/// `Address`, plus `countryCode` (sent by a production integration, reference C9).
const ADDRESS: &[&str] = &["region", "town", "address", "postcode", "countryCode"];

/// `ContactField`.
const CONTACT_FIELD: &[&str] = &["id", "value"];

/// `GroupDto`.
const GROUP: &[&str] = &["id", "name", "type"];

/// `SubscribeContact` (`POST /v1/contact/subscribe`).
pub(super) const SUBSCRIBE_CONTACT: &[&str] = &["contact", "groups", "subscriptions", "formType"];

/// The object at `at`, or a 400 naming it.
pub(super) fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, Refused> {
    v.as_object()
        .ok_or_else(|| bad(format!("{at} must be an object")))
}

/// Refuses a key of the object `v` that is not in `known`.
pub(super) fn known_keys(v: &Value, known: &[&str], at: &str) -> Result<(), Refused> {
    match object(v, at)?.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(bad(format!("Unrecognized field \"{k}\" in {at}"))),
        None => Ok(()),
    }
}

/// The array at `v[key]`, if present (a present non-array is refused).
pub(super) fn array<'a>(v: &'a Value, key: &str, at: &str) -> Result<&'a [Value], Refused> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(bad(format!("{at}.{key} must be an array"))),
    }
}

/// The strings of the array `v[key]` (absent: empty).
pub(super) fn strings(v: &Value, key: &str, at: &str) -> Result<Vec<String>, Refused> {
    array(v, key, at)?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("{at}.{key} must hold strings")))
        })
        .collect()
}

/// An integer sent as a number or a numeric string.
pub(super) fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A contact object, checked against `Contact` and its nested schemas.
pub(super) fn contact(c: &Value, at: &str) -> Result<(), Refused> {
    known_keys(c, CONTACT, at)?;
    contact_parts(c, at)
}

/// A `ContactUpdate` (`PUT /v1/contact/{id}`): no `groups` [OA `updateContact`].
pub(super) fn contact_update(c: &Value, at: &str) -> Result<(), Refused> {
    known_keys(c, CONTACT_UPDATE, at)?;
    contact_parts(c, at)
}

/// A contact of a bulk import: `Contact`, plus [`BULK_CONTACT_EXTRA`].
pub(super) fn bulk_contact(c: &Value, at: &str) -> Result<(), Refused> {
    let keys: Vec<&str> = CONTACT.iter().chain(BULK_CONTACT_EXTRA).copied().collect();
    known_keys(c, &keys, at)?;
    contact_parts(c, at)
}

/// The nested objects of a contact.
fn contact_parts(c: &Value, at: &str) -> Result<(), Refused> {
    for (n, ch) in array(c, "channels", at)?.iter().enumerate() {
        let at = format!("{at}.channels[{n}]");
        known_keys(ch, CHANNEL, &at)?;
        let kind = ch.get("type").and_then(Value::as_str).unwrap_or_default();
        if !CHANNEL_TYPES.contains(&kind) {
            return Err(bad(format!("{at}.type: unknown channel type {kind:?}")));
        }
        if let Some(device) = ch.get("device") {
            known_keys(device, DEVICE, &format!("{at}.device"))?;
        }
        if let Some(wps) = ch.get("webPushSubscription") {
            known_keys(
                wps,
                WEB_PUSH_SUBSCRIPTION,
                &format!("{at}.webPushSubscription"),
            )?;
        }
    }
    if let Some(address) = c.get("address") {
        known_keys(address, ADDRESS, &format!("{at}.address"))?;
    }
    for (n, f) in array(c, "fields", at)?.iter().enumerate() {
        let at = format!("{at}.fields[{n}]");
        known_keys(f, CONTACT_FIELD, &at)?;
        if f.get("id").and_then(int).is_none() {
            return Err(bad(format!("{at}.id must be an integer")));
        }
    }
    for (n, g) in array(c, "groups", at)?.iter().enumerate() {
        known_keys(g, GROUP, &format!("{at}.groups[{n}]"))?;
    }
    Ok(())
}
