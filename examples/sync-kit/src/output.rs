//! Writing to stdout and stderr without ever panicking: a closed pipe (`sync … | head -n 2`)
//! makes `println!` panic (exit 101, `failed printing to stdout: Broken pipe`). Here a write
//! that fails is dropped instead; the run goes on to its end, is logged in the state file, and
//! the process exits with the run's code. Every line a sync prints goes through these.
//!
//! ```
//! sync_kit::output::out("{\"kind\": \"summary\"}");
//! sync_kit::output::err("error: something went wrong");
//! ```

use std::fmt::Display;
use std::io::Write;

/// Writes `text` and a line break to stdout (dropped if stdout is closed).
pub fn out(text: impl Display) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Writes `text` as it is to stdout (dropped if stdout is closed).
pub fn out_raw(text: impl Display) {
    let _ = write!(std::io::stdout().lock(), "{text}");
}

/// Writes `text` and a line break to stderr (dropped if stderr is closed).
pub fn err(text: impl Display) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Writes `text` as it is to stderr (dropped if stderr is closed).
pub fn err_raw(text: impl Display) {
    let _ = write!(std::io::stderr().lock(), "{text}");
}
