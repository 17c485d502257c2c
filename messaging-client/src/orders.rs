//! Orders: upsert by `externalOrderId` (`POST /v1/orders`) and deletion (`DELETE /v1/orders`).

use futures::{StreamExt, stream};
use jiff::{Timestamp, Zoned};
use marketing_sync_core::ItemOutcome;
use reqwest::Method;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::batch::ItemError;
use crate::client::{Client, OrderRetry, Request};
use crate::de;
use crate::error::{Error, Result};
use crate::wire;

/// Maximum orders per request.
pub const ORDERS_CHUNK: usize = 1000;

/// Order status. Every accepted order raises the event `order<STATUS>`; only `Delivered`
/// counts for RFM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// `INITIALIZED`: new.
    Initialized,
    /// `IN_PROGRESS`: being delivered.
    InProgress,
    /// `DELIVERED`: paid and delivered.
    Delivered,
    /// `CANCELLED`.
    Cancelled,
    /// `ABANDONED_SHOPPING_CART`.
    AbandonedShoppingCart,
}

/// An order. Money is exact ([`Decimal`], sent as a JSON number with its exact digits); the
/// date carries its offset (`2017-03-08T09:30:00+02:00`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Uniqueness key: sending the same id again updates the order.
    pub external_order_id: String,
    /// Your customer id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_customer_id: Option<String>,
    /// Order total.
    #[serde(serialize_with = "wire::money")]
    pub total_cost: Decimal,
    /// Status.
    pub status: OrderStatus,
    /// Order date, with its offset.
    #[serde(serialize_with = "wire::date_time")]
    pub date: Zoned,
    /// ISO 4217 currency (USD, EUR, UAH).
    pub currency: String,
    /// Customer email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Customer phone (digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Customer first name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Customer last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Shipping cost.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::opt_money"
    )]
    pub shipping: Option<Decimal>,
    /// Discount.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::opt_money"
    )]
    pub discount: Option<Decimal>,
    /// Taxes.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "wire::opt_money"
    )]
    pub taxes: Option<Decimal>,
    /// Link to the order or cart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_url: Option<String>,
    /// Status text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_description: Option<String>,
    /// Store id (several stores in one account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// `online` or `offline` (anything else counts as online).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Delivery method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_method: Option<String>,
    /// Payment method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
    /// Delivery address, free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_address: Option<String>,
    /// Free-form extra fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<serde_json::Map<String, serde_json::Value>>,
    /// Line items (may be empty for RFM-only use; then omitted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<OrderItem>,
}

impl Order {
    /// An order with the required fields; set the optional ones on the returned value.
    ///
    /// ```
    /// use messaging_client::{Order, OrderStatus};
    /// let mut order = Order::new(
    ///     "100500",
    ///     OrderStatus::Initialized,
    ///     "1000".parse().unwrap(),
    ///     "USD",
    ///     "2017-03-08T09:30:00+02:00[Europe/Kyiv]".parse().unwrap(),
    /// );
    /// order.external_customer_id = Some("12345".into());
    /// ```
    pub fn new(
        external_order_id: impl Into<String>,
        status: OrderStatus,
        total_cost: Decimal,
        currency: impl Into<String>,
        date: Zoned,
    ) -> Self {
        Order {
            external_order_id: external_order_id.into(),
            external_customer_id: None,
            total_cost,
            status,
            date,
            currency: currency.into(),
            email: None,
            phone: None,
            first_name: None,
            last_name: None,
            shipping: None,
            discount: None,
            taxes: None,
            restore_url: None,
            status_description: None,
            store_id: None,
            source: None,
            delivery_method: None,
            payment_method: None,
            delivery_address: None,
            additional_info: None,
            items: Vec::new(),
        }
    }

    fn validate(&self, index: usize) -> Result<()> {
        let field = |name: &str| format!("orders[{index}].{name}");
        if self.external_order_id.trim().is_empty() {
            return Err(Error::invalid(
                field("externalOrderId"),
                "must not be empty",
            ));
        }
        if self.currency.trim().is_empty() {
            return Err(Error::invalid(field("currency"), "must not be empty"));
        }
        let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !present(&self.external_customer_id) && !present(&self.email) && !present(&self.phone) {
            return Err(Error::invalid(
                field("externalCustomerId"),
                "an order needs externalCustomerId, email or phone to identify the contact",
            ));
        }
        Ok(())
    }
}

