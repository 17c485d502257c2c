//! `messaging directo-orders`: Directo invoices changed since the last run → messaging orders
//! (`DELIVERED` when paid, else `INITIALIZED`), for RFM segments. See docs/messaging.md.
//!
//! Each run reads, with the same since/overlap/watermark rules as `directo-to-smaily`:
//!
//! 1. the receipts (`what=receipt`) changed since the start point. What each receipt row pays
//!    (`received`, per referenced invoice number) is kept in the state file, keyed by receipt
//!    and row, so a receipt read again replaces what it paid before instead of adding to it,
//!    and a receipt marked `confirmed="0"` pays nothing. Only while the state holds no receipt
//!    yet (the first run) are they read from the start point minus
//!    `invoices.receipts_lookback`, to load the payments made in parts before it; receipts last
//!    changed before that lookback are dropped from the state;
//! 2. the invoices (`what=invoice`) changed since the start point, each mapped to one order;
//! 3. with `invoices.reread_paid`, the invoices that a receipt changed since the start point
//!    pays (or no longer pays) but that step 2 did not return (an old invoice paid today), by
//!    `number=`; not those whose last delivered order already has the status their payments
//!    give (a receipt re-read in the overlap).
//!
//! An invoice is paid when its `invoices.balance_attribute` (if configured and present) is
//! zero or less, else when the receipts kept for it cover its total. Orders are upserts
//! keyed by `externalOrderId` (the invoice number), so a status change is simply sent again;
//!
//! The recipe: [`config`] (the TOML), [`mapping`] (an invoice and its payments → an order) and
//! [`run`] (read receipts and invoices, deliver, and the subcommand's `main`).

pub mod config;
pub mod mapping;
pub mod run;

pub use config::{Config, InvoiceRules};
pub use mapping::{Part, Payments, prepare, whole_quantity};
#[cfg(feature = "sandbox")]
pub use run::sandbox_directo_fake;
pub use run::{main, read_payments, run_once};

/// The job's name in the state file unless the config says otherwise.
pub const JOB_NAME: &str = "messaging-directo-orders";
