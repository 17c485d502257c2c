//! Input files (a segment, orders, contacts, recipients): CSV with a header row, or JSON lines
//! (one object per line). The format is chosen by the extension (`.csv`; `.jsonl`, `.ndjson`,
//! `.json`), else by the first non-blank character (`{` means JSON lines).
//!
//! A mistake that concerns the whole file is a configuration error (exit 2) that names what the
//! file holds, found before anything is opened or sent: a missing key column, a header no row
//! can satisfy, an unknown column where the columns are a closed set, a quote never closed (which
//! would turn the rest of the file into one value). A bad row is returned as such, so it is
//! listed as filtered and the others still go.
//!
//! ```
//! use sync_kit::input::{Columns, parse_csv};
//! let columns = Columns::required(&["email"]);
//! let rows = parse_csv("email;name\na@example.com;Ann\n").unwrap();
//! assert_eq!(rows[0].fields.as_ref().unwrap()["name"], "Ann");
//! let err = columns.check(&["mail".to_owned()], true).unwrap_err();
//! assert_eq!(err, "no \"email\" column, which every row needs; the header has \"mail\"");
//! ```

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::Error;

/// One row of an input file: where it was (`line N`) and its fields, or why it could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `line N` (1-based, the header of a CSV file is line 1).
    pub position: String,
    /// The row as a JSON object (CSV values are strings; empty CSV cells are left out), or the
    /// reason the row is unreadable.
    pub fields: Result<Map<String, Value>, String>,
}

/// The columns a kind of file must (and may) have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    required: Vec<String>,
    one_of: Vec<Vec<String>>,
    only: Option<Vec<String>>,
}

impl Columns {
    /// Columns every row needs: a header without one of them is refused.
    pub fn required(names: &[&str]) -> Self {
        Columns {
            required: names.iter().map(|n| (*n).to_owned()).collect(),
            ..Columns::default()
        }
    }

    /// Also needs at least one of `names` (`externalCustomerId`, `email` or `phone`).
    pub fn one_of(mut self, names: &[&str]) -> Self {
        self.one_of
            .push(names.iter().map(|n| (*n).to_owned()).collect());
        self
    }

    /// The columns are a closed set: a CSV header with any other column is refused (a typo would
    /// otherwise reject every row). In JSON lines an unknown field only rejects its line.
    pub fn only(mut self, names: &[&str]) -> Self {
        self.only = Some(names.iter().map(|n| (*n).to_owned()).collect());
        self
    }

    /// Checks the columns `found` (a CSV header, or every field of a JSON-lines file's lines);
    /// the error says what is wrong and what the file has.
    pub fn check(&self, found: &[String], csv: bool) -> Result<(), String> {
        let has = |name: &String| found.contains(name);
        let listed = found
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let holds = if csv {
            format!("the header has {listed}")
        } else {
            format!("the lines' fields are {listed}")
        };
        if let Some(missing) = self.required.iter().find(|n| !has(n)) {
            let what = if csv { "column" } else { "field in any line" };
            return Err(format!(
                "no {missing:?} {what}, which every row needs; {holds}"
            ));
        }
        if let Some(set) = self.one_of.iter().find(|set| !set.iter().any(has)) {
            let names = set
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(format!(
                "none of {names}, one of which every row needs; {holds}"
            ));
        }
        if csv
            && let Some(only) = &self.only
            && let Some(unknown) = found.iter().find(|n| !n.is_empty() && !only.contains(n))
        {
            return Err(format!(
                "unknown column {unknown:?} (the columns allowed: {}); {holds}",
                only.join(", ")
            ));
        }
        Ok(())
    }
}

/// An input file, read and checked when it is opened (so a whole-file mistake stops the
/// process before a state file is created or a request is sent), and read again for each later
/// run of `--every` (an export rewritten between runs).
#[derive(Debug)]
pub struct InputFile {
    path: PathBuf,
    columns: Columns,
    first: Mutex<Option<Vec<Row>>>,
}

impl InputFile {
    /// Reads and checks `path`.
    pub fn open(path: &Path, columns: Columns) -> Result<Self, Error> {
        let rows = read_rows(path, &columns)?;
        Ok(InputFile {
            path: path.to_owned(),
            columns,
            first: Mutex::new(Some(rows)),
        })
    }

    /// The rows: those read by [`open`](Self::open) the first time, the file read and checked
    /// again after that.
    pub fn rows(&self) -> Result<Vec<Row>, Error> {
        let first = self
            .first
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        match first {
            Some(rows) => Ok(rows),
            None => read_rows(&self.path, &self.columns),
        }
    }
}

