//! Which contacts of a run exist in Splio, learned at a cost that grows with the segment, not
//! with the universe.
//!
//! A key delivered before (it has a snapshot) exists: nothing is asked. For the other keys
//! ("unknown"), the first page of `GET /data/contacts` gives the universe's size
//! (`count_element`) in one request; then whichever is cheaper:
//!
//! - **probe** the unknown keys, when they are no more than the pages still to read: the
//!   delivery's own `PATCH` of each is the probe (a 404 means "not in Splio"), or, where the
//!   delivery is a file, one `GET` each;
//! - **list** the rest of the universe, keeping only the unknown keys it holds (memory bound by
//!   the segment).
//!
//! So a run costs at most min(unknown keys, pages) + its changes, plus that first page.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use futures::{StreamExt, TryStreamExt};

use sync_kit::Error;

/// Contacts per page of the listing (the API's maximum).
const PER_PAGE: u32 = 1000;

/// How the delivery probes an unknown key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeBy {
    /// The delivery PATCHes every unknown key anyway: its 404 answers the question.
    Patch,
    /// The delivery cannot ask (Datahub files): one `GET /data/contacts/{key}` each, up front.
    Get,
}

/// What the run knows about the unknown keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Existence {
    /// Unknown keys found in Splio, each with the address as Splio holds it (its case kept:
    /// where Splio matches keys exactly, the contact is addressed by it; issue 20 point 5).
    found: HashMap<String, String>,
    /// Whether the keys not found are still open (the delivery probes them) rather than known
    /// to be absent.
    probe: bool,
}

/// Where an unknown key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// In Splio.
    Exists,
    /// Not in Splio.
    Absent,
    /// Not known: the delivery's PATCH will tell.
    Probe,
}

impl Existence {
    /// Nothing asked, every unknown key absent (a dry run: every record without a snapshot
    /// counts as new).
    pub fn assume_absent() -> Self {
        Self::default()
    }

    /// Nothing asked, every unknown key left to the delivery's probe (replays: a handful of
    /// parked records).
    pub fn probe_all() -> Self {
        Existence {
            probe: true,
            ..Self::default()
        }
    }

    /// Where an unknown key (one without a snapshot) stands.
    pub fn of(&self, key: &str) -> Presence {
        if self.found.contains_key(key) {
            Presence::Exists
        } else if self.probe {
            Presence::Probe
        } else {
            Presence::Absent
        }
    }

    /// Learns which of `unknown` exist, the cheaper way (see the module docs).
    pub async fn learn(
        client: &splio_client::Client,
        unknown: &HashSet<String>,
        probe_by: ProbeBy,
        concurrency: usize,
    ) -> Result<Self, Error> {
        if unknown.is_empty() {
            return Ok(Self::default());
        }
        let mut learned = Existence::default();
        let first = client
            .contacts_page(1, PER_PAGE)
            .await
            .map_err(|e| super::client_error(&e))?;
        let got = first.elements.len() as u64;
        learned.keep(unknown, first.elements);
        let pages = match first.count_element {
            Some(total) => (total.max(0) as u64).div_ceil(u64::from(PER_PAGE)),
            None if got < u64::from(PER_PAGE) => 1,
            None => u64::MAX, // size unknown: listing could cost anything
        };
        let open: Vec<String> = unknown
            .iter()
            .filter(|k| !learned.found.contains_key(*k))
            .cloned()
            .collect();
        let rest = pages.saturating_sub(1);
        if open.len() as u64 <= rest {
            tracing::info!(
                unknown = open.len(),
                pages,
                "probing the contacts not delivered before"
            );
            match probe_by {
                ProbeBy::Patch => learned.probe = true,
                ProbeBy::Get => learned.get_each(client, open, concurrency).await?,
            }
        } else {
            tracing::info!(
                unknown = open.len(),
                pages,
                "listing the universe to learn which contacts exist"
            );
            learned
                .list(client, unknown, 2..=pages as u32, concurrency)
                .await?;
        }
        Ok(learned)
    }

    fn keep(&mut self, unknown: &HashSet<String>, contacts: Vec<splio_client::Contact>) {
        for contact in contacts {
            if let Some(email) = contact.email.as_deref() {
                let key = sync_kit::email::key(email);
                if unknown.contains(&key) {
                    self.found.insert(key, email.trim().to_owned());
                }
            }
        }
    }

    async fn list(
        &mut self,
        client: &splio_client::Client,
        unknown: &HashSet<String>,
        pages: std::ops::RangeInclusive<u32>,
        concurrency: usize,
    ) -> Result<(), Error> {
        let mut pages = futures::stream::iter(pages)
            .map(|n| client.contacts_page(n, PER_PAGE))
            .buffer_unordered(concurrency.max(1));
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| super::client_error(&e))?;
            self.keep(unknown, page.elements);
        }
        Ok(())
    }

    async fn get_each(
        &mut self,
        client: &splio_client::Client,
        keys: Vec<String>,
        concurrency: usize,
    ) -> Result<(), Error> {
        let found: Vec<(String, String)> = futures::stream::iter(keys)
            .map(|key| async move {
                match client.get_contact(&key).await {
                    Ok(contact) => {
                        let held = contact.email.as_deref().map(str::trim);
                        let held = held.filter(|e| sync_kit::email::key(e) == key);
                        let held = held.map_or_else(|| key.clone(), str::to_owned);
                        Ok(Some((key, held)))
                    }
                    Err(e) if e.is_not_found() => Ok(None),
                    Err(e) => Err(super::client_error(&e)),
                }
            })
            .buffer_unordered(concurrency.max(1))
            .try_filter_map(|k| async move { Ok(k) })
            .try_collect()
            .await?;
        self.found.extend(found);
        Ok(())
    }
}

/// What a run learned, once: empty until the run has read its records and screened the keys it
/// never delivered (see [`sync_kit::Sink::screen`]), then the [`Existence`] of those keys. Shared
/// by the screening that learns it and the delivery that uses it.
#[derive(Debug, Default)]
pub struct Learned(OnceLock<Existence>);

impl Learned {
    /// Keeps what the screening learned (the first time only).
    pub fn set(&self, existence: Existence) {
        let _ = self.0.set(existence);
    }

    /// Where an unknown key stands; before anything was learned, left to the delivery's probe.
    pub fn of(&self, key: &str) -> Presence {
        self.0.get().map_or(Presence::Probe, |e| e.of(key))
    }

    /// The address of `key` as Splio holds it, when the run learned it (else `key`).
    pub fn address<'k>(&'k self, key: &'k str) -> &'k str {
        self.0
            .get()
            .and_then(|e| e.found.get(key))
            .map_or(key, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_listed_in_mixed_case_is_addressed_as_splio_holds_it() {
        let contact: splio_client::Contact =
            serde_json::from_value(serde_json::json!({"id": 1, "email": "Mixed.Case@Example.com"}))
                .unwrap();
        let unknown = HashSet::from(["mixed.case@example.com".to_owned()]);
        let mut existence = Existence::default();
        existence.keep(&unknown, vec![contact]);
        assert_eq!(existence.of("mixed.case@example.com"), Presence::Exists);
        let learned = Learned::default();
        assert_eq!(
            learned.address("mixed.case@example.com"),
            "mixed.case@example.com"
        );
        learned.set(existence);
        assert_eq!(
            learned.address("mixed.case@example.com"),
            "Mixed.Case@Example.com"
        );
        assert_eq!(learned.address("other@example.com"), "other@example.com");
    }
}
