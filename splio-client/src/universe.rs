//! Universe-level endpoints: the contact unique key and `ping`.

use serde::Deserialize;

use crate::client::{Client, Request};
use crate::error::{Error, Result};

/// What identifies a contact in this universe (`GET /universes/unique-key`): it is what `{id}` means
/// in contact paths and what bulk `contact_id` values are.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UniqueKey {
    /// Contacts are keyed by email (lowercase).
    Email,
    /// Contacts are keyed by cellphone.
    Cellphone,
    /// Contacts are keyed by custom field `c<id>`.
    CustomField(u32),
}

impl UniqueKey {
    /// Parse Splio's wire value: `email`, `cellphone`, or `cN`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "email" => Some(UniqueKey::Email),
            "cellphone" => Some(UniqueKey::Cellphone),
            other => other
                .strip_prefix('c')
                .and_then(|n| n.parse().ok())
                .map(UniqueKey::CustomField),
        }
    }

    /// The wire value (`email`, `cellphone`, `c5`).
    pub fn as_wire(&self) -> String {
        match self {
            UniqueKey::Email => "email".into(),
            UniqueKey::Cellphone => "cellphone".into(),
            UniqueKey::CustomField(id) => format!("c{id}"),
        }
    }
}

impl Client {
    /// `GET /ping`: checks the credentials and returns the API user's id. Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) -> splio_client::Result<()> {
    /// let user_id = client.ping().await?;
    /// # Ok(()) }
    /// ```
    pub async fn ping(&self) -> Result<Option<i64>> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default, deserialize_with = "crate::lenient::opt_i64")]
            user_id: Option<i64>,
        }
        let a: Answer = self.json(Request::get("/ping"), "ping").await?;
        Ok(a.user_id)
    }

    /// The universe's unique key, fetched once with `GET /universes/unique-key` and cached for all
    /// clones (or as declared with [`ClientBuilder::unique_key`](crate::ClientBuilder::unique_key)).
    /// Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) -> splio_client::Result<()> {
    /// if client.unique_key().await? == splio_client::UniqueKey::Email { /* … */ }
    /// # Ok(()) }
    /// ```
    pub async fn unique_key(&self) -> Result<UniqueKey> {
        #[derive(Deserialize)]
        struct Answer {
            unique_key: String,
        }
        self.inner
            .unique_key
            .get_or_try_init(|| async {
                let a: Answer = self
                    .json(Request::get("/universes/unique-key"), "unique key")
                    .await?;
                UniqueKey::parse(&a.unique_key).ok_or_else(|| {
                    Error::from(marketing_sync_core::Error::Decode {
                        expected: "unique key (email, cellphone or cN)",
                        path: "unique_key".into(),
                        message: "unknown unique key".into(),
                        snippet: a.unique_key.clone(),
                    })
                })
            })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wire_values() {
        assert_eq!(UniqueKey::parse("email"), Some(UniqueKey::Email));
        assert_eq!(UniqueKey::parse("cellphone"), Some(UniqueKey::Cellphone));
        assert_eq!(UniqueKey::parse("c0"), Some(UniqueKey::CustomField(0)));
        assert_eq!(UniqueKey::parse("c12").unwrap().as_wire(), "c12");
        assert_eq!(UniqueKey::parse("foo"), None);
    }
}
