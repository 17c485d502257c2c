//! Typed async client for the Smaily email-marketing API.
//!
//! Base URL `https://{subdomain}.sendsmaily.net/api/`, HTTP Basic with an API user. Every
//! request takes one path (rate limit, default 5/s with no burst; retries with backoff
//! honouring `Retry-After`; status mapping: a `{code, message}` status other than 101 is an
//! [`Error::Api`] even on HTTP 200; JSON decoding whatever the content type says).
//!
//! Which source each operation follows, how sure that is, and what the fake enforces is in
//! the conformance table, `docs/smaily-conformance.md` in the repository.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # #[cfg(feature = "fake")] {
//! use smaily_client::{FieldName, Subscriber};
//! // Real use: Client::builder(Credentials::new("api-user", "api-password")).subdomain("mycompany").build()?
//! let fake = smaily_client::fake::FakeSmaily::start().await;
//! let client = fake.client();
//!
//! let rows: Vec<Subscriber> = (0..1200).map(|i| {
//!     Subscriber::new(format!("user{i}@example.com")).field(FieldName::new("first_name").unwrap(), "Mari")
//! }).collect();
//! let outcomes = client.upsert_many(&rows).await;
//! assert!(outcomes.iter().all(|o| o.is_ok()));
//!
//! let mari = client.subscriber("user7@example.com").await.unwrap().unwrap();
//! assert_eq!(mari.fields["first_name"], "Mari");
//! client.unsubscribe("user7@example.com").await.unwrap();
//! assert!(client.subscriber("nobody@example.com").await.unwrap().is_none());
//! # }
//! # });
//! ```
//!
//! # Operations and idempotency
//!
//! | method | endpoint | idempotent (retried on any transient failure) |
//! |---|---|---|
//! | [`Client::subscriber`] | `GET contact.php?email=` (206 miss → `Ok(None)`) | yes |
//! | [`Client::upsert`], [`Client::upsert_many`] | `POST contact.php` | yes (keyed by email) |
//! | [`Client::unsubscribe`], [`Client::delete`] | `POST contact.php` | yes |
//! | [`Client::forget`] | `POST contact/forget.php` | yes |
//! | [`Client::segment_subscribers`], [`Client::segment_page`] | `GET contact.php?list=` | yes |
//! | [`Client::segments`], [`Client::segment`] | `GET list.php` | yes |
//! | [`Client::save_segment`] | `POST list.php` | update yes, create no |
//! | [`Client::trigger_automation`] | `POST autoresponder.php` | **no** |
//! | [`Client::workflows`], [`Client::form_workflows`] | `GET autoresponder.php`, `workflows.php` | yes |
//! | [`Client::campaigns`], [`Client::campaign_stats`] | `GET campaign.php` | yes |
//! | [`Client::launch_campaign`] | `POST campaign.php` | **no** |
//! | [`Client::unsubscribe_from_campaign`] | `POST unsubscribe.php` | yes |
//! | [`Client::ab_tests`], [`Client::ab_test_stats`] | `GET split.php`, `GET split.php?id=` (a list of sections) | yes |
//! | [`Client::launch_ab_test`] | `POST split.php` | **no** |
//! | [`Client::templates`] | `GET templates.php` | yes |
//! | [`Client::organization_users`] | `GET organizations/users.php` | yes |
//! | [`Client::send_message`] | `POST message/send.php` (always JSON) | **no** |
//! | [`Client::message_log`] | `GET message/action/log.php` | yes |
//! | [`Client::subscriber_history`] | `GET history.php` | yes |
//!
//! Operations that are not idempotent are retried only when the request provably was not
//! processed (connect failure, 429). A POST is not idempotent unless its operation says so
//! (`marketing_sync_core`'s default, by method); the POSTs marked "yes" above do.
//!
//! # Choices where the reference is silent or uncertain
//!
//! - Consent: no default changes it. [`AutomationTrigger`] sends `force_opt_in: false` unless
//!   the caller sets `force_opt_in(true)`; a [`Subscriber`] leaves `is_unsubscribed` out (an
//!   existing contact keeps its status) unless [`Subscriber::subscribed`] is called.
//! - Status or data: a write answers with the `{code, message, …}` envelope; a read answers
//!   with data, and is a status only when the object is made of `code` (and `message`) alone,
//!   so a subscriber whose custom fields are called `code` and `message` is a subscriber.
//! - HTTP 403 with code 227 is [`Error::PlanBlocked`]; any other 403 is
//!   [`Error::Unauthorized`], as the official Smaily Connect clients read it.
//! - Lists decode row by row into a [`Listing`]: `null` names, tags and sections read as
//!   empty, an unknown campaign state is [`CampaignStatus::Other`], a user may have no role,
//!   and a row that still does not decode is reported with its position, never failing the
//!   list.
//! - Rate limit: one request every `1.2 s / limit`, no burst ([`ClientBuilder::rate_limit`],
//!   [`DEFAULT_RATE_LIMIT_WINDOW`]): no second sees more than the limit even when the network
//!   delivers requests up to 150 ms unevenly; a long run takes 1.2 × `requests / limit`
//!   (`benches/rate_limit.rs`: no 429 against a sliding-second server with 0–150 ms jitter).
//! - Batch size: 500 per `contact.php` POST by default ([`ClientBuilder::batch_size`]); a lone
//!   row is sent as an object, a batch as a JSON array (form: `0[email]=…`).
//! - Addresses Smaily refuses for certain (blank, no `@`, no dotted domain, a reserved TLD
//!   such as `.test`: [`check_email`]) are refused before a batch is sent, so they cost no
//!   bisection; anything else is sent, Smaily having the last word.
//! - Batch 203 (and 204/207): the batch is bisected until each bad row stands alone, so every
//!   row gets its own outcome ([`ItemError::Rejected`]); re-sending good rows is harmless
//!   (upserts are idempotent).
//! - A call that is not idempotent whose answer was lost after sending (a timeout, a cut
//!   connection) is [`Error::OutcomeUnknown`], never a retryable error.
//! - Body encoding: JSON by default, PHP-style form via [`BodyEncoding::Form`].
//! - 205 and 225 ("could not add or update", "database insert failed") count as transient.
//! - `Retry-After` is read as delta-seconds or an HTTP date.
//! - `history.php` `actions`: `actions[0]=…` by default, as the official WordPress plugin
//!   sends it; comma-separated or empty brackets via [`ActionsEncoding`]. The message log
//!   documents no `actions`: a [`LogQuery`] with some is refused there.
//! - Segment paging: `offset` is a page index. The docs describe fixed pages of 25,000 rows,
//!   the official plugins page as if the page size followed `limit`; the default page of
//!   25,000 reads every row under both readings ([`SegmentQuery::page_size`] smaller pages
//!   assume the plugins' reading). The stream stops at a short or empty page.
//! - A/B tests send `size`, `win_at` and `condition` (deprecated, still marked required).
//! - Custom field names must be `[a-z0-9_]` ([`FieldName::new`]); [`FieldName::normalize`]
//!   converts labels the way the official plugins do. Reserved and read-only keys are refused.
//! - Subdomains must be one DNS label of letters, digits and hyphens; a pasted
//!   `https://name.sendsmaily.net/…` or `name.sendsmaily.net` is normalised to `name`, as
//!   the official WooCommerce plugin does (other hosts are refused, not guessed at).
//!
//! # The fake
//!
//! With feature `fake`, [`fake::FakeSmaily`] is an in-process Smaily on loopback that serves
//! every endpoint above as the reference describes it. The suite's one fake API,
//! [`fake::FakeService`] (in [`prelude`]): `base_url()`, `client()`, `credentials()` /
//! `set_credentials()`, `requests()` / `request_count()` / `record_requests()` /
//! `clear_requests()`, `fail_next(n, status)`, `rate_limit_next(n, secs)`, `delay_next()`,
//! `drop_next(n, point)`, `reply_next()`, `set_delay()`, `clear_faults()`. Smaily's own:
//! `start()`, `client_builder()`, `seed_subscribers()`, `seed_segment()`, `seed_campaign()`,
//! `seed_template()`, `set_paging()`, `subscriber()` / `subscribers()` /
//! `subscriber_count()`, `campaigns()`, `triggers()`, `sent_messages()`,
//! `smaily_requests()` (bodies read as Smaily reads them), `busiest_second()`,
//! `rate_limited_count()`, `fail_next_with_code(n, code, msg)`, `enforce_rate_limit()`
//! (Smaily's 5/s is enforced from the start, as on the service; `None` turns it off),
//! `set_plan_blocked()`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ab_tests;
mod answer;
mod automations;
mod campaigns;
mod client;
mod de;
mod error;
mod fields;
pub mod form;
mod messages;
mod organizations;
mod segments;
mod subscribers;

