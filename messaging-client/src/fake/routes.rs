//! The fake's router: one axum route per endpoint, behind the checks every request of the
//! service meets (auth, media type), and the service's answers to injected faults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use marketing_sync_core::fake::{Fault, ReceivedRequest};
use serde_json::{Value, json};

use super::http::{Answer, bad, empty, json_body, ok_json, text};
use super::state::FakeState;
use super::{contacts, events, import, messages, orders, schema, segments};

pub(super) type Shared = Arc<Mutex<FakeState>>;

type Q = Query<HashMap<String, String>>;

/// Runs a route against the state, its refusal becoming the service's answer.
fn run(state: &Shared, route: impl FnOnce(&mut FakeState) -> Answer) -> Response {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    route(&mut s).unwrap_or_else(Response::from)
}

type Ready = std::future::Ready<Response>;

/// A handler for a route that reads the body.
fn body<F>(route: F) -> impl Fn(State<Shared>, Bytes) -> Ready + Clone + Send + Sync + 'static
where
    F: Fn(&mut FakeState, &[u8]) -> Answer + Clone + Send + Sync + 'static,
{
    move |State(st), body| std::future::ready(run(&st, |s| route(s, &body)))
}

/// A handler for a route that reads the query.
fn query<F>(route: F) -> impl Fn(State<Shared>, Q) -> Ready + Clone + Send + Sync + 'static
where
    F: Fn(&mut FakeState, &HashMap<String, String>) -> Answer + Clone + Send + Sync + 'static,
{
    move |State(st), Query(q)| std::future::ready(run(&st, |s| route(s, &q)))
}

/// A handler for a route with an `{id}` in its path.
fn id<F>(route: F) -> impl Fn(State<Shared>, Path<String>) -> Ready + Clone + Send + Sync + 'static
where
    F: Fn(&mut FakeState, &str) -> Answer + Clone + Send + Sync + 'static,
{
    move |State(st), Path(id)| std::future::ready(run(&st, |s| route(s, &id)))
}

/// A handler for a route with an `{id}` in its path and a body.
#[allow(clippy::type_complexity)]
fn id_body<F>(
    route: F,
) -> impl Fn(State<Shared>, Path<String>, Bytes) -> Ready + Clone + Send + Sync + 'static
where
    F: Fn(&mut FakeState, &str, &[u8]) -> Answer + Clone + Send + Sync + 'static,
{
    move |State(st), Path(id), body| std::future::ready(run(&st, |s| route(s, &id, &body)))
}

/// A handler for a route with an `{id}` in its path and a query.
#[allow(clippy::type_complexity)]
fn id_query<F>(
    route: F,
) -> impl Fn(State<Shared>, Path<String>, Q) -> Ready + Clone + Send + Sync + 'static
where
    F: Fn(&mut FakeState, &str, &HashMap<String, String>) -> Answer + Clone + Send + Sync + 'static,
{
    move |State(st), Path(id), Query(q)| std::future::ready(run(&st, |s| route(s, &id, &q)))
}

