//! Typed, streaming async client for the Directo ERP XML data-exchange interface
//! (`xmlcore.asp`: legacy per-company URLs with `key=`, XML Direct and BI Direct with `token=`).
//!
//! Read and write Directo data without touching XML, in exactly the shapes Directo's schemas
//! describe (every rule, its source and how sure we are: [`conformance`]):
//!
//! - **Reads** (`get=1&what=…`, filters, `ts` "changed since") stream typed records while the
//!   response is still arriving: [`Client::customers`], [`Client::read`] for any
//!   [`FromRecord`] type, [`Client::records`] for any `what` as a generic [`Record`]. Memory is
//!   bounded by one record, whatever the response size. A record that cannot be decoded
//!   (invalid UTF-8, a value that does not fit its field) is an [`Error::Record`] for that
//!   record and the stream goes on; an answer that is not a Directo answer (an HTML page, an
//!   empty body) is an error, never an empty read. A declared encoding (`encoding=
//!   "windows-1257"`, or the HTTP `charset`) is decoded.
//! - **Writes** (`put=1&what=…&xmldata=…`) go to a [`Target`]: the root and record element
//!   from Directo's input schema (`xml_IN_*.xsd`, vendored and checked against), with only
//!   the fields the caller set, under their input names, within the documented lengths, and
//!   only characters XML 1.0 allows. [`PutMode`] chooses the transport parameters
//!   (`xd_update`, `xd_updateconfirmed`, `xd_customer_update`, `xd_supplier_update`): a full
//!   update overwrites the whole document, so [`PutMode::Update`] refuses one that leaves
//!   fields out (use [`PutMode::CustomerUpdate`] for name, email and phone, or name the
//!   overwrite with [`PutMode::Replace`]); [`PutParams`] adds component-specific ones
//!   (`xd_confirm`, `object`, …); [`Client::delete`] deletes where the schema allows it.
//!   Large puts are split under the documented 19 MB, and each input document gets its
//!   [`PutOutcome`]: `Ok` with Directo's [`PutResult`] (Type 0, 30 or none), or an
//!   [`ItemError`]: [`Rejected`](ItemError::Rejected) (Directo refused it, e.g. Duplicate
//!   (11)), [`OutcomeUnknown`](ItemError::OutcomeUnknown) (its answer was lost: look it up
//!   before sending it again) or [`Failed`](ItemError::Failed) (refused before sending, or
//!   its request failed; the other documents go).
//! - Errors inside a 200 (`<result type="5" desc="Unauthorized"/>`, `<err>…</err>`,
//!   `<error desc code/>`, a root with an `error` attribute, as 5dvision's
//!   `ErrorResponseDetector` reads them) are [`Error`]s; malformed XML gives the byte offset
//!   and record number.
//! - [`RecordReader`] runs the same parser synchronously over any `BufRead`.
//! - Feature `fake`: [`fake::FakeDirecto`], a stateful in-process Directo for tests and
//!   sandboxes, as strict as the service is documented to be.
//!
//! ## Idempotency
//! | operation | idempotent | retried on |
//! |---|---|---|
//! | reads (`get=1`) | yes | connect errors, timeouts, 408, 429, 500, 502, 503, 504 (before the body starts) |
//! | writes (`put=1`) | no | only connect failures and 429 (the request provably did not arrive) |
//!
//! A read is retried only until its body starts. If the body breaks later (cut connection,
//! idle [`timeout`](ClientBuilder::timeout)), the stream ends with an error for which
//! [`Error::is_retryable`] is true, after the records already yielded; run the read again
//! (with `ts` at your high-water mark minus an overlap: Directo does not document whether
//! the `ts` filter is `>` or `>=`, nor its time zone, which is Europe/Tallinn local time).
//!
//! Directo says "put = create or update" and "on failure, retry after ≥ 60 s", but a repeated
//! create can be answered "Duplicate" (11) and invoices without a fixed number could be created
//! twice, so puts are never blindly repeated.
//!
//! ## Example
//! ```
//! # #[cfg(feature = "fake")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use directo_client::prelude::*;
//! use directo_client::{fake::FakeDirecto, jiff, Auth, Customer, PutMode, Query, RetryPolicy};
//!
//! let fake = FakeDirecto::start().await;
//! let client = Client::builder(Auth::token(FakeDirecto::TOKEN))
//!     .base_url(fake.base_url())
//!     .allow_http(true)
//!     .retry(RetryPolicy::fast(2))
//!     .build()?;
//!
//! let mut tom = Customer::new("C1");
//! tom.name = Some(r#"Tom & "Jerry" <OÜ>"#.into());
//! tom.email = Some("tom@example.ee".into());
//! for outcome in client.put(&[tom], PutMode::Create).await {
//!     // Stored, or why not: Rejected by Directo, OutcomeUnknown, or Failed.
//!     assert!(outcome.is_ok(), "{:?}: {}", outcome.key, outcome.error().unwrap());
//! }
//!
//! let back: Vec<Customer> = client
//!     .customers(Query::new().since(jiff::civil::date(2000, 1, 1)))
//!     .try_collect()
//!     .await?;
//! assert_eq!(back[0].name.as_deref(), Some(r#"Tom & "Jerry" <OÜ>"#));
//! # Ok::<(), Error>(()) }).unwrap();
//! ```

