//! How Splio answers an injected fault ([`marketing_sync_core::fake::Harness`] queues them and gives
//! each its one meaning; this shapes the unprocessed answers as Splio would send them).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use marketing_sync_core::fake::Fault;
use serde_json::json;

use super::routes::envelope;

/// Splio's answer to [`Fault::Status`] (the error envelope) and [`Fault::RateLimit`]; `None`
/// leaves the others to the harness.
pub(crate) fn render(fault: &Fault) -> Option<Response> {
    match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (status, body) = envelope(status, "fault", "injected", "Injected failure.");
            Some((status, axum::Json(body)).into_response())
        }
        // 429 body and headers as api-evangelist's summary of Splio's rate-limiting page gives
        // them ([E7] in shared/api/splio.md): `{"message":"API rate limit exceeded"}` with
        // `rateLimit-reset`, no `Retry-After`.
        Fault::RateLimit { retry_after_secs } => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("rateLimit-limit", "10".to_string()),
                    ("rateLimit-remaining", "0".to_string()),
                    ("rateLimit-reset", retry_after_secs.to_string()),
                ],
                axum::Json(json!({"message": "API rate limit exceeded"})),
            )
                .into_response(),
        ),
        _ => None,
    }
}
