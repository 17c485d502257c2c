//! A/B tests (`split.php`): list, statistics, launch.
//!
//! Launch follows smaily.com/help/api/a-b-tests/launch-an-a-b-test: `splits` is a list of
//! sections (`subject`, `from`, `from_name`, one of `template_id`/`html`/`html_raw`, `due`),
//! `list` an id or a list of ids, and `size`, `win_at` (both still marked required, though
//! deprecated) and `condition` (deprecated, default `clicks`) are always sent.

use std::collections::BTreeMap;

use jiff::Zoned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use crate::answer::Listing;
use crate::automations::TemplateRef;
use crate::campaigns::{
    CampaignContent, CampaignQuery, CampaignStatus, Created, list_value, template_or_deleted,
};
use crate::client::{Client, Request};
use crate::de::format_smaily_time;
use crate::de::{value_to_bool, value_to_i64};
use crate::error::{Error, Result};

/// An A/B test as `GET split.php` lists it (smaily.com/help/api/a-b-tests/list-a-b-tests);
/// keys the page does not list are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct AbTest {
    /// Id.
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub name: String,
    /// Its sections.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub sections: Vec<AbSection>,
    /// State.
    #[serde(default)]
    pub status: Option<CampaignStatus>,
    /// Tags.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub tags: Vec<String>,
    /// Created (Tallinn-local on the wire).
    #[serde(default, deserialize_with = "crate::de::opt_time::deserialize")]
    pub created_at: Option<Zoned>,
    /// Completed (only when `COMPLETED`).
    #[serde(default, deserialize_with = "crate::de::opt_time::deserialize")]
    pub completed_at: Option<Zoned>,
    /// Every other key, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A section of a listed A/B test.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AbSection {
    /// Id.
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub id: u64,
    /// Subject.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub subject: String,
    /// Its template; `None` when Smaily says `"DELETED"` or sends none.
    #[serde(default, deserialize_with = "template_or_deleted")]
    pub template: Option<TemplateRef>,
}

/// The sender of an A/B test section as its statistics give it (`from`: the "sender address
/// object", `{email, name}`; a bare address string is read as the email).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AbSender {
    /// Address.
    pub email: String,
    /// Display name (empty when not sent).
    pub name: String,
}

/// One section of an A/B test's statistics (smaily.com/help/api/a-b-tests/a-b-test-statistics:
/// "Response is a JSON list of JSON objects", one per section).
///
/// Numbers may arrive as numbers or strings: every `*_count` is in [`counts`](Self::counts),
/// every `*_percent` in [`percents`](Self::percents); keys the page does not list are kept in
/// [`extra`](Self::extra).
///
/// ```
/// let section: smaily_client::AbSectionStats = serde_json::from_str(
///     r#"{"name":"Spring","template":"DELETED","delivered_count":"98","click_percent":20.41,"winner":1}"#,
/// ).unwrap();
/// assert_eq!(section.count("delivered_count"), Some(98));
/// assert_eq!(section.percent("click_percent"), Some(20.41));
/// assert!(section.template_deleted && section.template.is_none());
/// assert_eq!(section.winner, Some(true));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct AbSectionStats {
    /// The section's name (its subject).
    pub name: String,
    /// Sender.
    pub from: Option<AbSender>,
    /// Reply-To address.
    pub reply_to: Option<String>,
    /// The template; `None` when deleted (see [`template_deleted`](Self::template_deleted)) or
    /// not sent.
    pub template: Option<TemplateRef>,
    /// Smaily answered `"template": "DELETED"`.
    pub template_deleted: bool,
    /// Every `*_count` (`total_count`, `delivered_count`, `click_count`, …).
    pub counts: BTreeMap<String, i64>,
    /// Every `*_percent` (`click_percent`, `view_percent`, `opened_percent`, …).
    pub percents: BTreeMap<String, f64>,
    /// Whether this section won (`None` when not sent; the older help page calls the field
    /// no longer in use).
    pub winner: Option<bool>,
    /// Per-address rows (`detailed=1`), as sent.
    pub addresses: Vec<Map<String, Value>>,
    /// Every other key, as sent.
    pub extra: Map<String, Value>,
}

impl AbSectionStats {
    /// A count by name (`delivered_count`, …).
    pub fn count(&self, name: &str) -> Option<i64> {
        self.counts.get(name).copied()
    }

    /// A percentage by name (`click_percent`, …).
    pub fn percent(&self, name: &str) -> Option<f64> {
        self.percents.get(name).copied()
    }
}

