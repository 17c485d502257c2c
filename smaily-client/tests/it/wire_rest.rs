//! Wire tests for segments, campaigns, A/B tests, templates, users, messages and action logs.

use jiff::Timestamp;
use serde_json::json;
use smaily_client::{
    AbSplit, AbTestLaunch, ActionsEncoding, CampaignContent, CampaignLaunch, CampaignQuery,
    CampaignStatus, Client, Credentials, Error, FilterType, LogQuery, LogSelector, Message,
    Operator, RetryPolicy, Rule, SegmentDefinition, Sender, TemplateQuery,
};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A wiremock server that fails on any unexpected request, and a client for it.
pub(crate) async fn setup() -> (MockServer, Client) {
    let s = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(599))
        .with_priority(u8::MAX)
        .expect(0)
        .named("unexpected request")
        .mount(&s)
        .await;
    let c = Client::builder(Credentials::new("user", "s3cret"))
        .subdomain("acme")
        .base_url(format!("{}/api/", s.uri()))
        .allow_http(true)
        .rate_limit(0)
        .retry(RetryPolicy::fast(2))
        .build()
        .unwrap();
    (s, c)
}

/// Smaily's JSON, labelled as HTML.
pub(crate) fn html(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "text/html")
}

/// A received request's query, decoded, in order.
fn query(req: &wiremock::Request) -> Vec<(String, String)> {
    req.url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// One expected query pair.
fn p(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

#[tokio::test]
async fn segments_list_get_and_save() {
    let (s, c) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/list.php"))
        .and(query_param_is_missing("id"))
        .respond_with(html(
            r#"[{"id":1,"name":"All","subscribers_count":"12"},{"id":"2","name":"Unsub"}]"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/list.php"))
        .and(query_param("id", "7"))
        .respond_with(html(r#"{"id":7,"name":"VIP","filter_type":"ANY","filter_data":[["store",["Equal","12"]],["total_opens",["GreaterThan",3]]],"subscribers_count":4}"#))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/list.php"))
        .and(query_param("id", "8"))
        .respond_with(html(
            r#"{"code":208,"message":"Could not find list with ID - 8"}"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/list.php"))
        .and(body_json(
            json!({"name":"VIP","filter_type":"ALL","filter_data":[["store",["Equal","12"]]]}),
        ))
        // Sent twice: a 500 on a create is not retried, then a real create.
        .respond_with(html(r#"{"code":101,"message":"OK","id":"9"}"#))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/list.php"))
        .and(body_json(json!({"id":9,"name":"VIP","filter_type":"ALL","filter_data":[["store",["Equal","12"]]]})))
        .respond_with(html(r#"{"code":217,"message":"Unknown column in filter data - store"}"#))
        .expect(1)
        .mount(&s)
        .await;
    let list = c.segments().await.unwrap();
    assert_eq!(
        (
            list[0].subscribers_count,
            list[1].id,
            list[1].subscribers_count
        ),
        (Some(12), 2, None)
    );
    let seg = c.segment(7).await.unwrap();
    assert_eq!(seg.filter_type, FilterType::Any);
    assert_eq!(
        seg.filter_data[1],
        Rule {
            field: "total_opens".into(),
            operator: Operator::GreaterThan,
            value: "3".into()
        }
    );
    assert_eq!(c.segment(8).await.unwrap_err().code(), Some(208));
    let mut def = SegmentDefinition {
        id: None,
        name: "VIP".into(),
        filter_type: FilterType::All,
        filter_data: vec![Rule {
            field: "store".into(),
            operator: Operator::Equal,
            value: "12".into(),
        }],
    };
    assert_eq!(c.save_segment(&def).await.unwrap(), 9);
    def.id = Some(9);
    let err = c.save_segment(&def).await.unwrap_err();
    assert!(
        matches!(err, Error::Api { code: 217, ref message } if message == "Unknown column in filter data - store")
    );
}

#[tokio::test]
async fn campaigns_list_launch_stats_and_unsubscribe() {
    let (s, c) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/campaign.php"))
        .and(query_param("status[]", "COMPLETED"))
        .and(query_param("tags[]", "news"))
        .and(query_param("sort_by", "created_at"))
        .and(query_param("sort_order", "DESC"))
        .and(query_param("page", "1"))
        .respond_with(html(r#"[
            {"id":"5","name":"May","template":{"id":1,"name":"T","preview_url":"https://p"},"tags":["news"],"created_at":"2024-05-01 10:00:00","completed_at":"2024-05-01 11:00:00","status":"COMPLETED"},
            {"id":6,"name":"Old","template":"DELETED","tags":[],"created_at":"2024-01-01 10:00:00","completed_at":null,"status":"COMPLETED"}]"#))
        .expect(1)
        .mount(&s)
        .await;
    let q = CampaignQuery {
        status: vec![CampaignStatus::Completed],
        tags: vec!["news".into()],
        sort_order: Some("DESC".into()),
        page: Some(1),
        ..Default::default()
    };
    let list = c.campaigns(&q).await.unwrap();
    assert_eq!(list[0].template.as_ref().unwrap().id, 1);
    assert!(list[1].template.is_none());
    assert_eq!(
        list[0].created_at.as_ref().unwrap().offset().seconds(),
        3 * 3600
    );

    Mock::given(method("POST"))
        .and(path("/api/campaign.php"))
        .and(body_json(json!({
            "subject":"Hi","from":"news@example.com","from_name":"News","template_id":3,
            "list":[1,2],"due":"2024-12-24 18:00:00","tags":["xmas"],"save_as_draft":1
        })))
        .respond_with(ResponseTemplate::new(503))
        .expect(1) // not idempotent: a 503 is not retried
        .mount(&s)
        .await;
    let due: jiff::Zoned = "2024-12-24T16:00:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC);
    let launch = CampaignLaunch {
        subject: "Hi".into(),
        from: "news@example.com".into(),
        from_name: Some("News".into()),
        reply_to: None,
        content: CampaignContent::Template(3),
        lists: vec![1, 2],
        due: Some(due),
        tags: vec!["xmas".into()],
        save_as_draft: true,
    };
    assert!(matches!(
        c.launch_campaign(&launch).await,
        Err(Error::Transport(t)) if t.http_status() == Some(503)
    ));

    Mock::given(method("POST"))
        .and(path("/api/campaign.php"))
        .and(body_json(
            json!({"subject":"Hi","from":"news@example.com","html":"https://x/y.html","list":1}),
        ))
        .respond_with(html(
            r#"{"code":209,"message":"Could not load content from remote URL - https://x/y.html"}"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    let launch = CampaignLaunch {
        from_name: None,
        content: CampaignContent::HtmlUrl("https://x/y.html".into()),
        lists: vec![1],
        due: None,
        tags: vec![],
        save_as_draft: false,
        ..launch
    };
    assert_eq!(
        c.launch_campaign(&launch).await.unwrap_err().code(),
        Some(209)
    );

    Mock::given(method("GET"))
        .and(path("/api/campaign.php"))
        .and(query_param("id", "5"))
        .and(query_param("detailed", "1"))
        .and(query_param("offset", "0"))
        .and(query_param("limit", "10000"))
        .respond_with(html(r#"{"total_count":"3","delivered_count":2,"opened_unique_count":1,"addresses":[{"email":"a@x.ee","delivered":1}]}"#))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/campaign.php"))
        .and(query_param("id", "99"))
        .respond_with(html(
            r#"{"code":216,"message":"Could not find campaign matching provided ID"}"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    let stats = c.campaign_stats(5, Some((0, 50_000))).await.unwrap();
    assert_eq!(
        (stats.count("total_count"), stats.count("delivered_count")),
        (Some(3), Some(2))
    );
    assert_eq!(stats.addresses[0]["email"], "a@x.ee");
    assert_eq!(
        c.campaign_stats(99, None).await.unwrap_err().code(),
        Some(216)
    );

    Mock::given(method("POST"))
        .and(path("/api/unsubscribe.php"))
        .and(body_json(json!({"email":"a@x.ee","campaign_id":5})))
        .respond_with(html(r#"{"code":101,"message":"OK"}"#))
        .expect(1)
        .mount(&s)
        .await;
    c.unsubscribe_from_campaign("a@x.ee", 5).await.unwrap();
}

#[tokio::test]
async fn ab_tests_templates_and_users() {
    let (s, c) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/split.php"))
        .and(query_param("offset", "2"))
        .and(query_param("limit", "10"))
        .respond_with(html(r#"[{"id":4,"name":"Subject test","status":"PENDING","tags":[],"created_at":"2024-02-01 08:00:00","size":20}]"#))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/split.php"))
        .and(query_param("id", "4"))
        .and(query_param_is_missing("detailed"))
        .respond_with(html(
            r#"[{"name":"Subject test","template":"DELETED","total_count":10,"click_count":"2","click_percent":20.0,"winner":0}]"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    // smaily.com/help/api/a-b-tests/launch-an-a-b-test: sections, not campaign ids; `list` an
    // id or a list; `size`, `condition`, `win_at` still sent.
    Mock::given(method("POST"))
        .and(path("/api/split.php"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "splits": [
                {"subject": "A", "from": "ab@x.ee", "from_name": "Shop", "template_id": 5,
                 "due": "2030-05-01 10:00:00"},
                {"subject": "B", "from": "ab@x.ee", "html": "https://x/b.html"},
                {"subject": "C", "from": "ab@x.ee", "html_raw": "<p>C</p>"}
            ],
            "list": [1, 3],
            "size": 20,
            "condition": "clicks",
            "win_at": "2030-05-02 12:00:00",
            "save_as_draft": 1
        })))
        .respond_with(html(r#"{"code":101,"message":"OK","id":12}"#))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/templates.php"))
        .and(query_param("limit", "1000"))
        .and(query_param("sort_by", "name"))
        .and(query_param("sort_order", "asc"))
        .respond_with(html(r#"[{"id":1,"type":"wysiwyg","name":"N","created_at":"2024-01-01T10:00:00+02:00","modified_at":"2024-06-01T10:00:00+03:00","preview_url":"https://p"}]"#))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/users.php"))
        .and(query_param("page", "0"))
        .and(query_param("limit", "250"))
        .respond_with(html(r#"[{"id":1,"email":"o@x.ee","first_name":"O","last_name":"W","is_owner":"1","role":{"id":"2","name":"Admin"}}]"#))
        .expect(1)
        .mount(&s)
        .await;
    let q = CampaignQuery {
        limit: Some(10),
        page: Some(2),
        ..Default::default()
    };
    let tests = c.ab_tests(&q).await.unwrap();
    assert_eq!(
        (tests[0].id, tests[0].status.clone()),
        (4, Some(CampaignStatus::Pending))
    );
    assert_eq!(tests[0].extra["size"], 20);
    let stats = c.ab_test_stats(4, None).await.unwrap();
    assert_eq!(stats[0].count("click_count"), Some(2));
    assert_eq!(stats[0].percent("click_percent"), Some(20.0));
    let tallinn = |t: &str| -> jiff::Zoned { format!("{t}[Europe/Tallinn]").parse().unwrap() };
    let mut a = AbSplit::new("A", "ab@x.ee", CampaignContent::Template(5));
    a.from_name = Some("Shop".into());
    a.due = Some(tallinn("2030-05-01T10:00:00+03:00"));
    let mut launch = AbTestLaunch::new(
        [
            a,
            AbSplit::new(
                "B",
                "ab@x.ee",
                CampaignContent::HtmlUrl("https://x/b.html".into()),
            ),
            AbSplit::new("C", "ab@x.ee", CampaignContent::HtmlRaw("<p>C</p>".into())),
        ],
        [1, 3],
        20,
        tallinn("2030-05-02T12:00:00+03:00"),
    );
    launch.save_as_draft = true;
    assert_eq!(c.launch_ab_test(&launch).await.unwrap(), 12);
    // Refused before sending: no sections, a size of 100, a section due after win_at.
    let mut bad = launch.clone();
    bad.splits.clear();
    assert!(matches!(
        c.launch_ab_test(&bad).await,
        Err(Error::InvalidInput { .. })
    ));
    let mut bad = launch.clone();
    bad.size = 100;
    assert!(matches!(
        c.launch_ab_test(&bad).await,
        Err(Error::InvalidInput { .. })
    ));
    let mut bad = launch.clone();
    bad.splits[0].due = Some(tallinn("2030-05-03T00:00:00+03:00"));
    match c.launch_ab_test(&bad).await {
        Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "splits[0].due"),
        other => panic!("{other:?}"),
    }
    let t = c
        .templates(&TemplateQuery {
            limit: Some(5000),
            sort_by: Some("name".into()),
            sort_order: Some("asc".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(t[0].kind, "wysiwyg");
    assert_eq!(
        t[0].modified_at.as_ref().unwrap().timestamp().to_string(),
        "2024-06-01T07:00:00Z"
    );
    let users = c.organization_users(0, 1000).await.unwrap();
    assert!(users[0].is_owner);
    assert_eq!(users[0].role.as_ref().unwrap().name, "Admin");
}

#[tokio::test]
async fn send_message_is_json_only_and_not_retried() {
    let s = MockServer::start().await;
    let c = Client::builder(Credentials::new("user", "s3cret"))
        .subdomain("acme")
        .base_url(format!("{}/api/", s.uri()))
        .allow_http(true)
        .rate_limit(0)
        .retry(RetryPolicy::fast(2))
        .body_encoding(smaily_client::BodyEncoding::Form)
        .build()
        .unwrap();
    let expected = json!({
        "autoresponder_id": 3,
        "to": ["a@x.ee", "b@x.ee"],
        "from": {"email": "shop@x.ee", "name": "Shop"},
        "context": {"order": "1001"},
        "attachments": [{"url": "https://x/i.pdf", "filename": "i.pdf"}]
    });
    Mock::given(method("POST"))
        .and(path("/api/message/send.php"))
        .and(header("content-type", "application/json"))
        .and(body_json(&expected))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/message/send.php"))
        .respond_with(html(
            r#"{"code":101,"message":"OK","message_ids":[11,"12"]}"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    let mut m = Message::new(3, ["a@x.ee", "b@x.ee"])
        .context("order", "1001")
        .from(Sender::new("shop@x.ee", "Shop"));
    m.attachments
        .push(smaily_client::Attachment::url("i.pdf", "https://x/i.pdf"));
    assert!(matches!(
        c.send_message(&m).await,
        Err(Error::Transport(t)) if t.http_status() == Some(500)
    ));
    assert_eq!(c.send_message(&m).await.unwrap(), [11, 12]);
    assert_eq!(c.requests_sent(), 2);
}

#[tokio::test]
async fn action_logs() {
    let (s, c) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/history.php"))
        .and(query_param("since_seq_id", "0"))
        .and(query_param("limit", "10000"))
        .and(query_param("actions[0]", "click"))
        .and(query_param("actions[1]", "optout"))
        .respond_with(html(r#"[{"seq_id":"1","email":"a@x.ee","time":"2024-07-01 12:00:00","campaign_id":5,"campaign_name":"May","action":"click","value":"https://shop"}]"#))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/history.php"))
        .and(query_param("start_at", "1700000000"))
        .and(query_param("end_at", "1700086400"))
        .and(query_param("actions[]", "view"))
        .and(query_param("offset", "1"))
        .respond_with(html(
            r#"{"code":224,"message":"End date cannot be before start"}"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/message/action/log.php"))
        .and(query_param("message_id", "11"))
        .respond_with(html(r#"[{"seq_id":18446744073709551615,"message_id":11,"email":"a@x.ee","campaign_id":1,"section_id":2,"action":"view","value":{"ip":"1.2.3.4"},"created_at":"2024-07-01T09:00:00+00:00"}]"#))
        .expect(1)
        .mount(&s)
        .await;
    let mut q = LogQuery::since(0, 50_000);
    q.actions = vec!["click".into(), "optout".into()];
    let rows = c.subscriber_history(&q).await.unwrap();
    assert_eq!(rows[0].seq_id, Some(1));
    assert_eq!(
        rows[0].time.as_ref().unwrap().timestamp().to_string(),
        "2024-07-01T09:00:00Z"
    );
    let start = Timestamp::from_second(1_700_000_000).unwrap();
    let end = Timestamp::from_second(1_700_086_400).unwrap();
    let mut q = LogQuery::range(start, end);
    q.actions = vec!["view".into()];
    q.actions_encoding = ActionsEncoding::Brackets;
    q.page = Some(1);
    assert_eq!(
        c.subscriber_history(&q).await.unwrap_err().code(),
        Some(224)
    );
    assert!(matches!(
        c.subscriber_history(&LogQuery::range(end, start)).await,
        Err(Error::InvalidInput { .. })
    ));
    let mut q = LogQuery::range(start, end);
    q.selector = LogSelector::MessageId(11);
    assert!(matches!(
        c.subscriber_history(&q).await,
        Err(Error::InvalidInput { .. })
    ));
    let actions = c.message_log(&q).await.unwrap();
    assert_eq!(actions[0].seq_id, u64::MAX, "seq_id is a full u64");
    assert_eq!(actions[0].value["ip"], "1.2.3.4");
    assert_eq!(
        actions[0]
            .created_at
            .as_ref()
            .unwrap()
            .timestamp()
            .to_string(),
        "2024-07-01T09:00:00Z"
    );
}

/// `history.php` `actions`: the official WordPress plugin
/// (sendsmaily/smaily-wordpress-plugin `includes/Smaily/Client.php` `get_action_log`) sends
/// the list through PHP's `http_build_query`, `actions[0]=…&actions[1]=…`: the default. The
/// other known forms stay settings.
#[tokio::test]
async fn history_actions_are_sent_php_indexed_by_default() {
    let (s, c) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/history.php"))
        .respond_with(html("[]"))
        .expect(3)
        .mount(&s)
        .await;
    let mut q = LogQuery::since(7, 100);
    q.actions = vec!["optin".into(), "optout".into()];
    c.subscriber_history(&q).await.unwrap();
    q.actions_encoding = ActionsEncoding::Comma;
    c.subscriber_history(&q).await.unwrap();
    q.actions_encoding = ActionsEncoding::Brackets;
    c.subscriber_history(&q).await.unwrap();
    let got = s.received_requests().await.unwrap();
    let pairs = |i: usize| query(&got[i]);
    assert_eq!(
        pairs(0),
        [
            p("since_seq_id", "7"),
            p("limit", "100"),
            p("actions[0]", "optin"),
            p("actions[1]", "optout")
        ]
    );
    assert_eq!(pairs(1)[2..], [p("actions", "optin,optout")]);
    assert_eq!(
        pairs(2)[2..],
        [p("actions[]", "optin"), p("actions[]", "optout")]
    );
}

/// smaily.com/help/api/messages/message-action-log documents no `actions` parameter (and
/// smaily.com/help/api/subscribers-2/subscriber-action-log lists the ten actions there are):
/// both are refused before anything is sent, naming the field.
#[tokio::test]
async fn log_queries_refuse_actions_the_logs_do_not_document() {
    let (s, c) = setup().await;
    let mut q = LogQuery::since(0, 10);
    q.actions = vec!["click".into()];
    match c.message_log(&q).await {
        Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "actions"),
        other => panic!("{other:?}"),
    }
    q.actions = vec!["click".into(), "purchase".into()];
    match c.subscriber_history(&q).await {
        Err(Error::InvalidInput { field, reason }) => {
            assert_eq!(field, "actions[1]");
            assert!(reason.contains("purchase"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(s.received_requests().await.unwrap().is_empty());
}

/// smaily.com/help/api/a-b-tests/a-b-test-statistics: "Response is a JSON list of JSON
/// objects", one per section (name, from, reply_to, template — "DELETED" for a deleted one —,
/// counts, percentages, winner); `detailed`, `offset` (a page index), `limit` (≤ 10,000) are
/// applied only with `detailed=1`.
#[tokio::test]
async fn ab_test_stats_decode_the_documented_list_of_sections() {
    let (s, c) = setup().await;
    let body = crate::wire::fixture("ab_test_stats.json");
    Mock::given(method("GET"))
        .and(path("/api/split.php"))
        .respond_with(html(&body))
        .expect(2)
        .mount(&s)
        .await;
    let sections = c.ab_test_stats(7, None).await.unwrap();
    assert!(sections.is_complete());
    assert_eq!(sections.len(), 2);
    let (a, b) = (&sections[0], &sections[1]);
    assert_eq!(a.name, "Spring sale");
    assert_eq!(a.from.as_ref().unwrap().email, "news@domain.tld");
    assert_eq!(a.from.as_ref().unwrap().name, "Shop");
    assert_eq!(a.reply_to.as_deref(), Some("help@domain.tld"));
    assert_eq!(a.template.as_ref().unwrap().id, 12);
    assert!(!a.template_deleted);
    assert_eq!(a.count("delivered_count"), Some(98));
    assert_eq!(a.percent("click_percent"), Some(20.41));
    assert_eq!(
        a.percent("opened_percent"),
        Some(56.12),
        "a number sent as a string"
    );
    assert_eq!(a.winner, Some(true));
    assert!(a.addresses.is_empty());
    assert_eq!(b.template, None);
    assert!(b.template_deleted);
    assert_eq!(b.count("total_count"), Some(100));
    assert_eq!(b.reply_to, None);
    assert_eq!(b.winner, Some(false));

    c.ab_test_stats(7, Some((2, 50_000))).await.unwrap();
    let got = s.received_requests().await.unwrap();
    let pairs = |i: usize| query(&got[i]);
    assert_eq!(pairs(0), [p("id", "7")]);
    assert_eq!(
        pairs(1),
        [
            p("id", "7"),
            p("detailed", "1"),
            p("offset", "2"),
            p("limit", "10000")
        ]
    );
}
