//! Many contacts at a time: bulk create/delete and opt-out (`207` multi-status answers, each
//! item matched back to its input), and upsert of many.

use std::collections::{HashMap, VecDeque};

use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;

use super::{BULK_MAX, ContactData, UpdateAction, UpsertAction};
use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::lenient;

/// One item of a 207 multi-status answer.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct MultiStatusItem {
    /// The contact key the item is about.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub contact_id: Option<String>,
    /// Per-item status (201, 204, 200, 400, 404).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub code: Option<i64>,
    /// Per-item message.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
}

/// A 207 multi-status answer `{time, errors, items}`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct MultiStatus {
    /// Processing time.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub time: Option<i64>,
    /// Number of failed items.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub errors: Option<i64>,
    /// Per-item results.
    #[serde(default, deserialize_with = "lenient::vec_or_empty")]
    pub items: Vec<MultiStatusItem>,
}

/// The outcome of one item of a batch helper: [`marketing_sync_core::ItemOutcome`] keyed by the item's
/// unique key (empty when it had none), with this crate's [`Error`].
///
/// ```
/// let o: splio_client::ItemOutcome<()> = marketing_sync_core::ItemOutcome::new(0, "a@example.com".into(), Ok(()));
/// assert!(o.is_ok());
/// ```
pub type ItemOutcome<T> = marketing_sync_core::ItemOutcome<String, T, Error>;

/// Per-item result of [`Client::upsert_many`].
pub type UpsertOutcome = ItemOutcome<UpsertAction>;

/// Per-item result of [`Client::update_many`].
pub type UpdateOutcome = ItemOutcome<UpdateAction>;

