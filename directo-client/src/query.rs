//! Read filters: [`Query`] and the `ts` ("changed since") value [`Since`].

use std::fmt;

use jiff::civil::{Date, DateTime};

/// The `ts` filter: "changed since", a date (`DD.MM.YYYY`) or a date-time (`DD.MM.YYYY HH:MM`),
/// in Directo's local time (Europe/Tallinn). Seconds are not sent (not evidenced as accepted).
///
/// ```
/// use directo_client::Since;
/// use jiff::civil::date;
/// assert_eq!(Since::from(date(2026, 1, 12)).to_string(), "12.01.2026");
/// assert_eq!(Since::from(date(2026, 1, 12).at(7, 5, 59, 0)).to_string(), "12.01.2026 07:05");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// A whole day: `DD.MM.YYYY`.
    Date(Date),
    /// A day and a time of day: `DD.MM.YYYY HH:MM`.
    DateTime(DateTime),
}

impl From<Date> for Since {
    fn from(d: Date) -> Self {
        Since::Date(d)
    }
}

impl From<DateTime> for Since {
    fn from(dt: DateTime) -> Self {
        Since::DateTime(dt)
    }
}

impl fmt::Display for Since {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Since::Date(d) => write!(f, "{}", d.strftime("%d.%m.%Y")),
            Since::DateTime(dt) => write!(f, "{}", dt.strftime("%d.%m.%Y %H:%M")),
        }
    }
}

/// What to read: the `ts` filter plus any component filters (`code`, `email`, `closed`, …),
/// sent in order after `get=1&what=…`.
///
/// ```
/// use directo_client::Query;
/// let q = Query::new().since(jiff::civil::date(2026, 1, 12)).filter("closed", "0");
/// assert_eq!(q.params(), vec![("closed".to_string(), "0".to_string()), ("ts".into(), "12.01.2026".into())]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    filters: Vec<(String, String)>,
    since: Option<Since>,
    record_tag: Option<String>,
}

impl Query {
    /// No filters: Directo returns every record.
    pub fn new() -> Self {
        Query::default()
    }

    /// Only records changed since `since` (`ts=`).
    pub fn since(mut self, since: impl Into<Since>) -> Self {
        self.since = Some(since.into());
        self
    }

    /// Adds a component filter, e.g. `("code", "C1")`, `("email", "a@b.ee")`, `("closed", "0")`.
    pub fn filter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.filters.push((name.into(), value.into()));
        self
    }

    /// The element name of the records in the answer, when it is not `what` (bespoke outputs:
    /// `what=event2` answers `<events2><unasigned_event …/>`). Not sent.
    ///
    /// ```
    /// let q = directo_client::Query::new().record_tag("unasigned_event");
    /// assert!(q.params().is_empty());
    /// ```
    pub fn record_tag(mut self, tag: impl Into<String>) -> Self {
        self.record_tag = Some(tag.into());
        self
    }

    /// The filters as they go on the wire (filters first, then `ts`).
    pub fn params(&self) -> Vec<(String, String)> {
        let mut out = self.filters.clone();
        if let Some(since) = self.since {
            out.push(("ts".into(), since.to_string()));
        }
        out
    }

    /// The record element name, when set.
    pub(crate) fn tag(&self) -> Option<&str> {
        self.record_tag.as_deref()
    }
}
