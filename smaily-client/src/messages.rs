//! Transactional messages (`message/send.php`, `message/action/log.php`) and the subscriber
//! action log (`history.php`).

use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::answer::Listing;
use crate::client::{Client, Request};
use crate::error::{Error, Result};

/// The sender of a message (`from`): smaily.com/help/api/messages/send-message marks both
/// `email` and `name` required. Without one, the workflow's own sender is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sender {
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
}

impl Sender {
    /// A sender.
    pub fn new(email: impl Into<String>, name: impl Into<String>) -> Self {
        Sender {
            email: email.into(),
            name: name.into(),
        }
    }
}

/// An attachment: a file name and its content, either base64 inline or a public URL (the
/// reference allows one or the other, never both).
///
/// ```
/// use smaily_client::Attachment;
/// let a = Attachment::bytes("File 1.txt", b"test");
/// assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::json!({"content": "dGVzdA==", "filename": "File 1.txt"}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name in the message (required).
    pub filename: String,
    /// Where the content comes from.
    pub source: AttachmentSource,
}

/// The content of an [`Attachment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentSource {
    /// Base64-encoded content (`content`).
    Base64(String),
    /// A public, not password-protected http(s) URL (`url`).
    Url(String),
}

impl Attachment {
    /// An attachment of these bytes (base64-encoded here).
    pub fn bytes(filename: impl Into<String>, content: &[u8]) -> Self {
        use base64::Engine as _;
        Attachment {
            filename: filename.into(),
            source: AttachmentSource::Base64(
                base64::engine::general_purpose::STANDARD.encode(content),
            ),
        }
    }

    /// An attachment Smaily downloads from a public URL.
    pub fn url(filename: impl Into<String>, url: impl Into<String>) -> Self {
        Attachment {
            filename: filename.into(),
            source: AttachmentSource::Url(url.into()),
        }
    }
}

impl Serialize for Attachment {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        match &self.source {
            AttachmentSource::Base64(c) => m.serialize_entry("content", c)?,
            AttachmentSource::Url(u) => m.serialize_entry("url", u)?,
        }
        m.serialize_entry("filename", &self.filename)?;
        m.end()
    }
}

/// A message to send through a workflow (`POST message/send.php`, always JSON).
///
/// ```
/// use smaily_client::{Message, Sender};
/// let m = Message::new(12, ["mari@example.com"])
///     .context("order", "1001")
///     .from(Sender::new("shop@example.com", "Example Shop"));
/// assert_eq!(m.context["order"], "1001");
/// assert_eq!(serde_json::to_value(&m).unwrap()["from"]["name"], "Example Shop");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// The workflow whose sections are sent.
    pub autoresponder_id: u64,
    /// Recipients.
    pub to: Vec<String>,
    /// Sender override (email and name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Sender>,
    /// Reply-To address (sent as `{"email": …}`); default the sender's address.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "reply_to")]
    pub reply_to: Option<String>,
    /// Template context shared by every recipient (values are text).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub context: Map<String, Value>,
    /// Attachments (only if enabled on the account).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

fn reply_to<S: serde::Serializer>(
    email: &Option<String>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct ReplyTo<'a> {
        email: &'a str,
    }
    email.as_deref().map(|email| ReplyTo { email }).serialize(s)
}

impl Message {
    /// A message from workflow `autoresponder_id` to these recipients.
    pub fn new<I, S>(autoresponder_id: u64, to: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Message {
            autoresponder_id,
            to: to.into_iter().map(Into::into).collect(),
            from: None,
            reply_to: None,
            context: Map::new(),
            attachments: Vec::new(),
        }
    }

    /// Adds a context value.
    pub fn context(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.context.insert(key.into(), Value::String(value.into()));
        self
    }

    /// Sets the sender.
    pub fn from(mut self, sender: Sender) -> Self {
        self.from = Some(sender);
        self
    }

    /// Checks what the reference requires before anything is sent.
    fn validate(&self) -> Result<()> {
        if self.to.is_empty() {
            return Err(Error::invalid("to", "at least one recipient is required"));
        }
        if let Some(from) = &self.from {
            if from.email.trim().is_empty() {
                return Err(Error::invalid("from.email", "required"));
            }
            if from.name.trim().is_empty() {
                return Err(Error::invalid("from.name", "required"));
            }
        }
        if self
            .reply_to
            .as_deref()
            .is_some_and(|r| r.trim().is_empty())
        {
            return Err(Error::invalid("reply_to.email", "required"));
        }
        if let Some(i) = self.attachments.iter().position(|a| a.filename.is_empty()) {
            return Err(Error::invalid(
                format!("attachments[{i}].filename"),
                "required",
            ));
        }
        Ok(())
    }
}

