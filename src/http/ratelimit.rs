//! Client-side pacing: a configured rate, tightened by the provider's limit headers.
//!
//! Documented in the [`http`](crate::http) module docs, where every public item of this file
//! is re-exported (its one path).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use tokio::time::Instant;

/// The longest wait any header can impose; larger values are treated as this (a day).
pub const MAX_HEADER_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// With no limit header, "little is left" means at most this many requests remain.
pub const LOW_REMAINING_WITHOUT_LIMIT: u64 = 5;

/// A configured request rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RateLimit {
    min_interval: Option<Duration>,
}

impl RateLimit {
    /// No pacing (the provider's headers and 429s still slow requests down).
    pub const fn unlimited() -> Self {
        Self { min_interval: None }
    }

    /// At most `requests` per minute, evenly spaced. `0` means unlimited.
    pub fn per_minute(requests: u32) -> Self {
        if requests == 0 { Self::unlimited() } else { Self::every(Duration::from_secs(60) / requests) }
    }

    /// At most `requests` per second (fractions allowed: `0.4` is one request every
    /// 2.5 s). Zero, negative or non-finite values mean unlimited; intervals longer than
    /// [`MAX_HEADER_WAIT`] are capped to it.
    pub fn per_second(requests: f64) -> Self {
        if !(requests.is_finite() && requests > 0.0) {
            return Self::unlimited();
        }
        let interval = Duration::try_from_secs_f64(1.0 / requests).unwrap_or(MAX_HEADER_WAIT);
        Self::every(interval.min(MAX_HEADER_WAIT))
    }

    /// One request per `interval`. A zero interval means unlimited.
    pub fn every(interval: Duration) -> Self {
        if interval.is_zero() { Self::unlimited() } else { Self { min_interval: Some(interval) } }
    }

    /// The minimum time between two request starts; `None` when unlimited.
    pub fn min_interval(&self) -> Option<Duration> {
        self.min_interval
    }
}

/// How a reset header expresses its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResetKind {
    /// UNIX seconds at which the window refills (Aircall `X-AircallApi-Reset`, X
    /// `x-rate-limit-reset`).
    EpochSeconds,
    /// Seconds from now until the window refills (Zendesk `ratelimit-reset`).
    DeltaSeconds,
    /// A header whose unit is not confirmed, read by its magnitude: at least 10^12 is UNIX
    /// milliseconds, at least 10^9 UNIX seconds (both in the past read as "now"), anything
    /// smaller seconds from now. No current UNIX time is below 10^9 (2001), and no window
    /// lasts 30 years, so the three cannot be confused.
    EpochOrDeltaSeconds,
}

/// At or above this, a reset value is a UNIX time in seconds ([`ResetKind::EpochOrDeltaSeconds`]).
const EPOCH_SECONDS_FLOOR: f64 = 1e9;
/// At or above this, a reset value is a UNIX time in milliseconds.
const EPOCH_MILLIS_FLOOR: f64 = 1e12;

/// Which response headers carry a provider's rate-limit budget. Names are matched
/// case-insensitively; for each field, the first name present wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitHeaders {
    limit: Vec<String>,
    remaining: Vec<String>,
    reset: Vec<(String, ResetKind)>,
    window: Option<Duration>,
}

impl Default for RateLimitHeaders {
    /// [`RateLimitHeaders::common`].
    fn default() -> Self {
        Self::common()
    }
}

impl RateLimitHeaders {
    /// No headers: pacing follows the configured rate and 429s only.
    pub fn none() -> Self {
        Self { limit: Vec::new(), remaining: Vec::new(), reset: Vec::new(), window: None }
    }

    /// Add a header name carrying the window's total limit.
    pub fn limit(mut self, name: &str) -> Self {
        self.limit.push(name.to_ascii_lowercase());
        self
    }