/// Reads every row of `path` and checks its columns. An unreadable file or a whole-file mistake
/// is a configuration error naming the file; an unreadable row is returned as such.
pub fn read_rows(path: &Path, columns: &Columns) -> Result<Vec<Row>, Error> {
    let in_file = |e: String| Error::Config(format!("{}: {e}", path.display()));
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let json_lines = match ext.as_str() {
        "csv" => false,
        "jsonl" | "ndjson" | "json" => true,
        _ => text.trim_start().starts_with('{'),
    };
    if json_lines {
        let rows = parse_json_lines(&text);
        let mut found: Vec<String> = Vec::new();
        for fields in rows.iter().filter_map(|r| r.fields.as_ref().ok()) {
            for name in fields.keys() {
                if !found.contains(name) {
                    found.push(name.clone());
                }
            }
        }
        if rows.iter().any(|r| r.fields.is_ok()) {
            columns.check(&found, false).map_err(in_file)?;
        }
        Ok(rows)
    } else {
        let (header, rows) = parse_csv_with_header(&text).map_err(in_file)?;
        columns.check(&header, true).map_err(in_file)?;
        Ok(rows)
    }
}

/// Parses JSON lines; blank lines are ignored.
pub fn parse_json_lines(text: &str) -> Vec<Row> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| Row {
            position: format!("line {}", n + 1),
            fields: match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Err("not a JSON object".into()),
                Err(e) => Err(format!("invalid JSON: {e}")),
            },
        })
        .collect()
}

/// Parses CSV with a header row (`,` or `;` separated, whichever the header uses more). A quote
/// that is never closed is an error naming the line it opened on.
pub fn parse_csv(text: &str) -> Result<Vec<Row>, String> {
    parse_csv_with_header(text).map(|(_, rows)| rows)
}

