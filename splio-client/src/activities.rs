//! A contact's activities (`GET /data/contacts/{id}/activities`): opens, clicks and the like,
//! per channel, paged. Shape from the OpenAPI document's example.

use futures::Stream;
use serde::Deserialize;

use crate::client::{Client, Request};
use crate::contacts::contact_path;
use crate::error::Result;
use crate::lenient;

/// The `channel` filter (the document's enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActivityChannel {
    /// `email`.
    Email,
    /// `sms`.
    Sms,
    /// `x_channel`.
    XChannel,
    /// `fwd_email`.
    FwdEmail,
}

impl ActivityChannel {
    /// The wire name.
    pub fn as_wire(self) -> &'static str {
        match self {
            ActivityChannel::Email => "email",
            ActivityChannel::Sms => "sms",
            ActivityChannel::XChannel => "x_channel",
            ActivityChannel::FwdEmail => "fwd_email",
        }
    }
}

/// One activity.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Activity {
    /// Channel, e.g. `email`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub channel: Option<String>,
    /// The campaign or message id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub channel_details_id: Option<String>,
    /// Its name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub channel_details_name: Option<String>,
    /// Event type, e.g. `system`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub event_type: Option<String>,
    /// Event, e.g. `opened`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub event: Option<String>,
    /// When (`YYYY-MM-DD HH:MM:SS`).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub value_date: Option<String>,
    /// Source id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub source_id: Option<String>,
    /// Source name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub source_name: Option<String>,
    /// Source type, e.g. `standard`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub source_type: Option<String>,
    /// Source date.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub source_date: Option<String>,
    /// `contact` as answered (`null` in the example).
    #[serde(default)]
    pub contact: serde_json::Value,
}

impl Client {
    /// Stream a contact's activities, all channels or one (`GET
    /// /data/contacts/{key}/activities`, paged). Idempotent. An unknown contact is a 404 error.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use futures::TryStreamExt;
    /// use splio_client::{ActivityChannel, ContactData};
    /// fake.seed_contact(ContactData::with_email("ann@example.com"));
    /// fake.seed_activity("ann@example.com", "email", "opened");
    /// fake.seed_activity("ann@example.com", "sms", "delivered");
    /// let email: Vec<_> = client
    ///     .contact_activities("ann@example.com", Some(ActivityChannel::Email))
    ///     .try_collect()
    ///     .await?;
    /// assert_eq!(email.len(), 1);
    /// assert_eq!(email[0].event.as_deref(), Some("opened"));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub fn contact_activities(
        &self,
        key: &str,
        channel: Option<ActivityChannel>,
    ) -> impl Stream<Item = Result<Activity>> + Send + 'static {
        let path = format!("{}/activities", contact_path(key));
        self.paged(move || {
            let request = Request::get(path.clone());
            match channel {
                Some(c) => request.query("channel", c.as_wire()),
                None => request,
            }
        })
    }
}
