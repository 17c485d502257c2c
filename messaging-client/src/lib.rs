//! Typed async client for the eSputnik / Yespo messaging API v1: account, unsubscribes,
//! events, prepared-message sends and statuses, orders, contacts, catalog fields and segments.
//!
//! Every request goes through one path (`client.rs`) that does HTTP Basic auth (any user, the
//! API key as password), client-side rate limits (200/s default, 50/s contact search, 350/s
//! events), retries with exponential backoff (idempotent operations only, or when the request
//! provably did not reach the service), tracing and lenient decoding of the service's quirks
//! (one-or-many collections, numbers and booleans as strings, empty and plain-text bodies).
//!
//! # Operations
//!
//! | Method | HTTP | Idempotent (retried on any transient failure) |
//! |---|---|---|
//! | [`Client::account_info`] | `GET /v1/account/info` | yes |
//! | [`Client::add_unsubscribed`], [`Client::remove_unsubscribed`] | `POST /v1/emails/unsubscribed/add\|delete` | yes |
//! | [`Client::generate_event`], [`Client::generate_event_v2`] | `POST /v1/event`, `/v2/event` | **no** |
//! | [`Client::smartsend`] (chunks of 1,000) | `POST /v1/message/{id}/smartsend` | **no** |
//! | [`Client::send_email`], [`Client::send_sms`] | `POST /v1/message/email\|sms` | **no** |
//! | [`Client::message_statuses`] (chunks of 100) | `GET /v1/message/status?ids=` | yes |
//! | [`Client::push_orders`] (chunks of 1,000) | `POST /v1/orders` | yes (upsert by `externalOrderId`) |
//! | [`Client::delete_orders`] | `DELETE /v1/orders` | yes |
//! | [`Client::import_contacts`] (chunks of 3,000), [`Client::import_status`], [`Client::wait_for_import`] | `POST /v1/contacts`, `GET /v1/importstatus/{id}` | yes |
//! | [`Client::get_contact`], [`Client::update_contact`], [`Client::delete_contact`], [`Client::delete_contact_by_external_id`] | `GET\|PUT\|DELETE /v1/contact/{id}`, `DELETE /v1/contact?externalCustomerId=` | yes |
//! | [`Client::add_contact`], [`Client::subscribe_contact`] | `POST /v1/contact`, `/v1/contact/subscribe` | **no** |
//! | [`Client::search_contacts`] (stream, 50/s bucket) | `GET /v1/contacts` | yes |
//! | [`Client::address_books`], [`Client::field_catalog`] | `GET /v1/addressbooks` | yes |
//! | [`Client::list_segments`], [`Client::segment_contacts`] | `GET /v1/groups`, `/v1/group/{id}/contacts` | yes |
//! | [`Client::attach_contacts`], [`Client::detach_contacts`] | `POST /v1/group/{id}/contacts/attach\|detach` | yes |
//!
//! Non-idempotent operations are retried only when the request provably did not reach the
//! service (connect failure, 429).
//!
//! # Choices where the reference is silent or uncertain
//!
//! * Money is sent as an exact JSON number (`1000.10`, never through `f64`); dates as
//!   `YYYY-MM-DDTHH:MM:SS±HH:MM` from a [`jiff::Zoned`] (sub-seconds dropped); order deletion
//!   ranges as UTC `YYYY-MM-DDTHH:MM:SS` query parameters.
//! * Smartsend sends `jsonParam` and `fromName` as `null` when unset (as the documented
//!   examples do); `externalRequestId` can be set per recipient and/or at the top level
//!   (its position is uncertain; each is omitted when unset). Results are matched to recipients by
//!   position, or by locator when the counts differ; a recipient without a result is rejected.
//! * Orders need `externalCustomerId`, `email` or `phone`. A `failedOrders` entry without an
//!   `externalOrderId` rejects its whole chunk (re-sending an upsert is harmless). A 2xx body
//!   that is not JSON counts as accepted (orders, contact imports).
//! * Events without `keyValue` must carry a contact parameter (`contactId`,
//!   `externalCustomerId`, `email`, `phone`, `pushToken`). Lengths count characters.
//! * Status requests are chunked to 100 ids (no documented limit). An empty detach is refused
//!   (the service may read it as "remove everyone"). Contact search pages until a short page
//!   (the `TotalCount` header is unreliable).
//! * Attach/detach send `{"contactIds": [...]}`; order deletion uses query parameters;
//!   `dedupeOn` is an open enum ([`DedupeOn::Other`] sends any value verbatim).
//! * `Retry-After` (seconds or HTTP date) and `RateLimit-Reset` are honoured if present.
//!   "Duplicated request" errors are reported, see [`Error::is_duplicated_request`].
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
//!     external_request_id: None,
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
    Subscription, import_bodies,
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
pub use orders::{
    ORDERS_CHUNK, Order, OrderDeletion, OrderItem, OrderOutcome, OrderStatus, orders_bodies,
};
pub use segments::Segment;

/// Re-exported so callers need not depend on them directly.
pub use jiff;
pub use rust_decimal;
