//! `campaign.php` (list, statistics, launch), `unsubscribe.php` and `split.php` (A/B tests).

use std::collections::BTreeSet;

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::contacts::{apply_row, row_error, valid_email};
use super::http::{Call, code, ok, required};
use super::segments;
use super::state::{FakeCampaign, FakeState, now_text};
use crate::de::{parse_smaily_time, value_to_bool, value_to_int, value_to_text};

/// Rows per page of the campaign and A/B test lists and of detailed statistics
/// (smaily.com/help/api/campaigns-3/list-campaigns, /a-b-tests/list-a-b-tests).
const PAGE: usize = 10_000;

/// The winning conditions of smaily.com/help/api/a-b-tests/launch-an-a-b-test.
const CONDITIONS: [&str; 4] = ["openrate", "clicks", "views", "unsubscribed"];

fn text(b: &Value, key: &str) -> Option<String> {
    b.get(key)
        .filter(|v| !v.is_null())
        .map(value_to_text)
        .filter(|t| !t.trim().is_empty())
}

/// `list`: an id or a list of ids, as JSON or as a form (`list=1`, `list[0]=1`).
fn lists(b: &Value) -> Option<Result<Vec<u64>, String>> {
    let v = b.get("list").filter(|v| !v.is_null())?;
    let items = match v {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    };
    if items.is_empty() {
        return None;
    }
    Some(
        items
            .iter()
            .map(|i| {
                value_to_int(i)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(|| value_to_text(i))
            })
            .collect(),
    )
}

/// The content keys: one of `template_id`, `html`, `html_raw` must be given
/// (smaily.com/help/api/campaigns-3/launch-a-campaign). An `html` URL the fake cannot reach
/// (anything but http(s)) is code 209.
fn content_error(b: &Value) -> Option<Response> {
    let given: Vec<&str> = ["template_id", "html", "html_raw"]
        .into_iter()
        .filter(|k| text(b, k).is_some())
        .collect();
    if given.is_empty() {
        return Some(required(&["template_id, html or html_raw"]));
    }
    if let Some(url) = text(b, "html")
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Some(code(
            209,
            format!("Could not load content from remote URL - {url}"),
        ));
    }
    None
}

/// The subscribed members of these segments, or the unknown one (code 208).
fn recipients(s: &FakeState, ids: &[u64]) -> Result<Vec<String>, u64> {
    let mut out = BTreeSet::new();
    for id in ids {
        let Some(members) = segments::members(s, *id) else {
            return Err(*id);
        };
        out.extend(
            members
                .into_iter()
                .filter(|c| !c.is_unsubscribed)
                .map(|c| c.email),
        );
    }
    Ok(out.into_iter().collect())
}

fn template_of(s: &FakeState, b: &Value) -> Value {
    match b.get("template_id").and_then(value_to_int) {
        None => Value::Null,
        Some(id) => s
            .templates
            .iter()
            .find(|t| t["id"] == json!(id))
            .map(|t| json!({"id": t["id"], "name": t["name"], "preview_url": t["preview_url"]}))
            .unwrap_or_else(|| json!("DELETED")),
    }
}

/// Stores a launched (or drafted) campaign or A/B test and logs its sends.
fn store(s: &mut FakeState, mut c: FakeCampaign) -> Response {
    c.id = s.next_id();
    if c.status == "PENDING" {
        for email in c.recipients.clone() {
            s.record(&email, "send", Some((c.id, c.name.clone())), Value::Null);
        }
    }
    let id = c.id;
    s.campaigns.insert(id, c);
    ok(json!({"code": 101, "message": "OK", "id": id}))
}

