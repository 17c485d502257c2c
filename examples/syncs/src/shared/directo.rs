//! Reading Directo customers, as every sync that reads them does: the `[directo]` table, a
//! client from the environment, a read whose refused credentials are a configuration error and
//! whose undecodable records are filtered, and what a mapping needs from a customer
//! ([`CustomerFields`]), implemented for `directo_client`'s generic [`Record`] (every attribute
//! by its wire name, so any attribute can be mapped by name, including ones a typed struct does
//! not know). With the `sandbox` feature, also the seeding of its fake with demo customers.

use directo_client::{Auth, Record};
use futures::StreamExt;
use jiff::civil::DateTime;
use serde::{Deserialize, Serialize};
use sync_kit::{BoxError, Error, SourceRecord, env};

#[cfg(feature = "sandbox")]
use super::demo_customers::DemoCustomer;

/// The `[directo]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectoConfig {
    /// The time zone of Directo's `ts` values (its server's local time).
    pub time_zone: String,
    /// Timeout for the whole customer read (a full dump can be large).
    #[serde(with = "sync_kit::config::duration_str")]
    pub timeout: std::time::Duration,
}

impl DirectoConfig {
    /// The zone of Directo's `ts` values and document dates.
    pub fn time_zone(&self) -> Result<jiff::tz::TimeZone, Error> {
        jiff::tz::TimeZone::get(&self.time_zone)
            .map_err(|e| Error::Config(format!("directo.time_zone = {:?}: {e}", self.time_zone)))
    }
}

impl Default for DirectoConfig {
    fn default() -> Self {
        Self {
            time_zone: "Europe/Tallinn".into(),
            timeout: std::time::Duration::from_secs(300),
        }
    }
}

/// What the mapping needs from a Directo customer, so it does not depend on one client type.
pub trait CustomerFields {
    /// An attribute's value (`code`, `name`, `email`, `closed`, …), if present.
    fn attr(&self, name: &str) -> Option<&str>;
    /// An extra field's (datafield's) content by code, if present.
    fn datafield(&self, code: &str) -> Option<&str>;
    /// The record's last-change time (`ts`), if present and parseable.
    fn changed_at(&self) -> Option<jiff::civil::DateTime>;
    /// The customer's id in summaries and logs: its `code`.
    fn id(&self) -> String {
        self.attr("code")
            .filter(|c| !c.is_empty())
            .unwrap_or("(no code)")
            .to_owned()
    }
}

impl CustomerFields for Record {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn datafield(&self, code: &str) -> Option<&str> {
        self.children
            .iter()
            .filter(|c| c.tag.eq_ignore_ascii_case("datafields"))
            .flat_map(|c| c.children.iter())
            .find(|d| d.get("code").is_some_and(|c| c.eq_ignore_ascii_case(code)))
            .and_then(|d| d.get("content"))
    }

    fn changed_at(&self) -> Option<DateTime> {
        parse_ts(CustomerFields::attr(self, "ts")?)
    }
}

/// Parses Directo's `ts` leniently: `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]` or a date alone.
pub fn parse_ts(text: &str) -> Option<DateTime> {
    let text = text.trim();
    if let Ok(dt) = text.parse::<DateTime>() {
        return Some(dt);
    }
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(ts.to_zoned(jiff::tz::TimeZone::UTC).datetime());
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
}

/// A demo customer as `directo_client`'s typed customer, to seed its fake.
#[cfg(feature = "sandbox")]
pub fn to_directo(demo: &DemoCustomer) -> directo_client::Customer {
    let get = |name: &str| demo.attr(name).map(str::to_owned);
    let mut c = directo_client::Customer::new(get("code").unwrap_or_default());
    c.name = get("name");
    c.email = get("email");
    c.phone = get("phone");
    c.country = get("country");
    c.closed = Some(demo.attr("closed") == Some("1"));
    c.ts = demo.attr("ts").and_then(parse_ts);
    c.datafields = demo
        .datafields
        .iter()
        .map(|(code, content)| directo_client::DataField {
            code: code.clone(),
            content: content.clone(),
            param: String::new(),
        })
        .collect();
    c
}

/// Seeds a Directo fake with demo customers.
#[cfg(feature = "sandbox")]
pub fn seed(fake: &directo_client::fake::FakeDirecto, customers: &[DemoCustomer]) {
    fake.seed_customers(customers.iter().map(to_directo));
}

