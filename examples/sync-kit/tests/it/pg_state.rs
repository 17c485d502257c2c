//! The PostgreSQL state backend against a real PostgreSQL (`.ci/postgres.sh` starts one on
//! 127.0.0.1 and writes its URL to /tmp/sync-test-postgres.url; `SYNC_TEST_POSTGRES_URL`
//! overrides). Each test gets a fresh database, so they run in parallel.

use std::sync::atomic::{AtomicU32, Ordering};

use sync_kit::process::ProcessId;
use sync_kit::state::pg::{Lease, PG_SCHEMA_VERSION, PgError, PgState, PgUrl};

/// The test cluster's admin URL; panics (never skips) when there is none.
fn admin_url() -> String {
    if let Ok(url) = std::env::var("SYNC_TEST_POSTGRES_URL") {
        return url;
    }
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
        "sync_test_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        jiff::Timestamp::now().as_nanosecond() % 1_000_000_000
    );
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).unwrap_or_else(|e| {
        panic!("the test PostgreSQL at {admin} does not answer ({e}): run `bash .ci/postgres.sh`")
    });
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

fn connect(url: &str) -> PgState {
    PgState::connect(&PgUrl::parse(url).unwrap()).unwrap()
}

/// A process on another host (its liveness cannot be checked from here).
fn elsewhere(pid: u32) -> ProcessId {
    ProcessId {
        pid,
        host: "other-host/0000-boot".into(),
        started: Some("1".into()),
    }
}

#[test]
fn a_fresh_database_is_migrated_to_the_current_version_once() {
    let url = fresh_database();
    let mut state = connect(&url);
    assert_eq!(state.schema_version().unwrap(), PG_SCHEMA_VERSION);
    let tables: Vec<String> = state
        .client()
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        tables,
        [
            "contributions",
            "failed",
            "leases",
            "report_rows",
            "runs",
            "snapshots",
            "sync_schema",
            "watermarks"
        ]
    );
    drop(state);
    // Connecting again (a second run) migrates nothing and keeps one version row.
    let mut again = connect(&url);
    let rows: i64 = again
        .client()
        .query_one("SELECT count(*) FROM sync_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
}

#[test]
fn two_hosts_migrating_at_once_both_succeed() {
    let url = fresh_database();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || connect(&url).schema_version().unwrap())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), PG_SCHEMA_VERSION);
    }
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_error() {
    let url = fresh_database();
    let mut state = connect(&url);
    state
        .client()
        .execute("UPDATE sync_schema SET version = version + 1", &[])
        .unwrap();
    drop(state);
    let err = PgState::connect(&PgUrl::parse(&url).unwrap()).unwrap_err();
    assert!(matches!(err, PgError::NewerSchema { found } if found == PG_SCHEMA_VERSION + 1));
    assert_eq!(
        err.to_string(),
        format!(
            "the PostgreSQL state database has schema version {}, newer than this program's \
             ({PG_SCHEMA_VERSION}): run a newer build",
            PG_SCHEMA_VERSION + 1
        )
    );
}

#[test]
fn a_database_that_is_down_is_an_error_naming_the_host_without_the_password() {
    // A port nothing listens on: connection refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = PgUrl::parse(&format!("postgres://sync:hunter2@127.0.0.1:{port}/sync")).unwrap();
    let err = PgState::connect(&url).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PgError::Connect { .. }), "{err:?}");
    assert!(
        text.starts_with(&format!(
            "cannot connect to the PostgreSQL state database on 127.0.0.1:{port}: "
        )),
        "{text}"
    );
    assert!(!text.contains("hunter2") && !format!("{err:?}").contains("hunter2"));
}

#[test]
fn a_host_that_never_answers_ends_at_the_connect_timeout() {
    // A listener that accepts TCP (the kernel's backlog) but never speaks: without a timeout
    // the connection would wait for ever.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = PgUrl::parse(&format!(
        "postgres://sync@127.0.0.1:{port}/sync?connect_timeout=1"
    ))
    .unwrap();
    let err = PgState::connect(&url).unwrap_err();
    assert!(matches!(err, PgError::Timeout { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot connect to the PostgreSQL state database on 127.0.0.1:{port}: \
             no answer within 1s"
        )
    );
    drop(listener);
}

#[test]
fn sslmode_require_asks_the_server_for_tls() {
    // The test cluster has no TLS: a client that asks for it is refused by the server, which
    // proves the request was made (a plain connection would have succeeded).
    let url = fresh_database();
    let err =
        PgState::connect(&PgUrl::parse(&format!("{url}?sslmode=require")).unwrap()).unwrap_err();
    assert!(matches!(err, PgError::Connect { .. }), "{err:?}");
    let plain = PgState::connect(&PgUrl::parse(&format!("{url}?sslmode=disable")).unwrap());
    assert!(plain.is_ok());
}

