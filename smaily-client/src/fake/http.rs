//! The fake's HTTP side: the route table (a route per script), and the checks every request
//! meets before its route (the plan block, the enforced rate limit, authentication). The log
//! and the faults are `marketing_sync_core::fake::Harness`'s. Every answer is JSON labelled
//! `text/html`, as Smaily's are (smaily.com/help/api/general/common-principles).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Extension, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use base64::Engine as _;
use marketing_sync_core::fake::{Fault, Harness};
use serde_json::{Value, json};

use super::state::{FakeState, SmailyRequest};
use super::{automations, campaigns, catalog, contacts, logs, segments};

pub(crate) type Shared = Arc<Mutex<FakeState>>;

/// One request as the routes see it: its query and its body, read as its content type says.
pub(crate) struct Call<'a> {
    pub(crate) req: &'a SmailyRequest,
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
    /// brackets; for `history.php` `actions` the official WordPress plugin,
    /// sendsmaily/smaily-wordpress-plugin `includes/Smaily/Client.php` `get_action_log`, sends
    /// `actions[0]=…` through `http_build_query`, and erkkimarkus/smaily-api-docs-unofficial
    /// `reference/action-log.md` verified comma-separated values).
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

/// A bare HTTP status as Smaily answers it. Sources: the statuses Smaily is seen to answer
/// (smaily.com/help/api/general/response-codes; sendsmaily plugins; erkkimarkus/
/// smaily-api-docs-unofficial `errors.md`): 401, 403 + code 227, 404 with an empty body,
/// 429 (not processed), 5xx.
pub(crate) fn status_fault(status: u16) -> Response {
    match status {
        // 403 + 227 "A paid package is required." (erkkimarkus/smaily-api-docs-unofficial
        // `errors.md`, verified live; sendsmaily/smaily-magento-extension PlanBlockedException).
        403 => answer(
            StatusCode::FORBIDDEN,
            json!({"code": 227, "message": "A paid package is required."}),
        ),
        // 429, unprocessed (smaily.com/help/api/general/common-principles: 5 requests a
        // second); the wait the fake's own limit gives (one second, its window).
        429 => rate_limited(1),
        // 5xx: no reference shows its body (assumed: a JSON error without Smaily's `code`,
        // so no answer of Smaily's can be read into it; the client takes any 5xx body alike).
        s if s >= 500 => {
            let mut r = answer(StatusCode::OK, json!({"error": "Internal Server Error"}));
            *r.status_mut() = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r
        }
        // 401, 404 and the rest: an empty body (404: "empty body", the references above).
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

/// How the fake answers an injected [`Fault::Status`]: as Smaily would (see
/// [`status_fault`]); other faults take the harness's plain answers.
pub(crate) fn fault_answer(fault: &Fault) -> Option<Response> {
    match fault {
        Fault::Status(status) => Some(status_fault(*status)),
        _ => None,
    }
}

/// A script's handler: the fake's state and the request as the route reads it.
type Route = fn(&mut FakeState, &Call<'_>) -> Response;

/// An axum handler running `route` on the logged request.
fn on(
    route: Route,
) -> impl Fn(
    State<Shared>,
    Extension<marketing_sync_core::fake::ReceivedRequest>,
) -> std::future::Ready<Response>
+ Clone
+ Send
+ Sync
+ 'static {
    move |State(state): State<Shared>,
          Extension(logged): Extension<marketing_sync_core::fake::ReceivedRequest>| {
        let req = SmailyRequest::from(&logged);
        let call = Call {
            req: &req,
            query: req.query_pairs(),
            body: req.body_json(),
        };
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        std::future::ready(route(&mut s, &call))
    }
}

/// A known script asked with another method: "Data must be posted with POST method."
/// (help.smaily.com …/16000018661-possible-results).
fn script(methods: MethodRouter<Shared>) -> MethodRouter<Shared> {
    methods.fallback(on(|_, _| {
        code(201, "Data must be posted with POST method.")
    }))
}

/// The whole app: arrivals are counted first (faulted ones too), then the harness logs and
/// faults, then the checks, then a route per script; an unknown script answers 404 with an
/// empty body (erkkimarkus/smaily-api-docs-unofficial `errors.md`).
pub(crate) fn app(state: Shared, harness: &Harness) -> axum::Router {
    let routes = axum::Router::new()
        .route(
            "/api/contact.php",
            script(get(on(contacts::get)).post(on(contacts::post))),
        )
        .route(
            "/api/contact/forget.php",
            script(post(on(contacts::forget))),
        )
        .route(
            "/api/list.php",
            script(get(on(segments::get)).post(on(segments::post))),
        )
        .route(
            "/api/campaign.php",
            script(get(on(campaigns::get)).post(on(campaigns::launch))),
        )
        .route(
            "/api/unsubscribe.php",
            script(post(on(campaigns::unsubscribe))),
        )
        .route(
            "/api/split.php",
            script(get(on(campaigns::get_ab)).post(on(campaigns::launch_ab))),
        )
        .route(
            "/api/autoresponder.php",
            script(get(on(automations::list)).post(on(automations::trigger))),
        )
        .route(
            "/api/workflows.php",
            script(get(on(|s, _| automations::form_workflows(s)))),
        )
        .route(
            "/api/message/send.php",
            script(post(on(automations::send_message))),
        )
        .route(
            "/api/message/action/log.php",
            script(get(on(logs::messages))),
        )
        .route("/api/history.php", script(get(on(logs::history))))
        .route("/api/templates.php", script(get(on(catalog::templates))))
        .route(
            "/api/organizations/users.php",
            script(get(on(catalog::users))),
        )
        .fallback(|| async { empty(404) })
        .layer(from_fn_with_state(state.clone(), checks))
        .with_state(state.clone());
    harness
        .mount(routes)
        .layer(from_fn_with_state(state, arrivals))
}

/// Counts every arrival for [`busiest_second`](super::FakeSmaily::busiest_second).
async fn arrivals(State(state): State<Shared>, request: Request, next: Next) -> Response {
    count_arrival(&mut state.lock().unwrap_or_else(|p| p.into_inner()));
    next.run(request).await
}

/// What every request meets before its route, unknown scripts included.
async fn checks(
    State(state): State<Shared>,
    Extension(logged): Extension<marketing_sync_core::fake::ReceivedRequest>,
    request: Request,
    next: Next,
) -> Response {
    {
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
        if logged.header("authorization") != Some(expected.as_str()) {
            return empty(401);
        }
    }
    next.run(request).await
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
