//! The mapping checked before any request: against the segment file's header (issue 20 point
//! 2: a typo, a duplicate or empty column name) and against the contact fields Splio has
//! (point 3: a custom field Splio does not have would park every record one at a time).

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::Path;

use futures::TryStreamExt;

use super::{Config, STANDARD};
use sync_kit::Error;

/// The header of the segment file at `path`: its column names (trimmed, a byte-order mark
/// removed, as the toolkit reads them), or `None` for JSON lines, which have no header. A
/// JSON-lines file is told apart as the toolkit does (`.jsonl`, `.ndjson`, `.json`, or a first
/// character `{`).
pub fn read_header(path: &Path) -> Result<Option<Vec<String>>, Error> {
    let cannot = |e: std::io::Error| Error::Config(format!("cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut line = String::new();
    std::io::BufReader::new(file)
        .read_line(&mut line)
        .map_err(cannot)?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let json_lines = match ext.as_str() {
        "csv" => false,
        "jsonl" | "ndjson" | "json" => true,
        _ => line.trim_start().starts_with('{'),
    };
    if json_lines {
        return Ok(None);
    }
    let delimiter = if line.matches(';').count() > line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .from_reader(line.as_bytes());
    let names = match reader.records().next() {
        Some(Ok(record)) => record
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
            .collect(),
        _ => Vec::new(),
    };
    Ok(Some(names))
}

/// The nearest of `candidates` to `name` (Jaro-Winkler similarity, at least 0.7), as
/// `; did you mean "x"?`, else nothing.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&name.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("; did you mean {c:?}?"))
        .unwrap_or_default()
}

/// Checks the segment's `header` and the mapping against it: no column without a name, no
/// name twice, and every `[mapping]` and `ignore` column in the header (else the nearest
/// column is named). A configuration error names the first mistake.
pub fn check_header(config: &Config, file: &Path, header: &[String]) -> Result<(), Error> {
    let bad = |what: String| Error::Config(format!("{}: {what}", file.display()));
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            return Err(bad(format!(
                "column {} of the header has no name; name it, or remove the column",
                i + 1
            )));
        }
        if let Some(j) = header[..i].iter().position(|n| n == name) {
            return Err(bad(format!(
                "column {name:?} appears twice in the header (columns {} and {}); one value \
                 would silently win",
                j + 1,
                i + 1
            )));
        }
    }
    let columns = || header.iter().map(String::as_str);
    let keys = config
        .mapping
        .keys()
        .map(|c| (format!("mapping.{c}"), c))
        .chain(config.ignore.iter().map(|c| (format!("ignore {c:?}"), c)));
    for (key, column) in keys {
        if !header.contains(column) {
            return Err(Error::Config(format!(
                "{key}: the segment has no column {column:?}{}; the header of {} has {}",
                nearest(column, columns()),
                file.display(),
                columns()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(())
}

/// For a JSON-lines segment (no header): every `[mapping]` and `ignore` key is a key of at least
/// one line, else the nearest key is named (a configuration error).
pub fn check_json_keys(config: &Config, rows: &[sync_kit::input::Row]) -> Result<(), Error> {
    let mut keys: Vec<&str> = Vec::new();
    for fields in rows.iter().filter_map(|r| r.fields.as_ref().ok()) {
        for key in fields.keys() {
            if !keys.contains(&key.as_str()) {
                keys.push(key);
            }
        }
    }
    if keys.is_empty() {
        return Ok(());
    }
    let named = config
        .mapping
        .keys()
        .map(|c| (format!("mapping.{c}"), c))
        .chain(config.ignore.iter().map(|c| (format!("ignore {c:?}"), c)));
    for (key, column) in named {
        if !keys.contains(&column.as_str()) {
            return Err(Error::Config(format!(
                "{key}: no line of the segment has the key {column:?}{}",
                nearest(column, keys.iter().copied())
            )));
        }
    }
    Ok(())
}

/// The custom fields this run sends, each with the column it comes from: the columns of
/// `header` (or, without one, the `[mapping]` columns) that are not ignored and go to an
/// attribute that is not one of Splio's standard ones.
pub fn custom_fields<'a>(
    config: &'a Config,
    header: Option<&'a [String]>,
) -> Vec<(&'a str, &'a str)> {
    let columns: Vec<&str> = match header {
        Some(header) => header.iter().map(String::as_str).collect(),
        None => config.mapping.keys().map(String::as_str).collect(),
    };
    columns
        .into_iter()
        .filter_map(|column| config.target(column).map(|target| (target, column)))
        .filter(|(target, _)| !STANDARD.contains(target))
        .collect()
}

/// Checks that Splio has a contact field for every custom field this run sends
/// (`GET /data/fields/contacts`, every page). The fields it lacks are named, with their
/// columns, in one configuration error. Returns the requests it sent.
pub async fn check_fields(
    client: &splio_client::Client,
    config: &Config,
    header: Option<&[String]>,
) -> Result<u64, Error> {
    if custom_fields(config, header).is_empty() {
        return Ok(0);
    }
    let fields = fetch_fields(client).await?;
    missing_fields(config, header, &fields)?;
    // One request per page of 1,000 (splio-client's page size for streamed lists).
    Ok((fields.len() as u64).div_ceil(1000).max(1))
}

/// Every contact field of the universe (`GET /data/fields/contacts`, every page). Refused
/// credentials are a configuration error; anything else, Splio unreachable.
pub async fn fetch_fields(
    client: &splio_client::Client,
) -> Result<Vec<splio_client::Field>, Error> {
    client
        .contact_fields()
        .try_collect()
        .await
        .map_err(|e| match e {
            splio_client::Error::Unauthorized { .. } => Error::Config(sync_kit::error_chain(&e)),
            e => Error::delivering(
                "Splio",
                format!("reading the contact fields: {}", sync_kit::error_chain(&e)),
            ),
        })
}

/// The custom fields this run sends that are not among `fields`, as one configuration error
/// naming each with its column; `Ok` with the fields checked when none is missing.
pub fn missing_fields(
    config: &Config,
    header: Option<&[String]>,
    fields: &[splio_client::Field],
) -> Result<Vec<String>, Error> {
    let wanted = custom_fields(config, header);
    let known: BTreeSet<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let missing: Vec<String> = wanted
        .iter()
        .filter(|(target, _)| !known.contains(target))
        .map(|(target, column)| {
            format!(
                "{target:?} (column {column:?}{})",
                nearest(target, known.iter().copied())
            )
        })
        .collect();
    if missing.is_empty() {
        return Ok(wanted.iter().map(|(t, _)| (*t).to_owned()).collect());
    }
    Err(Error::Config(format!(
        "Splio has no contact field {}; create the field in Splio, map the column to an \
         existing field in [mapping], or list it in ignore",
        missing.join(", ")
    )))
}
