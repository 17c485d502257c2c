//! Static groups (`/target/groups`): create, add or remove members by unique key, clear, list.
//! The natural target of a segment activation. Paths, bodies and answers from the OpenAPI
//! document: at most 10,000 keys per request ("To add more contacts, you should use endpoint
//! group/{id}/add as many times as necessary").

use futures::Stream;
use serde::Deserialize;
use serde_json::json;

use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::lenient;

/// Most keys one group request takes.
pub const GROUP_KEYS_MAX: usize = 10_000;

/// A group, as created (`group` of the `201`) or listed (`GET /target/groups/list`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct Group {
    /// Group id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    /// Internal id (list answers).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub intid: Option<i64>,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description (creation answer).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
    /// Members (creation answer).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub members: Option<i64>,
    /// Who created it (creation answer).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_creator: Option<String>,
    /// Source (creation answer).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub source: Option<String>,
    /// Tags (list answers).
    #[serde(default, deserialize_with = "lenient::vec_or_empty")]
    pub tags: Vec<String>,
    /// Status, e.g. `active` (list answers).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    /// Last update (list answers; `0000-00-00 00:00:00` when never).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub updated_at: Option<String>,
    /// Members with an email (list answers).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub nb_emails: Option<i64>,
    /// Members with a cellphone (list answers).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub nb_sms: Option<i64>,
}

/// A group to create.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewGroup {
    /// Name (required).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Source, e.g. the integration's name.
    pub source: Option<String>,
    /// Members' unique keys (any number: past 10,000 they are added in further requests).
    pub keys: Vec<String>,
}

/// What a group creation answered.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct CreatedGroup {
    /// The group.
    #[serde(default)]
    pub group: Group,
    /// Keys no contact has (not added).
    #[serde(default, deserialize_with = "lenient::vec_or_empty")]
    pub keys_not_found: Vec<String>,
}

/// What adding or removing members answered (summed over the requests it took).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct GroupChange {
    /// The group.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub group_id: Option<i64>,
    /// Members after the change.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub nb_total_contacts: Option<i64>,
    /// Members added (add).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub nb_inserted_contacts: Option<i64>,
    /// Members removed (remove).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub nb_removed_contacts: Option<i64>,
    /// Keys no contact has.
    #[serde(default, deserialize_with = "lenient::vec_or_empty")]
    pub keys_not_found: Vec<String>,
}

impl GroupChange {
    fn merge(&mut self, next: GroupChange) {
        let add = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
        self.group_id = next.group_id.or(self.group_id);
        self.nb_total_contacts = next.nb_total_contacts.or(self.nb_total_contacts);
        self.nb_inserted_contacts = add(self.nb_inserted_contacts, next.nb_inserted_contacts);
        self.nb_removed_contacts = add(self.nb_removed_contacts, next.nb_removed_contacts);
        self.keys_not_found.extend(next.keys_not_found);
    }
}

fn check_keys(what: &str, keys: &[String]) -> Result<()> {
    if keys.is_empty() {
        return Err(Error::invalid(what, "keys", "at least one key"));
    }
    if let Some(i) = keys.iter().position(|k| k.trim().is_empty()) {
        return Err(Error::invalid(what, format!("keys[{i}]"), "empty key"));
    }
    Ok(())
}

