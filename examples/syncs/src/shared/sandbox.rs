//! What every sync's `--sandbox` shares: the line a sandbox run closes with, and, in a build
//! without the `sandbox` feature (`--no-default-features`), a clear refusal of `--sandbox`.

use sync_kit::Error;

/// The line a sandbox run closes with on stderr: what the destination's fake now holds and the
/// requests the fakes saw.
///
/// ```
/// use sync_examples::shared::sandbox::closing_line;
/// let line = closing_line("Splio", &["3 contacts".into()], &["4 requests".into()]);
/// assert_eq!(line, "sandbox: the Splio fake now holds 3 contacts (4 requests).");
/// ```
pub fn closing_line(fake: &str, holds: &[String], requests: &[String]) -> String {
    format!(
        "sandbox: the {fake} fake now holds {} ({}).",
        holds.join(", "),
        requests.join(", ")
    )
}

/// What a sync's sandbox does around its runs: keep what its fakes hold beside the state
/// file, and name it in the closing line.
pub trait Fakes {
    /// Saves what the fakes hold beside the state file (a warning if that fails).
    fn save(&self);

    /// The line the run closes with ([`closing_line`]).
    fn closing_line(&self) -> String;
}

/// Prints a sandbox's [`closing_line`] after a blank line, unless the run prints JSON.
pub fn print_closing_line(line: Option<String>, json: bool) {
    if let Some(line) = line.filter(|_| !json) {
        sync_kit::output::err(format_args!("\n{line}"));
    }
}

/// `--sandbox` in a binary built without the `sandbox` feature: a usage error (exit 2) that
/// says how to get one.
///
/// ```
/// let e = sync_examples::shared::sandbox::not_built();
/// assert_eq!(e.exit_code(), sync_kit::ExitCode::Usage);
/// assert!(e.to_string().contains("--features sandbox"));
/// ```
pub fn not_built() -> Error {
    Error::Config(
        "--sandbox needs the in-process fakes, which this binary was built without (the \
         `sandbox` feature of sync-examples, on by default): rebuild with `cargo build --release \
         -p sync-examples --features sandbox`"
            .into(),
    )
}

/// A sandbox in a build without the `sandbox` feature: it cannot exist, so the code that
/// saves or reports a sandbox compiles unchanged and never runs.
#[cfg(not(feature = "sandbox"))]
#[derive(Debug)]
pub enum Unavailable {}

#[cfg(not(feature = "sandbox"))]
impl Unavailable {
    /// Without the feature: no sandbox (and no `T`, what it would have started) when
    /// `--sandbox` was not given, [`not_built`] when it was.
    pub fn start<T>(requested: bool) -> Result<Option<(Unavailable, T)>, Error> {
        if requested {
            Err(not_built())
        } else {
            Ok(None)
        }
    }
}

#[cfg(not(feature = "sandbox"))]
impl Fakes for Unavailable {
    /// Never runs (there is no sandbox to save).
    fn save(&self) {
        match *self {}
    }

    /// Never runs (there is no sandbox to report).
    fn closing_line(&self) -> String {
        match *self {}
    }
}