fn value_to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn opt_text(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

impl<'de> Deserialize<'de> for AbSectionStats {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let map = Map::<String, Value>::deserialize(d)?;
        let mut out = AbSectionStats::default();
        for (k, v) in map {
            match k.as_str() {
                "name" => out.name = opt_text(v).unwrap_or_default(),
                "reply_to" => out.reply_to = opt_text(v),
                "from" => {
                    out.from = match v {
                        Value::Object(m) => Some(AbSender {
                            email: m
                                .get("email")
                                .cloned()
                                .and_then(opt_text)
                                .unwrap_or_default(),
                            name: m
                                .get("name")
                                .cloned()
                                .and_then(opt_text)
                                .unwrap_or_default(),
                        }),
                        other => opt_text(other).map(|email| AbSender {
                            email,
                            name: String::new(),
                        }),
                    }
                }
                "template" => {
                    out.template_deleted = v.as_str() == Some("DELETED");
                    out.template = template_or_deleted(v).map_err(D::Error::custom)?;
                }
                "winner" => out.winner = value_to_bool(&v),
                "addresses" => {
                    if let Value::Array(rows) = v {
                        out.addresses = rows
                            .into_iter()
                            .filter_map(|r| match r {
                                Value::Object(m) => Some(m),
                                _ => None,
                            })
                            .collect();
                    }
                }
                key if key.ends_with("_count") && value_to_i64(&v).is_some() => {
                    out.counts.insert(k, value_to_i64(&v).expect("checked"));
                }
                key if key.ends_with("_percent") && value_to_f64(&v).is_some() => {
                    out.percents.insert(k, value_to_f64(&v).expect("checked"));
                }
                _ => {
                    out.extra.insert(k, v);
                }
            }
        }
        Ok(out)
    }
}

/// How the winning section is chosen (`condition`; Smaily's default is clicks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WinCondition {
    /// `openrate`.
    OpenRate,
    /// `clicks` (the default).
    #[default]
    Clicks,
    /// `views`.
    Views,
    /// `unsubscribed`.
    Unsubscribed,
}

impl WinCondition {
    fn as_str(self) -> &'static str {
        match self {
            WinCondition::OpenRate => "openrate",
            WinCondition::Clicks => "clicks",
            WinCondition::Views => "views",
            WinCondition::Unsubscribed => "unsubscribed",
        }
    }
}

/// One section of an A/B test to launch.
#[derive(Debug, Clone, PartialEq)]
pub struct AbSplit {
    /// Subject (required).
    pub subject: String,
    /// Sender address (required; must be verified, else code 211).
    pub from: String,
    /// Sender name.
    pub from_name: Option<String>,
    /// The content.
    pub content: CampaignContent,
    /// When to send this section (Tallinn-local; not after `win_at`); default now + 5 minutes.
    pub due: Option<Zoned>,
}

impl AbSplit {
    /// A section with this subject, sender and content, sent now.
    pub fn new(
        subject: impl Into<String>,
        from: impl Into<String>,
        content: CampaignContent,
    ) -> Self {
        AbSplit {
            subject: subject.into(),
            from: from.into(),
            from_name: None,
            content,
            due: None,
        }
    }

    fn to_json(&self, i: usize, win_at: &Zoned) -> Result<Value> {
        if self.subject.is_empty() || self.from.is_empty() {
            return Err(Error::invalid(
                format!("splits[{i}]"),
                "subject and from are required",
            ));
        }
        let mut m = Map::new();
        m.insert("subject".into(), json!(self.subject));
        m.insert("from".into(), json!(self.from));
        if let Some(n) = &self.from_name {
            m.insert("from_name".into(), json!(n));
        }
        self.content.insert_into(&mut m);
        if let Some(due) = &self.due {
            if due.timestamp() > win_at.timestamp() {
                return Err(Error::invalid(
                    format!("splits[{i}].due"),
                    "must not be later than win_at",
                ));
            }
            m.insert("due".into(), json!(format_smaily_time(due)));
        }
        Ok(Value::Object(m))
    }
}

/// An A/B test to launch (`POST split.php`).
///
/// ```
/// use smaily_client::{AbSplit, AbTestLaunch, CampaignContent};
/// let win_at: jiff::Zoned = "2030-05-02T12:00:00+03:00[Europe/Tallinn]".parse().unwrap();
/// let test = AbTestLaunch::new(
///     [
///         AbSplit::new("Spring sale", "news@example.com", CampaignContent::Template(12)),
///         AbSplit::new("Spring is here", "news@example.com", CampaignContent::Template(12)),
///     ],
///     [1],
///     20,
///     win_at,
/// );
/// assert_eq!(test.size, 20);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AbTestLaunch {
    /// The sections tried against each other (at least one).
    pub splits: Vec<AbSplit>,
    /// Segment ids (required): one is sent as an id, several as a list.
    pub lists: Vec<u64>,
    /// The percentage of the segments' unique subscribers divided among the sections
    /// (1..=99: 100 would leave no one for the winner). Deprecated but still required.
    pub size: u8,
    /// When the winner goes to the rest (sent Tallinn-local; must be in the future, else code
    /// 213). Deprecated but still required.
    pub win_at: Zoned,
    /// How the winner is chosen (deprecated; default clicks).
    pub condition: WinCondition,
    /// Save as a draft instead of launching.
    pub save_as_draft: bool,
}

