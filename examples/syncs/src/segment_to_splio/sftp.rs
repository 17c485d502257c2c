//! `--delivery sftp`: each batch becomes a Datahub contacts file (`;`-separated CSV), written
//! outside the universe's `/imports/` directory and renamed into it once complete, where Splio's
//! automatic import picks it up. Its name follows `[sftp] file_name`.
//!
//! A file's columns are the email plus every attribute that changed for at least one of its
//! rows; each row carries its current values for those columns (so a row whose attribute did
//! not change re-sends the same value). The snapshot is updated when the upload succeeded: a
//! file on the server counts as delivered. Splio's import runs later and writes its per-row
//! verdicts to `/reports/`; each SFTP run reads the report rows it has not read yet
//! ([`read_reports`]) and turns the rejected ones into parked failures.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use splio_client::datahub::{Column, ContactCsvWriter, DatahubContact, FileNamePattern};
use splio_client::sftp::{HostKeyCheck, SftpAuth, SftpConfig, SftpUploader};

use super::{STANDARD, changed};
use sync_kit::input::text;
use sync_kit::{Delivery, Error, Item, Outcome, Sink, StateStore, Summary, env};

/// `[sftp]` settings (the credentials come from the environment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SftpSettings {
    /// The Datahub sub-sequence in the file names, as set up for the universe's import.
    pub subsequence: String,
    /// Where uploads go.
    pub imports_dir: String,
    /// Where a file is written before it is renamed into `imports_dir` (default: its parent,
    /// the account's root on Splio), so the importer never sees a partial or unknown file.
    pub staging_dir: Option<String>,
    /// The file-name pattern (`{universe}`, `{subsequence}`, `{date}`, `{unique}`). Splio does
    /// not document it: the default reads the Datahub rule, and wamiz/splio-sdk builds
    /// `{universe}_contacts_{subsequence}{date}_{unique}`. Ask Splio which your import expects.
    pub file_name: String,
    /// The server's SHA256 host key fingerprint (`SHA256:…`); else `known_hosts` is used.
    pub host_key_fingerprint: Option<String>,
    /// A known_hosts file (default `~/.ssh/known_hosts`).
    pub known_hosts: Option<PathBuf>,
    /// Where Splio writes its import reports.
    pub reports_dir: String,
    /// Reading the reports back (`[sftp.reports]`).
    pub reports: ReportSettings,
    /// A value emptied since the last delivery: `"report"` (default) parks the row, naming the
    /// fields, since Splio does not document whether its importer reads an empty cell as a
    /// clear; `"clear"` writes the empty cell and counts the row delivered.
    pub emptied_values: EmptiedValues,
}

/// `[sftp] emptied_values`: what a Datahub file does with a value emptied since the last
/// delivery (issue 20 point 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmptiedValues {
    /// Park the row, naming the emptied fields (it is not counted delivered).
    #[default]
    Report,
    /// Write an empty cell (splio-client `EmptyValues::Clear`), counted delivered.
    Clear,
}

/// `[sftp.reports]`: how to read Splio's import reports. The reference documents only their
/// name (`report_client_YYYY-MM-DD.csv`) and separator (`;`), not their columns, so the columns
/// and the values meaning "rejected" are settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSettings {
    /// Read the reports after each SFTP run.
    pub enabled: bool,
    /// Only files whose name starts with this are reports.
    pub prefix: String,
    /// The column holding the contact's email.
    pub key_column: String,
    /// The column holding the row's verdict.
    pub status_column: String,
    /// Verdicts meaning the row was refused (compared case-insensitively).
    pub rejected: Vec<String>,
    /// A column explaining the verdict, if the reports have one.
    pub reason_column: Option<String>,
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            prefix: "report".into(),
            key_column: "email".into(),
            status_column: "status".into(),
            rejected: ["KO", "ERROR", "REJECTED", "INVALID"]
                .map(String::from)
                .to_vec(),
            reason_column: Some("message".into()),
        }
    }
}

