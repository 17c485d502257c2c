//! The `directo-to-smaily` job (the Make template "add new or updated Directo contacts to
//! Smaily"): Directo customers changed since the last run → valid emails only → mapped fields →
//! Smaily subscriber upserts in batches.

#[cfg(feature = "sandbox")]
pub mod demo;
pub mod job;
mod mapping;

pub use job::{Endpoints, SmailySink, endpoints_from_env, main, run_once};
#[cfg(feature = "sandbox")]
pub use job::{SANDBOX_CUSTOMERS, Sandbox};
pub use mapping::{Config, EmailConfig, JOB_NAME, Mapping, SmailyConfig, prepare};
