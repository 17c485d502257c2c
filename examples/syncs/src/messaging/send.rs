//! `send <message-id> --recipients <file>`: a prepared message to each recipient of a file
//! (`POST /v1/message/{id}/smartsend`, chunks of 1,000).
//!
//! Sends are **not idempotent**, so this job never repeats one on its own:
//!
//! - the client retries a chunk only when the request provably did not reach the service
//!   (connect error, 429); every other failure is parked at once (never retried by the run);
//! - before a batch goes out, its recipients are parked as "in flight, outcome unknown", and
//!   marked delivered when the answer arrives: a run killed mid-send leaves exactly the
//!   recipients whose outcome is unknown parked, never silently re-sent;
//! - a normal run skips recipients already delivered with the same parameters (the snapshot)
//!   and recipients parked as failed (they are listed as filtered with the reason);
//! - `--replay-failed` sends the parked recipients again: check them first with `status` (the
//!   request ids of delivered recipients are written with `--request-ids FILE`).

use std::path::PathBuf;
use std::sync::Mutex;

use marketing_sync_core::count_requests;
use messaging_client::{Recipient, SmartSend};
use serde_json::{Map, Value};

use super::item_error;
use sync_kit::input::{Row, text};
use sync_kit::preview::Preview;
use sync_kit::{Delivery, Item, Outcome, Sink, SourceRecord, StateStore, Verdict};

/// The reason a parked recipient is not sent by a normal run.
pub const PARKED: &str =
    "parked as failed by an earlier run (check it with `status`, then use --replay-failed)";

/// Turns a recipients row into a record. CSV: a `locator` (or `email`) or `contactId` column;
/// `language` (or `languageCode`); every other column is a message parameter. JSON lines:
/// `{"locator": …, "contactId": …, "language": …, "params": {…}}`.
pub fn prepare(row: Row) -> SourceRecord {
    let verdict = match row.fields.and_then(normalise) {
        Ok((key, fields)) => Verdict::Send(vec![Item { key, fields }]),
        Err(reason) => Verdict::Reject(reason),
    };
    SourceRecord {
        id: row.position,
        watermark: None,
        verdict,
    }
}

fn normalise(mut row: Map<String, Value>) -> Result<(String, Map<String, Value>), String> {
    let from_email_column = text(&row, "locator").is_none() && text(&row, "email").is_some();
    let locator = text(&row, "locator").or_else(|| text(&row, "email"));
    let contact_id = match text(&row, "contactId") {
        Some(id) => Some(
            id.parse::<i64>()
                .map_err(|_| format!("invalid contactId: {id:?}"))?,
        ),
        None => None,
    };
    let language = text(&row, "language").or_else(|| text(&row, "languageCode"));
    let mut params = match row.remove("params") {
        Some(Value::Object(p)) => p,
        Some(Value::Null) | None => Map::new(),
        Some(_) => return Err("invalid params: not a JSON object".into()),
    };
    for name in ["locator", "email", "contactId", "language", "languageCode"] {
        row.remove(name);
    }
    params.extend(row);
    let key = match (&locator, contact_id) {
        (Some(l), _) if l.contains('@') || from_email_column => {
            sync_kit::email::check(l).map_err(|reason| format!("{reason}: {l:?}"))?;
            sync_kit::email::key(l)
        }
        (Some(l), _) => l.clone(),
        (None, Some(id)) => format!("contact:{id}"),
        (None, None) => return Err("missing recipient: locator, email or contactId".into()),
    };
    let mut fields = Map::new();
    if let Some(l) = locator {
        fields.insert("locator".into(), l.into());
    }
    if let Some(id) = contact_id {
        fields.insert("contactId".into(), id.into());
    }
    if let Some(lang) = language {
        fields.insert("language".into(), lang.into());
    }
    if !params.is_empty() {
        fields.insert("params".into(), Value::Object(params));
    }
    Ok((key, fields))
}

fn recipient(item: &Item, job: &str) -> Recipient {
    let f = &item.fields;
    Recipient {
        locator: text(f, "locator"),
        contact_id: f.get("contactId").and_then(Value::as_i64),
        params: f.get("params").cloned(),
        language_code: text(f, "language"),
        external_request_id: Some(format!("{job}:{}", item.key)),
        ..Default::default()
    }
}

