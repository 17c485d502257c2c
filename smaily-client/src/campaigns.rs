//! Campaigns (`campaign.php`) and campaign unsubscribes (`unsubscribe.php`).

use std::collections::BTreeMap;

use jiff::Zoned;
use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::answer::Listing;
use crate::automations::TemplateRef;
use crate::client::{Client, Request};
use crate::de::{format_smaily_time, value_to_i64};
use crate::error::{Error, Result};

/// A campaign's (or A/B test's) state. A state the reference does not list is kept as
/// [`Other`](CampaignStatus::Other) with its text, so one new state never fails a list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CampaignStatus {
    /// `DRAFT`.
    Draft,
    /// `PENDING`: sending still in progress.
    Pending,
    /// `COMPLETED`.
    Completed,
    /// `CANCELLED`.
    Cancelled,
    /// Any other state, verbatim.
    Other(String),
}

impl CampaignStatus {
    /// The state as Smaily writes it.
    pub fn as_str(&self) -> &str {
        match self {
            CampaignStatus::Draft => "DRAFT",
            CampaignStatus::Pending => "PENDING",
            CampaignStatus::Completed => "COMPLETED",
            CampaignStatus::Cancelled => "CANCELLED",
            CampaignStatus::Other(s) => s,
        }
    }
}

impl From<&str> for CampaignStatus {
    fn from(s: &str) -> Self {
        match s {
            "DRAFT" => CampaignStatus::Draft,
            "PENDING" => CampaignStatus::Pending,
            "COMPLETED" => CampaignStatus::Completed,
            "CANCELLED" => CampaignStatus::Cancelled,
            other => CampaignStatus::Other(other.to_string()),
        }
    }
}

impl Serialize for CampaignStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CampaignStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(CampaignStatus::from(crate::de::value_to_text(&v).as_str()))
    }
}

/// Filters for [`Client::campaigns`] and [`Client::ab_tests`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignQuery {
    /// `status[]`.
    pub status: Vec<CampaignStatus>,
    /// `tags[]`.
    pub tags: Vec<String>,
    /// `sort_order` (`ASC`/`DESC`, by `created_at`).
    pub sort_order: Option<String>,
    /// `limit` (campaigns: absent or 0 = all).
    pub limit: Option<u32>,
    /// Page index (`page` for campaigns, `offset` for A/B tests).
    pub page: Option<u32>,
}

impl CampaignQuery {
    pub(crate) fn apply(&self, mut req: Request, page_param: &str) -> Request {
        for s in &self.status {
            req = req.query("status[]", s.as_str());
        }
        for t in &self.tags {
            req = req.query("tags[]", t);
        }
        if let Some(order) = &self.sort_order {
            req = req
                .query("sort_by", "created_at")
                .query("sort_order", order);
        }
        req.query_opt("limit", self.limit)
            .query_opt(page_param, self.page)
    }
}

/// A campaign as listed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Campaign {
    /// Id.
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub name: String,
    /// Its template; `None` when Smaily says `"DELETED"`.
    #[serde(default, deserialize_with = "template_or_deleted")]
    pub template: Option<TemplateRef>,
    /// Tags.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub tags: Vec<String>,
    /// Created.
    #[serde(default, deserialize_with = "crate::de::opt_time::deserialize")]
    pub created_at: Option<Zoned>,
    /// Completed.
    #[serde(default, deserialize_with = "crate::de::opt_time::deserialize")]
    pub completed_at: Option<Zoned>,
    /// State.
    pub status: CampaignStatus,
}

pub(crate) fn template_or_deleted<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<TemplateRef>, D::Error> {
    match Value::deserialize(d)? {
        Value::Object(m) => serde_json::from_value(Value::Object(m))
            .map(Some)
            .map_err(serde::de::Error::custom),
        _ => Ok(None),
    }
}

/// Campaign or A/B test statistics: every numeric field (`total_count`, `delivered_count`,
/// `opened_*`, `click_*`, ...) in `counts`, per-address rows when asked for details.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct CampaignStats {
    /// Numeric fields by name (numbers sent as strings included).
    pub counts: BTreeMap<String, i64>,
    /// Per-address rows (`detailed=1`), as sent.
    pub addresses: Vec<Map<String, Value>>,
}

