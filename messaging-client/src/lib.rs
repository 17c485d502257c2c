//! Typed async client for the eSputnik / Yespo messaging API v1: account, unsubscribes,
//! events, prepared-message sends and statuses, orders, contacts, catalog fields and segments.
//!
//! Every request goes through one path (`client.rs`) that does HTTP Basic auth (any user, the
//! API key as password), client-side rate limits (200/s default, 50/s contact search, 350/s
//! events), retries with exponential backoff (idempotent operations only, or when the request
//! provably did not reach the service), tracing and lenient decoding of the service's quirks
//! (one-or-many collections, numbers and booleans as strings, empty and plain-text bodies).
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use messaging_client::{EventV1, Order, OrderStatus, Recipient, SmartSend};
//! use messaging_client::fake::FakeMessaging;
//!
//! let fake = FakeMessaging::start().await;
//! // Real code: Client::builder(api_key).build()?
//! let client = messaging_client::Client::builder(fake.api_key())
//!     .base_url(fake.base_url())
//!     .allow_http(true)
//!     .build()
//!     .unwrap();
//!
//! client.account_info().await.unwrap(); // credential check
//!
//! let mut order = Order::new("100500", OrderStatus::Initialized, "1000.50".parse().unwrap(), "USD",
//!     "2017-03-08T09:30:00+02:00[Europe/Kyiv]".parse().unwrap());
//! order.email = Some("mail@example.com".into());
//! let outcomes = client.push_orders(&[order]).await;
//! assert!(outcomes[0].result.is_ok());
//!
//! client.generate_event(&EventV1::new("testEvent").key_value("a@example.com").param("discount", "5%"))
//!     .await
//!     .unwrap();
//!
//! let send = SmartSend {
//!     recipients: vec![Recipient::locator("a@example.com").with_params(serde_json::json!({"discount": "5%"}))],
//!     email: true,
//!     from_name: None,
//! };
//! let sent = client.smartsend(7, &send).await;
//! let request_id = sent[0].result.clone().unwrap();
//! let statuses = client.message_statuses(&[request_id]).await.unwrap();
//! assert!(statuses[0].delivered);
//! # });
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod account;
mod batch;
mod catalog;
mod client;
mod contacts;
mod de;
mod error;
mod events;
mod messages;
mod orders;
mod paging;
mod segments;
mod unsubscribed;
mod wire;

#[cfg(feature = "fake")]
pub mod fake;

pub use account::AccountInfo;
pub use batch::ItemError;
pub use catalog::{
    AddressBook, AllowedValues, FieldCatalog, FieldDescription, FieldGroup, FieldInfo,
};
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, RateLimits, RetryPolicy};
pub use contacts::{
    Address, CONTACTS_CHUNK, Channel, Contact, ContactField, ContactGroup, ContactQuery, DedupeOn,
    ImportChunk, ImportOptions, ImportSession, ImportState, ImportStatus, MAX_PAGE_SIZE,
    Subscription,
};
pub use error::{Error, Result};
pub use events::{
    CONTACT_PARAMS, Event, EventParam, EventV1, EventV2, FORBIDDEN_KEY_CHARS, MAX_EVENT_BODY_BYTES,
    MAX_EVENT_TYPE_KEY_CHARS, MAX_KEY_VALUE_CHARS,
};
pub use messages::{
    DeliveryStatus, EmailMessage, MessageStatus, Recipient, RecipientOutcome, SMARTSEND_CHUNK,
    STATUS_CHUNK, SendResult, SmartSend, SmsMessage,
};
pub use orders::{ORDERS_CHUNK, Order, OrderDeletion, OrderItem, OrderOutcome, OrderStatus};
pub use segments::Segment;

/// Re-exported so callers need not depend on them directly.
pub use jiff;
pub use rust_decimal;
