//! `--delivery api`: each batch through the REST API. A contact delivered before gets a PATCH
//! of its changed attributes; one the run knows is new is created with all of them (bulk, 1,000
//! per request); one the run does not know yet is probed with a PATCH of all its attributes.
//! A PATCH answered 404 (never there, or deleted in Splio since) creates the contact with all
//! its attributes under `--insert`; without it, a contact delivered before is parked ("no
//! longer exists") and one never delivered is counted as skipped.
//!
//! A contact is addressed by its key as Splio holds it (issue 20 point 5): the form the run
//! learned by listing, else the one kept in its snapshot's `email` by an earlier run. Once a
//! batch is recorded, the learned form is written into the snapshot of each contact delivered
//! under it ([`SplioSink::keep_addresses`]), so later runs address it so too.

use std::sync::Mutex;

use futures::StreamExt;
use marketing_sync_core::count_requests;
use splio_client::ContactData;

use super::existence::{Learned, Presence};
use super::mapping::{held_address, with_address};
use super::{NOT_INSERTED, changed, contact};
use sync_kit::{Delivery, Error, Item, Outcome, Sink, StateStore, Summary};

/// Delivers batches with PATCH and bulk create.
pub struct SplioSink<'a> {
    /// The client.
    pub client: splio_client::Client,
    /// The last delivered attributes.
    pub state: &'a StateStore,
    /// The job (state key).
    pub job: String,
    /// What the run learned about the contacts it had not delivered before.
    pub existence: &'a Learned,
    /// `--insert`: create contacts Splio does not hold.
    pub insert: bool,
    /// Concurrent PATCHes.
    pub concurrency: usize,
    /// Keys delivered this run under an address learned by listing that differs from the key
    /// (its case), with that address: written into their snapshots once the runner recorded
    /// them ([`SplioSink::keep_addresses`]). Start it empty.
    pub learned_addresses: Mutex<Vec<(String, String)>>,
}

/// One PATCH to send: the item, the attributes, and whether the item was delivered before.
struct Patch {
    index: usize,
    /// The address to PATCH: the key as Splio holds it.
    address: String,
    data: ContactData,
    delivered_before: bool,
}

/// A per-contact failure as the runner's outcome.
fn splio_outcome(e: &splio_client::Error) -> Outcome {
    Outcome::failed(sync_kit::error_chain(e), e.is_retryable())
}

/// A bulk-created contact's failure as the runner's outcome. A contact whose bulk request got
/// no usable answer (the connection failed, dropped or timed out after sending) says so,
/// instead of "rejected"; the retry finds out (a create of a contact that exists is patched).
fn item_outcome(e: &splio_client::ItemError) -> Outcome {
    match e {
        splio_client::ItemError::Failed(inner) => splio_outcome(inner),
        splio_client::ItemError::OutcomeUnknown { reason } => Outcome::failed(
            format!(
                "no answer from Splio: the bulk request carrying this contact got no usable \
                 answer ({reason}); Splio may or may not have created it, the retry finds out"
            ),
            true,
        ),
        e => Outcome::failed(e.to_string(), e.is_retryable()),
    }
}

