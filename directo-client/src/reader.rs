//! The response parser: one core state machine, driven by a sync reader over any
//! [`BufRead`] ([`RecordReader`]) or by quick-xml's async reader over the HTTP body. Both read
//! through the UTF-8 repair layer (`utf8.rs`), so one undecodable byte fails one record.
//!
//! Accepted envelopes: `<transport><customers><customer/>…</customers></transport>`,
//! `<transport><customer/>…</transport>`, a bare `<customer/>` or `<customers>` root, and an empty
//! `<transport/>`. Error roots (`<result type desc/>`, `<err>…</err>`, `<error desc code/>`,
//! `<viga>`, `<veateade>`, `<errors>`, a root with `err_reason` or one of the error attributes
//! `error`, `errormessage`, `error_message`, `viga`, as 5dvision/directo's
//! `ErrorResponseDetector` reads them) become [`Error`]s, and
//! so does an answer that is not a Directo read answer at all (an empty body, an HTML page, a
//! root that is not a known container and holds no records, elements of another name where
//! the records should be). Memory is bounded by the largest single record: the reader reuses
//! one buffer and yields each record as soon as it ends.

use std::io::BufRead;
use std::marker::PhantomData;
use std::pin::Pin;

use bytes::Bytes;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::attrs::Attrs;
use crate::encoding::{DecodedRead, DecodedStream, head_complete, sniff};
use crate::error::{Error, Result};
use crate::record::{FieldError, FromRecord, Record};
use crate::utf8::{Log, RepairedRead, RepairedStream};

/// An HTTP body as the client streams it.
pub(crate) type Body =
    Pin<Box<dyn futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static>>;

