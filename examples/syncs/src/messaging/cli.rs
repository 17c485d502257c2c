//! The `messaging` command line: one-shot commands and file pushes.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sync_kit::CommonArgs;

/// The `messaging` command line.
#[derive(Debug, Parser)]
#[command(
    name = "messaging",
    version,
    about = "The messaging API (eSputnik/Yespo) as a command line: the account, unsubscribes, \
             events, sends and their statuses, orders, contacts and custom fields; orders, \
             contacts and recipients are read from CSV or JSON-lines files, and directo-orders \
             syncs Directo invoices to orders.",
    long_about = None
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--json`, `--sandbox` and the sandbox's `--state` for the one-shot commands.
#[derive(Debug, Clone, clap::Args)]
pub struct OneShotArgs {
    /// Print the answer as one JSON line on stdout.
    #[arg(long)]
    pub json: bool,
    /// Run against the in-process fake seeded with demo data (no account needed).
    #[arg(long)]
    pub sandbox: bool,
    /// With --sandbox: the state file of the sandbox runs to continue (the fake keeps what
    /// they sent beside it, e.g. the messages of `send --sandbox --state FILE` for `status`).
    #[arg(long, value_name = "FILE", requires = "sandbox")]
    pub state: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the account (and so check the credentials).
    Account(OneShotArgs),
    /// Add or remove emails on the unsubscribed list.
    Unsubscribe {
        /// `add` or `remove`.
        #[command(subcommand)]
        action: UnsubscribeAction,
    },
    /// Generate one event (not idempotent: sent once, never retried after it may have arrived).
    Event {
        /// The event type key.
        type_key: String,
        /// The event's key value (e.g. the contact's email): required unless a --param names
        /// the contact (contactId, externalCustomerId, email, phone or pushToken).
        #[arg(long)]
        key: Option<String>,
        /// A parameter, `name=value` (repeatable).
        #[arg(long = "param", value_parser = parse_param, value_name = "NAME=VALUE")]
        params: Vec<(String, String)>,
        /// Output and sandbox flags.
        #[command(flatten)]
        out: OneShotArgs,
    },
    /// Send a prepared message to every recipient of a file (CSV or JSON lines), once each.
    Send {
        /// The prepared message's id.
        message_id: i64,
        /// The recipients file: CSV with a header row (`locator`, `email` or `contactId`;
        /// `language`; every other column a message parameter) or JSON lines (`{"locator": …,
        /// "params": {…}}`). Optional with --sandbox (demo recipients) and --replay-failed.
        #[arg(long, value_name = "FILE")]
        recipients: Option<PathBuf>,
        /// The message is not an email (SMS, Viber, …).
        #[arg(long)]
        not_email: bool,
        /// Append `key,requestId` of every delivered recipient to this CSV file (for `status`).
        #[arg(long, value_name = "FILE")]
        request_ids: Option<PathBuf>,
        /// The common sync flags.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Delivery statuses of sent messages by request id.
    Status {
        /// Request ids (as returned by `send`).
        #[arg(required = true)]
        request_ids: Vec<String>,
        /// Output and sandbox flags.
        #[command(flatten)]
        out: OneShotArgs,
    },
    /// Push orders from a CSV or JSON-lines file (for RFM segments).
    Orders {
        /// `push`.
        #[command(subcommand)]
        action: PushAction,
    },
    /// Sync Directo invoices changed since the last run to orders (DELIVERED when paid,
    /// else INITIALIZED), for RFM segments. Directo credentials from DIRECTO_*.
    DirectoOrders {
        /// The common sync flags.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Push contacts from a CSV or JSON-lines file (custom fields by name).
    Contacts {
        /// `push`.
        #[command(subcommand)]
        action: PushAction,
    },
    /// List the custom fields of the account (the catalog `contacts push` resolves names with).
    Fields(OneShotArgs),
}

/// `unsubscribe add|remove`.
#[derive(Debug, Subcommand)]
pub enum UnsubscribeAction {
    /// Add emails to the unsubscribed list.
    Add {
        /// The emails.
        #[arg(required = true)]
        emails: Vec<String>,
        /// Output and sandbox flags.
        #[command(flatten)]
        out: OneShotArgs,
    },
    /// Remove emails from the unsubscribed list.
    Remove {
        /// The emails.
        #[arg(required = true)]
        emails: Vec<String>,
        /// Output and sandbox flags.
        #[command(flatten)]
        out: OneShotArgs,
    },
}

/// `orders push` / `contacts push`.
#[derive(Debug, Subcommand)]
pub enum PushAction {
    /// Push every record of a file: CSV with a header row (`,` or `;`) or JSON lines (one
    /// object per line), in the API's field names (see docs/messaging.md).
    Push {
        /// The file (.csv, or .jsonl/.ndjson/.json for JSON lines); optional with --sandbox
        /// (demo data) and --replay-failed.
        file: Option<PathBuf>,
        /// The common sync flags.
        #[command(flatten)]
        common: CommonArgs,
    },
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("{text:?} is not name=value")),
    }
}
