//! Fault injection shared by every simulator.
//!
//! A `FaultPlan` says how a simulator misbehaves: added latency, a share of
//! 5xx answers, 429 storms, requests that hang past the client's timeout,
//! dropped connections. Draws come from a seeded ChaCha RNG, so the same seed
//! and the same request order give the same faults. Plans are set through
//! each simulator's `POST /_admin/faults` and apply to every route except
//! `/_admin` itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How a simulator misbehaves. All rates are probabilities in 0..=1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultPlan {
    /// Extra latency drawn uniformly from this range, in milliseconds.
    pub latency_ms: Option<(u64, u64)>,
    /// A slow tail on top: this share of requests waits a further
    /// uniform draw from `latency_tail_ms` (a long-tailed distribution, as
    /// real APIs have).
    pub latency_tail_rate: f64,
    pub latency_tail_ms: Option<(u64, u64)>,
    /// 429 storms: every `period` ms, all requests in the first `length`
    /// ms are refused with 429 (as when another integration spends the shared budget).
    pub rate_limit_storm_ms: Option<(u64, u64)>,
    /// Share of requests answered 500/502/503.
    pub error_rate: f64,
    /// Share of requests answered 429 with Retry-After.
    pub rate_limit_rate: f64,
    /// Retry-After in seconds sent with injected 429s.
    pub retry_after_secs: u64,
    /// Share of requests that hang for `hang_ms` before answering 504.
    pub timeout_rate: f64,
    pub hang_ms: u64,
    /// Share of requests whose connection is dropped without an answer
    /// (the handler never runs).
    pub drop_rate: f64,
    /// The next N requests fail with 503, whatever the rates (a deterministic outage).
    pub fail_next: u32,
    /// Outbound webhooks: share delivered twice, share held back and
    /// delivered after a later one (out of order), and added delay.
    pub webhook_duplicate_rate: f64,
    pub webhook_reorder_rate: f64,
    pub webhook_delay_ms: Option<(u64, u64)>,
    /// Share of outbound webhooks never delivered at all (the vendor gave
    /// up, or lost them), so the receiver must find the change another way.
    pub webhook_drop_rate: f64,
}

/// A fault plan with its seeded random source; cheap to clone and share.
#[derive(Clone)]
pub struct Faults {
    inner: Arc<Mutex<FaultsInner>>,
}

struct FaultsInner {
    plan: FaultPlan,
    rng: ChaCha8Rng,
    /// Storms are timed from when the plan was set.
    started: std::time::Instant,
    injected: FaultCounts,
}

/// How many faults were injected so far, by kind (a soak reports them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultCounts {
    /// Requests delayed by added latency.
    pub delayed: u64,
    /// 500/502/503 answers (including `fail_next`).
    pub server_errors: u64,
    /// 429 answers (storms and single ones).
    pub rate_limited: u64,
    /// Requests held until they timed out (504).
    pub timeouts: u64,
    /// Connections dropped without an answer.
    pub dropped: u64,
    /// Webhooks delivered twice.
    pub webhook_duplicates: u64,
    /// Webhooks held back and delivered after a later one.
    pub webhook_reordered: u64,
}

impl FaultCounts {
    /// Faults that made a request or delivery go wrong (latency aside).
    pub fn failures(&self) -> u64 {
        self.server_errors
            + self.rate_limited
            + self.timeouts
            + self.dropped
            + self.webhook_duplicates
            + self.webhook_reordered
    }

    pub fn add(&mut self, other: &FaultCounts) {
        self.delayed += other.delayed;
        self.server_errors += other.server_errors;
        self.rate_limited += other.rate_limited;
        self.timeouts += other.timeouts;
        self.dropped += other.dropped;
        self.webhook_duplicates += other.webhook_duplicates;
        self.webhook_reordered += other.webhook_reordered;
    }
}

/// What the fault layer decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Injected {
    None,
    Latency(Duration),
    Error(StatusCode),
    RateLimited(u64),
    Hang(Duration),
    Drop,
}

impl Faults {
    pub fn new(seed: u64) -> Self {
        Faults {
            inner: Arc::new(Mutex::new(FaultsInner {
                plan: FaultPlan::default(),
                rng: ChaCha8Rng::seed_from_u64(seed),
                started: std::time::Instant::now(),
                injected: FaultCounts::default(),
            })),
        }
    }

    pub fn set_plan(&self, plan: FaultPlan) {
        let mut inner = self.lock();
        inner.plan = plan;
        inner.started = std::time::Instant::now();
    }

    pub fn plan(&self) -> FaultPlan {
        self.lock().plan.clone()
    }

    /// Reseeds the random source (the admin API's `seed`).
    pub fn reseed(&self, seed: u64) {
        self.lock().rng = ChaCha8Rng::seed_from_u64(seed);
    }

    /// Faults injected since the simulator started.
    pub fn counts(&self) -> FaultCounts {
        self.lock().injected
    }

    /// Counts a webhook fault the sender applied.
    pub(crate) fn count_webhook(&self, duplicated: bool) {
        let mut inner = self.lock();
        if duplicated {
            inner.injected.webhook_duplicates += 1;
        } else {
            inner.injected.webhook_reordered += 1;
        }
    }

    /// Draws a uniform number in 0..1 from the seeded source.
    pub fn draw(&self) -> f64 {
        self.lock().rng.gen::<f64>()
    }

    /// Draws from the seeded source for callers that need their own randomness.
    pub fn draw_range(&self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        self.lock().rng.gen_range(low..=high)
    }