/// What the core wants after an event.
pub(crate) enum Step {
    /// Keep reading.
    More,
    /// A complete record, or the record-scoped error that replaces it: take it with
    /// [`Core::take_record`] (it stays in the core until then, so that a large typed record
    /// is not moved from step to step).
    Record,
    /// The document is finished.
    Done,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Root {
    /// Before the root element.
    None,
    /// Inside `<transport>` (records at depth 2, or 3 under a container).
    Transport,
    /// Inside a bare container root (records at depth 2).
    Container,
    /// Inside `<err>`: collect text.
    ErrText,
    /// The root element has closed.
    Closed,
}

/// The first problem of the record being read.
struct Failure {
    field: Option<String>,
    reason: String,
    /// Offset in the original body.
    offset: u64,
}

/// The state machine shared by the sync and async readers.
pub(crate) struct Core<T> {
    tag: String,
    /// Container elements this component's answers are known to use (`customers`).
    containers: Vec<&'static str>,
    /// The record being built (top level).
    top: Option<T>,
    /// A record-scoped error to yield in place of a record (an element that is not one).
    finished_err: Option<Error>,
    /// Why the record being built cannot be yielded.
    failure: Option<Failure>,
    /// Its `code` (or `number`), verbatim, when it has one (a reused buffer: only a failed
    /// record's key is ever copied out).
    key: String,
    has_key: bool,
    root: Root,
    root_name: String,
    /// Element depth (root = 1 once inside).
    depth: usize,
    /// Child elements being built inside `top` (outermost first).
    stack: Vec<Record>,
    /// Depth of an element being skipped (unknown element outside records).
    skip_depth: Option<usize>,
    /// Records completed so far (failed ones included).
    pub(crate) records: u64,
    /// An element of another name where records belong.
    stranger: Option<String>,
    /// The text of an error element, one piece per element (`<errors><error>…`).
    err_text: Vec<String>,
    /// The error element's code, and its message when it has no text.
    err_code: Option<i32>,
    err_default: Option<String>,
    /// End of the previous event (repaired offset): the start of the current one.
    at: u64,
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

/// Element names that are an error wherever they stand in place of data: 5dvision/directo
/// `src/Http/ErrorResponseDetector.php`, `ERROR_ELEMENTS` (`<err>token required</err>` is also
/// on the wiki page `en/xml_direct`).
const ERROR_ELEMENTS: &[&str] = &["error", "errors", "err", "viga", "veateade"];

/// Root attributes that report an error: the same file, `ERROR_ATTRIBUTES`. `description`,
/// `desc` and `code` are not among them: a root carrying only those is data.
const ERROR_ATTRIBUTES: &[&str] = &["error", "errormessage", "error_message", "viga"];

/// Where the message of a flag-valued error attribute (`error="1"`) is: the same file,
/// `extractAttributeErrors`.
const MESSAGE_ATTRIBUTES: &[&str] = &["message", "errormessage", "error_message", "msg", "teade"];

/// Where an error element's message is when it has no text: the same file, `getErrorText`.
const DESC_ATTRIBUTES: &[&str] = &[
    "desc",
    "description",
    "message",
    "msg",
    "teade",
    "kirjeldus",
];

/// What an error root or element says.
enum ErrorMark {
    /// The whole message is in the start tag.
    Now(Error),
    /// The message is the element's text (or, when it has none, this default).
    Text {
        code: Option<i32>,
        default: Option<String>,
    },
}

fn code_of(e: &BytesStart<'_>) -> Option<i32> {
    attr_of(e, "type")
        .or_else(|| attr_of(e, "code"))
        .and_then(|c| c.trim().parse().ok())
}

fn first_attr(e: &BytesStart<'_>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| attr_of(e, n).filter(|v| !v.trim().is_empty()))
        .map(|v| v.trim().to_string())
}

/// An error element (`<result type desc/>`, one of [`ERROR_ELEMENTS`]) at the root or in
/// place of the records.
fn error_element(e: &BytesStart<'_>) -> Option<ErrorMark> {
    let name = e.name();
    let name: &str = name.as_ref();
    if is(name, "result") {
        return Some(ErrorMark::Now(Error::api(
            code_of(e),
            attr_of(e, "desc")
                .or_else(|| attr_of(e, "description"))
                .unwrap_or_default(),
        )));
    }
    if !ERROR_ELEMENTS.iter().any(|n| is(name, n)) {
        return None;
    }
    let code = code_of(e);
    Some(match first_attr(e, DESC_ATTRIBUTES) {
        Some(desc) => ErrorMark::Now(Error::api(code, desc)),
        None => ErrorMark::Text {
            code,
            default: None,
        },
    })
}

/// A root carrying one of [`ERROR_ATTRIBUTES`] with a non-empty value.
fn error_attribute(e: &BytesStart<'_>) -> Option<ErrorMark> {
    let value = ERROR_ATTRIBUTES
        .iter()
        .find_map(|n| attr_of(e, n).filter(|v| !v.trim().is_empty()))?;
    let code = code_of(e);
    if matches!(value.trim(), "1" | "true" | "yes") {
        return Some(match first_attr(e, MESSAGE_ATTRIBUTES) {
            Some(msg) => ErrorMark::Now(Error::api(code, msg)),
            None => ErrorMark::Text {
                code,
                default: Some("An error occurred".into()),
            },
        });
    }
    Some(ErrorMark::Now(Error::api(code, value.trim().to_string())))
}

impl<T: FromRecord> Core<T> {
    pub(crate) fn new(what: &str, tag: &str) -> Self {
        Core {
            tag: tag.to_string(),
            containers: crate::target::KNOWN
                .iter()
                .filter(|k| k.what == what || k.record == tag)
                .map(|k| k.root)
                .collect(),
            top: None,
            finished_err: None,
            failure: None,
            key: String::new(),
            has_key: false,
            root: Root::None,
            root_name: String::new(),
            depth: 0,
            stack: Vec::new(),
            skip_depth: None,
            records: 0,
            stranger: None,
            err_text: Vec::new(),
            err_code: None,
            err_default: None,
            at: 0,
        }
    }

    /// The record [`Step::Record`] announced (or the error that replaces it).
    pub(crate) fn take_record(&mut self) -> Result<T> {
        if let Some(e) = self.finished_err.take() {
            return Err(e);
        }
        let top = self.top.take().ok_or_else(|| Error::Decode {
            expected: "a finished record",
            found: "none".into(),
            offset: 0,
            record: self.records,
        })?;
        match self.failure.take() {
            None => Ok(top),
            Some(f) => Err(Error::Record {
                record: self.records,
                code: self.has_key.then(|| self.key.clone()),
                offset: f.offset,
                field: f.field,
                reason: f.reason,
            }),
        }
    }

    /// Malformed XML while reading the record after the `records` already read.
    /// (A body cut short while parsing is the transport error it carries.)
    pub(crate) fn xml_err(&self, log: &Log, offset: u64, error: quick_xml::Error) -> Error {
        match Error::of_parser(error) {
            Ok(transport) => transport,
            Err(error) => Error::Xml {
                offset: log.original(offset),
                record: self.records + 1,
                error,
            },
        }
    }

