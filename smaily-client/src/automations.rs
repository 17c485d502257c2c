//! Automations: trigger a workflow / opt in (`POST autoresponder.php`), list workflows
//! (`GET autoresponder.php`, `GET workflows.php`).

use jiff::Zoned;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::answer::Listing;
use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::subscribers::Subscriber;

/// An `autoresponder.php` trigger: upserts the addresses and (with `autoresponder`) enrols
/// them in that "form submitted" workflow.
///
/// Consent is kept by default: `force_opt_in: false` is always sent (Smaily's own default
/// re-subscribes opted-out people; the official WordPress plugin,
/// `includes/Smaily/Client.php` `trigger_automation`, defaults it to `false` too). Opting
/// people in takes [`force_opt_in(true)`](Self::force_opt_in), by name.
///
/// ```
/// use smaily_client::{AutomationTrigger, Subscriber};
/// let t = AutomationTrigger::new([Subscriber::new("mari@example.com")]).workflow(12);
/// assert_eq!(t.autoresponder, Some(12));
/// assert!(!t.force_opt_in); // opted-out people stay opted out
/// let opt_in = t.force_opt_in(true); // asked for by name
/// assert!(opt_in.force_opt_in);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomationTrigger {
    /// The workflow id; `None` is a plain opt-in.
    pub autoresponder: Option<u64>,
    /// The addresses (email plus optional status and custom fields).
    pub addresses: Vec<Subscriber>,
    /// `force_opt_in`, always sent (undocumented; Smaily's default when it is absent is
    /// `true`, re-subscribing unsubscribed contacts). `false` (the default here) fires without
    /// changing anyone's consent.
    pub force_opt_in: bool,
    /// `is_abandoned_cart` (undocumented flag the official abandoned-cart crons send).
    pub is_abandoned_cart: Option<bool>,
}

impl AutomationTrigger {
    /// A trigger for these addresses with no workflow (plain opt-in).
    pub fn new(addresses: impl IntoIterator<Item = Subscriber>) -> Self {
        AutomationTrigger {
            autoresponder: None,
            addresses: addresses.into_iter().collect(),
            force_opt_in: false,
            is_abandoned_cart: None,
        }
    }

    /// Enrols the addresses in this workflow.
    pub fn workflow(mut self, id: u64) -> Self {
        self.autoresponder = Some(id);
        self
    }

    /// Sets `force_opt_in`: `true` re-subscribes opted-out addresses (default `false`).
    pub fn force_opt_in(mut self, force: bool) -> Self {
        self.force_opt_in = force;
        self
    }

    /// Sets `is_abandoned_cart`.
    pub fn abandoned_cart(mut self, flag: bool) -> Self {
        self.is_abandoned_cart = Some(flag);
        self
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(id) = self.autoresponder {
            m.insert("autoresponder".into(), json!(id));
        }
        m.insert(
            "addresses".into(),
            Value::Array(self.addresses.iter().map(Subscriber::to_json).collect()),
        );
        m.insert("force_opt_in".into(), json!(self.force_opt_in));
        if let Some(f) = self.is_abandoned_cart {
            m.insert("is_abandoned_cart".into(), json!(f));
        }
        Value::Object(m)
    }
}

#[derive(Deserialize)]
struct TriggerAnswer {
    #[serde(default)]
    addresses: Vec<String>,
}

/// A workflow as `GET autoresponder.php` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Workflow {
    /// Id.
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub name: String,
    /// `ACTIVE` or `INACTIVE`.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub status: String,
    /// Created (Tallinn-local on the wire).
    #[serde(default, deserialize_with = "crate::de::opt_time::deserialize")]
    pub created_at: Option<Zoned>,
    /// Activated.
    #[serde(default, deserialize_with = "crate::de::opt_time::deserialize")]
    pub activated_at: Option<Zoned>,
    /// Tags.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub tags: Vec<String>,
    /// Sections (each sends one template).
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub sections: Vec<WorkflowSection>,
}

/// A section of a workflow.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct WorkflowSection {
    /// Id.
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub name: String,
    /// Its template.
    #[serde(default)]
    pub template: Option<TemplateRef>,
}

/// A reference to a template (`{id, name, preview_url}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct TemplateRef {
    /// Id.
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "crate::de::null_default")]
    pub name: String,
    /// Preview URL.
    #[serde(default)]
    pub preview_url: Option<String>,
}

/// A triggerable ("form submitted") workflow as the undocumented `workflows.php` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "RawFormWorkflow")]
#[non_exhaustive]
pub struct FormWorkflow {
    /// Id.
    pub id: u64,
    /// `title` (older plugins) or `name` (newer); `title` wins when both are sent.
    pub title: String,
    /// `is_enabled`, when sent.
    pub is_enabled: Option<bool>,
}

