//! Sends (`smartsend`, email, SMS, Viber), `GET /v1/message/status`, and the contact activity
//! they leave (`GET /v2/contacts/activity`).
//!
//! Sources: the Yespo OpenAPI (`ExtendedPreparedMessageParameters`, `ParametrizedLocator`,
//! `OutgoingEmail`, `OutgoingSMS`, `OutgoingViber`, `SendMessageResultsDto`,
//! `InstantMessagesStatusDto`, `contactActivity`, `ContactActivity`), "Using the Send Prepared
//! Message API Method" [E3] (≤ 1,000 recipients, `jsonParam` is a JSON string, per-recipient
//! `ERROR` results).

use serde_json::{Value, json};

use super::http::{Answer, Query, bad, json_body, ok_json, one_or_many, refuse};
use super::schema;
use super::state::{FakeState, StatusEntry};

/// `ExtendedPreparedMessageParameters`, plus a top-level `externalRequestId` (laid out so on
/// an esputnik.com support page; the reference lists its position as uncertain).
const SMARTSEND: &[&str] = &["recipients", "email", "fromName", "externalRequestId"];

/// `ParametrizedLocator`.
const RECIPIENT: &[&str] = &[
    "contactId",
    "externalCustomerId",
    "locator",
    "jsonParam",
    "externalRequestId",
    "languageCode",
];

/// `OutgoingEmail`, plus `campaignId` (sent by dkulyk/esputnik, reference C5).
const EMAIL: &[&str] = &[
    "from",
    "subject",
    "htmlText",
    "plainText",
    "ampHtmlText",
    "emails",
    "tags",
    "externalRequestId",
    "skipPersonalisation",
    "subscriptionsKeys",
    "trackUrls",
    "campaignId",
];

/// `OutgoingSMS`.
const SMS: &[&str] = &[
    "from",
    "text",
    "phoneNumbers",
    "tags",
    "groupId",
    "externalRequestId",
    "subscriptionsKeys",
    "trackUrls",
];

/// `OutgoingViber`.
const VIBER: &[&str] = &[
    "text",
    "ttlSeconds",
    "img",
    "caption",
    "action",
    "iosExpirityText",
    "phoneNumbers",
    "tags",
    "groupId",
    "externalRequestId",
    "from",
    "trackUrls",
    "subscriptionsKeys",
];

/// Who a message went to, for the status and the activity it leaves.
struct Sent<'a> {
    locator: Option<&'a str>,
    contact_id: Option<i64>,
    external_customer_id: Option<&'a str>,
    external_request_id: Option<&'a str>,
    media_type: &'a str,
    message_id: Option<i64>,
}

/// The fake's request ids: a UUID whose last group counts the messages queued.
pub(super) const REQUEST_ID_PREFIX: &str = "00000000-0000-4000-8000-";

fn queue(s: &mut FakeState, sent: Sent<'_>) -> Value {
    if sent.media_type == "email" && sent.locator.is_some_and(|l| !l.contains('@')) {
        let l = sent.locator.unwrap_or_default();
        return json!({"id": 0, "locator": l, "status": "ERROR", "message": format!("'{l}' is not valid email")});
    }
    s.next_request += 1;
    let request_id = format!("{REQUEST_ID_PREFIX}{:012x}", s.next_request);
    s.statuses.insert(
        request_id.clone(),
        StatusEntry {
            status: "DELIVERED".into(),
            delivered: true,
            failed: false,
        },
    );
    let now = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC);
    let mut activity = json!({
        "iid": request_id,
        "mediaType": sent.media_type,
        "activityStatus": "DELIVERED",
        "activityDateTime": now.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
        "offset": format!("{:012x}-activity", s.activity.len() + 1),
    });
    // OA `ContactActivity`: `email`, `sms`, `mobPushToken`, `webPushToken`.
    let locator_key = match sent.media_type {
        "email" => "email",
        "mobilepush" => "mobPushToken",
        "webpush" => "webPushToken",
        _ => "sms",
    };
    for (key, value) in [
        (locator_key, sent.locator.map(|l| json!(l))),
        ("contactId", sent.contact_id.map(|c| json!(c))),
        (
            "externalCustomerId",
            sent.external_customer_id.map(|c| json!(c)),
        ),
        (
            "externalRequestId",
            sent.external_request_id.map(|r| json!(r)),
        ),
        ("messageId", sent.message_id.map(|m| json!(m))),
    ] {
        if let Some(v) = value {
            activity[key] = v;
        }
    }
    s.activity.push(activity);
    let mut r = json!({"id": 0, "status": "OK", "requestId": request_id});
    if let Some(l) = sent.locator {
        r["locator"] = json!(l);
    }
    r
}