/// `POST campaign.php` (smaily.com/help/api/campaigns-3/launch-a-campaign): required
/// `subject`, `from`, `list` (207), one content key (207), known segments (208), a well-formed
/// sender (211; the fake does not know which domains are verified), a valid `due` (210).
pub(crate) fn launch(s: &mut FakeState, call: &Call<'_>) -> Response {
    let b = &call.body;
    let missing: Vec<&str> = ["subject", "from", "list"]
        .into_iter()
        .filter(|k| text(b, k).is_none() && !(k == &"list" && lists(b).is_some()))
        .collect();
    if !missing.is_empty() {
        return required(&missing);
    }
    if let Some(r) = content_error(b) {
        return r;
    }
    let ids = match lists(b).expect("checked") {
        Ok(ids) => ids,
        Err(bad) => return code(208, format!("Could not find list with ID - {bad}")),
    };
    let to = match recipients(s, &ids) {
        Ok(to) => to,
        Err(id) => return code(208, format!("Could not find list with ID - {id}")),
    };
    if !valid_email(text(b, "from").unwrap_or_default().trim()) {
        return code(211, "Invalid From address provided");
    }
    if let Some(due) = text(b, "due")
        && !matches!(parse_smaily_time(&due), Ok(Some(_)))
    {
        return code(210, "Invalid due date provided");
    }
    let draft = b.get("save_as_draft").and_then(value_to_bool) == Some(true);
    let tags = match b.get("tags") {
        Some(Value::Array(t)) => t.iter().map(value_to_text).collect(),
        _ => Vec::new(),
    };
    let campaign = FakeCampaign {
        id: 0,
        name: text(b, "subject").unwrap_or_default(),
        status: if draft { "DRAFT" } else { "PENDING" }.into(),
        tags,
        lists: ids,
        recipients: to,
        unsubscribed: Vec::new(),
        is_ab_test: false,
        sections: Vec::new(),
        request: b.clone(),
        created_at: now_text(),
    };
    store(s, campaign)
}

/// List filters shared by `campaign.php` and `split.php`: `status[]`, `tags[]`, `sort_order`
/// (by `created_at`), `limit` (absent or 0: all), and the page parameter.
fn listing(s: &FakeState, call: &Call<'_>, ab: bool, page_param: &str) -> Vec<FakeCampaign> {
    let statuses = call.all("status");
    let tags = call.all("tags");
    let mut rows: Vec<FakeCampaign> = s
        .campaigns
        .values()
        .filter(|c| c.is_ab_test == ab)
        .filter(|c| statuses.is_empty() || statuses.contains(&c.status))
        .filter(|c| tags.is_empty() || c.tags.iter().any(|t| tags.contains(t)))
        .cloned()
        .collect();
    rows.sort_by(|a, b| (&a.created_at, a.id).cmp(&(&b.created_at, b.id)));
    if call
        .get("sort_order")
        .is_some_and(|o| o.eq_ignore_ascii_case("DESC"))
    {
        rows.reverse();
    }
    s.paging
        .page(&rows, call.page(page_param), call.limit(usize::MAX), PAGE)
}

fn row(s: &FakeState, c: &FakeCampaign) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(c.id));
    m.insert("name".into(), json!(c.name));
    if c.is_ab_test {
        m.insert("sections".into(), json!(c.sections));
    } else {
        m.insert("template".into(), template_of(s, &c.request));
    }
    m.insert("tags".into(), json!(c.tags));
    m.insert("created_at".into(), json!(c.created_at));
    m.insert(
        "completed_at".into(),
        if c.status == "COMPLETED" {
            json!(c.created_at)
        } else {
            Value::Null
        },
    );
    m.insert("status".into(), json!(c.status));
    Value::Object(m)
}

/// Statistics (smaily.com/help/api/campaigns-3/api-campaign-statistics): 215 for an id that
/// is not a number, 216 for one this kind of send does not own (A/B ids are unknown to
/// `campaign.php`, erkkimarkus/smaily-api-docs-unofficial `reference/campaigns.md`).
fn stats(s: &FakeState, call: &Call<'_>) -> Response {
    let id = match call.number("id") {
        Ok(Some(id)) => id,
        _ => return code(215, "Invalid campaign ID provided"),
    };
    let Some(c) = s.campaigns.get(&id).filter(|c| !c.is_ab_test) else {
        return code(216, "Could not find campaign matching provided ID");
    };
    let sent = if c.status == "DRAFT" {
        0
    } else {
        c.recipients.len()
    };
    let mut out = json!({
        "id": c.id, "name": c.name, "status": c.status, "created_at": c.created_at,
        "total_count": sent, "delivered_count": sent, "bounce_count": 0,
        "opened_count": 0, "opened_unique_count": 0, "click_count": 0, "unique_click_count": 0,
        "view_count": 0, "unique_view_count": 0,
        "unsubscribe_count": c.unsubscribed.len(), "complaint_count": 0, "forward_count": 0,
    });
    if call.get("detailed") == Some("1") {
        let rows: Vec<Value> = s
            .paging
            .page(&c.recipients, call.page("offset"), call.limit(PAGE), PAGE)
            .into_iter()
            .map(|email| {
                let unsubscribed = c.unsubscribed.contains(&email);
                json!({"email": email, "delivered": 1, "unsubscribed": u8::from(unsubscribed)})
            })
            .collect();
        out["addresses"] = Value::Array(rows);
    }
    ok(out)
}

