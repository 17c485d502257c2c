//! `POST /v1/orders` (upsert by `externalOrderId`) and `DELETE /v1/orders`.

use serde_json::Value;

use super::http::{Answer, Query, bad, empty, json_body};
use super::state::FakeState;

const ORDER_STATUSES: &[&str] = &[
    "INITIALIZED",
    "IN_PROGRESS",
    "DELIVERED",
    "CANCELLED",
    "ABANDONED_SHOPPING_CART",
];

fn has_offset(date: &str) -> bool {
    date.parse::<jiff::Timestamp>().is_ok()
}

pub(super) fn orders(s: &mut FakeState, body: &[u8]) -> Answer {
    let v = json_body(body)?;
    let Some(orders) = v.get("orders").and_then(Value::as_array) else {
        return Err(bad("orders is required"));
    };
    if orders.is_empty() || orders.len() > 1000 {
        return Err(bad("One request can contain from 1 to 1,000 orders"));
    }
    for (i, o) in orders.iter().enumerate() {
        for field in ["externalOrderId", "status", "date", "currency"] {
            if o.get(field)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(bad(format!("orders[{i}].{field} is required")));
            }
        }
        if !o
            .get("totalCost")
            .is_some_and(|c| c.is_number() || c.is_string())
        {
            return Err(bad(format!("orders[{i}].totalCost is required")));
        }
        let status = o["status"].as_str().unwrap_or_default();
        if !ORDER_STATUSES.contains(&status) {
            return Err(bad(format!("orders[{i}].status: unknown status {status}")));
        }
        if !has_offset(o["date"].as_str().unwrap_or_default()) {
            return Err(bad(format!(
                "orders[{i}].date must be ISO 8601 with an offset"
            )));
        }
    }
    for o in orders {
        s.orders.insert(
            o["externalOrderId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            o.clone(),
        );
    }
    Ok(empty())
}

pub(super) fn delete_orders(s: &mut FakeState, q: &Query) -> Answer {
    if let Some(id) = q.get("externalOrderId") {
        s.orders.remove(id);
        return Ok(empty());
    }
    let parse = |k: &str| {
        q.get(k)
            .and_then(|v| v.parse::<jiff::civil::DateTime>().ok())
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
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
                !t.is_some_and(|t| t >= from && t < to)
            });
            Ok(empty())
        }
        _ => Err(bad(
            "externalOrderId, or from and to (from < to, at most 24 hours), are required",
        )),
    }
}
