//! Contacts: list, get, create, patch, delete, subscribe/unsubscribe, the bulk operations and
//! opt-out [E1]. What a body may hold is in `contact_body`.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::FakeContact;
use super::contact_body::check_value_types;
use super::routes::{Answer, Paging, envelope};
use super::state::State;

impl State {
    /// A contact as the API returns it [E1] (`id` is left out of subscribe answers).
    pub(crate) fn contact_json(&self, c: &FakeContact, with_id: bool) -> Value {
        let fields: Vec<Value> = c
            .custom_fields
            .iter()
            .map(|(id, v)| {
                // `data_type` is `""` in every contact example of the document [E1].
                json!({"id": id, "name": self.fields.get(id).map(|f| f.name.clone()), "value": v, "data_type": ""})
            })
            .collect();
        let lists: Vec<Value> = c
            .lists
            .iter()
            .map(|id| json!({"id": id, "name": self.lists.get(id)}))
            .collect();
        let mut v = json!({
            "email": c.email.clone().unwrap_or_default(), "cellphone": c.cellphone.clone().unwrap_or_default(),
            "firstname": c.firstname, "lastname": c.lastname, "language": c.language,
            "creation_date": c.creation_date, "custom_fields": fields, "lists": lists, "loyalty": [],
        });
        if with_id {
            v["id"] = json!(c.id);
        }
        v
    }

    /// `GET /data/contacts`: one page (default 20 per page [E1]); only that page is built.
    /// With the `fields` search filter [E1], only the contacts every condition holds for.
    pub(crate) fn list_contacts(&self, query: &HashMap<String, String>, body: &Value) -> Answer {
        let paging = match Paging::from_query(query, 20) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let filters = match search_filters(query, body) {
            Ok(f) => f,
            Err(e) => return e,
        };
        if filters.is_empty() {
            let total = self.contacts.len();
            let elements = self
                .contacts
                .get_range(paging.range(total))
                .map(|page| page.values().map(|c| self.contact_json(c, true)).collect())
                .unwrap_or_default();
            return paging.answer(total, elements);
        }
        let matching: Vec<Value> = self
            .contacts
            .iter()
            .filter(|(key, c)| filters.iter().all(|f| self.holds(f, key, c)))
            .map(|(_, c)| self.contact_json(c, true))
            .collect();
        let total = matching.len();
        let range = paging.range(total);
        paging.answer(total, matching[range].to_vec())
    }

    /// Whether a contact meets a condition. Text comparisons ignore case; `greater`/`lower`
    /// compare numbers when both sides are numbers; `after`/`before` compare the
    /// `YYYY-MM-DD HH:MM:SS` strings (the document gives the operators, not their semantics:
    /// assumed).
    fn holds(&self, f: &Filter, key: &str, c: &FakeContact) -> bool {
        let value = match f.key.as_str() {
            "key" => Some(key.to_owned()),
            "email" => c.email.clone(),
            "cellphone" => c.cellphone.clone(),
            "firstname" => c.firstname.clone(),
            "lastname" => c.lastname.clone(),
            "language" => c.language.clone(),
            "creation_date" => c.creation_date.clone(),
            "card code" => None,
            custom => custom
                .strip_prefix('c')
                .and_then(|id| id.parse::<u32>().ok())
                .and_then(|id| c.custom_fields.get(&id).cloned()),
        }
        .unwrap_or_default();
        let (a, b) = (value.to_lowercase(), f.value.to_lowercase());
        let num = |s: &str| s.trim().parse::<f64>().ok();
        match f.operator.as_str() {
            "is" | "equal" => a == b,
            "isnot" | "notequal" => a != b,
            "contains" => a.contains(&b),
            "starts" => a.starts_with(&b),
            "ends" => a.ends_with(&b),
            "greater" => match (num(&a), num(&b)) {
                (Some(x), Some(y)) => x > y,
                _ => a > b,
            },
            "lower" => match (num(&a), num(&b)) {
                (Some(x), Some(y)) => x < y,
                _ => a < b,
            },
            "after" => !a.is_empty() && a > b,
            "before" => !a.is_empty() && a < b,
            _ => false,
        }
    }

