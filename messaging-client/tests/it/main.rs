//! The crate's integration tests, as modules of one test binary: one link and one
//! executable instead of one per file.

mod activity;
mod common;
mod contacts;
mod core;
mod decode_props;
mod fake;
mod fake_rules;
mod import;
mod orders;
mod outcome;
mod sends;
