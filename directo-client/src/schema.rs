//! Directo's schemas (`xml_IN_*.xsd` input, `ws_*.xsd` output), read from the vendored files
//! themselves (tests/fixtures/xsd) so that the client, the fake and the tests share one
//! source of truth.

use std::sync::LazyLock;

use crate::reader::RecordReader;
use crate::record::Record;

/// An attribute type of the input schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XsdType {
    String,
    Int,
    Decimal,
    DateTime,
}

impl XsdType {
    fn of(name: &str) -> XsdType {
        match name.rsplit(':').next().unwrap_or(name) {
            "int" | "integer" | "long" | "short" => XsdType::Int,
            "decimal" | "double" | "float" => XsdType::Decimal,
            "dateTime" => XsdType::DateTime,
            _ => XsdType::String,
        }
    }

    /// Why `value` is not of this type (the XSD's lexical space, as xmllint checks it), if
    /// it is not.
    pub(crate) fn check(self, value: &str) -> Option<String> {
        let v = value.trim();
        let ok = match self {
            XsdType::String => true,
            // xsd:int is 32 bits.
            XsdType::Int => v.parse::<i32>().is_ok() && !v.starts_with("+-"),
            XsdType::Decimal => is_decimal(v),
            XsdType::DateTime => is_datetime(v),
        };
        (!ok).then(|| match self {
            XsdType::Int => format!("{value:?} is not an xsd:int"),
            XsdType::Decimal => format!("{value:?} is not an xsd:decimal"),
            _ => format!("{value:?} is not an xsd:dateTime (YYYY-MM-DDThh:mm:ss)"),
        })
    }
}

fn is_decimal(v: &str) -> bool {
    let v = v.strip_prefix(['+', '-']).unwrap_or(v);
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    (!int.is_empty() || !frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

fn is_datetime(v: &str) -> bool {
    let Some((date, time)) = v.split_once('T') else {
        return false;
    };
    let time = time
        .strip_suffix('Z')
        .or_else(|| {
            let cut = time.len().checked_sub(6)?;
            let zone = &time[cut..];
            let b = zone.as_bytes();
            (matches!(b[0], b'+' | b'-') && b[3] == b':').then_some(&time[..cut])
        })
        .unwrap_or(time);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    date.len() == 10
        && hms.len() == 8
        && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit())
        && format!("{date}T{hms}")
            .parse::<jiff::civil::DateTime>()
            .is_ok()
}

/// One element of an input schema: its attributes and its child containers, in order.
#[derive(Debug)]
pub(crate) struct ElementSchema {
    pub(crate) name: String,
    pub(crate) attrs: Vec<AttrSchema>,
    pub(crate) containers: Vec<ContainerSchema>,
}

/// One attribute: its name, type, and the SQL field it maps to (`sql:field`), which is how an
/// input name and an output name are known to be the same field (`vatzone` / `vatregion`).
#[derive(Debug)]
pub(crate) struct AttrSchema {
    pub(crate) name: String,
    pub(crate) ty: XsdType,
    /// The documented length (characters), from the comment after the attribute
    /// (`<!-- length: 32; UI|Kood| -->`, `<!-- 255; … -->`, `<!-- 2 -->`).
    pub(crate) max_len: Option<usize>,
    #[cfg(feature = "fake")]
    pub(crate) sql: Option<String>,
}

impl ElementSchema {
    #[cfg(any(test, feature = "fake"))]
    pub(crate) fn attr(&self, name: &str) -> Option<XsdType> {
        self.attr_schema(name).map(|a| a.ty)
    }

    pub(crate) fn attr_schema(&self, name: &str) -> Option<&AttrSchema> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// This element's name for the SQL field `input`'s attribute `name` maps to.
    #[cfg(feature = "fake")]
    pub(crate) fn same_field<'a>(&'a self, input: &ElementSchema, name: &str) -> Option<&'a str> {
        let sql = input
            .attrs
            .iter()
            .find(|a| a.name == name)?
            .sql
            .as_deref()?;
        self.attrs
            .iter()
            .find(|a| a.sql.as_deref() == Some(sql))
            .map(|a| a.name.as_str())
    }
}

