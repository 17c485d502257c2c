//! Prepared-message sends (`POST /v1/message/{id}/smartsend`): recipients, chunks of 1,000,
//! and matching each result to the recipient it names.

use futures::{StreamExt, stream};
use marketing_sync_core::ItemOutcome;
use reqwest::Method;
use serde::Serialize;

use crate::batch::ItemError;
use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::messages::{SendResult, send_results};

/// Maximum recipients per smartsend request.
pub const SMARTSEND_CHUNK: usize = 1000;

/// A prepared-message send: recipients plus the channel flag.
#[derive(Debug, Clone, PartialEq)]
pub struct SmartSend {
    /// Any number of recipients (sent in chunks of 1,000).
    pub recipients: Vec<Recipient>,
    /// `true` for email, `false` for every other channel.
    pub email: bool,
    /// Sender name only (SMS alpha name); `None` = the name set in the message (sent as `null`).
    pub from_name: Option<String>,
    /// A request-level `externalRequestId`. The reference is unsure whether the service reads
    /// it per recipient ([`Recipient::external_request_id`]) or at the top level; set whichever
    /// your account honours. Omitted when `None`.
    pub external_request_id: Option<String>,
}

/// One smartsend recipient: a locator (email, phone, push token) or a contact id, with its own
/// parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recipient {
    /// Email, phone or device token.
    pub locator: Option<String>,
    /// eSputnik contact id (mobile and web push).
    pub contact_id: Option<i64>,
    /// Per-recipient data for the template, any JSON; sent as the JSON *string* `jsonParam`.
    pub params: Option<serde_json::Value>,
    /// Language of a multi-language message.
    pub language_code: Option<String>,
    /// Your own id for this send (per recipient).
    pub external_request_id: Option<String>,
}

impl Recipient {
    /// A recipient addressed by locator.
    ///
    /// ```
    /// use messaging_client::Recipient;
    /// let r = Recipient::locator("example@mail.com")
    ///     .with_params(serde_json::json!({"discount": "5%"}));
    /// assert_eq!(r.locator.as_deref(), Some("example@mail.com"));
    /// ```
    pub fn locator(locator: impl Into<String>) -> Self {
        Recipient {
            locator: Some(locator.into()),
            ..Default::default()
        }
    }

    /// A recipient addressed by contact id.
    pub fn contact(contact_id: i64) -> Self {
        Recipient {
            contact_id: Some(contact_id),
            ..Default::default()
        }
    }

    /// Sets the per-recipient parameters (use `serde_json::to_value(&your_struct)?` for types).
    pub fn with_params(mut self, params: serde_json::Value) -> Self {
        self.params = Some(params);
        self
    }

    /// Sets the language code.
    pub fn with_language(mut self, code: impl Into<String>) -> Self {
        self.language_code = Some(code.into());
        self
    }

    /// Sets the external request id.
    pub fn with_external_request_id(mut self, id: impl Into<String>) -> Self {
        self.external_request_id = Some(id.into());
        self
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SmartSendBody<'a> {
    recipients: Vec<&'a RecipientBody<'a>>,
    email: bool,
    from_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_request_id: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecipientBody<'a> {
    json_param: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locator: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_request_id: Option<&'a str>,
}

impl SmartSend {
    /// The JSON bodies [`Client::smartsend`] sends for this send: one per chunk of up to
    /// [`SMARTSEND_CHUNK`] of the valid recipients (invalid ones are reported by `smartsend` and
    /// never sent). For dry runs and logs.
    ///
    /// ```
    /// use messaging_client::{Recipient, SmartSend};
    /// let send = SmartSend {
    ///     recipients: vec![Recipient::locator("ann@example.com")
    ///         .with_params(serde_json::json!({"discount": "5%"}))],
    ///     email: true,
    ///     from_name: None,
    ///     external_request_id: None,
    /// };
    /// assert_eq!(
    ///     send.bodies(),
    ///     [r#"{"recipients":[{"jsonParam":"{\"discount\":\"5%\"}","locator":"ann@example.com"}],"email":true,"fromName":null}"#]
    /// );
    /// ```
    pub fn bodies(&self) -> Vec<String> {
        let valid: Vec<RecipientBody<'_>> = self
            .recipients
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.body(i).ok())
            .collect();
        valid
            .chunks(SMARTSEND_CHUNK)
            .map(|part| {
                serde_json::to_string(&self.request_body(part.iter().collect())).unwrap_or_default()
            })
            .collect()
    }

    /// The request body for these recipients (one chunk).
    fn request_body<'a>(&'a self, recipients: Vec<&'a RecipientBody<'a>>) -> SmartSendBody<'a> {
        SmartSendBody {
            recipients,
            email: self.email,
            from_name: self.from_name.as_deref(),
            external_request_id: self.external_request_id.as_deref(),
        }
    }
}

