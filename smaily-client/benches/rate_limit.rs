//! The client-side rate limit against a server that counts requests in any sliding 1-second
//! window and answers 429 to the sixth (the fake with `enforce_rate_limit(Some(5))`, the
//! strictest reading of Smaily's "5 requests per second per IP").
//!
//! `cargo bench -p smaily-client --features fake --bench rate_limit [-- <requests>]`
//! (default 100 requests per run; each run takes about `requests / 5` seconds).
//!
//! Three limiters send the same requests from five concurrent callers:
//! 1. a token bucket of 5 refilled at 5/s (what the client had): the burst plus one more
//!    request 200 ms later put six into one second;
//! 2. a burst of one at exactly 5/s: evenly spaced, but the transport delivers requests a
//!    little unevenly (the first one also opens the connection), so the server can still see
//!    a request 5 places later less than a second after it;
//! 3. the client's own limiter: a burst of one, 1.02 s per 5 requests.
//!
//! For each: the run's time against the bound the limit sets (`requests / 5` seconds), the
//! 429s the server answered, and the most requests it saw within one second. The client's
//! own limiter must earn no 429 and stay within 5 % of the bound.

use std::num::NonZeroU32;
use std::time::Instant;

use futures::StreamExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use smaily_client::RetryPolicy;
use smaily_client::fake::FakeSmaily;

const LIMIT: u32 = 5;
const CALLERS: usize = 5;

struct Run {
    secs: f64,
    rate_limited: u64,
    busiest_second: usize,
}

/// `requests` subscriber reads from `CALLERS` concurrent callers through `limiter` (or the
/// client's own when `None`), against a fresh fake enforcing 5/s.
async fn run(requests: usize, limiter: Option<DefaultDirectRateLimiter>) -> Run {
    let fake = FakeSmaily::start().await;
    fake.record_requests(false);
    fake.enforce_rate_limit(Some(LIMIT));
    let own = limiter.is_none();
    let client = fake
        .client_builder()
        .rate_limit(if own { LIMIT } else { 0 })
        // Every 429 stays a 429: none is hidden by a retry.
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    futures::stream::iter(0..requests)
        .for_each_concurrent(CALLERS, |i| {
            let client = client.clone();
            let limiter = limiter.as_ref();
            async move {
                if let Some(l) = limiter {
                    l.until_ready().await;
                }
                let _ = client.subscriber(&format!("reader{i}@example.com")).await;
            }
        })
        .await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(fake.request_count(), requests as u64);
    Run {
        secs,
        rate_limited: fake.rate_limited_count(),
        busiest_second: fake.busiest_second(),
    }
}

fn report(name: &str, requests: usize, r: &Run) {
    let bound = requests as f64 / f64::from(LIMIT);
    println!(
        "{name:<28} {:>7.2} s · bound {bound:.2} s · {:+5.1} % · 429s {:>2} · busiest second {}",
        r.secs,
        (r.secs / bound - 1.0) * 100.0,
        r.rate_limited,
        r.busiest_second
    );
}

#[tokio::main]
async fn main() {
    let requests: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100);
    let per_second = NonZeroU32::new(LIMIT).unwrap();
    println!("## {requests} requests, {CALLERS} concurrent callers, server: ≤ {LIMIT} in any 1 s");

    let bucket = run(
        requests,
        Some(RateLimiter::direct(Quota::per_second(per_second))),
    )
    .await;
    report("bucket of 5 (before)", requests, &bucket);
    let exact = Quota::per_second(per_second).allow_burst(NonZeroU32::MIN);
    let exact = run(requests, Some(RateLimiter::direct(exact))).await;
    report("burst 1 at exactly 5/s", requests, &exact);
    let own = run(requests, None).await;
    report("client (burst 1, 1.02 s/5)", requests, &own);

    let bound = requests as f64 / f64::from(LIMIT);
    assert_eq!(own.rate_limited, 0, "the client's limiter earned 429s");
    assert!(own.busiest_second <= LIMIT as usize);
    assert!(
        own.secs <= bound * 1.05,
        "the client took more than 5 % over the bound"
    );
}
