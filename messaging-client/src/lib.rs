//! Typed async client for the eSputnik / Yespo messaging API v1: account, unsubscribes,
//! events, prepared-message sends and statuses, orders, contacts, catalog fields and segments.
//!
//! Every request goes through one path (`client.rs`) that does HTTP Basic auth (any user, the
//! [`ApiKey`] as password), client-side rate limits (200/s default, 50/s contact search, 350/s
//! events), retries with exponential backoff (idempotent operations only, or when the request
//! provably did not reach the service), tracing and lenient decoding of the service's quirks
//! (one-or-many collections, numbers and booleans as strings, empty and plain-text bodies).
//! The runtime under it (retry decision, `Retry-After`, rate limiters, deadline, decoding,
//! transport errors, [`ItemOutcome`]) is the shared [`marketing_sync_core`] crate.
//!
//! # Operations
//!
//! | Method | HTTP | Idempotent (retried on any transient failure) |
//! |---|---|---|
//! | [`Client::account_info`] | `GET /v1/account/info` | yes |
//! | [`Client::add_unsubscribed`], [`Client::remove_unsubscribed`] | `POST /v1/emails/unsubscribed/add\|delete` | yes |
//! | [`Client::generate_event`] (v2 by default, [`EventApi`]), [`Client::generate_event_v2`] | `POST /v2/event` (or the deprecated `/v1/event`) | **no** |
//! | [`Client::smartsend`] (chunks of 1,000) | `POST /v1/message/{id}/smartsend` | **no** |
//! | [`Client::send_email`], [`Client::send_sms`], [`Client::send_viber`] | `POST /v1/message/email\|sms\|viber` | **no** |
//! | [`Client::message_statuses`] (chunks of 100) | `GET /v1/message/status?ids=` | yes |
//! | [`Client::contacts_activity`] (stream) | `GET /v2/contacts/activity` | yes |
//! | [`Client::push_orders`] (chunks of 1,000) | `POST /v1/orders` | per [`OrderRetry`] (default: only when not received) |
//! | [`Client::delete_orders`] | `DELETE /v1/orders` | yes |
//! | [`Client::import_contacts`] (≤ 3,000 per request), [`Client::import_status`], [`Client::wait_for_import`] | `POST /v1/contacts`, `GET /v1/importstatus/{id}` | yes, but not with `eventKeyForNewContacts` |
//! | [`Client::get_contact`], [`Client::update_contact`], [`Client::delete_contact`], [`Client::delete_contact_with`] (`erase`), [`Client::delete_contact_by_external_id`] | `GET\|PUT\|DELETE /v1/contact/{id}`, `DELETE /v1/contact?externalCustomerId=` | yes |
//! | [`Client::add_contact`], [`Client::subscribe_contact`] | `POST /v1/contact`, `/v1/contact/subscribe` | **no** |
//! | [`Client::search_contacts`] (stream, 50/s bucket) | `GET /v1/contacts` | yes |
//! | [`Client::subscription_categories`], [`Client::contact_subscriptions`], [`Client::set_contact_subscriptions`] | `GET /v1/subscriptions`, `GET\|PUT /v1/contact/{id}/subscriptions` | yes |
//! | [`Client::address_books`], [`Client::field_catalog`] | `GET /v1/addressbooks` | yes |
//! | [`Client::list_segments`], [`Client::segment_contacts`] | `GET /v1/groups`, `/v1/group/{id}/contacts` | yes |
//! | [`Client::attach_contacts`], [`Client::detach_contacts`], [`Client::attach_external_ids`], [`Client::detach_external_ids`] (chunks of 500) | `POST /v1/group/{id}/contacts/attach\|detach` | yes |
//!
//! Idempotency follows the HTTP method: GET, PUT and DELETE are retried on any transient
//! failure, POST is not, except the POSTs marked "yes" above, each marked at its call with why
//! (set semantics, or an upsert by key). Non-idempotent operations are retried only when the
//! request provably did not reach the service (connect failure, 429); when one of them was
//! sent and its answer was lost (a cut connection, a timeout, the deadline), it returns
//! [`Error::OutcomeUnknown`] (batch calls: [`ItemError::OutcomeUnknown`] for every item of that
//! request), never a retryable error that invites sending it twice.
//!
//! Where each wire fact comes from, how sure it is, and what the fake enforces:
//! `docs/messaging-conformance.md` in the repository (the conformance table).
//!
//! # Nothing lost, nothing sent twice
//!
//! * **Contact imports** list, per request, exactly the standard fields (`contactFields`) and
//!   custom fields (`customFieldsIDs`) their contacts carry: contacts are grouped by the
//!   fields they carry, so a field a contact does not carry is never nulled and custom values
//!   always arrive ([`StandardFields`], [`CustomFields`]). `dedupeOn` is always sent (default
//!   `email`). The import is asynchronous: [`Client::wait_for_import`] polls its session to the
//!   end; each contact's [`ImportOutcome`] says whether the service took it or refused it.
//! * **Sends** match each result to the recipient it names (`locator`, then `contactId`); a
//!   recipient addressed by contact id or external customer id is matched by the channels of
//!   its contact (results name the token or address sent to, never the id); position is the
//!   last resort, only when no result names anyone and the counts match. A
//!   recipient without a result, or a 200 without readable results, is
//!   [`ItemError::OutcomeUnknown`] (plain sends: [`SendReceipt::NoRequestId`]): the message
//!   may have gone out, never report a failure that invites sending it again.
//! * **Orders** are upserts, but every accepted order raises `order<STATUS>`, which can start
//!   a workflow: repeating one after an unknown outcome is the builder's choice
//!   ([`OrderRetry`]).
//! * **Events** must name their contact: `keyValue`, or a contact parameter with a value (an
//!   `externalCustomerId` of `""` or `"null"` names nobody, as the service ignores it).
//!
//! # Choices where the reference is silent or uncertain
//!
//! * Money is sent as an exact JSON number (`1000.10`, never through `f64`); order dates as
//!   `YYYY-MM-DDTHH:MM:SS±HH:MM` from a [`jiff::Zoned`] (sub-seconds dropped); order deletion
//!   ranges as UTC `YYYY-MM-DDTHH:MM:SS` query parameters, both ends included; activity
//!   periods as civil date-times, which the service reads in the API user's time zone.
//! * Smartsend sends `jsonParam` and `fromName` as `null` when unset (as the documented
//!   examples do); `externalRequestId` can be set per recipient and/or at the top level (its
//!   position is uncertain; each is omitted when unset).
//! * Orders need `externalCustomerId`, `email` or `phone`. A `failedOrders` entry that names
//!   no order rejects its whole chunk. A 2xx body that is not JSON counts as accepted (orders,
//!   contact imports: then without a session id).
//! * Status requests are chunked to 100 ids (no documented limit). An empty detach is refused
//!   (OA: a detach without ids removes everyone from the segment). Contact search pages until a short page
//!   (the `TotalCount` header is unreliable); activity pages by `offset`, 1,000 entries a page
//!   by default.
//! * `dedupeOn` is an open enum ([`DedupeOn::Other`] sends any value verbatim).
//! * `Retry-After` (seconds or HTTP date) and `RateLimit-Reset` are honoured if present.
//!   "Duplicated request" errors and 409s are reported, see [`Error::is_duplicated_request`].
//!
//! ```
//! # #[cfg(feature = "fake")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use messaging_client::{
//!     Contact, EventV1, ImportOptions, ImportPolling, Order, OrderStatus, Recipient, SmartSend,
//! };
//! use messaging_client::fake::{FakeMessaging, FakeService};
//!
//! let fake = FakeMessaging::start().await;
//! // Real code: Client::builder(ApiKey::new(key)).build()?
//! let client = messaging_client::Client::builder(fake.credentials())
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
//! let send = SmartSend::new(vec![Recipient::locator("a@example.com")
//!     .with_params(serde_json::json!({"discount": "5%"}))
//!     .with_external_request_id("welcome:a@example.com")]);
//! let sent = client.smartsend(7, &send).await;
//! let request_id = sent[0].result.clone().unwrap();
//! let statuses = client.message_statuses(&[request_id]).await.unwrap();
//! assert!(statuses[0].delivered);
//!
//! // Only the fields a contact carries are updated; the import runs asynchronously.
//! let mut ann = Contact::email("ann@example.com");
//! ann.first_name = Some("Ann".into());
//! for chunk in client.import_contacts(&[ann], &ImportOptions::default()).await {
//!     let session = chunk.result.unwrap();
//!     let id = session.async_session_id.unwrap();
//!     client.wait_for_import(&id, &ImportPolling::default()).await.unwrap();
//! }
//! assert_eq!(fake.contacts().len(), 1);
//! # });
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod account;
mod activity;
mod batch;
mod catalog;
mod client;
mod contacts;
mod de;
mod error;
mod events;
mod import;
mod import_status;
mod messages;
mod orders;
mod paging;
mod segments;
mod settings;
mod smartsend;
mod subscriptions;
mod unsubscribed;
mod wire;

