//! `segment-to-splio`: a reverse-ETL activation. A segment file (CSV with a header row, keyed by
//! the `email` column unless configured) → mapped to Splio standard and custom attributes → only
//! the attributes that changed since the last activation are sent (the last delivered values
//! are the snapshot in the state store) → Splio contacts API. With `--source directo` the
//! segment is instead the Directo customers changed since the last run (the same watermark rules
//! as `directo-to-smaily`). See docs/segment-to-splio.md.
//!
//! The recipe: [`cli`] (the flags) and [`config`] (the TOML) say what to do; [`mapping`] turns
//! each segment row or Directo customer into a contact; [`run`] reads the source, learns which
//! contacts exist ([`existence`]) and delivers by REST ([`api`]) or Datahub files ([`sftp`]);
//! [`demo`] is the sandbox.

pub mod api;
pub mod checks;
pub mod cli;
pub mod config;
pub mod demo;
pub mod existence;
pub mod mapping;
pub mod preflight;
pub mod run;
pub mod sftp;

pub use cli::{Cli, DeliveryKind, SourceKind};
pub use config::{Config, SourceConfig, SplioConfig, client_from_env};
#[cfg(feature = "sandbox")]
pub use demo::Sandbox;
pub use mapping::{changed, contact, prepare, prepare_customer, prepare_in};
pub(crate) use run::client_error;
pub use run::{Endpoints, main, open_segment, preview, run_once};

/// The default job name (the state key).
pub const JOB_NAME: &str = "segment-to-splio";

/// The default job name with `--source directo` (its own watermark and snapshots).
pub const DIRECTO_JOB_NAME: &str = "segment-to-splio-directo";

/// The skip reason of new contacts when `--insert` is not given.
pub const NOT_INSERTED: &str = "new contact, not created without --insert";

/// Splio's standard contact attributes; every other mapped attribute is a custom field.
pub const STANDARD: &[&str] = &["email", "cellphone", "firstname", "lastname", "language"];

/// A build without the `sandbox` feature has no sandbox.
#[cfg(not(feature = "sandbox"))]
pub use crate::shared::sandbox::Unavailable as Sandbox;
