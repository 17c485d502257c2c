//! Issue 21, one public surface: batch calls give one outcome per item (no outer `Result`)
//! with the crate's `ItemError`; errors say their cause and never dump a contact; the fake is
//! the suite's one `FakeService`.
#![cfg(feature = "fake")]

use std::sync::Arc;

use splio_client::fake::{DropPoint, FakeService, FakeSplio};
use splio_client::{ApiKey, Client, ContactData, Error, ItemError, UpdateAction, UpsertAction};

fn bulk_posts(fake: &FakeSplio) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/data/contacts/bulk")
        .count()
}

#[tokio::test]
async fn a_bulk_create_cut_after_processing_is_outcome_unknown_for_each_item() {
    let fake = FakeSplio::start().await;
    let client = fake.client();
    client.unique_key().await.unwrap();
    fake.drop_next(1, DropPoint::AfterProcessing);
    let batch = ["a@x.com", "b@x.com", "c@x.com"].map(ContactData::with_email);
    let out = client.bulk_create(&batch).await;
    assert_eq!(out.len(), 3);
    for (i, o) in out.iter().enumerate() {
        assert_eq!(o.index, i);
        let e = o.result.as_ref().unwrap_err();
        assert!(
            matches!(e, ItemError::OutcomeUnknown { .. }),
            "{}: {e:?}",
            o.key
        );
        assert!(e.is_outcome_unknown() && !e.is_retryable() && !e.provably_not_processed());
        assert!(e.to_string().starts_with("outcome unknown: "), "{e}");
    }
    // Sent once (a create is not repeated after a lost answer), and Splio holds them all.
    assert_eq!(bulk_posts(&fake), 1);
    for key in ["a@x.com", "b@x.com", "c@x.com"] {
        assert!(
            fake.contact(key).is_some(),
            "{key} processed before the cut"
        );
    }
}

#[tokio::test]
async fn upsert_many_settles_a_bulk_cut_after_processing_by_patching() {
    let fake = FakeSplio::start().await;
    let client = fake.client();
    client.unique_key().await.unwrap();
    fake.drop_next(1, DropPoint::AfterProcessing);
    let batch = ["a@x.com", "b@x.com"].map(|e| ContactData::with_email(e).firstname("A"));
    let out = client.upsert_many(&batch).await;
    for o in &out {
        assert_eq!(
            o.result.as_ref().ok(),
            Some(&UpsertAction::Updated),
            "{o:?}"
        );
    }
    let patches: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(patches.len(), 2, "{patches:?}");
    assert!(patches.contains(&"/data/contacts/a%40x.com".to_string()));
    assert_eq!(fake.contacts().len(), 2);
}

#[tokio::test]
async fn a_refused_bulk_item_is_rejected_with_its_code_and_message() {
    let fake = FakeSplio::start().await;
    fake.seed_contact(ContactData::with_email("taken@x.com"));
    let out = fake
        .client()
        .bulk_create(&["new@x.com", "taken@x.com"].map(ContactData::with_email))
        .await;
    assert!(out[0].result.is_ok());
    let e = out[1].result.as_ref().unwrap_err();
    assert!(
        matches!(e, ItemError::Rejected { code: 400, message, .. } if message.contains("already exists")),
        "{e:?}"
    );
    assert!(e.is_already_exists() && !e.is_retryable() && !e.is_outcome_unknown());
    assert!(
        e.to_string().starts_with("rejected by Splio (400): "),
        "{e}"
    );
    let as_std: &dyn std::error::Error = e;
    assert!(as_std.source().is_none());
}

#[tokio::test]
async fn an_idempotent_batch_whose_requests_failed_is_failed_and_retryable() {
    let fake = FakeSplio::start().await;
    fake.seed_contact(ContactData::with_email("a@x.com"));
    let client = fake.client();
    client.unique_key().await.unwrap();
    // The fake's client retries 3 times: four 503s exhaust it.
    fake.fail_next(4, 503);
    let out = client.optout(&["a@x.com".into(), "b@x.com".into()]).await;
    for o in &out {
        let e = o.result.as_ref().unwrap_err();
        let ItemError::Failed(inner) = e else {
            panic!("{e:?}")
        };
        assert_eq!(inner.status(), Some(503));
        assert!(e.is_retryable() && !e.provably_not_processed());
        assert_eq!(e.to_string(), inner.to_string());
    }
    let optouts: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/data/contacts/optout")
        .collect();
    assert_eq!(optouts.len(), 4, "one chunk, retried 3 times");
}

