//! The response parser: one core state machine, driven by a sync reader over any
//! [`BufRead`] ([`RecordReader`]) or by quick-xml's async reader over the HTTP body.
//!
//! Accepted envelopes: `<transport><customers><customer/>…</customers></transport>`,
//! `<transport><customer/>…</transport>`, a bare `<customer/>` or `<customers>` root, and an empty
//! `<transport/>`. Error roots (`<result type desc/>`, `<err>…</err>`, `<error desc code/>`,
//! a root `err_reason` attribute) become [`Error`]s. Memory is bounded by the largest single
//! record: the reader reuses one buffer and yields each record as soon as it ends.

use std::io::BufRead;
use std::marker::PhantomData;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::attrs::Attrs;
use crate::error::{Error, Result};
use crate::record::{FromRecord, Record};

/// What the core wants after an event.
pub(crate) enum Step<T> {
    /// Keep reading.
    More,
    /// A complete record.
    Record(T),
    /// The document is finished.
    Done,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Root {
    /// Before the root element.
    None,
    /// Inside `<transport>` (records at depth 1, or 2 under a container).
    Transport,
    /// Inside a bare plural container root (records at depth 1).
    Container,
    /// Inside `<err>`: collect text.
    ErrText,
    /// The root element has closed.
    Closed,
}

/// The state machine shared by the sync and async readers.
pub(crate) struct Core<T> {
    tag: String,
    /// The record being built (top level).
    top: Option<T>,
    root: Root,
    /// Element depth (root = 1 once inside).
    depth: usize,
    /// Child elements being built inside `top` (outermost first).
    stack: Vec<Record>,
    /// Depth of an element being skipped (unknown element outside records).
    skip_depth: Option<usize>,
    /// Records completed so far.
    pub(crate) records: u64,
    err_text: String,
}

fn is(name: &str, expected: &str) -> bool {
    name.eq_ignore_ascii_case(expected)
}

fn attr_of(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        is(a.key.as_ref(), name).then(|| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_default()
        })
    })
}

/// Malformed XML while reading the record after the `records` already read.
fn xml_err(records: u64, offset: u64, source: quick_xml::Error) -> Error {
    Error::Xml {
        offset,
        record: records + 1,
        source,
    }
}

fn error_root(e: &BytesStart<'_>) -> Error {
    let code = attr_of(e, "type")
        .or_else(|| attr_of(e, "code"))
        .and_then(|c| c.trim().parse().ok());
    let desc = attr_of(e, "desc").unwrap_or_default();
    Error::api(code, desc)
}

impl<T: FromRecord> Core<T> {
    pub(crate) fn new(tag: &str) -> Self {
        Core {
            tag: tag.to_string(),
            top: None,
            root: Root::None,
            depth: 0,
            stack: Vec::new(),
            skip_depth: None,
            records: 0,
            err_text: String::new(),
        }
    }

    fn xml_err(&self, offset: u64, source: quick_xml::Error) -> Error {
        xml_err(self.records, offset, source)
    }

    fn decode_err(&self, offset: u64, expected: &'static str, found: impl Into<String>) -> Error {
        Error::Decode {
            expected,
            found: found.into(),
            offset,
            record: self.records + u64::from(self.top.is_some()),
        }
    }

    fn open_child(&self, e: &BytesStart<'_>, offset: u64) -> Result<Record> {
        let mut rec = Record::new(e.name().as_ref());
        for attr in Attrs::of(e) {
            let (name, value) = attr.map_err(|err| self.xml_err(offset, err))?;
            rec.attrs.insert(name.to_string(), value.into_owned());
        }
        Ok(rec)
    }

    /// A record or an element inside one starts.
    fn start_record(&mut self, e: &BytesStart<'_>, offset: u64) -> Result<Step<T>> {
        if let Some(top) = self.top.as_mut() {
            let name = e.name();
            if let Some(parent) = self.stack.last()
                && top.nested_start(&parent.tag, name.as_ref())
            {
                for attr in Attrs::of(e) {
                    let (name, value) = attr.map_err(|err| xml_err(self.records, offset, err))?;
                    top.nested_attr(name, value);
                }
                // Taken whole: whatever it contains is skipped.
                self.skip_depth = Some(self.depth);
                return Ok(Step::More);
            }
            let child = self.open_child(e, offset)?;
            self.stack.push(child);
            return Ok(Step::More);
        }
        let mut top = T::start(e.name().as_ref());
        for attr in Attrs::of(e) {
            let (name, value) = attr.map_err(|err| self.xml_err(offset, err))?;
            top.attr(name, value);
        }
        self.top = Some(top);
        Ok(Step::More)
    }

