//! Declared encodings, decoded before the XML parser sees a byte. Which encoding an answer is
//! in: a UTF-16 byte-order mark is refused; else the XML declaration's `encoding` (XML 1.0
//! §4.3.3, and what Directo's public clients go by: PHP `simplexml_load_string`, Nokogiri);
//! else the HTTP `charset` (RFC 7303 §3.2); else UTF-8 (Directo's documented encoding, wiki
//! `en/xmlcore`). A UTF-8 (or ASCII) answer passes through untouched: the UTF-8 repair layer
//! (`utf8.rs`) still turns its bad bytes into per-record errors. Any other encoding
//! `encoding_rs` knows is decoded to UTF-8; a byte it cannot map becomes an invalid UTF-8
//! byte, so the repair layer fails that one record too. An unknown label is refused whole
//! ([`Error::UnsupportedEncoding`]), so nothing is ever mis-decoded.
//!
//! Byte offsets in errors count the UTF-8 text the parser read: for a decoded answer they
//! are not the offsets of the original bytes.

use std::io::{self, BufRead, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use encoding_rs::{Decoder, DecoderResult, Encoding};
use futures::Stream;

use crate::error::{Error, Result};

/// How much of the start of an answer is looked at for the declaration.
const HEAD: usize = 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether `head` holds all the sniffing needs: the end of the declaration, proof there is
/// none, or as much as will be looked at.
pub(crate) fn head_complete(head: &[u8]) -> bool {
    if head.len() >= HEAD {
        return true;
    }
    let h = head.strip_prefix(UTF8_BOM).unwrap_or(head);
    let n = h.len().min(5);
    h[..n] != b"<?xml"[..n]
        || h.windows(2).any(|w| w == b"?>")
        || (head.len() >= 2 && matches!(head[..2], [0xFF, 0xFE] | [0xFE, 0xFF]))
}

/// The `charset` parameter of a `Content-Type` value.
pub(crate) fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').trim().to_string())
    })
}

/// The `encoding` pseudo-attribute of the declaration at the start of `head`, if any.
fn declared(head: &[u8]) -> Option<&str> {
    let h = head.strip_prefix(UTF8_BOM).unwrap_or(head);
    let h = h.strip_prefix(b"<?xml")?;
    let end = h.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&h[..end]).ok()?;
    let rest = &decl[decl.find("encoding")? + "encoding".len()..];
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let rest = &rest[1..];
    Some(&rest[..rest.find(quote)?])
}

/// What a label means here: `None` for UTF-8 (and ASCII, a subset of it), the encoding to
/// decode otherwise; refused when `encoding_rs` does not know it, or it is not
/// ASCII-compatible (UTF-16: the declaration itself was read as ASCII, so it cannot be true).
fn resolve(label: &str) -> Result<Option<&'static Encoding>> {
    let label = label.trim();
    if label.eq_ignore_ascii_case("ascii") || label.eq_ignore_ascii_case("us-ascii") {
        return Ok(None);
    }
    match Encoding::for_label(label.as_bytes()) {
        Some(enc) if enc == encoding_rs::UTF_8 => Ok(None),
        Some(enc) if enc.is_ascii_compatible() => Ok(Some(enc)),
        _ => Err(Error::UnsupportedEncoding(label.to_string())),
    }
}

/// The encoding of an answer that starts with `head`: `None` when it is UTF-8.
pub(crate) fn sniff(head: &[u8], charset: Option<&str>) -> Result<Option<&'static Encoding>> {
    let head = &head[..head.len().min(HEAD)];
    if head.len() >= 2 && matches!(head[..2], [0xFF, 0xFE] | [0xFE, 0xFF]) {
        return Err(Error::UnsupportedEncoding(
            "UTF-16 (byte-order mark)".into(),
        ));
    }
    if head.starts_with(UTF8_BOM) {
        return Ok(None);
    }
    match (declared(head), charset) {
        (Some(label), _) => resolve(label),
        (None, Some(label)) if !label.is_empty() => resolve(label),
        _ => Ok(None),
    }
}

/// Decodes `src` into `out` (appended) as UTF-8; a malformed sequence becomes the byte 0xFF,
/// which the UTF-8 repair layer reports for the record that holds it.
fn decode_into(decoder: &mut Decoder, mut src: &[u8], last: bool, out: &mut Vec<u8>) {
    loop {
        let need = decoder
            .max_utf8_buffer_length_without_replacement(src.len())
            .unwrap_or(src.len() * 4 + 16);
        let start = out.len();
        out.resize(start + need.max(16), 0);
        let (result, read, written) =
            decoder.decode_to_utf8_without_replacement(src, &mut out[start..], last);
        out.truncate(start + written);
        src = &src[read..];
        match result {
            DecoderResult::InputEmpty => return,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(_, _) => out.push(0xFF),
        }
    }
}

/// A [`BufRead`] of an answer's bytes as UTF-8: the sniffed `head` first, then the rest of
/// `inner`, decoded when `decoder` is set, passed through otherwise.
pub(crate) struct DecodedRead<R> {
    inner: R,
    head: Vec<u8>,
    head_pos: usize,
    decoder: Option<Decoder>,
    out: Vec<u8>,
    out_pos: usize,
    done: bool,
}

