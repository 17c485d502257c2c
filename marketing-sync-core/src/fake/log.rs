//! The request log.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};

/// A request as a fake received it, before any fault or route saw it.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use marketing_sync_core::fake::{FakeServer, Harness};
/// let harness = Harness::new();
/// let server = FakeServer::start(harness.mount(axum::Router::new())).await;
/// reqwest::Client::new().post(format!("{}/a/b?x=1&y=%C3%A4", server.base_url()))
///     .header("content-type", "text/plain").body("hi").send().await.unwrap();
/// let seen = &harness.requests()[0];
/// assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/a/b"));
/// assert_eq!(seen.query_pairs(), [("x".into(), "1".into()), ("y".into(), "ä".into())]);
/// assert_eq!(seen.header("content-type"), Some("text/plain"));
/// assert_eq!(seen.body_text(), "hi");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// HTTP method.
    pub method: Method,
    /// Path, percent-encoded as sent.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Every header.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl ReceivedRequest {
    /// A header's value as text (the first, if repeated).
    ///
    /// ```
    /// # let r = marketing_sync_core::fake::ReceivedRequest { method: axum::http::Method::GET, path: "/".into(), query: None, headers: Default::default(), body: Default::default() };
    /// assert_eq!(r.header("authorization"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The query string decoded into pairs, in order.
    ///
    /// ```
    /// # let r = marketing_sync_core::fake::ReceivedRequest { method: axum::http::Method::GET, path: "/".into(), query: Some("a=1&a=2".into()), headers: Default::default(), body: Default::default() };
    /// assert_eq!(r.query_pairs().len(), 2);
    /// ```
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_deref().unwrap_or_default().as_bytes())
            .into_owned()
            .collect()
    }

    /// The body decoded as a form (`application/x-www-form-urlencoded`) into pairs, in order.
    ///
    /// ```
    /// # let r = marketing_sync_core::fake::ReceivedRequest { method: axum::http::Method::POST, path: "/".into(), query: None, headers: Default::default(), body: "k=v+w".into() };
    /// assert_eq!(r.form_pairs(), [("k".to_string(), "v w".to_string())]);
    /// ```
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// The body as text (lossy UTF-8).
    ///
    /// ```
    /// # let r = marketing_sync_core::fake::ReceivedRequest { method: axum::http::Method::POST, path: "/".into(), query: None, headers: Default::default(), body: "hi".into() };
    /// assert_eq!(r.body_text(), "hi");
    /// ```
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
