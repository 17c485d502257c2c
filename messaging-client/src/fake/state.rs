//! What the fake remembers between requests.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use serde_json::Value;

use super::RecordedEvent;

/// A sent message's status, as `GET /v1/message/status` reports it.
#[derive(Debug, Clone)]
pub(super) struct StatusEntry {
    pub(super) status: String,
    pub(super) delivered: bool,
    pub(super) failed: bool,
}

/// A contact import session (`asyncSessionId`): polls to go before it ends, whether it ends in
/// `ERROR`, the import it applies when it finishes, and the `mapping` it reports then.
#[derive(Debug, Clone)]
pub(super) struct ImportSession {
    pub(super) polls_left: u32,
    pub(super) failed: bool,
    pub(super) job: Option<ImportJob>,
    pub(super) mapping: Vec<Value>,
}

/// A bulk import request, checked and waiting for its session to run.
#[derive(Debug, Clone)]
pub(super) struct ImportJob {
    pub(super) contacts: Vec<Value>,
    pub(super) dedupe_on: String,
    pub(super) field_id: Option<i64>,
    pub(super) contact_fields: Option<Vec<String>>,
    pub(super) custom_ids: Option<Vec<i64>>,
    pub(super) group_names: Vec<String>,
    pub(super) group_names_exclude: Vec<String>,
    pub(super) event_key: Option<String>,
}

/// A segment and its members.
#[derive(Debug, Clone)]
pub(super) struct Segment {
    pub(super) name: String,
    pub(super) kind: String,
    pub(super) members: BTreeSet<i64>,
}

/// Everything the fake holds, behind one lock.
#[derive(Debug, Default)]
pub(super) struct FakeState {
    pub(super) api_key: String,
    pub(super) unsubscribed: BTreeSet<String>,
    pub(super) events: Vec<RecordedEvent>,
    pub(super) orders: BTreeMap<String, Value>,
    pub(super) statuses: BTreeMap<String, StatusEntry>,
    /// Contact activity entries, oldest first (`GET /v2/contacts/activity`).
    pub(super) activity: Vec<Value>,
    pub(super) next_request: u64,
    pub(super) contacts: BTreeMap<i64, Value>,
    pub(super) next_contact: i64,
    pub(super) imports: HashMap<String, ImportSession>,
    pub(super) next_import: u64,
    pub(super) import_polls: u32,
    pub(super) fail_imports: bool,
    pub(super) address_books: Vec<Value>,
    pub(super) segments: BTreeMap<i64, Segment>,
    /// Recent `contact/subscribe`, `POST /v1/contact` and `PUT /v1/contact/{id}` requests
    /// (method, path and body), to refuse a repeat within a minute.
    pub(super) recent_writes: Vec<(String, Instant)>,
    /// The account's subscription categories (`SubscriptionCategoryDto`).
    pub(super) subscription_categories: Vec<Value>,
    /// Each contact's subscription category keys.
    pub(super) contact_subscriptions: BTreeMap<i64, Vec<String>>,
}
