//! Upload Datahub files over SFTP (pure Rust: russh + russh-sftp, no OpenSSL) and read reports.
//!
//! Files go to `/imports/` atomically: each is written outside the directory the importer
//! watches (by default its parent, the account's root on Splio, where users have write rights),
//! as `.{name}.part`, and renamed into `/imports/` under its final name once complete, so the
//! importer never sees half a file or an unknown one. The server's host
//! key is checked against a SHA256 fingerprint or a known_hosts file; accepting any key exists
//! only for tests ([`HostKeyCheck::InsecureAcceptAnyForTestsOnly`]).
//!
//! ```no_run
//! # async fn demo(files: Vec<splio_client::datahub::DatahubFile>) -> splio_client::Result<()> {
//! use splio_client::sftp::{HostKeyCheck, SftpAuth, SftpConfig, SftpUploader};
//! let config = SftpConfig::new(
//!     "sftp.splio.com",
//!     "myuniverse",
//!     SftpAuth::password(std::env::var("SPLIO_SFTP_PASSWORD").unwrap()),
//!     HostKeyCheck::Fingerprint("SHA256:…".into()),
//! );
//! let sftp = SftpUploader::connect(&config).await?;
//! for file in &files {
//!     sftp.upload(file).await?;
//! }
//! for name in sftp.list_reports().await? {
//!     let report = sftp.read_report(&name).await?;
//!     println!("{name}: {} rows", report.rows()?.len());
//! }
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;
use russh::client;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh_sftp::client::SftpSession;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::AsyncWriteExt;

use crate::datahub::DatahubFile;
use crate::error::{Error, Result};

/// How to log in.
pub enum SftpAuth {
    /// Password (Splio issues one per universe).
    Password(SecretString),
    /// An OpenSSH private key file, optionally encrypted.
    KeyFile {
        /// Path of the private key.
        path: PathBuf,
        /// Passphrase, if the key is encrypted.
        passphrase: Option<SecretString>,
    },
}

impl SftpAuth {
    /// Password authentication.
    pub fn password(password: impl Into<String>) -> Self {
        SftpAuth::Password(SecretString::from(password.into()))
    }

    /// Key authentication with an unencrypted key file.
    pub fn key_file(path: impl Into<PathBuf>) -> Self {
        SftpAuth::KeyFile {
            path: path.into(),
            passphrase: None,
        }
    }
}

impl std::fmt::Debug for SftpAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SftpAuth::Password(_) => f.write_str("Password([redacted])"),
            SftpAuth::KeyFile { path, passphrase } => f
                .debug_struct("KeyFile")
                .field("path", path)
                .field("passphrase", &passphrase.as_ref().map(|_| "[redacted]"))
                .finish(),
        }
    }
}

/// How the server's host key is verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostKeyCheck {
    /// The key's SHA256 fingerprint as `ssh-keygen -lf` prints it (`SHA256:base64`).
    Fingerprint(String),
    /// An OpenSSH known_hosts file (host entries `host` or `[host]:port`).
    KnownHosts(PathBuf),
    /// Accept any host key. For tests only: this makes the connection open to interception.
    InsecureAcceptAnyForTestsOnly,
}

/// SFTP connection settings.
#[derive(Debug)]
pub struct SftpConfig {
    /// Host (`sftp.splio.com`).
    pub host: String,
    /// Port (22).
    pub port: u16,
    /// Login (the universe name).
    pub user: String,
    /// Credentials.
    pub auth: SftpAuth,
    /// Host key verification.
    pub host_key: HostKeyCheck,
    /// Where files are dropped (`/imports`).
    pub imports_dir: String,
    /// Where a file is written before it is renamed into `imports_dir`; `None`: the imports
    /// directory's parent (`/` for `/imports`). Must be on the same file system.
    pub staging_dir: Option<String>,
    /// Where Splio writes import reports (`/reports`).
    pub reports_dir: String,
    /// Timeout for connecting and for each SFTP request (default 30 s).
    pub timeout: Duration,
}

impl SftpConfig {
    /// Settings for `host:22` with `/imports` and `/reports`.
    pub fn new(
        host: impl Into<String>,
        user: impl Into<String>,
        auth: SftpAuth,
        host_key: HostKeyCheck,
    ) -> Self {
        SftpConfig {
            host: host.into(),
            port: 22,
            user: user.into(),
            auth,
            host_key,
            imports_dir: "/imports".into(),
            staging_dir: None,
            reports_dir: "/reports".into(),
            timeout: Duration::from_secs(30),
        }
    }

