//! The state file across versions: a file written by the code before run rows were written at
//! the start of a run (schema version 0) is migrated in place by a writable open, read as it is
//! by a read-only one, and keeps everything it held.

use std::path::Path;
use std::process::Stdio;

use rusqlite::{Connection, params};
use serde_json::json;
use sync_kit::process::ProcessId;
use sync_kit::state::{Begun, SCHEMA_VERSION};
use sync_kit::{JobConfig, Mode, RunStatus, StateStore};

/// The schema exactly as the code before this version created it (`PRAGMA user_version` 0).
const SCHEMA_V0: &str = "
CREATE TABLE IF NOT EXISTS watermarks (
    job TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    job TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (job, key)
);
CREATE TABLE IF NOT EXISTS failed (
    job TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    first_failed_at TEXT NOT NULL,
    last_failed_at TEXT NOT NULL,
    PRIMARY KEY (job, key)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    mode TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    read INTEGER NOT NULL,
    filtered INTEGER NOT NULL,
    delivered INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    aborted TEXT,
    summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS report_rows (
    job TEXT NOT NULL,
    name TEXT NOT NULL,
    rows INTEGER NOT NULL,
    read_at TEXT NOT NULL,
    PRIMARY KEY (job, name)
);
";

const JOB: &str = "directo-to-smaily";

/// A version-0 file as that code left it after two runs: one that completed (and parked a
/// record) and one aborted by a source error.
fn write_v0(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch(SCHEMA_V0).unwrap();
    conn.execute(
        "INSERT INTO watermarks VALUES (?1, '2024-03-01T10:00:00', '2024-03-01T10:05:00Z')",
        [JOB],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO snapshots VALUES (?1, 'ann@example.com',
            '{\"email\":\"ann@example.com\",\"name\":\"Ann\"}', '2024-03-01T10:05:00Z')",
        [JOB],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO failed VALUES (?1, 'bob@example.com', '{\"email\":\"bob@example.com\"}',
            'HTTP 503', 3, '2024-03-01T10:04:00Z', '2024-03-01T10:04:02Z')",
        [JOB],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO report_rows VALUES (?1, 'report_client_2024-03-01.csv', 12, '2024-03-01T10:05:00Z')",
        [JOB],
    )
    .unwrap();
    for (started, read_from, aborted) in [
        ("2024-03-01T10:04:00Z", "2024-02-29T00:00:00", None),
        (
            "2024-03-01T11:00:00Z",
            "2024-03-01T04:00:00",
            Some("reading the source failed: connection reset"),
        ),
    ] {
        let summary = json!({ "job": JOB, "mode": "run", "read_from": read_from,
            "elapsed_secs": 1.5, "aborted": aborted });
        conn.execute(
            "INSERT INTO runs (job, mode, started_at, finished_at, read, filtered, delivered,
                failed, skipped, requests, aborted, summary)
             VALUES (?1, 'run', ?2, ?2, 3, 1, 1, 1, 0, 2, ?3, ?4)",
            params![JOB, started, aborted, summary.to_string()],
        )
        .unwrap();
    }
}

fn user_version(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

#[test]
fn a_file_of_the_previous_schema_is_read_as_is_then_migrated_keeping_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    write_v0(&path);
    assert_eq!(user_version(&path), 0);

    // Read-only (dry run, --status): everything reads, nothing is written.
    let before = std::fs::read(&path).unwrap();
    {
        let ro = StateStore::open_read_only(&path).unwrap();
        assert_eq!(
            ro.watermark(JOB).unwrap().unwrap().to_string(),
            "2024-03-01T10:00:00"
        );
        let runs = ro.runs(JOB, 10).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].status, RunStatus::Failed);
        assert_eq!(runs[1].status, RunStatus::Completed);
        assert_eq!(runs[1].read_from.as_deref(), Some("2024-02-29T00:00:00"));
        assert_eq!(runs[1].elapsed_secs, Some(1.5));
        assert_eq!(ro.failed(JOB).unwrap()[0].attempts, 3);
        assert!(ro.contributions_to(JOB, "42").unwrap().is_empty());
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // Writable: migrated in place, every row kept.
    let store = StateStore::open(&path).unwrap();
    assert_eq!(user_version(&path), SCHEMA_VERSION);
    assert_eq!(
        store.watermark(JOB).unwrap().unwrap().to_string(),
        "2024-03-01T10:00:00"
    );
    assert_eq!(
        store.snapshot(JOB, "ann@example.com").unwrap().unwrap()["name"],
        "Ann"
    );
    let failed = store.failed(JOB).unwrap();
    assert_eq!(
        (failed[0].key.as_str(), failed[0].attempts),
        ("bob@example.com", 3)
    );
    assert_eq!(
        store
            .report_rows_read(JOB, "report_client_2024-03-01.csv")
            .unwrap(),
        12
    );
    let runs = store.runs(JOB, 10).unwrap();
    assert_eq!(
        runs.iter().map(|r| (r.id, r.status)).collect::<Vec<_>>(),
        [(2, RunStatus::Failed), (1, RunStatus::Completed)]
    );
    assert_eq!(
        runs[0].aborted.as_deref(),
        Some("reading the source failed: connection reset")
    );
    // The aborted old run left its range unsettled: the next run resumes from there.
    let job = JobConfig::named(JOB);
    assert_eq!(
        sync_kit::read_from(&store, &job, None, "2030-01-01T00:00".parse().unwrap())
            .unwrap()
            .to_string(),
        "2024-03-01T04:00:00"
    );
    // New runs go on numbering after the old ones.
    let Begun::Started(_) = store.begin_run(JOB, Mode::Run, None).unwrap() else {
        panic!("not started");
    };
    assert_eq!(store.runs(JOB, 1).unwrap()[0].id, 3);
    drop(store);

    // Opening it again changes nothing.
    let store = StateStore::open(&path).unwrap();
    assert_eq!(store.run_count(JOB).unwrap(), 3);
}