    /// Add a header name carrying how many requests remain in the window.
    pub fn remaining(mut self, name: &str) -> Self {
        self.remaining.push(name.to_ascii_lowercase());
        self
    }

    /// Add a header name carrying when the window refills.
    pub fn reset(mut self, name: &str, kind: ResetKind) -> Self {
        self.reset.push((name.to_ascii_lowercase(), kind));
        self
    }

    /// The window length to assume when a `remaining` header comes without a reset
    /// header (Zendesk's `X-Rate-Limit-Remaining` counts per minute).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = Some(window);
        self
    }

    /// Aircall: `X-AircallApi-Limit`, `X-AircallApi-Remaining`, `X-AircallApi-Reset`;
    /// per-minute window. Public client code reads the reset as UNIX seconds; Aircall's
    /// own pages do not state the unit (UNCONFIRMED), so it is read by magnitude
    /// ([`ResetKind::EpochOrDeltaSeconds`]).
    pub fn aircall() -> Self {
        Self::none()
            .limit("X-AircallApi-Limit")
            .remaining("X-AircallApi-Remaining")
            .reset("X-AircallApi-Reset", ResetKind::EpochOrDeltaSeconds)
            .window(Duration::from_secs(60))
    }

    /// The window length assumed for the `limit` header (per minute for Aircall and
    /// Zendesk, 15 minutes for X), when one is set.
    pub fn window_length(&self) -> Option<Duration> {
        self.window
    }

    /// X: `x-rate-limit-limit`, `x-rate-limit-remaining`, `x-rate-limit-reset` (UNIX
    /// seconds); 15-minute windows.
    pub fn x() -> Self {
        Self::none()
            .limit("x-rate-limit-limit")
            .remaining("x-rate-limit-remaining")
            .reset("x-rate-limit-reset", ResetKind::EpochSeconds)
            .window(Duration::from_secs(15 * 60))
    }

    /// Zendesk: `ratelimit-limit` / `ratelimit-remaining` / `ratelimit-reset` (seconds)
    /// where sent, else `X-Rate-Limit` / `X-Rate-Limit-Remaining` with a one-minute window.
    pub fn zendesk() -> Self {
        Self::none()
            .limit("ratelimit-limit")
            .limit("X-Rate-Limit")
            .remaining("ratelimit-remaining")
            .remaining("X-Rate-Limit-Remaining")
            .reset("ratelimit-reset", ResetKind::DeltaSeconds)
            .window(Duration::from_secs(60))
    }

    /// Every header family above (Aircall, X, Zendesk), for clients that do not configure
    /// their own; with no window assumption.
    pub fn common() -> Self {
        let mut all = Self::none();
        for preset in [Self::aircall(), Self::x(), Self::zendesk()] {
            all.limit.extend(preset.limit);
            all.remaining.extend(preset.remaining);
            all.reset.extend(preset.reset);
        }
        all
    }

    /// Read the budget from response headers at wall-clock time `now`. Unparsable values
    /// are ignored (treated as absent).
    pub fn read(&self, headers: &HeaderMap, now: SystemTime) -> LimitSnapshot {
        let limit = self.limit.iter().find_map(|name| header_number(headers, name)).map(to_count);
        let remaining = self.remaining.iter().find_map(|name| header_number(headers, name)).map(to_count);
        let stated = self.reset_in(headers, now);
        let reset_guessed = stated.is_none() && remaining.is_some() && self.window.is_some();
        let reset_in = stated.or(if remaining.is_some() { self.window } else { None });
        LimitSnapshot { limit, remaining, reset_in, reset_guessed }
    }

    /// How long until the window refills, from the first reset header present; `None`
    /// when no reset header is present or parsable. Capped at [`MAX_HEADER_WAIT`].
    pub fn reset_in(&self, headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
        self.reset.iter().find_map(|(name, kind)| {
            let value = header_number(headers, name)?;
            let now_secs = || now.duration_since(SystemTime::UNIX_EPOCH).ok().map(|d| d.as_secs_f64());
            let wait = match kind {
                ResetKind::DeltaSeconds => seconds(value),
                ResetKind::EpochSeconds => seconds(value - now_secs()?),
                ResetKind::EpochOrDeltaSeconds if value >= EPOCH_MILLIS_FLOOR => {
                    seconds(value / 1000.0 - now_secs()?)
                }
                ResetKind::EpochOrDeltaSeconds if value >= EPOCH_SECONDS_FLOOR => {
                    seconds(value - now_secs()?)
                }
                ResetKind::EpochOrDeltaSeconds => seconds(value),
            };
            Some(wait)
        })
    }
}

