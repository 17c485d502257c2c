//! Unsubscribes, events, smartsend, plain sends and statuses: the exact JSON the server
//! receives, and the decoding quirks.

use crate::common;

use common::*;
use messaging_client::{
    DeliveryStatus, EmailMessage, Error, EventV1, EventV2, ItemError, Recipient, SendReceipt,
    SmartSend, SmsMessage,
};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn unsubscribed_add_and_delete() {
    let server = server().await;
    for action in ["add", "delete"] {
        Mock::given(method("POST"))
            .and(path(format!("/api/v1/emails/unsubscribed/{action}")))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(&server);
    client
        .add_unsubscribed(["test1@mail.com", "test2@mail.com"])
        .await
        .unwrap();
    client
        .remove_unsubscribed(vec!["test1@mail.com".to_string()])
        .await
        .unwrap();
    client.add_unsubscribed(Vec::<String>::new()).await.unwrap(); // nothing sent
    assert_eq!(
        only_body(&server, "/api/v1/emails/unsubscribed/add").await,
        json!({"emails": ["test1@mail.com", "test2@mail.com"]})
    );
    assert_eq!(
        only_body(&server, "/api/v1/emails/unsubscribed/delete").await,
        json!({"emails": ["test1@mail.com"]})
    );
}

#[tokio::test]
async fn event_v1_matches_the_documented_example() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/event"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let event = EventV1::new("testEvent")
        .key_value("example@email.com")
        .param("discount", "5%")
        .param("link", "https://example.site.com/items_for_sale");
    let v1 = messaging_client::Client::builder(messaging_client::ApiKey::new(KEY))
        .base_url(format!("{}/api", server.uri()))
        .allow_http(true)
        .event_api(messaging_client::EventApi::V1)
        .build()
        .unwrap();
    v1.generate_event(&event).await.unwrap();
    assert_eq!(
        only_body(&server, "/api/v1/event").await,
        fixture("event_v1_example.json")
    );
}

#[tokio::test]
async fn event_v2_sends_nested_json_unescaped() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/event"))
        .respond_with(ResponseTemplate::new(200).set_body_string(""))
        .expect(1)
        .mount(&server)
        .await;
    let event = EventV2::new("create_contact")
        .key_value("site@com.net")
        .param("email", "site@ukr.net")
        .param("phone", "380501234567")
        .param("externalCustomerId", "AV13760")
        .param(
            "json",
            json!({"profileInputs": [{"profileInputId": 10001, "value": "2020-11-23"}]}),
        );
    client(&server).generate_event_v2(&event).await.unwrap();
    assert_eq!(
        only_body(&server, "/api/v2/event").await,
        fixture("event_v2_example.json")
    );
}

#[tokio::test]
async fn invalid_events_are_refused_before_sending_naming_the_field() {
    let server = server().await; // the catch-all fails on any request
    let client = client(&server);
    let cases = [
        (EventV1::new("bad,key").key_value("k"), "eventTypeKey"),
        (EventV1::new("ok").key_value("k".repeat(301)), "keyValue"),
        (EventV1::new("ok"), "keyValue"),
        (
            EventV1::new("ok")
                .key_value("k")
                .param("big", "x".repeat(21 * 1024)),
            "body",
        ),
    ];
    for (event, want) in cases {
        match client.generate_event(&event).await.unwrap_err() {
            Error::InvalidInput { field, .. } => assert_eq!(field, want),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn smartsend_matches_the_documented_example_and_escapes_json_param() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/message/4242/smartsend"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"id":"0","results":{"id":"0","locator":"example@mail.com","status":"OK","requestId":"8b2e65d9"}}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let send = SmartSend::new(vec![Recipient::locator("example@mail.com").with_params(
        json!({"discount": "5%", "link": "https://site.com/items_for_sale"}),
    )]);
    let out = client(&server).smartsend(4242, &send).await;
    let body = only_body(&server, "/api/v1/message/4242/smartsend").await;
    assert_eq!(body, fixture("smartsend_example.json"));
    assert!(body["recipients"][0]["jsonParam"].is_string());
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].result.as_ref().unwrap(), "8b2e65d9");
}

