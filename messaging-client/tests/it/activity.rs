//! Contact activity (`GET /v2/contacts/activity`, the documented way to read what became of an
//! `externalRequestId`) and the Viber send (`POST /v1/message/viber`), against wiremock and
//! the fake.

use crate::common;

use common::*;
use futures::TryStreamExt;
use messaging_client::{ActivityQuery, ContactActivity, Error, SendReceipt, ViberMessage};
use serde_json::json;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

fn query() -> ActivityQuery {
    ActivityQuery {
        email: Some("a@x.com".into()),
        page_size: 2,
        ..ActivityQuery::new(
            "2024-03-01T00:00:00".parse().unwrap(),
            "2024-03-01T23:59:59".parse().unwrap(),
        )
    }
}

#[tokio::test]
async fn activity_pages_by_offset_until_a_short_page() {
    let server = server().await;
    // The documented ContactActivity fields [OpenAPI contactActivity].
    let entry = |n: u32| {
        json!({"iid": format!("i{n}"), "externalRequestId": format!("job:{n}"), "contactId": "42",
               "externalCustomerId": "C1", "email": "a@x.com", "mediaType": "email",
               "activityStatus": "DELIVERED", "messageId": 7, "messageInstanceId": "9",
               "messageName": "Welcome", "messageTag": "promo", "activityDateTime": "2024-03-01T10:00:00",
               "statusDescription": null, "offset": format!("off-{n}"), "broadcastId": 3, "from": "shop"})
    };
    Mock::given(method("GET"))
        .and(path("/api/v2/contacts/activity"))
        .and(query_param("dateFrom", "2024-03-01T00:00:00"))
        .and(query_param("dateTo", "2024-03-01T23:59:59"))
        .and(query_param("email", "a@x.com"))
        .and(query_param("maxrows", "2"))
        .and(query_param_is_missing("offset"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([entry(1), entry(2)])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/contacts/activity"))
        .and(query_param("offset", "off-2"))
        .and(query_param("maxrows", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!(entry(3))))
        .expect(1)
        .mount(&server)
        .await;
    let all: Vec<ContactActivity> = client(&server)
        .contacts_activity(&query())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let first = &all[0];
    assert_eq!(first.external_request_id.as_deref(), Some("job:1"));
    assert_eq!(first.contact_id, Some(42));
    assert_eq!(first.activity_status.as_deref(), Some("DELIVERED"));
    assert_eq!(first.message_id, Some(7));
    assert_eq!(first.media_type.as_deref(), Some("email"));
    assert_eq!(
        first.activity_date_time.as_deref(),
        Some("2024-03-01T10:00:00")
    );
    let reqs = server.received_requests().await.unwrap();
    assert_request_basics(&reqs[0]);
}

#[tokio::test]
async fn an_activity_query_outside_the_limits_sends_nothing() {
    let server = server().await;
    let client = client(&server);
    for bad in [
        ActivityQuery {
            page_size: 0,
            ..query()
        },
        ActivityQuery {
            page_size: 25_001,
            ..query()
        },
        ActivityQuery::new(
            "2024-03-02T00:00:00".parse().unwrap(),
            "2024-03-01T00:00:00".parse().unwrap(),
        ),
    ] {
        let err = client
            .contacts_activity(&bad)
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    }
}

#[tokio::test]
async fn viber_goes_out_as_documented() {
    // OutgoingViber [OpenAPI sendViber]; `iosExpirityText` is spelled so by the service.
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/message/viber"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results":
            {"id": "0", "locator": "380501234567", "status": "OK", "requestId": "v-1"}})))
        .expect(1)
        .mount(&server)
        .await;
    let message = ViberMessage {
        from: Some("SHOP".into()),
        text: "Sale today".into(),
        ios_expirity_text: "The sale is over".into(),
        phone_numbers: vec!["380501234567".into()],
        ttl_seconds: Some(3600),
        img: Some("https://shop/img.png".into()),
        caption: Some("Open".into()),
        action: Some("https://shop/sale".into()),
        tags: vec!["sale".into()],
        external_request_id: Some("viber-1".into()),
        ..Default::default()
    };
    let client = client(&server);
    match client.send_viber(&message).await.unwrap() {
        SendReceipt::Results(r) => assert_eq!(r[0].request_id.as_deref(), Some("v-1")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        only_body(&server, "/api/v1/message/viber").await,
        json!({"from": "SHOP", "text": "Sale today", "iosExpirityText": "The sale is over",
               "phoneNumbers": ["380501234567"], "ttlSeconds": 3600, "img": "https://shop/img.png",
               "caption": "Open", "action": "https://shop/sale", "tags": ["sale"],
               "externalRequestId": "viber-1"})
    );
    for bad in [
        ViberMessage {
            ios_expirity_text: String::new(),
            ..message.clone()
        },
        ViberMessage {
            phone_numbers: vec![],
            ..message.clone()
        },
    ] {
        assert!(matches!(
            client.send_viber(&bad).await,
            Err(Error::InvalidInput { .. })
        ));
    }
}