#[tokio::test]
async fn a_failure_before_any_request_is_given_to_every_item() {
    let fake = FakeSplio::start().await;
    let client = Client::builder(ApiKey::new("wrong"))
        .base_url(fake.base_url())
        .allow_http(true)
        .build()
        .unwrap();
    let batch = ["a@x.com", "b@x.com"].map(ContactData::with_email);
    for out in [
        client.bulk_create(&batch).await,
        client
            .update_many(&batch)
            .await
            .into_iter()
            .map(|o| o.map(drop))
            .collect(),
    ] {
        assert_eq!(out.len(), 2);
        let (ItemError::Failed(a), ItemError::Failed(b)) = (
            out[0].result.as_ref().unwrap_err(),
            out[1].result.as_ref().unwrap_err(),
        ) else {
            panic!("{out:?}")
        };
        assert!(Arc::ptr_eq(a, b), "one error, shared");
        assert!(matches!(**a, Error::Unauthorized { .. }), "{a}");
    }
    assert_eq!(bulk_posts(&fake), 0);
}

#[tokio::test]
async fn update_many_keeps_one_outcome_per_item() {
    let fake = FakeSplio::start().await;
    fake.seed_contact(ContactData::with_email("ann@x.com"));
    let out = fake
        .client()
        .update_many(&[
            ContactData::with_email("ann@x.com").firstname("Ann"),
            ContactData::with_email("new@x.com"),
            ContactData::default().firstname("Nobody"),
        ])
        .await;
    assert_eq!(out[0].result.as_ref().ok(), Some(&UpdateAction::Updated));
    assert_eq!(out[1].result.as_ref().ok(), Some(&UpdateAction::NotFound));
    let ItemError::Failed(e) = out[2].result.as_ref().unwrap_err() else {
        panic!("{:?}", out[2])
    };
    assert!(matches!(**e, Error::InvalidInput { .. }), "{e}");
    assert!(out[2].result.as_ref().unwrap_err().provably_not_processed());
}

#[tokio::test]
async fn a_missing_key_names_the_key_field_and_never_dumps_the_contact() {
    let fake = FakeSplio::start().await;
    let out = fake
        .client()
        .bulk_create(&[ContactData::default()
            .firstname("Secret Firstname")
            .lastname("Doe")])
        .await;
    let e = out[0].result.as_ref().unwrap_err();
    let text = e.to_string();
    assert!(text.contains("`email`"), "{text}");
    assert!(!text.contains("Secret Firstname"), "{text}");
    assert!(!text.contains("ContactData"), "{text}");
    assert!(!text.contains("Some("), "{text}");
    assert!(e.provably_not_processed());
    assert_eq!(bulk_posts(&fake), 0, "nothing to send");
}

#[tokio::test]
async fn a_connect_failure_says_refused_and_was_not_processed() {
    // A port nothing listens on: bind, note it, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = Client::builder(ApiKey::new("k"))
        .base_url(format!("http://127.0.0.1:{port}"))
        .allow_http(true)
        .retry(splio_client::RetryPolicy {
            max_retries: 0,
            ..splio_client::RetryPolicy::default()
        })
        .build()
        .unwrap();
    let e = client.get_contact("a@x.com").await.unwrap_err();
    assert!(e.to_string().to_lowercase().contains("refused"), "{e}");
    assert!(e.provably_not_processed());
    assert!(e.is_retryable());
}

#[test]
fn a_configuration_error_is_config_never_transport() {
    let e = Client::builder(ApiKey::new("k"))
        .base_url("not a url")
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    assert!(e.provably_not_processed());
}

