//! `messaging`: the messaging API guide as a CLI over `messaging-client`. One-shot commands
//! (`account`, `unsubscribe`, `event`, `status`, `fields`), and syncs that run through the sync
//! toolkit (state, dry run, replay, summary): the file pushes `orders push`, `contacts push` and
//! `send`, and `directo-orders` (Directo invoices → orders). See docs/messaging.md.
//!
//! The recipe: [`cli`] (the subcommands) and [`config`] (the TOML, the client it sets up) say
//! what to do; [`oneshot`] runs the one-shot commands; [`run`] runs the file pushes
//! ([`orders`], [`contacts`], [`send`]) through the toolkit; [`directo_orders`] is the Directo
//! invoices sync; [`demo`] is the sandbox.

pub mod cli;
pub mod config;
pub mod contacts;
pub mod demo;
pub mod directo_orders;
pub mod oneshot;
pub mod orders;
pub mod preflight;
pub mod run;
pub mod send;

/// The toolkit's input files, which the file pushes read.
pub use sync_kit::input;

pub use cli::{Cli, Command, OneShotArgs, PushAction, UnsubscribeAction};
pub use config::{ClientConfig, Config, client_from_env};
#[cfg(feature = "sandbox")]
pub use demo::Sandbox;
pub use run::{Push, client_error, item_error, main, run_push};

/// A build without the `sandbox` feature has no sandbox.
#[cfg(not(feature = "sandbox"))]
pub use crate::shared::sandbox::Unavailable as Sandbox;
