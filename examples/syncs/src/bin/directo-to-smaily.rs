//! `directo-to-smaily`: the Make template "add new or updated Directo contacts to Smaily".
//! See docs/directo-to-smaily.md.

use clap::Parser;
use sync_kit::CommonArgs;

/// The command line: the flags every sync shares.
#[derive(Debug, Parser)]
#[command(
    name = "directo-to-smaily",
    version,
    about = "Syncs the Directo customers changed since the last run to Smaily subscribers (valid \
             emails only, fields mapped per the config), with retries, stored failures and \
             replay. Reads Directo's XML customer export; credentials from DIRECTO_* and \
             SMAILY_*.",
    long_about = None
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let cli: Cli = sync_kit::cli::parse_with_help(
        std::env::args_os(),
        &sync_examples::shared::help::directo_to_smaily(),
    );
    sync_examples::directo_to_smaily::main(cli.common)
        .await
        .into()
}
