//! Reading Directo customers, streamed (`get=1&what=customer&ts=…`), and a small loopback fake.
//!
//! Interim: `directo-client` had no usable API when this job was written, so the job carries the
//! one read it needs (and a fake to run it against). It follows `shared/api/directo.md`: POST
//! form-urlencoded with the routing parameters also in the query string, the secret only in the
//! body, `ts` as `DD.MM.YYYY HH:MM`, records as attributes of `<customer>` elements at any depth
//! under `<transport>`, errors reported in a 200 body (`<result type="5" desc="Unauthorized"/>`,
//! `<err>…</err>`, `<error desc code/>`), names matched case-insensitively. Replace with
//! `directo_client` once it has a streaming customer read.

use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, TryStreamExt};
use jiff::civil::DateTime;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::CustomerFields;
use crate::BoxError;

/// How to authenticate: the legacy per-company app key (`key=`), or an XML Direct token (`token=`).
#[derive(Clone)]
pub enum Auth {
    /// Legacy `key=<32 hex>`.
    Key(SecretString),
    /// XML Direct `token=`.
    Token(SecretString),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Key(_) => f.write_str("Key([REDACTED])"),
            Auth::Token(_) => f.write_str("Token([REDACTED])"),
        }
    }
}

/// The XML Direct endpoint (one URL for every company; used with a token).
pub const XML_DIRECT_URL: &str = "https://login.directo.ee/xmlcore/cap_xml_direct/xmlcore.asp";

/// A Directo customer as read: its attributes and extra fields (datafields), in document order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Customer {
    /// Attributes of `<customer>` (`code`, `name`, `email`, `closed`, `ts`, …).
    pub attrs: Vec<(String, String)>,
    /// `<datafields><data code content/></datafields>` as (code, content).
    pub datafields: Vec<(String, String)>,
}

impl CustomerFields for Customer {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn datafield(&self, code: &str) -> Option<&str> {
        self.datafields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(code))
            .map(|(_, v)| v.as_str())
    }
    fn changed_at(&self) -> Option<DateTime> {
        parse_ts(self.attr("ts")?)
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

/// Directo's answer was an error, not data.
#[derive(Debug, thiserror::Error)]
pub enum DirectoError {
    /// `<result type="5" …/>`: the key or token was refused.
    #[error("Directo refused the credentials ({0})")]
    Unauthorized(String),
    /// Any other error body, verbatim.
    #[error("Directo error{}: {desc}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Api {
        /// The `type`/`code` attribute, if any.
        code: Option<String>,
        /// The description.
        desc: String,
    },
    /// A non-200 HTTP status.
    #[error("Directo answered HTTP {status}: {snippet}")]
    Http {
        /// The status.
        status: u16,
        /// The start of the body.
        snippet: String,
    },
    /// The body was not the expected XML.
    #[error("Directo sent malformed XML: {0}")]
    Xml(String),
}

/// Reads customers from one Directo endpoint.
#[derive(Debug, Clone)]
pub struct DirectoReader {
    http: reqwest::Client,
    url: Url,
    auth: Auth,
}

impl DirectoReader {
    /// A reader for `url` (already checked: https, or http on loopback) with `auth`.
    pub fn new(url: Url, auth: Auth, timeout: Duration) -> Result<Self, BoxError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("sync-examples/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(timeout)
            .build()?;
        Ok(Self { http, url, auth })
    }

    /// Customers changed since `since`, streamed as they are parsed. Read-only, so idempotent.
    pub async fn customers_since(
        &self,
        since: DateTime,
    ) -> Result<Pin<Box<dyn Stream<Item = Result<Customer, BoxError>> + Send>>, BoxError> {
        let ts = since.strftime("%d.%m.%Y %H:%M").to_string();
        let routing = [("get", "1"), ("what", "customer"), ("ts", ts.as_str())];
        let mut form: Vec<(&str, &str)> = routing.to_vec();
        let secret = match &self.auth {
            Auth::Key(k) => ("key", k.expose_secret()),
            Auth::Token(t) => ("token", t.expose_secret()),
        };
        form.push(secret);
        let response = self
            .http
            .post(self.url.clone())
            .query(&routing)
            .form(&form)
            .send()
            .await
            .map_err(|e| Box::new(e.without_url()) as BoxError)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(Box::new(DirectoError::Http {
                status: status.as_u16(),
                snippet: body.chars().take(200).collect(),
            }));
        }
        let bytes = response
            .bytes_stream()
            .map_err(|e| std::io::Error::other(e.without_url()));
        let reader = tokio::io::BufReader::new(tokio_util::io::StreamReader::new(bytes));
        Ok(Box::pin(parse_customers(reader)))
    }
}

