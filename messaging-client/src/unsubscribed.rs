//! The unsubscribed-emails list (`/v1/emails/unsubscribed/add|delete`).

use reqwest::Method;
use serde::Serialize;

use crate::client::{Client, Request};
use crate::error::Result;

#[derive(Serialize)]
struct Emails<'a> {
    emails: Vec<&'a str>,
}

impl Client {
    /// Adds email *addresses* to the unsubscribed list: every contact with such an address stops
    /// receiving bulk email (SMS, push and Viber stay active). Idempotent (retried).
    /// An empty list sends nothing.
    ///
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// client.add_unsubscribed(["a@example.com", "b@example.com"]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_unsubscribed<I, S>(&self, emails: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.unsubscribed("add", emails).await
    }

    /// Removes email addresses from the unsubscribed list. Idempotent (retried).
    /// ```no_run
    /// # async fn run(client: messaging_client::Client) -> Result<(), messaging_client::Error> {
    /// client.remove_unsubscribed(["back@example.com"]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn remove_unsubscribed<I, S>(&self, emails: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.unsubscribed("delete", emails).await
    }

    async fn unsubscribed<I, S>(&self, action: &str, emails: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let owned: Vec<S> = emails.into_iter().collect();
        if owned.is_empty() {
            return Ok(());
        }
        let body = Emails {
            emails: owned.iter().map(AsRef::as_ref).collect(),
        };
        let req = Request::new(Method::POST, &["v1", "emails", "unsubscribed", action])
            .json(&body)?
            // Adding an address to the set (or removing it) twice leaves the set as once.
            .idempotent(true);
        self.send(req).await.map(drop)
    }
}