#[tokio::test]
async fn smartsend_push_by_contact_id_and_sms_sender() {
    let server = server().await;
    Mock::given(path("/api/v1/message/9/smartsend"))
        .respond_with(
            // The push result names the device token it went to (OA
            // `SendMessageResultDto.locator`), not the contact id.
            ResponseTemplate::new(200).set_body_json(json!({"id":0,"results":[
            {"id":0,"locator":"fcm-token-1","status":"OK","requestId":"r1"},
            {"id":0,"locator":"380501234567","status":"OK","requestId":"r2"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/contact/449790707"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": 449790707, "channels": [{"type": "mobilepush", "value": "fcm-token-1"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let send = SmartSend::new(vec![
        Recipient::contact(449790707),
        Recipient::locator("380501234567")
            .with_language("uk")
            .with_external_request_id("ext-1"),
    ])
    .email(false)
    .from_name("V-COMP");
    let out = client(&server).smartsend(9, &send).await;
    assert_eq!(
        only_body(&server, "/api/v1/message/9/smartsend").await,
        json!({"recipients": [
            {"jsonParam": null, "contactId": 449790707},
            {"jsonParam": null, "locator": "380501234567", "languageCode": "uk", "externalRequestId": "ext-1"}],
         "email": false, "fromName": "V-COMP"})
    );
    assert_eq!(out[0].result.as_deref().unwrap(), "r1");
    assert_eq!(out[1].result.as_deref().unwrap(), "r2");
}

#[tokio::test]
async fn smartsend_surfaces_error_results_and_invalid_recipients_per_item() {
    let server = server().await;
    Mock::given(path("/api/v1/message/1/smartsend"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id":0,"results":[
            {"id":0,"locator":"bad","status":"ERROR","message":"'bad' is not valid email"},
            {"id":0,"locator":"good@x.com","status":"OK","requestId":"ok-1"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let send = SmartSend::new(vec![
        Recipient::locator("bad"),
        Recipient::default(),
        Recipient::locator("good@x.com"),
    ]);
    let out = client(&server).smartsend(1, &send).await;
    assert_eq!(out.len(), 3);
    match &out[0].result {
        Err(ItemError::Rejected { message }) => assert_eq!(message, "'bad' is not valid email"),
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&out[1].result, Err(ItemError::Failed(e)) if matches!(**e, Error::InvalidInput { .. }))
    );
    assert_eq!(out[2].result.as_deref().unwrap(), "ok-1");
    let body = only_body(&server, "/api/v1/message/1/smartsend").await;
    assert_eq!(
        body["recipients"].as_array().unwrap().len(),
        2,
        "the invalid recipient is not sent"
    );
}

#[tokio::test]
async fn smartsend_chunks_by_1000_and_matches_results_by_locator() {
    let server = server().await;
    Mock::given(path("/api/v1/message/3/smartsend"))
        .respond_with(|req: &wiremock::Request| {
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            // Answer in reverse order, dropping the first recipient, so matching must use locators.
            let results: Vec<_> = body["recipients"]
                .as_array()
                .unwrap()
                .iter()
                .skip(1)
                .rev()
                .map(|r| json!({"id":0,"locator":r["locator"],"status":"OK","requestId":format!("id-{}", r["locator"].as_str().unwrap())}))
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"id":0,"results":results}))
        })
        .expect(3)
        .mount(&server)
        .await;
    let recipients: Vec<_> = (0..2500)
        .map(|i| Recipient::locator(format!("u{i}@x.com")))
        .collect();
    let send = SmartSend::new(recipients);
    let out = client(&server).smartsend(3, &send).await;
    let sizes: Vec<usize> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["recipients"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    let mut sorted = sizes.clone();
    sorted.sort();
    assert_eq!(sorted, vec![500, 1000, 1000]);
    assert_eq!(out.len(), 2500);
    for (i, o) in out.iter().enumerate() {
        assert_eq!(o.index, i);
        if i % 1000 == 0 {
            // No result names it: its outcome is unknown, not a failure.
            assert!(
                matches!(o.result, Err(ItemError::OutcomeUnknown { .. })),
                "{i}"
            );
        } else {
            assert_eq!(o.result.as_deref().unwrap(), format!("id-u{i}@x.com"));
        }
    }
}

#[tokio::test]
async fn smartsend_failed_chunk_fails_its_recipients_only() {
    let server = server().await;
    Mock::given(path("/api/v1/message/2/smartsend"))
        .respond_with(ResponseTemplate::new(400).set_body_string("Message not found"))
        .expect(1)
        .mount(&server)
        .await;
    let send = SmartSend::new(vec![
        Recipient::locator("a@x.com"),
        Recipient::locator("b@x.com"),
    ]);
    let out = client(&server).smartsend(2, &send).await;
    for o in out {
        match o.result {
            Err(ItemError::Failed(e)) => assert_eq!(e.status(), Some(400)),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn plain_email_and_sms() {
    let server = server().await;
    Mock::given(path("/api/v1/message/email"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("smartsend_response.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/message/sms"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"results":{"id":"0","locator":"380999135853","status":"OK","requestId":"sms-1"}}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let email = EmailMessage {
        from: "sender@gmail.com".into(),
        subject: "Subject".into(),
        html_text: "<html><body><h1>TEST</h1></body></html>".into(),
        plain_text: Some("plainText".into()),
        emails: vec!["receive1@gmail.com".into(), "receive2@gmail.com".into()],
        tags: vec!["tag1".into()],
        ..Default::default()
    };
    let receipt = client.send_email(&email).await.unwrap();
    let results = receipt.results();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r.is_ok()));
    assert_eq!(
        only_body(&server, "/api/v1/message/email").await,
        json!({"from":"sender@gmail.com","subject":"Subject","htmlText":"<html><body><h1>TEST</h1></body></html>",
               "plainText":"plainText","emails":["receive1@gmail.com","receive2@gmail.com"],"tags":["tag1"]})
    );
    let sms = SmsMessage {
        from: "alpha".into(),
        text: "smstext".into(),
        phone_numbers: vec!["380999135853".into()],
        ..Default::default()
    };
    let receipt = client.send_sms(&sms).await.unwrap();
    let results = receipt.results();
    assert_eq!(results[0].request_id.as_deref(), Some("sms-1"));
    assert_eq!(results[0].id, Some(0));
    assert_eq!(
        only_body(&server, "/api/v1/message/sms").await,
        json!({"from":"alpha","text":"smstext","phoneNumbers":["380999135853"]})
    );
    assert!(matches!(
        client.send_sms(&SmsMessage::default()).await,
        Err(Error::InvalidInput { .. })
    ));
}

#[tokio::test]
async fn statuses_single_object_with_string_booleans() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/message/status"))
        .and(query_param("ids", "3ff28330-f8ef-4636-92ac-86345c16995e"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("status_single.json")))
        .expect(1)
        .mount(&server)
        .await;
    let s = client(&server)
        .message_statuses(&["3ff28330-f8ef-4636-92ac-86345c16995e"])
        .await
        .unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].status, DeliveryStatus::Delivered);
    assert!(s[0].delivered && !s[0].failed);
}

#[tokio::test]
async fn statuses_are_chunked_and_comma_joined() {
    let server = server().await;
    Mock::given(path("/api/v1/message/status"))
        .respond_with(|req: &wiremock::Request| {
            let ids = req.url.query_pairs().find(|(k, _)| k == "ids").unwrap().1.to_string();
            let results: Vec<_> = ids
                .split(',')
                .map(|id| json!({"id":1,"requestId":id,"status":"UNDELIVERED","failed":true,"delivered":false}))
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"results": results}))
        })
        .expect(3)
        .mount(&server)
        .await;
    let ids: Vec<String> = (0..250).map(|i| format!("r{i}")).collect();
    let s = client(&server).message_statuses(&ids).await.unwrap();
    assert_eq!(s.len(), 250);
    assert_eq!(s[0].request_id, "r0");
    assert_eq!(s[249].request_id, "r249");
    assert_eq!(s[7].status, DeliveryStatus::Other("UNDELIVERED".into()));
    assert!(s[7].failed);
    let first = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        first.url.query_pairs().next().unwrap().1.split(',').count(),
        100
    );
}

#[tokio::test]
async fn smartsend_top_level_external_request_id_when_asked() {
    let server = server().await;
    Mock::given(path("/api/v1/message/8/smartsend"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id":0,"results":[{"id":0,"locator":"a@x.com","status":"OK","requestId":"r"}]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let send = SmartSend::new(vec![Recipient::locator("a@x.com")]).external_request_id("batch-42");
    let _ = client(&server).smartsend(8, &send).await;
    assert_eq!(
        only_body(&server, "/api/v1/message/8/smartsend").await,
        json!({"recipients": [{"jsonParam": null, "locator": "a@x.com"}], "email": true, "fromName": null,
               "externalRequestId": "batch-42"})
    );
}

fn push(recipients: Vec<Recipient>) -> SmartSend {
    SmartSend::new(recipients)
}

fn outcomes(out: &[messaging_client::RecipientOutcome]) -> Vec<String> {
    out.iter()
        .map(|o| match &o.result {
            Ok(id) => format!("ok {id}"),
            Err(ItemError::Rejected { message }) => format!("rejected {message}"),
            Err(ItemError::OutcomeUnknown { .. }) => "unknown".into(),
            Err(ItemError::Failed(e)) => format!("failed {e}"),
            Err(e) => format!("other {e}"),
        })
        .collect()
}

#[tokio::test]
async fn smartsend_results_land_on_the_recipient_they_name_whatever_their_order() {
    let server = server().await;
    Mock::given(path("/api/v1/message/5/smartsend"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 0, "results": [
            {"id": 0, "locator": "b@x.com", "status": "OK", "requestId": "rb"},
            {"id": 0, "locator": "A@X.COM", "status": "ERROR", "message": "'a@x.com' is not valid email"}]})))
        .mount(&server)
        .await;
    let send = push(vec![
        Recipient::locator("a@x.com"),
        Recipient::locator("b@x.com"),
    ]);
    let out = client(&server).smartsend(5, &send).await;
    assert_eq!(
        outcomes(&out),
        vec!["rejected 'a@x.com' is not valid email", "ok rb"]
    );
}

/// A result is `OK` (queued) or `ERROR` (refused) [E3]; one without a status, or with
/// another, does not say whether the message went out: unknown, never a refusal that invites
/// sending it again.
#[tokio::test]
async fn a_smartsend_result_neither_ok_nor_error_is_unknown_not_refused() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/message/5/smartsend"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 0, "results": [
            {"id": 0, "locator": "a@x.com", "requestId": "ra"},
            {"id": 0, "locator": "b@x.com", "status": "PENDING", "requestId": "rb"},
            {"id": 0, "locator": "c@x.com", "status": "error", "message": "no"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let send = push(vec![
        Recipient::locator("a@x.com"),
        Recipient::locator("b@x.com"),
        Recipient::locator("c@x.com"),
    ]);
    let out = client(&server).smartsend(5, &send).await;
    assert_eq!(outcomes(&out), vec!["unknown", "unknown", "rejected no"]);
    let ItemError::OutcomeUnknown { reason } = out[1].result.as_ref().unwrap_err() else {
        unreachable!()
    };
    assert!(reason.contains("PENDING"), "{reason}");
}

#[tokio::test]
async fn smartsend_matches_by_contact_id_then_by_position_and_never_invents_an_outcome() {
    let server = server().await;
    Mock::given(path("/api/v1/message/6/smartsend"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 0, "results": [
            {"id": 0, "contactId": 2, "status": "OK", "requestId": "r2"},
            {"id": 0, "contactId": "1", "status": "ERROR", "message": "no token"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/message/7/smartsend"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 0, "results": [
            {"id": 0, "status": "OK", "requestId": "p1"},
            {"id": 0, "status": "OK", "requestId": "p2"}]})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/message/8/smartsend"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 0, "results":
            {"id": 0, "status": "OK", "requestId": "only"}})),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    let by_id = push(vec![Recipient::contact(1), Recipient::contact(2)]);
    assert_eq!(
        outcomes(&client.smartsend(6, &by_id).await),
        vec!["rejected no token", "ok r2"]
    );
    // Neither locator nor contactId in the answer: position, as a last resort.
    assert_eq!(
        outcomes(&client.smartsend(7, &by_id).await),
        vec!["ok p1", "ok p2"]
    );
    // One unnamed result for two recipients: nobody's outcome is guessed.
    assert_eq!(
        outcomes(&client.smartsend(8, &by_id).await),
        vec!["unknown", "unknown"]
    );
}

#[tokio::test]
async fn an_empty_or_unreadable_200_is_an_accepted_send_with_no_request_id() {
    let server = server().await;
    for (n, body) in [(1, ""), (2, "Message queued"), (3, "{}")] {
        Mock::given(path(format!("/api/v1/message/{n}/smartsend")))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
    }
    Mock::given(path("/api/v1/message/email"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/message/sms"))
        .respond_with(ResponseTemplate::new(200).set_body_string("OK"))
        .mount(&server)
        .await;
    let client = client(&server);
    for n in 1..=3 {
        let out = client
            .smartsend(n, &push(vec![Recipient::locator("a@x.com")]))
            .await;
        match &out[0].result {
            Err(ItemError::OutcomeUnknown { reason }) => {
                assert!(reason.contains("accepted"), "{reason}")
            }
            other => panic!("{n}: {other:?}"),
        }
    }
    let email = EmailMessage {
        from: "shop@example.com".into(),
        subject: "Hi".into(),
        html_text: "<p>Hi</p>".into(),
        emails: vec!["a@x.com".into()],
        ..Default::default()
    };
    assert!(matches!(
        client.send_email(&email).await.unwrap(),
        SendReceipt::NoRequestId { .. }
    ));
    let sms = SmsMessage {
        from: "SHOP".into(),
        text: "Hi".into(),
        phone_numbers: vec!["380501234567".into()],
        ..Default::default()
    };
    match client.send_sms(&sms).await.unwrap() {
        SendReceipt::NoRequestId { body } => assert_eq!(body, "OK"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        5,
        "sent once each"
    );
}

#[tokio::test]
async fn a_status_row_without_status_decodes_and_never_fails_its_chunk() {
    let server = server().await;
    Mock::given(path("/api/v1/message/status"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": [
            {"requestId": "r1", "delivered": "false", "failed": "false"},
            {"requestId": "r2", "status": "DELIVERED", "delivered": true, "failed": false},
            {"requestId": "r3", "status": "SPAM", "delivered": "maybe"}]})))
        .mount(&server)
        .await;
    let s = client(&server)
        .message_statuses(&["r1", "r2", "r3"])
        .await
        .unwrap();
    let got: Vec<_> = s
        .iter()
        .map(|m| (m.request_id.as_str(), m.status.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("r1", DeliveryStatus::Unknown),
            ("r2", DeliveryStatus::Delivered),
            ("r3", DeliveryStatus::Unknown),
        ]
    );
}

#[tokio::test]
async fn an_empty_or_null_external_customer_id_does_not_name_the_contact() {
    // "externalCustomerId in params is ignored if it contains the empty or null value. For
    // example, "", " ", "null", null" [E4, Generate event v2].
    let server = server().await; // the catch-all fails on any request
    let client = client(&server);
    for blank in [
        json!(""),
        json!("  "),
        json!("null"),
        json!("NULL"),
        json!(null),
    ] {
        let event = EventV2::new("purchase").param("externalCustomerId", blank.clone());
        match client.generate_event_v2(&event).await.unwrap_err() {
            Error::InvalidInput { field, .. } => assert_eq!(field, "keyValue", "{blank}"),
            other => panic!("{blank}: {other:?}"),
        }
    }
    let event = EventV1::new("purchase").param("externalCustomerId", "");
    assert!(matches!(
        client.generate_event(&event).await,
        Err(Error::InvalidInput { .. })
    ));
}

#[tokio::test]
async fn a_real_contact_parameter_still_names_the_contact() {
    let server = server().await;
    Mock::given(path("/api/v2/event"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let event = EventV2::new("purchase")
        .param("externalCustomerId", "null")
        .param("email", "a@x.com");
    client(&server).generate_event_v2(&event).await.unwrap();
}

/// OA `getInstantMessagesStatus` answers an *array* of `InstantMessagesStatusDto` (each with its
/// own `results`, one-or-many); the guide (E2) and dkulyk/esputnik (C5) read one object.
#[tokio::test]
async fn statuses_accept_the_openapi_array_and_the_guide_object() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/message/status"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"[{"results":{"requestId":"r-1","status":"DELIVERED","failed":"false","delivered":"true"}},
                {"results":[{"requestId":"r-2","status":"UNDELIVERED","failed":true,"delivered":false}]}]"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let s = client(&server)
        .message_statuses(&["r-1", "r-2"])
        .await
        .unwrap();
    let got: Vec<(&str, bool, bool)> = s
        .iter()
        .map(|s| (s.request_id.as_str(), s.delivered, s.failed))
        .collect();
    assert_eq!(got, [("r-1", true, false), ("r-2", false, true)]);
}

/// OA `OutgoingEmail`, `OutgoingSMS`, `OutgoingViber`: `ampHtmlText` (email), `trackUrls` and
/// `subscriptionsKeys` (all three); no `campaignId` (OA has none).
#[tokio::test]
async fn sends_carry_the_openapi_options_and_no_campaign_id() {
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"results": {"id": 0, "locator": "x", "status": "OK", "requestId": "r"}}),
        ))
        .mount(&server)
        .await;
    let client = client(&server);
    let email = EmailMessage {
        from: "shop@example.com".into(),
        subject: "Hi".into(),
        html_text: "<p>Hi</p>".into(),
        amp_html_text: Some("<html amp4email></html>".into()),
        emails: vec!["a@example.com".into()],
        track_urls: Some(false),
        subscriptions_keys: vec!["news".into()],
        ..Default::default()
    };
    client.send_email(&email).await.unwrap();
    assert_eq!(
        only_body(&server, "/api/v1/message/email").await,
        json!({"from": "shop@example.com", "subject": "Hi", "htmlText": "<p>Hi</p>",
               "ampHtmlText": "<html amp4email></html>", "emails": ["a@example.com"],
               "trackUrls": false, "subscriptionsKeys": ["news"]})
    );
    let sms = SmsMessage {
        from: "SHOP".into(),
        text: "Hi".into(),
        phone_numbers: vec!["380501234567".into()],
        track_urls: Some(true),
        subscriptions_keys: vec!["promo".into()],
        ..Default::default()
    };
    client.send_sms(&sms).await.unwrap();
    assert_eq!(
        only_body(&server, "/api/v1/message/sms").await,
        json!({"from": "SHOP", "text": "Hi", "phoneNumbers": ["380501234567"],
               "trackUrls": true, "subscriptionsKeys": ["promo"]})
    );
    let viber = messaging_client::ViberMessage {
        text: "Hi".into(),
        ios_expirity_text: "Over".into(),
        phone_numbers: vec!["380501234567".into()],
        subscriptions_keys: vec!["promo".into()],
        ..Default::default()
    };
    client.send_viber(&viber).await.unwrap();
    assert_eq!(
        only_body(&server, "/api/v1/message/viber").await,
        json!({"text": "Hi", "iosExpirityText": "Over", "phoneNumbers": ["380501234567"],
               "subscriptionsKeys": ["promo"]})
    );
}

