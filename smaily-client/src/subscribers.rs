//! Subscribers (`contact.php`, `contact/forget.php`): get, upsert one or many, unsubscribe,
//! delete, forget, and the subscribers of a segment as a stream.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use indexmap::IndexMap;
use jiff::Zoned;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::answer::{Listing, decode_value};
use crate::client::{Client, Request};
use crate::de::{parse_smaily_time, value_to_bool, value_to_i64, value_to_text};
use crate::error::{Error, ItemError, Result};
use crate::fields::{CustomFields, FieldName};

/// Body codes that mean "something in the submitted rows is invalid": on a batch they trigger
/// bisection, on a single row they reject it.
const ROW_ERROR_CODES: [u16; 3] = [203, 204, 207];

/// Largest page `contact.php?list=` serves (and its default).
pub const MAX_SEGMENT_PAGE: u32 = 25_000;

/// Emails per `contact/forget.php` request (the documented recommendation).
pub const FORGET_CHUNK: usize = 10_000;

/// A subscriber to create or update (`POST contact.php`), keyed by email.
///
/// `is_unsubscribed: None` leaves it out of the request: an existing contact keeps its status,
/// a new one is created subscribed. `Some(false)` re-subscribes explicitly.
///
/// ```
/// use smaily_client::{FieldName, Subscriber};
/// let s = Subscriber::new("mari@example.com")
///     .field(FieldName::new("first_name").unwrap(), "Mari")
///     .subscribed(true);
/// assert_eq!(s.is_unsubscribed, Some(false));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// The key.
    pub email: String,
    /// `Some(true)` unsubscribes, `Some(false)` (re)subscribes, `None` keeps the current status.
    pub is_unsubscribed: Option<bool>,
    /// Custom fields (auto-created by Smaily on first use).
    pub fields: CustomFields,
}

impl Subscriber {
    /// A subscriber with no fields and no status change.
    pub fn new(email: impl Into<String>) -> Self {
        Subscriber {
            email: email.into(),
            is_unsubscribed: None,
            fields: CustomFields::new(),
        }
    }

    /// Sets the subscription status explicitly (`true` = subscribed).
    pub fn subscribed(mut self, subscribed: bool) -> Self {
        self.is_unsubscribed = Some(!subscribed);
        self
    }

    /// Adds a custom field. The name is validated where it is made ([`FieldName::new`] or
    /// [`FieldName::normalize`]), so setting it cannot fail.
    ///
    /// ```
    /// use smaily_client::{FieldName, Subscriber};
    /// let city = FieldName::new("city")?;
    /// let mari = Subscriber::new("mari@example.com").field(city, "Tartu");
    /// assert_eq!(mari.fields.get("city"), Some("Tartu"));
    /// # Ok::<(), smaily_client::Error>(())
    /// ```
    pub fn field(mut self, name: FieldName, value: impl Into<String>) -> Self {
        self.fields.set(name, value);
        self
    }

    /// The body of one `POST contact.php` carrying `rows`, as [`Client::upsert_many`] sends each
    /// chunk: the object of a single row, else an array of them. For dry runs and logs.
    ///
    /// ```
    /// use smaily_client::Subscriber;
    /// let one = [Subscriber::new("a@example.com")];
    /// assert_eq!(Subscriber::batch_json(&one), serde_json::json!({"email": "a@example.com"}));
    /// let two = [Subscriber::new("a@example.com"), Subscriber::new("b@example.com")];
    /// assert!(Subscriber::batch_json(&two).is_array());
    /// ```
    pub fn batch_json(rows: &[Subscriber]) -> Value {
        match rows {
            [one] => one.to_json(),
            many => Value::Array(many.iter().map(Subscriber::to_json).collect()),
        }
    }

    /// The JSON object sent for this subscriber.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("email".into(), Value::String(self.email.clone()));
        if let Some(u) = self.is_unsubscribed {
            m.insert("is_unsubscribed".into(), json!(u8::from(u)));
        }
        for (k, v) in self.fields.iter() {
            m.insert(k.to_string(), Value::String(v.to_string()));
        }
        Value::Object(m)
    }
}

