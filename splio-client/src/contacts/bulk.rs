//! Many contacts at a time: bulk create/delete and opt-out (`207` multi-status answers, each
//! item matched back to its input), and upsert of many.

use std::collections::{HashMap, VecDeque};

use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;

use std::sync::Arc;

use super::{BULK_MAX, ContactData, UpdateAction, UpsertAction};
use crate::client::{Client, Request};
use crate::error::{Error, ItemError, Result};
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

/// The outcome of one contact of a batch call ([`Client::bulk_create`],
/// [`Client::upsert_many`], [`Client::update_many`], [`Client::bulk_delete`],
/// [`Client::optout`]): [`marketing_sync_core::ItemOutcome`] keyed by the contact's unique key
/// (empty when it had none), with this crate's [`ItemError`].
///
/// ```
/// let o: splio_client::ContactOutcome<()> = splio_client::ItemOutcome::new(0, "a@example.com".into(), Ok(()));
/// assert!(o.is_ok());
/// ```
pub type ContactOutcome<T> = marketing_sync_core::ItemOutcome<String, T, ItemError>;

/// Every item of `keys` failed with one error (shared), as when the call failed before any
/// request.
pub(crate) fn all_failed<T>(
    keys: impl IntoIterator<Item = String>,
    e: Error,
) -> Vec<ContactOutcome<T>> {
    let e = Arc::new(e);
    keys.into_iter()
        .enumerate()
        .map(|(index, key)| ContactOutcome::new(index, key, Err(ItemError::Failed(e.clone()))))
        .collect()
}

/// Every item of `chunk` (position, key) gets `error`, as when the request carrying them
/// failed.
pub(crate) fn chunk_failed<T>(
    chunk: &[(usize, String)],
    error: &ItemError,
) -> Vec<ContactOutcome<T>> {
    chunk
        .iter()
        .map(|(index, key)| ContactOutcome::new(*index, key.clone(), Err(error.clone())))
        .collect()
}

