//! How a typed document is declared: one line per attribute with its direction in Directo's
//! schemas, so that reads accept every known name and puts write exactly the input schema.
//!
//! - `io` — in both the output (`ws_*.xsd`) and the input (`xml_IN_*.xsd`) schema. A line
//!   `io vatzone / "vatregion"` names a field whose output name differs (same SQL field).
//! - `input` — input schema only: written by puts, read if an answer carries it.
//! - `output` — output schema only (`ts`, `balance`, …): read, **never written**.
//! - `[ "type" ]` gives the wire name when it is not a Rust identifier.
//!
//! Unknown attributes are kept in `extra` and unknown child elements in `children` on reads;
//! neither is ever written (Directo ignores unknown input attributes silently, so writing them
//! would only hide a misspelt name). A value that does not fit its type is a [`FieldError`].

use std::borrow::Cow;

use jiff::civil::{Date, DateTime};
use rust_decimal::Decimal;

use crate::record::{FieldError, FromRecord, Record};
use crate::values::parse_ts;

/// A value as Directo writes it in an attribute.
pub(crate) trait AttrValue: Sized {
    /// Parses a non-blank raw value, or says why not.
    fn parse(raw: &str) -> Result<Self, String>;
    /// [`parse`](Self::parse) from an owned or borrowed value (a `String` takes an owned one
    /// as it is, without a copy).
    fn parse_cow(raw: Cow<'_, str>) -> Result<Self, String> {
        Self::parse(&raw)
    }
    /// The input schema's lexical form.
    fn render(&self) -> String;
}

impl AttrValue for String {
    fn parse(raw: &str) -> Result<Self, String> {
        Ok(raw.to_string())
    }
    fn parse_cow(raw: Cow<'_, str>) -> Result<Self, String> {
        Ok(raw.into_owned())
    }
    fn render(&self) -> String {
        self.clone()
    }
}