impl Recipient {
    fn body(&self, index: usize) -> Result<RecipientBody<'_>> {
        match (&self.locator, self.contact_id) {
            (None, None) => {
                return Err(Error::invalid(
                    format!("recipients[{index}]"),
                    "needs a locator or a contact id",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    format!("recipients[{index}]"),
                    "has both a locator and a contact id",
                ));
            }
            (Some(l), None) if l.trim().is_empty() => {
                return Err(Error::invalid(
                    format!("recipients[{index}].locator"),
                    "must not be empty",
                ));
            }
            _ => {}
        }
        let json_param = match &self.params {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(serde_json::to_string(v).map_err(|e| {
                Error::invalid(format!("recipients[{index}].jsonParam"), e.to_string())
            })?),
        };
        Ok(RecipientBody {
            json_param,
            locator: self.locator.as_deref(),
            contact_id: self.contact_id,
            language_code: self.language_code.as_deref(),
            external_request_id: self.external_request_id.as_deref(),
        })
    }
}

/// Whom a [`RecipientOutcome`] is about: the recipient's locator and contact id as given (both
/// kept, so an invalid recipient with both or neither is reported as it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientKey {
    /// The recipient's locator, if addressed by locator.
    pub locator: Option<String>,
    /// The recipient's contact id, if addressed by id.
    pub contact_id: Option<i64>,
}

/// The outcome for one smartsend recipient: its position in [`SmartSend::recipients`], its
/// [`RecipientKey`], and the `requestId` to poll or why it was not queued (`ERROR` results
/// carry the service's message).
pub type RecipientOutcome = ItemOutcome<RecipientKey, String, ItemError>;

impl Client {
    /// Sends prepared message `message_id` to any number of recipients, in concurrent chunks of
    /// 1,000. Returns one outcome per recipient, in input order: a `requestId` for queued ones,
    /// [`ItemError::Rejected`] with the service's message for `ERROR` results, and
    /// [`ItemError::Failed`] for invalid recipients (not sent) or failed chunks.
    ///
    /// **Not idempotent**: a chunk is retried only on a connect failure or a 429.
    ///
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use messaging_client::{Recipient, SmartSend};
    /// let send = SmartSend {
    ///     recipients: vec![Recipient::locator("example@mail.com")
    ///         .with_params(serde_json::json!({"discount": "5%"}))],
    ///     email: true,
    ///     from_name: None,
    ///     external_request_id: None,
    /// };
    /// for outcome in client.smartsend(4242, &send).await {
    ///     match outcome.result {
    ///         Ok(request_id) => println!("queued {request_id}"),
    ///         Err(e) => eprintln!("{:?}: {e}", outcome.key.locator),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn smartsend(&self, message_id: i64, send: &SmartSend) -> Vec<RecipientOutcome> {
        let mut outcomes: Vec<Option<RecipientOutcome>> = vec![None; send.recipients.len()];
        let mut valid = Vec::new();
        for (i, r) in send.recipients.iter().enumerate() {
            match r.body(i) {
                Ok(body) => valid.push((i, body)),
                Err(e) => outcomes[i] = Some(outcome(i, r, Err(e.into()))),
            }
        }
        // Chunks are ranges into `valid` (owned, lifetime-free), which keeps this future `Send`.
        let chunks: Vec<std::ops::Range<usize>> = (0..valid.len())
            .step_by(SMARTSEND_CHUNK)
            .map(|start| start..(start + SMARTSEND_CHUNK).min(valid.len()))
            .collect();
        let valid = &valid;
        let results: Vec<_> = stream::iter(chunks)
            .map(move |chunk| async move {
                let part = &valid[chunk];
                let indices: Vec<usize> = part.iter().map(|(i, _)| *i).collect();
                let recipients: Vec<&RecipientBody<'_>> = part.iter().map(|(_, r)| r).collect();
                let body = send.request_body(recipients);
                let res = async {
                    let req = Request::new(
                        Method::POST,
                        &["v1", "message", &message_id.to_string(), "smartsend"],
                    )
                    .json(&body)?;
                    self.send(req).await
                }
                .await;
                (indices, res)
            })
            .buffer_unordered(self.concurrency())
            .collect()
            .await;
        for (indices, res) in results {
            match res {
                Err(e) => {
                    let shared = ItemError::from(e);
                    for i in indices {
                        outcomes[i] = Some(outcome(i, &send.recipients[i], Err(shared.clone())));
                    }
                }
                Ok(resp) => match send_results(&resp) {
                    Some(results) => {
                        for (i, result) in match_results(&indices, &send.recipients, results) {
                            outcomes[i] = Some(outcome(i, &send.recipients[i], result));
                        }
                    }
                    None => {
                        let reason = format!(
                            "the service accepted the send but listed no results (body: {:?})",
                            resp.text().chars().take(200).collect::<String>()
                        );
                        for i in indices {
                            let unknown = ItemError::OutcomeUnknown {
                                reason: reason.clone(),
                            };
                            outcomes[i] = Some(outcome(i, &send.recipients[i], Err(unknown)));
                        }
                    }
                },
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.expect("every recipient has an outcome"))
            .collect()
    }
}

