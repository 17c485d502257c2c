//! `segment-to-splio --delivery sftp` against a real OpenSSH SFTP server on loopback (started by
//! splio-client's test helper; skipped when sshd is missing, failing under CI).

use crate::common::sync_bin::{code_and_summary, stderr, write_file};
use crate::splio_servers as servers;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use splio_client::fake::FakeService as _;

const BIN: &str = env!("CARGO_BIN_EXE_segment-to-splio");

/// The binary set up for the test SFTP server (no Splio API key), with `args`.
fn command(s: &servers::Sshd, work: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    cmd.current_dir(work)
        .env_remove("SPLIO_API_KEY")
        .env_remove("SPLIO_SFTP_PASSWORD")
        .env_remove("SYNC_CONFIG")
        .env_remove("SYNC_STATE")
        .env("RUST_LOG", "warn")
        .env("SPLIO_UNIVERSE", "uni")
        .env("SPLIO_SFTP_HOST", "127.0.0.1")
        .env("SPLIO_SFTP_PORT", s.server.port.to_string())
        .env("SPLIO_SFTP_USER", &s.user)
        .env("SPLIO_SFTP_KEY", &s.client_key)
        .args(args);
    cmd
}

fn run(s: &servers::Sshd, work: &Path, args: &[&str]) -> (i32, Value, Output) {
    let output = command(s, work, args).output().unwrap();
    let (code, summary) = code_and_summary(&output);
    (code, summary, output)
}

fn imports(s: &servers::Sshd) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(s.dir.path().join("imports"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn read(s: &servers::Sshd, name: &str) -> String {
    std::fs::read_to_string(s.dir.path().join("imports").join(name)).unwrap()
}

/// A config sending Datahub files to the test server (imports and reports in its directory),
/// with `attempts` delivery attempts.
fn write_config(s: &servers::Sshd, dir: &Path, attempts: u32) -> String {
    let server = s.dir.path().display();
    let config = format!(
        "[job]\nbatch_size = 100\n[job.retry]\nattempts = {attempts}\ndelay = \"1ms\"\n\
         [sftp]\nsubsequence = \"PRCL\"\nimports_dir = \"{server}/imports\"\n\
         reports_dir = \"{server}/reports\"\nhost_key_fingerprint = \"{}\"\n",
        s.host_fingerprint
    );
    write_file(dir, "config.toml", &config)
}

fn segment(n: usize, tier: &str) -> String {
    let mut text = String::from("email,firstname,tier\n");
    for i in 0..n {
        if i % 50 == 5 {
            text.push_str(&format!("bad{i},B{i},{tier}\n"));
        } else {
            text.push_str(&format!("M{i}@Example.com,M{i},{tier}\n"));
        }
    }
    text
}

#[test]
fn datahub_files_carry_only_changed_columns_and_the_snapshot_follows_uploads() {
    let Some(s) = servers::start_sshd("segment_to_splio_sftp") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let config = &write_config(&s, work.path(), 2);
    let file = &write_file(work.path(), "segment.csv", &segment(250, "gold"));
    let good = 245;

    // Without --insert the existing contacts must be read through the API: a config error here.
    let (code, _, output) = run(
        &s,
        work.path(),
        &[file, "--delivery", "sftp", "--config", config],
    );
    assert_eq!(code, 2, "{}", stderr(&output));
    assert!(stderr(&output).contains("SPLIO_API_KEY"));

    let args = [
        file,
        "--delivery",
        "sftp",
        "--insert",
        "--config",
        config,
        "--json",
    ];
    let (code, summary, output) = run(&s, work.path(), &args);
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], good);
    assert_eq!(summary["filtered"], 5);
    let first = imports(&s);
    assert_eq!(first.len(), 3, "one file per batch: {first:?}");
    assert!(
        first
            .iter()
            .all(|n| n.starts_with("uni_contacts_PRCL_") && n.ends_with(".csv"))
    );
    let mut rows = 0;
    for name in &first {
        let text = read(&s, name);
        assert!(text.starts_with("email;firstname;tier\n"), "{text}");
        rows += text.lines().count() - 1;
    }
    assert_eq!(rows, good);
    assert!(read(&s, &first[0]).contains("m0@example.com;M0;gold"));

    // Nothing changed: nothing uploaded.
    let (code, summary, _) = run(&s, work.path(), &args);
    assert_eq!(code, 0);
    assert_eq!(summary["skipped"], good);
    assert_eq!(imports(&s).len(), 3);

    // One attribute changed: the new files carry only it.
    std::fs::write(file, segment(250, "silver")).unwrap();
    let (code, summary, _) = run(&s, work.path(), &args);
    assert_eq!(code, 0);
    assert_eq!(summary["delivered"], good);
    let new: Vec<String> = imports(&s)
        .into_iter()
        .filter(|n| !first.contains(n))
        .collect();
    assert_eq!(new.len(), 3);
    for name in &new {
        let text = read(&s, name);
        assert!(text.starts_with("email;tier\n"), "{text}");
        assert!(text.lines().skip(1).all(|l| l.ends_with(";silver")));
    }

    // A wrong host key is a configuration error and uploads nothing.
    let bad = work.path().join("bad.toml");
    std::fs::write(
        &bad,
        format!(
            "[sftp]\nimports_dir = \"{}/imports\"\nhost_key_fingerprint = \"SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"\n",
            s.dir.path().display()
        ),
    )
    .unwrap();
    std::fs::write(file, segment(250, "bronze")).unwrap();
    let (code, _, output) = run(
        &s,
        work.path(),
        &[
            file,
            "--delivery",
            "sftp",
            "--insert",
            "--config",
            bad.to_str().unwrap(),
            "--state",
            "other.db",
        ],
    );
    assert_eq!(code, 2, "{}", stderr(&output));
    assert_eq!(imports(&s).len(), 6);
}