/// A subscriber as Smaily returns it (`GET contact.php`). Numbers and flags may arrive as
/// strings; times are Tallinn-local and decode with the right offset.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Contact {
    /// Email address.
    pub email: String,
    /// Whether the contact is unsubscribed.
    pub is_unsubscribed: bool,
    /// Created.
    pub created_at: Option<Zoned>,
    /// Subscribed.
    pub subscribed_at: Option<Zoned>,
    /// Last modified.
    pub modified_at: Option<Zoned>,
    /// Unsubscribed.
    pub unsubscribed_at: Option<Zoned>,
    /// Last delivery code (0 nothing sent, 200 delivered, SMTP codes, 1001, 1002).
    pub last_response_code: Option<i64>,
    /// Last delivery attempt.
    pub last_response_at: Option<Zoned>,
    /// Last open.
    pub last_open_at: Option<Zoned>,
    /// Opens.
    pub total_opens: Option<u64>,
    /// Last click.
    pub last_click_at: Option<Zoned>,
    /// Clicks.
    pub total_clicks: Option<u64>,
    /// Every other key: the custom fields, as text.
    pub fields: IndexMap<String, String>,
}

impl<'de> Deserialize<'de> for Contact {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let mut map = Map::<String, Value>::deserialize(d)?;
        let email = match map.remove("email") {
            Some(Value::String(s)) => s,
            _ => return Err(de::Error::custom("contact without an `email`")),
        };
        let mut time = |key: &str| -> std::result::Result<Option<Zoned>, D::Error> {
            match map.remove(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => {
                    parse_smaily_time(&s).map_err(|e| de::Error::custom(format!("{key}: {e}")))
                }
                Some(v) => Err(de::Error::custom(format!(
                    "{key}: expected a time, got {v}"
                ))),
            }
        };
        let created_at = time("created_at")?;
        let subscribed_at = time("subscribed_at")?;
        let modified_at = time("modified_at")?;
        let unsubscribed_at = time("unsubscribed_at")?;
        let last_response_at = time("last_response_at")?;
        let last_open_at = time("last_open_at")?;
        let last_click_at = time("last_click_at")?;
        let mut int = |key: &str| -> std::result::Result<Option<i64>, D::Error> {
            match map.remove(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(v) => value_to_i64(&v).map(Some).ok_or_else(|| {
                    de::Error::custom(format!("{key}: expected an integer, got {v}"))
                }),
            }
        };
        let last_response_code = int("last_response_code")?;
        let total_opens = int("total_opens")?.map(|n| n.max(0) as u64);
        let total_clicks = int("total_clicks")?.map(|n| n.max(0) as u64);
        let is_unsubscribed = match map.remove("is_unsubscribed") {
            None | Some(Value::Null) => false,
            Some(v) => value_to_bool(&v).ok_or_else(|| {
                de::Error::custom(format!("is_unsubscribed: expected 0/1, got {v}"))
            })?,
        };
        let fields = map
            .into_iter()
            .map(|(k, v)| {
                let text = value_to_text(&v);
                (k, text)
            })
            .collect();
        Ok(Contact {
            email,
            is_unsubscribed,
            created_at,
            subscribed_at,
            modified_at,
            unsubscribed_at,
            last_response_code,
            last_response_at,
            last_open_at,
            total_opens,
            last_click_at,
            total_clicks,
            fields,
        })
    }
}

/// What happened to one subscriber of an [`Client::upsert_many`] call: its position, its
/// email as given ([`key`](marketing_sync_core::ItemOutcome::key)), and `Ok(())` when Smaily
/// accepted the row (code 101) or the [`ItemError`] saying why not.
pub type SubscriberOutcome = marketing_sync_core::ItemOutcome<String, (), ItemError>;

