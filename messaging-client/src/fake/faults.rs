//! Injected faults: a status, a 429, or a connection dropped mid-response.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;

use super::http::text;

/// One injected fault, used by the next request.
#[derive(Debug, Clone)]
pub(super) enum Fault {
    Status(u16),
    RateLimit(Option<u64>),
    Drop,
}

impl Fault {
    /// The response the fault answers with (the request is not processed).
    pub(super) fn respond(self) -> Response {
        match self {
            Fault::Status(status) => text(status, "injected failure"),
            Fault::RateLimit(after) => {
                // The service's 429 text [docs.reteno.com contactsbulkupdate-1].
                let mut r = text(
                    429,
                    "Too many requests: More than 200 requests per 1 second",
                );
                if let Some(secs) = after {
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                r
            }
            Fault::Drop => {
                let broken = futures::stream::once(async {
                    Err::<Bytes, std::io::Error>(std::io::Error::other("dropped"))
                });
                Response::new(Body::from_stream(broken))
            }
        }
    }
}