/// A Directo client from `DIRECTO_URL` and `DIRECTO_KEY` (legacy app key) or `DIRECTO_TOKEN`
/// (XML Direct, whose URL is fixed unless `DIRECTO_URL` overrides it). Shared by every sync that
/// reads Directo.
pub fn directo_from_env(config: &DirectoConfig) -> Result<directo_client::Client, Error> {
    let (auth, is_token) = match (env::optional("DIRECTO_KEY"), env::optional("DIRECTO_TOKEN")) {
        (Some(_), Some(_)) => {
            return Err(Error::Config(
                "set DIRECTO_KEY (legacy app key) or DIRECTO_TOKEN (XML Direct), not both".into(),
            ));
        }
        (Some(key), None) => (Auth::app_key(key), false),
        (None, Some(token)) => (Auth::token(token), true),
        (None, None) => {
            return Err(Error::Config(
                "DIRECTO_KEY or DIRECTO_TOKEN is not set (Directo credentials); set one in the environment or .env, or try --sandbox".into(),
            ));
        }
    };
    let mut builder = directo_client::Client::builder(auth).timeout(config.timeout);
    match env::optional("DIRECTO_URL") {
        Some(url) => {
            let (url, allow_http) = env::base_url("DIRECTO_URL", &url)?;
            builder = builder.base_url(url.to_string()).allow_http(allow_http);
        }
        None if is_token => {} // XML Direct's fixed URL
        None => {
            return Err(Error::Config(
                "DIRECTO_URL is not set (your company's xmlcore URL, e.g. https://login.directo.ee/xmlcore/<db>/xmlcore.asp)".into(),
            ));
        }
    }
    builder
        .build()
        .map_err(|e| Error::Config(format!("Directo client: {e}")))
}

/// Starts a Directo read of `what` and waits for its first record, so that refused credentials
/// (which arrive as the stream's first item) become a configuration error (exit 2) instead of an
/// aborted run. Later errors stay in the stream, as `reading Directo failed: …`, and abort the
/// run; a record Directo sent but that cannot be decoded stays the client's own error, which
/// [`source_record`] turns into a filtered record.
pub async fn open_read<T: directo_client::FromRecord>(
    client: &directo_client::Client,
    what: &str,
    query: directo_client::Query,
) -> Result<impl futures::Stream<Item = Result<T, BoxError>> + use<T>, Error> {
    let mut stream = client.read::<T>(what, query).peekable();
    if let Some(Err(e)) = std::pin::Pin::new(&mut stream).peek().await
        && !e.is_record_scoped()
        && let Some(Err(e)) = stream.next().await
    {
        return Err(match e {
            directo_client::Error::Unauthorized { .. } => {
                Error::Config(format!("Directo refused the credentials: {e}"))
            }
            other => Error::reading("Directo", other),
        });
    }
    Ok(stream.map(|r| {
        r.map_err(|e| {
            if e.is_record_scoped() {
                Box::new(e) as BoxError
            } else {
                Box::new(Error::reading("Directo", e)) as BoxError
            }
        })
    }))
}

/// Whether a Directo read's error concerns one record only (see [`source_record`]).
pub fn record_scoped(e: &BoxError) -> bool {
    e.downcast_ref::<directo_client::Error>()
        .is_some_and(directo_client::Error::is_record_scoped)
}

/// One item of a Directo read as the runner's source record: a decoded record through
/// `prepare`; a record Directo sent but that cannot be decoded (invalid UTF-8, a bad number)
/// as a filtered record with the error as its reason and its code (else "record N") as its
/// id, so the other records still go through; any other error stays an error and ends the run.
pub fn source_record<T>(
    item: Result<T, BoxError>,
    prepare: impl FnOnce(T) -> SourceRecord,
) -> Result<SourceRecord, BoxError> {
    match item {
        Ok(record) => Ok(prepare(record)),
        Err(e) => match e.downcast_ref::<directo_client::Error>() {
            Some(error @ directo_client::Error::Record { record, code, .. }) => {
                Ok(SourceRecord::rejected(
                    code.clone().unwrap_or_else(|| format!("record {record}")),
                    None,
                    error.to_string(),
                ))
            }
            _ => Err(e),
        },
    }
}

#[cfg(feature = "sandbox")]
/// A Directo client for a sandbox fake.
pub fn sandbox_directo(
    fake: &directo_client::fake::FakeDirecto,
    config: &DirectoConfig,
) -> Result<directo_client::Client, Error> {
    directo_client::Client::builder(Auth::token(directo_client::fake::FakeDirecto::TOKEN))
        .base_url(fake.base_url())
        .allow_http(true)
        .timeout(config.timeout)
        .build()
        .map_err(|e| Error::Config(format!("Directo client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    #[test]
    fn ts_formats() {
        assert!(parse_ts("2024-01-15T10:30:00").is_some());
        assert!(parse_ts("2024-01-15T10:30:00.123").is_some());
        assert!(parse_ts("2024-01-15T10:30:00Z").is_some());
        assert!(parse_ts("2024-01-15").is_some());
        assert!(parse_ts("nope").is_none());
    }

    #[cfg(feature = "sandbox")]
    #[tokio::test]
    async fn demo_customers_read_back_through_the_fake_with_fields_and_datafields() {
        let fake = directo_client::fake::FakeDirecto::start().await;
        let now: DateTime = "2026-01-10T12:00:00".parse().unwrap();
        let demo = crate::shared::demo_customers::customers(20, now, 60);
        seed(&fake, &demo);
        let since: DateTime = "2026-01-10T00:00:00".parse().unwrap();
        let records: Vec<Record> = fake
            .client()
            .records("customer", directo_client::Query::new().since(since))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(records.len(), 20);
        let r3 = records
            .iter()
            .find(|r| CustomerFields::attr(*r, "code") == Some("C000004"))
            .unwrap();
        assert_eq!(r3.datafield("LOYALTY"), Some("gold"));
        assert_eq!(
            CustomerFields::attr(r3, "email"),
            Some("customer3@example.com")
        );
        assert!(r3.changed_at().is_some());
    }
}
