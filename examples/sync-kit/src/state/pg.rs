//! The PostgreSQL state backend's foundation: the `postgres://` URL (TLS, password, redaction),
//! connecting with a timeout, the versioned schema, and the lease that lets one run of a job go
//! at a time across hosts.
//!
//! The store is synchronous (like the SQLite one), so this uses the blocking `postgres` client.
//! That client drives a runtime of its own, which must not be entered from a thread inside
//! another (the syncs run on a current-thread tokio runtime): every call that touches the
//! connection goes through [`off_runtime`], which moves it to a short-lived thread of its own
//! when the caller is inside a runtime.
//!
//! ```no_run
//! use sync_kit::state::pg::{PgUrl, PgState};
//! let url = PgUrl::parse("postgres://sync@db.example.com/sync?sslmode=verify-full").unwrap();
//! assert_eq!(url.to_string(), "postgres://sync@db.example.com/sync?sslmode=verify-full");
//! let mut state = PgState::connect(&url).unwrap();
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use secrecy::{ExposeSecret, SecretString};

use crate::process::{Liveness, ProcessId, STALE_AFTER};

mod store;

/// The schema version this code writes in PostgreSQL (table `sync_schema`).
pub const PG_SCHEMA_VERSION: i32 = 1;

/// How long connecting may take unless the URL says (`connect_timeout=SECONDS`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors of the PostgreSQL backend. None of them shows the password.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The `--state` URL is not a usable PostgreSQL URL.
    #[error("the state URL {url} is not usable: {reason}")]
    Url {
        /// The URL, its password redacted.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The database could not be reached or refused the connection.
    #[error("cannot connect to the PostgreSQL state database on {host}: {source}")]
    Connect {
        /// `host:port`.
        host: String,
        /// The client's error.
        #[source]
        source: postgres::Error,
    },
    /// The database did not answer within the connect timeout.
    #[error(
        "cannot connect to the PostgreSQL state database on {host}: no answer within {}s",
        after.as_secs_f64()
    )]
    Timeout {
        /// `host:port`.
        host: String,
        /// The timeout.
        after: Duration,
    },
    /// The database's schema is newer than this program's.
    #[error(
        "the PostgreSQL state database has schema version {found}, newer than this program's \
         ({PG_SCHEMA_VERSION}): run a newer build"
    )]
    NewerSchema {
        /// The version found.
        found: i32,
    },
    /// A query failed.
    #[error("PostgreSQL state database: {0}")]
    Query(#[from] postgres::Error),
}

/// How the connection is encrypted (`sslmode` in the URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// `sslmode=disable`, or no `sslmode` (loopback, a private network).
    Off,
    /// `sslmode=require`, `verify-ca` or `verify-full`: TLS through rustls, the server's
    /// certificate verified against the Mozilla roots and `sslrootcert` if given. (Unlike
    /// libpq's `require`, an unverifiable certificate is always refused.)
    Verified,
}