/// An order line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    /// Your item id.
    pub external_item_id: String,
    /// Name.
    pub name: String,
    /// Category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Quantity: a JSON number that may have a fraction (OA `OrderItem.quantity`, `number`,
    /// `double`), sent exactly as written.
    #[serde(serialize_with = "wire::money")]
    pub quantity: Decimal,
    /// Cost (the reference is ambiguous between unit price and line total: be consistent).
    #[serde(serialize_with = "wire::money")]
    pub cost: Decimal,
    /// Product page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl OrderItem {
    /// An item with its required fields; `quantity` is any integer or a [`Decimal`].
    ///
    /// ```
    /// use messaging_client::OrderItem;
    /// let mugs = OrderItem::new("S1", "Mug", 2, "4.00".parse().unwrap());
    /// let coffee = OrderItem::new("C1", "Coffee, kg", "1.5".parse::<rust_decimal::Decimal>().unwrap(), "12.00".parse().unwrap());
    /// assert_eq!(coffee.quantity.to_string(), "1.5");
    /// # let _ = mugs;
    /// ```
    pub fn new(
        external_item_id: impl Into<String>,
        name: impl Into<String>,
        quantity: impl Into<Decimal>,
        cost: Decimal,
    ) -> Self {
        OrderItem {
            external_item_id: external_item_id.into(),
            name: name.into(),
            category: None,
            quantity: quantity.into(),
            cost,
            url: None,
            image_url: None,
            description: None,
        }
    }
}

/// The outcome for one order: its position in the input, its `externalOrderId` (the key), and
/// whether it was accepted or why not.
pub type OrderOutcome = ItemOutcome<String, (), ItemError>;

#[derive(Serialize)]
struct OrdersBody<'a> {
    orders: Vec<&'a Order>,
}