    /// `GET /data/contacts/{id}`; 404 with the envelope the PATCH page shows [E2e].
    pub(crate) fn get_contact(&self, key: &str) -> Answer {
        match self.contacts.get(key) {
            Some(c) => (StatusCode::OK, self.contact_json(c, true)),
            None => envelope(
                StatusCode::NOT_FOUND,
                "id",
                "wrong_value",
                format!("Record not found for id {key}."),
            ),
        }
    }

    /// `DELETE /data/contacts/{id}`: 204 [E1], 404 when unknown.
    pub(crate) fn delete_contact(&mut self, key: &str) -> Answer {
        match self.contacts.shift_remove(key) {
            Some(_) => (StatusCode::NO_CONTENT, Value::Null),
            None => envelope(
                StatusCode::NOT_FOUND,
                "id",
                "wrong_value",
                format!("Record not found for id {key}."),
            ),
        }
    }

    /// `DELETE /data/contacts/bulk`: per-item 204 or 404 [E1].
    pub(crate) fn bulk_delete(&mut self, body: &Value) -> Answer {
        self.bulk_keys(body, |s, key| {
            if s.contacts.shift_remove(key).is_some() {
                (204, String::new())
            } else {
                (404, "Contact not found.".into())
            }
        })
    }

    /// `POST /data/contacts/optout`: per-item 200 or 404; the contact leaves every list [E1].
    pub(crate) fn optout(&mut self, body: &Value) -> Answer {
        self.bulk_keys(body, |s, key| match s.contacts.get_mut(key) {
            Some(c) => {
                c.lists.clear();
                (200, String::new())
            }
            None => (404, "Contact not found.".into()),
        })
    }

    pub(crate) fn create_contact(&mut self, body: &Value) -> Answer {
        if let Err(e) = check_value_types(body) {
            return e;
        }
        let Some(key) = self.key_of(body) else {
            let k = self.unique_key.as_wire();
            return envelope(
                StatusCode::BAD_REQUEST,
                "contact_key",
                "wrong_contact_key",
                format!("Bad key formating against universe key, {k} is empty"),
            );
        };
        if self.contacts.contains_key(&key) {
            return envelope(
                StatusCode::BAD_REQUEST,
                "id",
                "wrong_value",
                format!("contact with unique key {key} already exists"),
            );
        }
        let mut c = FakeContact {
            id: self.next_id,
            ..FakeContact::default()
        };
        if let Err(e) = self.apply(&mut c, body, true) {
            return e;
        }
        if c.creation_date.is_none() {
            c.creation_date = Some(
                jiff::Zoned::now()
                    .strftime("%Y-%m-%d %-H:%M:%S")
                    .to_string(),
            );
        }
        self.next_id += 1;
        let json = self.contact_json(&c, true);
        self.contacts.insert(key, c);
        (StatusCode::CREATED, json)
    }

    pub(crate) fn patch_contact(&mut self, key: &str, body: &Value) -> Answer {
        if let Err(e) = check_value_types(body) {
            return e;
        }
        let Some(mut c) = self.contacts.get(key).cloned() else {
            return envelope(
                StatusCode::NOT_FOUND,
                "id",
                "wrong_value",
                format!("Record not found for id {key}."),
            );
        };
        if let Some(new_key) = self.key_of(body).filter(|k| k != key) {
            let _ = new_key;
            let name = self.unique_key.as_wire();
            return envelope(
                StatusCode::BAD_REQUEST,
                "unique_key",
                "wrong_value",
                format!("unique key \"{name}\" can't be updated"),
            );
        }
        if let Err(e) = self.apply(&mut c, body, true) {
            return e;
        }
        let json = self.contact_json(&c, true);
        self.contacts.insert(key.to_string(), c);
        (StatusCode::OK, json)
    }

