//! `--check`: a pre-flight that changes nothing. Each sync runs its checks (the config, the
//! credentials and reachability of every service the job uses, the mapping against the
//! destination's fields, the SFTP host key, the state store) and reports them here: one line
//! per check, and an exit code: 0 when every check passed, 2 when one found a configuration or
//! credentials problem, else 1 when a service could not be reached.
//!
//! ```
//! use sync_kit::check::{Checks, Status};
//! use sync_kit::{Error, ExitCode};
//! let mut checks = Checks::default();
//! checks.pass("config", "config.toml read");
//! checks.record("Splio API", Err::<String, _>(Error::Config("SPLIO_API_KEY is not set".into())));
//! assert_eq!(checks.lines()[1].status, Status::Config);
//! assert_eq!(checks.exit_code(), ExitCode::Usage);
//! assert_eq!(checks.lines()[1].to_string(), "config       Splio API: SPLIO_API_KEY is not set");
//! ```

use std::path::Path;

use crate::{CommonArgs, Error, ExitCode};

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Passed.
    Ok,
    /// A configuration or credentials problem (exit 2).
    Config,
    /// A service or the state store could not be reached (exit 1).
    Unreachable,
    /// Not run (the reason says why); does not change the exit code.
    Skipped,
}

impl Status {
    /// `ok`, `config`, `unreachable` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Config => "config",
            Status::Unreachable => "unreachable",
            Status::Skipped => "skipped",
        }
    }
}

/// One check's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What was checked (`Splio API`, `state store`).
    pub name: String,
    /// How it ended.
    pub status: Status,
    /// What was found.
    pub detail: String,
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<12} {}: {}",
            self.status.as_str(),
            self.name,
            self.detail
        )
    }
}

/// The checks of one `--check`, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checks {
    lines: Vec<Line>,
}

impl Checks {
    /// A passed check.
    pub fn pass(&mut self, name: &str, detail: impl Into<String>) {
        self.push(name, Status::Ok, detail.into());
    }

    /// A check not run, and why.
    pub fn skip(&mut self, name: &str, why: impl Into<String>) {
        self.push(name, Status::Skipped, why.into());
    }

    /// A check's result: `Ok(detail)` passed; an [`Error::Config`] is a configuration or
    /// credentials problem, any other error an unreachable service or store. Returns whether
    /// it passed.
    pub fn record(&mut self, name: &str, result: Result<String, Error>) -> bool {
        match result {
            Ok(detail) => {
                self.push(name, Status::Ok, detail);
                true
            }
            Err(e @ Error::Config(_)) => {
                self.push(name, Status::Config, e.to_string());
                false
            }
            Err(e) => {
                self.push(name, Status::Unreachable, crate::error_chain(&e));
                false
            }
        }
    }

    fn push(&mut self, name: &str, status: Status, detail: String) {
        self.lines.push(Line {
            name: name.to_owned(),
            status,
            detail,
        });
    }

    /// The lines so far.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// 2 when a check found a configuration or credentials problem, else 1 when one could not
    /// reach its service or store, else 0.
    pub fn exit_code(&self) -> ExitCode {
        let has = |s: Status| self.lines.iter().any(|l| l.status == s);
        if has(Status::Config) {
            ExitCode::Usage
        } else if has(Status::Unreachable) {
            ExitCode::Failed
        } else {
            ExitCode::Success
        }
    }

    /// Prints one line per check on stdout (with `json`, one JSON object per line:
    /// `{"kind":"check","check":…,"status":…,"detail":…}`), and returns the exit code.
    pub fn finish(&self, json: bool) -> ExitCode {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for line in &self.lines {
            let text = if json {
                serde_json::json!({
                    "kind": "check",
                    "check": line.name,
                    "status": line.status.as_str(),
                    "detail": line.detail,
                })
                .to_string()
            } else {
                line.to_string()
            };
            // A closed pipe ends the output quietly.
            if writeln!(out, "{text}").is_err() {
                break;
            }
        }
        self.exit_code()
    }

    /// Checks that the state store these flags name can be written, changing nothing in it:
    /// an existing file is opened for writing (not truncated, nothing written); for a file not
    /// there yet, its folder must exist and accept a new file (a probe file is created and
    /// removed at once). The sandbox's in-memory store always passes.
    pub fn state_store(&mut self, args: &CommonArgs) {
        let result = match args.state_path() {
            None => Ok("in memory (--sandbox without --state)".to_owned()),
            Some(path) => state_writable(&path),
        };
        self.record("state store", result);
    }
}

fn state_writable(path: &Path) -> Result<String, Error> {
    let unwritable = |e: std::io::Error| {
        Error::Config(format!("state file {}: not writable: {e}", path.display()))
    };
    if path.exists() {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(unwritable)?;
        return Ok(format!("{} exists and is writable", path.display()));
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    if !folder.is_dir() {
        return Err(Error::Config(format!(
            "state file {}: the folder {} does not exist",
            path.display(),
            folder.display()
        )));
    }
    let probe = folder.join(format!(".sync-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(unwritable)?;
    let _ = std::fs::remove_file(&probe);
    Ok(format!(
        "{} will be created on the first run ({} is writable)",
        path.display(),
        folder.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        common: CommonArgs,
    }

    #[test]
    fn exit_codes_follow_the_worst_check() {
        let mut checks = Checks::default();
        checks.pass("config", "read");
        checks.skip("SFTP", "--delivery api");
        assert_eq!(checks.exit_code(), ExitCode::Success);
        checks.record(
            "Directo",
            Err::<String, _>(Error::reading("Directo", "connection refused")),
        );
        assert_eq!(checks.exit_code(), ExitCode::Failed);
        assert_eq!(checks.lines()[2].status, Status::Unreachable);
        checks.record("Splio", Err::<String, _>(Error::Config("bad key".into())));
        assert_eq!(checks.exit_code(), ExitCode::Usage);
    }

    #[test]
    fn the_state_store_check_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let cli = Cli::parse_from(["x", "--state", path.to_str().unwrap()]);
        let mut checks = Checks::default();
        checks.state_store(&cli.common);
        assert_eq!(checks.lines()[0].status, Status::Ok, "{:?}", checks.lines());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing left"
        );
        let missing = dir.path().join("no/such/folder/state.db");
        let cli = Cli::parse_from(["x", "--state", missing.to_str().unwrap()]);
        let mut checks = Checks::default();
        checks.state_store(&cli.common);
        assert_eq!(checks.lines()[0].status, Status::Config);
        assert!(checks.lines()[0].detail.contains("does not exist"));
    }
}
