//! The retry policy: a pure decision from what happened to what to do next.
//!
//! Documented in the [`http`](crate::http) module docs, where every public item of this file
//! is re-exported (its one path).

use std::time::{Duration, SystemTime};

use chrono::DateTime;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::ratelimit::{RateLimitHeaders, seconds};
use crate::error::TransportFailure;

/// When and how often to retry. A value: configure it per client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first included (`1` = never retry).
    pub max_attempts: u32,
    /// First backoff delay when the server gives no hint; doubles per attempt.
    pub base_delay: Duration,
    /// Longest single wait. A server asking for longer makes the client give up (with
    /// the hint in the error) instead of blocking.
    pub max_delay: Duration,
    /// Longest total time spent waiting between attempts of one request.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 500 ms base delay, 60 s longest wait, 120 s total.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            max_total_wait: Duration::from_secs(120),
        }
    }
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Stop and report the last outcome.
    GiveUp,
}

/// What one attempt produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// The server answered with this (non-success) status.
    Status(u16),
    /// No complete answer came back.
    Transport(TransportFailure),
}

/// Everything [`RetryPolicy::decide`] needs besides the policy.
#[derive(Clone, Copy, Debug)]
pub struct RetryContext<'a> {
    /// The request may be repeated without changing the result (GET, PUT, DELETE, or a
    /// write the caller marked safe, e.g. because it carries a dedupe key).
    pub idempotent: bool,
    /// What the attempt produced.
    pub outcome: AttemptOutcome,
    /// The response headers (empty for transport failures).
    pub headers: &'a HeaderMap,
    /// Which attempt just finished, starting at 1.
    pub attempt: u32,
    /// Time already spent waiting between earlier attempts of this request.
    pub waited: Duration,
    /// Wall-clock time, for HTTP-dates and UNIX reset times.
    pub now: SystemTime,
    /// Which headers carry the provider's reset time.
    pub reset_headers: &'a RateLimitHeaders,
}

impl RetryPolicy {
    /// Never retry.
    pub fn never() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// Decide whether and when to retry. Pure: see the module documentation for the rules.
    pub fn decide(&self, ctx: &RetryContext<'_>) -> RetryDecision {
        if ctx.attempt >= self.max_attempts || !is_retryable(ctx.outcome, ctx.idempotent) {
            return RetryDecision::GiveUp;
        }
        let hint = match ctx.outcome {
            AttemptOutcome::Status(status) => server_delay(status, ctx.headers, ctx.now, ctx.reset_headers),
            AttemptOutcome::Transport(_) => None,
        };
        let wait = match hint {
            Some(wait) if !wait.is_zero() => {
                if wait > self.max_delay {
                    return RetryDecision::GiveUp;
                }
                wait
            }
            _ => self.backoff(ctx.attempt),
        };
        match ctx.waited.checked_add(wait) {
            Some(total) if total <= self.max_total_wait => RetryDecision::RetryAfter(wait),
            _ => RetryDecision::GiveUp,
        }
    }

    /// The backoff after attempt `attempt` (1-based) when the server gives no hint:
    /// `base_delay * 2^(attempt-1)`, capped at `max_delay`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.checked_mul(factor).unwrap_or(self.max_delay).min(self.max_delay)
    }
}

fn is_retryable(outcome: AttemptOutcome, idempotent: bool) -> bool {
    match outcome {
        AttemptOutcome::Status(429) => true,
        AttemptOutcome::Status(408 | 500 | 502 | 503 | 504) => idempotent,
        AttemptOutcome::Status(_) => false,
        AttemptOutcome::Transport(TransportFailure::Connect) => true,
        AttemptOutcome::Transport(TransportFailure::Timeout | TransportFailure::Interrupted) => idempotent,
        AttemptOutcome::Transport(_) => false,
    }
}

/// How long the server asked us to wait after answering `status`: `Retry-After` (on 429
/// and 503), else on a 429 the provider's reset header. `None` when it did not say.
pub fn server_delay(
    status: u16,
    headers: &HeaderMap,
    now: SystemTime,
    reset_headers: &RateLimitHeaders,
) -> Option<Duration> {
    if status != 429 && status != 503 {
        return None;
    }
    if let Some(wait) = retry_after(headers, now) {
        return Some(wait);
    }
    if status == 429 { reset_headers.reset_in(headers, now) } else { None }
}