#[cfg(feature = "fake")]
pub mod fake;

pub use account::AccountInfo;
pub use activity::{ACTIVITY_PAGE, ActivityQuery, ContactActivity, MAX_ACTIVITY_PAGE};
pub use batch::ItemError;
pub use catalog::{
    AddressBook, AllowedValues, FieldCatalog, FieldDescription, FieldGroup, FieldInfo,
};
pub use client::{
    ApiKey, Client, ClientBuilder, DEFAULT_BASE_URL, EventApi, OrderRetry, RateLimits,
};
pub use contacts::{
    Address, Channel, Contact, ContactField, ContactGroup, ContactQuery, Device, MAX_PAGE_SIZE,
    Subscribed, Subscription,
};
pub use error::{Error, Result};
pub use events::{
    CONTACT_PARAMS, Event, EventParam, EventV1, EventV2, FORBIDDEN_KEY_CHARS, MAX_EVENT_BODY_BYTES,
    MAX_EVENT_TYPE_KEY_CHARS, MAX_KEY_VALUE_CHARS,
};
pub use import::{
    CONTACTS_CHUNK, ContactKey, CustomFields, DedupeOn, ImportOptions, ImportOutcome,
    ImportSession, StandardFields, import_bodies,
};
pub use import_status::{ImportMapping, ImportPolling, ImportState, ImportStatus};
pub use marketing_sync_core::{ItemOutcome, RetryPolicy, count_requests};
pub use messages::{
    DeliveryStatus, EmailMessage, MessageStatus, STATUS_CHUNK, SendReceipt, SendResult, SmsMessage,
    ViberMessage,
};
pub use orders::{
    ORDERS_CHUNK, Order, OrderDeletion, OrderItem, OrderOutcome, OrderStatus, orders_bodies,
};
pub use segments::{MEMBERSHIP_CHUNK, Segment};
pub use smartsend::{Recipient, RecipientKey, RecipientOutcome, SMARTSEND_CHUNK, SmartSend};
pub use subscriptions::SubscriptionCategory;

