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

impl SmartSend {
    /// An email send to these recipients, with the sender name set in the message and no
    /// request-level `externalRequestId`; change any of that with the setters below.
    ///
    /// ```
    /// use messaging_client::{Recipient, SmartSend};
    /// let sms = SmartSend::new(vec![Recipient::locator("+380501234567")])
    ///     .email(false)
    ///     .from_name("Shop")
    ///     .external_request_id("promo-7");
    /// assert!(!sms.email);
    /// assert_eq!(sms.from_name.as_deref(), Some("Shop"));
    /// assert!(SmartSend::new(vec![Recipient::locator("a@example.com")]).email);
    /// ```
    pub fn new(recipients: Vec<Recipient>) -> Self {
        SmartSend {
            recipients,
            email: true,
            from_name: None,
            external_request_id: None,
        }
    }

    /// `true` (the default) for an email message, `false` for every other channel (SMS,
    /// Viber, push…).
    pub fn email(mut self, email: bool) -> Self {
        self.email = email;
        self
    }

    /// The sender name (SMS alpha name); unset, the name set in the message is used.
    pub fn from_name(mut self, name: impl Into<String>) -> Self {
        self.from_name = Some(name.into());
        self
    }

    /// A request-level `externalRequestId` (see [`SmartSend::external_request_id`]).
    pub fn external_request_id(mut self, id: impl Into<String>) -> Self {
        self.external_request_id = Some(id.into());
        self
    }
}

/// One smartsend recipient: a locator (email, phone, push token) or a contact id, with its own
/// parameters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recipient {
    /// Email, phone or device token.
    pub locator: Option<String>,
    /// eSputnik contact id (mobile and web push).
    pub contact_id: Option<i64>,
    /// Your customer id (`externalCustomerId`, OA `ParametrizedLocator`).
    pub external_customer_id: Option<String>,
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

    /// A recipient addressed by your customer id (`externalCustomerId`).
    ///
    /// ```
    /// let r = messaging_client::Recipient::external_customer("C-7");
    /// assert_eq!(r.external_customer_id.as_deref(), Some("C-7"));
    /// ```
    pub fn external_customer(external_customer_id: impl Into<String>) -> Self {
        Recipient {
            external_customer_id: Some(external_customer_id.into()),
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
    external_customer_id: Option<&'a str>,
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
    /// let send = SmartSend::new(vec![Recipient::locator("ann@example.com")
    ///     .with_params(serde_json::json!({"discount": "5%"}))]);
    /// assert_eq!(
    ///     send.bodies(),
    ///     [r#"{"recipients":[{"jsonParam":"{\"discount\":\"5%\"}","locator":"ann@example.com"}],"email":true,"fromName":null}"#]
    /// );
    /// ```
    pub fn bodies(&self) -> Vec<String> {
        let valid: Vec<RecipientBody<'_>> =
            self.checked().0.into_iter().map(|(_, body)| body).collect();
        valid
            .chunks(SMARTSEND_CHUNK)
            .map(|part| {
                serde_json::to_string(&self.request_body(part.iter().collect())).unwrap_or_default()
            })
            .collect()
    }

    /// The recipients that can be sent, with their positions, and why the others cannot: no
    /// identifier or several, or an exact repeat of an earlier recipient (OA `uniqueItems`
    /// would refuse the whole request).
    #[allow(clippy::type_complexity)]
    fn checked(&self) -> (Vec<(usize, RecipientBody<'_>)>, Vec<(usize, Error)>) {
        let mut valid = Vec::new();
        let mut invalid = Vec::new();
        // Each valid recipient's JSON, to find an exact repeat in one pass.
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (i, r) in self.recipients.iter().enumerate() {
            let checked = r.body(i).and_then(|body| {
                let json = serde_json::to_string(&body)
                    .map_err(|e| Error::invalid(format!("recipients[{i}]"), e.to_string()))?;
                match seen.get(&json) {
                    Some(k) => Err(Error::invalid(
                        format!("recipients[{i}]"),
                        format!("repeats recipients[{k}] (OA: recipients are uniqueItems)"),
                    )),
                    None => {
                        seen.insert(json, i);
                        Ok(body)
                    }
                }
            });
            match checked {
                Ok(body) => valid.push((i, body)),
                Err(e) => invalid.push((i, e)),
            }
        }
        (valid, invalid)
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
        // OA `ParametrizedLocator`: `locator`, `contactId` or `externalCustomerId`, each
        // "required if" the others are not given; one of them, so results can be matched.
        let named = [
            self.locator.is_some(),
            self.contact_id.is_some(),
            self.external_customer_id.is_some(),
        ]
        .into_iter()
        .filter(|n| *n)
        .count();
        if named != 1 {
            return Err(Error::invalid(
                format!("recipients[{index}]"),
                "needs exactly one of a locator, a contact id or an external customer id",
            ));
        }
        for (name, value) in [
            ("locator", &self.locator),
            ("externalCustomerId", &self.external_customer_id),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(Error::invalid(
                    format!("recipients[{index}].{name}"),
                    "must not be empty",
                ));
            }
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
            external_customer_id: self.external_customer_id.as_deref(),
            language_code: self.language_code.as_deref(),
            external_request_id: self.external_request_id.as_deref(),
        })
    }
}

