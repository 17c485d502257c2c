//! Issue 20, "docs a person can act on": docs/configuration.md is tested against the real config
//! types, so it cannot drift: every TOML example in it parses into its sync's config (unknown keys
//! are refused), and every key of every config type is documented in it (the keys are learned
//! from serde itself: an unknown key's error lists the fields a table expects). The sample
//! configs under examples/syncs/config/ parse too.

use serde::de::DeserializeOwned;
use toml::{Table, Value};

const DOC: &str = include_str!("../../../../docs/configuration.md");

/// The section of the doc headed `## {title}` (to the next `## `).
fn section(title: &str) -> &'static str {
    let start = DOC
        .find(&format!("\n## {title}\n"))
        .unwrap_or_else(|| panic!("docs/configuration.md has no section \"## {title}\""));
    let rest = &DOC[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    &rest[..end]
}

/// The ```toml blocks of `text`.
fn toml_blocks(text: &str) -> Vec<&str> {
    text.split("```toml\n")
        .skip(1)
        .map(|b| &b[..b.find("```").expect("an unclosed ```toml block")])
        .collect()
}

/// The fields serde expects in the table at `path` of `T`, from the error an unknown key gives.
fn fields_of<T: DeserializeOwned>(path: &[String]) -> Vec<String> {
    let mut root = Table::new();
    let mut table = &mut root;
    for part in path {
        table = table
            .entry(part.clone())
            .or_insert_with(|| Value::Table(Table::new()))
            .as_table_mut()
            .unwrap();
    }
    table.insert("zz_not_a_key".into(), Value::Boolean(true));
    let text = toml::to_string(&root).unwrap();
    let err = match toml::from_str::<T>(&text) {
        Ok(_) => panic!("{path:?} accepted an unknown key"),
        Err(e) => e.to_string(),
    };
    let expected = err
        .split("expected ")
        .nth(1)
        .unwrap_or_else(|| panic!("no field list in {err}"));
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Every key of `T` as a dotted path; the tables in `maps` (user-named keys) are keys themselves.
fn keys_of<T: DeserializeOwned + serde::Serialize + Default>(maps: &[&str]) -> Vec<String> {
    let default = Value::try_from(T::default()).unwrap();
    let mut keys = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        for field in fields_of::<T>(&path) {
            let mut child = path.clone();
            child.push(field);
            let dotted = child.join(".");
            let value = child.iter().try_fold(&default, |v, k| v.get(k));
            let is_struct =
                matches!(value, Some(Value::Table(_))) && !maps.contains(&dotted.as_str());
            if is_struct {
                todo.push(child);
            } else {
                keys.push(dotted);
            }
        }
    }
    keys.sort();
    keys
}

fn check_doc<T: DeserializeOwned + serde::Serialize + Default>(title: &str, maps: &[&str]) {
    let text = section(title);
    let blocks = toml_blocks(text);
    assert!(!blocks.is_empty(), "## {title} has no ```toml example");
    for block in blocks {
        if let Err(e) = toml::from_str::<T>(block) {
            panic!("a TOML example of ## {title} does not parse: {e}\n{block}");
        }
    }
    let undocumented: Vec<String> = keys_of::<T>(maps)
        .into_iter()
        .filter(|k| !text.contains(&format!("`{k}`")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "## {title} does not document {undocumented:?}"
    );
}

#[test]
fn the_directo_to_smaily_reference_matches_its_config() {
    check_doc::<sync_examples::directo_to_smaily::Config>(
        "directo-to-smaily",
        &["mapping.fields", "mapping.datafields"],
    );
}

#[test]
fn the_segment_to_splio_reference_matches_its_config() {
    check_doc::<sync_examples::segment_to_splio::Config>("segment-to-splio", &["mapping"]);
}

#[test]
fn the_messaging_reference_matches_its_config() {
    check_doc::<sync_examples::messaging::Config>(
        "messaging: orders push, contacts push, send",
        &[],
    );
}

#[test]
fn the_directo_orders_reference_matches_its_config() {
    check_doc::<sync_examples::messaging::directo_orders::Config>("messaging directo-orders", &[]);
}

#[test]
fn the_sample_configs_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config");
    let path = |name: &str| std::path::PathBuf::from(dir).join(name);
    sync_examples::directo_to_smaily::Config::load(&path("directo-to-smaily.toml")).unwrap();
    sync_examples::segment_to_splio::Config::load(Some(&path("segment-to-splio.toml")), "x")
        .unwrap();
    sync_examples::messaging::Config::load(Some(&path("messaging.toml")), "x").unwrap();
    sync_examples::messaging::directo_orders::Config::load(Some(&path("directo-orders.toml")))
        .unwrap();
    let listed: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        listed.len(),
        4,
        "a sample per sync, each parsed above: {listed:?}"
    );
    for name in &listed {
        assert!(
            DOC.contains(&format!("examples/syncs/config/{name}")),
            "the doc points to {name}"
        );
    }
}

/// docs/getting-started.md's sandbox summary is what `directo-to-smaily --sandbox` prints: its
/// line kinds (not its times and counts of requests) are found in the real output, and its
/// heading of the listed records is the binary's own (issue 20 point 6's "first N of M").
#[test]
fn the_getting_started_summary_is_what_the_sandbox_prints() {
    let doc = include_str!("../../../../docs/getting-started.md");
    let block = doc
        .split("```\n")
        .find(|b| b.contains("directo-to-smaily — run"))
        .expect("the sandbox summary block");
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_directo-to-smaily"))
        .current_dir(dir.path())
        .env_remove("SYNC_CONFIG")
        .env_remove("SYNC_STATE")
        .env("RUST_LOG", "warn")
        .arg("--sandbox")
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    for line in block.lines() {
        // Values that change from run to run: times, dates and the request counts.
        let label = line
            .split(|c: char| c.is_ascii_digit())
            .next()
            .unwrap_or_default()
            .trim_end();
        if label.is_empty() || label.trim() == "…" || line.trim_start().starts_with('C') {
            continue;
        }
        assert!(
            printed.contains(label),
            "getting-started.md shows {line:?}, the sandbox prints:\n{printed}"
        );
    }
}