    /// Decides the fault for the next request.
    pub fn decide(&self) -> Injected {
        let mut inner = self.lock();
        let injected = Self::draw_fault(&mut inner);
        let counts = &mut inner.injected;
        match injected {
            Injected::None => {}
            Injected::Latency(_) => counts.delayed += 1,
            Injected::Error(_) => counts.server_errors += 1,
            Injected::RateLimited(_) => counts.rate_limited += 1,
            Injected::Hang(_) => counts.timeouts += 1,
            Injected::Drop => counts.dropped += 1,
        }
        injected
    }

    fn draw_fault(inner: &mut FaultsInner) -> Injected {
        if inner.plan.fail_next > 0 {
            inner.plan.fail_next -= 1;
            return Injected::Error(StatusCode::SERVICE_UNAVAILABLE);
        }
        let plan = inner.plan.clone();
        if let Some((period, length)) = plan.rate_limit_storm_ms {
            let since_start = inner.started.elapsed().as_millis() as u64;
            if period > 0 && since_start % period < length {
                let retry_after = (length - since_start % period).div_ceil(1000).max(1);
                return Injected::RateLimited(retry_after);
            }
        }
        let roll: f64 = inner.rng.gen();
        let mut threshold = plan.drop_rate;
        if roll < threshold {
            return Injected::Drop;
        }
        threshold += plan.timeout_rate;
        if roll < threshold {
            return Injected::Hang(Duration::from_millis(plan.hang_ms.max(1)));
        }
        threshold += plan.rate_limit_rate;
        if roll < threshold {
            return Injected::RateLimited(plan.retry_after_secs.max(1));
        }
        threshold += plan.error_rate;
        if roll < threshold {
            let codes = [
                StatusCode::INTERNAL_SERVER_ERROR,
                StatusCode::BAD_GATEWAY,
                StatusCode::SERVICE_UNAVAILABLE,
            ];
            return Injected::Error(codes[inner.rng.gen_range(0..codes.len())]);
        }
        let mut latency = 0;
        for (share, range) in [
            (1.0, plan.latency_ms),
            (plan.latency_tail_rate, plan.latency_tail_ms),
        ] {
            let Some((low, high)) = range else { continue };
            if share >= 1.0 || inner.rng.gen::<f64>() < share {
                latency += if high > low {
                    inner.rng.gen_range(low..=high)
                } else {
                    low
                };
            }
        }
        if latency > 0 {
            Injected::Latency(Duration::from_millis(latency))
        } else {
            Injected::None
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultsInner> {
        // A poisoned lock only means another request panicked mid-draw; the plan is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Axum middleware applying the plan to every request outside `/_admin`.
pub async fn fault_layer(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/_admin") {
        return next.run(request).await;
    }
    match faults.decide() {
        Injected::None => next.run(request).await,
        Injected::Latency(delay) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Injected::Error(status) => {
            (status, "injected fault: the simulated system is failing").into_response()
        }
        Injected::RateLimited(secs) => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                "injected fault: rate limited",
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert("retry-after", value);
            }
            response
        }
        Injected::Hang(delay) => {
            tokio::time::sleep(delay).await;
            (StatusCode::GATEWAY_TIMEOUT, "injected fault: timed out").into_response()
        }
        Injected::Drop => {
            // Closing without an answer: hyper drops the connection when the
            // response body errors before the first byte.
            let stream = futures::stream::once(async {
                Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected fault: connection dropped",
                ))
            });
            Response::builder()
                .status(StatusCode::OK)
                .body(Body::from_stream(stream))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let plan = FaultPlan {
            error_rate: 0.3,
            rate_limit_rate: 0.2,
            ..Default::default()
        };
        let a = Faults::new(42);
        let b = Faults::new(42);
        a.set_plan(plan.clone());
        b.set_plan(plan);
        let run_a: Vec<_> = (0..200).map(|_| a.decide()).collect();
        let run_b: Vec<_> = (0..200).map(|_| b.decide()).collect();
        assert_eq!(run_a, run_b);
        let errors = run_a
            .iter()
            .filter(|f| matches!(f, Injected::Error(_)))
            .count();
        let limited = run_a
            .iter()
            .filter(|f| matches!(f, Injected::RateLimited(_)))
            .count();
        assert!((30..90).contains(&errors), "errors {errors}");
        assert!((15..65).contains(&limited), "429s {limited}");
    }

    #[test]
    fn a_storm_refuses_everything_in_its_window_and_nothing_after() {
        let faults = Faults::new(1);
        faults.set_plan(FaultPlan {
            rate_limit_storm_ms: Some((60_000, 30_000)),
            ..Default::default()
        });
        assert!((0..50)
            .all(|_| matches!(faults.decide(), Injected::RateLimited(s) if (1..=30).contains(&s))));
        faults.set_plan(FaultPlan {
            rate_limit_storm_ms: Some((60_000, 0)),
            ..Default::default()
        });
        assert_eq!(faults.decide(), Injected::None);
    }

    #[test]
    fn the_latency_tail_hits_about_its_share() {
        let faults = Faults::new(5);
        faults.set_plan(FaultPlan {
            latency_ms: Some((1, 1)),
            latency_tail_rate: 0.1,
            latency_tail_ms: Some((500, 500)),
            ..Default::default()
        });
        let slow = (0..1000)
            .filter(|_| matches!(faults.decide(), Injected::Latency(d) if d >= Duration::from_millis(501)))
            .count();
        assert!((60..140).contains(&slow), "{slow}");
    }

    #[test]
    fn fail_next_is_a_deterministic_outage() {
        let faults = Faults::new(1);
        faults.set_plan(FaultPlan {
            fail_next: 3,
            ..Default::default()
        });
        for _ in 0..3 {
            assert_eq!(
                faults.decide(),
                Injected::Error(StatusCode::SERVICE_UNAVAILABLE)
            );
        }
        assert_eq!(faults.decide(), Injected::None);
    }
}
