//! What most programs need, in one import: `use splio_client::prelude::*;`.
//!
//! The client and its credentials, the errors, the per-item outcome, and the traits the
//! examples call methods of, imported `as _` (the stream extension traits, for
//! [`Client::contacts`] and the other streams, and `FakeService` under the `fake` feature).
//!
//! ```
//! use splio_client::prelude::*;
//! fn check(outcome: &ItemOutcome<String, (), ItemError>) -> bool {
//!     outcome.result.as_ref().is_ok_and(|()| true)
//! }
//! # let _ = check;
//! ```

pub use crate::{ApiKey, Client, Error, ItemError, ItemOutcome};
pub use futures::{StreamExt as _, TryStreamExt as _};

#[cfg(feature = "fake")]
pub use crate::fake::FakeService as _;