/// A parsed `postgres://` / `postgresql://` state URL.
#[derive(Clone)]
pub struct PgUrl {
    config: Config,
    redacted: String,
    host: String,
    tls: Tls,
    root_cert: Option<std::path::PathBuf>,
    password: Option<SecretString>,
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgUrl")
            .field("url", &self.redacted)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl PgUrl {
    /// Whether `state` (a `--state` value) names PostgreSQL rather than a SQLite file.
    ///
    /// ```
    /// use sync_kit::state::pg::PgUrl;
    /// assert!(PgUrl::is_url("postgresql://db/sync"));
    /// assert!(!PgUrl::is_url("./sync-state.db"));
    /// ```
    pub fn is_url(state: &str) -> bool {
        let lower = state.to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    /// Parses a state URL. The password comes from the URL, else from `PGPASSWORD`.
    ///
    /// ```
    /// use sync_kit::state::pg::{PgUrl, Tls};
    /// let url = PgUrl::parse("postgres://sync:s3cret@db:5433/sync?sslmode=require").unwrap();
    /// assert_eq!(url.host(), "db:5433");
    /// assert_eq!(url.tls(), Tls::Verified);
    /// assert!(!url.to_string().contains("s3cret"));
    /// ```
    pub fn parse(text: &str) -> Result<Self, PgError> {
        Self::parse_with_env(text, std::env::var("PGPASSWORD").ok())
    }

    fn parse_with_env(text: &str, pg_password: Option<String>) -> Result<Self, PgError> {
        let mut url = url::Url::parse(text).map_err(|e| PgError::Url {
            url: "(unparsable URL)".into(),
            reason: e.to_string(),
        })?;
        let url_password = url.password().map(|p| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned()
        });
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        let redacted = url.to_string();
        let bad = |reason: String| PgError::Url {
            url: redacted.clone(),
            reason,
        };
        if !Self::is_url(text) {
            return Err(bad("it must start with postgres:// or postgresql://".into()));
        }
        let mut tls = Tls::Off;
        let mut root_cert = None;
        let mut rest = url.clone();
        rest.set_query(None);
        let _ = rest.set_password(None);
        let mut kept = Vec::new();
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "sslmode" => {
                    tls = match value.as_ref() {
                        "disable" => Tls::Off,
                        "require" | "verify-ca" | "verify-full" => Tls::Verified,
                        other => {
                            return Err(bad(format!(
                                "sslmode={other} is not supported: use disable, require, \
                                 verify-ca or verify-full"
                            )));
                        }
                    }
                }
                "sslrootcert" => root_cert = Some(std::path::PathBuf::from(value.as_ref())),
                _ => kept.push((key.into_owned(), value.into_owned())),
            }
        }
        if !kept.is_empty() {
            rest.query_pairs_mut().extend_pairs(kept);
        }
        let mut config: Config = rest
            .as_str()
            .parse()
            .map_err(|e: postgres::Error| bad(e.to_string()))?;
        config.ssl_mode(if tls == Tls::Off {
            SslMode::Disable
        } else {
            SslMode::Require
        });
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("sync-kit");
        }
        let password = url_password.or(pg_password).filter(|p| !p.is_empty());
        if let Some(password) = &password {
            config.password(password.as_bytes());
        }
        let host = format!(
            "{}:{}",
            url.host_str().unwrap_or("localhost"),
            url.port().unwrap_or(5432)
        );
        Ok(PgUrl {
            config,
            redacted,
            host,
            tls,
            root_cert,
            password: password.map(SecretString::from),
        })
    }

    /// `host:port` of the database, for messages.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// How the connection is encrypted.
    pub fn tls(&self) -> Tls {
        self.tls
    }

    /// Whether a password was given (in the URL or `PGPASSWORD`).
    pub fn has_password(&self) -> bool {
        self.password
            .as_ref()
            .is_some_and(|p| !p.expose_secret().is_empty())
    }

    /// Connects; the whole handshake (TCP, TLS, authentication) must end within the connect
    /// timeout, as a server that accepts TCP but never answers would otherwise hang the run
    /// (the client's own `connect_timeout` covers the TCP connect only).
    fn connect(&self) -> Result<Client, PgError> {
        let limit = self
            .config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT);
        let tls = match self.tls {
            Tls::Off => None,
            Tls::Verified => Some(self.rustls()?),
        };
        let config = self.config.clone();
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let connected = match tls {
                None => config.connect(NoTls),
                Some(tls) => config.connect(tls),
            };
            let _ = send.send(connected);
        });
        match receive.recv_timeout(limit) {
            Ok(connected) => connected.map_err(|source| PgError::Connect {
                host: self.host.clone(),
                source,
            }),
            Err(_) => Err(PgError::Timeout {
                host: self.host.clone(),
                after: limit,
            }),
        }
    }

    fn rustls(&self) -> Result<tokio_postgres_rustls::MakeRustlsConnect, PgError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &self.root_cert {
            let certs = CertificateDer::pem_file_iter(path).map_err(|e| PgError::Url {
                url: self.redacted.clone(),
                reason: format!("sslrootcert {}: {e}", path.display()),
            })?;
            for cert in certs {
                let cert = cert.map_err(|e| PgError::Url {
                    url: self.redacted.clone(),
                    reason: format!("sslrootcert {}: {e}", path.display()),
                })?;
                roots.add(cert).map_err(|e| PgError::Url {
                    url: self.redacted.clone(),
                    reason: format!("sslrootcert {}: {e}", path.display()),
                })?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| PgError::Url {
                url: self.redacted.clone(),
                reason: e.to_string(),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }
}

/// The migrations, in order: migration `i` brings the schema from version `i` to `i + 1`. Every
/// table is keyed by job name, so many jobs share one database.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE watermarks (
        job TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE snapshots (
        job TEXT NOT NULL,
        key TEXT NOT NULL,
        payload TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (job, key)
    );
    CREATE TABLE failed (
        job TEXT NOT NULL,
        key TEXT NOT NULL,
        payload TEXT NOT NULL,
        error TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        first_failed_at TEXT NOT NULL,
        last_failed_at TEXT NOT NULL,
        PRIMARY KEY (job, key)
    );
    CREATE TABLE runs (
        id BIGSERIAL PRIMARY KEY,
        job TEXT NOT NULL,
        mode TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        heartbeat_at TEXT,
        read_from TEXT,
        pid BIGINT,
        host TEXT,
        process_started TEXT,
        read BIGINT NOT NULL DEFAULT 0,
        filtered BIGINT NOT NULL DEFAULT 0,
        delivered BIGINT NOT NULL DEFAULT 0,
        failed BIGINT NOT NULL DEFAULT 0,
        skipped BIGINT NOT NULL DEFAULT 0,
        requests BIGINT NOT NULL DEFAULT 0,
        aborted TEXT,
        settled_by BIGINT,
        summary JSONB
    );
    CREATE INDEX runs_by_job ON runs (job, id);
    CREATE TABLE report_rows (
        job TEXT NOT NULL,
        name TEXT NOT NULL,
        rows BIGINT NOT NULL,
        read_at TEXT NOT NULL,
        PRIMARY KEY (job, name)
    );
    CREATE TABLE contributions (
        job TEXT NOT NULL,
        source TEXT NOT NULL,
        part TEXT NOT NULL,
        target TEXT NOT NULL,
        amount TEXT NOT NULL,
        source_ts TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (job, source, part)
    );
    CREATE INDEX contributions_by_target ON contributions (job, target);
    CREATE TABLE leases (
        job TEXT PRIMARY KEY,
        run_id BIGINT,
        pid BIGINT,
        host TEXT,
        process_started TEXT,
        started_at TIMESTAMPTZ,
        heartbeat_at TIMESTAMPTZ
    );
"];

/// A key for `pg_advisory_xact_lock`, serialising migrations of one database.
const MIGRATION_LOCK: i64 = 0x5359_4e43_4b49_5431; // "SYNCKIT1"

/// Who holds a job's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The holder's host name (without the boot id).
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// When its run started (UTC, RFC 3339).
    pub started_at: String,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} on {}, started {}",
            self.pid, self.host, self.started_at
        )
    }
}