fn parse_csv_with_header(text: &str) -> Result<(Vec<String>, Vec<Row>), String> {
    let header = text.lines().next().unwrap_or_default();
    let delimiter = if header.matches(';').count() > header.matches(',').count() {
        b';'
    } else {
        b','
    };
    if let Some((opened, last)) = unclosed_quote(text, delimiter) {
        return Err(format!(
            "the quote opened on line {opened} is never closed, so lines {opened}–{last} would be \
             one value; close it, or write a quote inside a quoted value as \"\""
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| format!("header row: {e}"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    if names.iter().all(String::is_empty) {
        return Err("the header row is empty".into());
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let (position, fields) = match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                let fields = if record.len() != names.len() {
                    let breaks: usize = record.iter().map(|f| f.matches('\n').count()).sum();
                    let span = if breaks > 0 {
                        format!(
                            " (the row runs to line {}: a quoted value holds line breaks; is a quote unbalanced?)",
                            line + breaks as u64
                        )
                    } else {
                        String::new()
                    };
                    Err(format!(
                        "{} columns where the header has {}{span}",
                        record.len(),
                        names.len()
                    ))
                } else {
                    Ok(names
                        .iter()
                        .zip(record.iter())
                        .filter(|(name, value)| !name.is_empty() && !value.trim().is_empty())
                        .map(|(name, value)| (name.clone(), Value::String(value.trim().into())))
                        .collect())
                };
                (format!("line {line}"), fields)
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                (format!("line {line}"), Err(format!("unreadable CSV: {e}")))
            }
        };
        rows.push(Row { position, fields });
    }
    Ok((names, rows))
}

/// Where a quote that is never closed opened, and the file's last line, reading `text` the way
/// the CSV reader does: a quote opens a quoted value only at the start of a field, `""` inside
/// one is a literal quote, and a quote elsewhere is an ordinary character.
fn unclosed_quote(text: &str, delimiter: u8) -> Option<(u64, u64)> {
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let (mut line, mut opened) = (1u64, 0u64);
    let bytes = text.strip_prefix('\u{feff}').unwrap_or(text).as_bytes();
    for &b in bytes {
        state = match (state, b) {
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::FieldStart, b'"') => {
                opened = line;
                State::Quoted
            }
            (State::QuoteInQuoted, b'"') => State::Quoted,
            (_, b'\n' | b'\r') => State::FieldStart,
            (_, b) if b == delimiter => State::FieldStart,
            _ => State::Unquoted,
        };
        if b == b'\n' {
            line += 1;
        }
    }
    let last = if text.ends_with('\n') { line - 1 } else { line };
    matches!(state, State::Quoted).then_some((opened, last))
}

/// A field as text (strings as they are, numbers and booleans printed), if present and not blank.
pub fn text(fields: &Map<String, Value>, name: &str) -> Option<String> {
    match fields.get(name)? {
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_keep_their_line_and_skip_empty_cells() {
        let rows = parse_csv("email;name\na@example.com;Ann\nb@example.com;\nbroken\n").unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].position, "line 2");
        assert_eq!(rows[0].fields.as_ref().unwrap()["name"], "Ann");
        assert!(!rows[1].fields.as_ref().unwrap().contains_key("name"));
        assert!(rows[2].fields.as_ref().unwrap_err().contains("1 columns"));
    }

    #[test]
    fn json_lines_report_bad_lines() {
        let rows = parse_json_lines("{\"a\":1}\n\nnot json\n[1]\n");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].fields.as_ref().unwrap()["a"], 1);
        assert_eq!(rows[1].position, "line 3");
        assert!(rows[1].fields.is_err());
        assert_eq!(rows[2].fields, Err("not a JSON object".into()));
    }

    #[test]
    fn a_quote_never_closed_names_the_line_it_opened_on() {
        let err = parse_csv("email,name\na@x.ee,Ann\nb@x.ee,\"Bob\nc@x.ee,Cy\n").unwrap_err();
        assert!(
            err.starts_with("the quote opened on line 3 is never closed"),
            "{err}"
        );
        assert!(err.contains("lines 3–4"), "{err}");
        // Closed quotes, escaped quotes, quotes inside unquoted values and line breaks inside
        // quoted values are all fine.
        let rows = parse_csv(
            "email,name\na@x.ee,\"Ann \"\"A\"\" Smith\"\nb@x.ee,Bob \"B\"\nc@x.ee,\"two\nlines\"\n",
        )
        .unwrap();
        assert_eq!(rows[0].fields.as_ref().unwrap()["name"], "Ann \"A\" Smith");
        assert_eq!(rows[1].fields.as_ref().unwrap()["name"], "Bob \"B\"");
        assert_eq!(rows[2].fields.as_ref().unwrap()["name"], "two\nlines");
        assert_eq!(unclosed_quote("a;\"b\r\nc", b';'), Some((1, 2)));
    }

    #[test]
    fn a_row_that_swallowed_lines_says_so() {
        let rows = parse_csv("email,name\n\"a@x.ee,Ann\nb@x.ee\",Bob,extra\n").unwrap();
        let err = rows[0].fields.as_ref().unwrap_err();
        assert!(err.contains("runs to line 3"), "{err}");
    }

    #[test]
    fn columns_name_what_is_missing_or_unknown_and_what_the_file_has() {
        let orders = Columns::required(&["id", "status"])
            .one_of(&["email", "phone"])
            .only(&["id", "status", "email", "phone"]);
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(
            orders
                .check(&names(&["id", "status", "email"]), true)
                .is_ok()
        );
        assert_eq!(
            orders.check(&names(&["id", "email"]), true).unwrap_err(),
            "no \"status\" column, which every row needs; the header has \"id\", \"email\""
        );
        assert!(
            orders
                .check(&names(&["id", "status"]), false)
                .unwrap_err()
                .starts_with("none of \"email\", \"phone\"")
        );
        let err = orders
            .check(&names(&["id", "status", "email", "colour"]), true)
            .unwrap_err();
        assert!(err.starts_with("unknown column \"colour\""), "{err}");
        // In JSON lines an unknown field is the line's problem, not the file's.
        assert!(
            orders
                .check(&names(&["id", "status", "email", "colour"]), false)
                .is_ok()
        );
    }

    #[test]
    fn a_file_is_read_once_when_opened_and_again_for_later_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.csv");
        std::fs::write(&path, "email\na@x.ee\n").unwrap();
        let file = InputFile::open(&path, Columns::required(&["email"])).unwrap();
        std::fs::write(&path, "email\na@x.ee\nb@x.ee\n").unwrap();
        assert_eq!(file.rows().unwrap().len(), 1, "the rows checked at opening");
        assert_eq!(file.rows().unwrap().len(), 2, "read again");
        std::fs::write(&path, "mail\na@x.ee\n").unwrap();
        assert!(matches!(file.rows(), Err(Error::Config(_))));
        assert!(InputFile::open(&dir.path().join("none.csv"), Columns::default()).is_err());
    }
}
