//! Templates (`templates.php`) and organisation users (`organizations/users.php`).

use jiff::Zoned;
use serde::Deserialize;

use crate::answer::Listing;
use crate::client::{Client, Request};
use crate::error::Result;

/// A template.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Template {
    /// Id.
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub id: u64,
    /// `default` or `wysiwyg`.
    #[serde(default, rename = "type", deserialize_with = "crate::de::null_default")]
    pub kind: String,
    /// Name.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub name: String,
    /// Created (RFC 3339).
    #[serde(default, deserialize_with = "crate::de::opt_time::deserialize")]
    pub created_at: Option<Zoned>,
    /// Modified (RFC 3339).
    #[serde(default, deserialize_with = "crate::de::opt_time::deserialize")]
    pub modified_at: Option<Zoned>,
    /// Preview URL.
    #[serde(default)]
    pub preview_url: Option<String>,
}

/// Options for [`Client::templates`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateQuery {
    /// Rows per page (≤ 1,000).
    pub limit: Option<u32>,
    /// Page index.
    pub page: Option<u32>,
    /// `name`, `created_at` or `modified_at`.
    pub sort_by: Option<String>,
    /// `asc` or `desc`.
    pub sort_order: Option<String>,
}

/// A user of the organisation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct OrganizationUser {
    /// Id.
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub id: u64,
    /// Email.
    pub email: String,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Whether the user owns the organisation.
    #[serde(default, deserialize_with = "crate::de::boolish::deserialize")]
    pub is_owner: bool,
    /// Role; `None` when the row carries none.
    #[serde(default)]
    pub role: Option<Role>,
}

/// A user's role.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Role {
    /// Id.
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub name: String,
}

impl Client {
    /// Lists templates (`GET templates.php`). Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: smaily_client::Client) -> smaily_client::Result<()> {
    /// use smaily_client::TemplateQuery;
    /// let query = TemplateQuery { limit: Some(100), ..Default::default() };
    /// for template in client.templates(&query).await? {
    ///     println!("{} {}", template.id, template.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn templates(&self, query: &TemplateQuery) -> Result<Listing<Template>> {
        let req = Request::get("templates.php")
            .query_opt("limit", query.limit.map(|l| l.min(1_000)))
            .query_opt("page", query.page)
            .query_opt("sort_by", query.sort_by.as_deref())
            .query_opt("sort_order", query.sort_order.as_deref());
        self.read_list(req, "a list of templates").await
    }

    /// One page of the organisation's users (`GET organizations/users.php?page=&limit=`,
    /// limit ≤ 250). Also a cheap credential check. Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// let users = fake.client().organization_users(0, 500).await?;
    /// assert!(!users.is_empty());
    /// let request = fake.smaily_requests().pop().unwrap();
    /// let query = request.query_pairs();
    /// assert_eq!(query, [("page".into(), "0".into()), ("limit".into(), "250".into())]);
    /// assert!(fake.client().organization_users(1, 250).await?.is_empty(), "one page of one user");
    /// # Ok::<(), smaily_client::Error>(()) }).unwrap();
    /// ```
    pub async fn organization_users(
        &self,
        page: u32,
        limit: u32,
    ) -> Result<Listing<OrganizationUser>> {
        let req = Request::get("organizations/users.php")
            .query("page", page)
            .query("limit", limit.clamp(1, 250));
        self.read_list(req, "a list of users").await
    }
}
