//! Account info (`GET /v1/account/info`), also the credential check.

use reqwest::Method;
use serde::Deserialize;

use crate::client::{Client, Request};
use crate::de;
use crate::error::Result;

/// The account behind the API key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AccountInfo {
    /// The API user's login (`userEmail`).
    #[serde(default, deserialize_with = "de::string_lenient")]
    pub user_email: String,
    /// Organisation name (note the spelling).
    #[serde(default, deserialize_with = "de::string_lenient")]
    pub organisation_name: String,
    /// Organisation id.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub org_id: Option<i64>,
}

impl Client {
    /// Reads the account info; a wrong key fails with [`Error::Unauthorized`](crate::Error::Unauthorized),
    /// so this is also the credential check. Idempotent (retried).
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use messaging_client::prelude::*;
    /// let fake = messaging_client::fake::FakeMessaging::start().await;
    /// let info = fake.client().account_info().await.unwrap();
    /// assert_eq!(info.organisation_name, "Fake Org");
    /// # });
    /// ```
    pub async fn account_info(&self) -> Result<AccountInfo> {
        self.send(Request::new(Method::GET, &["v1", "account", "info"]))
            .await?
            .decode("account info")
    }
}
