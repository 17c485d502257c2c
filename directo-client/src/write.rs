//! Writes (`put=1`): XML building with correct escaping, and the `<results>` answer.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::record::Record;

/// A value that can be written as one Directo document.
pub trait ToRecord {
    /// The `what` component (and element name), e.g. `customer`.
    const WHAT: &'static str;
    /// The document as a [`Record`] (attributes in order, nested collections as children).
    fn to_record(&self) -> Record;
}

impl ToRecord for Record {
    const WHAT: &'static str = "";
    fn to_record(&self) -> Record {
        self.clone()
    }
}

/// Create or update. Directo needs `xd_update=1` to modify an existing document, and then
/// the whole document must be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PutMode {
    /// Create new documents.
    #[default]
    Create,
    /// Modify existing documents (`xd_update=1`).
    Update,
}

/// The outcome class of a [`PutResult`], from the XML Direct result code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutStatus {
    /// `Type=0`: created / updated / confirmed.
    Ok,
    /// `Type=30`: created / updated (linked document). Also a success.
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

    /// 0 and 30 are success.
    pub fn is_success(self) -> bool {
        matches!(self, PutStatus::Ok | PutStatus::OkLinked)
    }
}

/// One `<Result Type Desc docid doctype submit/>`: the outcome of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    /// `Type`, verbatim.
    pub code: i32,
    /// The code's class.
    pub status: PutStatus,
    /// `Desc`, verbatim (`OK`, `Created`, `korduv arve`, …).
    pub desc: String,
    /// The created/updated document number.
    pub docid: Option<String>,
    /// Document type, e.g. `ARVE`, `ORDER`.
    pub doctype: Option<String>,
    /// Submit type, e.g. `Invoices`.
    pub submit: Option<String>,
}

impl PutResult {
    /// Whether the document was stored (`Type` 0 or 30).
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
}

/// Escapes an attribute value: `&`, `<`, `>`, `"`, `'` and the whitespace that attribute-value
/// normalisation would otherwise turn into spaces (tab, CR, LF), so values round-trip exactly.
pub(crate) fn escape_attr(out: &mut String, value: &str) {
    for ch in value.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Writes one record (and its children) as XML.
pub(crate) fn write_record(out: &mut String, r: &Record) {
    out.push('<');
    out.push_str(&r.tag);
    for (k, v) in &r.attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        escape_attr(out, v);
        out.push('"');
    }
    if r.children.is_empty() && r.text.is_none() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    if let Some(text) = &r.text {
        let mut escaped = String::new();
        escape_attr(&mut escaped, text);
        out.push_str(&escaped);
    }
    for c in &r.children {
        write_record(out, c);
    }
    out.push_str("</");
    out.push_str(&r.tag);
    out.push('>');
}

