//! `messaging`: the messaging API guide as a command line. See docs/messaging.md.

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let cli = sync_examples::messaging::Cli::parse();
    sync_examples::messaging::main(cli).await.into()
}
