//! The fake's HTTP side: recording, faults, the plan block, the rate limit, authentication,
//! and the route table. Every answer is JSON labelled `text/html`, as Smaily's are
//! (smaily.com/help/api/general/common-principles).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use super::state::{FakeState, Fault, ReceivedRequest};
use super::{automations, campaigns, catalog, contacts, logs, segments};

pub(crate) type Shared = Arc<Mutex<FakeState>>;

/// One request as the routes see it: its query and its body, read as its content type says.
pub(crate) struct Call<'a> {
    pub(crate) req: &'a ReceivedRequest,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Value,
}

impl Call<'_> {
    /// The first value of a query parameter.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a multi-value parameter, in each known form: `key[]=a&key[]=b`,
    /// `key[0]=a`, and `key=a,b` (smaily.com/help/api/campaigns-3/list-campaigns documents
    /// brackets; `history.php` `actions` is comma-separated per
    /// erkkimarkus/smaily-api-docs-unofficial `reference/action-log.md`).
    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(k, _)| {
                k == key
                    || k.strip_prefix(key).is_some_and(|rest| {
                        rest.starts_with('[')
                            && rest.ends_with(']')
                            && rest[1..rest.len() - 1].bytes().all(|b| b.is_ascii_digit())
                    })
            })
            .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// `limit` up to `max`: `max` when absent, 0 or not a number (pass `usize::MAX` where
    /// "absent or 0 = all").
    pub(crate) fn limit(&self, max: usize) -> usize {
        self.get("limit")
            .and_then(|l| l.trim().parse::<usize>().ok())
            .filter(|l| *l > 0)
            .map_or(max, |l| l.min(max))
    }

    /// A page index parameter (`offset` or `page`), 0 when absent.
    pub(crate) fn page(&self, key: &str) -> usize {
        self.get(key)
            .and_then(|p| p.trim().parse::<usize>().ok())
            .unwrap_or(0)
    }

    /// A numeric query parameter; `Err` holds the text when it is not a number.
    pub(crate) fn number(&self, key: &str) -> Result<Option<u64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| v.to_string()),
        }
    }
}

pub(crate) fn answer(status: StatusCode, body: Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    // Smaily labels its JSON as HTML.
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    r
}

pub(crate) fn ok(body: Value) -> Response {
    answer(StatusCode::OK, body)
}

/// `{"code": …, "message": …}` on HTTP 200: how Smaily reports business errors
/// (smaily.com/help/api/general/response-codes).
pub(crate) fn code(code: u16, message: impl Into<String>) -> Response {
    ok(json!({"code": code, "message": message.into()}))
}

pub(crate) fn ok101() -> Response {
    code(101, "OK")
}

/// Code 207 naming the missing fields, as Smaily's message does ("Following fields are
/// required - …").
pub(crate) fn required(fields: &[&str]) -> Response {
    code(
        207,
        format!("Following fields are required - {}", fields.join(", ")),
    )
}

fn empty(status: u16) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r
}

fn status_fault(status: u16) -> Response {
    match status {
        // 403 + 227 "A paid package is required." (erkkimarkus/smaily-api-docs-unofficial
        // `errors.md`, verified live; sendsmaily/smaily-magento-extension PlanBlockedException).
        403 => answer(
            StatusCode::FORBIDDEN,
            json!({"code": 227, "message": "A paid package is required."}),
        ),
        429 => rate_limited(1),
        s if s >= 500 => {
            let mut r = answer(StatusCode::OK, json!({"error": "Internal Server Error"}));
            *r.status_mut() = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r
        }
        s => empty(s),
    }
}

fn rate_limited(retry_after_secs: u64) -> Response {
    let mut r = empty(429);
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&retry_after_secs.to_string()).expect("digits"),
    );
    r
}

pub(crate) async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let req = ReceivedRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        content_type: header_text(header::CONTENT_TYPE),
        authorization: header_text(header::AUTHORIZATION),
        user_agent: header_text(header::USER_AGENT),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (fault, delay) = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.request_count += 1;
        count_arrival(&mut s);
        if s.record_requests {
            s.requests.push(req.clone());
        }
        (s.faults.pop_front(), s.delay)
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    match fault {
        Some(Fault::Status(status)) => return status_fault(status),
        Some(Fault::RateLimit(secs)) => return rate_limited(secs),
        Some(Fault::Code(c, m)) => return code(c, m),
        Some(Fault::Drop) => {
            let _ = process(&state, &req);
            let broken = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("dropped"))
            });
            return Response::new(Body::from_stream(broken));
        }
        None => {}
    }
    process(&state, &req)
}

