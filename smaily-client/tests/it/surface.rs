//! The suite's one public surface (issue 21): the batch shape and its item error, addresses
//! refused before sending, the error names, and "outcome unknown" for calls that are not
//! idempotent.
#![cfg(feature = "fake")]

use std::sync::Arc;

use serde_json::Value;
use smaily_client::fake::{DropPoint, FakeSmaily};
use smaily_client::prelude::*;
use smaily_client::{
    AutomationTrigger, Credentials, Message, RetryPolicy, Subscriber, SubscriberOutcome,
};

/// Two addresses Smaily would refuse among 1,200 are refused here, before anything is sent:
/// the other 1,198 go in the plain chunks (3 of 500), with no 203-bisection (it cost 39
/// requests and 9 s before).
#[tokio::test]
async fn bad_addresses_are_refused_locally_and_cost_no_bisection() {
    let fake = FakeSmaily::start().await;
    let client = fake.client();
    let rows: Vec<Subscriber> = (0..1200)
        .map(|i| match i {
            100 => Subscriber::new(""),
            900 => Subscriber::new("not-an-email"),
            _ => Subscriber::new(format!("u{i:04}@example.com")),
        })
        .collect();
    let out: Vec<SubscriberOutcome> = client.upsert_many(&rows).await;
    assert_eq!(out.len(), 1200);
    for (i, o) in out.iter().enumerate() {
        assert_eq!((o.index, o.key.as_str()), (i, rows[i].email.as_str()));
    }
    for bad in [100, 900] {
        let err = out[bad].error().expect("refused");
        match err {
            ItemError::Failed(e) => match &**e {
                Error::InvalidInput { field, .. } => {
                    assert_eq!(field, &format!("subscribers[{bad}].email"))
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        assert!(!err.is_retryable() && !err.is_outcome_unknown());
        assert!(err.provably_not_processed(), "never sent");
    }
    assert_eq!(out.iter().filter(|o| o.is_ok()).count(), 1198);
    assert_eq!(fake.subscriber_count(), 1198);
    // What the fake received: the plain chunks, none carrying a refused address.
    assert_eq!(fake.request_count(), 3);
    let sent: Vec<Value> = fake
        .requests()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let sizes: Vec<usize> = sent.iter().map(|b| b.as_array().unwrap().len()).collect();
    assert_eq!(sizes, [500, 500, 198]);
    let emails: Vec<&str> = sent
        .iter()
        .flat_map(|b| b.as_array().unwrap())
        .map(|row| row["email"].as_str().unwrap())
        .collect();
    assert!(!emails.contains(&"") && !emails.contains(&"not-an-email"));
}

/// The local check is conservative: it refuses what Smaily refuses for certain and sends
/// everything else (Smaily has the last word, and its refusals are still isolated).
#[tokio::test]
async fn the_local_address_check_refuses_only_what_smaily_refuses() {
    for bad in [
        "",
        "   ",
        "not-an-email",
        "@example.com",
        "mari@",
        "mari@localhost",
        "mari@example..com",
        "mari@.example.com",
        "mari@example.com.",
        "ma ri@example.com",
        "mari@example.test",
        "mari@shop.invalid",
        "mari@x.localhost",
        "mari@y.example",
    ] {
        let err = smaily_client::check_email(bad).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field, .. } if field == "email"),
            "{bad:?}: {err:?}"
        );
        assert!(err.to_string().contains("email"), "{err}");
    }
    for good in [
        "mari@example.com",
        "MARI+news@Example.COM",
        " mari@example.com ",
        "o'brien@example.ie",
        "jüri@näide.ee",
        "\"a@b\"@example.com",
        "a@sub.example.co.uk",
    ] {
        assert!(smaily_client::check_email(good).is_ok(), "{good:?}");
    }
}