    pub(crate) fn change_lists(&mut self, key: &str, subscribe: bool, body: &Value) -> Answer {
        let Some(ids) = body.get("list_ids").and_then(Value::as_array) else {
            return envelope(
                StatusCode::BAD_REQUEST,
                "list_ids",
                "wrong_value",
                "list_ids is required.",
            );
        };
        // `list_ids` items are integers (the request schema [E1]); a string or anything else
        // is `wrong_type`, as dev-scp names a value of the wrong type [E2d].
        let Some(ids) = ids.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>() else {
            return envelope(
                StatusCode::BAD_REQUEST,
                "list_ids",
                "wrong_type",
                "list_ids must be an array of integers.",
            );
        };
        if let Some(missing) = ids.iter().find(|id| !self.lists.contains_key(id)) {
            return envelope(
                StatusCode::BAD_REQUEST,
                "lists",
                "wrong_value",
                format!("list {missing} does not exist"),
            );
        }
        let Some(c) = self.contacts.get_mut(key) else {
            return envelope(
                StatusCode::NOT_FOUND,
                "id",
                "wrong_value",
                "Contact not found for given identifier.",
            );
        };
        for id in ids {
            if subscribe {
                c.lists.insert(id);
            } else {
                c.lists.remove(&id);
            }
        }
        let c = c.clone();
        (StatusCode::OK, self.contact_json(&c, false))
    }

