//! The sandboxes' memory. With `--sandbox --state FILE` the in-process fakes keep their state
//! beside the state file, in `FILE.sandbox.json`: what each fake holds (subscribers, contacts,
//! orders, sent messages) and when the demo data was made. Each start restores it into fresh
//! fakes, and each run saves it, so a second run, or `send` then `status`, behaves as it would
//! against the real services. Without `--state` the sandbox lives in memory and every run starts
//! from the demo data. A dry run saves nothing.
//!
//! ```
//! use sync_kit::sandbox::SandboxFile;
//! let dir = tempfile::tempdir().unwrap();
//! let state = dir.path().join("demo.db");
//! let file = SandboxFile::beside(Some(&state), false).unwrap();
//! assert!(file.section("smaily").is_none(), "a first run starts from the demo data");
//! let demo_time = file.demo_time();
//! file.save([("smaily", serde_json::json!({"subscribers": []}))]).unwrap();
//!
//! let again = SandboxFile::beside(Some(&state), false).unwrap();
//! assert_eq!(again.section("smaily").unwrap()["subscribers"], serde_json::json!([]));
//! assert_eq!(again.demo_time(), demo_time, "the same demo data");
//! ```

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

#[cfg(feature = "cli")]
use crate::CommonArgs;
use crate::Error;

/// Where a sandbox keeps its fakes' state, and what it held at start.
#[derive(Debug)]
pub struct SandboxFile {
    path: Option<PathBuf>,
    read_only: bool,
    saved: Map<String, Value>,
    demo_time: jiff::Timestamp,
}

impl SandboxFile {
    /// The sandbox file for these flags: beside `--state`, read-only for `--dry-run`.
    #[cfg(feature = "cli")]
    pub fn open(args: &CommonArgs) -> Result<Self, Error> {
        Self::beside(args.state.as_deref(), args.dry_run)
    }

    /// The sandbox file beside `state` (`demo.db` → `demo.db.sandbox.json`), loaded if it
    /// exists; without a state file, nothing is kept.
    pub fn beside(state: Option<&Path>, read_only: bool) -> Result<Self, Error> {
        let path = state.map(|s| {
            let mut name = s.as_os_str().to_owned();
            name.push(".sandbox.json");
            PathBuf::from(name)
        });
        let saved = match &path {
            Some(p) if p.exists() => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| Error::Config(format!("cannot read {}: {e}", p.display())))?;
                match serde_json::from_str(&text) {
                    Ok(Value::Object(map)) => map,
                    _ => {
                        return Err(Error::Config(format!(
                            "{} is not a sandbox file; delete it to start the sandbox afresh",
                            p.display()
                        )));
                    }
                }
            }
            _ => Map::new(),
        };
        let demo_time = saved
            .get("demo_time")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(jiff::Timestamp::now);
        Ok(SandboxFile {
            path,
            read_only,
            saved,
            demo_time,
        })
    }

    /// What a fake held when the sandbox was last saved (`None`: start from the demo data).
    pub fn section(&self, name: &str) -> Option<&Value> {
        self.saved.get(name)
    }

    /// When the demo data was made: now on a first run, the first run's time after that, so
    /// the demo records (and their change times) stay the same from run to run.
    pub fn demo_time(&self) -> jiff::Timestamp {
        self.demo_time
    }

    /// Saves the fakes' state (`name` → what the fake holds), written whole to a temporary file
    /// and renamed. Does nothing without a state file or in a dry run.
    pub fn save(
        &self,
        sections: impl IntoIterator<Item = (&'static str, Value)>,
    ) -> Result<(), Error> {
        let Some(path) = self.path.as_ref().filter(|_| !self.read_only) else {
            return Ok(());
        };
        let mut doc = self.saved.clone();
        doc.insert(
            "demo_time".into(),
            Value::String(self.demo_time.to_string()),
        );
        for (name, value) in sections {
            doc.insert(name.to_owned(), value);
        }
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let write = std::fs::write(&tmp, Value::Object(doc).to_string())
            .and_then(|()| std::fs::rename(&tmp, path));
        write.map_err(|e| Error::Config(format!("cannot write {}: {e}", path.display())))
    }
}