/// Reserved top-level domains (RFC 2606 / RFC 6761) Smaily refuses with 203 even though the
/// address parses: "the same contact body returns 203 with `…@example.test` and 101 with
/// `…@example.com`" (erkkimarkus/smaily-api-docs-unofficial `guides/gotchas.md`,
/// "Reserved-TLD emails are rejected with 203", probe-confirmed).
const RESERVED_TLDS: [&str; 4] = ["test", "invalid", "localhost", "example"];

/// Checks an address the way [`Client::upsert_many`] does before sending it: refuses only
/// what Smaily refuses for certain, so a batch is not bisected for it.
///
/// Refused (as [`Error::InvalidInput`] for the field `email`): a blank address (Smaily: 207
/// "Following fields are required - email"); no `@`, nothing before the last `@`, or a
/// domain that is not dotted labels (`x@localhost`, `x@a..b`; 204 "Invalid email address
/// provided", smaily.com/help/api/general/response-codes; a dotless domain is also refused
/// by WordPress's `is_email`, `domain_no_periods`, which the official WordPress plugin calls
/// in `Smaily_Helper::sanitize_array`); white
/// space or control characters outside a quoted local part; a reserved top-level domain
/// (`.test`, `.invalid`, `.localhost`, `.example`: 203, probe-confirmed in
/// erkkimarkus/smaily-api-docs-unofficial `guides/gotchas.md`, which advises validating
/// client-side because a batch answers one code for all its rows). The address is checked
/// trimmed and sent as given (surrounding white space is not refused here). Everything else is
/// sent, Smaily having the last word: quoted local parts, `+` tags, apostrophes, non-ASCII
/// (internationalised) addresses.
///
/// ```
/// use smaily_client::{check_email, Error};
/// assert!(check_email("mari+news@example.com").is_ok());
/// let err = check_email("not-an-email").unwrap_err();
/// assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "email"));
/// assert!(check_email("mari@shop.test").is_err());
/// ```
pub fn check_email(email: &str) -> Result<()> {
    let refuse = |reason: String| Err(Error::invalid("email", reason));
    let email = email.trim();
    if email.is_empty() {
        return refuse("no address (an email is required)".into());
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return refuse(format!("{email:?} is not an email address (no @)"));
    };
    if local.is_empty() {
        return refuse(format!("{email:?} has nothing before the @"));
    }
    let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
    let blank = |c: char| c.is_whitespace() || c.is_control();
    if domain.contains(blank) || (!quoted && local.contains(blank)) {
        return refuse(format!("{email:?} contains white space"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return refuse(format!(
            "{email:?}: the domain {domain:?} is not a dotted domain name"
        ));
    }
    let tld = labels[labels.len() - 1].to_lowercase();
    if RESERVED_TLDS.contains(&tld.as_str()) {
        return refuse(format!(
            "{email:?}: .{tld} is a reserved top-level domain Smaily refuses"
        ));
    }
    Ok(())
}

/// Options for [`Client::segment_subscribers`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentQuery {
    /// Fields to return (`email` always comes); empty = Smaily's default set.
    pub fields: Vec<String>,
    /// Rows per page (default and cap [`MAX_SEGMENT_PAGE`]).
    pub page_size: Option<u32>,
}

impl SegmentQuery {
    /// Asks for these fields only.
    pub fn fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Rows per page (1..=25,000). Smaller than the default only where the page size follows
    /// `limit`, as the official plugins assume; Smaily's page describes fixed pages of 25,000
    /// rows, under which a smaller page skips rows (the fake's `Paging` has both).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n.clamp(1, MAX_SEGMENT_PAGE));
        self
    }
}

/// Smaily's well-known segment ids (a plugin convention): every subscriber.
pub const SEGMENT_ALL: u64 = 1;
/// Smaily's well-known segment ids (a plugin convention): the unsubscribed.
pub const SEGMENT_UNSUBSCRIBED: u64 = 2;

