//! The request log and fault injection, as an axum layer every fake mounts.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::fault::{DropPoint, Fault};
use super::log::ReceivedRequest;

type Render = dyn Fn(&Fault) -> Option<Response> + Send + Sync;

/// The request log and the fault queue a fake mounts on its router ([`mount`](Harness::mount)).
/// Cheap to clone; clones share the log and the queue.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use marketing_sync_core::fake::{DropPoint, FakeServer, Harness};
/// let harness = Harness::new();
/// let server = FakeServer::start(harness.mount(axum::Router::new()
///     .route("/", axum::routing::get(|| async { "ok" })))).await;
/// harness.rate_limit_next(1, 2);
/// harness.drop_next(1, DropPoint::BeforeProcessing);
/// let first = reqwest::get(server.base_url()).await.unwrap();
/// assert_eq!(first.status(), 429);
/// assert_eq!(first.headers()["retry-after"], "2");
/// let cut = match reqwest::get(server.base_url()).await {
///     Ok(answer) => answer.text().await.is_err(), // headers, then a broken body
///     Err(_) => true,
/// };
/// assert!(cut);
/// assert_eq!(harness.request_count(), 2);
/// # });
/// ```
#[derive(Clone, Default)]
pub struct Harness {
    state: Arc<Mutex<HarnessState>>,
    render: Option<Arc<Render>>,
}

#[derive(Default)]
struct HarnessState {
    requests: Vec<ReceivedRequest>,
    request_count: u64,
    not_recording: bool,
    faults: VecDeque<Fault>,
    delay: Option<Duration>,
}

impl fmt::Debug for Harness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("Harness")
            .field("request_count", &s.request_count)
            .field("faults", &s.faults)
            .field("delay", &s.delay)
            .finish_non_exhaustive()
    }
}

impl Harness {
    /// An empty log, no faults, recording on.
    ///
    /// ```
    /// assert_eq!(marketing_sync_core::fake::Harness::new().request_count(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Lets the fake shape the answer of a [`Fault::Status`] or [`Fault::RateLimit`] as its
    /// service would (its error body, its rate-limit headers); `None` falls back to
    /// [`default_answer`](Self::default_answer). Call before [`mount`](Self::mount).
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use marketing_sync_core::fake::{Fault, Harness};
    /// let harness = Harness::new().answer_faults_with(|fault| match fault {
    ///     Fault::Status(s) => Some((axum::http::StatusCode::from_u16(*s).ok()?, "{\"error\":\"injected\"}").into_response()),
    ///     _ => None,
    /// });
    /// # drop(harness);
    /// ```
    pub fn answer_faults_with(
        mut self,
        render: impl Fn(&Fault) -> Option<Response> + Send + Sync + 'static,
    ) -> Self {
        self.render = Some(Arc::new(render));
        self
    }

