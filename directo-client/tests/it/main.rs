//! The crate's integration tests, as modules of one test binary: one link and one
//! executable instead of one per file.

mod bespoke_reads;
mod common;
mod control_chars;
mod deletes;
mod encodings;
mod error_roots;
mod fake_conformance;
mod fake_customers;
mod fake_strictness;
mod put_answers;
mod put_limits;
mod put_modes;
mod put_params;
mod put_schema;
mod reader_fixtures;
mod record_errors;
mod retries;
mod roundtrip_customer;
mod small_checks;
mod sparse_update;
mod wire_requests;
