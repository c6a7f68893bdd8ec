//! Retry timing for jobs: exponential backoff with full jitter, capped.
//!
//! Connector calls retry within one attempt through `backon`; this policy
//! spaces out whole job attempts, which survive restarts because the next
//! run time is stored with the job.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackoffPolicy {
    pub base: Duration,
    pub cap: Duration,
    /// Attempts after which a retryable failure becomes an exception.
    pub max_attempts: i32,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(600),
            max_attempts: 8,
        }
    }
}

impl BackoffPolicy {
    /// The exponential ceiling for the given attempt (1-based), before jitter.
    pub fn ceiling(&self, attempt: i32) -> Duration {
        let exponent = attempt.saturating_sub(1).clamp(0, 30) as u32;
        self.base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.cap)
    }

    /// Delay before the next attempt: a uniform draw between half the ceiling
    /// and the ceiling ("equal jitter"), so retries of many jobs spread out
    /// without ever retrying immediately.
    pub fn delay(&self, attempt: i32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(attempt).as_millis() as u64;
        let half = ceiling / 2;
        Duration::from_millis(half + rng.gen_range(0..=ceiling - half))
    }

    pub fn is_spent(&self, attempts: i32) -> bool {
        attempts >= self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn delays_grow_exponentially_then_cap() {
        let policy = BackoffPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
            max_attempts: 5,
        };
        assert_eq!(policy.ceiling(1), Duration::from_millis(100));
        assert_eq!(policy.ceiling(3), Duration::from_millis(400));
        assert_eq!(policy.ceiling(10), Duration::from_secs(2));
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 1..12 {
            let d = policy.delay(attempt, &mut rng);
            assert!(d <= policy.ceiling(attempt) && d >= policy.ceiling(attempt) / 2);
        }
        assert!(policy.is_spent(5) && !policy.is_spent(4));
    }
}
