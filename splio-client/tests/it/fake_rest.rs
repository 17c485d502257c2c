//! The client against the in-process fake: the same behaviour Splio documents.
#![cfg(feature = "fake")]

use std::time::Duration;

use futures::TryStreamExt;
use splio_client::fake::{DropPoint, FakeService, FakeSplio, JsonBody};
use splio_client::{
    ApiKey, BlacklistSource, Channel, Client, ContactData, CustomFieldValue, Error, FieldRef,
    FieldType, FieldValue, ItemError, RateLimits, RemoveSource, RetryPolicy, UniqueKey,
    UpdateAction, UpsertAction,
};

fn client(fake: &FakeSplio) -> Client {
    Client::builder(fake.credentials())
        .base_url(fake.base_url())
        .allow_http(true)
        .rate_limit(RateLimits::unlimited())
        .retry(RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
            jitter: true,
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn upsert_creates_then_patches_and_keeps_memberships() {
    let fake = FakeSplio::start().await;
    let news = fake.seed_list("news");
    let promo = fake.seed_list("promo");
    let c = client(&fake);
    let jane = ContactData::with_email("Jane+News@Example.com")
        .firstname("Jane")
        .list(news);
    assert_eq!(c.upsert(&jane).await.unwrap(), UpsertAction::Created);
    c.subscribe("jane+news@example.com", &[promo])
        .await
        .unwrap();
    let again = ContactData::with_email("jane+news@example.com").lastname("Doe");
    assert_eq!(c.upsert(&again).await.unwrap(), UpsertAction::Updated);
    let stored = fake.contact("jane+news@example.com").unwrap();
    assert_eq!(stored.firstname.as_deref(), Some("Jane"));
    assert_eq!(stored.lastname.as_deref(), Some("Doe"));
    assert_eq!(
        stored.lists.iter().copied().collect::<Vec<_>>(),
        vec![news, promo]
    );
    // The key went percent-encoded in the path, and PATCH never carried `lists` or the key.
    let reqs = fake.requests();
    let patch = reqs.iter().rfind(|r| r.method == "PATCH").unwrap();
    assert_eq!(patch.path, "/data/contacts/jane%2Bnews%40example.com");
    assert_eq!(
        patch.json_body(),
        Some(serde_json::json!({"lastname": "Doe"}))
    );
    assert!(
        patch
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ")
    );
    assert_eq!(patch.header("content-type"), Some("application/json"));
    assert!(
        patch
            .header("user-agent")
            .unwrap()
            .starts_with("splio-client/")
    );
    assert_eq!(fake.auth_count(), 1, "one token shared by all requests");
}

#[tokio::test]
async fn upsert_many_bulk_creates_and_patches_existing() {
    let fake = FakeSplio::start().await;
    fake.seed_contact(ContactData::with_email("old@x.com").firstname("Old"));
    let c = client(&fake);
    let mut batch: Vec<ContactData> = (0..1500)
        .map(|i| ContactData::with_email(format!("u{i}@x.com")))
        .collect();
    batch.push(ContactData::with_email("old@x.com").firstname("New"));
    batch.push(ContactData::default().firstname("no key"));
    batch.push(ContactData::with_email("bad-email"));
    let out = c.upsert_many(&batch).await;
    assert_eq!(out.len(), batch.len());
    assert!(out.iter().enumerate().all(|(i, o)| o.index == i));
    assert!(
        out[..1500]
            .iter()
            .all(|o| matches!(o.result, Ok(UpsertAction::Created)))
    );
    assert!(matches!(out[1500].result, Ok(UpsertAction::Updated)));
    assert!(
        matches!(&out[1501].result, Err(ItemError::Failed(e)) if matches!(**e, Error::InvalidInput { .. }))
    );
    assert!(
        matches!(
            &out[1502].result,
            Err(ItemError::Rejected { code: 400, .. })
        ),
        "{:?}",
        out[1502].result
    );
    assert_eq!(
        fake.contact("old@x.com").unwrap().firstname.as_deref(),
        Some("New")
    );
    let bulk_posts = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/data/contacts/bulk")
        .count();
    assert_eq!(bulk_posts, 2, "1,000 per request");
}

#[tokio::test]
async fn custom_key_universe_and_typed_fields() {
    let fake = FakeSplio::start().await;
    fake.set_unique_key(UniqueKey::CustomField(7));
    let birthday = fake.seed_field("birthday", FieldType::Date);
    let c = client(&fake);
    assert_eq!(c.unique_key().await.unwrap(), UniqueKey::CustomField(7));
    let when = FieldValue::parse(FieldType::Date, "1990-02-03").unwrap();
    let contact = ContactData::with_email("k@x.com")
        .custom_field(CustomFieldValue::by_id(7, "K 1/2"))
        .custom_field(CustomFieldValue::by_name("birthday", when));
    assert_eq!(c.upsert(&contact).await.unwrap(), UpsertAction::Created);
    let got = c.get_contact("K 1/2").await.unwrap();
    assert_eq!(
        got.custom_field(&FieldRef::Id(birthday)),
        Some("1990-02-03 00:00:00")
    );
    // Wrong type caught by Splio (the fake) with its wrong_type envelope.
    let err = c
        .patch_contact(
            "K 1/2",
            &ContactData::default().custom_field(CustomFieldValue::by_id(birthday, "soon")),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Api { status: 400, errors, .. } if errors[0].error == "wrong_type"),
        "{err}"
    );
}

#[tokio::test]
async fn token_expiry_and_401_reauthenticate_once() {
    let fake = FakeSplio::start().await;
    let c = client(&fake);
    c.unique_key().await.unwrap();
    fake.expire_tokens();
    let clones: Vec<Client> = (0..8).map(|_| c.clone()).collect();
    let results =
        futures::future::join_all(clones.iter().map(|c| c.get_contact("nobody@x.com"))).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().unwrap_err().is_not_found())
    );
    assert_eq!(
        fake.auth_count(),
        2,
        "no thundering herd: one re-authentication"
    );
    let bad = Client::builder(ApiKey::new("wrong"))
        .base_url(fake.base_url())
        .allow_http(true)
        .build()
        .unwrap();
    let err = bad.get_contact("a@b.c").await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    assert!(!format!("{err:?} {err} {bad:?}").contains("wrong\""));
}