/// A provider's rate-limit budget as one response reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LimitSnapshot {
    /// Requests allowed per window.
    pub limit: Option<u64>,
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// Time until the window refills.
    pub reset_in: Option<Duration>,
    /// True when `reset_in` is the configured window assumption, not a provider header.
    pub reset_guessed: bool,
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<f64> {
    let value = headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok()?;
    value.is_finite().then_some(value)
}

fn to_count(value: f64) -> u64 {
    // Saturating float-to-int conversion: negatives become 0.
    value.max(0.0) as u64
}

/// Non-negative seconds to a duration, capped at [`MAX_HEADER_WAIT`].
pub(crate) fn seconds(value: f64) -> Duration {
    if value.is_nan() || value <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(value).unwrap_or(MAX_HEADER_WAIT).min(MAX_HEADER_WAIT)
}

/// The provider's budget as the pacer tracks it between responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Budget {
    remaining: u64,
    limit: Option<u64>,
    reset_at: Instant,
    /// The reset time is our window assumption, not the provider's word: the last
    /// requests are not spread over a window that may already be nearly over.
    guessed: bool,
}

impl Budget {
    fn is_low(&self) -> bool {
        if self.guessed {
            return false;
        }
        match self.limit {
            Some(limit) if limit > 0 => self.remaining.saturating_mul(10) <= limit,
            _ => self.remaining <= LOW_REMAINING_WITHOUT_LIMIT,
        }
    }
}

/// The pure pacing arithmetic: given the clock, when may the next request start?
///
/// Every method takes `now` explicitly; nothing here reads a clock or sleeps.
#[derive(Clone, Debug)]
pub struct Pacer {
    rate: RateLimit,
    next_start: Option<Instant>,
    budget: Option<Budget>,
    /// When set, the pace is learned from the provider's `limit` header: `limit` requests
    /// per this window.
    learn_window: Option<Duration>,
}

impl Pacer {
    /// A pacer for the configured rate, with no provider budget known yet.
    pub fn new(rate: RateLimit) -> Self {
        Self { rate, next_start: None, budget: None, learn_window: None }
    }

    /// A pacer that starts at `initial` and, once a response states the provider's limit,
    /// paces at `limit` requests per `window` instead (faster or slower than `initial`),
    /// following later changes of the limit too.
    pub fn learning(initial: RateLimit, window: Duration) -> Self {
        Self { learn_window: Some(window), ..Self::new(initial) }
    }

    /// The pace in force (the configured one, or the learned one).
    pub fn rate(&self) -> RateLimit {
        self.rate
    }