/// `GET campaign.php`: the list, or `?id=` statistics.
pub(crate) fn get(s: &mut FakeState, call: &Call<'_>) -> Response {
    if call.get("id").is_some() {
        return stats(s, call);
    }
    let rows = listing(s, call, false, "page");
    ok(Value::Array(rows.iter().map(|c| row(s, c)).collect()))
}

/// `GET split.php?id=` (smaily.com/help/api/a-b-tests/a-b-test-statistics): "Response is a
/// JSON list of JSON objects", one per section: `name`, `from` (the sender address object),
/// `reply_to`, `template` (`"DELETED"` for a deleted one), the counts and percentages
/// (`*_percent` = unique count / `delivered_count`), `winner`; `addresses` only with
/// `detailed=1`, which alone applies `offset` (a page index) and `limit` (≤ 10,000). The
/// fake's recipients are dealt to the sections in turn; nobody has opened or clicked.
fn ab_stats(s: &FakeState, call: &Call<'_>) -> Response {
    let id = match call.number("id") {
        Ok(Some(id)) => id,
        _ => return code(215, "Invalid campaign ID provided"),
    };
    let Some(c) = s.campaigns.get(&id).filter(|c| c.is_ab_test) else {
        return code(216, "Could not find campaign matching provided ID");
    };
    let splits = c.request["splits"].as_array().cloned().unwrap_or_default();
    let n = c.sections.len().max(1);
    let percent = |part: usize, of: usize| {
        if of == 0 {
            0.0
        } else {
            (part as f64 * 10_000.0 / of as f64).round() / 100.0
        }
    };
    let rows: Vec<Value> = c
        .sections
        .iter()
        .enumerate()
        .map(|(i, section)| {
            let split = splits.get(i).cloned().unwrap_or(Value::Null);
            let to: Vec<String> = if c.status == "DRAFT" {
                Vec::new()
            } else {
                c.recipients.iter().skip(i).step_by(n).cloned().collect()
            };
            let unsubscribed = to.iter().filter(|e| c.unsubscribed.contains(e)).count();
            let sent = to.len();
            let mut out = json!({
                "name": section["subject"],
                "from": {
                    "email": text(&split, "from"),
                    "name": text(&split, "from_name").unwrap_or_default(),
                },
                "reply_to": text(&split, "reply_to"),
                "template": match &section["template"] {
                    Value::Null => Value::Null,
                    t => t.clone(),
                },
                "total_count": sent, "delivered_count": sent, "bounce_count": 0,
                "click_count": 0, "unique_click_count": 0, "click_percent": percent(0, sent),
                "view_count": 0, "unique_view_count": 0, "view_percent": percent(0, sent),
                "opened_count": 0, "opened_percent": percent(0, sent),
                "unsubscribe_count": unsubscribed,
                "unsubscribe_percent": percent(unsubscribed, sent),
                "complaint_count": 0,
                "winner": false,
            });
            if call.get("detailed") == Some("1") {
                let rows: Vec<Value> = s
                    .paging
                    .page(&to, call.page("offset"), call.limit(PAGE), PAGE)
                    .into_iter()
                    .map(|email| {
                        json!({
                            "email": email, "sent_at": c.created_at,
                            "opens": 0, "clicks": 0, "links": [],
                        })
                    })
                    .collect();
                out["addresses"] = Value::Array(rows);
            }
            out
        })
        .collect();
    ok(Value::Array(rows))
}

/// `GET split.php`: the list (`offset` is the page), or `?id=` statistics.
pub(crate) fn get_ab(s: &mut FakeState, call: &Call<'_>) -> Response {
    if call.get("id").is_some() {
        return ab_stats(s, call);
    }
    let rows = listing(s, call, true, "offset");
    ok(Value::Array(rows.iter().map(|c| row(s, c)).collect()))
}

