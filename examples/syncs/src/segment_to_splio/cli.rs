//! The `segment-to-splio` command line.

use std::path::PathBuf;

use sync_kit::CommonArgs;

/// The command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "segment-to-splio",
    version,
    about = "Activates a segment in Splio: the rows of a CSV or JSON-lines file (or, with \
             --source directo, the Directo customers changed since the last run) become Splio \
             contacts, sending only what changed since the last activation, by REST or as \
             Datahub files over SFTP.",
    long_about = None
)]
pub struct Cli {
    /// The segment file: CSV with a header row (`,` or `;`) or JSON lines (.jsonl, .ndjson,
    /// .json), keyed by its `email` column (source.key_column). Optional with --sandbox (demo
    /// segment), --source directo and --replay-failed.
    pub segment: Option<PathBuf>,
    /// Where the segment comes from: `csv` (the file) or `directo` (Directo customers changed
    /// since the last run; credentials from DIRECTO_*).
    #[arg(long, value_enum, default_value = "csv")]
    pub source: SourceKind,
    /// Create contacts that do not exist in Splio yet (without it they are counted as skipped).
    #[arg(long)]
    pub insert: bool,
    /// How to deliver: `api` (REST: PATCH existing, bulk create new) or `sftp` (Datahub files).
    #[arg(long, value_enum, default_value = "api")]
    pub delivery: DeliveryKind,
    /// The common sync flags.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `--source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    /// The segment file given as the argument.
    Csv,
    /// Directo customers changed since the last run.
    Directo,
}

/// `--delivery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeliveryKind {
    /// REST: PATCH existing contacts, bulk create new ones.
    Api,
    /// Datahub contacts files uploaded over SFTP into `/imports/`.
    Sftp,
}
