//! The HTTP side: one axum route per documented operation [E1], each behind the token check
//! (every other path is a 404, a wrong method a 405, as on Splio). Recording and faults are
//! [`marketing_sync_core::fake::Harness`]'s; the routes' rules live with their resources.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Extension, State as Shared};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use marketing_sync_core::fake::ReceivedRequest;
use serde_json::{Value, json};

use super::state::State;
use crate::blacklists::Channel;

/// A status and a JSON body, as every route answers.
pub(crate) type Answer = (StatusCode, Value);

/// The fake's state, as the routes share it.
pub(crate) type Fake = Arc<Mutex<State>>;

/// What a route reads from its request: the path's segments (percent-decoded; a contact key
/// as the universe stores it), the query and the JSON body (`null` when absent or not JSON).
pub(crate) struct Call {
    segs: Vec<String>,
    query: HashMap<String, String>,
    body: Value,
}

impl Call {
    fn seg(&self, n: usize) -> &str {
        self.segs.get(n).map_or("", String::as_str)
    }
}

/// One operation on the state.
type Op = fn(&mut State, &Call) -> Answer;

/// The router: a route per operation [E1].
pub(crate) fn router(state: Fake) -> axum::Router {
    axum::Router::new()
        .route("/authenticate", post(authenticate))
        .route(
            "/ping",
            get(op(|_, _| (StatusCode::OK, json!({"user_id": 1})))),
        )
        .route(
            "/universes/unique-key",
            get(op(|s, _| {
                (
                    StatusCode::OK,
                    json!({"unique_key": s.unique_key.as_wire()}),
                )
            })),
        )
        .route(
            "/data/contacts",
            get(op(|s, c| s.list_contacts(&c.query, &c.body)))
                .post(op(|s, c| s.create_contact(&c.body))),
        )
        .route(
            "/data/contacts/bulk",
            post(op(|s, c| s.bulk_create(&c.body))).delete(op(|s, c| s.bulk_delete(&c.body))),
        )
        .route("/data/contacts/optout", post(op(|s, c| s.optout(&c.body))))
        .route(
            "/data/contacts/{key}",
            get(op(|s, c| s.get_contact(c.seg(2))))
                .patch(op(|s, c| s.patch_contact(c.seg(2), &c.body)))
                .delete(op(|s, c| s.delete_contact(c.seg(2)))),
        )
        .route(
            "/data/contacts/{key}/activities",
            get(op(|s, c| s.list_activities(c.seg(2), &c.query))),
        )
        .route("/target/groups", post(op(|s, c| s.create_group(&c.body))))
        .route(
            "/target/groups/{id}/add",
            post(op(|s, c| s.change_group(c.seg(2), true, &c.body))),
        )
        .route(
            "/target/groups/{id}/remove",
            post(op(|s, c| s.change_group(c.seg(2), false, &c.body))),
        )
        .route(
            "/target/groups/{id}/clear",
            post(op(|s, c| s.clear_group(c.seg(2)))),
        )
        .route(
            "/target/groups/list",
            get(op(|s, c| s.list_groups(&c.query))),
        )
        .route(
            "/data/contacts/{key}/lists/subscribe",
            post(op(|s, c| s.change_lists(c.seg(2), true, &c.body))),
        )
        .route(
            "/data/contacts/{key}/lists/unsubscribe",
            post(op(|s, c| s.change_lists(c.seg(2), false, &c.body))),
        )
        .route(
            "/data/fields/contacts",
            get(op(|s, c| s.list_fields(&c.query))),
        )
        .route("/data/fields", post(op(|s, c| s.create_field(&c.body))))
        .route(
            "/data/fields/contacts/{id}",
            delete(op(|s, c| s.delete_field(c.seg(3)))),
        )
        .route("/data/v1/lists", get(op(|s, c| s.list_lists(&c.query))))
        .route(
            "/data/blacklists/emails",
            get(op(|s, c| s.list_blacklist(Channel::Email, &c.query))),
        )
        .route(
            "/data/blacklists/cellphones",
            get(op(|s, c| s.list_blacklist(Channel::Cellphone, &c.query))),
        )
        .route(
            "/data/blacklists/email",
            post(op(|s, c| s.blacklist_change(Channel::Email, None, &c.body))),
        )
        .route(
            "/data/blacklists/cellphone",
            post(op(|s, c| {
                s.blacklist_change(Channel::Cellphone, None, &c.body)
            })),
        )
        .route(
            "/data/blacklists/email/{source}",
            delete(op(|s, c| blacklist_remove(s, c, Channel::Email))),
        )
        .route(
            "/data/blacklists/cellphone/{source}",
            delete(op(|s, c| blacklist_remove(s, c, Channel::Cellphone))),
        )
        .fallback(op(|_, _| not_found()))
        .method_not_allowed_fallback(op(|_, _| method_not_allowed()))
        .with_state(state)
}

/// A path outside the documented operations [E1] (the OpenAPI document's `paths`, mounted
/// above) is `404 "Not Found."`.
fn not_found() -> Answer {
    (StatusCode::NOT_FOUND, json!("Not Found."))
}

/// A documented path with a method it does not serve: `405` with the bare string
/// `"Method Not Allowed."`, as api-evangelist's summary of Splio's response conventions gives
/// it [E7].
fn method_not_allowed() -> Answer {
    (StatusCode::METHOD_NOT_ALLOWED, json!("Method Not Allowed."))
}

