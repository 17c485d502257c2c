//! The client against the crate's own fake: the same request assertions (fixtures), state,
//! quirks, and fault injection.
#![cfg(feature = "fake")]

use crate::common;

use common::fixture;
use messaging_client::fake::{DropPoint, FakeMessaging, FakeService};
use messaging_client::marketing_sync_core::Error as CoreError;
use messaging_client::{
    ApiKey, Client, DeliveryStatus, Error, EventV1, EventV2, ItemError, Order, OrderDeletion,
    OrderItem, OrderStatus, Recipient, SmartSend,
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
        r.header("content-type"),
        Some("application/json; charset=UTF-8")
    );
    assert!(r.header("authorization").unwrap().starts_with("Basic "));
    serde_json::from_slice(&r.body).unwrap()
}

#[tokio::test]
async fn account_info_and_wrong_key() {
    let fake = FakeMessaging::start().await;
    let info = fake.client().account_info().await.unwrap();
    assert_eq!(info.org_id, Some(123456));
    let wrong = Client::builder(ApiKey::new("nope"))
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
    // `generate_event` posts to v2 by default (OA marks v1 deprecated): the v1 example's body
    // arrives unchanged on /v2/event.
    assert_eq!(
        (events[0].version, &events[0].body),
        (2, &fixture("event_v1_example.json"))
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
            .basic_auth("user", Some(fake.credentials().expose()))
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
    fake.drop_next(1, DropPoint::BeforeProcessing);
    let err = fake
        .client()
        .generate_event(&EventV1::new("e").key_value("k"))
        .await
        .unwrap_err();
    // The client cannot tell a cut before processing from one after: outcome unknown.
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert!(fake.events().is_empty());
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn events_are_retried_after_429_and_reads_after_5xx() {
    let fake = FakeMessaging::start().await;
    let client = fake.client();
    fake.rate_limit_next(2, 0);
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
    let send = SmartSend::new(vec![Recipient::locator("example@mail.com").with_params(
        json!({"discount": "5%", "link": "https://site.com/items_for_sale"}),
    )]);
    let out = client.smartsend(77, &send).await;
    assert_eq!(
        last_body(&fake, "/api/v1/message/77/smartsend"),
        fixture("smartsend_example.json")
    );
    let id = out[0].result.clone().unwrap();
    // One id: the fake answers with a single object and string booleans.
    let statuses = client
        .message_statuses(std::slice::from_ref(&id))
        .await
        .unwrap();
    assert_eq!(statuses[0].status, DeliveryStatus::Delivered);
    assert!(statuses[0].delivered);

    let send = SmartSend::new(vec![
        Recipient::locator("not-an-email"),
        Recipient::locator("ok@mail.com"),
    ])
    .from_name("Shop");
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
async fn a_restored_message_status_keeps_later_request_ids_distinct() {
    let first = FakeMessaging::start().await;
    let send = SmartSend::new(vec![
        Recipient::locator("a@mail.com"),
        Recipient::locator("b@mail.com"),
    ]);
    let sent: Vec<String> = first
        .client()
        .smartsend(7, &send)
        .await
        .into_iter()
        .map(|o| o.result.unwrap())
        .collect();
    // A new fake holding the first one's statuses (a sandbox restored from its file).
    let second = FakeMessaging::start().await;
    for (id, status) in first.message_statuses() {
        second.set_message_status(&id, &status, true, false);
    }
    let again = second.client().smartsend(7, &send).await;
    for outcome in again {
        let id = outcome.result.unwrap();
        assert!(!sent.contains(&id), "{id} was handed out before");
    }
    assert_eq!(second.message_statuses().len(), 4);
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

#[tokio::test]
async fn contacts_import_session_finishes_after_a_few_polls() {
    let fake = FakeMessaging::start().await;
    let client = fake.client();
    let catalog = client.field_catalog().await.unwrap();
    let mut ann = messaging_client::Contact::email("ann@x.com");
    ann.fields = catalog.resolve([("Gender", "F")]).unwrap();
    ann.external_customer_id = Some("C1".into());
    let options = messaging_client::ImportOptions {
        group_names: vec!["VIP".into()],
        ..Default::default()
    };
    let chunks = client
        .import_contacts(std::slice::from_ref(&ann), &options)
        .await;
    let session = chunks[0]
        .result
        .as_ref()
        .unwrap()
        .async_session_id
        .clone()
        .unwrap();
    let status = client
        .wait_for_import(&session, &messaging_client::ImportPolling::default())
        .await
        .unwrap();
    assert_eq!(status.status, messaging_client::ImportState::Finished);
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.path.contains("importstatus"))
            .count(),
        3
    );
    // Same externalCustomerId: updated, not duplicated (once its session has run).
    ann.first_name = Some("Ann".into());
    let chunks = client
        .import_contacts(std::slice::from_ref(&ann), &options)
        .await;
    let session = chunks[0].result.as_ref().unwrap();
    client
        .wait_for_import(
            session.async_session_id.as_deref().unwrap(),
            &messaging_client::ImportPolling::default(),
        )
        .await
        .unwrap();
    let contacts = fake.contacts();
    assert_eq!(contacts.len(), 1);
    let (id, stored) = contacts.into_iter().next().unwrap();
    assert_eq!(stored["firstName"], "Ann");
    assert_eq!(stored["fields"], json!([{"id": 15868, "value": "F"}]));

    let segments = client.list_segments(Some("vip")).await.unwrap();
    assert_eq!(segments.len(), 1);
    assert!(fake.segment_members(segments[0].id).contains(&id));

    fake.fail_imports(true);
    let chunks = client
        .import_contacts(std::slice::from_ref(&ann), &options)
        .await;
    let session = chunks[0]
        .result
        .as_ref()
        .unwrap()
        .async_session_id
        .clone()
        .unwrap();
    assert!(matches!(
        client
            .wait_for_import(&session, &messaging_client::ImportPolling::default())
            .await,
        Err(Error::ImportFailed { .. })
    ));
}

#[tokio::test]
async fn single_contacts_search_and_segments_on_the_fake() {
    use futures::TryStreamExt;
    let fake = FakeMessaging::start().await;
    let client = fake.client();
    for i in 0..7 {
        fake.seed_contact(
            json!({"channels": [{"type": "email", "value": format!("user{i}@x.com")}],
                                 "externalCustomerId": format!("E{i}")}),
        );
    }
    let query = messaging_client::ContactQuery {
        email: Some("user".into()),
        page_size: Some(3),
        ..Default::default()
    };
    let all: Vec<_> = client.search_contacts(&query).try_collect().await.unwrap();
    assert_eq!(all.len(), 7);
    let searches = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/contacts")
        .count();
    assert_eq!(searches, 3);

    let id = client
        .add_contact(&messaging_client::Contact::email("new@x.com"))
        .await
        .unwrap();
    let mut got = client.get_contact(id).await.unwrap().unwrap();
    got.last_name = Some("Smith".into());
    client.update_contact(id, &got).await.unwrap();
    assert_eq!(fake.contacts()[&id]["lastName"], "Smith");
    assert!(
        client
            .update_contact(123456789, &got)
            .await
            .unwrap_err()
            .status()
            == Some(404)
    );

    let seg = fake.seed_segment(10, "Newsletter", "Static");
    fake.seed_segment(11, "Smart", "Dynamic");
    assert_eq!(
        client.attach_contacts(seg, &[id]).await.unwrap(),
        "Contacts were attached"
    );
    let members: Vec<_> = client
        .segment_contacts(seg, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(members[0].id, Some(id));
    assert_eq!(
        client.detach_contacts(seg, &[id]).await.unwrap(),
        "Contacts were detached"
    );
    assert!(fake.segment_members(seg).is_empty());
    assert_eq!(
        client
            .attach_contacts(11, &[id])
            .await
            .unwrap_err()
            .status(),
        Some(400)
    );

    assert!(client.delete_contact(id).await.unwrap());
    assert!(!client.delete_contact(id).await.unwrap());
    client
        .delete_contact_by_external_id("E0", true)
        .await
        .unwrap();
    assert_eq!(fake.contacts().len(), 6);

    let sub = messaging_client::Subscription {
        contact: messaging_client::Contact::email("sub@x.com"),
        groups: vec!["Subscribers".into()],
        ..Default::default()
    };
    client.subscribe_contact(&sub).await.unwrap();
    assert!(
        fake.events()
            .iter()
            .any(|e| e.body["eventTypeKey"] == "subscribeFromAPI")
    );
}

#[tokio::test]
async fn documented_orders_and_contacts_examples_reach_the_fake_unchanged() {
    let fake = FakeMessaging::start().await;
    let client = fake.client();
    let o = common::documented_order();
    assert!(client.push_orders(&[o]).await[0].result.is_ok());
    assert_eq!(
        last_body(&fake, "/api/v1/orders"),
        fixture("orders_example.json")
    );

    let mut contact = messaging_client::Contact::email("test@mail.com");
    contact.fields.push(messaging_client::ContactField {
        id: 12345,
        value: "...".into(),
    });
    let options = messaging_client::ImportOptions::default();
    assert!(
        client.import_contacts(&[contact], &options).await[0]
            .result
            .is_ok()
    );
    let mut want = fixture("contacts_example.json");
    want["dedupeOn"] = json!("email");
    want["contactFields"] = json!(["email"]);
    assert_eq!(last_body(&fake, "/api/v1/contacts"), want);
}

#[tokio::test]
async fn fake_delay_trips_the_client_timeout_and_wrong_media_type_is_415() {
    let fake = FakeMessaging::start().await;
    fake.set_delay(Some(std::time::Duration::from_millis(300)));
    let client = Client::builder(fake.credentials())
        .base_url(fake.base_url())
        .allow_http(true)
        .timeout(std::time::Duration::from_millis(50))
        .retry(messaging_client::RetryPolicy::none())
        .build()
        .unwrap();
    assert!(matches!(
        client.account_info().await,
        Err(Error::Transport(CoreError::Timeout(_)))
    ));
    fake.set_delay(None);
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/orders", fake.base_url()))
        .basic_auth("user", Some(fake.credentials().expose()))
        .header("content-type", "text/plain")
        .body("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
}

#[tokio::test]
async fn seeds_and_request_log_helpers() {
    let fake = FakeMessaging::start().await;
    fake.seed_unsubscribed(["x@y.z"]);
    fake.seed_order(json!({"externalOrderId": "7", "status": "DELIVERED"}));
    assert!(fake.unsubscribed().contains("x@y.z"));
    assert_eq!(fake.orders()["7"]["status"], "DELIVERED");
    fake.client().account_info().await.unwrap();
    assert_eq!(fake.requests().len(), 1);
    fake.clear_requests();
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn idempotent_reads_are_retried_after_a_dropped_connection() {
    let fake = FakeMessaging::start().await;
    fake.drop_next(1, DropPoint::BeforeProcessing);
    fake.client().account_info().await.unwrap();
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn batch_futures_run_on_spawned_tasks() {
    // Batch helpers must return `Send` futures so callers can spawn them.
    let fake = FakeMessaging::start().await;
    let client = fake.client();
    let recipients: Vec<Recipient> = (0..1_500)
        .map(|i| Recipient::locator(format!("r{i}@mail.com")))
        .collect();
    let send = SmartSend::new(recipients);
    let c = client.clone();
    let out = tokio::spawn(async move { c.smartsend(77, &send).await })
        .await
        .unwrap();
    assert_eq!(out.len(), 1_500);
    assert!(out.iter().all(|o| o.result.is_ok()));
    // 1,500 recipients are two smartsend chunks (1,000 + 500).
    let chunks = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/message/77/smartsend")
        .count();
    assert_eq!(chunks, 2);
}

#[tokio::test]
async fn an_event_dropped_after_processing_is_recorded_once_and_not_resent() {
    let fake = FakeMessaging::start().await;
    fake.drop_next(1, DropPoint::AfterProcessing);
    let client = fake.client();
    let err = client
        .generate_event(&EventV1::new("e").key_value("k"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(fake.events().len(), 1, "processed before the cut");
    assert_eq!(client.requests_sent(), 1, "a POST is not repeated");
}

#[tokio::test]
async fn posts_marked_idempotent_are_repeated_after_a_5xx_and_counted() {
    let fake = FakeMessaging::start().await;
    let client = fake.client();
    fake.fail_next(1, 503);
    client.add_unsubscribed(["gone@example.com"]).await.unwrap();
    assert!(fake.unsubscribed().contains("gone@example.com"));
    assert_eq!(client.requests_sent(), 2);
    assert_eq!(fake.requests().len(), 2);
    fake.fail_next(1, 503);
    client
        .add_contact(&messaging_client::Contact::email("new@example.com"))
        .await
        .unwrap_err();
    assert_eq!(client.requests_sent(), 3, "add_contact is not repeated");
}

#[tokio::test]
async fn a_contact_update_whose_answer_was_lost_succeeds_on_the_fake() {
    let fake = FakeMessaging::start().await;
    let id =
        fake.seed_contact(serde_json::json!({"channels": [{"type": "email", "value": "a@x.com"}]}));
    fake.drop_next(1, DropPoint::AfterProcessing);
    let client = fake.client();
    let mut update = messaging_client::Contact::email("a@x.com");
    update.first_name = Some("Ann".into());
    client.update_contact(id, &update).await.unwrap();
    assert_eq!(fake.contacts()[&id]["firstName"], "Ann");
    let seen: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.method.to_string())
        .collect();
    assert_eq!(
        seen,
        ["PUT", "PUT", "GET"],
        "the retry met the 409 and read back"
    );
}

/// Issue 21: the fake is driven through `FakeService`, the one fake API; its fault setters
/// answer as the service does (the 429's plain-text body and `Retry-After` [docs.esputnik.com
/// rate limits]), and its credentials are the `ApiKey` the client is built with (HTTP Basic,
/// the key as the password [docs.esputnik.com authentication]).
#[tokio::test]
async fn the_fake_service_api_answers_as_the_service() {
    let fake = FakeMessaging::start().await;
    let info = format!("{}/v1/account/info", fake.base_url());
    let raw = |key: &str| {
        reqwest::Client::new()
            .get(&info)
            .basic_auth("anyone", Some(key.to_owned()))
    };
    fake.rate_limit_next(1, 3);
    let limited = raw(fake.credentials().expose()).send().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "3");
    assert!(
        limited
            .text()
            .await
            .unwrap()
            .starts_with("Too many requests")
    );
    fake.fail_next(1, 503);
    let failed = raw(fake.credentials().expose()).send().await.unwrap();
    assert_eq!(failed.status(), 503);

    fake.set_credentials(ApiKey::new("rotated"));
    assert_eq!(raw("fake-api-key").send().await.unwrap().status(), 401);
    assert_eq!(raw("rotated").send().await.unwrap().status(), 200);
    assert!(fake.client().account_info().await.is_ok());
    assert_eq!(fake.request_count(), 5);
    let last = fake.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("GET", "/api/v1/account/info")
    );
    fake.clear_requests();
    assert_eq!(fake.request_count(), 0);
}
