//! Centra's rate limits: requests, mutations and query complexity, each over
//! a 10-second and a 1-hour window, shared by every token of the environment.
//! Token buckets, as the docs call them, on a real monotonic clock: each
//! holds its quota and refills at quota per window, continuously (the refill
//! rule is inferred). A client that spreads its calls at the quota's rate is
//! never refused; one that bursts past the bucket is, until it refills.

use serde::{Deserialize, Serialize};
use tokio::time::{Duration, Instant};

/// Quotas per window. Defaults are the Growth tier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub requests_per_10s: u64,
    pub requests_per_hour: u64,
    pub mutations_per_10s: u64,
    pub mutations_per_hour: u64,
    pub complexity_per_10s: u64,
    pub complexity_per_hour: u64,
    /// Length of the short window; 10 s in Centra, shorter in tests.
    pub short_window_ms: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            requests_per_10s: 60,
            requests_per_hour: 5_000,
            mutations_per_10s: 20,
            mutations_per_hour: 1_800,
            complexity_per_10s: 250_000,
            complexity_per_hour: 30_000_000,
            short_window_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LimitKind {
    RequestCount,
    MutationCount,
    QueryComplexity,
}

impl LimitKind {
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::RequestCount => "REQUEST_COUNT",
            LimitKind::MutationCount => "MUTATION_COUNT",
            LimitKind::QueryComplexity => "QUERY_COMPLEXITY",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    kind: LimitKind,
    short: bool,
    /// Tokens left (fractions accrue between calls).
    tokens: f64,
    refilled_at: Instant,
}

/// One bucket as the `rateLimits` query reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketView {
    pub kind: LimitKind,
    /// TEN_SECONDS or ONE_HOUR.
    pub interval: &'static str,
    pub quota: u64,
    pub used: u64,
}

pub struct RateLimiter {
    config: RateLimitConfig,
    windows: Vec<Window>,
    /// Requests answered 429 since the limits were last set.
    rejected: u64,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        let now = Instant::now();
        let mut windows = Vec::new();
        for kind in [
            LimitKind::RequestCount,
            LimitKind::MutationCount,
            LimitKind::QueryComplexity,
        ] {
            for short in [true, false] {
                windows.push(Window {
                    kind,
                    short,
                    tokens: 0.0,
                    refilled_at: now,
                });
            }
        }
        let mut limiter = RateLimiter {
            config,
            windows,
            rejected: 0,
        };
        for index in 0..limiter.windows.len() {
            let window = limiter.windows[index];
            limiter.windows[index].tokens = limiter.quota(window.kind, window.short) as f64;
        }
        limiter
    }

    pub fn config(&self) -> RateLimitConfig {
        self.config
    }

    pub fn set_config(&mut self, config: RateLimitConfig) {
        *self = RateLimiter::new(config);
    }

    fn length(&self, short: bool) -> Duration {
        if short {
            Duration::from_millis(self.config.short_window_ms.max(1))
        } else {
            Duration::from_secs(3_600)
        }
    }

    fn quota(&self, kind: LimitKind, short: bool) -> u64 {
        let c = &self.config;
        match (kind, short) {
            (LimitKind::RequestCount, true) => c.requests_per_10s,
            (LimitKind::RequestCount, false) => c.requests_per_hour,
            (LimitKind::MutationCount, true) => c.mutations_per_10s,
            (LimitKind::MutationCount, false) => c.mutations_per_hour,
            (LimitKind::QueryComplexity, true) => c.complexity_per_10s,
            (LimitKind::QueryComplexity, false) => c.complexity_per_hour,
        }
    }

    /// Tokens a bucket regains per second.
    fn refill_rate(&self, window: &Window) -> f64 {
        self.quota(window.kind, window.short) as f64 / self.length(window.short).as_secs_f64()
    }

    fn roll(&mut self, now: Instant) {
        for index in 0..self.windows.len() {
            let window = self.windows[index];
            let rate = self.refill_rate(&window);
            let quota = self.quota(window.kind, window.short) as f64;
            let elapsed = now.duration_since(window.refilled_at).as_secs_f64();
            let window = &mut self.windows[index];
            window.tokens = (window.tokens + elapsed * rate).min(quota);
            window.refilled_at = now;
        }
    }

    /// Counts one request; `Err(seconds)` when any bucket would overflow, in
    /// which case nothing is counted.
    pub fn admit(&mut self, is_mutation: bool, complexity: u64) -> Result<(), u64> {
        if !self.config.enabled {
            return Ok(());
        }
        let now = Instant::now();
        self.roll(now);
        let cost = |kind: LimitKind| match kind {
            LimitKind::RequestCount => 1,
            LimitKind::MutationCount => u64::from(is_mutation),
            LimitKind::QueryComplexity => complexity,
        };
        let mut wait: Option<Duration> = None;
        for window in &self.windows {
            let add = cost(window.kind) as f64;
            if add > 0.0 && window.tokens < add {
                let quota = self.quota(window.kind, window.short) as f64;
                // A call dearer than the whole bucket waits a full window.
                let left = if add > quota {
                    self.length(window.short)
                } else {
                    Duration::from_secs_f64((add - window.tokens) / self.refill_rate(window))
                };
                wait = Some(wait.map_or(left, |w| w.max(left)));
            }
        }
        if let Some(wait) = wait {
            self.rejected += 1;
            // Retry-After in whole seconds, rounded up, at least 1.
            return Err(wait.as_millis().div_ceil(1000).max(1) as u64);
        }
        for window in &mut self.windows {
            window.tokens -= cost(window.kind) as f64;
        }
        Ok(())
    }

    /// Requests answered 429 since the limits were last set.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    pub fn buckets(&mut self) -> Vec<BucketView> {
        self.roll(Instant::now());
        self.windows
            .iter()
            .map(|w| BucketView {
                kind: w.kind,
                interval: if w.short { "TEN_SECONDS" } else { "ONE_HOUR" },
                quota: self.quota(w.kind, w.short),
                used: self
                    .quota(w.kind, w.short)
                    .saturating_sub(w.tokens.max(0.0).floor() as u64),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn mutations_past_the_quota_are_refused_with_a_wait() {
        let mut limiter = RateLimiter::new(RateLimitConfig {
            mutations_per_10s: 2,
            ..Default::default()
        });
        assert!(limiter.admit(true, 1).is_ok());
        assert!(limiter.admit(true, 1).is_ok());
        let wait = limiter.admit(true, 1);
        assert!(matches!(wait, Err(s) if (1..=10).contains(&s)), "{wait:?}");
        assert!(limiter.admit(false, 1).is_ok(), "queries still pass");
    }

    #[tokio::test]
    async fn a_client_spreading_its_calls_at_the_quota_rate_is_never_refused() {
        tokio::time::pause();
        let mut limiter = RateLimiter::new(RateLimitConfig {
            mutations_per_10s: 20,
            ..Default::default()
        });
        // The bucket's 20 at once, then one every half second (the refill
        // rate), for a minute: never refused, though a fixed 10-second
        // window would have seen 39 in its first window.
        for _ in 0..20 {
            assert!(limiter.admit(true, 1).is_ok());
        }
        for _ in 0..120 {
            tokio::time::advance(Duration::from_millis(500)).await;
            assert!(limiter.admit(true, 1).is_ok());
        }
        assert!(limiter.admit(true, 1).is_err(), "the bucket is empty");
        assert_eq!(limiter.rejected(), 1);
    }
}
