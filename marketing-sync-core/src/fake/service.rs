//! The one API every service fake offers: its address, a client for it, its credentials,
//! the request log and the faults.

use std::time::Duration;

use axum::body::Bytes;

use super::{DropPoint, Harness, ReceivedRequest};

/// What every service fake (`FakeDirecto`, `FakeSmaily`, `FakeMessaging`, `FakeSplio`) offers,
/// with one meaning in each: implement the five required methods and the request log and
/// every fault setter come from its [`Harness`]. A fault answers as the fake's service would
/// (its error body, its rate-limit headers).
///
/// Bring it into scope with each client's `prelude` (or this path).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use marketing_sync_core::fake::{FakeServer, FakeService, Harness};
/// struct Pong { server: FakeServer, harness: Harness }
/// impl FakeService for Pong {
///     type Client = reqwest::Client;
///     type Credentials = ();
///     fn harness(&self) -> &Harness { &self.harness }
///     fn base_url(&self) -> String { self.server.base_url() }
///     fn client(&self) -> reqwest::Client { reqwest::Client::new() }
///     fn credentials(&self) {}
///     fn set_credentials(&self, _: ()) {}
/// }
/// let harness = Harness::new();
/// let app = harness.mount(axum::Router::new().route("/", axum::routing::get(|| async { "pong" })));
/// let fake = Pong { server: FakeServer::start(app).await, harness };
/// fake.fail_next(1, 503);
/// assert_eq!(fake.client().get(fake.base_url()).send().await.unwrap().status(), 503);
/// assert_eq!(fake.client().get(fake.base_url()).send().await.unwrap().status(), 200);
/// assert_eq!(fake.request_count(), 2);
/// assert_eq!(fake.requests()[1].path, "/");
/// # });
/// ```
pub trait FakeService {
    /// The service's client type.
    type Client;
    /// What the service's client is built with (the type its `Client::builder` takes).
    type Credentials;

    /// The fake's request log and fault queue.
    fn harness(&self) -> &Harness;

    /// The base URL a client is given (`http://127.0.0.1:<port>/…`).
    fn base_url(&self) -> String;

    /// A client for this fake: its credentials, plain http allowed, retries in milliseconds.
    fn client(&self) -> Self::Client;

    /// The credentials the fake accepts now.
    fn credentials(&self) -> Self::Credentials;

    /// Makes the fake accept these credentials (and refuse the old ones) from now on.
    fn set_credentials(&self, credentials: Self::Credentials);

    /// Every request received, in order, faulted ones included.
    fn requests(&self) -> Vec<ReceivedRequest> {
        self.harness().requests()
    }

    /// How many requests arrived (counted even when recording is off).
    fn request_count(&self) -> u64 {
        self.harness().request_count()
    }

    /// Stops (or restarts) keeping requests in the log, for large loads; they are still
    /// counted.
    fn record_requests(&self, on: bool) {
        self.harness().record_requests(on);
    }

    /// Empties the request log and its count.
    fn clear_requests(&self) {
        self.harness().clear_requests();
    }

    /// Answers the next `n` requests with HTTP `status` in the service's error shape,
    /// unprocessed.
    fn fail_next(&self, n: usize, status: u16) {
        self.harness().fail_next(n, status);
    }

    /// Answers the next `n` requests as the service answers a rate limit (429 and its wait
    /// header), unprocessed.
    fn rate_limit_next(&self, n: usize, retry_after_secs: u64) {
        self.harness().rate_limit_next(n, retry_after_secs);
    }

    /// Delays the next `n` answers by `delay`; the requests are processed, also when the
    /// client stopped waiting, as a server finishes what it started.
    fn delay_next(&self, n: usize, delay: Duration) {
        self.harness().delay_next(n, delay);
    }

    /// Cuts the connection of the next `n` requests, before or after processing them.
    fn drop_next(&self, n: usize, point: DropPoint) {
        self.harness().drop_next(n, point);
    }

    /// Answers the next `n` requests with exactly this, unprocessed.
    fn reply_next(&self, n: usize, status: u16, content_type: &str, body: impl Into<Bytes>)
    where
        Self: Sized,
    {
        self.harness().reply_next(n, status, content_type, body);
    }

    /// Delays every answer (`None` to stop).
    fn set_delay(&self, delay: Option<Duration>) {
        self.harness().set_delay(delay);
    }

    /// Forgets the faults no request has consumed yet.
    fn clear_faults(&self) {
        self.harness().clear_faults();
    }
}
