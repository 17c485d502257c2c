//! Value formats: Directo's output `ts` (lenient) and the `ts` filter (`DD.MM.YYYY [HH:MM]`).

use jiff::civil::{Date, DateTime, Time};

/// Parses an output `ts` leniently: `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]` (the zone, if any, is
/// dropped: Directo times are local wall-clock times), a space instead of `T`, a bare date, or
/// `DD.MM.YYYY[ HH:MM[:SS]]`.
pub(crate) fn parse_ts(raw: &str) -> Option<DateTime> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(dt) = parse_plain_iso(s.as_bytes()) {
        return Some(dt);
    }
    if let Some(dt) = parse_dotted(s) {
        return Some(dt);
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    // Drop a trailing offset after the time part.
    let s = match s.find(['T', ' ']) {
        Some(t) => match s[t..].rfind(['+', '-']) {
            Some(o) => &s[..t + o],
            None => s,
        },
        None => s,
    };
    s.parse::<DateTime>().ok().or_else(|| {
        s.parse::<Date>()
            .ok()
            .map(|d| d.to_datetime(Time::midnight()))
    })
}

/// The form Directo writes: exactly `YYYY-MM-DDThh:mm:ss` (or a space for `T`), read without
/// the general parser because every customer carries one.
fn parse_plain_iso(s: &[u8]) -> Option<DateTime> {
    let [
        y0,
        y1,
        y2,
        y3,
        b'-',
        m0,
        m1,
        b'-',
        d0,
        d1,
        b'T' | b' ',
        h0,
        h1,
        b':',
        n0,
        n1,
        b':',
        s0,
        s1,
    ] = *s
    else {
        return None;
    };
    let digits = |ds: &[u8]| {
        ds.iter().try_fold(0i16, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i16::from(d - b'0'))
        })
    };
    let two = |a, b| digits(&[a, b]).and_then(|n| i8::try_from(n).ok());
    DateTime::new(
        digits(&[y0, y1, y2, y3])?,
        two(m0, m1)?,
        two(d0, d1)?,
        two(h0, h1)?,
        two(n0, n1)?,
        two(s0, s1)?,
        0,
    )
    .ok()
}

/// `D.M.YYYY[ H:MM[:SS]]`, as the `ts` filter is written.
pub(crate) fn parse_dotted(s: &str) -> Option<DateTime> {
    let (date, time) = match s.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s, None),
    };
    let mut parts = date.split('.');
    let day: i8 = parts.next()?.parse().ok()?;
    let month: i8 = parts.next()?.parse().ok()?;
    let year: i16 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    let date = Date::new(year, month, day).ok()?;
    let time = match time {
        None => Time::midnight(),
        Some(t) => {
            let mut p = t.split(':');
            let h: i8 = p.next()?.parse().ok()?;
            let m: i8 = p.next()?.parse().ok()?;
            let s: i8 = p.next().map_or(Some(0), |s| s.parse().ok())?;
            Time::new(h, m, s, 0).ok()?
        }
    };
    Some(date.to_datetime(time))
}

/// Formats a `ts` the way Directo's output does: `YYYY-MM-DDThh:mm:ss[.fff]`.
pub(crate) fn fmt_ts(ts: DateTime) -> String {
    ts.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn output_ts_forms() {
        let want = date(2024, 1, 15).at(10, 30, 0, 0);
        for s in [
            "2024-01-15T10:30:00",
            "2024-01-15T10:30:00Z",
            "2024-01-15T10:30:00+02:00",
            "2024-01-15 10:30:00",
            "15.01.2024 10:30",
        ] {
            assert_eq!(parse_ts(s), Some(want), "{s}");
        }
        assert_eq!(
            parse_ts("2024-01-15T10:30:00.123"),
            Some(date(2024, 1, 15).at(10, 30, 0, 123_000_000))
        );
        assert_eq!(
            parse_ts("2024-01-15"),
            Some(date(2024, 1, 15).at(0, 0, 0, 0))
        );
        assert_eq!(parse_ts("1.1.1970"), Some(date(1970, 1, 1).at(0, 0, 0, 0)));
        assert_eq!(parse_ts("yesterday"), None);
        assert_eq!(parse_ts(""), None);
    }

    #[test]
    fn the_plain_iso_fast_path_agrees_with_the_general_parser() {
        for s in [
            "2024-01-15T10:30:00",
            "1999-12-31 23:59:59",
            "2024-02-29T00:00:00",
            "2023-02-29T00:00:00",
            "2024-13-01T00:00:00",
            "2024-01-15T24:00:00",
            "2024-01-15T10:60:00",
            "2024-01-1xT10:30:00",
            "+024-01-15T10:30:00",
            "2024-01-15T10:30:0",
        ] {
            let general = s.replace(' ', "T").parse::<DateTime>().ok();
            assert_eq!(parse_plain_iso(s.as_bytes()), general, "{s}");
            assert_eq!(parse_ts(s), general, "{s}");
        }
    }
}
