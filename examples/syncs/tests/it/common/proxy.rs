//! A loopback HTTP proxy that injects faults in front of a fake: every `fail_every`-th request
//! gets an HTTP 500 without reaching the upstream, and every request can be delayed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Request, Response, StatusCode};

/// Fault settings, changeable while the proxy runs.
#[derive(Debug, Default)]
pub struct Faults {
    /// Fail one request in this many (0 = never). 5 means a 20% error rate.
    pub fail_every: AtomicU64,
    /// Delay every request by this many milliseconds.
    pub delay_ms: AtomicU64,
    /// Requests seen.
    pub seen: AtomicU64,
    /// Requests answered with the injected 500.
    pub failed: AtomicU64,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    faults: Arc<Faults>,
}

/// A running proxy.
pub struct Proxy {
    pub url: String,
    pub faults: Arc<Faults>,
}

pub async fn start(upstream: &str) -> Proxy {
    let faults = Arc::new(Faults::default());
    let shared = Arc::new(Shared {
        upstream: upstream.trim_end_matches('/').to_owned(),
        http: reqwest::Client::new(),
        faults: faults.clone(),
    });
    let app = axum::Router::new().fallback(forward).with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Proxy { url, faults }
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response<Body> {
    let faults = &shared.faults;
    let n = faults.seen.fetch_add(1, Ordering::SeqCst) + 1;
    let delay = faults.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let every = faults.fail_every.load(Ordering::SeqCst);
    if every > 0 && n % every == 0 {
        faults.failed.fetch_add(1, Ordering::SeqCst);
        return Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body(Body::from("injected failure"))
            .unwrap();
    }
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut outgoing = shared
        .http
        .request(parts.method.clone(), format!("{}{}", shared.upstream, path))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            outgoing = outgoing.header(name, value);
        }
    }
    match outgoing.send().await {
        Ok(upstream) => {
            let mut response = Response::builder().status(upstream.status());
            for (name, value) in upstream.headers() {
                if name != "content-length" && name != "transfer-encoding" {
                    response = response.header(name, value);
                }
            }
            let bytes = upstream.bytes().await.unwrap_or_default();
            response.body(Body::from(bytes)).unwrap()
        }
        Err(e) => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::from(e.to_string()))
            .unwrap(),
    }
}
