//! Customers (`what=customer`): the typed [`Customer`], its read stream and its writes.

use std::borrow::Cow;

use indexmap::IndexMap;
use jiff::civil::DateTime;
use rust_decimal::Decimal;

use crate::client::{Client, RecordStream};
use crate::error::Result;
use crate::query::Query;
use crate::record::{FromRecord, Record};
#[cfg(feature = "fake")]
use crate::values::fmt_ts;
use crate::values::parse_ts;
use crate::write::{PutMode, PutResult, ToRecord};

/// One custom "extra field" (`<datafields><data code content param/></datafields>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataField {
    /// Field code (string(32)).
    pub code: String,
    /// Value (string(2000)).
    pub content: String,
    /// Parameter (string(64)); often empty.
    pub param: String,
}

/// A customer, with every attribute of the XML Direct schema (`ws_kliendid.xsd` /
/// `xml_IN_kliendid.xsd`). Absent and empty attributes are `None`. Attributes this type does
/// not know (legacy `pricelist`, IN-only `type`, `firstname`, …) and values that do not parse
/// (a `balance` that is not a number) are kept verbatim, in order, in [`extra`](Self::extra);
/// unknown child elements in [`children`](Self::children).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)] // the fields are the schema's attributes, named as on the wire
pub struct Customer {
    /// Customer code, the key (string(32)).
    pub code: String,
    pub name: Option<String>,
    pub object: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub address3: Option<String>,
    pub deliveryaddress1: Option<String>,
    pub deliveryaddress2: Option<String>,
    pub deliveryaddress3: Option<String>,
    /// ISO country code.
    pub country: Option<String>,
    pub county: Option<String>,
    /// Representative.
    pub contact: Option<String>,
    pub phone: Option<String>,
    /// May be missing, and may hold several addresses (not verified).
    pub email: Option<String>,
    pub regno: Option<String>,
    /// Loyalty card, also used for a personal ID code.
    pub loyaltycard: Option<String>,
    pub vatregno: Option<String>,
    pub class: Option<String>,
    pub comment: Option<String>,
    pub payterm: Option<String>,
    /// 0 = local, 1 = EU, 2 = export.
    pub vatregion: Option<i32>,
    pub priceformula: Option<String>,
    pub specialpriceformula: Option<String>,
    pub balance: Option<Decimal>,
    pub creditlimit: Option<Decimal>,
    pub creditbalance: Option<Decimal>,
    /// 1 = delivery + invoice, 0 = delivery.
    pub deliveryinvoice: Option<i32>,
    pub salesman: Option<String>,
    pub currency: Option<String>,
    /// Discount in %.
    pub discount: Option<Decimal>,
    /// `closed="1"`.
    pub closed: bool,
    /// Last changed (Directo local time, no zone). Output only: not sent on writes.
    pub ts: Option<DateTime>,
    /// Custom extra fields.
    pub datafields: Vec<DataField>,
    /// Unknown attributes, verbatim and in order.
    pub extra: IndexMap<String, String>,
    /// Unknown child elements.
    pub children: Vec<Record>,
}

impl Customer {
    /// A customer with this code and nothing else.
    pub fn new(code: impl Into<String>) -> Self {
        Customer {
            code: code.into(),
            ..Customer::default()
        }
    }

    /// The e-mail, when present and not blank (what a sync to a mailing tool wants).
    pub fn email(&self) -> Option<&str> {
        self.email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
    }
}

fn opt(v: Cow<'_, str>) -> Option<String> {
    (!v.is_empty()).then(|| v.into_owned())
}

/// Parses `v` as `T`, or keeps it raw in `extra`.
fn parsed<T: std::str::FromStr>(
    key: &str,
    v: Cow<'_, str>,
    extra: &mut IndexMap<String, String>,
) -> Option<T> {
    if v.trim().is_empty() {
        return None;
    }
    match v.trim().parse() {
        Ok(x) => Some(x),
        Err(_) => {
            extra.insert(key.to_string(), v.into_owned());
            None
        }
    }
}

/// `<datafields><data …/>…</datafields>` as [`DataField`]s.
pub(crate) fn datafields_from(child: Record) -> impl Iterator<Item = DataField> {
    child.children.into_iter().map(|d| {
        let mut field = DataField::default();
        for (k, v) in d.attrs {
            field.set(&k, Cow::Owned(v));
        }
        field
    })
}

