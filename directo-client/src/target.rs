//! Where a put goes: the [`Target`] table (`what` → the `xmldata` root and record element,
//! with the source of each) and the checks a document passes before it is sent.
//!
//! For a target with a vendored input schema, every record is checked against it (attribute
//! names, value types, child elements, mandatory fields) and written in the schema's shape (its
//! child containers in order, empty ones included), so the `xmldata` validates.

use crate::error::{Error, Result};
use crate::record::Record;
use crate::schema::{ElementSchema, Schema, XsdType, schema};

/// How sure we are of a table entry (see the conformance table in the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Confidence {
    /// From Directo's own input schema or documentation.
    Documented,
    /// Seen in public client code that talks to Directo.
    SeenInClient,
    /// Our assumption: override it with [`Target::new`] if your Directo differs.
    Assumed,
}

/// One row of the put table.
#[derive(Debug)]
pub(crate) struct Known {
    pub(crate) what: &'static str,
    pub(crate) root: &'static str,
    pub(crate) record: &'static str,
    /// The vendored `xml_IN_*.xsd`, when there is one.
    pub(crate) xsd: Option<&'static str>,
    /// Attributes every document must carry ("mandatory" in the schema).
    pub(crate) required: &'static [&'static str],
    /// Attributes of which a new document (without `xd_update`) must carry at least one.
    pub(crate) required_on_create: &'static [&'static str],
    pub(crate) confidence: Confidence,
    pub(crate) source: &'static str,
    /// The key attribute a document is found by (`code` or `number`).
    pub(crate) key: &'static str,
}

/// The put table: every `what` whose `xmldata` root and record element are known, with the
/// source of each (the same table is in the crate docs).
pub(crate) const KNOWN: &[Known] = &[
    Known {
        what: "customer",
        root: "customers",
        record: "customer",
        xsd: Some("xml_IN_kliendid.xsd"),
        required: &["code"],
        // "email … mandatory" (comment in xml_IN_kliendid.xsd); Directo's own answer says
        // either will do: "Missing customer email or reg.no" (issue 22).
        required_on_create: &["email", "regno"],
        confidence: Confidence::Documented,
        key: "code",
        source: "xml_IN_kliendid.xsd",
    },
    Known {
        what: "item",
        root: "items",
        record: "item",
        xsd: Some("xml_IN_artiklid.xsd"),
        required: &["code"],
        required_on_create: &[],
        confidence: Confidence::Documented,
        key: "code",
        source: "xml_IN_artiklid.xsd",
    },
    Known {
        what: "receipt",
        root: "receipts",
        record: "receipt",
        xsd: Some("xml_IN_laekumised.xsd"),
        required: &["number"],
        required_on_create: &[],
        confidence: Confidence::Documented,
        key: "number",
        source: "xml_IN_laekumised.xsd; wiki en/xml_direct/muuk/receipt",
    },
    Known {
        what: "invoice",
        root: "invoices",
        record: "invoice",
        xsd: None,
        required: &[],
        required_on_create: &[],
        confidence: Confidence::SeenInClient,
        key: "number",
        source: "qbitsoftware/accounting-service directo/invoices.go (after xml_IN_arved.xsd)",
    },
    Known {
        what: "order",
        root: "orders",
        record: "order",
        xsd: None,
        required: &[],
        required_on_create: &[],
        confidence: Confidence::SeenInClient,
        key: "number",
        source: "public client code after xml_IN_tellimused.xsd; the WooCommerce Directo plugin",
    },
    Known {
        what: "delivery",
        root: "deliveries",
        record: "delivery",
        xsd: None,
        required: &[],
        required_on_create: &[],
        confidence: Confidence::SeenInClient,
        key: "number",
        source: "Protoshell/Directo-TCPlus-bridge lib/directo_client.rb",
    },
    Known {
        what: "movement",
        root: "movements",
        record: "movement",
        xsd: None,
        required: &[],
        required_on_create: &[],
        confidence: Confidence::SeenInClient,
        key: "number",
        source: "Protoshell/Directo-TCPlus-bridge lib/directo_client.rb",
    },
    Known {
        what: "contact",
        root: "contacts",
        record: "contact",
        xsd: None,
        required: &[],
        required_on_create: &[],
        confidence: Confidence::Assumed,
        key: "code",
        source: "assumed: the plural root every vendored input schema has (xml_IN_kontaktid.xsd is not public)",
    },
];

/// Where a put's documents go: the component (`what=`), the `xmldata` root element and the
/// record element. [`Target::of`] looks `what` up in the put table (from Directo's input
/// schemas and public client code, see the crate docs); [`Target::new`] names any other
/// component, or overrides an entry for a bespoke installation.
///
/// ```
/// use directo_client::Target;
/// let delivery = Target::of("delivery")?;
/// assert_eq!((delivery.root(), delivery.record()), ("deliveries", "delivery"));
/// assert!(Target::of("project").is_err()); // not in the table: name it
/// let project = Target::new("project", "projects", "project");
/// assert_eq!(project.what(), "project");
/// # Ok::<(), directo_client::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    what: String,
    root: String,
    record: String,
    known: Option<&'static str>,
}

