//! `orders push <file>`: orders (CSV or JSON lines, the API's camelCase field names) → `POST
//! /v1/orders` (an upsert keyed by `externalOrderId`).
//!
//! Re-sending an order never duplicates it, but every order the service accepts raises the
//! event `order<STATUS>`, which can start a workflow. This sync repeats an order whose outcome
//! is unknown (timeout, dropped connection, 5xx): see [`ORDER_RETRY`].

use jiff::Zoned;
use jiff::tz::TimeZone;
use marketing_sync_core::count_requests;
use messaging_client::{ItemError, Order, OrderItem, OrderRetry, OrderStatus};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::item_error;
use sync_kit::input::{Columns, Row, text};
use sync_kit::preview::Preview;
use sync_kit::{Delivery, Item, Outcome, Sink, SourceRecord, Verdict};

/// The order syncs' choice (`orders push`, `directo-orders`): repeat an order whose outcome is
/// unknown, in the client ([`messaging_client::ClientBuilder::order_retry`]) and in the run's
/// retries. The order data (and so RFM segments) is complete; the price is that an order the
/// service had in fact accepted raises its `order<STATUS>` event a second time, which can send
/// a workflow's message twice. Use `OrderRetry::WhenNotReceived` to park such orders instead.
pub const ORDER_RETRY: OrderRetry = OrderRetry::AfterUnknownOutcome;

/// The columns an order row may have; any other column is refused: in a CSV header it is a
/// usage error (a typo would otherwise reject every row), in a JSON line it rejects the line.
pub const COLUMNS: &[&str] = &[
    "externalOrderId",
    "externalCustomerId",
    "totalCost",
    "status",
    "date",
    "currency",
    "email",
    "phone",
    "firstName",
    "lastName",
    "shipping",
    "discount",
    "taxes",
    "restoreUrl",
    "statusDescription",
    "storeId",
    "source",
    "deliveryMethod",
    "paymentMethod",
    "deliveryAddress",
    "items",
];

/// The columns of an orders file: every row needs `externalOrderId`, `status`, `totalCost`,
/// `currency`, `date` and a customer (`externalCustomerId`, `email` or `phone`), and no other
/// column than [`COLUMNS`] is allowed.
pub fn columns() -> Columns {
    Columns::required(&["externalOrderId", "status", "totalCost", "currency", "date"])
        .one_of(&["externalCustomerId", "email", "phone"])
        .only(COLUMNS)
}

/// What a dry run prints for a batch: the `POST /v1/orders` bodies [`OrdersSink`] would send
/// (orders that cannot be built are never sent, so they are left out).
pub fn preview(batch: &[Item], tz: &TimeZone) -> Vec<Preview> {
    let orders: Vec<Order> = batch
        .iter()
        .filter_map(|item| order(&item.fields, tz).ok())
        .collect();
    messaging_client::orders_bodies(&orders)
        .into_iter()
        .map(|body| Preview::request("POST", "/v1/orders", body))
        .collect()
}

/// Turns a row into a record: one item keyed by `externalOrderId`, or a rejection naming the
/// field and the reason.
pub fn prepare(row: Row, tz: &TimeZone) -> SourceRecord {
    let verdict = match row.fields {
        Err(reason) => Verdict::Reject(reason),
        Ok(fields) => match order(&fields, tz) {
            Ok(order) => Verdict::Send(vec![Item {
                key: order.external_order_id.clone(),
                fields,
            }]),
            Err(reason) => Verdict::Reject(reason),
        },
    };
    SourceRecord {
        id: row.position,
        watermark: None,
        verdict,
    }
}

fn money(fields: &Map<String, Value>, name: &str) -> Result<Option<Decimal>, String> {
    text(fields, name)
        .map(|t| {
            t.parse::<Decimal>()
                .map_err(|_| format!("invalid {name}: {t:?} is not a number"))
        })
        .transpose()
}

