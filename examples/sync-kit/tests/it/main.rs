//! The toolkit's integration tests, as modules of one test binary: one link and one
//! executable instead of one per file.

mod common;
mod pg_state;
mod state_file;
mod state_store;
mod toolkit;
mod watermarks;
