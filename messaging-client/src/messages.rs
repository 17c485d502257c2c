//! Sending: prepared messages (`smartsend`), plain email and SMS, and message statuses.

use futures::{StreamExt, TryStreamExt, stream};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::batch::ItemError;
use crate::client::{Client, Request};
use crate::de;
use crate::error::{Error, Result};

/// Maximum recipients per smartsend request.
pub const SMARTSEND_CHUNK: usize = 1000;
/// Request ids per status request (not a documented limit; keeps URLs short).
pub const STATUS_CHUNK: usize = 100;

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
                serde_json::to_string(&SmartSendBody {
                    recipients: part.iter().collect(),
                    email: self.email,
                    from_name: self.from_name.as_deref(),
                    external_request_id: self.external_request_id.as_deref(),
                })
                .unwrap_or_default()
            })
            .collect()
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

/// One entry of a send response's `results`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SendResult {
    /// Always 0 in practice.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub id: Option<i64>,
    /// The recipient's locator.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub locator: Option<String>,
    /// `OK` (queued) or `ERROR`.
    #[serde(default, deserialize_with = "de::string_lenient")]
    pub status: String,
    /// The id to poll with [`Client::message_statuses`].
    #[serde(default, deserialize_with = "de::opt_string")]
    pub request_id: Option<String>,
    /// The error description for `ERROR` results.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub message: Option<String>,
}

impl SendResult {
    /// Whether the service queued this recipient (`status == "OK"`).
    pub fn is_ok(&self) -> bool {
        self.status.eq_ignore_ascii_case("OK")
    }
}

#[derive(Deserialize)]
struct SendResponse {
    #[serde(default, deserialize_with = "de::one_or_many")]
    results: Vec<SendResult>,
}

/// The outcome for one smartsend recipient.
#[derive(Debug, Clone)]
pub struct RecipientOutcome {
    /// Position in [`SmartSend::recipients`].
    pub index: usize,
    /// The recipient's locator, if addressed by locator.
    pub locator: Option<String>,
    /// The recipient's contact id, if addressed by id.
    pub contact_id: Option<i64>,
    /// The `requestId` to poll, or why this recipient was not queued (`ERROR` results carry the
    /// service's message).
    pub result: Result<String, ItemError>,
}

/// A plain email (`POST /v1/message/email`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailMessage {
    /// Sender (`"Name <addr>"` or a bare address).
    pub from: String,
    /// Subject.
    pub subject: String,
    /// HTML body.
    pub html_text: String,
    /// Plain-text body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plain_text: Option<String>,
    /// Recipient addresses (contacts are created for unknown ones).
    pub emails: Vec<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Campaign id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<i64>,
    /// Your own id for this send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_request_id: Option<String>,
    /// Send the body without Velocity personalisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_personalisation: Option<bool>,
}

/// A plain SMS (`POST /v1/message/sms`): `phone_numbers` or `group_id` is required.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsMessage {
    /// Alpha name.
    pub from: String,
    /// Text.
    pub text: String,
    /// Phone numbers, as strings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<String>,
    /// Send to a segment instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// Delivery state of a message, an open set (only `DELIVERED` is documented; rely on
/// [`MessageStatus::delivered`] / [`MessageStatus::failed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// `DELIVERED`.
    Delivered,
    /// Any other value, verbatim.
    Other(String),
}

impl<'de> Deserialize<'de> for DeliveryStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = de::string_lenient(d)?;
        Ok(if s == "DELIVERED" {
            DeliveryStatus::Delivered
        } else {
            DeliveryStatus::Other(s)
        })
    }
}

/// The status of one sent message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MessageStatus {
    /// Message id, if sent.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub id: Option<i64>,
    /// The `requestId` this status is for.
    #[serde(default, deserialize_with = "de::string_lenient")]
    pub request_id: String,
    /// The state.
    pub status: DeliveryStatus,
    /// Delivered to the recipient.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub delivered: bool,
    /// Failed for good.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub failed: bool,
}

