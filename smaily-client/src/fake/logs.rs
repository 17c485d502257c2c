//! The action logs: `history.php` (subscribers) and `message/action/log.php` (messages).

use axum::response::Response;
use serde_json::{Value, json};

use super::http::{Call, code, ok, required};
use super::state::FakeState;
use crate::de::{format_smaily_time, tallinn};

/// Largest `limit`, and the documented page of `offset`
/// (smaily.com/help/api/subscribers-2/subscriber-action-log, /messages/message-action-log).
const PAGE: usize = 10_000;

/// Which rows a log query selects.
enum Select {
    Since(u64),
    Message(u64),
    Window(jiff::Timestamp, jiff::Timestamp),
}

/// Reads the selector shared by both logs: `since_seq_id` (needs `limit`, no `offset`),
/// `message_id` (message log only), or `start_at` + `end_at` (UNIX seconds; 223 without one,
/// 224 for an end before the start; erkkimarkus/smaily-api-docs-unofficial `errors.md`).
/// `offset` with `since_seq_id` is refused with 203 (the reference forbids it, the code is
/// not documented).
/// The answer for a refused selector: 207 names the missing field.
fn refuse((c, m): (u16, &'static str)) -> Response {
    match c {
        207 => required(&[m]),
        _ => code(c, m),
    }
}

fn select(
    call: &Call<'_>,
    by_message: bool,
) -> Result<(Select, usize, usize), (u16, &'static str)> {
    let limit = match call.number("limit") {
        Ok(l) => l.map(|l| (l as usize).clamp(1, PAGE)),
        Err(_) => return Err((203, "Invalid data submitted")),
    };
    let offset = call.get("offset").and_then(|o| o.parse::<usize>().ok());
    if let Ok(Some(since)) = call.number("since_seq_id") {
        let Some(limit) = limit else {
            return Err((207, "limit"));
        };
        if offset.is_some() {
            return Err((203, "Invalid data submitted"));
        }
        return Ok((Select::Since(since), limit, 0));
    }
    let (limit, page) = (limit.unwrap_or(PAGE), offset.unwrap_or(0));
    if by_message && let Ok(Some(id)) = call.number("message_id") {
        return Ok((Select::Message(id), limit, page));
    }
    let at = |key| {
        call.number(key)
            .ok()
            .flatten()
            .and_then(|n| jiff::Timestamp::from_second(n as i64).ok())
    };
    match (at("start_at"), at("end_at")) {
        (Some(start), Some(end)) if end < start => Err((224, "End date cannot be before start")),
        (Some(start), Some(end)) => Ok((Select::Window(start, end), limit, page)),
        _ => Err((223, "Missing start or end date")),
    }
}

fn in_window(at: jiff::Timestamp, start: jiff::Timestamp, end: jiff::Timestamp) -> bool {
    let second = at.as_second();
    (start.as_second()..=end.as_second()).contains(&second)
}

/// `GET history.php`: rows `{seq_id, email, time, campaign_id, campaign_name, action, value}`,
/// `seq_id` only when asked by `since_seq_id` (verified live, erkkimarkus
/// `reference/action-log.md`), `time` Tallinn-local, `actions` filtering in any known form.
pub(crate) fn history(s: &mut FakeState, call: &Call<'_>) -> Response {
    let (select, limit, page) = match select(call, false) {
        Ok(x) => x,
        Err(refused) => return refuse(refused),
    };
    let actions = call.all("actions");
    let wanted =
        |a: &&super::state::Action| actions.is_empty() || actions.iter().any(|x| x == a.action);
    let since = matches!(select, Select::Since(_));
    let rows: Vec<&super::state::Action> = match select {
        Select::Since(id) => s
            .actions
            .iter()
            .filter(|a| a.seq_id > id)
            .filter(wanted)
            .take(limit)
            .collect(),
        Select::Window(start, end) => {
            let all: Vec<_> = s
                .actions
                .iter()
                .filter(|a| in_window(a.at, start, end))
                .filter(wanted)
                .collect();
            s.paging.page(&all, page, limit, PAGE)
        }
        Select::Message(_) => unreachable!("history has no message_id"),
    };
    ok(Value::Array(
        rows.into_iter()
            .map(|a| {
                let mut row = json!({
                    "email": a.email,
                    "time": format_smaily_time(&a.at.to_zoned(tallinn())),
                    "campaign_id": a.campaign.as_ref().map(|c| c.0),
                    "campaign_name": a.campaign.as_ref().map(|c| c.1.clone()),
                    "action": a.action,
                    "value": a.value,
                });
                if since {
                    row["seq_id"] = json!(a.seq_id);
                }
                row
            })
            .collect(),
    ))
}

/// `GET message/action/log.php`: rows `{seq_id, message_id, email, campaign_id, section_id,
/// action, value, created_at}` with `created_at` in RFC 3339.
pub(crate) fn messages(s: &mut FakeState, call: &Call<'_>) -> Response {
    let (select, limit, page) = match select(call, true) {
        Ok(x) => x,
        Err(refused) => return refuse(refused),
    };
    let rows: Vec<&super::state::MessageAction> = match select {
        Select::Since(id) => s
            .message_actions
            .iter()
            .filter(|a| a.seq_id > id)
            .take(limit)
            .collect(),
        Select::Message(id) => {
            let all: Vec<_> = s
                .message_actions
                .iter()
                .filter(|a| a.message_id == id)
                .collect();
            s.paging.page(&all, page, limit, PAGE)
        }
        Select::Window(start, end) => {
            let all: Vec<_> = s
                .message_actions
                .iter()
                .filter(|a| in_window(a.at, start, end))
                .collect();
            s.paging.page(&all, page, limit, PAGE)
        }
    };
    ok(Value::Array(
        rows.into_iter()
            .map(|a| {
                json!({
                    "seq_id": a.seq_id,
                    "message_id": a.message_id,
                    "email": a.email,
                    "campaign_id": a.workflow_id,
                    "section_id": a.section_id,
                    "action": a.action,
                    "value": {},
                    "created_at": a.at.to_zoned(tallinn()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                })
            })
            .collect(),
    ))
}
