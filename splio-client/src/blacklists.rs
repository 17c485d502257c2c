//! Blacklists: add, remove, list by source.

use futures::{Stream, TryStreamExt};
use serde::Deserialize;

use std::collections::{HashMap, VecDeque};

use crate::client::{Client, Request, segment};
use crate::contacts::{ContactOutcome, all_failed, chunk_failed};
use crate::error::{Error, ItemError, Result};
use crate::lenient;

/// Most touchpoints sent in one blacklist request.
pub const BLACKLIST_BATCH_MAX: usize = 1000;

/// A blacklist channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Email addresses.
    Email,
    /// Cellphone numbers.
    Cellphone,
}

impl Channel {
    fn singular(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Cellphone => "cellphone",
        }
    }
    fn plural(self) -> &'static str {
        match self {
            Channel::Email => "emails",
            Channel::Cellphone => "cellphones",
        }
    }
}

/// Where a blacklist entry came from (`source`). Not every source exists on every channel:
/// `unsub` and `fbl` are email-only, `stop` is cellphone-only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlacklistSource {
    /// Added by the customer.
    Custom,
    /// Unsubscribed (email).
    Unsub,
    /// Soft bounces.
    Soft,
    /// Feedback loop (email).
    Fbl,
    /// Hard bounces.
    Bounce,
    /// STOP answers (cellphone).
    Stop,
}

impl BlacklistSource {
    fn as_str(self) -> &'static str {
        match self {
            BlacklistSource::Custom => "custom",
            BlacklistSource::Unsub => "unsub",
            BlacklistSource::Soft => "soft",
            BlacklistSource::Fbl => "fbl",
            BlacklistSource::Bounce => "bounce",
            BlacklistSource::Stop => "stop",
        }
    }
}

/// Which entries a removal applies to (`DELETE /data/blacklists/{channel}/{source}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RemoveSource {
    /// Entries added by the customer.
    Custom,
    /// Unsubscriptions (email only).
    Unsub,
    /// Every source.
    All,
}

/// A blacklist entry. The touchpoint is called `number` even for emails.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct BlacklistEntry {
    /// The email or cellphone.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub number: Option<String>,
    /// When it was blacklisted.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub creation_date: Option<String>,
    /// Source (`custom`, `unsub`, …).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub source: Option<String>,
}

/// A failed touchpoint in a blacklist answer.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct BlacklistFailure {
    /// The touchpoint.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub touchpoint: Option<String>,
    /// Message, e.g. "Touchpoint john@doe.com is already blacklisted.".
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub error: Option<String>,
    /// Key, e.g. `touchpoint_already_exist`, `touchpoint_not_blacklisted`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub error_key: Option<String>,
}

/// Answer of a blacklist add/remove as Splio sends it (`200`, `207` partial, or `400` when every
/// item failed); the client turns it into one outcome per touchpoint.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct BlacklistResult {
    /// Touchpoints that succeeded.
    #[serde(default, deserialize_with = "lenient::vec_or_empty")]
    pub successes: Vec<serde_json::Value>,
    /// Touchpoints that failed, with why.
    #[serde(default, deserialize_with = "lenient::vec_or_empty")]
    pub failures: Vec<BlacklistFailure>,
}

/// A touchpoint as compared by [`Client::blacklist_lookup`].
fn comparable(channel: Channel, touchpoint: &str) -> String {
    match channel {
        Channel::Email => touchpoint.trim().to_lowercase(),
        Channel::Cellphone => touchpoint.chars().filter(char::is_ascii_digit).collect(),
    }
}

