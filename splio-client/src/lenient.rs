//! Lenient decoding helpers: numbers as strings, strings as numbers, nulls.

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

/// An optional integer sent as a number, a numeric string, or null/empty.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<Scalar>::deserialize(d)? {
        Some(Scalar::Int(i)) => Some(i),
        Some(Scalar::Float(f)) => Some(f as i64),
        Some(Scalar::Text(s)) if s.trim().is_empty() => None,
        Some(Scalar::Text(s)) => Some(
            s.trim()
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("expected an integer, got {s:?}")))?,
        ),
        Some(Scalar::Bool(b)) => Some(b as i64),
        None => None,
    })
}

/// An optional string sent as a string, a number, a bool, or null.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Scalar>::deserialize(d)? {
        Some(Scalar::Int(i)) => Some(i.to_string()),
        Some(Scalar::Float(f)) => Some(f.to_string()),
        Some(Scalar::Bool(b)) => Some(b.to_string()),
        Some(Scalar::Text(s)) => Some(s),
        None => None,
    })
}

/// A list that may be null, missing, or `{}` (PHP's empty array) instead of `[]`.
pub(crate) fn vec_or_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either<T> {
        List(Vec<T>),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Option::<Either<T>>::deserialize(d)? {
        Some(Either::List(v)) => v,
        _ => Vec::new(),
    })
}
