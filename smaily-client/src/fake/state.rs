//! What the fake remembers, and the public records it shows.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::de::{format_smaily_time, tallinn};
use crate::form::parse_php_form;

/// A subscriber as the fake stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeContact {
    /// Email, as first given.
    pub email: String,
    /// Unsubscribed flag.
    pub is_unsubscribed: bool,
    /// Deleted (`is_deleted: 1`): hidden from reads and segments, custom data purged.
    pub is_deleted: bool,
    /// Custom fields, as text.
    pub fields: BTreeMap<String, String>,
    /// Tallinn-local `YYYY-MM-DD HH:MM:SS`.
    pub created_at: String,
    /// Tallinn-local `YYYY-MM-DD HH:MM:SS`, when unsubscribed.
    pub unsubscribed_at: Option<String>,
}

impl FakeContact {
    pub(crate) fn new(email: &str) -> Self {
        FakeContact {
            email: email.to_string(),
            is_unsubscribed: false,
            is_deleted: false,
            fields: BTreeMap::new(),
            created_at: now_text(),
            unsubscribed_at: None,
        }
    }

    /// A field as segment rules and `fields=` see it: system fields and custom fields, as text.
    pub(crate) fn field(&self, name: &str) -> Option<String> {
        match name {
            "email" => Some(self.email.clone()),
            "is_unsubscribed" => Some(u8::from(self.is_unsubscribed).to_string()),
            "created_at" | "subscribed_at" | "modified_at" => Some(self.created_at.clone()),
            "unsubscribed_at" => self.unsubscribed_at.clone(),
            "last_response_code" | "total_opens" | "total_clicks" => Some("0".into()),
            other => self.fields.get(other).cloned(),
        }
    }

    /// The subscriber object of smaily.com/help/api/subscribers-2/get-a-subscriber, numbers
    /// as strings (as a live probe reports, erkkimarkus/smaily-wordpress-plugin
    /// `includes/Smaily/Client.php`); `only` keeps `email` plus the named fields.
    pub(crate) fn to_json(&self, only: Option<&[String]>) -> Value {
        let mut m = Map::new();
        m.insert("email".into(), json!(self.email));
        let mut put = |k: &str, v: Value| {
            if only.is_none_or(|f| f.iter().any(|x| x == k)) {
                m.insert(k.into(), v);
            }
        };
        put(
            "is_unsubscribed",
            json!(if self.is_unsubscribed { "1" } else { "0" }),
        );
        put("created_at", json!(self.created_at));
        put("subscribed_at", json!(self.created_at));
        put("modified_at", json!(self.created_at));
        put(
            "unsubscribed_at",
            self.unsubscribed_at
                .clone()
                .map_or(Value::Null, Value::String),
        );
        put("last_response_code", json!("0"));
        put("total_opens", json!("0"));
        put("total_clicks", json!("0"));
        for (k, v) in &self.fields {
            put(k, json!(v));
        }
        Value::Object(m)
    }
}

/// One `autoresponder.php` trigger the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// The workflow id, if given.
    pub autoresponder: Option<u64>,
    /// The addresses' emails.
    pub emails: Vec<String>,
    /// `force_opt_in` (default true).
    pub force_opt_in: bool,
}

/// A campaign (or A/B test) as the fake stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeCampaign {
    /// Id (campaigns and A/B tests share one sequence, as Smaily's do).
    pub id: u64,
    /// Name: the subject (of the first section, for an A/B test).
    pub name: String,
    /// `DRAFT`, `PENDING`, `COMPLETED` or `CANCELLED`.
    pub status: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Segment ids it was sent to.
    pub lists: Vec<u64>,
    /// Who it went to: the segments' subscribed members at launch.
    pub recipients: Vec<String>,
    /// Who unsubscribed through `unsubscribe.php` with this campaign.
    pub unsubscribed: Vec<String>,
    /// Whether it is an A/B test (`split.php`).
    pub is_ab_test: bool,
    /// An A/B test's sections as `split.php` lists them (`{id, subject, template}`).
    pub sections: Vec<Value>,
    /// The launch request's body, as the fake read it.
    pub request: Value,
    /// Tallinn-local creation time.
    pub created_at: String,
}

