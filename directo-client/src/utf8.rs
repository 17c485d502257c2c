//! Invalid UTF-8, contained: the bytes of a response pass through [`Repair`] before the XML
//! parser sees them. Each invalid sequence becomes U+FFFD and is logged with its position, so
//! the reader can fail the one record that holds it (quick-xml stops for good at the first
//! undecodable byte, which would end the whole read) and report the byte offset in the
//! original body.
//!
//! Valid input passes through without copying where the transport allows it (whole
//! [`Bytes`] chunks), and every byte is validated once.

use std::io::{self, BufRead, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::Stream;

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Fixes kept before older ones are folded into [`Log::base`].
const KEEP: usize = 1024;

/// One invalid sequence, replaced by U+FFFD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fix {
    /// Offset of the U+FFFD in the repaired stream.
    pub(crate) at: u64,
    /// Offset of the invalid bytes in the original stream.
    pub(crate) input: u64,
    /// How many bytes were invalid (1..=3).
    pub(crate) len: u8,
    /// The first invalid byte (for the error message).
    pub(crate) byte: u8,
}

impl Fix {
    /// (repaired − original) length change of everything up to and including this fix.
    fn shift(&self) -> i64 {
        (self.at + REPLACEMENT.len() as u64) as i64 - (self.input + u64::from(self.len)) as i64
    }
}

/// Where the repairs are: what the reader asks about the record it is reading.
#[derive(Debug, Default)]
pub(crate) struct Log {
    fixes: Vec<Fix>,
    /// The shift of the last fix folded away.
    base: i64,
    /// A UTF-16 byte-order mark opened the stream (Directo documents are UTF-8).
    pub(crate) utf16_bom: bool,
}

impl Log {
    fn push(&mut self, fix: Fix) {
        if self.fixes.len() >= 2 * KEEP {
            let old = self.fixes.len() - KEEP;
            self.base = self.fixes[old - 1].shift();
            self.fixes.drain(..old);
        }
        self.fixes.push(fix);
    }

    /// Whether anything was repaired at all (the reader's fast path).
    pub(crate) fn is_empty(&self) -> bool {
        self.fixes.is_empty() && self.base == 0
    }

    /// The original body offset of a repaired-stream offset.
    pub(crate) fn original(&self, at: u64) -> u64 {
        let shift = match self.fixes.partition_point(|f| f.at < at) {
            0 => self.base,
            i => self.fixes[i - 1].shift(),
        };
        (at as i64 - shift).max(0) as u64
    }

    /// The first fix at or after `from` and before `to` (repaired offsets).
    pub(crate) fn first_in(&self, from: u64, to: u64) -> Option<Fix> {
        let start = self.fixes.partition_point(|f| f.at < from);
        self.fixes.get(start).copied().filter(|f| f.at < to)
    }
}

/// The repairing state machine, fed chunk by chunk.
#[derive(Debug, Default)]
pub(crate) struct Repair {
    /// The start of a sequence cut by a chunk boundary (at most 3 bytes).
    pending: Vec<u8>,
    /// Bytes of original input consumed so far.
    input: u64,
    /// Bytes of repaired output produced so far.
    output: u64,
    pub(crate) log: Log,
}

impl Repair {
    /// Repairs `chunk` into `out`. Returns `None` when `chunk` can be passed on as it is
    /// (valid, nothing pending): the caller then forwards its own bytes.
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Option<()> {
        if self.input == 0 && chunk.len() >= 2 && matches!(chunk[..2], [0xFF, 0xFE] | [0xFE, 0xFF])
        {
            self.log.utf16_bom = true;
        }
        if self.pending.is_empty()
            && let Ok(_) = simdutf8::basic::from_utf8(chunk)
        {
            self.input += chunk.len() as u64;
            self.output += chunk.len() as u64;
            return None;
        }
        let mut rest: &[u8] = chunk;
        if !self.pending.is_empty() {
            // `pending` is the valid start of one cut character: complete it with the fewest
            // bytes of this chunk, then go on with the rest of the chunk.
            let held = self.pending.len();
            let take = rest.len().min(4 - held);
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(&rest[..take]);
            match std::str::from_utf8(&joined) {
                Ok(_) => {
                    self.emit_valid(&joined, out);
                    rest = &rest[take..];
                }
                Err(e) if e.valid_up_to() >= held => {
                    let valid = e.valid_up_to();
                    self.emit_valid(&joined[..valid], out);
                    rest = &rest[valid - held..];
                }
                Err(e) => match e.error_len() {
                    Some(bad) => {
                        self.emit_fix(joined[0], bad as u8, out);
                        rest = &rest[bad - held..];
                    }
                    None => {
                        // Still cut (a tiny chunk): keep waiting.
                        self.pending = joined;
                        return Some(());
                    }
                },
            }
        }
        loop {
            match simdutf8::compat::from_utf8(rest) {
                Ok(_) => {
                    self.emit_valid(rest, out);
                    return Some(());
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    self.emit_valid(&rest[..valid], out);
                    match e.error_len() {
                        Some(bad) => {
                            self.emit_fix(rest[valid], bad as u8, out);
                            rest = &rest[valid + bad..];
                        }
                        None => {
                            // Cut by the chunk boundary: wait for the rest.
                            self.pending.extend_from_slice(&rest[valid..]);
                            return Some(());
                        }
                    }
                }
            }
        }
    }