#[test]
fn contacts_refused_in_a_datahub_report_are_parked_and_replayed() {
    let Some(s) = servers::start_sshd("segment_to_splio_sftp_reports") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let config = &write_config(&s, work.path(), 1);
    let file = &write_file(work.path(), "segment.csv", &segment(20, "gold"));
    let args = [
        file,
        "--delivery",
        "sftp",
        "--insert",
        "--config",
        config,
        "--json",
    ];
    let (code, summary, output) = run(&s, work.path(), &args);
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 19);
    assert_eq!(imports(&s).len(), 1);

    // Splio's import refuses m1 (and a contact this job never sent); other files are no reports.
    let reports = s.dir.path().join("reports");
    let report = reports.join("report_client_2024-03-01.csv");
    std::fs::write(
        &report,
        "email;status;message\nm0@example.com;OK;\nM1@Example.com;KO;invalid value for tier\nnobody@example.com;KO;x\n",
    )
    .unwrap();
    std::fs::write(
        reports.join("notes.txt"),
        "email;status\nm2@example.com;KO\n",
    )
    .unwrap();
    let (code, summary, output) = run(&s, work.path(), &args);
    assert_eq!(code, 1, "{}", stderr(&output));
    assert_eq!(
        summary["skipped"], 19,
        "uploaded before the report was read"
    );
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["parked_total"], 1);
    assert_eq!(summary["failures"][0]["key"], "m1@example.com");
    let logged: (i64, i64) = rusqlite::Connection::open(work.path().join("sync-state.db"))
        .unwrap()
        .query_row(
            "SELECT failed, skipped FROM runs ORDER BY id DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(logged, (1, 19), "the run log counts the refusal too");
    let error = summary["failures"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("report_client_2024-03-01.csv") && error.contains("invalid value for tier"),
        "{error}"
    );

    // Rows already read are not counted again.
    let (code, summary, _) = run(
        &s,
        work.path(),
        &[
            "--replay-failed",
            "--delivery",
            "sftp",
            "--insert",
            "--config",
            config,
            "--json",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(summary["delivered"], 1);
    assert_eq!(summary["parked_total"], 0);
    let files = imports(&s);
    assert_eq!(files.len(), 2);
    assert_eq!(
        read(&s, &files[1]),
        "email;firstname;tier\nm1@example.com;M1;gold\n",
        "the refused contact goes again in full"
    );

    // A report that grows during the day: only its new rows are read.
    let mut text = std::fs::read_to_string(&report).unwrap();
    text.push_str("m2@example.com;REJECTED;\n");
    std::fs::write(&report, text).unwrap();
    let (code, summary, _) = run(&s, work.path(), &args);
    assert_eq!(code, 1);
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["failures"][0]["key"], "m2@example.com");
    assert_eq!(
        summary["failures"][0]["error"],
        "refused by the Datahub import (report_client_2024-03-01.csv): REJECTED"
    );
}

#[test]
fn the_file_name_pattern_is_a_setting_and_files_are_staged_outside_imports() {
    let Some(s) = servers::start_sshd("segment_to_splio_sftp_file_names") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let config = write_config(&s, work.path(), 1);
    let staging = s.dir.path().join("staging");
    std::fs::create_dir(&staging).unwrap();
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "file_name = \"{{universe}}_contacts_{{subsequence}}{{date}}_{{unique}}\"\nstaging_dir = \"{}\"\n",
        staging.display()
    ));
    std::fs::write(&config, text).unwrap();
    let file = &write_file(work.path(), "segment.csv", &segment(20, "gold"));
    let args = [
        file.as_str(),
        "--delivery",
        "sftp",
        "--insert",
        "--config",
        config.as_str(),
        "--json",
    ];
    let (code, summary, output) = run(&s, work.path(), &args);
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 19);
    let names = imports(&s);
    assert_eq!(names.len(), 1, "{names:?}");
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y%m%d")
        .to_string();
    assert!(
        names[0].starts_with(&format!("uni_contacts_PRCL{today}_")) && !names[0].contains('.'),
        "{names:?}"
    );
    assert_eq!(std::fs::read_dir(&staging).unwrap().count(), 0);

    // A pattern the writer refuses is a configuration error, before anything is uploaded.
    let bad = work.path().join("bad.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("_{unique}\"", "\"");
    std::fs::write(&bad, text).unwrap();
    std::fs::write(file, segment(20, "silver")).unwrap();
    let bad_args = [
        file.as_str(),
        "--delivery",
        "sftp",
        "--insert",
        "--config",
        bad.to_str().unwrap(),
    ];
    let (code, _, output) = run(&s, work.path(), &bad_args);
    assert_eq!(code, 2, "{}", stderr(&output));
    assert!(stderr(&output).contains("{unique}"), "{}", stderr(&output));
    assert_eq!(imports(&s).len(), 1);
}