/// Re-exported, as public signatures use it (the streams of
/// [`Client::search_contacts`], [`Client::contacts_activity`], [`Client::segment_contacts`]).
pub use futures;
/// Re-exported, as public signatures use it ([`Order::date`] is a [`jiff::Zoned`], …).
pub use jiff;
/// Re-exported: the shared runtime (its transport [`Error`](marketing_sync_core::Error), its
/// fakes' scaffolding), so callers need not depend on it directly.
pub use marketing_sync_core;
/// Re-exported, as public signatures use it (money is a [`rust_decimal::Decimal`]).
pub use rust_decimal;
/// Re-exported, as public signatures use it ([`Recipient::params`], [`EventV2`] values, …).
pub use serde_json;

/// What most programs need, in one `use messaging_client::prelude::*;`: the client, its errors,
/// the per-item outcome, the stream extension traits (`try_next`, `try_collect`, …) and, with
/// the `fake` feature, the fake's API ([`FakeService`](crate::fake::FakeService)).
///
/// ```
/// use messaging_client::prelude::*;
/// fn report(outcomes: &[ItemOutcome<String, (), ItemError>]) -> usize {
///     outcomes.iter().filter(|o| o.result.is_err()).count()
/// }
/// assert_eq!(report(&[]), 0);
/// ```
pub mod prelude {
    #[cfg(feature = "fake")]
    pub use crate::fake::FakeService as _;
    pub use crate::{ApiKey, Client, Error, ItemError, ItemOutcome};
    pub use futures::{StreamExt as _, TryStreamExt as _};
}

/// The README's example (it runs against the fake), compiled and run as a doctest so that it
/// stays true.
#[cfg(all(doctest, feature = "fake"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
