//! The fake against the reference, with requests built by hand from the documentation (not
//! through the client): each test names the page its requests and answers come from.
#![cfg(feature = "fake")]

use serde_json::{Value, json};
use smaily_client::fake::{FAKE_PASSWORD, FAKE_USER, FakeSmaily};

/// A raw request to the fake with the fake's credentials.
struct Raw {
    http: reqwest::Client,
    base: String,
}

impl Raw {
    fn new(fake: &FakeSmaily) -> Self {
        Raw {
            http: reqwest::Client::new(),
            base: fake.base_url(),
        }
    }

    async fn get(&self, script_and_query: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{script_and_query}", self.base))
            .basic_auth(FAKE_USER, Some(FAKE_PASSWORD))
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    async fn post(&self, script: &str, content_type: Option<&str>, body: &str) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{script}", self.base))
            .basic_auth(FAKE_USER, Some(FAKE_PASSWORD))
            .body(body.to_string());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        answer(req.send().await.unwrap()).await
    }

    async fn json(&self, script: &str, body: Value) -> (u16, Value) {
        self.post(script, Some("application/json"), &body.to_string())
            .await
    }
}

async fn answer(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn code(v: &Value) -> i64 {
    v["code"].as_i64().unwrap_or(-1)
}

/// smaily.com/help/api/general/common-principles: JSON needs `Content-Type:
/// application/json`; form bodies are `application/x-www-form-urlencoded`.
#[tokio::test]
async fn the_body_is_read_as_its_content_type_says() {
    let fake = FakeSmaily::start().await;
    let raw = Raw::new(&fake);
    // The documented form body (help.smaily.com …/16000021255-update-subscriber-data).
    let (_, a) = raw
        .post(
            "contact.php",
            Some("application/x-www-form-urlencoded"),
            "email=support%40smaily.com&is_unsubscribed=1",
        )
        .await;
    assert_eq!(code(&a), 101);
    assert!(
        fake.subscriber("support@smaily.com")
            .unwrap()
            .is_unsubscribed
    );
    // JSON sent without its content type is not JSON to the service: nothing usable arrives.
    let (_, a) = raw
        .post("contact.php", None, r#"{"email":"nojson@example.com"}"#)
        .await;
    assert_ne!(code(&a), 101, "{a}");
    let (_, a) = raw
        .post(
            "contact.php",
            Some("application/x-www-form-urlencoded"),
            r#"{"email":"nojson@example.com"}"#,
        )
        .await;
    assert_ne!(code(&a), 101, "{a}");
    assert!(fake.subscriber("nojson@example.com").is_none());
    // The documented JSON example (smaily.com/help/api/subscribers-2/create-and-update-subscribers).
    let (_, a) = raw
        .json(
            "contact.php",
            json!({"email": "subscriber@domain.tld", "foo": "bar"}),
        )
        .await;
    assert_eq!(code(&a), 101);
    assert_eq!(
        fake.subscriber("subscriber@domain.tld").unwrap().fields["foo"],
        "bar"
    );
}

/// smaily.com/help/api/campaigns-3/launch-a-campaign, /list-campaigns,
/// /api-campaign-statistics, /unsubscribe-a-recipient.
#[tokio::test]
async fn campaigns_launch_list_stats_and_unsubscribe() {
    let fake = FakeSmaily::start().await;
    // About other rules than the rate limit (its own test is below): many requests at once.
    fake.enforce_rate_limit(None);
    let raw = Raw::new(&fake);
    for i in 0..3 {
        raw.json("contact.php", json!({"email": format!("r{i}@example.com")}))
            .await;
    }
    // Required: subject, from, list, one of template_id / html / html_raw.
    let (_, a) = raw
        .json(
            "campaign.php",
            json!({"from": "offers@domain.tld", "html_raw": "<p>Hi</p>", "list": 1}),
        )
        .await;
    assert_eq!(code(&a), 207, "{a}");
    let (_, a) = raw
        .json(
            "campaign.php",
            json!({"subject": "Offers", "from": "offers@domain.tld", "list": 1}),
        )
        .await;
    assert_eq!(code(&a), 207, "no content: {a}");
    let (_, a) = raw
        .json(
            "campaign.php",
            json!({"subject": "Offers", "from": "offers@domain.tld", "html_raw": "<p>Hi</p>", "list": [1, 99]}),
        )
        .await;
    assert_eq!(code(&a), 208, "{a}");
    let (_, a) = raw
        .json(
            "campaign.php",
            json!({"subject": "Offers", "from": "offers@domain.tld", "html_raw": "<p>Hi</p>",
                   "list": 1, "due": "next week"}),
        )
        .await;
    assert_eq!(code(&a), 210, "{a}");
    let (_, a) = raw
        .json(
            "campaign.php",
            json!({"subject": "Offers of the week", "from": "offers@domain.tld",
                   "html_raw": "<p>Hi</p>", "list": [1], "tags": ["offers"]}),
        )
        .await;
    assert_eq!(code(&a), 101, "{a}");
    let id = a["id"].as_u64().unwrap();
    // The same launch as a form body (PHP http_build_query).
    let (_, draft) = raw
        .post(
            "campaign.php",
            Some("application/x-www-form-urlencoded"),
            "subject=Draft&from=offers%40domain.tld&template_id=5&list=1&save_as_draft=1",
        )
        .await;
    assert_eq!(code(&draft), 101, "{draft}");

    let (_, list) = raw
        .get("campaign.php?status[]=PENDING&sort_order=DESC")
        .await;
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["id"].as_u64(), Some(id));
    assert_eq!(rows[0]["name"], "Offers of the week");
    assert_eq!(rows[0]["tags"], json!(["offers"]));
    assert_eq!(rows[0]["status"], "PENDING");
    let (_, drafts) = raw.get("campaign.php?status[]=DRAFT").await;
    assert_eq!(drafts[0]["template"]["id"], 5);

    let (_, stats) = raw.get(&format!("campaign.php?id={id}")).await;
    assert_eq!(stats["total_count"].as_u64(), Some(3), "{stats}");
    let (_, miss) = raw.get("campaign.php?id=424242").await;
    assert_eq!(code(&miss), 216);
    let (_, bad) = raw.get("campaign.php?id=abc").await;
    assert_eq!(code(&bad), 215);

    // unsubscribe.php: both fields required; an unknown campaign is refused.
    let (_, a) = raw
        .json(
            "unsubscribe.php",
            json!({"email": "r1@example.com", "campaign_id": 424242}),
        )
        .await;
    assert_eq!(code(&a), 216, "{a}");
    assert!(!fake.subscriber("r1@example.com").unwrap().is_unsubscribed);
    let (_, a) = raw
        .json(
            "unsubscribe.php",
            json!({"email": "r1@example.com", "campaign_id": id}),
        )
        .await;
    assert_eq!(code(&a), 101, "{a}");
    assert!(fake.subscriber("r1@example.com").unwrap().is_unsubscribed);
    let (_, stats) = raw.get(&format!("campaign.php?id={id}")).await;
    assert_eq!(stats["unsubscribe_count"].as_u64(), Some(1), "{stats}");
}

/// smaily.com/help/api/a-b-tests/launch-an-a-b-test and /list-a-b-tests.
#[tokio::test]
async fn ab_tests_take_sections_and_the_deprecated_required_fields() {
    let fake = FakeSmaily::start().await;
    // About other rules than the rate limit (its own test is below): many requests at once.
    fake.enforce_rate_limit(None);
    let raw = Raw::new(&fake);
    let split = |subject: &str| json!({"subject": subject, "from": "ab@domain.tld", "html_raw": "<p>x</p>"});
    let valid = json!({
        "splits": [split("A"), split("B")],
        "list": 1,
        "size": 20,
        "condition": "openrate",
        "win_at": "2099-01-01 12:00:00",
    });
    let mut no_size = valid.clone();
    no_size.as_object_mut().unwrap().remove("size");
    assert_eq!(code(&raw.json("split.php", no_size).await.1), 207);
    let mut no_win = valid.clone();
    no_win.as_object_mut().unwrap().remove("win_at");
    assert_eq!(code(&raw.json("split.php", no_win).await.1), 213);
    let mut past = valid.clone();
    past["win_at"] = json!("2000-01-01 00:00:00");
    assert_eq!(code(&raw.json("split.php", past).await.1), 213);
    let mut condition = valid.clone();
    condition["condition"] = json!("revenue");
    assert_eq!(code(&raw.json("split.php", condition).await.1), 214);
    let mut late = valid.clone();
    late["splits"][0]["due"] = json!("2099-02-01 00:00:00");
    assert_eq!(code(&raw.json("split.php", late).await.1), 210);
    // Campaign ids are not sections.
    let mut ids = valid.clone();
    ids["splits"] = json!([41, 42]);
    assert_ne!(code(&raw.json("split.php", ids).await.1), 101);
    let (_, a) = raw.json("split.php", valid.clone()).await;
    assert_eq!(code(&a), 101, "{a}");
    let id = a["id"].as_u64().unwrap();

    let (_, list) = raw.get("split.php").await;
    assert_eq!(list[0]["id"].as_u64(), Some(id), "{list}");
    assert_eq!(list[0]["status"], "PENDING");
    let subjects: Vec<&str> = list[0]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["A", "B"]);
    // smaily.com/help/api/a-b-tests/a-b-test-statistics: "Response is a JSON list of JSON
    // objects", one per section.
    let (_, stats) = raw.get(&format!("split.php?id={id}")).await;
    let sections = stats.as_array().expect("a list");
    assert_eq!(sections.len(), 2, "{stats}");
    for (section, subject) in sections.iter().zip(["A", "B"]) {
        assert_eq!(section["name"], subject, "{stats}");
        assert_eq!(section["from"]["email"], "ab@domain.tld", "{stats}");
        for key in [
            "total_count",
            "delivered_count",
            "bounce_count",
            "click_count",
            "unique_click_count",
            "click_percent",
            "view_count",
            "unique_view_count",
            "view_percent",
            "opened_count",
            "opened_percent",
            "unsubscribe_count",
        ] {
            assert!(section[key].is_number(), "{key}: {stats}");
        }
        assert!(section.get("winner").is_some(), "{stats}");
        assert!(section.get("addresses").is_none(), "only with detailed=1");
    }
    // A template that is gone reads "DELETED".
    let mut gone = valid.clone();
    gone["splits"][0]["template_id"] = json!(424242);
    gone["splits"][0]
        .as_object_mut()
        .unwrap()
        .remove("html_raw");
    let (_, a) = raw.json("split.php", gone).await;
    let (_, gone_stats) = raw.get(&format!("split.php?id={}", a["id"])).await;
    assert_eq!(gone_stats[0]["template"], "DELETED", "{gone_stats}");
    // Per-address rows with detailed=1, paged by offset (a page index) and limit.
    let (_, detailed) = raw
        .get(&format!("split.php?id={id}&detailed=1&offset=0&limit=10"))
        .await;
    assert!(detailed[0]["addresses"].is_array(), "{detailed}");
    assert_eq!(code(&raw.get("split.php?id=999").await.1), 216);
}