/// What [`PgState::take_lease`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// This process now holds the job's lease.
    Taken,
    /// A live run of the job holds it: this one must not start.
    Held(Holder),
}

/// Runs `f` where the blocking client may drive its own runtime: here when the calling thread
/// is outside any tokio runtime, else on a scoped thread of its own (the caller blocks until it
/// ends, as it would on the call itself). A panic in `f` is passed on.
///
/// ```
/// let on_runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let inside = on_runtime.block_on(async {
///     sync_kit::state::pg::off_runtime(|| tokio::runtime::Handle::try_current().is_ok())
/// });
/// assert!(!inside);
/// ```
pub fn off_runtime<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|scope| match scope.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// A connection to the PostgreSQL state database, its schema current.
pub struct PgState {
    /// Always `Some` until dropped ([`Drop`] closes it off the runtime).
    client: Option<Client>,
    process: ProcessId,
}

impl fmt::Debug for PgState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgState").finish_non_exhaustive()
    }
}

impl PgState {
    /// Connects (within the URL's `connect_timeout`, default [`CONNECT_TIMEOUT`]) and brings
    /// the schema to [`PG_SCHEMA_VERSION`]; a newer schema is refused.
    pub fn connect(url: &PgUrl) -> Result<Self, PgError> {
        let client = url.connect()?;
        // Migrating, and dropping the client when that fails, block on the client's runtime.
        let client = off_runtime(move || {
            let mut client = client;
            migrate(&mut client).map(|()| client)
        })?;
        Ok(PgState {
            client: Some(client),
            process: ProcessId::current(),
        })
    }