pub(super) fn smartsend(s: &mut FakeState, id: &str, body: &[u8]) -> Answer {
    let Ok(message_id) = id.parse::<i64>() else {
        return Err(refuse(404, "Message not found"));
    };
    let v = json_body(body)?;
    schema::known_keys(&v, SMARTSEND, "the request")?;
    let Some(recipients) = v.get("recipients").and_then(Value::as_array) else {
        return Err(bad("recipients is required"));
    };
    if recipients.is_empty() || recipients.len() > 1000 {
        return Err(bad(
            "Up to a thousand recipients are transmitted in one request",
        ));
    }
    // `recipients`: `uniqueItems: true` [OA `ExtendedPreparedMessageParameters`].
    for (n, r) in recipients.iter().enumerate() {
        if recipients[..n].contains(r) {
            return Err(bad(format!(
                "recipients[{n}] repeats an earlier recipient (recipients must be unique)"
            )));
        }
    }
    for (n, r) in recipients.iter().enumerate() {
        schema::known_keys(r, RECIPIENT, &format!("recipients[{n}]"))?;
        // "jsonParam: The set of parameters in JSON format" — a string [E3].
        match r.get("jsonParam") {
            None | Some(Value::Null) => {}
            Some(Value::String(p)) if serde_json::from_str::<Value>(p).is_ok() => {}
            Some(Value::String(_)) => return Err(bad("jsonParam is not valid JSON")),
            Some(_) => return Err(bad("jsonParam must be a string")),
        }
        if ["locator", "contactId", "externalCustomerId"]
            .iter()
            .all(|k| r.get(*k).is_none_or(Value::is_null))
        {
            return Err(bad("locator, contactId or externalCustomerId is required"));
        }
    }
    let email = v.get("email").and_then(Value::as_bool).unwrap_or(false);
    let shared_id = v.get("externalRequestId").and_then(Value::as_str);
    let mut results: Vec<Value> = Vec::new();
    for r in recipients {
        let external_customer_id = r.get("externalCustomerId").and_then(Value::as_str);
        let external_request_id = r
            .get("externalRequestId")
            .and_then(Value::as_str)
            .or(shared_id);
        if let Some(locator) = r.get("locator").and_then(Value::as_str) {
            let media_type = if email { "email" } else { "sms" };
            let sent = Sent {
                locator: Some(locator),
                contact_id: None,
                external_customer_id,
                external_request_id,
                media_type,
                message_id: Some(message_id),
            };
            results.push(queue(s, sent));
            continue;
        }
        // By contact: the message goes to the contact's address (email) or to its device
        // tokens (push: "contactId ... for mobile and web push" [E3]), and each result names
        // that locator, "the message recipient" [OA `SendMessageResultDto.locator`].
        let contact_id = r.get("contactId").and_then(schema::int);
        let found = s
            .contacts
            .iter()
            .find(|(id, c)| {
                contact_id == Some(**id)
                    || (contact_id.is_none()
                        && external_customer_id.is_some()
                        && c.get("externalCustomerId").and_then(Value::as_str)
                            == external_customer_id)
            })
            .map(|(id, c)| (*id, c.clone()));
        let Some((id, contact)) = found else {
            results.push(json!({"id": 0, "status": "ERROR", "message": "Contact not found"}));
            continue;
        };
        let kinds: &[&str] = if email {
            &["email"]
        } else {
            &["mobilepush", "webpush"]
        };
        let channels: Vec<(String, String)> = contact["channels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|ch| {
                let kind = ch.get("type")?.as_str()?;
                let value = ch.get("value")?.as_str()?;
                kinds
                    .contains(&kind)
                    .then(|| (kind.to_owned(), value.to_owned()))
            })
            .collect();
        if channels.is_empty() {
            results.push(json!({"id": 0, "status": "ERROR", "message": "The contact has no channel for this message"}));
            continue;
        }
        for (kind, value) in &channels {
            let sent = Sent {
                locator: Some(value),
                contact_id: Some(id),
                external_customer_id,
                external_request_id,
                media_type: kind,
                message_id: Some(message_id),
            };
            results.push(queue(s, sent));
        }
    }
    Ok(ok_json(json!({"id": 0, "results": one_or_many(results)})))
}

