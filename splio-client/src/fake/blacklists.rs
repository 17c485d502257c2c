//! Blacklists: list by source, add, remove [E1].

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::routes::{Answer, Paging, envelope};
use super::state::State;
use crate::blacklists::Channel;

impl State {
    /// `GET /data/blacklists/{emails,cellphones}`: one page (default 50) of `{number,
    /// creation_date, source}`, optionally one `source`, optionally filtered on `term` ("Filter
    /// results on a specific value" [E1]). How `term` matches is undocumented: the fake keeps
    /// every entry containing it (case-insensitively), the widest reading.
    pub(crate) fn list_blacklist(
        &self,
        channel: Channel,
        query: &HashMap<String, String>,
    ) -> Answer {
        let wanted = query.get("source");
        let term = query.get("term").map(|t| t.to_lowercase());
        let elements: Vec<Value> = self
            .blacklists
            .get(&channel)
            .map(|m| {
                m.iter()
                    .filter(|(_, (src, _))| wanted.is_none_or(|w| w == src))
                    .filter(|(n, _)| {
                        term.as_ref()
                            .is_none_or(|t| n.to_lowercase().contains(t.as_str()))
                    })
                    .map(|(n, (src, date))| json!({"number": n, "creation_date": date, "source": src}))
                    .collect()
            })
            .unwrap_or_default();
        Paging::of(query, 50, elements)
    }

    /// `POST /data/blacklists/{channel}` (`remove: None`) or `DELETE
    /// /data/blacklists/{channel}/{source}`, body `{"data":[…]}`: `200`, `207` partial, `400` when
    /// all fail, with `successes` and `failures` [E1]; failure keys `touchpoint_already_exist` and
    /// `touchpoint_not_blacklisted`.
    pub(crate) fn blacklist_change(
        &mut self,
        channel: Channel,
        remove: Option<&str>,
        body: &Value,
    ) -> Answer {
        let Some(data) = body.get("data").and_then(Value::as_array) else {
            return envelope(
                StatusCode::BAD_REQUEST,
                "data",
                "wrong_value",
                "data is required.",
            );
        };
        let list = self.blacklists.entry(channel).or_default();
        let (mut successes, mut failures) = (Vec::new(), Vec::new());
        for t in data.iter().filter_map(Value::as_str) {
            match remove {
                None if list.contains_key(t) => failures.push(json!({"touchpoint": t, "error": format!("Touchpoint {t} is already blacklisted."), "error_key": "touchpoint_already_exist"})),
                None => {
                    list.insert(t.to_string(), ("custom".into(), jiff::Zoned::now().strftime("%Y-%m-%d").to_string()));
                    successes.push(json!(t));
                }
                Some(source) => match list.get(t) {
                    Some((src, _)) if source == "all" || src == source => {
                        list.shift_remove(t);
                        successes.push(json!(t));
                    }
                    _ => failures.push(json!({"touchpoint": t, "error": format!("Touchpoint {t} is not blacklisted."), "error_key": "touchpoint_not_blacklisted"})),
                },
            }
        }
        let status = match (successes.is_empty(), failures.is_empty()) {
            (_, true) => StatusCode::OK,
            (true, false) => StatusCode::BAD_REQUEST,
            (false, false) => StatusCode::MULTI_STATUS,
        };
        (
            status,
            json!({"successes": successes, "failures": failures}),
        )
    }
}