impl Client {
    /// Create a static group (`POST /target/groups`) with its members; past 10,000 keys the
    /// rest go in `add` requests. Not idempotent (a repeat would make a second group): when
    /// those `add` requests fail, the error is [`Error::GroupIncomplete`], naming the group and
    /// the keys still to add.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::{ContactData, NewGroup};
    /// fake.seed_contact(ContactData::with_email("ann@example.com"));
    /// let created = client.create_group(&NewGroup {
    ///     name: "basket > 100".into(),
    ///     keys: vec!["ann@example.com".into(), "nobody@example.com".into()],
    ///     ..NewGroup::default()
    /// }).await?;
    /// assert_eq!(created.group.members, Some(1));
    /// assert_eq!(created.keys_not_found, vec!["nobody@example.com".to_string()]);
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn create_group(&self, group: &NewGroup) -> Result<CreatedGroup> {
        if group.name.trim().is_empty() {
            return Err(Error::invalid("new group", "name", "must not be empty"));
        }
        if !group.keys.is_empty() {
            check_keys("new group", &group.keys)?;
        }
        let first = &group.keys[..group.keys.len().min(GROUP_KEYS_MAX)];
        let mut body = json!({ "name": group.name, "keys": first });
        if let Some(d) = &group.description {
            body["description"] = json!(d);
        }
        if let Some(s) = &group.source {
            body["source"] = json!(s);
        }
        let mut created: CreatedGroup = self
            .json(Request::post("/target/groups", body), "created group")
            .await?;
        let rest = &group.keys[first.len()..];
        if !rest.is_empty() {
            // The group exists: whatever goes wrong from here must not read as safe to resend.
            let id = created.group.id.ok_or_else(|| Error::OutcomeUnknown {
                key: "POST /target/groups".into(),
                reason: format!(
                    "Splio created the group {:?} but its answer has no id, so the {} keys past \
                     the first 10,000 were not added",
                    group.name,
                    group.keys.len() - first.len()
                ),
                exists: None,
            })?;
            match self.add_to_group(id as u64, rest).await {
                Ok(change) => {
                    created.keys_not_found.extend(change.keys_not_found);
                    created.group.members = change.nb_total_contacts.or(created.group.members);
                }
                Err(cause) => {
                    return Err(Error::GroupIncomplete {
                        group_id: id,
                        created: Box::new(created),
                        pending_keys: rest.to_vec(),
                        cause: Box::new(cause),
                    });
                }
            }
        }
        Ok(created)
    }

    /// Add members by unique key (`POST /target/groups/{id}/add`, 10,000 keys per request).
    /// Idempotent: a key already in the group stays once.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::{ContactData, NewGroup};
    /// fake.seed_contact(ContactData::with_email("ann@example.com"));
    /// let id = client.create_group(&NewGroup { name: "vip".into(), ..NewGroup::default() }).await?.group.id.unwrap();
    /// let change = client.add_to_group(id as u64, &["ann@example.com".into()]).await?;
    /// assert_eq!((change.nb_inserted_contacts, change.nb_total_contacts), (Some(1), Some(1)));
    /// let change = client.remove_from_group(id as u64, &["ann@example.com".into()]).await?;
    /// assert_eq!(change.nb_removed_contacts, Some(1));
    /// client.clear_group(id as u64).await?;
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn add_to_group(&self, id: u64, keys: &[String]) -> Result<GroupChange> {
        self.group_change(id, "add", keys).await
    }

    /// Remove members by unique key (`POST /target/groups/{id}/remove`, 10,000 keys per
    /// request). Idempotent. See [`add_to_group`](Self::add_to_group) for an example.
    pub async fn remove_from_group(&self, id: u64, keys: &[String]) -> Result<GroupChange> {
        self.group_change(id, "remove", keys).await
    }

    async fn group_change(&self, id: u64, action: &str, keys: &[String]) -> Result<GroupChange> {
        check_keys("group change", keys)?;
        let mut total = GroupChange::default();
        for chunk in keys.chunks(GROUP_KEYS_MAX) {
            let request = Request::post(
                format!("/target/groups/{id}/{action}"),
                json!({ "keys": chunk }),
            )
            .idempotent(true);
            let change: GroupChange = self.json(request, "group change").await?;
            total.merge(change);
        }
        Ok(total)
    }

    /// Remove every member (`POST /target/groups/{id}/clear`, no body). Idempotent. See
    /// [`add_to_group`](Self::add_to_group) for an example.
    pub async fn clear_group(&self, id: u64) -> Result<()> {
        let request = Request::new(reqwest::Method::POST, format!("/target/groups/{id}/clear"))
            .idempotent(true);
        self.send(request).await.map(drop)
    }

    /// Stream every group (`GET /target/groups/list`, paged). Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) -> splio_client::Result<()> {
    /// use futures::TryStreamExt;
    /// let groups: Vec<splio_client::Group> = client.groups().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn groups(&self) -> impl Stream<Item = Result<Group>> + Send + 'static {
        self.paged(|| Request::get("/target/groups/list"))
    }
}