impl CampaignStats {
    /// A count by name (`delivered_count`, ...).
    pub fn count(&self, name: &str) -> Option<i64> {
        self.counts.get(name).copied()
    }
}

impl<'de> Deserialize<'de> for CampaignStats {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        let mut stats = CampaignStats::default();
        for (k, v) in map {
            if k == "addresses" {
                if let Value::Array(rows) = v {
                    stats.addresses = rows
                        .into_iter()
                        .filter_map(|r| match r {
                            Value::Object(m) => Some(m),
                            _ => None,
                        })
                        .collect();
                }
            } else if let Some(n) = value_to_i64(&v) {
                stats.counts.insert(k, n);
            }
        }
        Ok(stats)
    }
}

/// What a campaign sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignContent {
    /// `template_id`.
    Template(u64),
    /// `html`: a public URL Smaily downloads (non-200 gives code 209).
    HtmlUrl(String),
    /// `html_raw`.
    HtmlRaw(String),
}

impl CampaignContent {
    /// Adds the one content key (`template_id`, `html` or `html_raw`) to a request object.
    pub(crate) fn insert_into(&self, m: &mut Map<String, Value>) {
        match self {
            CampaignContent::Template(id) => m.insert("template_id".into(), json!(id)),
            CampaignContent::HtmlUrl(u) => m.insert("html".into(), json!(u)),
            CampaignContent::HtmlRaw(h) => m.insert("html_raw".into(), json!(h)),
        };
    }
}

/// `list`: one id as a number, several as a list ("either an ID or list of IDs",
/// smaily.com/help/api/campaigns-3/launch-a-campaign and /a-b-tests/launch-an-a-b-test).
pub(crate) fn list_value(lists: &[u64]) -> Value {
    match lists {
        [one] => json!(one),
        many => json!(many),
    }
}

/// A campaign to launch (`POST campaign.php`).
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignLaunch {
    /// Subject (required).
    pub subject: String,
    /// Sender address (required; must be verified: else code 211).
    pub from: String,
    /// Sender name.
    pub from_name: Option<String>,
    /// Reply-to address.
    pub reply_to: Option<String>,
    /// The content.
    pub content: CampaignContent,
    /// Segment ids (required).
    pub lists: Vec<u64>,
    /// When to send (sent Tallinn-local); default now + 5 minutes' grace.
    pub due: Option<Zoned>,
    /// Tags.
    pub tags: Vec<String>,
    /// Save as a draft instead of launching.
    pub save_as_draft: bool,
}

impl CampaignLaunch {
    fn to_json(&self) -> Result<Value> {
        if self.subject.is_empty() || self.from.is_empty() {
            return Err(Error::invalid("campaign", "subject and from are required"));
        }
        if self.lists.is_empty() {
            return Err(Error::invalid(
                "campaign.list",
                "at least one segment is required",
            ));
        }
        let mut m = Map::new();
        m.insert("subject".into(), json!(self.subject));
        m.insert("from".into(), json!(self.from));
        if let Some(n) = &self.from_name {
            m.insert("from_name".into(), json!(n));
        }
        if let Some(r) = &self.reply_to {
            m.insert("reply_to".into(), json!(r));
        }
        self.content.insert_into(&mut m);
        m.insert("list".into(), list_value(&self.lists));
        if let Some(due) = &self.due {
            m.insert("due".into(), json!(format_smaily_time(due)));
        }
        if !self.tags.is_empty() {
            m.insert("tags".into(), json!(self.tags));
        }
        if self.save_as_draft {
            m.insert("save_as_draft".into(), json!(1));
        }
        Ok(Value::Object(m))
    }
}

#[derive(Deserialize)]
pub(crate) struct Created {
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub(crate) id: u64,
}

#[derive(Deserialize)]
struct Ok101 {}

