//! What two or more syncs share: reading Directo customers, the demo customers of the
//! sandboxes, and the sandbox's closing line and refusal.

#[cfg(feature = "sandbox")]
pub mod demo_customers;
pub mod directo;
pub mod sandbox;
