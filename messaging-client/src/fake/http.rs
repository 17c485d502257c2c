//! The one handler every request goes through: log, faults, auth, media type, routing; and the
//! response helpers the routes share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::state::FakeState;
use super::{ReceivedRequest, contacts, events, messages, orders, schema, segments};

pub(super) type Shared = Arc<Mutex<FakeState>>;

/// The query string, decoded.
pub(super) type Query = HashMap<String, String>;

pub(super) fn text(status: u16, body: impl Into<String>) -> Response {
    let mut r = Response::new(Body::from(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

pub(super) fn empty() -> Response {
    StatusCode::OK.into_response()
}

pub(super) fn ok_json(v: Value) -> Response {
    axum::Json(v).into_response()
}

/// A refused request: the status and the plain-text body the service answers with.
#[derive(Debug)]
pub(super) struct Refused {
    status: u16,
    message: String,
}

impl From<Refused> for Response {
    fn from(r: Refused) -> Self {
        text(r.status, r.message)
    }
}

/// What a route answers: the response, or why the request is refused.
pub(super) type Answer = Result<Response, Refused>;

/// A refusal with `status`.
pub(super) fn refuse(status: u16, message: impl Into<String>) -> Refused {
    Refused {
        status,
        message: message.into(),
    }
}

/// A 400 refusal (the service's validation errors are plain text).
pub(super) fn bad(message: impl Into<String>) -> Refused {
    refuse(400, message)
}

/// One result as an object with string scalars (the XML-mapped quirk), several as an array.
pub(super) fn one_or_many(items: Vec<Value>) -> Value {
    if items.len() == 1 {
        stringify_scalars(items.into_iter().next().expect("one"))
    } else {
        Value::Array(items)
    }
}

fn stringify_scalars(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, stringify_scalars(v)))
                .collect(),
        ),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        other => other,
    }
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

fn query_map(uri: &Uri) -> Query {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// A request body parsed as JSON, or the service's 400.
pub(super) fn json_body(body: &[u8]) -> Result<Value, Refused> {
    serde_json::from_slice(body).map_err(|_| bad("Malformed JSON"))
}

pub(super) async fn handle(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (fault, delay) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.requests.push(ReceivedRequest {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().map(str::to_owned),
            content_type: headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        (s.faults.pop_front(), s.delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(fault) = fault {
        return fault.respond();
    }
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if !authorized(&headers, &s.api_key) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"status": 401, "message": "Unauthorized"})),
        )
            .into_response();
    }
    let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    let Some(("api", rest)) = segments.split_first().map(|(a, b)| (*a, b)) else {
        return text(404, "Not Found");
    };
    let query = query_map(&uri);
    // A body must be declared JSON: 415 Unsupported media type [docs.reteno.com
    // contactsbulkupdate-1]; parameters such as `charset=UTF-8` are fine.
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !body.is_empty() && !is_json {
        return text(415, "Unsupported Media Type");
    }
    let s = &mut *s;
    let answer = match (method.as_str(), rest) {
        ("GET", ["v1", "account", "info"]) => Ok(ok_json(
            json!({"userEmail": "api-user", "organisationName": "Fake Org", "orgId": 123456}),
        )),
        ("POST", ["v1", "emails", "unsubscribed", action @ ("add" | "delete")]) => {
            unsubscribed(s, action, &body)
        }
        ("POST", [version @ ("v1" | "v2"), "event"]) => events::event(s, version, &body),
        ("POST", ["v1", "message", id, "smartsend"]) => messages::smartsend(s, id, &body),
        ("POST", ["v1", "message", channel @ ("email" | "sms" | "viber")]) => {
            messages::plain_send(s, channel, &body)
        }
        ("GET", ["v1", "message", "status"]) => messages::statuses(s, &query),
        ("GET", ["v2", "contacts", "activity"]) => messages::activity(s, &query),
        ("POST", ["v1", "orders"]) => orders::orders(s, &body),
        ("DELETE", ["v1", "orders"]) => orders::delete_orders(s, &query),
        (_, ["v1", "addressbooks" | "groups" | "group", ..]) => {
            segments::route(s, &method, rest, &query, &body)
        }
        _ => contacts::route(s, &method, rest, &query, &body),
    };
    answer.unwrap_or_else(Response::from)
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

/// A page of `items` per `startindex` (1-based) and `maxrows` (≤ 500), with `TotalCount`.
pub(super) fn page(q: &Query, items: Vec<Value>) -> Answer {
    let start = q
        .get("startindex")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let rows = q
        .get("maxrows")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(500);
    if rows > 500 {
        return Err(bad("maxrows must not exceed 500"));
    }
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start - 1).take(rows).collect();
    let mut r = ok_json(Value::Array(page));
    r.headers_mut()
        .insert("TotalCount", HeaderValue::from(total));
    Ok(r)
}
