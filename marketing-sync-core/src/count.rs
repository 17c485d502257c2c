//! Requests counted per call: [`count_requests`] scopes a future, and every attempt any client
//! sends while it runs is added to its count.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

tokio::task_local! {
    static SCOPE: Arc<Scope>;
}

/// One counting scope and the one around it (scopes nest; an attempt counts in each).
struct Scope {
    count: AtomicU64,
    outer: Option<Arc<Scope>>,
}

/// Runs `future` and counts the HTTP attempts (retries included) that the clients send while
/// it runs: the exact cost of one call, even when other calls share the client concurrently.
/// Scopes nest: an attempt counts in every scope around it. A stream is counted where it is
/// polled, so poll it inside the scope.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use marketing_sync_core::{Executor, RetryPolicy, Settings, count_requests};
/// let executor = Executor::new(&Settings::new("x").retry(RetryPolicy::fast(2)))?;
/// let request = || executor.request(reqwest::Method::GET, "http://127.0.0.1:9/".parse().unwrap());
/// let (answer, requests) = count_requests(executor.send(request())).await;
/// assert!(answer.is_err());
/// assert_eq!(requests, 3); // nothing listens on port 9: the attempt and two retries
/// # Ok::<(), marketing_sync_core::Error>(()) }).unwrap();
/// ```
pub async fn count_requests<F: Future>(future: F) -> (F::Output, u64) {
    let scope = Arc::new(Scope {
        count: AtomicU64::new(0),
        outer: SCOPE.try_with(Arc::clone).ok(),
    });
    let output = SCOPE.scope(Arc::clone(&scope), future).await;
    (output, scope.count.load(Ordering::Relaxed))
}

/// Adds one attempt to every scope the current task is in.
pub(crate) fn count_attempt() {
    let _ = SCOPE.try_with(|scope| {
        let mut next = Some(scope);
        while let Some(s) = next {
            s.count.fetch_add(1, Ordering::Relaxed);
            next = s.outer.as_ref();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nested_scopes_each_count_and_concurrent_scopes_do_not_mix() {
        let ((inner, outer_before), outer) = count_requests(async {
            count_attempt();
            let (_, inner) = count_requests(async {
                count_attempt();
                count_attempt();
            })
            .await;
            (inner, 1)
        })
        .await;
        assert_eq!((inner, outer_before, outer), (2, 1, 3));

        let one = count_requests(async {
            tokio::task::yield_now().await;
            count_attempt();
        });
        let two = count_requests(async {
            count_attempt();
            tokio::task::yield_now().await;
            count_attempt();
        });
        let ((_, a), (_, b)) = tokio::join!(one, two);
        assert_eq!((a, b), (1, 2));
        count_attempt(); // outside any scope: counted nowhere, no panic
    }
}
