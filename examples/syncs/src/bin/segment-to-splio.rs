//! `segment-to-splio`: a reverse-ETL activation of a segment file in Splio. See
//! docs/segment-to-splio.md.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let cli: sync_examples::segment_to_splio::Cli = sync_kit::cli::parse_with_help(
        std::env::args_os(),
        &sync_examples::shared::help::segment_to_splio(),
    );
    sync_examples::segment_to_splio::main(cli).await.into()
}
