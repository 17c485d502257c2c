//! Typed records for items, contacts, receipts, invoices and orders, declared from Directo's
//! schemas (see `document.rs` for the line syntax and the conformance table in the crate docs
//! for where each schema comes from).
//!
//! Every attribute is an `Option` (absent and empty are `None`); a put writes only the fields
//! that are set, under their input names, and never the output-only ones. Unknown attributes
//! are kept in `extra` and unknown child elements in `children` on reads, and never written.
//! They read with [`Client::read`](crate::Client::read) and write with
//! [`Client::put`](crate::Client::put).

use jiff::civil::{Date, DateTime};
use rust_decimal::Decimal;

use crate::document::{DataField, document};

document! {
    /// An item (`what=item`; output `ws_artiklid.xsd`, input `xml_IN_artiklid.xsd`).
    Item = "item", what = "item" {
        /// The item code, mandatory for puts.
        io code: String,
        io name: String,
        io description: String,
        io class: String,
        /// The class's name (output only).
        output class_name: String,
        /// `0` = no serial numbers, `1` = serial numbers, `2` = batch numbers (cannot be
        /// updated).
        io sntracking: i64,
        io barcode: String,
        input areacode: String,
        io unit: String,
        /// Sales price without VAT.
        io salesprice: Decimal,
        io accountlocal: String,
        input accounteu: String,
        input accountexport: String,
        io vatcode: String,
        input vatcodeeu: String,
        input vatcodeexport: String,
        /// The item type (wire name `type`): `0` = service, `1` = stock item, `2` = rental
        /// item (cannot be updated).
        input item_type ["type"]: i64,
        input minlevel: i64,
        input shelf: String,
        io weight: Decimal,
        io volume: Decimal,
        input warranty: Decimal,
        io package1: Decimal,
        io package2: Decimal,
        io cost: Decimal,
        io object: String,
        input recipe: String,
        input recipetorows: i64,
        input alert: String,
        /// `1` = closed.
        io closed: bool,
        io vatprice1: Decimal,
        io vatprice2: Decimal,
        io vatprice3: Decimal,
        io vatprice4: Decimal,
        io vatprice: Decimal,
        input priority: i64,
        io url: String,
        io supplier: String,
        input supplieritem: String,
        input maxlevel: Decimal,
        input abc: String,
        input cn8code: String,
        input cnkogus: Decimal,
        input vatcodeeu2: String,
        input vatcodeeu3: String,
        input vatcodeconcern: String,
        input accounteu2: String,
        input accounteu3: String,
        input accountconcern: String,
        input snclass: String,
        input normarrivaltime: Decimal,
        input replacement: String,
        input snrule: String,
        input project: String,
        /// Has variants (cannot be updated).
        input variants: bool,
        input autosn: String,
        io specialprice1: Decimal,
        io specialprice2: Decimal,
        io specialprice3: Decimal,
        io specialprice4: Decimal,
        io specialprice5: Decimal,
        io specialprice6: Decimal,
        io specialprice7: Decimal,
        io specialprice8: Decimal,
        io height: Decimal,
        io width: Decimal,
        io depth: Decimal,
        io grossweight: Decimal,
        input defaultquantity: Decimal,
        input giftcert: i64,
        input manufacturer: String,
        /// Stock (output only).
        output stock: String,
        /// Last changed (output only).
        output ts: DateTime,
    }
    collections {
        /// Custom extra fields.
        datafields: DataField = "datafields" / "data",
        /// Packages (input only).
        packages: ItemPackage = "packages" / "package",
        /// Supplier items.
        supplieritems: SupplierItem = "supplieritems" / "supplieritem",
        /// Stock limits per stock (input only).
        stocklimits: StockLimit = "stocklimits" / "stocklimit",
    }
}

document! {
    /// A package of an item (`<packages><package …/></packages>`, input only).
    ItemPackage = "package" {
        input class: String,
        /// The package type (wire name `type`).
        input package_type ["type"]: String,
        input height: Decimal,
        input width: Decimal,
        input length: Decimal,
        input volume: Decimal,
        input qty: Decimal,
        input packageweight: Decimal,
        input productweight: Decimal,
        input totalweight: Decimal,
        input totalvolume: Decimal,
        input barcode: String,
        input comment: String,
        input shelf: String,
    }
}

document! {
    /// A supplier's item (`<supplieritems><supplieritem …/></supplieritems>`).
    SupplierItem = "supplieritem" {
        io supplier: String,
        io supplieritem: String,
        io name: String,
        input price: Decimal,
        input normarrivaltime: Decimal,
        input object: String,
        io variant: String,
        io varianta: String,
        io variantb: String,
        io variantc: String,
        input variantd: String,
        input variante: Decimal,
        input variantf: Decimal,
        input variantg: Decimal,
        input varianth: Decimal,
        /// Sales price without VAT.
        input salesprice: Decimal,
        /// `1` = sales item, `0` = supplier item (cannot be updated).
        io sales: bool,
    }
}

document! {
    /// An item's stock limits in one stock (`<stocklimits><stocklimit …/></stocklimits>`,
    /// input only).
    StockLimit = "stocklimit" {
        input stock: String,
        input shelf: String,
        input variant: String,
        input minlevel: Decimal,
        input maxlevel: Decimal,
    }
}