/// The wire form: the service may send `title`, `name`, or both.
#[derive(Deserialize)]
struct RawFormWorkflow {
    #[serde(deserialize_with = "crate::de::int::deserialize")]
    id: u64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    is_enabled: Option<bool>,
}

impl From<RawFormWorkflow> for FormWorkflow {
    fn from(raw: RawFormWorkflow) -> Self {
        FormWorkflow {
            id: raw.id,
            title: raw.title.or(raw.name).unwrap_or_default(),
            is_enabled: raw.is_enabled,
        }
    }
}

fn opt_bool<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => crate::de::value_to_bool(&v)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("expected a boolean, got {v}"))),
    }
}

/// Filters for [`Client::workflows`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkflowQuery {
    /// `status[]`: `ACTIVE` / `INACTIVE`.
    pub status: Vec<String>,
    /// `limit` (0 or `None` = all).
    pub limit: Option<u32>,
    /// `page`.
    pub page: Option<u32>,
    /// `sort_order`: `ASC` / `DESC` (sorted by `created_at`).
    pub sort_order: Option<String>,
}

impl Client {
    /// Triggers an automation / opts addresses in (`POST autoresponder.php`); returns the
    /// addresses Smaily accepted (cleaned). **Not idempotent** (a repeat enrols and sends
    /// twice): retried only on a connect failure or a 429. An INACTIVE workflow answers OK and
    /// sends nothing; a workflow whose trigger is not "form submitted" gives code 221.
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use smaily_client::{AutomationTrigger, Subscriber};
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// let accepted = fake.client()
    ///     .trigger_automation(&AutomationTrigger::new([Subscriber::new("mari@example.com")]).workflow(1))
    ///     .await.unwrap();
    /// assert_eq!(accepted, ["mari@example.com"]);
    /// assert_eq!(fake.triggers()[0].autoresponder, Some(1));
    /// # });
    /// ```
    pub async fn trigger_automation(&self, trigger: &AutomationTrigger) -> Result<Vec<String>> {
        if trigger.addresses.is_empty() {
            return Err(Error::invalid(
                "addresses",
                "at least one address is required",
            ));
        }
        let req = Request::post("autoresponder.php", trigger.to_json());
        let answer: TriggerAnswer = self.write(req, "a trigger result").await?;
        Ok(answer.addresses)
    }

    /// Lists workflows (`GET autoresponder.php`). Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// let flows = fake.client().workflows(&Default::default()).await.unwrap();
    /// assert_eq!(flows[0].name, "Welcome");
    /// # });
    /// ```
    pub async fn workflows(&self, query: &WorkflowQuery) -> Result<Listing<Workflow>> {
        let mut req = Request::get("autoresponder.php")
            .query_opt("limit", query.limit)
            .query_opt("page", query.page)
            .query_opt("sort_order", query.sort_order.as_deref());
        if query.sort_order.is_some() {
            req = req.query("sort_by", "created_at");
        }
        for s in &query.status {
            req = req.query("status[]", s);
        }
        self.read_list(req, "a list of workflows").await
    }

    /// Lists the workflows that can be triggered (`GET workflows.php?trigger_type=form_submitted`,
    /// undocumented but used by the official plugins; treat as unstable). Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// let workflows = fake.client().form_workflows().await?;
    /// assert_eq!(workflows[0].title, "Welcome");
    /// let request = fake.smaily_requests().pop().unwrap();
    /// assert_eq!(request.query_pairs(), [("trigger_type".into(), "form_submitted".into())]);
    /// # Ok::<(), smaily_client::Error>(()) }).unwrap();
    /// ```
    pub async fn form_workflows(&self) -> Result<Listing<FormWorkflow>> {
        let req = Request::get("workflows.php").query("trigger_type", "form_submitted");
        self.read_list(req, "a list of workflows").await
    }
}

#[cfg(test)]
mod tests {
    use super::FormWorkflow;

    #[test]
    fn form_workflows_take_title_or_name_or_both() {
        let flows: Vec<FormWorkflow> = serde_json::from_str(
            r#"[{"id": "1", "title": "Old"}, {"id": 2, "name": "New", "is_enabled": "1"},
                {"id": 3, "title": "Both", "name": "Ignored"}, {"id": 4}]"#,
        )
        .unwrap();
        let titles: Vec<_> = flows.iter().map(|f| (f.id, f.title.as_str())).collect();
        assert_eq!(titles, [(1, "Old"), (2, "New"), (3, "Both"), (4, "")]);
        assert_eq!(flows[1].is_enabled, Some(true));
    }
}