/// smaily.com/help/api/templates-2/list-templates and
/// /organizations/list-users-of-an-organization.
#[tokio::test]
async fn templates_and_users_are_listed() {
    let fake = FakeSmaily::start().await;
    let raw = Raw::new(&fake);
    let (status, templates) = raw
        .get("templates.php?limit=10&sort_by=name&sort_order=asc")
        .await;
    assert_eq!(status, 200);
    let first = &templates.as_array().unwrap()[0];
    for key in [
        "id",
        "type",
        "name",
        "created_at",
        "modified_at",
        "preview_url",
    ] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    assert!(
        first["created_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_ok(),
        "templates carry RFC 3339 times: {first}"
    );
    let (_, users) = raw.get("organizations/users.php?page=0&limit=250").await;
    assert_eq!(users[0]["role"]["name"], "Owner");
}

/// smaily.com/help/api/segments/create-or-update-a-segment, /list-segment-rules and
/// /list-subscribers-of-a-segment: segments beyond 1 and 2, with their rules applied.
#[tokio::test]
async fn segments_can_be_created_and_select_by_their_rules() {
    let fake = FakeSmaily::start().await;
    // About other rules than the rate limit (its own test is below): many requests at once.
    fake.enforce_rate_limit(None);
    let raw = Raw::new(&fake);
    raw.json(
        "contact.php",
        json!([{"email": "t1@example.com", "city": "Tallinn"},
               {"email": "t2@example.com", "city": "Tartu"},
               {"email": "t3@example.com", "city": "Tallinn", "is_unsubscribed": 1}]),
    )
    .await;
    let (_, a) = raw
        .json(
            "list.php",
            json!({"name": "Tallinn", "filter_type": "ALL",
                   "filter_data": [["city", ["Equal", "Tallinn"]], ["is_unsubscribed", ["Equal", "0"]]]}),
        )
        .await;
    assert_eq!(code(&a), 101, "{a}");
    let id = a["id"].as_u64().unwrap();
    assert!(id > 2);
    let (_, rows) = raw.get(&format!("contact.php?list={id}")).await;
    let emails: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["t1@example.com"]);
    let (_, seg) = raw.get(&format!("list.php?id={id}")).await;
    assert_eq!(seg["filter_type"], "ALL");
    assert_eq!(seg["filter_data"][0], json!(["city", ["Equal", "Tallinn"]]));
    assert_eq!(seg["subscribers_count"].as_u64(), Some(1));

    let (_, a) = raw
        .json(
            "list.php",
            json!({"name": "X", "filter_type": "ALL", "filter_data": [["city", ["Near", "x"]]]}),
        )
        .await;
    assert_eq!(code(&a), 218, "{a}");
    let (_, a) = raw
        .json(
            "list.php",
            json!({"name": "X", "filter_type": "ALL", "filter_data": [["no_such_field", ["Equal", "x"]]]}),
        )
        .await;
    assert_eq!(code(&a), 217, "{a}");
    let (_, a) = raw
        .json("list.php", json!({"filter_type": "ALL", "filter_data": []}))
        .await;
    assert_eq!(code(&a), 207, "{a}");
}