/// `{"message_ids": [...]}`: each an unsigned 64-bit id, as a number or a numeric string.
#[derive(Deserialize)]
struct Sent {
    #[serde(default, deserialize_with = "u64_list")]
    message_ids: Vec<u64>,
}

fn u64_list<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<u64>, D::Error> {
    Vec::<Value>::deserialize(d)?
        .iter()
        .map(|v| {
            crate::de::value_to_int(v)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| {
                    serde::de::Error::custom(format!("expected an unsigned 64-bit id, got {v}"))
                })
        })
        .collect()
}

/// Selects rows of an action log: from a sequence id, for one message, or a time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSelector {
    /// `since_seq_id` (0 = from the first row; needs a `limit`; no paging).
    SinceSeqId(u64),
    /// `message_id` (message action log only).
    MessageId(u64),
    /// `start_at` / `end_at` (sent as UNIX seconds, UTC).
    Range {
        /// Start.
        start: Timestamp,
        /// End (not before start: else code 224).
        end: Timestamp,
    },
}

/// How `history.php` multi-value `actions` are sent. Undocumented; the official WordPress
/// plugin (sendsmaily/smaily-wordpress-plugin `includes/Smaily/Client.php` `get_action_log`)
/// sends PHP's `http_build_query` form, the default here. The unofficial docs verified
/// comma-separated values live; an older revision of them used empty brackets.
///
/// ```
/// use smaily_client::{ActionsEncoding, LogQuery};
/// let mut q = LogQuery::since(0, 1_000);
/// q.actions = vec!["optin".into(), "optout".into()]; // actions[0]=optin&actions[1]=optout
/// assert_eq!(q.actions_encoding, ActionsEncoding::Indexed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActionsEncoding {
    /// `actions[0]=click&actions[1]=view`, as the official WordPress plugin sends it (default).
    #[default]
    Indexed,
    /// `actions=click,view` (verified live by the unofficial docs).
    Comma,
    /// `actions[]=click&actions[]=view` (an older revision of the unofficial docs).
    Brackets,
}

/// The actions `history.php` documents (smaily.com/help/api/subscribers-2/subscriber-action-log).
const HISTORY_ACTIONS: [&str; 10] = [
    "bounce",
    "click",
    "complaint",
    "create",
    "delete",
    "modify",
    "optin",
    "optout",
    "send",
    "view",
];

/// A query of the subscriber action log (`GET history.php`) or message action log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// Which rows.
    pub selector: LogSelector,
    /// Rows per page (≤ 10,000).
    pub limit: Option<u32>,
    /// Page index (not with `SinceSeqId`).
    pub page: Option<u32>,
    /// Actions to keep (`bounce`, `click`, `complaint`, `create`, `delete`, `modify`, `optin`,
    /// `optout`, `send`, `view`); empty = all. Subscriber log (`history.php`) only: the
    /// message action log documents no `actions`, and refuses a query that has some.
    pub actions: Vec<String>,
    /// How `actions` are encoded.
    pub actions_encoding: ActionsEncoding,
}

impl LogQuery {
    /// Rows after a sequence id, `limit` at a time.
    pub fn since(seq_id: u64, limit: u32) -> Self {
        LogQuery {
            selector: LogSelector::SinceSeqId(seq_id),
            limit: Some(limit.min(10_000)),
            page: None,
            actions: Vec::new(),
            actions_encoding: ActionsEncoding::Indexed,
        }
    }

    /// Rows in a time range.
    pub fn range(start: Timestamp, end: Timestamp) -> Self {
        LogQuery {
            selector: LogSelector::Range { start, end },
            limit: None,
            page: None,
            actions: Vec::new(),
            actions_encoding: ActionsEncoding::Indexed,
        }
    }

    fn apply(&self, mut req: Request, message_log: bool) -> Result<Request> {
        match &self.selector {
            LogSelector::SinceSeqId(id) => {
                if self.limit.is_none() {
                    return Err(Error::invalid("limit", "since_seq_id requires a limit"));
                }
                if self.page.is_some() {
                    return Err(Error::invalid("offset", "not allowed with since_seq_id"));
                }
                req = req.query("since_seq_id", id);
            }
            LogSelector::MessageId(id) if message_log => req = req.query("message_id", id),
            LogSelector::MessageId(_) => {
                return Err(Error::invalid(
                    "message_id",
                    "only for the message action log",
                ));
            }
            LogSelector::Range { start, end } => {
                if end < start {
                    return Err(Error::invalid("end_at", "end cannot be before start"));
                }
                req = req
                    .query("start_at", start.as_second())
                    .query("end_at", end.as_second());
            }
        }
        req = req
            .query_opt("limit", self.limit.map(|l| l.min(10_000)))
            .query_opt("offset", self.page);
        if !self.actions.is_empty() {
            if message_log {
                return Err(Error::invalid(
                    "actions",
                    "the message action log takes no actions filter (history.php only)",
                ));
            }
            if let Some((i, bad)) = self
                .actions
                .iter()
                .enumerate()
                .find(|(_, a)| !HISTORY_ACTIONS.contains(&a.as_str()))
            {
                return Err(Error::invalid(
                    format!("actions[{i}]"),
                    format!("{bad:?} is not one of {}", HISTORY_ACTIONS.join(", ")),
                ));
            }
            req = match self.actions_encoding {
                ActionsEncoding::Indexed => self
                    .actions
                    .iter()
                    .enumerate()
                    .fold(req, |r, (i, a)| r.query(format!("actions[{i}]"), a)),
                ActionsEncoding::Comma => req.query("actions", self.actions.join(",")),
                ActionsEncoding::Brackets => self
                    .actions
                    .iter()
                    .fold(req, |r, a| r.query("actions[]", a)),
            };
        }
        Ok(req)
    }
}

