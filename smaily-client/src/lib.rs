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
//! Idempotency: reads, upserts, unsubscribe, delete, forget and segment saves are retried on
//! any transient failure; automation triggers, message sends and campaign launches only when
//! the request provably was not processed (connect failure, 429).

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
