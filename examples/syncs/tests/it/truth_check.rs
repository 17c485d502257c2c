//! Issue 20, `--check`: a pre-flight that changes nothing, one line per check, exit 0 / 2
//! (config, credentials) / 1 (unreachable), with `--sandbox` too.

use crate::common;

use common::sync_bin::{self, stderr};

use std::process::Output;

use splio_client::FieldType;
use splio_client::fake::FakeService as _;
use splio_client::fake::FakeSplio;

const BIN: &str = env!("CARGO_BIN_EXE_segment-to-splio");

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn check(dir: &std::path::Path, env: &[(&str, String)], args: &[&str]) -> (i32, String) {
    let mut cmd = sync_bin::command(BIN, dir);
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .arg("--check")
        .args(args);
    let output = cmd.output().await.unwrap();
    let code = output.status.code().unwrap_or(-1);
    assert!(
        stderr(&output).is_empty() || code != 0,
        "{}",
        stderr(&output)
    );
    (code, stdout(&output))
}

#[tokio::test]
async fn check_passes_touches_nothing_and_names_each_problem() {
    let fake = FakeSplio::start().await;
    fake.seed_field("tier", FieldType::Text);
    let dir = tempfile::tempdir().unwrap();
    let file = sync_bin::write_file(
        dir.path(),
        "segment.csv",
        "email,firstname,tier\na@example.com,Ann,gold\n",
    );
    let good = [
        ("SPLIO_BASE_URL", fake.base_url()),
        ("SPLIO_API_KEY", fake.credentials().expose().to_owned()),
    ];
    let (code, out) = check(dir.path(), &good, &[&file]).await;
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ok           config: defaults")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ok           segment file: ")
                && l.ends_with("3 columns, the mapping matches the header")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ok           Splio API: credentials accepted, ")),
        "{out}"
    );
    assert!(
        lines.contains(
            &"ok           Splio fields: every custom field the mapping sends exists: tier"
        ),
        "{out}"
    );
    assert!(
        lines.contains(&"skipped      SFTP: not used (--delivery api)"),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ok           state store: sync-state.db will be created")),
        "{out}"
    );
    assert!(
        !dir.path().join("sync-state.db").exists(),
        "no state file created"
    );
    assert!(
        fake.requests()
            .iter()
            .all(|r| !r.path.starts_with("/data/contacts")),
        "no contact read or written"
    );

    // A column Splio has no field for: exit 2, named.
    let other = sync_bin::write_file(dir.path(), "other.csv", "email,city\na@example.com,Tartu\n");
    let (code, out) = check(dir.path(), &good, &[&other]).await;
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(
            "config       Splio fields: Splio has no contact field \"city\" (column \"city\")"
        ),
        "{out}"
    );

    // Refused credentials: exit 2.
    let bad_key = [
        ("SPLIO_BASE_URL", fake.base_url()),
        ("SPLIO_API_KEY", "wrong".to_owned()),
    ];
    let (code, out) = check(dir.path(), &bad_key, &[&file]).await;
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("config       Splio API: "), "{out}");

    // Splio unreachable: exit 1.
    let nowhere = [
        ("SPLIO_BASE_URL", "http://127.0.0.1:9".to_owned()),
        ("SPLIO_API_KEY", "key".to_owned()),
    ];
    let (code, out) = check(
        dir.path(),
        &nowhere,
        &[
            &file,
            "--config",
            &sync_bin::write_file(
                dir.path(),
                "c.toml",
                "[splio]\nretries = 0\nretry_delay = \"1ms\"\n",
            ),
        ],
    )
    .await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unreachable  Splio API: "), "{out}");
}

#[tokio::test]
async fn check_works_with_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = check(dir.path(), &[], &["--sandbox", "--json"]).await;
    assert_eq!(code, 0, "{out}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().all(|l| l["kind"] == "check"), "{out}");
    let api = lines.iter().find(|l| l["check"] == "Splio API").unwrap();
    assert_eq!(api["status"], "ok", "{out}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[tokio::test]
async fn every_sync_has_a_check() {
    let dir = tempfile::tempdir().unwrap();
    let run = |bin: &'static str, args: &'static [&'static str]| {
        let mut cmd = sync_bin::command(bin, dir.path());
        cmd.args(args);
        cmd
    };
    let directo_to_smaily = common::directo_to_smaily::BIN;
    let messaging = env!("CARGO_BIN_EXE_messaging");
    for (bin, args, expect) in [
        (
            directo_to_smaily,
            &["--check", "--sandbox"][..],
            &[
                "ok           Directo: reachable",
                "ok           Smaily: reachable, credentials accepted",
                "skipped      Smaily fields: ",
            ][..],
        ),
        (
            messaging,
            &["directo-orders", "--check", "--sandbox"][..],
            &[
                "ok           Directo: reachable",
                "ok           messaging API: reachable, credentials accepted",
            ][..],
        ),
        (
            messaging,
            &["contacts", "push", "--check", "--sandbox"][..],
            &[
                "ok           input file: the sandbox's demo data",
                "ok           messaging fields: ",
            ][..],
        ),
    ] {
        let output = run(bin, args).output().await.unwrap();
        let out = stdout(&output);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {out}{}",
            stderr(&output)
        );
        for line in expect {
            assert!(
                out.lines().any(|l| l.starts_with(line)),
                "{args:?}: {line:?} in {out}"
            );
        }
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );

    // Smaily refusing the credentials: exit 2, named.
    let directo = common::directo_to_smaily::directo_with_customers(1).await;
    let smaily = smaily_client::fake::FakeSmaily::start().await;
    let mut cmd =
        common::directo_to_smaily::command(&directo, Some(&smaily), dir.path(), &["--check"]);
    cmd.env("SMAILY_PASSWORD", "wrong");
    let output = cmd.output().await.unwrap();
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(
        out.contains("config       Smaily: Smaily refused the credentials"),
        "{out}"
    );
    assert!(out.contains("ok           Directo: reachable"), "{out}");
}