    /// The innermost open element (child or record) ends.
    fn close_record(&mut self) -> Step<T> {
        match self.stack.pop() {
            Some(child) => {
                match (self.stack.last_mut(), self.top.as_mut()) {
                    (Some(parent), _) => parent.children.push(child),
                    (None, Some(top)) => top.child(child),
                    (None, None) => {}
                }
                Step::More
            }
            None => match self.top.take() {
                Some(top) => {
                    self.records += 1;
                    Step::Record(top)
                }
                None => Step::More,
            },
        }
    }

    fn add_text(&mut self, text: &str) {
        if self.root == Root::ErrText {
            self.err_text.push_str(text);
        } else if let Some(rec) = self.stack.last_mut() {
            if rec.text.is_none() && text.trim().is_empty() {
                return;
            }
            rec.text.get_or_insert_with(String::new).push_str(text);
        } else if let Some(top) = self.top.as_mut() {
            top.text(text);
        }
    }

    fn on_end(&mut self) -> Result<Step<T>> {
        let depth = self.depth;
        self.depth = self.depth.saturating_sub(1);
        if let Some(skip) = self.skip_depth {
            if skip == depth {
                self.skip_depth = None;
            }
            return Ok(Step::More);
        }
        if self.top.is_some() {
            return Ok(self.close_record());
        }
        if depth == 1 {
            let root = std::mem::replace(&mut self.root, Root::Closed);
            if root == Root::ErrText {
                let text = std::mem::take(&mut self.err_text);
                return Err(Error::api(None, text.trim().to_string()));
            }
            return Ok(Step::Done);
        }
        Ok(Step::More)
    }

    /// Feeds one event. `offset` is the reader's position (for error messages).
    pub(crate) fn event(&mut self, ev: Event<'_>, offset: u64) -> Result<Step<T>> {
        match ev {
            Event::Decl(decl) => {
                // Directo sends UTF-8 (documented). Anything else is refused before a
                // single value is decoded, so nothing is ever mis-decoded.
                if let Some(Ok(label)) = decl.encoding() {
                    let label = label.trim();
                    let utf8 = encoding_rs::Encoding::for_label(label.as_bytes())
                        == Some(encoding_rs::UTF_8);
                    if !utf8
                        && !label.eq_ignore_ascii_case("us-ascii")
                        && !label.eq_ignore_ascii_case("ascii")
                    {
                        return Err(Error::UnsupportedEncoding(label.to_string()));
                    }
                }
                Ok(Step::More)
            }
            Event::Start(e) => self.on_start(&e, offset),
            Event::Empty(e) => match self.on_start(&e, offset)? {
                Step::More => self.on_end(),
                step => Ok(step),
            },
            Event::End(_) => self.on_end(),
            Event::Text(t) => {
                if self.skip_depth.is_none() {
                    self.add_text(&t.xml10_content());
                }
                Ok(Step::More)
            }
            Event::CData(t) => {
                if self.skip_depth.is_none() {
                    self.add_text(&t.xml10_content());
                }
                Ok(Step::More)
            }
            Event::GeneralRef(r) => {
                if self.skip_depth.is_none() {
                    let text = self.resolve_ref(&r, offset)?;
                    self.add_text(&text);
                }
                Ok(Step::More)
            }
            Event::Eof => {
                if self.root == Root::None {
                    // An empty body: no records.
                    return Ok(Step::Done);
                }
                if self.root != Root::Closed {
                    return Err(self.decode_err(
                        offset,
                        "the closing tag of the document",
                        "end of data (truncated response)",
                    ));
                }
                Ok(Step::Done)
            }
            Event::Comment(_) | Event::PI(_) | Event::DocType(_) => Ok(Step::More),
        }
    }

    fn resolve_ref(&self, r: &BytesRef<'_>, offset: u64) -> Result<String> {
        if r.is_char_ref() {
            match r.resolve_char_ref() {
                Ok(Some(c)) => return Ok(c.to_string()),
                Ok(None) => {}
                Err(e) => return Err(self.xml_err(offset, e)),
            }
        }
        let name: &str = r;
        resolve_predefined_entity(name)
            .map(str::to_string)
            .ok_or_else(|| self.decode_err(offset, "a predefined entity", format!("&{name};")))
    }