/// Parses `2024-01-15T10:30:00+02:00` (kept at its offset), a zoned `…[Europe/Tallinn]`, or a
/// civil date or date-time (read in `tz`).
pub fn parse_date(text: &str, tz: &TimeZone) -> Result<Zoned, String> {
    if let Ok(zoned) = text.parse::<Zoned>() {
        return Ok(zoned);
    }
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        let offset = jiff::fmt::temporal::DateTimeParser::new()
            .parse_pieces(text)
            .ok()
            .and_then(|p| p.offset().map(|o| o.to_numeric_offset()));
        let zone = offset.map_or(TimeZone::UTC, TimeZone::fixed);
        return Ok(ts.to_zoned(zone));
    }
    let civil = text
        .parse::<jiff::civil::DateTime>()
        .or_else(|_| {
            text.parse::<jiff::civil::Date>()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        })
        .map_err(|_| format!("invalid date: {text:?} (use 2024-01-15T10:30:00+02:00)"))?;
    civil
        .to_zoned(tz.clone())
        .map_err(|e| format!("invalid date: {text:?}: {e}"))
}

/// Builds the client's [`Order`] from a row, checking every field before anything is sent.
pub fn order(fields: &Map<String, Value>, tz: &TimeZone) -> Result<Order, String> {
    if let Some(unknown) = fields.keys().find(|k| !COLUMNS.contains(&k.as_str())) {
        return Err(format!("unknown column: {unknown:?}"));
    }
    let required = |name: &str| text(fields, name).ok_or_else(|| format!("missing {name}"));
    let id = required("externalOrderId")?;
    let status_text = required("status")?.to_ascii_uppercase();
    let status: OrderStatus = serde_json::from_value(Value::String(status_text.clone()))
        .map_err(|_| format!("invalid status: {status_text:?}"))?;
    let total = money(fields, "totalCost")?.ok_or("missing totalCost")?;
    let date = parse_date(&required("date")?, tz)?;
    let currency = required("currency")?;
    let mut order = Order::new(id, status, total, currency, date);
    order.external_customer_id = text(fields, "externalCustomerId");
    order.email = text(fields, "email");
    order.phone = text(fields, "phone");
    if order.external_customer_id.is_none() && order.email.is_none() && order.phone.is_none() {
        return Err("missing customer: externalCustomerId, email or phone is required".into());
    }
    if let Some(email) = &order.email {
        sync_kit::email::check(email).map_err(|reason| format!("{reason}: {email:?}"))?;
    }
    order.first_name = text(fields, "firstName");
    order.last_name = text(fields, "lastName");
    order.shipping = money(fields, "shipping")?;
    order.discount = money(fields, "discount")?;
    order.taxes = money(fields, "taxes")?;
    order.restore_url = text(fields, "restoreUrl");
    order.status_description = text(fields, "statusDescription");
    order.store_id = text(fields, "storeId");
    order.source = text(fields, "source");
    order.delivery_method = text(fields, "deliveryMethod");
    order.payment_method = text(fields, "paymentMethod");
    order.delivery_address = text(fields, "deliveryAddress");
    order.items = items(fields)?;
    Ok(order)
}

/// The `items` column: a JSON array (or, in a CSV cell, its JSON text) of objects with
/// `externalItemId`, `name`, `quantity` (a whole number), `cost`, and optionally `category`,
/// `url`, `imageUrl`, `description`.
fn items(fields: &Map<String, Value>) -> Result<Vec<OrderItem>, String> {
    let list = match fields.get("items") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(Vec::new()),
        Some(Value::String(s)) => {
            serde_json::from_str::<Value>(s).map_err(|e| format!("invalid items: not JSON: {e}"))?
        }
        Some(other) => other.clone(),
    };
    let Value::Array(list) = list else {
        return Err("invalid items: not a list".into());
    };
    list.iter()
        .enumerate()
        .map(|(n, v)| {
            let Value::Object(item) = v else {
                return Err(format!("invalid items: item {n} is not an object"));
            };
            let field = |name: &str| {
                text(item, name).ok_or_else(|| format!("invalid items: item {n} has no {name}"))
            };
            let quantity = match item.get("quantity") {
                Some(Value::Number(q)) => q.as_i64(),
                Some(Value::String(q)) => q.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(|| format!("invalid items: item {n} quantity is not a whole number"))?;
            let cost = money(item, "cost")
                .map_err(|e| format!("invalid items: item {n}: {e}"))?
                .ok_or_else(|| format!("invalid items: item {n} has no cost"))?;
            let mut out = OrderItem::new(field("externalItemId")?, field("name")?, quantity, cost);
            out.category = text(item, "category");
            out.url = text(item, "url");
            out.image_url = text(item, "imageUrl");
            out.description = text(item, "description");
            Ok(out)
        })
        .collect()
}