mod attrs;
mod client;
mod customer;
mod document;
mod documents;
mod encoding;
mod error;
mod put;
mod put_results;
mod query;
mod reader;
mod record;
mod schema;
mod target;
mod utf8;
mod values;
mod xmldata;

#[cfg(feature = "fake")]
pub mod fake;

pub mod conformance {
    //! The conformance table: every operation, its sources, our confidence, and what the
    //! fake enforces (also `CONFORMANCE.md` in the crate).
    #![doc = include_str!("../CONFORMANCE.md")]
}

/// The crates this one's public types come from, at the versions it was built with: dates
/// and times ([`jiff`]: [`Query::since`], [`Customer::ts`]), amounts ([`rust_decimal`]),
/// streams ([`futures`]: [`RecordStream`]), a [`Record`]'s attributes ([`indexmap`]), the
/// URL ([`url`]: [`Client::url`]), the XML parser's error ([`quick_xml`]: [`Error::Xml`]) and
/// the suite's shared core ([`marketing_sync_core`]).
pub use {futures, indexmap, jiff, marketing_sync_core, quick_xml, rust_decimal, url};

pub use marketing_sync_core::{ItemOutcome, count_requests};

pub mod prelude {
    //! What most code that uses this crate needs, in one import:
    //! `use directo_client::prelude::*;` brings [`Client`], [`Auth`], [`Error`], [`ItemError`],
    //! [`ItemOutcome`], the stream extension traits (`next`, `try_next`, `try_collect` on a
    //! [`RecordStream`](crate::RecordStream)) and, with feature `fake`, the fake's API
    //! ([`FakeService`](crate::fake::FakeService)).
    //!
    //! ```
    //! use directo_client::prelude::*;
    //! use directo_client::{Customer, RecordReader};
    //! # tokio::runtime::Runtime::new().unwrap().block_on(async {
    //! let xml = br#"<customers><customer code="A"/></customers>"#;
    //! let mut stream = directo_client::futures::stream::iter(RecordReader::<_, Customer>::new(&xml[..], "customer"));
    //! assert_eq!(stream.try_next().await?.map(|c| c.code), Some("A".to_string()));
    //! # Ok::<(), Error>(()) }).unwrap();
    //! ```

    pub use crate::{Auth, Client, Error, ItemError, ItemOutcome};
    pub use futures::{StreamExt as _, TryStreamExt as _};

    #[cfg(feature = "fake")]
    pub use crate::fake::FakeService as _;
}

pub use client::{
    Auth, BI_DIRECT_URL, Client, ClientBuilder, MAX_XMLDATA_BYTES, ReadMethod, RecordStream,
    RetryPolicy, XML_DIRECT_URL,
};
pub use customer::Customer;
pub use document::DataField;
pub use documents::{
    Contact, Invoice, InvoiceRow, Item, ItemPackage, Order, OrderRow, Receipt, ReceiptRow,
    StockLimit, SupplierItem,
};
pub use error::{Error, ItemError, Result};
pub use put::{Document, PutMode, PutOutcome, PutParams, ToRecord};
pub use put_results::{PutResult, PutStatus, parse_put_results};
pub use query::{Query, Since};
pub use reader::RecordReader;
pub use record::{FieldError, FromRecord, Record};
pub use target::{Confidence, Target};

/// The README's example, run as a doctest so that it stays true (it runs against the fake).
#[cfg(all(doctest, feature = "fake"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
