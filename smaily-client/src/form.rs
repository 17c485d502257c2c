//! PHP `http_build_query`-style form encoding (`0[email]=…`, `list[]=…`), and its parser (used
//! by the fake and by tests to read form bodies back as JSON).

use serde_json::{Map, Value};

/// Encodes a JSON value the way PHP's `http_build_query` encodes the equivalent array:
/// nested keys in brackets, list items by index, `true`/`false` as `1`/`0`, nulls omitted.
pub fn php_form(value: &Value) -> String {
    let mut pairs = Vec::new();
    flatten(None, value, &mut pairs);
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(&k, &v);
    }
    out.finish()
}

fn flatten(prefix: Option<String>, value: &Value, out: &mut Vec<(String, String)>) {
    let key = |k: &str| match &prefix {
        Some(p) => format!("{p}[{k}]"),
        None => k.to_string(),
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(Some(key(k)), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(Some(key(&i.to_string())), v, out);
            }
        }
        Value::Null => {}
        Value::Bool(b) => out.push((prefix.unwrap_or_default(), u8::from(*b).to_string())),
        Value::Number(n) => out.push((prefix.unwrap_or_default(), n.to_string())),
        Value::String(s) => out.push((prefix.unwrap_or_default(), s.clone())),
    }
}

/// Parses a PHP-style form body back into JSON: bracketed keys nest, an object whose keys are
/// all `0..n` (or `[]` appends) becomes an array, every scalar is a string.
pub fn parse_php_form(body: &str) -> Value {
    let mut root = Value::Object(Map::new());
    for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
        let (head, rest) = match k.find('[') {
            Some(i) => (&k[..i], &k[i..]),
            None => (&k[..], ""),
        };
        let mut path = vec![head.to_string()];
        let mut rest = rest;
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            path.push(stripped[..end].to_string());
            rest = &stripped[end + 1..];
        }
        insert(&mut root, &path, Value::String(v.into_owned()));
    }
    listify(root)
}

fn insert(node: &mut Value, path: &[String], value: Value) {
    let Value::Object(map) = node else { return };
    let (first, rest) = path.split_first().expect("non-empty path");
    let key = if first.is_empty() {
        map.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        map.insert(key, value);
    } else {
        let child = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
        if !child.is_object() {
            *child = Value::Object(Map::new());
        }
        insert(child, rest, value);
    }
}

fn listify(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let is_list =
                !map.is_empty() && (0..map.len()).all(|i| map.contains_key(&i.to_string()));
            if is_list {
                let mut map = map;
                Value::Array(
                    (0..map.len())
                        .map(|i| listify(map.remove(&i.to_string()).expect("checked")))
                        .collect(),
                )
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, listify(v))).collect())
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documented_batch_form() {
        let body = json!([{"email":"tugi@smaily.com","is_unsubscribed":1},{"email":"b@x.ee"}]);
        assert_eq!(
            php_form(&body),
            "0%5Bemail%5D=tugi%40smaily.com&0%5Bis_unsubscribed%5D=1&1%5Bemail%5D=b%40x.ee"
        );
        assert_eq!(
            php_form(&json!({"email":"support@smaily.com","is_unsubscribed":1})),
            "email=support%40smaily.com&is_unsubscribed=1"
        );
        assert_eq!(
            php_form(&json!({"list":[1,2]})),
            "list%5B0%5D=1&list%5B1%5D=2"
        );
        assert_eq!(php_form(&json!({"x":null,"f":true,})), "f=1");
        assert_eq!(php_form(&json!({"f":false})), "f=0");
    }

    #[test]
    fn parses_back() {
        let v = parse_php_form(
            "0%5Bemail%5D=a%40x.ee&0%5Bname%5D=A&1%5Bemail%5D=b%40x.ee&list[]=1&list[]=2",
        );
        assert_eq!(
            v,
            json!({"0":{"email":"a@x.ee","name":"A"},"1":{"email":"b@x.ee"},"list":["1","2"]})
        );
        assert_eq!(
            parse_php_form("0%5Bemail%5D=a%40x.ee&1%5Bemail%5D=b%40x.ee"),
            json!([{"email":"a@x.ee"},{"email":"b@x.ee"}])
        );
    }

    fn stringify(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), stringify(v))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(stringify).collect()),
            Value::Number(n) => Value::String(n.to_string()),
            other => other.clone(),
        }
    }

    proptest::proptest! {
        #[test]
        fn form_round_trips(rows in proptest::collection::vec(
            ("[a-z]{1,8}@[a-z]{1,5}\\.ee", proptest::collection::btree_map("[a-z_]{1,6}", "[ -~äõ&=\\[\\]]{1,8}", 0..4)),
            1..5,
        )) {
            let v = Value::Array(rows.iter().map(|(email, fields)| {
                let mut m = Map::new();
                m.insert("email".into(), Value::String(email.clone()));
                for (k, f) in fields { if k != "email" { m.insert(k.clone(), Value::String(f.clone())); } }
                Value::Object(m)
            }).collect());
            proptest::prop_assert_eq!(parse_php_form(&php_form(&v)), stringify(&v));
        }
    }
}
