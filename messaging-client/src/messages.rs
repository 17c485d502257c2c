//! Plain sends (email, SMS, Viber), what a send answers, and message statuses.

use futures::{StreamExt, TryStreamExt, stream};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Client, Request, Response};
use crate::de;
use crate::error::{Error, Result};

/// Request ids per status request (not a documented limit; keeps URLs short).
pub const STATUS_CHUNK: usize = 100;

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
    /// The recipient's contact id, when the answer names it.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub contact_id: Option<i64>,
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

/// What a plain send (email, SMS, Viber) answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendReceipt {
    /// The per-recipient results: `OK` with a `requestId` to poll, or `ERROR` with the reason.
    Results(Vec<SendResult>),
    /// A 200 whose body was empty, not JSON, or without `results`: the message **was
    /// accepted** (do not send it again), but no request id is known. Look its outcome up by
    /// `externalRequestId` with [`Client::contacts_activity`].
    NoRequestId {
        /// The body as received (lossy UTF-8).
        body: String,
    },
}

impl SendReceipt {
    /// The results (empty for [`SendReceipt::NoRequestId`]).
    pub fn results(&self) -> &[SendResult] {
        match self {
            SendReceipt::Results(r) => r,
            SendReceipt::NoRequestId { .. } => &[],
        }
    }
}

/// The `results` of a send answer, one by one: `None` when the body is empty, not JSON or has
/// no `results` (the send was accepted, its outcome unknown). A row that does not decode is
/// left out (logged), so it never costs the other rows their outcome.
pub(crate) fn send_results(resp: &Response) -> Option<Vec<SendResult>> {
    let Ok(body) = resp.decode::<serde_json::Value>("send response") else {
        if !resp.is_empty() {
            tracing::warn!(body = %resp.text(), "a send was accepted with a body that is not JSON");
        }
        return None;
    };
    let rows = match body.get("results")? {
        serde_json::Value::Array(rows) => rows.clone(),
        serde_json::Value::Null => return None,
        one => vec![one.clone()],
    };
    Some(
        rows.into_iter()
            .filter_map(
                |row| match serde_json::from_value::<SendResult>(row.clone()) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        tracing::warn!(error = %e, %row, "skipping an unreadable send result");
                        None
                    }
                },
            )
            .collect(),
    )
}

fn receipt(resp: Response) -> SendReceipt {
    match send_results(&resp) {
        Some(results) => SendReceipt::Results(results),
        None => SendReceipt::NoRequestId { body: resp.text() },
    }
}

/// A plain email (`POST /v1/message/email`, the `OutgoingEmail` schema; no `campaignId`,
/// which OA does not list).
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
    /// AMP HTML body (`ampHtmlText`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amp_html_text: Option<String>,
    /// Recipient addresses (contacts are created for unknown ones).
    pub emails: Vec<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Your own id for this send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_request_id: Option<String>,
    /// Send the body without Velocity personalisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_personalisation: Option<bool>,
    /// Subscription category keys of the message (`subscriptionsKeys`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_keys: Vec<String>,
    /// Track links (`trackUrls`; the service's default for email: true). Omitted when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_urls: Option<bool>,
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
    /// Your own id for this send (the same for every recipient).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_request_id: Option<String>,
    /// Subscription category keys of the message (`subscriptionsKeys`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_keys: Vec<String>,
    /// Track links (`trackUrls`; the service's default for SMS: false). Omitted when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_urls: Option<bool>,
}

/// A Viber message (`POST /v1/message/viber`, the `OutgoingViber` schema): `text` and
/// `ios_expirity_text` are required, and `phone_numbers` or `group_id`.
///
/// ```
/// let m = messaging_client::ViberMessage {
///     text: "Sale today".into(),
///     ios_expirity_text: "The sale is over".into(),
///     phone_numbers: vec!["380501234567".into()],
///     ..Default::default()
/// };
/// assert!(m.from.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ViberMessage {
    /// Sender name (required when the account has several).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Text.
    pub text: String,
    /// What an iOS user sees when the message arrives after its lifetime (`iosExpirityText`,
    /// spelled so by the service).
    #[serde(rename = "iosExpirityText")]
    pub ios_expirity_text: String,
    /// Phone numbers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<String>,
    /// Send to a segment instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    /// Lifetime in seconds (the service's default is a day).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u32>,
    /// Image URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub img: Option<String>,
    /// Button caption.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// The link behind the image or button.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Your own id for this send (the same for every recipient).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_request_id: Option<String>,
    /// Track links (the service's default: true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_urls: Option<bool>,
    /// Subscription category keys of the message (`subscriptionsKeys`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscriptions_keys: Vec<String>,
}

/// Delivery state of a message, an open set (the reference lists many per channel:
/// `IN_QUEUE`, `UNDELIVERED`, `PENDING`, ...; rely on [`MessageStatus::delivered`] /
/// [`MessageStatus::failed`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeliveryStatus {
    /// `DELIVERED`.
    Delivered,
    /// Any other value, verbatim.
    Other(String),
    /// No status in the answer (absent, empty, or the row was unreadable).
    #[default]
    Unknown,
}