    /// `POST /data/contacts/bulk {"contacts":[…]}`: each entry as `POST /data/contacts`; a
    /// duplicate is worded "Contact with unique key … already exists" as in the 207 example [E1].
    pub(crate) fn bulk_create(&mut self, body: &Value) -> Answer {
        let entries = match bulk_entries(body) {
            Ok(entries) => entries,
            Err(e) => return e,
        };
        let results: Vec<_> = entries
            .iter()
            .map(|entry| {
                let key = self.key_of(entry).unwrap_or_default();
                let (status, value) = self.create_contact(entry);
                if status == StatusCode::CREATED {
                    return (key, 201, String::new());
                }
                let d = value["errors"][0]["error_description"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let d = if d.contains("already exists") {
                    format!("Contact with unique key {key} already exists")
                } else {
                    d
                };
                (key, status.as_u16(), d)
            })
            .collect();
        multi_status(self.ordered(results))
    }

    /// The items in the order the answer gives them: input order, or reversed while the
    /// [`FakeSplio::reorder_next_multi_status`](super::FakeSplio::reorder_next_multi_status)
    /// fault lasts (nothing in the document [E1] promises items in input order).
    fn ordered(&mut self, mut results: Vec<(String, u16, String)>) -> Vec<(String, u16, String)> {
        if self.reorder_multi_status > 0 {
            self.reorder_multi_status -= 1;
            results.reverse();
        }
        results
    }

    /// A bulk operation on unique keys (`{"contacts":["key", …]}`), `op` deciding each item.
    pub(crate) fn bulk_keys(
        &mut self,
        body: &Value,
        mut op: impl FnMut(&mut State, &str) -> (u16, String),
    ) -> Answer {
        let entries = match bulk_entries(body) {
            Ok(entries) => entries,
            Err(e) => return e,
        };
        let results: Vec<_> = entries
            .iter()
            .map(|k| {
                let key = self.stored_key(k.as_str().unwrap_or_default());
                let (code, description) = op(self, &key);
                (key, code, description)
            })
            .collect();
        multi_status(self.ordered(results))
    }
}

/// The `contacts` array of a bulk body: required, 1 to 1,000 entries (E1: "max 1000", "between
/// 1 and 1000").
fn bulk_entries(body: &Value) -> Result<Vec<Value>, Answer> {
    let Some(entries) = body.get("contacts").and_then(Value::as_array) else {
        return Err(envelope(
            StatusCode::BAD_REQUEST,
            "contacts",
            "wrong_value",
            "contacts is required.",
        ));
    };
    if entries.is_empty() || entries.len() > 1000 {
        return Err(envelope(
            StatusCode::BAD_REQUEST,
            "contacts",
            "wrong_value",
            "Between 1 and 1000 contacts are accepted.",
        ));
    }
    Ok(entries.clone())
}

/// `207 {"time","errors","items":[{"contact_id","code","description"}]}` [E1].
fn multi_status(results: Vec<(String, u16, String)>) -> Answer {
    let errors = results.iter().filter(|(_, code, _)| *code >= 400).count();
    let items: Vec<Value> = results
        .into_iter()
        .map(|(key, code, description)| json!({"contact_id": key, "code": code, "description": description}))
        .collect();
    (
        StatusCode::MULTI_STATUS,
        json!({"time": 1, "errors": errors, "items": items}),
    )
}

/// One search condition.
pub(crate) struct Filter {
    key: String,
    operator: String,
    value: String,
}

/// The operators of the `fields` parameter's schema [E1].
const OPERATORS: [&str; 11] = [
    "is", "after", "before", "contains", "ends", "equal", "greater", "isnot", "lower", "notequal",
    "starts",
];

/// The search keys of the `fields` parameter for contacts [E1] (custom fields as `cNN`, as its
/// description says).
const SEARCH_KEYS: [&str; 8] = [
    "key",
    "firstname",
    "lastname",
    "creation_date",
    "language",
    "email",
    "cellphone",
    "card code",
];

/// The `fields` search filter in every form it may come: the document declares an array of
/// `{key, operator, value}` in the query with `format: application/json` and says no more [E1],
/// so a JSON array in `fields` is read; so are PHP-style brackets (`fields[0][key]=…`) and a
/// JSON body `{"fields":[…]}` on the GET (kepinsu/go-splio sends the search in the body [E11]).
/// An unknown key or operator, or a malformed condition, is a 400 with the envelope.
fn search_filters(query: &HashMap<String, String>, body: &Value) -> Result<Vec<Filter>, Answer> {
    let bad = |d: String| envelope(StatusCode::BAD_REQUEST, "fields", "wrong_value", d);
    let mut items: Vec<Value> = Vec::new();
    if let Some(raw) = query.get("fields") {
        match serde_json::from_str::<Value>(raw) {
            Ok(Value::Array(a)) => items.extend(a),
            Ok(o @ Value::Object(_)) => items.push(o),
            _ => return Err(bad(format!("fields is not a JSON array: {raw}"))),
        }
    }
    let mut brackets: std::collections::BTreeMap<usize, serde_json::Map<String, Value>> =
        Default::default();
    for (name, value) in query {
        let Some(rest) = name.strip_prefix("fields[") else {
            continue;
        };
        let parsed = rest.split_once("][").and_then(|(i, field)| {
            Some((
                i.parse::<usize>().ok()?,
                field.strip_suffix(']')?.to_owned(),
            ))
        });
        let Some((i, field)) = parsed else {
            return Err(bad(format!("unreadable search parameter {name}")));
        };
        brackets.entry(i).or_default().insert(field, json!(value));
    }
    items.extend(brackets.into_values().map(Value::Object));
    if let Some(a) = body.get("fields").and_then(Value::as_array) {
        items.extend(a.iter().cloned());
    }
    items
        .iter()
        .map(|item| {
            let text = |n: &str| item.get(n).and_then(Value::as_str).map(str::to_owned);
            let (Some(key), Some(operator), Some(value)) =
                (text("key"), text("operator"), text("value"))
            else {
                return Err(bad(format!(
                    "a condition needs key, operator and value: {item}"
                )));
            };
            let custom = key
                .strip_prefix('c')
                .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()));
            if !custom && !SEARCH_KEYS.contains(&key.as_str()) {
                return Err(bad(format!("{key} is not a search field.")));
            }
            if !OPERATORS.contains(&operator.as_str()) {
                return Err(bad(format!("{operator} is not an operator.")));
            }
            Ok(Filter {
                key,
                operator,
                value,
            })
        })
        .collect()
}