/// The smartsend of a batch: each item a recipient, `externalRequestId = <job>:<key>`.
fn smartsend(batch: &[Item], job: &str, email: bool) -> SmartSend {
    SmartSend::new(batch.iter().map(|i| recipient(i, job)).collect()).email(email)
}

/// What a dry run prints for a batch: the smartsend bodies [`SendSink`] would send.
pub fn preview(batch: &[Item], job: &str, message_id: i64, email: bool) -> Vec<Preview> {
    let path = format!("/v1/message/{message_id}/smartsend");
    smartsend(batch, job, email)
        .bodies()
        .into_iter()
        .map(|body| Preview::request("POST", path.clone(), body))
        .collect()
}

/// Sends each batch with one smartsend call, parking it as in flight first.
#[derive(Debug)]
pub struct SendSink<'a> {
    /// The client.
    pub client: messaging_client::Client,
    /// The prepared message.
    pub message_id: i64,
    /// Email (`true`) or another channel.
    pub email: bool,
    /// The job (state key).
    pub job: String,
    /// Where in-flight recipients are parked.
    pub state: &'a StateStore,
    /// `key,requestId` lines of delivered recipients, if asked for.
    pub request_ids: Option<Mutex<csv::Writer<std::fs::File>>>,
}

impl<'a> SendSink<'a> {
    /// Opens the `--request-ids` file (appending) if given.
    pub fn request_ids_file(
        path: Option<&PathBuf>,
    ) -> Result<Option<Mutex<csv::Writer<std::fs::File>>>, sync_kit::Error> {
        path.map(|p| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map(|f| Mutex::new(csv::Writer::from_writer(f)))
                .map_err(|e| sync_kit::Error::Config(format!("cannot open {}: {e}", p.display())))
        })
        .transpose()
    }
}

impl Sink for SendSink<'_> {
    async fn deliver(&self, batch: &[Item]) -> Delivery {
        let in_flight: Vec<(Item, String, u32)> = batch
            .iter()
            .map(|i| {
                (
                    i.clone(),
                    "send in flight; outcome unknown (the run stopped before the answer)"
                        .to_owned(),
                    0,
                )
            })
            .collect();
        if let Err(e) = self.state.record_outcomes(&self.job, &[], &in_flight) {
            let reason = format!("not sent: cannot record the send in the state file: {e}");
            return Delivery::all(batch.len(), Outcome::failed(reason, false), 0);
        }
        let send = smartsend(batch, &self.job, self.email);
        // Every attempt, counted where the client sends it.
        let (results, requests) =
            count_requests(self.client.smartsend(self.message_id, &send)).await;
        let mut outcomes =
            vec![Outcome::failed("the client returned no result", false); batch.len()];
        for r in results {
            outcomes[r.index] = match &r.result {
                Ok(request_id) => {
                    if let Some(w) = &self.request_ids {
                        let mut w = w.lock().unwrap_or_else(|e| e.into_inner());
                        let _ = w.write_record([batch[r.index].key.as_str(), request_id]);
                        let _ = w.flush();
                    }
                    Outcome::Delivered
                }
                // Never retried by the runner: the client already retried what provably did
                // not arrive; anything else may have been sent.
                Err(e) => match item_error(e) {
                    Outcome::Failed { error, .. } => Outcome::failed(error, false),
                    delivered => delivered,
                },
            };
        }
        Delivery { outcomes, requests }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_columns_become_params() {
        let mut row = Map::new();
        row.insert("email".into(), "A@Example.com".into());
        row.insert("discount".into(), "5%".into());
        row.insert("language".into(), "et".into());
        let (key, fields) = normalise(row).unwrap();
        assert_eq!(key, "a@example.com");
        assert_eq!(fields["params"]["discount"], "5%");
        assert_eq!(fields["language"], "et");
        assert!(
            normalise(Map::new())
                .unwrap_err()
                .starts_with("missing recipient")
        );
    }
}