impl DataField {
    /// Sets `code`, `content` or `param`; other attributes of `<data>` are not kept.
    fn set(&mut self, name: &str, value: Cow<'_, str>) {
        match name {
            "code" => self.code = value.into_owned(),
            "content" => self.content = value.into_owned(),
            "param" => self.param = value.into_owned(),
            _ => {}
        }
    }
}

pub(crate) fn datafields_record(fields: &[DataField]) -> Option<Record> {
    (!fields.is_empty()).then(|| Record {
        tag: "datafields".into(),
        children: fields
            .iter()
            .map(|d| {
                Record::new("data")
                    .attr("code", d.code.as_str())
                    .attr("content", d.content.as_str())
                    .attr("param", d.param.as_str())
            })
            .collect(),
        ..Record::default()
    })
}

impl FromRecord for Customer {
    fn start(_tag: &str) -> Self {
        Customer::default()
    }

    fn child(&mut self, child: Record) {
        if child.tag.eq_ignore_ascii_case("datafields") {
            self.datafields.extend(datafields_from(child));
        } else {
            self.children.push(child);
        }
    }

    fn nested_start(&mut self, parent: &str, tag: &str) -> bool {
        let data = parent.eq_ignore_ascii_case("datafields") && tag.eq_ignore_ascii_case("data");
        if data {
            self.datafields.push(DataField::default());
        }
        data
    }

    fn nested_attr(&mut self, name: &str, value: Cow<'_, str>) {
        if let Some(field) = self.datafields.last_mut() {
            field.set(name, value);
        }
    }

    fn attr(&mut self, k: &str, v: Cow<'_, str>) {
        let c = self;
        {
            match k {
                "code" => c.code = v.into_owned(),
                "name" => c.name = opt(v),
                "object" => c.object = opt(v),
                "address1" => c.address1 = opt(v),
                "address2" => c.address2 = opt(v),
                "address3" => c.address3 = opt(v),
                "deliveryaddress1" => c.deliveryaddress1 = opt(v),
                "deliveryaddress2" => c.deliveryaddress2 = opt(v),
                "deliveryaddress3" => c.deliveryaddress3 = opt(v),
                "country" => c.country = opt(v),
                "county" => c.county = opt(v),
                "contact" => c.contact = opt(v),
                "phone" => c.phone = opt(v),
                "email" => c.email = opt(v),
                "regno" => c.regno = opt(v),
                "loyaltycard" => c.loyaltycard = opt(v),
                "vatregno" => c.vatregno = opt(v),
                "class" => c.class = opt(v),
                "comment" => c.comment = opt(v),
                "payterm" => c.payterm = opt(v),
                "vatregion" => c.vatregion = parsed(k, v, &mut c.extra),
                "priceformula" => c.priceformula = opt(v),
                "specialpriceformula" => c.specialpriceformula = opt(v),
                "balance" => c.balance = parsed(k, v, &mut c.extra),
                "creditlimit" => c.creditlimit = parsed(k, v, &mut c.extra),
                "creditbalance" => c.creditbalance = parsed(k, v, &mut c.extra),
                "deliveryinvoice" => c.deliveryinvoice = parsed(k, v, &mut c.extra),
                "salesman" => c.salesman = opt(v),
                "currency" => c.currency = opt(v),
                "discount" => c.discount = parsed(k, v, &mut c.extra),
                "closed" => match v.trim() {
                    "1" => c.closed = true,
                    "0" | "" => {}
                    _ => {
                        c.extra.insert(k.to_string(), v.into_owned());
                    }
                },
                "ts" => match parse_ts(&v) {
                    Some(ts) => c.ts = Some(ts),
                    None if v.trim().is_empty() => {}
                    None => {
                        c.extra.insert(k.to_string(), v.into_owned());
                    }
                },
                _ => {
                    c.extra.insert(k.to_string(), v.into_owned());
                }
            }
        }
    }
}

impl ToRecord for Customer {
    const WHAT: &'static str = "customer";

