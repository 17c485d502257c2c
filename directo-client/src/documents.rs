//! Typed records for items, contacts, receipts, invoices and orders.
//!
//! Each type has the attributes of its XML Direct schema as typed `Option` fields (absent
//! and empty are `None`), `datafields`, the document rows where the schema has them
//! (`<rows><row …/></rows>`), every unknown attribute verbatim and in order in `extra`
//! (also values that do not parse as their type), and unknown child elements in `children`.
//! They read with [`Client::read`](crate::Client::read) and write with
//! [`Client::put`](crate::Client::put).

use std::borrow::Cow;

use indexmap::IndexMap;
use jiff::civil::{Date, DateTime};
use rust_decimal::Decimal;

use crate::customer::{DataField, datafields_from, datafields_record};
use crate::record::{FromRecord, Record};
use crate::values::{fmt_ts, parse_ts};
use crate::write::ToRecord;

/// A typed attribute value.
trait AttrValue: Sized {
    fn parse(raw: &str) -> Option<Self>;
    fn render(&self) -> String;
}

impl AttrValue for String {
    fn parse(raw: &str) -> Option<Self> {
        Some(raw.to_string())
    }
    fn render(&self) -> String {
        self.clone()
    }
}

impl AttrValue for i64 {
    fn parse(raw: &str) -> Option<Self> {
        raw.trim().parse().ok()
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl AttrValue for Decimal {
    fn parse(raw: &str) -> Option<Self> {
        raw.trim().parse().ok()
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl AttrValue for bool {
    fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        }
    }
    fn render(&self) -> String {
        if *self { "1" } else { "0" }.to_string()
    }
}

impl AttrValue for DateTime {
    fn parse(raw: &str) -> Option<Self> {
        parse_ts(raw)
    }
    fn render(&self) -> String {
        fmt_ts(*self)
    }
}

impl AttrValue for Date {
    fn parse(raw: &str) -> Option<Self> {
        parse_ts(raw).map(|dt| dt.date())
    }
    /// ISO `YYYY-MM-DD`, which Directo's input schemas accept.
    fn render(&self) -> String {
        self.to_string()
    }
}

macro_rules! document {
    (
        $(#[$doc:meta])*
        $name:ident = $tag:literal, what = $what:literal {
            $( $(#[$fdoc:meta])* $field:ident : $ty:ty ),* $(,)?
        }
        $( rows: $row:ty )?
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $( $(#[$fdoc])* #[doc = concat!("`", stringify!($field), "`")] pub $field: Option<$ty>, )*
            $(
                /// The document rows (`<rows><row …/></rows>`).
                pub rows: Vec<$row>,
            )?
            /// Custom extra fields (`<datafields>`).
            pub datafields: Vec<DataField>,
            /// Unknown attributes and unparsable values, verbatim and in order.
            pub extra: IndexMap<String, String>,
            /// Unknown child elements.
            pub children: Vec<Record>,
        }

        impl FromRecord for $name {
            fn start(_tag: &str) -> Self {
                $name::default()
            }

            fn attr(&mut self, k: &str, v: Cow<'_, str>) {
                match k {
                    $( stringify!($field) => {
                        if v.trim().is_empty() {
                            return;
                        }
                        match <$ty as AttrValue>::parse(&v) {
                            Some(x) => self.$field = Some(x),
                            None => {
                                self.extra.insert(k.to_string(), v.into_owned());
                            }
                        }
                    } )*
                    _ => {
                        self.extra.insert(k.to_string(), v.into_owned());
                    }
                }
            }

            fn child(&mut self, child: Record) {
                $(
                    if child.tag.eq_ignore_ascii_case("rows") {
                        let rows: &mut Vec<$row> = &mut self.rows;
                        rows.extend(child.children.into_iter().map(<$row>::from_record));
                        return;
                    }
                )?
                if child.tag.eq_ignore_ascii_case("datafields") {
                    self.datafields.extend(datafields_from(child));
                } else {
                    self.children.push(child);
                }
            }
        }

        impl ToRecord for $name {
            const WHAT: &'static str = $what;

            fn to_record(&self) -> Record {
                let mut r = Record::new($tag);
                $( if let Some(v) = &self.$field {
                    r.attrs.insert(stringify!($field).to_string(), AttrValue::render(v));
                } )*
                for (k, v) in &self.extra {
                    r.attrs.entry(k.clone()).or_insert_with(|| v.clone());
                }
                r.children.extend(datafields_record(&self.datafields));
                $(
                    let rows: &Vec<$row> = &self.rows;
                    if !rows.is_empty() {
                        r.children.push(Record {
                            tag: "rows".into(),
                            children: rows.iter().map(ToRecord::to_record).collect(),
                            ..Record::default()
                        });
                    }
                )?
                r.children.extend(self.children.iter().cloned());
                r
            }
        }
    };
}

document! {
    /// An item (`what=item`, `ws_artiklid.xsd`). `<supplieritems>`, legacy `<stocklevels>` and
    /// `<prices>` stay in `children`.
    Item = "item", what = "item" {
        code: String, name: String, description: String, class: String, class_name: String,
        sntracking: String, barcode: String, unit: String, salesprice: Decimal,
        accountlocal: String, vatcode: String, weight: Decimal, volume: Decimal,
        vatprice: Decimal, object: String, stock: String, supplier: String, url: String,
        cost: Decimal, closed: bool, ts: DateTime,
    }
}

document! {
    /// A contact person (`what=contact`, `ws_kontaktid.xsd`).
    Contact = "contact", what = "contact" {
        code: i64, customercode: String, suppliercode: String, name: String,
        address1: String, address2: String, address3: String, phone: String, email: String,
        comment: String, mobile: String, sex: String, firstname: String, lastname: String,
        birthday: DateTime, pid: String, closed: bool, ts: DateTime,
    }
}

document! {
    /// A receipt row (payment of one invoice).
    ReceiptRow = "row", what = "receipt" {
        invoice: String, order: String, aeg: DateTime, customer: String, customername: String,
        payment: Decimal, received: Decimal, bankcurrency: String, regno: String,
        invoicesum: Decimal, currencyrate: Decimal, description: String, account: String,
        rn: i64,
    }
}

document! {
    /// A receipt (`what=receipt`; read `ws_laekumised.xsd`, write `xml_IN_laekumised.xsd`:
    /// "receipts need document number + confirm").
    Receipt = "receipt", what = "receipt" {
        number: i64, date: Date, paymentmode: String, confirm: bool, confirmed: bool,
        description: String, reference: String, object: String, project: String, ts: DateTime,
    }
    rows: ReceiptRow
}

document! {
    /// An invoice row.
    InvoiceRow = "row", what = "invoice" {
        item: String, description: String, quantity: Decimal, price: Decimal, vatcode: String,
        account: String, unit: String, object: String, project: String,
    }
}

document! {
    /// A sales invoice (`what=invoice`, XML Direct `xml_IN_arved.xsd`). Old per-installation
    /// schemas with capitalised names (`Number`, `InvoiceDate`) land in `extra`; send them
    /// as [`Record`]s with [`Client::put_records`](crate::Client::put_records).
    Invoice = "invoice", what = "invoice" {
        number: i64, customercode: String, customername: String, date: Date, duedate: Date,
        currency: String, comment: String, vatzone: i64, language: String,
        paymentterm: String, paymenttotal: Decimal, confirm: bool, email: String,
        phone: String, address1: String, address2: String, address3: String,
        vatregno: String, customer_regno: String, customer_type: String, country: String,
        county: String, ts: DateTime,
    }
    rows: InvoiceRow
}

document! {
    /// An order row.
    OrderRow = "row", what = "order" {
        item: String, description: String, unit: String, quantity: Decimal, price: Decimal,
        discount: Decimal, vatcode: String, rn: i64,
    }
}

document! {
    /// A sales order (`what=order`). The XML Direct order schema is not in the reference;
    /// the attributes follow the invoice's naming. Legacy names (`customer_code`, `appkey`)
    /// go through `extra`.
    Order = "order", what = "order" {
        number: i64, date: DateTime, customercode: String, customername: String,
        email: String, phone: String, currency: String, comment: String, address1: String,
        address2: String, address3: String, country: String, paymentterm: String,
        confirm: bool, ts: DateTime,
    }
    rows: OrderRow
}

impl crate::Client {
    /// Creates or updates (`xd_update=1`) documents of a typed kind (`Invoice`, `Order`,
    /// `Receipt`, `Item`, `Contact`, `Customer`) in one `put=1` request; one
    /// [`PutResult`](crate::PutResult) per document. Not idempotent: see
    /// [`put_records`](Self::put_records).
    ///
    /// ```no_run
    /// # async fn run(client: directo_client::Client) -> Result<(), directo_client::Error> {
    /// use directo_client::{Invoice, InvoiceRow, PutMode};
    /// let invoice = Invoice {
    ///     number: Some(1001),
    ///     customercode: Some("C1".into()),
    ///     rows: vec![InvoiceRow { item: Some("SKU-1".into()), quantity: Some(2.into()), ..Default::default() }],
    ///     ..Default::default()
    /// };
    /// let results = client.put(&[invoice], PutMode::Create).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put<T: ToRecord>(
        &self,
        docs: &[T],
        mode: crate::PutMode,
    ) -> crate::Result<Vec<crate::PutResult>> {
        self.put_typed(docs, mode).await
    }
}