    /// The plain answer of an unprocessed fault: the status with an empty body; 429 with
    /// `Retry-After`; a [`Fault::Reply`] as given. `None` for the faults that process.
    ///
    /// ```
    /// let answer = marketing_sync_core::fake::Harness::default_answer(&marketing_sync_core::fake::Fault::Status(502)).unwrap();
    /// assert_eq!(answer.status(), 502);
    /// ```
    pub fn default_answer(fault: &Fault) -> Option<Response> {
        let status = |s: u16| StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match fault {
            Fault::Status(s) => Some(status(*s).into_response()),
            Fault::RateLimit { retry_after_secs } => Some(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, retry_after_secs.to_string())],
                )
                    .into_response(),
            ),
            Fault::Reply {
                status: s,
                content_type,
                body,
            } => {
                let mut r = (status(*s), body.clone()).into_response();
                if let Ok(ct) = HeaderValue::from_str(content_type) {
                    r.headers_mut().insert(header::CONTENT_TYPE, ct);
                }
                Some(r)
            }
            Fault::Delay(_) | Fault::Drop(_) => None,
        }
    }

    /// Wraps `router` (its routes and its fallback) in the log and the faults. Each request
    /// reaching the routes carries its [`ReceivedRequest`] as an extension
    /// (`axum::Extension<ReceivedRequest>`), body included.
    ///
    /// ```
    /// let harness = marketing_sync_core::fake::Harness::new();
    /// let app: axum::Router = harness.mount(axum::Router::new());
    /// # drop(app);
    /// ```
    pub fn mount<S: Clone + Send + Sync + 'static>(
        &self,
        router: axum::Router<S>,
    ) -> axum::Router<S> {
        router.layer(axum::middleware::from_fn_with_state(self.clone(), layer))
    }

    fn lock(&self) -> MutexGuard<'_, HarnessState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `fault` for the next `n` requests (after the faults already queued).
    ///
    /// ```
    /// let harness = marketing_sync_core::fake::Harness::new();
    /// harness.inject(2, marketing_sync_core::fake::Fault::Status(500));
    /// assert_eq!(harness.pending_faults(), 2);
    /// ```
    pub fn inject(&self, n: usize, fault: Fault) {
        self.lock().faults.extend(std::iter::repeat_n(fault, n));
    }

    /// Answers the next `n` requests with HTTP `status`, unprocessed.
    ///
    /// ```
    /// let harness = marketing_sync_core::fake::Harness::new();
    /// harness.fail_next(1, 503);
    /// assert_eq!(harness.pending_faults(), 1);
    /// ```
    pub fn fail_next(&self, n: usize, status: u16) {
        self.inject(n, Fault::Status(status));
    }

    /// Answers the next `n` requests with 429 and `Retry-After: retry_after_secs`, unprocessed.
    ///
    /// ```
    /// marketing_sync_core::fake::Harness::new().rate_limit_next(1, 3);
    /// ```
    pub fn rate_limit_next(&self, n: usize, retry_after_secs: u64) {
        self.inject(n, Fault::RateLimit { retry_after_secs });
    }

    /// Delays the next `n` answers by `delay` (the requests are processed).
    ///
    /// ```
    /// marketing_sync_core::fake::Harness::new().delay_next(1, std::time::Duration::from_millis(50));
    /// ```
    pub fn delay_next(&self, n: usize, delay: Duration) {
        self.inject(n, Fault::Delay(delay));
    }

    /// Cuts the connection of the next `n` requests, before or after processing them.
    ///
    /// ```
    /// marketing_sync_core::fake::Harness::new().drop_next(1, marketing_sync_core::fake::DropPoint::AfterProcessing);
    /// ```
    pub fn drop_next(&self, n: usize, point: DropPoint) {
        self.inject(n, Fault::Drop(point));
    }

    /// Answers the next `n` requests with exactly this, unprocessed.
    ///
    /// ```
    /// marketing_sync_core::fake::Harness::new().reply_next(1, 200, "application/json", r#"{"code":205}"#);
    /// ```
    pub fn reply_next(&self, n: usize, status: u16, content_type: &str, body: impl Into<Bytes>) {
        self.inject(
            n,
            Fault::Reply {
                status,
                content_type: content_type.into(),
                body: body.into(),
            },
        );
    }

    /// Delays every answer (`None` to stop), before any queued fault.
    ///
    /// ```
    /// marketing_sync_core::fake::Harness::new().set_delay(Some(std::time::Duration::from_millis(10)));
    /// ```
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.lock().delay = delay;
    }

    /// How many queued faults no request has consumed yet.
    ///
    /// ```
    /// assert_eq!(marketing_sync_core::fake::Harness::new().pending_faults(), 0);
    /// ```
    pub fn pending_faults(&self) -> usize {
        self.lock().faults.len()
    }

    /// Forgets the queued faults.
    ///
    /// ```
    /// let harness = marketing_sync_core::fake::Harness::new();
    /// harness.fail_next(3, 500);
    /// harness.clear_faults();
    /// assert_eq!(harness.pending_faults(), 0);
    /// ```
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Every request received, in arrival order (faulted ones included).
    ///
    /// ```
    /// assert!(marketing_sync_core::fake::Harness::new().requests().is_empty());
    /// ```
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.lock().requests.clone()
    }

    /// How many requests arrived (counted even when not recorded).
    ///
    /// ```
    /// assert_eq!(marketing_sync_core::fake::Harness::new().request_count(), 0);
    /// ```
    pub fn request_count(&self) -> u64 {
        self.lock().request_count
    }

    /// Whether to keep whole requests for [`requests`](Self::requests) (on by default; turn it
    /// off for large benchmarks; [`request_count`](Self::request_count) always counts).
    ///
    /// ```
    /// marketing_sync_core::fake::Harness::new().record_requests(false);
    /// ```
    pub fn record_requests(&self, on: bool) {
        self.lock().not_recording = !on;
    }

    /// Forgets the recorded requests and resets the count.
    ///
    /// ```
    /// marketing_sync_core::fake::Harness::new().clear_requests();
    /// ```
    pub fn clear_requests(&self) {
        let mut s = self.lock();
        s.requests.clear();
        s.request_count = 0;
    }

    /// Logs an arrival; returns the fault it meets and the standing delay.
    fn arrive(&self, request: ReceivedRequest) -> (Option<Fault>, Option<Duration>) {
        let mut s = self.lock();
        s.request_count += 1;
        if !s.not_recording {
            s.requests.push(request);
        }
        (s.faults.pop_front(), s.delay)
    }

    fn answer(&self, fault: &Fault) -> Response {
        self.render
            .as_ref()
            .and_then(|render| render(fault))
            .or_else(|| Self::default_answer(fault))
            .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

async fn layer(State(harness): State<Harness>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let received = ReceivedRequest {
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers.clone(),
        body: bytes.clone(),
    };
    let (fault, delay) = harness.arrive(received.clone());
    let mut request = Request::from_parts(parts, Body::from(bytes));
    // Routes read the request as logged (`Extension<ReceivedRequest>`), body included.
    request.extensions_mut().insert(received);
    let wait = match &fault {
        Some(Fault::Delay(d)) => Some(delay.unwrap_or_default() + *d),
        _ => delay,
    };
    if let Some(wait) = wait {
        // Like a real server, the fake finishes what it started when the client stops
        // waiting: the wait and what follows run on their own task.
        let task = tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            after_arrival(harness, fault, request, next).await
        });
        return task
            .await
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    after_arrival(harness, fault, request, next).await
}

