//! Mailing lists (`GET /data/v1/lists`). Memberships change through
//! [`Client::subscribe`] / [`Client::unsubscribe`].

use futures::Stream;
use serde::Deserialize;

use crate::client::{Client, Request};
use crate::error::Result;
use crate::lenient;

/// A mailing list.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct MailingList {
    /// List id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Members.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub members: Option<i64>,
    /// Members with an email.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub nb_emails: Option<i64>,
    /// Members with a cellphone.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub nb_sms: Option<i64>,
    /// Shown by default in forms.
    #[serde(default)]
    pub is_displayed_by_default: Option<bool>,
    /// Selected by default in forms.
    #[serde(default)]
    pub is_selected_by_default: Option<bool>,
}

impl Client {
    /// Stream every list (`GET /data/v1/lists`, paged). Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) -> splio_client::Result<()> {
    /// use futures::TryStreamExt;
    /// let lists: Vec<splio_client::MailingList> = client.lists().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn lists(&self) -> impl Stream<Item = Result<MailingList>> + Send + 'static {
        self.paged(|| Request::get("/data/v1/lists"))
    }
}
