//! Directo records for the end-to-end tests: invoices, receipts and customers to seed
//! `FakeDirecto` with, and the `DIRECTO_*` variables that point a sync at the fake.

use directo_client::fake::FakeDirecto;
use directo_client::{Customer, Invoice, InvoiceRow, Receipt, ReceiptRow, Record, ToRecord};

/// `DIRECTO_URL` and `DIRECTO_TOKEN` for the fake.
pub fn env(fake: &FakeDirecto) -> [(&'static str, String); 2] {
    [
        ("DIRECTO_URL", fake.base_url()),
        ("DIRECTO_TOKEN", FakeDirecto::TOKEN.to_owned()),
    ]
}

/// One invoice row: item code, description, quantity, unit price.
pub type Row<'a> = (&'a str, &'a str, &'a str, &'a str);

/// An invoice as Directo sends it; `number` and `total` are raw attribute text, so bad values
/// can be seeded. `email` may be empty (left out).
pub fn invoice(number: &str, email: &str, total: &str, ts: &str, rows: &[Row<'_>]) -> Record {
    let mut invoice = Invoice {
        customercode: Some(format!("C-{number}")),
        date: Some(ts[..10].parse().unwrap()),
        currency: Some("EUR".into()),
        email: (!email.is_empty()).then(|| email.to_owned()),
        ts: Some(ts.parse().unwrap()),
        rows: rows
            .iter()
            .map(|(item, description, quantity, price)| InvoiceRow {
                item: (!item.is_empty()).then(|| (*item).to_owned()),
                description: (!description.is_empty()).then(|| (*description).to_owned()),
                quantity: quantity.parse().ok(),
                price: price.parse().ok(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    invoice.extra.insert("number".into(), number.into());
    invoice.extra.insert("total".into(), total.into());
    invoice.to_output_record()
}

/// A confirmed receipt paying `received` of invoice `invoice`.
pub fn receipt(number: i64, invoice: &str, received: &str, ts: &str) -> Record {
    Receipt {
        number: Some(number),
        confirmed: Some(true),
        ts: Some(ts.parse().unwrap()),
        rows: vec![ReceiptRow {
            invoice: Some(invoice.parse().unwrap()),
            received: Some(received.parse().unwrap()),
            ..Default::default()
        }],
        ..Default::default()
    }
    .to_output_record()
}

/// A customer with an email (may be empty), a name, a `LOYALTY` extra field, and a `ts`.
pub fn customer(code: &str, email: &str, name: &str, loyalty: &str, ts: &str) -> Customer {
    let mut c = Customer::new(code);
    c.email = (!email.is_empty()).then(|| email.to_owned());
    c.name = Some(name.to_owned());
    c.ts = Some(ts.parse().unwrap());
    if !loyalty.is_empty() {
        c.datafields.push(directo_client::DataField {
            code: "LOYALTY".into(),
            content: loyalty.into(),
            param: String::new(),
        });
    }
    c
}
