//! The fake's rules, checked with requests built by hand from the references (not through the
//! client): what the service refuses, the fake refuses; what it stores, the fake stores.
//!
//! Sources: the Yespo OpenAPI document behind docs.yespo.io (`ContactsBulkUpdate`,
//! `ContactBulkUpdateResult`, `SubscribeContact`, `ContactSubscriptionResult`, ...), the
//! reference pages (docs.reteno.com contactsbulkupdate-1, docs.esputnik.com removehistoryorders)
//! and the guides (E2 FAQ, "Uploading Your Mobile Token Base").
#![cfg(feature = "fake")]

use messaging_client::fake::{FakeMessaging, FakeService};
use serde_json::{Value, json};

/// POSTs `body` as JSON to `path` (under `/api`) with the fake's key; status and body.
async fn post(fake: &FakeMessaging, path: &str, body: &Value) -> (u16, String) {
    send(fake, reqwest::Method::POST, path, Some(body)).await
}

async fn send(
    fake: &FakeMessaging,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", fake.base_url()))
        .basic_auth("user", Some(fake.credentials().expose()));
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json; charset=UTF-8")
            .body(body.to_string());
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Imports `body` and polls its session to the end (the import applies when it finishes).
async fn import(fake: &FakeMessaging, body: Value) -> Value {
    let (status, text) = post(fake, "/v1/contacts", &body).await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let session = answer["asyncSessionId"].as_str().unwrap().to_owned();
    for _ in 0..10 {
        let (_, text) = send(
            fake,
            reqwest::Method::GET,
            &format!("/v1/importstatus/{session}"),
            None,
        )
        .await;
        let status: Value = serde_json::from_str(&text).unwrap();
        if status["status"] == "FINISHED" || status["status"] == "ERROR" {
            return answer;
        }
    }
    panic!("the import never finished");
}

fn only_contact(fake: &FakeMessaging) -> Value {
    let contacts = fake.contacts();
    assert_eq!(contacts.len(), 1, "{contacts:#?}");
    contacts.into_values().next().unwrap()
}

fn seeded(fake: &FakeMessaging) -> i64 {
    fake.seed_contact(json!({
        "firstName": "Old", "lastName": "Keep",
        "channels": [{"type": "email", "value": "ann@example.com"}, {"type": "sms", "value": "380501234567"}],
        "fields": [{"id": 15868, "value": "M"}, {"id": 15867, "value": "1980-05-05"}]
    }))
}

#[tokio::test]
async fn a_bulk_import_without_dedupe_on_is_refused() {
    // ContactsBulkUpdate requires `contacts` and `dedupeOn` [OpenAPI; docs.reteno.com
    // contactsbulkupdate-1 "required"; mobile-token guide "you must pass ... dedupeOn"]. The
    // older FAQ example [E2] omits it: the fake follows the schema.
    let fake = FakeMessaging::start().await;
    let faq_example = json!({ "contacts": [ { "channels": [ {"type":"email","value":"test@mail.com"} ],
                  "fields":   [ {"id":12345,"value":"..."} ] } ],
        "customFieldsIDs": [12345] });
    let (status, text) = post(&fake, "/v1/contacts", &faq_example).await;
    assert_eq!(status, 400, "{text}");
    let mut with_dedupe = faq_example.clone();
    with_dedupe["dedupeOn"] = json!("email");
    let (status, text) = post(&fake, "/v1/contacts", &with_dedupe).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("asyncSessionId"), "{text}");
    let mut unknown = with_dedupe.clone();
    unknown["dedupeOn"] = json!("contact_key");
    assert_eq!(post(&fake, "/v1/contacts", &unknown).await.0, 400);
}

#[tokio::test]
async fn listed_standard_fields_are_updated_and_the_others_left_alone() {
    // "The list of contacts' fields to be updated" [ContactsBulkUpdate.contactFields].
    let fake = FakeMessaging::start().await;
    seeded(&fake);
    import(
        &fake,
        json!({"contacts": [{"firstName": "New", "lastName": "Other",
                             "channels": [{"type": "email", "value": "ann@example.com"}]}],
               "dedupeOn": "email", "contactFields": ["firstName"]}),
    )
    .await;
    let ann = only_contact(&fake);
    assert_eq!(ann["firstName"], "New");
    assert_eq!(ann["lastName"], "Keep", "not listed, not updated");
    assert_eq!(ann["channels"].as_array().unwrap().len(), 2, "{ann}");
}

