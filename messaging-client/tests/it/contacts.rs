//! Single contacts, search, catalog and segments against wiremock: exact JSON, paging, quirks.

use crate::common;

use common::*;
use futures::TryStreamExt;
use messaging_client::{
    Channel, Contact, ContactField, ContactQuery, Error, FieldCatalog, ImportOptions, Subscription,
};
use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn single_contact_crud() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/contact/42"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"id":"42","firstName":"Ann","channels":{"type":"email","value":"a@b.c"},
                "fields":{"id":"15868","value":"F"},"groups":{"id":"3","name":"VIP","type":"Static"}}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/contact/43"))
        .respond_with(ResponseTemplate::new(404).set_body_string("Contact not found"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/contact"))
        .and(body_json(
            json!({"channels": [{"type": "email", "value": "n@b.c"}]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 99})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/v1/contact/42"))
        .and(body_json(json!({"lastName": "Smith"})))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/contact/42"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/contact/43"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/contact"))
        .and(query_param("externalCustomerId", "C-1"))
        .and(query_param("erase", "true"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let c = client.get_contact(42).await.unwrap().unwrap();
    assert_eq!(c.id, Some(42));
    assert_eq!(c.email_address(), Some("a@b.c"));
    assert_eq!(
        c.fields,
        vec![ContactField {
            id: 15868,
            value: "F".into()
        }]
    );
    assert_eq!(c.groups[0].id, Some(3));
    assert_eq!(client.get_contact(43).await.unwrap(), None);
    assert_eq!(
        client.add_contact(&Contact::email("n@b.c")).await.unwrap(),
        99
    );
    let update = Contact {
        last_name: Some("Smith".into()),
        ..Default::default()
    };
    client.update_contact(42, &update).await.unwrap();
    assert!(client.delete_contact(42).await.unwrap());
    assert!(!client.delete_contact(43).await.unwrap());
    client
        .delete_contact_by_external_id("C-1", true)
        .await
        .unwrap();
}

#[tokio::test]
async fn search_pages_until_a_short_page_on_the_search_bucket() {
    let server = server().await;
    for (start, n) in [(1, 2), (3, 2), (5, 1)] {
        let page: Vec<_> = (0..n)
            .map(|i| json!({"id": start + i, "channels": [{"type": "email", "value": "a@x.com"}]}))
            .collect();
        Mock::given(method("GET"))
            .and(path("/api/v1/contacts"))
            .and(query_param("email", "a@x.com"))
            .and(query_param("startindex", start.to_string()))
            .and(query_param("maxrows", "2"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(page)
                    .insert_header("TotalCount", "2"),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let query = ContactQuery {
        email: Some("a@x.com".into()),
        page_size: Some(2),
        ..Default::default()
    };
    let found: Vec<Contact> = client(&server)
        .search_contacts(&query)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|c| c.id.unwrap()).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    let bad = ContactQuery {
        page_size: Some(501),
        ..Default::default()
    };
    let err = client(&server)
        .search_contacts(&bad)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
}

#[tokio::test]
async fn subscribe_sends_contact_and_groups_and_reads_the_documented_answer() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/contact/subscribe"))
        .and(body_json(json!({"contact": {"firstName": "Ann", "channels": [{"type": "email", "value": "test@mail.com"}]},
                              "groups": ["Subscribers"], "subscriptions": ["news"]})))
        // ContactSubscriptionResult [OpenAPI subscribeContact].
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "77", "emailStatus": "NEED_CONFIRMATION", "new": "true"}),
        ))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/contact/subscribe"))
        .respond_with(
            ResponseTemplate::new(409).set_body_string("Repeated request within 1 minute"),
        )
        .mount(&server)
        .await;
    let mut contact = Contact::email("test@mail.com");
    contact.first_name = Some("Ann".into());
    let sub = Subscription {
        contact,
        groups: vec!["Subscribers".into()],
        subscriptions: vec!["news".into()],
        form_type: None,
    };
    let client = client(&server);
    let done = client.subscribe_contact(&sub).await.unwrap();
    assert_eq!(done.id, Some(77));
    assert_eq!(done.email_status.as_deref(), Some("NEED_CONFIRMATION"));
    assert_eq!(done.is_new, Some(true));
    let repeat = client.subscribe_contact(&sub).await.unwrap_err();
    assert!(repeat.is_duplicated_request(), "{repeat:?}");
}

#[tokio::test]
async fn address_books_one_or_many_and_field_names() {
    let server = server().await;
    Mock::given(path("/api/v1/addressbooks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("addressbooks.json")))
        .expect(1)
        .mount(&server)
        .await;
    let books = client(&server).address_books().await.unwrap();
    assert_eq!(books.len(), 1);
    assert_eq!(books[0].address_book_id, Some(7200));
    assert_eq!(books[0].field_groups[0].fields.len(), 2);
    let gender = &books[0].field_groups[0].fields[1];
    assert_eq!(
        gender
            .description
            .allowed_values
            .as_ref()
            .unwrap()
            .possible_values,
        vec!["M", "F"]
    );
    assert!(!gender.description.required);
    let catalog = FieldCatalog::new(&books);
    assert_eq!(catalog.id("Birthday"), Some(15867));
    assert_eq!(catalog.id("gender"), Some(15868));
    assert_eq!(
        catalog.resolve([("Gender", "F")]).unwrap(),
        vec![ContactField {
            id: 15868,
            value: "F".into()
        }]
    );
    match catalog.resolve([("Shoe size", "42")]).unwrap_err() {
        Error::InvalidInput { field, .. } => assert_eq!(field, "fields.Shoe size"),
        other => panic!("{other:?}"),
    }
    assert!(catalog.resolve([("Gender", "X")]).is_err());
}

#[tokio::test]
async fn segments_list_members_attach_detach() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/groups"))
        .and(query_param("startindex", "1"))
        .and(query_param("maxrows", "500"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 1, "name": "VIP", "type": "Static"}, {"id": "2", "name": "All", "type": "Dynamic"}])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/group/1/contacts"))
        .and(query_param("startindex", "1"))
        .and(query_param("maxrows", "500"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 5}])))
        .expect(1)
        .mount(&server)
        .await;
    for action in ["attach", "detach"] {
        Mock::given(method("POST"))
            .and(path(format!("/api/v1/group/1/contacts/{action}")))
            .and(body_json(json!({"contactIds": [1, 2, 3]})))
            .respond_with(
                ResponseTemplate::new(200).set_body_string(format!("Contacts were {action}ed")),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let segments = client.list_segments(None).await.unwrap();
    assert_eq!(segments.len(), 2);
    assert_eq!((segments[1].id, segments[1].kind.as_str()), (2, "Dynamic"));
    let members: Vec<Contact> = client
        .segment_contacts(1, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(members[0].id, Some(5));
    assert_eq!(
        client.attach_contacts(1, &[1, 2, 3]).await.unwrap(),
        "Contacts were attached"
    );
    assert_eq!(
        client.detach_contacts(1, &[1, 2, 3]).await.unwrap(),
        "Contacts were detached"
    );
    assert!(matches!(
        client.detach_contacts(1, &[]).await,
        Err(Error::InvalidInput { .. })
    ));
}

#[tokio::test]
async fn search_accepts_a_single_object_and_imports_accept_odd_bodies() {
    let server = server().await;
    Mock::given(path("/api/v1/contacts"))
        .and(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"id":"8","channels":{"type":"sms","value":"380"}}"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/contacts"))
        .and(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("Accepted"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let found: Vec<Contact> = client
        .search_contacts(&ContactQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].channels[0], Channel::sms("380"));
    let chunks = client
        .import_contacts(&[Contact::email("a@b.c")], &ImportOptions::default())
        .await;
    assert_eq!(chunks[0].result.as_ref().unwrap().async_session_id, None);
}

#[tokio::test]
async fn attach_and_detach_go_in_requests_of_at_most_500_ids() {
    // ModifyContactsInGroup.contactIds: "max. 500" [OpenAPI].
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/group/4/contacts/attach"))
        .respond_with(ResponseTemplate::new(200).set_body_string("Contacts were attached"))
        .expect(3)
        .mount(&server)
        .await;
    let ids: Vec<i64> = (1..=1200).collect();
    let answer = client(&server).attach_contacts(4, &ids).await.unwrap();
    assert_eq!(answer, "Contacts were attached");
    let sizes: Vec<usize> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["contactIds"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes, vec![500, 500, 200]);
}

/// OA `updateContact`: "409 Repeated request within 1 minute". A PUT whose answer was lost
/// is retried; the retry meets the 409 although the update landed: the client reads the
/// contact back and reports success when it holds what was sent.
#[tokio::test]
async fn a_put_refused_as_a_repeat_is_read_back_and_succeeds_when_it_landed() {
    let server = server().await;
    Mock::given(method("PUT"))
        .and(path("/api/v1/contact/42"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/v1/contact/42"))
        .respond_with(
            ResponseTemplate::new(409).set_body_string("Repeated request within 1 minute"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/contact/42"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"id":"42","firstName":"Anna","lastName":"Berg","channels":[{"type":"sms","value":"380501234567"},{"type":"email","value":"ann@example.com"}]}"#,
        ))
        .mount(&server)
        .await;
    let mut update = Contact::email("ann@example.com");
    update.first_name = Some("Anna".into());
    client(&server).update_contact(42, &update).await.unwrap();
    let methods: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        methods,
        [
            "PUT /api/v1/contact/42",
            "PUT /api/v1/contact/42",
            "GET /api/v1/contact/42"
        ]
    );

    // Read back, the contact holds something else: the outcome is unknown, not a failure.
    update.first_name = Some("Annie".into());
    let err = client(&server)
        .update_contact(42, &update)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
}

/// OA `addContact`: the same 409. The caller repeated an add whose answer it lost: the client
/// finds the contact by what it sent (`externalCustomerId`, else the exact email) and returns
/// its id.
#[tokio::test]
async fn an_add_refused_as_a_repeat_finds_the_contact_it_created() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/contact"))
        .respond_with(
            ResponseTemplate::new(409).set_body_string("Repeated request within 1 minute"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/contacts"))
        .and(query_param("externalCustomerId", "C-7"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"id":"77","externalCustomerId":"C-7","channels":{"type":"email","value":"ann@example.com"}}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/contacts"))
        .and(query_param("email", "bo@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"[{"id":"8","channels":[{"type":"email","value":"bo@example.com.ua"}]}]"#,
        ))
        .mount(&server)
        .await;
    let client = client(&server);
    let mut ann = Contact::email("ann@example.com");
    ann.external_customer_id = Some("C-7".into());
    assert_eq!(client.add_contact(&ann).await.unwrap(), 77);
    // The search is not exact: no contact with exactly this address, so the outcome is unknown.
    let err = client
        .add_contact(&Contact::email("bo@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
}

/// OA spells field types upper-case (`COMBOBOX`), the guide lower-case (`combobox`): the allowed
/// values are checked whatever the case.
#[test]
fn combobox_values_are_checked_whatever_the_case_of_the_type() {
    for kind in ["combobox", "COMBOBOX", "ComboBox"] {
        let book: messaging_client::AddressBook = serde_json::from_value(json!({
            "addressBookId": 1, "name": "Main",
            "fieldGroups": {"name": "P", "fields": [{"id": 15868, "name": "Gender",
                "description": {"type": kind, "allowedValues": {"possibleValues": ["M", "F"]}}}]}
        }))
        .unwrap();
        let catalog = FieldCatalog::new(&[book]);
        assert!(catalog.resolve([("Gender", "F")]).is_ok());
        let err = catalog.resolve([("Gender", "X")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"invalid input in fields.Gender: "X" is not one of "M", "F""#,
            "{kind}"
        );
    }
}

/// OA `ModifyContactsInGroup.externalCustomerIds` (max. 500). An empty detach would remove
/// everyone (OA `detachContactsFromGroup`): refused before sending.
#[tokio::test]
async fn attach_and_detach_by_external_ids_and_never_an_empty_detach() {
    let server = server().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("Contacts were attached"))
        .mount(&server)
        .await;
    let client = client(&server);
    let ids: Vec<String> = (0..501).map(|n| format!("C-{n}")).collect();
    client.attach_external_ids(7, &ids).await.unwrap();
    let bodies: Vec<serde_json::Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r.url.path(), "/api/v1/group/7/contacts/attach");
            serde_json::from_slice(&r.body).unwrap()
        })
        .collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        bodies[0]["externalCustomerIds"].as_array().unwrap().len(),
        500
    );
    assert_eq!(bodies[1], json!({"externalCustomerIds": ["C-500"]}));
    client.detach_external_ids(7, &["C-1"]).await.unwrap();
    let none: [&str; 0] = [];
    for result in [
        client.detach_external_ids(7, &none).await,
        client.detach_external_ids(7, &[" "]).await,
        client.attach_external_ids(7, &none).await,
    ] {
        assert!(
            matches!(result, Err(Error::InvalidInput { .. })),
            "{result:?}"
        );
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

/// OA `deleteContact_1`: `erase` (boolean, default false) deletes every trace for good; absent
/// unless asked.
#[tokio::test]
async fn delete_by_id_sends_erase_only_when_asked() {
    let server = server().await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/contact/42"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let client = client(&server);
    assert!(client.delete_contact(42).await.unwrap());
    assert!(client.delete_contact_with(42, true).await.unwrap());
    assert!(client.delete_contact_with(42, false).await.unwrap());
    let queries: Vec<Option<String>> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.query().map(str::to_owned))
        .collect();
    assert_eq!(
        queries,
        [None, Some("erase=true".into()), Some("erase=false".into())]
    );
}

/// OA `searchContacts`: `sortBy=contactId` ("only actual for searches without conditions";
/// stable, faster full exports), and the `firstname` / `lastname` filters.
#[tokio::test]
async fn a_full_export_sorts_by_contact_id_and_filters_are_spelled_as_documented() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/contacts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let client = client(&server);
    let all = ContactQuery {
        sort_by_contact_id: true,
        ..Default::default()
    };
    let _: Vec<Contact> = client.search_contacts(&all).try_collect().await.unwrap();
    let named = ContactQuery {
        first_name: Some("Ann".into()),
        last_name: Some("Berg".into()),
        ..Default::default()
    };
    let _: Vec<Contact> = client.search_contacts(&named).try_collect().await.unwrap();
    let queries: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.query().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        queries,
        [
            "sortBy=contactId&startindex=1&maxrows=500",
            "firstname=Ann&lastname=Berg&startindex=1&maxrows=500"
        ]
    );
    // sortBy with a condition would be ignored by the service: refused.
    let mixed = ContactQuery {
        email: Some("a@example.com".into()),
        sort_by_contact_id: true,
        ..Default::default()
    };
    let err = client
        .search_contacts(&mixed)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
}

/// OA `getSubscriptionCategories` (`GET /v1/subscriptions`), `getContactSubscriptionCategories`
/// and `changeContactSubscriptionCategories` (`GET|PUT /v1/contact/{id}/subscriptions`,
/// `{"subscriptions": [keys]}`).
#[tokio::test]
async fn subscription_categories_of_the_account_and_of_a_contact() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/subscriptions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 1, "key": "news", "groupId": 11, "contactsCount": 5, "name": "News",
             "createdDate": "2024-01-01T00:00:00", "updatedDate": "2024-01-02T00:00:00"},
            {"id": 2, "key": "promo", "groupId": 12, "name": "Promotions"}
        ])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/contact/42/subscriptions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"id":"1","key":"news","groupId":"11","name":"News"}"#),
        )
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/v1/contact/42/subscriptions"))
        .and(body_json(json!({"subscriptions": ["news", "promo"]})))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let all = client.subscription_categories().await.unwrap();
    let keys: Vec<&str> = all.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["news", "promo"]);
    assert_eq!(all[0].contacts_count, Some(5));
    let mine = client.contact_subscriptions(42).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0].key.as_str(), mine[0].group_id), ("news", Some(11)));
    client
        .set_contact_subscriptions(42, &["news", "promo"])
        .await
        .unwrap();
}

/// OA `updateContact` takes `ContactUpdate`, which has no `groups`: a contact read with its
/// memberships is updated without them (memberships change through attach/detach).
#[tokio::test]
async fn an_update_never_sends_groups() {
    let server = server().await;
    Mock::given(method("PUT"))
        .and(path("/api/v1/contact/42"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let mut c = Contact::email("a@b.c");
    c.groups.push(messaging_client::ContactGroup {
        id: Some(3),
        name: "VIP".into(),
        kind: Some("Static".into()),
    });
    client(&server).update_contact(42, &c).await.unwrap();
    assert_eq!(
        only_body(&server, "/api/v1/contact/42").await,
        json!({"channels": [{"type": "email", "value": "a@b.c"}]})
    );
}
