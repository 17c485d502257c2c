pub mod directo;
pub mod directo_to_smaily;
pub mod proxy;
pub mod sync_bin;

/// The JSON body of a request a fake received (the messaging fake logs raw bytes).
pub fn json_body(request: &messaging_client::fake::ReceivedRequest) -> serde_json::Value {
    serde_json::from_slice(&request.body).unwrap_or_else(|e| {
        panic!(
            "{} {}: the body is not JSON ({e}): {}",
            request.method,
            request.path,
            request.body_text()
        )
    })
}
