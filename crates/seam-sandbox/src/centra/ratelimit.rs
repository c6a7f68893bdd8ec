//! Centra's rate limits: requests, mutations and query complexity, each over
//! a 10-second and a 1-hour window, shared by every token of the environment.
//! Fixed windows on a real monotonic clock; the docs call them token buckets,
//! and a fixed window is the simplest faithful stand-in (inferred).

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
    started: Instant,
    used: u64,
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
                    started: now,
                    used: 0,
                });
            }
        }
        RateLimiter {
            config,
            windows,
            rejected: 0,
        }
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

    fn roll(&mut self, now: Instant) {
        for index in 0..self.windows.len() {
            let length = self.length(self.windows[index].short);
            let window = &mut self.windows[index];
            if now.duration_since(window.started) >= length {
                window.started = now;
                window.used = 0;
            }
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
            let add = cost(window.kind);
            if add > 0 && window.used + add > self.quota(window.kind, window.short) {
                let left = self
                    .length(window.short)
                    .saturating_sub(now.duration_since(window.started));
                wait = Some(wait.map_or(left, |w| w.max(left)));
            }
        }
        if let Some(wait) = wait {
            self.rejected += 1;
            // Retry-After in whole seconds, rounded up, at least 1.
            return Err(wait.as_millis().div_ceil(1000).max(1) as u64);
        }
        for window in &mut self.windows {
            window.used += cost(window.kind);
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
                used: w.used,
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
}