impl Client {
    /// Create many contacts with `POST /data/contacts/bulk` (1,000 per request, chunks run
    /// concurrently within the rate limit). Returns one outcome per input item, in input order;
    /// items without a unique key fail locally and are not sent. Not idempotent: a chunk whose
    /// answer was lost (timeout, cut connection) gives [`ItemError::OutcomeUnknown`] to each of
    /// its contacts, and is not resent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::ContactData;
    /// fake.seed_contact(ContactData::with_email("taken@example.com"));
    /// let out = client.bulk_create(&[ContactData::with_email("new@example.com"), ContactData::with_email("taken@example.com")]).await;
    /// assert!(out[0].result.is_ok());
    /// assert!(out[1].result.as_ref().unwrap_err().is_already_exists());
    /// # }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    #[must_use = "each contact has its own outcome: check them"]
    pub async fn bulk_create(&self, contacts: &[ContactData]) -> Vec<ContactOutcome<()>> {
        let universe_key = match self.unique_key().await {
            Ok(k) => k,
            Err(e) => return all_failed(contacts.iter().map(|_| String::new()), e),
        };
        let mut outcomes: Vec<Option<ContactOutcome<()>>> =
            (0..contacts.len()).map(|_| None).collect();
        let mut valid = Vec::new();
        for (index, c) in contacts.iter().enumerate() {
            match c
                .key_for(&universe_key)
                .and_then(|k| c.validate(&k).map(|_| k))
            {
                Ok(key) => valid.push((index, key)),
                Err(e) => {
                    outcomes[index] = Some(ContactOutcome::new(
                        index,
                        String::new(),
                        Err(ItemError::Failed(Arc::new(e))),
                    ))
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
        let mut unmatched = Vec::new();
        for (chunk, result) in results {
            for (o, named) in multi_status_outcomes(&chunk, result, 201) {
                if !named {
                    unmatched.push((o.index, o.key.clone()));
                }
                let index = o.index;
                outcomes[index] = Some(o);
            }
        }
        // The answer left these out: the create may have happened. Look before concluding.
        let found = futures::stream::iter(unmatched.into_iter().map(|(index, key)| async move {
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
            let result = match exists {
                // Looked up and absent: not created, safe to resend.
                Some(false) => ItemError::Failed(Arc::new(Error::OutcomeUnknown {
                    key: key.clone(),
                    reason: "Splio's answer named no outcome for it".into(),
                    exists,
                })),
                Some(true) => ItemError::OutcomeUnknown {
                    reason: "Splio's answer named no outcome for it; the contact exists now (created by this request or before it)".into(),
                },
                None => ItemError::OutcomeUnknown {
                    reason: "Splio's answer named no outcome for it, and looking it up failed".into(),
                },
            };
            outcomes[index] = Some(ContactOutcome::new(index, key, Err(result)));
        }
        outcomes.into_iter().flatten().collect()
    }

    /// Delete many contacts by key with `DELETE /data/contacts/bulk` (1,000 per request; Splio
    /// deletes asynchronously). Per-item outcomes: 204 is deleted, and so is 404: the contact
    /// is gone, and a request repeated after a lost answer gets 404 for every contact its
    /// first attempt deleted. Idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com"));
    /// let out = client.bulk_delete(&["a@example.com".into(), "nobody@example.com".into()]).await;
    /// assert!(out[0].result.is_ok() && out[1].result.is_ok()); // 404: not there, so deleted
    /// # }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    #[must_use = "each contact has its own outcome: check them"]
    pub async fn bulk_delete(&self, keys: &[String]) -> Vec<ContactOutcome<()>> {
        let mut out = self
            .key_batches(keys, Request::delete("/data/contacts/bulk"), 204)
            .await;
        for o in &mut out {
            if matches!(o.result, Err(ItemError::Rejected { code: 404, .. })) {
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
    /// # async fn main() {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// let list = fake.seed_list("newsletter");
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com").list(list));
    /// let out = client.optout(&["a@example.com".into()]).await;
    /// assert!(out[0].result.is_ok());
    /// assert!(fake.contact("a@example.com").unwrap().lists.is_empty());
    /// # }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    #[must_use = "each contact has its own outcome: check them"]
    pub async fn optout(&self, keys: &[String]) -> Vec<ContactOutcome<()>> {
        let template =
            Request::new(reqwest::Method::POST, "/data/contacts/optout").idempotent(true);
        self.key_batches(keys, template, 200).await
    }

    async fn key_batches(
        &self,
        keys: &[String],
        template: Request,
        success: i64,
    ) -> Vec<ContactOutcome<()>> {
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
            futures::stream::iter(
                multi_status_outcomes(&chunk, result, success)
                    .into_iter()
                    .map(|(o, _)| o),
            )
        })
        .collect::<Vec<_>>()
        .await;
        results.sort_by_key(|o| o.index);
        results
    }

    /// Create or update many contacts: bulk-create them (1,000 per request), then PATCH (and
    /// subscribe lists for) the ones Splio reports as already existing, and the ones whose
    /// create's outcome is unknown (a lost answer: the PATCH settles it, and a 404 there
    /// creates the contact singly). One outcome per input item, in input order; one bad item
    /// never sinks the rest. Idempotent as a whole.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) {
    /// use splio_client::ContactData;
    /// let batch = vec![ContactData::with_email("a@example.com"), ContactData::with_email("b@example.com")];
    /// for outcome in client.upsert_many(&batch).await {
    ///     if let Err(e) = &outcome.result { eprintln!("{}: {e}", outcome.key); }
    /// }
    /// # }
    /// ```
    #[must_use = "each contact has its own outcome: check them"]
    pub async fn upsert_many(&self, contacts: &[ContactData]) -> Vec<ContactOutcome<UpsertAction>> {
        let created = self.bulk_create(contacts).await;
        let mut results = futures::stream::iter(created.into_iter().map(|o| async move {
            let contact = &contacts[o.index];
            let result = match o.result {
                Ok(()) => Ok(UpsertAction::Created),
                Err(e) if e.is_already_exists() => self
                    .patch_and_subscribe(&o.key, contact)
                    .await
                    .map(|()| UpsertAction::Updated)
                    .map_err(ItemError::from_call),
                // It may exist: settle it the way a single upsert does.
                Err(e) if e.is_outcome_unknown() => {
                    self.upsert(contact).await.map_err(ItemError::from_call)
                }
                Err(e) => Err(e),
            };
            ContactOutcome::new(o.index, o.key, result)
        }))
        .buffer_unordered(self.inner.concurrency)
        .collect::<Vec<_>>()
        .await;
        results.sort_by_key(|o| o.index);
        results
    }

    async fn patch_and_subscribe(&self, key: &str, contact: &ContactData) -> Result<()> {
        self.patch_contact(key, contact).await?;
        if !contact.lists.is_empty() {
            self.subscribe(key, &contact.lists).await?;
        }
        Ok(())
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
    /// # async fn main() {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::{ContactData, UpdateAction};
    /// fake.seed_contact(ContactData::with_email("ann@example.com"));
    /// let out = client.update_many(&[
    ///     ContactData::with_email("ann@example.com").firstname("Ann"),
    ///     ContactData::with_email("new@example.com").firstname("New"),
    ///     ContactData::default(),
    /// ]).await;
    /// assert_eq!(out[0].result.as_ref().ok(), Some(&UpdateAction::Updated));
    /// assert_eq!(out[1].result.as_ref().ok(), Some(&UpdateAction::NotFound));
    /// assert!(out[2].result.is_err());
    /// assert!(fake.contact("new@example.com").is_none());
    /// # }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    #[must_use = "each contact has its own outcome: check them"]
    pub async fn update_many(&self, contacts: &[ContactData]) -> Vec<ContactOutcome<UpdateAction>> {
        let universe_key = match self.unique_key().await {
            Ok(k) => k,
            Err(e) => return all_failed(contacts.iter().map(|_| String::new()), e),
        };
        let universe_key = &universe_key;
        let mut results = futures::stream::iter(contacts.iter().enumerate().map(
            |(index, contact)| async move {
                let key = contact.key_for(universe_key).unwrap_or_default();
                let result = self.update(contact).await.map_err(ItemError::from_call);
                ContactOutcome::new(index, key, result)
            },
        ))
        .buffer_unordered(self.inner.concurrency)
        .collect::<Vec<_>>()
        .await;
        results.sort_by_key(|o| o.index);
        results
    }
}

/// How Splio spells a key in `contact_id`: trimmed, lower case (emails are case-insensitive;
/// the documented answers show them in lower case).
fn normalised(key: &str) -> String {
    key.trim().to_lowercase()
}

/// Match a multi-status answer back to the chunk's items: an item to the input its
/// `contact_id` names (normalised), never by position (an answer may come in another order).
/// Each outcome comes with whether the answer named it: an input left without an item, or
/// whose item carries no code, is [`ItemError::OutcomeUnknown`] (`false`). A failed request
/// gives every item of its chunk the request's error (shared): [`ItemError::OutcomeUnknown`]
/// when it may have been processed ([`Error::OutcomeUnknown`], a non-idempotent request's lost
/// answer), else [`ItemError::Failed`].
fn multi_status_outcomes(
    chunk: &[(usize, String)],
    result: Result<MultiStatus>,
    success: i64,
) -> Vec<(ContactOutcome<()>, bool)> {
    let status = match result {
        Ok(s) => s,
        Err(e) => {
            let error = ItemError::from_request("the bulk request carrying it", e);
            return chunk_failed(chunk, &error)
                .into_iter()
                .map(|o| (o, true))
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
            // An item without a code says nothing of what became of its input.
            let code = item.and_then(|item| item.code.map(|code| (item, code)));
            let result = match code {
                Some((_, c)) if c == success || (200..300).contains(&c) => Ok(()),
                Some((item, c)) => Err(ItemError::Rejected {
                    error_key: None,
                    message: item.description.clone().unwrap_or_default(),
                    code: c.clamp(0, u16::MAX as i64) as u16,
                }),
                None => Err(ItemError::OutcomeUnknown {
                    reason: "Splio's answer named no outcome for it".into(),
                }),
            };
            (
                ContactOutcome::new(*index, key.clone(), result),
                code.is_some(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::{Just, Strategy};

    #[test]
    fn multi_status_matches_by_key() {
        let chunk = vec![(0, "a@x.com".to_string()), (1, "b@x.com".to_string())];
        let status: MultiStatus = serde_json::from_str(
            r#"{"time":59,"errors":1,"items":[{"contact_id":"B@x.com","code":400,"description":"Contact with unique key b@x.com already exists"},{"contact_id":"a@x.com","code":"201","description":""}]}"#,
        )
        .unwrap();
        let out = multi_status_outcomes(&chunk, Ok(status), 201);
        assert!(out[0].0.result.is_ok() && out[0].1);
        assert!(out[1].0.result.as_ref().unwrap_err().is_already_exists());
    }

    proptest::proptest! {
        /// Whatever order the answer lists its items in, each input gets its own item's
        /// outcome; an input whose item is missing or names no input is unknown, never given
        /// the outcome of the item at its position.
        #[test]
        fn outcomes_follow_keys_in_any_order(
            (codes, order) in proptest::collection::vec(proptest::sample::select(vec![201i64, 400]), 1..12)
                .prop_flat_map(|codes| {
                    // The answer's order: a permutation of the inputs, shuffled by proptest.
                    let order = Just((0..codes.len()).collect::<Vec<_>>()).prop_shuffle();
                    (Just(codes), order)
                }),
            drop_one in proptest::prelude::any::<bool>(),
        ) {
            let chunk: Vec<(usize, String)> =
                (0..codes.len()).map(|i| (i, format!("k{i}@x.com"))).collect();
            let mut items: Vec<serde_json::Value> = order
                .iter()
                .map(|&i| serde_json::json!({"contact_id": chunk[i].1.to_uppercase(), "code": codes[i], "description": ""}))
                .collect();
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
            for ((o, named), code) in out.iter().zip(&codes) {
                proptest::prop_assert_eq!(*named, o.result.as_ref().err().is_none_or(|e| !e.is_outcome_unknown()));
                let was_dropped = dropped
                    .as_ref()
                    .is_some_and(|d| d["contact_id"].as_str() == Some(o.key.to_uppercase().as_str()));
                match (&o.result, was_dropped, code) {
                    (Err(ItemError::OutcomeUnknown { .. }), true, _) => {}
                    (Ok(()), false, 201) => {}
                    (Err(ItemError::Rejected { code: 400, .. }), false, 400) => {}
                    other => proptest::prop_assert!(false, "{}: {:?}", o.key, other),
                }
            }
        }
    }
}
