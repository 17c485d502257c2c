//! The `directo-to-smaily` job (the Make template "add new or updated Directo contacts to
//! Smaily"): Directo customers changed since the last run → valid emails only → mapped fields →
//! Smaily subscriber upserts in batches.

pub mod demo;
pub mod directo;
pub mod job;
mod mapping;

pub use job::{
    Endpoints, SANDBOX_CUSTOMERS, Sandbox, SmailySink, endpoints_from_env, main, run_once,
};
pub use mapping::{
    Config, CustomerFields, DirectoConfig, EmailConfig, JOB_NAME, Mapping, SmailyConfig, prepare,
};