#[cfg(feature = "fake")]
pub mod fake;

pub use ab_tests::{
    AbSection, AbSectionStats, AbSender, AbSplit, AbTest, AbTestLaunch, WinCondition,
};
pub use answer::{InvalidRow, Listing};
pub use automations::{
    AutomationTrigger, FormWorkflow, TemplateRef, Workflow, WorkflowQuery, WorkflowSection,
};
pub use campaigns::{
    Campaign, CampaignContent, CampaignLaunch, CampaignQuery, CampaignStats, CampaignStatus,
};
pub use client::{
    BodyEncoding, Client, ClientBuilder, Credentials, DEFAULT_BATCH_SIZE,
    DEFAULT_RATE_LIMIT_WINDOW, DOCUMENTED_RATE_LIMIT,
};
pub use de::{SMAILY_TZ, format_smaily_time, parse_smaily_time};
pub use error::{Error, ItemError, Result};
pub use fields::{CustomFields, FieldName, READ_ONLY_KEYS, RESERVED_KEYS};
pub use messages::{
    ActionsEncoding, Attachment, AttachmentSource, HistoryEntry, LogQuery, LogSelector, Message,
    MessageAction, Sender,
};
pub use organizations::{OrganizationUser, Role, Template, TemplateQuery};
pub use segments::{FilterType, Operator, Rule, Segment, SegmentDefinition, SegmentRules};
pub use subscribers::{
    Contact, FORGET_CHUNK, MAX_SEGMENT_PAGE, SEGMENT_ALL, SEGMENT_UNSUBSCRIBED, SegmentQuery,
    Subscriber, SubscriberOutcome, check_email,
};

