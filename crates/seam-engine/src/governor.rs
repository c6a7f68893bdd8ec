//! The governor: every call to an external system goes through one.
//!
//! Per connector it enforces the request budget (rate, and a separate
//! mutation budget where the vendor counts them, as Centra does) and a
//! concurrency budget, a per-request timeout, and reacts to answers: a 429
//! pauses the whole connector until the vendor's Retry-After (seconds or an
//! HTTP date) and is then retried; 5xx, timeouts and dropped connections are
//! retried with exponential backoff and jitter (`backon`); a run of failures
//! opens a circuit (`failsafe`) that closes by itself once a probe call
//! succeeds. Rates are enforced locally with `governor`, or, on PostgreSQL,
//! through a budget shared by every process in the database, because a
//! vendor's limit is per account, not per process.
//!
//! What still fails after that comes back as a classified `Failure`, which
//! the runner turns into a retry or an exception.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use failsafe::failure_policy::{consecutive_failures, ConsecutiveFailures};
use failsafe::StateMachine;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::failure::{Failure, FailureClass};
use crate::store::{Backend, Store};

/// A budget of `count` units per `window`, as vendors state their limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub count: u32,
    pub window: Duration,
}

impl Budget {
    /// The burst and sustained interval that never exceed `count` in any
    /// window: a tenth of the budget may go at once, the rest is spread out.
    /// (A plain `count` burst plus refill could spend nearly twice the budget
    /// in one window and meet the vendor's 429.)
    fn shape(&self) -> (u32, Duration) {
        let count = self.count.max(1);
        let burst = (count / 10).max(1);
        let sustained = (count - burst).max(1);
        (burst, self.window / sustained)
    }
}

#[derive(Debug, Clone)]
pub struct GovernorConfig {
    /// The connector's name, used for shared budgets, logs and metrics.
    pub name: String,
    pub requests: Option<Budget>,
    /// A separate budget for writes, where the vendor counts them apart.
    pub mutations: Option<Budget>,
    pub max_concurrency: usize,
    pub timeout: Duration,
    /// Retries of 5xx, timeouts and transport errors within one call.
    pub retries: usize,
    pub retry_base: Duration,
    /// 429s waited out within one call before reporting rate-limited.
    pub max_rate_limit_waits: u32,
    /// Whether a write may be sent again after an answer was lost (a 5xx, a
    /// timeout, a dropped connection). True where the vendor deduplicates
    /// writes (idempotency keys, upsert by external id); false where it does
    /// not (Centra), so that the governor retries a write only when it surely
    /// did not reach the vendor (refused connection, 429), and the job's own
    /// retry reads back before writing again.
    pub mutations_idempotent: bool,
    /// Consecutive failures that open the circuit, and how long it stays open.
    pub circuit_failures: u32,
    pub circuit_open_for: Duration,
}

impl GovernorConfig {
    pub fn new(name: &str) -> Self {
        GovernorConfig {
            name: name.to_string(),
            requests: None,
            mutations: None,
            max_concurrency: 8,
            timeout: Duration::from_secs(30),
            retries: 3,
            retry_base: Duration::from_millis(200),
            max_rate_limit_waits: 3,
            mutations_idempotent: true,
            circuit_failures: 5,
            circuit_open_for: Duration::from_secs(30),
        }
    }
}

/// Whether a call reads or writes, for vendors with a separate write budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Read,
    Mutation,
}

/// What went wrong with one HTTP exchange, before classification.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// The system answered with a non-success status.
    Status {
        status: u16,
        retry_after: Option<Duration>,
        message: String,
    },
    Timeout,
    /// The request never left: the connection could not be made.
    NotSent(String),
    /// Connection reset or dropped mid-answer.
    Transport(String),
    /// The system answered 200 but reported an error in the body (GraphQL
    /// errors, userErrors): already classified by the connector.
    Classified(Failure),
}

impl CallError {
    fn is_retryable(&self) -> bool {
        match self {
            CallError::Status { status, .. } => *status >= 500,
            CallError::Timeout | CallError::Transport(_) | CallError::NotSent(_) => true,
            CallError::Classified(failure) => failure.class == FailureClass::Transient,
        }
    }

    /// Whether the request certainly did not take effect at the vendor.
    fn surely_not_applied(&self) -> bool {
        matches!(
            self,
            CallError::NotSent(_) | CallError::Status { status: 429, .. }
        )
    }

    /// Whether the failure says the system itself is unwell (counts toward the circuit).
    fn is_system_failure(&self) -> bool {
        match self {
            CallError::Status { status, .. } => *status >= 500,
            CallError::Timeout | CallError::Transport(_) | CallError::NotSent(_) => true,
            CallError::Classified(_) => false,
        }
    }

