//! The `directo-to-smaily` job (the Make template "add new or updated Directo contacts to
//! Smaily"): Directo customers changed since the last run → valid emails only → mapped fields →
//! Smaily subscriber upserts in batches.

pub mod demo;
mod mapping;

pub use mapping::{
    Config, CustomerFields, DirectoConfig, EmailConfig, JOB_NAME, Mapping, SmailyConfig, prepare,
};
