//! `segment-to-splio`: a reverse-ETL activation of a segment file in Splio. See
//! docs/segment-to-splio.md.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let cli: sync_examples::segment_to_splio::Cli = sync_kit::cli::parse();
    sync_examples::segment_to_splio::main(cli).await.into()
}