    fn on_start(&mut self, e: &BytesStart<'_>, offset: u64) -> Result<Step<T>> {
        self.depth += 1;
        if self.skip_depth.is_some() {
            return Ok(Step::More);
        }
        if self.top.is_some() {
            return self.start_record(e, offset);
        }
        let name = e.name();
        let name: &str = name.as_ref();
        match (self.root, self.depth) {
            (Root::None, 1) => {
                if let Some(reason) = attr_of(e, "err_reason") {
                    return Err(Error::api(None, reason));
                }
                if is(name, "transport") {
                    self.root = Root::Transport;
                    Ok(Step::More)
                } else if is(name, "result") || is(name, "error") {
                    Err(error_root(e))
                } else if is(name, "err") {
                    self.root = Root::ErrText;
                    Ok(Step::More)
                } else if is(name, &self.tag) {
                    // A bare record is the whole document.
                    self.root = Root::Closed;
                    self.start_record(e, offset)
                } else if is(name, "results") {
                    Err(self.decode_err(offset, "a read response", "<results> (a put answer)"))
                } else {
                    // A bare plural container (`<customers>` without `<transport>`).
                    self.root = Root::Container;
                    Ok(Step::More)
                }
            }
            (Root::Closed, 1) => Err(self.decode_err(offset, "end of document", name.to_string())),
            (Root::ErrText, _) => {
                self.skip_depth = Some(self.depth);
                Ok(Step::More)
            }
            (_, depth) => {
                if is(name, &self.tag) {
                    return self.start_record(e, offset);
                }
                if depth == 2 && self.root == Root::Transport {
                    if is(name, "result") || is(name, "error") {
                        return Err(error_root(e));
                    }
                    // The plural container: descend.
                    return Ok(Step::More);
                }
                // Anything else: skip its subtree.
                self.skip_depth = Some(self.depth);
                Ok(Step::More)
            }
        }
    }
}

/// A synchronous, streaming reader of Directo records over any [`BufRead`] (a slice, a
/// file): an [`Iterator`] of `Result<T>`. The same parser the async client uses.
///
/// ```
/// use directo_client::{Customer, RecordReader};
/// let xml = br#"<transport><customers><customer code="C1" name="Tom &amp; Jerry"/></customers></transport>"#;
/// let customers: Vec<Customer> = RecordReader::new(&xml[..], "customer")
///     .collect::<Result<_, _>>()?;
/// assert_eq!(customers[0].name.as_deref(), Some("Tom & Jerry"));
/// # Ok::<(), directo_client::Error>(())
/// ```
pub struct RecordReader<R: BufRead, T = Record> {
    reader: Reader<R>,
    buf: Vec<u8>,
    core: Core<T>,
    done: bool,
    _t: PhantomData<fn() -> T>,
}

impl<R: BufRead, T: FromRecord> RecordReader<R, T> {
    /// Reads `tag` records (e.g. `customer`) from `input`.
    pub fn new(input: R, tag: &str) -> Self {
        RecordReader {
            reader: Reader::from_reader(input),
            buf: Vec::with_capacity(8 * 1024),
            core: Core::new(tag),
            done: false,
            _t: PhantomData,
        }
    }

    /// Records read so far.
    pub fn records_read(&self) -> u64 {
        self.core.records
    }
}

impl<R: BufRead, T: FromRecord> Iterator for RecordReader<R, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        while !self.done {
            self.buf.clear();
            let step = match self.reader.read_event_into(&mut self.buf) {
                Ok(ev) => self.core.event(ev, self.reader.buffer_position()),
                Err(e) => Err(self.core.xml_err(self.reader.error_position(), e)),
            };
            match step {
                Ok(Step::More) => {}
                Ok(Step::Record(rec)) => return Some(Ok(rec)),
                Ok(Step::Done) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// Streams records from an async body (used by the client over the HTTP response).
pub(crate) fn stream_records<R, T>(
    input: R,
    tag: &str,
) -> impl futures::Stream<Item = Result<T>> + use<R, T>
where
    R: tokio::io::AsyncBufRead + Unpin,
    T: FromRecord,
{
    struct State<R, T> {
        reader: Reader<R>,
        buf: Vec<u8>,
        core: Core<T>,
        done: bool,
    }
    let state = State {
        reader: Reader::from_reader(input),
        buf: Vec::with_capacity(8 * 1024),
        core: Core::<T>::new(tag),
        done: false,
    };
    futures::stream::unfold(state, |mut s| async move {
        while !s.done {
            s.buf.clear();
            let step = match s.reader.read_event_into_async(&mut s.buf).await {
                Ok(ev) => s.core.event(ev, s.reader.buffer_position()),
                Err(e) => Err(s.core.xml_err(s.reader.error_position(), e)),
            };
            match step {
                Ok(Step::More) => {}
                Ok(Step::Record(rec)) => return Some((Ok(rec), s)),
                Ok(Step::Done) => s.done = true,
                Err(e) => {
                    s.done = true;
                    return Some((Err(e), s));
                }
            }
        }
        None
    })
}
