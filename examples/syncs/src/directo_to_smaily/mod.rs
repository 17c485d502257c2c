//! The `directo-to-smaily` job (the Make template "add new or updated Directo contacts to
//! Smaily"): Directo customers changed since the last run → valid emails only → mapped fields →
//! Smaily subscriber upserts in batches.
//!
//! The recipe: [`config`] (the TOML) says what to do; `mapping` ([`prepare`]) turns a customer into a
//! subscriber; [`run`] reads Directo and delivers to Smaily (and is the binary's `main`);
//! [`demo`] is the sandbox.

pub mod config;
#[cfg(feature = "sandbox")]
pub mod demo;
mod mapping;
pub mod preflight;
pub mod run;

pub use config::{Config, EmailConfig, JOB_NAME, Mapping, SmailyConfig};
pub use mapping::prepare;
pub use run::{Endpoints, SmailySink, endpoints_from_env, main, run_once};
#[cfg(feature = "sandbox")]
pub use run::{SANDBOX_CUSTOMERS, Sandbox};
