//! `autoresponder.php` (trigger, list), `workflows.php` and `message/send.php`.

use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use super::contacts::{apply_row, row_error, valid_email};
use super::http::{Call, code, ok, required};
use super::state::{FakeState, MessageAction, Trigger};
use crate::de::{value_to_bool, value_to_int, value_to_text};

fn workflow_id(s: &FakeState, v: &Value) -> Option<u64> {
    value_to_int(v)
        .and_then(|n| u64::try_from(n).ok())
        .filter(|id| s.workflows.iter().any(|w| w["id"] == json!(id)))
}

/// `GET autoresponder.php`: `status` (multi-value), `limit` (0 = all), `page`
/// (smaily.com/help/api/automations-2/list-automation-workflows).
pub(crate) fn list(s: &mut FakeState, call: &Call<'_>) -> Response {
    let statuses = call.all("status");
    let rows: Vec<Value> = s
        .workflows
        .iter()
        .filter(|w| statuses.is_empty() || statuses.iter().any(|st| w["status"] == json!(st)))
        .cloned()
        .collect();
    let (limit, page) = (call.limit(usize::MAX), call.page("page"));
    ok(Value::Array(
        rows.into_iter()
            .skip(page.saturating_mul(limit))
            .take(limit)
            .collect(),
    ))
}

/// `GET workflows.php?trigger_type=form_submitted`: undocumented, used by the official
/// WooCommerce and Magento plugins to list triggerable workflows (`id`, `title`; newer code
/// reads `name` and `is_enabled`, sendsmaily/smaily-magento-extension `SmailyClient.php`).
pub(crate) fn form_workflows(s: &mut FakeState) -> Response {
    ok(Value::Array(
        s.workflows
            .iter()
            .filter(|w| w["trigger_type"] == "form_submitted")
            .cloned()
            .collect(),
    ))
}

/// `POST autoresponder.php` (smaily.com/help/api/automations-2/autoresponder): `addresses`
/// required (207); an `autoresponder` that is not a "form submitted" workflow is 221;
/// `force_opt_in` defaults to true (erkkimarkus/smaily-api-docs-unofficial
/// `reference/automations.md`). Every address is checked before any is applied.
pub(crate) fn trigger(s: &mut FakeState, call: &Call<'_>) -> Response {
    let body = &call.body;
    let Some(Value::Array(addresses)) = body.get("addresses") else {
        return required(&["addresses"]);
    };
    let autoresponder = match body.get("autoresponder").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => match workflow_id(s, v) {
            Some(id) => Some(id),
            None => return code(221, "Invalid autoresponder ID provided"),
        },
    };
    let force_opt_in = body
        .get("force_opt_in")
        .and_then(value_to_bool)
        .unwrap_or(true);
    if let Some((c, m)) = addresses.iter().find_map(row_error) {
        return code(c, m);
    }
    let mut accepted = Vec::new();
    for row in addresses.iter().filter_map(Value::as_object) {
        apply_row(s, row, force_opt_in);
        accepted.push(value_to_text(&row["email"]).trim().to_string());
    }
    s.triggers.push(Trigger {
        autoresponder,
        emails: accepted.clone(),
        force_opt_in,
    });
    ok(json!({"code": 101, "message": "OK", "addresses": accepted}))
}

/// What is wrong with a `message/send.php` body, checked against
/// smaily.com/help/api/messages/send-message: `autoresponder_id` and `to` required; `from`
/// needs `email` and `name`, `reply_to` its `email`; an attachment needs `filename` and
/// exactly one of `content` (base64) or `url` (http/https).
fn message_error(s: &FakeState, call: &Call<'_>) -> Option<Response> {
    // "Request body must be a JSON serialized string."
    let json = call
        .req
        .content_type
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json"));
    if !json || !call.body.is_object() {
        return Some(code(203, "Invalid data submitted"));
    }
    let b = &call.body;
    let mut missing: Vec<&str> = ["autoresponder_id", "to"]
        .into_iter()
        .filter(|k| b.get(k).is_none_or(Value::is_null))
        .collect();
    if let Some(from) = b.get("from").filter(|f| !f.is_null()) {
        for (key, name) in [("email", "from.email"), ("name", "from.name")] {
            if from
                .get(key)
                .map(value_to_text)
                .is_none_or(|v| v.trim().is_empty())
            {
                missing.push(name);
            }
        }
    }
    if let Some(reply) = b.get("reply_to").filter(|r| !r.is_null())
        && reply
            .get("email")
            .map(value_to_text)
            .is_none_or(|v| v.trim().is_empty())
    {
        missing.push("reply_to.email");
    }
    if !missing.is_empty() {
        return Some(required(&missing));
    }
    if workflow_id(s, &b["autoresponder_id"]).is_none() {
        return Some(code(221, "Invalid autoresponder ID provided"));
    }
    let to_ok = b["to"].as_array().is_some_and(|to| {
        !to.is_empty()
            && to
                .iter()
                .all(|e| e.as_str().is_some_and(|e| valid_email(e.trim())))
    });
    if !to_ok {
        return Some(code(203, "Invalid data submitted"));
    }
    for a in b["attachments"].as_array().into_iter().flatten() {
        if a.get("filename").is_none_or(Value::is_null) {
            return Some(required(&["attachments.filename"]));
        }
        match (a.get("content"), a.get("url")) {
            (Some(Value::String(c)), None) => {
                if base64::engine::general_purpose::STANDARD.decode(c).is_err() {
                    return Some(code(203, "Invalid data submitted"));
                }
            }
            (None, Some(Value::String(u))) => {
                if !(u.starts_with("https://") || u.starts_with("http://")) {
                    return Some(code(226, "Failed to download file from URL"));
                }
            }
            _ => return Some(code(203, "Invalid data submitted")),
        }
    }
    None
}

/// `POST message/send.php`: one message id per section and recipient (a multi-section workflow
/// sends every section, erkkimarkus/smaily-api-docs-unofficial `reference/messages.md`), each a
/// `send` row in the message action log.
pub(crate) fn send_message(s: &mut FakeState, call: &Call<'_>) -> Response {
    if let Some(refused) = message_error(s, call) {
        return refused;
    }
    let b = &call.body;
    let workflow = workflow_id(s, &b["autoresponder_id"]).expect("checked");
    let sections: Vec<u64> = s
        .workflows
        .iter()
        .find(|w| w["id"] == json!(workflow))
        .and_then(|w| w["sections"].as_array())
        .map(|secs| secs.iter().filter_map(|x| x["id"].as_u64()).collect())
        .unwrap_or_default();
    let mut ids = Vec::new();
    for email in b["to"].as_array().expect("checked") {
        for section in &sections {
            s.next_message_id += 1;
            let message_id = s.next_message_id;
            ids.push(message_id);
            let seq_id = s.message_actions.len() as u64 + 1;
            s.message_actions.push(MessageAction {
                seq_id,
                message_id,
                email: value_to_text(email).trim().to_string(),
                workflow_id: workflow,
                section_id: *section,
                action: "send",
                at: jiff::Timestamp::now(),
            });
        }
    }
    s.messages.push(b.clone());
    ok(json!({"code": 101, "message": "OK", "message_ids": ids}))
}