#[tokio::test]
async fn retries_and_rate_limits() {
    let fake = FakeSplio::start().await;
    let c = client(&fake);
    c.unique_key().await.unwrap();
    fake.seed_contact(ContactData::with_email("a@x.com"));
    let before = fake.requests().len();
    fake.fail_next(2, 503);
    c.get_contact("a@x.com").await.unwrap();
    assert_eq!(fake.requests().len() - before, 3);
    // A create is not retried on 503 (it may have been processed) …
    fake.fail_next(1, 503);
    let err = c
        .create_contact(&ContactData::with_email("b@x.com"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    // … but is retried on 429, after rateLimit-reset.
    fake.rate_limit_next(1, 0);
    c.create_contact(&ContactData::with_email("b@x.com"))
        .await
        .unwrap();
    let limit = c.last_rate_limit().unwrap();
    assert_eq!(limit.limit, Some(10));
    fake.rate_limit_next(5, 0);
    let err = c.get_contact("a@x.com").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }));
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
}

#[tokio::test]
async fn fields_lists_blacklists_pages() {
    let fake = FakeSplio::start().await;
    let c = client(&fake);
    let created = c
        .create_contact_field("loyalty_tier", FieldType::Text)
        .await
        .unwrap();
    let fields: Vec<_> = c.contact_fields().try_collect().await.unwrap();
    assert_eq!(fields.len(), 3);
    assert_eq!(fields[2].name, "loyalty_tier");
    c.delete_contact_field(created.id.unwrap() as u32)
        .await
        .unwrap();
    assert!(c.delete_contact_field(99).await.unwrap_err().is_not_found());
    for i in 0..3 {
        fake.seed_list(&format!("l{i}"));
    }
    assert_eq!(c.lists().try_collect::<Vec<_>>().await.unwrap().len(), 3);

    let many: Vec<String> = (0..2100).map(|i| format!("b{i}@x.com")).collect();
    let added = c.blacklist_add(Channel::Email, &many).await;
    assert_eq!(added.len(), 2100);
    assert!(
        added
            .iter()
            .enumerate()
            .all(|(i, o)| o.index == i && o.is_ok())
    );
    let again = c.blacklist_add(Channel::Email, &many[..2]).await;
    assert!(again[0].result.as_ref().unwrap_err().is_already_exists());
    fake.seed_blacklist(Channel::Email, "u@x.com", "unsub");
    let unsub: Vec<_> = c
        .blacklist(Channel::Email, Some(BlacklistSource::Unsub))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(unsub.len(), 1);
    let all: Vec<_> = c
        .blacklist(Channel::Email, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2101);
    let removed = c
        .blacklist_remove(Channel::Email, RemoveSource::All, &many[..10])
        .await;
    assert_eq!(removed.len(), 10);
    assert!(removed.iter().all(|o| o.is_ok()));
    assert!(
        c.blacklist_remove(Channel::Cellphone, RemoveSource::Unsub, &many[..1])
            .await[0]
            .result
            .is_err()
    );
}