document! {
    /// A contact person (`what=contact`; the wiki's contact page, output `ws_kontaktid.xsd`,
    /// input `xml_IN_kontaktid.xsd`, not vendored here). Leave `code` out to create a
    /// contact; it is the key for updates.
    Contact = "contact", what = "contact" {
        io code: i64,
        io customercode: String,
        /// The customer's name (the wiki's contact page).
        io customername: String,
        io suppliercode: String,
        /// The supplier's name (the wiki's contact page).
        io suppliername: String,
        io name: String,
        io address1: String,
        io address2: String,
        io address3: String,
        io phone: String,
        io email: String,
        io comment: String,
        io mobile: String,
        /// `1` = female, `0` = male.
        io sex: i64,
        io firstname: String,
        io lastname: String,
        io birthday: DateTime,
        /// Personal ID code.
        io pid: String,
        /// `1` = closed.
        io closed: bool,
        /// Last changed (output only).
        output ts: DateTime,
    }
    collections {
        /// Custom extra fields.
        datafields: DataField = "datafields" / "data",
    }
}

document! {
    /// A receipt row: a payment of one invoice or order.
    ReceiptRow = "row" {
        /// The invoice number.
        io invoice: i64,
        /// The order number (a prepayment).
        io order: i64,
        io aeg: DateTime,
        io customer: String,
        io customername: String,
        /// Paid (input only; defaults to `received` in the base currency).
        input payment: Decimal,
        input bankcurrency: String,
        io received: Decimal,
        input currencyrate: Decimal,
        input paymentfee: Decimal,
        input vatcode: i64,
        input paymentfeecurrency: String,
        input description: String,
        io regno: String,
        input bankaccount: String,
        input objects: String,
        input account: String,
        input fine: Decimal,
        /// Row number, 1..N.
        input rn: i64,
        /// The invoice's balance (output only).
        output invoicesum: Decimal,
    }
}

document! {
    /// A receipt (`what=receipt`; output `ws_laekumised.xsd`, input `xml_IN_laekumised.xsd`).
    /// `number` is mandatory for puts.
    Receipt = "receipt", what = "receipt" {
        io number: i64,
        /// Receipt time (defaults to now).
        input date: DateTime,
        input description: String,
        io paymentmode: String,
        input user: String,
        input reference: String,
        input object: String,
        input project: String,
        input location: String,
        /// Confirm the document (input).
        input confirm: bool,
        /// Confirmed (output).
        output confirmed: bool,
        /// Time (output, as text).
        output aeg: String,
        /// Last changed (output only).
        output ts: DateTime,
    }
    collections {
        /// The payments (`<rows><row …/></rows>`).
        rows: ReceiptRow = "rows" / "row",
    }
}

document! {
    /// An invoice row.
    InvoiceRow = "row" {
        io item: String,
        io description: String,
        io quantity: Decimal,
        io price: Decimal,
        io vatcode: String,
        io account: String,
        io unit: String,
        io object: String,
        io project: String,
    }
}

document! {
    /// A sales invoice (`what=invoice`): the attributes of `xml_IN_arved.xsd` as a client in
    /// live use writes them (the schema itself is not vendored here). Old per-installation
    /// schemas with capitalised names (`Number`, `InvoiceDate`) land in `extra`; send them as
    /// [`Record`](crate::Record)s with [`Client::put_records`](crate::Client::put_records)
    /// and a [`Target::new`](crate::Target::new).
    Invoice = "invoice", what = "invoice" {
        io number: i64,
        io customercode: String,
        io customername: String,
        io date: Date,
        io duedate: Date,
        io currency: String,
        io comment: String,
        /// `0` = local, `1` = EU, `2` = export.
        io vatzone: i64,
        io language: String,
        io paymentterm: String,
        /// A positive amount creates a receipt.
        io paymenttotal: Decimal,
        io confirm: bool,
        io email: String,
        io phone: String,
        io address1: String,
        io address2: String,
        io address3: String,
        io vatregno: String,
        io customer_regno: String,
        /// `0` = company, `1` = private person, `2` = government.
        io customer_type: String,
        io country: String,
        io county: String,
        /// Last changed (output only).
        output ts: DateTime,
    }
    collections {
        /// The invoice rows (`<rows><row …/></rows>`).
        rows: InvoiceRow = "rows" / "row",
    }
}

document! {
    /// An order row.
    OrderRow = "row" {
        io item: String,
        io description: String,
        io unit: String,
        io quantity: Decimal,
        io price: Decimal,
        io discount: Decimal,
        io vatcode: String,
        io rn: i64,
    }
}

document! {
    /// A sales order (`what=order`): `number`, `customercode`, `customername`, `date`,
    /// `paymentterm` and the rows as public client code writes them for
    /// `xml_IN_tellimused.xsd`; the other attributes follow the invoice's names (assumed: the
    /// schema is not vendored here). Legacy names (`customer_code`, `appkey`) go through
    /// [`Record`](crate::Record)s.
    Order = "order", what = "order" {
        io number: i64,
        io date: DateTime,
        io customercode: String,
        io customername: String,
        io email: String,
        io phone: String,
        io currency: String,
        io comment: String,
        io address1: String,
        io address2: String,
        io address3: String,
        io country: String,
        io paymentterm: String,
        io confirm: bool,
        /// Last changed (output only).
        output ts: DateTime,
    }
    collections {
        /// The order rows (`<rows><row …/></rows>`).
        rows: OrderRow = "rows" / "row",
    }
}