/// The JSON bodies [`Client::push_orders`] sends for `orders`: one per chunk of up to
/// [`ORDERS_CHUNK`] of the valid ones (invalid orders are reported by `push_orders` and never
/// sent). For dry runs and logs.
///
/// ```
/// use messaging_client::{Order, OrderStatus, orders_bodies};
/// let mut order = Order::new("1", OrderStatus::Delivered, "10.50".parse().unwrap(), "EUR",
///     "2024-03-01T10:00:00+02:00[Europe/Tallinn]".parse().unwrap());
/// order.email = Some("ann@example.com".into());
/// let bodies = orders_bodies(&[order.clone()]);
/// assert_eq!(bodies.len(), 1);
/// assert!(bodies[0].contains(r#""totalCost":10.50"#));
/// assert!(bodies[0].contains(r#""date":"2024-03-01T10:00:00+02:00""#));
/// // An order push_orders refuses (no customer to attach it to) is not in any body.
/// order.email = None;
/// assert!(orders_bodies(&[order]).is_empty());
/// ```
pub fn orders_bodies(orders: &[Order]) -> Vec<String> {
    let valid: Vec<&Order> = orders
        .iter()
        .enumerate()
        .filter(|(i, o)| o.validate(*i).is_ok())
        .map(|(_, o)| o)
        .collect();
    valid
        .chunks(ORDERS_CHUNK)
        .map(|chunk| {
            serde_json::to_string(&OrdersBody {
                orders: chunk.to_vec(),
            })
            .unwrap_or_default()
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrdersResponse {
    #[serde(default, deserialize_with = "de::one_or_many")]
    failed_orders: Vec<serde_json::Value>,
}

/// What to delete with [`Client::delete_orders`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderDeletion {
    /// One order by its `externalOrderId`.
    ExternalOrderId(String),
    /// Every order dated from `from` to `to`, both included (sent as UTC
    /// `yyyy-MM-ddTHH:mm:ss`; `from` before `to`, at most 24 hours apart).
    Range {
        /// Start.
        from: Timestamp,
        /// End.
        to: Timestamp,
    },
}

impl Client {
    /// Adds or updates any number of orders (upsert by `externalOrderId`), in chunks of 1,000
    /// run concurrently within the rate limit. Returns one outcome per order, in input order;
    /// invalid orders are reported and not sent.
    ///
    /// Every accepted order raises the event `order<STATUS>`, which can start a workflow, so a
    /// chunk is repeated after an unknown outcome (timeout, dropped connection, 5xx) only when
    /// the client was built with [`OrderRetry::AfterUnknownOutcome`]; what provably did not
    /// arrive (connect failure, 429) is always repeated.
    ///
    /// A `failedOrders` entry (`{"order": {...}, "error": "..."}`) marks the order it names
    /// rejected with its `error`; entries that name none mark the whole chunk rejected.
    ///
    /// ```no_run
    /// # async fn run(client: messaging_client::Client, orders: Vec<messaging_client::Order>) {
    /// for o in client.push_orders(&orders).await {
    ///     if let Err(e) = o.result { eprintln!("{}: {e}", o.key); }
    /// }
    /// # }
    /// ```
    #[must_use = "each order's outcome says whether the service took it"]
    pub async fn push_orders(&self, orders: &[Order]) -> Vec<OrderOutcome> {
        let mut outcomes: Vec<Option<OrderOutcome>> = vec![None; orders.len()];
        let mut valid = Vec::new();
        for (i, o) in orders.iter().enumerate() {
            match o.validate(i) {
                Ok(()) => valid.push(i),
                Err(e) => outcomes[i] = Some(order_outcome(i, o, Err(e.into()))),
            }
        }
        let results: Vec<_> = stream::iter(
            valid
                .chunks(ORDERS_CHUNK)
                .map(<[usize]>::to_vec)
                .collect::<Vec<_>>(),
        )
        .map(|indices| async move {
            let body = OrdersBody {
                orders: indices.iter().map(|&i| &orders[i]).collect(),
            };
            let res = async {
                // An upsert by `externalOrderId`, but a repeat may raise `order<STATUS>` again:
                // repeated after an unknown outcome only when the builder chose so.
                let req = Request::new(Method::POST, &["v1", "orders"])
                    .json(&body)?
                    .idempotent(self.order_retry() == OrderRetry::AfterUnknownOutcome);
                Ok::<_, Error>(
                    self.send(req)
                        .await?
                        .decode_lenient::<OrdersResponse>("orders response"),
                )
            }
            .await;
            (indices, res)
        })
        .buffer_unordered(self.concurrency())
        .collect()
        .await;
        for (indices, res) in results {
            let failed = match res {
                Err(e) => {
                    let shared = ItemError::from(e);
                    for i in indices {
                        outcomes[i] = Some(order_outcome(i, &orders[i], Err(shared.clone())));
                    }
                    continue;
                }
                Ok(resp) => resp.map(|r| r.failed_orders).unwrap_or_default(),
            };
            let unattributed: Vec<String> = failed
                .iter()
                .filter(|f| external_id(f).is_none())
                .map(failure_message)
                .collect();
            for i in indices {
                let id = &orders[i].external_order_id;
                let own = failed
                    .iter()
                    .find(|f| external_id(f).as_deref() == Some(id.as_str()));
                let result = match (own, unattributed.is_empty()) {
                    (Some(f), _) => Err(ItemError::Rejected {
                        message: failure_message(f),
                    }),
                    (None, false) => Err(ItemError::Rejected {
                        message: unattributed.join("; "),
                    }),
                    (None, true) => Ok(()),
                };
                outcomes[i] = Some(order_outcome(i, &orders[i], result));
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.expect("every order has an outcome"))
            .collect()
    }

    /// Schedules an asynchronous deletion of orders, by id or by a UTC range of at most 24 h
    /// that includes both ends [docs.esputnik.com removehistoryorders]. Idempotent (retried).
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use messaging_client::OrderDeletion;
    /// client.delete_orders(&OrderDeletion::ExternalOrderId("100500".into())).await?;
    /// client.delete_orders(&OrderDeletion::Range {
    ///     from: "2024-01-01T00:00:00Z".parse().unwrap(),
    ///     to: "2024-01-01T12:00:00Z".parse().unwrap(),
    /// }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_orders(&self, what: &OrderDeletion) -> Result<()> {
        let req = Request::new(Method::DELETE, &["v1", "orders"]);
        let req = match what {
            OrderDeletion::ExternalOrderId(id) if id.trim().is_empty() => {
                return Err(Error::invalid("externalOrderId", "must not be empty"));
            }
            OrderDeletion::ExternalOrderId(id) => req.query("externalOrderId", id),
            OrderDeletion::Range { from, to } => {
                if from >= to {
                    return Err(Error::invalid("from", "must be before `to`"));
                }
                if to.duration_since(*from) > jiff::SignedDuration::from_hours(24) {
                    return Err(Error::invalid("to", "the range may span at most 24 hours"));
                }
                let fmt = |t: &Timestamp| t.strftime("%Y-%m-%dT%H:%M:%S").to_string();
                req.query("from", fmt(from)).query("to", fmt(to))
            }
        };
        self.send(req).await.map(drop)
    }
}

fn order_outcome(index: usize, o: &Order, result: Result<(), ItemError>) -> OrderOutcome {
    ItemOutcome::new(index, o.external_order_id.clone(), result)
}

/// The order a `failedOrders` entry names: `order.externalOrderId` (the documented
/// `FailedOrder`), or a top-level `externalOrderId`.
fn external_id(v: &serde_json::Value) -> Option<String> {
    let id = v
        .get("order")
        .and_then(|o| o.get("externalOrderId"))
        .or_else(|| v.get("externalOrderId"))?;
    match id {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn failure_message(v: &serde_json::Value) -> String {
    ["error", "message", "errorMessage", "reason"]
        .iter()
        .find_map(|k| v.get(*k).and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| v.to_string())
}