impl Client {
    /// Lists campaigns (`GET campaign.php`). Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: smaily_client::Client) -> smaily_client::Result<()> {
    /// use smaily_client::{CampaignQuery, CampaignStatus};
    /// let query = CampaignQuery {
    ///     status: vec![CampaignStatus::Completed],
    ///     limit: Some(50),
    ///     ..Default::default()
    /// };
    /// for campaign in client.campaigns(&query).await? {
    ///     println!("{campaign:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn campaigns(&self, query: &CampaignQuery) -> Result<Listing<Campaign>> {
        let req = query.apply(Request::get("campaign.php"), "page");
        self.read_list(req, "a list of campaigns").await
    }

    /// Launches (or drafts) a campaign (`POST campaign.php`), returning its id. **Not
    /// idempotent**: retried only when provably not processed.
    ///
    /// ```no_run
    /// # async fn demo(client: smaily_client::Client) -> smaily_client::Result<()> {
    /// use smaily_client::{CampaignContent, CampaignLaunch};
    /// let id = client
    ///     .launch_campaign(&CampaignLaunch {
    ///         subject: "Spring sale".into(),
    ///         from: "news@example.com".into(),
    ///         from_name: Some("Example OÜ".into()),
    ///         reply_to: None,
    ///         content: CampaignContent::Template(12),
    ///         lists: vec![1],
    ///         due: None, // now
    ///         tags: vec!["spring".into()],
    ///         save_as_draft: true,
    ///     })
    ///     .await?;
    /// println!("campaign {id} saved as a draft");
    /// # Ok(()) }
    /// ```
    pub async fn launch_campaign(&self, campaign: &CampaignLaunch) -> Result<u64> {
        let req = Request::post("campaign.php", campaign.to_json()?);
        let created: Created = self.write(req, "a campaign id").await?;
        Ok(created.id)
    }

    /// A campaign's statistics (`GET campaign.php?id=`); `detailed: Some((page, limit))` adds
    /// per-address rows (`detailed=1&offset&limit`, limit ≤ 10,000). An unknown id gives code
    /// 216. Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: smaily_client::Client) -> smaily_client::Result<()> {
    /// let totals = client.campaign_stats(42, None).await?;
    /// // With per-address rows: page 0, 1,000 rows.
    /// let detailed = client.campaign_stats(42, Some((0, 1_000))).await?;
    /// println!("{totals:?}\n{detailed:?}");
    /// # Ok(()) }
    /// ```
    pub async fn campaign_stats(
        &self,
        id: u64,
        detailed: Option<(u32, u32)>,
    ) -> Result<CampaignStats> {
        let mut req = Request::get("campaign.php").query("id", id);
        if let Some((page, limit)) = detailed {
            req = req
                .query("detailed", 1)
                .query("offset", page)
                .query("limit", limit.min(10_000));
        }
        self.read(req, "campaign statistics").await
    }

    /// Unsubscribes an address with attribution to a campaign (`POST unsubscribe.php`).
    /// Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use smaily_client::{fake::FakeSmaily, Subscriber};
    /// let fake = FakeSmaily::start().await;
    /// fake.seed_subscribers([Subscriber::new("mari@example.com")]);
    /// let campaign = fake.seed_campaign("May news", smaily_client::SEGMENT_ALL);
    /// fake.client().unsubscribe_from_campaign("mari@example.com", campaign).await?;
    /// assert!(fake.subscriber("mari@example.com").unwrap().is_unsubscribed);
    /// let body = fake.smaily_requests().pop().unwrap().body_json();
    /// assert_eq!(body, serde_json::json!({"email": "mari@example.com", "campaign_id": campaign}));
    /// // An unknown campaign is refused (code 216).
    /// let err = fake.client().unsubscribe_from_campaign("mari@example.com", 999).await;
    /// assert_eq!(err.unwrap_err().code(), Some(216));
    /// # Ok::<(), smaily_client::Error>(()) }).unwrap();
    /// ```
    pub async fn unsubscribe_from_campaign(&self, email: &str, campaign_id: u64) -> Result<()> {
        let body = json!({"email": email, "campaign_id": campaign_id});
        // Unsubscribing an address that is already unsubscribed changes nothing: safe to repeat.
        let req = Request::post("unsubscribe.php", body).idempotent();
        self.write::<Ok101>(req, "result").await.map(drop)
    }
}