#[derive(Deserialize)]
struct Ok101 {}

impl Client {
    /// Gets a subscriber by email (`GET contact.php?email=`). A miss (code 206 on HTTP 200) is
    /// `Ok(None)`. Idempotent (a read).
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// let client = fake.client();
    /// assert!(client.subscriber("nobody@example.com").await.unwrap().is_none());
    /// # });
    /// ```
    pub async fn subscriber(&self, email: &str) -> Result<Option<Contact>> {
        let req = Request::get("contact.php").query("email", email);
        // An object, or (seen in the wild) a one-element list of one.
        match self.read::<Value>(req, "a subscriber").await {
            Ok(Value::Array(list)) => match list.into_iter().next() {
                Some(hit) => decode_value(hit, "a subscriber").map(Some),
                None => Ok(None),
            },
            Ok(hit) => decode_value(hit, "a subscriber").map(Some),
            Err(Error::Api { code: 206, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates or updates one subscriber (`POST contact.php`). Does not trigger workflows.
    /// Idempotent (keyed by email): transient failures are retried.
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use smaily_client::{FieldName, Subscriber};
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// let client = fake.client();
    /// client.upsert(&Subscriber::new("mari@example.com").field(FieldName::new("first_name").unwrap(), "Mari")).await.unwrap();
    /// assert_eq!(fake.subscriber("mari@example.com").unwrap().fields["first_name"], "Mari");
    /// # });
    /// ```
    pub async fn upsert(&self, subscriber: &Subscriber) -> Result<()> {
        check_email(&subscriber.email)?;
        self.write::<Ok101>(contact_php(subscriber.to_json()), "result")
            .await
            .map(drop)
    }

    /// Creates or updates any number of subscribers: chunks of the configured batch size
    /// (default 500) sent as JSON arrays, several at once within the rate limit. An address
    /// Smaily would refuse for certain ([`check_email`]) is refused here and never sent
    /// ([`ItemError::Failed`] with [`Error::InvalidInput`]), the others go in full chunks. A
    /// chunk Smaily still answers 203/204/207 is split in halves and re-sent until the bad rows
    /// are isolated, so good rows are never lost and each bad row is [`ItemError::Rejected`]
    /// with the server's message. Returns one outcome per input row, in input order.
    /// Idempotent: transient failures are retried.
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use smaily_client::{Error, ItemError, Subscriber};
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// let client = fake.client();
    /// let rows = [Subscriber::new("a@example.com"), Subscriber::new("not-an-email"), Subscriber::new("b@example.com")];
    /// let outcomes = client.upsert_many(&rows).await;
    /// assert!(outcomes[0].is_ok() && outcomes[2].is_ok());
    /// assert_eq!(outcomes[1].key, "not-an-email");
    /// match outcomes[1].error() {
    ///     Some(ItemError::Failed(e)) => assert!(matches!(**e, Error::InvalidInput { .. })),
    ///     other => panic!("{other:?}"),
    /// }
    /// # });
    /// ```
    #[must_use = "each subscriber has its own outcome: a refused or failed one is only reported there"]
    pub async fn upsert_many(&self, subscribers: &[Subscriber]) -> Vec<SubscriberOutcome> {
        let mut results: Vec<Option<Result<(), ItemError>>> = vec![None; subscribers.len()];
        // Addresses Smaily refuses for certain never go out: one of them would cost its
        // chunk a bisection (two in 1,200 rows cost 39 requests and 9 s).
        let mut valid: Vec<usize> = Vec::with_capacity(subscribers.len());
        for (i, row) in subscribers.iter().enumerate() {
            match check_email(&row.email) {
                Ok(()) => valid.push(i),
                Err(Error::InvalidInput { reason, .. }) => {
                    let e = Error::invalid(format!("subscribers[{i}].email"), reason);
                    results[i] = Some(Err(ItemError::Failed(Arc::new(e))));
                }
                Err(e) => results[i] = Some(Err(ItemError::Failed(Arc::new(e)))),
            }
        }
        // Chunks are ranges of positions in `valid` (owned, lifetime-free), which keeps the
        // returned future `Send` (a closure over borrowed slices is not general enough for
        // the compiler).
        let size = self.batch_size();
        let chunks: Vec<Range<usize>> = (0..valid.len())
            .step_by(size)
            .map(|start| start..(start + size).min(valid.len()))
            .collect();
        let valid_ref = &valid;
        let mut done = stream::iter(chunks)
            .map(move |chunk| self.upsert_chunk(subscribers, valid_ref, chunk))
            .buffer_unordered(self.concurrency());
        while let Some(chunk_results) = done.next().await {
            for (i, r) in chunk_results {
                results[i] = Some(r);
            }
        }
        drop(done);
        subscribers
            .iter()
            .zip(results)
            .enumerate()
            .map(|(index, (row, result))| {
                SubscriberOutcome::new(
                    index,
                    row.email.clone(),
                    result.expect("every row gets a result"),
                )
            })
            .collect()
    }

    /// Sends one chunk (positions `chunk` of `valid`, which holds row indexes), bisecting on
    /// row errors. Returns (row index, result) pairs.
    async fn upsert_chunk(
        &self,
        rows: &[Subscriber],
        valid: &[usize],
        chunk: Range<usize>,
    ) -> Vec<(usize, Result<(), ItemError>)> {
        let mut out = Vec::with_capacity(chunk.len());
        let mut queue = VecDeque::from([chunk]);
        while let Some(part) = queue.pop_front() {
            let picked = &valid[part.clone()];
            let body = match picked {
                [one] => rows[*one].to_json(),
                many => Value::Array(many.iter().map(|&i| rows[i].to_json()).collect()),
            };
            match self.write::<Ok101>(contact_php(body), "result").await {
                Ok(_) => out.extend(picked.iter().map(|&i| (i, Ok(())))),
                Err(Error::Api { code, message }) if ROW_ERROR_CODES.contains(&code) => {
                    if let [one] = picked {
                        out.push((*one, Err(ItemError::Rejected { message, code })));
                    } else {
                        tracing::debug!(rows = part.len(), code, "batch refused; bisecting");
                        let mid = part.start + part.len() / 2;
                        queue.push_back(part.start..mid);
                        queue.push_back(mid..part.end);
                    }
                }
                Err(e) => {
                    let e = Arc::new(e);
                    out.extend(
                        picked
                            .iter()
                            .map(|&i| (i, Err(ItemError::Failed(Arc::clone(&e))))),
                    );
                }
            }
        }
        out
    }

    /// Unsubscribes an address (`POST contact.php` with `is_unsubscribed: 1`). Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// fake.client().unsubscribe("jaan@example.com").await.unwrap();
    /// assert!(fake.subscriber("jaan@example.com").unwrap().is_unsubscribed);
    /// # });
    /// ```
    pub async fn unsubscribe(&self, email: &str) -> Result<()> {
        let body = json!({"email": email, "is_unsubscribed": 1});
        self.write::<Ok101>(contact_php(body), "result")
            .await
            .map(drop)
    }

    /// Deletes a subscriber (`POST contact.php` with `is_deleted: 1`): custom data is purged,
    /// the subscription status is kept. Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// let client = fake.client();
    /// client.upsert(&smaily_client::Subscriber::new("x@example.com")).await.unwrap();
    /// client.delete("x@example.com").await.unwrap();
    /// assert!(client.subscriber("x@example.com").await.unwrap().is_none());
    /// # });
    /// ```
    pub async fn delete(&self, email: &str) -> Result<()> {
        let body = json!({"email": email, "is_deleted": 1});
        self.write::<Ok101>(contact_php(body), "result")
            .await
            .map(drop)
    }

    /// Erases subscribers for good, statistics included (`POST contact/forget.php`, a JSON
    /// array of emails whatever the [`BodyEncoding`](crate::BodyEncoding), chunks of
    /// [`FORGET_CHUNK`]). Irreversible; idempotent. Returns one outcome per address, in input
    /// order: Smaily answers one code per chunk, so a chunk that fails (after its retries)
    /// fails each of its addresses, and the next chunk is still sent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// fake.seed_subscribers([smaily_client::Subscriber::new("gone@example.com")]);
    /// let outcomes = fake.client().forget(&["gone@example.com"]).await;
    /// assert!(outcomes.iter().all(|o| o.is_ok()));
    /// assert!(fake.subscriber("gone@example.com").is_none());
    /// # });
    /// ```
    #[must_use = "each address has its own outcome: a failed chunk is only reported there"]
    pub async fn forget<S: AsRef<str>>(&self, emails: &[S]) -> Vec<SubscriberOutcome> {
        let mut out = Vec::with_capacity(emails.len());
        for (n, chunk) in emails.chunks(FORGET_CHUNK).enumerate() {
            // Erasing an address that is already gone changes nothing: safe to repeat.
            let body = Value::Array(
                chunk
                    .iter()
                    .map(|e| Value::String(e.as_ref().to_string()))
                    .collect(),
            );
            let result = self
                .write::<Ok101>(
                    Request::post("contact/forget.php", body)
                        .idempotent()
                        // "Request body must contain a JSON list of email addresses"
                        // (smaily.com/help/api/subscribers-2/forget-subscribers).
                        .json_only(),
                    "result",
                )
                .await
                .map(drop)
                .map_err(|e| ItemError::Failed(Arc::new(e)));
            let first = n * FORGET_CHUNK;
            out.extend(chunk.iter().enumerate().map(|(i, email)| {
                SubscriberOutcome::new(first + i, email.as_ref().to_string(), result.clone())
            }));
        }
        out
    }

    /// One page of a segment's subscribers (`GET contact.php?list=&offset=&limit=&fields=`);
    /// `page` is a page index. A row that does not decode is reported in
    /// [`Listing::invalid`], the others still come. Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use smaily_client::{fake::FakeSmaily, SegmentQuery, Subscriber};
    /// let fake = FakeSmaily::start().await;
    /// fake.seed_subscribers((0..3).map(|i| Subscriber::new(format!("s{i}@example.com"))));
    /// let first = fake.client().segment_page(1, 0, &SegmentQuery::default()).await?;
    /// assert_eq!(first.len(), 3);
    /// assert!(fake.smaily_requests().pop().unwrap().query_pairs().contains(&("list".into(), "1".into())));
    /// # Ok::<(), smaily_client::Error>(()) }).unwrap();
    /// ```
    pub async fn segment_page(
        &self,
        segment: u64,
        page: u32,
        query: &SegmentQuery,
    ) -> Result<Listing<Contact>> {
        self.read_list(
            segment_request(segment, page, query),
            "a list of subscribers",
        )
        .await
    }

    /// Every subscriber of a segment, paging to the end (a short or empty page ends it).
    /// [`SEGMENT_UNSUBSCRIBED`] (2) lists the unsubscribed. A row that does not decode is
    /// yielded as its own [`marketing_sync_core::Error::Decode`] and the stream goes on. Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")] tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use futures::TryStreamExt;
    /// use smaily_client::{SegmentQuery, Subscriber, SEGMENT_UNSUBSCRIBED};
    /// let fake = smaily_client::fake::FakeSmaily::start().await;
    /// fake.seed_subscribers([Subscriber::new("a@example.com").subscribed(false)]);
    /// let gone: Vec<_> = fake.client()
    ///     .segment_subscribers(SEGMENT_UNSUBSCRIBED, SegmentQuery::default().fields(["email", "unsubscribed_at"]))
    ///     .try_collect().await.unwrap();
    /// assert_eq!(gone[0].email, "a@example.com");
    /// # });
    /// ```
    pub fn segment_subscribers(
        &self,
        segment: u64,
        query: SegmentQuery,
    ) -> impl Stream<Item = Result<Contact>> + Send + 'static {
        let client = self.clone();
        let limit = query.page_size.unwrap_or(MAX_SEGMENT_PAGE) as usize;
        stream::try_unfold(Some(0u32), move |page| {
            let client = client.clone();
            let query = query.clone();
            async move {
                let Some(page) = page else {
                    return Ok::<_, Error>(None);
                };
                let req = segment_request(segment, page, &query);
                let rows: Vec<Result<Contact>> =
                    client.read_rows(req, "a list of subscribers").await?;
                // Every row counts towards a full page, decoded or not.
                let next = (rows.len() >= limit).then_some(page + 1);
                Ok(Some((stream::iter(rows.into_iter().map(Ok)), next)))
            }
        })
        .try_flatten()
        .and_then(futures::future::ready)
    }
}

/// `GET contact.php?list=&offset=&limit=&fields=` for one page.
fn segment_request(segment: u64, page: u32, query: &SegmentQuery) -> Request {
    let limit = query.page_size.unwrap_or(MAX_SEGMENT_PAGE);
    let mut req = Request::get("contact.php")
        .query("list", segment)
        .query("offset", page)
        .query("limit", limit);
    if !query.fields.is_empty() {
        req = req.query("fields", query.fields.join(","));
    }
    req
}

/// Serialises as the JSON object sent to Smaily.
impl Serialize for Subscriber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// `POST contact.php`: an upsert keyed by email ("Upsert keyed on `email`", shared/api/smaily.md
/// §3.2; "Upserts are idempotent on `email`", from the official plugins), so a repeat after a
/// timeout or a 5xx is harmless and the POST is marked idempotent: retried like a read.
fn contact_php(body: Value) -> Request {
    Request::post("contact.php", body).idempotent()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn contact_numbers_decode_as_numbers_or_strings(
            unsub in proptest::bool::ANY,
            opens in 0u32..1_000_000,
            code in 0i64..2000,
            as_strings in proptest::bool::ANY,
            field in "[a-z_]{1,10}",
            value in "\\PC{0,12}",
        ) {
            let n = |v: i64| if as_strings { json!(v.to_string()) } else { json!(v) };
            let mut obj = json!({
                "email": "a@example.com",
                "is_unsubscribed": n(i64::from(unsub)),
                "total_opens": n(i64::from(opens)),
                "last_response_code": n(code),
                "created_at": "2021-03-28 04:30:00",
            });
            if !["email", "is_unsubscribed", "total_opens", "last_response_code", "created_at"].contains(&field.as_str()) {
                obj[&field] = json!(value);
            }
            let c: Contact = serde_json::from_value(obj.clone()).unwrap();
            proptest::prop_assert_eq!(c.is_unsubscribed, unsub);
            proptest::prop_assert_eq!(c.total_opens, Some(u64::from(opens)));
            proptest::prop_assert_eq!(c.last_response_code, Some(code));
            // 04:30 on the spring-forward night: after the gap, EEST.
            proptest::prop_assert_eq!(c.created_at.unwrap().offset().seconds(), 3 * 3600);
            if let Some(v) = obj.get(&field).filter(|_| !["email", "is_unsubscribed", "total_opens", "last_response_code", "created_at"].contains(&field.as_str())) {
                proptest::prop_assert_eq!(c.fields.get(&field).map(String::as_str), v.as_str());
            }
        }
    }

    #[test]
    fn subscriber_json_omits_absent_status() {
        let s = Subscriber::new("a@example.com").field(FieldName::new("x").unwrap(), "");
        assert_eq!(s.to_json(), json!({"email": "a@example.com", "x": ""}));
        assert_eq!(
            s.subscribed(false).to_json(),
            json!({"email": "a@example.com", "is_unsubscribed": 1, "x": ""})
        );
    }
}