/// Without `--insert` the run must know which contacts exist; with few unknown keys against a
/// large universe it asks Splio about each (a GET) instead of listing every page.
#[tokio::test]
async fn without_insert_few_unknown_keys_are_looked_up_one_by_one() {
    let Some(s) = servers::start_sshd("segment_to_splio_sftp_lookups") else {
        return;
    };
    let fake = splio_client::fake::FakeSplio::start().await;
    for i in 0..2_500 {
        fake.seed_contact(splio_client::ContactData::with_email(format!(
            "c{i}@example.com"
        )));
    }
    let work = tempfile::tempdir().unwrap();
    let config = write_config(&s, work.path(), 1);
    let file = write_file(
        work.path(),
        "segment.csv",
        "email,firstname\nc2400@example.com,Known\nnobody@example.com,New\n",
    );
    let mut cmd = command(
        &s,
        work.path(),
        &[&file, "--delivery", "sftp", "--config", &config, "--json"],
    );
    cmd.env("SPLIO_BASE_URL", fake.base_url())
        .env("SPLIO_API_KEY", fake.credentials().expose());
    // The fake answers on this test's runtime: wait for the binary without blocking it.
    let output = tokio::process::Command::from(cmd).output().await.unwrap();
    let (code, summary) = code_and_summary(&output);
    assert_eq!(code, 0, "{}", stderr(&output));
    assert_eq!(summary["delivered"], 1);
    assert_eq!(
        summary["skipped_by_reason"]["new contact, not created without --insert"],
        1
    );
    let asked: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/data/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        asked.len(),
        3,
        "page 1 for the size, then one GET per unknown key: {asked:?}"
    );
    assert!(asked.contains(&"GET /data/contacts/nobody%40example.com".to_owned()));
    let names = imports(&s);
    assert_eq!(
        read(&s, &names[0]),
        "email;firstname\nc2400@example.com;Known\n"
    );
}