    fn decode_err(
        &self,
        log: &Log,
        offset: u64,
        expected: &'static str,
        found: impl Into<String>,
    ) -> Error {
        Error::Decode {
            expected,
            found: found.into(),
            offset: log.original(offset),
            record: self.records + u64::from(self.top.is_some()),
        }
    }

    /// Notes the first problem of the current record.
    fn fail(&mut self, field: Option<String>, reason: String, offset: u64) {
        if self.failure.is_none() {
            self.failure = Some(Failure {
                field,
                reason,
                offset,
            });
        }
    }

    fn fail_field(&mut self, e: FieldError, log: &Log) {
        self.fail(Some(e.field), e.reason, log.original(self.at));
    }

    /// Invalid UTF-8 inside the current event, if any: fails the record.
    fn check_utf8(&mut self, log: &Log, end: u64, field: Option<String>) {
        if self.failure.is_none()
            && !log.is_empty()
            && let Some(fix) = log.first_in(self.at, end)
        {
            self.fail(
                field,
                format!("invalid UTF-8 (byte 0x{:02X})", fix.byte),
                fix.input,
            );
        }
    }

    fn open_child(
        &mut self,
        e: &BytesStart<'_>,
        log: &Log,
        end: u64,
        repaired: bool,
    ) -> Result<Record> {
        let mut rec = Record::new(e.name().as_ref());
        let mut bad = None;
        for attr in Attrs::of(e) {
            let (name, value) = attr.map_err(|err| self.xml_err(log, end, err))?;
            if repaired && bad.is_none() && value.contains('\u{FFFD}') {
                bad = Some(name.to_string());
            }
            rec.attrs.insert(name.to_string(), value.into_owned());
        }
        self.check_utf8(log, end, bad);
        Ok(rec)
    }

    /// A record or an element inside one starts.
    fn start_record(&mut self, e: &BytesStart<'_>, log: &Log, end: u64) -> Result<Step> {
        let repaired = !log.is_empty() && log.first_in(self.at, end).is_some();
        let records = self.records;
        let xml_err = |error| Error::Xml {
            offset: log.original(end),
            record: records + 1,
            error,
        };
        if let Some(top) = self.top.as_mut() {
            let name = e.name();
            if let Some(parent) = self.stack.last()
                && top.nested_start(&parent.tag, name.as_ref())
            {
                let parent = parent.tag.clone();
                let mut bad = None;
                let mut err = None;
                for attr in Attrs::of(e) {
                    let (name, value) = attr.map_err(xml_err)?;
                    if repaired && bad.is_none() && value.contains('\u{FFFD}') {
                        bad = Some(name.to_string());
                    }
                    if err.is_none()
                        && let Err(e) = top.nested_attr(&parent, name, value)
                    {
                        err = Some(e);
                    }
                }
                if let Some(e) = err {
                    self.fail_field(e, log);
                }
                self.check_utf8(log, end, bad);
                // Taken whole: whatever it contains is skipped.
                self.skip_depth = Some(self.depth);
                return Ok(Step::More);
            }
            let child = self.open_child(e, log, end, repaired)?;
            self.stack.push(child);
            return Ok(Step::More);
        }
        // Built in place: a typed record is large, so it is not moved more than it must be.
        let top = self.top.insert(T::start(e.name().as_ref()));
        self.failure = None;
        self.key.clear();
        self.has_key = false;
        let mut bad = None;
        let mut err = None;
        for attr in Attrs::of(e) {
            let (name, value) = attr.map_err(xml_err)?;
            if (name == "code" || (name == "number" && !self.has_key)) && !value.is_empty() {
                self.key.clear();
                self.key.push_str(&value);
                self.has_key = true;
            }
            if repaired && bad.is_none() && value.contains('\u{FFFD}') {
                bad = Some(name.to_string());
            }
            if err.is_none()
                && let Err(e) = top.attr(name, value)
            {
                err = Some(e);
            }
        }
        if let Some(e) = err {
            self.fail_field(e, log);
        }
        self.check_utf8(log, end, bad);
        Ok(Step::More)
    }

    /// The innermost open element (child or record) ends.
    fn close_record(&mut self, log: &Log) -> Step {
        match self.stack.pop() {
            Some(child) => {
                match (self.stack.last_mut(), self.top.as_mut()) {
                    (Some(parent), _) => parent.children.push(child),
                    (None, Some(top)) => {
                        if let Err(e) = top.child(child) {
                            self.fail_field(e, log);
                        }
                    }
                    (None, None) => {}
                }
                Step::More
            }
            None if self.top.is_some() => {
                self.records += 1;
                Step::Record
            }
            None => Step::More,
        }
    }