/// A request body must be declared `application/json` (a parameter such as `charset` allowed):
/// the only content type the document declares for request bodies [E1]. What Splio answers
/// otherwise is undocumented; the fake answers `415` with the envelope.
fn json_content_type(request: &ReceivedRequest) -> Option<Response> {
    if request.body.is_empty() {
        return None;
    }
    let essence = request.header("content-type").map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    if essence.as_deref() == Some("application/json") {
        return None;
    }
    let (status, body) = envelope(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "content-type",
        "wrong_value",
        "Request body must be application/json.",
    );
    Some((status, axum::Json(body)).into_response())
}

/// `DELETE /data/blacklists/{channel}/{source}`, `source` one of `custom`, `unsub`, `all` [E1].
fn blacklist_remove(s: &mut State, c: &Call, channel: Channel) -> Answer {
    match c.seg(3) {
        source @ ("custom" | "unsub" | "all") => s.blacklist_change(channel, Some(source), &c.body),
        _ => not_found(),
    }
}

fn lock(state: &Fake) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// `POST /authenticate`, the one route without a token.
async fn authenticate(
    Shared(state): Shared<Fake>,
    Extension(request): Extension<ReceivedRequest>,
) -> Response {
    if let Some(refused) = json_content_type(&request) {
        return refused;
    }
    let body: Option<Value> = serde_json::from_slice(&request.body).ok();
    lock(&state).authenticate(body.as_ref()).into_response()
}

/// An operation as a handler: the token check, then the operation on the request as logged.
fn op(
    f: Op,
) -> impl Fn(Shared<Fake>, Extension<ReceivedRequest>) -> std::future::Ready<Response>
+ Clone
+ Send
+ Sync
+ 'static {
    move |Shared(state), Extension(request)| std::future::ready(serve(&state, &request, f))
}

fn serve(state: &Fake, request: &ReceivedRequest, f: Op) -> Response {
    let mut s = lock(state);
    // 401 "Authentication failed." as a bare JSON string [E7].
    if !s.authorized(request.header("authorization")) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!("Authentication failed.")),
        )
            .into_response();
    }
    if let Some(refused) = json_content_type(request) {
        return refused;
    }
    let mut segs: Vec<String> = request
        .path
        .trim_start_matches('/')
        .split('/')
        .map(decode_segment)
        .collect();
    if segs.len() >= 3 && segs[0] == "data" && segs[1] == "contacts" {
        segs[2] = s.stored_key(&segs[2]);
    }
    let call = Call {
        segs,
        query: request.query_pairs().into_iter().collect(),
        body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
    };
    let (status, value) = f(&mut s, &call);
    let mut response = if status == StatusCode::NO_CONTENT {
        status.into_response()
    } else {
        (status, axum::Json(value)).into_response()
    };
    // The rate-limit headers Splio sends on every answer [E7].
    let h = response.headers_mut();
    h.insert("ratelimit-limit", 10.into());
    h.insert("ratelimit-remaining", 9.into());
    h.insert("ratelimit-reset", 1.into());
    response
}

/// Splio's error envelope, as in every `400` example of the OpenAPI document [E1]:
/// `{"status":400,"errors":[{"error_key","error","error_description"}]}`.
pub(crate) fn envelope(
    status: StatusCode,
    key: &str,
    error: &str,
    description: impl Into<String>,
) -> Answer {
    let description = description.into();
    (
        status,
        json!({"status": status.as_u16(), "errors": [{"error_key": key, "error": error, "error_description": description}]}),
    )
}

fn decode_segment(seg: &str) -> String {
    url::form_urlencoded::parse(format!("k={seg}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Page-number pagination (`per_page` 1..1000, `page_number` ≥ 1) as the OpenAPI document
/// declares it for every list endpoint [E1].
pub(crate) struct Paging {
    per_page: usize,
    page_number: usize,
}

impl Paging {
    /// Reads `per_page` (default `default_per_page`) and `page_number` (default 1), refusing
    /// values outside the document's bounds.
    pub(crate) fn from_query(
        query: &HashMap<String, String>,
        default_per_page: usize,
    ) -> Result<Paging, Answer> {
        let num = |name: &str, default: usize| {
            query.get(name).map_or(Ok(default), |v| v.parse::<usize>())
        };
        let (Ok(per_page), Ok(page_number)) =
            (num("per_page", default_per_page), num("page_number", 1))
        else {
            return Err(envelope(
                StatusCode::BAD_REQUEST,
                "per_page",
                "wrong_type",
                "per_page and page_number must be integers.",
            ));
        };
        if !(1..=1000).contains(&per_page) || page_number < 1 {
            return Err(envelope(
                StatusCode::BAD_REQUEST,
                "per_page",
                "wrong_value",
                "per_page must be between 1 and 1000.",
            ));
        }
        Ok(Paging {
            per_page,
            page_number,
        })
    }

    /// The positions of this page's elements among `total`.
    pub(crate) fn range(&self, total: usize) -> Range<usize> {
        let start = (self.page_number - 1)
            .saturating_mul(self.per_page)
            .min(total);
        start..(start + self.per_page).min(total)
    }

    /// The page answer `{count_element, current_page, per_page, sort, elements}` [E1].
    pub(crate) fn answer(&self, total: usize, elements: Vec<Value>) -> Answer {
        (
            StatusCode::OK,
            json!({"count_element": total, "current_page": self.page_number, "per_page": self.per_page, "sort": [], "elements": elements}),
        )
    }

    /// One page of a list already built in full (small lists: fields, lists, blacklists).
    pub(crate) fn of(
        query: &HashMap<String, String>,
        default_per_page: usize,
        elements: Vec<Value>,
    ) -> Answer {
        match Paging::from_query(query, default_per_page) {
            Ok(p) => {
                let total = elements.len();
                let range = p.range(total);
                let page = elements
                    .into_iter()
                    .skip(range.start)
                    .take(range.len())
                    .collect();
                p.answer(total, page)
            }
            Err(e) => e,
        }
    }
}