/// Issue 20 `--check`: the SFTP host key and credentials are checked and the imports folder
/// listed, without writing anything; a wrong host key is a configuration error (exit 2).
#[test]
fn check_verifies_the_host_key_and_writes_nothing() {
    let Some(s) = servers::start_sshd("segment_to_splio_sftp_check") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let config = &write_config(&s, work.path(), 1);
    let file = &write_file(
        work.path(),
        "segment.csv",
        "email,firstname\na@example.com,Ann\n",
    );
    let args = [
        file,
        "--delivery",
        "sftp",
        "--insert",
        "--config",
        config,
        "--check",
    ];
    let output = command(&s, work.path(), &args).output().unwrap();
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(0), "{out}{}", stderr(&output));
    assert!(
        out.lines()
            .any(|l| l.starts_with("ok           SFTP: host key verified, credentials accepted")),
        "{out}"
    );
    assert!(out.contains("skipped      Splio API: "), "{out}");
    assert!(imports(&s).is_empty(), "nothing uploaded");
    assert!(!work.path().join("sync-state.db").exists(), "no state file");

    let wrong = write_file(
        work.path(),
        "wrong.toml",
        &std::fs::read_to_string(config).unwrap().replace(
            &s.host_fingerprint,
            "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
    );
    let args = [
        file,
        "--delivery",
        "sftp",
        "--insert",
        "--config",
        &wrong,
        "--check",
    ];
    let output = command(&s, work.path(), &args).output().unwrap();
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(out.contains("config       SFTP: "), "{out}");
}

/// Issue 20 point 7: the SFTP server refusing the login (a wrong password) is a run that
/// failed, in the run log with its error: `--status` shows it (exit 1), and the new state file
/// is kept for it. The refusal is still a credentials error (exit 2).
#[test]
fn an_sftp_login_refused_is_a_failed_run_in_the_status() {
    let Some(s) = servers::start_sshd("segment_to_splio_sftp_refused") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let config = &write_config(&s, work.path(), 1);
    let file = &write_file(work.path(), "segment.csv", &segment(3, "gold"));
    let output = command(
        &s,
        work.path(),
        &[
            file,
            "--delivery",
            "sftp",
            "--insert",
            "--config",
            config,
            "--state",
            "s.db",
            "--json",
        ],
    )
    .env_remove("SPLIO_SFTP_KEY")
    .env("SPLIO_SFTP_PASSWORD", "wrong")
    .output()
    .unwrap();
    let (code, error) = code_and_summary(&output);
    assert_eq!(code, 2, "{}", stderr(&output));
    assert_eq!(error["kind"], "error", "{error}");
    let said = error["error"].as_str().unwrap().to_owned();
    assert!(imports(&s).is_empty(), "nothing uploaded");
    let (code, status, output) = run(&s, work.path(), &["--status", "--state", "s.db", "--json"]);
    assert_eq!(code, 1, "the last run failed: {}", stderr(&output));
    let runs = status["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{status}");
    assert_eq!(runs[0]["status"], "failed", "{status}");
    assert_eq!(runs[0]["aborted"], said.as_str(), "{status}");
}