    fn add_text(&mut self, text: &str, log: &Log, end: u64) {
        if self.root == Root::ErrText {
            match self.err_text.last_mut() {
                Some(piece) => piece.push_str(text),
                None => self.err_text.push(text.to_string()),
            }
            return;
        }
        if self.top.is_some() {
            self.check_utf8(log, end, None);
        }
        if let Some(rec) = self.stack.last_mut() {
            if rec.text.is_none() && text.trim().is_empty() {
                return;
            }
            rec.text.get_or_insert_with(String::new).push_str(text);
        } else if let Some(top) = self.top.as_mut() {
            top.text(text);
        }
    }

    fn on_end(&mut self, log: &Log, end: u64) -> Result<Step> {
        let depth = self.depth;
        self.depth = self.depth.saturating_sub(1);
        if let Some(skip) = self.skip_depth {
            if skip == depth {
                self.skip_depth = None;
            }
            return Ok(Step::More);
        }
        if self.top.is_some() {
            return Ok(self.close_record(log));
        }
        if depth == 1 {
            let root = std::mem::replace(&mut self.root, Root::Closed);
            if root == Root::ErrText {
                let text: Vec<&str> = self
                    .err_text
                    .iter()
                    .map(|t| t.trim())
                    .filter(|t| !t.is_empty())
                    .collect();
                let text = if text.is_empty() {
                    self.err_default.take().unwrap_or_default()
                } else {
                    text.join("; ")
                };
                return Err(Error::api(self.err_code, text));
            }
            return self.finish(log, end);
        }
        Ok(Step::More)
    }

    /// The root has closed: an answer that held no records must have looked like one.
    fn finish(&mut self, log: &Log, end: u64) -> Result<Step> {
        if self.records == 0 {
            if let Some(name) = self.stranger.take() {
                return Err(self.decode_err(
                    log,
                    end,
                    "the component's records (set Query::record_tag for another element name)",
                    format!("<{name}> elements"),
                ));
            }
            if self.root_name_unknown() {
                return Err(self.decode_err(
                    log,
                    end,
                    "a Directo read answer (<transport> or the component's container)",
                    format!("<{}> holding no <{}> records", self.root_name, self.tag),
                ));
            }
        }
        Ok(Step::Done)
    }

    fn root_name_unknown(&self) -> bool {
        !(is(&self.root_name, "transport")
            || is(&self.root_name, &self.tag)
            || self.containers.iter().any(|c| is(&self.root_name, c)))
    }

    /// Feeds one event ending at `end` (the reader's position, in the repaired stream).
    pub(crate) fn event(&mut self, ev: Event<'_>, end: u64, log: &Log) -> Result<Step> {
        let step = self.event_inner(ev, end, log);
        self.at = end;
        step
    }

    fn event_inner(&mut self, ev: Event<'_>, end: u64, log: &Log) -> Result<Step> {
        if self.root == Root::None && log.utf16_bom {
            return Err(Error::UnsupportedEncoding(
                "UTF-16 (byte-order mark)".into(),
            ));
        }
        match ev {
            // The encoding was read and decoded before the parser (`encoding.rs`).
            Event::Decl(_) => Ok(Step::More),
            Event::Start(e) => self.on_start(&e, log, end),
            Event::Empty(e) => {
                // An empty element starts and ends: one of the two may yield.
                let started = self.on_start(&e, log, end)?;
                let ended = self.on_end(log, end)?;
                Ok(match started {
                    Step::More => ended,
                    step => step,
                })
            }
            Event::End(_) => self.on_end(log, end),
            Event::Text(t) => {
                if self.skip_depth.is_none() {
                    self.add_text(&t.xml10_content(), log, end);
                }
                Ok(Step::More)
            }
            Event::CData(t) => {
                if self.skip_depth.is_none() {
                    self.add_text(&t.xml10_content(), log, end);
                }
                Ok(Step::More)
            }
            Event::GeneralRef(r) => {
                if self.skip_depth.is_none() {
                    let text = self.resolve_ref(&r, log, end)?;
                    self.add_text(&text, log, end);
                }
                Ok(Step::More)
            }
            Event::Eof => {
                if self.root == Root::None {
                    return Err(self.decode_err(
                        log,
                        end,
                        "a Directo read answer",
                        "an empty body",
                    ));
                }
                if self.root != Root::Closed {
                    return Err(self.decode_err(
                        log,
                        end,
                        "the closing tag of the document",
                        "end of data (truncated response)",
                    ));
                }
                Ok(Step::Done)
            }
            Event::Comment(_) | Event::PI(_) | Event::DocType(_) => Ok(Step::More),
        }
    }

