//! Events (`POST /v1/event`, `POST /v2/event`): checked against the documented limits before
//! sending, and never retried once the request may have reached the service.

use reqwest::Method;
use serde::Serialize;

use crate::client::{Bucket, Client, Request};
use crate::error::{Error, Result};

/// Maximum characters of `eventTypeKey` (and of a contact bulk's `eventKeyForNewContacts`).
pub const MAX_EVENT_TYPE_KEY_CHARS: usize = 100;
/// Maximum characters of `keyValue`.
pub const MAX_KEY_VALUE_CHARS: usize = 300;
/// Maximum serialized body size (20 KB).
pub const MAX_EVENT_BODY_BYTES: usize = 20 * 1024;
/// Characters the service forbids in `eventTypeKey` and `keyValue`.
pub const FORBIDDEN_KEY_CHARS: &[char] = &[
    '<', ';', '’', '\\', '/', '|', '"', '`', '\'', '^', '?', '!', ',', '>',
];
/// Parameter names the service accepts as the contact identifier when `keyValue` is absent.
pub const CONTACT_PARAMS: &[&str] = &[
    "contactId",
    "externalCustomerId",
    "email",
    "phone",
    "pushToken",
];

/// An event. `Event<String>` ([`EventV1`]) has string values; `Event<serde_json::Value>`
/// ([`EventV2`]) any JSON values, sent without escaping.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event<V = String> {
    /// Event type key (created automatically if unknown). ≤ 100 characters.
    pub event_type_key: String,
    /// Uniqueness key (email, phone, external id...). ≤ 300 characters. When absent, `params`
    /// must name the contact: one of [`CONTACT_PARAMS`] with a value (not `""`, blanks,
    /// `"null"` or `null`, which the service ignores).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_value: Option<String>,
    /// Parameters, available in templates as `$!data.get('name')`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<EventParam<V>>,
}

/// One `{ "name": ..., "value": ... }` event parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventParam<V = String> {
    /// Parameter name.
    pub name: String,
    /// Parameter value.
    pub value: V,
}

/// A v1 event: every value a string.
pub type EventV1 = Event<String>;
/// A v2 event: values are any JSON.
pub type EventV2 = Event<serde_json::Value>;

impl<V> Event<V> {
    /// An event of the given type, with no key value or parameters yet.
    ///
    /// ```
    /// use messaging_client::EventV2;
    /// let e = EventV2::new("create_contact")
    ///     .key_value("site@com.net")
    ///     .param("json", serde_json::json!({"profileInputs": []}));
    /// assert_eq!(e.params.len(), 1);
    /// ```
    pub fn new(event_type_key: impl Into<String>) -> Self {
        Event {
            event_type_key: event_type_key.into(),
            key_value: None,
            params: Vec::new(),
        }
    }

    /// Sets `keyValue`.
    pub fn key_value(mut self, key_value: impl Into<String>) -> Self {
        self.key_value = Some(key_value.into());
        self
    }

    /// Appends a parameter.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<V>) -> Self {
        self.params.push(EventParam {
            name: name.into(),
            value: value.into(),
        });
        self
    }
}

/// Checks a key against the length limit and the forbidden characters.
pub(crate) fn check_key(field: &str, value: &str, max_chars: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(Error::invalid(
            field,
            format!("{chars} characters, at most {max_chars} allowed"),
        ));
    }
    if let Some(c) = value.chars().find(|c| FORBIDDEN_KEY_CHARS.contains(c)) {
        return Err(Error::invalid(field, format!("forbidden character {c:?}")));
    }
    Ok(())
}

/// Whether a parameter names the contact: one of [`CONTACT_PARAMS`] with a value. The service
/// ignores an `externalCustomerId` of `""`, blanks, `"null"` or `null` [E4, Generate event
/// v2]; such values name nobody, whatever the parameter and the API version.
fn names_contact<V: Serialize>(p: &EventParam<V>) -> bool {
    CONTACT_PARAMS.contains(&p.name.as_str())
        && match serde_json::to_value(&p.value) {
            Ok(serde_json::Value::Null) | Err(_) => false,
            Ok(serde_json::Value::String(s)) => {
                let s = s.trim();
                !s.is_empty() && !s.eq_ignore_ascii_case("null")
            }
            Ok(_) => true,
        }
}