    pub fn into_failure(self, system: &str) -> Failure {
        match self {
            CallError::Status {
                status: 429,
                retry_after,
                message,
            } => Failure::rate_limited(format!("{system} answered 429: {message}"), retry_after),
            CallError::Status {
                status: 401 | 403,
                message,
                ..
            } => Failure::new(
                FailureClass::Auth,
                format!("{system} refused the credentials: {message}"),
            ),
            CallError::Status {
                status: 413,
                message,
                ..
            } => Failure::new(
                FailureClass::TooLarge,
                format!("{system} refused the request as too large: {message}"),
            ),
            CallError::Status {
                status: 409,
                message,
                ..
            } => Failure::new(
                FailureClass::Duplicate,
                format!("{system} reports it already has this: {message}"),
            ),
            CallError::Status {
                status, message, ..
            } if status >= 500 => {
                Failure::transient(format!("{system} answered {status}: {message}"))
            }
            CallError::Status {
                status, message, ..
            } => Failure::data(format!(
                "{system} rejected the request ({status}): {message}"
            )),
            CallError::Timeout => Failure::transient(format!("{system} did not answer in time")),
            CallError::Transport(detail) | CallError::NotSent(detail) => {
                Failure::transient(format!("cannot reach {system}: {detail}"))
            }
            CallError::Classified(failure) => failure,
        }
    }
}

/// Parses a Retry-After header: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Some(Duration::from_millis((seconds * 1000.0) as u64));
        }
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

type Circuit = StateMachine<ConsecutiveFailures<failsafe::backoff::Constant>, ()>;

/// Counters for /metrics and alerts.
#[derive(Debug, Default)]
pub struct GovernorStats {
    pub calls: AtomicU64,
    /// Of `calls`, those that spent the mutation budget too.
    pub mutations: AtomicU64,
    pub failures: AtomicU64,
    pub rate_limited: AtomicU64,
    pub circuit_rejections: AtomicU64,
    pub consecutive_failures: AtomicU64,
}

pub struct Governor {
    config: GovernorConfig,
    local_requests: Option<DefaultDirectRateLimiter>,
    local_mutations: Option<DefaultDirectRateLimiter>,
    shared: Option<Arc<dyn Store>>,
    concurrency: Semaphore,
    paused_until: Mutex<Option<Instant>>,
    circuit: Circuit,
    /// When the circuit's open period ends, counted from the last system failure.
    open_until: Mutex<Option<Instant>>,
    stats: GovernorStats,
}

fn local_limiter(budget: Option<Budget>) -> Option<DefaultDirectRateLimiter> {
    let (burst, interval) = budget?.shape();
    let quota = Quota::with_period(interval)?.allow_burst(NonZeroU32::new(burst)?);
    Some(RateLimiter::direct(quota))
}

