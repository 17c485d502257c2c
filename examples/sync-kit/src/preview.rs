//! What a dry run prints instead of sending: every request (or file upload) a real run would
//! make, exactly as it would go on the wire, one JSON line each with its `"kind"` (a `--json`
//! summary line after them has `"kind": "summary"`).
//!
//! ```
//! use sync_kit::preview::Preview;
//! let p = Preview::request("POST", "/v1/orders", r#"{"orders":[{"totalCost":10.50}]}"#.into());
//! assert_eq!(
//!     serde_json::to_string(&p).unwrap(),
//!     r#"{"kind":"request","method":"POST","path":"/v1/orders","body":{"orders":[{"totalCost":10.50}]}}"#
//! );
//! ```

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::{Delivery, Item, Outcome, Sink};

/// One thing a real run would send.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Preview {
    /// An HTTP request: its method, its path as the service's reference writes it, and its JSON
    /// body byte for byte (money keeps its digits).
    Request {
        /// `POST`, `PATCH`, …
        method: &'static str,
        /// `/api/contact.php`, `/v1/orders`, `/data/contacts/bulk`, …
        path: String,
        /// The body, as sent.
        body: Box<RawValue>,
    },
    /// A file uploaded over SFTP: its remote path and its content.
    Upload {
        /// Where the file goes.
        path: String,
        /// What it holds.
        content: String,
    },
    /// The items of a batch, for a sink that does not say what it sends.
    Batch {
        /// Each item's fields.
        items: Vec<Map<String, Value>>,
    },
}

impl Preview {
    /// A request whose body is the JSON text `body` (as the client serialised it).
    pub fn request(method: &'static str, path: impl Into<String>, body: String) -> Self {
        let body = RawValue::from_string(body).unwrap_or_else(|e| {
            RawValue::from_string(Value::from(e.to_string()).to_string())
                .expect("a JSON string is JSON")
        });
        Preview::Request {
            method,
            path: path.into(),
            body,
        }
    }

    /// A request whose body is `body` serialised as JSON.
    pub fn json(method: &'static str, path: impl Into<String>, body: &impl Serialize) -> Self {
        let text =
            serde_json::to_string(body).unwrap_or_else(|e| Value::from(e.to_string()).to_string());
        Self::request(method, path, text)
    }

    /// The batch's items as they are.
    pub fn batch(batch: &[Item]) -> Self {
        Preview::Batch {
            items: batch.iter().map(|i| i.fields.clone()).collect(),
        }
    }

    /// Whether this is something sent (a request or an upload), for the request count.
    pub fn is_sent(&self) -> bool {
        !matches!(self, Preview::Batch { .. })
    }
}

/// The sink of a dry run, which needs no connection and no credentials: its previews come from
/// `F` and nothing is delivered (the runner never delivers in a dry run).
///
/// ```
/// use sync_kit::preview::{DryRun, Preview};
/// use sync_kit::Sink;
/// let sink = DryRun(|batch: &[sync_kit::Item]| vec![Preview::json("POST", "/x", &batch.len())]);
/// assert_eq!(sink.preview(&[]).len(), 1);
/// ```
#[derive(Debug)]
pub struct DryRun<F>(pub F);

impl<F> Sink for DryRun<F>
where
    F: Fn(&[Item]) -> Vec<Preview> + Sync,
{
    async fn deliver(&self, batch: &[Item]) -> Delivery {
        Delivery::all(
            batch.len(),
            Outcome::failed("a dry run delivers nothing", false),
            0,
        )
    }

    fn preview(&self, batch: &[Item]) -> Vec<Preview> {
        (self.0)(batch)
    }
}