/// Every endpoint of the service the fake serves.
pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/v1/account/info", get(account_info))
        .route(
            "/api/v1/emails/unsubscribed/add",
            post(body(|s, b| unsubscribed(s, "add", b))),
        )
        .route(
            "/api/v1/emails/unsubscribed/delete",
            post(body(|s, b| unsubscribed(s, "delete", b))),
        )
        .route(
            "/api/v1/event",
            post(body(|s, b| events::event(s, "v1", b))),
        )
        .route(
            "/api/v2/event",
            post(body(|s, b| events::event(s, "v2", b))),
        )
        .route(
            "/api/v1/message/{id}/smartsend",
            post(id_body(messages::smartsend)),
        )
        .route(
            "/api/v1/message/email",
            post(body(|s, b| messages::plain_send(s, "email", b))),
        )
        .route(
            "/api/v1/message/sms",
            post(body(|s, b| messages::plain_send(s, "sms", b))),
        )
        .route(
            "/api/v1/message/viber",
            post(body(|s, b| messages::plain_send(s, "viber", b))),
        )
        .route(
            "/api/v1/message/status",
            get(query(|s, q| messages::statuses(s, q))),
        )
        .route(
            "/api/v2/contacts/activity",
            get(query(|s, q| messages::activity(s, q))),
        )
        .route(
            "/api/v1/orders",
            post(body(orders::orders)).delete(query(orders::delete_orders)),
        )
        .route(
            "/api/v1/addressbooks",
            get(|State(st): State<Shared>| std::future::ready(run(&st, segments::address_books))),
        )
        .route("/api/v1/groups", get(query(segments::groups)))
        .route(
            "/api/v1/group/{id}/contacts",
            get(id_query(segments::members)),
        )
        .route(
            "/api/v1/group/{id}/contacts/attach",
            post(id_body(|s, id, b| segments::membership(s, id, "attach", b))),
        )
        .route(
            "/api/v1/group/{id}/contacts/detach",
            post(id_body(|s, id, b| segments::membership(s, id, "detach", b))),
        )
        .route(
            "/api/v1/contacts",
            post(body(import::bulk)).get(query(contacts::search)),
        )
        .route("/api/v1/importstatus/{id}", get(id_query(import::status)))
        .route(
            "/api/v1/contact",
            post(body(contacts::add)).delete(query(contacts::delete_by_external_id)),
        )
        .route("/api/v1/contact/subscribe", post(body(contacts::subscribe)))
        .route(
            "/api/v1/contact/{id}",
            get(id(contacts::get))
                .put(id_body(contacts::update))
                .delete(id_query(contacts::delete)),
        )
        .route(
            "/api/v1/contact/{id}/subscriptions",
            get(id(contacts::subscriptions)).put(id_body(contacts::set_subscriptions)),
        )
        .route(
            "/api/v1/subscriptions",
            get(|State(st): State<Shared>| {
                std::future::ready(run(&st, |s| {
                    Ok(ok_json(Value::Array(s.subscription_categories.clone())))
                }))
            }),
        )
        // Only the operations the reference lists (yespo.json `paths`) exist; a known path with
        // another method is 405, as RFC 9110 §15.5.6 has it (the reference lists no other answer).
        .fallback(|| async { text(404, "Not Found") })
        .method_not_allowed_fallback(|| async { text(405, "Method Not Allowed") })
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// `GET /v1/account/info`.
async fn account_info() -> Response {
    ok_json(json!({"userEmail": "api-user", "organisationName": "Fake Org", "orgId": 123456}))
}

/// `POST /v1/emails/unsubscribed/{add|delete}`: `UnsubscribeParamsDto` {emails} [OpenAPI].
fn unsubscribed(s: &mut FakeState, action: &str, body: &[u8]) -> Answer {
    let v = json_body(body)?;
    schema::known_keys(&v, &["emails"], "the request")?;
    let Some(emails) = v.get("emails").and_then(Value::as_array) else {
        return Err(bad("emails is required"));
    };
    for e in emails.iter().filter_map(Value::as_str) {
        if action == "add" {
            s.unsubscribed.insert(e.to_string());
        } else {
            s.unsubscribed.remove(e);
        }
    }
    Ok(empty())
}

/// What every request meets before its route: HTTP Basic auth with the API key as the
/// password (any user) [docs.esputnik.com authentication], then a body declared JSON.
async fn guard(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let key = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .api_key
        .clone();
    if !authorized(request.headers(), &key) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"status": 401, "message": "Unauthorized"})),
        )
            .into_response();
    }
    // A body must be declared JSON: 415 Unsupported media type [docs.reteno.com
    // contactsbulkupdate-1]; parameters such as `charset=UTF-8` are fine.
    let has_body = request
        .extensions()
        .get::<ReceivedRequest>()
        .is_some_and(|r| !r.body.is_empty());
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if has_body && !is_json {
        return text(415, "Unsupported Media Type");
    }
    next.run(request).await
}

fn authorized(headers: &HeaderMap, key: &str) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let decoded = String::from_utf8_lossy(&decoded);
    decoded
        .split_once(':')
        .is_some_and(|(_, password)| password == key)
}

/// The service's answer to an injected fault that stops a request: a plain-text status, or its
/// 429 text [docs.reteno.com contactsbulkupdate-1] with `Retry-After`.
pub(super) fn fault_answer(fault: &Fault) -> Option<Response> {
    match fault {
        Fault::Status(status) => Some(text(*status, "injected failure")),
        Fault::RateLimit { retry_after_secs } => {
            let mut r = text(
                429,
                "Too many requests: More than 200 requests per 1 second",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            Some(r)
        }
        _ => None,
    }
}
