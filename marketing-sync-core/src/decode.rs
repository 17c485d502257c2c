//! JSON decoding that names the failing path and shows the start of the body.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};

/// How many characters of a body an error shows.
const SNIPPET_CHARS: usize = 200;

/// The first 200 characters of a body (lossy UTF-8), with `…` when there was more.
///
/// ```
/// assert_eq!(marketing_sync_core::snippet(b"short"), "short");
/// assert_eq!(marketing_sync_core::snippet(&[b'x'; 300]).chars().count(), 201);
/// ```
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut chars = text.chars();
    let mut s: String = chars.by_ref().take(SNIPPET_CHARS).collect();
    if chars.next().is_some() {
        s.push('…');
    }
    s
}

/// Decodes a JSON body into `T`; on failure an [`Error::Decode`] names `expected`, the JSON path
/// and the start of the body.
///
/// ```
/// let e = marketing_sync_core::decode_json::<Vec<u8>>(br#"[1, "x"]"#, "numbers").unwrap_err();
/// assert!(matches!(e, marketing_sync_core::Error::Decode { ref path, .. } if path == "[1]"));
/// assert_eq!(marketing_sync_core::decode_json::<Vec<u8>>(b"[1, 2]", "numbers").unwrap(), [1, 2]);
/// ```
pub fn decode_json<T: DeserializeOwned>(body: &[u8], expected: &'static str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Decode {
        expected,
        path: e.path().to_string(),
        message: e.inner().to_string(),
        snippet: snippet(body),
    })
}

/// Decodes an already parsed JSON value, naming the path on failure.
///
/// ```
/// let n: u8 = marketing_sync_core::decode_value(serde_json::json!(7), "a number").unwrap();
/// assert_eq!(n, 7);
/// ```
pub fn decode_value<T: DeserializeOwned>(value: Value, expected: &'static str) -> Result<T> {
    let text = value.to_string();
    serde_path_to_error::deserialize(value).map_err(|e| Error::Decode {
        expected,
        path: e.path().to_string(),
        message: e.inner().to_string(),
        snippet: snippet(text.as_bytes()),
    })
}

/// Decodes a JSON array row by row: the answer must be an array, each row is its own result
/// (one odd row never fails the list), and a row's error path starts with its index (`[3].id`).
///
/// ```
/// let rows = marketing_sync_core::decode_rows::<u8>(br#"[1, "x", 3]"#, "numbers").unwrap();
/// assert_eq!(rows.len(), 3);
/// assert!(matches!(&rows[1], Err(marketing_sync_core::Error::Decode { path, .. }) if path == "[1]"));
/// ```
pub fn decode_rows<T: DeserializeOwned>(
    body: &[u8],
    expected: &'static str,
) -> Result<Vec<Result<T>>> {
    let rows: Vec<Value> = decode_json(body, expected)?;
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            decode_value(row, expected).map_err(|e| match e {
                Error::Decode {
                    expected,
                    path,
                    message,
                    snippet,
                } => Error::Decode {
                    expected,
                    path: match path.as_str() {
                        "." => format!("[{i}]"),
                        p if p.starts_with('[') => format!("[{i}]{p}"),
                        p => format!("[{i}].{p}"),
                    },
                    message,
                    snippet,
                },
                other => other,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Row {
        id: u64,
    }

    #[test]
    fn decode_names_path_and_snippet() {
        match decode_json::<Vec<Row>>(br#"[{"id":1},{"id":"x"}]"#, "rows") {
            Err(Error::Decode {
                expected,
                path,
                snippet,
                ..
            }) => {
                assert_eq!(expected, "rows");
                assert_eq!(path, "[1].id");
                assert!(snippet.starts_with(r#"[{"id":1}"#));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rows_decode_one_by_one() {
        let rows = decode_rows::<Row>(br#"[{"id":1},{"id":"x"},5]"#, "rows").unwrap();
        assert!(rows[0].is_ok());
        let paths: Vec<_> = rows
            .iter()
            .filter_map(|r| match r {
                Err(Error::Decode { path, .. }) => Some(path.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(paths, ["[1].id", "[2]"]);
        assert!(decode_rows::<Row>(b"<html>", "rows").is_err());
    }

    #[test]
    fn snippets_are_short_and_lossless_on_utf8() {
        let long = "ä".repeat(500);
        let s = snippet(long.as_bytes());
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
        assert!(s.ends_with('…'));
        assert_eq!(snippet(&[0xff, b'a']), "\u{fffd}a");
    }
}
