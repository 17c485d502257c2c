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

/// Whether XML 1.0 allows `c` in a document: the `Char` production (W3C XML 1.0 §2.2), `#x9 |
/// #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`. A character reference to
/// any other is no better (WFC "Legal Character", §4.1), so escaping cannot save one.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A character XML 1.0 forbids: the field (a path for nested elements), the code point, its
/// 0-based character index.
pub(crate) type BadChar = (String, u32, usize);

/// Checks every value of `r` (attributes and text, nested elements too) for characters XML
/// 1.0 forbids; with `strip`, removes them instead.
pub(crate) fn legal_chars(r: &mut Record, strip: bool) -> Result<(), BadChar> {
    legal_in(r, strip, "")
}

fn fix_value(
    value: &mut String,
    strip: bool,
    field: impl FnOnce() -> String,
) -> Result<(), BadChar> {
    if value.chars().all(is_xml_char) {
        return Ok(());
    }
    if strip {
        value.retain(is_xml_char);
        return Ok(());
    }
    let (position, c) = value
        .chars()
        .enumerate()
        .find(|(_, c)| !is_xml_char(*c))
        .expect("a forbidden character");
    Err((field(), u32::from(c), position))
}

fn legal_in(r: &mut Record, strip: bool, prefix: &str) -> Result<(), BadChar> {
    for (name, value) in r.attrs.iter_mut() {
        fix_value(value, strip, || {
            if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}@{name}")
            }
        })?;
    }
    if let Some(text) = r.text.as_mut() {
        fix_value(text, strip, || format!("{prefix}text()"))?;
    }
    let mut seen: Vec<(String, usize)> = Vec::new();
    for child in r.children.iter_mut() {
        let n = match seen.iter_mut().find(|(t, _)| *t == child.tag) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                seen.push((child.tag.clone(), 1));
                1
            }
        };
        let path = format!("{prefix}{}[{n}]/", child.tag);
        legal_in(child, strip, &path)?;
    }
    Ok(())
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
    fn the_char_production() {
        for c in [
            '\t', '\n', '\r', ' ', 'õ', '\u{D7FF}', '\u{E000}', '\u{FFFD}', '😀',
        ] {
            assert!(is_xml_char(c), "{c:?}");
        }
        for c in [
            '\0', '\u{1}', '\u{8}', '\u{B}', '\u{C}', '\u{1F}', '\u{FFFE}', '\u{FFFF}',
        ] {
            assert!(!is_xml_char(c), "{c:?}");
        }
    }

    #[test]
    fn nested_values_are_named_by_path() {
        let mut r = Record::new("customer").attr("code", "C1");
        let mut fields = Record::new("datafields");
        fields
            .children
            .push(Record::new("data").attr("content", "ok"));
        fields
            .children
            .push(Record::new("data").attr("content", "a\u{2}"));
        r.children.push(fields);
        assert_eq!(
            legal_chars(&mut r.clone(), false),
            Err(("datafields[1]/data[2]/@content".to_string(), 2, 1))
        );
        legal_chars(&mut r, true).unwrap();
        assert_eq!(r.children[0].children[1].get("content"), Some("a"));
    }

    #[test]
    fn form_len_is_the_encoded_length() {
        for s in ["", "abc XYZ-._*", r#"<a b="Õun & 😀"/>"#, "100%+/=?\t\n"] {
            let encoded: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            assert_eq!(form_len(s), encoded.len(), "{s}");
        }
    }
}
