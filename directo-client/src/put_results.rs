//! The answer to a put: `<results><Result Type Desc docid doctype submit/>…</results>`
//! (XML Direct's "responses and error codes" page), one `<Result>` per document.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::error::{Error, Result};

/// The outcome class of a [`PutResult`], from the XML Direct result code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PutStatus {
    /// `Type=0`: created / updated / confirmed.
    Ok,
    /// `Type=30`: created / updated (linked document; also the answer to a partial customer
    /// or supplier update). A success.
    OkLinked,
    /// `Type=5`.
    Unauthorized,
    /// `Type=8`.
    InvalidXml,
    /// `Type=9`.
    ImportError,
    /// `Type=11`.
    Duplicate,
    /// `Type=12`.
    MissingDocumentId,
    /// `Type=13`.
    MissingCustomer,
    /// `Type=14`: confirmed or linked documents cannot be modified.
    UpdateNotAllowed,
    /// `Type=17`.
    InsertFailed,
    /// `Type=18`.
    UniqueIdNotFound,
    /// `Type=19`.
    RemovalNotAllowed,
    /// `Type=29`.
    NotConfirmed,
    /// `Type=31`: a precondition was not found.
    NotFound,
    /// `Type=39`: a linked document is not confirmed.
    LinkedNotConfirmed,
    /// `Type=99`.
    NoProcessableData,
    /// Any other code (legacy installs use their own, e.g. 1 = validation, 3 = committed).
    Other(i32),
    /// No `Type`, or an empty one: a **success**, as the Go client used live against XML
    /// Direct reads it (qbitsoftware/accounting-service `directo/xml.go` fails only type 1,
    /// type 5 and an `error` attribute). Counting it a failure invites a re-send that
    /// Directo may refuse as a duplicate.
    Missing,
    /// A `Type` that is not a number: a failure (not known to be a success).
    Unreadable,
}

impl PutStatus {
    /// Maps a `Type` code.
    pub fn from_code(code: i32) -> Self {
        match code {
            0 => PutStatus::Ok,
            30 => PutStatus::OkLinked,
            5 => PutStatus::Unauthorized,
            8 => PutStatus::InvalidXml,
            9 => PutStatus::ImportError,
            11 => PutStatus::Duplicate,
            12 => PutStatus::MissingDocumentId,
            13 => PutStatus::MissingCustomer,
            14 => PutStatus::UpdateNotAllowed,
            17 => PutStatus::InsertFailed,
            18 => PutStatus::UniqueIdNotFound,
            19 => PutStatus::RemovalNotAllowed,
            29 => PutStatus::NotConfirmed,
            31 => PutStatus::NotFound,
            39 => PutStatus::LinkedNotConfirmed,
            99 => PutStatus::NoProcessableData,
            other => PutStatus::Other(other),
        }
    }

    /// 0, 30 and a missing `Type` are success.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            PutStatus::Ok | PutStatus::OkLinked | PutStatus::Missing
        )
    }
}

/// One `<Result Type Desc docid doctype submit/>`: Directo's answer for one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    /// `Type`, when it is a number.
    pub code: Option<i32>,
    /// The code's class.
    pub status: PutStatus,
    /// `Desc`, verbatim (`OK`, `Created`, `korduv arve`, …).
    pub desc: String,
    /// An `error` attribute, verbatim: the document failed, whatever `Type` says.
    pub error: Option<String>,
    /// The created/updated document number.
    pub docid: Option<String>,
    /// Document type, e.g. `ARVE`, `ORDER`.
    pub doctype: Option<String>,
    /// Submit type, e.g. `Invoices`.
    pub submit: Option<String>,
}

impl PutResult {
    /// Whether the document was stored: `Type` 0, 30 or none, and no `error` attribute.
    pub fn is_success(&self) -> bool {
        self.status.is_success() && self.error.is_none()
    }
}

fn attr_ci(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let key: &str = a.key.as_ref();
        key.eq_ignore_ascii_case(name).then(|| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_default()
        })
    })
}