#[tokio::test]
async fn without_contact_fields_every_standard_field_is_updated_and_missing_ones_nulled() {
    // "All the contact fields will be updated if this parameter is not specified. The fields
    // will be updated with the 'null' value if no data for updating is transmitted."
    let fake = FakeMessaging::start().await;
    seeded(&fake);
    import(
        &fake,
        json!({"contacts": [{"firstName": "New", "channels": [{"type": "email", "value": "ann@example.com"}]}],
               "dedupeOn": "email"}),
    )
    .await;
    let ann = only_contact(&fake);
    assert_eq!(ann["firstName"], "New");
    assert!(ann.get("lastName").is_none(), "nulled: {ann}");
    assert_eq!(
        ann["channels"],
        json!([{"type": "email", "value": "ann@example.com"}]),
        "the phone was nulled too"
    );
}

#[tokio::test]
async fn only_listed_custom_fields_are_written() {
    // "The custom fields are updated if their IDs are in this list"
    // [ContactsBulkUpdate.customFieldsIDs].
    let fake = FakeMessaging::start().await;
    seeded(&fake);
    let contact = json!({"channels": [{"type": "email", "value": "ann@example.com"}],
                         "fields": [{"id": 15868, "value": "F"}, {"id": 15867, "value": "1990-01-31"}]});
    import(
        &fake,
        json!({"contacts": [contact], "dedupeOn": "email", "contactFields": ["email"]}),
    )
    .await;
    assert_eq!(
        only_contact(&fake)["fields"],
        json!([{"id": 15868, "value": "M"}, {"id": 15867, "value": "1980-05-05"}]),
        "no customFieldsIDs: the values are ignored"
    );
    import(
        &fake,
        json!({"contacts": [contact], "dedupeOn": "email", "contactFields": ["email"],
               "customFieldsIDs": [15868]}),
    )
    .await;
    assert_eq!(
        only_contact(&fake)["fields"],
        json!([{"id": 15868, "value": "F"}, {"id": 15867, "value": "1980-05-05"}])
    );
}

#[tokio::test]
async fn the_import_applies_when_its_session_finishes_and_maps_what_it_touched() {
    // The import is asynchronous [ContactsBulkUpdate "Asynchronous processing is used"];
    // FINISHED carries `mapping`: dedupe value → contact id [ImportSessionStatus].
    let fake = FakeMessaging::start().await;
    let body = json!({"contacts": [{"channels": [{"type": "email", "value": "new@example.com"}]}],
                      "dedupeOn": "email"});
    let (_, text) = post(&fake, "/v1/contacts", &body).await;
    let session: Value = serde_json::from_str(&text).unwrap();
    let session = session["asyncSessionId"].as_str().unwrap();
    assert!(fake.contacts().is_empty(), "not before the session ran");
    let mut last = Value::Null;
    for _ in 0..5 {
        let (_, text) = send(
            &fake,
            reqwest::Method::GET,
            &format!("/v1/importstatus/{session}"),
            None,
        )
        .await;
        last = serde_json::from_str(&text).unwrap();
        if last["status"] == "FINISHED" {
            break;
        }
    }
    assert_eq!(last["status"], "FINISHED");
    let id = *fake.contacts().keys().next().unwrap();
    let mapping = &last["mapping"];
    assert_eq!(mapping["dedupeValue"], "new@example.com", "{last}");
    assert_eq!(mapping["contactId"], id.to_string(), "{last}");
}