impl<'de> Deserialize<'de> for DeliveryStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = de::string_lenient(d)?;
        Ok(match s.trim() {
            "DELIVERED" => DeliveryStatus::Delivered,
            "" => DeliveryStatus::Unknown,
            other => DeliveryStatus::Other(other.to_owned()),
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
    #[serde(default)]
    pub status: DeliveryStatus,
    /// Delivered to the recipient.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub delivered: bool,
    /// Failed for good.
    #[serde(default, deserialize_with = "de::bool_lenient")]
    pub failed: bool,
}

#[derive(Deserialize)]
struct StatusResults {
    #[serde(default, deserialize_with = "de::one_or_many")]
    results: Vec<serde_json::Value>,
}

/// The status answer: an array of `InstantMessagesStatusDto` in OA (`getInstantMessagesStatus`),
/// one such object in the guide (E2) and dkulyk/esputnik (C5); both are read.
#[derive(Deserialize)]
#[serde(untagged)]
enum StatusResponse {
    One(StatusResults),
    Many(Vec<StatusResults>),
}

impl StatusResponse {
    fn rows(self) -> Vec<serde_json::Value> {
        match self {
            StatusResponse::One(one) => one.results,
            StatusResponse::Many(many) => many.into_iter().flat_map(|r| r.results).collect(),
        }
    }
}

/// One status row; a row that does not decode keeps its `requestId` with an unknown status.
fn status_row(row: serde_json::Value) -> MessageStatus {
    serde_json::from_value(row.clone()).unwrap_or_else(|e| {
        tracing::warn!(error = %e, %row, "an unreadable status row counts as unknown");
        MessageStatus {
            id: None,
            request_id: row
                .get("requestId")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
            status: DeliveryStatus::Unknown,
            delivered: false,
            failed: false,
        }
    })
}

impl Client {
    /// Sends a plain email. **Not idempotent** (retried only on connect failure or 429).
    /// Per-recipient `ERROR` results are returned, not turned into errors; check
    /// [`SendResult::is_ok`]. A 200 without readable results is
    /// [`SendReceipt::NoRequestId`]: the email was accepted; do not send it again.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use messaging_client::{EmailMessage, SendReceipt};
    /// let receipt = client.send_email(&EmailMessage {
    ///     from: "shop@example.com".into(), subject: "Hi".into(), html_text: "<p>Hi</p>".into(),
    ///     emails: vec!["a@example.com".into()], ..Default::default() }).await?;
    /// if let SendReceipt::NoRequestId { .. } = receipt {
    ///     println!("accepted; look the outcome up by externalRequestId");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send_email(&self, message: &EmailMessage) -> Result<SendReceipt> {
        if message.emails.is_empty() {
            return Err(Error::invalid(
                "emails",
                "at least one recipient is required",
            ));
        }
        let req = Request::new(Method::POST, &["v1", "message", "email"]).json(message)?;
        Ok(receipt(self.send(req).await?))
    }

    /// Sends a plain SMS. **Not idempotent** (retried only on connect failure or 429). Answers
    /// as [`send_email`](Self::send_email) does.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use messaging_client::SmsMessage;
    /// client.send_sms(&SmsMessage { from: "SHOP".into(), text: "Hi".into(),
    ///     phone_numbers: vec!["380501234567".into()], ..Default::default() }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_sms(&self, message: &SmsMessage) -> Result<SendReceipt> {
        if message.phone_numbers.is_empty() && message.group_id.is_none() {
            return Err(Error::invalid(
                "phoneNumbers",
                "phone numbers or a group id are required",
            ));
        }
        let req = Request::new(Method::POST, &["v1", "message", "sms"]).json(message)?;
        Ok(receipt(self.send(req).await?))
    }

    /// Sends a Viber message. **Not idempotent** (retried only on connect failure or 429).
    /// Answers as [`send_email`](Self::send_email) does.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use messaging_client::ViberMessage;
    /// client.send_viber(&ViberMessage { text: "Hi".into(), ios_expirity_text: "Expired".into(),
    ///     phone_numbers: vec!["380501234567".into()], ..Default::default() }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_viber(&self, message: &ViberMessage) -> Result<SendReceipt> {
        for (field, value) in [
            ("text", &message.text),
            ("iosExpirityText", &message.ios_expirity_text),
        ] {
            if value.trim().is_empty() {
                return Err(Error::invalid(field, "is required"));
            }
        }
        if message.phone_numbers.is_empty() && message.group_id.is_none() {
            return Err(Error::invalid(
                "phoneNumbers",
                "phone numbers or a group id are required",
            ));
        }
        let req = Request::new(Method::POST, &["v1", "message", "viber"]).json(message)?;
        Ok(receipt(self.send(req).await?))
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
                        .rows()
                        .into_iter()
                        .map(status_row)
                        .collect::<Vec<_>>(),
                )
            })
            .buffered(self.concurrency())
            .try_collect()
            .await?;
        Ok(pages.into_iter().flatten().collect())
    }
}
