//! Reading the input files of `orders push`, `contacts push` and `send`: CSV with a header row,
//! or JSON lines (one object per line). The format is chosen by the extension (`.csv`, `.jsonl`,
//! `.ndjson`, `.json`), else by the first non-blank character (`{` means JSON lines).

use std::path::Path;

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

/// Reads every row of `path`. An unreadable file is a configuration error; an unreadable row
/// is returned as such, so it is listed as filtered and the others still go.
pub fn read_rows(path: &Path) -> Result<Vec<Row>, Error> {
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
        Ok(parse_json_lines(&text))
    } else {
        parse_csv(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
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

/// Parses CSV with a header row (`,` or `;` separated, whichever the header uses more).
pub fn parse_csv(text: &str) -> Result<Vec<Row>, String> {
    let header = text.lines().next().unwrap_or_default();
    let delimiter = if header.matches(';').count() > header.matches(',').count() {
        b';'
    } else {
        b','
    };
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
                    Err(format!(
                        "{} columns where the header has {}",
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
    Ok(rows)
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
}