impl Client {
    /// Create many contacts with `POST /data/contacts/bulk` (1,000 per request, chunks run
    /// concurrently within the rate limit). Returns one outcome per input item, in input order;
    /// items without a unique key fail locally and are not sent. Not idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// use splio_client::ContactData;
    /// fake.seed_contact(ContactData::with_email("taken@example.com"));
    /// let out = client.bulk_create(&[ContactData::with_email("new@example.com"), ContactData::with_email("taken@example.com")]).await?;
    /// assert!(out[0].result.is_ok());
    /// assert!(out[1].result.as_ref().unwrap_err().is_already_exists());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn bulk_create(&self, contacts: &[ContactData]) -> Result<Vec<ItemOutcome<()>>> {
        let universe_key = self.unique_key().await?;
        let mut outcomes: Vec<Option<ItemOutcome<()>>> =
            (0..contacts.len()).map(|_| None).collect();
        let mut valid = Vec::new();
        for (index, c) in contacts.iter().enumerate() {
            match c
                .key_for(&universe_key)
                .and_then(|k| c.validate(&k).map(|_| k))
            {
                Ok(key) => valid.push((index, key)),
                Err(e) => {
                    outcomes[index] = Some(ItemOutcome {
                        index,
                        key: String::new(),
                        result: Err(e),
                    })
                }
            }
        }
        let chunks: Vec<Vec<(usize, String)>> = valid.chunks(BULK_MAX).map(<[_]>::to_vec).collect();
        let hour = self.inner.creation_date_hour;
        let results = futures::stream::iter(chunks.into_iter().map(|chunk| async move {
            let body = ContactData::bulk_body(chunk.iter().map(|(i, _)| &contacts[*i]), hour);
            let result = self
                .json::<MultiStatus>(Request::post("/data/contacts/bulk", body), "multi-status")
                .await;
            (chunk, result)
        }))
        .buffer_unordered(self.inner.concurrency)
        .collect::<Vec<_>>()
        .await;
        let mut unknown = Vec::new();
        for (chunk, result) in results {
            for o in multi_status_outcomes(&chunk, result, 201) {
                let index = o.index;
                if matches!(o.result, Err(Error::OutcomeUnknown { .. })) {
                    unknown.push((index, o.key.clone()));
                }
                outcomes[index] = Some(o);
            }
        }
        // The answer left these out: the create may have happened. Look before concluding.
        let found = futures::stream::iter(unknown.into_iter().map(|(index, key)| async move {
            let exists = match self.get_contact(&key).await {
                Ok(_) => Some(true),
                Err(e) if e.is_not_found() => Some(false),
                Err(e) => {
                    tracing::warn!(%key, error = %e, "could not look up a contact whose bulk outcome is unknown");
                    None
                }
            };
            (index, key, exists)
        }))
        .buffer_unordered(self.inner.concurrency)
        .collect::<Vec<_>>()
        .await;
        for (index, key, exists) in found {
            outcomes[index] = Some(ItemOutcome {
                index,
                key: key.clone(),
                result: Err(Error::OutcomeUnknown { key, exists }),
            });
        }
        Ok(outcomes.into_iter().flatten().collect())
    }

    /// Delete many contacts by key with `DELETE /data/contacts/bulk` (1,000 per request; Splio
    /// deletes asynchronously). Per-item outcomes: 204 is deleted, and so is 404: the contact
    /// is gone, and a request repeated after a lost answer gets 404 for every contact its
    /// first attempt deleted. Idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com"));
    /// let out = client.bulk_delete(&["a@example.com".into(), "nobody@example.com".into()]).await;
    /// assert!(out[0].result.is_ok() && out[1].result.is_ok()); // 404: not there, so deleted
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn bulk_delete(&self, keys: &[String]) -> Vec<ItemOutcome<()>> {
        let mut out = self
            .key_batches(keys, Request::delete("/data/contacts/bulk"), 204)
            .await;
        for o in &mut out {
            if matches!(o.result, Err(Error::Item { code: 404, .. })) {
                o.result = Ok(());
            }
        }
        out
    }

    /// Opt many contacts out of all lists with `POST /data/contacts/optout` (1,000 per request).
    /// Idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// let list = fake.seed_list("newsletter");
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com").list(list));
    /// let out = client.optout(&["a@example.com".into()]).await;
    /// assert!(out[0].result.is_ok());
    /// assert!(fake.contact("a@example.com").unwrap().lists.is_empty());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn optout(&self, keys: &[String]) -> Vec<ItemOutcome<()>> {
        let template =
            Request::new(reqwest::Method::POST, "/data/contacts/optout").idempotent(true);
        self.key_batches(keys, template, 200).await
    }

    async fn key_batches(
        &self,
        keys: &[String],
        template: Request,
        success: i64,
    ) -> Vec<ItemOutcome<()>> {
        let indexed: Vec<(usize, String)> = keys.iter().cloned().enumerate().collect();
        let chunks: Vec<Vec<(usize, String)>> =
            indexed.chunks(BULK_MAX).map(<[_]>::to_vec).collect();
        let template = &template;
        let mut results = futures::stream::iter(chunks.into_iter().map(|chunk| async move {
            let body = json!({ "contacts": chunk.iter().map(|(_, k)| k).collect::<Vec<_>>() });
            let result = self
                .json::<MultiStatus>(template.clone().json(body), "multi-status")
                .await;
            (chunk, result)
        }))
        .buffer_unordered(self.inner.concurrency)
        .flat_map(|(chunk, result)| {
            futures::stream::iter(multi_status_outcomes(&chunk, result, success))
        })
        .collect::<Vec<_>>()
        .await;
        results.sort_by_key(|o| o.index);
        results
    }

    /// Create or update many contacts: bulk-create them (1,000 per request), then PATCH (and
    /// subscribe lists for) the ones Splio reports as already existing. One outcome per input
    /// item, in input order; one bad item never sinks the rest.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) -> splio_client::Result<()> {
    /// use splio_client::ContactData;
    /// let batch = vec![ContactData::with_email("a@example.com"), ContactData::with_email("b@example.com")];
    /// for outcome in client.upsert_many(&batch).await? {
    ///     if let Err(e) = &outcome.result { eprintln!("{}: {e}", outcome.key); }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn upsert_many(&self, contacts: &[ContactData]) -> Result<Vec<UpsertOutcome>> {
        let created = self.bulk_create(contacts).await?;
        let results = futures::stream::iter(created.into_iter().map(|o| async move {
            let result = match o.result {
                Ok(()) => Ok(UpsertAction::Created),
                Err(e) if e.is_already_exists() => {
                    let contact = &contacts[o.index];
                    match self.patch_contact(&o.key, contact).await {
                        Ok(_) if !contact.lists.is_empty() => self
                            .subscribe(&o.key, &contact.lists)
                            .await
                            .map(|_| UpsertAction::Updated),
                        Ok(_) => Ok(UpsertAction::Updated),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            ItemOutcome {
                index: o.index,
                key: o.key,
                result,
            }
        }))
        .buffer_unordered(self.inner.concurrency)
        .collect::<Vec<_>>()
        .await;
        let mut results = results;
        results.sort_by_key(|o| o.index);
        Ok(results)
    }
}

impl Client {
    /// Update many contacts, never creating one: [`update`](Client::update) for each
    /// (concurrently within the rate limit). One outcome per input, in input order; a contact
    /// Splio does not have is `Ok(UpdateAction::NotFound)`, an item without a key or with a bad
    /// value fails alone. For "insert only if asked".
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # let client = fake.client();
    /// use splio_client::{ContactData, UpdateAction};
    /// fake.seed_contact(ContactData::with_email("ann@example.com"));
    /// let out = client.update_many(&[
    ///     ContactData::with_email("ann@example.com").firstname("Ann"),
    ///     ContactData::with_email("new@example.com").firstname("New"),
    ///     ContactData::default(),
    /// ]).await?;
    /// assert_eq!(out[0].result.as_ref().ok(), Some(&UpdateAction::Updated));
    /// assert_eq!(out[1].result.as_ref().ok(), Some(&UpdateAction::NotFound));
    /// assert!(out[2].result.is_err());
    /// assert!(fake.contact("new@example.com").is_none());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn update_many(&self, contacts: &[ContactData]) -> Result<Vec<UpdateOutcome>> {
        let universe_key = self.unique_key().await?;
        let universe_key = &universe_key;
        let mut results = futures::stream::iter(contacts.iter().enumerate().map(
            |(index, contact)| async move {
                let key = contact.key_for(universe_key).unwrap_or_default();
                ItemOutcome {
                    index,
                    key,
                    result: self.update(contact).await,
                }
            },
        ))
        .buffer_unordered(self.inner.concurrency)
        .collect::<Vec<_>>()
        .await;
        results.sort_by_key(|o| o.index);
        Ok(results)
    }
}