/// Whom a [`RecipientOutcome`] is about: the recipient's locator, contact id and external
/// customer id as given (all kept, so an invalid recipient is reported as it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientKey {
    /// The recipient's locator, if addressed by locator.
    pub locator: Option<String>,
    /// The recipient's contact id, if addressed by id.
    pub contact_id: Option<i64>,
    /// The recipient's external customer id, if addressed by it.
    pub external_customer_id: Option<String>,
}

/// The outcome for one smartsend recipient: its position in [`SmartSend::recipients`], its
/// [`RecipientKey`], and the `requestId` to poll or why it was not queued (`ERROR` results
/// carry the service's message).
pub type RecipientOutcome = ItemOutcome<RecipientKey, String, ItemError>;

impl Client {
    /// Sends prepared message `message_id` to any number of recipients, in concurrent chunks of
    /// 1,000. Returns one outcome per recipient, in input order: a `requestId` for queued ones,
    /// [`ItemError::Rejected`] with the service's message for `ERROR` results, and
    /// [`ItemError::Failed`] for invalid recipients (not sent: no identifier, several, or a
    /// repeat of an earlier recipient, which OA's `uniqueItems` would refuse with the whole
    /// request) or failed chunks.
    ///
    /// Results name the locator the service sent to (OA `SendMessageResultDto.locator`): for a
    /// recipient addressed by contact id or external customer id that is its email, phone or
    /// device token, never the id. Such recipients are matched by reading the contact
    /// (`GET /v1/contact/{id}`, or the search by `externalCustomerId`) and comparing its
    /// channels; a contact with several devices gets several results, and its outcome is the
    /// first `OK` one (else the first `ERROR`). A recipient no result names, or whose result is
    /// neither `OK` nor `ERROR`, is [`ItemError::OutcomeUnknown`].
    ///
    /// **Not idempotent**: a chunk is retried only on a connect failure or a 429. A chunk sent
    /// whose answer was lost (a cut connection, a timeout) gives every one of its recipients
    /// [`ItemError::OutcomeUnknown`]: the messages may have gone out.
    ///
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use messaging_client::{Recipient, SmartSend};
    /// let send = SmartSend::new(vec![
    ///     Recipient::locator("example@mail.com").with_params(serde_json::json!({"discount": "5%"})),
    ///     Recipient::contact(449790707),
    /// ]);
    /// for outcome in client.smartsend(4242, &send).await {
    ///     match outcome.result {
    ///         Ok(request_id) => println!("queued {request_id}"),
    ///         Err(e) => eprintln!("{:?}: {e}", outcome.key),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    #[must_use = "each recipient's outcome says whether the message was queued; an unknown one must not be resent blindly"]
    pub async fn smartsend(&self, message_id: i64, send: &SmartSend) -> Vec<RecipientOutcome> {
        let mut outcomes: Vec<Option<RecipientOutcome>> = vec![None; send.recipients.len()];
        let (valid, invalid) = send.checked();
        for (i, e) in invalid {
            outcomes[i] = Some(outcome(i, &send.recipients[i], Err(e.into())));
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
                let matched = match res {
                    Err(e) => Err(e),
                    Ok(resp) => match send_results(&resp) {
                        Some(results) => Ok(self
                            .match_results(&indices, &send.recipients, results)
                            .await),
                        None => Ok(no_results(&indices, &resp.text())),
                    },
                };
                (indices, matched)
            })
            .buffer_unordered(self.concurrency())
            .collect()
            .await;
        for (indices, matched) in results {
            match matched {
                Err(e) => {
                    let shared = ItemError::from(e);
                    for i in indices {
                        outcomes[i] = Some(outcome(i, &send.recipients[i], Err(shared.clone())));
                    }
                }
                Ok(matched) => {
                    for (i, result) in matched {
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

    /// Matches a chunk's results to its recipients: by locator, then (for recipients addressed
    /// by id) by the channels of the contact the id names; by position only when no result
    /// names anyone and the counts agree.
    async fn match_results(
        &self,
        indices: &[usize],
        recipients: &[Recipient],
        results: Vec<SendResult>,
    ) -> Vec<(usize, Result<String, ItemError>)> {
        let recipient = |k: usize| &recipients[indices[k]];
        let mut slots: Vec<Vec<SendResult>> = vec![Vec::new(); indices.len()];
        let all_unnamed = results
            .iter()
            .all(|r| r.locator.is_none() && r.contact_id.is_none());
        if all_unnamed && results.len() == indices.len() {
            tracing::warn!(
                results = results.len(),
                "smartsend results name no recipient: matched by position"
            );
            for (slot, r) in slots.iter_mut().zip(results) {
                slot.push(r);
            }
            return settle(indices, slots);
        }
        let mut left = Vec::new();
        for r in results {
            let target = match (&r.locator, r.contact_id) {
                (Some(loc), _) => (0..indices.len()).find(|&k| {
                    slots[k].is_empty()
                        && recipient(k)
                            .locator
                            .as_deref()
                            .is_some_and(|l| same_locator(loc, l))
                }),
                (None, Some(id)) => (0..indices.len())
                    .find(|&k| slots[k].is_empty() && recipient(k).contact_id == Some(id)),
                (None, None) => None,
            };
            match target {
                Some(k) => slots[k].push(r),
                None => left.push(r),
            }
        }
        // Recipients addressed by id whose results came back under a channel value.
        let by_id: Vec<usize> = (0..indices.len())
            .filter(|&k| slots[k].is_empty() && recipient(k).locator.is_none())
            .collect();
        let mut lookup_failed: Vec<(usize, String)> = Vec::new();
        if !by_id.is_empty() && left.iter().any(|r| r.locator.is_some()) {
            // Read the contacts concurrently (idempotent GETs), then match in input order.
            let looked_up: Vec<(usize, std::result::Result<Vec<String>, String>)> =
                stream::iter(by_id)
                    .map(|k| async move { (k, self.channel_values(recipient(k)).await) })
                    .buffered(self.concurrency())
                    .collect()
                    .await;
            for (k, values) in looked_up {
                match values {
                    Ok(values) => {
                        let (mine, rest): (Vec<SendResult>, Vec<SendResult>) =
                            left.into_iter().partition(|r| {
                                r.locator
                                    .as_deref()
                                    .is_some_and(|loc| values.iter().any(|v| same_locator(loc, v)))
                            });
                        slots[k] = mine;
                        left = rest;
                    }
                    Err(reason) => lookup_failed.push((k, reason)),
                }
            }
        }
        if !left.is_empty() {
            tracing::warn!(
                results = left.len(),
                "smartsend results name no recipient of their request; ignored"
            );
        }
        let mut settled = settle(indices, slots);
        for (k, reason) in lookup_failed {
            settled[k].1 = Err(ItemError::OutcomeUnknown {
                reason: format!(
                    "the results name channels, and reading the contact failed: {reason}"
                ),
            });
        }
        settled
    }

    /// The channel values (email, phone, tokens) of the contact a recipient names by id.
    async fn channel_values(&self, r: &Recipient) -> std::result::Result<Vec<String>, String> {
        use futures::TryStreamExt;
        let contact = if let Some(id) = r.contact_id {
            self.get_contact(id).await.map_err(|e| e.to_string())?
        } else if let Some(ext) = &r.external_customer_id {
            let query = crate::ContactQuery {
                external_customer_id: Some(ext.clone()),
                ..Default::default()
            };
            let found: Vec<crate::Contact> = self
                .search_contacts(&query)
                .try_filter(|c| {
                    std::future::ready(c.external_customer_id.as_deref() == Some(ext.as_str()))
                })
                .take(2)
                .try_collect()
                .await
                .map_err(|e| e.to_string())?;
            match found.len() {
                1 => found.into_iter().next(),
                0 => None,
                _ => return Err(format!("several contacts have externalCustomerId {ext:?}")),
            }
        } else {
            None
        };
        let contact = contact.ok_or_else(|| "no such contact".to_string())?;
        Ok(contact.channels.into_iter().map(|c| c.value).collect())
    }
}

/// Every recipient of a chunk whose 200 listed no results: outcome unknown.
fn no_results(indices: &[usize], body: &str) -> Vec<(usize, Result<String, ItemError>)> {
    let reason = format!(
        "the service accepted the send but listed no results (body: {:?})",
        body.chars().take(200).collect::<String>()
    );
    indices
        .iter()
        .map(|&i| {
            (
                i,
                Err(ItemError::OutcomeUnknown {
                    reason: reason.clone(),
                }),
            )
        })
        .collect()
}

fn outcome(index: usize, r: &Recipient, result: Result<String, ItemError>) -> RecipientOutcome {
    let key = RecipientKey {
        locator: r.locator.clone(),
        contact_id: r.contact_id,
        external_customer_id: r.external_customer_id.clone(),
    };
    ItemOutcome::new(index, key, result)
}

fn same_locator(result: &str, recipient: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    result.eq_ignore_ascii_case(recipient)
        || (!recipient.contains('@')
            && digits(recipient).len() >= 7
            && digits(result) == digits(recipient))
}

/// Each recipient's outcome from the results matched to it: the first `OK` (its `requestId`),
/// else the first `ERROR`, else unknown.
fn settle(
    indices: &[usize],
    slots: Vec<Vec<SendResult>>,
) -> Vec<(usize, Result<String, ItemError>)> {
    indices
        .iter()
        .zip(slots)
        .map(|(&i, mut mine)| {
            // `OK` (queued) or `ERROR` (refused), the only two statuses [E3].
            let is_error = |r: &SendResult| r.status.eq_ignore_ascii_case("ERROR");
            let chosen = mine
                .iter()
                .position(SendResult::is_ok)
                .or_else(|| mine.iter().position(is_error))
                .map(|p| mine.swap_remove(p))
                .or_else(|| mine.into_iter().next());
            let result = match chosen {
                None => Err(ItemError::OutcomeUnknown {
                    reason: "the service listed no result for this recipient".into(),
                }),
                Some(r) if r.is_ok() => match r.request_id {
                    Some(id) => Ok(id),
                    None => Err(ItemError::OutcomeUnknown {
                        reason: "an OK result without a requestId".into(),
                    }),
                },
                Some(r) if is_error(&r) => Err(ItemError::Rejected {
                    message: r.message.unwrap_or_else(|| format!("status {}", r.status)),
                }),
                // Neither queued nor refused: the message may have gone out.
                Some(r) => Err(ItemError::OutcomeUnknown {
                    reason: format!("a result with status {:?}, neither OK nor ERROR", r.status),
                }),
            };
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