#[test]
fn a_second_run_from_another_host_is_refused_naming_the_live_one() {
    let url = fresh_database();
    let mut first = connect(&url);
    first.act_as(elsewhere(4242));
    assert_eq!(first.take_lease("shop-a", 1).unwrap(), Lease::Taken);

    let mut second = connect(&url);
    let Lease::Held(holder) = second.take_lease("shop-a", 2).unwrap() else {
        panic!("the second run took a lease a live run holds")
    };
    assert_eq!(holder.host, "other-host");
    assert_eq!(holder.pid, 4242);
    let started: jiff::Timestamp = holder.started_at.parse().unwrap();
    assert!(
        jiff::Timestamp::now()
            .duration_since(started)
            .as_secs_f64()
            .abs()
            < 60.0
    );
    assert!(
        holder
            .to_string()
            .starts_with("pid 4242 on other-host, started 20")
    );

    // Another job in the same database is independent.
    assert_eq!(second.take_lease("shop-b", 3).unwrap(), Lease::Taken);
    // The first run's heartbeat keeps its lease; ending it frees the job.
    assert!(first.beat("shop-a").unwrap());
    first.release("shop-a").unwrap();
    assert_eq!(second.take_lease("shop-a", 4).unwrap(), Lease::Taken);
}

#[test]
fn a_run_on_another_host_whose_heartbeat_is_stale_is_taken_over() {
    let url = fresh_database();
    let mut first = connect(&url);
    first.act_as(elsewhere(7));
    assert_eq!(first.take_lease("job", 1).unwrap(), Lease::Taken);
    // Its heartbeat stopped three minutes ago (STALE_AFTER is two), on the database's clock.
    first
        .client()
        .execute(
            "UPDATE leases SET heartbeat_at = now() - interval '3 minutes'",
            &[],
        )
        .unwrap();
    let mut second = connect(&url);
    assert_eq!(second.take_lease("job", 2).unwrap(), Lease::Taken);
    // The old holder learns it lost the lease at its next heartbeat.
    assert!(!first.beat("job").unwrap());
    assert!(second.beat("job").unwrap());
}

#[test]
fn a_killed_run_on_this_host_is_taken_over_at_once() {
    let url = fresh_database();
    let mut first = connect(&url);
    // A process of this host (same boot) that has ended: its heartbeat is fresh, but its pid is
    // gone, so a rerun right after `kill -9` goes ahead.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let mut gone = ProcessId::current();
    gone.pid = pid;
    first.act_as(gone);
    assert_eq!(first.take_lease("job", 1).unwrap(), Lease::Taken);
    let mut second = connect(&url);
    assert_eq!(second.take_lease("job", 2).unwrap(), Lease::Taken);
}

#[test]
fn of_runs_racing_for_one_job_exactly_one_gets_the_lease() {
    let url = fresh_database();
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut state = connect(&url);
                state.act_as(elsewhere(100 + i));
                state.take_lease("job", i64::from(i)).unwrap()
            })
        })
        .collect();
    let taken = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|l| *l == Lease::Taken)
        .count();
    assert_eq!(taken, 1);
}

#[test]
fn a_state_url_password_never_shows_in_the_log_line_or_an_open_error() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        common: sync_kit::CommonArgs,
    }
    let url = "postgres://sync:hunter2@127.0.0.1:1/sync";
    let args = Cli::parse_from(["x", "--state", url]).common;
    assert_eq!(
        args.state_description(),
        "postgres://sync:***@127.0.0.1:1/sync"
    );
    let err = args.open_state().unwrap_err().to_string();
    assert!(!err.contains("hunter2"), "{err}");
    // Nothing is created in the working directory under the URL's name.
    assert!(!std::path::Path::new("postgres:").exists());
}

