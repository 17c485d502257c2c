//! `messaging`: the messaging API guide as a command line. See docs/messaging.md.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let cli: sync_examples::messaging::Cli = sync_kit::cli::parse();
    sync_examples::messaging::main(cli).await.into()
}
