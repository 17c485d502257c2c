//! The client against the fake, in both body encodings: the fake follows the reference, so
//! these double as conformance tests of the fake.
#![cfg(feature = "fake")]

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use serde_json::json;
use smaily_client::fake::{FAKE_PASSWORD, FAKE_USER, FakeService, FakeSmaily, Paging};
use smaily_client::{
    AutomationTrigger, BodyEncoding, Client, Credentials, Error, FieldName, ItemError, SEGMENT_ALL,
    SEGMENT_UNSUBSCRIBED, SegmentQuery, Subscriber,
};

pub(crate) const ENCODINGS: [BodyEncoding; 2] = [BodyEncoding::Json, BodyEncoding::Form];

/// A client for the fake with this body encoding.
pub(crate) fn client(fake: &FakeSmaily, encoding: BodyEncoding) -> Client {
    fake.client_builder()
        .body_encoding(encoding)
        .build()
        .unwrap()
}

#[tokio::test]
async fn upsert_get_unsubscribe_delete_forget_in_both_encodings() {
    for enc in ENCODINGS {
        let fake = FakeSmaily::start().await;
        let c = client(&fake, enc);
        let sub = Subscriber::new("Mari@example.com")
            .field(FieldName::new("first_name").unwrap(), "Mari");
        c.upsert(&sub).await.unwrap();
        let req = fake.smaily_requests().pop().unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/api/contact.php");
        let expected_ct = match enc {
            BodyEncoding::Json => "application/json",
            BodyEncoding::Form => "application/x-www-form-urlencoded",
        };
        assert_eq!(req.content_type.as_deref(), Some(expected_ct));
        assert_eq!(
            req.body_json(),
            json!({"email":"Mari@example.com","first_name":"Mari"})
        );
        assert!(req.authorization.unwrap().starts_with("Basic "));

        let got = c.subscriber("mari@example.com").await.unwrap().unwrap();
        assert_eq!(got.fields["first_name"], "Mari");
        assert!(!got.is_unsubscribed);
        assert!(got.created_at.is_some());

        c.unsubscribe("mari@example.com").await.unwrap();
        assert!(fake.subscriber("mari@example.com").unwrap().is_unsubscribed);
        // Omitting is_unsubscribed keeps the status ...
        c.upsert(
            &Subscriber::new("mari@example.com").field(FieldName::new("city").unwrap(), "Tartu"),
        )
        .await
        .unwrap();
        let stored = fake.subscriber("mari@example.com").unwrap();
        assert!(stored.is_unsubscribed);
        assert_eq!(stored.fields["first_name"], "Mari");
        // ... an explicit subscribe re-subscribes.
        c.upsert(&Subscriber::new("mari@example.com").subscribed(true))
            .await
            .unwrap();
        assert!(!fake.subscriber("mari@example.com").unwrap().is_unsubscribed);

        c.delete("mari@example.com").await.unwrap();
        let stored = fake.subscriber("mari@example.com").unwrap();
        assert!(stored.is_deleted && stored.fields.is_empty());
        assert!(c.subscriber("mari@example.com").await.unwrap().is_none());

        assert!(c.forget(&["mari@example.com"]).await[0].is_ok());
        assert!(fake.subscriber("mari@example.com").is_none());
        let req = fake.smaily_requests().pop().unwrap();
        assert_eq!(req.path, "/api/contact/forget.php");
        assert_eq!(req.body_json(), json!(["mari@example.com"]));
    }
}

