//! Typed async client for the Splio REST API and Datahub SFTP file import.
//!
//! * REST (`https://api.splio.com`): [`Client`] authenticates with an API key (JWT cached, shared
//!   by clones, refreshed before expiry and once on 401), knows the universe [`UniqueKey`], and
//!   covers contacts (get/create/patch/delete, [`upsert`](Client::upsert),
//!   [`upsert_many`](Client::upsert_many), bulk create/delete, opt-out, subscribe/unsubscribe),
//!   custom fields, lists and blacklists.
//! * Datahub file import: [`datahub::ContactCsvWriter`] writes contacts files the importer
//!   accepts (default build) and, with the `sftp` feature, [`sftp::SftpUploader`] drops them
//!   atomically into `/imports/` (the feature pulls in russh and its crypto stack).
//! * `fake` feature: [`fake::FakeSplio`], a stateful in-process fake of the REST API.
//!
//! Retries and limits (the runtime is [`marketing_sync_core`]'s): idempotency follows the method (GET,
//! PUT, DELETE), and the operations that are idempotent although sent as PATCH or POST say so:
//! contact PATCH, subscribe/unsubscribe, opt-out and `/authenticate`. Those are retried on
//! connect errors, timeouts, 429 and the retried 5xx ([`marketing_sync_core::RETRIED_STATUSES`]: 408,
//! 500, 502, 503, 504); creates, bulk creates, field creation and blacklist adds are retried only
//! on connect errors and 429. Waits honour `Retry-After`, else `rateLimit-reset`. Client-side
//! limits default to Splio's 20 requests/s for `/data/contacts*` and 10/s elsewhere.
//!
//! Every operation, its sources, how sure we are and what the fake enforces:
//! `docs/splio-conformance.md` in the repository.
//!
//! Choices where the reference is silent or disagrees: emails are lowercased; `creation_date` is
//! sent with an unpadded hour (`2024-01-02 3:04:05`) because the OpenAPI pattern rejects `03`,
//! while Splio's answers pad it ([`CreationDateHour`] chooses; both are read); custom fields are
//! addressed by id or by name, as the caller chooses; a 207 item is matched to its input by
//! `contact_id` (trimmed, case-insensitively), never by position (nothing promises input
//! order); an input no item matches, or whose item has no code, is
//! [`ItemError::OutcomeUnknown`] (after a `GET` for creates, which the reason reports).
//!
//! Batch calls ([`Client::bulk_create`], [`Client::upsert_many`], [`Client::update_many`],
//! [`Client::bulk_delete`], [`Client::optout`]) return one [`ContactOutcome`] per input, in
//! input order, never an outer `Result`: a refusal is [`ItemError::Rejected`], a create whose
//! answer was lost [`ItemError::OutcomeUnknown`], an item not delivered [`ItemError::Failed`].
//! `use splio_client::prelude::*;` brings the client, the errors and the stream traits.
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> splio_client::Result<()> {
//! use splio_client::prelude::*;
//! use splio_client::{ContactData, CustomFieldValue, UpsertAction};
//!
//! let fake = splio_client::fake::FakeSplio::start().await;
//! let client = Client::builder(fake.credentials())
//!     .base_url(fake.base_url())
//!     .allow_http(true)
//!     .build()?;
//!
//! let jane = ContactData::with_email("Jane+news@example.com")
//!     .firstname("Jane")
//!     .custom_field(CustomFieldValue::by_id(1, "mrs"));
//! assert_eq!(client.upsert(&jane).await?, UpsertAction::Created);
//! assert_eq!(client.upsert(&jane.clone().lastname("Doe")).await?, UpsertAction::Updated);
//!
//! let stored = client.get_contact("jane+news@example.com").await?;
//! assert_eq!(stored.lastname.as_deref(), Some("Doe"));
//!
//! for outcome in client.upsert_many(&[jane, ContactData::default()]).await {
//!     match &outcome.result {
//!         Ok(action) => println!("{}: {action:?}", outcome.key),
//!         Err(e) => eprintln!("item {}: {e} (retryable: {})", outcome.index, e.is_retryable()),
//!     }
//! }
//! # Ok(()) }
//! # #[cfg(not(feature = "fake"))]
//! # fn main() {}
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod activities;
mod blacklists;
mod builder;
mod client;
mod contacts;
pub mod datahub;
mod error;
#[cfg(feature = "fake")]
pub mod fake;
mod fields;
mod groups;
mod lenient;
mod lists;
mod page;
pub mod prelude;
mod search;
#[cfg(feature = "sftp")]
pub mod sftp;
mod universe;

pub use activities::{Activity, ActivityChannel};
pub use blacklists::{
    BLACKLIST_BATCH_MAX, BlacklistEntry, BlacklistFailure, BlacklistResult, BlacklistSource,
    Channel, RemoveSource,
};
pub use builder::{ApiKey, ClientBuilder, DEFAULT_BASE_URL, RateLimits};
pub use client::Client;
pub use contacts::{
    BULK_MAX, Contact, ContactData, ContactFieldValue, ContactOutcome, CreationDateHour, ListRef,
    MultiStatus, MultiStatusItem, TrackingConsent, UpdateAction, UpsertAction, contact_path,
};
pub use error::{ApiErrorItem, Error, ItemError, Result};
pub use fields::{
    CreatedField, CustomFieldValue, Field, FieldRef, FieldSchema, FieldType, FieldValue,
    SchemaValue,
};
pub use groups::{CreatedGroup, GROUP_KEYS_MAX, Group, GroupChange, NewGroup};
pub use indexmap;
pub use jiff;
pub use lists::MailingList;
pub use marketing_sync_core;
pub use marketing_sync_core::{ItemOutcome, RateLimitStatus, RetryPolicy, count_requests};
pub use page::Page;
pub use search::{ContactSearch, SearchEncoding, SearchFilter, SearchOperator};
pub use serde_json;
pub use universe::UniqueKey;

/// The README's example, run as a doctest so that it stays true (it uses the fake).
#[cfg(all(doctest, feature = "fake"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
