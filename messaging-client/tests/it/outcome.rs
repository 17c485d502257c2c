//! Issue 21: a call that is not idempotent whose answer was lost after sending (the fake's
//! drop-after-processing, a timeout) is "outcome unknown", never a failure that invites
//! sending it again; an idempotent one stays a retryable failure.
#![cfg(feature = "fake")]

use std::time::Duration;

use messaging_client::fake::{DropPoint, FakeMessaging, FakeService};
use messaging_client::{
    ApiKey, Client, Contact, EmailMessage, Error, EventV1, ImportOptions, ItemError, OrderRetry,
    Recipient, RetryPolicy, SmartSend,
};

use crate::common::documented_order;

fn two_recipients() -> SmartSend {
    SmartSend::new(vec![
        Recipient::locator("a@example.com"),
        Recipient::locator("b@example.com"),
    ])
}

fn paths(fake: &FakeMessaging) -> Vec<String> {
    fake.requests().into_iter().map(|r| r.path).collect()
}

#[tokio::test]
async fn a_smartsend_cut_after_processing_is_outcome_unknown_for_every_recipient() {
    let fake = FakeMessaging::start().await;
    fake.drop_next(1, DropPoint::AfterProcessing);
    let out = fake.client().smartsend(7, &two_recipients()).await;
    assert_eq!(out.len(), 2);
    for o in &out {
        let err = o.result.as_ref().unwrap_err();
        assert!(
            matches!(err, ItemError::OutcomeUnknown { .. }),
            "{}: {err:?}",
            o.index
        );
        assert!(err.is_outcome_unknown());
        assert!(
            !err.is_retryable(),
            "resending would send the message twice"
        );
        assert!(!err.provably_not_processed());
        assert!(err.to_string().starts_with("outcome unknown: "), "{err}");
    }
    // The service processed it: both recipients were sent to, and nothing was resent.
    let statuses = fake.message_statuses();
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert!(statuses.values().all(|s| s == "DELIVERED"), "{statuses:?}");
    assert_eq!(paths(&fake), ["/api/v1/message/7/smartsend"]);
    let sent: serde_json::Value = serde_json::from_slice(&fake.requests()[0].body).unwrap();
    assert_eq!(sent["recipients"][0]["locator"], "a@example.com");
    assert_eq!(sent["recipients"][1]["locator"], "b@example.com");
}

#[tokio::test]
async fn a_smartsend_that_times_out_is_outcome_unknown_and_not_resent() {
    let fake = FakeMessaging::start().await;
    fake.delay_next(1, Duration::from_millis(400));
    let client = Client::builder(fake.credentials())
        .base_url(fake.base_url())
        .allow_http(true)
        .timeout(Duration::from_millis(50))
        .retry(RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            jitter: false,
        })
        .build()
        .unwrap();
    let out = client.smartsend(7, &two_recipients()).await;
    for o in &out {
        let err = o.result.as_ref().unwrap_err();
        assert!(err.is_outcome_unknown(), "{err:?}");
        assert!(err.to_string().contains("timed out"), "{err}");
    }
    assert_eq!(paths(&fake), ["/api/v1/message/7/smartsend"], "not resent");
}

#[tokio::test]
async fn a_smartsend_refused_with_a_5xx_stays_a_failure_not_processed_by_the_fake() {
    let fake = FakeMessaging::start().await;
    fake.fail_next(1, 503);
    let out = fake.client().smartsend(7, &two_recipients()).await;
    for o in &out {
        let err = o.result.as_ref().unwrap_err();
        assert!(
            matches!(err, ItemError::Failed(e) if e.status() == Some(503)),
            "{err:?}"
        );
        assert!(!err.is_outcome_unknown());
    }
    assert!(fake.message_statuses().is_empty());
}