    /// `n` valid bytes handed on without going through [`feed`](Self::feed).
    fn pass(&mut self, n: usize) {
        self.input += n as u64;
        self.output += n as u64;
    }

    /// The end of the input: a sequence still cut is invalid.
    fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            let first = self.pending[0];
            let len = self.pending.len() as u8;
            self.pending.clear();
            self.emit_fix(first, len, out);
        }
    }

    fn emit_valid(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(bytes);
        self.input += bytes.len() as u64;
        self.output += bytes.len() as u64;
    }

    fn emit_fix(&mut self, byte: u8, len: u8, out: &mut Vec<u8>) {
        self.log.push(Fix {
            at: self.output,
            input: self.input,
            len,
            byte,
        });
        out.extend_from_slice(REPLACEMENT);
        self.input += u64::from(len);
        self.output += REPLACEMENT.len() as u64;
    }
}

/// A [`BufRead`] whose bytes are the repaired bytes of `inner`. Valid input is handed out
/// straight from `inner`'s buffer; only around an invalid or cut sequence are bytes copied.
pub(crate) struct RepairedRead<R> {
    inner: R,
    repair: Repair,
    /// Repaired bytes not yet consumed (the slow path).
    buf: Vec<u8>,
    pos: usize,
    /// Bytes at the front of `inner`'s buffer known to be valid and handed out as they are.
    direct: usize,
    eof: bool,
}

impl<R: BufRead> RepairedRead<R> {
    pub(crate) fn new(inner: R) -> Self {
        RepairedRead {
            inner,
            repair: Repair::default(),
            buf: Vec::new(),
            pos: 0,
            direct: 0,
            eof: false,
        }
    }

    pub(crate) fn log(&self) -> &Log {
        &self.repair.log
    }
}

impl<R: BufRead> Read for RepairedRead<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for RepairedRead<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos < self.buf.len() {
            return Ok(&self.buf[self.pos..]);
        }
        if self.direct > 0 {
            let direct = self.direct;
            return Ok(&self.inner.fill_buf()?[..direct]);
        }
        while self.pos >= self.buf.len() && !self.eof {
            self.buf.clear();
            self.pos = 0;
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                self.eof = true;
                self.repair.finish(&mut self.buf);
                break;
            }
            if self.repair.pending.is_empty() {
                let valid = match simdutf8::compat::from_utf8(chunk) {
                    Ok(_) => chunk.len(),
                    Err(e) => e.valid_up_to(),
                };
                if valid > 0 {
                    self.direct = valid;
                    return Ok(&self.inner.fill_buf()?[..valid]);
                }
            }
            let n = chunk.len();
            if self.repair.feed(chunk, &mut self.buf).is_none() {
                self.buf.extend_from_slice(chunk);
            }
            self.inner.consume(n);
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        if self.direct > 0 {
            let amt = amt.min(self.direct);
            self.direct -= amt;
            self.repair.pass(amt);
            self.inner.consume(amt);
        } else {
            self.pos = (self.pos + amt).min(self.buf.len());
        }
    }
}

/// A stream of body chunks, repaired; valid chunks are forwarded as they are.
pub(crate) struct RepairedStream<S> {
    inner: S,
    repair: Repair,
    done: bool,
}

impl<S> RepairedStream<S> {
    pub(crate) fn new(inner: S) -> Self {
        RepairedStream {
            inner,
            repair: Repair::default(),
            done: false,
        }
    }

