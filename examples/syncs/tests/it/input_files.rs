//! End to end: input files with a mistake that concerns the whole file (a header without the
//! key column, a header no row can satisfy, an unknown column, a quote that swallows the rest
//! of the file) are usage errors (exit 2) found before anything is opened or sent, and the
//! message names what the header holds.

use crate::common::sync_bin::{self, stderr};

use std::path::Path;
use std::process::Output;

use messaging_client::fake::{FakeMessaging, FakeService as _};
use splio_client::fake::FakeSplio;

const SPLIO: &str = env!("CARGO_BIN_EXE_segment-to-splio");
const MESSAGING: &str = env!("CARGO_BIN_EXE_messaging");

async fn segment_to_splio(fake: &FakeSplio, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = sync_bin::command(SPLIO, dir);
    cmd.env("SPLIO_BASE_URL", fake.base_url())
        .env("SPLIO_API_KEY", fake.credentials().expose())
        .args(args);
    cmd.output().await.unwrap()
}

async fn messaging(fake: &FakeMessaging, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = sync_bin::command(MESSAGING, dir);
    cmd.env("MESSAGING_BASE_URL", fake.base_url())
        .env("MESSAGING_API_KEY", fake.credentials().expose())
        .args(args);
    cmd.output().await.unwrap()
}

/// Exit 2, one `error:` line holding every one of `words`, and no state file.
fn assert_usage_error(output: &Output, dir: &Path, words: &[&str]) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {text}"));
    for word in words {
        assert!(line.contains(word), "{word:?} not in {line:?}");
    }
    assert!(
        !dir.join("sync-state.db").exists(),
        "a usage error creates no state file"
    );
}

#[tokio::test]
async fn a_segment_header_without_the_key_column_is_a_usage_error_before_any_request() {
    let fake = FakeSplio::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = sync_bin::write_file(
        dir.path(),
        "vip.csv",
        "mail,firstname\nann@example.com,Ann\nbob@example.com,Bob\n",
    );
    let output = segment_to_splio(&fake, dir.path(), &[&file, "--insert"]).await;
    assert_usage_error(
        &output,
        dir.path(),
        &["vip.csv", "\"email\"", "\"mail\"", "\"firstname\""],
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());

    // The same for JSON lines: no line has the key.
    let file = sync_bin::write_file(
        dir.path(),
        "vip.jsonl",
        "{\"mail\": \"ann@example.com\"}\n{\"mail\": \"bob@example.com\", \"tier\": \"gold\"}\n",
    );
    let output = segment_to_splio(&fake, dir.path(), &[&file, "--insert"]).await;
    assert_usage_error(&output, dir.path(), &["\"email\"", "\"mail\"", "\"tier\""]);

    // A configured key column is the one looked for.
    let config = sync_bin::write_file(dir.path(), "c.toml", "[source]\nkey_column = \"mail\"\n");
    let output = segment_to_splio(
        &fake,
        dir.path(),
        &[&file, "--insert", "--config", &config, "--dry-run"],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[tokio::test]
async fn a_segment_that_does_not_exist_is_reported_before_any_request() {
    let fake = FakeSplio::start().await;
    let dir = tempfile::tempdir().unwrap();
    let output = segment_to_splio(&fake, dir.path(), &["missing.csv"]).await;
    assert_usage_error(&output, dir.path(), &["missing.csv"]);
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[tokio::test]
async fn an_orders_header_with_an_unknown_or_a_missing_column_is_a_usage_error() {
    let fake = FakeMessaging::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = sync_bin::write_file(
        dir.path(),
        "orders.csv",
        "externalOrderId,email,status,totalCost,currency,date,colour\n\
         O1,a@example.com,DELIVERED,10.50,EUR,2024-03-01,red\n",
    );
    let output = messaging(&fake, dir.path(), &["orders", "push", &file]).await;
    assert_usage_error(&output, dir.path(), &["\"colour\"", "\"externalOrderId\""]);
    assert!(fake.requests().is_empty(), "not even the credentials check");

    // No row can satisfy a header without `status`.
    let file = sync_bin::write_file(
        dir.path(),
        "orders.csv",
        "externalOrderId,email,totalCost,currency,date\nO1,a@example.com,10.50,EUR,2024-03-01\n",
    );
    let output = messaging(&fake, dir.path(), &["orders", "push", &file]).await;
    assert_usage_error(&output, dir.path(), &["\"status\"", "\"totalCost\""]);

    // Nor one without any customer column.
    let file = sync_bin::write_file(
        dir.path(),
        "orders.csv",
        "externalOrderId,status,totalCost,currency,date\nO1,DELIVERED,10.50,EUR,2024-03-01\n",
    );
    let output = messaging(&fake, dir.path(), &["orders", "push", &file]).await;
    assert_usage_error(
        &output,
        dir.path(),
        &["externalCustomerId", "email", "phone"],
    );
    assert!(fake.requests().is_empty());
    assert!(fake.orders().is_empty());
}

#[tokio::test]
async fn contacts_and_recipients_files_need_their_key_column() {
    let fake = FakeMessaging::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = sync_bin::write_file(
        dir.path(),
        "contacts.csv",
        "mail;firstName\nann@example.com;Ann\n",
    );
    let output = messaging(&fake, dir.path(), &["contacts", "push", &file]).await;
    assert_usage_error(&output, dir.path(), &["\"email\"", "\"mail\""]);
    let file = sync_bin::write_file(
        dir.path(),
        "r.csv",
        "address,discount\nann@example.com,5%\n",
    );
    let output = messaging(&fake, dir.path(), &["send", "7", "--recipients", &file]).await;
    assert_usage_error(&output, dir.path(), &["locator", "\"address\""]);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn an_unbalanced_quote_is_reported_with_the_line_it_opened_on() {
    let fake = FakeSplio::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = sync_bin::write_file(
        dir.path(),
        "vip.csv",
        "email,firstname\nann@example.com,Ann\nbob@example.com,\"Bob\ncy@example.com,Cy\n\
         dee@example.com,Dee\n",
    );
    let output = segment_to_splio(&fake, dir.path(), &[&file, "--insert"]).await;
    assert_usage_error(&output, dir.path(), &["quote", "line 3"]);
    assert!(fake.requests().is_empty());

    let messaging_fake = FakeMessaging::start().await;
    let file = sync_bin::write_file(
        dir.path(),
        "orders.csv",
        "externalOrderId,email,status,totalCost,currency,date\n\
         O1,a@example.com,DELIVERED,10.50,EUR,2024-03-01\n\
         O2,b@example.com,DELIVERED,10.50,EUR,2024-03-01\n\
         O3,\"c@example.com,DELIVERED,10.50,EUR,2024-03-01\n",
    );
    let output = messaging(&messaging_fake, dir.path(), &["orders", "push", &file]).await;
    assert_usage_error(&output, dir.path(), &["quote", "line 4"]);
}

#[tokio::test]
async fn bad_rows_in_a_good_file_are_still_filtered_one_by_one() {
    let fake = FakeSplio::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = sync_bin::write_file(
        dir.path(),
        "vip.csv",
        "email,firstname\nann@example.com,Ann\n,NoEmail\nnot-an-email,Eve\n",
    );
    let mut cmd = sync_bin::command(SPLIO, dir.path());
    cmd.env("SPLIO_BASE_URL", fake.base_url())
        .env("SPLIO_API_KEY", fake.credentials().expose())
        .args([file.as_str(), "--insert", "--json"]);
    let (code, summary, output) = sync_bin::run(cmd).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 1);
    assert_eq!(summary["filtered"], 2);
}