#[test]
fn a_file_of_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let err = StateStore::open(&path).unwrap_err().to_string();
    assert!(err.contains("newer than this program"), "{err}");
    assert!(StateStore::open_read_only(&path).is_err());
}

#[test]
fn a_newer_schema_is_a_typed_error_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    for err in [
        StateStore::open(&path).unwrap_err(),
        StateStore::open_read_only(&path).unwrap_err(),
    ] {
        match &err {
            sync_kit::state::StateError::NewerSchema { found, supported } => {
                assert_eq!(*found, SCHEMA_VERSION + 1);
                assert_eq!(*supported, SCHEMA_VERSION);
            }
            other => panic!("expected NewerSchema, got {other:?}"),
        }
        let shown = sync_kit::Error::from(err).to_string();
        assert!(
            shown.contains(&format!("schema version {}", SCHEMA_VERSION + 1)),
            "{shown}"
        );
    }
}

#[test]
fn a_postgres_error_is_a_state_error_that_fails_the_run() {
    let err =
        sync_kit::state::StateError::from(sync_kit::state::pg::PgError::NewerSchema { found: 7 });
    assert!(matches!(
        err,
        sync_kit::state::StateError::Postgres(sync_kit::state::pg::PgError::NewerSchema {
            found: 7
        })
    ));
    let err = sync_kit::Error::from(err);
    assert_eq!(err.exit_code(), sync_kit::ExitCode::Failed);
    assert!(err.to_string().contains("schema version 7"), "{err}");
}

#[test]
fn a_run_left_running_by_a_live_process_blocks_the_job_until_that_process_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = StateStore::open(&path).unwrap();
    // Another process's run, as it would have written its row.
    let mut other = std::process::Command::new("sleep")
        .arg("30")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let host = ProcessId::current().host;
    Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO runs (job, mode, status, started_at, heartbeat_at, read_from, pid, host)
             VALUES (?1, 'run', 'running', ?2, ?2, '2024-03-01T00:00:00', ?3, ?4)",
            params![JOB, jiff::Timestamp::now().to_string(), other.id(), host],
        )
        .unwrap();
    match store.begin_run(JOB, Mode::Run, None).unwrap() {
        Begun::AlreadyRunning(run) => {
            assert_eq!(run.status, RunStatus::Running);
            assert!(run.process.unwrap().contains(&other.id().to_string()));
        }
        other => panic!("started next to a live run: {other:?}"),
    }
    assert_eq!(store.runs(JOB, 1).unwrap()[0].status, RunStatus::Running);

    other.kill().unwrap();
    other.wait().unwrap();
    // Gone: shown as interrupted, marked so by the next run, and its range is resumed.
    assert_eq!(
        store.runs(JOB, 1).unwrap()[0].status,
        RunStatus::Interrupted
    );
    let Begun::Started(_) = store.begin_run(JOB, Mode::Run, None).unwrap() else {
        panic!("not started");
    };
    let runs = store.runs(JOB, 2).unwrap();
    assert_eq!(runs[1].status, RunStatus::Interrupted);
    assert!(
        runs[1].aborted.as_deref().unwrap().contains("is gone"),
        "{runs:?}"
    );
    assert_eq!(
        store.unsettled_from(JOB).unwrap().unwrap().to_string(),
        "2024-03-01T00:00:00"
    );
}