impl Default for SftpSettings {
    fn default() -> Self {
        Self {
            subsequence: "contacts".into(),
            imports_dir: "/imports".into(),
            staging_dir: None,
            file_name: splio_client::datahub::DEFAULT_FILE_NAME.into(),
            host_key_fingerprint: None,
            known_hosts: None,
            reports_dir: "/reports".into(),
            reports: ReportSettings::default(),
            emptied_values: EmptiedValues::default(),
        }
    }
}

/// The SFTP connection settings from `SPLIO_SFTP_HOST`, `SPLIO_SFTP_PORT`, `SPLIO_SFTP_USER`,
/// and `SPLIO_SFTP_PASSWORD` or `SPLIO_SFTP_KEY` (a private key file).
pub fn config_from_env(settings: &SftpSettings) -> Result<SftpConfig, Error> {
    let host = env::required_no_sandbox("SPLIO_SFTP_HOST", "the Splio SFTP host")?;
    let user = env::required_no_sandbox("SPLIO_SFTP_USER", "the Splio SFTP user")?;
    let auth = match (
        env::optional("SPLIO_SFTP_PASSWORD"),
        env::optional("SPLIO_SFTP_KEY"),
    ) {
        (Some(_), Some(_)) => {
            return Err(Error::Config(
                "set SPLIO_SFTP_PASSWORD or SPLIO_SFTP_KEY, not both".into(),
            ));
        }
        (Some(password), None) => SftpAuth::password(password),
        (None, Some(key)) => {
            // A key file that cannot be read is a configuration error (exit 2), found before
            // any connection, not a failed delivery.
            std::fs::File::open(&key).map_err(|e| {
                Error::Config(format!(
                    "SPLIO_SFTP_KEY: cannot read the key file {key}: {e}"
                ))
            })?;
            SftpAuth::key_file(key)
        }
        (None, None) => {
            return Err(Error::Config(
                "SPLIO_SFTP_PASSWORD or SPLIO_SFTP_KEY is not set (SFTP credentials)".into(),
            ));
        }
    };
    let port: u16 = match env::optional("SPLIO_SFTP_PORT") {
        Some(port) => port
            .parse()
            .map_err(|_| Error::Config(format!("SPLIO_SFTP_PORT is not a port: {port:?}")))?,
        None => 22,
    };
    let host_key = match (&settings.host_key_fingerprint, &settings.known_hosts) {
        (Some(fp), _) => HostKeyCheck::Fingerprint(fp.clone()),
        (None, Some(path)) => known_hosts(path, &host, port)?,
        (None, None) => {
            let home = std::env::var_os("HOME").ok_or_else(|| {
                Error::Config(
                    "no host key to check: set sftp.host_key_fingerprint or sftp.known_hosts"
                        .into(),
                )
            })?;
            known_hosts(&PathBuf::from(home).join(".ssh/known_hosts"), &host, port)?
        }
    };
    let mut config = SftpConfig::new(host, user, auth, host_key)
        .imports_dir(&settings.imports_dir)
        .reports_dir(&settings.reports_dir)
        .port(port);
    if let Some(staging) = &settings.staging_dir {
        config = config.staging_dir(staging);
    }
    Ok(config)
}

/// Checks the server's key against `path`, which must exist: without it no host key can be
/// checked, and the error says how to pin one.
fn known_hosts(path: &std::path::Path, host: &str, port: u16) -> Result<HostKeyCheck, Error> {
    if path.exists() {
        return Ok(HostKeyCheck::KnownHosts(path.to_owned()));
    }
    let path = path.display();
    Err(Error::Config(format!(
        "the known_hosts file {path} does not exist, so the SFTP server's host key cannot be \
         checked; add the server's key to it (`ssh-keyscan -p {port} {host} >> {path}`, after \
         comparing it with the key Splio gives you), or pin the key in the config: \
         [sftp] host_key_fingerprint = \"SHA256:…\" (`ssh-keyscan -p {port} {host} | \
         ssh-keygen -lf -` prints it), or name another file with sftp.known_hosts"
    )))
}