/// `POST /v1/message/{email|sms|viber}`.
pub(super) fn plain_send(s: &mut FakeState, channel: &str, body: &[u8]) -> Answer {
    let v = json_body(body)?;
    let (keys, required, targets): (&[&str], &[&str], &str) = match channel {
        "email" => (EMAIL, &["from", "subject", "htmlText"], "emails"),
        "sms" => (SMS, &["from", "text"], "phoneNumbers"),
        _ => (VIBER, &["text", "iosExpirityText"], "phoneNumbers"),
    };
    schema::known_keys(&v, keys, "the message")?;
    for field in required {
        if v.get(*field)
            .and_then(Value::as_str)
            .is_none_or(|t| t.trim().is_empty())
        {
            return Err(bad(format!("{field} is required")));
        }
    }
    let to = schema::strings(&v, targets, "the message")?;
    // Email needs `emails`; SMS and Viber need phoneNumbers, "if groupId is not specified".
    if to.is_empty() && (channel == "email" || v.get("groupId").is_none()) {
        return Err(bad(format!("{targets} is required")));
    }
    let external_request_id = v.get("externalRequestId").and_then(Value::as_str);
    let results: Vec<Value> = to
        .iter()
        .map(|t| {
            queue(
                s,
                Sent {
                    locator: Some(t),
                    contact_id: None,
                    external_customer_id: None,
                    external_request_id,
                    media_type: channel,
                    message_id: None,
                },
            )
        })
        .collect();
    Ok(ok_json(json!({"results": one_or_many(results)})))
}

pub(super) fn statuses(s: &FakeState, query: &Query) -> Answer {
    let ids = query.get("ids").cloned().unwrap_or_default();
    let results: Vec<Value> = ids
        .split(',')
        .filter_map(|id| {
            s.statuses.get(id).map(|e| {
                json!({"id": 0, "requestId": id, "status": e.status, "delivered": e.delivered, "failed": e.failed})
            })
        })
        .collect();
    Ok(ok_json(json!({ "results": one_or_many(results) })))
}

/// `GET /v2/contacts/activity`: `dateFrom` and `dateTo` are required (a date or a date-time,
/// read in the API user's time zone: UTC here), filters narrow the entries, `offset` continues
/// after the entry that carried it, `maxrows` caps the page (default 25,000).
pub(super) fn activity(s: &FakeState, q: &Query) -> Answer {
    let period = |key: &str, end_of_day: bool| {
        let text = q.get(key)?;
        text.parse::<jiff::civil::DateTime>().ok().or_else(|| {
            let date = text.parse::<jiff::civil::Date>().ok()?;
            Some(if end_of_day {
                date.to_datetime(jiff::civil::time(23, 59, 59, 999_999_999))
            } else {
                date.to_datetime(jiff::civil::Time::midnight())
            })
        })
    };
    let (Some(from), Some(to)) = (period("dateFrom", false), period("dateTo", true)) else {
        return Err(bad("dateFrom and dateTo are required"));
    };
    let rows = q
        .get("maxrows")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(25_000);
    let filters = [
        ("email", "email"),
        ("sms", "sms"),
        ("messageTag", "messageTag"),
        ("activityStatus", "activityStatus"),
        ("webPushToken", "webPushToken"),
        ("mobPushToken", "mobPushToken"),
    ];
    let start = match q.get("offset") {
        Some(o) => s
            .activity
            .iter()
            .position(|a| a["offset"].as_str() == Some(o))
            .map_or(s.activity.len(), |p| p + 1),
        None => 0,
    };
    let page: Vec<Value> = s.activity[start..]
        .iter()
        .filter(|a| {
            a["activityDateTime"]
                .as_str()
                .and_then(|t| t.parse::<jiff::civil::DateTime>().ok())
                .is_some_and(|t| t >= from && t <= to)
        })
        .filter(|a| {
            filters.iter().all(|(param, field)| {
                q.get(*param)
                    .is_none_or(|want| a[*field].as_str() == Some(want.as_str()))
            })
        })
        .take(rows)
        .cloned()
        .collect();
    Ok(ok_json(Value::Array(page)))
}
