//! What an answer means: the HTTP status, Smaily's `{code, message}` status shape, and
//! decoding (lists row by row, so one odd row never fails a whole list).

use std::ops::Deref;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::de::value_to_int;
use crate::error::{Error, Result};

/// Whether a request reads data or writes: the two answer differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Answers with bare data; only the status shape is a status.
    Read,
    /// Answers with the `{code, message, …}` envelope.
    Write,
}

/// The keys of Smaily's status object (`{"code": 206, "message": "…"}`,
/// smaily.com/help/api/general/response-codes). On a read, an object made of these keys only
/// is a status; any other object is data (a subscriber whose custom fields are called `code`
/// and `message` still has `email`).
const STATUS_KEYS: [&str; 2] = ["code", "message"];

/// The `{code, message}` of a body when it is Smaily's status shape for this kind of request.
pub(crate) fn status_of(body: &[u8], kind: Kind) -> Option<(u16, String)> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    let Ok(map) = serde_json::from_slice::<Map<String, Value>>(body) else {
        return None;
    };
    if kind == Kind::Read && !map.keys().all(|k| STATUS_KEYS.contains(&k.as_str())) {
        return None;
    }
    let code = map
        .get("code")
        .and_then(value_to_int)
        .and_then(|c| u16::try_from(c).ok())?;
    let message = match map.get("message") {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    Some((code, message))
}

/// Maps an answer to its body or an error. The body is JSON whatever the content type says;
/// a status other than 101 is an error even on HTTP 200.
pub(crate) fn classify(status: u16, headers: &HeaderMap, body: Bytes, kind: Kind) -> Result<Bytes> {
    let text = || String::from_utf8_lossy(&body).into_owned();
    match status {
        200..=299 => match status_of(&body, kind) {
            Some((code, message)) if code != 101 => Err(Error::Api { code, message }),
            _ => Ok(body),
        },
        // 403 carries code 227 when the plan blocks the API (checked before authentication);
        // any other 403 refuses the credentials, as the official Smaily Connect clients read
        // it (Magento `Model/Client/SmailyClient.php`, WordPress `RefusalReason.php`).
        403 => match status_of(&body, Kind::Write) {
            Some((227, message)) => Err(Error::PlanBlocked { message }),
            _ => Err(Error::Unauthorized {
                status,
                body: text(),
            }),
        },
        401 => Err(Error::Unauthorized {
            status,
            body: text(),
        }),
        404 => Err(Error::NotFound { body: text() }),
        429 => Err(Error::RateLimited {
            retry_after: marketing_sync_core::retry_after(headers),
            body: text(),
        }),
        // 5xx and any other status carry no Smaily answer: the transport's status error (its
        // body cut to a snippet), retried as the suite retries statuses.
        _ => Err(Error::Transport(marketing_sync_core::Error::status(
            status, headers, &body,
        ))),
    }
}

/// Decodes a body into `T`, naming the JSON path on failure.
pub(crate) fn decode_json<T: DeserializeOwned>(body: &[u8], expected: &'static str) -> Result<T> {
    Ok(marketing_sync_core::decode_json(body, expected)?)
}

/// Decodes an already parsed JSON value, naming the path on failure.
pub(crate) fn decode_value<T: DeserializeOwned>(value: Value, expected: &'static str) -> Result<T> {
    Ok(marketing_sync_core::decode_value(value, expected)?)
}

/// Decodes a JSON array row by row: the answer must be an array, each row is its own result.
pub(crate) fn decode_rows<T: DeserializeOwned>(
    body: &[u8],
    expected: &'static str,
) -> Result<Vec<Result<T>>> {
    let rows = marketing_sync_core::decode_rows(body, expected)?;
    Ok(rows
        .into_iter()
        .map(|row| row.map_err(Error::from))
        .collect())
}

/// A list answer: the rows that decoded, in order, and the rows that did not, each with its
/// position and the decode error. One odd row never fails the whole list.
///
/// Derefs to the decoded rows, so it reads like a slice.
///
/// ```
/// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let fake = smaily_client::fake::FakeSmaily::start().await;
/// let segments = fake.client().segments().await?;
/// assert!(segments.is_complete());
/// for segment in &segments {
///     println!("{} {}", segment.id, segment.name);
/// }
/// # Ok::<(), smaily_client::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct Listing<T> {
    items: Vec<T>,
    invalid: Vec<InvalidRow>,
}

/// A row of a list answer that could not be decoded.
#[derive(Debug)]
#[non_exhaustive]
pub struct InvalidRow {
    /// Its position in the answer (0-based).
    pub index: usize,
    /// Why: a [`marketing_sync_core::Error::Decode`] whose path starts with the row (`[3].id`).
    pub error: Error,
}