#[cfg(feature = "fake")]
#[tokio::test]
async fn the_fake_reports_the_activity_of_what_it_sent_by_external_request_id() {
    use messaging_client::fake::{FakeMessaging, FakeService};
    use messaging_client::{Recipient, SmartSend};
    let fake = FakeMessaging::start().await;
    let client = fake.client();
    let send = SmartSend::new(vec![
        Recipient::locator("a@x.com").with_external_request_id("job:a"),
        Recipient::locator("b@x.com").with_external_request_id("job:b"),
    ]);
    assert!(client.smartsend(77, &send).await.iter().all(|o| o.is_ok()));
    let viber = ViberMessage {
        text: "Hi".into(),
        ios_expirity_text: "Expired".into(),
        phone_numbers: vec!["380501234567".into()],
        external_request_id: Some("job:v".into()),
        ..Default::default()
    };
    client.send_viber(&viber).await.unwrap();
    // The fake's API user lives in UTC.
    let now = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::UTC)
        .datetime();
    let hour = jiff::SignedDuration::from_hours(1);
    let all: Vec<ContactActivity> = client
        .contacts_activity(&ActivityQuery::new(
            now.checked_sub(hour).unwrap(),
            now.checked_add(hour).unwrap(),
        ))
        .try_collect()
        .await
        .unwrap();
    let by_request: Vec<_> = all
        .iter()
        .map(|a| {
            (
                a.external_request_id.as_deref().unwrap(),
                a.media_type.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_request,
        [("job:a", "email"), ("job:b", "email"), ("job:v", "viber")]
    );
    assert_eq!(all[0].email.as_deref(), Some("a@x.com"));
    assert_eq!(all[0].message_id, Some(77));
}

/// A push by contact id leaves an activity entry naming the token it went to under OA
/// `ContactActivity.mobPushToken` / `webPushToken` (not `sms`), with the contact id.
#[cfg(feature = "fake")]
#[tokio::test]
async fn a_push_by_contact_id_is_recorded_under_its_device_token() {
    use messaging_client::fake::{FakeMessaging, FakeService};
    use messaging_client::{Recipient, SmartSend};
    let fake = FakeMessaging::start().await;
    let id = fake.seed_contact(json!({"channels": [
        {"type": "mobilepush", "value": "tok-m"}, {"type": "webpush", "value": "tok-w"}]}));
    let client = fake.client();
    let send = SmartSend::new(vec![
        Recipient::contact(id).with_external_request_id("job:p"),
    ])
    .email(false);
    let out = client.smartsend(5, &send).await;
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);
    let now = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::UTC)
        .datetime();
    let hour = jiff::SignedDuration::from_hours(1);
    let all: Vec<ContactActivity> = client
        .contacts_activity(&ActivityQuery::new(
            now.checked_sub(hour).unwrap(),
            now.checked_add(hour).unwrap(),
        ))
        .try_collect()
        .await
        .unwrap();
    let seen: Vec<_> = all
        .iter()
        .map(|a| {
            (
                a.media_type.as_deref(),
                a.mob_push_token.as_deref(),
                a.web_push_token.as_deref(),
                a.sms.as_deref(),
                a.contact_id,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (Some("mobilepush"), Some("tok-m"), None, None, Some(id)),
            (Some("webpush"), None, Some("tok-w"), None, Some(id)),
        ]
    );
}
