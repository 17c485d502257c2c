//! The response helpers the routes share: plain-text refusals, JSON answers, the XML-mapped
//! one-or-many quirk, paging.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

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

/// A request body parsed as JSON, or the service's 400.
pub(super) fn json_body(body: &[u8]) -> Result<Value, Refused> {
    serde_json::from_slice(body).map_err(|_| bad("Malformed JSON"))
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