    fn resolve_ref(&self, r: &BytesRef<'_>, log: &Log, end: u64) -> Result<String> {
        if r.is_char_ref() {
            match r.resolve_char_ref() {
                Ok(Some(c)) => return Ok(c.to_string()),
                Ok(None) => {}
                Err(e) => return Err(self.xml_err(log, end, e)),
            }
        }
        let name: &str = r;
        resolve_predefined_entity(name)
            .map(str::to_string)
            .ok_or_else(|| self.decode_err(log, end, "a predefined entity", format!("&{name};")))
    }

    /// An element of another name where records belong: remembered (an answer of only such
    /// elements is an error), and a record error if it holds invalid UTF-8 (it may be a
    /// record whose name was damaged).
    fn stranger(&mut self, e: &BytesStart<'_>, log: &Log, end: u64) -> Step {
        self.skip_depth = Some(self.depth);
        if self.stranger.is_none() {
            let name = e.name();
            let name: &str = name.as_ref();
            self.stranger = Some(name.to_string());
        }
        match log.first_in(self.at, end).filter(|_| !log.is_empty()) {
            Some(fix) => {
                self.records += 1;
                self.finished_err = Some(Error::Record {
                    record: self.records,
                    code: attr_of(e, "code").or_else(|| attr_of(e, "number")),
                    offset: fix.input,
                    field: None,
                    reason: format!(
                        "invalid UTF-8 (byte 0x{:02X}) in an element where <{}> records are",
                        fix.byte, self.tag
                    ),
                });
                Step::Record
            }
            None => Step::More,
        }
    }

    /// An error element or attribute: the error now, or once its text has been read.
    fn error_mark(&mut self, mark: ErrorMark) -> Result<Step> {
        match mark {
            ErrorMark::Now(err) => Err(err),
            ErrorMark::Text { code, default } => {
                self.root = Root::ErrText;
                self.err_code = code;
                self.err_default = default;
                Ok(Step::More)
            }
        }
    }

    fn on_start(&mut self, e: &BytesStart<'_>, log: &Log, end: u64) -> Result<Step> {
        self.depth += 1;
        if self.skip_depth.is_some() {
            return Ok(Step::More);
        }
        if self.top.is_some() {
            return self.start_record(e, log, end);
        }
        let name = e.name();
        let name: &str = name.as_ref();
        match (self.root, self.depth) {
            (Root::None, 1) => {
                self.root_name = name.to_string();
                if let Some(reason) = attr_of(e, "err_reason") {
                    return Err(Error::api(None, reason));
                }
                if !is(name, &self.tag)
                    && let Some(mark) = error_element(e).or_else(|| error_attribute(e))
                {
                    return self.error_mark(mark);
                }
                if is(name, "transport") {
                    self.root = Root::Transport;
                    Ok(Step::More)
                } else if is(name, &self.tag) {
                    // A bare record is the whole document.
                    self.root = Root::Closed;
                    self.start_record(e, log, end)
                } else if is(name, "results") {
                    Err(self.decode_err(log, end, "a read response", "<results> (a put answer)"))
                } else {
                    // A bare container (`<customers>` without `<transport>`).
                    self.root = Root::Container;
                    Ok(Step::More)
                }
            }
            (Root::Closed, 1) => {
                Err(self.decode_err(log, end, "end of document", name.to_string()))
            }
            (Root::ErrText, _) => {
                // `<errors><error>First</error><error>Second</error></errors>`: one message each.
                self.err_text.push(String::new());
                Ok(Step::More)
            }
            (root, depth) => {
                if is(name, &self.tag) {
                    return self.start_record(e, log, end);
                }
                if depth == 2 && root == Root::Transport {
                    // Error elements in place of the data (attributes are not looked at
                    // here: records carry whatever attributes their installation has).
                    if let Some(mark) = error_element(e) {
                        return self.error_mark(mark);
                    }
                    // A container has no attributes; a record of another name has.
                    if !e.attributes_raw().trim().trim_end_matches('/').is_empty()
                        && !self.containers.iter().any(|c| is(name, c))
                        && self.stranger.is_none()
                    {
                        self.stranger = Some(name.to_string());
                    }
                    // The container: descend.
                    return Ok(Step::More);
                }
                Ok(self.stranger(e, log, end))
            }
        }
    }
}

/// A synchronous, streaming reader of Directo records over any [`BufRead`] (a slice, a
/// file): an [`Iterator`] of `Result<T>`. The same parser the async client uses: a record
/// that cannot be decoded is an [`Error::Record`] item and reading goes on; any other error
/// is the last item.
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
    /// `Err` when the encoding could not be read or is refused: the first and last item.
    reader: std::result::Result<Reader<RepairedRead<DecodedRead<R>>>, Option<Error>>,
    buf: Vec<u8>,
    core: Core<T>,
    done: bool,
    _t: PhantomData<fn() -> T>,
}

impl<R: BufRead, T: FromRecord> RecordReader<R, T> {
    /// Reads `tag` records (e.g. `customer`) from `input`. Reads the start of `input` (up to
    /// 1 KiB) to find its encoding: a declared one (`encoding="windows-1257"`) is decoded,
    /// UTF-8 passes through.
    pub fn new(input: R, tag: &str) -> Self {
        RecordReader {
            reader: DecodedRead::open(input)
                .map(|read| Reader::from_reader(RepairedRead::new(read)))
                .map_err(Some),
            buf: Vec::with_capacity(8 * 1024),
            core: Core::new(tag, tag),
            done: false,
            _t: PhantomData,
        }
    }

