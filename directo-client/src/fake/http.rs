//! The fake's HTTP side: which URL takes which credential, routing, faults.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::{FakeDirecto, Fault, ReceivedRequest, State, lock};

/// XML Direct: one URL for all companies (wiki `en/xml_direct`).
pub(super) const XML_DIRECT_PATH: &str = "/xmlcore/cap_xml_direct/xmlcore.asp";
/// BI Direct: the same token rules (wiki `en/bi_direct`).
const BI_DIRECT_PATH: &str = "/xmlcore/cap_bi/xmlcore.asp";

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

enum Credentials {
    /// XML Direct / BI Direct: `token=` replaces the appkey and the database name.
    Token,
    /// A legacy per-company URL: `key=` (or an appkey attribute on every written record).
    AppKey,
}

pub(super) async fn handle(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parse = |s: &[u8]| -> Vec<(String, String)> {
        url::form_urlencoded::parse(s).into_owned().collect()
    };
    let req = ReceivedRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: parse(uri.query().unwrap_or_default().as_bytes()),
        form: if method == Method::POST {
            parse(&body)
        } else {
            Vec::new()
        },
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    let fault = {
        let mut s = lock(&state);
        s.requests.push(req.clone());
        s.faults.pop_front()
    };
    let mut drop_mid_body = false;
    match fault {
        Some(Fault::Status(code, retry_after)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = status.into_response();
            if let Some(secs) = retry_after {
                resp.headers_mut().insert(
                    header::RETRY_AFTER,
                    secs.to_string().parse().expect("header"),
                );
            }
            return resp;
        }
        Some(Fault::Body(b)) => return xml_response(b),
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Drop) => drop_mid_body = true,
        None => {}
    }
    let credentials = match req.path.as_str() {
        XML_DIRECT_PATH | BI_DIRECT_PATH => Credentials::Token,
        p if p.starts_with("/xmlcore/") && p.ends_with("/xmlcore.asp") => Credentials::AppKey,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let put = req.param("put") == Some("1");
    match credentials {
        // The token "replaces the older interface types' appkey": `key=` is not read, so a
        // request with only a key lacks the TOKEN variable.
        Credentials::Token => match req.param("token") {
            None => return xml_response(TOKEN_REQUIRED),
            Some(t) if t != FakeDirecto::TOKEN => return xml_response(UNAUTHORIZED),
            Some(_) => {}
        },
        Credentials::AppKey => {
            // Legacy writes may carry the appkey on every record instead (`<delivery
            // appkey="…">`, Protoshell bridge; `<customer key="…">`, arvutitark).
            let in_records = put && super::put::every_record_has_appkey(&req);
            match req.param("key") {
                Some(k) if k == FakeDirecto::APP_KEY => {}
                None if in_records => {}
                _ => return xml_response(UNAUTHORIZED),
            }
        }
    }
    let what = req.param("what").unwrap_or_default().to_string();
    if req.param("get") == Some("1") {
        let resp = super::read::read(&state, &req, &what);
        if drop_mid_body {
            return cut(resp).await;
        }
        return resp;
    }
    if put {
        // "The POST method is used to access the interface" (wiki `en/xmlcore`): a put's
        // `xmldata` only ever arrives in a form body.
        if method != Method::POST {
            return xml_response(r#"<result type="8" desc="Invalid xml given"/>"#);
        }
        return super::put::put(&state, &req, &what);
    }
    xml_response(INVALID_URL)
}

/// Sends the first bytes of an answer, then fails the body (the client sees a cut connection).
async fn cut(resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    let stream = futures::stream::iter([
        Ok::<_, std::io::Error>(half),
        Err(std::io::Error::other("connection dropped by FakeDirecto")),
    ]);
    Response::from_parts(parts, Body::from_stream(stream))
}