    /// Reserve the next start slot; returns how long the caller must wait from `now`.
    /// The slot is taken even if the caller then gives up.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let mut start = self.next_start.map_or(now, |next| next.max(now));
        if self.budget.is_some_and(|b| b.reset_at <= start) {
            // The window has refilled since the provider last spoke.
            self.budget = None;
        }
        let mut spacing = self.rate.min_interval().unwrap_or(Duration::ZERO);
        if let Some(budget) = self.budget.as_mut() {
            if budget.remaining == 0 {
                start = budget.reset_at;
                self.budget = None;
            } else {
                if budget.is_low() {
                    let spread =
                        budget.reset_at.saturating_duration_since(start) / saturating_u32(budget.remaining);
                    spacing = spacing.max(spread);
                }
                budget.remaining -= 1;
            }
        }
        self.next_start = Some(add(start, spacing));
        start.saturating_duration_since(now)
    }

    /// Take in what a response's headers said about the provider's budget. A snapshot
    /// without both `remaining` and a reset time changes nothing.
    pub fn observe(&mut self, snapshot: LimitSnapshot, now: Instant) {
        if let (Some(window), Some(limit)) = (self.learn_window, snapshot.limit.filter(|l| *l > 0)) {
            let learned = RateLimit::every(window / saturating_u32(limit));
            if learned != self.rate {
                tracing::info!(
                    limit,
                    window_s = window.as_secs(),
                    "pacing by the provider's stated limit ({limit} per {}s)",
                    window.as_secs()
                );
                self.rate = learned;
            }
        }
        if let (Some(remaining), Some(reset_in)) = (snapshot.remaining, snapshot.reset_in) {
            self.budget = Some(Budget {
                remaining,
                limit: snapshot.limit,
                reset_at: add(now, reset_in),
                guessed: snapshot.reset_guessed,
            });
        }
    }

    /// No request may start before `until` (after a 429 whose wait we chose ourselves).
    pub fn hold_until(&mut self, until: Instant) {
        self.next_start = Some(self.next_start.map_or(until, |next| next.max(until)));
    }

    /// The provider answered 429 and said when to come back (`Retry-After` or a reset
    /// header): its word replaces whatever the pacer had guessed, earlier or later.
    pub fn retry_at(&mut self, until: Instant) {
        self.budget = None;
        self.next_start = Some(until);
    }
}

fn saturating_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn add(instant: Instant, duration: Duration) -> Instant {
    instant.checked_add(duration.min(MAX_HEADER_WAIT)).unwrap_or(instant)
}

/// Paces requests for every clone sharing it (clones share one state). Cheap to clone.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<LimiterInner>,
}

struct LimiterInner {
    rate: RateLimit,
    headers: RateLimitHeaders,
    pacer: Mutex<Pacer>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("rate", &self.inner.rate)
            .field("headers", &self.inner.headers)
            .finish()
    }
}

impl Default for RateLimiter {
    /// Unlimited, reading [`RateLimitHeaders::common`].
    fn default() -> Self {
        Self::new(RateLimit::unlimited(), RateLimitHeaders::common())
    }
}

impl RateLimiter {
    /// A limiter pacing at `rate` and reading the provider's budget from `headers`.
    pub fn new(rate: RateLimit, headers: RateLimitHeaders) -> Self {
        Self { inner: Arc::new(LimiterInner { rate, headers, pacer: Mutex::new(Pacer::new(rate)) }) }
    }

    /// A limiter that starts at `initial` and then paces by the provider's stated limit
    /// (`limit` requests per the headers' window, see [`Pacer::learning`]). Without a
    /// window in `headers` it never learns and behaves as [`RateLimiter::new`].
    pub fn learning(initial: RateLimit, headers: RateLimitHeaders) -> Self {
        let pacer = match headers.window_length() {
            Some(window) => Pacer::learning(initial, window),
            None => Pacer::new(initial),
        };
        Self { inner: Arc::new(LimiterInner { rate: initial, headers, pacer: Mutex::new(pacer) }) }
    }

    /// The configured (initial) rate.
    pub fn rate(&self) -> RateLimit {
        self.inner.rate
    }

    /// The pace in force now: the configured rate, or the one learned from the
    /// provider's limit header.
    pub fn current_rate(&self) -> RateLimit {
        self.with_pacer(|pacer| pacer.rate())
    }

    /// The headers this limiter reads (the retry policy reads reset times from them too).
    pub fn headers(&self) -> &RateLimitHeaders {
        &self.inner.headers
    }