/// A row of the subscriber action log.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// Sequence id (only when querying by `since_seq_id`).
    #[serde(default, deserialize_with = "crate::de::opt_int::deserialize")]
    pub seq_id: Option<u64>,
    /// Email.
    pub email: String,
    /// When (Tallinn-local on the wire).
    #[serde(default, deserialize_with = "crate::de::opt_time::deserialize")]
    pub time: Option<Zoned>,
    /// Campaign id.
    #[serde(default, deserialize_with = "crate::de::opt_int::deserialize")]
    pub campaign_id: Option<u64>,
    /// Campaign name.
    #[serde(default)]
    pub campaign_name: Option<String>,
    /// Action (`click`, `optout`, ...).
    pub action: String,
    /// Action detail (a URL for clicks, ...), as sent.
    #[serde(default)]
    pub value: Value,
}

/// A row of the message action log.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct MessageAction {
    /// Sequence id.
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub seq_id: u64,
    /// Message id.
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub message_id: u64,
    /// Email.
    pub email: String,
    /// Campaign id.
    #[serde(default, deserialize_with = "crate::de::opt_int::deserialize")]
    pub campaign_id: Option<u64>,
    /// Section id.
    #[serde(default, deserialize_with = "crate::de::opt_int::deserialize")]
    pub section_id: Option<u64>,
    /// `bounce`, `click`, `complaint`, `optout`, `send` or `view`.
    pub action: String,
    /// Detail object, as sent.
    #[serde(default)]
    pub value: Value,
    /// When (RFC 3339).
    #[serde(default, deserialize_with = "crate::de::opt_time::deserialize")]
    pub created_at: Option<Zoned>,
}

impl Client {
    /// Sends a workflow's message to recipients (`POST message/send.php`, always JSON; skips
    /// workflow filters and delays); returns the message ids (unsigned 64-bit: one per section
    /// and recipient). Checked before sending: a recipient, and a sender with both email and
    /// name. **Not idempotent**: retried only when provably not processed.
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// let ids = fake.client()
    ///     .send_message(&smaily_client::Message::new(1, ["mari@example.com"]).context("code", "X1"))
    ///     .await.unwrap();
    /// assert_eq!(ids.len(), 1);
    /// assert_eq!(fake.sent_messages()[0]["context"]["code"], "X1");
    /// # });
    /// ```
    pub async fn send_message(&self, message: &Message) -> Result<Vec<u64>> {
        message.validate()?;
        let body =
            serde_json::to_value(message).map_err(|e| Error::invalid("message", e.to_string()))?;
        let req = Request::post("message/send.php", body).json_only();
        let sent: Sent = self.write(req, "message ids").await?;
        Ok(sent.message_ids)
    }

    /// The message action log (`GET message/action/log.php`; 30 days' retention). Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: smaily_client::Client) -> smaily_client::Result<()> {
    /// use smaily_client::LogQuery;
    /// // Poll from the last sequence id seen, 1,000 rows at a time.
    /// let actions = client.message_log(&LogQuery::since(0, 1_000)).await?;
    /// println!("{} message actions", actions.len());
    /// # Ok(()) }
    /// ```
    pub async fn message_log(&self, query: &LogQuery) -> Result<Listing<MessageAction>> {
        let req = query.apply(Request::get("message/action/log.php"), true)?;
        self.read_list(req, "message actions").await
    }

    /// The subscriber action log (`GET history.php`; 30 days' retention). Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: smaily_client::Client) -> smaily_client::Result<()> {
    /// use smaily_client::LogQuery;
    /// let end = jiff::Timestamp::now();
    /// let start = end - jiff::SignedDuration::from_hours(24);
    /// for entry in client.subscriber_history(&LogQuery::range(start, end)).await? {
    ///     println!("{entry:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn subscriber_history(&self, query: &LogQuery) -> Result<Listing<HistoryEntry>> {
        let req = query.apply(Request::get("history.php"), false)?;
        self.read_list(req, "subscriber actions").await
    }
}