    /// The schema version the database has.
    pub fn schema_version(&mut self) -> Result<i32, PgError> {
        self.with_client(version)
    }

    /// The client, for the store's queries. Call it through [`off_runtime`] (or use
    /// [`with_client`](Self::with_client)) from inside a tokio runtime.
    pub fn client(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("the client is present until dropped")
    }

    /// Runs `f` with the client, off any tokio runtime (see [`off_runtime`]).
    pub fn with_client<R: Send>(&mut self, f: impl FnOnce(&mut Client) -> R + Send) -> R {
        let client = self.client();
        off_runtime(move || f(client))
    }

    /// Takes the lease of `job` for run `run_id`, unless a live run holds it. A holder is gone
    /// when it is this process, when it ran on this host (same boot) and its process is gone,
    /// or when its heartbeat is older than [`STALE_AFTER`] on the database's clock (another
    /// host, whose process cannot be checked).
    pub fn take_lease(&mut self, job: &str, run_id: i64) -> Result<Lease, PgError> {
        let process = self.process.clone();
        self.with_client(|client| take_lease_in(client, &process, job, run_id))
    }

    /// Refreshes the heartbeat of this process's lease of `job`; `false` if it no longer holds
    /// it (another host took it over after this one's heartbeat went stale).
    pub fn beat(&mut self, job: &str) -> Result<bool, PgError> {
        let process = self.process.clone();
        self.with_client(|client| beat_in(client, &process, job))
    }

    /// Gives up this process's lease of `job` (the run ended).
    pub fn release(&mut self, job: &str) -> Result<(), PgError> {
        let process = self.process.clone();
        self.with_client(|client| {
            client.execute(
                "UPDATE leases SET run_id = NULL, pid = NULL, host = NULL,
                     process_started = NULL, started_at = NULL, heartbeat_at = NULL
                 WHERE job = $1 AND pid = $2 AND host = $3",
                &[&job, &i64::from(process.pid), &process.host],
            )?;
            Ok(())
        })
    }

    /// Replaces the process this connection acts for (tests: another host's run).
    #[doc(hidden)]
    pub fn act_as(&mut self, process: ProcessId) {
        self.process = process;
    }
}

impl Drop for PgState {
    /// Closing the connection blocks on the client's runtime: done off any tokio runtime.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            off_runtime(move || drop(client));
        }
    }
}

/// See [`PgState::beat`]; inside `client`'s transaction when `client` is one.
pub(crate) fn beat_in(
    client: &mut impl postgres::GenericClient,
    process: &ProcessId,
    job: &str,
) -> Result<bool, PgError> {
    let n = client.execute(
        "UPDATE leases SET heartbeat_at = now()
         WHERE job = $1 AND pid = $2 AND host = $3",
        &[&job, &i64::from(process.pid), &process.host],
    )?;
    Ok(n == 1)
}

/// See [`PgState::take_lease`]; in a transaction of its own inside `client`'s (a savepoint
/// when `client` is one).
pub(crate) fn take_lease_in(
    client: &mut impl postgres::GenericClient,
    process: &ProcessId,
    job: &str,
    run_id: i64,
) -> Result<Lease, PgError> {
    let mut tx = client.transaction()?;
    tx.execute(
        "INSERT INTO leases (job) VALUES ($1) ON CONFLICT (job) DO NOTHING",
        &[&job],
    )?;
    let row = tx.query_one(
        "SELECT pid, host, process_started,
                    to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    heartbeat_at IS NULL OR now() - heartbeat_at > make_interval(secs => $2)
             FROM leases WHERE job = $1 FOR UPDATE",
        &[&job, &STALE_AFTER.as_secs_f64()],
    )?;
    let pid: Option<i64> = row.get(0);
    let host: Option<String> = row.get(1);
    if let (Some(pid), Some(host)) = (pid, host) {
        let holder = ProcessId {
            pid: pid as u32,
            host,
            started: row.get(2),
        };
        let stale: bool = row.get(4);
        let gone = holder == *process
            || match holder.liveness() {
                Liveness::Gone => true,
                Liveness::Alive => false,
                Liveness::Unknown => stale,
            };
        if !gone {
            let started_at: Option<String> = row.get(3);
            return Ok(Lease::Held(Holder {
                host: holder.host.split('/').next().unwrap_or("").to_owned(),
                pid: holder.pid,
                started_at: started_at.unwrap_or_default(),
            }));
        }
    }
    tx.execute(
        "UPDATE leases SET run_id = $2, pid = $3, host = $4, process_started = $5,
                 started_at = now(), heartbeat_at = now()
             WHERE job = $1",
        &[
            &job,
            &run_id,
            &i64::from(process.pid),
            &process.host,
            &process.started,
        ],
    )?;
    tx.commit()?;
    Ok(Lease::Taken)
}

