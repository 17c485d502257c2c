//! Lenient decoding for the service's XML-mapped JSON (reference §0.5): one-or-many
//! collections, numbers and booleans as strings, nulls for absent collections.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

/// `[a, b]`, a single `a`, or `null`/absent (empty).
pub(crate) fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(match Option::<OneOrMany<T>>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::Many(v)) => v,
        Some(OneOrMany::One(v)) => vec![v],
    })
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

/// An integer sent as a number or a numeric string; `null`/`""` is `None`.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Scalar>::deserialize(d)? {
        None => Ok(None),
        Some(Scalar::Int(n)) => Ok(Some(n)),
        Some(Scalar::Str(s)) if s.trim().is_empty() => Ok(None),
        Some(Scalar::Str(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected an integer, got {s:?}"))),
        Some(Scalar::Float(f)) if f.fract() == 0.0 => Ok(Some(f as i64)),
        Some(_) => Err(D::Error::custom("expected an integer")),
    }
}

/// An integer sent as a number or a numeric string (required).
pub(crate) fn i64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    opt_i64(d)?.ok_or_else(|| D::Error::custom("expected an integer, got nothing"))
}

/// A boolean sent as `true`/`false` or `"true"`/`"false"`; absent/null is `false`.
pub(crate) fn bool_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Option::<Scalar>::deserialize(d)? {
        None => Ok(false),
        Some(Scalar::Bool(b)) => Ok(b),
        Some(Scalar::Int(n)) => Ok(n != 0),
        Some(Scalar::Str(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" | "" => Ok(false),
            _ => Err(D::Error::custom(format!("expected a boolean, got {s:?}"))),
        },
        Some(Scalar::Float(_)) => Err(D::Error::custom("expected a boolean")),
    }
}

/// A boolean as in [`bool_lenient`]; absent/null is `None`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => bool_lenient(v).map(Some).map_err(D::Error::custom),
    }
}

/// A string that may arrive as a number (ids, session ids); null is `None`.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Scalar>::deserialize(d)? {
        None => None,
        Some(Scalar::Str(s)) => Some(s),
        Some(Scalar::Int(n)) => Some(n.to_string()),
        Some(Scalar::Float(f)) => Some(f.to_string()),
        Some(Scalar::Bool(b)) => Some(b.to_string()),
    })
}

/// Same as [`opt_string`], absent/null as `""`.
pub(crate) fn string_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
}

/// A top-level list that may arrive as a single object (or be empty/null).
#[derive(Deserialize)]
#[serde(transparent, bound = "T: DeserializeOwned")]
pub(crate) struct List<T>(#[serde(deserialize_with = "one_or_many")] pub(crate) Vec<T>);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Probe {
        #[serde(default, deserialize_with = "one_or_many")]
        items: Vec<u8>,
        #[serde(default, deserialize_with = "opt_i64")]
        id: Option<i64>,
        #[serde(default, deserialize_with = "bool_lenient")]
        flag: bool,
        #[serde(default, deserialize_with = "opt_string")]
        s: Option<String>,
    }

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn quirks() {
        assert_eq!(probe(r#"{"items":[1,2]}"#).items, vec![1, 2]);
        assert_eq!(probe(r#"{"items":3}"#).items, vec![3]);
        assert_eq!(probe(r#"{"items":null}"#).items, Vec::<u8>::new());
        assert_eq!(probe(r#"{}"#).items, Vec::<u8>::new());
        assert_eq!(probe(r#"{"id":"7200"}"#).id, Some(7200));
        assert_eq!(probe(r#"{"id":7200}"#).id, Some(7200));
        assert_eq!(probe(r#"{"id":""}"#).id, None);
        assert!(probe(r#"{"flag":"true"}"#).flag);
        assert!(!probe(r#"{"flag":"false"}"#).flag);
        assert!(probe(r#"{"flag":true}"#).flag);
        assert_eq!(probe(r#"{"s":12}"#).s.as_deref(), Some("12"));
        assert!(serde_json::from_str::<Probe>(r#"{"id":"x"}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"flag":"maybe"}"#).is_err());
    }

    proptest::proptest! {
        #[test]
        fn ints_round_trip_as_strings_and_numbers(n in proptest::num::i64::ANY) {
            proptest::prop_assert_eq!(probe(&format!(r#"{{"id":"{n}"}}"#)).id, Some(n));
            proptest::prop_assert_eq!(probe(&format!(r#"{{"id":{n}}}"#)).id, Some(n));
        }

        #[test]
        fn one_or_many_accepts_both(v in proptest::collection::vec(0u8..=255, 1..5)) {
            let many = serde_json::to_string(&v).unwrap();
            proptest::prop_assert_eq!(&probe(&format!(r#"{{"items":{many}}}"#)).items, &v);
            proptest::prop_assert_eq!(probe(&format!(r#"{{"items":{}}}"#, v[0])).items, vec![v[0]]);
        }
    }
}
