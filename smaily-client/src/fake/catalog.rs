//! `templates.php` and `organizations/users.php`.

use axum::response::Response;
use serde_json::Value;

use super::http::{Call, ok};
use super::state::FakeState;

/// `GET templates.php` (smaily.com/help/api/templates-2/list-templates): `limit` ≤ 1,000
/// (default 1,000), `page`, `sort_by` `name`/`created_at`/`modified_at`, `sort_order`
/// `asc`/`desc`; rows `{id, type, name, created_at, modified_at, preview_url}` with RFC 3339
/// times.
pub(crate) fn templates(s: &mut FakeState, call: &Call<'_>) -> Response {
    let mut rows = s.templates.clone();
    if let Some(key) = call
        .get("sort_by")
        .filter(|k| ["name", "created_at", "modified_at"].contains(k))
    {
        rows.sort_by_key(|t| t[key].as_str().unwrap_or("").to_string());
    }
    if call
        .get("sort_order")
        .is_some_and(|o| o.eq_ignore_ascii_case("desc"))
    {
        rows.reverse();
    }
    page(s, call, rows, 1_000)
}

/// `GET organizations/users.php` (smaily.com/help/api/organizations/list-users-of-an-
/// organization): `page`, `limit` ≤ 250; rows `{id, email, first_name, last_name, is_owner,
/// role: {id, name}}`.
pub(crate) fn users(s: &mut FakeState, call: &Call<'_>) -> Response {
    let rows = s.users.clone();
    page(s, call, rows, 250)
}

fn page(s: &FakeState, call: &Call<'_>, rows: Vec<Value>, max: usize) -> Response {
    let page = s
        .paging
        .page(&rows, call.page("page"), call.limit(max), max);
    ok(Value::Array(page))
}