/// The syncs run on a current-thread tokio runtime; the blocking client drives a runtime of its
/// own, which panics ("Cannot start a runtime from within a runtime") or deadlocks when entered
/// from a thread inside another. Every call must work from there, and end: the body runs on a
/// thread the test waits for with a deadline, so a deadlock fails instead of hanging.
#[test]
fn the_store_works_from_inside_the_current_thread_runtime_the_syncs_run_on() {
    let url = fresh_database();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(async {
                let mut state = connect(&url);
                let version = state.schema_version().unwrap();
                let lease = state.take_lease("job", 1).unwrap();
                let beat = state.beat("job").unwrap();
                state.release("job").unwrap();
                // The runtime still schedules other tasks afterwards.
                tokio::task::yield_now().await;
                (version, lease, beat)
            })
        }));
        let _ = send.send(outcome.map_err(|_| "panicked"));
    });
    let outcome = receive
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the calls did not end within 60 s: deadlock");
    assert_eq!(
        outcome.unwrap(),
        (PG_SCHEMA_VERSION, Lease::Taken, true),
        "the calls from inside the runtime"
    );
}

fn item(key: &str, name: &str) -> sync_kit::Item {
    let mut fields = serde_json::Map::new();
    fields.insert("email".into(), key.into());
    fields.insert("name".into(), name.into());
    sync_kit::Item {
        key: key.into(),
        fields,
    }
}

#[test]
fn watermarks_and_report_rows_are_kept_per_job() {
    let url = fresh_database();
    let mut state = connect(&url);
    assert_eq!(state.watermark("a").unwrap(), None);
    let at: jiff::civil::DateTime = "2024-01-15T10:30:00".parse().unwrap();
    state.set_watermark("a", at).unwrap();
    state
        .set_watermark("a", "2024-02-01T00:00".parse().unwrap())
        .unwrap();
    state.set_watermark("b", at).unwrap();
    assert_eq!(
        state.watermark("a").unwrap(),
        Some("2024-02-01T00:00".parse().unwrap())
    );
    assert_eq!(state.watermark("b").unwrap(), Some(at));
    assert!(state.watermark_updated_at("a").unwrap().is_some());
    assert_eq!(state.watermark_updated_at("c").unwrap(), None);
    // What the database holds: one row per job, the civil date-time as text.
    let rows: Vec<(String, String)> = state
        .client()
        .query("SELECT job, value FROM watermarks ORDER BY job", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rows,
        [
            ("a".to_owned(), "2024-02-01T00:00:00".to_owned()),
            ("b".to_owned(), "2024-01-15T10:30:00".to_owned())
        ]
    );

    assert_eq!(state.report_rows_read("a", "r.csv").unwrap(), 0);
    state.set_report_rows_read("a", "r.csv", 12).unwrap();
    state.set_report_rows_read("a", "r.csv", 15).unwrap();
    assert_eq!(state.report_rows_read("a", "r.csv").unwrap(), 15);
    assert_eq!(state.report_rows_read("b", "r.csv").unwrap(), 0);
}

#[test]
fn a_batch_of_outcomes_is_one_transaction_and_parks_failures_with_their_attempts() {
    let url = fresh_database();
    let mut state = connect(&url);
    let delivered: Vec<_> = (0..50)
        .map(|i| item(&format!("{i}@example.com"), "N"))
        .collect();
    let bad = item("bad@example.com", "B");
    state
        .record_outcomes("j", &delivered, &[(bad.clone(), "HTTP 500".into(), 3)])
        .unwrap();
    // Every row the batch wrote carries the same writing transaction id (xmin).
    let transactions: i64 = state
        .client()
        .query_one(
            "SELECT count(DISTINCT xmin::text) FROM
                 (SELECT xmin FROM snapshots UNION ALL SELECT xmin FROM failed) AS written",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(transactions, 1, "one transaction per batch");
    assert_eq!(state.snapshot_count("j").unwrap(), 50);
    assert_eq!(
        state.snapshot("j", "7@example.com").unwrap(),
        Some(delivered[7].fields.clone())
    );
    assert_eq!(state.snapshot("other", "7@example.com").unwrap(), None);
    let keys = ["1@example.com", "nobody@example.com"];
    assert_eq!(
        state.snapshots("j", &keys).unwrap(),
        [Some(delivered[1].fields.clone()), None]
    );

    state
        .record_outcomes("j", &[], &[(bad.clone(), "HTTP 502".into(), 1)])
        .unwrap();
    let failed = state.failed("j").unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].attempts, failed[0].error.as_str()),
        (4, "HTTP 502")
    );
    assert_eq!(failed[0].item(), bad);
    assert_eq!(state.failed_count("j").unwrap(), 1);

    // Delivered later: unparked, snapshotted.
    state
        .record_outcomes("j", std::slice::from_ref(&bad), &[])
        .unwrap();
    assert_eq!(state.failed_count("j").unwrap(), 0);

    // A delivery the target refused afterwards: parked with its payload, snapshot gone.
    assert!(state.park_delivered("j", &bad.key, "rejected").unwrap());
    assert_eq!(state.snapshot("j", &bad.key).unwrap(), None);
    assert_eq!(state.failed("j").unwrap()[0].error, "rejected");
    assert!(
        !state
            .park_delivered("j", "nobody@example.com", "x")
            .unwrap()
    );

    // A key twice in one batch: the last delivery wins, as one upsert per record would.
    let (first, last) = (
        item("d@example.com", "First"),
        item("d@example.com", "Last"),
    );
    state
        .record_outcomes("j", &[first, last.clone()], &[])
        .unwrap();
    assert_eq!(
        state.snapshot("j", "d@example.com").unwrap(),
        Some(last.fields)
    );
}

