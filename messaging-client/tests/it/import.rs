//! Lossless contact import (`POST /v1/contacts`): `dedupeOn` is always sent, and each request
//! lists exactly the standard fields (`contactFields`) and custom fields (`customFieldsIDs`) its
//! contacts carry, so no field a contact does not carry is nulled or dropped.

use crate::common;

use common::*;
use std::time::Duration;

use messaging_client::{
    Channel, Contact, ContactField, CustomFields, DedupeOn, Device, Error, ImportMapping,
    ImportOptions, ImportPolling, ImportState, ItemError, StandardFields,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn accepting(server: &MockServer) {
    Mock::given(path("/api/v1/contacts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"asyncSessionId": "s-1"})))
        .mount(server)
        .await;
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    let mut out: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            assert_request_basics(r);
            serde_json::from_slice(&r.body).unwrap()
        })
        .collect();
    out.sort_by_key(|b| b["contacts"][0]["channels"][0]["value"].to_string());
    out
}

fn gender(value: &str) -> ContactField {
    ContactField {
        id: 15868,
        value: value.into(),
    }
}

#[tokio::test]
async fn the_request_lists_the_fields_its_contacts_carry_and_always_names_dedupe_on() {
    let server = server().await;
    accepting(&server).await;
    let mut ann = Contact::email("ann@example.com");
    ann.first_name = Some("Ann".into());
    ann.fields.push(gender("F"));
    let chunks = client(&server)
        .import_contacts(&[ann], &ImportOptions::default())
        .await;
    assert!(chunks[0].result.is_ok());
    assert_eq!(
        bodies(&server).await,
        vec![json!({
            "contacts": [{"firstName": "Ann", "channels": [{"type": "email", "value": "ann@example.com"}],
                          "fields": [{"id": 15868, "value": "F"}]}],
            "dedupeOn": "email",
            "contactFields": ["firstName", "email"],
            "customFieldsIDs": [15868]
        })]
    );
}

#[tokio::test]
async fn contacts_of_different_shapes_go_in_separate_requests() {
    let server = server().await;
    accepting(&server).await;
    let mut a = Contact::email("a@example.com");
    a.first_name = Some("Ann".into());
    a.fields.push(gender("F"));
    let mut b = Contact::email("b@example.com");
    b.last_name = Some("Berg".into());
    b.channels.push(Channel::sms("380501234567"));
    let mut c = Contact::email("c@example.com");
    c.first_name = Some("Cid".into());
    c.fields.push(gender("M"));
    let out = client(&server)
        .import_contacts(&[a, b, c], &ImportOptions::default())
        .await;
    assert!(out.iter().all(|o| o.is_ok()), "{out:?}");
    let bodies = bodies(&server).await;
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    let (ac, b) = (&bodies[0], &bodies[1]);
    assert_eq!(ac["contacts"].as_array().unwrap().len(), 2);
    assert_eq!(ac["contactFields"], json!(["firstName", "email"]));
    assert_eq!(ac["customFieldsIDs"], json!([15868]));
    assert_eq!(b["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(b["contactFields"], json!(["lastName", "email", "sms"]));
    assert!(b.get("customFieldsIDs").is_none(), "{b}");
    for body in &bodies {
        assert_eq!(body["dedupeOn"], "email");
    }
}

fn fast_polling() -> ImportPolling {
    ImportPolling {
        first_interval: Duration::from_millis(1),
        max_interval: Duration::from_millis(2),
        timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn the_documented_contacts_example_goes_out_with_dedupe_on_and_its_field_list() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/contacts"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"asyncSessionId": "5b2b0a4e-1"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut contact = Contact::email("test@mail.com");
    contact.fields.push(ContactField {
        id: 12345,
        value: "...".into(),
    });
    let chunks = client(&server)
        .import_contacts(&[contact], &ImportOptions::default())
        .await;
    assert_eq!(chunks.len(), 1);
    assert_eq!(
        (chunks[0].index, chunks[0].key.email.as_deref()),
        (0, Some("test@mail.com"))
    );
    assert_eq!(
        chunks[0]
            .result
            .as_ref()
            .unwrap()
            .async_session_id
            .as_deref(),
        Some("5b2b0a4e-1")
    );
    // The guide's example [E2] plus what the schema requires (`dedupeOn`) and what keeps the
    // other standard fields untouched (`contactFields`).
    let mut want = fixture("contacts_example.json");
    want["dedupeOn"] = json!("email");
    want["contactFields"] = json!(["email"]);
    assert_eq!(only_body(&server, "/api/v1/contacts").await, want);
}

#[tokio::test]
async fn every_import_option_is_spelled_as_documented() {
    let server = server().await;
    Mock::given(path("/api/v1/contacts"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"asyncSessionId":123,"failedContacts":{"channels":{"type":"email","value":"A@B.C"},"error":"invalid first name"}}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = Contact::email("a@b.c");
    c.first_name = Some("Ann".into());
    c.external_customer_id = Some("C1".into());
    c.channels.push(Channel::sms("380501234567"));
    c.time_zone = Some("Europe/Kyiv".into());
    let options = ImportOptions {
        dedupe_on: DedupeOn::FieldId,
        field_id: Some(77),
        contact_fields: StandardFields::Only(vec!["firstName".into(), "timeZone".into()]),
        custom_fields_ids: CustomFields::Only(vec![1, 2]),
        group_names: vec!["VIP".into()],
        group_names_exclude: vec!["Old".into()],
        restore_deleted: Some(true),
        event_key_for_new_contacts: Some("newContact".into()),
    };
    let chunks = client(&server).import_contacts(&[c], &options).await;
    assert_eq!(chunks.len(), 1);
    assert!(
        matches!(&chunks[0].result, Err(ItemError::Rejected { message }) if message == "invalid first name"),
        "matched by email, any case: {:?}",
        chunks[0].result
    );
    assert_eq!(
        only_body(&server, "/api/v1/contacts").await,
        json!({"contacts": [{"firstName": "Ann", "externalCustomerId": "C1", "timeZone": "Europe/Kyiv",
                             "channels": [{"type": "email", "value": "a@b.c"}, {"type": "sms", "value": "380501234567"}]}],
               "dedupeOn": "fieldId", "fieldId": 77, "contactFields": ["firstName", "timeZone"],
               "customFieldsIDs": [1, 2], "groupNames": ["VIP"], "groupNamesExclude": ["Old"],
               "restoreDeleted": true, "eventKeyForNewContacts": "newContact"})
    );
}

#[tokio::test]
async fn all_omits_contact_fields_and_every_dedupe_value_is_spelled_as_documented() {
    let server = server().await;
    accepting(&server).await;
    let client = client(&server);
    let dedupes = [
        (DedupeOn::Email, "email"),
        (DedupeOn::Sms, "sms"),
        (DedupeOn::Push, "push"),
        (DedupeOn::EmailOrSms, "email_or_sms"),
        (DedupeOn::Id, "id"),
        (DedupeOn::ExternalCustomerId, "externalCustomerId"),
    ];
    for (n, (dedupe_on, _)) in dedupes.iter().enumerate() {
        let options = ImportOptions {
            dedupe_on: dedupe_on.clone(),
            contact_fields: StandardFields::All,
            ..Default::default()
        };
        let _ = client
            .import_contacts(&[Contact::email(format!("{n}@x.com"))], &options)
            .await;
    }
    let bodies = bodies(&server).await;
    for (body, (_, wire)) in bodies.iter().zip(dedupes) {
        assert_eq!(body["dedupeOn"], wire);
        assert!(body.get("contactFields").is_none(), "{body}");
    }
}

#[tokio::test]
async fn failed_contacts_land_on_the_contact_they_name_and_an_error_message_rejects_the_request() {
    let server = server().await;
    Mock::given(path("/api/v1/contacts"))
        .respond_with(|req: &wiremock::Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            if body["contacts"].as_array().unwrap().len() == 1 {
                return ResponseTemplate::new(200)
                    .set_body_json(json!({"errorMessage": "Contacts limit exceeded"}));
            }
            // Listed in reverse, one by externalCustomerId (a number), one by phone.
            ResponseTemplate::new(200).set_body_json(json!({
                "asyncSessionId": "s-9",
                "failedContacts": [
                    {"channels": [{"type": "sms", "value": "380501234567"}], "error": "bad phone"},
                    {"externalCustomerId": 42, "channels": [], "error": "bad name"},
                    {"channels": [{"type": "email", "value": "nobody@x.com"}], "error": "?"}]}))
        })
        .expect(2)
        .mount(&server)
        .await;
    let mut a = Contact::email("a@x.com");
    a.external_customer_id = Some("42".into());
    let mut c = Contact::email("c@x.com");
    c.external_customer_id = Some("7".into());
    c.channels.push(Channel::sms("380501234567"));
    // One field list for all three, so they travel in one request.
    let ext_only = ImportOptions {
        contact_fields: StandardFields::Only(vec!["externalCustomerId".into()]),
        ..Default::default()
    };
    let client = client(&server);
    let chunks = client
        .import_contacts(&[a, Contact::email("b@x.com"), c], &ext_only)
        .await;
    // One per contact: each refusal on the contact it names; the entry that names no contact
    // of the request leaves the others unknown (one of them was refused), never `Ok`.
    let seen: Vec<(usize, String)> = chunks
        .iter()
        .map(|o| {
            let text = match &o.result {
                Ok(s) => format!("ok {:?}", s.async_session_id),
                Err(ItemError::Rejected { message }) => format!("rejected {message}"),
                Err(e) if e.is_outcome_unknown() => "unknown".into(),
                Err(e) => format!("failed {e}"),
            };
            (o.index, text)
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (0, "rejected bad name".to_string()),
            (1, "unknown".to_string()),
            (2, "rejected bad phone".to_string()),
        ]
    );
    assert_eq!(chunks[0].key.external_customer_id.as_deref(), Some("42"));
    assert!(
        chunks[1].error().unwrap().to_string().contains("(?)"),
        "{:?}",
        chunks[1]
    );
    let chunks = client
        .import_contacts(&[Contact::email("d@x.com")], &ext_only)
        .await;
    assert!(
        matches!(&chunks[0].result, Err(ItemError::Rejected { message }) if message == "Contacts limit exceeded")
    );
}

#[tokio::test]
async fn contacts_that_cannot_be_listed_are_refused_alone_before_sending() {
    let server = server().await;
    accepting(&server).await;
    let mut viber = Contact::email("v@x.com");
    viber.channels.push(Channel::new("viber", "380501234567"));
    let nobody = Contact::default();
    let chunks = client(&server)
        .import_contacts(
            &[Contact::email("a@x.com"), viber, nobody],
            &ImportOptions::default(),
        )
        .await;
    let fields: Vec<_> = chunks
        .iter()
        .map(|c| match &c.result {
            Ok(_) => (c.index, String::new()),
            Err(ItemError::Failed(e)) => match &**e {
                Error::InvalidInput { field, .. } => (c.index, field.clone()),
                other => panic!("{other:?}"),
            },
            Err(other) => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        fields,
        vec![
            (0, String::new()),
            (1, "contacts[1].channels[1].type".into()),
            (2, "contacts[2].channels".into()),
        ]
    );
    assert_eq!(bodies(&server).await.len(), 1);
}

#[tokio::test]
async fn contacts_are_chunked_by_3000_and_bad_options_send_nothing() {
    let server = server().await;
    Mock::given(path("/api/v1/contacts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"asyncSessionId": "s"})))
        .expect(3)
        .mount(&server)
        .await;
    let contacts: Vec<Contact> = (0..7000)
        .map(|i| Contact::email(format!("u{i}@x.com")))
        .collect();
    let client = client(&server);
    let chunks = client
        .import_contacts(&contacts, &ImportOptions::default())
        .await;
    assert_eq!(chunks.len(), 7000, "one outcome per contact");
    assert!(
        chunks
            .iter()
            .enumerate()
            .all(|(i, o)| o.index == i && o.is_ok())
    );
    let sizes: Vec<usize> = bodies(&server)
        .await
        .iter()
        .map(|b| b["contacts"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 7000);
    assert_eq!(sizes.iter().filter(|&&n| n == 3000).count(), 2, "{sizes:?}");
    assert!(sizes.contains(&1000), "{sizes:?}");
    let bad = ImportOptions {
        dedupe_on: DedupeOn::FieldId,
        ..Default::default()
    };
    assert!(
        client.import_contacts(&contacts[..1], &bad).await[0]
            .result
            .is_err()
    );
    let bad = ImportOptions {
        event_key_for_new_contacts: Some("a/b".into()),
        ..Default::default()
    };
    assert!(
        client.import_contacts(&contacts[..1], &bad).await[0]
            .result
            .is_err()
    );
}

#[tokio::test]
async fn wait_for_import_polls_to_the_end() {
    let server = server().await;
    Mock::given(path("/api/v1/importstatus/abc-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "IMPORTING"})))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/importstatus/abc-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "FINISHED", "timestamp": "2024-01-01T10:00:00",
            "mapping": {"dedupeValue": "a@b.c", "contactId": "1"}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/importstatus/bad"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "ERROR", "description": "broken file"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/importstatus/slow"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "STARTED"})))
        .mount(&server)
        .await;
    let client = client(&server);
    let done = client
        .wait_for_import("abc-1", &fast_polling())
        .await
        .unwrap();
    assert_eq!(done.status, ImportState::Finished);
    assert_eq!(done.timestamp.as_deref(), Some("2024-01-01T10:00:00"));
    let mapped: Vec<(Option<&str>, Option<i64>)> = done
        .mapping
        .iter()
        .map(|m: &ImportMapping| (m.dedupe_value.as_deref(), m.contact_id))
        .collect();
    assert_eq!(mapped, vec![(Some("a@b.c"), Some(1))]);
    match client.wait_for_import("bad", &fast_polling()).await {
        Err(Error::ImportFailed { description, .. }) => assert_eq!(description, "broken file"),
        other => panic!("{other:?}"),
    }
    let short = ImportPolling {
        timeout: Duration::from_millis(20),
        ..fast_polling()
    };
    let err = client.wait_for_import("slow", &short).await.unwrap_err();
    assert!(matches!(err, Error::ImportTimedOut { .. }), "{err:?}");
    // The status as the service spelt it, not a Rust `Debug` dump.
    assert!(
        err.to_string()
            .starts_with("contact import slow still STARTED after "),
        "{err}"
    );
}

#[tokio::test]
async fn the_documented_mobile_token_example_with_its_device_object() {
    // "Uploading Your Mobile Token Base" [docs.yespo.io]: a mobilepush channel with `device`.
    let server = server().await;
    accepting(&server).await;
    let mut c = Contact::email("tgsh@gmail.com");
    c.first_name = Some("John".into());
    c.last_name = Some("Smith".into());
    c.channels.insert(
        0,
        Channel::mobilepush(
            "8900-7654-6456-9876-0011",
            Device {
                app_id: Some("83b77a49-fc28-409b-aeaa-68c9d544ab9d".into()),
                device_model: Some("iPhone 13".into()),
                os: Some("Android".into()),
                locale: Some("ua".into()),
                app_version: Some("4.1.6".into()),
                ..Default::default()
            },
        ),
    );
    c.external_customer_id = Some("6add3c31-3ec6-4f34-b20e-8c757fe65270".into());
    c.fields = vec![
        ContactField {
            id: 12345,
            value: "writer".into(),
        },
        ContactField {
            id: 12346,
            value: "1814-03-09".into(),
        },
    ];
    let options = ImportOptions {
        dedupe_on: DedupeOn::ExternalCustomerId,
        ..Default::default()
    };
    let _ = client(&server).import_contacts(&[c], &options).await;
    assert_eq!(
        only_body(&server, "/api/v1/contacts").await,
        json!({"contacts": [{"firstName": "John", "lastName": "Smith",
            "channels": [{"type": "mobilepush", "value": "8900-7654-6456-9876-0011",
                          "device": {"appId": "83b77a49-fc28-409b-aeaa-68c9d544ab9d", "deviceModel": "iPhone 13",
                                     "os": "Android", "locale": "ua", "appVersion": "4.1.6"}},
                         {"type": "email", "value": "tgsh@gmail.com"}],
            "externalCustomerId": "6add3c31-3ec6-4f34-b20e-8c757fe65270",
            "fields": [{"id": 12345, "value": "writer"}, {"id": 12346, "value": "1814-03-09"}]}],
            "dedupeOn": "externalCustomerId",
            // The guide lists the same fields (in its own order).
            "contactFields": ["firstName", "lastName", "email", "mobilepush", "externalCustomerId"],
            "customFieldsIDs": [12345, 12346]})
    );
}

#[test]
fn a_read_device_decodes_leniently() {
    let ch: Channel = serde_json::from_value(json!({"type": "mobilepush", "value": "t",
        "device": {"appId": "a", "active": "true", "clientVersion": "native"}}))
    .unwrap();
    let device = ch.device.unwrap();
    assert_eq!(device.active, Some(true));
    assert_eq!(device.client_version.as_deref(), Some("native"));
}

/// With `eventKeyForNewContacts`, a repeat after a lost answer can start a second session that
/// treats the contacts as new again (OA `contactsBulkUpdate`: requests may be handled
/// concurrently): the import is repeated only when it provably never arrived.
#[tokio::test]
async fn an_import_with_an_event_for_new_contacts_is_not_repeated_after_a_lost_answer() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/contacts"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let options = ImportOptions {
        event_key_for_new_contacts: Some("newContact".into()),
        ..Default::default()
    };
    let chunks = client(&server)
        .import_contacts(&[Contact::email("ann@example.com")], &options)
        .await;
    assert!(chunks[0].result.is_err());
    let sent = server.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1, "a 503 may have been processed: not repeated");
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["eventKeyForNewContacts"], "newContact");

    // A 429 provably was not processed: repeated.
    let server = server_for_429().await;
    let chunks = client(&server)
        .import_contacts(&[Contact::email("ann@example.com")], &options)
        .await;
    assert!(chunks[0].result.is_ok(), "{:?}", chunks[0].result);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// Without the event, the import is an upsert and a repeat after a 503 is harmless.
#[tokio::test]
async fn an_import_without_an_event_is_repeated_after_a_5xx() {
    let server = server().await;
    Mock::given(path("/api/v1/contacts"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    accepting(&server).await;
    let chunks = client(&server)
        .import_contacts(
            &[Contact::email("ann@example.com")],
            &ImportOptions::default(),
        )
        .await;
    assert!(chunks[0].result.is_ok());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

async fn server_for_429() -> MockServer {
    let server = server().await;
    Mock::given(path("/api/v1/contacts"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    accepting(&server).await;
    server
}