/// Connects (a wrong password or host key is a configuration error).
pub async fn connect(config: &SftpConfig) -> Result<SftpUploader, Error> {
    SftpUploader::connect(config).await.map_err(|e| {
        let line = sync_kit::error_chain(&e);
        match e {
            splio_client::Error::SftpAuth { .. }
            | splio_client::Error::HostKeyRejected { .. }
            | splio_client::Error::Config(_) => Error::Config(line),
            _ => Error::delivering("Splio", line),
        }
    })
}

/// The writer of the Datahub files for `universe` (`SPLIO_UNIVERSE`) per the settings; a bad
/// universe, sub-sequence or file-name pattern is a configuration error.
pub fn writer(settings: &SftpSettings, universe: &str) -> Result<ContactCsvWriter, Error> {
    let config =
        |e: splio_client::Error| Error::Config(format!("[sftp]: {}", sync_kit::error_chain(&e)));
    let pattern = FileNamePattern::new(&settings.file_name).map_err(config)?;
    Ok(ContactCsvWriter::new(universe, &settings.subsequence)
        .map_err(config)?
        .file_name(pattern))
}

/// Writes and uploads one Datahub file per batch.
pub struct SftpSink<'a> {
    /// The open connection.
    pub uploader: SftpUploader,
    /// Names and writes the files (see [`writer`]).
    pub writer: ContactCsvWriter,
    /// The last delivered attributes.
    pub state: &'a StateStore,
    /// The job (state key).
    pub job: String,
    /// Read the Datahub reports back at the end of each run (`[sftp.reports]`), if enabled.
    pub reports: Option<ReportSettings>,
    /// What a value emptied since the last delivery does (`[sftp] emptied_values`).
    pub emptied_values: EmptiedValues,
}

fn column(name: &str) -> Column {
    match name {
        "email" => Column::Email,
        "firstname" => Column::Firstname,
        "lastname" => Column::Lastname,
        "cellphone" => Column::Cellphone,
        "language" => Column::Language,
        other => Column::custom(other),
    }
}

