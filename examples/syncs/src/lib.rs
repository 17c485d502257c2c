//! The template syncs, side by side, each a module with its binary in `src/bin/`:
//! [`directo_to_smaily`] (Directo customers → Smaily subscribers), [`segment_to_splio`] (a CSV
//! segment or Directo customers → Splio contacts) and [`messaging`] (the messaging API as a
//! command line, with `directo-orders`: Directo invoices → orders). What two or more of them
//! share is in [`shared`]; the pipeline they run on is the [`sync_kit`] crate, which knows no
//! service.
//!
//! The `sandbox` feature (on by default) adds `--sandbox`: in-process fakes of every service,
//! seeded with demo data. Without it (`--no-default-features`) the binaries carry no fake and
//! `--sandbox` is refused, naming the feature.

pub mod directo_to_smaily;
pub mod messaging;
pub mod segment_to_splio;
pub mod shared;
