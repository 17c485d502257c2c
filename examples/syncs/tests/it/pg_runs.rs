//! End to end, issue 23: the syncs with `--state postgres://…` against a real PostgreSQL
//! (`.ci/postgres.sh` starts one on 127.0.0.1 and writes its URL to
//! /tmp/sync-test-postgres.url; `SYNC_TEST_POSTGRES_URL` overrides). One run of a job at a time
//! across hosts and working directories, a database that is down, and `--status`.

use std::sync::atomic::{AtomicU32, Ordering};

use sync_kit::process::ProcessId;
use sync_kit::state::pg::{Lease, PgState, PgUrl};

use crate::common::sync_bin::{self, stderr};

const BIN: &str = env!("CARGO_BIN_EXE_directo-to-smaily");

/// Where a test's state lives: the kill test runs on both.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    /// A SQLite file in the test's directory.
    Sqlite,
    /// A fresh database on the test PostgreSQL.
    Postgres,
}

/// The test cluster's admin URL; panics (never skips) when there is none.
fn admin_url() -> String {
    if let Ok(url) = std::env::var("SYNC_TEST_POSTGRES_URL") {
        return url;
    }
    // The file .ci/postgres.sh writes its URL to (SYNC_TEST_POSTGRES_FILE moves it there).
    let file = std::env::var("SYNC_TEST_POSTGRES_FILE")
        .unwrap_or_else(|_| "/tmp/sync-test-postgres.url".into());
    match std::fs::read_to_string(&file) {
        Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
        _ => panic!(
            "these tests need a PostgreSQL server: run `bash .ci/postgres.sh` (it writes the \
             URL to {file}) or set SYNC_TEST_POSTGRES_URL"
        ),
    }
}

/// A fresh, empty database on the test cluster; its URL.
pub fn fresh_database() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = admin_url();
    let name = format!(
        "sync_e2e_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        jiff::Timestamp::now().as_nanosecond() % 1_000_000_000
    );
    sync_kit::state::pg::off_runtime(|| {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("the test PostgreSQL at {admin} does not answer: {e}"));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
    });
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// The URL with a password the server ignores (trust auth on loopback), to see it redacted.
fn with_password(url: &str) -> String {
    url.replacen("postgres://postgres@", "postgres://postgres:s3cret-pw@", 1)
}

#[tokio::test]
async fn a_second_run_of_the_job_is_refused_from_another_directory_naming_the_live_one() {
    let url = fresh_database();
    // A live run of the job on another host: its run row and its lease, heartbeat fresh.
    let other = ProcessId {
        pid: 4242,
        host: "worker-7/boot-1".into(),
        started: Some("1".into()),
    };
    let started_at = sync_kit::state::pg::off_runtime(|| {
        let mut state = PgState::connect(&PgUrl::parse(&url).unwrap()).unwrap();
        let at = jiff::Timestamp::now().to_string();
        let id: i64 = state
            .client()
            .query_one(
                "INSERT INTO runs (job, mode, status, started_at, heartbeat_at, pid, host,
                                   process_started)
                 VALUES ('directo-to-smaily', 'run', 'running', $1, $1, 4242, $2, '1')
                 RETURNING id",
                &[&at, &other.host],
            )
            .unwrap()
            .get(0);
        state.act_as(other.clone());
        assert_eq!(
            state.take_lease("directo-to-smaily", id).unwrap(),
            Lease::Taken
        );
        at
    });
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = sync_bin::command(BIN, dir.path());
    cmd.args(["--sandbox", "--state", &with_password(&url), "--json"]);
    let (code, _, output) = sync_bin::run(cmd).await;
    let said = stderr(&output);
    assert_eq!(code, 2, "{said}");
    assert!(said.contains("already running"), "{said}");
    assert!(
        said.contains("pid 4242 on worker-7"),
        "names the host: {said}"
    );
    assert!(said.contains(&started_at), "names the start time: {said}");
    assert!(!said.contains("s3cret-pw"), "{said}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "no state file written in the working directory"
    );
}

#[tokio::test]
async fn runs_from_two_directories_share_the_database_and_status_lists_every_job() {
    let url = fresh_database();
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [&one, &two] {
        let mut cmd = sync_bin::command(BIN, dir.path());
        cmd.args(["--sandbox", "--state", &with_password(&url), "--json"]);
        let (code, summary, output) = sync_bin::run(cmd).await;
        assert_eq!(code, 0, "{}", stderr(&output));
        assert_eq!(summary["status"], "completed");
    }
    // What the database holds: two completed runs of the job, its snapshots, no lease held.
    let (runs, held) = sync_kit::state::pg::off_runtime(|| {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let runs: i64 = c
            .query_one(
                "SELECT count(*) FROM runs WHERE job = 'directo-to-smaily' AND status = 'completed'",
                &[],
            )
            .unwrap()
            .get(0);
        let held: i64 = c
            .query_one("SELECT count(*) FROM leases WHERE pid IS NOT NULL", &[])
            .unwrap()
            .get(0);
        (runs, held)
    });
    assert_eq!((runs, held), (2, 0));

    let mut cmd = sync_bin::command(BIN, two.path());
    cmd.args(["--status", "--json", "--state", &with_password(&url)]);
    let (code, status, output) = sync_bin::run(cmd).await;
    let said = String::from_utf8_lossy(&output.stdout).into_owned() + &stderr(&output);
    assert_eq!(code, 0, "{said}");
    assert_eq!(status["job"], "directo-to-smaily", "{status:#}");
    assert_eq!(status["runs"].as_array().unwrap().len(), 2, "{status:#}");
    assert!(
        status["jobs"].to_string().contains("directo-to-smaily"),
        "every job in the database: {status:#}"
    );
    assert!(!said.contains("s3cret-pw"), "{said}");
    assert!(
        status["state"].as_str().unwrap().contains("postgres:***@"),
        "{status:#}"
    );
}

#[tokio::test]
async fn a_database_that_is_down_is_exit_1_naming_the_host() {
    // Nothing listens on port 1 of loopback.
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = sync_bin::command(BIN, dir.path());
    cmd.args([
        "--sandbox",
        "--state",
        "postgres://sync:s3cret-pw@127.0.0.1:1/sync?connect_timeout=5",
        "--json",
    ]);
    let started = std::time::Instant::now();
    let (code, _, output) = sync_bin::run(cmd).await;
    let said = stderr(&output);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("127.0.0.1:1"), "names the host: {said}");
    assert!(!said.contains("s3cret-pw"), "{said}");
    assert!(!said.contains("panicked"), "{said}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "no hang"
    );
}