/// The Datahub rows of `rows` (each item with the attributes to send it): the email plus every
/// attribute sent for at least one row; each row carries its current values for those columns
/// (so a row whose attribute did not change re-sends the same value), an emptied value it sends
/// as an empty cell, and no cell for an attribute it does not have.
pub fn rows(
    rows: &[(&Item, serde_json::Map<String, serde_json::Value>)],
) -> (Vec<String>, Vec<DatahubContact>) {
    let mut names = vec!["email".to_owned()];
    for (_, diff) in rows {
        for name in diff.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    let contacts = rows
        .iter()
        .map(|(item, diff)| {
            let mut row = DatahubContact::new(item.key.clone());
            for name in &names[1..] {
                let value = match text(&item.fields, name) {
                    Some(value) => Some(value),
                    None if diff.contains_key(name) => Some(String::new()),
                    None => None,
                };
                match name.as_str() {
                    "firstname" => row.firstname = value,
                    "lastname" => row.lastname = value,
                    "cellphone" => row.cellphone = value,
                    "language" => row.language = value,
                    other => {
                        debug_assert!(!STANDARD.contains(&other));
                        if let Some(value) = value {
                            row.custom.insert(other.to_owned(), value);
                        }
                    }
                }
            }
            row
        })
        .collect();
    (names, contacts)
}

/// What a batch becomes: the files to upload, and the rows refused, by their position in the
/// batch, with why.
#[derive(Debug)]
pub struct Written {
    /// The files.
    pub files: Vec<splio_client::datahub::DatahubFile>,
    /// The refused rows: (position in the batch, why).
    pub refused: Vec<(usize, String)>,
    /// The rows whose last delivered attributes could not be read from the state (position in
    /// the batch, why): not written, since what changed is unknown (to be tried again).
    pub unread: Vec<(usize, String)>,
}

/// The Datahub files of a batch, and the rows refused (one code path for the dry run and the
/// real run): a row with a value emptied since `before` when `emptied` is
/// [`EmptiedValues::Report`], and the rows the writer refuses (a line break, …). A row whose
/// `before` is an error (the state could not be read) is not written but listed in
/// [`Written::unread`]: without it an emptied value would be neither sent nor reported.
pub fn files(
    writer: &ContactCsvWriter,
    batch: &[Item],
    before: impl Fn(&Item) -> Result<Option<serde_json::Map<String, serde_json::Value>>, String>,
    emptied: EmptiedValues,
) -> Result<Written, splio_client::Error> {
    let mut keep = Vec::new();
    let mut positions = Vec::new();
    let mut refused = Vec::new();
    let mut unread = Vec::new();
    for (i, item) in batch.iter().enumerate() {
        let before = match before(item) {
            Ok(before) => before,
            Err(e) => {
                unread.push((i, format!("state file: {e}")));
                continue;
            }
        };
        let diff = changed(before.as_ref(), &item.fields);
        let cleared: Vec<&str> = diff
            .keys()
            .filter(|k| k.as_str() != "email" && text(&diff, k).is_none())
            .map(String::as_str)
            .collect();
        if emptied == EmptiedValues::Report && !cleared.is_empty() {
            refused.push((
                i,
                format!(
                    "emptied since the last delivery: {}; Splio does not document whether a \
                     Datahub import clears a value from an empty cell, so the row is not sent \
                     (clear it in Splio, use --delivery api, or set sftp.emptied_values = \
                     \"clear\")",
                    cleared.join(", ")
                ),
            ));
            continue;
        }
        positions.push(i);
        keep.push((item, diff));
    }
    let (names, contacts) = rows(&keep);
    let policy = match emptied {
        EmptiedValues::Report => splio_client::datahub::EmptyValues::Leave,
        EmptiedValues::Clear => splio_client::datahub::EmptyValues::Clear,
    };
    let written = writer
        .clone()
        .empty_values(policy)
        .columns(names.iter().map(|n| column(n)).collect())
        .write(&contacts)?;
    refused.extend(
        written
            .refused
            .iter()
            .map(|r| (positions[r.index], sync_kit::error_chain(&r.error))),
    );
    Ok(Written {
        files: written.files,
        refused,
        unread,
    })
}

/// The last delivered attributes of each item of `batch`, as [`files`] asks for them, read from
/// the state in one go (every item gets the error when it cannot be read).
fn last_delivered<'b>(
    state: &StateStore,
    job: &str,
    batch: &'b [Item],
) -> impl Fn(&Item) -> Result<Option<serde_json::Map<String, serde_json::Value>>, String> + 'b {
    let keys: Vec<&str> = batch.iter().map(|i| i.key.as_str()).collect();
    let read = state
        .snapshots(job, &keys)
        .map(|found| {
            keys.into_iter()
                .zip(found)
                .collect::<std::collections::HashMap<_, _>>()
        })
        .map_err(|e| e.to_string());
    move |item| match &read {
        Ok(found) => Ok(found.get(item.key.as_str()).cloned().flatten()),
        Err(e) => Err(e.clone()),
    }
}

/// What a dry run prints for a batch: the files `writer` (see [`writer`]) would upload into
/// `imports_dir`.
pub fn preview(
    writer: &ContactCsvWriter,
    settings: &SftpSettings,
    batch: &[Item],
    state: &StateStore,
    job: &str,
) -> Vec<sync_kit::preview::Preview> {
    let before = last_delivered(state, job, batch);
    match files(writer, batch, before, settings.emptied_values) {
        Ok(written) => {
            for (i, error) in &written.refused {
                tracing::warn!(key = %batch[*i].key, %error, "this record would be parked");
            }
            for (i, error) in &written.unread {
                tracing::warn!(key = %batch[*i].key, %error, "this record would not be sent");
            }
            written
                .files
                .into_iter()
                .map(|f| sync_kit::preview::Preview::Upload {
                    path: format!("{}/{}", settings.imports_dir.trim_end_matches('/'), f.name),
                    content: String::from_utf8_lossy(&f.contents).into_owned(),
                })
                .collect()
        }
        Err(e) => {
            tracing::warn!(error = %sync_kit::error_chain(&e), "these records would not be uploaded");
            Vec::new()
        }
    }
}

