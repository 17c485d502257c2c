//! What the fake holds, and authentication (`POST /authenticate`, Bearer JWTs that expire).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use base64::Engine;
use indexmap::IndexMap;
use serde_json::{Value, json};

use super::{API_KEY, FakeContact};

use crate::blacklists::Channel;
use crate::fields::FieldType;
use crate::universe::UniqueKey;

/// A custom field definition.
#[derive(Clone, Debug)]
pub(crate) struct FakeField {
    pub(crate) name: String,
    pub(crate) ty: FieldType,
    pub(crate) is_system: bool,
}

/// How the fake matches an email unique key. Whether Splio's API matches email keys exactly
/// or ignores case is not documented (shared/api/splio.md, docs/splio-conformance.md): the API
/// reference \[E1\] says nothing; only the Datahub contacts file requires emails in lower case
/// \[E5\], and every `contact_id` of the reference's examples is lower case \[E1\]. Both
/// behaviours are modelled, so a client is tested against each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EmailKeys {
    /// Emails are trimmed and lower-cased when stored and when looked up: `Mixed.Case@Example.com`
    /// and `mixed.case@example.com` are one contact (the default, as before).
    #[default]
    CaseInsensitive,
    /// Emails are trimmed and kept as given: a contact created as `Mixed.Case@Example.com` is
    /// found only under that form, and `mixed.case@example.com` is another contact.
    Exact,
}

/// The whole state, behind one mutex.
pub(crate) struct State {
    pub(crate) unique_key: UniqueKey,
    /// How email keys are matched (see [`EmailKeys`]).
    pub(crate) email_keys: EmailKeys,
    pub(crate) token_ttl: Duration,
    /// The API key `/authenticate` accepts.
    pub(crate) api_key: String,
    pub(crate) tokens: HashMap<String, Instant>,
    pub(crate) issued: u64,
    pub(crate) contacts: IndexMap<String, FakeContact>,
    pub(crate) next_id: i64,
    pub(crate) fields: BTreeMap<u32, FakeField>,
    pub(crate) lists: BTreeMap<u64, String>,
    /// Per channel: touchpoint → (source, creation date).
    pub(crate) blacklists: HashMap<Channel, IndexMap<String, (String, String)>>,
    pub(crate) auth_count: usize,
    /// How many of the next multi-status answers list their items in reverse order.
    pub(crate) reorder_multi_status: usize,
    /// Static groups by id.
    pub(crate) groups: BTreeMap<u64, super::groups::FakeGroup>,
    /// Activities: (contact key as stored, activity as answered).
    pub(crate) activities: Vec<(String, Value)>,
}

impl State {
    /// An email-keyed universe with the OpenAPI example's fields `0 ext_id` (system) and
    /// `1 civility` [E1], both text.
    pub(crate) fn new() -> State {
        let mut fields = BTreeMap::new();
        for (id, name, is_system) in [(0, "ext_id", true), (1, "civility", false)] {
            fields.insert(
                id,
                FakeField {
                    name: name.into(),
                    ty: FieldType::Text,
                    is_system,
                },
            );
        }
        State {
            unique_key: UniqueKey::Email,
            email_keys: EmailKeys::default(),
            token_ttl: Duration::from_secs(3600),
            api_key: API_KEY.to_string(),
            tokens: HashMap::new(),
            issued: 0,
            contacts: IndexMap::new(),
            next_id: 1,
            fields,
            lists: BTreeMap::new(),
            blacklists: HashMap::new(),
            auth_count: 0,
            reorder_multi_status: 0,
            groups: BTreeMap::new(),
            activities: Vec::new(),
        }
    }

    /// `POST /authenticate {"api_key"}` → `{"token"}`; a wrong key is `400 "Authentication
    /// failed."` [E1], in the error envelope every documented 400 has [E1] (the document gives
    /// the description, not the body). Only `api_key` is read (the document's `password` is
    /// undefined; every public client sends `api_key` alone [E10][E12][E13]).
    pub(crate) fn authenticate(&mut self, body: Option<&Value>) -> (StatusCode, axum::Json<Value>) {
        if body.and_then(|b| b.get("api_key")).and_then(Value::as_str)
            != Some(self.api_key.as_str())
        {
            let (status, body) = super::routes::envelope(
                StatusCode::BAD_REQUEST,
                "api_key",
                "wrong_value",
                "Authentication failed.",
            );
            return (status, axum::Json(body));
        }
        self.issued += 1;
        self.auth_count += 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = json!({"exp": (now + self.token_ttl).as_secs(), "jti": self.issued});
        let token = format!(
            "{}.{}.{}",
            engine.encode(r#"{"alg":"none"}"#),
            engine.encode(payload.to_string()),
            self.issued
        );
        self.tokens
            .insert(token.clone(), Instant::now() + self.token_ttl);
        (StatusCode::OK, axum::Json(json!({"token": token})))
    }

    /// `Authorization: Bearer <token>` with a token issued here and not expired (securityScheme
    /// `Bearer` [E1]).
    pub(crate) fn authorized(&self, header: Option<&str>) -> bool {
        header
            .and_then(|h| h.strip_prefix("Bearer "))
            .and_then(|t| self.tokens.get(t))
            .is_some_and(|expiry| *expiry > Instant::now())
    }
}