fn outcome(index: usize, r: &Recipient, result: Result<String, ItemError>) -> RecipientOutcome {
    let key = RecipientKey {
        locator: r.locator.clone(),
        contact_id: r.contact_id,
    };
    ItemOutcome::new(index, key, result)
}

/// Whether a result's locator names a recipient's: exactly, ignoring ASCII case, or (for
/// phone numbers) by their digits, since the service may answer in its own normal form.
fn same_locator(result: &str, recipient: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    result.eq_ignore_ascii_case(recipient)
        || (!recipient.contains('@')
            && digits(recipient).len() >= 7
            && digits(result) == digits(recipient))
}

/// Pairs each sent recipient with its result: by `locator`, then by `contactId`. Results that
/// name neither are paired by position with the recipients left, and only when their counts
/// match (logged). A recipient with no result gets [`ItemError::OutcomeUnknown`], never an
/// invented success or failure.
fn match_results(
    indices: &[usize],
    recipients: &[Recipient],
    results: Vec<SendResult>,
) -> Vec<(usize, Result<String, ItemError>)> {
    let convert = |r: SendResult| -> Result<String, ItemError> {
        match (r.is_ok(), r.request_id) {
            (true, Some(id)) => Ok(id),
            (true, None) => Err(ItemError::OutcomeUnknown {
                reason: "an OK result without a requestId".into(),
            }),
            (false, _) => Err(ItemError::Rejected {
                message: r.message.unwrap_or_else(|| format!("status {}", r.status)),
            }),
        }
    };
    let mut slots: Vec<Option<Result<String, ItemError>>> = vec![None; indices.len()];
    let mut unnamed = Vec::new();
    for r in results {
        let recipient = |k: usize| &recipients[indices[k]];
        let free = |k: &usize| slots[*k].is_none();
        let target = match (&r.locator, r.contact_id) {
            (Some(loc), _) => (0..indices.len()).filter(free).find(|&k| {
                recipient(k)
                    .locator
                    .as_deref()
                    .is_some_and(|l| same_locator(loc, l))
            }),
            (None, Some(id)) => (0..indices.len())
                .filter(free)
                .find(|&k| recipient(k).contact_id == Some(id)),
            (None, None) => {
                unnamed.push(r);
                continue;
            }
        };
        match target {
            Some(k) => slots[k] = Some(convert(r)),
            None => tracing::warn!(
                locator = ?r.locator,
                contact_id = ?r.contact_id,
                "a smartsend result names no recipient of its request; ignored"
            ),
        }
    }
    if !unnamed.is_empty() {
        let free: Vec<usize> = (0..indices.len()).filter(|k| slots[*k].is_none()).collect();
        if free.len() == unnamed.len() {
            tracing::warn!(
                results = unnamed.len(),
                "smartsend results name no recipient: matched by position"
            );
            for (k, r) in free.into_iter().zip(unnamed) {
                slots[k] = Some(convert(r));
            }
        } else {
            tracing::warn!(
                results = unnamed.len(),
                recipients = free.len(),
                "smartsend results name no recipient and their count differs: outcomes unknown"
            );
        }
    }
    indices
        .iter()
        .zip(slots)
        .map(|(&i, slot)| {
            let result = slot.unwrap_or_else(|| {
                Err(ItemError::OutcomeUnknown {
                    reason: "the service listed no result for this recipient".into(),
                })
            });
            (i, result)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arb_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            ".*".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(".*", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn json_param_is_a_string_that_parses_back_to_the_params(params in arb_json()) {
            let r = Recipient::locator("a@b.c").with_params(params.clone());
            let body = serde_json::to_value(r.body(0).unwrap()).unwrap();
            match &body["jsonParam"] {
                serde_json::Value::String(s) => {
                    proptest::prop_assert_eq!(serde_json::from_str::<serde_json::Value>(s).unwrap(), params)
                }
                serde_json::Value::Null => proptest::prop_assert!(params.is_null()),
                other => proptest::prop_assert!(false, "jsonParam was {other}"),
            }
        }
    }
}
