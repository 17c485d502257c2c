//! End to end, issue 20 "What to add": Prometheus metrics. `--metrics-file` writes the text
//! exposition format for node_exporter's textfile collector (checked with `promtool check
//! metrics`), `--metrics-push` pushes the same to a real Pushgateway grouped by job; and the
//! alert rules of examples/syncs/deploy/ pass `promtool check rules`. The tools come from the
//! Debian packages `prometheus` and `prometheus-pushgateway` (`.ci/metrics-services.sh`).

use std::path::Path;
use std::process::Stdio;

use crate::common::sync_bin::{self, stderr};

const BIN: &str = env!("CARGO_BIN_EXE_directo-to-smaily");

/// `tool`, or a panic saying how to install it (like the xmllint tests).
fn require(tool: &str) -> String {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "{tool} is missing: run `bash .ci/metrics-services.sh` (Debian packages prometheus and \
         prometheus-pushgateway)"
    );
    String::from_utf8_lossy(&found.stdout).trim().to_owned()
}

/// `promtool check metrics` over `text`: its exit status and output.
fn promtool_check_metrics(text: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(require("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), said)
}

/// The value of the sample `name{labels}` in an exposition `text`.
fn sample(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name_and_labels} in:\n{text}"))
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn run(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut cmd = sync_bin::command(BIN, dir);
    cmd.args(args);
    let (code, json, output) = sync_bin::run(cmd).await;
    assert!(code != 101, "{}", stderr(&output));
    (code, json)
}

#[tokio::test]
async fn a_metrics_file_passes_promtool_and_keeps_the_last_success_after_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("textfile").join("sync.prom");
    std::fs::create_dir(metrics.parent().unwrap()).unwrap();
    let file = metrics.to_str().unwrap();
    let args = [
        "--sandbox",
        "--state",
        "s.db",
        "--json",
        "--metrics-file",
        file,
    ];
    let (code, summary) = run(dir.path(), &args).await;
    assert_eq!(code, 0, "{summary}");
    let text = std::fs::read_to_string(&metrics).unwrap();
    let (ok, said) = promtool_check_metrics(&text);
    assert!(ok, "promtool check metrics: {said}\n{text}");
    let job = r#"{job="directo-to-smaily"}"#;
    let outcome = |o: &str| {
        format!(r#"marketing_sync_last_run_records{{job="directo-to-smaily",outcome="{o}"}}"#)
    };
    assert_eq!(
        sample(&text, &outcome("delivered")),
        summary["delivered"].as_f64().unwrap()
    );
    assert_eq!(
        sample(&text, &outcome("read")),
        summary["read"].as_f64().unwrap()
    );
    assert_eq!(
        sample(&text, &outcome("filtered")),
        summary["filtered"].as_f64().unwrap()
    );
    assert_eq!(
        sample(&text, &format!("marketing_sync_parked_records{job}")),
        0.0
    );
    assert_eq!(
        sample(&text, &format!("marketing_sync_last_run_exit_code{job}")),
        0.0
    );
    let start = sample(
        &text,
        &format!("marketing_sync_last_run_start_timestamp_seconds{job}"),
    );
    let end = sample(
        &text,
        &format!("marketing_sync_last_run_end_timestamp_seconds{job}"),
    );
    let success = sample(
        &text,
        &format!("marketing_sync_last_success_timestamp_seconds{job}"),
    );
    let now = jiff::Timestamp::now().as_second() as f64;
    assert!(
        start <= end && end <= now + 1.0 && now - start < 600.0,
        "{text}"
    );
    assert_eq!(success, end);
    assert!(
        sample(
            &text,
            &format!("marketing_sync_last_run_duration_seconds{job}")
        ) >= 0.0
    );
    // Written whole, then renamed: nothing else is left in the collector's folder.
    let files: Vec<_> = std::fs::read_dir(metrics.parent().unwrap())
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");

    // A failed run: its own start, end and exit code; the last success stays the earlier one.
    // (A `--since` three hours ahead in Directo's time zone: in the future there, so the run
    // fails, but not in every time zone, so it gets past the argument check.)
    let ahead = jiff::Timestamp::now()
        .in_tz("Europe/Tallinn")
        .unwrap()
        .datetime()
        .checked_add(jiff::SignedDuration::from_hours(3))
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let failing = [&args[..], &["--since", ahead.as_str()]].concat();
    let (code, _) = run(dir.path(), &failing).await;
    assert_eq!(code, 2);
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(promtool_check_metrics(&text).0, "{text}");
    assert_eq!(
        sample(&text, &format!("marketing_sync_last_run_exit_code{job}")),
        2.0
    );
    assert_eq!(
        sample(&text, &format!("marketing_sync_last_run_success{job}")),
        0.0
    );
    assert_eq!(
        sample(
            &text,
            &format!("marketing_sync_last_success_timestamp_seconds{job}")
        ),
        success
    );
    assert!(
        sample(
            &text,
            &format!("marketing_sync_last_run_start_timestamp_seconds{job}")
        ) >= end
    );
}

/// A Pushgateway on a free loopback port, stopped when dropped.
struct Pushgateway {
    child: std::process::Child,
    url: String,
    _data: tempfile::TempDir,
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn pushgateway() -> Pushgateway {
    let binary = require("prometheus-pushgateway");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(binary)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!(
            "--persistence.file={}",
            data.path().join("pg.data").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let gateway = Pushgateway {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _data: data,
    };
    let ready = format!("{}/-/ready", gateway.url);
    for _ in 0..200 {
        if reqwest::get(&ready)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return gateway;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the Pushgateway did not get ready at {ready}");
}

#[tokio::test]
async fn metrics_are_pushed_to_a_real_pushgateway_grouped_by_job() {
    let gateway = pushgateway().await;
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--sandbox",
        "--state",
        "s.db",
        "--json",
        "--metrics-push",
        &gateway.url,
    ];
    let (code, summary) = run(dir.path(), &args).await;
    assert_eq!(code, 0, "{summary}");
    let text = reqwest::get(format!("{}/metrics", gateway.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The Pushgateway adds the grouping key's labels (job) and an empty instance.
    let delivered = text
        .lines()
        .find(|l| {
            l.starts_with("marketing_sync_last_run_records{")
                && l.contains(r#"job="directo-to-smaily""#)
                && l.contains(r#"outcome="delivered""#)
        })
        .unwrap_or_else(|| panic!("nothing pushed:\n{text}"));
    let value: f64 = delivered.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(value, summary["delivered"].as_f64().unwrap());
    assert!(
        text.lines().any(
            |l| l.starts_with("push_time_seconds{") && l.contains(r#"job="directo-to-smaily""#)
        ),
        "{text}"
    );
}

#[test]
fn the_deploy_alert_rules_pass_promtool() {
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/alerts.rules.yml");
    let output = std::process::Command::new(require("promtool"))
        .args(["check", "rules", rules])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(rules).unwrap();
    for metric in [
        "marketing_sync_last_success_timestamp_seconds",
        "marketing_sync_parked_records",
    ] {
        assert!(text.contains(metric), "the rules watch {metric}");
    }
}