/// A child container (`<datafields>`) holding repeated items (`<data>`).
#[derive(Debug)]
pub(crate) struct ContainerSchema {
    pub(crate) name: String,
    pub(crate) item: ElementSchema,
}

/// One of Directo's schemas (`xml_IN_*.xsd` input, `ws_*.xsd` output):
/// `<root><record …>containers</record>…</root>`.
#[derive(Debug)]
pub(crate) struct Schema {
    /// The file name, for messages and the conformance table.
    pub(crate) file: &'static str,
    pub(crate) root: String,
    pub(crate) record: ElementSchema,
}

fn named<'a>(r: &'a Record, tag: &str) -> impl Iterator<Item = &'a Record> + use<'a> {
    let tag = tag.to_string();
    r.children.iter().filter(move |c| c.tag == tag)
}

fn path<'a>(r: &'a Record, tags: &[&str]) -> Option<&'a Record> {
    tags.iter().try_fold(r, |r, t| named(r, t).next())
}

/// Documented lengths: (element, attribute) → characters.
type Lengths = std::collections::HashMap<(String, String), usize>;

/// The length a comment right after an attribute documents: `length: 32; UI|Kood|`,
/// `255; UI|Nimi|`, `32` (a number alone, or before `;`). `4000 or infinite` is none.
fn length_in(comment: &str) -> Option<usize> {
    let c = comment.trim();
    let c = c.strip_prefix("length:").unwrap_or(c).trim_start();
    let digits = c.len() - c.trim_start_matches(|ch: char| ch.is_ascii_digit()).len();
    let rest = c[digits..].trim_start();
    (digits > 0 && (rest.is_empty() || rest.starts_with(';')))
        .then(|| c[..digits].parse().ok())
        .flatten()
}

/// The lengths documented in the comments of an XSD, per element and attribute.
fn lengths_of(text: &str) -> Lengths {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut elements: Vec<String> = Vec::new();
    let mut pending: Option<(String, String)> = None;
    let mut out = Lengths::new();
    let name_of = |e: &quick_xml::events::BytesStart<'_>| {
        e.try_get_attribute("name")
            .ok()
            .flatten()
            .map(|a| a.value.into_owned())
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                pending = None;
                if e.name().as_ref() == "xsd:element" {
                    elements.push(name_of(&e).unwrap_or_default());
                }
            }
            Ok(Event::Empty(e)) => {
                pending = None;
                if e.name().as_ref() == "xsd:attribute"
                    && let (Some(el), Some(attr)) = (elements.last(), name_of(&e))
                {
                    pending = Some((el.clone(), attr));
                }
            }
            Ok(Event::End(e)) => {
                pending = None;
                if e.name().as_ref() == "xsd:element" {
                    elements.pop();
                }
            }
            Ok(Event::Comment(c)) => {
                if let Some(key) = pending.take()
                    && let Some(n) = length_in(&c.xml10_content())
                {
                    out.insert(key, n);
                }
            }
            Ok(Event::Eof) | Err(_) => return out,
            Ok(_) => {}
        }
    }
}

fn attrs_of(complex: &Record, element: &str, lengths: &Lengths) -> Vec<AttrSchema> {
    named(complex, "xsd:attribute")
        .filter_map(|a| {
            let name = a.get("name")?.to_string();
            Some(AttrSchema {
                max_len: lengths.get(&(element.to_string(), name.clone())).copied(),
                name,
                ty: XsdType::of(a.get("type").unwrap_or("xsd:string")),
                #[cfg(feature = "fake")]
                sql: a.get("sql:field").map(str::to_string),
            })
        })
        .collect()
}

