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

/// Why one value of a record could not be decoded (a number that is not a number, a date that
/// is not a date): the reader yields it as that record's [`Error::Record`](crate::Error::Record)
/// and goes on with the next record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The attribute, as a path inside the record for nested rows (`rows/row[2]/@received`).
    pub field: String,
    /// What is wrong, with the raw value.
    pub reason: String,
}

impl FieldError {
    /// A field that does not hold what its type needs.
    ///
    /// ```
    /// let e = directo_client::FieldError::new("balance", r#""12,50" is not a decimal number"#);
    /// assert_eq!(e.to_string(), r#"balance: "12,50" is not a decimal number"#);
    /// ```
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error for a field of the `index`-th (0-based) `tag` element inside `container`.
    pub(crate) fn within(self, container: &str, tag: &str, index: usize) -> Self {
        FieldError {
            field: format!("{container}/{tag}[{}]/@{}", index + 1, self.field),
            reason: self.reason,
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldError {}

/// A record type the reader can build, attribute by attribute, straight from the parser's
/// borrowed values (no intermediate map for typed records).
///
/// A value that does not fit its field is a [`FieldError`]: the reader then yields that one
/// record as an error and reads on. Attributes a type does not know are kept, never an error.
pub trait FromRecord: Sized + Send + 'static {
    /// Starts a record for the element `tag`.
    fn start(tag: &str) -> Self;
    /// One attribute, unescaped.
    fn attr(&mut self, name: &str, value: Cow<'_, str>) -> Result<(), FieldError>;
    /// One complete child element (`<datafields>`, `<rows>`, …).
    fn child(&mut self, child: Record) -> Result<(), FieldError>;
    /// Text content directly inside the record (rare; ignored by default).
    fn text(&mut self, _text: &str) {}
    /// An element `tag` starts inside the child element `parent` (e.g. `data` inside
    /// `datafields`). Return `true` to take it directly: its attributes then arrive through
    /// [`nested_attr`](Self::nested_attr), its content is skipped, and no generic [`Record`] is
    /// built for it (the fast path for repeated nested rows). The default takes nothing.
    fn nested_start(&mut self, _parent: &str, _tag: &str) -> bool {
        false
    }
    /// One attribute of the element last taken by [`nested_start`](Self::nested_start) inside
    /// `parent`.
    fn nested_attr(
        &mut self,
        _parent: &str,
        _name: &str,
        _value: Cow<'_, str>,
    ) -> Result<(), FieldError> {
        Ok(())
    }
    /// Builds the value from a generic [`Record`].
    fn from_record(record: Record) -> Result<Self, FieldError> {
        let mut out = Self::start(&record.tag);
        for (k, v) in record.attrs {
            out.attr(&k, Cow::Owned(v))?;
        }
        for c in record.children {
            out.child(c)?;
        }
        if let Some(t) = record.text {
            out.text(&t);
        }
        Ok(out)
    }
}

impl FromRecord for Record {
    fn start(tag: &str) -> Self {
        Record::new(tag)
    }
    fn attr(&mut self, name: &str, value: Cow<'_, str>) -> Result<(), FieldError> {
        self.attrs.insert(name.to_string(), value.into_owned());
        Ok(())
    }
    fn child(&mut self, child: Record) -> Result<(), FieldError> {
        self.children.push(child);
        Ok(())
    }
    fn text(&mut self, text: &str) {
        if self.text.is_none() && text.trim().is_empty() {
            return;
        }
        self.text.get_or_insert_with(String::new).push_str(text);
    }
    fn from_record(record: Record) -> Result<Self, FieldError> {
        Ok(record)
    }
}