    /// Set the port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Set the imports directory.
    pub fn imports_dir(mut self, dir: impl Into<String>) -> Self {
        self.imports_dir = dir.into();
        self
    }

    /// Set the staging directory (default: the imports directory's parent).
    pub fn staging_dir(mut self, dir: impl Into<String>) -> Self {
        self.staging_dir = Some(dir.into());
        self
    }

    /// Set the reports directory.
    pub fn reports_dir(mut self, dir: impl Into<String>) -> Self {
        self.reports_dir = dir.into();
        self
    }
}

struct Checker {
    host: String,
    port: u16,
    check: HostKeyCheck,
    seen: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Checker {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            return Ok(false);
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(fingerprint.clone());
        Ok(match &self.check {
            HostKeyCheck::Fingerprint(expected) => {
                expected.trim().trim_start_matches("SHA256:")
                    == fingerprint.trim_start_matches("SHA256:")
            }
            HostKeyCheck::KnownHosts(path) => {
                russh::keys::check_known_hosts_path(&self.host, self.port, key, path)
                    .unwrap_or(false)
            }
            HostKeyCheck::InsecureAcceptAnyForTestsOnly => true,
        })
    }
}

/// A connected SFTP session for Datahub uploads and reports.
pub struct SftpUploader {
    sftp: SftpSession,
    _ssh: client::Handle<Checker>,
    imports_dir: String,
    staging_dir: String,
    reports_dir: String,
}

impl std::fmt::Debug for SftpUploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SftpUploader")
            .field("imports_dir", &self.imports_dir)
            .field("reports_dir", &self.reports_dir)
            .finish_non_exhaustive()
    }
}

/// An import report read from `/reports/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// File name.
    pub name: String,
    /// Raw contents.
    pub contents: Vec<u8>,
}

impl Report {
    /// The report's rows (`;`-separated with a header row), as column → value maps.
    pub fn rows(&self) -> Result<Vec<IndexMap<String, String>>> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b';')
            .flexible(true)
            .from_reader(self.contents.as_slice());
        let bad = |e: csv::Error| {
            Error::from(marketing_sync_core::Error::Decode {
                expected: "report CSV",
                path: self.name.clone(),
                message: e.to_string(),
                snippet: marketing_sync_core::snippet(&self.contents),
            })
        };
        let headers = reader.headers().map_err(bad)?.clone();
        reader
            .records()
            .map(|r| {
                let r = r.map_err(bad)?;
                Ok(headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect())
            })
            .collect()
    }
}

/// The parent of a remote directory: `/` for `/imports`, `.` for a bare relative name.
fn parent(dir: &str) -> String {
    match dir.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) => "/".into(),
        Some((parent, _)) => parent.into(),
        None => ".".into(),
    }
}

fn join(dir: &str, name: &str) -> String {
    format!("{}/{}", dir.trim_end_matches('/'), name)
}

