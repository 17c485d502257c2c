//! `POST /v1/orders` (upsert by `externalOrderId`) and `DELETE /v1/orders`.
//!
//! Sources: the Yespo OpenAPI (`Orders`, `Order`, `OrderItem`, `FailedOrders`,
//! `FailedOrder`), the guide "Add orders" [E2] (upsert by `externalOrderId`, at most 1,000),
//! docs.esputnik.com/reference/removehistoryorders [E8] (deletion; the only source: OA lacks
//! `DELETE /v1/orders`), C2-old (an empty body when nothing
//! failed).

use serde_json::{Value, json};

use super::http::{Answer, Query, bad, empty, json_body, ok_json, one_or_many};
use super::schema;
use super::state::FakeState;

/// `Orders`.
const ORDERS: &[&str] = &["orders"];

/// `Order`.
const ORDER: &[&str] = &[
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
    "additionalInfo",
    "items",
];

/// `OrderItem`.
const ORDER_ITEM: &[&str] = &[
    "externalItemId",
    "name",
    "category",
    "quantity",
    "cost",
    "url",
    "imageUrl",
    "description",
];

/// `Order.status` enum.
const ORDER_STATUSES: &[&str] = &[
    "INITIALIZED",
    "IN_PROGRESS",
    "DELIVERED",
    "CANCELLED",
    "ABANDONED_SHOPPING_CART",
];

pub(super) fn orders(s: &mut FakeState, body: &[u8]) -> Answer {
    let v = json_body(body)?;
    schema::known_keys(&v, ORDERS, "the request")?;
    let Some(orders) = v.get("orders").and_then(Value::as_array) else {
        return Err(bad("orders is required"));
    };
    // "Order list (max 1000 orders per request)".
    if orders.is_empty() || orders.len() > 1000 {
        return Err(bad("One request can contain from 1 to 1,000 orders"));
    }
    for (i, o) in orders.iter().enumerate() {
        let at = format!("orders[{i}]");
        schema::known_keys(o, ORDER, &at)?;
        for (n, item) in schema::array(o, "items", &at)?.iter().enumerate() {
            schema::known_keys(item, ORDER_ITEM, &format!("{at}.items[{n}]"))?;
        }
    }
    let mut failed = Vec::new();
    for o in orders {
        match invalid(o) {
            Some(error) => failed.push(json!({"order": o, "error": error})),
            None => {
                let id = o["externalOrderId"].as_str().unwrap_or_default().to_owned();
                s.orders.insert(id, o.clone());
            }
        }
    }
    if failed.is_empty() {
        Ok(empty())
    } else {
        Ok(ok_json(json!({"failedOrders": one_or_many(failed)})))
    }
}

/// Why an order is listed in `failedOrders`: a required field empty or malformed, or none of
/// `externalCustomerId`, `email`, `phone` [FailedOrders; Order.required].
fn invalid(o: &Value) -> Option<String> {
    let text = |k: &str| {
        o.get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.trim().is_empty())
    };
    for field in ["externalOrderId", "status", "date", "currency"] {
        if text(field).is_none() {
            return Some(format!("{field} is required"));
        }
    }
    if !o
        .get("totalCost")
        .is_some_and(|c| c.is_number() || c.as_str().is_some_and(|t| t.parse::<f64>().is_ok()))
    {
        return Some("totalCost is required".into());
    }
    let status = text("status").unwrap_or_default();
    if !ORDER_STATUSES.contains(&status) {
        return Some(format!("unknown status {status}"));
    }
    // `date` is a `date-time`: ISO 8601 with an offset.
    if text("date").is_none_or(|d| d.parse::<jiff::Timestamp>().is_err()) {
        return Some("date must be ISO 8601 with an offset".into());
    }
    if ["externalCustomerId", "email", "phone"]
        .iter()
        .all(|k| text(k).is_none())
    {
        return Some("externalCustomerId, email or phone is required".into());
    }
    for item in o
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = item.get("externalItemId").and_then(Value::as_str);
        if id.is_none_or(|i| i.trim().is_empty())
            || !item.get("quantity").is_some_and(Value::is_number)
        {
            return Some("items need externalItemId and quantity".into());
        }
    }
    None
}

/// `DELETE /v1/orders`: by `externalOrderId`, or every order dated from `from` to `to`, both
/// included ("Start date (inclusively)", "End date (inclusively)"); `yyyy-MM-dd'T'HH:mm:ss`
/// UTC, `from` before `to`, at most 24 hours, else 400 [E8].
pub(super) fn delete_orders(s: &mut FakeState, q: &Query) -> Answer {
    if let Some(id) = q.get("externalOrderId") {
        s.orders.remove(id);
        return Ok(empty());
    }
    let parse = |k: &str| {
        let text = q.get(k)?;
        // Exactly `yyyy-MM-dd'T'HH:mm:ss`: 19 characters, no offset, no fraction.
        if text.len() != 19 {
            return None;
        }
        let civil = text.parse::<jiff::civil::DateTime>().ok()?;
        civil
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    };
    match (parse("from"), parse("to")) {
        (Some(from), Some(to))
            if from < to && to.duration_since(from) <= jiff::SignedDuration::from_hours(24) =>
        {
            s.orders.retain(|_, o| {
                let t = o["date"]
                    .as_str()
                    .and_then(|d| d.parse::<jiff::Timestamp>().ok());
                !t.is_some_and(|t| t >= from && t <= to)
            });
            Ok(empty())
        }
        _ => Err(bad(
            "Provide either externalOrderId, or both from and to parameters \
             (yyyy-MM-dd'T'HH:mm:ss UTC, from before to, at most 24 hours)",
        )),
    }
}