/// Another host's run takes `job` over, as it does once this host's heartbeat is older than
/// STALE_AFTER (from there this host's process cannot be checked): the lease row then names
/// that run, `elsewhere(9)`, exactly as `take_lease_in` writes it.
fn take_over(url: &str, job: &str) {
    let other = elsewhere(9);
    connect(url)
        .client()
        .execute(
            "UPDATE leases SET run_id = 99, pid = $2, host = $3, process_started = $4,
                 started_at = now(), heartbeat_at = now()
             WHERE job = $1",
            &[&job, &i64::from(other.pid), &other.host, &other.started],
        )
        .unwrap();
}

#[test]
fn a_heartbeat_after_another_host_took_the_job_over_is_lease_lost() {
    use sync_kit::state::{Begun, StateError};
    use sync_kit::{Mode, StateStore, Summary};

    let url = fresh_database();
    let store = StateStore::open_postgres(&PgUrl::parse(&url).unwrap(), false).unwrap();
    let Begun::Started(run) = store.begin_run("job", Mode::Run, None).unwrap() else {
        panic!("a fresh database has no live run")
    };
    let summary = Summary::new("job", Mode::Run);
    store.heartbeat(run, &summary).unwrap();
    take_over(&url, "job");
    let err = store.heartbeat(run, &summary).unwrap_err();
    let StateError::LeaseLost { job, holder } = &err else {
        panic!("expected LeaseLost, got {err:?}")
    };
    assert_eq!(
        (job.as_str(), holder.as_str()),
        ("job", "pid 9 on other-host")
    );
    assert!(err.to_string().contains("lost its lease"), "{err}");
    // Ending the run that lost the lease leaves the new holder's lease alone.
    store.finish_run(run, &summary).unwrap();
    let mut holder = connect(&url);
    holder.act_as(elsewhere(9));
    assert!(
        holder.beat("job").unwrap(),
        "the new holder still holds the job"
    );
}

/// A sink whose first batch is delivered while another host takes the job over.
struct TakenOverSink {
    inner: crate::common::ScriptedSink,
    url: String,
}

impl sync_kit::Sink for TakenOverSink {
    async fn deliver(&self, batch: &[sync_kit::Item]) -> sync_kit::Delivery {
        if self.inner.batch_count() == 0 {
            let url = self.url.clone();
            sync_kit::state::pg::off_runtime(move || take_over(&url, "test-job"));
        }
        self.inner.deliver(batch).await
    }
}

#[tokio::test]
async fn a_run_that_loses_its_lease_stops_at_its_next_heartbeat() {
    use sync_kit::state::StateError;
    use sync_kit::{RunStatus, StateStore};

    let url = sync_kit::state::pg::off_runtime(fresh_database);
    let store = StateStore::open_postgres(&PgUrl::parse(&url).unwrap(), false).unwrap();
    let job = sync_kit::JobConfig {
        concurrency: 1,
        ..crate::common::job()
    };
    let sink = TakenOverSink {
        inner: crate::common::ScriptedSink::default(),
        url: url.clone(),
    };
    let records = futures::stream::iter(crate::common::records(50));
    let err = sync_kit::run(crate::common::ctx(&job, &store), records, &sink)
        .await
        .unwrap_err();
    assert!(
        matches!(err, sync_kit::Error::State(StateError::LeaseLost { .. })),
        "{err:?}"
    );
    // The batch in flight when the lease was lost is recorded; no batch went out after it.
    assert_eq!(sink.inner.batch_count(), 1);
    assert_eq!(store.snapshot_count("test-job").unwrap(), 10);
    assert_eq!(store.watermark("test-job").unwrap(), None);
    let runs = store.runs("test-job", 5).unwrap();
    assert_ne!(runs[0].status, RunStatus::Completed);
    assert!(
        runs[0]
            .aborted
            .as_deref()
            .unwrap_or("")
            .contains("lost its lease"),
        "{:?}",
        runs[0].aborted
    );
}