#[tokio::test]
async fn bulk_delete_optout_and_single_ops() {
    let fake = FakeSplio::start().await;
    let list = fake.seed_list("l");
    let c = client(&fake);
    for e in ["a@x.com", "b@x.com", "c@x.com"] {
        fake.seed_contact(ContactData::with_email(e).list(list));
    }
    let out = c.optout(&["a@x.com".into(), "zz@x.com".into()]).await;
    assert!(out[0].result.is_ok());
    assert!(out[1].result.as_ref().unwrap_err().is_not_found());
    assert!(fake.contact("a@x.com").unwrap().lists.is_empty());
    let out = c.bulk_delete(&["b@x.com".into()]).await;
    assert!(out[0].result.is_ok());
    c.delete_contact("c@x.com").await.unwrap();
    assert_eq!(fake.contacts().len(), 1);
    let err = c
        .create_contact(&ContactData::with_email("a@x.com"))
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err}");
    let err = c.subscribe("a@x.com", &[999]).await.unwrap_err();
    assert!(err.to_string().contains("list 999 does not exist"), "{err}");
}

#[tokio::test]
async fn creation_date_is_accepted_by_the_fake_pattern() {
    let fake = FakeSplio::start().await;
    let c = client(&fake);
    let d = jiff::civil::date(2024, 1, 2).at(3, 4, 5, 0);
    c.create_contact(&ContactData::with_email("d@x.com").creation_date(d))
        .await
        .unwrap();
    assert_eq!(
        fake.contact("d@x.com").unwrap().creation_date.as_deref(),
        Some("2024-01-02 3:04:05")
    );
}

#[tokio::test]
async fn timeouts_are_retried_for_reads_only() {
    let fake = FakeSplio::start().await;
    fake.seed_contact(ContactData::with_email("a@x.com"));
    let c = Client::builder(fake.credentials())
        .base_url(fake.base_url())
        .allow_http(true)
        .unique_key(UniqueKey::Email)
        .timeout(Duration::from_millis(100))
        .retry(RetryPolicy {
            max_retries: 2,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            jitter: true,
        })
        .build()
        .unwrap();
    c.get_contact("a@x.com").await.unwrap();
    fake.delay_next(1, Duration::from_millis(300));
    c.get_contact("a@x.com").await.unwrap();
    fake.delay_next(1, Duration::from_millis(300));
    let err = c
        .create_contact(&ContactData::with_email("b@x.com"))
        .await
        .unwrap_err();
    // The create may have been processed after the client stopped waiting: its outcome is
    // unknown, and resending it is not offered as safe.
    assert!(
        matches!(&err, Error::OutcomeUnknown { key, exists: None, .. } if key == "b@x.com"),
        "{err:?}"
    );
    assert!(!err.is_retryable() && !err.provably_not_processed());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        fake.contacts().len(),
        2,
        "the fake finished what it started"
    );
}

#[tokio::test]
async fn documented_contact_errors() {
    let fake = FakeSplio::start().await;
    let c = client(&fake);
    let unknown_field =
        ContactData::with_email("a@x.com").custom_field(CustomFieldValue::by_id(145, "x"));
    let err = c.create_contact(&unknown_field).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("Custom field not found for id 145."),
        "{err}"
    );
    let mut optin = ContactData::with_email("a@x.com");
    optin.double_optin = Some(serde_json::json!({"enabled": true}));
    let err = c.create_contact(&optin).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("double optin option should have some lists"),
        "{err}"
    );
    let err = c
        .create_contact(&ContactData::with_email("not an email"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Api { errors, .. } if errors[0].error == "wrong_email"),
        "{err}"
    );
    let err = c
        .create_contact(&ContactData::with_email("a@x.com").list(777))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("list 777 does not exist"), "{err}");
    assert!(fake.contacts().is_empty());
}