/// Counts an arrival in the last second and keeps the busiest second seen.
fn count_arrival(s: &mut FakeState) {
    let now = Instant::now();
    while s
        .arrivals
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        s.arrivals.pop_front();
    }
    s.arrivals.push_back(now);
    s.busiest_second = s.busiest_second.max(s.arrivals.len());
}

/// The enforced limit, read strictly: no more than `limit` requests processed in any sliding
/// second ("5 requests per second per IP … HTTP 429 and the request is not processed",
/// smaily.com/help/api/general/common-principles). Refused requests are not counted.
fn admit(s: &mut FakeState, limit: u32) -> bool {
    let now = Instant::now();
    while s
        .admitted
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        s.admitted.pop_front();
    }
    if s.admitted.len() >= limit as usize {
        return false;
    }
    s.admitted.push_back(now);
    true
}

/// Every script the fake serves.
const SCRIPTS: [&str; 13] = [
    "contact.php",
    "contact/forget.php",
    "list.php",
    "campaign.php",
    "unsubscribe.php",
    "split.php",
    "autoresponder.php",
    "workflows.php",
    "message/send.php",
    "message/action/log.php",
    "history.php",
    "templates.php",
    "organizations/users.php",
];

fn process(state: &Mutex<FakeState>, req: &ReceivedRequest) -> Response {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    // The package check runs before authentication (erkkimarkus/smaily-api-docs-unofficial
    // `errors.md`, "HTTP 403 — plan block", verified live).
    if s.plan_blocked {
        return status_fault(403);
    }
    if let Some(limit) = s.rate_limit
        && !admit(&mut s, limit)
    {
        s.rate_limited_count += 1;
        return status_fault(429);
    }
    // HTTP Basic with the API user on every request; 401 otherwise
    // (smaily.com/help/api/general/authentication; erkkimarkus `errors.md`).
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", s.user, s.password))
    );
    if req.authorization.as_deref() != Some(expected.as_str()) {
        return empty(401);
    }
    // An unknown subdomain or script answers 404 with an empty body (erkkimarkus `errors.md`).
    let Some(script) = req.path.strip_prefix("/api/") else {
        return empty(404);
    };
    let call = Call {
        req,
        query: req.query_pairs(),
        body: req.body_json(),
    };
    let s = &mut *s;
    match (req.method.as_str(), script) {
        ("GET", "contact.php") => contacts::get(s, &call),
        ("POST", "contact.php") => contacts::post(s, &call),
        ("POST", "contact/forget.php") => contacts::forget(s, &call),
        ("GET", "list.php") => segments::get(s, &call),
        ("POST", "list.php") => segments::post(s, &call),
        ("GET", "campaign.php") => campaigns::get(s, &call),
        ("POST", "campaign.php") => campaigns::launch(s, &call),
        ("POST", "unsubscribe.php") => campaigns::unsubscribe(s, &call),
        ("GET", "split.php") => campaigns::get_ab(s, &call),
        ("POST", "split.php") => campaigns::launch_ab(s, &call),
        ("GET", "autoresponder.php") => automations::list(s, &call),
        ("POST", "autoresponder.php") => automations::trigger(s, &call),
        ("GET", "workflows.php") => automations::form_workflows(s),
        ("POST", "message/send.php") => automations::send_message(s, &call),
        ("GET", "message/action/log.php") => logs::messages(s, &call),
        ("GET", "history.php") => logs::history(s, &call),
        ("GET", "templates.php") => catalog::templates(s, &call),
        ("GET", "organizations/users.php") => catalog::users(s, &call),
        // A known script asked with another method: "Data must be posted with POST method."
        // (help.smaily.com …/16000018661-possible-results).
        (_, known) if SCRIPTS.contains(&known) => {
            code(201, "Data must be posted with POST method.")
        }
        _ => empty(404),
    }
}
