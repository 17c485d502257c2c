//! Static groups (`/target/groups`) and a contact's activities, per the OpenAPI document [E1]
//! (source tags refer to shared/api/splio.md).

use std::collections::{BTreeSet, HashMap};

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::routes::{Answer, Paging, envelope};
use super::state::State;

/// A static group.
#[derive(Clone, Debug, Default)]
pub(crate) struct FakeGroup {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) members: BTreeSet<String>,
}

/// The `keys` of a group body: an array of strings, at most 10,000 (`maxItems` of the create
/// body and of the `Payload` request body [E1]), at least one where `minItems` is 1 (add and
/// remove [E1]); strings only (`items.type: string` [E1]).
fn keys(body: &Value, required: bool) -> Result<Vec<String>, Answer> {
    let bad = |error: &str, d: &str| Err(envelope(StatusCode::BAD_REQUEST, "keys", error, d));
    let Some(keys) = body.get("keys") else {
        return if required {
            bad("wrong_value", "keys is required.")
        } else {
            Ok(Vec::new())
        };
    };
    let Some(keys) = keys.as_array() else {
        return bad("wrong_type", "keys must be an array.");
    };
    let Some(keys) = keys
        .iter()
        .map(|k| k.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
    else {
        return bad("wrong_type", "keys must be strings.");
    };
    if keys.len() > 10_000 || (required && keys.is_empty()) {
        return bad("wrong_value", "Between 1 and 10000 keys are accepted.");
    }
    Ok(keys)
}

fn group_not_found(id: &str) -> Answer {
    // The document declares no 404 for group paths; the envelope as for contacts [E2e].
    envelope(
        StatusCode::NOT_FOUND,
        "id",
        "wrong_value",
        format!("Group not found for id {id}."),
    )
}

impl State {
    /// The keys of `keys` that name a contact, as stored, and those that do not.
    fn split_keys(&self, keys: &[String]) -> (Vec<String>, Vec<String>) {
        let (mut found, mut missing) = (Vec::new(), Vec::new());
        for k in keys {
            let stored = self.stored_key(k);
            if self.contacts.contains_key(&stored) {
                found.push(stored);
            } else {
                missing.push(k.clone());
            }
        }
        (found, missing)
    }

    /// `POST /target/groups {"name", "description", "source", "keys"}` → `201 {"group",
    /// "keys_not_found"}` [E1]; `name` is required [E1].
    pub(crate) fn create_group(&mut self, body: &Value) -> Answer {
        let Some(name) = body
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
        else {
            return envelope(
                StatusCode::BAD_REQUEST,
                "name",
                "wrong_value",
                "name is required.",
            );
        };
        let keys = match keys(body, false) {
            Ok(k) => k,
            Err(e) => return e,
        };
        let text = |n: &str| body.get(n).and_then(Value::as_str).map(str::to_owned);
        let (found, missing) = self.split_keys(&keys);
        let id = self.groups.keys().next_back().map_or(1, |k| k + 1);
        let group = FakeGroup {
            name: name.to_owned(),
            description: text("description"),
            source: text("source"),
            members: found.into_iter().collect(),
        };
        let answer = json!({
            "group": {"id": id, "name": group.name, "description": group.description,
                      "members": group.members.len(), "user_creator": "api", "source": group.source},
            "keys_not_found": missing,
        });
        self.groups.insert(id, group);
        (StatusCode::CREATED, answer)
    }

    /// `POST /target/groups/{id}/add|remove {"keys"}` → `{"group_id", "nb_total_contacts",
    /// "nb_inserted_contacts"|"nb_removed_contacts", "keys_not_found"}` [E1].
    pub(crate) fn change_group(&mut self, id: &str, add: bool, body: &Value) -> Answer {
        let keys = match keys(body, true) {
            Ok(k) => k,
            Err(e) => return e,
        };
        let (found, missing) = self.split_keys(&keys);
        let Some(group) = id.parse().ok().and_then(|id: u64| self.groups.get_mut(&id)) else {
            return group_not_found(id);
        };
        let changed = found
            .into_iter()
            .filter(|k| {
                if add {
                    group.members.insert(k.clone())
                } else {
                    group.members.remove(k)
                }
            })
            .count();
        let count = if add {
            "nb_inserted_contacts"
        } else {
            "nb_removed_contacts"
        };
        let mut answer = json!({"group_id": id.parse::<u64>().unwrap_or_default(),
            "nb_total_contacts": group.members.len(), "keys_not_found": missing});
        answer[count] = json!(changed);
        (StatusCode::OK, answer)
    }

    /// `POST /target/groups/{id}/clear` → `200 []` [E1].
    pub(crate) fn clear_group(&mut self, id: &str) -> Answer {
        match id.parse().ok().and_then(|id: u64| self.groups.get_mut(&id)) {
            Some(group) => {
                group.members.clear();
                (StatusCode::OK, json!([]))
            }
            None => group_not_found(id),
        }
    }

    /// `GET /target/groups/list`: a page (default 20 [E1]) of the example's element shape.
    pub(crate) fn list_groups(&self, query: &HashMap<String, String>) -> Answer {
        let elements = self
            .groups
            .iter()
            .map(|(id, g)| {
                let with = |f: fn(&super::FakeContact) -> bool| {
                    g.members
                        .iter()
                        .filter(|k| self.contacts.get(*k).is_some_and(f))
                        .count()
                };
                json!({"intid": id, "id": id, "name": g.name, "nb_binded_members": null, "tags": [],
                       "updated_at": "0000-00-00 00:00:00", "status": "active", "is_favorite": false,
                       "is_protected": false,
                       "nb_emails": with(|c| c.email.as_deref().is_some_and(|e| !e.is_empty())),
                       "nb_sms": with(|c| c.cellphone.as_deref().is_some_and(|p| !p.is_empty()))})
            })
            .collect();
        Paging::of(query, 20, elements)
    }

    /// `GET /data/contacts/{id}/activities`: `channel` one of `email`, `sms`, `x_channel`,
    /// `fwd_email` [E1]; a page (default 20 [E1]); an unknown contact is the document's 404
    /// `{"error_key":"ext_id","error":"wrong_value","error_description":"Individual not found
    /// for given identifier."}` [E1].
    pub(crate) fn list_activities(&self, key: &str, query: &HashMap<String, String>) -> Answer {
        if !self.contacts.contains_key(key) {
            return envelope(
                StatusCode::NOT_FOUND,
                "ext_id",
                "wrong_value",
                "Individual not found for given identifier.",
            );
        }
        let channel = query.get("channel").map(String::as_str);
        if channel.is_some_and(|c| !["email", "sms", "x_channel", "fwd_email"].contains(&c)) {
            return envelope(
                StatusCode::BAD_REQUEST,
                "channel",
                "wrong_value",
                "channel must be one of email, sms, x_channel, fwd_email.",
            );
        }
        let elements = self
            .activities
            .iter()
            .filter(|(k, a)| k == key && channel.is_none_or(|c| a["channel"] == c))
            .map(|(_, a)| a.clone())
            .collect();
        Paging::of(query, 20, elements)
    }
}