/// Parse `Retry-After`: delay-seconds (decimals tolerated) or an HTTP-date (IMF-fixdate,
/// `Wed, 21 Oct 2015 07:28:00 GMT`). A date in the past means zero. Values beyond a day
/// are capped.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return secs.is_finite().then(|| seconds(secs));
    }
    let date: SystemTime = DateTime::parse_from_rfc2822(text).ok()?.into();
    Some(seconds(date.duration_since(now).map_or(0.0, |d| d.as_secs_f64())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const NOW_SECS: u64 = 1_445_412_480; // Wed, 21 Oct 2015 07:28:00 GMT

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECS)
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn decide(
        policy: &RetryPolicy,
        idempotent: bool,
        outcome: AttemptOutcome,
        h: &HeaderMap,
        attempt: u32,
    ) -> RetryDecision {
        let reset_headers = RateLimitHeaders::common();
        policy.decide(&RetryContext {
            idempotent,
            outcome,
            headers: h,
            attempt,
            waited: Duration::ZERO,
            now: now(),
            reset_headers: &reset_headers,
        })
    }

    use AttemptOutcome::{Status, Transport};
    use RetryDecision::{GiveUp, RetryAfter};

    #[test]
    fn retry_after_seconds_is_honoured() {
        let p = RetryPolicy::default();
        let h = headers(&[("retry-after", "7")]);
        assert_eq!(decide(&p, true, Status(429), &h, 1), RetryAfter(Duration::from_secs(7)));
        assert_eq!(decide(&p, true, Status(503), &h, 1), RetryAfter(Duration::from_secs(7)));
    }

    #[test]
    fn retry_after_http_date_is_honoured() {
        let p = RetryPolicy::default();
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:12 GMT")]);
        assert_eq!(decide(&p, true, Status(429), &h, 1), RetryAfter(Duration::from_secs(12)));
        // A date in the past falls back to backoff.
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT")]);
        assert_eq!(decide(&p, true, Status(429), &h, 1), RetryAfter(p.base_delay));
    }

    #[test]
    fn epoch_and_delta_reset_headers_are_honoured_on_429() {
        let p = RetryPolicy::default();
        let x = headers(&[("x-rate-limit-reset", "1445412500")]);
        assert_eq!(decide(&p, true, Status(429), &x, 1), RetryAfter(Duration::from_secs(20)));
        let aircall = headers(&[("X-AircallApi-Reset", "1445412485")]);
        assert_eq!(decide(&p, false, Status(429), &aircall, 1), RetryAfter(Duration::from_secs(5)));
        let zendesk = headers(&[("ratelimit-reset", "9")]);
        assert_eq!(decide(&p, true, Status(429), &zendesk, 1), RetryAfter(Duration::from_secs(9)));
        // Retry-After wins over a reset header.
        let both = headers(&[("x-rate-limit-reset", "1445412500"), ("retry-after", "2")]);
        assert_eq!(decide(&p, true, Status(429), &both, 1), RetryAfter(Duration::from_secs(2)));
        // A reset header on a 503 says nothing about the outage.
        assert_eq!(decide(&p, true, Status(503), &x, 1), RetryAfter(p.base_delay));
    }

    #[test]
    fn backoff_is_exponential_and_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(3),
            max_total_wait: Duration::from_secs(100),
        };
        let h = HeaderMap::new();
        let waits: Vec<_> = (1..=5).map(|a| decide(&p, true, Status(502), &h, a)).collect();
        assert_eq!(
            waits,
            vec![
                RetryAfter(Duration::from_millis(500)),
                RetryAfter(Duration::from_secs(1)),
                RetryAfter(Duration::from_secs(2)),
                RetryAfter(Duration::from_secs(3)),
                RetryAfter(Duration::from_secs(3)),
            ]
        );
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(3));
    }

    #[test]
    fn caps_give_up() {
        let p = RetryPolicy::default();
        let h = HeaderMap::new();
        // Attempts spent.
        assert_eq!(decide(&p, true, Status(503), &h, p.max_attempts), GiveUp);
        // The server asks for longer than max_delay (X's 15-minute window).
        let long = headers(&[("x-rate-limit-reset", "1445413380")]);
        assert_eq!(decide(&p, true, Status(429), &long, 1), GiveUp);
        // The total wait would exceed max_total_wait.
        let reset_headers = RateLimitHeaders::common();
        let ctx = RetryContext {
            idempotent: true,
            outcome: Status(429),
            headers: &headers(&[("retry-after", "30")]),
            attempt: 2,
            waited: Duration::from_secs(100),
            now: now(),
            reset_headers: &reset_headers,
        };
        assert_eq!(p.decide(&ctx), GiveUp);
        assert_eq!(
            p.decide(&RetryContext { waited: Duration::from_secs(90), ..ctx }),
            RetryAfter(Duration::from_secs(30))
        );
        assert_eq!(decide(&RetryPolicy::never(), true, Status(429), &h, 1), GiveUp);
    }

    #[test]
    fn non_idempotent_writes_are_not_retried_after_possible_processing() {
        let p = RetryPolicy::default();
        let h = HeaderMap::new();
        assert_eq!(decide(&p, false, Status(503), &h, 1), GiveUp);
        assert_eq!(decide(&p, false, Status(500), &h, 1), GiveUp);
        assert_eq!(decide(&p, false, Transport(TransportFailure::Timeout), &h, 1), GiveUp);
        assert_eq!(decide(&p, false, Transport(TransportFailure::Interrupted), &h, 1), GiveUp);
        // Refused before processing, or never sent: safe.
        assert_eq!(decide(&p, false, Status(429), &h, 1), RetryAfter(p.base_delay));
        assert_eq!(decide(&p, false, Transport(TransportFailure::Connect), &h, 1), RetryAfter(p.base_delay));
        // Marked safe (dedupe key): retried like a GET.
        assert_eq!(decide(&p, true, Transport(TransportFailure::Timeout), &h, 1), RetryAfter(p.base_delay));
    }

    #[test]
    fn client_errors_are_never_retried() {
        let p = RetryPolicy::default();
        let h = headers(&[("retry-after", "1")]);
        for status in [400, 401, 403, 404, 409, 422, 501] {
            assert_eq!(decide(&p, true, Status(status), &h, 1), GiveUp, "status {status}");
        }
        assert_eq!(decide(&p, true, Transport(TransportFailure::Request), &h, 1), GiveUp);
    }
}
