//! Datahub upload against a real OpenSSH SFTP server on loopback.
#![cfg(feature = "sftp")]
use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use splio_client::Error;
use splio_client::datahub::{ContactCsvWriter, DatahubContact};
use splio_client::sftp::{HostKeyCheck, SftpAuth, SftpConfig, SftpUploader};

fn config(s: &common::Sshd, auth: SftpAuth, check: HostKeyCheck) -> SftpConfig {
    let d = s.dir.path().display();
    SftpConfig::new("127.0.0.1", s.user.clone(), auth, check)
        .port(s.server.port)
        .imports_dir(format!("{d}/imports"))
        .reports_dir(format!("{d}/reports"))
}

/// Key authentication, host key checked by fingerprint.
fn key_config(s: &common::Sshd) -> SftpConfig {
    config(
        s,
        SftpAuth::key_file(&s.client_key),
        HostKeyCheck::Fingerprint(s.host_fingerprint.clone()),
    )
}

fn contacts(n: usize) -> Vec<DatahubContact> {
    (0..n)
        .map(|i| {
            let mut c = DatahubContact::new(format!("User{i}@Example.com"));
            c.firstname = Some(format!("First; \"{i}\""));
            c
        })
        .collect()
}

/// Watches a directory from a thread: every entry seen that is not one of `files`, complete
/// and under its final name.
struct Watcher {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(String, u64)>>,
}

impl Watcher {
    fn start(dir: &std::path::Path, files: &[splio_client::datahub::DatahubFile]) -> Watcher {
        let finals: std::collections::HashMap<String, u64> = files
            .iter()
            .map(|f| (f.name.clone(), f.contents.len() as u64))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, dir) = (stop.clone(), dir.to_owned());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    for e in std::fs::read_dir(&dir).unwrap().flatten() {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                        if finals.get(&name) != Some(&len) {
                            seen.push((name, len));
                        }
                    }
                    std::thread::yield_now();
                }
                seen.dedup();
                seen
            })
        };
        Watcher { stop, thread }
    }

    fn stop(self) -> Vec<(String, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

#[tokio::test]
async fn upload_split_files_atomically_and_read_reports() {
    let Some(s) = common::start_sshd("upload_split_files_atomically_and_read_reports") else {
        return;
    };
    let imports = s.dir.path().join("imports");
    let cfg = key_config(&s);
    let sftp = SftpUploader::connect(&cfg).await.unwrap();

    // A large file: nothing but the complete file may ever be visible.
    let big = ContactCsvWriter::new("uni", "PRCL")
        .unwrap()
        .write(&contacts(60_000))
        .unwrap()
        .files;
    assert_eq!(big.len(), 1);
    let watcher = Watcher::start(&imports, &big);
    let path = sftp.upload(&big[0]).await.unwrap();
    assert_eq!(watcher.stop(), Vec::<(String, u64)>::new());
    assert!(path.ends_with(&big[0].name));
    assert_eq!(
        std::fs::read(imports.join(&big[0].name)).unwrap(),
        big[0].contents
    );

    // Split files: 5 rows, 3 lines per file → 3 files, each uploaded under its own name.
    let files = ContactCsvWriter::new("uni", "PRCL")
        .unwrap()
        .max_lines(3)
        .write(&contacts(5))
        .unwrap()
        .files;
    assert_eq!(files.len(), 3);
    sftp.upload_all(&files).await.unwrap();
    for f in &files {
        let on_disk = std::fs::read_to_string(imports.join(&f.name)).unwrap();
        assert_eq!(on_disk.as_bytes(), f.contents.as_slice());
        assert!(on_disk.starts_with("email;firstname\n"), "{on_disk}");
        assert!(on_disk.contains("user"), "emails lowercased");
    }
    let listed = sftp.list_imports().await.unwrap();
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert!(
        listed.iter().all(|n| n.ends_with(".csv")),
        "no temporary files left: {listed:?}"
    );
    let again = sftp.upload(&files[0]).await.unwrap_err();
    assert!(matches!(again, Error::InvalidInput { .. }), "{again}");

    // Reports written by Splio into /reports/.
    std::fs::write(
        s.dir.path().join("reports/report_client_2024-03-05.csv"),
        "email;status;message\nuser0@example.com;OK;\nbad;KO;wrong email\n",
    )
    .unwrap();
    assert_eq!(
        sftp.list_reports().await.unwrap(),
        vec!["report_client_2024-03-05.csv"]
    );
    let report = sftp
        .read_report("report_client_2024-03-05.csv")
        .await
        .unwrap();
    let rows = report.rows().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["message"], "wrong email");
    sftp.close().await.unwrap();
}