    pub(crate) fn log(&self) -> &Log {
        &self.repair.log
    }
}

impl<S> Stream for RepairedStream<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(chunk))) => {
                    let mut out = Vec::new();
                    match this.repair.feed(&chunk, &mut out) {
                        None => return Poll::Ready(Some(Ok(chunk))),
                        Some(()) if out.is_empty() => continue,
                        Some(()) => {
                            return Poll::Ready(Some(Ok(BytesMut::from(&out[..]).freeze())));
                        }
                    }
                }
                Poll::Ready(None) => {
                    this.done = true;
                    let mut out = Vec::new();
                    this.repair.finish(&mut out);
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Bytes::from(out))));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Repairs `input` fed in chunks of `size`; returns the output and the fixes.
    fn repair(input: &[u8], size: usize) -> (Vec<u8>, Vec<Fix>) {
        let mut r = Repair::default();
        let mut out = Vec::new();
        for chunk in input.chunks(size.max(1)) {
            if r.feed(chunk, &mut out).is_none() {
                out.extend_from_slice(chunk);
            }
        }
        r.finish(&mut out);
        (out, r.log.fixes.clone())
    }

    #[test]
    fn valid_input_is_unchanged_in_any_chunking() {
        let text = "Tõnu Ülemiste 😀 OÜ <a b=\"ž\"/>".as_bytes();
        for size in 1..=text.len() {
            let (out, fixes) = repair(text, size);
            assert_eq!(out, text, "chunks of {size}");
            assert!(fixes.is_empty());
        }
    }

    #[test]
    fn invalid_bytes_become_replacements_with_their_original_offsets() {
        let input = b"ab\xffcd\xc3(e\xf0\x9f\x98";
        for size in 1..=input.len() {
            let (out, fixes) = repair(input, size);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8_lossy(input),
                "chunks of {size}"
            );
            let at: Vec<_> = fixes.iter().map(|f| (f.input, f.byte)).collect();
            assert_eq!(at, [(2, 0xff), (5, 0xc3), (8, 0xf0)], "chunks of {size}");
        }
    }

    #[test]
    fn offsets_map_back_to_the_original_body() {
        let input = b"ab\xffcd\xffef";
        let mut r = Repair::default();
        let mut out = Vec::new();
        r.feed(input, &mut out);
        r.finish(&mut out);
        // "ab" FFFD "cd" FFFD "ef": 'c' is at 5 repaired, 3 original; 'e' at 10 and 6.
        assert_eq!(r.log.original(5), 3);
        assert_eq!(r.log.original(10), 6);
        assert_eq!(r.log.original(1), 1);
        assert_eq!(r.log.first_in(3, 9).map(|f| f.input), Some(5));
        assert_eq!(r.log.first_in(9, 20), None);
    }

    proptest::proptest! {
        /// Any bytes in any chunking repair exactly as `from_utf8_lossy` decodes them, and
        /// every replacement maps back to its original offset.
        #[test]
        fn repairs_like_from_utf8_lossy(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), size in 1usize..9) {
            let (out, fixes) = repair(&input, size);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), String::from_utf8_lossy(&input));
            for f in fixes {
                proptest::prop_assert!(std::str::from_utf8(&input[f.input as usize..]).is_err() || f.input as usize == input.len());
                proptest::prop_assert_eq!(input[f.input as usize], f.byte);
            }
        }
    }

    #[test]
    fn the_sync_adapter_repairs_what_it_reads() {
        let mut read = RepairedRead::new(&b"x\xffy"[..]);
        let mut s = String::new();
        read.read_to_string(&mut s).unwrap();
        assert_eq!(s, "x\u{FFFD}y");
        assert_eq!(read.log().fixes.len(), 1);
    }

    proptest::proptest! {
        /// The sync adapter over a small buffer (valid bytes handed out directly, the rest
        /// copied) gives what the chunked repair gives, with the same offsets.
        #[test]
        fn the_sync_adapter_agrees_with_the_repair(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), cap in 1usize..9) {
            let mut read = RepairedRead::new(std::io::BufReader::with_capacity(cap, &input[..]));
            let mut out = Vec::new();
            read.read_to_end(&mut out).unwrap();
            let (expected, fixes) = repair(&input, cap);
            proptest::prop_assert_eq!(out, expected);
            proptest::prop_assert_eq!(&read.log().fixes, &fixes);
        }
    }
}
