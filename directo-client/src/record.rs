//! The generic [`Record`]: one element with its attributes (in document order) and children.

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

/// A record type the reader can build: its element name and how to build it from a [`Record`].
pub trait FromRecord: Sized + Send + 'static {
    /// Builds the value. Never fails: values that do not parse stay as raw attributes.
    fn from_record(record: Record) -> Self;
}

impl FromRecord for Record {
    fn from_record(record: Record) -> Self {
        record
    }
}