/// smaily.com/help/api/subscribers-2/subscriber-action-log: `since_seq_id` (with `limit`) or
/// `start_at` + `end_at`; 223 without either, 224 for an end before the start.
#[tokio::test]
async fn the_subscriber_action_log_records_what_happened() {
    let fake = FakeSmaily::start().await;
    // About other rules than the rate limit (its own test is below): many requests at once.
    fake.enforce_rate_limit(None);
    let raw = Raw::new(&fake);
    raw.json("contact.php", json!({"email": "h@example.com"}))
        .await;
    raw.json(
        "contact.php",
        json!({"email": "h@example.com", "city": "Tartu"}),
    )
    .await;
    raw.json(
        "contact.php",
        json!({"email": "h@example.com", "is_unsubscribed": 1}),
    )
    .await;
    assert_eq!(code(&raw.get("history.php").await.1), 223);
    let now = jiff::Timestamp::now().as_second();
    assert_eq!(
        code(
            &raw.get(&format!("history.php?start_at={now}&end_at={}", now - 60))
                .await
                .1
        ),
        224
    );
    let (_, rows) = raw.get("history.php?since_seq_id=0&limit=100").await;
    let actions: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "modify", "optout"], "{rows}");
    assert!(rows[0]["seq_id"].is_number());
    let (_, optouts) = raw
        .get(&format!(
            "history.php?start_at={}&end_at={}&actions=optout,click",
            now - 60,
            now + 60
        ))
        .await;
    let optouts = optouts.as_array().unwrap();
    assert_eq!(optouts.len(), 1);
    // The official WordPress plugin's form (`http_build_query`: `actions[0]=…`), and the
    // older unofficial docs' empty brackets.
    for form in [
        "actions%5B0%5D=optout&actions%5B1%5D=click",
        "actions%5B%5D=optout",
    ] {
        let (_, rows) = raw
            .get(&format!(
                "history.php?start_at={}&end_at={}&{form}",
                now - 60,
                now + 60
            ))
            .await;
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 1, "{form}");
        assert_eq!(rows[0]["action"], "optout", "{form}");
    }
    assert!(optouts[0].get("seq_id").is_none(), "no seq_id in a window");
    assert_eq!(optouts[0]["email"], "h@example.com");
}