#[tokio::test]
async fn dropped_connections_retry_reads_but_not_creates() {
    let fake = FakeSplio::start().await;
    fake.seed_contact(ContactData::with_email("a@x.com"));
    let c = client(&fake);
    c.unique_key().await.unwrap();
    fake.drop_next(1, DropPoint::BeforeProcessing);
    c.get_contact("a@x.com").await.unwrap();
    fake.drop_next(1, DropPoint::BeforeProcessing);
    let err = c
        .create_contact(&ContactData::with_email("b@x.com"))
        .await
        .unwrap_err();
    // The cut came after the request was sent: the client cannot tell it from a cut after
    // processing, so the create's outcome is unknown (and its message says why).
    assert!(
        matches!(&err, Error::OutcomeUnknown { key, .. } if key == "b@x.com"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("the answer was lost"), "{err}");
    assert!(fake.contact("b@x.com").is_none(), "cut before processing");
    // Cut after Splio processed it: the create went through (the client cannot know) and is
    // not repeated; a read is.
    fake.drop_next(1, DropPoint::AfterProcessing);
    let sent = fake.request_count();
    c.create_contact(&ContactData::with_email("b@x.com"))
        .await
        .unwrap_err();
    assert_eq!(fake.request_count() - sent, 1);
    assert!(
        fake.contact("b@x.com").is_some(),
        "processed before the cut"
    );
    fake.drop_next(1, DropPoint::AfterProcessing);
    c.get_contact("b@x.com").await.unwrap();
    assert_eq!(fake.request_count() - sent, 3, "the read was repeated");
}

#[tokio::test]
async fn a_schema_from_the_field_list_says_which_types_it_does_not_know() {
    let fake = FakeSplio::start().await;
    let birthday = fake.seed_field("birthday", FieldType::Date);
    let c = client(&fake);
    let fields: Vec<_> = c.contact_fields().try_collect().await.unwrap();
    // GET /data/fields/contacts names every field but no type (OpenAPI example, go-splio's
    // FieldElement): the schema knows the field, not its type, and says the check did not run.
    let schema = splio_client::FieldSchema::from_fields(&fields);
    assert!(schema.contains(&FieldRef::Id(birthday)));
    assert!(schema.contains(&FieldRef::Name("birthday".into())));
    assert_eq!(schema.field_type(&FieldRef::Id(birthday)), None);
    let contact = ContactData::with_email("a@x.com")
        .custom_field(CustomFieldValue::by_id(birthday, 12))
        .custom_field(CustomFieldValue::by_name("nope", "x"));
    assert_eq!(
        schema.check(&contact).unwrap(),
        vec![FieldRef::Id(birthday), FieldRef::Name("nope".into())],
        "both values went unchecked"
    );
    // A value parsed for a field of unknown type says so: taken as text, not checked.
    let parsed = schema.value(FieldRef::Id(birthday), "12").unwrap();
    assert_eq!(parsed.checked_as, None);
    assert_eq!(parsed.value.value, Some(FieldValue::Text("12".into())));
    // The creation answer carries the type: a schema told about it checks.
    let created = c
        .create_contact_field("points", FieldType::Int)
        .await
        .unwrap();
    let schema = schema.with_created(&created);
    let points = FieldRef::Id(created.id.unwrap() as u32);
    assert_eq!(schema.field_type(&points), Some(FieldType::Int));
    assert_eq!(
        schema.value(points.clone(), "5").unwrap().checked_as,
        Some(FieldType::Int)
    );
    let bad = ContactData::with_email("a@x.com")
        .custom_field(CustomFieldValue::by_name("points", "many"));
    assert!(schema.check(&bad).is_err());
}

/// Splio's PATCH sets the attributes sent, so the client repeats it after a 5xx like a read
/// (a PATCH is not idempotent by default in marketing-sync-core); every attempt is counted.
#[tokio::test]
async fn patch_is_retried_on_5xx_and_every_attempt_is_counted() {
    let fake = FakeSplio::start().await;
    fake.seed_contact(ContactData::with_email("a@x.com"));
    let c = client(&fake);
    c.unique_key().await.unwrap();
    let before = c.requests_sent();
    assert_eq!(before, fake.request_count(), "authenticate, unique key");
    fake.fail_next(2, 503);
    c.patch_contact("a@x.com", &ContactData::default().lastname("Doe"))
        .await
        .unwrap();
    assert_eq!(
        fake.contact("a@x.com").unwrap().lastname.as_deref(),
        Some("Doe")
    );
    assert_eq!(c.requests_sent() - before, 3);
    assert_eq!(c.requests_sent(), fake.request_count());
}

/// A bulk delete cut after Splio processed it is repeated (DELETE is idempotent); the repeat
/// answers 404 for the contacts the first attempt deleted. They are reported deleted.
#[tokio::test]
async fn a_retried_bulk_delete_reports_what_its_first_attempt_deleted_as_deleted() {
    let fake = FakeSplio::start().await;
    for e in ["a@x.com", "b@x.com"] {
        fake.seed_contact(ContactData::with_email(e));
    }
    let c = client(&fake);
    c.unique_key().await.unwrap();
    fake.drop_next(1, DropPoint::AfterProcessing);
    let sent = fake.request_count();
    let out = c.bulk_delete(&["a@x.com".into(), "b@x.com".into()]).await;
    assert_eq!(fake.request_count() - sent, 2, "repeated once");
    assert!(fake.contacts().is_empty());
    for o in &out {
        assert!(o.result.is_ok(), "{}: {:?}", o.key, o.result);
    }
}

/// Update-only: existing contacts are patched (and subscribed), unknown ones are reported
/// `NotFound` and never created; the server received PATCHes and no create.
#[tokio::test]
async fn update_many_patches_existing_contacts_and_never_creates() {
    let fake = FakeSplio::start().await;
    let list = fake.seed_list("news");
    fake.seed_contact(ContactData::with_email("ann@x.com").firstname("Old"));
    let c = client(&fake);
    let out = c
        .update_many(&[
            ContactData::with_email("Ann@X.com")
                .firstname("Ann")
                .list(list),
            ContactData::with_email("new@x.com").firstname("New"),
            ContactData::with_email("bad@x.com").firstname("two\nlines"),
        ])
        .await;
    assert_eq!(out[0].result.as_ref().ok(), Some(&UpdateAction::Updated));
    assert_eq!(out[0].key, "ann@x.com");
    assert_eq!(out[1].result.as_ref().ok(), Some(&UpdateAction::NotFound));
    assert!(
        matches!(&out[2].result, Err(ItemError::Failed(e)) if matches!(**e, Error::InvalidInput { .. }))
    );
    let ann = fake.contact("ann@x.com").unwrap();
    assert_eq!(ann.firstname.as_deref(), Some("Ann"));
    assert!(ann.lists.contains(&list));
    assert!(fake.contact("new@x.com").is_none());
    let requests = fake.requests();
    assert!(
        !requests.iter().any(|r| r.method == "POST"
            && r.path.starts_with("/data/contacts")
            && !r.path.contains("/lists/")),
        "no create was sent: {requests:?}"
    );
    let patched: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| (r.path.as_str(), r.json_body()))
        .collect();
    assert_eq!(
        patched,
        [
            (
                "/data/contacts/ann%40x.com",
                Some(serde_json::json!({"firstname": "Ann"}))
            ),
            (
                "/data/contacts/new%40x.com",
                Some(serde_json::json!({"firstname": "New"}))
            ),
        ]
    );
    assert_eq!(
        c.update(&ContactData::with_email("gone@x.com"))
            .await
            .unwrap(),
        UpdateAction::NotFound
    );
}

