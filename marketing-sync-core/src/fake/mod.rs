//! What every in-process service fake shares (feature `fake`): a loopback server, and a
//! [`Harness`] layer that logs each request and injects faults, with one meaning for each
//! fault in every fake.
//!
//! A fake is an axum router with a route per endpoint; it mounts the harness and starts:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use marketing_sync_core::fake::{FakeServer, Harness};
//! let harness = Harness::new();
//! let app = harness.mount(axum::Router::new().route("/ping", axum::routing::get(|| async { "pong" })));
//! let server = FakeServer::start(app).await;
//! harness.fail_next(1, 503);
//! let url = format!("{}/ping", server.base_url());
//! assert_eq!(reqwest::get(&url).await.unwrap().status(), 503);
//! assert_eq!(reqwest::get(&url).await.unwrap().text().await.unwrap(), "pong");
//! assert_eq!(harness.requests().len(), 2);
//! # });
//! ```

mod fault;
mod harness;
mod log;
mod service;

use std::net::SocketAddr;

pub use fault::{DropPoint, Fault};
pub use harness::Harness;
pub use log::ReceivedRequest;
pub use service::FakeService;

/// An axum app served on `127.0.0.1:<free port>`. Dropping it stops the server.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let server = marketing_sync_core::fake::FakeServer::start(axum::Router::new()).await;
/// assert!(server.base_url().starts_with("http://127.0.0.1:"));
/// assert_eq!(server.addr().ip().to_string(), "127.0.0.1");
/// # });
/// ```
pub struct FakeServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    /// Binds `127.0.0.1:0` and serves `app` on a spawned task (call inside a tokio runtime).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = marketing_sync_core::fake::FakeServer::start(axum::Router::new()).await;
    /// assert_ne!(server.addr().port(), 0);
    /// # });
    /// ```
    pub async fn start(app: axum::Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeServer { addr, task }
    }

    /// The address it listens on.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = marketing_sync_core::fake::FakeServer::start(axum::Router::new()).await;
    /// assert!(server.addr().ip().is_loopback());
    /// # });
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, no trailing slash: append a service's path.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let server = marketing_sync_core::fake::FakeServer::start(axum::Router::new()).await;
    /// assert_eq!(server.base_url(), format!("http://{}", server.addr()));
    /// # });
    /// ```
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
