//! Segments (`list.php`): list, get with rules, create or update.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::answer::Listing;
use crate::client::{Client, Request};
use crate::error::{Error, Result};

/// A segment as `GET list.php` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Segment {
    /// Id.
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub name: String,
    /// Subscriber count, when sent.
    #[serde(default, deserialize_with = "crate::de::opt_int::deserialize")]
    pub subscribers_count: Option<u64>,
}

/// How a segment's rules combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FilterType {
    /// Every rule must match.
    #[serde(rename = "ALL")]
    All,
    /// Any rule may match.
    #[serde(rename = "ANY")]
    Any,
}

/// A rule operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Operator {
    Equal,
    NotEqual,
    BeginsWith,
    Contains,
    DoesNotContain,
    EndsWith,
    LessThan,
    LessThanEqual,
    GreaterThanEqual,
    GreaterThan,
}

/// One rule: `[field, [operator, value]]` on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Field name.
    pub field: String,
    /// Operator.
    pub operator: Operator,
    /// Value, as text.
    pub value: String,
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        (&self.field, (self.operator, &self.value)).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let (field, (operator, value)): (String, (Operator, Value)) = Deserialize::deserialize(d)?;
        if value.is_object() || value.is_array() {
            return Err(de::Error::custom("rule value must be a scalar"));
        }
        Ok(Rule {
            field,
            operator,
            value: crate::de::value_to_text(&value),
        })
    }
}

/// A segment with its rules (`GET list.php?id=`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SegmentRules {
    /// Id.
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub name: String,
    /// How the rules combine.
    pub filter_type: FilterType,
    /// The rules.
    #[serde(default)]
    pub filter_data: Vec<Rule>,
    /// Subscriber count, when sent.
    #[serde(default, deserialize_with = "crate::de::opt_int::deserialize")]
    pub subscribers_count: Option<u64>,
}

/// A segment to create (`id: None`) or update (`POST list.php`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentDefinition {
    /// The segment to update; `None` creates one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Name (required).
    pub name: String,
    /// How the rules combine.
    pub filter_type: FilterType,
    /// The rules.
    pub filter_data: Vec<Rule>,
}

#[derive(Deserialize)]
struct Created {
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    id: u64,
}

impl Client {
    /// Lists segments (`GET list.php`). Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// let ids: Vec<u64> = fake.client().segments().await.unwrap().iter().map(|s| s.id).collect();
    /// assert_eq!(ids, [1, 2]);
    /// # });
    /// ```
    pub async fn segments(&self) -> Result<Listing<Segment>> {
        self.read_list(Request::get("list.php"), "a list of segments")
            .await
    }

    /// One segment with its rules (`GET list.php?id=`); unknown ids give code 208. Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use smaily_client::FilterType;
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// let unsubscribed = fake.client().segment(2).await?;
    /// assert_eq!(unsubscribed.filter_type, FilterType::All);
    /// assert_eq!(unsubscribed.filter_data[0].field, "is_unsubscribed");
    /// assert!(fake.client().segment(99).await.is_err()); // code 208
    /// # Ok::<(), smaily_client::Error>(()) }).unwrap();
    /// ```
    pub async fn segment(&self, id: u64) -> Result<SegmentRules> {
        self.read(Request::get("list.php").query("id", id), "a segment")
            .await
    }

    /// Creates or updates a segment (`POST list.php`), returning its id. Updating (`id` set)
    /// is idempotent; creating is not (a repeat creates a second segment), so it is retried
    /// only when provably not processed.
    ///
    /// ```no_run
    /// # async fn demo(client: smaily_client::Client) -> smaily_client::Result<()> {
    /// use smaily_client::{FilterType, Operator, Rule, SegmentDefinition};
    /// let id = client
    ///     .save_segment(&SegmentDefinition {
    ///         id: None, // create
    ///         name: "Tallinn".into(),
    ///         filter_type: FilterType::All,
    ///         filter_data: vec![Rule {
    ///             field: "city".into(),
    ///             operator: Operator::Equal,
    ///             value: "Tallinn".into(),
    ///         }],
    ///     })
    ///     .await?;
    /// println!("segment {id}");
    /// # Ok(()) }
    /// ```
    pub async fn save_segment(&self, segment: &SegmentDefinition) -> Result<u64> {
        if segment.name.trim().is_empty() {
            return Err(Error::invalid("segment.name", "required"));
        }
        let body = serde_json::to_value(segment).unwrap_or_else(|_| json!({}));
        let mut req = Request::post("list.php", body);
        // Saving a segment by id overwrites it: safe to repeat. Without an id it creates one.
        if segment.id.is_some() {
            req = req.idempotent();
        }
        let created: Created = self.write(req, "a segment id").await?;
        Ok(created.id)
    }
}
