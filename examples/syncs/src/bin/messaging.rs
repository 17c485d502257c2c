//! `messaging`: the messaging API guide as a command line. See docs/messaging.md.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let cli: sync_examples::messaging::Cli = sync_kit::cli::parse_with_help(
        std::env::args_os(),
        &sync_examples::shared::help::messaging(),
    );
    sync_examples::messaging::main(cli).await.into()
}
