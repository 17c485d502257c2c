//! Exact encodings shared by several resources: money as exact JSON numbers, dates with an
//! explicit offset.

use jiff::Zoned;
use rust_decimal::Decimal;
use serde::Serializer;
use serde::ser::Error as _;
use serde_json::value::RawValue;

/// A decimal as a JSON *number* with exactly its digits and scale (`10.50` stays `10.50`),
/// never through `f64`.
pub(crate) fn money<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    let raw = RawValue::from_string(value.to_string()).map_err(S::Error::custom)?;
    serde::Serialize::serialize(&raw, s)
}

pub(crate) fn opt_money<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => money(v, s),
        None => s.serialize_none(),
    }
}

/// `2017-03-08T09:30:00+02:00`: the documented ISO 8601 form, always with an explicit offset
/// (the service would otherwise assume the API user's time zone). Sub-second precision is
/// dropped.
pub(crate) fn format_date_time(value: &Zoned) -> String {
    value.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

pub(crate) fn date_time<S: Serializer>(value: &Zoned, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_date_time(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct M {
        #[serde(serialize_with = "money")]
        m: Decimal,
    }

    #[test]
    fn money_is_an_exact_number() {
        let m = M {
            m: "1000.10".parse().unwrap(),
        };
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"m":1000.10}"#);
        let m = M {
            m: "0.1".parse::<Decimal>().unwrap() + "0.2".parse::<Decimal>().unwrap(),
        };
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"m":0.3}"#);
        let m = M {
            m: Decimal::from(-5),
        };
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"m":-5}"#);
    }

    #[test]
    fn dates_carry_their_offset() {
        let z: Zoned = "2017-03-08T09:30:00+02:00[Europe/Kyiv]".parse().unwrap();
        assert_eq!(format_date_time(&z), "2017-03-08T09:30:00+02:00");
        let z = jiff::Timestamp::from_second(0)
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::UTC);
        assert_eq!(format_date_time(&z), "1970-01-01T00:00:00+00:00");
    }

    proptest::proptest! {
        #[test]
        fn money_round_trips_exactly(units in proptest::num::i64::ANY, scale in 0u32..10) {
            let d = Decimal::new(units, scale);
            let json = serde_json::to_string(&M { m: d }).unwrap();
            let text = json.trim_start_matches(r#"{"m":"#).trim_end_matches('}');
            proptest::prop_assert_eq!(text.parse::<Decimal>().unwrap(), d);
            proptest::prop_assert_eq!(text, d.to_string());
        }
    }
}
