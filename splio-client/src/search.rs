//! The `fields` search filter of `GET /data/contacts`: `[{key, operator, value}]`.
//!
//! The OpenAPI document declares the parameter an array of objects in the query, `explode:
//! true`, `format: application/json`, and says nothing more about its encoding; kepinsu/go-splio
//! sends it in a JSON body on the GET instead. So the encoding is a setting
//! ([`SearchEncoding`]). The default is PHP-style brackets (`fields[0][key]=…`): the one form
//! a validator of the document (Prism, in this crate's conformance test) accepts; it refuses a
//! JSON array in `fields` ("must be object") and a body on the GET. Those two stay available
//! for a universe that turns out to want them.

use futures::Stream;
use serde_json::{Value, json};

use crate::client::{Client, Request};
use crate::contacts::Contact;
use crate::error::{Error, Result};
use crate::page::Page;

/// A search operator (the document's enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SearchOperator {
    /// `is`.
    Is,
    /// `isnot`.
    IsNot,
    /// `equal`.
    Equal,
    /// `notequal`.
    NotEqual,
    /// `contains`.
    Contains,
    /// `starts`.
    Starts,
    /// `ends`.
    Ends,
    /// `greater`.
    Greater,
    /// `lower`.
    Lower,
    /// `after`.
    After,
    /// `before`.
    Before,
}

impl SearchOperator {
    /// The wire name.
    pub fn as_wire(self) -> &'static str {
        match self {
            SearchOperator::Is => "is",
            SearchOperator::IsNot => "isnot",
            SearchOperator::Equal => "equal",
            SearchOperator::NotEqual => "notequal",
            SearchOperator::Contains => "contains",
            SearchOperator::Starts => "starts",
            SearchOperator::Ends => "ends",
            SearchOperator::Greater => "greater",
            SearchOperator::Lower => "lower",
            SearchOperator::After => "after",
            SearchOperator::Before => "before",
        }
    }
}

/// How the filter goes on the wire. Splio documents no encoding: the OpenAPI document
/// declares the parameter an array of objects with `format: application/json`, and
/// kepinsu/go-splio sends a JSON body on the GET. The default, brackets, is the one form a
/// validator of the document (Prism) accepts; it refuses the other two.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SearchEncoding {
    /// `?fields=[{"key":…,"operator":…,"value":…}]` (URL-encoded JSON: the document's
    /// `format: application/json` read literally).
    JsonQuery,
    /// `?fields[0][key]=…&fields[0][operator]=…&fields[0][value]=…` (the default).
    #[default]
    Brackets,
    /// A JSON body `{"fields":[…]}` on the GET (kepinsu/go-splio).
    JsonBody,
}

/// The keys the document lists for contacts, besides custom fields `cNN`.
const KEYS: [&str; 8] = [
    "key",
    "firstname",
    "lastname",
    "creation_date",
    "language",
    "email",
    "cellphone",
    "card code",
];

/// One condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchFilter {
    /// `key`, `firstname`, `lastname`, `creation_date`, `language`, `email`, `cellphone`,
    /// `card code`, or a custom field `cNN`.
    pub key: String,
    /// The operator.
    pub operator: SearchOperator,
    /// The value.
    pub value: String,
}

impl SearchFilter {
    /// A condition.
    pub fn new(key: impl Into<String>, operator: SearchOperator, value: impl Into<String>) -> Self {
        SearchFilter {
            key: key.into(),
            operator,
            value: value.into(),
        }
    }

    fn check(&self) -> Result<()> {
        let custom = self
            .key
            .strip_prefix('c')
            .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()));
        if custom || KEYS.contains(&self.key.as_str()) {
            return Ok(());
        }
        Err(Error::invalid(
            "search filter",
            self.key.as_str(),
            format!("not a searchable contact key (one of {KEYS:?}, or cNN for a custom field)"),
        ))
    }

    fn to_json(&self) -> Value {
        json!({"key": self.key, "operator": self.operator.as_wire(), "value": self.value})
    }
}