/// How Splio spells a key in `contact_id`: trimmed, lower case (emails are case-insensitive;
/// the documented answers show them in lower case).
fn normalised(key: &str) -> String {
    key.trim().to_lowercase()
}

/// Match a multi-status answer back to the chunk's items: an item to the input its
/// `contact_id` names (normalised), never by position (an answer may come in another order).
/// An input left without an item is [`Error::OutcomeUnknown`]. A failed request fails every item of its chunk with the
/// request's status (retryable when the request was).
fn multi_status_outcomes(
    chunk: &[(usize, String)],
    result: Result<MultiStatus>,
    success: i64,
) -> Vec<ItemOutcome<()>> {
    let status = match result {
        Ok(s) => s,
        Err(e) => {
            let code = e.status().unwrap_or(0);
            let description = e.to_string();
            return chunk
                .iter()
                .map(|(index, key)| ItemOutcome {
                    index: *index,
                    key: key.clone(),
                    result: Err(Error::Item {
                        key: key.clone(),
                        code,
                        description: description.clone(),
                    }),
                })
                .collect();
        }
    };
    let mut by_key: HashMap<String, VecDeque<usize>> = HashMap::new();
    for (pos, (_, key)) in chunk.iter().enumerate() {
        by_key.entry(normalised(key)).or_default().push_back(pos);
    }
    let mut matched: Vec<Option<&MultiStatusItem>> = vec![None; chunk.len()];
    let mut unmatched = 0usize;
    for item in &status.items {
        let pos = item
            .contact_id
            .as_deref()
            .and_then(|id| by_key.get_mut(&normalised(id)))
            .and_then(VecDeque::pop_front);
        match pos {
            Some(pos) => matched[pos] = Some(item),
            None => unmatched += 1,
        }
    }
    if unmatched > 0 {
        tracing::warn!(
            items = status.items.len(),
            inputs = chunk.len(),
            unmatched,
            "multi-status items name no input: the outcomes of the inputs left without an item are unknown"
        );
    }
    chunk
        .iter()
        .zip(matched)
        .map(|((index, key), item)| {
            let result = match item {
                Some(item)
                    if item
                        .code
                        .is_some_and(|c| c == success || (200..300).contains(&c)) =>
                {
                    Ok(())
                }
                Some(item) => Err(Error::Item {
                    key: key.clone(),
                    code: item.code.unwrap_or(0).clamp(0, u16::MAX as i64) as u16,
                    description: item.description.clone().unwrap_or_default(),
                }),
                None => Err(Error::OutcomeUnknown {
                    key: key.clone(),
                    exists: None,
                }),
            };
            ItemOutcome {
                index: *index,
                key: key.clone(),
                result,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_status_matches_by_key() {
        let chunk = vec![(0, "a@x.com".to_string()), (1, "b@x.com".to_string())];
        let status: MultiStatus = serde_json::from_str(
            r#"{"time":59,"errors":1,"items":[{"contact_id":"B@x.com","code":400,"description":"Contact with unique key b@x.com already exists"},{"contact_id":"a@x.com","code":"201","description":""}]}"#,
        )
        .unwrap();
        let out = multi_status_outcomes(&chunk, Ok(status), 201);
        assert!(out[0].result.is_ok());
        assert!(out[1].result.as_ref().unwrap_err().is_already_exists());
    }

    proptest::proptest! {
        /// Whatever order the answer lists its items in, each input gets its own item's
        /// outcome; an input whose item is missing or names no input is unknown, never given
        /// the outcome of the item at its position.
        #[test]
        fn outcomes_follow_keys_in_any_order(
            codes in proptest::collection::vec(proptest::sample::select(vec![201i64, 400]), 1..12),
            seed in proptest::prelude::any::<u64>(),
            drop_one in proptest::prelude::any::<bool>(),
        ) {
            let chunk: Vec<(usize, String)> =
                (0..codes.len()).map(|i| (i, format!("k{i}@x.com"))).collect();
            let mut items: Vec<serde_json::Value> = chunk
                .iter()
                .zip(&codes)
                .map(|((_, k), code)| serde_json::json!({"contact_id": k.to_uppercase(), "code": code, "description": ""}))
                .collect();
            // A deterministic shuffle from the seed.
            let mut state = seed | 1;
            for i in (1..items.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                items.swap(i, (state % (i as u64 + 1)) as usize);
            }
            // Either one item is missing, or one names no input (an internal id): both leave
            // their input unknown, whatever position the item has.
            let dropped = if drop_one {
                items.pop()
            } else {
                let original = items[0].clone();
                items[0]["contact_id"] = serde_json::json!("999");
                Some(original)
            };
            let status: MultiStatus =
                serde_json::from_value(serde_json::json!({"time": 1, "errors": 0, "items": items})).unwrap();
            let out = multi_status_outcomes(&chunk, Ok(status), 201);
            for (o, code) in out.iter().zip(&codes) {
                let was_dropped = dropped
                    .as_ref()
                    .is_some_and(|d| d["contact_id"].as_str() == Some(o.key.to_uppercase().as_str()));
                match (&o.result, was_dropped, code) {
                    (Err(Error::OutcomeUnknown { .. }), true, _) => {}
                    (Ok(()), false, 201) => {}
                    (Err(Error::Item { code: 400, .. }), false, 400) => {}
                    other => proptest::prop_assert!(false, "{}: {:?}", o.key, other),
                }
            }
        }
    }
}