impl Target {
    /// The table's entry for `what`; [`Error::InvalidInput`] when there is none.
    pub fn of(what: &str) -> Result<Target> {
        let known = KNOWN.iter().find(|k| k.what == what).ok_or_else(|| {
            let names: Vec<_> = KNOWN.iter().map(|k| k.what).collect();
            Error::InvalidInput(format!(
                "no input schema is known for what={what:?} (known: {}); name its root and record element with Target::new",
                names.join(", ")
            ))
        })?;
        // Where a schema is vendored, its own root and record element.
        let (root, record) = match known.xsd {
            Some(file) => {
                let s = schema(file);
                (s.root.clone(), s.record.name.clone())
            }
            None => (known.root.to_string(), known.record.to_string()),
        };
        Ok(Target {
            what: known.what.into(),
            root,
            record,
            known: Some(known.what),
        })
    }

    /// Any component, with its root and record element named explicitly. No schema checks
    /// are made: what you build is what is sent.
    pub fn new(
        what: impl Into<String>,
        root: impl Into<String>,
        record: impl Into<String>,
    ) -> Target {
        Target {
            what: what.into(),
            root: root.into(),
            record: record.into(),
            known: None,
        }
    }

    /// The component (`what=`).
    pub fn what(&self) -> &str {
        &self.what
    }

    /// The `xmldata` root element, e.g. `customers`.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The record element, e.g. `customer`.
    pub fn record(&self) -> &str {
        &self.record
    }

    /// How sure the table is of this target (`None` for [`Target::new`]).
    pub fn confidence(&self) -> Option<Confidence> {
        self.entry().map(|k| k.confidence)
    }

    /// Where the table's entry comes from (`None` for [`Target::new`]).
    pub fn source(&self) -> Option<&'static str> {
        self.entry().map(|k| k.source)
    }

    /// The attribute a document of this target is found by (`code` or `number`; `None` for
    /// [`Target::new`]).
    ///
    /// ```
    /// use directo_client::Target;
    /// assert_eq!(Target::of("receipt")?.key_attribute(), Some("number"));
    /// assert_eq!(Target::of("customer")?.key_attribute(), Some("code"));
    /// # Ok::<(), directo_client::Error>(())
    /// ```
    pub fn key_attribute(&self) -> Option<&'static str> {
        self.entry().map(|k| k.key)
    }

    /// Whether documents of this target may be deleted (`delete="1"`): where the input
    /// schema allows it. Receipts (the Go client used live sends `<receipt number
    /// delete="1"/>`, qbitsoftware/accounting-service `directo/payments.go`) and targets
    /// without a vendored schema may; customers and items may not (their schemas have no
    /// such attribute).
    ///
    /// ```
    /// use directo_client::Target;
    /// assert!(Target::of("receipt")?.allows_delete());
    /// assert!(!Target::of("customer")?.allows_delete());
    /// # Ok::<(), directo_client::Error>(())
    /// ```
    pub fn allows_delete(&self) -> bool {
        self.schema_file().is_none() || self.what == "receipt"
    }

    /// A delete document (`delete="1"`): its key and nothing else.
    fn prepare_delete(&self, record: &Record) -> Result<Record> {
        let refuse = |why: String| {
            Err(Error::InvalidInput(format!(
                "<{}> delete: {why}",
                self.record
            )))
        };
        if !self.allows_delete() {
            return refuse(format!(
                "{} has no delete attribute: Directo's input schema does not allow deleting what={}",
                self.schema_file().unwrap_or("the input schema"),
                self.what
            ));
        }
        if record.get("delete") != Some("1") {
            return refuse(format!(
                "delete={:?}: only delete=\"1\" is known",
                record.get("delete").unwrap_or_default()
            ));
        }
        let Some(key) = self.key_attribute() else {
            return Ok(record.clone());
        };
        if record.get(key).is_none_or(|v| v.trim().is_empty()) {
            return refuse(format!("without its {key}"));
        }
        if let Some(other) = record.attrs.keys().find(|k| *k != key && *k != "delete") {
            return refuse(format!(
                "carries {other:?}: a delete carries its {key} only"
            ));
        }
        if !record.children.is_empty() || record.text.is_some() {
            return refuse(format!("carries content: a delete carries its {key} only"));
        }
        Ok(record.clone())
    }

    /// The vendored input schema this target is checked against, if any.
    pub fn schema_file(&self) -> Option<&'static str> {
        self.entry().and_then(|k| k.xsd)
    }

    pub(crate) fn entry(&self) -> Option<&'static Known> {
        let what = self.known?;
        KNOWN.iter().find(|k| k.what == what)
    }

    pub(crate) fn schema(&self) -> Option<&'static Schema> {
        self.schema_file().map(schema)
    }

    /// Checks one document against the target (record element, the schema's attributes,
    /// value types and child elements, mandatory fields) and returns it in the schema's shape.
    pub(crate) fn prepare(&self, record: &Record, create: bool) -> Result<Record> {
        if record.tag != self.record {
            return Err(Error::InvalidInput(format!(
                "<{}> is not a <{}> document (what={})",
                record.tag, self.record, self.what
            )));
        }
        let delete = record.get("delete").is_some();
        let checked = if delete {
            self.prepare_delete(record)?
        } else {
            record.clone()
        };
        if let Some(entry) = self.entry() {
            let set = |name: &str| record.get(name).is_some_and(|v| !v.trim().is_empty());
            for name in entry.required {
                if !set(name) {
                    return Err(Error::InvalidInput(format!(
                        "<{}> without {name}: {name} is mandatory ({})",
                        self.record, entry.source
                    )));
                }
            }
            let any = entry.required_on_create;
            if create && !delete && !any.is_empty() && !any.iter().any(|n| set(n)) {
                return Err(Error::InvalidInput(format!(
                    "a new <{}> needs {} (\"Missing customer email or reg.no\"; {})",
                    self.record,
                    any.join(" or "),
                    entry.source
                )));
            }
            // "Document numbers are integers, so the maximum is 2147483647" (wiki
            // `en/xmlcore`).
            if let Some(number) = record.get("number")
                && !number
                    .trim()
                    .parse::<i64>()
                    .is_ok_and(|n| (0..=i64::from(i32::MAX)).contains(&n))
            {
                return Err(Error::InvalidInput(format!(
                    "<{}> number {number:?}: document numbers are integers from 0 to 2147483647 (wiki en/xmlcore)",
                    self.record
                )));
            }
        }
        match self.schema() {
            // A delete is its key alone, not the schema's shape (see `allows_delete`).
            _ if delete => Ok(checked),
            Some(schema) => shape(&schema.record, record, schema.file),
            None => Ok(checked),
        }
    }
}