/// `fail_next` answers as Smaily answers a bare status (sources at `fake::http::status_fault`),
/// asked directly: 403 with code 227, 429 with `Retry-After`, a 5xx with a JSON body carrying
/// no Smaily `code`, 404 with an empty body; none of them processed.
#[tokio::test]
async fn injected_statuses_are_answered_as_smaily_answers_them() {
    let fake = FakeSmaily::start().await;
    fake.enforce_rate_limit(None);
    let http = reqwest::Client::new();
    let url = format!("{}contact.php", fake.base_url());
    let send = |status: u16| {
        fake.fail_next(1, status);
        http.post(&url)
            .basic_auth(FAKE_USER, Some(FAKE_PASSWORD))
            .json(&json!({ "email": "mari@example.com" }))
            .send()
    };
    let r = send(403).await.unwrap();
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"code": 227, "message": "A paid package is required."})
    );

    let r = send(429).await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");

    let r = send(503).await.unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body.is_object() && body.get("code").is_none(), "{body}");

    let r = send(404).await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.bytes().await.unwrap().is_empty());

    assert_eq!(fake.request_count(), 4);
    assert_eq!(fake.subscriber_count(), 0, "none was processed");
}

/// The fake's codes for bad rows, asked directly (the client refuses these addresses before
/// sending, `surface.rs`): 204 for a malformed address, 207 for a missing one, 203 for a
/// reserved TLD (sources at `fake::contacts::row_error`).
#[tokio::test]
async fn real_codes_for_bad_rows() {
    let fake = FakeSmaily::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}contact.php", fake.base_url());
    for form in [false, true] {
        for (email, code, message) in [
            (
                "no-at-sign",
                204,
                "Invalid email address provided - no-at-sign",
            ),
            ("", 207, "Following fields are required - email"),
            ("a@example.test", 203, "Invalid data submitted"),
        ] {
            let req = http.post(&url).basic_auth(FAKE_USER, Some(FAKE_PASSWORD));
            let req = if form {
                req.form(&[("email", email)])
            } else {
                req.json(&json!({ "email": email }))
            };
            // Smaily's limit of 5 a second holds for raw requests too.
            tokio::time::sleep(Duration::from_millis(250)).await;
            let answer: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
            assert_eq!(
                answer,
                json!({"code": code, "message": message}),
                "{email:?}"
            );
        }
    }
    assert_eq!(fake.subscriber_count(), 0);
    // The client refuses them before sending.
    let c = fake.client();
    let before = fake.request_count();
    for email in ["no-at-sign", "", "a@example.test"] {
        let err = c.upsert(&Subscriber::new(email)).await.unwrap_err();
        assert!(matches!(&err, Error::InvalidInput { .. }), "{err:?}");
    }
    assert_eq!(fake.request_count(), before);
}

#[tokio::test]
async fn batch_upsert_runs_on_a_spawned_task() {
    // `upsert_many`'s future must be `Send`, so a sync can run it on another task.
    let fake = FakeSmaily::start().await;
    let c = fake.client();
    let rows: Vec<Subscriber> = (0..3)
        .map(|i| Subscriber::new(format!("spawned{i}@example.com")))
        .collect();
    let out = tokio::spawn(async move { c.upsert_many(&rows).await })
        .await
        .unwrap();
    assert!(out.iter().all(|o| o.is_ok()));
    assert_eq!(fake.subscriber_count(), 3);
}

#[tokio::test]
async fn batch_upsert_isolates_bad_rows_and_loses_no_good_row() {
    for enc in ENCODINGS {
        let fake = FakeSmaily::start().await;
        let c = fake
            .client_builder()
            .body_encoding(enc)
            .batch_size(100)
            .build()
            .unwrap();
        let rows: Vec<Subscriber> = (0..1000)
            .map(|i| match i {
                17 => Subscriber::new("broken"),
                250 => Subscriber::new("a@b@example.com"),
                503 => Subscriber::new("x@reserved.test"),
                999 => Subscriber::new(""),
                _ => Subscriber::new(format!("u{i:04}@example.com"))
                    .field(FieldName::new("n").unwrap(), i.to_string()),
            })
            .collect();
        let out = c.upsert_many(&rows).await;
        assert_eq!(out.len(), 1000);
        // What Smaily refuses for certain is refused before sending (issue 21); what only
        // Smaily refuses (a second `@`) is isolated by bisection and rejected with its code.
        let refused: Vec<(usize, Option<u16>)> = out
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match &o.result {
                Err(ItemError::Rejected { code, .. }) => Some((i, Some(*code))),
                Err(ItemError::Failed(e)) if matches!(**e, Error::InvalidInput { .. }) => {
                    Some((i, None))
                }
                Err(other) => panic!("{other:?}"),
                Ok(()) => None,
            })
            .collect();
        assert_eq!(
            refused,
            [(17, None), (250, Some(204)), (503, None), (999, None)]
        );
        assert_eq!(out.iter().filter(|o| o.is_ok()).count(), 996);
        assert_eq!(fake.subscriber_count(), 996);
        assert_eq!(
            fake.subscriber("u0018@example.com").unwrap().fields["n"],
            "18"
        );
        assert!(fake.subscriber("u0251@example.com").is_some());
        // 10 chunks + 1 bisection of 100 rows (2 + 2·log2(100)-ish requests).
        assert_eq!(c.requests_sent(), fake.request_count());
        assert!(c.requests_sent() < 10 + 16, "{}", c.requests_sent());
    }
}