/// What Smaily still refuses (here an address with a second `@`, which the local check lets
/// through) is isolated by bisection as before, as `ItemError::Rejected` with its code.
#[tokio::test]
async fn a_remote_refusal_is_still_isolated_and_rejected() {
    let fake = FakeSmaily::start().await;
    let client = fake.client_builder().batch_size(8).build().unwrap();
    let rows: Vec<Subscriber> = (0..8)
        .map(|i| match i {
            5 => Subscriber::new("a@b@example.com"),
            _ => Subscriber::new(format!("u{i}@example.com")),
        })
        .collect();
    let out = client.upsert_many(&rows).await;
    let err = out[5].error().unwrap();
    assert!(
        matches!(err, ItemError::Rejected { code: 204, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("rejected by Smaily (204): "),
        "{err}"
    );
    assert!(!err.is_retryable() && !err.provably_not_processed());
    assert_eq!(out.iter().filter(|o| o.is_ok()).count(), 7);
    assert!(fake.request_count() > 1, "bisected");
}

/// `ItemError` is a std error whose Display carries the cause; the retry questions have one
/// meaning per variant.
#[test]
fn item_error_is_a_std_error_with_its_cause() {
    fn std_error<E: std::error::Error + Send + Sync + Clone + 'static>(_: &E) {}
    let rejected = ItemError::Rejected {
        message: "Invalid email address provided - x".into(),
        code: 204,
    };
    std_error(&rejected);
    assert_eq!(
        rejected.to_string(),
        "rejected by Smaily (204): Invalid email address provided - x"
    );
    let unknown = ItemError::OutcomeUnknown {
        reason: "the connection was cut".into(),
    };
    assert_eq!(
        unknown.to_string(),
        "outcome unknown: the connection was cut"
    );
    assert!(unknown.is_outcome_unknown() && !unknown.is_retryable());
    let limited = ItemError::Failed(Arc::new(Error::RateLimited {
        retry_after: None,
        body: String::new(),
    }));
    assert_eq!(limited.to_string(), "rate limited by Smaily (HTTP 429)");
    assert!(limited.is_retryable() && limited.provably_not_processed());
    assert!(!limited.is_outcome_unknown());
}

/// An upsert chunk whose answer was lost is `Failed` and retryable (upserts are idempotent):
/// with no retries left, the caller may resend it.
#[tokio::test]
async fn a_lost_upsert_answer_is_failed_and_retryable() {
    let fake = FakeSmaily::start().await;
    let client = fake
        .client_builder()
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    fake.drop_next(1, DropPoint::AfterProcessing);
    let rows = [
        Subscriber::new("a@example.com"),
        Subscriber::new("b@example.com"),
    ];
    let out = client.upsert_many(&rows).await;
    for o in &out {
        let err = o.error().expect("cut");
        assert!(matches!(err, ItemError::Failed(_)), "{err:?}");
        assert!(err.is_retryable() && !err.provably_not_processed());
    }
    assert_eq!(fake.subscriber_count(), 2, "processed before the cut");
}

/// A trigger is not idempotent: when its answer is lost after Smaily processed it, the
/// caller hears "outcome unknown" (look it up before repeating), never a retryable error.
#[tokio::test]
async fn a_trigger_whose_answer_was_lost_is_outcome_unknown() {
    let fake = FakeSmaily::start().await;
    let client = fake.client();
    fake.drop_next(1, DropPoint::AfterProcessing);
    let trigger = AutomationTrigger::new([Subscriber::new("mari@example.com")]).workflow(1);
    let err = client.trigger_automation(&trigger).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert!(!err.is_retryable() && !err.provably_not_processed());
    assert!(err.to_string().contains("outcome unknown"), "{err}");
    // The fake holds the trigger, and it was sent once.
    assert_eq!(fake.triggers().len(), 1);
    assert_eq!(fake.triggers()[0].emails, ["mari@example.com"]);
    assert_eq!(fake.request_count(), 1);
}

/// The same for `send_message`.
#[tokio::test]
async fn a_message_whose_answer_was_lost_is_outcome_unknown() {
    let fake = FakeSmaily::start().await;
    let client = fake.client();
    fake.drop_next(1, DropPoint::AfterProcessing);
    let err = client
        .send_message(&Message::new(1, ["mari@example.com"]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(fake.sent_messages().len(), 1);
    assert_eq!(fake.request_count(), 1);

    // Cut before processing, the request may still have been processed as far as the
    // client can tell: the same answer, and the fake holds nothing new.
    fake.drop_next(1, DropPoint::BeforeProcessing);
    let err = client
        .send_message(&Message::new(1, ["jaan@example.com"]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(fake.sent_messages().len(), 1);
}

/// Configuration errors are `Config`, never inside `Transport`; a connect failure's Display
/// carries the OS's cause; statuses with no Smaily answer are `Transport`.
#[tokio::test]
async fn error_names_and_messages() {
    let bad = Client::builder(Credentials::new("u", "p"))
        .base_url("ftp://example.com/api/")
        .build()
        .unwrap_err();
    assert!(matches!(bad, Error::Config(_)), "{bad:?}");
    assert!(bad.to_string().contains("ftp"), "{bad}");

    let dead = Client::builder(Credentials::new("u", "p"))
        .base_url("http://127.0.0.1:9/api/")
        .allow_http(true)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = dead.subscriber("a@example.com").await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.to_string().contains("refused"), "{err}");
    assert!(err.provably_not_processed());

    let fake = FakeSmaily::start().await;
    let client = fake
        .client_builder()
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    fake.fail_next(1, 503);
    let err = client.subscriber("a@example.com").await.unwrap_err();
    match &err {
        Error::Transport(core) => assert_eq!(core.http_status(), Some(503)),
        other => panic!("{other:?}"),
    }
    assert!(
        err.is_retryable() && err.to_string().contains("503"),
        "{err}"
    );
    fake.fail_next(1, 418);
    let err = client.subscriber("a@example.com").await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(core) if core.http_status() == Some(418)),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

/// `forget` is a batch call too: one outcome per address, in input order; a chunk that fails
/// fails its own addresses and the next chunk is still sent (it stopped at the first failed
/// chunk, leaving the caller unable to tell which addresses were erased).
#[tokio::test]
async fn forget_gives_one_outcome_per_address_and_goes_on_after_a_failed_chunk() {
    let fake = FakeSmaily::start().await;
    let emails: Vec<String> = (0..10_001).map(|i| format!("f{i}@example.com")).collect();
    fake.seed_subscribers(emails.iter().map(Subscriber::new));
    let client = fake.client();
    fake.fail_next(4, 500); // the first chunk and its 3 retries
    let out: Vec<SubscriberOutcome> = client.forget(&emails).await;
    assert_eq!(out.len(), 10_001);
    assert!(out.iter().zip(&emails).all(|(o, e)| &o.key == e));
    let err = out[0].error().expect("first chunk failed");
    assert!(
        matches!(err, ItemError::Failed(e) if matches!(&**e, Error::Transport(t) if t.http_status() == Some(500))),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(out[..10_000].iter().all(|o| !o.is_ok()));
    assert!(out[10_000].is_ok());
    assert_eq!(fake.request_count(), 5);
    assert!(fake.subscriber("f0@example.com").is_some());
    assert!(fake.subscriber("f10000@example.com").is_none());
    // What the fake received last: the second chunk, a JSON list of the one address.
    let last = fake.smaily_requests().pop().unwrap();
    assert_eq!(last.body_json(), serde_json::json!(["f10000@example.com"]));
}
