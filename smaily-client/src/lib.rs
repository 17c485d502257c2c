//! Typed async client for the Smaily email-marketing API.
//!
//! Base URL `https://{subdomain}.sendsmaily.net/api/`, HTTP Basic with an API user. Every
//! request takes one path (rate limit, default 5/s; retries with backoff honouring
//! `Retry-After`; body-code mapping: a code other than 101 is an [`Error::Api`] even on HTTP
//! 200; JSON decoding whatever the content type says).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # #[cfg(feature = "fake")] {
//! use smaily_client::{Subscriber, UpsertResult};
//! // Real use: Client::builder("mycompany", "api-user", "api-password").build()?
//! let fake = smaily_client::fake::FakeSmaily::start().await;
//! let client = fake.client();
//!
//! let rows = (0..1200).map(|i| {
//!     Subscriber::new(format!("user{i}@example.com")).field("first_name", "Mari").unwrap()
//! });
//! let outcomes = client.upsert_many(rows).await;
//! assert!(outcomes.iter().all(|o| matches!(o.result, UpsertResult::Delivered)));
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
//! | [`Client::ab_tests`], [`Client::ab_test_stats`] | `GET split.php` | yes |
//! | [`Client::launch_ab_test`] | `POST split.php` | **no** |
//! | [`Client::templates`] | `GET templates.php` | yes |
//! | [`Client::organization_users`] | `GET organizations/users.php` | yes |
//! | [`Client::send_message`] | `POST message/send.php` (always JSON) | **no** |
//! | [`Client::message_log`] | `GET message/action/log.php` | yes |
//! | [`Client::subscriber_history`] | `GET history.php` | yes |
//!
//! Operations that are not idempotent are retried only when the request provably was not
//! processed (connect failure, 429).
//!
//! # Choices where the reference is silent or uncertain
//!
//! - Batch size: 500 per `contact.php` POST by default ([`ClientBuilder::batch_size`]); a lone
//!   row is sent as an object, a batch as a JSON array (form: `0[email]=…`).
//! - Batch 203 (and 204/207): the batch is bisected until each bad row stands alone, so every
//!   row gets its own outcome; re-sending good rows is harmless (upserts are idempotent).
//! - Body encoding: JSON by default, PHP-style form via [`BodyEncoding::Form`].
//! - 205 and 225 ("could not add or update", "database insert failed") count as transient.
//! - `Retry-After` is read as delta-seconds or an HTTP date.
//! - `history.php` `actions`: comma-separated by default, brackets via [`ActionsEncoding`].
//! - Segment paging: `offset` is a page index and the page size follows `limit`, as the
//!   official plugins page; the stream stops at a short or empty page.
//! - Custom field names must be `[a-z0-9_]` ([`FieldName::new`]); [`FieldName::normalize`]
//!   converts labels the way the official plugins do. Reserved and read-only keys are refused.
//! - Subdomains must be one DNS label of letters, digits and hyphens.
//!
//! # The fake
//!
//! With feature `fake`, [`fake::FakeSmaily`] is an in-process Smaily on loopback:
//! `start()`, `base_url()`, `client()` / `client_builder()`, `seed_subscribers()`,
//! `subscriber()` / `subscribers()` / `subscriber_count()`, `triggers()`, `sent_messages()`,
//! `request_count()`, `requests()`, `fail_next(n, status)`, `fail_next_with_code(n, code, msg)`,
//! `rate_limit_next(n, secs)`, `drop_next(n)`, `set_delay()`, `enforce_rate_limit(Some(5))`,
//! `set_plan_blocked()`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

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

pub use automations::{
    AutomationTrigger, FormWorkflow, TemplateRef, Workflow, WorkflowQuery, WorkflowSection,
};
pub use campaigns::{
    AbTest, AbTestLaunch, Campaign, CampaignContent, CampaignLaunch, CampaignQuery, CampaignStats,
    CampaignStatus,
};
pub use client::{
    BodyEncoding, Client, ClientBuilder, DEFAULT_BATCH_SIZE, DOCUMENTED_RATE_LIMIT, RetryPolicy,
};
pub use de::{SMAILY_TZ, format_smaily_time, parse_smaily_time};
pub use error::{Error, Result};
pub use fields::{CustomFields, FieldName, READ_ONLY_KEYS, RESERVED_KEYS};
pub use messages::{
    ActionsEncoding, Address, Attachment, HistoryEntry, LogQuery, LogSelector, Message,
    MessageAction,
};
pub use organizations::{OrganizationUser, Role, Template, TemplateQuery};
pub use segments::{FilterType, Operator, Rule, Segment, SegmentDefinition, SegmentRules};
pub use subscribers::{
    Contact, FORGET_CHUNK, MAX_SEGMENT_PAGE, SEGMENT_ALL, SEGMENT_UNSUBSCRIBED, SegmentQuery,
    Subscriber, UpsertOutcome, UpsertResult,
};