#[tokio::test]
async fn transient_faults_are_retried_and_reported_per_row() {
    let fake = FakeSmaily::start().await;
    let c = fake
        .client_builder()
        .retry(smaily_client::RetryPolicy::fast(4))
        .batch_size(2)
        .concurrency(1)
        .build()
        .unwrap();
    fake.fail_next(1, 503);
    fake.rate_limit_next(1, 0);
    fake.fail_next_with_code(1, 205, "Could not add or update provided contact");
    fake.drop_next(1, smaily_client::fake::DropPoint::AfterProcessing);
    let rows: Vec<Subscriber> = (0..4)
        .map(|i| Subscriber::new(format!("u{i}@example.com")))
        .collect();
    let out = c.upsert_many(&rows).await;
    assert!(out.iter().all(|o| o.is_ok()), "{out:?}");
    assert_eq!(fake.request_count(), 6);
    assert_eq!(fake.subscriber_count(), 4);

    fake.fail_next(5, 500);
    let out = c.upsert_many(&[Subscriber::new("late@example.com")]).await;
    assert!(
        matches!(&out[0].result, Err(ItemError::Failed(e)) if matches!(&**e, Error::Transport(t) if t.http_status() == Some(500))),
        "{out:?}"
    );
    assert!(fake.subscriber("late@example.com").is_none());
}

#[tokio::test]
async fn auth_plan_block_and_unknown_scripts() {
    let fake = FakeSmaily::start().await;
    let wrong = Client::builder(Credentials::new(FAKE_USER, "wrong"))
        .subdomain("x")
        .base_url(fake.base_url())
        .allow_http(true)
        .build()
        .unwrap();
    assert!(matches!(
        wrong.subscriber("a@example.com").await,
        Err(Error::Unauthorized { .. })
    ));
    fake.set_plan_blocked(true);
    assert!(matches!(
        wrong.subscriber("a@example.com").await,
        Err(Error::PlanBlocked { .. })
    ));
    fake.set_plan_blocked(false);
    let lost = Client::builder(Credentials::new(FAKE_USER, FAKE_PASSWORD))
        .subdomain("x")
        .base_url(format!("{}nope/", fake.base_url()))
        .allow_http(true)
        .build()
        .unwrap();
    assert!(matches!(
        lost.subscriber("a@example.com").await,
        Err(Error::NotFound { body }) if body.is_empty()
    ));
}