#[derive(Deserialize)]
struct StatusResponse {
    #[serde(default, deserialize_with = "de::one_or_many")]
    results: Vec<MessageStatus>,
}

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
    ///         Err(e) => eprintln!("{:?}: {e}", outcome.locator),
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
                let body = SmartSendBody {
                    recipients,
                    email: send.email,
                    from_name: send.from_name.as_deref(),
                    external_request_id: send.external_request_id.as_deref(),
                };
                let res = async {
                    let req = Request::new(
                        Method::POST,
                        &["v1", "message", &message_id.to_string(), "smartsend"],
                    )
                    .json(&body)?
                    .not_idempotent();
                    self.send(req)
                        .await?
                        .decode::<SendResponse>("smartsend response")
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
                Ok(resp) => {
                    for (i, result) in match_results(&indices, &send.recipients, resp.results) {
                        outcomes[i] = Some(outcome(i, &send.recipients[i], result));
                    }
                }
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.expect("every recipient has an outcome"))
            .collect()
    }

    /// Sends a plain email. **Not idempotent** (retried only on connect failure or 429).
    /// Per-recipient `ERROR` results are returned, not turned into errors; check
    /// [`SendResult::is_ok`].
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use messaging_client::EmailMessage;
    /// let results = client.send_email(&EmailMessage {
    ///     from: "shop@example.com".into(), subject: "Hi".into(), html_text: "<p>Hi</p>".into(),
    ///     emails: vec!["a@example.com".into()], ..Default::default() }).await?;
    /// assert!(results.iter().all(|r| r.is_ok()));
    /// # Ok(()) }
    /// ```
    pub async fn send_email(&self, message: &EmailMessage) -> Result<Vec<SendResult>> {
        if message.emails.is_empty() {
            return Err(Error::invalid(
                "emails",
                "at least one recipient is required",
            ));
        }
        let req = Request::new(Method::POST, &["v1", "message", "email"])
            .json(message)?
            .not_idempotent();
        Ok(self
            .send(req)
            .await?
            .decode::<SendResponse>("email send response")?
            .results)
    }

    /// Sends a plain SMS. **Not idempotent** (retried only on connect failure or 429).
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use messaging_client::SmsMessage;
    /// client.send_sms(&SmsMessage { from: "SHOP".into(), text: "Hi".into(),
    ///     phone_numbers: vec!["380501234567".into()], ..Default::default() }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_sms(&self, message: &SmsMessage) -> Result<Vec<SendResult>> {
        if message.phone_numbers.is_empty() && message.group_id.is_none() {
            return Err(Error::invalid(
                "phoneNumbers",
                "phone numbers or a group id are required",
            ));
        }
        let req = Request::new(Method::POST, &["v1", "message", "sms"])
            .json(message)?
            .not_idempotent();
        let resp = self.send(req).await?;
        Ok(resp
            .decode_opt::<SendResponse>("sms send response")?
            .map(|r| r.results)
            .unwrap_or_default())
    }

    /// Statuses of any number of sent messages by `requestId` (chunks of 100, concurrent).
    /// Idempotent (retried).
    ///
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// for s in client.message_statuses(&["8b2e65d9-060b-4c61-bbd7-73c6796fa504"]).await? {
    ///     println!("{}: delivered={} failed={}", s.request_id, s.delivered, s.failed);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn message_statuses<S: AsRef<str>>(
        &self,
        request_ids: &[S],
    ) -> Result<Vec<MessageStatus>> {
        let chunks: Vec<String> = request_ids
            .chunks(STATUS_CHUNK)
            .map(|c| c.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(","))
            .collect();
        let pages: Vec<Vec<MessageStatus>> = stream::iter(chunks)
            .map(|ids| async move {
                let req = Request::new(Method::GET, &["v1", "message", "status"]).query("ids", ids);
                Ok::<_, Error>(
                    self.send(req)
                        .await?
                        .decode::<StatusResponse>("message statuses")?
                        .results,
                )
            })
            .buffered(self.concurrency())
            .try_collect()
            .await?;
        Ok(pages.into_iter().flatten().collect())
    }
}

fn outcome(index: usize, r: &Recipient, result: Result<String, ItemError>) -> RecipientOutcome {
    RecipientOutcome {
        index,
        locator: r.locator.clone(),
        contact_id: r.contact_id,
        result,
    }
}

/// Pairs each sent recipient with its result: by position when the counts match, else by
/// locator. A recipient with no result is reported as rejected, never as success.
fn match_results(
    indices: &[usize],
    recipients: &[Recipient],
    results: Vec<SendResult>,
) -> Vec<(usize, Result<String, ItemError>)> {
    let convert = |r: SendResult| -> Result<String, ItemError> {
        match (r.is_ok(), r.request_id) {
            (true, Some(id)) => Ok(id),
            (true, None) => Err(ItemError::Rejected {
                message: "OK result without a requestId".into(),
            }),
            (false, _) => Err(ItemError::Rejected {
                message: r.message.unwrap_or_else(|| format!("status {}", r.status)),
            }),
        }
    };
    if results.len() == indices.len() {
        return indices
            .iter()
            .copied()
            .zip(results.into_iter().map(convert))
            .collect();
    }
    let mut pool: Vec<Option<SendResult>> = results.into_iter().map(Some).collect();
    indices
        .iter()
        .map(|&i| {
            let locator = recipients[i].locator.as_deref();
            let found = pool
                .iter_mut()
                .find(|slot| {
                    slot.as_ref()
                        .is_some_and(|r| locator.is_some() && r.locator.as_deref() == locator)
                })
                .and_then(Option::take);
            let result = found.map(convert).unwrap_or_else(|| {
                Err(ItemError::Rejected {
                    message: "the service returned no result for this recipient".into(),
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