/// A multi-status answer in another order than the input (the fake's reorder fault) still
/// gives each input its own outcome: items are matched by key, never by position.
#[tokio::test]
async fn reordered_multi_status_answers_keep_each_outcome_with_its_contact() {
    let fake = FakeSplio::start().await;
    fake.seed_contact(ContactData::with_email("taken@x.com"));
    let c = client(&fake);
    fake.reorder_next_multi_status(1);
    let out = c
        .bulk_create(&["new@x.com", "taken@x.com", "new2@x.com"].map(ContactData::with_email))
        .await;
    assert!(out[0].result.is_ok(), "{:?}", out[0].result);
    assert!(out[1].result.as_ref().unwrap_err().is_already_exists());
    assert!(out[2].result.is_ok(), "{:?}", out[2].result);
    fake.reorder_next_multi_status(1);
    let out = c.optout(&["zz@x.com".into(), "taken@x.com".into()]).await;
    assert!(out[0].result.as_ref().unwrap_err().is_not_found());
    assert!(out[1].result.is_ok());
}

/// `tracking_consent` goes out on create and on PATCH as the document's schema has it.
#[tokio::test]
async fn tracking_consent_is_sent_on_create_and_patch() {
    let fake = FakeSplio::start().await;
    let c = client(&fake);
    let consent = splio_client::TrackingConsent::email_open(true).source("shop");
    let contact = ContactData::with_email("a@x.com").tracking_consent(consent.clone());
    c.create_contact(&contact).await.unwrap();
    c.patch_contact(
        "a@x.com",
        &ContactData::default().tracking_consent(splio_client::TrackingConsent::email_open(false)),
    )
    .await
    .unwrap();
    let bodies: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/data/contacts"))
        .map(|r| (r.method.to_string(), r.json_body().unwrap()))
        .collect();
    assert_eq!(
        bodies,
        [
            (
                "POST".to_string(),
                serde_json::json!({"email": "a@x.com", "tracking_consent": [{"channel": "email", "scope": "open", "enabled": true, "source": "shop"}]})
            ),
            (
                "PATCH".to_string(),
                serde_json::json!({"tracking_consent": [{"channel": "email", "scope": "open", "enabled": false}]})
            ),
        ]
    );
}