#[tokio::test]
async fn segments_1_and_2_stream_to_the_end() {
    let fake = FakeSmaily::start().await;
    fake.seed_subscribers(
        (0..25).map(|i| Subscriber::new(format!("s{i:02}@example.com")).subscribed(i % 5 != 0)),
    );
    let c = fake.client();
    let stream = |segment, query: SegmentQuery| {
        c.segment_subscribers(segment, query)
            .try_collect::<Vec<_>>()
    };
    // The default page (25,000 rows) reads everything whichever way pages are counted.
    for paging in [Paging::Documented, Paging::FollowsLimit] {
        fake.set_paging(paging);
        let all = stream(SEGMENT_ALL, SegmentQuery::default()).await.unwrap();
        assert_eq!(all.len(), 25, "{paging:?}");
        assert!(
            all.windows(2).all(|w| w[0].email < w[1].email),
            "sorted by email"
        );
    }
    // Smaller pages only work where the page size follows `limit` (the official plugins'
    // reading): under the documented fixed pages, page 1 starts at row 25,000.
    fake.set_paging(Paging::Documented);
    let short = stream(SEGMENT_ALL, SegmentQuery::default().page_size(10))
        .await
        .unwrap();
    assert_eq!(short.len(), 10);
    fake.set_paging(Paging::FollowsLimit);
    fake.clear_requests();
    let gone = stream(
        SEGMENT_UNSUBSCRIBED,
        SegmentQuery::default()
            .fields(["email", "unsubscribed_at"])
            .page_size(2),
    )
    .await
    .unwrap();
    let emails: Vec<_> = gone.iter().map(|c| c.email.as_str()).collect();
    assert_eq!(
        emails,
        [
            "s00@example.com",
            "s05@example.com",
            "s10@example.com",
            "s15@example.com",
            "s20@example.com"
        ]
    );
    assert!(
        gone.iter()
            .all(|c| c.unsubscribed_at.is_some() && c.fields.is_empty())
    );
    // 5 rows, pages of 2: 2 + 2 + 1 (short page ends it).
    assert_eq!(fake.request_count(), 3);
}

#[tokio::test]
async fn automation_triggers_are_logged_not_repeated() {
    for enc in ENCODINGS {
        let fake = FakeSmaily::start().await;
        let c = client(&fake, enc);
        fake.seed_subscribers([Subscriber::new("gone@example.com").subscribed(false)]);
        let t = AutomationTrigger::new([
            Subscriber::new("gone@example.com").field(FieldName::new("cart").unwrap(), "3")
        ])
        .workflow(1)
        .force_opt_in(false)
        .abandoned_cart(true);
        assert_eq!(
            c.trigger_automation(&t).await.unwrap(),
            ["gone@example.com"]
        );
        let log = fake.triggers();
        assert_eq!(log.len(), 1);
        assert!(!log[0].force_opt_in);
        let stored = fake.subscriber("gone@example.com").unwrap();
        assert!(stored.is_unsubscribed, "force_opt_in=false keeps consent");
        assert_eq!(stored.fields["cart"], "3");
        let req = fake.smaily_requests().pop().unwrap();
        let sent = req.body_json();
        assert_eq!(sent["addresses"][0]["email"], "gone@example.com");
        // A 500 after processing is not retried: one more request, one more trigger.
        fake.fail_next(1, 500);
        assert!(c.trigger_automation(&t).await.is_err());
        assert_eq!(fake.triggers().len(), 1);
        let err = c
            .trigger_automation(
                &AutomationTrigger::new([Subscriber::new("a@example.com")]).workflow(99),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(221));
        // The default keeps consent; only force_opt_in(true), asked for by name,
        // re-subscribes.
        let plain = AutomationTrigger::new([Subscriber::new("gone@example.com")]);
        c.trigger_automation(&plain).await.unwrap();
        assert!(fake.subscriber("gone@example.com").unwrap().is_unsubscribed);
        c.trigger_automation(&plain.force_opt_in(true))
            .await
            .unwrap();
        assert!(!fake.subscriber("gone@example.com").unwrap().is_unsubscribed);
    }
}