struct Parser<R> {
    reader: quick_xml::Reader<R>,
    buf: Vec<u8>,
    current: Option<Customer>,
    root_seen: bool,
    done: bool,
}

fn attrs_of(e: &BytesStart<'_>) -> Result<Vec<(String, String)>, BoxError> {
    let mut out = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|e| Box::new(DirectoError::Xml(e.to_string())) as BoxError)?;
        let key = attr.key.as_ref().to_owned();
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| Box::new(DirectoError::Xml(e.to_string())) as BoxError)?
            .into_owned();
        out.push((key, value));
    }
    Ok(out)
}

fn find<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Parses a customer response from any async reader: `<customer>` elements at any depth.
pub fn parse_customers<R>(reader: R) -> impl Stream<Item = Result<Customer, BoxError>> + Send
where
    R: tokio::io::AsyncBufRead + Unpin + Send,
{
    let parser = Parser {
        reader: quick_xml::Reader::from_reader(reader),
        buf: Vec::with_capacity(4096),
        current: None,
        root_seen: false,
        done: false,
    };
    futures::stream::unfold(parser, |mut p| async move {
        if p.done {
            return None;
        }
        match next_customer(&mut p).await {
            Ok(Some(c)) => Some((Ok(c), p)),
            Ok(None) => None,
            Err(e) => {
                p.done = true;
                Some((Err(e), p))
            }
        }
    })
}

