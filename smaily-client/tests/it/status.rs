//! Status answers versus data, HTTP 403, and lenient list decoding, against wiremock.

use serde_json::json;
use smaily_client::Error;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use super::wire_rest::{html, setup};

/// A Directo customer code stored as the custom field `code` (and a `message` field) is data:
/// the answer has `email` and the other subscriber keys, so it is not the `{code, message}`
/// status shape (smaily.com/help/api/general/response-codes; GET contact.php answers a bare
/// subscriber object, smaily.com/help/api/subscribers-2/get-a-subscriber).
#[tokio::test]
async fn a_subscriber_with_code_and_message_fields_is_a_subscriber() {
    let (s, c) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/contact.php"))
        .and(query_param("email", "mari@example.com"))
        .respond_with(html(
            r#"{"email":"mari@example.com","is_unsubscribed":"0","code":"206","message":"Could not find requested email address","created_at":"2024-01-02 10:00:00"}"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    let mari = c.subscriber("mari@example.com").await.unwrap().unwrap();
    assert_eq!(mari.fields["code"], "206");
    assert_eq!(
        mari.fields["message"],
        "Could not find requested email address"
    );

    // The same for a segment page: rows are data whatever their keys.
    Mock::given(method("GET"))
        .and(path("/api/contact.php"))
        .and(query_param("list", "1"))
        .respond_with(html(r#"[{"email":"a@example.com","code":"101"}]"#))
        .expect(1)
        .mount(&s)
        .await;
    let page = c
        .segment_page(1, 0, &smaily_client::SegmentQuery::default())
        .await
        .unwrap();
    assert_eq!(page[0].fields["code"], "101");
}

/// The documented status shape on a read is the read's failure (a miss is `Ok(None)`).
#[tokio::test]
async fn the_status_shape_on_a_read_is_a_status() {
    let (s, c) = setup().await;
    for (email, body) in [
        (
            "miss@example.com",
            r#"{"code":206,"message":"Could not find requested email address"}"#,
        ),
        ("miss2@example.com", r#"{"code":"206"}"#),
    ] {
        Mock::given(method("GET"))
            .and(path("/api/contact.php"))
            .and(query_param("email", email))
            .respond_with(html(body))
            .expect(1)
            .mount(&s)
            .await;
        assert!(c.subscriber(email).await.unwrap().is_none(), "{body}");
    }
    Mock::given(method("GET"))
        .and(path("/api/contact.php"))
        .and(query_param("email", "bad@example.com"))
        .respond_with(html(r#"{"code":203,"message":"Invalid data submitted"}"#))
        .expect(1)
        .mount(&s)
        .await;
    let err = c.subscriber("bad@example.com").await.unwrap_err();
    assert!(matches!(err, Error::Api { code: 203, .. }), "{err:?}");
}

/// HTTP 403 without code 227 is a refusal of the credentials: the official Smaily Connect
/// Magento client (`Model/Client/SmailyClient.php`: 401/403 → AuthenticationException) and the
/// WordPress plugin (`includes/Smaily/RefusalReason.php`: 227 → plan block, other 4xx bar 429 →
/// credentials rejected) both treat it so.
#[tokio::test]
async fn http_403_without_227_is_unauthorized() {
    let (s, c) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/contact.php"))
        .respond_with(ResponseTemplate::new(403).set_body_string("Forbidden"))
        .expect(1)
        .mount(&s)
        .await;
    let err = c.subscriber("a@example.com").await.unwrap_err();
    assert!(
        matches!(&err, Error::Unauthorized { status: 403, body } if body == "Forbidden"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("403"), "{err}");
}

/// Lists decode leniently: `null` tags, sections and names, an unknown campaign status, a
/// user without a role (smaily.com/help/api/campaigns-3/list-campaigns,
/// /organizations/list-users-of-an-organization, /automations-2/list-automation-workflows).
#[tokio::test]
async fn odd_rows_never_fail_a_list() {
    let (s, c) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/campaign.php"))
        .respond_with(html(r#"[
            {"id":1,"name":null,"template":null,"tags":null,"created_at":"2024-05-01 10:00:00","completed_at":null,"status":"COMPLETED"},
            {"id":2,"name":"Sending","template":"DELETED","tags":["a"],"created_at":null,"completed_at":null,"status":"SENDING"}]"#))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/autoresponder.php"))
        .respond_with(html(
            r#"[{"id":3,"name":null,"status":"ACTIVE","tags":null,"sections":null},
                {"id":4,"name":"W","status":"ACTIVE","tags":[],"sections":[{"id":7,"name":null,"template":null}]}]"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/organizations/users.php"))
        .respond_with(html(
            r#"[{"id":1,"email":"o@x.ee","first_name":null,"last_name":null,"is_owner":"1"},
                {"id":2,"email":"m@x.ee","is_owner":0,"role":null},
                {"id":3,"email":"a@x.ee","is_owner":0,"role":{"id":2,"name":null}}]"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/templates.php"))
        .respond_with(html(
            r#"[{"id":1,"type":null,"name":null,"created_at":null,"modified_at":null,"preview_url":null}]"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/list.php"))
        .respond_with(html(r#"[{"id":1,"name":null,"subscribers_count":null}]"#))
        .expect(1)
        .mount(&s)
        .await;
    let campaigns = c.campaigns(&Default::default()).await.unwrap();
    assert_eq!(campaigns.len(), 2);
    assert_eq!(campaigns[0].name, "");
    assert!(campaigns[0].tags.is_empty());
    assert_eq!(
        format!("{:?}", campaigns[1].status),
        format!(
            "{:?}",
            smaily_client::CampaignStatus::Other("SENDING".into())
        )
    );
    let flows = c.workflows(&Default::default()).await.unwrap();
    assert_eq!(flows.len(), 2);
    assert!(flows[0].sections.is_empty() && flows[0].tags.is_empty());
    assert_eq!(flows[1].sections[0].name, "");
    let users = c.organization_users(0, 250).await.unwrap();
    assert_eq!(users.len(), 3);
    assert!(users[0].role.is_none() && users[1].role.is_none());
    assert_eq!(users[2].role.as_ref().unwrap().name, "");
    let templates = c.templates(&Default::default()).await.unwrap();
    assert_eq!(
        (templates[0].name.as_str(), templates[0].kind.as_str()),
        ("", "")
    );
    assert_eq!(c.segments().await.unwrap()[0].name, "");
}

/// A row that cannot be decoded at all is that row's error; the list keeps the others.
#[tokio::test]
async fn an_undecodable_row_is_reported_with_its_position() {
    let (s, c) = setup().await;
    Mock::given(method("GET"))
        .and(path("/api/list.php"))
        .respond_with(html(
            r#"[{"id":1,"name":"A"},{"id":"two","name":"B"},{"id":3,"name":"C"}]"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    let list = c.segments().await.unwrap();
    let ids: Vec<u64> = list.iter().map(|s| s.id).collect();
    assert_eq!(ids, [1, 3]);
    let bad = &list.invalid()[0];
    assert_eq!(bad.index, 1);
    match &bad.error {
        Error::Transport(marketing_sync_core::Error::Decode { path, snippet, .. }) => {
            assert_eq!(path, "[1].id");
            assert!(snippet.contains("two"), "{snippet}");
        }
        other => panic!("{other:?}"),
    }
}

/// `message_ids` are unsigned 64-bit ("Each value is a unsigned 64-bit long",
/// smaily.freshdesk.com/…/16000091227-sending-message-with-attachments-): none may be lost.
#[tokio::test]
async fn message_ids_are_full_u64() {
    let (s, c) = setup().await;
    Mock::given(method("POST"))
        .and(path("/api/message/send.php"))
        .respond_with(html(
            r#"{"code":101,"message":"OK","message_ids":[18446744073709551615,"9223372036854775808",140737488355328]}"#,
        ))
        .expect(1)
        .mount(&s)
        .await;
    let ids = c
        .send_message(&smaily_client::Message::new(u64::MAX, ["a@example.com"]))
        .await
        .unwrap();
    assert_eq!(
        ids,
        [u64::MAX, 9_223_372_036_854_775_808, 140_737_488_355_328]
    );
    let sent: serde_json::Value = s.received_requests().await.unwrap()[0].body_json().unwrap();
    assert_eq!(sent["autoresponder_id"], json!(u64::MAX));
}