impl Schema {
    /// Reads the subset of XSD that Directo's schemas use. Panics on a file that does
    /// not have that shape: the files are vendored and tested.
    fn parse(file: &'static str, text: &str) -> Schema {
        let lengths = lengths_of(text);
        let doc: Record = RecordReader::new(text.as_bytes(), "xsd:schema")
            .next()
            .and_then(|r| r.ok())
            .unwrap_or_else(|| panic!("{file}: not an XSD"));
        let top: Vec<&Record> = named(&doc, "xsd:element").collect();
        let global = |name: &str| top.iter().copied().find(|e| e.get("name") == Some(name));
        let (root, record) = top
            .iter()
            .find_map(|e| {
                let rec = path(e, &["xsd:complexType", "xsd:sequence", "xsd:element"])?;
                Some((*e, rec))
            })
            .unwrap_or_else(|| panic!("{file}: no root with records"));
        let complex = path(record, &["xsd:complexType"]).expect("record type");
        let containers = path(complex, &["xsd:sequence"])
            .map(|seq| {
                named(seq, "xsd:element")
                    .map(|c| {
                        let item_ref = path(c, &["xsd:complexType", "xsd:sequence", "xsd:element"])
                            .and_then(|e| e.get("ref").or_else(|| e.get("name")))
                            .unwrap_or_else(|| panic!("{file}: container without items"));
                        let item = global(item_ref)
                            .and_then(|e| path(e, &["xsd:complexType"]))
                            .unwrap_or_else(|| panic!("{file}: no element {item_ref}"));
                        ContainerSchema {
                            name: c.get("name").unwrap_or_default().to_string(),
                            item: ElementSchema {
                                name: item_ref.to_string(),
                                attrs: attrs_of(item, item_ref, &lengths),
                                containers: Vec::new(),
                            },
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let record_name = record.get("name").unwrap_or_default();
        Schema {
            file,
            root: root.get("name").unwrap_or_default().to_string(),
            record: ElementSchema {
                name: record_name.to_string(),
                attrs: attrs_of(complex, record_name, &lengths),
                containers,
            },
        }
    }
}

macro_rules! xsd {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!("../tests/fixtures/xsd/", $file)),
        )
    };
}

/// The vendored input schemas (tests/fixtures/xsd; Directo's files as published in
/// 5dvision/directo `resources/xsd/`).
static SCHEMAS: LazyLock<Vec<Schema>> = LazyLock::new(|| {
    [
        xsd!("xml_IN_kliendid.xsd"),
        xsd!("xml_IN_artiklid.xsd"),
        xsd!("xml_IN_laekumised.xsd"),
    ]
    .into_iter()
    .map(|(file, text)| Schema::parse(file, text))
    .collect()
});

/// The vendored output schemas, which the fake answers reads in.
#[cfg(feature = "fake")]
static OUTPUT_SCHEMAS: LazyLock<Vec<(&'static str, Schema)>> = LazyLock::new(|| {
    [
        ("customer", xsd!("ws_kliendid.xsd")),
        ("item", xsd!("ws_artiklid.xsd")),
        ("receipt", xsd!("ws_laekumised.xsd")),
    ]
    .into_iter()
    .map(|(what, (file, text))| (what, Schema::parse(file, text)))
    .collect()
});

/// The output schema of `what`, if one is vendored.
#[cfg(feature = "fake")]
pub(crate) fn output_schema(what: &str) -> Option<&'static Schema> {
    OUTPUT_SCHEMAS
        .iter()
        .find(|(w, _)| *w == what)
        .map(|(_, s)| s)
}

/// `record` with every container of `el` present, in the schema's order (empty where it had
/// none), and its other children after them; nothing is checked.
#[cfg(feature = "fake")]
pub(crate) fn with_containers(el: &ElementSchema, record: &Record) -> Record {
    let mut out = Record {
        tag: record.tag.clone(),
        attrs: record.attrs.clone(),
        text: record.text.clone(),
        ..Record::default()
    };
    for container in &el.containers {
        out.children.push(
            record
                .children
                .iter()
                .find(|c| c.tag == container.name)
                .cloned()
                .unwrap_or_else(|| Record::new(container.name.as_str())),
        );
    }
    out.children.extend(
        record
            .children
            .iter()
            .filter(|c| !el.containers.iter().any(|k| k.name == c.tag))
            .cloned(),
    );
    out
}

