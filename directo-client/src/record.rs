//! The generic [`Record`]: one element with its attributes (in document order) and children.

use std::borrow::Cow;

use indexmap::IndexMap;

/// Any Directo record: an element whose fields are attributes, with nested collections
/// (`<datafields>`, `<rows>`, …) as children. Used for any `what` without a typed record, and
/// as the raw form of typed ones.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Element name, e.g. `customer`.
    pub tag: String,
    /// Attributes in document order, unescaped.
    pub attrs: IndexMap<String, String>,
    /// Child elements in document order.
    pub children: Vec<Record>,
    /// Text content (concatenated), if any non-whitespace text was present.
    pub text: Option<String>,
}

impl Record {
    /// A record with this tag and no fields.
    pub fn new(tag: impl Into<String>) -> Self {
        Record {
            tag: tag.into(),
            ..Record::default()
        }
    }

    /// Adds an attribute (builder style).
    pub fn attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attrs.insert(name.into(), value.into());
        self
    }

    /// Adds a child (builder style).
    pub fn child(mut self, child: Record) -> Self {
        self.children.push(child);
        self
    }

    /// An attribute's value; absent and empty are both `None` (Directo omits NULLs).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The first child with this tag (ASCII case-insensitive).
    pub fn first_child(&self, tag: &str) -> Option<&Record> {
        self.children
            .iter()
            .find(|c| c.tag.eq_ignore_ascii_case(tag))
    }
}

/// A record type the reader can build, attribute by attribute, straight from the parser's
/// borrowed values (no intermediate map for typed records).
pub trait FromRecord: Sized + Send + 'static {
    /// Starts a record for the element `tag`.
    fn start(tag: &str) -> Self;
    /// One attribute, unescaped. Values that do not parse must be kept raw, never dropped.
    fn attr(&mut self, name: &str, value: Cow<'_, str>);
    /// One complete child element (`<datafields>`, `<rows>`, …).
    fn child(&mut self, child: Record);
    /// Text content directly inside the record (rare; ignored by default).
    fn text(&mut self, _text: &str) {}
    /// An element `tag` starts inside the child element `parent` (e.g. `data` inside
    /// `datafields`). Return `true` to take it directly: its attributes then arrive through
    /// [`nested_attr`](Self::nested_attr), its content is skipped, and no generic [`Record`] is
    /// built for it (the fast path for repeated nested rows). The default takes nothing.
    fn nested_start(&mut self, _parent: &str, _tag: &str) -> bool {
        false
    }
    /// One attribute of the element last taken by [`nested_start`](Self::nested_start).
    fn nested_attr(&mut self, _name: &str, _value: Cow<'_, str>) {}
    /// Builds the value from a generic [`Record`].
    fn from_record(record: Record) -> Self {
        let mut out = Self::start(&record.tag);
        for (k, v) in record.attrs {
            out.attr(&k, Cow::Owned(v));
        }
        for c in record.children {
            out.child(c);
        }
        if let Some(t) = record.text {
            out.text(&t);
        }
        out
    }
}

impl FromRecord for Record {
    fn start(tag: &str) -> Self {
        Record::new(tag)
    }
    fn attr(&mut self, name: &str, value: Cow<'_, str>) {
        self.attrs.insert(name.to_string(), value.into_owned());
    }
    fn child(&mut self, child: Record) {
        self.children.push(child);
    }
    fn text(&mut self, text: &str) {
        if self.text.is_none() && text.trim().is_empty() {
            return;
        }
        self.text.get_or_insert_with(String::new).push_str(text);
    }
    fn from_record(record: Record) -> Self {
        record
    }
}
