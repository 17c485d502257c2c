//! The client-side rate limiter: never more than the limit within any window.

use std::num::NonZeroU32;
use std::ops::Add;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter as Gcra};

/// How much longer than a second the limiter takes for each second's quota: room for the
/// transport to deliver requests unevenly (a new connection's handshake delays one request
/// while the next goes out on a warm one) without the server ever seeing more than the limit
/// within one of its seconds. 2 % of the bound; measured in smaily-client's
/// `benches/rate_limit.rs`.
const WINDOW_WITH_HEADROOM: Duration = Duration::from_millis(1_020);

/// A rate limiter with no burst: requests are spaced evenly, one every `1.02 s / per_second`,
/// so no one-second window ever holds more than `per_second` of them, even when the transport
/// delivers them a little unevenly (a bucket of `per_second` would let `per_second + 1` into
/// one window: the burst, then one more after `1 s / per_second`). A long run takes 2 % longer
/// than `requests / per_second`.
///
/// GCRA (the `governor` crate) on tokio's clock, so it follows paused test time. Clones share
/// the limit.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let limiter = marketing_sync_core::RateLimiter::per_second(5).unwrap();
/// limiter.until_ready().await; // the first request goes at once
/// assert!(marketing_sync_core::RateLimiter::per_second(0).is_none()); // 0 = no limiter
/// # });
/// ```
#[derive(Clone)]
pub struct RateLimiter {
    gcra: Arc<Gcra<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<TokioInstant>>>,
    per_second: NonZeroU32,
    period: Duration,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("per_second", &self.per_second)
            .field("period", &self.period)
            .finish()
    }
}

impl RateLimiter {
    /// A limiter of `per_second` requests per second.
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// let limiter = marketing_sync_core::RateLimiter::new(NonZeroU32::new(20).unwrap());
    /// assert_eq!(limiter.limit().get(), 20);
    /// ```
    pub fn new(per_second: NonZeroU32) -> Self {
        Self::with_window(per_second, WINDOW_WITH_HEADROOM)
    }

    /// A limiter of `per_second` requests spread evenly over `window` (at least a second):
    /// one request every `window / per_second`, no burst. A window longer than a second is
    /// headroom for a network that delivers requests unevenly: requests `per_second` places
    /// apart leave `window` apart, so they still arrive a second apart when their delivery
    /// times differ by up to `window − 1 s`. [`new`](Self::new) uses 1.02 s.
    ///
    /// ```
    /// use std::{num::NonZeroU32, time::Duration};
    /// use marketing_sync_core::RateLimiter;
    /// let limiter = RateLimiter::with_window(NonZeroU32::new(5).unwrap(), Duration::from_millis(1_200));
    /// assert_eq!(limiter.limit().get(), 5);
    /// assert_eq!(limiter.period(), Duration::from_millis(240));
    /// // Shorter than a second would break the limit: a second is the least.
    /// let floor = RateLimiter::with_window(NonZeroU32::new(5).unwrap(), Duration::ZERO);
    /// assert_eq!(floor.period(), Duration::from_millis(200));
    /// ```
    pub fn with_window(per_second: NonZeroU32, window: Duration) -> Self {
        let period = window.max(Duration::from_secs(1)) / per_second.get();
        let quota = Quota::with_period(period)
            .expect("a non-zero period")
            .allow_burst(NonZeroU32::MIN);
        RateLimiter {
            gcra: Arc::new(Gcra::direct_with_clock(quota, TokioClock)),
            per_second,
            period,
        }
    }

    /// The time between two requests (`window / per_second`).
    ///
    /// ```
    /// let limiter = marketing_sync_core::RateLimiter::per_second(5).unwrap();
    /// assert_eq!(limiter.period(), std::time::Duration::from_millis(204));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// A limiter of `per_second` requests per second, or `None` for `0` (no limit).
    ///
    /// ```
    /// assert_eq!(marketing_sync_core::RateLimiter::per_second(5).unwrap().limit().get(), 5);
    /// ```
    pub fn per_second(per_second: u32) -> Option<Self> {
        NonZeroU32::new(per_second).map(Self::new)
    }

    /// The configured requests per second.
    ///
    /// ```
    /// assert_eq!(marketing_sync_core::RateLimiter::per_second(3).unwrap().limit().get(), 3);
    /// ```
    pub fn limit(&self) -> NonZeroU32 {
        self.per_second
    }

    /// Waits until one more request may go.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// marketing_sync_core::RateLimiter::per_second(100).unwrap().until_ready().await;
    /// # });
    /// ```
    pub async fn until_ready(&self) {
        while let Err(not_until) = self.gcra.check() {
            tokio::time::sleep(not_until.wait_time_from(TokioClock.now())).await;
        }
    }
}

/// tokio's clock, for governor.
#[derive(Debug, Clone, Copy, Default)]
struct TokioClock;

/// A tokio instant, for governor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TokioInstant(tokio::time::Instant);

impl Add<Nanos> for TokioInstant {
    type Output = Self;

    fn add(self, other: Nanos) -> Self {
        TokioInstant(self.0 + Duration::from(other))
    }
}

impl Reference for TokioInstant {
    fn duration_since(&self, earlier: Self) -> Nanos {
        Nanos::from(self.0.saturating_duration_since(earlier.0))
    }

    fn saturating_sub(&self, duration: Nanos) -> Self {
        TokioInstant(
            self.0
                .checked_sub(Duration::from(duration))
                .unwrap_or(self.0),
        )
    }
}

impl Clock for TokioClock {
    type Instant = TokioInstant;

    fn now(&self) -> TokioInstant {
        TokioInstant(tokio::time::Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    /// The most instants within any window of `width`.
    fn busiest(times: &[Instant], width: Duration) -> usize {
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t - times[i] < width)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_any_second() {
        let limiter = RateLimiter::per_second(5).unwrap();
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..21 {
            limiter.until_ready().await;
            times.push(Instant::now());
        }
        assert_eq!(busiest(&times, Duration::from_secs(1)), 5);
        // Evenly spaced, 204 ms apart: 20 gaps take 4.08 s.
        assert_eq!(times[1] - times[0], Duration::from_millis(204));
        assert_eq!(Instant::now() - start, Duration::from_millis(4_080));
    }

    #[tokio::test(start_paused = true)]
    async fn a_longer_window_spaces_requests_further() {
        let limiter =
            RateLimiter::with_window(NonZeroU32::new(5).unwrap(), Duration::from_millis(1_200));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..11 {
            limiter.until_ready().await;
            times.push(Instant::now());
        }
        assert_eq!(times[1] - times[0], Duration::from_millis(240));
        assert_eq!(Instant::now() - start, Duration::from_millis(2_400));
        // Six requests span 1.2 s: even 150 ms closer, no second holds more than five.
        assert_eq!(busiest(&times, Duration::from_millis(1_050)), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_and_clones_share_the_limit() {
        let limiter = RateLimiter::per_second(10).unwrap();
        let tasks: Vec<_> = (0..30)
            .map(|_| {
                let l = limiter.clone();
                tokio::spawn(async move {
                    l.until_ready().await;
                    Instant::now()
                })
            })
            .collect();
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap());
        }
        times.sort();
        assert_eq!(busiest(&times, Duration::from_secs(1)), 10);
    }
}
