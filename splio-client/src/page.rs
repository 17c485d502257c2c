//! Page-number pagination (`per_page`, `page_number`) and a `Stream` over all pages.

use futures::Stream;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::client::{Client, Request};
use crate::error::{Error, Result};
use crate::lenient;

/// One page of a list endpoint.
#[derive(Clone, Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    /// Total number of elements across all pages.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub count_element: Option<i64>,
    /// This page's number (from 1).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub current_page: Option<i64>,
    /// Page size, when the service says.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub per_page: Option<i64>,
    /// Sort order: an object, or `[]` when there is none.
    #[serde(default)]
    pub sort: serde_json::Value,
    /// The elements.
    #[serde(default = "Vec::new", deserialize_with = "lenient::vec_or_empty")]
    pub elements: Vec<T>,
}

/// Page size used by the streaming helpers (the API's maximum).
pub(crate) const STREAM_PAGE_SIZE: u32 = 1000;

impl Client {
    /// Fetch one page: `request` plus `per_page` and `page_number`.
    pub(crate) async fn page<T: DeserializeOwned>(
        &self,
        request: Request,
        per_page: u32,
        page_number: u32,
    ) -> Result<Page<T>> {
        let request = request
            .query("per_page", per_page)
            .query("page_number", page_number);
        self.json(request, "page").await
    }

    /// Stream every element of a paged endpoint, one page request at a time.
    pub(crate) fn paged<T, F>(&self, make: F) -> impl Stream<Item = Result<T>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn() -> Request + Send + Sync + 'static,
    {
        let client = self.clone();
        let pages = futures::stream::try_unfold(Some((1u32, 0i64)), move |state| {
            let client = client.clone();
            let request = state.map(|_| make());
            async move {
                let (Some((number, seen)), Some(request)) = (state, request) else {
                    return Ok::<_, Error>(None);
                };
                let page: Page<T> = client.page(request, STREAM_PAGE_SIZE, number).await?;
                let got = page.elements.len() as i64;
                let seen = seen + got;
                let more = got > 0
                    && match page.count_element {
                        Some(total) => seen < total,
                        None => got >= STREAM_PAGE_SIZE as i64,
                    };
                let next = more.then_some((number + 1, seen));
                Ok(Some((
                    futures::stream::iter(page.elements.into_iter().map(Ok)),
                    next,
                )))
            }
        });
        futures::TryStreamExt::try_flatten(pages)
    }
}