/// Match a blacklist answer back to the chunk's touchpoints (compared as
/// [`blacklist_lookup`](Client::blacklist_lookup) compares them): a success is `Ok`, a failure
/// [`ItemError::Rejected`] with Splio's `error` and `error_key` (code 400, the status Splio
/// answers when every touchpoint failed: it gives none per touchpoint), a touchpoint the
/// answer does not name [`ItemError::OutcomeUnknown`]. A failed request gives every
/// touchpoint of its chunk the request's error (shared).
fn blacklist_outcomes(
    channel: Channel,
    chunk: &[(usize, String)],
    answer: Result<BlacklistResult>,
) -> Vec<ContactOutcome<()>> {
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            return chunk_failed(
                chunk,
                &ItemError::from_request("the request carrying it", e),
            );
        }
    };
    let mut by_touchpoint: HashMap<String, VecDeque<usize>> = HashMap::new();
    for (pos, (_, t)) in chunk.iter().enumerate() {
        by_touchpoint
            .entry(comparable(channel, t))
            .or_default()
            .push_back(pos);
    }
    let mut results: Vec<Option<std::result::Result<(), ItemError>>> = vec![None; chunk.len()];
    let mut place = |touchpoint: Option<&str>, result| {
        if let Some(pos) = touchpoint
            .and_then(|t| by_touchpoint.get_mut(&comparable(channel, t)))
            .and_then(VecDeque::pop_front)
        {
            results[pos] = Some(result);
        }
    };
    for success in &answer.successes {
        let touchpoint = match success {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            other => other
                .get("touchpoint")
                .or_else(|| other.get("number"))
                .and_then(|v| v.as_str().map(str::to_string)),
        };
        place(touchpoint.as_deref(), Ok(()));
    }
    for failure in &answer.failures {
        place(
            failure.touchpoint.as_deref(),
            Err(ItemError::Rejected {
                message: failure.error.clone().unwrap_or_default(),
                code: 400,
                error_key: failure.error_key.clone(),
            }),
        );
    }
    chunk
        .iter()
        .zip(results)
        .map(|((index, touchpoint), result)| {
            let result = result.unwrap_or_else(|| {
                Err(ItemError::OutcomeUnknown {
                    reason: "Splio's answer named no outcome for it".into(),
                })
            });
            ContactOutcome::new(*index, touchpoint.clone(), result)
        })
        .collect()
}

impl Client {
    /// Add touchpoints to a blacklist (`POST /data/blacklists/{channel}`, 1,000 per request).
    /// One outcome per touchpoint, in input order: one already blacklisted is
    /// [`ItemError::Rejected`] with `error_key` `touchpoint_already_exist`
    /// ([`is_already_exists`](ItemError::is_already_exists)), also when Splio answers 400
    /// because all failed. Not idempotent: a request whose answer was lost gives
    /// [`ItemError::OutcomeUnknown`] to each of its touchpoints.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::Channel;
    /// let r = client.blacklist_add(Channel::Email, &["a@example.com".into()]).await;
    /// assert!(r[0].is_ok());
    /// let again = client.blacklist_add(Channel::Email, &["a@example.com".into()]).await;
    /// assert!(again[0].result.as_ref().unwrap_err().is_already_exists());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    #[must_use = "each touchpoint has its own outcome: check them"]
    pub async fn blacklist_add(
        &self,
        channel: Channel,
        touchpoints: &[String],
    ) -> Vec<ContactOutcome<()>> {
        let path = format!("/data/blacklists/{}", channel.singular());
        self.blacklist_change(
            channel,
            Request::new(reqwest::Method::POST, path),
            touchpoints,
        )
        .await
    }

    /// Remove touchpoints from a blacklist (`DELETE /data/blacklists/{channel}/{source}` with a
    /// body, 1,000 per request). One outcome per touchpoint, in input order; one that is not
    /// blacklisted (from that source) is [`ItemError::Rejected`] with `error_key`
    /// `touchpoint_not_blacklisted`. Idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::{Channel, RemoveSource};
    /// fake.seed_blacklist(Channel::Email, "a@example.com", "custom");
    /// let r = client.blacklist_remove(Channel::Email, RemoveSource::Custom, &["a@example.com".into()]).await;
    /// assert!(r[0].is_ok());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    #[must_use = "each touchpoint has its own outcome: check them"]
    pub async fn blacklist_remove(
        &self,
        channel: Channel,
        source: RemoveSource,
        touchpoints: &[String],
    ) -> Vec<ContactOutcome<()>> {
        let source = match source {
            RemoveSource::Custom => "custom",
            RemoveSource::Unsub if channel == Channel::Email => "unsub",
            RemoveSource::Unsub => {
                let e = Error::invalid(
                    "blacklist removal",
                    "source",
                    "unsub exists for emails only",
                );
                return all_failed(touchpoints.iter().cloned(), e);
            }
            RemoveSource::All => "all",
        };
        let path = format!(
            "/data/blacklists/{}/{}",
            channel.singular(),
            segment(source)
        );
        self.blacklist_change(channel, Request::delete(path), touchpoints)
            .await
    }