impl Sink for SftpSink<'_> {
    async fn deliver(&self, batch: &[Item]) -> Delivery {
        let files = files(
            &self.writer,
            batch,
            last_delivered(self.state, &self.job, batch),
            self.emptied_values,
        );
        let written = match files {
            Ok(written) => written,
            Err(e) => {
                let error = sync_kit::error_chain(&e);
                return Delivery::all(batch.len(), Outcome::failed(error, false), 0);
            }
        };
        // The contacts the writer refused are parked with their error; the others go.
        let mut refused = vec![None; batch.len()];
        for (i, error) in &written.refused {
            refused[*i] = Some(Outcome::failed(error, false));
        }
        // Those whose last delivered attributes could not be read fail retryable (the API
        // delivery does the same).
        for (i, error) in &written.unread {
            refused[*i] = Some(Outcome::failed(error, true));
        }
        let files = written.files;
        let sent = match self.uploader.upload_all(&files).await {
            Ok(paths) => {
                let rows = batch.len() - written.refused.len() - written.unread.len();
                tracing::info!(files = ?paths, rows, "uploaded");
                Outcome::Delivered
            }
            Err(e) => {
                let retryable = !matches!(e, splio_client::Error::InvalidInput { .. });
                Outcome::failed(sync_kit::error_chain(&e), retryable)
            }
        };
        Delivery {
            outcomes: refused
                .into_iter()
                .map(|r| r.unwrap_or_else(|| sent.clone()))
                .collect(),
            requests: files.len() as u64,
        }
    }

    /// Reads the report rows not read yet; contacts they refuse are parked (snapshot removed, so
    /// a replay sends them in full) and count as failures of this run. They were counted as
    /// delivered by the run that uploaded them: the import runs later, on Splio's side.
    async fn finish(&self, summary: &mut Summary) -> Result<(), Error> {
        let Some(settings) = &self.reports else {
            return Ok(());
        };
        let refused = read_reports(&self.uploader, settings, self.state, &self.job).await?;
        if refused.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            count = refused.len(),
            "contacts refused by the Datahub import are parked"
        );
        for r in refused {
            summary.fail(r.key, r.error, 1);
        }
        Ok(())
    }
}

/// A report row that refused a contact, now parked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The contact's key.
    pub key: String,
    /// Why, with the report's name.
    pub error: String,
}