impl<V: Serialize> Event<V> {
    /// Validates the event and returns its JSON body.
    fn encode(&self) -> Result<Vec<u8>> {
        check_key(
            "eventTypeKey",
            &self.event_type_key,
            MAX_EVENT_TYPE_KEY_CHARS,
        )?;
        match &self.key_value {
            Some(kv) => check_key("keyValue", kv, MAX_KEY_VALUE_CHARS)?,
            None if !self.params.iter().any(names_contact) => {
                return Err(Error::invalid(
                    "keyValue",
                    format!(
                        "absent, and no contact parameter ({}) with a value in params \
                         (\"\", blanks, \"null\" and null name nobody)",
                        CONTACT_PARAMS.join(", ")
                    ),
                ));
            }
            None => {}
        }
        for (i, p) in self.params.iter().enumerate() {
            if p.name.trim().is_empty() {
                return Err(Error::invalid(
                    format!("params[{i}].name"),
                    "must not be empty",
                ));
            }
        }
        let body = serde_json::to_vec(self).map_err(|e| Error::invalid("params", e.to_string()))?;
        if body.len() > MAX_EVENT_BODY_BYTES {
            return Err(Error::invalid(
                "body",
                format!(
                    "{} bytes, the service accepts at most {MAX_EVENT_BODY_BYTES}",
                    body.len()
                ),
            ));
        }
        Ok(body)
    }
}

impl Client {
    /// Generates an event with string values, on `POST /v2/event` by default (OA marks
    /// `/v1/event` deprecated; [`ClientBuilder::event_api`](crate::ClientBuilder::event_api)
    /// picks v1). **Not idempotent**: retried only on a connect failure or a 429. Invalid
    /// events fail with [`Error::InvalidInput`] naming the field, before anything is sent.
    ///
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use messaging_client::EventV1;
    /// client.generate_event(&EventV1::new("testEvent")
    ///     .key_value("example@email.com")
    ///     .param("discount", "5%")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn generate_event(&self, event: &EventV1) -> Result<()> {
        let version = match self.event_api() {
            crate::EventApi::V1 => "v1",
            crate::EventApi::V2 => "v2",
        };
        self.post_event(version, event.encode()?).await
    }

    /// Generates a v2 event (any JSON values, no escaping). **Not idempotent** (see
    /// [`generate_event`](Self::generate_event)).
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// use messaging_client::EventV2;
    /// client.generate_event_v2(&EventV2::new("cart").key_value("a@example.com")
    ///     .param("items", serde_json::json!([{"sku": "A1", "qty": 2}]))).await?;
    /// # Ok(()) }
    /// ```
    pub async fn generate_event_v2(&self, event: &EventV2) -> Result<()> {
        self.post_event("v2", event.encode()?).await
    }

    async fn post_event(&self, version: &str, body: Vec<u8>) -> Result<()> {
        let req = Request::new(Method::POST, &[version, "event"])
            .raw_json(body)
            .bucket(Bucket::Events);
        self.send(req).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: Error) -> String {
        match e {
            Error::InvalidInput { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn limits() {
        let ok = EventV1::new("a".repeat(100)).key_value("k".repeat(300));
        assert!(ok.encode().is_ok());
        assert_eq!(
            field_of(
                EventV1::new("a".repeat(101))
                    .key_value("k")
                    .encode()
                    .unwrap_err()
            ),
            "eventTypeKey"
        );
        assert_eq!(
            field_of(
                EventV1::new("a")
                    .key_value("k".repeat(301))
                    .encode()
                    .unwrap_err()
            ),
            "keyValue"
        );
        for c in FORBIDDEN_KEY_CHARS {
            let e = EventV1::new(format!("ev{c}")).key_value("k");
            assert_eq!(field_of(e.encode().unwrap_err()), "eventTypeKey", "{c}");
            let e = EventV1::new("ev").key_value(format!("k{c}"));
            assert_eq!(field_of(e.encode().unwrap_err()), "keyValue", "{c}");
        }
        assert_eq!(
            field_of(EventV1::new("ev").encode().unwrap_err()),
            "keyValue"
        );
        assert!(EventV1::new("ev").param("email", "a@b.c").encode().is_ok());
        let big = EventV1::new("ev")
            .key_value("k")
            .param("blob", "x".repeat(MAX_EVENT_BODY_BYTES));
        assert_eq!(field_of(big.encode().unwrap_err()), "body");
        // Multi-byte characters count as characters, not bytes.
        assert!(
            EventV1::new("é".repeat(100))
                .key_value("k")
                .encode()
                .is_ok()
        );
    }
}