    fn to_record(&self) -> Record {
        let mut r = Record::new("customer").attr("code", self.code.as_str());
        let strings = [
            ("name", &self.name),
            ("object", &self.object),
            ("address1", &self.address1),
            ("address2", &self.address2),
            ("address3", &self.address3),
            ("deliveryaddress1", &self.deliveryaddress1),
            ("deliveryaddress2", &self.deliveryaddress2),
            ("deliveryaddress3", &self.deliveryaddress3),
            ("country", &self.country),
            ("county", &self.county),
            ("contact", &self.contact),
            ("phone", &self.phone),
            ("email", &self.email),
            ("regno", &self.regno),
            ("loyaltycard", &self.loyaltycard),
            ("vatregno", &self.vatregno),
            ("class", &self.class),
            ("comment", &self.comment),
            ("payterm", &self.payterm),
            ("priceformula", &self.priceformula),
            ("specialpriceformula", &self.specialpriceformula),
            ("salesman", &self.salesman),
            ("currency", &self.currency),
        ];
        for (k, v) in strings {
            if let Some(v) = v {
                r.attrs.insert(k.into(), v.clone());
            }
        }
        let numbers = [
            ("vatregion", self.vatregion.map(|v| v.to_string())),
            ("balance", self.balance.map(|v| v.to_string())),
            ("creditlimit", self.creditlimit.map(|v| v.to_string())),
            ("creditbalance", self.creditbalance.map(|v| v.to_string())),
            (
                "deliveryinvoice",
                self.deliveryinvoice.map(|v| v.to_string()),
            ),
            ("discount", self.discount.map(|v| v.to_string())),
        ];
        for (k, v) in numbers {
            if let Some(v) = v {
                r.attrs.insert(k.into(), v);
            }
        }
        r.attrs
            .insert("closed".into(), if self.closed { "1" } else { "0" }.into());
        for (k, v) in &self.extra {
            r.attrs.entry(k.clone()).or_insert_with(|| v.clone());
        }
        r.children.extend(datafields_record(&self.datafields));
        r.children.extend(self.children.iter().cloned());
        r
    }
}

/// Writes a customer's `ts` the way Directo sends it (`YYYY-MM-DDThh:mm:ss`); for fakes.
#[cfg(feature = "fake")]
pub(crate) fn customer_with_ts(c: &Customer) -> Record {
    let mut r = c.to_record();
    if let Some(ts) = c.ts {
        r.attrs.insert("ts".into(), fmt_ts(ts));
    }
    r
}

impl Client {
    /// Streams customers (`get=1&what=customer` plus the query's filters and `ts`), yielding
    /// each one while the response is still arriving. Idempotent (retried on transient
    /// failures before the body starts).
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::FakeDirecto, Customer, Query};
    /// use futures::TryStreamExt;
    /// use jiff::civil::date;
    /// let fake = FakeDirecto::start().await;
    /// let mut mari = Customer::new("C1");
    /// mari.email = Some("mari@example.ee".into());
    /// mari.ts = Some(date(2026, 1, 12).at(9, 30, 0, 0));
    /// let mut old = Customer::new("C0");
    /// old.ts = Some(date(2020, 5, 1).at(0, 0, 0, 0));
    /// fake.seed_customers([mari, old]);
    /// // ts=12.01.2026 (a `DateTime` sends `12.01.2026 HH:MM`)
    /// let changed: Vec<Customer> =
    ///     fake.client().customers(Query::new().since(date(2026, 1, 12))).try_collect().await?;
    /// assert_eq!(changed.len(), 1);
    /// assert_eq!(changed[0].email(), Some("mari@example.ee"));
    /// # Ok::<(), directo_client::Error>(()) }).unwrap();
    /// ```
    pub fn customers(&self, query: Query) -> RecordStream<Customer> {
        self.read::<Customer>("customer", query)
    }

    /// Creates (`mode = Create`) or updates (`Update`, sends `xd_update=1`) customers in one
    /// `put=1&what=customer` request; one [`PutResult`] per document. Not blindly retried.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::FakeDirecto, Customer, PutMode};
    /// let fake = FakeDirecto::start().await;
    /// let mut tom = Customer::new("C42");
    /// tom.name = Some(r#"Tom & "Jerry" <OÜ>"#.into());
    /// tom.email = Some("tom@example.ee".into());
    /// let results = fake.client().put_customers(&[tom.clone()], PutMode::Create).await?;
    /// assert!(results[0].is_success());
    /// assert_eq!(fake.customers()[0].name, tom.name); // escaped on the wire, intact here
    /// assert!(!fake.puts()[0].update); // `xd_update=1` only with `PutMode::Update`
    /// # Ok::<(), directo_client::Error>(()) }).unwrap();
    /// ```
    pub async fn put_customers(
        &self,
        customers: &[Customer],
        mode: PutMode,
    ) -> Result<Vec<PutResult>> {
        self.put_typed(customers, mode).await
    }
}