    async fn blacklist_change(
        &self,
        channel: Channel,
        template: Request,
        touchpoints: &[String],
    ) -> Vec<ContactOutcome<()>> {
        let indexed: Vec<(usize, String)> = touchpoints.iter().cloned().enumerate().collect();
        let mut out = Vec::with_capacity(touchpoints.len());
        for chunk in indexed.chunks(BLACKLIST_BATCH_MAX) {
            let data: Vec<&String> = chunk.iter().map(|(_, t)| t).collect();
            let request = template.clone().json(serde_json::json!({ "data": data }));
            let answer = match self
                .json::<BlacklistResult>(request, "blacklist result")
                .await
            {
                // 400 "all failed": Splio's body carries failures in the same shape.
                Err(Error::Api {
                    status: 400,
                    errors,
                    message: Some(body),
                }) => match serde_json::from_str::<BlacklistResult>(&body) {
                    Ok(r) if !r.failures.is_empty() => Ok(r),
                    _ => Err(Error::Api {
                        status: 400,
                        errors,
                        message: Some(body),
                    }),
                },
                other => other,
            };
            out.extend(blacklist_outcomes(channel, chunk, answer));
        }
        out
    }

    /// The blacklist entries of one email or cellphone (`GET /data/blacklists/emails` or
    /// `/cellphones` with `term`, the documented "filter results on a specific value"; go-splio
    /// sends it the same way): one entry per source that blacklisted it, empty when it is not
    /// blacklisted. Whether `term` matches whole values or parts is undocumented, so only the
    /// entries for the touchpoint itself are kept (emails compared case-insensitively,
    /// cellphones by their digits: `+33614021388` is `33614021388`). Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::Channel;
    /// fake.seed_blacklist(Channel::Email, "john@doe.com", "unsub");
    /// fake.seed_blacklist(Channel::Email, "big.john@doe.com", "custom");
    /// let entries = client.blacklist_lookup(Channel::Email, "John@Doe.com").await?;
    /// assert_eq!(entries.len(), 1);
    /// assert_eq!(entries[0].source.as_deref(), Some("unsub"));
    /// assert!(client.blacklist_lookup(Channel::Email, "ann@doe.com").await?.is_empty());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn blacklist_lookup(
        &self,
        channel: Channel,
        touchpoint: &str,
    ) -> Result<Vec<BlacklistEntry>> {
        let wanted = comparable(channel, touchpoint);
        let path = format!("/data/blacklists/{}", channel.plural());
        let term = touchpoint.to_owned();
        self.paged(move || Request::get(path.clone()).query("term", &term))
            .try_filter(|e: &BlacklistEntry| {
                let same = e
                    .number
                    .as_deref()
                    .is_some_and(|n| comparable(channel, n) == wanted);
                futures::future::ready(same)
            })
            .try_collect()
            .await
    }

    /// Stream a channel's blacklist, optionally only one source (`GET /data/blacklists/emails` or
    /// `/cellphones`, paged). Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) -> splio_client::Result<()> {
    /// use futures::TryStreamExt;
    /// use splio_client::{BlacklistSource, Channel};
    /// let unsubscribed: Vec<_> = client.blacklist(Channel::Email, Some(BlacklistSource::Unsub)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn blacklist(
        &self,
        channel: Channel,
        source: Option<BlacklistSource>,
    ) -> impl Stream<Item = Result<BlacklistEntry>> + Send + 'static {
        let path = format!("/data/blacklists/{}", channel.plural());
        self.paged(move || {
            let r = Request::get(path.clone());
            match source {
                Some(s) => r.query("source", s.as_str()),
                None => r,
            }
        })
    }
}
