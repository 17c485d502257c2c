//! Customers (`what=customer`): the typed [`Customer`] and its read stream.

use crate::client::{Client, RecordStream};
use crate::document::{DataField, document};
use crate::query::Query;

document! {
    /// A customer, with every attribute of Directo's customer schemas: the output
    /// `ws_kliendid.xsd` (what reads return) and the input `xml_IN_kliendid.xsd` (what puts
    /// send). Absent and empty attributes are `None`; a put writes only the fields that are
    /// set, under their input names (`vatzone`, which reads also accept as `vatregion`), and
    /// never the output-only ones (`balance`, `creditbalance`, `ts`).
    ///
    /// A value that does not fit its field (a `balance` that is not a number) makes the
    /// record an [`Error::Record`](crate::Error::Record); attributes this type does not know
    /// (legacy `pricelist`, …) are kept in [`extra`](Self::extra).
    ///
    /// ```
    /// use directo_client::{Customer, ToRecord};
    /// let mut c = Customer::new("C1");
    /// c.email = Some("mari@example.ee".into());
    /// c.vatzone = Some(1);
    /// c.balance = Some(12.into()); // output only: never sent
    /// let r = c.to_record();
    /// assert_eq!(r.attrs.keys().collect::<Vec<_>>(), ["code", "email", "vatzone"]);
    /// ```
    Customer = "customer", what = "customer" {
        @key code;
        io name: String,
        io object: String,
        io address1: String,
        io address2: String,
        io address3: String,
        io deliveryaddress1: String,
        io deliveryaddress2: String,
        io deliveryaddress3: String,
        io county: String,
        /// ISO country code.
        io country: String,
        /// Representative.
        io contact: String,
        io phone: String,
        /// Mandatory when creating a customer (`xml_IN_kliendid.xsd`). May hold several
        /// addresses (not verified).
        io email: String,
        io regno: String,
        io vatregno: String,
        /// Reminder letters (`1` = yes).
        input notice: bool,
        input birthday: jiff::civil::DateTime,
        /// `1` = female, `0` = male.
        input gender: i64,
        io class: String,
        /// The customer type (wire name `type`): `0` = company, `1` = private person,
        /// `2` = government institution.
        input customer_type ["type"]: i64,
        /// Loyalty card, also used for a personal ID code.
        io loyaltycard: String,
        input deliveryname: String,
        input deliverymode: String,
        input alert: String,
        input factoring: String,
        input fax: String,
        io comment: String,
        io payterm: String,
        /// VAT zone: `0` = local, `1` = EU, `2` = export (one SQL field, `maa`, named
        /// `vatzone` on input and `vatregion` on output).
        io vatzone / "vatregion": i64,
        input language: String,
        io salesman: String,
        input bank: String,
        input bankaccount: String,
        input url: String,
        input status: String,
        input accountmanager: String,
        input dealtype: String,
        io creditlimit: rust_decimal::Decimal,
        io priceformula: String,
        io specialpriceformula: String,
        /// Discount in %.
        io discount: rust_decimal::Decimal,
        input destination: String,
        input firstname: String,
        input lastname: String,
        input vatcode: i64,
        input extcode: String,
        /// `1` = delivery and invoice, `0` = delivery.
        io deliveryinvoice: i64,
        io currency: String,
        input deliveryterm: String,
        /// Confirming sends an automatic RIK e-invoice (`1` = yes).
        input rikeinvoice: bool,
        /// `1` = closed.
        io closed: bool,
        /// Balance (output only).
        output balance: rust_decimal::Decimal,
        /// Credit balance (output only).
        output creditbalance: rust_decimal::Decimal,
        /// Last changed, Directo local time without a zone (output only).
        output ts: jiff::civil::DateTime,
    }
    collections {
        /// Custom extra fields.
        datafields: DataField = "datafields" / "data",
    }
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

impl Client {
    /// Streams customers (`get=1&what=customer` plus the query's filters and `ts`), yielding
    /// each one while the response is still arriving. Idempotent (retried on transient
    /// failures before the body starts). A customer whose values cannot be decoded is an
    /// [`Error::Record`](crate::Error::Record) item, and the stream goes on.
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
}
