//! The crate's integration tests, as modules of one test binary: one link and one
//! executable instead of one per file.

mod common;
mod conformance;
mod fake_rest;
mod fake_spec;
mod sftp;
mod surface;
mod wire;
