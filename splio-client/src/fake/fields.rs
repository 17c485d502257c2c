//! Custom fields (list, create, delete) and mailing lists [E1].

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::routes::{Answer, Paging, envelope};
use super::state::{FakeField, State};
use crate::fields::FieldType;

impl State {
    /// `GET /data/fields/contacts`: one page (default 50) of field definitions, with exactly the
    /// keys of the OpenAPI example [E1] (the same as go-splio's `FieldElement` [E11]): no type.
    pub(crate) fn list_fields(&self, query: &HashMap<String, String>) -> Answer {
        let elements: Vec<Value> = self
            .fields
            .iter()
            .map(|(id, f)| json!({"intid": if f.is_system { Value::Null } else { json!(id) }, "id": id, "is_system": f.is_system, "filling": null, "unique_values": null, "name": f.name, "translation_key": f.name, "label": f.name, "field_key": f.name}))
            .collect();
        Paging::of(query, 50, elements)
    }

    /// `DELETE /data/fields/contacts/{id}` by numeric id: 204, or 404 "Custom field not found." [E1].
    pub(crate) fn delete_field(&mut self, id: &str) -> Answer {
        match id
            .parse::<u32>()
            .ok()
            .and_then(|id| self.fields.remove(&id))
        {
            Some(_) => (StatusCode::NO_CONTENT, Value::Null),
            None => envelope(
                StatusCode::NOT_FOUND,
                "id",
                "wrong_value",
                "Custom field not found.",
            ),
        }
    }

    /// `GET /data/v1/lists`: one page (default 50) of lists with their member counts [E1].
    pub(crate) fn list_lists(&self, query: &HashMap<String, String>) -> Answer {
        let elements: Vec<Value> = self
            .lists
            .iter()
            .map(|(id, name)| {
                let members = self.contacts.values().filter(|c| c.lists.contains(id)).count();
                json!({"id": id, "name": name, "members": members, "nb_emails": members, "nb_sms": 0, "is_displayed_by_default": true, "is_selected_by_default": false})
            })
            .collect();
        Paging::of(query, 50, elements)
    }

    /// `POST /data/fields {"scope","name","type"}` → `201 {"id","name","data_type"}`; only the
    /// `contacts` scope is kept, `type` one of `date, text, int, double` [E1].
    pub(crate) fn create_field(&mut self, body: &Value) -> Answer {
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let ty: Option<FieldType> = body
            .get("type")
            .and_then(|t| serde_json::from_value(t.clone()).ok());
        let scope = body.get("scope").and_then(Value::as_str);
        let (Some(ty), false, Some("contacts")) = (ty, name.is_empty(), scope) else {
            return envelope(
                StatusCode::BAD_REQUEST,
                "field_1",
                "wrong_value",
                "The request was malformed and it is unable to be processed. Please review and try again.",
            );
        };
        let id = self.fields.keys().next_back().map_or(0, |k| k + 1);
        self.fields.insert(
            id,
            FakeField {
                name: name.clone(),
                ty,
                is_system: false,
            },
        );
        (
            StatusCode::CREATED,
            json!({"id": id, "name": name, "data_type": ty}),
        )
    }
}