/// `POST unsubscribe.php` (smaily.com/help/api/campaigns-3/unsubscribe-a-recipient): `email`
/// and `campaign_id` required; a campaign that does not exist is refused (215 not a number,
/// 216 unknown).
pub(crate) fn unsubscribe(s: &mut FakeState, call: &Call<'_>) -> Response {
    let b = &call.body;
    let missing: Vec<&str> = ["email", "campaign_id"]
        .into_iter()
        .filter(|k| text(b, k).is_none())
        .collect();
    if !missing.is_empty() {
        return required(&missing);
    }
    let Some(id) = value_to_int(&b["campaign_id"]).and_then(|n| u64::try_from(n).ok()) else {
        return code(215, "Invalid campaign ID provided");
    };
    if !s.campaigns.contains_key(&id) {
        return code(216, "Could not find campaign matching provided ID");
    }
    let mut row = Map::new();
    row.insert("email".into(), b["email"].clone());
    row.insert("is_unsubscribed".into(), json!(1));
    if let Some((c, m)) = row_error(&Value::Object(row.clone())) {
        return code(c, m);
    }
    apply_row(s, &row, false);
    let email = value_to_text(&b["email"]).trim().to_string();
    let c = s.campaigns.get_mut(&id).expect("checked");
    if !c.unsubscribed.contains(&email) {
        c.unsubscribed.push(email);
    }
    super::http::ok101()
}

/// `POST split.php` (smaily.com/help/api/a-b-tests/launch-an-a-b-test): `splits` a list of
/// sections, each with `subject` and `from` and one content key (207); `list` (207/208);
/// `size` required (207), a percentage below 100 (the Estonian page: 100 is not allowed);
/// `win_at` required, valid and in the future (213); `condition` one of four (214); a
/// section's `due` valid and not after `win_at` (210).
pub(crate) fn launch_ab(s: &mut FakeState, call: &Call<'_>) -> Response {
    let b = &call.body;
    let mut missing: Vec<&str> = Vec::new();
    let splits = match b.get("splits") {
        Some(Value::Array(items)) if !items.is_empty() => items.clone(),
        _ => {
            missing.push("splits");
            Vec::new()
        }
    };
    if lists(b).is_none() {
        missing.push("list");
    }
    if text(b, "size").is_none() {
        missing.push("size");
    }
    if !missing.is_empty() {
        return required(&missing);
    }
    let win_at = match text(b, "win_at").map(|w| parse_smaily_time(&w)) {
        Some(Ok(Some(at))) if at.timestamp() > jiff::Timestamp::now() => at,
        _ => return code(213, "Invalid win date provided"),
    };
    let condition = text(b, "condition").unwrap_or_else(|| "clicks".into());
    if !CONDITIONS.contains(&condition.as_str()) {
        return code(214, "Invalid winning condition provided");
    }
    match value_to_int(&b["size"]) {
        Some(1..=99) => {}
        _ => return code(203, "Invalid data submitted"),
    }
    let mut sections = Vec::new();
    for split in &splits {
        if !split.is_object() {
            return required(&["splits.subject", "splits.from"]);
        }
        let missing: Vec<&str> = ["subject", "from"]
            .into_iter()
            .filter(|k| text(split, k).is_none())
            .collect();
        if !missing.is_empty() {
            return required(&missing);
        }
        if let Some(r) = content_error(split) {
            return r;
        }
        if !valid_email(text(split, "from").unwrap_or_default().trim()) {
            return code(211, "Invalid From address provided");
        }
        if let Some(due) = text(split, "due") {
            match parse_smaily_time(&due) {
                Ok(Some(at)) if at.timestamp() <= win_at.timestamp() => {}
                _ => return code(210, "Invalid due date provided"),
            }
        }
        let template = template_of(s, split);
        let id = s.next_id();
        sections.push(json!({"id": id, "subject": text(split, "subject"), "template": template}));
    }
    let ids = match lists(b).expect("checked") {
        Ok(ids) => ids,
        Err(bad) => return code(208, format!("Could not find list with ID - {bad}")),
    };
    let to = match recipients(s, &ids) {
        Ok(to) => to,
        Err(id) => return code(208, format!("Could not find list with ID - {id}")),
    };
    let draft = b.get("save_as_draft").and_then(value_to_bool) == Some(true);
    let campaign = FakeCampaign {
        id: 0,
        name: text(&splits[0], "subject").unwrap_or_default(),
        status: if draft { "DRAFT" } else { "PENDING" }.into(),
        tags: Vec::new(),
        lists: ids,
        recipients: to,
        unsubscribed: Vec::new(),
        is_ab_test: true,
        sections,
        request: b.clone(),
        created_at: now_text(),
    };
    store(s, campaign)
}
