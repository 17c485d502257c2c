//! The crate's integration tests, as modules of one test binary: one link and one
//! executable instead of one per file.

mod fake_customers;
mod reader_fixtures;
mod roundtrip_customer;
mod wire_requests;
