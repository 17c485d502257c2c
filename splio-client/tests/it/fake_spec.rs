//! The fake against the references, not through the client: requests built by hand from the
//! OpenAPI document (shared/api/specs) and the reference notes (shared/api/splio.md), answers
//! compared with the document's own examples.
#![cfg(feature = "fake")]

use serde_json::{Value, json};
use splio_client::fake::FakeSplio;

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
            .json(&json!({"api_key": fake.api_key()}))
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

/// One route per documented operation [E1]: a path or method Splio does not serve is its bare
/// `404 "Not Found."`, and only behind the token check (`401 "Authentication failed."` [E7]).
#[tokio::test]
async fn undocumented_paths_and_methods_are_not_found_behind_the_token_check() {
    let fake = FakeSplio::start().await;
    let raw = Raw::new(&fake).await;
    for (method, path) in [
        (reqwest::Method::GET, "/data/nothing"),
        (reqwest::Method::PUT, "/data/contacts/a%40x.com"),
        (reqwest::Method::GET, "/data/blacklists/email"),
        (reqwest::Method::DELETE, "/data/blacklists/email/bounce"),
        (reqwest::Method::GET, "/authenticate"),
    ] {
        assert_eq!(
            raw.send(method.clone(), path, None).await,
            (404, json!("Not Found.")),
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
