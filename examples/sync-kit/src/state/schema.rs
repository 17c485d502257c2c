//! The schema: the tables of [`SCHEMA_VERSION`], migrating an older file in place, and reading
//! one as it is.

use rusqlite::{Connection, params};

use super::StateError;

/// The schema version this code writes (`PRAGMA user_version`). Version 0 is the schema before
/// run rows were written at the start of a run; [`StateStore::open`] migrates it.
///
/// [`StateStore::open`]: super::StateStore::open
pub const SCHEMA_VERSION: i64 = 1;

/// The tables of [`SCHEMA_VERSION`], by name.
const TABLES: &[(&str, &str)] = &[
    (
        "watermarks",
        "CREATE TABLE IF NOT EXISTS watermarks (
            job TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )",
    ),
    (
        "snapshots",
        "CREATE TABLE IF NOT EXISTS snapshots (
            job TEXT NOT NULL,
            key TEXT NOT NULL,
            payload TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            PRIMARY KEY (job, key)
        )",
    ),
    (
        "failed",
        "CREATE TABLE IF NOT EXISTS failed (
            job TEXT NOT NULL,
            key TEXT NOT NULL,
            payload TEXT NOT NULL,
            error TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            first_failed_at TEXT NOT NULL,
            last_failed_at TEXT NOT NULL,
            PRIMARY KEY (job, key)
        )",
    ),
    ("runs", RUNS),
    (
        "report_rows",
        "CREATE TABLE IF NOT EXISTS report_rows (
            job TEXT NOT NULL,
            name TEXT NOT NULL,
            rows INTEGER NOT NULL,
            read_at TEXT NOT NULL,
            PRIMARY KEY (job, name)
        )",
    ),
    (
        "contributions",
        "CREATE TABLE IF NOT EXISTS contributions (
            job TEXT NOT NULL,
            source TEXT NOT NULL,
            part TEXT NOT NULL,
            target TEXT NOT NULL,
            amount TEXT NOT NULL,
            source_ts TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (job, source, part)
        )",
    ),
];

const RUNS: &str = "CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    heartbeat_at TEXT,
    read_from TEXT,
    pid INTEGER,
    host TEXT,
    process_started TEXT,
    read INTEGER NOT NULL DEFAULT 0,
    filtered INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    aborted TEXT,
    settled_by INTEGER,
    summary TEXT
)";

const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job, id);
CREATE INDEX IF NOT EXISTS contributions_by_target ON contributions (job, target);
";

/// A version-0 `runs` table (`{table}`) read in the version-1 shape: old rows are `completed`,
/// or `failed` when they were aborted; their read-from point is in their summary.
const RUNS_V0_AS_V1: &str = "SELECT id, job, mode,
        CASE WHEN aborted IS NULL THEN 'completed' ELSE 'failed' END AS status,
        started_at, finished_at, NULL AS heartbeat_at,
        json_extract(summary, '$.read_from') AS read_from,
        NULL AS pid, NULL AS host, NULL AS process_started,
        read, filtered, delivered, failed, skipped, requests, aborted,
        NULL AS settled_by, summary
    FROM {table}";

fn user_version(conn: &Connection) -> Result<i64, StateError> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(StateError::from)
}

/// Whether `table` in `schema` has `column`.
fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool, StateError> {
    let mut stmt = conn.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?;
    stmt.exists(params![table, column])
        .map_err(StateError::from)
}

fn newer_schema(version: i64) -> StateError {
    StateError::NewerSchema {
        found: version,
        supported: SCHEMA_VERSION,
    }
}

/// Brings a writable connection's schema to [`SCHEMA_VERSION`], in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StateError> {
    let version = user_version(conn)?;
    if version > SCHEMA_VERSION {
        return Err(newer_schema(version));
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction()?;
    if has_column(&tx, "runs", "id")? && !has_column(&tx, "runs", "status")? {
        tx.execute_batch("ALTER TABLE runs RENAME TO runs_v0;")?;
        tx.execute_batch(RUNS)?;
        tx.execute(
            &format!(
                "INSERT INTO runs (id, job, mode, status, started_at, finished_at, heartbeat_at,
                    read_from, pid, host, process_started, read, filtered, delivered, failed,
                    skipped, requests, aborted, settled_by, summary) {}",
                RUNS_V0_AS_V1.replace("{table}", "runs_v0")
            ),
            [],
        )?;
        tx.execute_batch("DROP TABLE runs_v0;")?;
    }
    for (_, create) in TABLES {
        tx.execute_batch(create)?;
    }
    tx.execute_batch(INDEXES)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit().map_err(StateError::from)
}

/// Makes a read-only connection to an older file read like [`SCHEMA_VERSION`], without writing
/// to it: a missing table is an empty temporary one, and a version-0 `runs` table is seen through
/// a temporary view in the new shape (temporary objects live in the connection's own temp
/// schema, which shadows the file's).
pub(super) fn present_as_current(conn: &Connection) -> Result<(), StateError> {
    let version = user_version(conn)?;
    if version > SCHEMA_VERSION {
        return Err(newer_schema(version));
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    if has_column(conn, "runs", "id")? && !has_column(conn, "runs", "status")? {
        conn.execute_batch(&format!(
            "CREATE TEMP VIEW runs AS {}",
            RUNS_V0_AS_V1.replace("{table}", "main.runs")
        ))?;
    }
    for (name, create) in TABLES {
        let exists: bool = conn
            .prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?1")?
            .exists([name])?
            || conn
                .prepare("SELECT 1 FROM sqlite_temp_master WHERE name = ?1")?
                .exists([name])?;
        if !exists {
            conn.execute_batch(&create.replacen("CREATE TABLE", "CREATE TEMP TABLE", 1))?;
        }
    }
    Ok(())
}