/// How a page index (`offset` / `page`) selects rows when `limit` is below the page size.
///
/// The references disagree: Smaily's pages describe fixed pages ("0 returns records from 0 to
/// 25 000, 1 … from 25 001 to 50 000", smaily.com/help/api/segments/list-subscribers-of-a-segment;
/// 10,000-row pages for the action logs, campaigns and A/B tests, verified for `history.php` by
/// erkkimarkus/smaily-api-docs-unofficial `reference/action-log.md`), while the official legacy
/// Magento and OpenCart plugins page `contact.php` with `limit=2500&offset=0,1,2…`, which only
/// works if the page size follows `limit`. With `limit` at the page size both agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paging {
    /// Pages of the documented size; `limit` only caps how many rows of that page come back.
    #[default]
    Documented,
    /// Page `n` is rows `n·limit ..`, as the official plugins' loops assume.
    FollowsLimit,
}

impl Paging {
    /// The rows of page `page` with `limit`, for an endpoint whose documented page is `size`.
    pub(crate) fn page<T: Clone>(
        self,
        rows: &[T],
        page: usize,
        limit: usize,
        size: usize,
    ) -> Vec<T> {
        let start = match self {
            Paging::Documented => page.saturating_mul(size),
            Paging::FollowsLimit => page.saturating_mul(limit),
        };
        rows.iter().skip(start).take(limit).cloned().collect()
    }
}

/// A request as Smaily reads it ([`FakeSmaily::smaily_requests`](super::FakeSmaily::smaily_requests)):
/// the harness's log entry ([`ReceivedRequest`](marketing_sync_core::fake::ReceivedRequest))
/// with its headers named and its body read as its `Content-Type` says.
#[derive(Debug, Clone, PartialEq)]
pub struct SmailyRequest {
    /// HTTP method.
    pub method: String,
    /// Path, including `/api/`.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// `Authorization` header.
    pub authorization: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
    /// The raw body.
    pub body: String,
}

impl From<&marketing_sync_core::fake::ReceivedRequest> for SmailyRequest {
    fn from(r: &marketing_sync_core::fake::ReceivedRequest) -> Self {
        let header = |name: &str| r.header(name).map(str::to_string);
        SmailyRequest {
            method: r.method.to_string(),
            path: r.path.clone(),
            query: r.query.clone(),
            content_type: header("content-type"),
            authorization: header("authorization"),
            user_agent: header("user-agent"),
            body: r.body_text(),
        }
    }
}

impl SmailyRequest {
    /// The body as the fake read it: JSON for `application/json`, a PHP form (values become
    /// strings) for `application/x-www-form-urlencoded`, `null` for anything else (PHP sees
    /// no parameters then).
    pub fn body_json(&self) -> Value {
        body_as_sent(self.content_type.as_deref(), &self.body)
    }

    /// The query decoded into pairs.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    }
}

/// A body read as its `Content-Type` says: smaily.com/help/api/general/common-principles
/// ("POST as application/json … needs Content-Type: application/json, or
/// application/x-www-form-urlencoded").
fn body_as_sent(content_type: Option<&str>, body: &str) -> Value {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if ct.starts_with("application/x-www-form-urlencoded") {
        parse_php_form(body)
    } else if ct.starts_with("application/json") {
        serde_json::from_str(body).unwrap_or(Value::Null)
    } else {
        Value::Null
    }
}

/// A subscriber action (smaily.com/help/api/subscribers-2/subscriber-action-log).
#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub(crate) seq_id: u64,
    pub(crate) email: String,
    pub(crate) at: jiff::Timestamp,
    pub(crate) campaign: Option<(u64, String)>,
    pub(crate) action: &'static str,
    pub(crate) value: Value,
}

/// A message action (smaily.com/help/api/messages/message-action-log).
#[derive(Debug, Clone)]
pub(crate) struct MessageAction {
    pub(crate) seq_id: u64,
    pub(crate) message_id: u64,
    pub(crate) email: String,
    pub(crate) workflow_id: u64,
    pub(crate) section_id: u64,
    pub(crate) action: &'static str,
    pub(crate) at: jiff::Timestamp,
}