/// `record` checked against `el` and rebuilt in its shape.
fn shape(el: &ElementSchema, record: &Record, file: &str) -> Result<Record> {
    let bad = |msg: String| {
        Err(Error::InvalidInput(format!(
            "<{}>: {msg} ({file})",
            el.name
        )))
    };
    for (name, value) in &record.attrs {
        if name == "session_id" {
            return bad("session_id is Directo's own field: do not send it".into());
        }
        match el.attr_schema(name) {
            None => return bad(format!("attribute {name:?} is not in the input schema")),
            Some(a) => {
                if let Some(reason) = a.ty.check(value) {
                    return bad(format!("{name}: {reason}"));
                }
                // The documented length of a string (the schema's comment, e.g. "length:
                // 32"), in characters; an xsd:int is bounded by its type.
                if a.ty == XsdType::String
                    && let Some(max) = a.max_len
                    && value.chars().count() > max
                {
                    return bad(format!(
                        "{name}: {} characters, over the documented {max}",
                        value.chars().count()
                    ));
                }
            }
        }
    }
    if record.text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        return bad("text content is not allowed".into());
    }
    for child in &record.children {
        if !el.containers.iter().any(|c| c.name == child.tag) {
            return bad(format!(
                "element <{}> is not in the input schema",
                child.tag
            ));
        }
    }
    let mut out = Record {
        tag: record.tag.clone(),
        attrs: record.attrs.clone(),
        ..Record::default()
    };
    for container in &el.containers {
        let mut items = Record::new(container.name.as_str());
        for child in record.children.iter().filter(|c| c.tag == container.name) {
            for item in &child.children {
                if item.tag != container.item.name {
                    return bad(format!(
                        "<{}> holds <{}> elements, not <{}>",
                        container.name, container.item.name, item.tag
                    ));
                }
                items.children.push(shape(&container.item, item, file)?);
            }
        }
        out.children.push(items);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's roots and record elements are the schemas' own, where there is one.
    #[test]
    fn the_table_agrees_with_the_schemas() {
        for k in KNOWN {
            if let Some(file) = k.xsd {
                let s = schema(file);
                assert_eq!(
                    (s.root.as_str(), s.record.name.as_str()),
                    (k.root, k.record),
                    "{file}"
                );
                assert_eq!(k.confidence, Confidence::Documented);
            }
            for a in k.required {
                if let Some(file) = k.xsd {
                    assert!(schema(file).record.attr(a).is_some(), "{a} in {file}");
                }
            }
        }
    }
}
