//! Blacklists: add, remove, list by source.

use futures::{Stream, TryStreamExt};
use serde::Deserialize;

use crate::client::{Client, Request, segment};
use crate::error::{Error, Result};
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

/// Answer of a blacklist add/remove (`200`, `207` partial, or `400` when every item failed).
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

impl BlacklistResult {
    fn merge(&mut self, other: BlacklistResult) {
        self.successes.extend(other.successes);
        self.failures.extend(other.failures);
    }
}

impl Client {
    /// Add touchpoints to a blacklist (`POST /data/blacklists/{channel}`, 1,000 per request).
    /// Per-touchpoint failures (e.g. already blacklisted) are in `failures`, also when Splio
    /// answers 400 because all failed. Not idempotent (a repeat reports "already blacklisted").
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::Channel;
    /// let r = client.blacklist_add(Channel::Email, &["a@example.com".into()]).await?;
    /// assert_eq!(r.successes.len(), 1);
    /// let again = client.blacklist_add(Channel::Email, &["a@example.com".into()]).await?;
    /// assert_eq!(again.failures[0].error_key.as_deref(), Some("touchpoint_already_exist"));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn blacklist_add(
        &self,
        channel: Channel,
        touchpoints: &[String],
    ) -> Result<BlacklistResult> {
        let path = format!("/data/blacklists/{}", channel.singular());
        self.blacklist_change(Request::new(reqwest::Method::POST, path), touchpoints)
            .await
    }

    /// Remove touchpoints from a blacklist (`DELETE /data/blacklists/{channel}/{source}` with a
    /// body, 1,000 per request). Idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::{Channel, RemoveSource};
    /// fake.seed_blacklist(Channel::Email, "a@example.com", "custom");
    /// let r = client.blacklist_remove(Channel::Email, RemoveSource::Custom, &["a@example.com".into()]).await?;
    /// assert_eq!(r.successes.len(), 1);
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn blacklist_remove(
        &self,
        channel: Channel,
        source: RemoveSource,
        touchpoints: &[String],
    ) -> Result<BlacklistResult> {
        let source = match source {
            RemoveSource::Custom => "custom",
            RemoveSource::Unsub if channel == Channel::Email => "unsub",
            RemoveSource::Unsub => {
                return Err(Error::invalid(
                    "blacklist removal",
                    "source",
                    "unsub exists for emails only",
                ));
            }
            RemoveSource::All => "all",
        };
        let path = format!(
            "/data/blacklists/{}/{}",
            channel.singular(),
            segment(source)
        );
        self.blacklist_change(Request::delete(path), touchpoints)
            .await
    }

    async fn blacklist_change(
        &self,
        template: Request,
        touchpoints: &[String],
    ) -> Result<BlacklistResult> {
        let mut total = BlacklistResult::default();
        for chunk in touchpoints.chunks(BLACKLIST_BATCH_MAX) {
            let request = template.clone().json(serde_json::json!({ "data": chunk }));
            let part = match self
                .json::<BlacklistResult>(request, "blacklist result")
                .await
            {
                Ok(r) => r,
                // 400 "all failed": Splio's body carries failures in the same shape.
                Err(Error::Api {
                    status: 400,
                    message: Some(body),
                    ..
                }) => match serde_json::from_str::<BlacklistResult>(&body) {
                    Ok(r) if !r.failures.is_empty() => r,
                    _ => {
                        return Err(Error::Api {
                            status: 400,
                            errors: Vec::new(),
                            message: Some(body),
                        });
                    }
                },
                Err(e) => return Err(e),
            };
            total.merge(part);
        }
        Ok(total)
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
