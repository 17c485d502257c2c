//! A lazy stream over `startindex`/`maxrows` pages, read until a short page (the service's
//! `TotalCount` header is not trustworthy).

use std::future::Future;

use futures::{Stream, TryStreamExt, stream};

use crate::error::{Error, Result};

/// Streams every item, fetching page after page (`start_index` is 1-based) until a page has
/// fewer than `page_size` items.
pub(crate) fn all_pages<T, F, Fut>(
    page_size: u32,
    fetch: F,
) -> impl Stream<Item = Result<T>> + Send + 'static
where
    T: Send + 'static,
    F: FnMut(u32) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Vec<T>>> + Send + 'static,
{
    stream::try_unfold((fetch, Some(1u32)), move |(mut fetch, start)| async move {
        let Some(start) = start else {
            return Ok::<_, Error>(None);
        };
        let items = fetch(start).await?;
        let next =
            (items.len() >= page_size as usize && !items.is_empty()).then(|| start + page_size);
        Ok(Some((
            stream::iter(items.into_iter().map(Ok)),
            (fetch, next),
        )))
    })
    .try_flatten()
}
