//! Fault injection: what the next requests get instead of (or before) a normal answer.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::routes::envelope;

/// One injected fault, consumed by one request.
#[derive(Clone, Debug)]
pub(crate) enum Fault {
    /// Answer with this status and the error envelope.
    Status(u16),
    /// Send the headers, then cut the body off (the request is not applied).
    Drop,
    /// `429` with `rateLimit-reset` set to this many seconds.
    RateLimit(u64),
    /// Wait this long, then answer normally.
    Delay(Duration),
}

/// The answer a fault replaces the normal one with, or `None` when the request goes on (after
/// waiting, for [`Fault::Delay`]).
pub(crate) async fn answer(fault: Option<Fault>) -> Option<Response> {
    match fault? {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (status, body) = envelope(status, "fault", "injected", "Injected failure.");
            Some((status, axum::Json(body)).into_response())
        }
        // 429 body and headers as api-evangelist's summary of Splio's rate-limiting page gives
        // them ([E7] in shared/api/splio.md): `{"message":"API rate limit exceeded"}`.
        Fault::RateLimit(reset) => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("rateLimit-limit", "10".to_string()),
                    ("rateLimit-remaining", "0".to_string()),
                    ("rateLimit-reset", reset.to_string()),
                ],
                axum::Json(json!({"message": "API rate limit exceeded"})),
            )
                .into_response(),
        ),
        Fault::Drop => {
            let broken = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "fake: connection dropped",
                ))
            });
            Some((StatusCode::OK, axum::body::Body::from_stream(broken)).into_response())
        }
        Fault::Delay(d) => {
            tokio::time::sleep(d).await;
            None
        }
    }
}