impl AttrValue for i64 {
    fn parse(raw: &str) -> Result<Self, String> {
        raw.trim()
            .parse()
            .map_err(|_| format!("{raw:?} is not a whole number"))
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl AttrValue for Decimal {
    fn parse(raw: &str) -> Result<Self, String> {
        raw.trim()
            .parse()
            .map_err(|_| format!("{raw:?} is not a decimal number"))
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

/// `0` / `1` flags (`closed`, `confirm`, …).
impl AttrValue for bool {
    fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "1" => Ok(true),
            "0" => Ok(false),
            _ => Err(format!("{raw:?} is not 0 or 1")),
        }
    }
    fn render(&self) -> String {
        if *self { "1" } else { "0" }.to_string()
    }
}

/// `xsd:dateTime`: read leniently (see `values::parse_ts`), written `YYYY-MM-DDThh:mm:ss`.
impl AttrValue for DateTime {
    fn parse(raw: &str) -> Result<Self, String> {
        parse_ts(raw).ok_or_else(|| format!("{raw:?} is not a date-time"))
    }
    fn render(&self) -> String {
        crate::values::fmt_ts(*self)
    }
}

/// A date where the schema is not known to be `xsd:dateTime` (invoice and order dates): ISO
/// `YYYY-MM-DD`, as a client in live use sends them.
impl AttrValue for Date {
    fn parse(raw: &str) -> Result<Self, String> {
        parse_ts(raw)
            .map(|dt| dt.date())
            .ok_or_else(|| format!("{raw:?} is not a date"))
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

/// Sets an optional field from a raw value: blank is "not set", anything else must parse.
pub(crate) fn set<T: AttrValue>(
    slot: &mut Option<T>,
    field: &str,
    raw: Cow<'_, str>,
) -> Result<(), FieldError> {
    if raw.bytes().all(|b| b.is_ascii_whitespace()) {
        *slot = None;
        return Ok(());
    }
    *slot = Some(T::parse_cow(raw).map_err(|reason| FieldError::new(field, reason))?);
    Ok(())
}

/// Whether `dir` is one of the three directions.
pub(crate) const fn is_known(dir: &str) -> bool {
    is_input(dir) || is_output(dir)
}

/// Whether a field of this direction is written by puts.
pub(crate) const fn is_input(dir: &str) -> bool {
    matches!(dir.as_bytes(), b"io" | b"input")
}

/// Whether a field of this direction appears in Directo's output.
pub(crate) const fn is_output(dir: &str) -> bool {
    matches!(dir.as_bytes(), b"io" | b"output")
}

macro_rules! wire {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident, $wire:literal) => {
        $wire
    };
}

macro_rules! out_name {
    ($input:expr) => {
        $input
    };
    ($input:expr, $out:literal) => {
        $out
    };
}

/// Declares a typed document (see the module docs for the line syntax).
macro_rules! document {
    (
        $(#[$doc:meta])*
        $name:ident = $tag:literal $(, what = $what:literal)? {
            $( @key $key:ident; )?
            $( $(#[$fdoc:meta])* $dir:ident $field:ident $([$wire:literal])? $(/ $out:literal)? : $ty:ty ),* $(,)?
        }
        $( collections {
            $( $(#[$cdoc:meta])* $coll:ident : $cty:ty = $ctag:literal / $itag:literal ),* $(,)?
        } )?
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $(
                /// The document's key (its code), mandatory for puts.
                pub $key: String,
            )?
            $(
                $(#[$fdoc])*
                #[doc = concat!("\n\nSchema: `", stringify!($dir), "`", $("; output name `", $out, "`",)? ".")]
                pub $field: Option<$ty>,
            )*
            $( $(
                $(#[$cdoc])*
                #[doc = concat!("\n\n`<", $ctag, "><", $itag, "/>…</", $ctag, ">`")]
                pub $coll: Vec<$cty>,
            )* )?
            /// Attributes this type does not know, verbatim and in order (read only: never
            /// written by puts).
            pub extra: indexmap::IndexMap<String, String>,
            /// Child elements this type does not know (read only: never written by puts).
            pub children: Vec<$crate::record::Record>,
        }

        $( const _: () = assert!($crate::document::is_known(stringify!($dir))); )*

        $(
            impl $crate::put::Document for $name {
                const WHAT: &'static str = $what;
            }
        )?

        impl $crate::record::FromRecord for $name {
            fn start(_tag: &str) -> Self {
                $name::default()
            }

            fn attr(
                &mut self,
                k: &str,
                v: std::borrow::Cow<'_, str>,
            ) -> Result<(), $crate::record::FieldError> {
                match k {
                    $(
                        stringify!($key) => {
                            self.$key = v.into_owned();
                            Ok(())
                        }
                    )?
                    $(
                        $crate::document::wire!($field $(, $wire)?) $(| $out)? => {
                            $crate::document::set(&mut self.$field, k, v)
                        }
                    )*
                    _ => {
                        self.extra.insert(k.to_string(), v.into_owned());
                        Ok(())
                    }
                }
            }

            fn child(
                &mut self,
                child: $crate::record::Record,
            ) -> Result<(), $crate::record::FieldError> {
                $( $(
                    if child.tag.eq_ignore_ascii_case($ctag) {
                        for item in child.children {
                            if item.tag.eq_ignore_ascii_case($itag) {
                                let i = self.$coll.len();
                                self.$coll.push(
                                    <$cty as $crate::record::FromRecord>::from_record(item)
                                        .map_err(|e| e.within($ctag, $itag, i))?,
                                );
                            }
                        }
                        return Ok(());
                    }
                )* )?
                self.children.push(child);
                Ok(())
            }

            fn nested_start(&mut self, parent: &str, tag: &str) -> bool {
                let _ = (parent, tag);
                $( $(
                    if parent.eq_ignore_ascii_case($ctag) && tag.eq_ignore_ascii_case($itag) {
                        self.$coll.push(<$cty as $crate::record::FromRecord>::start(tag));
                        return true;
                    }
                )* )?
                false
            }

            fn nested_attr(
                &mut self,
                parent: &str,
                name: &str,
                value: std::borrow::Cow<'_, str>,
            ) -> Result<(), $crate::record::FieldError> {
                let _ = (parent, name, &value);
                $( $(
                    if parent.eq_ignore_ascii_case($ctag) {
                        let i = self.$coll.len().saturating_sub(1);
                        if let Some(item) = self.$coll.last_mut() {
                            return <$cty as $crate::record::FromRecord>::attr(item, name, value)
                                .map_err(|e| e.within($ctag, $itag, i));
                        }
                    }
                )* )?
                Ok(())
            }
        }

        impl $crate::put::ToRecord for $name {
            fn to_record(&self) -> $crate::record::Record {
                let mut r = $crate::record::Record::new($tag);
                $(
                    if !self.$key.is_empty() {
                        r.attrs.insert(stringify!($key).into(), self.$key.clone());
                    }
                )?
                $(
                    if $crate::document::is_input(stringify!($dir))
                        && let Some(v) = &self.$field
                    {
                        r.attrs.insert(
                            $crate::document::wire!($field $(, $wire)?).into(),
                            $crate::document::AttrValue::render(v),
                        );
                    }
                )*
                $( $(
                    if !self.$coll.is_empty() {
                        r.children.push($crate::record::Record {
                            tag: $ctag.into(),
                            children: self.$coll.iter().map($crate::put::ToRecord::to_record).collect(),
                            ..Default::default()
                        });
                    }
                )* )?
                r
            }

            fn to_output_record(&self) -> $crate::record::Record {
                let mut r = $crate::record::Record::new($tag);
                $(
                    r.attrs.insert(stringify!($key).into(), self.$key.clone());
                )?
                $(
                    if $crate::document::is_output(stringify!($dir))
                        && let Some(v) = &self.$field
                    {
                        const WIRE: &str = $crate::document::wire!($field $(, $wire)?);
                        let _ = WIRE;
                        r.attrs.insert(
                            $crate::document::out_name!(WIRE $(, $out)?).into(),
                            $crate::document::AttrValue::render(v),
                        );
                    }
                )*
                for (k, v) in &self.extra {
                    r.attrs.entry(k.clone()).or_insert_with(|| v.clone());
                }
                $( $(
                    if !self.$coll.is_empty() {
                        r.children.push($crate::record::Record {
                            tag: $ctag.into(),
                            children: self.$coll.iter().map($crate::put::ToRecord::to_output_record).collect(),
                            ..Default::default()
                        });
                    }
                )* )?
                r.children.extend(self.children.iter().cloned());
                r
            }
        }
    };
}

pub(crate) use {document, out_name, wire};

/// One custom "extra field" (`<datafields><data code content param/></datafields>`), the same
/// in every schema that has them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataField {
    /// Field code (string(32)).
    pub code: String,
    /// Value (string(2000)).
    pub content: String,
    /// Parameter (string(64)); often empty.
    pub param: String,
}

impl FromRecord for DataField {
    fn start(_tag: &str) -> Self {
        DataField::default()
    }

    /// `code`, `content` and `param`; other attributes of `<data>` are not in the schema.
    fn attr(&mut self, name: &str, value: Cow<'_, str>) -> Result<(), FieldError> {
        match name {
            "code" => self.code = value.into_owned(),
            "content" => self.content = value.into_owned(),
            "param" => self.param = value.into_owned(),
            _ => {}
        }
        Ok(())
    }

    fn child(&mut self, _child: Record) -> Result<(), FieldError> {
        Ok(())
    }
}

impl crate::put::ToRecord for DataField {
    fn to_record(&self) -> Record {
        Record::new("data")
            .attr("code", self.code.as_str())
            .attr("content", self.content.as_str())
            .attr("param", self.param.as_str())
    }

    fn to_output_record(&self) -> Record {
        self.to_record()
    }
}