/// Reads the rows of the reports in `reports_dir` that this job has not read yet. Each row whose
/// status is one of `settings.rejected` parks its contact (if this job delivered it: the last
/// delivered attributes become the parked payload, and the snapshot goes, so the next run sends
/// the contact in full). Returns the parked ones. A report that cannot be read or lacks the
/// configured columns is skipped with a warning and read again next time.
pub async fn read_reports(
    uploader: &SftpUploader,
    settings: &ReportSettings,
    state: &StateStore,
    job: &str,
) -> Result<Vec<Refused>, Error> {
    let names = match uploader.list_reports().await {
        Ok(names) => names,
        Err(e) => {
            tracing::warn!(error = %sync_kit::error_chain(&e), "cannot list the Datahub reports");
            return Ok(Vec::new());
        }
    };
    let mut refused = Vec::new();
    for name in names.iter().filter(|n| n.starts_with(&settings.prefix)) {
        let done = state.report_rows_read(job, name)?;
        let rows = match uploader.read_report(name).await.and_then(|r| r.rows()) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(report = %name, error = %sync_kit::error_chain(&e), "cannot read a Datahub report");
                continue;
            }
        };
        if rows.len() as u64 <= done {
            continue;
        }
        let column = |row: &indexmap::IndexMap<String, String>, name: &str| {
            row.iter()
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        };
        let first = &rows[0];
        if column(first, &settings.key_column).is_none()
            || column(first, &settings.status_column).is_none()
        {
            tracing::warn!(
                report = %name,
                columns = ?first.keys().collect::<Vec<_>>(),
                "the Datahub report lacks sftp.reports.key_column or status_column; not read"
            );
            continue;
        }
        for row in &rows[done as usize..] {
            let status = column(row, &settings.status_column).unwrap_or_default();
            if !settings
                .rejected
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&status))
            {
                continue;
            }
            let key = sync_kit::email::key(&column(row, &settings.key_column).unwrap_or_default());
            let reason = settings
                .reason_column
                .as_deref()
                .and_then(|c| column(row, c))
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| status.clone());
            let error = format!("refused by the Datahub import ({name}): {reason}");
            if state.park_delivered(job, &key, &error)? {
                refused.push(Refused { key, error });
            }
        }
        state.set_report_rows_read(job, name, rows.len() as u64)?;
    }
    Ok(refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value, json};

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    /// `a@example.com` with its cellphone emptied, and `b@example.com`.
    fn batch() -> Vec<Item> {
        vec![
            Item {
                key: "a@example.com".into(),
                fields: fields(json!({"email": "a@example.com", "cellphone": "", "tier": "gold"})),
            },
            Item {
                key: "b@example.com".into(),
                fields: fields(json!({"email": "b@example.com", "tier": "silver"})),
            },
        ]
    }

    /// The contents of the written files.
    fn contents(written: &Written) -> String {
        written
            .files
            .iter()
            .map(|f| String::from_utf8_lossy(&f.contents).into_owned())
            .collect()
    }

    #[test]
    fn an_emptied_value_is_reported_or_written_as_an_empty_cell_never_dropped() {
        let writer = ContactCsvWriter::new("demo", "contacts").unwrap();
        let before =
            fields(json!({"email": "a@example.com", "cellphone": "+3725550001", "tier": "gold"}));
        let batch = batch();
        let snapshot = |item: &Item| Ok((item.key == "a@example.com").then(|| before.clone()));
        let written = files(&writer, &batch, snapshot, EmptiedValues::Report).unwrap();
        assert_eq!(written.refused.len(), 1);
        assert_eq!(written.refused[0].0, 0);
        assert!(
            written.refused[0]
                .1
                .starts_with("emptied since the last delivery: cellphone;")
        );
        let text = contents(&written);
        assert!(
            !text.contains("a@example.com") && text.contains("b@example.com"),
            "{text}"
        );

        let written = files(&writer, &batch, snapshot, EmptiedValues::Clear).unwrap();
        assert!(written.refused.is_empty());
        let text = contents(&written);
        let row = text
            .lines()
            .find(|l| l.starts_with("a@example.com"))
            .unwrap();
        assert_eq!(
            row, "a@example.com;;gold",
            "the emptied cellphone as an empty cell: {text}"
        );
    }

    #[test]
    fn the_last_delivered_attributes_are_read_per_batch_and_an_unreadable_state_fails_each_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let state = StateStore::open(&path).unwrap();
        let batch = batch();
        state.record_outcomes("job", &batch[1..], &[]).unwrap();
        let before = last_delivered(&state, "job", &batch);
        assert_eq!(before(&batch[0]), Ok(None));
        assert_eq!(before(&batch[1]), Ok(Some(batch[1].fields.clone())));

        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("DROP TABLE snapshots")
            .unwrap();
        let before = last_delivered(&state, "job", &batch);
        for item in &batch {
            let error = before(item).unwrap_err();
            assert!(error.contains("snapshots"), "{error}");
        }
    }

    #[test]
    fn a_row_whose_last_delivery_cannot_be_read_is_not_written_but_listed_unread() {
        let writer = ContactCsvWriter::new("demo", "contacts").unwrap();
        let batch = batch();
        let snapshot = |item: &Item| {
            if item.key == "a@example.com" {
                Err("database is locked".to_owned())
            } else {
                Ok(None)
            }
        };
        for emptied in [EmptiedValues::Report, EmptiedValues::Clear] {
            let written = files(&writer, &batch, snapshot, emptied).unwrap();
            assert!(written.refused.is_empty(), "{:?}", written.refused);
            assert_eq!(
                written.unread,
                [(0, "state file: database is locked".to_owned())]
            );
            let text = contents(&written);
            assert!(
                !text.contains("a@example.com") && text.contains("b@example.com"),
                "{text}"
            );
        }
    }
}
