//! The fake's routes: one per URL form of `xmlcore.asp` (XML Direct and BI Direct take
//! `token=` only, a legacy per-company URL takes `key=`), auth answered inside HTTP 200, and
//! `get=1` / `put=1` routing read from the query string or the form body. The request log
//! and the faults are `marketing_sync_core::fake::Harness`'s, mounted around them.

use axum::Extension;
use axum::body::Body;
use axum::extract::State as Data;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use marketing_sync_core::fake::{Harness, ReceivedRequest as Logged};

use super::{Shared, XmlcoreRequest, lock};

/// XML Direct: one URL for all companies (wiki `en/xml_direct`).
pub(super) const XML_DIRECT_PATH: &str = "/xmlcore/cap_xml_direct/xmlcore.asp";
/// BI Direct: the same token rules (wiki `en/bi_direct`).
const BI_DIRECT_PATH: &str = "/xmlcore/cap_bi/xmlcore.asp";
/// A legacy per-company URL, `…/xmlcore/<db>/xmlcore.asp` with `key=` (wiki `en/xmlcore`).
const LEGACY_PATH: &str = "/xmlcore/{db}/xmlcore.asp";

pub(super) fn xml_response(body: impl Into<Body>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

pub(super) const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// `<result type="5" desc="Unauthorized"/>`: "in case of an incorrect or improperly sent token"
/// (wiki `en/xml_direct`) and a wrong appkey (wiki `en/xmlcore`).
const UNAUTHORIZED: &str = r#"<result type="5" desc="Unauthorized"/>"#;

/// `<err>token required</err>`: "in case token is missing" (wiki `en/xml_direct`).
const TOKEN_REQUIRED: &str = "<err>token required</err>";

/// `<result type="404" desc="Invalid url given"/>`: what a request that is neither `get=1` nor
/// `put=1` is answered (seen by qbitsoftware/accounting-service, `directo/xml.go`).
pub(super) const INVALID_URL: &str = r#"<result type="404" desc="Invalid url given"/>"#;

/// The whole app: a route per URL form, inside the harness (log and faults). Any other path
/// is a 404, as a web server answers.
pub(super) fn app(state: Shared, harness: &Harness) -> axum::Router {
    harness.mount(
        axum::Router::new()
            .route(XML_DIRECT_PATH, any(token_url))
            .route(BI_DIRECT_PATH, any(token_url))
            .route(LEGACY_PATH, any(legacy_url))
            .with_state(state),
    )
}

/// XML Direct and BI Direct: the token "replaces the older interface types' appkey" (wiki
/// `en/xml_direct`): `key=` is not read, so a request with only a key lacks the TOKEN variable.
async fn token_url(Data(state): Data<Shared>, Extension(logged): Extension<Logged>) -> Response {
    let req = XmlcoreRequest::from(&logged);
    let token = lock(&state).token.clone();
    match req.param("token") {
        None => xml_response(TOKEN_REQUIRED),
        Some(t) if t != token => xml_response(UNAUTHORIZED),
        Some(_) => route(&state, &req),
    }
}

/// A legacy per-company URL: `key=`, or (writes) the appkey on every record instead
/// (`<delivery appkey="…">`, Protoshell bridge; `<customer key="…">`, arvutitark).
async fn legacy_url(Data(state): Data<Shared>, Extension(logged): Extension<Logged>) -> Response {
    let req = XmlcoreRequest::from(&logged);
    let app_key = lock(&state).app_key.clone();
    let in_records = is_put(&req) && super::put::every_record_has_appkey(&req, &app_key);
    match req.param("key") {
        Some(k) if k == app_key => route(&state, &req),
        None if in_records => route(&state, &req),
        _ => xml_response(UNAUTHORIZED),
    }
}

fn is_put(req: &XmlcoreRequest) -> bool {
    req.param("put") == Some("1")
}

/// An authorized request: a read, a put, or neither ("Invalid url given").
fn route(state: &Shared, req: &XmlcoreRequest) -> Response {
    let what = req.param("what").unwrap_or_default();
    if req.param("get") == Some("1") {
        return super::read::read(state, req, what);
    }
    if is_put(req) {
        // "The POST method is used to access the interface" (wiki `en/xmlcore`): a put's
        // `xmldata` only ever arrives in a form body.
        if req.method != Method::POST.as_str() {
            return xml_response(r#"<result type="8" desc="Invalid xml given"/>"#);
        }
        return super::put::put(state, req, what);
    }
    xml_response(INVALID_URL)
}
