//! What two or more syncs share: reading Directo customers, the demo customers of the
//! sandboxes, the sandbox's closing line and refusal, and the run loop around them.

#[cfg(feature = "sandbox")]
pub mod demo_customers;
pub mod directo;
pub mod help;
pub mod run;
pub mod sandbox;