#[tokio::test]
async fn known_hosts_accepts_and_wrong_host_key_is_rejected() {
    let Some(s) = common::start_sshd("known_hosts_accepts_and_wrong_host_key_is_rejected") else {
        return;
    };
    let known = s.dir.path().join("known_hosts");
    std::fs::write(
        &known,
        format!("[127.0.0.1]:{} {}\n", s.server.port, s.host_public),
    )
    .unwrap();
    SftpUploader::connect(&config(
        &s,
        SftpAuth::key_file(&s.client_key),
        HostKeyCheck::KnownHosts(known),
    ))
    .await
    .unwrap();

    let other = common::fingerprint(&s.dir.path().join("client_key.pub"));
    let err = SftpUploader::connect(&config(
        &s,
        SftpAuth::key_file(&s.client_key),
        HostKeyCheck::Fingerprint(other),
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::HostKeyRejected { fingerprint } if *fingerprint == s.host_fingerprint),
        "{err}"
    );

    let empty = s.dir.path().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let err = SftpUploader::connect(&config(
        &s,
        SftpAuth::key_file(&s.client_key),
        HostKeyCheck::KnownHosts(empty),
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, Error::HostKeyRejected { .. }), "{err}");
}

#[tokio::test]
async fn password_auth_wrong_and_right() {
    let Some(s) = common::start_sshd("password_auth_wrong_and_right") else {
        return;
    };
    let check = HostKeyCheck::Fingerprint(s.host_fingerprint.clone());
    let err = SftpUploader::connect(&config(
        &s,
        SftpAuth::password("definitely-wrong"),
        check.clone(),
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, Error::SftpAuth { .. }), "{err}");
    assert!(!format!("{err:?}").contains("definitely-wrong"));

    let user_exists = std::process::Command::new("id")
        .arg(common::PASSWORD_USER)
        .output()
        .unwrap()
        .status
        .success();
    if !user_exists || s.user != "root" {
        let msg = "password login needs root and the splio-test user from .ci/splio-services.sh";
        if std::env::var_os("CI").is_some() && !user_exists {
            panic!("{msg}");
        }
        eprintln!("SKIPPED password success part: {msg}");
        return;
    }
    let shared = s.dir.path().join("shared");
    let staging = s.dir.path().join("staging");
    for dir in [&shared, &staging] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let cfg = SftpConfig::new(
        "127.0.0.1",
        common::PASSWORD_USER,
        SftpAuth::password(common::PASSWORD),
        check,
    )
    .port(s.server.port)
    .imports_dir(shared.display().to_string())
    .staging_dir(staging.display().to_string());
    let sftp = SftpUploader::connect(&cfg).await.unwrap();
    let files = ContactCsvWriter::new("uni", "PRCL")
        .unwrap()
        .write(&contacts(2))
        .unwrap()
        .files;
    sftp.upload(&files[0]).await.unwrap();
    assert!(shared.join(&files[0].name).exists());
}

/// The importer watches `/imports/`: a file is written elsewhere (by default the imports
/// directory's parent, the account's root on Splio) and renamed in when complete, so nothing
/// but whole files ever appears there.
#[tokio::test]
async fn files_are_staged_outside_the_imports_directory() {
    let Some(s) = common::start_sshd("files_are_staged_outside_the_imports_directory") else {
        return;
    };
    let imports = s.dir.path().join("imports");
    let cfg = key_config(&s);
    let sftp = SftpUploader::connect(&cfg).await.unwrap();
    let files = ContactCsvWriter::new("my_universe", "PRCL")
        .unwrap()
        .max_lines(20_000)
        .write(&contacts(60_000))
        .unwrap()
        .files;
    assert_eq!(files.len(), 4);
    let watcher = Watcher::start(&imports, &files);
    sftp.upload_all(&files).await.unwrap();
    assert_eq!(
        watcher.stop(),
        Vec::<(String, u64)>::new(),
        "only complete files, under their final names"
    );
    assert_eq!(sftp.list_imports().await.unwrap().len(), 4);
    let leftovers: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A staging directory of one's own, e.g. when the parent is not writable.
    let staging = s.dir.path().join("staging");
    std::fs::create_dir(&staging).unwrap();
    let cfg = key_config(&s).staging_dir(staging.display().to_string());
    let sftp = SftpUploader::connect(&cfg).await.unwrap();
    let more = ContactCsvWriter::new("my_universe", "PRCL")
        .unwrap()
        .write(&contacts(3))
        .unwrap()
        .files;
    sftp.upload(&more[0]).await.unwrap();
    assert!(imports.join(&more[0].name).exists());
    assert_eq!(std::fs::read_dir(&staging).unwrap().count(), 0);
}
