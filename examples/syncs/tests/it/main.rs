//! The crate's integration tests, as modules of one test binary: one link and one
//! executable instead of one per file.

mod common;
mod delivery_requests;
mod directo_orders;
mod directo_to_smaily;
mod failures;
mod input_files;
mod messaging;
mod ops_metrics;
mod ops_output;
mod ops_requests;
mod ops_runlog;
mod ops_sandbox;
mod ops_skipped;
mod ops_status;
mod ops_watermark;
mod output;
mod pg_runs;
mod sandbox;
mod segment_to_splio;
mod segment_to_splio_directo;
mod segment_to_splio_existence;
mod segment_to_splio_sftp;
/// splio-client's real SFTP server helper, shared rather than copied.
#[path = "../../../../splio-client/tests/it/common/mod.rs"]
mod splio_servers;
mod truth_check;
mod truth_directo;
mod truth_docs;
mod truth_messaging;
mod truth_segment;