/// Recipients addressed by `contactId` or `externalCustomerId` (OA `ParametrizedLocator`) come
/// back under the locator the service sent to (a push token, OA `SendMessageResultDto.locator`,
/// E3), never under the id: the client reads each such contact's channels and matches the
/// results by them. A contact with several devices gets several results: OK if any is.
#[tokio::test]
async fn push_results_under_device_tokens_are_matched_to_the_contacts_addressed_by_id() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/message/9/smartsend"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 0, "results": [
                {"id": 0, "locator": "tok-5a", "status": "OK", "requestId": "r-5a"},
                {"id": 0, "locator": "tok-6", "status": "ERROR", "message": "token expired"},
                {"id": 0, "locator": "tok-5b", "status": "OK", "requestId": "r-5b"},
                {"id": 0, "locator": "tok-7", "status": "OK", "requestId": "r-7"}
            ]})),
        )
        .mount(&server)
        .await;
    for (id, tokens) in [(5, vec!["tok-5a", "tok-5b"]), (6, vec!["tok-6"])] {
        let channels: Vec<_> = tokens
            .iter()
            .map(|t| json!({"type": "mobilepush", "value": t}))
            .collect();
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/contact/{id}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"id": id, "channels": channels})),
            )
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/api/v1/contacts"))
        .and(query_param("externalCustomerId", "C-7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 7, "externalCustomerId": "C-7", "channels": [{"type": "webpush", "value": "tok-7"}]}
        ])))
        .mount(&server)
        .await;
    let send = SmartSend::new(vec![
        Recipient::contact(5),
        Recipient::contact(6),
        Recipient::external_customer("C-7"),
        Recipient::contact(8),
    ])
    .email(false);
    Mock::given(method("GET"))
        .and(path("/api/v1/contact/8"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let out = client(&server).smartsend(9, &send).await;
    assert_eq!(out[0].result.as_deref().ok(), Some("r-5a"));
    assert!(
        matches!(&out[1].result, Err(ItemError::Rejected { message }) if message == "token expired"),
        "{:?}",
        out[1].result
    );
    assert_eq!(out[2].result.as_deref().ok(), Some("r-7"));
    assert_eq!(out[2].key.external_customer_id.as_deref(), Some("C-7"));
    assert!(
        matches!(out[3].result, Err(ItemError::OutcomeUnknown { .. })),
        "{:?}",
        out[3].result
    );
    let body = only_body(&server, "/api/v1/message/9/smartsend").await;
    assert_eq!(
        body["recipients"],
        json!([{"jsonParam": null, "contactId": 5}, {"jsonParam": null, "contactId": 6},
               {"jsonParam": null, "externalCustomerId": "C-7"}, {"jsonParam": null, "contactId": 8}])
    );
}

/// OA `ExtendedPreparedMessageParameters.recipients` is `uniqueItems`: a repeated recipient
/// would sink its whole request, so the client refuses the repeat alone.
#[tokio::test]
async fn a_repeated_recipient_is_refused_alone() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/message/9/smartsend"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results":
            {"id": 0, "locator": "a@example.com", "status": "OK", "requestId": "r-a"}})))
        .mount(&server)
        .await;
    let send = SmartSend::new(vec![
        Recipient::locator("a@example.com"),
        Recipient::locator("a@example.com"),
    ]);
    // The dry run leaves the repeat out too.
    let dry: Vec<serde_json::Value> = send
        .bodies()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(dry.len(), 1);
    assert_eq!(dry[0]["recipients"].as_array().unwrap().len(), 1);
    let out = client(&server).smartsend(9, &send).await;
    assert_eq!(out[0].result.as_deref().ok(), Some("r-a"));
    match &out[1].result {
        Err(ItemError::Failed(e)) => assert!(
            matches!(&**e, Error::InvalidInput { field, .. } if field == "recipients[1]"),
            "{e:?}"
        ),
        other => panic!("{other:?}"),
    }
    let body = only_body(&server, "/api/v1/message/9/smartsend").await;
    assert_eq!(body["recipients"].as_array().unwrap().len(), 1);
}

/// OA marks `POST /v1/event` `deprecated: true`: `generate_event` posts to `/v2/event` unless
/// the builder asks for v1 (string values are valid v2 values).
#[tokio::test]
async fn events_go_to_the_v2_api_by_default_and_to_v1_when_asked() {
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let event = EventV1::new("testEvent")
        .key_value("example@email.com")
        .param("discount", "5%");
    client(&server).generate_event(&event).await.unwrap();
    let v1 = messaging_client::Client::builder(messaging_client::ApiKey::new(KEY))
        .base_url(format!("{}/api", server.uri()))
        .allow_http(true)
        .rate_limit(messaging_client::RateLimits::unlimited())
        .event_api(messaging_client::EventApi::V1)
        .build()
        .unwrap();
    v1.generate_event(&event).await.unwrap();
    let expected = json!({"eventTypeKey": "testEvent", "keyValue": "example@email.com",
                          "params": [{"name": "discount", "value": "5%"}]});
    assert_eq!(only_body(&server, "/api/v2/event").await, expected);
    assert_eq!(only_body(&server, "/api/v1/event").await, expected);
}