async fn next_customer<R>(p: &mut Parser<R>) -> Result<Option<Customer>, BoxError>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    loop {
        p.buf.clear();
        let event = p
            .reader
            .read_event_into_async(&mut p.buf)
            .await
            .map_err(|e| Box::new(DirectoError::Xml(e.to_string())) as BoxError)?;
        let (element, empty) = match event {
            Event::Start(e) => (e.into_owned(), false),
            Event::Empty(e) => (e.into_owned(), true),
            Event::End(e) => {
                if e.local_name().as_ref().eq_ignore_ascii_case("customer")
                    && let Some(c) = p.current.take()
                {
                    return Ok(Some(c));
                }
                continue;
            }
            Event::Text(t) if !p.root_seen => {
                if !t.xml_content(XmlVersion::Implicit1_0).trim().is_empty() {
                    return Err(Box::new(DirectoError::Xml(
                        "text before the root element".into(),
                    )));
                }
                continue;
            }
            Event::Eof => {
                if !p.root_seen {
                    return Err(Box::new(DirectoError::Xml("empty body".into())));
                }
                return Ok(None);
            }
            _ => continue,
        };
        let name = element.local_name().as_ref().to_ascii_lowercase();
        if !p.root_seen {
            p.root_seen = true;
            match name.as_str() {
                "transport" | "customers" => {
                    if empty {
                        return Ok(None);
                    }
                    continue;
                }
                "result" => {
                    let attrs = attrs_of(&element)?;
                    let code = find(&attrs, "type").unwrap_or("").to_owned();
                    let desc = find(&attrs, "desc").unwrap_or("").to_owned();
                    if code == "5" {
                        return Err(Box::new(DirectoError::Unauthorized(desc)));
                    }
                    if code == "0" {
                        return Ok(None);
                    }
                    return Err(Box::new(DirectoError::Api {
                        code: Some(code),
                        desc,
                    }));
                }
                "error" => {
                    let attrs = attrs_of(&element)?;
                    return Err(Box::new(DirectoError::Api {
                        code: find(&attrs, "code").map(str::to_owned),
                        desc: find(&attrs, "desc").unwrap_or("").to_owned(),
                    }));
                }
                "err" => {
                    p.buf.clear();
                    let desc = match p.reader.read_event_into_async(&mut p.buf).await {
                        Ok(Event::Text(t)) => {
                            t.xml_content(XmlVersion::Implicit1_0).trim().to_owned()
                        }
                        _ => String::new(),
                    };
                    if desc.contains("token") {
                        return Err(Box::new(DirectoError::Unauthorized(desc)));
                    }
                    return Err(Box::new(DirectoError::Api { code: None, desc }));
                }
                other => {
                    return Err(Box::new(DirectoError::Xml(format!(
                        "unexpected root element <{other}>"
                    ))));
                }
            }
        }
        match name.as_str() {
            "customer" => {
                let customer = Customer {
                    attrs: attrs_of(&element)?,
                    datafields: Vec::new(),
                };
                if empty {
                    return Ok(Some(customer));
                }
                p.current = Some(customer);
            }
            "data" => {
                if let Some(c) = p.current.as_mut() {
                    let attrs = attrs_of(&element)?;
                    if let Some(code) = find(&attrs, "code") {
                        let content = find(&attrs, "content").unwrap_or("").to_owned();
                        c.datafields.push((code.to_owned(), content));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether a customer (as rendered by the fake) was changed at or after `since`.
fn changed_since(customer: &Customer, since: Option<DateTime>) -> bool {
    match (since, customer.changed_at()) {
        (Some(since), Some(ts)) => ts >= since,
        _ => true,
    }
}

/// A loopback fake of Directo's customer output, for the sandbox, the tests and the benchmark.
pub mod fake {
    use std::sync::{Arc, Mutex};

    use axum::extract::{Query, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};

    use super::*;

    /// The key the fake accepts unless told otherwise.
    pub const FAKE_KEY: &str = "0123456789ABCDEF0123456789ABCDEF";

    #[derive(Default)]
    struct Inner {
        customers: Vec<Customer>,
        key: String,
        requests: u64,
        fail_next: Vec<u16>,
    }

    /// The running fake; dropping it stops the server.
    pub struct FakeDirecto {
        url: String,
        inner: Arc<Mutex<Inner>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for FakeDirecto {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl FakeDirecto {
        /// Starts on 127.0.0.1 with no customers, accepting [`FAKE_KEY`] as `key` or `token`.
        pub async fn start() -> std::io::Result<Self> {
            let inner = Arc::new(Mutex::new(Inner {
                key: FAKE_KEY.into(),
                ..Inner::default()
            }));
            let app = axum::Router::new()
                .fallback(handle)
                .with_state(inner.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let url = format!("http://{}/xmlcore/demo/xmlcore.asp", listener.local_addr()?);
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            Ok(Self { url, inner, task })
        }

        fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
            self.inner.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// The xmlcore URL (`DIRECTO_URL`).
        pub fn url(&self) -> &str {
            &self.url
        }

        /// Adds customers.
        pub fn seed_customers(&self, customers: impl IntoIterator<Item = Customer>) {
            self.lock().customers.extend(customers);
        }

        /// Requests answered so far.
        pub fn request_count(&self) -> u64 {
            self.lock().requests
        }

        /// Answers the next `n` requests with HTTP `status`.
        pub fn fail_next(&self, n: usize, status: u16) {
            self.lock().fail_next.extend(std::iter::repeat_n(status, n));
        }
    }

    async fn handle(
        State(inner): State<Arc<Mutex<Inner>>>,
        Query(query): Query<Vec<(String, String)>>,
        body: String,
    ) -> Response {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let param = |name: &str| {
            form.iter()
                .chain(query.iter())
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let mut inner = inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.requests += 1;
        if !inner.fail_next.is_empty() {
            let status = inner.fail_next.remove(0);
            return (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "",
            )
                .into_response();
        }
        let secret = param("key").or_else(|| param("token"));
        if secret.as_deref() != Some(inner.key.as_str()) {
            return xml(
                r#"<?xml version="1.0" encoding="UTF-8"?><result type="5" desc="Unauthorized"/>"#
                    .into(),
            );
        }
        if param("get").as_deref() != Some("1") || param("what").as_deref() != Some("customer") {
            return xml(r#"<?xml version="1.0" encoding="UTF-8"?><result type="404" desc="Invalid url given"/>"#.into());
        }
        let since = param("ts").and_then(|ts| {
            DateTime::strptime("%d.%m.%Y %H:%M", &ts).ok().or_else(|| {
                jiff::civil::Date::strptime("%d.%m.%Y", &ts)
                    .ok()
                    .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
            })
        });
        let mut out =
            String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<transport><customers>\n");
        for c in inner.customers.iter().filter(|c| changed_since(c, since)) {
            out.push_str("<customer");
            for (k, v) in &c.attrs {
                out.push_str(&format!(
                    " {k}=\"{}\"",
                    quick_xml::escape::escape(v.as_str())
                ));
            }
            if c.datafields.is_empty() {
                out.push_str("/>\n");
            } else {
                out.push_str("><datafields>");
                for (code, content) in &c.datafields {
                    out.push_str(&format!(
                        "<data code=\"{}\" content=\"{}\" param=\"\"/>",
                        quick_xml::escape::escape(code.as_str()),
                        quick_xml::escape::escape(content.as_str())
                    ));
                }
                out.push_str("</datafields></customer>\n");
            }
        }
        out.push_str("</customers></transport>\n");
        xml(out)
    }

    fn xml(body: String) -> Response {
        ([("content-type", "text/xml; charset=utf-8")], body).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    async fn parse(xml: &str) -> Vec<Result<Customer, BoxError>> {
        parse_customers(tokio::io::BufReader::new(xml.as_bytes()))
            .collect()
            .await
    }

    #[tokio::test]
    async fn parses_customers_with_datafields_in_every_shape() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<transport><customers>
  <customer code="CUST001" name="Test &amp; Co OÜ" email="test@example.com" closed="0" ts="2024-01-15T10:30:00.123">
    <datafields><data code="EXTRAFIELD" content="some value" param=""/></datafields>
  </customer>
  <customer code="C2" email=""/>
</customers></transport>"#;
        let customers: Vec<Customer> = parse(xml).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(customers.len(), 2);
        assert_eq!(customers[0].attr("name"), Some("Test & Co OÜ"));
        assert_eq!(customers[0].datafield("EXTRAFIELD"), Some("some value"));
        assert_eq!(
            customers[0].changed_at().unwrap().to_string(),
            "2024-01-15T10:30:00.123"
        );
        assert_eq!(customers[1].attr("email"), Some(""));

        let bare = "<transport><customer code=\"X\"/></transport>";
        assert_eq!(parse(bare).await.len(), 1);
        assert!(parse("<transport/>").await.is_empty());
        assert!(parse("<transport></transport>").await.is_empty());
    }

    #[tokio::test]
    async fn error_bodies_are_errors() {
        let unauthorized = parse(r#"<result type="5" desc="Unauthorized"/>"#).await;
        assert!(
            unauthorized[0]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("refused")
        );
        let err = parse("<err>token required</err>").await;
        assert!(
            err[0]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("token required")
        );
        let other = parse(r#"<Error desc="boom" code="9"/>"#).await;
        assert!(other[0].as_ref().unwrap_err().to_string().contains("boom"));
        let broken = parse("<transport><customer code=\"a\"></transport>").await;
        assert!(broken.iter().any(Result::is_err));
    }

    #[test]
    fn ts_formats() {
        assert!(parse_ts("2024-01-15T10:30:00").is_some());
        assert!(parse_ts("2024-01-15T10:30:00Z").is_some());
        assert!(parse_ts("2024-01-15").is_some());
        assert!(parse_ts("nope").is_none());
    }

    #[tokio::test]
    async fn reads_from_the_fake_with_ts_filter_and_auth() {
        let fake = fake::FakeDirecto::start().await.unwrap();
        let c = |code: &str, ts: &str| Customer {
            attrs: vec![("code".into(), code.into()), ("ts".into(), ts.into())],
            datafields: vec![],
        };
        fake.seed_customers([
            c("old", "2024-01-01T00:00:00"),
            c("new", "2024-03-01T12:00:00"),
        ]);
        let url: Url = fake.url().parse().unwrap();
        let auth = Auth::Key(fake::FAKE_KEY.to_owned().into());
        let reader = DirectoReader::new(url.clone(), auth, Duration::from_secs(5)).unwrap();
        let since = "2024-02-01T00:00".parse().unwrap();
        let got: Vec<Customer> = reader
            .customers_since(since)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].attr("code"), Some("new"));

        let bad = DirectoReader::new(
            url,
            Auth::Token("wrong".to_owned().into()),
            Duration::from_secs(5),
        )
        .unwrap();
        let first = bad
            .customers_since(since)
            .await
            .unwrap()
            .next()
            .await
            .unwrap();
        let err = first.unwrap_err();
        assert!(
            err.downcast_ref::<DirectoError>()
                .is_some_and(|e| matches!(e, DirectoError::Unauthorized(_)))
        );
    }
}