pub(crate) fn schema(file: &str) -> &'static Schema {
    SCHEMAS
        .iter()
        .find(|s| s.file == file)
        .expect("vendored schema")
}

#[cfg(test)]
mod length_tests {
    use super::*;

    #[test]
    fn documented_lengths_are_read_from_the_comments() {
        assert_eq!(length_in(" length: 32; UI|Kood| "), Some(32));
        assert_eq!(length_in(" 255; UI|Nimi| "), Some(255));
        assert_eq!(length_in(" 32 "), Some(32));
        assert_eq!(length_in(" 4000 or infinite (slower); UI|x| "), None);
        assert_eq!(length_in(" UI|Märgukirjad| "), None);
        let customer = &schema("xml_IN_kliendid.xsd").record;
        let len = |el: &ElementSchema, a: &str| el.attr_schema(a).unwrap().max_len;
        assert_eq!(len(customer, "code"), Some(32));
        assert_eq!(len(customer, "country"), Some(2));
        assert_eq!(len(customer, "name"), Some(255));
        assert_eq!(len(customer, "notice"), None);
        let data = &customer.containers[0].item;
        assert_eq!(len(data, "content"), Some(2000));
        assert_eq!(len(data, "param"), Some(64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_schemas_read_as_expected() {
        let k = schema("xml_IN_kliendid.xsd");
        assert_eq!(
            (k.root.as_str(), k.record.name.as_str()),
            ("customers", "customer")
        );
        assert_eq!(k.record.attr("vatzone"), Some(XsdType::Int));
        assert_eq!(k.record.attr("birthday"), Some(XsdType::DateTime));
        assert_eq!(k.record.attr("vatregion"), None);
        assert_eq!(k.record.containers.len(), 1);
        assert_eq!(k.record.containers[0].item.name, "data");
        let a = schema("xml_IN_artiklid.xsd");
        let names: Vec<_> = a
            .record
            .containers
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["datafields", "packages", "supplieritems", "stocklimits"]
        );
        let r = schema("xml_IN_laekumised.xsd");
        assert_eq!(
            r.record.containers[0].item.attr("invoice"),
            Some(XsdType::Int)
        );
        assert_eq!(r.root, "receipts");
    }

    /// The output schema's names for the input fields, by SQL field.
    #[cfg(feature = "fake")]
    #[test]
    fn input_and_output_names_meet_by_sql_field() {
        let (input, output) = (
            schema("xml_IN_kliendid.xsd"),
            output_schema("customer").unwrap(),
        );
        assert_eq!(
            output.record.same_field(&input.record, "vatzone"),
            Some("vatregion")
        );
        assert_eq!(
            output.record.same_field(&input.record, "email"),
            Some("email")
        );
        assert_eq!(output.record.same_field(&input.record, "firstname"), None);
    }

    #[test]
    fn lexical_checks_follow_the_xsd_types() {
        assert!(XsdType::Int.check("2147483647").is_none());
        assert!(XsdType::Int.check("2147483648").is_some());
        assert!(XsdType::Int.check("1.5").is_some());
        for ok in ["1", "-1.50", ".5", "+3."] {
            assert!(XsdType::Decimal.check(ok).is_none(), "{ok}");
        }
        for bad in ["1,5", "", "1e3", "."] {
            assert!(XsdType::Decimal.check(bad).is_some(), "{bad}");
        }
        for ok in [
            "2026-06-11T00:00:00",
            "2026-06-11T10:30:00.123",
            "2026-06-11T10:30:00Z",
            "2026-06-11T10:30:00+02:00",
        ] {
            assert!(XsdType::DateTime.check(ok).is_none(), "{ok}");
        }
        for bad in [
            "2026-06-11",
            "11.06.2026",
            "2026-02-30T00:00:00",
            "2026-06-11 10:30:00",
        ] {
            assert!(XsdType::DateTime.check(bad).is_some(), "{bad}");
        }
    }
}
