//! End to end, issue 20 point 9: a usage error under `--json` still prints its JSON line, and a
//! closed pipe ends the process quietly (no panic, no exit 101).

use std::process::Stdio;

use crate::common::sync_bin::{self, json_lines, stderr};

const DIRECTO_TO_SMAILY: &str = env!("CARGO_BIN_EXE_directo-to-smaily");
const SPLIO: &str = env!("CARGO_BIN_EXE_segment-to-splio");
const MESSAGING: &str = env!("CARGO_BIN_EXE_messaging");

#[tokio::test]
async fn a_usage_error_under_json_prints_a_json_error_line() {
    let dir = tempfile::tempdir().unwrap();
    for (bin, args) in [
        (DIRECTO_TO_SMAILY, &["--json", "--sandbx"][..]),
        (SPLIO, &["--sandbox", "--json", "--batch", "x"][..]),
        (MESSAGING, &["directo-orders", "--json", "--sandbx"][..]),
    ] {
        let mut cmd = sync_bin::command(bin, dir.path());
        cmd.args(args);
        let (code, _, output) = sync_bin::run(cmd).await;
        assert_eq!(code, 2, "{bin} {args:?}: {}", stderr(&output));
        let lines = json_lines(&output);
        assert_eq!(lines.len(), 1, "{bin} {args:?}: {lines:?}");
        assert_eq!(lines[0]["kind"], "error");
        assert_eq!(lines[0]["exit_code"], 2);
        assert_eq!(lines[0]["outcome"], "usage");
        let error = lines[0]["error"].as_str().unwrap();
        assert!(error.contains("unexpected argument"), "{error}");
        assert!(!error.contains('\n'), "one line: {error:?}");
        // Clap's own message, with its usage and tip, still goes to stderr.
        assert!(stderr(&output).contains("Usage:"), "{}", stderr(&output));
    }
    // Without --json no JSON is printed, and --help is no error.
    let mut cmd = sync_bin::command(DIRECTO_TO_SMAILY, dir.path());
    cmd.arg("--sandbx");
    let (code, _, output) = sync_bin::run(cmd).await;
    assert_eq!(code, 2);
    assert!(output.stdout.is_empty());
    let mut cmd = sync_bin::command(DIRECTO_TO_SMAILY, dir.path());
    cmd.args(["--help", "--json"]);
    let (code, _, output) = sync_bin::run(cmd).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("Usage:"));
}

/// Runs `args` with stdout and stderr connected to pipes that are closed at once, as
/// `… 2>&1 | head -n 0` does: the process must not panic (exit 101).
async fn with_closed_pipes(dir: &std::path::Path, args: &[&str]) -> i32 {
    let mut cmd = sync_bin::command(DIRECTO_TO_SMAILY, dir);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    child.wait().await.unwrap().code().unwrap_or(-1)
}

#[tokio::test]
async fn a_closed_pipe_ends_the_process_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // The table, the sandbox's closing line and the logs (stderr); the summary (stdout); the
    // dry run's requests (stdout); the status view (stdout).
    for args in [
        &["--sandbox", "--state", "s.db"][..],
        &["--sandbox", "--state", "s.db", "--json"][..],
        &["--sandbox", "--dry-run", "--force"][..],
        &["--state", "s.db", "--status"][..],
    ] {
        let code = with_closed_pipes(dir.path(), args).await;
        assert_ne!(code, 101, "{args:?} panicked");
        assert_eq!(code, 0, "{args:?}");
    }
    // The runs ended as they would have with the pipes open.
    let mut cmd = sync_bin::command(DIRECTO_TO_SMAILY, dir.path());
    cmd.args(["--state", "s.db", "--status", "--json"]);
    let (code, status, output) = sync_bin::run(cmd).await;
    assert_eq!(code, 0, "{}", stderr(&output));
    let runs = status["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{status}");
    assert!(runs.iter().all(|r| r["status"] == "completed"), "{status}");
}

#[tokio::test]
async fn help_lists_the_environment_variables_and_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    for (bin, args, vars) in [
        (
            DIRECTO_TO_SMAILY,
            &["--help"][..],
            &[
                "DIRECTO_URL",
                "DIRECTO_TOKEN",
                "SMAILY_SUBDOMAIN",
                "SMAILY_PASSWORD",
            ][..],
        ),
        (
            SPLIO,
            &["--help"][..],
            &[
                "SPLIO_API_KEY",
                "SPLIO_SFTP_HOST",
                "SPLIO_SFTP_KEY",
                "SPLIO_UNIVERSE",
            ][..],
        ),
        (
            MESSAGING,
            &["directo-orders", "--help"][..],
            &["MESSAGING_API_KEY", "DIRECTO_URL"][..],
        ),
    ] {
        let mut cmd = sync_bin::command(bin, dir.path());
        cmd.args(args);
        let (code, _, output) = sync_bin::run(cmd).await;
        assert_eq!(code, 0);
        let help = String::from_utf8_lossy(&output.stdout).into_owned();
        for var in vars
            .iter()
            .chain(&["SYNC_STATE", "SYNC_METRICS_FILE", "RUST_LOG"])
        {
            assert!(
                help.contains(&format!("\n  {var} ")),
                "{bin}: {var} in\n{help}"
            );
        }
        assert!(help.contains("Exit codes:\n  0  "), "{help}");
        for code in ["\n  1  ", "\n  2  ", "\n  3  stopped by SIGINT or SIGTERM"] {
            assert!(help.contains(code), "{bin}: {code:?} in\n{help}");
        }
    }
}