impl SplioSink<'_> {
    /// Bulk-creates `creates` (item index, attributes); returns per item the outcome, or
    /// `None` when the contact turned out to exist already (to be patched instead).
    async fn create(&self, creates: &[(usize, ContactData)]) -> Vec<(usize, Option<Outcome>)> {
        if creates.is_empty() {
            return Vec::new();
        }
        let data: Vec<ContactData> = creates.iter().map(|(_, c)| c.clone()).collect();
        self.client
            .bulk_create(&data)
            .await
            .into_iter()
            .map(|r| {
                let i = creates[r.index].0;
                match &r.result {
                    Ok(()) => (i, Some(Outcome::Delivered)),
                    // Created by an earlier, interrupted run, or by someone else.
                    Err(e) if e.is_already_exists() => (i, None),
                    Err(e) => (i, Some(item_outcome(e))),
                }
            })
            .collect()
    }

    /// PATCHes concurrently; returns per item its result.
    async fn patch(&self, patches: Vec<Patch>) -> Vec<(Patch, Result<(), splio_client::Error>)> {
        futures::stream::iter(patches.into_iter().map(|p| async move {
            let result = self
                .client
                .patch_contact(&p.address, &p.data)
                .await
                .map(drop);
            (p, result)
        }))
        .buffer_unordered(self.concurrency.max(1))
        .collect()
        .await
    }

    /// Writes the address learned for each key of [`SplioSink::learned_addresses`] into its
    /// snapshot, once the runner has recorded it (batches run concurrently: a key not recorded
    /// yet waits; with `all`, after the last batch, a key without a snapshot was not delivered
    /// and is dropped). The snapshot's other fields are kept as recorded.
    pub fn keep_addresses(&self, all: bool) -> Result<(), Error> {
        let mut pending = self
            .learned_addresses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pending.is_empty() {
            return Ok(());
        }
        let mut held = Vec::new();
        let mut waiting = Vec::new();
        for (key, address) in pending.drain(..) {
            match self.state.snapshot(&self.job, &key)? {
                Some(fields) if fields.get("email").and_then(|e| e.as_str()) == Some(&key) => {
                    held.push(with_address(Item { key, fields }, &address));
                }
                Some(_) => {}
                None if all => {}
                None => waiting.push((key, address)),
            }
        }
        *pending = waiting;
        drop(pending);
        self.state.record_outcomes(&self.job, &held, &[])?;
        Ok(())
    }

    /// Notes that `item` was delivered under `address`, to keep in its snapshot when that is
    /// not already the form recorded.
    fn learned(&self, item: &Item, address: &str) {
        let recorded = item.fields.get("email").and_then(|e| e.as_str());
        if address != item.key && recorded != Some(address) {
            self.learned_addresses
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((item.key.clone(), address.to_owned()));
        }
    }
}

impl Sink for SplioSink<'_> {
    /// Every PATCH, bulk create and lookup the batch took is counted where the client sends it
    /// (`count_requests`), retries included.
    async fn deliver(&self, batch: &[Item]) -> Delivery {
        let (outcomes, requests) = count_requests(self.outcomes(batch)).await;
        Delivery { outcomes, requests }
    }

    /// Keeps the addresses the contacts were delivered under.
    async fn finish(&self, _summary: &mut Summary) -> Result<(), Error> {
        self.keep_addresses(true)
    }
}