/// The `xmldata` document: `<?xml …?><{what}s><{what} …/>…</{what}s>` (the plural container
/// is the XSD root).
pub fn to_xmldata(what: &str, records: &[Record]) -> String {
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push('<');
    out.push_str(what);
    out.push_str("s>");
    for r in records {
        write_record(&mut out, r);
    }
    out.push_str("</");
    out.push_str(what);
    out.push_str("s>");
    out
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

/// Parses a put answer: `<results><Result …/>…</results>` (names case-insensitive). An error
/// root (`<result type="5"/>` alone, `<err>`, `<error>`, `err_reason`) is an [`Error`].
pub fn parse_put_results(body: &[u8]) -> Result<Vec<PutResult>> {
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut err_text: Option<String> = None;
    loop {
        buf.clear();
        let ev = reader.read_event_into(&mut buf).map_err(|e| Error::Xml {
            offset: reader.error_position(),
            record: out.len() as u64 + 1,
            source: e,
        })?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = e.name().as_ref().to_ascii_lowercase();
                if depth == 0 {
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
                            let r = result_of(e, reader.buffer_position(), out.len())?;
                            if r.is_success() {
                                out.push(r);
                            } else {
                                return Err(Error::api(Some(r.code), r.desc));
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
                    out.push(result_of(e, reader.buffer_position(), out.len())?);
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
    Ok(out)
}

fn result_of(e: &BytesStart<'_>, offset: u64, n: usize) -> Result<PutResult> {
    let raw = attr_ci(e, "type").unwrap_or_default();
    let code: i32 = raw.trim().parse().map_err(|_| Error::Decode {
        expected: "a numeric Result Type",
        found: raw.clone(),
        offset,
        record: n as u64 + 1,
    })?;
    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
    Ok(PutResult {
        code,
        status: PutStatus::from_code(code),
        desc: attr_ci(e, "desc").unwrap_or_default(),
        docid: non_empty(attr_ci(e, "docid")),
        doctype: non_empty(attr_ci(e, "doctype")),
        submit: non_empty(attr_ci(e, "submit")),
    })
}

impl Client {
    /// Sends documents of one type in one `put=1` request.
    pub(crate) async fn put_typed<T: ToRecord>(
        &self,
        docs: &[T],
        mode: PutMode,
    ) -> Result<Vec<PutResult>> {
        let records: Vec<Record> = docs.iter().map(ToRecord::to_record).collect();
        self.put_records(T::WHAT, &records, mode).await
    }

    /// Sends any records as `put=1&what={what}&xmldata=<{what}s>…</{what}s>` (plus
    /// `xd_update=1` for [`PutMode::Update`]); one [`PutResult`] per document.
    ///
    /// **Not idempotent**: Directo's answer to a repeated create can be "Duplicate" (11) or a
    /// second document (invoices without a fixed number), so a put is retried only when the
    /// request provably did not reach Directo (connect failure, 429). The reference advises
    /// waiting at least 60 s before retrying a failed put yourself.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::FakeDirecto, PutMode, Record};
    /// let fake = FakeDirecto::start().await;
    /// let project = Record::new("project").attr("code", "P1").attr("name", "Kevad 2026");
    /// let results = fake.client().put_records("project", &[project], PutMode::Update).await?;
    /// assert_eq!(results.len(), 1);
    /// let put = &fake.puts()[0];
    /// assert_eq!((put.what.as_str(), put.update), ("project", true));
    /// assert!(put.xmldata.contains(r#"<project code="P1" name="Kevad 2026""#));
    /// # Ok::<(), directo_client::Error>(()) }).unwrap();
    /// ```
    pub async fn put_records(
        &self,
        what: &str,
        records: &[Record],
        mode: PutMode,
    ) -> Result<Vec<PutResult>> {
        if what.is_empty() {
            return Err(Error::InvalidInput("`what` must not be empty".into()));
        }
        if records.is_empty() {
            return Ok(Vec::new());
        }
        for (i, r) in records.iter().enumerate() {
            if r.tag != what {
                return Err(Error::InvalidInput(format!(
                    "record {} is <{}>, expected <{what}>",
                    i + 1,
                    r.tag
                )));
            }
        }
        let xml = match self.record_key() {
            Some((name, secret)) => {
                let stamped: Vec<Record> = records
                    .iter()
                    .map(|r| {
                        let mut r = r.clone();
                        r.attrs.insert(name.to_string(), secret.to_string());
                        r
                    })
                    .collect();
                to_xmldata(what, &stamped)
            }
            None => to_xmldata(what, records),
        };
        let body = self.put_xml(what, xml, mode).await?;
        parse_put_results(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_matters() {
        let mut s = String::new();
        escape_attr(&mut s, "Tom & \"Jerry\" <OÜ>\n'x'");
        assert_eq!(
            s,
            "Tom &amp; &quot;Jerry&quot; &lt;OÜ&gt;&#10;&apos;x&apos;"
        );
    }

    #[test]
    fn result_codes() {
        assert!(PutStatus::from_code(0).is_success());
        assert!(PutStatus::from_code(30).is_success());
        assert_eq!(PutStatus::from_code(14), PutStatus::UpdateNotAllowed);
        assert_eq!(PutStatus::from_code(3), PutStatus::Other(3));
        assert!(!PutStatus::from_code(1).is_success());
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
}
