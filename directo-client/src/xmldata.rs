//! Writing `xmldata`: records as XML with correct escaping, and the size a document takes in
//! the form-encoded request body (what the 19 MB limit is held against).

use crate::record::Record;

/// The declaration every `xmldata` starts with (Directo's data is UTF-8).
pub(crate) const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

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
        escape_attr(out, text);
    }
    for c in &r.children {
        write_record(out, c);
    }
    out.push_str("</");
    out.push_str(&r.tag);
    out.push('>');
}

/// `<?xml …?><root>` + the documents + `</root>`.
pub(crate) fn envelope<'a>(root: &str, documents: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from(DECL);
    out.push('<');
    out.push_str(root);
    out.push('>');
    for d in documents {
        out.push_str(d);
    }
    out.push_str("</");
    out.push_str(root);
    out.push('>');
    out
}

/// The length of `s` once `application/x-www-form-urlencoded` (as `url::form_urlencoded`
/// writes it): unreserved bytes and the space (`+`) take one byte, every other byte three.
pub(crate) fn form_len(s: &str) -> usize {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' | b' ' => 1,
            _ => 3,
        })
        .sum()
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
    fn form_len_is_the_encoded_length() {
        for s in ["", "abc XYZ-._*", r#"<a b="Õun & 😀"/>"#, "100%+/=?\t\n"] {
            let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            assert_eq!(form_len(s), encoded.len(), "{s}");
        }
    }
}
