//! Lenient decoding helpers: numbers and booleans that arrive as strings, Tallinn-local times.

use jiff::Zoned;
use jiff::civil::DateTime;
use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::Value;

/// Smaily's time zone: plain `YYYY-MM-DD HH:MM:SS` values are Tallinn-local.
pub const SMAILY_TZ: &str = "Europe/Tallinn";

/// An integer from a JSON number or a numeric string (`"12"`, `" 3 "`, `"1.0"`), with the
/// full `u64` and `i64` ranges; floats only when whole and exactly representable.
pub(crate) fn value_to_int(v: &Value) -> Option<i128> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let whole = |f: f64| (f.fract() == 0.0 && f.abs() <= EXACT).then_some(f as i128);
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| n.as_f64().and_then(whole)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i128>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().and_then(whole))
        }
        Value::Bool(b) => Some(i128::from(*b)),
        _ => None,
    }
}

/// [`value_to_int`] narrowed to `i64`.
pub(crate) fn value_to_i64(v: &Value) -> Option<i64> {
    value_to_int(v).and_then(|n| i64::try_from(n).ok())
}

/// A boolean from `true`/`false`, `0`/`1`, `"0"`/`"1"`, `"true"`/`"false"`.
pub(crate) fn value_to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") || s.is_empty() => Some(false),
        other => value_to_i64(other).map(|n| n != 0),
    }
}

/// Parses a Smaily time: `YYYY-MM-DD HH:MM:SS` (Tallinn-local) or RFC 3339 with an offset.
/// Empty strings and the all-zero MySQL date are `None`.
pub fn parse_smaily_time(s: &str) -> Result<Option<Zoned>, String> {
    let s = s.trim();
    if s.is_empty() || s.starts_with("0000-00-00") {
        return Ok(None);
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(Some(ts.to_zoned(tallinn())));
    }
    let civil: DateTime = s
        .parse()
        .map_err(|e| format!("{s:?} is not a Smaily time: {e}"))?;
    civil
        .to_zoned(tallinn())
        .map(Some)
        .map_err(|e| format!("{s:?} in {SMAILY_TZ}: {e}"))
}

/// Formats a time as Smaily expects it in requests: Tallinn-local `YYYY-MM-DD HH:MM:SS`.
pub fn format_smaily_time(t: &Zoned) -> String {
    t.with_time_zone(tallinn())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

pub(crate) fn tallinn() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(SMAILY_TZ).expect("bundled tzdb has Europe/Tallinn")
}

/// serde helper: a value that may be `null`, read as its default (`null` tags, names,
/// sections).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// serde helper: an optional Smaily time.
pub(crate) mod opt_time {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Zoned>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse_smaily_time(&s).map_err(de::Error::custom),
            Some(other) => Err(de::Error::custom(format!("expected a time, got {other}"))),
        }
    }
}

/// serde helper: an optional integer that may be a string.
pub(crate) mod opt_int {
    use super::*;

    pub(crate) fn deserialize<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<i128>,
    {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(v) => value_to_int(&v)
                .and_then(|n| T::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| de::Error::custom(format!("expected an integer, got {v}"))),
        }
    }
}

/// serde helper: an integer that may be a string.
pub(crate) mod int {
    use super::*;

    pub(crate) fn deserialize<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<i128>,
    {
        let v = Value::deserialize(d)?;
        value_to_int(&v)
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| de::Error::custom(format!("expected an integer, got {v}")))
    }
}

/// serde helper: a boolean that may be `0`/`1` or a string.
pub(crate) mod boolish {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        let v = Value::deserialize(d)?;
        value_to_bool(&v).ok_or_else(|| de::Error::custom(format!("expected a boolean, got {v}")))
    }
}

/// serde helper: any scalar as text (numbers and booleans as Smaily would print them).
pub(crate) fn value_to_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallinn_times_get_the_right_offset() {
        let winter = parse_smaily_time("2014-01-23 10:32:55").unwrap().unwrap();
        assert_eq!(winter.offset().seconds(), 2 * 3600);
        assert_eq!(winter.timestamp().to_string(), "2014-01-23T08:32:55Z");
        let summer = parse_smaily_time("2014-04-23 10:32:55").unwrap().unwrap();
        assert_eq!(summer.offset().seconds(), 3 * 3600);
        assert_eq!(summer.timestamp().to_string(), "2014-04-23T07:32:55Z");
        let rfc = parse_smaily_time("2020-05-01T12:00:00+00:00")
            .unwrap()
            .unwrap();
        assert_eq!(rfc.timestamp().to_string(), "2020-05-01T12:00:00Z");
        assert_eq!(parse_smaily_time("").unwrap(), None);
        assert_eq!(parse_smaily_time("0000-00-00 00:00:00").unwrap(), None);
        assert!(parse_smaily_time("yesterday").is_err());
        assert_eq!(format_smaily_time(&summer), "2014-04-23 10:32:55");
    }

    #[test]
    fn numbers_and_flags_as_strings() {
        assert_eq!(value_to_i64(&"12".into()), Some(12));
        assert_eq!(value_to_i64(&serde_json::json!(3)), Some(3));
        assert_eq!(value_to_i64(&"x".into()), None);
        assert_eq!(value_to_i64(&serde_json::json!(1e300)), None);
        assert_eq!(value_to_i64(&serde_json::json!(u64::MAX)), None);
        assert_eq!(
            value_to_int(&serde_json::json!(u64::MAX)),
            Some(i128::from(u64::MAX))
        );
        assert_eq!(value_to_i64(&"2.0".into()), Some(2));
        assert_eq!(value_to_bool(&"1".into()), Some(true));
        assert_eq!(value_to_bool(&"0".into()), Some(false));
        assert_eq!(value_to_bool(&serde_json::json!(1)), Some(true));
        assert_eq!(value_to_bool(&serde_json::json!(false)), Some(false));
    }

    proptest::proptest! {
        #[test]
        fn civil_times_round_trip(secs in 0i64..2_000_000_000) {
            let z = jiff::Timestamp::from_second(secs).unwrap().to_zoned(tallinn());
            let text = format_smaily_time(&z);
            let back = parse_smaily_time(&text).unwrap().unwrap();
            // An ambiguous autumn hour may resolve to the earlier instant; never more than 1 h off.
            let diff = (back.timestamp().as_second() - secs).abs();
            proptest::prop_assert!(diff == 0 || diff == 3600, "{text}: {diff}");
        }

        #[test]
        fn integers_survive_as_strings(n in proptest::num::i64::ANY) {
            proptest::prop_assert_eq!(value_to_i64(&Value::String(n.to_string())), Some(n));
        }

        #[test]
        fn u64_survives_as_number_and_string(n in proptest::num::u64::ANY) {
            proptest::prop_assert_eq!(value_to_int(&serde_json::json!(n)), Some(i128::from(n)));
            proptest::prop_assert_eq!(value_to_int(&Value::String(n.to_string())), Some(i128::from(n)));
        }
    }
}
