//! What a response's headers say about waiting: `Retry-After` and the `RateLimit-*` family.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The server's wait hint: `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3;
/// a date in the past means "now"), else `RateLimit-Reset` in seconds (the IETF draft header
/// Splio sends; fractions allowed). Header names are case-insensitive.
///
/// ```
/// use std::time::Duration;
/// use reqwest::header::{HeaderMap, HeaderValue};
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", HeaderValue::from_static("3"));
/// assert_eq!(marketing_sync_core::retry_after(&headers), Some(Duration::from_secs(3)));
/// headers.insert("retry-after", HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"));
/// assert_eq!(marketing_sync_core::retry_after(&headers), Some(Duration::ZERO));
/// ```
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(value) = text(headers, RETRY_AFTER.as_str()) {
        if let Some(wait) = seconds(value) {
            return Some(wait);
        }
        if let Ok(at) = jiff::fmt::rfc2822::parse(value) {
            let wait = at.timestamp().duration_since(jiff::Timestamp::now());
            return Some(Duration::try_from(wait).unwrap_or(Duration::ZERO));
        }
    }
    text(headers, "ratelimit-reset").and_then(seconds)
}

fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Non-negative seconds, whole or decimal.
fn seconds(value: &str) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
}

/// The last `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` headers a server sent
/// (seconds rounded up).
///
/// ```
/// use reqwest::header::{HeaderMap, HeaderValue};
/// let mut headers = HeaderMap::new();
/// headers.insert("rateLimit-remaining", HeaderValue::from_static("0"));
/// headers.insert("rateLimit-reset", HeaderValue::from_static("1.2"));
/// let status = marketing_sync_core::RateLimitStatus::from_headers(&headers).unwrap();
/// assert_eq!((status.remaining, status.reset_secs), (Some(0), Some(2)));
/// assert!(marketing_sync_core::RateLimitStatus::from_headers(&HeaderMap::new()).is_none());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// `RateLimit-Limit`.
    pub limit: Option<u64>,
    /// `RateLimit-Remaining`.
    pub remaining: Option<u64>,
    /// `RateLimit-Reset`, in seconds.
    pub reset_secs: Option<u64>,
}

impl RateLimitStatus {
    /// The headers' values, or `None` when the response carried none of them.
    ///
    /// ```
    /// let none = reqwest::header::HeaderMap::new();
    /// assert_eq!(marketing_sync_core::RateLimitStatus::from_headers(&none), None);
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let num = |name: &str| {
            text(headers, name)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .map(|v| v.max(0.0).ceil() as u64)
        };
        let status = RateLimitStatus {
            limit: num("ratelimit-limit"),
            remaining: num("ratelimit-remaining"),
            reset_secs: num("ratelimit-reset"),
        };
        (status != RateLimitStatus::default()).then_some(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn with(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(
            retry_after(&with(&[("Retry-After", " 2 ")])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(&with(&[("retry-after", "0")])),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&with(&[("retry-after", "-1")])), None);
        assert_eq!(retry_after(&with(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn retry_after_http_date() {
        let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(120);
        let date = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&soon)
            .unwrap();
        let wait = retry_after(&with(&[("retry-after", &date)])).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        assert_eq!(
            retry_after(&with(&[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")])),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn ratelimit_reset_when_no_retry_after() {
        assert_eq!(
            retry_after(&with(&[("ratelimit-reset", "3")])),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&with(&[("rateLimit-reset", "0.5")])),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            retry_after(&with(&[("retry-after", "1"), ("ratelimit-reset", "9")])),
            Some(Duration::from_secs(1)),
            "Retry-After, the standard header, wins"
        );
    }

    #[test]
    fn rate_limit_status() {
        let s = RateLimitStatus::from_headers(&with(&[
            ("ratelimit-limit", "10"),
            ("ratelimit-remaining", "4"),
            ("ratelimit-reset", "-3"),
        ]))
        .unwrap();
        assert_eq!(s.limit, Some(10));
        assert_eq!(s.remaining, Some(4));
        assert_eq!(s.reset_secs, Some(0));
    }
}
