//! The catalog (`GET /v1/addressbooks`) and segments: list, members, attach/detach.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::http::{Answer, Query, bad, json_body, ok_json, page, refuse, text};
use super::schema;
use super::state::{FakeState, Segment};

/// `ModifyContactsInGroup`.
const MODIFY_CONTACTS_IN_GROUP: &[&str] = &["contactIds", "externalCustomerIds"];

/// The id of the segment named `name`, created (static) if missing.
pub(super) fn segment_by_name(s: &mut FakeState, name: &str) -> i64 {
    if let Some((id, _)) = s.segments.iter().find(|(_, g)| g.name == name) {
        return *id;
    }
    let id = s.segments.keys().next_back().copied().unwrap_or(0) + 1;
    s.segments.insert(
        id,
        Segment {
            name: name.into(),
            kind: "Static".into(),
            members: BTreeSet::new(),
        },
    );
    id
}

/// `GET /v1/addressbooks`: the catalog, one book as an object.
pub(super) fn address_books(s: &mut FakeState) -> Answer {
    let books = s.address_books.clone();
    Ok(ok_json(
        json!({ "addressBook": if books.len() == 1 { books[0].clone() } else { Value::Array(books) } }),
    ))
}

/// `GET /v1/groups`: segments by `name` (substring), paged.
pub(super) fn groups(s: &mut FakeState, q: &Query) -> Answer {
    let name = q.get("name").map(|n| n.to_lowercase());
    let all: Vec<Value> = s
        .segments
        .iter()
        .filter(|(_, g)| {
            name.as_ref()
                .is_none_or(|n| g.name.to_lowercase().contains(n.as_str()))
        })
        .map(|(id, g)| json!({"id": id, "name": g.name, "type": g.kind}))
        .collect();
    page(q, all)
}

/// `GET /v1/group/{id}/contacts`: a segment's members, paged.
pub(super) fn members(s: &mut FakeState, id: &str, q: &Query) -> Answer {
    let Some(seg) = id.parse::<i64>().ok().and_then(|id| s.segments.get(&id)) else {
        return Err(refuse(404, "Group not found"));
    };
    let members: Vec<Value> = seg
        .members
        .iter()
        .filter_map(|m| s.contacts.get(m).cloned())
        .collect();
    page(q, members)
}

/// `POST /v1/group/{id}/contacts/attach|detach`.
pub(super) fn membership(s: &mut FakeState, id: &str, action: &str, body: &[u8]) -> Answer {
    // ModifyContactsInGroup: contactIds and/or externalCustomerIds, "max. 500" each
    // [OpenAPI attach/detachContactsToGroup]; the answer is plain text [C9].
    let v = json_body(body)?;
    schema::known_keys(&v, MODIFY_CONTACTS_IN_GROUP, "the request")?;
    let mut ids: Vec<i64> = schema::array(&v, "contactIds", "the request")?
        .iter()
        .filter_map(schema::int)
        .collect();
    let external = schema::strings(&v, "externalCustomerIds", "the request")?;
    if ids.len() > 500 || external.len() > 500 {
        return Err(bad("At most 500 contacts per request"));
    }
    // "by contact ids or external customer ids" [OA attach/detachContactsToGroup]: one kind
    // per request.
    if !ids.is_empty() && !external.is_empty() {
        return Err(bad(
            "Specify either contactIds or externalCustomerIds, not both",
        ));
    }
    // "If don't specify any ids, all contacts will be deleted from the segment" [OA
    // detachContactsFromGroup]; an attach without ids attaches no one.
    let everyone = ids.is_empty() && external.is_empty();
    ids.extend(s.contacts.iter().filter_map(|(id, c)| {
        let ext = c.get("externalCustomerId").and_then(Value::as_str)?;
        external.iter().any(|e| e == ext).then_some(*id)
    }));
    let Some(seg) = id
        .parse::<i64>()
        .ok()
        .and_then(|id| s.segments.get_mut(&id))
    else {
        return Err(refuse(404, "Group not found"));
    };
    if seg.kind != "Static" {
        return Err(bad("Only static segments can be changed"));
    }
    if action == "attach" {
        seg.members.extend(ids);
        Ok(text(200, "Contacts were attached"))
    } else if everyone {
        seg.members.clear();
        Ok(text(200, "Contacts were detached"))
    } else {
        for i in ids {
            seg.members.remove(&i);
        }
        Ok(text(200, "Contacts were detached"))
    }
}
