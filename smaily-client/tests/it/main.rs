//! The crate's integration tests, as modules of one test binary: one link and one
//! executable instead of one per file.

mod fake;
mod fake_flows;
mod fake_rules;
mod limiter;
mod status;
mod surface;
mod wire;
mod wire_rest;