/// A contact search: conditions (all must hold) and their encoding.
///
/// ```
/// use splio_client::{ContactSearch, SearchEncoding, SearchFilter, SearchOperator};
/// let search = ContactSearch::new()
///     .filter(SearchFilter::new("lastname", SearchOperator::Equal, "Doe"))
///     .encoding(SearchEncoding::Brackets);
/// assert_eq!(search.filters().len(), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactSearch {
    filters: Vec<SearchFilter>,
    encoding: SearchEncoding,
}

impl ContactSearch {
    /// No conditions yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a condition.
    pub fn filter(mut self, filter: SearchFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// The wire encoding (default [`SearchEncoding::Brackets`]).
    pub fn encoding(mut self, encoding: SearchEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// The conditions.
    pub fn filters(&self) -> &[SearchFilter] {
        &self.filters
    }

    fn check(&self) -> Result<()> {
        if self.filters.is_empty() {
            return Err(Error::invalid("search", "fields", "no condition"));
        }
        self.filters.iter().try_for_each(SearchFilter::check)
    }

    fn request(&self) -> Request {
        let request = Request::get("/data/contacts");
        let array = Value::Array(self.filters.iter().map(SearchFilter::to_json).collect());
        match self.encoding {
            SearchEncoding::JsonQuery => request.query("fields", array),
            SearchEncoding::Brackets => {
                self.filters.iter().enumerate().fold(request, |r, (i, f)| {
                    r.query(format!("fields[{i}][key]"), &f.key)
                        .query(format!("fields[{i}][operator]"), f.operator.as_wire())
                        .query(format!("fields[{i}][value]"), &f.value)
                })
            }
            SearchEncoding::JsonBody => request.json(json!({ "fields": array })),
        }
    }
}

impl Client {
    /// One page of the contacts matching `search` (`GET /data/contacts` with `fields`).
    /// Idempotent. A condition on an unknown key fails before sending.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> splio_client::Result<()> {
    /// # let fake = splio_client::fake::FakeSplio::start().await;
    /// # use splio_client::fake::FakeService as _;
    /// # let client = fake.client();
    /// use splio_client::{ContactData, ContactSearch, SearchFilter, SearchOperator};
    /// fake.seed_contact(ContactData::with_email("ann@example.com").lastname("Doe"));
    /// fake.seed_contact(ContactData::with_email("bob@example.com").lastname("Roe"));
    /// let search = ContactSearch::new().filter(SearchFilter::new("lastname", SearchOperator::Equal, "Doe"));
    /// let page = client.search_contacts_page(&search, 1, 100).await?;
    /// assert_eq!(page.elements.len(), 1);
    /// assert_eq!(page.elements[0].email.as_deref(), Some("ann@example.com"));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn search_contacts_page(
        &self,
        search: &ContactSearch,
        page_number: u32,
        per_page: u32,
    ) -> Result<Page<Contact>> {
        search.check()?;
        self.page(search.request(), per_page, page_number).await
    }

    /// Stream every contact matching `search`, page after page. Idempotent.
    ///
    /// ```no_run
    /// # async fn demo(client: splio_client::Client) -> splio_client::Result<()> {
    /// use futures::TryStreamExt;
    /// use splio_client::{ContactSearch, SearchFilter, SearchOperator};
    /// let search = ContactSearch::new().filter(SearchFilter::new("c3", SearchOperator::Greater, "100"));
    /// let vips: Vec<_> = client.search_contacts(&search).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn search_contacts(
        &self,
        search: &ContactSearch,
    ) -> impl Stream<Item = Result<Contact>> + Send + 'static {
        use futures::StreamExt;
        match search.check() {
            Err(e) => futures::stream::iter([Err(e)]).left_stream(),
            Ok(()) => {
                let search = search.clone();
                self.paged(move || search.request()).right_stream()
            }
        }
    }
}
