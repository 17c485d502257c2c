//! An invoice and the payments the receipts make → one order.

use std::collections::{BTreeSet, HashMap};

use directo_client::{Invoice, Receipt};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value, json};

use super::InvoiceRules;
use sync_kit::email::{self, MultipleEmails};
use sync_kit::{Item, SourceRecord, Verdict};

/// One receipt row's payment: (the row's key within the receipt, invoice number, amount).
pub type Part = (String, String, Decimal);

/// What the receipts say about payments: those read in this run, over what the state keeps of
/// earlier runs' receipts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payments {
    /// The receipts read in this run, by key (`receipt <number>`): change time and parts.
    read: HashMap<String, (Option<DateTime>, Vec<Part>)>,
    /// Invoice numbers whose payments a receipt changed at or after the run's start point:
    /// new or edited rows, and the invoices an edited or unconfirmed receipt no longer pays.
    pub recent: BTreeSet<String>,
}

impl Payments {
    /// The key a receipt's payments are kept under, if it has a number.
    pub fn key(receipt: &Receipt) -> Option<String> {
        receipt.number.map(|n| format!("receipt {n}"))
    }

    /// What a receipt pays, row by row (nothing when it is explicitly unconfirmed). A row is
    /// keyed by its `rn`, else its position.
    pub fn parts(receipt: &Receipt) -> Vec<Part> {
        if receipt.confirmed == Some(false) {
            return Vec::new();
        }
        receipt
            .rows
            .iter()
            .enumerate()
            .filter_map(|(n, row)| {
                let invoice = row.invoice?.to_string();
                let part = row
                    .rn
                    .map_or_else(|| format!("#{}", n + 1), |rn| rn.to_string());
                Some((part, invoice, row.received.unwrap_or_default()))
            })
            .collect()
    }

    /// Adds a receipt read in this run; `kept` is what the state holds of it from an earlier
    /// run. A later read of the same receipt in the run replaces the earlier one.
    pub fn add(&mut self, receipt: &Receipt, kept: &[Part], read_from: DateTime) {
        let Some(key) = Self::key(receipt) else {
            tracing::warn!("a receipt without a number is ignored (it cannot be kept)");
            return;
        };
        let parts = Self::parts(receipt);
        let paid = |parts: &[Part], invoice: &str| -> Decimal {
            parts
                .iter()
                .filter(|(_, i, _)| i == invoice)
                .map(|(_, _, amount)| *amount)
                .sum()
        };
        if receipt.ts.is_some_and(|ts| ts >= read_from) {
            self.recent
                .extend(parts.iter().map(|(_, invoice, _)| invoice.clone()));
        }
        // An invoice the receipt paid differently before, or no longer pays, changed too.
        let before = self
            .read
            .get(&key)
            .map_or(kept, |(_, parts)| parts.as_slice());
        for (_, invoice, _) in before {
            if paid(before, invoice) != paid(&parts, invoice) {
                self.recent.insert(invoice.clone());
            }
        }
        self.read.insert(key, (receipt.ts, parts));
    }

    /// The amount received for an invoice: this run's receipts, plus the `kept` ones (the
    /// state's `(receipt key, amount)` for the invoice) that this run did not read again.
    pub fn received(&self, number: &str, kept: &[(String, Decimal)]) -> Decimal {
        let earlier: Decimal = kept
            .iter()
            .filter(|(source, _)| !self.read.contains_key(source))
            .map(|(_, amount)| *amount)
            .sum();
        let now: Decimal = self
            .read
            .values()
            .flat_map(|(_, parts)| parts)
            .filter(|(_, invoice, _)| invoice == number)
            .map(|(_, _, amount)| *amount)
            .sum();
        earlier + now
    }

    /// The receipts read in this run, to keep in the state: key, change time, parts.
    pub fn receipts(&self) -> impl Iterator<Item = (&str, Option<DateTime>, &[Part])> {
        self.read
            .iter()
            .map(|(key, (ts, parts))| (key.as_str(), *ts, parts.as_slice()))
    }
}

/// A row quantity as a whole number: rounded half away from zero (`2.5` → 3, `-0.5` → -1).
pub fn whole_quantity(quantity: Decimal) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    quantity
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
}