impl SplioSink<'_> {
    /// Delivers `batch`: one outcome per item.
    async fn outcomes(&self, batch: &[Item]) -> Vec<Outcome> {
        // Earlier batches recorded by now keep the addresses they were delivered under.
        if let Err(e) = self.keep_addresses(false) {
            tracing::warn!(error = %e, "could not keep the contacts' addresses as Splio holds them");
        }
        // The last delivered attributes of the whole batch, in one read of the state.
        let keys: Vec<&str> = batch.iter().map(|i| i.key.as_str()).collect();
        let snapshots = match self.state.snapshots(&self.job, &keys) {
            Ok(snapshots) => snapshots,
            Err(e) => return vec![Outcome::failed(format!("state file: {e}"), true); batch.len()],
        };
        let mut outcomes = vec![Outcome::Delivered; batch.len()];
        let (mut patches, mut creates) = (Vec::new(), Vec::new());
        let all = |i: usize| contact(&changed(None, &batch[i].fields));
        for ((index, item), before) in batch.iter().enumerate().zip(snapshots) {
            // The key as Splio holds it: kept in the snapshot, else learned by this run.
            let address = before
                .as_ref()
                .and_then(|b| held_address(&item.key, b))
                .unwrap_or_else(|| self.existence.address(&item.key))
                .to_owned();
            let patch = |data| Patch {
                index,
                address,
                data,
                delivered_before: before.is_some(),
            };
            match (&before, self.existence.of(&item.key)) {
                (Some(before), _) => {
                    patches.push(patch(contact(&changed(Some(before), &item.fields))))
                }
                (None, Presence::Exists | Presence::Probe) => patches.push(patch(all(index))),
                (None, Presence::Absent) if self.insert => creates.push((index, all(index))),
                (None, Presence::Absent) => outcomes[index] = Outcome::Skipped(NOT_INSERTED.into()),
            }
        }
        for (i, outcome) in self.create(&creates).await {
            match outcome {
                Some(outcome) => outcomes[i] = outcome,
                None => patches.push(Patch {
                    index: i,
                    address: self.existence.address(&batch[i].key).to_owned(),
                    data: all(i),
                    delivered_before: false,
                }),
            }
        }
        let mut recreate = Vec::new();
        for (p, result) in self.patch(patches).await {
            let i = p.index;
            outcomes[i] = match result {
                Ok(()) => {
                    self.learned(&batch[i], &p.address);
                    Outcome::Delivered
                }
                // Not in Splio (never was, or deleted since): create it with everything.
                Err(e) if e.is_not_found() && self.insert => {
                    recreate.push((i, all(i)));
                    continue;
                }
                Err(e) if e.is_not_found() && p.delivered_before => Outcome::failed(
                    "the contact no longer exists in Splio (run with --insert to create it)",
                    false,
                ),
                Err(e) if e.is_not_found() => Outcome::Skipped(NOT_INSERTED.into()),
                Err(e) => splio_outcome(&e),
            };
        }
        let mut raced = Vec::new();
        for (i, outcome) in self.create(&recreate).await {
            match outcome {
                Some(outcome) => outcomes[i] = outcome,
                None => raced.push(Patch {
                    index: i,
                    address: self.existence.address(&batch[i].key).to_owned(),
                    data: all(i),
                    delivered_before: false,
                }),
            }
        }
        for (p, result) in self.patch(raced).await {
            outcomes[p.index] = match result {
                Ok(()) => {
                    self.learned(&batch[p.index], &p.address);
                    Outcome::Delivered
                }
                Err(e) => splio_outcome(&e),
            };
        }
        outcomes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_without_an_answer_says_what_happened() {
        let e = splio_client::ItemError::OutcomeUnknown {
            reason: "the bulk request carrying it: operation timed out".into(),
        };
        let Outcome::Failed { error, retryable } = item_outcome(&e) else {
            panic!("not failed");
        };
        assert!(retryable);
        assert!(error.starts_with("no answer from Splio: "), "{error}");
        assert!(!error.contains("rejected"), "{error}");
        let e = splio_client::ItemError::Rejected {
            message: "Contact with unique key a@example.com already exists".into(),
            code: 400,
            error_key: None,
        };
        let Outcome::Failed { error, .. } = item_outcome(&e) else {
            panic!("not failed");
        };
        assert!(error.contains("rejected by Splio (400)"), "{error}");
    }

    /// Without the last delivered attributes what changed is unknown: every contact of the
    /// batch fails retryable (retried, then parked) and nothing is sent to Splio.
    #[cfg(feature = "sandbox")]
    #[tokio::test]
    async fn a_state_whose_snapshots_cannot_be_read_fails_the_batch_and_sends_nothing() {
        use splio_client::fake::FakeService as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let state = StateStore::open(&path).unwrap();
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("DROP TABLE snapshots")
            .unwrap();
        let fake = splio_client::fake::FakeSplio::start().await;
        let learned = Learned::default();
        learned.set(super::super::existence::Existence::probe_all());
        let sink = SplioSink {
            client: fake.client(),
            state: &state,
            job: "job".into(),
            existence: &learned,
            insert: true,
            concurrency: 1,
            learned_addresses: Default::default(),
        };
        let batch: Vec<Item> = ["a@example.com", "b@example.com"]
            .map(|email| Item {
                key: email.into(),
                fields: serde_json::from_value(serde_json::json!({"email": email, "tier": ""}))
                    .unwrap(),
            })
            .into();
        let delivery = sink.deliver(&batch).await;
        assert_eq!(fake.request_count(), 0, "{:?}", fake.requests());
        assert_eq!(delivery.requests, 0);
        assert_eq!(delivery.outcomes.len(), 2);
        for outcome in &delivery.outcomes {
            let Outcome::Failed { error, retryable } = outcome else {
                panic!("{outcome:?}");
            };
            assert!(*retryable, "{error}");
            assert!(error.starts_with("state file: "), "{error}");
        }
    }
}