// The crates public signatures expose, so a user needs no version of their own: the shared
// runtime (`marketing_sync_core::Error` inside `Error::Transport`), `jiff` (the times of a
// `Contact`, a `LogQuery`), `serde_json` (`Subscriber::to_json`, the fake's records),
// `indexmap` (`Contact::fields`) and `url` (`Client::base_url`).
pub use indexmap;
pub use jiff;
pub use marketing_sync_core;
pub use marketing_sync_core::{ItemOutcome, RetryPolicy, count_requests};
pub use serde_json;
pub use url;

/// What most code needs, in one import: `use smaily_client::prelude::*;`.
///
/// The client and its credentials, its error and item error, the per-item outcome, the stream extension traits
/// (for [`Client::segment_subscribers`]) and, with feature `fake`, the fake's trait, the last
/// ones imported `as _` (their methods, not their names).
///
/// ```
/// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use smaily_client::prelude::*;
/// let fake = smaily_client::fake::FakeSmaily::start().await;
/// let client: Client = fake.client();
/// let all: Vec<_> = client
///     .segment_subscribers(smaily_client::SEGMENT_ALL, Default::default())
///     .try_collect()
///     .await?;
/// assert!(all.is_empty());
/// assert_eq!(fake.request_count(), 1);
/// # Ok::<(), Error>(()) }).unwrap();
/// ```
pub mod prelude {
    pub use crate::{Client, Credentials, Error, ItemError, ItemOutcome};
    pub use futures::{StreamExt as _, TryStreamExt as _};

    #[cfg(feature = "fake")]
    pub use crate::fake::FakeService as _;
}

/// The README's example, compiled and run as a doctest so that it stays true (it runs
/// against the fake).
#[cfg(all(doctest, feature = "fake"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
