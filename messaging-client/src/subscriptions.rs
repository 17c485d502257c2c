//! Subscription categories: the account's (`GET /v1/subscriptions`) and a contact's
//! (`GET|PUT /v1/contact/{id}/subscriptions`).

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Client, Request};
use crate::de;
use crate::error::Result;

/// A subscription category (OA `SubscriptionCategoryDto`; a contact's categories are
/// `ContactSubscriptionCategoryDto`, the same without the counts and dates).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SubscriptionCategory {
    /// Category id.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub id: Option<i64>,
    /// The organisation's unique key of the category.
    #[serde(default, deserialize_with = "de::string_lenient")]
    pub key: String,
    /// The segment behind the category.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub group_id: Option<i64>,
    /// Name.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub name: Option<String>,
    /// Subscribed contacts (account categories only).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub contacts_count: Option<i64>,
    /// Created, verbatim (account categories only).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub created_date: Option<String>,
    /// Updated, verbatim (account categories only).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub updated_date: Option<String>,
}

#[derive(Deserialize)]
#[serde(transparent)]
struct Categories(#[serde(deserialize_with = "de::one_or_many")] Vec<SubscriptionCategory>);

#[derive(Serialize)]
struct Upsert<'a> {
    subscriptions: Vec<&'a str>,
}

impl Client {
    /// The account's subscription categories (OA `getSubscriptionCategories`). Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// for c in client.subscription_categories().await? {
    ///     println!("{} {:?}", c.key, c.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn subscription_categories(&self) -> Result<Vec<SubscriptionCategory>> {
        let resp = self
            .send(Request::new(Method::GET, &["v1", "subscriptions"]))
            .await?;
        Ok(resp
            .decode_opt::<Categories>("subscription categories")?
            .map(|c| c.0)
            .unwrap_or_default())
    }

    /// The categories a contact is subscribed to (OA `getContactSubscriptionCategories`; one
    /// category may arrive as an object). Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// let keys: Vec<String> = client.contact_subscriptions(42).await?.into_iter().map(|c| c.key).collect();
    /// # Ok(()) }
    /// ```
    pub async fn contact_subscriptions(
        &self,
        contact_id: i64,
    ) -> Result<Vec<SubscriptionCategory>> {
        let req = Request::new(
            Method::GET,
            &["v1", "contact", &contact_id.to_string(), "subscriptions"],
        );
        Ok(self
            .send(req)
            .await?
            .decode_opt::<Categories>("contact subscription categories")?
            .map(|c| c.0)
            .unwrap_or_default())
    }

    /// Sets the categories a contact is subscribed to, by key (OA
    /// `changeContactSubscriptionCategories`, `{"subscriptions": [keys]}`). This is the
    /// contact's consent: the list **replaces** the current one, so pass every category the
    /// contact keeps (read them with [`contact_subscriptions`](Self::contact_subscriptions)).
    /// Idempotent (a PUT).
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// client.set_contact_subscriptions(42, &["news", "promo"]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_contact_subscriptions<S: AsRef<str>>(
        &self,
        contact_id: i64,
        keys: &[S],
    ) -> Result<()> {
        let body = Upsert {
            subscriptions: keys.iter().map(AsRef::as_ref).collect(),
        };
        let req = Request::new(
            Method::PUT,
            &["v1", "contact", &contact_id.to_string(), "subscriptions"],
        )
        .json(&body)?;
        self.send(req).await.map(drop)
    }
}