/// Delivers orders with [`messaging_client::Client::push_orders`].
#[derive(Debug)]
pub struct OrdersSink {
    /// The client.
    pub client: messaging_client::Client,
    /// The zone civil dates are read in.
    pub tz: TimeZone,
}

impl Sink for OrdersSink {
    async fn deliver(&self, batch: &[Item]) -> Delivery {
        let mut outcomes = vec![Outcome::Delivered; batch.len()];
        let mut orders = Vec::with_capacity(batch.len());
        let mut positions = Vec::with_capacity(batch.len());
        for (i, item) in batch.iter().enumerate() {
            match order(&item.fields, &self.tz) {
                Ok(o) => {
                    orders.push(o);
                    positions.push(i);
                }
                Err(reason) => outcomes[i] = Outcome::failed(reason, false),
            }
        }
        let retry = self.client.order_retry();
        // Every attempt, retries included, counted where the client sends it.
        let (pushed, requests) = count_requests(self.client.push_orders(&orders)).await;
        for outcome in pushed {
            let i = positions[outcome.index];
            if let Err(e) = outcome.result {
                outcomes[i] = match (&e, item_error(&e)) {
                    // The run repeats a failed order as the client's choice says.
                    (ItemError::Failed(err), Outcome::Failed { error, .. }) => {
                        Outcome::failed(error, retry.repeats(err))
                    }
                    (_, outcome) => outcome,
                };
            }
        }
        Delivery { outcomes, requests }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect()
    }

    #[test]
    fn builds_orders_and_names_what_is_wrong() {
        let tz = TimeZone::UTC;
        let good = [
            ("externalOrderId", "A1"),
            ("status", "delivered"),
            ("totalCost", "10.50"),
            ("date", "2024-01-15T10:30:00+02:00"),
            ("currency", "EUR"),
            ("email", "a@example.com"),
        ];
        let o = order(&row(&good), &tz).unwrap();
        assert_eq!(o.status, OrderStatus::Delivered);
        assert_eq!(o.total_cost.to_string(), "10.50");
        assert_eq!(o.date.offset().seconds(), 7200);
        let mut bad = good.to_vec();
        bad[2] = ("totalCost", "ten");
        assert!(order(&row(&bad), &tz).unwrap_err().contains("totalCost"));
        bad = good.to_vec();
        bad[1] = ("status", "SHIPPED");
        assert!(
            order(&row(&bad), &tz)
                .unwrap_err()
                .starts_with("invalid status")
        );
        bad = good.to_vec();
        bad.push(("colour", "red"));
        assert!(
            order(&row(&bad), &tz)
                .unwrap_err()
                .starts_with("unknown column")
        );
        bad = good.to_vec();
        bad.remove(5);
        assert!(
            order(&row(&bad), &tz)
                .unwrap_err()
                .starts_with("missing customer")
        );
    }

    #[test]
    fn items_come_as_json_or_json_text_and_are_checked() {
        let tz = TimeZone::UTC;
        let mut fields = row(&[
            ("externalOrderId", "A1"),
            ("status", "INITIALIZED"),
            ("totalCost", "8"),
            ("date", "2024-01-15"),
            ("currency", "EUR"),
            ("email", "a@example.com"),
            (
                "items",
                r#"[{"externalItemId":"S1","name":"Mug","quantity":2,"cost":"4.00"}]"#,
            ),
        ]);
        let o = order(&fields, &tz).unwrap();
        assert_eq!(
            o.items,
            vec![OrderItem::new("S1", "Mug", 2, "4.00".parse().unwrap())]
        );
        fields.insert(
            "items".into(),
            serde_json::json!([{"externalItemId": "S1", "name": "Mug", "quantity": 1.5, "cost": 4}]),
        );
        assert!(order(&fields, &tz).unwrap_err().contains("whole number"));
        fields.insert("items".into(), "[{".into());
        assert!(
            order(&fields, &tz)
                .unwrap_err()
                .starts_with("invalid items")
        );
    }

    #[test]
    fn civil_dates_are_read_in_the_zone() {
        let tz = TimeZone::get("Europe/Tallinn").unwrap();
        let d = parse_date("2024-07-01", &tz).unwrap();
        assert_eq!(d.offset().seconds(), 3 * 3600);
        assert!(parse_date("yesterday", &tz).is_err());
    }
}