/// What a request meets once any delay has passed.
async fn after_arrival(
    harness: Harness,
    fault: Option<Fault>,
    request: Request,
    next: Next,
) -> Response {
    match fault {
        None | Some(Fault::Delay(_)) => next.run(request).await,
        Some(Fault::Drop(DropPoint::BeforeProcessing)) => broken(StatusCode::OK, Bytes::new()),
        Some(Fault::Drop(DropPoint::AfterProcessing)) => {
            let (parts, body) = next.run(request).await.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let mut cut = broken(parts.status, bytes.slice(..bytes.len() / 2));
            for (name, value) in &parts.headers {
                if name != header::CONTENT_LENGTH {
                    cut.headers_mut().insert(name, value.clone());
                }
            }
            cut
        }
        Some(fault) => harness.answer(&fault),
    }
}

/// An answer whose body sends `head`, then breaks (the client sees a cut connection).
fn broken(status: StatusCode, head: Bytes) -> Response {
    let stream = futures::stream::iter([
        Ok::<_, std::io::Error>(head),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection dropped by the fake",
        )),
    ]);
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeServer;
    use crate::{Error, Executor, RetryPolicy, Settings};
    use axum::routing::{get, post};
    use reqwest::Method;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A tiny service: `POST /items` counts an item, `GET /items` says how many.
    async fn service() -> (Harness, FakeServer, Arc<AtomicUsize>) {
        let items = Arc::new(AtomicUsize::new(0));
        let (a, b) = (items.clone(), items.clone());
        let router = axum::Router::new()
            .route(
                "/items",
                post(move || async move {
                    a.fetch_add(1, Ordering::SeqCst);
                    "created, with a body long enough to be cut in half"
                }),
            )
            .route(
                "/items",
                get(move || async move { b.load(Ordering::SeqCst).to_string() }),
            );
        let harness = Harness::new();
        let server = FakeServer::start(harness.mount(router)).await;
        (harness, server, items)
    }

    fn client(retries: usize) -> Executor {
        Executor::new(&Settings::new("test").retry(RetryPolicy::fast(retries))).unwrap()
    }

    fn url(server: &FakeServer) -> url::Url {
        format!("{}/items", server.base_url()).parse().unwrap()
    }

    #[tokio::test]
    async fn fail_next_answers_unprocessed_and_the_get_is_retried() {
        let (harness, server, items) = service().await;
        harness.fail_next(2, 503);
        let exec = client(3);
        let answer = exec
            .send(exec.request(Method::GET, url(&server)))
            .await
            .unwrap();
        assert_eq!(answer.text(), "0");
        assert_eq!(exec.requests_sent(), 3);
        assert_eq!(harness.request_count(), 3);
        harness.fail_next(1, 503);
        let err = exec
            .send(exec.request(Method::POST, url(&server)))
            .await
            .unwrap_err();
        assert_eq!(
            err.http_status(),
            Some(503),
            "a POST is not repeated after a 5xx"
        );
        assert_eq!(items.load(Ordering::SeqCst), 0, "the 503 was not processed");
    }

    #[tokio::test]
    async fn rate_limit_is_429_with_retry_after_and_repeats_a_post() {
        let (harness, server, items) = service().await;
        harness.rate_limit_next(1, 0);
        let exec = client(1);
        exec.send(exec.request(Method::POST, url(&server)))
            .await
            .unwrap();
        assert_eq!(items.load(Ordering::SeqCst), 1);
        harness.rate_limit_next(1, 4);
        let raw = reqwest::get(url(&server)).await.unwrap();
        assert_eq!(raw.status(), 429);
        let err = crate::Response::read_success(raw).await.unwrap_err();
        assert!(
            matches!(err, Error::Status { retry_after: Some(d), .. } if d == Duration::from_secs(4))
        );
    }

    #[tokio::test]
    async fn drops_before_and_after_processing() {
        let (harness, server, items) = service().await;
        let exec = client(0);
        harness.drop_next(1, DropPoint::BeforeProcessing);
        let err = exec
            .send(exec.request(Method::POST, url(&server)))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Transport(_)), "{err:?}");
        assert_eq!(items.load(Ordering::SeqCst), 0);
        harness.drop_next(1, DropPoint::AfterProcessing);
        let err = exec
            .send(exec.request(Method::POST, url(&server)))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Transport(_)), "{err:?}");
        assert_eq!(items.load(Ordering::SeqCst), 1, "processed, then cut");
        // Idempotent requests are repeated past a cut.
        harness.drop_next(1, DropPoint::AfterProcessing);
        let exec = client(1);
        assert_eq!(
            exec.send(exec.request(Method::GET, url(&server)))
                .await
                .unwrap()
                .text(),
            "1"
        );
    }

    #[tokio::test]
    async fn delay_processes_and_a_short_timeout_sees_it() {
        let (harness, server, items) = service().await;
        harness.delay_next(1, Duration::from_millis(300));
        let exec = Executor::new(
            &Settings::new("t")
                .retry(RetryPolicy::none())
                .timeout(Duration::from_millis(50)),
        )
        .unwrap();
        let err = exec
            .send(exec.request(Method::POST, url(&server)))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout(_)), "{err:?}");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            items.load(Ordering::SeqCst),
            1,
            "a delayed request is processed"
        );
    }

    #[tokio::test]
    async fn reply_and_custom_answers_and_the_log() {
        let items = Arc::new(AtomicUsize::new(0));
        let harness = Harness::new().answer_faults_with(|f| match f {
            Fault::Status(s) => {
                Some((StatusCode::from_u16(*s).unwrap(), r#"{"error":"injected"}"#).into_response())
            }
            _ => None,
        });
        let server = FakeServer::start(harness.mount(axum::Router::new())).await;
        harness.fail_next(1, 500);
        harness.reply_next(1, 200, "text/xml", "<result type=\"5\"/>");
        let http = reqwest::Client::new();
        let base = server.base_url();
        let first = http
            .put(format!("{base}/x?a=1"))
            .header("authorization", "Basic eA==")
            .body("one")
            .send()
            .await
            .unwrap();
        assert_eq!(first.status(), 500);
        assert_eq!(first.text().await.unwrap(), r#"{"error":"injected"}"#);
        let second = http.get(format!("{base}/y")).send().await.unwrap();
        assert_eq!(second.headers()["content-type"], "text/xml");
        assert_eq!(second.text().await.unwrap(), "<result type=\"5\"/>");
        assert_eq!(
            http.get(format!("{base}/z")).send().await.unwrap().status(),
            404
        );
        let log = harness.requests();
        assert_eq!(log.len(), 3);
        assert_eq!(
            (log[0].method.as_str(), log[0].path.as_str()),
            ("PUT", "/x")
        );
        assert_eq!(log[0].query.as_deref(), Some("a=1"));
        assert_eq!(log[0].header("authorization"), Some("Basic eA=="));
        assert_eq!(log[0].body_text(), "one");
        harness.record_requests(false);
        http.get(format!("{base}/z")).send().await.unwrap();
        assert_eq!((harness.requests().len(), harness.request_count()), (3, 4));
        harness.clear_requests();
        assert_eq!(harness.request_count(), 0);
        assert_eq!(items.load(Ordering::SeqCst), 0);
    }
}