#[tokio::test]
async fn enforced_rate_limit_meets_the_client_limiter() {
    let fake = FakeSmaily::start().await;
    fake.enforce_rate_limit(Some(5));
    // Without a client limiter, a burst earns 429s that are retried after Retry-After.
    let greedy = fake
        .client_builder()
        .rate_limit(0)
        .retry(smaily_client::RetryPolicy::fast(0))
        .build()
        .unwrap();
    let results =
        futures::future::join_all((0..8).map(|_| greedy.subscriber("a@example.com"))).await;
    assert_eq!(
        results.iter().filter(|r| matches!(r, Err(Error::RateLimited { retry_after: Some(d), .. }) if *d == Duration::from_secs(1))).count(),
        3
    );
    assert_eq!(fake.rate_limited_count(), 3);
    // With a client limit under the enforced one, a sustained run earns none.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    fake.clear_requests();
    let polite = fake.client_builder().rate_limit(4).build().unwrap();
    let started = Instant::now();
    for _ in 0..8 {
        polite.subscriber("a@example.com").await.unwrap();
    }
    assert_eq!(fake.rate_limited_count(), 0);
    assert!(started.elapsed() >= Duration::from_millis(900));
    fake.enforce_rate_limit(None);
}

#[tokio::test]
async fn holds_100k_subscribers() {
    let fake = FakeSmaily::start().await;
    let started = Instant::now();
    fake.seed_subscribers((0..100_000).map(|i| {
        Subscriber::new(format!("bulk{i:06}@example.com"))
            .field(FieldName::new("n").unwrap(), i.to_string())
    }));
    assert_eq!(fake.subscriber_count(), 100_000);
    let c = fake.client();
    let rows: Vec<_> = c
        .segment_subscribers(SEGMENT_ALL, SegmentQuery::default().fields(["email"]))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 100_000);
    assert_eq!(
        fake.request_count(),
        5,
        "4 full pages of 25,000 and an empty one"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn segments_campaign_unsubscribe_messages_and_users() {
    for enc in ENCODINGS {
        let fake = FakeSmaily::start().await;
        let c = client(&fake, enc);
        fake.seed_subscribers([
            Subscriber::new("a@example.com"),
            Subscriber::new("b@example.com").subscribed(false),
        ]);
        let segs = c.segments().await.unwrap();
        assert_eq!(
            segs.iter()
                .map(|s| (s.id, s.subscribers_count))
                .collect::<Vec<_>>(),
            [(1, Some(2)), (2, Some(1))]
        );
        assert_eq!(c.segment(2).await.unwrap().filter_data.len(), 1);
        assert_eq!(c.segment(3).await.unwrap_err().code(), Some(208));

        // unsubscribe.php needs a campaign that exists (it took any id before).
        let campaign = fake.seed_campaign("May", SEGMENT_ALL);
        assert_eq!(
            c.unsubscribe_from_campaign("a@example.com", campaign + 1)
                .await
                .unwrap_err()
                .code(),
            Some(216)
        );
        assert!(!fake.subscriber("a@example.com").unwrap().is_unsubscribed);
        c.unsubscribe_from_campaign("a@example.com", campaign)
            .await
            .unwrap();
        assert!(fake.subscriber("a@example.com").unwrap().is_unsubscribed);
        let req = fake.smaily_requests().pop().unwrap();
        assert_eq!(
            req.body_json()["campaign_id"].to_string().trim_matches('"'),
            campaign.to_string()
        );
        assert_eq!(fake.campaigns()[0].unsubscribed, ["a@example.com"]);

        // message/send.php is JSON whatever the client's encoding.
        let ids = c
            .send_message(&smaily_client::Message::new(
                1,
                ["a@example.com", "b@example.com"],
            ))
            .await
            .unwrap();
        assert_eq!(ids.len(), 2);
        assert_eq!(
            fake.smaily_requests()
                .pop()
                .unwrap()
                .content_type
                .as_deref(),
            Some("application/json")
        );
        let err = c
            .send_message(&smaily_client::Message::new(42, ["a@example.com"]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(221));
        assert_eq!(fake.sent_messages().len(), 1);

        let users = c.organization_users(0, 250).await.unwrap();
        assert!(users[0].is_owner);
    }
}

#[tokio::test]
async fn wrong_method_gives_201() {
    let fake = FakeSmaily::start().await;
    let http = reqwest::Client::new();
    let body: serde_json::Value = http
        .get(
            format!("{}autoresponder.php", fake.base_url()).replace("autoresponder", "unsubscribe"),
        )
        .basic_auth(FAKE_USER, Some(FAKE_PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({"code": 201, "message": "Data must be posted with POST method."})
    );
}

#[tokio::test]
async fn timeouts_retry_upserts_but_not_triggers() {
    let fake = FakeSmaily::start().await;
    let c = fake
        .client_builder()
        .timeout(Duration::from_millis(150))
        .retry(smaily_client::RetryPolicy::fast(1))
        .build()
        .unwrap();
    fake.set_delay(Some(Duration::from_millis(400)));
    let err = c
        .upsert(&Subscriber::new("slow@example.com"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport(marketing_sync_core::Error::Timeout(_))
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(
        fake.request_count(),
        2,
        "upsert retried once after a timeout"
    );
    fake.clear_requests();
    let err = c
        .trigger_automation(&AutomationTrigger::new([Subscriber::new(
            "slow@example.com",
        )]))
        .await
        .unwrap_err();
    // A trigger that may have run is "outcome unknown" (issue 21), and never repeated.
    assert!(
        matches!(
            &err,
            Error::OutcomeUnknown {
                cause: marketing_sync_core::Error::Timeout(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(
        fake.request_count(),
        1,
        "a trigger that may have run is never repeated"
    );
    fake.set_delay(None);
}

#[tokio::test]
async fn upserts_100k_rows_in_200_requests() {
    let fake = FakeSmaily::start().await;
    fake.record_requests(false);
    let c = fake.client_builder().concurrency(5).build().unwrap();
    let started = Instant::now();
    let rows: Vec<Subscriber> = (0..100_000)
        .map(|i| {
            Subscriber::new(format!("row{i:06}@example.com"))
                .field(FieldName::new("first_name").unwrap(), "Mari")
        })
        .collect();
    let out = c.upsert_many(&rows).await;
    let elapsed = started.elapsed();
    assert!(out.iter().all(|o| o.is_ok()));
    assert_eq!(fake.subscriber_count(), 100_000);
    assert_eq!((c.requests_sent(), fake.request_count()), (200, 200));
    assert!(fake.smaily_requests().is_empty());
    eprintln!("100,000 upserts in 200 requests: {elapsed:?}");
}

#[tokio::test]
async fn forget_chunks_at_10000() {
    let fake = FakeSmaily::start().await;
    fake.seed_subscribers((0..10_001).map(|i| Subscriber::new(format!("f{i}@example.com"))));
    let c = fake.client();
    let emails: Vec<String> = (0..10_001).map(|i| format!("f{i}@example.com")).collect();
    assert!(c.forget(&emails).await.iter().all(|o| o.is_ok()));
    assert_eq!(fake.request_count(), 2);
    assert_eq!(fake.subscriber_count(), 0);
    let sizes: Vec<usize> = fake
        .smaily_requests()
        .iter()
        .map(|r| r.body_json().as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [10_000, 1]);
}

/// The fake limits requests as the service does by default, and its preset client keeps the
/// client's own limiter, so a burst through it is spaced out and earns no 429.
#[tokio::test]
async fn the_preset_client_keeps_its_limiter_against_the_default_limit() {
    let fake = FakeSmaily::start().await;
    let c = fake.client();
    let started = Instant::now();
    let reads = (0..8).map(|i| {
        let c = c.clone();
        async move { c.subscriber(&format!("u{i}@example.com")).await }
    });
    for r in futures::future::join_all(reads).await {
        assert!(r.unwrap().is_none());
    }
    assert_eq!(fake.request_count(), 8, "no request was repeated");
    assert_eq!(fake.rate_limited_count(), 0);
    assert!(fake.busiest_second() <= 5, "{}", fake.busiest_second());
    // Seven gaps of at least a fifth of a second.
    assert!(started.elapsed() >= Duration::from_millis(1_400));
}