/// Parses a put answer: `<results><Result …/>…</results>` (names case-insensitive), in the
/// answer's order. A `<Result>` with an `error` attribute or a `Type` that is not a number
/// is a failed [`PutResult`], not a parse error; one without `Type` is a success (see
/// [`PutStatus::Missing`]). An error root (`<result type="5"/>` alone,
/// `<err>`, `<error>`, `err_reason`) is an [`Error`]; so is an answer that is not XML.
///
/// ```
/// use directo_client::{parse_put_results, PutStatus};
/// let r = parse_put_results(br#"<results><Result Type="0" Desc="OK" docid="1337"/><Result Desc="?"/></results>"#)?;
/// assert!(r[0].is_success());
/// assert_eq!(r[1].status, PutStatus::Missing);
/// assert!(r[1].is_success());
/// # Ok::<(), directo_client::Error>(())
/// ```
pub fn parse_put_results(body: &[u8]) -> Result<Vec<PutResult>> {
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut err_text: Option<String> = None;
    let mut root = false;
    loop {
        buf.clear();
        let ev = reader.read_event_into(&mut buf).map_err(|e| Error::Xml {
            offset: reader.error_position(),
            record: out.len() as u64 + 1,
            error: e,
        })?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = e.name().as_ref().to_ascii_lowercase();
                if depth == 0 {
                    root = true;
                    if let Some(reason) = attr_ci(e, "err_reason") {
                        return Err(Error::api(None, reason));
                    }
                    match name.as_str() {
                        "results" => {}
                        "err" => err_text = Some(String::new()),
                        "error" => {
                            let code = attr_ci(e, "code").and_then(|c| c.trim().parse().ok());
                            return Err(Error::api(code, attr_ci(e, "desc").unwrap_or_default()));
                        }
                        "result" => {
                            // A lone <result type desc/>: an envelope-level error unless 0/30.
                            let r = result_of(e);
                            if r.is_success() {
                                out.push(r);
                            } else {
                                return Err(Error::api(r.code, r.desc));
                            }
                        }
                        _ => {
                            return Err(Error::Decode {
                                expected: "<results>",
                                found: format!("<{name}>"),
                                offset: reader.buffer_position(),
                                record: 0,
                            });
                        }
                    }
                } else if name == "result" {
                    out.push(result_of(e));
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(t) => {
                if let Some(s) = err_text.as_mut() {
                    s.push_str(&t.xml10_content());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(text) = err_text {
        return Err(Error::api(None, text.trim().to_string()));
    }
    if !root {
        return Err(Error::Decode {
            expected: "<results>",
            found: "an empty answer".into(),
            offset: 0,
            record: 0,
        });
    }
    Ok(out)
}

fn result_of(e: &BytesStart<'_>) -> PutResult {
    let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let raw = non_empty(attr_ci(e, "type"));
    let code = raw.as_deref().and_then(|t| t.trim().parse().ok());
    let status = match (&raw, code) {
        (None, _) => PutStatus::Missing,
        (Some(_), Some(code)) => PutStatus::from_code(code),
        (Some(_), None) => PutStatus::Unreadable,
    };
    PutResult {
        code,
        status,
        // The Go client falls back on `msg` when `desc` is empty.
        desc: non_empty(attr_ci(e, "desc"))
            .or_else(|| non_empty(attr_ci(e, "msg")))
            .unwrap_or_default(),
        error: non_empty(attr_ci(e, "error")),
        docid: non_empty(attr_ci(e, "docid")),
        doctype: non_empty(attr_ci(e, "doctype")),
        submit: non_empty(attr_ci(e, "submit")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_codes() {
        assert!(PutStatus::from_code(0).is_success());
        assert!(PutStatus::from_code(30).is_success());
        assert_eq!(PutStatus::from_code(14), PutStatus::UpdateNotAllowed);
        assert_eq!(PutStatus::from_code(3), PutStatus::Other(3));
        assert!(!PutStatus::from_code(1).is_success());
        assert!(PutStatus::Missing.is_success());
        assert!(!PutStatus::Unreadable.is_success());
    }

    #[test]
    fn parses_results_case_insensitively() {
        let r = parse_put_results(
            br#"<?xml version="1.0" encoding="UTF-8"?><results><Result Type="0" Desc="OK" docid="1337" doctype="ARVE" submit="Invoices"/><result type="11" desc="Duplicate"/></results>"#,
        )
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].docid.as_deref(), Some("1337"));
        assert_eq!(r[1].status, PutStatus::Duplicate);
        assert!(matches!(
            parse_put_results(br#"<result type="5" desc="Unauthorized"/>"#),
            Err(Error::Unauthorized { .. })
        ));
        assert!(matches!(
            parse_put_results(b"<err>token required</err>"),
            Err(Error::Api { code: None, ref desc }) if desc == "token required"
        ));
    }

    /// A `<Result>` with `error=` or an unreadable `Type` fails that document only; one
    /// without `Type` is a success (the Go client in live use saw both forms).
    #[test]
    fn a_result_with_error_or_unreadable_type_is_that_documents_failure() {
        let r = parse_put_results(
            br#"<results><Result Desc="weird"/><Result Type="0" error="boom"/><Result Type="x"/><Result Type="30" Desc="Updated"/></results>"#,
        )
        .unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!((r[0].status, r[0].code), (PutStatus::Missing, None));
        assert!(r[0].is_success());
        assert_eq!(r[1].error.as_deref(), Some("boom"));
        assert!(!r[1].is_success());
        assert_eq!(r[2].status, PutStatus::Unreadable);
        assert!(!r[2].is_success());
        assert!(r[3].is_success());
        assert!(
            parse_put_results(b"").is_err(),
            "an empty body is no answer"
        );
        assert_eq!(parse_put_results(b"<results/>").unwrap(), []);
    }
}
