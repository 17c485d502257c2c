//! Contact activity (`GET /v2/contacts/activity`): what became of each message sent to a
//! contact (delivered, read, clicked, ...), with the `externalRequestId` it was sent with.
//!
//! Source: the Yespo OpenAPI (`contactActivity`, `ContactActivity`). Paging follows the
//! documented `offset` ("Last found contact activity offset in previous search results").

use futures::{Stream, TryStreamExt, stream};
use reqwest::Method;
use serde::Deserialize;

use crate::client::{Client, Request};
use crate::de;
use crate::error::{Error, Result};

/// Entries per request by default (the service's default is 25,000; a production integration
/// reads at most 1,000 at a time, reference C9).
pub const ACTIVITY_PAGE: u32 = 1000;
/// The largest `maxrows` accepted (the service's documented default).
pub const MAX_ACTIVITY_PAGE: u32 = 25_000;

/// Filters of a contact activity read.
///
/// `from` and `to` carry no offset: the service reads them in the API user's time zone
/// [esputnik.com/api: "If no offset is given, the timezone of the user who sends the request is
/// used"]. They are sent as `YYYY-MM-DDTHH:MM:SS`.
///
/// ```
/// use messaging_client::ActivityQuery;
/// let q = ActivityQuery {
///     activity_status: Some("UNDELIVERED".into()),
///     ..ActivityQuery::new("2024-03-01T00:00:00".parse().unwrap(), "2024-03-01T23:59:59".parse().unwrap())
/// };
/// assert_eq!(q.page_size, messaging_client::ACTIVITY_PAGE);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityQuery {
    /// Start of the period (`dateFrom`).
    pub from: jiff::civil::DateTime,
    /// End of the period (`dateTo`).
    pub to: jiff::civil::DateTime,
    /// `email`.
    pub email: Option<String>,
    /// `sms`: the contact's phone number.
    pub sms: Option<String>,
    /// `webPushToken`.
    pub web_push_token: Option<String>,
    /// `mobPushToken`.
    pub mob_push_token: Option<String>,
    /// `messageTag`.
    pub message_tag: Option<String>,
    /// `activityStatus`: `DELIVERED`, `UNDELIVERED`, `READ`, `UNSUBSCRIBED`, `CLICKED`, `SPAM`.
    pub activity_status: Option<String>,
    /// Entries per request (`maxrows`, 1..=25,000; default [`ACTIVITY_PAGE`]).
    pub page_size: u32,
}

impl ActivityQuery {
    /// Every activity from `from` to `to`.
    pub fn new(from: jiff::civil::DateTime, to: jiff::civil::DateTime) -> Self {
        ActivityQuery {
            from,
            to,
            email: None,
            sms: None,
            web_push_token: None,
            mob_push_token: None,
            message_tag: None,
            activity_status: None,
            page_size: ACTIVITY_PAGE,
        }
    }

    fn check(&self) -> Result<()> {
        if !(1..=MAX_ACTIVITY_PAGE).contains(&self.page_size) {
            return Err(Error::invalid(
                "maxrows",
                format!("{} is outside 1..=25000", self.page_size),
            ));
        }
        if self.from > self.to {
            return Err(Error::invalid("dateFrom", "must not be after dateTo"));
        }
        Ok(())
    }
}

/// One activity entry. Every field is optional and kept verbatim where the reference gives no
/// closed set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContactActivity {
    /// The sent message's id.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub iid: Option<String>,
    /// The `externalRequestId` the message was sent with.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub external_request_id: Option<String>,
    /// The contact's id.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub contact_id: Option<i64>,
    /// The contact's `externalCustomerId`.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub external_customer_id: Option<String>,
    /// The contact's email.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub email: Option<String>,
    /// The contact's phone number.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub sms: Option<String>,
    /// Web push token.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub web_push_token: Option<String>,
    /// Mobile push token.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub mob_push_token: Option<String>,
    /// `email`, `sms`, `viber`, `mobilepush`, `webpush`, `appinbox`, `widget`, `inapp`,
    /// `telegrambot`.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub media_type: Option<String>,
    /// `DELIVERED`, `UNDELIVERED`, `READ`, `UNSUBSCRIBED`, `SUBSCRIPTION_CHANGED`, `CLICKED`,
    /// `SPAM`.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub activity_status: Option<String>,
    /// Why an `UNDELIVERED` message was not delivered.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub status_description: Option<String>,
    /// The message's id.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub message_id: Option<i64>,
    /// The message instance's id.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub message_instance_id: Option<i64>,
    /// The message's name.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub message_name: Option<String>,
    /// The message's tag.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub message_tag: Option<String>,
    /// When it happened, verbatim.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub activity_date_time: Option<String>,
    /// The link clicked.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub click_event_link: Option<String>,
    /// The broadcast's id.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub broadcast_id: Option<i64>,
    /// The workflow's id.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub workflow_id: Option<i64>,
    /// The sender.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub from: Option<String>,
    /// Where the next page starts (the client pages with it).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub offset: Option<String>,
}

impl Client {
    /// Streams the contact activity of a period, page after page (`maxrows`, then `offset` of
    /// the last entry) until a short page. The documented way to learn what became of a send
    /// by its `externalRequestId`. Idempotent.
    ///
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use futures::TryStreamExt;
    /// use messaging_client::ActivityQuery;
    /// let query = ActivityQuery::new("2024-03-01T00:00:00".parse().unwrap(), "2024-03-01T23:59:59".parse().unwrap());
    /// let mine: Vec<_> = client
    ///     .contacts_activity(&query)
    ///     .try_filter(|a| futures::future::ready(a.external_request_id.as_deref() == Some("job:a@x.com")))
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn contacts_activity(
        &self,
        query: &ActivityQuery,
    ) -> impl Stream<Item = Result<ContactActivity>> + Send + 'static {
        let client = self.clone();
        let query = query.clone();
        stream::try_unfold(Some(None::<String>), move |offset| {
            let client = client.clone();
            let query = query.clone();
            async move {
                let Some(offset) = offset else {
                    return Ok::<_, Error>(None);
                };
                query.check()?;
                let time = |t: &jiff::civil::DateTime| t.strftime("%Y-%m-%dT%H:%M:%S").to_string();
                let mut req = Request::new(Method::GET, &["v2", "contacts", "activity"])
                    .query("dateFrom", time(&query.from))
                    .query("dateTo", time(&query.to));
                for (key, value) in [
                    ("email", &query.email),
                    ("sms", &query.sms),
                    ("webPushToken", &query.web_push_token),
                    ("mobPushToken", &query.mob_push_token),
                    ("messageTag", &query.message_tag),
                    ("activityStatus", &query.activity_status),
                ] {
                    if let Some(v) = value {
                        req = req.query(key, v);
                    }
                }
                if let Some(o) = &offset {
                    req = req.query("offset", o);
                }
                let req = req.query("maxrows", query.page_size);
                let page = client
                    .send(req)
                    .await?
                    .decode_opt::<de::List<ContactActivity>>("contact activity")?
                    .map(|l| l.0)
                    .unwrap_or_default();
                let last = page.last().and_then(|a| a.offset.clone());
                let next =
                    (page.len() >= query.page_size as usize && last.is_some() && last != offset)
                        .then_some(last);
                Ok(Some((stream::iter(page.into_iter().map(Ok)), next)))
            }
        })
        .try_flatten()
    }
}
