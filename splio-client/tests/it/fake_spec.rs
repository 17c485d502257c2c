//! The fake against the references, not through the client: requests built by hand from the
//! OpenAPI document (shared/api/specs) and the reference notes (shared/api/splio.md), answers
//! compared with the document's own examples.
#![cfg(feature = "fake")]

use serde_json::{Value, json};
use splio_client::fake::{FakeService, FakeSplio};

use crate::common;

/// The OpenAPI document the fake is held to.
fn spec() -> Value {
    let text = std::fs::read_to_string(common::spec_path()).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The document's example answer of `method path` with `status`.
fn example(path: &str, method: &str, status: &str) -> Value {
    spec()["paths"][path][method]["responses"][status]["content"]["application/json"]["examples"]
        ["response"]["value"]
        .clone()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// A hand-made client: `POST /authenticate {"api_key"}`, then `Authorization: Bearer …`.
struct Raw {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Raw {
    async fn new(fake: &FakeSplio) -> Raw {
        let http = reqwest::Client::new();
        let base = fake.base_url();
        let answer: Value = http
            .post(format!("{base}/authenticate"))
            .json(&json!({"api_key": fake.credentials().expose()}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = answer["token"].as_str().unwrap().to_owned();
        Raw { http, base, token }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
}

#[tokio::test]
async fn field_list_has_the_documented_keys_and_no_type() {
    let fake = FakeSplio::start().await;
    fake.seed_field("birthday", splio_client::FieldType::Date);
    let raw = Raw::new(&fake).await;
    let (status, page) = raw.get("/data/fields/contacts").await;
    assert_eq!(status, 200);
    let documented = example("/data/fields/contacts", "get", "200");
    let want = keys(&documented["elements"][0]);
    assert!(!want.contains(&"data_type".to_owned()), "{want:?}");
    let elements = page["elements"].as_array().unwrap();
    assert_eq!(elements.len(), 3);
    for element in elements {
        assert_eq!(keys(element), want, "{element}");
    }
    assert_eq!(keys(&page), keys(&documented));
    // The creation answer is the one documented place that names a type.
    let (status, created) = raw
        .send(
            reqwest::Method::POST,
            "/data/fields",
            Some(json!({"scope": "contacts", "name": "my_field_name", "type": "text"})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        keys(&created),
        keys(&example("/data/fields", "post", "201"))
    );
    assert_eq!(created["data_type"], "text");
}

#[tokio::test]
async fn bulk_answers_name_each_contact_as_splio_normalises_its_key() {
    let fake = FakeSplio::start().await;
    let raw = Raw::new(&fake).await;
    let body = json!({"contacts": [{"email": " Jane@Example.COM"}, {"email": "bob@example.com"}]});
    let (status, answer) = raw
        .send(
            reqwest::Method::POST,
            "/data/contacts/bulk",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 207);
    assert_eq!(
        keys(&answer),
        keys(&example("/data/contacts/bulk", "post", "207"))
    );
    assert_eq!(answer["items"][0]["contact_id"], "jane@example.com");
    assert_eq!(answer["items"][0]["code"], 201);
    assert_eq!(
        fake.contact("jane@example.com").unwrap().email.as_deref(),
        Some("jane@example.com")
    );
    // The same address in another spelling is the same contact.
    let (status, again) = raw
        .send(reqwest::Method::POST, "/data/contacts/bulk", Some(body))
        .await;
    assert_eq!(status, 207);
    assert_eq!(again["errors"], 2);
    assert_eq!(
        again["items"][0]["description"],
        "Contact with unique key jane@example.com already exists"
    );
    let (status, _) = raw.get("/data/contacts/JANE%40example.com").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn creation_date_is_accepted_with_and_without_a_padded_hour() {
    let fake = FakeSplio::start().await;
    let raw = Raw::new(&fake).await;
    // The document's pattern (hour `00|[0-9]|1[0-9]|2[0-3]`) and its own answers
    // (`2019-01-03 09:00:00`) disagree: both forms are taken.
    for (email, date) in [
        ("a@x.com", "2024-01-02 3:04:05"),
        ("b@x.com", "2024-01-02 03:04:05"),
        ("c@x.com", "2018-01-24 15:00:00"),
    ] {
        let (status, answer) = raw
            .send(
                reqwest::Method::POST,
                "/data/contacts",
                Some(json!({"email": email, "creation_date": date})),
            )
            .await;
        assert_eq!(status, 201, "{date}: {answer}");
        assert_eq!(answer["creation_date"], date);
    }
    for date in [
        "2024-01-02",
        "2024-01-02 24:00:00",
        "2024-13-02 3:04:05",
        "2024-01-02T03:04:05",
    ] {
        let (status, answer) = raw
            .send(
                reqwest::Method::POST,
                "/data/contacts",
                Some(json!({"email": "d@x.com", "creation_date": date})),
            )
            .await;
        assert_eq!(status, 400, "{date}");
        assert_eq!(answer["errors"][0]["error_key"], "creation_date");
    }
}

#[tokio::test]
async fn blacklists_filter_on_term() {
    let fake = FakeSplio::start().await;
    use splio_client::Channel;
    fake.seed_blacklist(Channel::Email, "john@doe.com", "custom");
    fake.seed_blacklist(Channel::Email, "big.john@doe.com", "unsub");
    fake.seed_blacklist(Channel::Email, "jane@doe.com", "custom");
    let raw = Raw::new(&fake).await;
    let (status, page) = raw.get("/data/blacklists/emails?term=john%40doe.com").await;
    assert_eq!(status, 200);
    assert_eq!(
        keys(&page),
        keys(&example("/data/blacklists/emails", "get", "200"))
    );
    let numbers: Vec<&str> = page["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, vec!["john@doe.com", "big.john@doe.com"]);
    assert_eq!(page["count_element"], 2);
    let (_, page) = raw
        .get("/data/blacklists/emails?term=john%40doe.com&source=unsub")
        .await;
    assert_eq!(page["count_element"], 1);
}

/// One route per documented operation [E1]: a path Splio does not serve is its bare
/// `404 "Not Found."`, a wrong method `405 "Method Not Allowed."` [E7], and only behind the
/// token check (`401 "Authentication failed."` [E7]).
#[tokio::test]
async fn undocumented_paths_are_404_and_wrong_methods_405_behind_the_token_check() {
    let fake = FakeSplio::start().await;
    let raw = Raw::new(&fake).await;
    for (method, path) in [
        (reqwest::Method::GET, "/data/nothing"),
        (reqwest::Method::DELETE, "/data/blacklists/email/bounce"),
    ] {
        assert_eq!(
            raw.send(method.clone(), path, None).await,
            (404, json!("Not Found.")),
            "{method} {path}"
        );
    }
    // A documented path with a method it does not serve: 405 with the bare string
    // api-evangelist's conventions summary gives [E7].
    for (method, path) in [
        (reqwest::Method::PUT, "/data/contacts/a%40x.com"),
        (reqwest::Method::GET, "/data/blacklists/email"),
        (reqwest::Method::GET, "/authenticate"),
    ] {
        assert_eq!(
            raw.send(method.clone(), path, None).await,
            (405, json!("Method Not Allowed.")),
            "{method} {path}"
        );
    }
    let anonymous = reqwest::Client::new()
        .put(format!("{}/data/nothing", fake.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.json::<Value>().await.unwrap(),
        json!("Authentication failed.")
    );
}

/// A standard attribute or a custom field value that is not a string is refused with the
/// envelope's `wrong_type` (dev-scp's POST/PATCH contact error cases [E2d][E2e]; the document
/// types every contact attribute and `custom_fields[].value` as a string [E1]); nothing is stored.
#[tokio::test]
async fn non_string_values_are_a_400_wrong_type() {
    let fake = FakeSplio::start().await;
    let raw = Raw::new(&fake).await;
    for body in [
        json!({"email": "a@x.com", "firstname": 5}),
        json!({"email": "a@x.com", "lastname": null}),
        json!({"email": "a@x.com", "custom_fields": [{"id": 1, "value": 5}]}),
        json!({"email": "a@x.com", "custom_fields": [{"name": "civility", "value": true}]}),
        json!({"email": 7}),
        json!({"email": "a@x.com", "tracking_consent": [{"channel": "email", "scope": "open", "enabled": "yes"}]}),
        json!({"email": "a@x.com", "tracking_consent": {"channel": "email"}}),
    ] {
        let (status, answer) = raw
            .send(reqwest::Method::POST, "/data/contacts", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["status"], 400, "{answer}");
        assert_eq!(
            answer["errors"][0]["error"], "wrong_type",
            "{body}: {answer}"
        );
    }
    assert!(fake.contacts().is_empty());
    // The schema's own example is accepted.
    let (status, _) = raw
        .send(
            reqwest::Method::POST,
            "/data/contacts",
            Some(json!({"email": "c@x.com", "tracking_consent": [{"channel": "email", "scope": "open", "enabled": true, "date": "2026-07-01 10:00:00"}]})),
        )
        .await;
    assert_eq!(status, 201);
    fake.seed_contact(splio_client::ContactData::with_email("b@x.com").firstname("B"));
    let (status, answer) = raw
        .send(
            reqwest::Method::PATCH,
            "/data/contacts/b%40x.com",
            Some(json!({"firstname": ["x"]})),
        )
        .await;
    assert_eq!(
        (status, &answer["errors"][0]["error"]),
        (400, &json!("wrong_type"))
    );
    assert_eq!(
        fake.contact("b@x.com").unwrap().firstname.as_deref(),
        Some("B")
    );
}

/// `list_ids` is an array of integers (the subscribe/unsubscribe request schema [E1]): strings
/// are a 400, and no membership changes.
#[tokio::test]
async fn list_ids_as_strings_are_a_400() {
    let fake = FakeSplio::start().await;
    let list = fake.seed_list("news");
    fake.seed_contact(splio_client::ContactData::with_email("a@x.com"));
    let raw = Raw::new(&fake).await;
    for action in ["subscribe", "unsubscribe"] {
        let (status, answer) = raw
            .send(
                reqwest::Method::POST,
                &format!("/data/contacts/a%40x.com/lists/{action}"),
                Some(json!({"list_ids": [list.to_string()]})),
            )
            .await;
        assert_eq!(status, 400, "{action}: {answer}");
        assert_eq!(answer["errors"][0]["error"], "wrong_type", "{answer}");
    }
    assert!(fake.contact("a@x.com").unwrap().lists.is_empty());
}

/// Request bodies are `application/json`, the only content type the document declares for
/// them [E1]; another content type is refused (415, with the envelope) and nothing is stored.
#[tokio::test]
async fn a_body_that_is_not_declared_json_is_refused() {
    let fake = FakeSplio::start().await;
    let raw = Raw::new(&fake).await;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = raw
            .http
            .post(format!("{}/data/contacts", raw.base))
            .bearer_auth(&raw.token)
            .body(r#"{"email":"a@x.com"}"#);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{content_type:?}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["status"], 415, "{answer}");
    }
    assert!(fake.contacts().is_empty());
    // With a charset parameter it is JSON.
    let response = raw
        .http
        .post(format!("{}/data/contacts", raw.base))
        .bearer_auth(&raw.token)
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"email":"a@x.com"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

/// `POST /authenticate` with a wrong key: `400` "Authentication failed." [E1], in Splio's
/// error envelope, the shape of every documented 400 [E1].
#[tokio::test]
async fn authenticate_with_a_bad_key_answers_the_envelope() {
    let fake = FakeSplio::start().await;
    for body in [
        json!({"api_key": "wrong"}),
        json!({}),
        json!({"api_key": 5}),
    ] {
        let response = reqwest::Client::new()
            .post(format!("{}/authenticate", fake.base_url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(
            answer,
            json!({"status": 400, "errors": [{"error_key": "api_key", "error": "wrong_value", "error_description": "Authentication failed."}]}),
            "{body}"
        );
    }
}

/// The reorder fault: the next multi-status answer lists the same items, reversed (nothing in
/// the document [E1] promises input order); later answers are in input order again.
#[tokio::test]
async fn the_reorder_fault_reverses_the_next_multi_status_items() {
    let fake = FakeSplio::start().await;
    let raw = Raw::new(&fake).await;
    let body = json!({"contacts": [{"email": "a@x.com"}, {"email": "b@x.com"}]});
    fake.reorder_next_multi_status(1);
    let (status, answer) = raw
        .send(reqwest::Method::POST, "/data/contacts/bulk", Some(body))
        .await;
    assert_eq!(status, 207);
    let ids: Vec<_> = answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["contact_id"].clone())
        .collect();
    assert_eq!(ids, [json!("b@x.com"), json!("a@x.com")]);
    let (_, answer) = raw
        .send(
            reqwest::Method::DELETE,
            "/data/contacts/bulk",
            Some(json!({"contacts": ["a@x.com", "b@x.com"]})),
        )
        .await;
    let ids: Vec<_> = answer["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["contact_id"].clone())
        .collect();
    assert_eq!(ids, [json!("a@x.com"), json!("b@x.com")]);
}

/// Static groups as the document has them [E1]: `name` required, `keys` strings, at most
/// 10,000 (and at least one to add or remove), answers with the examples' keys, `clear`
/// answering `[]`.
#[tokio::test]
async fn groups_answer_as_the_document_shows() {
    let fake = FakeSplio::start().await;
    fake.seed_contact(splio_client::ContactData::with_email("johndoe@splio.com"));
    let raw = Raw::new(&fake).await;
    let post = |path: &'static str, body: Value| raw.send(reqwest::Method::POST, path, Some(body));
    let (status, answer) = post("/target/groups", json!({"description": "no name"})).await;
    assert_eq!(
        (status, &answer["errors"][0]["error_key"]),
        (400, &json!("name"))
    );
    let (status, created) = post(
        "/target/groups",
        json!({"name": "basket > 100", "description": "d", "source": "integrator_vip",
               "keys": ["johndoe@splio.com", "janedoe@gmail.com"]}),
    )
    .await;
    assert_eq!(status, 201);
    let documented = example("/target/groups", "post", "201");
    assert_eq!(keys(&created), keys(&documented));
    assert_eq!(keys(&created["group"]), keys(&documented["group"]));
    assert_eq!(created["keys_not_found"], json!(["janedoe@gmail.com"]));
    assert_eq!(created["group"]["members"], 1);
    let id = created["group"]["id"].as_u64().unwrap();
    let add = format!("/target/groups/{id}/add");
    for (body, error) in [
        (json!({"keys": []}), "wrong_value"),
        (json!({"keys": [5]}), "wrong_type"),
        (json!({"keys": vec!["k"; 10_001]}), "wrong_value"),
        (json!({}), "wrong_value"),
    ] {
        let (status, answer) = raw
            .send(reqwest::Method::POST, &add, Some(body.clone()))
            .await;
        assert_eq!(
            (status, &answer["errors"][0]["error"]),
            (400, &json!(error)),
            "{body}"
        );
    }
    fake.seed_contact(splio_client::ContactData::with_email("ann@x.com"));
    let (status, added) = raw
        .send(
            reqwest::Method::POST,
            &add,
            Some(json!({"keys": ["ann@x.com", "nobody@x.com"]})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        keys(&added),
        keys(&example("/target/groups/{id}/add", "post", "200"))
    );
    assert_eq!(
        (
            added["nb_inserted_contacts"].clone(),
            added["nb_total_contacts"].clone()
        ),
        (json!(1), json!(2))
    );
    let (status, removed) = raw
        .send(
            reqwest::Method::POST,
            &format!("/target/groups/{id}/remove"),
            Some(json!({"keys": ["ann@x.com"]})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        keys(&removed),
        keys(&example("/target/groups/{id}/remove", "post", "200"))
    );
    assert_eq!(removed["nb_removed_contacts"], 1);
    let (status, page) = raw.get("/target/groups/list").await;
    assert_eq!(status, 200);
    let documented = example("/target/groups/list", "get", "200");
    assert_eq!(keys(&page["elements"][0]), keys(&documented["elements"][0]));
    assert_eq!(page["per_page"], 20);
    let (status, cleared) = raw
        .send(
            reqwest::Method::POST,
            &format!("/target/groups/{id}/clear"),
            None,
        )
        .await;
    assert_eq!(
        (status, cleared),
        (200, example("/target/groups/{id}/clear", "post", "200"))
    );
    assert_eq!(fake.group_members(id), Some(vec![]));
    let (status, _) = raw
        .send(
            reqwest::Method::POST,
            "/target/groups/999/add",
            Some(json!({"keys": ["ann@x.com"]})),
        )
        .await;
    assert_eq!(status, 404);
}

/// Activities [E1]: the example's element keys, the `channel` enum, and the document's 404
/// body for an unknown contact.
#[tokio::test]
async fn activities_answer_as_the_document_shows() {
    let fake = FakeSplio::start().await;
    fake.seed_contact(splio_client::ContactData::with_email("a@x.com"));
    fake.seed_activity("a@x.com", "email", "opened");
    fake.seed_activity("a@x.com", "sms", "delivered");
    let raw = Raw::new(&fake).await;
    let (status, page) = raw.get("/data/contacts/a%40x.com/activities").await;
    assert_eq!(status, 200);
    let documented = example("/data/contacts/{id}/activities", "get", "200");
    assert_eq!(keys(&page["elements"][0]), keys(&documented["elements"][0]));
    assert_eq!(page["count_element"], 2);
    let (_, page) = raw
        .get("/data/contacts/a%40x.com/activities?channel=sms")
        .await;
    assert_eq!(page["elements"].as_array().unwrap().len(), 1);
    let (status, _) = raw
        .get("/data/contacts/a%40x.com/activities?channel=fax")
        .await;
    assert_eq!(status, 400);
    let (status, answer) = raw.get("/data/contacts/nobody%40x.com/activities").await;
    assert_eq!(
        (status, answer),
        (404, example("/data/contacts/{id}/activities", "get", "404"))
    );
}

/// The `fields` search filter [E1] in each form it may come (JSON array in the query, PHP
/// brackets, JSON body [E11]); an unknown key or operator is a 400.
#[tokio::test]
async fn the_search_filter_is_read_in_every_known_encoding() {
    let fake = FakeSplio::start().await;
    fake.seed_contact(splio_client::ContactData::with_email("ann@x.com").lastname("Doe"));
    fake.seed_contact(splio_client::ContactData::with_email("bob@x.com").lastname("Roe"));
    let raw = Raw::new(&fake).await;
    let condition = json!([{"key": "lastname", "operator": "equal", "value": "Doe"}]);
    let encoded: String =
        url::form_urlencoded::byte_serialize(condition.to_string().as_bytes()).collect();
    let by_query = raw.get(&format!("/data/contacts?fields={encoded}")).await;
    let by_brackets = raw
        .get("/data/contacts?fields%5B0%5D%5Bkey%5D=lastname&fields%5B0%5D%5Boperator%5D=equal&fields%5B0%5D%5Bvalue%5D=Doe")
        .await;
    let by_body = raw
        .send(
            reqwest::Method::GET,
            "/data/contacts",
            Some(json!({"fields": condition})),
        )
        .await;
    for (status, page) in [by_query, by_brackets, by_body] {
        assert_eq!(status, 200);
        assert_eq!(page["count_element"], 1, "{page}");
        assert_eq!(page["elements"][0]["email"], "ann@x.com");
    }
    for bad in [
        json!([{"key": "shoe_size", "operator": "equal", "value": "1"}]),
        json!([{"key": "lastname", "operator": "like", "value": "D"}]),
        json!([{"key": "lastname"}]),
    ] {
        let encoded: String =
            url::form_urlencoded::byte_serialize(bad.to_string().as_bytes()).collect();
        let (status, answer) = raw.get(&format!("/data/contacts?fields={encoded}")).await;
        assert_eq!(
            (status, &answer["errors"][0]["error_key"]),
            (400, &json!("fields")),
            "{bad}"
        );
    }
}

/// Whether Splio matches email keys exactly is not documented (shared/api/splio.md: the API
/// reference [E1] is silent; the Datahub contacts file wants emails lower case [E5]): the fake
/// models both. Raw requests: a contact created as `Mixed.Case@Example.com` is found under
/// either form by default, only under its own form with `EmailKeys::Exact`, where the
/// lower-case form is another contact (a second one can be created).
#[tokio::test]
async fn email_keys_are_case_insensitive_by_default_and_exact_when_set() {
    use splio_client::fake::EmailKeys;
    for (keys, lower_found, lower_creates) in [
        (EmailKeys::CaseInsensitive, 200, 400),
        (EmailKeys::Exact, 404, 201),
    ] {
        let fake = FakeSplio::start().await;
        fake.set_email_keys(keys);
        let raw = Raw::new(&fake).await;
        let (status, _) = raw
            .send(
                reqwest::Method::POST,
                "/data/contacts",
                Some(json!({"email": "Mixed.Case@Example.com"})),
            )
            .await;
        assert_eq!(status, 201, "{keys:?}");
        let (status, held) = raw.get("/data/contacts/Mixed.Case%40Example.com").await;
        assert_eq!(status, 200, "{keys:?}");
        let (status, _) = raw.get("/data/contacts/mixed.case%40example.com").await;
        assert_eq!(status, lower_found, "{keys:?}");
        let (status, _) = raw
            .send(
                reqwest::Method::PATCH,
                "/data/contacts/mixed.case%40example.com",
                Some(json!({"firstname": "Ann"})),
            )
            .await;
        assert_eq!(status, lower_found, "{keys:?}");
        let (_, page) = raw.get("/data/contacts?page=1&per_page=10").await;
        let listed: Vec<&str> = page["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["email"].as_str().unwrap())
            .collect();
        match keys {
            EmailKeys::CaseInsensitive => {
                assert_eq!(held["email"], "mixed.case@example.com");
                assert_eq!(listed, ["mixed.case@example.com"]);
            }
            EmailKeys::Exact => {
                assert_eq!(held["email"], "Mixed.Case@Example.com");
                assert_eq!(listed, ["Mixed.Case@Example.com"]);
            }
        }
        let (status, _) = raw
            .send(
                reqwest::Method::POST,
                "/data/contacts",
                Some(json!({"email": "mixed.case@example.com"})),
            )
            .await;
        assert_eq!(status, lower_creates, "{keys:?}");
    }
}