fn version(client: &mut Client) -> Result<i32, PgError> {
    let row = client.query_one(
        "SELECT CASE WHEN to_regclass('sync_schema') IS NULL THEN 0
                     ELSE (SELECT coalesce(max(version), 0) FROM sync_schema) END",
        &[],
    )?;
    Ok(row.get(0))
}

/// Brings the schema to [`PG_SCHEMA_VERSION`] in one transaction, under an advisory lock so two
/// hosts starting at once migrate once.
fn migrate(client: &mut Client) -> Result<(), PgError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS sync_schema (version INTEGER NOT NULL)")?;
    let found: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM sync_schema", &[])?
        .get(0);
    if found > PG_SCHEMA_VERSION {
        return Err(PgError::NewerSchema { found });
    }
    for migration in &MIGRATIONS[found as usize..] {
        tx.batch_execute(migration)?;
    }
    if found < PG_SCHEMA_VERSION {
        tx.execute("DELETE FROM sync_schema", &[])?;
        tx.execute(
            "INSERT INTO sync_schema (version) VALUES ($1)",
            &[&PG_SCHEMA_VERSION],
        )?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_comes_from_the_url_else_pgpassword_and_is_never_shown() {
        let url =
            PgUrl::parse_with_env("postgres://sync:p%40ss@db/sync", Some("env".into())).unwrap();
        assert_eq!(url.config.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(url.to_string(), "postgres://sync:***@db/sync");
        assert!(!format!("{url:?}").contains("p@ss") && !format!("{url:?}").contains("p%40ss"));

        let url =
            PgUrl::parse_with_env("postgresql://sync@db/sync", Some("s3cret".into())).unwrap();
        assert_eq!(url.config.get_password(), Some(&b"s3cret"[..]));
        assert!(url.has_password());
        assert!(!url.to_string().contains("s3cret") && !format!("{url:?}").contains("s3cret"));

        let url = PgUrl::parse_with_env("postgres://sync@db/sync", None).unwrap();
        assert!(!url.has_password());
    }

    #[test]
    fn sslmode_and_the_host_are_read_from_the_url() {
        let parse = |u: &str| PgUrl::parse_with_env(u, None);
        assert_eq!(parse("postgres://db/s").unwrap().tls(), Tls::Off);
        for mode in ["require", "verify-ca", "verify-full"] {
            let url = parse(&format!("postgres://db/s?sslmode={mode}")).unwrap();
            assert_eq!(url.tls(), Tls::Verified, "{mode}");
        }
        let err = parse("postgres://u:pw@db/s?sslmode=allow").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the state URL postgres://u:***@db/s?sslmode=allow is not usable: sslmode=allow is \
             not supported: use disable, require, verify-ca or verify-full"
        );
        assert_eq!(
            parse("postgres://db.example.com:6432/s").unwrap().host(),
            "db.example.com:6432"
        );
        assert_eq!(parse("postgres://db/s").unwrap().host(), "db:5432");
        let url = parse("postgres://db/s?connect_timeout=3&application_name=x").unwrap();
        assert_eq!(
            url.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
        assert_eq!(
            parse("postgres://db/s")
                .unwrap()
                .config
                .get_connect_timeout(),
            Some(&CONNECT_TIMEOUT)
        );
        assert!(parse("mysql://db/s").is_err());
    }
}