#[tokio::test]
async fn invalid_contacts_are_listed_as_failed_and_the_rest_imported() {
    // ContactBulkUpdateResult.failedContacts: "The list of contacts that can not be
    // added/updated", an object for one entry; each carries `error` [FailedContact].
    let fake = FakeMessaging::start().await;
    let answer = import(
        &fake,
        json!({"contacts": [
            {"firstName": "Ann", "channels": [{"type": "email", "value": "ann@example.com"}]},
            {"firstName": "Bob", "channels": []}],
          "dedupeOn": "email", "contactFields": ["firstName", "email"]}),
    )
    .await;
    let failed = &answer["failedContacts"];
    assert_eq!(failed["firstName"], "Bob", "{answer}");
    assert!(failed["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(only_contact(&fake)["firstName"], "Ann");
}

#[tokio::test]
async fn unknown_keys_and_contact_fields_names_are_refused() {
    // Every key must be one of the schema's [ContactsBulkUpdate, Contact, Channel, Device,
    // Address, ContactField]; contactFields values come from its enum.
    let fake = FakeMessaging::start().await;
    let ok = json!({"contacts": [{"channels": [{"type": "email", "value": "a@example.com"}]}],
                    "dedupeOn": "email"});
    assert_eq!(post(&fake, "/v1/contacts", &ok).await.0, 200);
    let cases = [
        // (`email`/`phone` inside a contact are taken: the official OpenCart plugin sends them.)
        json!({"contacts": [{"nickname": "a", "channels": [{"type": "email", "value": "a@example.com"}]}], "dedupeOn": "email"}),
        json!({"contacts": [{"channels": [{"type": "email", "value": "a@example.com", "primary": true}]}], "dedupeOn": "email"}),
        json!({"contacts": [{"channels": [{"type": "email", "value": "a@example.com"}]}], "dedupeOn": "email", "updateAll": true}),
        json!({"contacts": [{"channels": [{"type": "email", "value": "a@example.com"}]}], "dedupeOn": "email", "contactFields": ["phone"]}),
        json!({"contacts": [{"channels": [{"type": "email", "value": "a@example.com"}], "fields": [{"id": 1, "value": "x", "name": "n"}]}], "dedupeOn": "email"}),
        json!({"contacts": [{"channels": [{"type": "fax", "value": "1"}]}], "dedupeOn": "email"}),
    ];
    for case in cases {
        let (status, text) = post(&fake, "/v1/contacts", &case).await;
        assert_eq!(status, 400, "{case} → {text}");
    }
    // The documented mobile token example is accepted as it stands [mobile-token guide].
    let mobile = json!({"contacts": [{"firstName": "John", "lastName": "Smith",
        "channels": [{"type": "mobilepush", "value": "8900-7654-6456-9876-0011",
                      "device": {"appId": "83b77a49-fc28-409b-aeaa-68c9d544ab9d", "deviceModel": "iPhone 13",
                                 "os": "Android", "locale": "ua", "appVersion": "4.1.6"}},
                     {"type": "email", "value": "tgsh@gmail.com"}],
        "externalCustomerId": "6add3c31-3ec6-4f34-b20e-8c757fe65270",
        "fields": [{"id": 12345, "value": "writer"}, {"id": 12346, "value": "1814-03-09"}]}],
        "dedupeOn": "externalCustomerId",
        "contactFields": ["firstName", "lastName", "email", "mobilepush", "externalCustomerId"],
        "customFieldsIDs": [12345, 12346]});
    let (status, text) = post(&fake, "/v1/contacts", &mobile).await;
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn a_body_that_is_not_json_by_its_content_type_is_415() {
    // 415 Unsupported media type [docs.reteno.com contactsbulkupdate-1 responses].
    let fake = FakeMessaging::start().await;
    for content_type in [None, Some("text/plain"), Some("application/jsonp")] {
        let mut req = reqwest::Client::new()
            .post(format!("{}/v1/contacts", fake.base_url()))
            .basic_auth("user", Some(fake.credentials().expose()))
            .body(r#"{"contacts": [], "dedupeOn": "email"}"#);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        assert_eq!(req.send().await.unwrap().status(), 415, "{content_type:?}");
    }
}

#[tokio::test]
async fn subscribe_answers_with_the_contact_id() {
    // ContactSubscriptionResult: `id`, `emailStatus`, `new` [OpenAPI subscribeContact].
    let fake = FakeMessaging::start().await;
    let body = json!({"contact": {"firstName": "Ann", "channels": [{"type": "email", "value": "test@mail.com"}]},
                      "groups": ["Subscribers"]});
    let (status, text) = post(&fake, "/v1/contact/subscribe", &body).await;
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&text).unwrap();
    let id = answer["id"].as_i64().unwrap();
    assert!(fake.contacts().contains_key(&id));
    assert_eq!(answer["new"], true);
    // "Conflict: Repeated request within 1 minute" [subscribeContact 409].
    assert_eq!(post(&fake, "/v1/contact/subscribe", &body).await.0, 409);
    let mut changed = body.clone();
    changed["contact"]["firstName"] = json!("Anna");
    let (_, text) = post(&fake, "/v1/contact/subscribe", &changed).await;
    let again: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (again["id"].as_i64(), &again["new"]),
        (Some(id), &json!(false))
    );
    assert_eq!(fake.contacts()[&id]["firstName"], "Anna");
    let mut unknown = body.clone();
    unknown["doubleOptIn"] = json!(true);
    assert_eq!(post(&fake, "/v1/contact/subscribe", &unknown).await.0, 400);
}

#[tokio::test]
async fn new_contacts_raise_the_event_for_new_contacts_and_updated_ones_do_not() {
    // eventKeyForNewContacts: "An event of corresponding type is generated for each contact";
    // the mobile-token guide: "generates events for new contacts but will not run a workflow for
    // updated or existing contacts".
    let fake = FakeMessaging::start().await;
    seeded(&fake);
    import(
        &fake,
        json!({"contacts": [{"channels": [{"type": "email", "value": "ann@example.com"}]},
                            {"channels": [{"type": "email", "value": "new@example.com"}]}],
               "dedupeOn": "email", "contactFields": ["email"], "eventKeyForNewContacts": "welcome"}),
    )
    .await;
    let events: Vec<Value> = fake.events().into_iter().map(|e| e.body).collect();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["eventTypeKey"], "welcome");
    assert!(events[0].to_string().contains("new@example.com"));
}

fn order(id: &str) -> Value {
    json!({"externalOrderId": id, "externalCustomerId": "12345", "totalCost": 1000,
           "status": "INITIALIZED", "date": "2017-03-08T09:30:00+02:00", "currency": "USD"})
}

#[tokio::test]
async fn invalid_orders_are_listed_as_failed_and_the_rest_stored() {
    // FailedOrders: "required fields are empty, or the format is incorrect" or no
    // externalCustomerId, email or phone; each entry is `{order, error}` [OpenAPI Order,
    // FailedOrders, FailedOrder].
    let fake = FakeMessaging::start().await;
    let mut no_contact = order("2");
    no_contact
        .as_object_mut()
        .unwrap()
        .remove("externalCustomerId");
    let mut no_currency = order("3");
    no_currency.as_object_mut().unwrap().remove("currency");
    let body = json!({"orders": [order("1"), no_contact, no_currency]});
    let (status, text) = post(&fake, "/v1/orders", &body).await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let failed = answer["failedOrders"].as_array().unwrap();
    let ids: Vec<_> = failed
        .iter()
        .map(|f| f["order"]["externalOrderId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["2", "3"]);
    assert!(failed.iter().all(|f| f["error"].as_str().is_some()));
    assert_eq!(fake.orders().keys().collect::<Vec<_>>(), ["1"]);
    // All valid: the body is empty [C2-old].
    let (status, text) = post(&fake, "/v1/orders", &json!({"orders": [order("4")]})).await;
    assert_eq!((status, text.as_str()), (200, ""));
}

#[tokio::test]
async fn orders_with_keys_the_schema_does_not_know_are_refused() {
    // Orders / Order / OrderItem [OpenAPI].
    let fake = FakeMessaging::start().await;
    let mut typo = order("1");
    typo["totalCosts"] = json!(10);
    let mut item = order("2");
    item["items"] = json!([{"externalItemId": "S1", "quantity": 1, "price": 10}]);
    for body in [
        json!({"orders": [typo]}),
        json!({"orders": [item]}),
        json!({"orders": [order("3")], "store": "x"}),
    ] {
        let (status, text) = post(&fake, "/v1/orders", &body).await;
        assert_eq!(status, 400, "{body} → {text}");
    }
    assert!(fake.orders().is_empty());
}

#[tokio::test]
async fn deleting_orders_by_date_includes_both_ends() {
    // "from: Start date (inclusively)", "to: End date (inclusively)", `yyyy-MM-dd'T'HH:mm:ss`
    // UTC, from before to, at most 24 hours [docs.esputnik.com removehistoryorders].
    let fake = FakeMessaging::start().await;
    for (id, date) in [
        ("before", "2024-01-01T09:59:59Z"),
        ("at-from", "2024-01-01T10:00:00Z"),
        ("at-to", "2024-01-01T12:00:00+00:00"),
        ("after", "2024-01-01T12:00:01Z"),
    ] {
        let mut o = order(id);
        o["date"] = json!(date);
        fake.seed_order(o);
    }
    let delete = |query: &str| {
        let path = format!("/v1/orders?{query}");
        let fake = &fake;
        async move { send(fake, reqwest::Method::DELETE, &path, None).await }
    };
    assert_eq!(
        delete("from=2024-01-01T10:00:00&to=2024-01-01T12:00:00")
            .await
            .0,
        200
    );
    assert_eq!(
        fake.orders().keys().cloned().collect::<Vec<_>>(),
        ["after", "before"]
    );
    for bad in [
        "from=2024-01-01T12:00:00&to=2024-01-01T10:00:00",
        "from=2024-01-01T10:00:00&to=2024-01-02T10:00:01",
        "from=2024-01-01&to=2024-01-01T10:00:00",
        "from=2024-01-01T10:00:00Z&to=2024-01-01T11:00:00Z",
        "to=2024-01-01T10:00:00",
    ] {
        assert_eq!(delete(bad).await.0, 400, "{bad}");
    }
}

#[tokio::test]
async fn an_event_must_name_its_contact() {
    // Without keyValue, params must carry contactId, externalCustomerId, email, phone or
    // pushToken [EventDto.keyValue; E16 "an event with neither is rejected"]; v2 ignores an
    // externalCustomerId of "", " ", "null" or null [E4].
    let fake = FakeMessaging::start().await;
    let named =
        json!({"eventTypeKey": "purchase", "params": [{"name": "email", "value": "a@x.com"}]});
    let keyed = json!({"eventTypeKey": "purchase", "keyValue": "a@x.com"});
    let nobody = json!({"eventTypeKey": "purchase", "params": [{"name": "sku", "value": "A1"}]});
    let blank = json!({"eventTypeKey": "purchase", "params": [{"name": "externalCustomerId", "value": "null"}]});
    for v in ["/v1/event", "/v2/event"] {
        assert_eq!(post(&fake, v, &named).await.0, 200, "{v}");
        assert_eq!(post(&fake, v, &keyed).await.0, 200, "{v}");
        assert_eq!(post(&fake, v, &nobody).await.0, 400, "{v}");
    }
    assert_eq!(post(&fake, "/v2/event", &blank).await.0, 400);
    // EventDto / Event / Parameter keys [OpenAPI].
    let mut extra = keyed.clone();
    extra["eventKey"] = json!("x");
    assert_eq!(post(&fake, "/v1/event", &extra).await.0, 400);
    let odd_param = json!({"eventTypeKey": "purchase", "keyValue": "k", "params": [{"name": "a", "value": "b", "type": "s"}]});
    assert_eq!(post(&fake, "/v2/event", &odd_param).await.0, 400);
    assert_eq!(fake.events().len(), 4);
}

#[tokio::test]
async fn sends_are_checked_against_their_schemas() {
    // OutgoingViber requires `text` and `iosExpirityText`, and phoneNumbers or groupId;
    // OutgoingEmail requires emails, from, htmlText, subject; OutgoingSMS from and text;
    // ParametrizedLocator names the recipient by locator, contactId or externalCustomerId
    // [OpenAPI]. Unknown keys are refused.
    let fake = FakeMessaging::start().await;
    let viber =
        json!({"text": "Hi", "iosExpirityText": "Expired", "phoneNumbers": ["380501234567"]});
    assert_eq!(post(&fake, "/v1/message/viber", &viber).await.0, 200);
    let mut no_expiry = viber.clone();
    no_expiry.as_object_mut().unwrap().remove("iosExpirityText");
    assert_eq!(post(&fake, "/v1/message/viber", &no_expiry).await.0, 400);
    let email = json!({"from": "\"Shop\" <shop@x.com>", "subject": "Hi", "htmlText": "<p>Hi</p>",
                       "emails": ["a@x.com"], "ampHtmlText": "<html amp></html>", "trackUrls": false});
    assert_eq!(post(&fake, "/v1/message/email", &email).await.0, 200);
    let mut no_subject = email.clone();
    no_subject.as_object_mut().unwrap().remove("subject");
    assert_eq!(post(&fake, "/v1/message/email", &no_subject).await.0, 400);
    let sms = json!({"from": "SHOP", "text": "Hi", "phoneNumbers": ["380501234567"], "externalRequestId": "r"});
    assert_eq!(post(&fake, "/v1/message/sms", &sms).await.0, 200);
    let mut sms_typo = sms.clone();
    sms_typo["phones"] = json!(["1"]);
    assert_eq!(post(&fake, "/v1/message/sms", &sms_typo).await.0, 400);
    let smart =
        json!({"recipients": [{"externalCustomerId": "C1", "jsonParam": "{}"}], "email": true});
    assert_eq!(post(&fake, "/v1/message/5/smartsend", &smart).await.0, 200);
    let odd = json!({"recipients": [{"locator": "a@x.com", "params": {}}], "email": true});
    assert_eq!(post(&fake, "/v1/message/5/smartsend", &odd).await.0, 400);
}

#[tokio::test]
async fn activity_needs_its_period() {
    // dateFrom and dateTo are required [OpenAPI contactActivity].
    let fake = FakeMessaging::start().await;
    let get = |q: &str| {
        let path = format!("/v2/contacts/activity{q}");
        let fake = &fake;
        async move { send(fake, reqwest::Method::GET, &path, None).await }
    };
    assert_eq!(get("?dateFrom=2024-01-01").await.0, 400);
    let (status, text) = get("?dateFrom=2024-01-01&dateTo=2024-01-02").await;
    assert_eq!((status, text.as_str()), (200, "[]"));
}

#[tokio::test]
async fn unsubscribes_and_segment_changes_follow_their_schemas() {
    // UnsubscribeParamsDto {emails}; ModifyContactsInGroup {contactIds, externalCustomerIds},
    // "max. 500" each [OpenAPI].
    let fake = FakeMessaging::start().await;
    let add = json!({"emails": ["a@x.com"]});
    assert_eq!(
        post(&fake, "/v1/emails/unsubscribed/add", &add).await.0,
        200
    );
    let typo = json!({"emails": ["a@x.com"], "reason": "spam"});
    assert_eq!(
        post(&fake, "/v1/emails/unsubscribed/add", &typo).await.0,
        400
    );
    let seg = fake.seed_segment(10, "VIP", "Static");
    let id = fake.seed_contact(json!({"externalCustomerId": "C1",
        "channels": [{"type": "email", "value": "c1@x.com"}]}));
    let by_ext = json!({"externalCustomerIds": ["C1"]});
    let (status, text) = post(&fake, &format!("/v1/group/{seg}/contacts/attach"), &by_ext).await;
    assert_eq!(status, 200, "{text}");
    assert!(fake.segment_members(seg).contains(&id));
    let odd = json!({"contacts": [id]});
    assert_eq!(
        post(&fake, &format!("/v1/group/{seg}/contacts/detach"), &odd)
            .await
            .0,
        400
    );
    let many = json!({"contactIds": (0..501).collect::<Vec<i64>>()});
    assert_eq!(
        post(&fake, &format!("/v1/group/{seg}/contacts/attach"), &many)
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn finish_imports_runs_pending_sessions_as_the_service_would() {
    let fake = FakeMessaging::start().await;
    let body = json!({"contacts": [{"channels": [{"type": "email", "value": "a@example.com"}]}],
                      "dedupeOn": "email"});
    assert_eq!(post(&fake, "/v1/contacts", &body).await.0, 200);
    fake.fail_imports(true);
    let other = json!({"contacts": [{"channels": [{"type": "email", "value": "b@example.com"}]}],
                       "dedupeOn": "email"});
    assert_eq!(post(&fake, "/v1/contacts", &other).await.0, 200);
    assert!(fake.contacts().is_empty());
    fake.finish_imports();
    let emails: Vec<String> = fake
        .contacts()
        .values()
        .map(|c| c["channels"][0]["value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        emails,
        ["a@example.com"],
        "the failing session imported nothing"
    );
}

#[tokio::test]
async fn a_contact_write_repeated_within_a_minute_is_409() {
    // OA `addContact` and `updateContact`: "409 Conflict: Repeated request within 1 minute".
    let fake = FakeMessaging::start().await;
    let ann =
        json!({"firstName": "Ann", "channels": [{"type": "email", "value": "ann@example.com"}]});
    let (status, text) = post(&fake, "/v1/contact", &ann).await;
    assert_eq!(status, 200, "{text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, text) = post(&fake, "/v1/contact", &ann).await;
    assert_eq!(
        (status, text.as_str()),
        (409, "Repeated request within 1 minute")
    );
    assert_eq!(fake.contacts().len(), 1);
    // Another body is another request.
    let other =
        json!({"firstName": "Bo", "channels": [{"type": "email", "value": "bo@example.com"}]});
    assert_eq!(post(&fake, "/v1/contact", &other).await.0, 200);

    let path = format!("/v1/contact/{id}");
    let update =
        json!({"firstName": "Anna", "channels": [{"type": "email", "value": "ann@example.com"}]});
    let put = |body: Value| {
        let fake = &fake;
        let path = path.clone();
        async move { send(fake, reqwest::Method::PUT, &path, Some(&body)).await }
    };
    assert_eq!(put(update.clone()).await.0, 200);
    let (status, text) = put(update.clone()).await;
    assert_eq!(
        (status, text.as_str()),
        (409, "Repeated request within 1 minute")
    );
    assert_eq!(fake.contacts()[&id]["firstName"], "Anna");
    let mut again = update.clone();
    again["lastName"] = json!("Berg");
    assert_eq!(put(again).await.0, 200);
}

#[tokio::test]
async fn smartsend_by_contact_answers_under_the_device_token_and_refuses_repeated_recipients() {
    // E3: a push goes to the contact's device tokens; `SendMessageResultDto.locator` is "the
    // message recipient" (OA), so the result names the token, not the contact id.
    let fake = FakeMessaging::start().await;
    let id = fake.seed_contact(json!({"externalCustomerId": "C-1", "channels": [
        {"type": "email", "value": "a@example.com"},
        {"type": "mobilepush", "value": "tok-1"}, {"type": "webpush", "value": "tok-2"}]}));
    let body = json!({"recipients": [{"jsonParam": null, "contactId": id}], "email": false});
    let (status, text) = post(&fake, "/v1/message/3/smartsend", &body).await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let locators: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["locator"].as_str().unwrap())
        .collect();
    assert_eq!(locators, ["tok-1", "tok-2"]);
    // An email by externalCustomerId goes to the contact's address.
    let body = json!({"recipients": [{"externalCustomerId": "C-1"}], "email": true});
    let (_, text) = post(&fake, "/v1/message/3/smartsend", &body).await;
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["results"]["locator"], "a@example.com");
    // OA `recipients`: `uniqueItems: true`.
    let twice = json!({"recipients": [{"locator": "a@example.com"}, {"locator": "a@example.com"}], "email": true});
    assert_eq!(post(&fake, "/v1/message/3/smartsend", &twice).await.0, 400);
}

#[tokio::test]
async fn a_detach_without_ids_empties_the_segment_and_one_request_names_one_kind_of_id() {
    // OA `detachContactsFromGroup`: "If don't specify any ids, all contacts will be deleted
    // from the segment."
    let fake = FakeMessaging::start().await;
    let seg = fake.seed_segment(10, "VIP", "Static");
    let a = fake.seed_contact(
        json!({"externalCustomerId": "C1", "channels": [{"type": "email", "value": "a@x.com"}]}),
    );
    let b = fake.seed_contact(json!({"channels": [{"type": "email", "value": "b@x.com"}]}));
    let attach = format!("/v1/group/{seg}/contacts/attach");
    let detach = format!("/v1/group/{seg}/contacts/detach");
    assert_eq!(
        post(&fake, &attach, &json!({"contactIds": [a, b]})).await.0,
        200
    );
    // OA: "by contact ids or external customer ids": one kind per request.
    let both = json!({"contactIds": [a], "externalCustomerIds": ["C1"]});
    assert_eq!(post(&fake, &detach, &both).await.0, 400);
    assert_eq!(fake.segment_members(seg).len(), 2);
    let (status, text) = post(&fake, &detach, &json!({})).await;
    assert_eq!((status, text.as_str()), (200, "Contacts were detached"));
    assert!(fake.segment_members(seg).is_empty(), "everyone was removed");
    assert_eq!(
        post(&fake, &attach, &json!({"contactIds": [a, b]})).await.0,
        200
    );
    assert_eq!(
        post(&fake, &detach, &json!({"contactIds": []})).await.0,
        200
    );
    assert!(
        fake.segment_members(seg).is_empty(),
        "empty lists name no one: everyone"
    );
}

#[tokio::test]
async fn subscription_categories_follow_their_schemas() {
    // OA `getSubscriptionCategories` (array of `SubscriptionCategoryDto`),
    // `changeContactSubscriptionCategories` (`ContactSubscriptionCategoryUpsertRequest`,
    // `subscriptions` required), `getContactSubscriptionCategories`.
    let fake = FakeMessaging::start().await;
    fake.seed_subscription_category("news", "News");
    fake.seed_subscription_category("promo", "Promotions");
    let id = fake.seed_contact(json!({"channels": [{"type": "email", "value": "a@x.com"}]}));
    let (status, text) = send(&fake, reqwest::Method::GET, "/v1/subscriptions", None).await;
    assert_eq!(status, 200);
    let all: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(all[1]["key"], "promo");
    assert!(all[1]["groupId"].is_number());
    let path = format!("/v1/contact/{id}/subscriptions");
    let put = |body: Value| {
        let (fake, path) = (&fake, path.clone());
        async move { send(fake, reqwest::Method::PUT, &path, Some(&body)).await.0 }
    };
    assert_eq!(put(json!({"subscriptions": ["news"]})).await, 200);
    assert_eq!(put(json!({"keys": ["news"]})).await, 400);
    assert_eq!(put(json!({})).await, 400);
    let (_, text) = send(&fake, reqwest::Method::GET, &path, None).await;
    let mine: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(mine["key"], "news", "one category as an object: {mine}");
    let (status, _) = send(
        &fake,
        reqwest::Method::GET,
        "/v1/contact/999/subscriptions",
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn contact_deletion_takes_erase_and_search_takes_sort_by() {
    // OA `deleteContact_1`: `erase` is a boolean query parameter; `searchContacts`: `sortBy`
    // ("Possible value is 'contactId'"), `firstname`, `lastname`.
    let fake = FakeMessaging::start().await;
    let a = fake.seed_contact(
        json!({"firstName": "Ann", "channels": [{"type": "email", "value": "a@x.com"}]}),
    );
    let b = fake.seed_contact(
        json!({"firstName": "Bo", "channels": [{"type": "email", "value": "b@x.com"}]}),
    );
    let (status, text) = send(
        &fake,
        reqwest::Method::GET,
        "/v1/contacts?sortBy=contactId",
        None,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let ids: Vec<i64> = serde_json::from_str::<Vec<Value>>(&text)
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [a, b]);
    let (_, text) = send(
        &fake,
        reqwest::Method::GET,
        "/v1/contacts?firstname=Bo",
        None,
    )
    .await;
    let found: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(found.as_array().map_or(1, Vec::len), 1, "{found}");
    let (status, _) = send(
        &fake,
        reqwest::Method::GET,
        "/v1/contacts?sortBy=name",
        None,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = send(
        &fake,
        reqwest::Method::DELETE,
        &format!("/v1/contact/{a}?erase=maybe"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = send(
        &fake,
        reqwest::Method::DELETE,
        &format!("/v1/contact/{a}?erase=true"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(!fake.contacts().contains_key(&a));
    // OA `deleteContact` (by externalCustomerId): the same boolean `erase`.
    let by_ext = "/v1/contact?externalCustomerId=X&erase=yes";
    assert_eq!(
        send(&fake, reqwest::Method::DELETE, by_ext, None).await.0,
        400
    );
}

#[tokio::test]
async fn event_keys_follow_eventdto_lengths_and_characters() {
    // OA `EventDto`: `eventTypeKey` max 100, `keyValue` max 300 symbols; neither may contain
    // < ; ’ \ / | " ` ' ^ ? ! , >
    let fake = FakeMessaging::start().await;
    let event = |key: &str, value: &str| json!({"eventTypeKey": key, "keyValue": value});
    assert_eq!(
        post(
            &fake,
            "/v1/event",
            &event(&"k".repeat(100), &"v".repeat(300))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        post(&fake, "/v1/event", &event(&"k".repeat(101), "v"))
            .await
            .0,
        400
    );
    assert_eq!(
        post(&fake, "/v1/event", &event("k", &"v".repeat(301)))
            .await
            .0,
        400
    );
    for bad in [
        "<", ";", "’", "\\", "/", "|", "\"", "`", "'", "^", "?", "!", ",", ">",
    ] {
        let (status, text) = post(&fake, "/v1/event", &event(&format!("a{bad}b"), "v")).await;
        assert_eq!(status, 400, "eventTypeKey with {bad}: {text}");
        let (status, text) = post(&fake, "/v1/event", &event("k", &format!("a{bad}b"))).await;
        assert_eq!(status, 400, "keyValue with {bad}: {text}");
    }
    // Letters of any script, digits, spaces, @ . - _ are allowed ("All characters are allowed
    // except ...").
    assert_eq!(
        post(
            &fake,
            "/v1/event",
            &event("Покупка 1_a-b", "ann@example.com")
        )
        .await
        .0,
        200
    );
    assert_eq!(fake.events().len(), 2);
}

#[tokio::test]
async fn a_put_takes_contact_update_which_has_no_groups() {
    // OA `updateContact` takes `ContactUpdate`: `Contact` without `groups`.
    let fake = FakeMessaging::start().await;
    let id = fake.seed_contact(json!({"channels": [{"type": "email", "value": "a@x.com"}]}));
    let path = format!("/v1/contact/{id}");
    let with_groups = json!({"channels": [{"type": "email", "value": "a@x.com"}],
                             "groups": [{"name": "VIP"}]});
    let (status, text) = send(&fake, reqwest::Method::PUT, &path, Some(&with_groups)).await;
    assert_eq!(status, 400, "{text}");
    // `POST /v1/contact` takes `Contact`, which has them.
    let (status, text) = post(&fake, "/v1/contact", &with_groups).await;
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn subscribe_raises_the_events_the_guide_names() {
    // "Integrating Subscription Form via API" (docs.esputnik.com / docs.yespo.io): the call
    // generates `subscribeFromAPI` for a new contact, `subscribeUpdateFromAPI` for an existing one.
    let fake = FakeMessaging::start().await;
    let body = json!({"contact": {"channels": [{"type": "email", "value": "test@mail.com"}]}, "groups": ["Subscribers"]});
    assert_eq!(post(&fake, "/v1/contact/subscribe", &body).await.0, 200);
    let again = json!({"contact": {"firstName": "Ann", "channels": [{"type": "email", "value": "test@mail.com"}]}});
    assert_eq!(post(&fake, "/v1/contact/subscribe", &again).await.0, 200);
    let keys: Vec<Value> = fake
        .events()
        .iter()
        .map(|e| e.body["eventTypeKey"].clone())
        .collect();
    assert_eq!(
        keys,
        [json!("subscribeFromAPI"), json!("subscribeUpdateFromAPI")]
    );
}

#[tokio::test]
async fn a_bulk_import_accepts_email_and_phone_inside_contacts_as_the_official_plugin_sends() {
    // Yespo's OpenCart plugin (eSputnik-CDP/esputnik-opencart, admin controller
    // `loadCustomers` @ 247fe23) sends `email` and `phone` beside `channels` in each contact of
    // `POST /v1/contacts`: the service takes them, so the fake does (the channels decide).
    let fake = FakeMessaging::start().await;
    let body = json!({"contacts": [{"externalCustomerId": "7", "email": "a@x.com", "firstName": "Ann",
        "lastName": "Berg", "phone": "380501234567",
        "channels": [{"type": "email", "value": "a@x.com"}, {"type": "sms", "value": "380501234567"}]}],
        "dedupeOn": "externalCustomerId"});
    import(&fake, body).await;
    let c = only_contact(&fake);
    assert_eq!(c["externalCustomerId"], "7");
    assert!(c.get("email").is_none() && c.get("phone").is_none(), "{c}");
    // Still not on the single-contact schemas, which no source shows with them.
    let single = json!({"email": "b@x.com", "channels": [{"type": "email", "value": "b@x.com"}]});
    assert_eq!(post(&fake, "/v1/contact", &single).await.0, 400);
}