impl<T> Listing<T> {
    pub(crate) fn from_rows(rows: Vec<Result<T>>) -> Self {
        let mut listing = Listing {
            items: Vec::with_capacity(rows.len()),
            invalid: Vec::new(),
        };
        for (index, row) in rows.into_iter().enumerate() {
            match row {
                Ok(item) => listing.items.push(item),
                Err(error) => listing.invalid.push(InvalidRow { index, error }),
            }
        }
        listing
    }

    /// The rows that decoded, in answer order.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// The rows that did not decode.
    pub fn invalid(&self) -> &[InvalidRow] {
        &self.invalid
    }

    /// Whether every row decoded.
    pub fn is_complete(&self) -> bool {
        self.invalid.is_empty()
    }

    /// How many rows the answer had, decoded or not (what paging counts).
    pub fn received(&self) -> usize {
        self.items.len() + self.invalid.len()
    }

    /// The decoded rows, dropping the report of the others.
    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    /// Every row, or the first row that did not decode (for callers that want all or nothing).
    pub fn into_complete(self) -> Result<Vec<T>> {
        match self.invalid.into_iter().next() {
            Some(bad) => Err(bad.error),
            None => Ok(self.items),
        }
    }
}

impl<T> Deref for Listing<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.items
    }
}

impl<T> IntoIterator for Listing<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Listing<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, RETRY_AFTER};
    use std::time::Duration;

    #[test]
    fn status_shape_depends_on_the_kind_of_request() {
        let miss = br#"{"code":206,"message":"Could not find requested email address"}"#;
        assert_eq!(status_of(miss, Kind::Read).map(|s| s.0), Some(206));
        assert_eq!(
            status_of(br#"{"code":"206"}"#, Kind::Read).map(|s| s.0),
            Some(206)
        );
        let subscriber = br#"{"email":"a@x.ee","code":"206","message":"x"}"#;
        assert_eq!(status_of(subscriber, Kind::Read), None);
        let written = br#"{"code":101,"message":"OK","id":3}"#;
        assert_eq!(status_of(written, Kind::Read), None);
        assert_eq!(status_of(written, Kind::Write).map(|s| s.0), Some(101));
        assert_eq!(status_of(br#"[{"code":5}]"#, Kind::Write), None);
        assert_eq!(status_of(br#"{"code":"X1"}"#, Kind::Read), None);
        assert_eq!(status_of(b"<html>", Kind::Read), None);
    }

    #[test]
    fn classification() {
        let h = HeaderMap::new();
        let read = |status, body: &'static [u8]| {
            classify(status, &h, Bytes::from_static(body), Kind::Read)
        };
        assert!(read(200, br#"{"code":101,"message":"OK"}"#).is_ok());
        assert!(
            read(200, br#"[{"code":5}]"#).is_ok(),
            "arrays are never statuses"
        );
        match read(
            200,
            br#"{"code":"206","message":"Could not find requested email address"}"#,
        ) {
            Err(Error::Api { code: 206, message }) => {
                assert_eq!(message, "Could not find requested email address")
            }
            other => panic!("{other:?}"),
        }
        match read(
            403,
            br#"{"code":227,"message":"A paid package is required."}"#,
        ) {
            Err(Error::PlanBlocked { message }) => {
                assert_eq!(message, "A paid package is required.")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read(403, b""),
            Err(Error::Unauthorized { status: 403, .. })
        ));
        assert!(matches!(read(404, b""), Err(Error::NotFound { .. })));
        assert!(matches!(
            read(401, b""),
            Err(Error::Unauthorized { status: 401, .. })
        ));
        assert!(matches!(
            read(502, b""),
            Err(Error::Transport(e)) if e.http_status() == Some(502)
        ));
        assert!(matches!(
            read(400, b""),
            Err(Error::Transport(e)) if e.http_status() == Some(400)
        ));
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(
            classify(429, &h, Bytes::new(), Kind::Read)
                .unwrap_err()
                .retry_after(),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn rows_decode_one_by_one() {
        let rows: Listing<u8> =
            Listing::from_rows(decode_rows(br#"[1, "x", 3, 300]"#, "numbers").unwrap());
        assert_eq!(rows.items(), [1, 3]);
        assert_eq!(rows.received(), 4);
        let paths: Vec<_> = rows
            .invalid()
            .iter()
            .map(|r| match &r.error {
                Error::Transport(marketing_sync_core::Error::Decode { path, .. }) => {
                    (r.index, path.clone())
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(paths, [(1, "[1]".to_string()), (3, "[3]".to_string())]);
        assert!(rows.into_complete().is_err());
        assert!(decode_rows::<u8>(b"<html>", "numbers").is_err());
    }
}