    fn with_pacer<R>(&self, f: impl FnOnce(&mut Pacer) -> R) -> R {
        // A panic while holding the lock cannot leave the pacer inconsistent in a way that
        // matters (worst case: one slot too early), so recover from poisoning.
        let mut pacer = self.inner.pacer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut pacer)
    }

    /// Wait until this caller may start a request.
    pub async fn acquire(&self) {
        let wait = self.with_pacer(|pacer| pacer.reserve(Instant::now()));
        if !wait.is_zero() {
            tracing::debug!(wait_ms = wait.as_millis() as u64, "pacing request");
            tokio::time::sleep(wait).await;
        }
    }

    /// Take in a response's limit headers.
    pub fn observe(&self, headers: &HeaderMap) {
        let snapshot = self.inner.headers.read(headers, SystemTime::now());
        self.with_pacer(|pacer| pacer.observe(snapshot, Instant::now()));
    }

    /// Hold every caller until `wait` from now has passed.
    pub fn hold_for(&self, wait: Duration) {
        let until = add(Instant::now(), wait);
        self.with_pacer(|pacer| pacer.hold_until(until));
    }

    /// The provider said to come back in `wait` (a 429 with `Retry-After` or a reset
    /// header): every caller resumes then, whatever the pacer had guessed.
    pub fn provider_retry_after(&self, wait: Duration) {
        let until = add(Instant::now(), wait);
        self.with_pacer(|pacer| pacer.retry_at(until));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn rates_convert_to_intervals() {
        assert_eq!(RateLimit::per_minute(60).min_interval(), Some(secs(1)));
        assert_eq!(RateLimit::per_second(0.4).min_interval(), Some(Duration::from_millis(2500)));
        assert_eq!(RateLimit::per_second(0.0), RateLimit::unlimited());
        assert_eq!(RateLimit::per_second(f64::NAN), RateLimit::unlimited());
        assert_eq!(RateLimit::per_minute(0).min_interval(), None);
        assert_eq!(RateLimit::per_second(1e-300).min_interval(), Some(MAX_HEADER_WAIT));
    }

    #[test]
    fn configured_rate_spaces_requests() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(RateLimit::per_minute(60));
        assert_eq!(pacer.reserve(t0), Duration::ZERO);
        assert_eq!(pacer.reserve(t0), secs(1));
        assert_eq!(pacer.reserve(t0), secs(2));
        // Time passing consumes the queue.
        assert_eq!(pacer.reserve(t0 + secs(10)), Duration::ZERO);
        assert_eq!(pacer.reserve(t0 + secs(10)), secs(1));
    }

    #[test]
    fn unlimited_never_waits_without_provider_budget() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(RateLimit::unlimited());
        for _ in 0..100 {
            assert_eq!(pacer.reserve(t0), Duration::ZERO);
        }
    }

    #[test]
    fn zero_remaining_waits_until_reset_then_refills() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(RateLimit::unlimited());
        pacer.observe(
            LimitSnapshot {
                limit: Some(60),
                remaining: Some(0),
                reset_in: Some(secs(30)),
                reset_guessed: false,
            },
            t0,
        );
        assert_eq!(pacer.reserve(t0), secs(30));
        // After the reset the window is full again: no more waiting.
        assert_eq!(pacer.reserve(t0 + secs(30)), Duration::ZERO);
    }

    #[test]
    fn low_remaining_spreads_the_budget_until_reset() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(RateLimit::unlimited());
        // 4 of 120 left, 40 s to reset: one request every 10 s.
        pacer.observe(
            LimitSnapshot {
                limit: Some(120),
                remaining: Some(4),
                reset_in: Some(secs(40)),
                reset_guessed: false,
            },
            t0,
        );
        assert_eq!(pacer.reserve(t0), Duration::ZERO);
        // Then 3 left with 30 s to go: still 10 s apart.
        let second = pacer.reserve(t0);
        assert_eq!(second, secs(10));
        let third = pacer.reserve(t0);
        assert_eq!(third, secs(20));
    }

    #[test]
    fn plenty_remaining_does_not_slow_down() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(RateLimit::unlimited());
        pacer.observe(
            LimitSnapshot {
                limit: Some(300),
                remaining: Some(250),
                reset_in: Some(secs(900)),
                reset_guessed: false,
            },
            t0,
        );
        assert_eq!(pacer.reserve(t0), Duration::ZERO);
        assert_eq!(pacer.reserve(t0), Duration::ZERO);
    }

    #[test]
    fn configured_rate_wins_when_slower_than_spread() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(RateLimit::per_second(0.4));
        pacer.observe(
            LimitSnapshot {
                limit: Some(100),
                remaining: Some(5),
                reset_in: Some(secs(5)),
                reset_guessed: false,
            },
            t0,
        );
        assert_eq!(pacer.reserve(t0), Duration::ZERO);
        assert_eq!(pacer.reserve(t0), Duration::from_millis(2500));
    }

    #[test]
    fn a_provider_retry_time_replaces_the_guess() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(RateLimit::unlimited());
        // No reset header: the 60 s window is a guess; the last requests are not spread.
        let snapshot = LimitSnapshot {
            limit: Some(30),
            remaining: Some(2),
            reset_in: Some(Duration::from_secs(60)),
            reset_guessed: true,
        };
        pacer.observe(snapshot, t0);
        assert_eq!(pacer.reserve(t0), Duration::ZERO);
        assert_eq!(pacer.reserve(t0), Duration::ZERO);
        // Budget spent: wait for the guessed reset...
        assert_eq!(pacer.reserve(t0), Duration::from_secs(60));
        // ...until a 429 says 20 s: the provider's word wins, even though it is earlier.
        pacer.retry_at(t0 + Duration::from_secs(20));
        assert_eq!(pacer.reserve(t0), Duration::from_secs(20));
        // A stated reset still spreads the last requests.
        let mut pacer = Pacer::new(RateLimit::unlimited());
        let stated = LimitSnapshot { reset_guessed: false, ..snapshot };
        pacer.observe(stated, t0);
        assert_eq!(pacer.reserve(t0), Duration::ZERO);
        assert_eq!(pacer.reserve(t0), Duration::from_secs(30));
    }

    #[test]
    fn hold_until_delays_everyone() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(RateLimit::unlimited());
        pacer.hold_until(t0 + secs(7));
        assert_eq!(pacer.reserve(t0), secs(7));
        assert_eq!(pacer.reserve(t0 + secs(3)), secs(4));
    }

    #[test]
    fn headers_are_read_case_insensitively_with_epoch_and_delta_resets() {
        let now = SystemTime::UNIX_EPOCH + secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        headers.insert("x-aircallapi-limit", HeaderValue::from_static("60"));
        headers.insert("x-aircallapi-remaining", HeaderValue::from_static("3"));
        headers.insert("x-aircallapi-reset", HeaderValue::from_static("1700000042"));
        let snap = RateLimitHeaders::aircall().read(&headers, now);
        assert_eq!(
            snap,
            LimitSnapshot {
                limit: Some(60),
                remaining: Some(3),
                reset_in: Some(secs(42)),
                reset_guessed: false
            }
        );

        let mut headers = HeaderMap::new();
        headers.insert("x-rate-limit", HeaderValue::from_static("700"));
        headers.insert("x-rate-limit-remaining", HeaderValue::from_static("12"));
        let snap = RateLimitHeaders::zendesk().read(&headers, now);
        assert_eq!(
            snap,
            LimitSnapshot {
                limit: Some(700),
                remaining: Some(12),
                reset_in: Some(secs(60)),
                reset_guessed: true
            }
        );
        headers.insert("ratelimit-remaining", HeaderValue::from_static("2"));
        headers.insert("ratelimit-reset", HeaderValue::from_static("9"));
        let snap = RateLimitHeaders::zendesk().read(&headers, now);
        assert_eq!(snap.remaining, Some(2));
        assert_eq!(snap.reset_in, Some(secs(9)));

        // A reset in the past means "now"; garbage is ignored; absurd values are capped.
        let mut headers = HeaderMap::new();
        headers.insert("x-rate-limit-reset", HeaderValue::from_static("1600000000"));
        assert_eq!(RateLimitHeaders::x().reset_in(&headers, now), Some(Duration::ZERO));
        headers.insert("x-rate-limit-reset", HeaderValue::from_static("soon"));
        assert_eq!(RateLimitHeaders::x().reset_in(&headers, now), None);
        headers.insert("x-rate-limit-reset", HeaderValue::from_static("99999999999999"));
        assert_eq!(RateLimitHeaders::x().reset_in(&headers, now), Some(MAX_HEADER_WAIT));
    }

    #[tokio::test(start_paused = true)]
    async fn limiter_shares_pacing_between_clones() {
        let limiter = RateLimiter::new(RateLimit::per_minute(60), RateLimitHeaders::none());
        let other = limiter.clone();
        let start = Instant::now();
        limiter.acquire().await;
        other.acquire().await;
        limiter.acquire().await;
        assert_eq!(start.elapsed(), secs(2));
    }

    #[test]
    fn a_learning_pacer_starts_at_its_initial_rate_then_follows_the_stated_limit() {
        let t0 = Instant::now();
        let mut pacer = Pacer::learning(RateLimit::per_minute(60), secs(60));
        assert_eq!(pacer.reserve(t0), Duration::ZERO);
        assert_eq!(pacer.reserve(t0), secs(1), "conservative until the provider speaks");
        let snapshot = |limit| LimitSnapshot {
            limit: Some(limit),
            remaining: Some(limit - 2),
            reset_in: Some(secs(60)),
            reset_guessed: false,
        };
        pacer.observe(snapshot(120), t0);
        assert_eq!(pacer.rate(), RateLimit::per_minute(120));
        assert_eq!(pacer.reserve(t0 + secs(5)), Duration::ZERO);
        assert_eq!(pacer.reserve(t0 + secs(5)), Duration::from_millis(500));
        // A lower stated limit slows it down again; a limit of 0 is ignored.
        pacer.observe(snapshot(30), t0 + secs(5));
        assert_eq!(pacer.rate(), RateLimit::per_minute(30));
        pacer.observe(LimitSnapshot { limit: Some(0), ..snapshot(30) }, t0 + secs(5));
        assert_eq!(pacer.rate(), RateLimit::per_minute(30));
        // A plain pacer never learns.
        let mut fixed = Pacer::new(RateLimit::per_minute(60));
        fixed.observe(snapshot(120), t0);
        assert_eq!(fixed.rate(), RateLimit::per_minute(60));
    }

    #[test]
    fn a_reset_of_unconfirmed_unit_is_read_by_its_magnitude() {
        let now = SystemTime::UNIX_EPOCH + secs(1_700_000_000);
        let headers_for = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("x-aircallapi-reset", HeaderValue::from_str(value).unwrap());
            headers
        };
        let aircall = RateLimitHeaders::aircall();
        assert_eq!(aircall.reset_in(&headers_for("1700000042"), now), Some(secs(42)), "UNIX seconds");
        assert_eq!(aircall.reset_in(&headers_for("1700000042000"), now), Some(secs(42)), "UNIX milliseconds");
        assert_eq!(aircall.reset_in(&headers_for("42"), now), Some(secs(42)), "seconds from now");
        assert_eq!(aircall.reset_in(&headers_for("1699999000"), now), Some(Duration::ZERO), "past");
        assert_eq!(aircall.reset_in(&headers_for("soon"), now), None);
    }
}
