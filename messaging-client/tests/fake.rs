//! The client against the crate's own fake: the same request assertions (fixtures), state,
//! quirks, and fault injection.
#![cfg(feature = "fake")]

mod common;

use common::fixture;
use messaging_client::fake::FakeMessaging;
use messaging_client::{
    Client, DeliveryStatus, Error, EventV1, EventV2, ItemError, Order, OrderDeletion, OrderItem,
    OrderStatus, Recipient, SmartSend,
};
use serde_json::json;

fn last_body(fake: &FakeMessaging, path: &str) -> serde_json::Value {
    let r = fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path == path)
        .expect(path);
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/json; charset=UTF-8")
    );
    assert!(r.authorization.as_deref().unwrap().starts_with("Basic "));
    r.json()
}

#[tokio::test]
async fn account_info_and_wrong_key() {
    let fake = FakeMessaging::start().await;
    let info = fake.client().account_info().await.unwrap();
    assert_eq!(info.org_id, Some(123456));
    let wrong = Client::builder("nope")
        .base_url(fake.base_url())
        .allow_http(true)
        .build()
        .unwrap();
    assert!(matches!(
        wrong.account_info().await,
        Err(Error::Unauthorized { .. })
    ));
}

#[tokio::test]
async fn unsubscribed_set_follows_add_and_delete() {
    let fake = FakeMessaging::start().await;
    let client = fake.client();
    client
        .add_unsubscribed(["a@x.com", "b@x.com"])
        .await
        .unwrap();
    client.remove_unsubscribed(["a@x.com"]).await.unwrap();
    assert_eq!(
        fake.unsubscribed().into_iter().collect::<Vec<_>>(),
        vec!["b@x.com".to_string()]
    );
}

#[tokio::test]
async fn events_are_logged_with_the_documented_bodies() {
    let fake = FakeMessaging::start().await;
    let client = fake.client();
    client
        .generate_event(
            &EventV1::new("testEvent")
                .key_value("example@email.com")
                .param("discount", "5%")
                .param("link", "https://example.site.com/items_for_sale"),
        )
        .await
        .unwrap();
    client
        .generate_event_v2(
            &EventV2::new("create_contact")
                .key_value("site@com.net")
                .param("email", "site@ukr.net")
                .param("phone", "380501234567")
                .param("externalCustomerId", "AV13760")
                .param(
                    "json",
                    json!({"profileInputs": [{"profileInputId": 10001, "value": "2020-11-23"}]}),
                ),
        )
        .await
        .unwrap();
    let events = fake.events();
    assert_eq!(events.len(), 2);
    assert_eq!(
        (events[0].version, &events[0].body),
        (1, &fixture("event_v1_example.json"))
    );
    assert_eq!(
        (events[1].version, &events[1].body),
        (2, &fixture("event_v2_example.json"))
    );
}

#[tokio::test]
async fn the_fake_rejects_oversized_and_non_string_v1_events_like_the_service() {
    let fake = FakeMessaging::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/event", fake.base_url());
    let send = |body: String| {
        http.post(&url)
            .basic_auth("user", Some(fake.api_key()))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let big = json!({"eventTypeKey": "e", "keyValue": "k", "params": [{"name": "x", "value": "y".repeat(21 * 1024)}]});
    assert_eq!(send(big.to_string()).await.unwrap().status(), 400);
    let nested =
        json!({"eventTypeKey": "e", "keyValue": "k", "params": [{"name": "x", "value": {"a": 1}}]});
    assert_eq!(send(nested.to_string()).await.unwrap().status(), 400);
    assert!(fake.events().is_empty());
}

#[tokio::test]
async fn non_idempotent_events_are_not_resent_after_a_dropped_connection() {
    let fake = FakeMessaging::start().await;
    fake.drop_next(1);
    let err = fake
        .client()
        .generate_event(&EventV1::new("e").key_value("k"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport(_) | Error::Decode { .. }),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn events_are_retried_after_429_and_reads_after_5xx() {
    let fake = FakeMessaging::start().await;
    let client = fake.client();
    fake.rate_limit_next(2, Some(0));
    client
        .generate_event(&EventV1::new("e").key_value("k"))
        .await
        .unwrap();
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(fake.events().len(), 1);
    fake.fail_next(1, 500);
    client
        .generate_event(&EventV1::new("e").key_value("k"))
        .await
        .unwrap_err();
    assert_eq!(fake.events().len(), 1, "not retried");
    fake.fail_next(3, 502);
    client.account_info().await.unwrap();
    fake.fail_next(4, 502);
    assert_eq!(client.account_info().await.unwrap_err().status(), Some(502));
}

#[tokio::test]
async fn smartsend_statuses_round_trip_with_quirks() {
    let fake = FakeMessaging::start().await;
    let client = fake.client();
    let send = SmartSend {
        recipients: vec![
            Recipient::locator("example@mail.com")
                .with_params(json!({"discount": "5%", "link": "https://site.com/items_for_sale"})),
        ],
        email: true,
        from_name: None,
    };
    let out = client.smartsend(77, &send).await;
    assert_eq!(
        last_body(&fake, "/api/v1/message/77/smartsend"),
        fixture("smartsend_example.json")
    );
    let id = out[0].result.clone().unwrap();
    // One id: the fake answers with a single object and string booleans.
    let statuses = client.message_statuses(&[id.clone()]).await.unwrap();
    assert_eq!(statuses[0].status, DeliveryStatus::Delivered);
    assert!(statuses[0].delivered);

    let send = SmartSend {
        recipients: vec![
            Recipient::locator("not-an-email"),
            Recipient::locator("ok@mail.com"),
        ],
        email: true,
        from_name: Some("Shop".into()),
    };
    let out = client.smartsend(77, &send).await;
    assert!(
        matches!(&out[0].result, Err(ItemError::Rejected { message }) if message == "'not-an-email' is not valid email")
    );
    let second = out[1].result.clone().unwrap();
    fake.set_message_status(&second, "UNDELIVERED", false, true);
    let statuses = client.message_statuses(&[id, second]).await.unwrap();
    assert_eq!(statuses.len(), 2);
    assert!(statuses[1].failed);
}

#[tokio::test]
async fn orders_upsert_by_external_order_id_and_delete() {
    let fake = FakeMessaging::start().await;
    let client = fake.client();
    let mut order = Order::new(
        "100500",
        OrderStatus::Initialized,
        "1000".parse().unwrap(),
        "USD",
        "2017-03-08T09:30:00+02:00[+02:00]".parse().unwrap(),
    );
    order.external_customer_id = Some("12345".into());
    order.items.push(OrderItem::new(
        "200600",
        "Super Device",
        1,
        "990".parse().unwrap(),
    ));
    assert!(
        client.push_orders(std::slice::from_ref(&order)).await[0]
            .result
            .is_ok()
    );
    order.status = OrderStatus::Delivered;
    order.total_cost = "1000.50".parse().unwrap();
    assert!(
        client.push_orders(std::slice::from_ref(&order)).await[0]
            .result
            .is_ok()
    );
    let stored = fake.orders();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored["100500"]["status"], "DELIVERED");
    assert_eq!(stored["100500"]["date"], "2017-03-08T09:30:00+02:00");

    client
        .delete_orders(&OrderDeletion::Range {
            from: "2017-03-08T07:00:00Z".parse().unwrap(),
            to: "2017-03-08T08:00:00Z".parse().unwrap(),
        })
        .await
        .unwrap();
    assert!(fake.orders().is_empty());
}
