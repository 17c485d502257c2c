//! What the fake holds: Directo's data, the puts it accepted, and its view of a request.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::{Method, header};

use crate::customer::Customer;
use crate::record::Record;

/// One request as `xmlcore.asp` reads it: its parameters from the query string and, for a
/// form-encoded POST, the form body ([`FakeDirecto::xmlcore_requests`](super::FakeDirecto::xmlcore_requests)).
/// The raw request (headers, body) is the log's
/// [`ReceivedRequest`](marketing_sync_core::fake::ReceivedRequest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlcoreRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The URL path.
    pub path: String,
    /// Query string pairs, in order.
    pub query: Vec<(String, String)>,
    /// Form body pairs, in order (empty for GET).
    pub form: Vec<(String, String)>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
}

impl XmlcoreRequest {
    /// A parameter as ASP's `Request(name)` sees it: the query string first, then the form.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = directo_client::fake::FakeDirecto::start().await;
    /// reqwest::Client::new()
    ///     .post(format!("{}?what=customer", fake.base_url()))
    ///     .form(&[("what", "item"), ("get", "1")])
    ///     .send()
    ///     .await
    ///     .unwrap();
    /// let seen = &fake.xmlcore_requests()[0];
    /// assert_eq!((seen.param("what"), seen.param("get")), (Some("customer"), Some("1")));
    /// # });
    /// ```
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(&self.form)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Directo's view of the request the harness logged: parameters in the query string and, for
/// a POST, in the form body.
impl From<&marketing_sync_core::fake::ReceivedRequest> for XmlcoreRequest {
    fn from(logged: &marketing_sync_core::fake::ReceivedRequest) -> Self {
        XmlcoreRequest {
            method: logged.method.to_string(),
            path: logged.path.clone(),
            query: logged.query_pairs(),
            // "The POST method is used … application/x-www-form-urlencoded" (wiki
            // en/xmlcore); xmlcore.asp is classic ASP, whose `Request.Form` reads only such a
            // body: any other body carries no parameters at all.
            form: if logged.method == Method::POST
                && logged
                    .header(header::CONTENT_TYPE.as_str())
                    .and_then(|ct| ct.split(';').next())
                    .is_some_and(|ct| {
                        ct.trim()
                            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                    })
            {
                logged.form_pairs()
            } else {
                Vec::new()
            },
            content_type: logged
                .header(header::CONTENT_TYPE.as_str())
                .map(str::to_string),
        }
    }
}

/// One `put=1` request the fake accepted (authorized, within the size limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedPut {
    /// `what`.
    pub what: String,
    /// `xd_update=1` was sent.
    pub update: bool,
    /// The transport parameters sent (`xd_update`, `xd_updateconfirmed`, …), in order.
    pub params: Vec<(String, String)>,
    /// The raw `xmldata`.
    pub xmldata: String,
}

/// Which envelope reads are answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Envelope {
    /// `<transport><customers><customer/>…</customers></transport>` (default).
    #[default]
    WithContainer,
    /// `<transport><customer/>…</transport>`.
    NoContainer,
}

/// Directo's data and the fake's settings.
pub(super) struct State {
    pub(super) customers: BTreeMap<String, Customer>,
    /// Other components' documents, in insertion order (as Directo outputs them).
    pub(super) records: BTreeMap<String, Vec<Record>>,
    pub(super) synthetic: Option<u64>,
    pub(super) puts: Vec<ReceivedPut>,
    pub(super) envelope: Envelope,
    pub(super) next_docid: u64,
    pub(super) max_xmldata: usize,
    /// The token the XML Direct and BI Direct URLs accept.
    pub(super) token: String,
    /// The appkey a legacy per-company URL accepts.
    pub(super) app_key: String,
}

impl Default for State {
    fn default() -> Self {
        State {
            customers: BTreeMap::new(),
            records: BTreeMap::new(),
            synthetic: None,
            puts: Vec::new(),
            envelope: Envelope::default(),
            next_docid: 100_001,
            max_xmldata: crate::client::MAX_XMLDATA_BYTES,
            token: super::FakeDirecto::TOKEN.to_string(),
            app_key: super::FakeDirecto::APP_KEY.to_string(),
        }
    }
}

/// The state the routes share.
pub(super) type Shared = Arc<Mutex<State>>;

pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}