/// A segment: `{name, filter_type, filter_data: [[field, [operator, value]], …]}`.
#[derive(Debug, Clone)]
pub(crate) struct SegmentRecord {
    pub(crate) name: String,
    pub(crate) filter_type: String,
    pub(crate) rules: Vec<(String, String, String)>,
}

/// Everything the fake holds, behind one mutex.
#[derive(Debug)]
pub(crate) struct FakeState {
    pub(crate) user: String,
    pub(crate) password: String,
    pub(crate) contacts: BTreeMap<String, FakeContact>,
    pub(crate) segments: BTreeMap<u64, SegmentRecord>,
    pub(crate) campaigns: BTreeMap<u64, FakeCampaign>,
    pub(crate) templates: Vec<Value>,
    pub(crate) workflows: Vec<Value>,
    pub(crate) users: Vec<Value>,
    pub(crate) triggers: Vec<Trigger>,
    pub(crate) messages: Vec<Value>,
    pub(crate) actions: Vec<Action>,
    pub(crate) message_actions: Vec<MessageAction>,
    pub(crate) next_id: u64,
    pub(crate) next_message_id: u64,
    pub(crate) paging: Paging,
    pub(crate) plan_blocked: bool,
    pub(crate) rate_limit: Option<u32>,
    /// Requests admitted in the last second (the enforced limit's window).
    pub(crate) admitted: VecDeque<Instant>,
    pub(crate) rate_limited_count: u64,
    /// Every arrival in the last second, and the most ever seen in one second.
    pub(crate) arrivals: VecDeque<Instant>,
    pub(crate) busiest_second: usize,
}

impl FakeState {
    pub(crate) fn new() -> Self {
        FakeState {
            user: super::FAKE_USER.into(),
            password: super::FAKE_PASSWORD.into(),
            contacts: BTreeMap::new(),
            segments: super::segments::defaults(),
            campaigns: BTreeMap::new(),
            templates: vec![json!({
                "id": 5, "type": "wysiwyg", "name": "Welcome",
                "created_at": "2024-01-10T09:00:00+02:00", "modified_at": "2024-01-10T09:00:00+02:00",
                "preview_url": "https://example.com/p/5"
            })],
            workflows: vec![json!({
                "id": 1, "name": "Welcome", "title": "Welcome", "status": "ACTIVE", "is_enabled": true,
                "trigger_type": "form_submitted",
                "created_at": "2024-01-10 09:00:00", "activated_at": "2024-01-10 09:05:00",
                "tags": [], "sections": [{"id": 11, "name": "Welcome mail",
                    "template": {"id": 5, "name": "Welcome", "preview_url": "https://example.com/p/5"}}]
            })],
            users: vec![json!({
                "id": 1, "email": "owner@example.com", "first_name": "Fake", "last_name": "Owner",
                "is_owner": true, "role": {"id": 1, "name": "Owner"}
            })],
            triggers: Vec::new(),
            messages: Vec::new(),
            actions: Vec::new(),
            message_actions: Vec::new(),
            next_id: 100,
            // Message ids are unsigned 64-bit (smaily.freshdesk.com …/16000091227): start past
            // i64::MAX so a client that narrows them shows it.
            next_message_id: 1 << 63,
            paging: Paging::default(),
            plan_blocked: false,
            // On from the start, as on the service: "5 requests per second per IP"
            // (smaily.com/help/api/general/common-principles).
            rate_limit: Some(crate::client::DOCUMENTED_RATE_LIMIT),
            admitted: VecDeque::new(),
            rate_limited_count: 0,
            arrivals: VecDeque::new(),
            busiest_second: 0,
        }
    }

    /// The next campaign / A/B test / segment id.
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Records a subscriber action for `history.php`.
    pub(crate) fn record(
        &mut self,
        email: &str,
        action: &'static str,
        campaign: Option<(u64, String)>,
        value: Value,
    ) {
        let seq_id = self.actions.len() as u64 + 1;
        self.actions.push(Action {
            seq_id,
            email: email.to_string(),
            at: jiff::Timestamp::now(),
            campaign,
            action,
            value,
        });
    }
}

/// Now, as Smaily writes times: Tallinn-local `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn now_text() -> String {
    format_smaily_time(&jiff::Zoned::now().with_time_zone(tallinn()))
}