impl AbTestLaunch {
    /// A test of these sections on these segments, `size` percent, winner at `win_at`, by
    /// clicks, launched (not a draft).
    pub fn new(
        splits: impl IntoIterator<Item = AbSplit>,
        lists: impl IntoIterator<Item = u64>,
        size: u8,
        win_at: Zoned,
    ) -> Self {
        AbTestLaunch {
            splits: splits.into_iter().collect(),
            lists: lists.into_iter().collect(),
            size,
            win_at,
            condition: WinCondition::default(),
            save_as_draft: false,
        }
    }

    fn to_json(&self) -> Result<Value> {
        if self.splits.is_empty() {
            return Err(Error::invalid("splits", "at least one section is required"));
        }
        if self.lists.is_empty() {
            return Err(Error::invalid("list", "at least one segment is required"));
        }
        if !(1..=99).contains(&self.size) {
            return Err(Error::invalid("size", "a percentage from 1 to 99"));
        }
        let splits = self
            .splits
            .iter()
            .enumerate()
            .map(|(i, s)| s.to_json(i, &self.win_at))
            .collect::<Result<Vec<_>>>()?;
        let mut body = json!({
            "splits": splits,
            "list": list_value(&self.lists),
            "size": self.size,
            "condition": self.condition.as_str(),
            "win_at": format_smaily_time(&self.win_at),
        });
        if self.save_as_draft {
            body["save_as_draft"] = json!(1);
        }
        Ok(body)
    }
}

impl Client {
    /// Lists A/B tests (`GET split.php`; `page` is sent as `offset`). Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: smaily_client::Client) -> smaily_client::Result<()> {
    /// use smaily_client::CampaignQuery;
    /// let tests = client.ab_tests(&CampaignQuery { limit: Some(20), ..Default::default() }).await?;
    /// println!("{} A/B tests", tests.len());
    /// # Ok(()) }
    /// ```
    pub async fn ab_tests(&self, query: &CampaignQuery) -> Result<Listing<AbTest>> {
        let req = query.apply(Request::get("split.php"), "offset");
        self.read_list(req, "a list of A/B tests").await
    }

    /// An A/B test's statistics, one row per section (`GET split.php?id=`;
    /// smaily.com/help/api/a-b-tests/a-b-test-statistics). `detailed: Some((page, limit))`
    /// adds per-address rows (`detailed=1&offset&limit`: `offset` a page index, `limit` ≤
    /// 10,000; Smaily applies both only with `detailed=1`). A row that does not decode is in
    /// [`Listing::invalid`]; an unknown id gives code 216. Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: smaily_client::Client) -> smaily_client::Result<()> {
    /// for section in client.ab_test_stats(7, None).await? {
    ///     println!("{}: {:?} % clicked", section.name, section.percent("click_percent"));
    /// }
    /// // With per-address rows: page 0, 1,000 rows.
    /// let detailed = client.ab_test_stats(7, Some((0, 1_000))).await?;
    /// println!("{:?}", detailed.first().map(|s| s.addresses.len()));
    /// # Ok(()) }
    /// ```
    pub async fn ab_test_stats(
        &self,
        id: u64,
        detailed: Option<(u32, u32)>,
    ) -> Result<Listing<AbSectionStats>> {
        let mut req = Request::get("split.php").query("id", id);
        if let Some((page, limit)) = detailed {
            req = req
                .query("detailed", 1)
                .query("offset", page)
                .query("limit", limit.min(10_000));
        }
        self.read_list(req, "A/B test statistics (a list of sections)")
            .await
    }

    /// Launches (or drafts) an A/B test (`POST split.php`), returning its id. Checked before
    /// sending: at least one section and one segment, `size` 1..=99, no section due after
    /// `win_at`. **Not idempotent**: retried only when provably not processed.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use smaily_client::{AbSplit, AbTestLaunch, CampaignContent, WinCondition};
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// let win_at = jiff::Zoned::now() + jiff::SignedDuration::from_hours(24);
    /// let mut test = AbTestLaunch::new(
    ///     [
    ///         AbSplit::new("Spring sale", "news@example.com", CampaignContent::Template(5)),
    ///         AbSplit::new("Spring is here", "news@example.com", CampaignContent::HtmlRaw("<p>Hi</p>".into())),
    ///     ],
    ///     [1],
    ///     20,
    ///     win_at,
    /// );
    /// test.condition = WinCondition::OpenRate;
    /// let id = fake.client().launch_ab_test(&test).await?;
    /// let sent = fake.smaily_requests().pop().unwrap().body_json();
    /// assert_eq!(sent["splits"][1]["html_raw"], "<p>Hi</p>");
    /// assert_eq!(sent["condition"], "openrate");
    /// assert_eq!(fake.client().ab_tests(&Default::default()).await?[0].id, id);
    /// # Ok::<(), smaily_client::Error>(()) }).unwrap();
    /// ```
    pub async fn launch_ab_test(&self, test: &AbTestLaunch) -> Result<u64> {
        let req = Request::post("split.php", test.to_json()?);
        let created: Created = self.write(req, "an A/B test id").await?;
        Ok(created.id)
    }
}