/// Groups, search and activities through the client against the fake.
#[tokio::test]
async fn groups_search_and_activities_through_the_client() {
    use splio_client::{
        ActivityChannel, ContactSearch, NewGroup, SearchEncoding, SearchFilter, SearchOperator,
    };
    let fake = FakeSplio::start().await;
    for (e, last) in [
        ("ann@x.com", "Doe"),
        ("bob@x.com", "Roe"),
        ("cid@x.com", "Doe"),
    ] {
        fake.seed_contact(ContactData::with_email(e).lastname(last));
    }
    let c = client(&fake);
    let search =
        ContactSearch::new().filter(SearchFilter::new("lastname", SearchOperator::Equal, "doe"));
    for encoding in [
        SearchEncoding::JsonQuery,
        SearchEncoding::Brackets,
        SearchEncoding::JsonBody,
    ] {
        let found: Vec<_> = c
            .search_contacts(&search.clone().encoding(encoding))
            .try_collect()
            .await
            .unwrap();
        let emails: Vec<_> = found.iter().filter_map(|c| c.email.clone()).collect();
        assert_eq!(emails, ["ann@x.com", "cid@x.com"], "{encoding:?}");
    }
    let created = c
        .create_group(&NewGroup {
            name: "Doe family".into(),
            keys: vec!["ann@x.com".into(), "Cid@X.com".into(), "zz@x.com".into()],
            ..NewGroup::default()
        })
        .await
        .unwrap();
    let id = created.group.id.unwrap() as u64;
    assert_eq!(created.keys_not_found, ["zz@x.com"]);
    assert_eq!(fake.group_members(id).unwrap(), ["ann@x.com", "cid@x.com"]);
    let added = c
        .add_to_group(id, &["bob@x.com".into(), "ann@x.com".into()])
        .await
        .unwrap();
    assert_eq!(
        (added.nb_inserted_contacts, added.nb_total_contacts),
        (Some(1), Some(3))
    );
    c.remove_from_group(id, &["ann@x.com".into()])
        .await
        .unwrap();
    assert_eq!(fake.group_members(id).unwrap(), ["bob@x.com", "cid@x.com"]);
    c.clear_group(id).await.unwrap();
    assert_eq!(fake.group_members(id).unwrap(), Vec::<String>::new());
    let groups: Vec<_> = c.groups().try_collect().await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "Doe family");
    fake.seed_activity("ann@x.com", "email", "opened");
    fake.seed_activity("ann@x.com", "sms", "delivered");
    let all: Vec<_> = c
        .contact_activities("ann@x.com", None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let sms: Vec<_> = c
        .contact_activities("ann@x.com", Some(ActivityChannel::Sms))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(sms[0].event.as_deref(), Some("delivered"));
    let err = c
        .contact_activities("nobody@x.com", None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}