#[tokio::test]
async fn an_event_cut_after_processing_is_outcome_unknown() {
    let fake = FakeMessaging::start().await;
    fake.drop_next(1, DropPoint::AfterProcessing);
    let err = fake
        .client()
        .generate_event(&EventV1::new("e").key_value("k"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::OutcomeUnknown { operation, .. } if operation == "POST /v2/event"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(!err.provably_not_processed());
    assert_eq!(fake.events().len(), 1, "processed before the cut");
    assert_eq!(paths(&fake), ["/api/v2/event"], "not resent");
}

#[tokio::test]
async fn a_plain_send_and_a_contact_add_cut_after_processing_are_outcome_unknown() {
    let fake = FakeMessaging::start().await;
    let client = fake.client();
    fake.drop_next(1, DropPoint::AfterProcessing);
    let email = EmailMessage {
        from: "shop@example.com".into(),
        subject: "Hi".into(),
        html_text: "<p>Hi</p>".into(),
        emails: vec!["a@example.com".into()],
        ..Default::default()
    };
    let err = client.send_email(&email).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    fake.drop_next(1, DropPoint::AfterProcessing);
    let err = client
        .add_contact(&Contact::email("new@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(fake.contacts().len(), 1, "the add was processed");
    assert_eq!(
        paths(&fake),
        ["/api/v1/message/email", "/api/v1/contact"],
        "neither was resent"
    );
}

#[tokio::test]
async fn orders_cut_after_processing_are_outcome_unknown_unless_repeats_are_allowed() {
    // Default (`OrderRetry::WhenNotReceived`): a repeat could raise `order<STATUS>` again.
    let fake = FakeMessaging::start().await;
    fake.drop_next(1, DropPoint::AfterProcessing);
    let out = fake.client().push_orders(&[documented_order()]).await;
    let err = out[0].result.as_ref().unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(fake.orders().len(), 1, "processed before the cut");
    assert_eq!(paths(&fake), ["/api/v1/orders"]);

    // `AfterUnknownOutcome` declares the upsert safe to repeat: repeated, then a plain result.
    let fake = FakeMessaging::start().await;
    fake.drop_next(1, DropPoint::AfterProcessing);
    let client = Client::builder(fake.credentials())
        .base_url(fake.base_url())
        .allow_http(true)
        .retry(RetryPolicy {
            max_retries: 2,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            jitter: false,
        })
        .order_retry(OrderRetry::AfterUnknownOutcome)
        .build()
        .unwrap();
    let out = client.push_orders(&[documented_order()]).await;
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);
    assert_eq!(paths(&fake), ["/api/v1/orders", "/api/v1/orders"]);
}

#[tokio::test]
async fn an_import_raising_an_event_cut_after_processing_is_outcome_unknown() {
    let fake = FakeMessaging::start().await;
    fake.drop_next(1, DropPoint::AfterProcessing);
    let options = ImportOptions {
        event_key_for_new_contacts: Some("newContact".into()),
        ..Default::default()
    };
    let contacts = [
        Contact::email("a@example.com"),
        Contact::email("b@example.com"),
    ];
    let out = fake.client().import_contacts(&contacts, &options).await;
    assert_eq!(out.len(), 2, "one outcome per contact");
    for o in &out {
        let err = o.result.as_ref().unwrap_err();
        assert!(err.is_outcome_unknown() && !err.is_retryable(), "{err:?}");
    }
    assert_eq!(paths(&fake), ["/api/v1/contacts"], "not resent");
}

/// Issue 21, the error table: a configuration error is `Error::Config`, never inside
/// `Transport`, and is not retryable.
#[test]
fn a_configuration_error_is_config_not_transport() {
    for url in ["http://127.0.0.1:1/api", "not a url"] {
        let err = Client::builder(ApiKey::new("k"))
            .base_url(url)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{url}: {err:?}");
        assert!(
            err.to_string()
                .starts_with("invalid client configuration: "),
            "{err}"
        );
        // Nothing was sent: provably not processed (the rule of all four clients), yet not
        // worth repeating.
        assert!(!err.is_retryable() && err.provably_not_processed());
        assert_eq!(err.retry_after(), None);
    }
}

#[tokio::test]
async fn a_subscription_cut_after_processing_is_outcome_unknown() {
    let fake = FakeMessaging::start().await;
    fake.drop_next(1, DropPoint::AfterProcessing);
    let sub = messaging_client::Subscription {
        contact: Contact::email("a@example.com"),
        ..Default::default()
    };
    let err = fake.client().subscribe_contact(&sub).await.unwrap_err();
    assert!(
        matches!(&err, Error::OutcomeUnknown { operation, .. } if operation == "POST /v1/contact/subscribe"),
        "{err:?}"
    );
    assert_eq!(fake.contacts().len(), 1, "processed before the cut");
    assert_eq!(paths(&fake), ["/api/v1/contact/subscribe"], "not resent");
}

/// Without `eventKeyForNewContacts` an import is an upsert: after a cut it is repeated, and
/// its contacts end up imported once.
#[tokio::test]
async fn an_import_cut_after_processing_is_repeated_as_an_upsert() {
    let fake = FakeMessaging::start().await;
    fake.drop_next(1, DropPoint::AfterProcessing);
    let contacts = [
        Contact::email("a@example.com"),
        Contact::email("b@example.com"),
    ];
    let out = fake
        .client()
        .import_contacts(&contacts, &ImportOptions::default())
        .await;
    assert!(out.iter().all(|o| o.is_ok()), "{out:?}");
    assert_eq!(paths(&fake), ["/api/v1/contacts", "/api/v1/contacts"]);
    fake.finish_imports();
    assert_eq!(fake.contacts().len(), 2);

    // Every retry refused as well: a plain failure, safe to repeat.
    fake.fail_next(4, 503);
    let out = fake
        .client()
        .import_contacts(&contacts, &ImportOptions::default())
        .await;
    for o in &out {
        let err = o.result.as_ref().unwrap_err();
        assert!(
            matches!(err, ItemError::Failed(_)) && err.is_retryable(),
            "{err:?}"
        );
    }
}
