//! The HTTP side: recording, faults, authentication, then one route per documented operation
//! (every other path is a 404, as on Splio). The routes' rules live with their resources.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::RecordedRequest;
use super::faults;
use super::state::State;
use crate::blacklists::Channel;

/// A status and a JSON body, as every route answers.
pub(crate) type Answer = (StatusCode, Value);

/// The router: every request goes through [`handle`].
pub(crate) fn router(state: Arc<Mutex<State>>) -> axum::Router {
    axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move { handle(state, method, uri, headers, body).await }
        },
    )
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

fn channel(name: &str) -> Channel {
    if name.starts_with("email") {
        Channel::Email
    } else {
        Channel::Cellphone
    }
}

async fn handle(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let json_body: Option<Value> = serde_json::from_slice(&body).ok();
    let fault = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        if s.record_requests {
            s.requests.push(RecordedRequest {
                method: method.to_string(),
                path: uri.path().to_string(),
                query: uri.query().map(str::to_string),
                authorization: header("authorization"),
                content_type: header("content-type"),
                user_agent: header("user-agent"),
                body: json_body.clone(),
            });
        }
        s.request_count += 1;
        s.faults.pop_front()
    };
    if let Some(response) = faults::answer(fault).await {
        return response;
    }
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    if uri.path() == "/authenticate" && method == Method::POST {
        return s.authenticate(json_body.as_ref()).into_response();
    }
    // 401 "Authentication failed." as a bare JSON string [E7].
    if !s.authorized(header("authorization").as_deref()) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!("Authentication failed.")),
        )
            .into_response();
    }
    let segments: Vec<String> = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(decode_segment)
        .collect();
    let mut segments = segments;
    if segments.len() >= 3 && segments[0] == "data" && segments[1] == "contacts" {
        segments[2] = s.stored_key(&segments[2]);
    }
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let body = json_body.unwrap_or(Value::Null);
    let (status, value) = route(&mut s, &method, &segs, &query, &body);
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

/// The documented operations [E1]; anything else is `404 "Not Found."`.
fn route(
    s: &mut State,
    method: &Method,
    segs: &[&str],
    query: &HashMap<String, String>,
    body: &Value,
) -> Answer {
    match (method, segs) {
        (&Method::GET, ["universes", "unique-key"]) => (
            StatusCode::OK,
            json!({"unique_key": s.unique_key.as_wire()}),
        ),
        (&Method::GET, ["ping"]) => (StatusCode::OK, json!({"user_id": 1})),
        (&Method::GET, ["data", "contacts"]) => s.list_contacts(query),
        (&Method::POST, ["data", "contacts"]) => s.create_contact(body),
        (&Method::POST, ["data", "contacts", "bulk"]) => s.bulk_create(body),
        (&Method::DELETE, ["data", "contacts", "bulk"]) => s.bulk_delete(body),
        (&Method::POST, ["data", "contacts", "optout"]) => s.optout(body),
        (&Method::GET, ["data", "contacts", key]) => s.get_contact(key),
        (&Method::PATCH, ["data", "contacts", key]) => s.patch_contact(key, body),
        (&Method::DELETE, ["data", "contacts", key]) => s.delete_contact(key),
        (
            &Method::POST,
            [
                "data",
                "contacts",
                key,
                "lists",
                action @ ("subscribe" | "unsubscribe"),
            ],
        ) => s.change_lists(key, *action == "subscribe", body),
        (&Method::GET, ["data", "fields", "contacts"]) => s.list_fields(query),
        (&Method::POST, ["data", "fields"]) => s.create_field(body),
        (&Method::DELETE, ["data", "fields", "contacts", id]) => s.delete_field(id),
        (&Method::GET, ["data", "v1", "lists"]) => s.list_lists(query),
        (&Method::GET, ["data", "blacklists", name @ ("emails" | "cellphones")]) => {
            s.list_blacklist(channel(name), query)
        }
        (&Method::POST, ["data", "blacklists", name @ ("email" | "cellphone")]) => {
            s.blacklist_change(channel(name), None, body)
        }
        (
            &Method::DELETE,
            [
                "data",
                "blacklists",
                name @ ("email" | "cellphone"),
                source @ ("custom" | "unsub" | "all"),
            ],
        ) => s.blacklist_change(channel(name), Some(source), body),
        _ => (StatusCode::NOT_FOUND, json!("Not Found.")),
    }
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