impl<R: BufRead> DecodedRead<R> {
    /// Reads the head of `inner`, sniffs its encoding, and wraps it. The head is peeked at
    /// without consuming it when `inner`'s buffer holds it (a slice, any usual `BufReader`),
    /// so a UTF-8 input reaches the parser in the chunks `inner` gives.
    pub(crate) fn open(mut inner: R) -> Result<Self> {
        let peeked = inner.fill_buf()?;
        let (head, encoding) = if head_complete(peeked) {
            (Vec::new(), sniff(peeked, None)?)
        } else {
            let mut head = Vec::new();
            while !head_complete(&head) {
                let chunk = inner.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                let take = chunk.len().min(HEAD - head.len());
                head.extend_from_slice(&chunk[..take]);
                inner.consume(take);
            }
            let encoding = sniff(&head, None)?;
            (head, encoding)
        };
        let mut read = DecodedRead {
            inner,
            head,
            head_pos: 0,
            decoder: encoding.map(Encoding::new_decoder_without_bom_handling),
            out: Vec::new(),
            out_pos: 0,
            done: false,
        };
        if let Some(decoder) = read.decoder.as_mut() {
            decode_into(decoder, &read.head, false, &mut read.out);
            read.head.clear();
        }
        Ok(read)
    }
}

impl<R: BufRead> Read for DecodedRead<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for DecodedRead<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let Some(decoder) = self.decoder.as_mut() else {
            if self.head_pos < self.head.len() {
                return Ok(&self.head[self.head_pos..]);
            }
            return self.inner.fill_buf();
        };
        while self.out_pos >= self.out.len() && !self.done {
            self.out.clear();
            self.out_pos = 0;
            let chunk = self.inner.fill_buf()?;
            let n = chunk.len();
            self.done = n == 0;
            decode_into(decoder, chunk, self.done, &mut self.out);
            self.inner.consume(n);
        }
        Ok(&self.out[self.out_pos..])
    }

    fn consume(&mut self, amt: usize) {
        if self.decoder.is_some() {
            self.out_pos = (self.out_pos + amt).min(self.out.len());
        } else if self.head_pos < self.head.len() {
            self.head_pos = (self.head_pos + amt).min(self.head.len());
        } else {
            self.inner.consume(amt);
        }
    }
}

/// A stream of body chunks decoded to UTF-8 by `decoder` (nothing to do without one).
pub(crate) struct DecodedStream<S> {
    inner: S,
    decoder: Option<Decoder>,
    done: bool,
}

impl<S> DecodedStream<S> {
    pub(crate) fn new(inner: S, encoding: Option<&'static Encoding>) -> Self {
        DecodedStream {
            inner,
            decoder: encoding.map(Encoding::new_decoder_without_bom_handling),
            done: false,
        }
    }
}

impl<S> Stream for DecodedStream<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(decoder) = this.decoder.as_mut() else {
            return Pin::new(&mut this.inner).poll_next(cx);
        };
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            let mut out = Vec::new();
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(chunk))) => decode_into(decoder, &chunk, false, &mut out),
                Poll::Ready(None) => {
                    this.done = true;
                    decode_into(decoder, &[], true, &mut out);
                }
            }
            if !out.is_empty() {
                return Poll::Ready(Some(Ok(Bytes::from(out))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_precedence() {
        let decl = br#"<?xml version="1.0" encoding='Windows-1257' ?><a/>"#;
        assert_eq!(
            sniff(decl, Some("utf-8")).unwrap(),
            Some(encoding_rs::WINDOWS_1257)
        );
        assert_eq!(
            sniff(b"<a/>", Some("windows-1257")).unwrap(),
            Some(encoding_rs::WINDOWS_1257)
        );
        assert_eq!(sniff(br#"<?xml version="1.0"?><a/>"#, None).unwrap(), None);
        assert_eq!(
            sniff(br#"<?xml version="1.0" encoding="US-ASCII"?>"#, None).unwrap(),
            None
        );
        assert_eq!(
            sniff(b"\xEF\xBB\xBF<a/>", Some("windows-1257")).unwrap(),
            None
        );
        for bad in [
            &br#"<?xml version="1.0" encoding="UTF-16"?>"#[..],
            b"\xFF\xFE<\0",
            br#"<?xml encoding="nope"?>"#,
        ] {
            assert!(
                matches!(sniff(bad, None), Err(Error::UnsupportedEncoding(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            charset_of("text/xml; Charset=\"UTF-8\"").as_deref(),
            Some("UTF-8")
        );
        assert_eq!(charset_of("text/xml"), None);
    }

    #[test]
    fn decoded_in_any_chunking() {
        let body = b"<?xml version=\"1.0\" encoding=\"windows-1257\"?><a n=\"T\xF5nu \xDC\"/>";
        for cap in 1..body.len() {
            let mut read = DecodedRead::open(io::BufReader::with_capacity(cap, &body[..])).unwrap();
            let mut out = String::new();
            read.read_to_string(&mut out).unwrap();
            assert!(out.ends_with("<a n=\"Tõnu Ü\"/>"), "{cap}: {out}");
        }
    }
}
