//! One contact at a time: list, get, create, patch, delete, subscribe/unsubscribe, upsert.

use serde_json::json;

use super::{Contact, ContactData, UpdateAction, UpsertAction, contact_path};
use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::page::Page;

impl Client {
    /// Stream every contact (`GET /data/contacts`, 1,000 per page). Idempotent. To filter, see
    /// [`search_contacts`](Self::search_contacts).
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use futures::TryStreamExt;
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com"));
    /// let all: Vec<splio_client::Contact> = client.contacts().try_collect().await?;
    /// assert_eq!(all[0].email.as_deref(), Some("a@example.com"));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub fn contacts(&self) -> impl futures::Stream<Item = Result<Contact>> + Send + 'static {
        self.paged(|| Request::get("/data/contacts"))
    }

    /// One page of contacts (`GET /data/contacts`, `per_page` 1..1000). Its `count_element`
    /// is the universe's size, so page 1 tells in one request how many pages a full listing
    /// takes. Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// for i in 0..3 {
    ///     fake.seed_contact(splio_client::ContactData::with_email(format!("c{i}@example.com")));
    /// }
    /// let page = client.contacts_page(1, 2).await?;
    /// assert_eq!((page.count_element, page.elements.len()), (Some(3), 2));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn contacts_page(&self, page_number: u32, per_page: u32) -> Result<Page<Contact>> {
        if !(1..=1000).contains(&per_page) || page_number == 0 {
            return Err(Error::invalid(
                "contacts page",
                "per_page/page_number",
                "per_page must be 1..1000 and page_number at least 1",
            ));
        }
        self.page(Request::get("/data/contacts"), per_page, page_number)
            .await
    }

    /// `GET /data/contacts/{key}` (key percent-encoded). Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) -> splio_client::Result<()> {
    /// let contact = client.get_contact("jane+news@example.com").await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_contact(&self, key: &str) -> Result<Contact> {
        self.json(Request::get(contact_path(key)), "contact").await
    }

    /// `POST /data/contacts`. Not idempotent (a repeat fails with "already exists"): retried only
    /// when the request provably did not reach Splio; when its answer is lost (timeout, cut
    /// connection) it is [`Error::OutcomeUnknown`] naming the contact.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::ContactData;
    /// let created = client.create_contact(&ContactData::with_email("new@example.com").firstname("New")).await?;
    /// assert!(created.id.is_some());
    /// assert!(client.create_contact(&ContactData::with_email("new@example.com")).await.unwrap_err().is_already_exists());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn create_contact(&self, contact: &ContactData) -> Result<Contact> {
        let key = self.unique_key().await?;
        let id = contact.key_for(&key)?;
        contact.validate(&id)?;
        self.json(
            Request::post(
                "/data/contacts",
                contact.create_body(self.inner.creation_date_hour),
            ),
            "contact",
        )
        .await
        .map_err(|e| match e {
            // Name the contact rather than the request.
            Error::OutcomeUnknown { reason, exists, .. } => Error::OutcomeUnknown {
                key: id,
                reason,
                exists,
            },
            e => e,
        })
    }

    /// `PATCH /data/contacts/{key}` with the given attributes. Idempotent. `contact.lists` and the
    /// unique-key attribute are not sent (use [`subscribe`](Self::subscribe)); a missing contact is
    /// a 404 error (see [`Error::is_not_found`]).
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::ContactData;
    /// fake.seed_contact(ContactData::with_email("a@example.com"));
    /// let patched = client.patch_contact("a@example.com", &ContactData::default().lastname("Doe")).await?;
    /// assert_eq!(patched.lastname.as_deref(), Some("Doe"));
    /// assert!(client.patch_contact("nobody@example.com", &ContactData::default()).await.unwrap_err().is_not_found());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn patch_contact(&self, key: &str, contact: &ContactData) -> Result<Contact> {
        let universe_key = self.unique_key().await?;
        contact.validate(key)?;
        let body = contact.patch_body(&universe_key, self.inner.creation_date_hour);
        self.json(Request::patch(contact_path(key), body), "contact")
            .await
    }

    /// `DELETE /data/contacts/{key}`. Idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com"));
    /// client.delete_contact("a@example.com").await?;
    /// assert!(fake.contact("a@example.com").is_none());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn delete_contact(&self, key: &str) -> Result<()> {
        self.send(Request::delete(contact_path(key)))
            .await
            .map(drop)
    }

    /// Add memberships: `POST /data/contacts/{key}/lists/subscribe`. Idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// let list = fake.seed_list("newsletter");
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com"));
    /// client.subscribe("a@example.com", &[list]).await?;
    /// assert!(fake.contact("a@example.com").unwrap().lists.contains(&list));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn subscribe(&self, key: &str, list_ids: &[u64]) -> Result<Contact> {
        self.lists_change(key, list_ids, "subscribe").await
    }

    /// Remove memberships: `POST /data/contacts/{key}/lists/unsubscribe`. Idempotent.
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// let list = fake.seed_list("newsletter");
    /// fake.seed_contact(splio_client::ContactData::with_email("a@example.com").list(list));
    /// client.unsubscribe("a@example.com", &[list]).await?;
    /// assert!(fake.contact("a@example.com").unwrap().lists.is_empty());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn unsubscribe(&self, key: &str, list_ids: &[u64]) -> Result<Contact> {
        self.lists_change(key, list_ids, "unsubscribe").await
    }

    async fn lists_change(&self, key: &str, list_ids: &[u64], action: &str) -> Result<Contact> {
        let path = format!("{}/lists/{action}", contact_path(key));
        let request = Request::post(path, json!({ "list_ids": list_ids })).idempotent(true);
        self.json(request, "contact").await
    }

    /// Update one contact, never creating it: PATCH (never `lists`, never the key), then
    /// subscribe its lists; a `404` is [`UpdateAction::NotFound`]. For "insert only if asked".
    /// Idempotent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::{ContactData, UpdateAction};
    /// fake.seed_contact(ContactData::with_email("ann@example.com"));
    /// let ann = ContactData::with_email("ann@example.com").lastname("Doe");
    /// assert_eq!(client.update(&ann).await?, UpdateAction::Updated);
    /// let bob = ContactData::with_email("bob@example.com").lastname("Roe");
    /// assert_eq!(client.update(&bob).await?, UpdateAction::NotFound);
    /// assert!(fake.contact("bob@example.com").is_none());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn update(&self, contact: &ContactData) -> Result<UpdateAction> {
        let universe_key = self.unique_key().await?;
        let key = contact.key_for(&universe_key)?;
        match self.patch_contact(&key, contact).await {
            Ok(_) => {
                if !contact.lists.is_empty() {
                    self.subscribe(&key, &contact.lists).await?;
                }
                Ok(UpdateAction::Updated)
            }
            Err(e) if e.is_not_found() => Ok(UpdateAction::NotFound),
            Err(e) => Err(e),
        }
    }

    /// Create or update one contact: PATCH, then POST on 404; list ids are subscribed after a
    /// patch. Idempotent as a whole.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) -> splio_client::Result<()> {
    /// use splio_client::{ContactData, UpsertAction};
    /// let action = client.upsert(&ContactData::with_email("jane@example.com").firstname("Jane")).await?;
    /// assert!(matches!(action, UpsertAction::Created | UpsertAction::Updated));
    /// # Ok(()) }
    /// ```
    pub async fn upsert(&self, contact: &ContactData) -> Result<UpsertAction> {
        let universe_key = self.unique_key().await?;
        let key = contact.key_for(&universe_key)?;
        match self.patch_contact(&key, contact).await {
            Ok(_) => {
                if !contact.lists.is_empty() {
                    self.subscribe(&key, &contact.lists).await?;
                }
                Ok(UpsertAction::Updated)
            }
            Err(e) if e.is_not_found() => match self.create_contact(contact).await {
                Ok(_) => Ok(UpsertAction::Created),
                // Created concurrently by someone else: patch it after all.
                Err(e) if e.is_already_exists() => {
                    self.patch_contact(&key, contact).await?;
                    if !contact.lists.is_empty() {
                        self.subscribe(&key, &contact.lists).await?;
                    }
                    Ok(UpsertAction::Updated)
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    }
}