impl Governor {
    /// A governor whose rate budgets are shared through `store` when it is
    /// PostgreSQL (several processes), and local otherwise.
    pub fn new(config: GovernorConfig, store: Option<Arc<dyn Store>>) -> Self {
        let shared = store.filter(|store| store.backend() == Backend::Postgres);
        let circuit = failsafe::Config::new()
            .failure_policy(consecutive_failures(
                config.circuit_failures.max(1),
                failsafe::backoff::constant(config.circuit_open_for),
            ))
            .build();
        Governor {
            local_requests: local_limiter(config.requests),
            local_mutations: local_limiter(config.mutations),
            concurrency: Semaphore::new(config.max_concurrency.max(1)),
            paused_until: Mutex::new(None),
            open_until: Mutex::new(None),
            shared,
            circuit,
            stats: GovernorStats::default(),
            config,
        }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn config(&self) -> &GovernorConfig {
        &self.config
    }

    pub fn stats(&self) -> &GovernorStats {
        &self.stats
    }

    /// Whether the circuit currently lets calls through.
    pub fn is_open(&self) -> bool {
        !self.circuit.is_call_permitted()
    }

    /// Runs `attempt` under the connector's budgets and reactions; see the module doc.
    pub async fn call<T, F, Fut>(&self, kind: CallKind, mut attempt: F) -> Result<T, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.config.retry_base)
            .with_max_delay(Duration::from_secs(10))
            .with_max_times(self.config.retries)
            .with_jitter()
            .build();
        let mut rate_limit_waits = 0;
        // The last real failure of this call, if the system was reached.
        let mut last_error: Option<CallError> = None;
        loop {
            if !self.circuit.is_call_permitted() {
                self.stats
                    .circuit_rejections
                    .fetch_add(1, Ordering::Relaxed);
                // A call that already reached the system and failed (it may
                // have been the probe that reopened the circuit) reports that
                // failure, which counts as an attempt: a system that never
                // recovers still ends as an exception. A call refused before
                // it was made waits for the circuit instead.
                if let Some(error) = last_error {
                    return Err(error.into_failure(&self.config.name));
                }
                return Err(Failure::circuit_open(
                    format!(
                        "{} is failing repeatedly; calls are paused until it answers again",
                        self.config.name
                    ),
                    self.circuit_remaining(),
                ));
            }
            self.wait_for_pause().await;
            self.take_budget(kind).await;
            let result = {
                let _permit = self.concurrency.acquire().await;
                self.stats.calls.fetch_add(1, Ordering::Relaxed);
                if kind == CallKind::Mutation {
                    self.stats.mutations.fetch_add(1, Ordering::Relaxed);
                }
                match tokio::time::timeout(self.config.timeout, attempt()).await {
                    Ok(result) => result,
                    Err(_) => Err(CallError::Timeout),
                }
            };
            let error = match result {
                Ok(value) => {
                    self.circuit.on_success();
                    self.stats.consecutive_failures.store(0, Ordering::Relaxed);
                    return Ok(value);
                }
                Err(error) => error,
            };
            if let CallError::Status {
                status: 429,
                retry_after,
                ..
            } = &error
            {
                self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                let wait = retry_after.unwrap_or(Duration::from_secs(1));
                self.pause_for(wait);
                rate_limit_waits += 1;
                if rate_limit_waits <= self.config.max_rate_limit_waits {
                    continue;
                }
                return Err(error.into_failure(&self.config.name));
            }
            if error.is_system_failure() {
                self.circuit.on_error();
                *self.open_until.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(Instant::now() + self.config.circuit_open_for);
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .consecutive_failures
                    .fetch_add(1, Ordering::Relaxed);
            }
            let may_resend = kind == CallKind::Read
                || self.config.mutations_idempotent
                || error.surely_not_applied();
            if error.is_retryable() && may_resend {
                if let Some(delay) = backoff.next() {
                    last_error = Some(error);
                    tokio::time::sleep(delay).await;
                    continue;
                }
            }
            return Err(error.into_failure(&self.config.name));
        }
    }

    /// How long the open circuit still holds calls: its open period counted
    /// from the last failure that (re)opened it. At least a little, so a
    /// postponed job never spins.
    fn circuit_remaining(&self) -> Duration {
        let until = *self.open_until.lock().unwrap_or_else(|p| p.into_inner());
        until
            .map(|until| until.saturating_duration_since(Instant::now()))
            .unwrap_or(self.config.circuit_open_for)
            .clamp(
                Duration::from_millis(50),
                self.config.circuit_open_for.max(Duration::from_millis(50)),
            )
    }

    /// Pauses every call of this connector until `wait` has passed.
    fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    async fn wait_for_pause(&self) {
        let until = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = until {
            tokio::time::sleep_until(until).await;
        }
    }

    async fn take_budget(&self, kind: CallKind) {
        self.take_one(
            "requests",
            self.config.requests,
            self.local_requests.as_ref(),
        )
        .await;
        if kind == CallKind::Mutation {
            self.take_one(
                "mutations",
                self.config.mutations,
                self.local_mutations.as_ref(),
            )
            .await;
        }
    }

    async fn take_one(
        &self,
        bucket: &str,
        budget: Option<Budget>,
        local: Option<&DefaultDirectRateLimiter>,
    ) {
        let Some(budget) = budget else { return };
        if let Some(store) = &self.shared {
            let (burst, interval) = budget.shape();
            let name = format!("{}:{bucket}", self.config.name);
            loop {
                let now = chrono::Utc::now().timestamp_millis();
                match store
                    .take_budget(&name, interval.as_millis() as i64, burst as i64, now)
                    .await
                {
                    Ok(None) => return,
                    Ok(Some(wait)) => tokio::time::sleep(Duration::from_millis(wait as u64)).await,
                    Err(error) => {
                        // Without the shared budget, fall back to this process's
                        // own limiter rather than stop calling altogether.
                        tracing::warn!(%error, bucket = %name, "shared budget unavailable");
                        break;
                    }
                }
            }
        }
        if let Some(limiter) = local {
            limiter.until_ready().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn fast_config() -> GovernorConfig {
        GovernorConfig {
            retry_base: Duration::from_millis(1),
            circuit_open_for: Duration::from_millis(200),
            circuit_failures: 3,
            retries: 2,
            ..GovernorConfig::new("test")
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn budgets_never_exceed_their_count_in_a_window() {
        let (burst, interval) = Budget {
            count: 20,
            window: Duration::from_secs(10),
        }
        .shape();
        let per_window = burst as u128 + Duration::from_secs(10).as_millis() / interval.as_millis();
        assert!(per_window <= 20, "{per_window}");
    }

    #[tokio::test]
    async fn server_errors_are_retried_then_classified_transient() {
        let governor = Governor::new(fast_config(), None);
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = governor
            .call(CallKind::Read, || {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    Err(CallError::Status {
                        status: 503,
                        retry_after: None,
                        message: "down".into(),
                    })
                }
            })
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(result.unwrap_err().class, FailureClass::Transient);
    }

    #[tokio::test]
    async fn a_429_pauses_then_succeeds() {
        let governor = Governor::new(fast_config(), None);
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let result = governor
            .call(CallKind::Mutation, || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        Err(CallError::Status {
                            status: 429,
                            retry_after: Some(Duration::from_millis(120)),
                            message: "slow down".into(),
                        })
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(result.unwrap(), 1);
        assert!(started.elapsed() >= Duration::from_millis(120));
        assert_eq!(governor.stats().rate_limited.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_write_the_vendor_cannot_deduplicate_is_not_resent_after_a_lost_answer() {
        let config = GovernorConfig {
            mutations_idempotent: false,
            ..fast_config()
        };
        let governor = Governor::new(config, None);
        let calls = AtomicU32::new(0);
        let lost: Result<(), _> = governor
            .call(CallKind::Mutation, || {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    Err(CallError::Status {
                        status: 502,
                        retry_after: None,
                        message: "gateway".into(),
                    })
                }
            })
            .await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "it may have been applied: the job reads back first"
        );
        assert_eq!(lost.unwrap_err().class, FailureClass::Transient);
        let refused: Result<(), _> = governor
            .call(CallKind::Mutation, || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        Err(CallError::NotSent("refused".into()))
                    } else {
                        Ok(())
                    }
                }
            })
            .await;
        assert!(
            refused.is_ok(),
            "a request that never left is safe to send again"
        );
    }

    #[tokio::test]
    async fn data_errors_are_not_retried() {
        let governor = Governor::new(fast_config(), None);
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = governor
            .call(CallKind::Read, || {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    Err(CallError::Status {
                        status: 400,
                        retry_after: None,
                        message: "bad".into(),
                    })
                }
            })
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(result.unwrap_err().class, FailureClass::Data);
        let auth: Result<(), _> = governor
            .call(CallKind::Read, || async {
                Err(CallError::Status {
                    status: 403,
                    retry_after: None,
                    message: "no".into(),
                })
            })
            .await;
        assert_eq!(auth.unwrap_err().class, FailureClass::Auth);
    }

    #[tokio::test]
    async fn the_circuit_opens_after_repeated_failures_and_closes_when_the_system_answers() {
        let governor = Governor::new(
            GovernorConfig {
                retries: 0,
                ..fast_config()
            },
            None,
        );
        for _ in 0..3 {
            let _: Result<(), _> = governor
                .call(CallKind::Read, || async { Err(CallError::Timeout) })
                .await;
        }
        assert!(governor.is_open());
        let rejected: Result<(), _> = governor.call(CallKind::Read, || async { Ok(()) }).await;
        let rejected = rejected.unwrap_err();
        assert_eq!(
            rejected.class,
            FailureClass::CircuitOpen,
            "a call held by the circuit is not an attempt"
        );
        let wait = rejected
            .retry_after
            .expect("says how long the circuit holds");
        assert!(wait <= Duration::from_millis(200), "{wait:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
        let probe = governor.call(CallKind::Read, || async { Ok(7) }).await;
        assert_eq!(probe.unwrap(), 7);
        assert!(!governor.is_open());
    }

    #[tokio::test]
    async fn a_call_that_reached_the_failing_system_counts_even_when_the_circuit_opens() {
        // Its own retries open the circuit: the failures it met are reported
        // (an attempt), so a system that never recovers ends as an exception.
        let governor = Governor::new(fast_config(), None);
        let result: Result<(), _> = governor
            .call(CallKind::Read, || async {
                Err(CallError::Status {
                    status: 503,
                    retry_after: None,
                    message: "down".into(),
                })
            })
            .await;
        assert!(governor.is_open());
        assert_eq!(result.unwrap_err().class, FailureClass::Transient);
    }

    #[tokio::test]
    async fn the_local_budget_spaces_calls_out() {
        let config = GovernorConfig {
            requests: Some(Budget {
                count: 10,
                window: Duration::from_millis(500),
            }),
            ..fast_config()
        };
        let governor = Governor::new(config, None);
        let started = Instant::now();
        for _ in 0..10 {
            governor
                .call(CallKind::Read, || async { Ok::<_, CallError>(()) })
                .await
                .unwrap();
        }
        // One may go at once; the other nine wait about 55 ms each.
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "{:?}",
            started.elapsed()
        );
    }
}
