//! The attributes of a start tag, scanned straight from its raw text.
//!
//! Directo puts every field in an attribute, so this is the parser's inner loop. Values are
//! borrowed from the reader's buffer; only a value holding an entity reference (`&amp;`) or
//! whitespace that XML normalises (tab, CR, LF) goes through quick-xml's normalisation and
//! allocates. Malformed attributes give quick-xml's own [`AttrError`]s, positioned in the tag.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::events::BytesStart;
use quick_xml::events::attributes::{AttrError, Attribute};
use quick_xml::name::QName;

/// An iterator of `(name, value)` over a start tag's attributes, in document order.
/// Duplicates are not checked (Directo's legacy exports repeat attributes; the last wins
/// wherever a map keeps them).
pub(crate) struct Attrs<'a> {
    raw: &'a str,
    /// Length of the element name: positions in errors count from the tag's start.
    base: usize,
    pos: usize,
}

impl<'a> Attrs<'a> {
    pub(crate) fn of(e: &'a BytesStart<'a>) -> Self {
        let raw = e.attributes_raw();
        Attrs {
            raw,
            base: e.name().as_ref().len(),
            pos: 0,
        }
    }

    fn fail(&mut self, err: AttrError) -> Option<quick_xml::Result<(&'a str, Cow<'a, str>)>> {
        self.pos = self.raw.len();
        Some(Err(quick_xml::Error::InvalidAttr(err)))
    }
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

impl<'a> Iterator for Attrs<'a> {
    type Item = quick_xml::Result<(&'a str, Cow<'a, str>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.raw.as_bytes();
        let mut i = skip_space(bytes, self.pos);
        // A self-closing tag's raw text may end with its `/`.
        if i >= bytes.len() || (bytes[i] == b'/' && i + 1 == bytes.len()) {
            self.pos = bytes.len();
            return None;
        }
        let key_start = i;
        while i < bytes.len() && bytes[i] != b'=' && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let key_end = i;
        i = skip_space(bytes, i);
        if key_end == key_start || bytes.get(i) != Some(&b'=') {
            return self.fail(AttrError::ExpectedEq(self.base + i));
        }
        i = skip_space(bytes, i + 1);
        let quote = match bytes.get(i) {
            Some(&q @ (b'"' | b'\'')) => q,
            Some(_) => return self.fail(AttrError::UnquotedValue(self.base + i)),
            None => return self.fail(AttrError::ExpectedValue(self.base + i)),
        };
        let start = i + 1;
        let Some(len) = memchr::memchr(quote, &bytes[start..]) else {
            return self.fail(AttrError::ExpectedQuote(self.base + bytes.len(), quote));
        };
        let end = start + len;
        // Whether anything needs normalising: an entity reference, or whitespace XML
        // normalises (tab, LF, CR; the other bytes below 0x0E only take the careful path).
        // Branch-free, so it vectorises.
        let plain = bytes[start..end]
            .iter()
            .fold(true, |plain, &b| plain & (b != b'&') & (b >= 0x0E));
        self.pos = end + 1;
        // Both slices end and start at ASCII bytes, so they are char boundaries.
        let key = &self.raw[key_start..key_end];
        let raw_value = &self.raw[start..end];
        if plain {
            return Some(Ok((key, Cow::Borrowed(raw_value))));
        }
        let attr = Attribute {
            key: QName(key),
            value: Cow::Borrowed(raw_value),
        };
        Some(
            attr.normalized_value(XmlVersion::Implicit1_0)
                .map(|value| (key, value)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::Reader;
    use quick_xml::events::Event;

    fn scan(xml: &str) -> Vec<quick_xml::Result<(String, String)>> {
        let mut reader = Reader::from_str(xml);
        loop {
            match reader.read_event().unwrap() {
                Event::Start(e) | Event::Empty(e) => {
                    return Attrs::of(&e)
                        .map(|r| r.map(|(k, v)| (k.to_string(), v.into_owned())))
                        .collect();
                }
                Event::Eof => panic!("no tag in {xml}"),
                _ => {}
            }
        }
    }

    fn ok(xml: &str) -> Vec<(String, String)> {
        scan(xml).into_iter().map(Result::unwrap).collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_in_document_order_with_either_quote() {
        assert_eq!(
            ok(r#"<c code="C1" name='Mari "M" Tamm'  email = "a@b.ee"/>"#),
            pairs(&[
                ("code", "C1"),
                ("name", r#"Mari "M" Tamm"#),
                ("email", "a@b.ee")
            ])
        );
        assert_eq!(ok("<c/>"), pairs(&[]));
        assert_eq!(ok("<c >"), pairs(&[]));
        assert_eq!(ok(r#"<c a=""/>"#), pairs(&[("a", "")]));
    }

    #[test]
    fn entities_and_whitespace_are_normalised_like_quick_xml() {
        let xml = "<c name=\"Tom &amp; &quot;Jerry&quot; &lt;O&#220;&gt;\" note=\"a\tb\r\nc\"/>";
        assert_eq!(
            ok(xml),
            pairs(&[("name", r#"Tom & "Jerry" <OÜ>"#), ("note", "a b c")])
        );
        let mut reader = Reader::from_str(xml);
        let Event::Empty(e) = reader.read_event().unwrap() else {
            panic!()
        };
        let expected: Vec<_> = e
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    a.key.as_ref().to_string(),
                    a.normalized_value(XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned(),
                )
            })
            .collect();
        assert_eq!(ok(xml), expected);
    }

    #[test]
    fn malformed_attributes_are_quick_xml_errors_with_positions() {
        let err = |xml: &str| match scan(xml).pop().unwrap() {
            Err(quick_xml::Error::InvalidAttr(e)) => e,
            other => panic!("{xml}: {other:?}"),
        };
        assert_eq!(err("<c code/>"), AttrError::ExpectedEq(6));
        assert_eq!(err(r#"<c ="x"/>"#), AttrError::ExpectedEq(2));
        assert_eq!(err("<c code=C1/>"), AttrError::UnquotedValue(7));
        assert_eq!(err("<c code= />"), AttrError::ExpectedValue(8));
        assert_eq!(err(r#"<c a="1" b>"#), AttrError::ExpectedEq(9));
    }

    #[test]
    fn an_unknown_entity_is_an_error_not_a_guess() {
        assert!(matches!(
            scan(r#"<c name="a &nbsp; b"/>"#).pop().unwrap(),
            Err(quick_xml::Error::Escape(_))
        ));
    }
}