/// The order items of an invoice's rows: rows without an item code and description, and rows
/// whose quantity is missing or rounds to zero, are skipped. `cost` is the row's unit `price`.
fn items(invoice: &Invoice) -> Vec<Value> {
    invoice
        .rows
        .iter()
        .filter_map(|row| {
            fn text(v: &Option<String>) -> Option<&str> {
                v.as_deref().map(str::trim).filter(|t| !t.is_empty())
            }
            let code = text(&row.item);
            let description = text(&row.description);
            let id = code.or(description)?;
            let quantity = whole_quantity(row.quantity?).filter(|q| *q != 0)?;
            let mut item = json!({
                "externalItemId": id,
                "name": description.unwrap_or(id),
                "quantity": quantity,
                "cost": row.price.unwrap_or_default().to_string(),
            });
            if let (Some(_), Some(d)) = (code, description) {
                item["description"] = Value::String(d.to_owned());
            }
            Some(item)
        })
        .collect()
}

/// The invoice's total per the rules.
fn total(
    invoice: &Invoice,
    record: &directo_client::Record,
    rules: &InvoiceRules,
) -> Result<Decimal, String> {
    for name in &rules.total_attributes {
        if let Some(raw) = record.get(name).filter(|v| !v.trim().is_empty()) {
            return raw
                .trim()
                .parse::<Decimal>()
                .map_err(|_| format!("invalid total: {name}={raw:?} is not a number"));
        }
    }
    if rules.total_from_rows && !invoice.rows.is_empty() {
        return Ok(invoice
            .rows
            .iter()
            .map(|r| r.quantity.unwrap_or_default() * r.price.unwrap_or_default())
            .sum::<Decimal>()
            .round_dp(2));
    }
    Err(format!(
        "missing total: none of {:?} is set",
        rules.total_attributes
    ))
}

/// Whether an invoice is paid (see the module docs), `received` being what its receipts pay.
fn is_paid(
    record: &directo_client::Record,
    total: Decimal,
    received: Decimal,
    rules: &InvoiceRules,
) -> Result<bool, String> {
    if let Some(name) = &rules.balance_attribute
        && let Some(raw) = record.get(name).filter(|v| !v.trim().is_empty())
    {
        let balance: Decimal = raw
            .trim()
            .parse()
            .map_err(|_| format!("invalid balance: {name}={raw:?} is not a number"))?;
        return Ok(balance <= Decimal::ZERO);
    }
    Ok(received >= total)
}

/// Maps one invoice to an order record, or rejects it with the reason; `received` is what its
/// receipts pay ([`Payments::received`]).
pub fn prepare(
    invoice: &Invoice,
    received: Decimal,
    rules: &InvoiceRules,
    tz: &TimeZone,
) -> SourceRecord {
    let record = directo_client::ToRecord::to_output_record(invoice);
    let id = record
        .get("number")
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("(no number)")
        .to_owned();
    let verdict = match order_fields(invoice, &record, received, rules, tz) {
        Ok(item) => Verdict::Send(vec![item]),
        Err(reason) => Verdict::Reject(reason),
    };
    SourceRecord {
        id,
        watermark: invoice.ts,
        verdict,
    }
}