impl SftpUploader {
    /// Connect, verify the host key, authenticate and open the SFTP subsystem.
    ///
    /// ```no_run
    /// # async fn demo() -> splio_client::Result<()> {
    /// use splio_client::sftp::{HostKeyCheck, SftpAuth, SftpConfig, SftpUploader};
    /// let config = SftpConfig::new(
    ///     "sftp.splio.com",
    ///     "myuniverse",
    ///     SftpAuth::password(std::env::var("SPLIO_SFTP_PASSWORD").unwrap()),
    ///     HostKeyCheck::Fingerprint("SHA256:…".into()),
    /// );
    /// let sftp = SftpUploader::connect(&config).await?;
    /// sftp.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(config: &SftpConfig) -> Result<Self> {
        let ssh_config = Arc::new(client::Config {
            inactivity_timeout: Some(config.timeout * 4),
            ..client::Config::default()
        });
        let seen = Arc::new(Mutex::new(None));
        let checker = Checker {
            host: config.host.clone(),
            port: config.port,
            check: config.host_key.clone(),
            seen: seen.clone(),
        };
        let connect = client::connect(ssh_config, (config.host.as_str(), config.port), checker);
        let mut ssh = match tokio::time::timeout(config.timeout, connect).await {
            Err(elapsed) => return Err(Error::sftp("connect", elapsed)),
            Ok(Ok(handle)) => handle,
            Ok(Err(russh::Error::UnknownKey)) => {
                let fingerprint = seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone()
                    .unwrap_or_else(|| "(certificate)".into());
                return Err(Error::HostKeyRejected { fingerprint });
            }
            Ok(Err(e)) => return Err(Error::sftp("connect", e)),
        };
        let auth = match &config.auth {
            SftpAuth::Password(p) => ssh
                .authenticate_password(&config.user, p.expose_secret())
                .await
                .map_err(|e| Error::sftp("password authentication", e))?,
            SftpAuth::KeyFile { path, passphrase } => {
                let key = russh::keys::load_secret_key(
                    path,
                    passphrase.as_ref().map(|p| p.expose_secret()),
                )
                .map_err(|e| Error::sftp(format!("loading key {}", path.display()), e))?;
                let hash = ssh
                    .best_supported_rsa_hash()
                    .await
                    .map_err(|e| Error::sftp("key authentication", e))?
                    .flatten();
                ssh.authenticate_publickey(
                    &config.user,
                    PrivateKeyWithHashAlg::new(Arc::new(key), hash),
                )
                .await
                .map_err(|e| Error::sftp("key authentication", e))?
            }
        };
        if !auth.success() {
            return Err(Error::SftpAuth {
                user: config.user.clone(),
            });
        }
        let channel = ssh
            .channel_open_session()
            .await
            .map_err(|e| Error::sftp("open session", e))?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(|e| Error::sftp("start sftp subsystem", e))?;
        let sftp = SftpSession::new(channel.into_stream())
            .await
            .map_err(|e| Error::sftp("sftp handshake", e))?;
        sftp.set_timeout(config.timeout.as_secs().max(1));
        Ok(SftpUploader {
            sftp,
            _ssh: ssh,
            imports_dir: config.imports_dir.clone(),
            staging_dir: config
                .staging_dir
                .clone()
                .unwrap_or_else(|| parent(&config.imports_dir)),
            reports_dir: config.reports_dir.clone(),
        })
    }

    /// Upload one file atomically (written in the staging directory, then renamed into the
    /// imports directory); returns its final remote path. Fails when a file of that name
    /// already exists.
    ///
    /// ```no_run
    /// # async fn demo(sftp: splio_client::sftp::SftpUploader) -> splio_client::Result<()> {
    /// use splio_client::datahub::{ContactCsvWriter, DatahubContact};
    /// let files = ContactCsvWriter::new("myuniverse", "PRCL")?
    ///     .write(&[DatahubContact::new("ann@example.com")])?
    ///     .files;
    /// let path = sftp.upload(&files[0]).await?;
    /// assert!(path.starts_with("/imports/"));
    /// # Ok(()) }
    /// ```
    pub async fn upload(&self, file: &DatahubFile) -> Result<String> {
        if file.name.contains('/') || file.name.starts_with('.') || file.name.is_empty() {
            return Err(Error::invalid(
                &file.name,
                "name",
                "must be a plain file name",
            ));
        }
        let temp = join(&self.staging_dir, &format!(".{}.part", file.name));
        let target = join(&self.imports_dir, &file.name);
        if self
            .sftp
            .try_exists(target.as_str())
            .await
            .map_err(|e| Error::sftp(format!("stat {target}"), e))?
        {
            return Err(Error::invalid(
                &file.name,
                "name",
                "already exists on the server",
            ));
        }
        let written = async {
            let mut remote = self.sftp.create(temp.as_str()).await?;
            remote.write_all(&file.contents).await?;
            remote.flush().await?;
            remote.shutdown().await?;
            Ok::<_, russh_sftp::client::error::Error>(())
        }
        .await;
        if let Err(e) = written {
            let _ = self.sftp.remove_file(temp.as_str()).await;
            return Err(Error::sftp(format!("write {temp}"), e));
        }
        if let Err(e) = self.sftp.rename(temp.as_str(), target.as_str()).await {
            let _ = self.sftp.remove_file(temp.as_str()).await;
            return Err(Error::sftp(format!("rename {temp} to {target}"), e));
        }
        tracing::info!(path = %target, rows = file.rows, "uploaded Datahub file");
        Ok(target)
    }

    /// Upload several files, in order, each atomically.
    ///
    /// ```no_run
    /// # async fn demo(sftp: splio_client::sftp::SftpUploader) -> splio_client::Result<()> {
    /// use splio_client::datahub::{ContactCsvWriter, DatahubContact};
    /// let contacts: Vec<DatahubContact> =
    ///     (0..500_000).map(|i| DatahubContact::new(format!("c{i}@example.com"))).collect();
    /// // 200,000 lines per file: three files, uploaded one after the other.
    /// let files = ContactCsvWriter::new("myuniverse", "PRCL")?.write(&contacts)?.files;
    /// let paths = sftp.upload_all(&files).await?;
    /// assert_eq!(paths.len(), files.len());
    /// # Ok(()) }
    /// ```
    pub async fn upload_all(&self, files: &[DatahubFile]) -> Result<Vec<String>> {
        let mut paths = Vec::with_capacity(files.len());
        for f in files {
            paths.push(self.upload(f).await?);
        }
        Ok(paths)
    }

    /// Names of the files in the imports directory (e.g. to see what the importer has not
    /// picked up yet), sorted.
    ///
    /// ```no_run
    /// # async fn demo(sftp: splio_client::sftp::SftpUploader) -> splio_client::Result<()> {
    /// let waiting = sftp.list_imports().await?;
    /// println!("{} files not imported yet", waiting.len());
    /// # Ok(()) }
    /// ```
    pub async fn list_imports(&self) -> Result<Vec<String>> {
        self.list(&self.imports_dir).await
    }

    /// Names of the report files in the reports directory, sorted.
    ///
    /// ```no_run
    /// # async fn demo(sftp: splio_client::sftp::SftpUploader) -> splio_client::Result<()> {
    /// for name in sftp.list_reports().await? {
    ///     println!("{name}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_reports(&self) -> Result<Vec<String>> {
        self.list(&self.reports_dir).await
    }

    async fn list(&self, dir: &str) -> Result<Vec<String>> {
        let entries = self
            .sftp
            .read_dir(dir)
            .await
            .map_err(|e| Error::sftp(format!("list {dir}"), e))?;
        let mut names: Vec<String> = entries
            .filter(|e| e.metadata().is_regular())
            .map(|e| e.file_name())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Read one report from the reports directory.
    ///
    /// ```no_run
    /// # async fn demo(sftp: splio_client::sftp::SftpUploader) -> splio_client::Result<()> {
    /// if let Some(name) = sftp.list_reports().await?.last() {
    ///     let report = sftp.read_report(name).await?;
    ///     for row in report.rows()? {
    ///         println!("{row:?}"); // column name → value
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn read_report(&self, name: &str) -> Result<Report> {
        if name.contains('/') {
            return Err(Error::invalid(name, "name", "must be a plain file name"));
        }
        let path = join(&self.reports_dir, name);
        let contents = self
            .sftp
            .read(path.as_str())
            .await
            .map_err(|e| Error::sftp(format!("read {path}"), e))?;
        Ok(Report {
            name: name.to_string(),
            contents,
        })
    }

    /// Close the SFTP session.
    ///
    /// ```no_run
    /// # async fn demo(sftp: splio_client::sftp::SftpUploader) -> splio_client::Result<()> {
    /// sftp.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(self) -> Result<()> {
        self.sftp.close().await.map_err(|e| Error::sftp("close", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_redacts_secrets() {
        let c = SftpConfig::new(
            "h",
            "u",
            SftpAuth::password("hunter2"),
            HostKeyCheck::InsecureAcceptAnyForTestsOnly,
        );
        assert!(!format!("{c:?}").contains("hunter2"));
        let k = SftpAuth::KeyFile {
            path: "/k".into(),
            passphrase: Some(SecretString::from("pp-secret")),
        };
        assert!(!format!("{k:?}").contains("pp-secret"));
    }

    #[test]
    fn staging_defaults_to_the_parent() {
        assert_eq!(parent("/imports"), "/");
        assert_eq!(parent("/imports/"), "/");
        assert_eq!(parent("/home/uni/imports"), "/home/uni");
        assert_eq!(parent("imports"), ".");
    }

    #[test]
    fn report_rows() {
        let r = Report {
            name: "r.csv".into(),
            contents: b"email;status\na@b.c;OK\n".to_vec(),
        };
        assert_eq!(r.rows().unwrap()[0]["status"], "OK");
    }
}