/// smaily.com/help/api/messages/send-message and /message-action-log.
#[tokio::test]
async fn sent_messages_appear_in_the_message_log() {
    let fake = FakeSmaily::start().await;
    let raw = Raw::new(&fake);
    // `from` needs both email and name.
    let (_, a) = raw
        .json(
            "message/send.php",
            json!({"autoresponder_id": 1, "to": ["m@example.com"], "from": {"email": "shop@domain.tld"}}),
        )
        .await;
    assert_eq!(code(&a), 207, "{a}");
    // Attachments take content or url, not both.
    let (_, a) = raw
        .json(
            "message/send.php",
            json!({"autoresponder_id": 1, "to": ["m@example.com"],
                   "attachments": [{"content": "dGVzdA==", "url": "https://x/y", "filename": "f"}]}),
        )
        .await;
    assert_eq!(code(&a), 203, "{a}");
    let (_, a) = raw
        .json(
            "message/send.php",
            json!({"autoresponder_id": 1, "to": ["m@example.com"],
                   "from": {"email": "shop@domain.tld", "name": "Shop"}, "context": {"name": "John"}}),
        )
        .await;
    assert_eq!(code(&a), 101, "{a}");
    let id = a["message_ids"][0].as_u64().unwrap();
    assert_eq!(code(&raw.get("message/action/log.php").await.1), 223);
    let (_, rows) = raw
        .get(&format!("message/action/log.php?message_id={id}"))
        .await;
    assert_eq!(rows[0]["message_id"].as_u64(), Some(id), "{rows}");
    assert_eq!(rows[0]["action"], "send");
    assert!(
        rows[0]["created_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_ok()
    );
}

/// smaily.com/help/api/segments/list-subscribers-of-a-segment ("0 returns records from 0 to
/// 25 000, 1 … from 25 001 to 50 000") against the official plugins' `limit=2500&offset=n`
/// loop (sendsmaily/smaily-opencart-module `customer_sync.php`): both readings, one setting.
#[tokio::test]
async fn page_indexes_follow_the_paging_setting() {
    let fake = FakeSmaily::start().await;
    let raw = Raw::new(&fake);
    fake.seed_subscribers(
        (0..5).map(|i| smaily_client::Subscriber::new(format!("p{i}@example.com"))),
    );
    let emails = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["email"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, page) = raw.get("contact.php?list=1&limit=2&offset=1").await;
    assert!(emails(page).is_empty(), "page 1 starts at row 25,000");
    let (_, page) = raw.get("contact.php?list=1&limit=2&offset=0").await;
    assert_eq!(emails(page), ["p0@example.com", "p1@example.com"]);
    fake.set_paging(smaily_client::fake::Paging::FollowsLimit);
    let (_, page) = raw.get("contact.php?list=1&limit=2&offset=1").await;
    assert_eq!(emails(page), ["p2@example.com", "p3@example.com"]);
    // `fields` keeps `email` and the named fields only.
    let (_, page) = raw
        .get("contact.php?list=1&fields=is_unsubscribed,nope")
        .await;
    assert_eq!(
        page[0],
        json!({"email": "p0@example.com", "is_unsubscribed": "0"})
    );
}

/// smaily.com/help/api/subscribers-2/subscriber-action-log: `since_seq_id` needs `limit`, and
/// `offset` may not come with it.
#[tokio::test]
async fn since_seq_id_needs_a_limit_and_no_offset() {
    let fake = FakeSmaily::start().await;
    let raw = Raw::new(&fake);
    let (_, a) = raw.get("history.php?since_seq_id=0").await;
    assert_eq!(code(&a), 207, "{a}");
    let (_, a) = raw
        .get("history.php?since_seq_id=0&limit=10&offset=1")
        .await;
    assert_ne!(code(&a), -1, "a status, not rows: {a}");
    let (_, a) = raw.get("history.php?since_seq_id=0&limit=10").await;
    assert_eq!(a, json!([]));
}

/// smaily.com/help/api/subscribers-2/forget-subscribers: "Request body must contain a JSON
/// list of email addresses" (its example sends `Content-Type: application/json`). A form
/// body is not that list: refused (203, "Invalid data submitted"), nobody is forgotten.
#[tokio::test]
async fn forget_takes_only_a_json_list() {
    let fake = FakeSmaily::start().await;
    let raw = Raw::new(&fake);
    for e in ["recipient+1@domain.tld", "recipient+2@domain.tld"] {
        raw.json("contact.php", json!({"email": e})).await;
    }
    let (_, a) = raw
        .post(
            "contact/forget.php",
            Some("application/x-www-form-urlencoded"),
            "0=recipient%2B1%40domain.tld&1=recipient%2B2%40domain.tld",
        )
        .await;
    assert_eq!(code(&a), 203, "{a}");
    let (_, a) = raw
        .post(
            "contact/forget.php",
            Some("application/json"),
            r#"{"email":"recipient+1@domain.tld"}"#,
        )
        .await;
    assert_eq!(code(&a), 203, "an object is not a list: {a}");
    assert_eq!(fake.subscriber_count(), 2);
    // The page's example.
    let (_, a) = raw
        .json(
            "contact/forget.php",
            json!(["recipient+1@domain.tld", "recipient+2@domain.tld"]),
        )
        .await;
    assert_eq!(code(&a), 101, "{a}");
    assert_eq!(fake.subscriber_count(), 0);
}

/// smaily.com/help/api/general/common-principles: "5 requests per second per IP", then HTTP
/// 429 and the request is not processed. The fake does that from the start, as the service
/// does; `enforce_rate_limit(None)` turns it off.
#[tokio::test]
async fn the_rate_limit_is_on_by_default() {
    let fake = FakeSmaily::start().await;
    let raw = Raw::new(&fake);
    let burst =
        (0..8).map(|i| raw.json("contact.php", json!({"email": format!("r{i}@domain.tld")})));
    let answers = futures::future::join_all(burst).await;
    let limited = answers.iter().filter(|(status, _)| *status == 429).count();
    assert_eq!(limited, 3, "{answers:?}");
    assert_eq!(
        fake.subscriber_count(),
        5,
        "refused requests are not processed"
    );
    assert_eq!(fake.rate_limited_count(), 3);
    fake.enforce_rate_limit(None);
    let burst = (0..8).map(|_| raw.get("contact.php?email=r0%40domain.tld"));
    assert!(
        futures::future::join_all(burst)
            .await
            .iter()
            .all(|(status, _)| *status == 200)
    );
}

/// smaily.com/help/api/subscribers-2/get-a-subscriber lists the system fields Smaily keeps
/// for a subscriber (`created_at`, `subscribed_at`, `modified_at`, `unsubscribed_at`,
/// `last_response_code`, `last_response_at`, `last_open_at`, `total_opens`, `last_click_at`,
/// `total_clicks`); /create-and-update-subscribers lets a request set `email`,
/// `is_unsubscribed`, `is_deleted` and custom fields only. A system field sent as a custom
/// field is refused (203, the code for invalid parameters): the row is not saved, the other
/// rows of a batch are.
#[tokio::test]
async fn read_only_system_fields_are_refused_as_custom_fields() {
    let fake = FakeSmaily::start().await;
    fake.enforce_rate_limit(None);
    let raw = Raw::new(&fake);
    for key in [
        "created_at",
        "subscribed_at",
        "modified_at",
        "unsubscribed_at",
        "last_response_code",
        "last_response_at",
        "last_open_at",
        "total_opens",
        "last_click_at",
        "total_clicks",
    ] {
        let (_, a) = raw
            .json("contact.php", json!({"email": "ro@domain.tld", key: "1"}))
            .await;
        assert_eq!(code(&a), 203, "{key}: {a}");
        assert!(fake.subscriber("ro@domain.tld").is_none(), "{key}");
    }
    let (_, a) = raw
        .post(
            "contact.php",
            Some("application/x-www-form-urlencoded"),
            "0%5Bemail%5D=ok%40domain.tld&1%5Bemail%5D=ro%40domain.tld&1%5Btotal_opens%5D=9",
        )
        .await;
    assert_eq!(code(&a), 203, "{a}");
    assert!(fake.subscriber("ok@domain.tld").is_some());
    assert!(fake.subscriber("ro@domain.tld").is_none());
    let (_, a) = raw
        .json(
            "autoresponder.php",
            json!({"autoresponder": 1, "addresses": [{"email": "ro@domain.tld", "created_at": "2020-01-01 00:00:00"}]}),
        )
        .await;
    assert_eq!(code(&a), 203, "{a}");
    assert!(fake.triggers().is_empty());
}