    /// Records read so far (failed ones included).
    pub fn records_read(&self) -> u64 {
        self.core.records
    }
}

impl<R: BufRead, T: FromRecord> Iterator for RecordReader<R, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        let reader = match &mut self.reader {
            Ok(reader) => reader,
            Err(e) => return e.take().map(Err),
        };
        while !self.done {
            self.buf.clear();
            let step = match reader.read_event_into(&mut self.buf) {
                Ok(ev) => {
                    let end = reader.buffer_position();
                    self.core.event(ev, end, reader.get_ref().log())
                }
                Err(e) => {
                    let at = reader.error_position();
                    Err(self.core.xml_err(reader.get_ref().log(), at, e))
                }
            };
            match step {
                Ok(Step::More) => {}
                Ok(Step::Record) => return Some(self.core.take_record()),
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

/// Streams records from an HTTP body (used by the client): its encoding sniffed from its
/// start and `charset` (the HTTP `Content-Type`'s), then the records.
pub(crate) fn stream_records<T: FromRecord>(
    mut body: Body,
    what: &str,
    tag: &str,
    charset: Option<String>,
) -> impl futures::Stream<Item = Result<T>> + use<T> {
    use futures::{StreamExt, TryFutureExt};
    let (what, tag) = (what.to_string(), tag.to_string());
    async move {
        let mut head = Vec::new();
        while !head_complete(&head) {
            match body.next().await {
                Some(chunk) => head.extend_from_slice(&chunk?),
                None => break,
            }
        }
        let encoding = sniff(&head, charset.as_deref())?;
        let body: Body = if head.is_empty() {
            body
        } else {
            Box::pin(futures::stream::once(async move { Ok(Bytes::from(head)) }).chain(body))
        };
        Ok(records_of::<T>(
            DecodedStream::new(body, encoding),
            &what,
            &tag,
        ))
    }
    .try_flatten_stream()
}

/// The records of a UTF-8 body.
fn records_of<T: FromRecord>(
    body: DecodedStream<Body>,
    what: &str,
    tag: &str,
) -> impl futures::Stream<Item = Result<T>> + use<T> {
    struct State<T> {
        reader: Reader<tokio_util::io::StreamReader<RepairedStream<DecodedStream<Body>>, Bytes>>,
        buf: Vec<u8>,
        core: Core<T>,
        done: bool,
    }
    let state = State {
        reader: Reader::from_reader(tokio_util::io::StreamReader::new(RepairedStream::new(body))),
        buf: Vec::with_capacity(8 * 1024),
        core: Core::<T>::new(what, tag),
        done: false,
    };
    futures::stream::unfold(state, |mut s| async move {
        while !s.done {
            s.buf.clear();
            let step = match s.reader.read_event_into_async(&mut s.buf).await {
                Ok(ev) => {
                    let end = s.reader.buffer_position();
                    s.core.event(ev, end, s.reader.get_ref().get_ref().log())
                }
                Err(e) => {
                    let at = s.reader.error_position();
                    Err(s.core.xml_err(s.reader.get_ref().get_ref().log(), at, e))
                }
            };
            match step {
                Ok(Step::More) => {}
                Ok(Step::Record) => {
                    let rec = s.core.take_record();
                    return Some((rec, s));
                }
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
