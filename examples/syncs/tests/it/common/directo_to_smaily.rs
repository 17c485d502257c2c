//! `directo-to-smaily` as the tests run it: a Directo fake with demo customers, and the binary
//! pointed at it (and at a Smaily fake, when the test gives one).

use std::path::Path;

use directo_client::fake::FakeDirecto;
use smaily_client::fake::{FAKE_PASSWORD, FAKE_USER, FakeSmaily};
use sync_examples::shared::demo_customers as demo;

use super::sync_bin;

/// The binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_directo-to-smaily");

/// A Directo fake seeded with `n` demo customers changed in the 10 hours before now (Directo
/// time).
pub async fn directo_with_customers(n: usize) -> FakeDirecto {
    directo_with_customers_within(n, 600).await
}

/// A Directo fake seeded with `n` demo customers changed in the `minutes` before now (Directo
/// time).
pub async fn directo_with_customers_within(n: usize, minutes: i64) -> FakeDirecto {
    let directo = FakeDirecto::start().await;
    let now = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Tallinn").unwrap())
        .datetime();
    sync_examples::shared::directo::seed(&directo, &demo::customers(n, now, minutes));
    directo
}

/// The binary in `dir` reading `directo`, and delivering to `smaily` if given (else with no
/// Smaily variable set at all).
pub fn command(
    directo: &FakeDirecto,
    smaily: Option<&FakeSmaily>,
    dir: &Path,
    args: &[&str],
) -> tokio::process::Command {
    let mut cmd = sync_bin::command(BIN, dir);
    cmd.env_remove("DIRECTO_KEY")
        .env_remove("SMAILY_SUBDOMAIN")
        .env_remove("SMAILY_BASE_URL")
        .env_remove("SMAILY_USER")
        .env_remove("SMAILY_PASSWORD")
        .env("DIRECTO_URL", directo.base_url())
        .env("DIRECTO_TOKEN", FakeDirecto::TOKEN)
        .args(args);
    if let Some(smaily) = smaily {
        cmd.env("SMAILY_BASE_URL", smaily.base_url())
            .env("SMAILY_USER", FAKE_USER)
            .env("SMAILY_PASSWORD", FAKE_PASSWORD);
    }
    cmd
}
