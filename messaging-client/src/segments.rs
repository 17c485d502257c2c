//! Segments (groups): list, members, attach/detach contacts to static segments.

use futures::{Stream, TryStreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Client, Request};
use crate::contacts::{Contact, MAX_PAGE_SIZE, page_size};
use crate::de;
use crate::error::{Error, Result};
use crate::paging::all_pages;

/// A segment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Segment {
    /// Id.
    #[serde(deserialize_with = "de::i64_lenient")]
    pub id: i64,
    /// Name.
    #[serde(default, deserialize_with = "de::string_lenient")]
    pub name: String,
    /// `Static`, `Dynamic` or `Combined` (`type` on the wire).
    #[serde(rename = "type", default, deserialize_with = "de::string_lenient")]
    pub kind: String,
}

/// Contact ids per attach/detach request ("max. 500" [OpenAPI `ModifyContactsInGroup`]).
pub const MEMBERSHIP_CHUNK: usize = 500;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModifyContacts<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_ids: Option<&'a [i64]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_customer_ids: Option<&'a [&'a str]>,
}

impl Client {
    /// Lists every segment (optionally those whose name matches `name`), paging to the end.
    /// Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// let vip = client.list_segments(Some("VIP")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_segments(&self, name: Option<&str>) -> Result<Vec<Segment>> {
        let client = self.clone();
        let name = name.map(str::to_owned);
        all_pages(MAX_PAGE_SIZE, move |start| {
            let client = client.clone();
            let name = name.clone();
            async move {
                let mut req = Request::new(Method::GET, &["v1", "groups"]);
                if let Some(n) = name {
                    req = req.query("name", n);
                }
                let req = req
                    .query("startindex", start)
                    .query("maxrows", MAX_PAGE_SIZE);
                client
                    .send(req)
                    .await?
                    .decode_opt::<de::List<Segment>>("segments")
                    .map(|l| l.map(|l| l.0).unwrap_or_default())
            }
        })
        .try_collect()
        .await
    }

    /// Streams the contacts of a segment, `page_size` (≤ 500, default 500) at a time, to the end.
    /// Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use futures::TryStreamExt;
    /// let members: Vec<_> = client.segment_contacts(7, None).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn segment_contacts(
        &self,
        segment_id: i64,
        page_size_hint: Option<u32>,
    ) -> impl Stream<Item = Result<Contact>> + Send + 'static {
        let client = self.clone();
        let rows = page_size(page_size_hint).unwrap_or(MAX_PAGE_SIZE);
        all_pages(rows, move |start| {
            let client = client.clone();
            async move {
                let rows = page_size(page_size_hint)?;
                let req = Request::new(
                    Method::GET,
                    &["v1", "group", &segment_id.to_string(), "contacts"],
                )
                .query("startindex", start)
                .query("maxrows", rows);
                client
                    .send(req)
                    .await?
                    .decode_opt::<de::List<Contact>>("segment contacts")
                    .map(|l| l.map(|l| l.0).unwrap_or_default())
            }
        })
    }

    /// Adds contacts to a static segment, in requests of at most 500 ids (one after the other);
    /// returns the service's plain-text answer to the last. Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// client.attach_contacts(7, &[1001, 1002]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn attach_contacts(&self, segment_id: i64, contact_ids: &[i64]) -> Result<String> {
        self.membership(segment_id, "attach", contact_ids).await
    }

    /// Removes contacts from a static segment, in requests of at most 500 ids; returns the
    /// service's plain-text answer to the last (e.g. `Contacts were detached`). Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// client.detach_contacts(7, &[1001]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn detach_contacts(&self, segment_id: i64, contact_ids: &[i64]) -> Result<String> {
        self.membership(segment_id, "detach", contact_ids).await
    }

    /// Adds contacts named by `externalCustomerId` to a static segment, in requests of at most
    /// 500 ids; returns the service's plain-text answer to the last. Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// client.attach_external_ids(7, &["C-1", "C-2"]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn attach_external_ids<S: AsRef<str>>(
        &self,
        segment_id: i64,
        external_customer_ids: &[S],
    ) -> Result<String> {
        self.membership_by_external(segment_id, "attach", external_customer_ids)
            .await
    }

    /// Removes contacts named by `externalCustomerId` from a static segment, in requests of at
    /// most 500 ids. An empty list is refused: the service reads a detach without ids as
    /// "remove everyone" (OA `detachContactsFromGroup`). Idempotent.
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// client.detach_external_ids(7, &["C-1"]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn detach_external_ids<S: AsRef<str>>(
        &self,
        segment_id: i64,
        external_customer_ids: &[S],
    ) -> Result<String> {
        self.membership_by_external(segment_id, "detach", external_customer_ids)
            .await
    }

    async fn membership_by_external<S: AsRef<str>>(
        &self,
        segment_id: i64,
        action: &str,
        ids: &[S],
    ) -> Result<String> {
        let ids: Vec<&str> = ids.iter().map(AsRef::as_ref).collect();
        if let Some(n) = ids.iter().position(|id| id.trim().is_empty()) {
            return Err(Error::invalid(
                format!("externalCustomerIds[{n}]"),
                "must not be empty",
            ));
        }
        let parts: Vec<ModifyContacts<'_>> = ids
            .chunks(MEMBERSHIP_CHUNK)
            .map(|part| ModifyContacts {
                contact_ids: None,
                external_customer_ids: Some(part),
            })
            .collect();
        self.membership_requests(segment_id, action, "externalCustomerIds", parts)
            .await
    }

    async fn membership(
        &self,
        segment_id: i64,
        action: &str,
        contact_ids: &[i64],
    ) -> Result<String> {
        let parts: Vec<ModifyContacts<'_>> = contact_ids
            .chunks(MEMBERSHIP_CHUNK)
            .map(|part| ModifyContacts {
                contact_ids: Some(part),
                external_customer_ids: None,
            })
            .collect();
        self.membership_requests(segment_id, action, "contactIds", parts)
            .await
    }

    /// One request per part, one identifier kind each (OA: "by contact ids or external
    /// customer ids").
    async fn membership_requests(
        &self,
        segment_id: i64,
        action: &str,
        field: &str,
        parts: Vec<ModifyContacts<'_>>,
    ) -> Result<String> {
        if parts.is_empty() {
            // A detach without ids removes everyone from the segment (OA
            // `detachContactsFromGroup`): never send one; an empty attach does nothing.
            return Err(Error::invalid(field, "at least one id is required"));
        }
        let mut answer = String::new();
        for part in parts {
            let req = Request::new(
                Method::POST,
                &["v1", "group", &segment_id.to_string(), "contacts", action],
            )
            .json(&part)?
            // Membership is a set: attaching (detaching) a contact twice ends as once.
            .idempotent(true);
            answer = self.send(req).await?.text();
        }
        Ok(answer)
    }
}