fn order_fields(
    invoice: &Invoice,
    record: &directo_client::Record,
    received: Decimal,
    rules: &InvoiceRules,
    tz: &TimeZone,
) -> Result<Item, String> {
    let number = match (invoice.number, record.get("number")) {
        (Some(n), _) if n > 0 => n.to_string(),
        (_, Some(raw)) if !raw.trim().is_empty() => {
            return Err(format!("invalid invoice number: {raw:?}"));
        }
        _ => return Err("missing invoice number".into()),
    };
    let total = total(invoice, record, rules)?;
    if total < Decimal::ZERO {
        return Err(format!("negative total (a credit invoice): {total}"));
    }
    let email = email::extract(
        invoice.email.as_deref().unwrap_or(""),
        MultipleEmails::First,
    )?
    .remove(0);
    let date = invoice
        .date
        .ok_or_else(|| match record.get("date") {
            Some(raw) => format!("invalid date: {raw:?}"),
            None => "missing invoice date".to_owned(),
        })?
        .to_datetime(jiff::civil::Time::midnight())
        .to_zoned(tz.clone())
        .map_err(|e| format!("invalid date: {e}"))?;
    let paid = is_paid(record, total, received, rules)?;
    let currency = invoice
        .currency
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(&rules.default_currency);
    let mut fields = Map::new();
    fields.insert("externalOrderId".into(), number.clone().into());
    if let Some(code) = invoice
        .customercode
        .as_deref()
        .filter(|c| !c.trim().is_empty())
    {
        fields.insert("externalCustomerId".into(), code.trim().into());
    }
    fields.insert("email".into(), email.into());
    let status = if paid { "DELIVERED" } else { "INITIALIZED" };
    fields.insert("status".into(), status.into());
    fields.insert("totalCost".into(), total.to_string().into());
    fields.insert("currency".into(), currency.to_ascii_uppercase().into());
    fields.insert("date".into(), date.to_string().into());
    let items = items(invoice);
    if !items.is_empty() {
        fields.insert("items".into(), Value::Array(items));
    }
    Ok(Item {
        key: number,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use directo_client::{InvoiceRow, ReceiptRow};

    fn invoice(number: i64, total: &str, email: &str) -> Invoice {
        let mut inv = Invoice {
            number: Some(number),
            customercode: Some("C1".into()),
            date: Some(jiff::civil::date(2024, 7, 1)),
            currency: Some("eur".into()),
            email: Some(email.into()),
            rows: vec![
                InvoiceRow {
                    item: Some("SKU-1".into()),
                    description: Some("Mug".into()),
                    quantity: Some("2.5".parse().unwrap()),
                    price: Some("4.00".parse().unwrap()),
                    ..Default::default()
                },
                InvoiceRow {
                    description: Some("note".into()),
                    quantity: Some(Decimal::ZERO),
                    ..Default::default()
                },
                InvoiceRow::default(),
            ],
            ..Default::default()
        };
        inv.extra.insert("total".into(), total.into());
        inv
    }

    fn receipt(invoice: &str, received: &str, ts: &str) -> Receipt {
        Receipt {
            number: Some(1),
            ts: Some(ts.parse().unwrap()),
            rows: vec![ReceiptRow {
                invoice: Some(invoice.parse().unwrap()),
                received: Some(received.parse().unwrap()),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn fields(record: SourceRecord) -> Map<String, Value> {
        match record.verdict {
            Verdict::Send(mut items) => items.remove(0).fields,
            other => panic!("not sent: {other:?}"),
        }
    }

    #[test]
    fn quantities_round_half_away_from_zero() {
        let q = |s: &str| whole_quantity(s.parse().unwrap());
        assert_eq!(q("2.5"), Some(3));
        assert_eq!(q("2.49"), Some(2));
        assert_eq!(q("-0.5"), Some(-1));
        assert_eq!(q("0.4"), Some(0));
    }

    #[test]
    fn paid_when_receipts_cover_the_total() {
        let tz = TimeZone::get("Europe/Tallinn").unwrap();
        let rules = InvoiceRules::default();
        let from: DateTime = "2024-07-01T00:00".parse().unwrap();
        let mut payments = Payments::default();
        payments.add(&receipt("0042", "5.00", "2024-06-01T10:00"), &[], from);
        assert!(payments.recent.is_empty(), "an old receipt is not recent");
        let received = payments.received("42", &[]);
        let o = fields(prepare(
            &invoice(42, "10.00", "a@example.com"),
            received,
            &rules,
            &tz,
        ));
        assert_eq!(o["status"], "INITIALIZED");
        let mut second = receipt("42", "5.00", "2024-07-02T10:00");
        second.number = Some(2);
        payments.add(&second, &[], from);
        assert_eq!(payments.recent, BTreeSet::from(["42".to_owned()]));
        let o = fields(prepare(
            &invoice(42, "10.00", "a@example.com"),
            payments.received("42", &[]),
            &rules,
            &tz,
        ));
        assert_eq!(o["status"], "DELIVERED");
        assert_eq!(o["externalOrderId"], "42");
        assert_eq!(o["externalCustomerId"], "C1");
        assert_eq!(o["totalCost"], "10.00");
        assert_eq!(o["currency"], "EUR");
        assert_eq!(o["date"], "2024-07-01T00:00:00+03:00[Europe/Tallinn]");
        assert_eq!(
            o["items"],
            json!([{"externalItemId": "SKU-1", "name": "Mug", "description": "Mug", "quantity": 3, "cost": "4.00"}])
        );
        let order = crate::messaging::orders::order(&o, &tz).unwrap();
        assert_eq!(order.items[0].quantity, 3.into());

        let mut unconfirmed = receipt("43", "99", "2024-07-02T10:00");
        unconfirmed.number = Some(3);
        unconfirmed.confirmed = Some(false);
        payments.add(&unconfirmed, &[], from);
        assert_eq!(payments.received("43", &[]), Decimal::ZERO);
    }

    #[test]
    fn a_receipt_read_again_replaces_what_it_paid_and_kept_ones_still_count() {
        let from: DateTime = "2024-07-01T00:00".parse().unwrap();
        let dec = |s: &str| s.parse::<Decimal>().unwrap();
        // Kept from earlier runs: receipt 1 paid 42 in full (10.00), receipt 9 paid 7.
        let kept_42 = [("receipt 1".to_owned(), dec("10.00"))];
        let kept_7 = [("receipt 9".to_owned(), dec("3.00"))];
        let mut payments = Payments::default();
        assert_eq!(payments.received("42", &kept_42), dec("10.00"));
        // Receipt 1 is edited: it now pays 43, not 42.
        let edited = receipt("43", "10.00", "2024-07-02T10:00");
        let kept_parts = [("#1".to_owned(), "42".to_owned(), dec("10.00"))];
        payments.add(&edited, &kept_parts, from);
        assert_eq!(payments.received("42", &kept_42), Decimal::ZERO, "replaced");
        assert_eq!(payments.received("43", &[]), dec("10.00"));
        assert_eq!(
            payments.received("7", &kept_7),
            dec("3.00"),
            "not read: kept"
        );
        assert_eq!(
            payments.recent,
            BTreeSet::from(["42".to_owned(), "43".to_owned()]),
            "the invoice it no longer pays changed too"
        );
        let kept: Vec<_> = payments.receipts().collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].0, "receipt 1");
        assert_eq!(
            kept[0].2,
            [("#1".to_owned(), "43".to_owned(), dec("10.00"))]
        );
    }

    #[test]
    fn balance_attribute_wins_and_total_falls_back_to_rows() {
        let tz = TimeZone::UTC;
        let rules = InvoiceRules {
            balance_attribute: Some("balance".into()),
            ..InvoiceRules::default()
        };
        let mut inv = invoice(7, "", "a@example.com");
        inv.extra.insert("balance".into(), "0.00".into());
        let o = fields(prepare(&inv, Decimal::ZERO, &rules, &tz));
        assert_eq!(o["status"], "DELIVERED");
        assert_eq!(o["totalCost"], "10.00", "2.5 × 4.00 from the rows");
    }

    #[test]
    fn bad_invoices_are_rejected_with_a_reason() {
        let tz = TimeZone::UTC;
        let rules = InvoiceRules::default();
        let reason = |inv: &Invoice| match prepare(inv, Decimal::ZERO, &rules, &tz).verdict {
            Verdict::Reject(r) => r,
            other => panic!("not rejected: {other:?}"),
        };
        assert!(reason(&invoice(1, "ten", "a@example.com")).starts_with("invalid total"));
        assert!(reason(&invoice(1, "1", "nobody")).contains("no @"));
        assert!(reason(&invoice(1, "-5", "a@example.com")).starts_with("negative total"));
        let mut bad = invoice(1, "1", "a@example.com");
        bad.number = None;
        bad.extra.insert("number".into(), "A-17".into());
        assert_eq!(reason(&bad), "invalid invoice number: \"A-17\"");
        let mut no_date = invoice(1, "1", "a@example.com");
        no_date.date = None;
        assert_eq!(reason(&no_date), "missing invoice date");
    }
}