#[tokio::test]
async fn the_fake_is_a_fake_service_with_api_key_credentials() {
    let fake = FakeSplio::start().await;
    let old = fake.client();
    old.ping().await.unwrap();
    let before = fake.request_count();
    fake.set_credentials(ApiKey::new("rotated"));
    assert_eq!(fake.credentials().expose(), "rotated");
    // A new client gets the new key; the old one's token and key are refused.
    fake.client().ping().await.unwrap();
    let e = Client::builder(ApiKey::new("fake-splio-api-key"))
        .base_url(fake.base_url())
        .allow_http(true)
        .build()
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e}");
    let auth = fake
        .requests()
        .into_iter()
        .skip(before as usize)
        .find(|r| r.path == "/authenticate")
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&auth.body).unwrap(),
        serde_json::json!({"api_key": "rotated"})
    );
}

/// Splio's rate-limit answer (api-evangelist's summary of Splio's rate-limiting page, [E7] in
/// shared/api/splio.md): 429, `{"message":"API rate limit exceeded"}`, `rateLimit-reset`.
#[tokio::test]
async fn the_trait_rate_limit_answers_as_splio_does() {
    let fake = FakeSplio::start().await;
    FakeService::rate_limit_next(&fake, 1, 7);
    let answer = reqwest::get(format!("{}/data/contacts", fake.base_url()))
        .await
        .unwrap();
    assert_eq!(answer.status(), 429);
    assert_eq!(answer.headers()["ratelimit-reset"], "7");
    assert_eq!(
        answer.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"message": "API rate limit exceeded"})
    );
    assert_eq!(fake.requests()[0].path, "/data/contacts");
}

#[tokio::test]
async fn blacklist_changes_give_one_outcome_per_touchpoint() {
    use splio_client::{Channel, RemoveSource};
    let fake = FakeSplio::start().await;
    fake.seed_blacklist(Channel::Email, "old@x.com", "custom");
    let client = fake.client();
    let out = client
        .blacklist_add(Channel::Email, &["new@x.com".into(), "old@x.com".into()])
        .await;
    assert_eq!((out[0].index, out[0].key.as_str()), (0, "new@x.com"));
    assert!(out[0].result.is_ok(), "{:?}", out[0]);
    let e = out[1].result.as_ref().unwrap_err();
    assert!(
        matches!(e, ItemError::Rejected { error_key: Some(k), message, .. }
            if k == "touchpoint_already_exist" && message.contains("already blacklisted")),
        "{e:?}"
    );
    assert!(e.is_already_exists() && !e.is_retryable());
    // Sent as Splio documents it: one POST with `{"data": [...]}`.
    let sent = fake
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/data/blacklists/email")
        .unwrap();
    assert_eq!(sent.method, "POST");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&sent.body).unwrap(),
        serde_json::json!({"data": ["new@x.com", "old@x.com"]})
    );

    // An add whose answer was lost may have happened: outcome unknown, not resent.
    fake.drop_next(1, DropPoint::AfterProcessing);
    let before = fake.request_count();
    let out = client
        .blacklist_add(Channel::Email, &["c@x.com".into(), "d@x.com".into()])
        .await;
    assert!(
        out.iter()
            .all(|o| o.result.as_ref().is_err_and(ItemError::is_outcome_unknown)),
        "{out:?}"
    );
    assert_eq!(fake.request_count() - before, 1);
    assert_eq!(fake.blacklisted(Channel::Email).len(), 4);

    // A removal Splio cannot make is refused before sending, for every touchpoint.
    let out = client
        .blacklist_remove(
            Channel::Cellphone,
            RemoveSource::Unsub,
            &["336".into(), "337".into()],
        )
        .await;
    for o in &out {
        let ItemError::Failed(e) = o.result.as_ref().unwrap_err() else {
            panic!("{o:?}")
        };
        assert!(matches!(**e, Error::InvalidInput { .. }), "{e}");
    }
    // Removing one that is there and one that is not.
    let out = client
        .blacklist_remove(
            Channel::Email,
            RemoveSource::All,
            &["new@x.com".into(), "zz@x.com".into()],
        )
        .await;
    assert!(out[0].result.is_ok());
    assert!(
        matches!(out[1].result.as_ref().unwrap_err(), ItemError::Rejected { error_key: Some(k), .. } if k == "touchpoint_not_blacklisted")
    );
}
