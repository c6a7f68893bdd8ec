//! The job runner: claims batches, runs handlers, commits outcomes.
//!
//! Each round claims up to `batch_size` due jobs (never two of one entity),
//! runs their handlers concurrently, turns every outcome into a completion
//! (done, retry at a backed-off time, or parked as an exception), and
//! commits the whole batch in one transaction. Leases are renewed while a
//! batch runs; on shutdown, jobs not yet started are released unchanged and
//! started ones finish and commit.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use rand::rngs::StdRng;
use rand::SeedableRng;
use seam_model::OwnerTeam;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::backoff::BackoffPolicy;
use crate::clock::Clock;
use crate::failure::FailureClass;
use crate::handler::{Commit, ExceptionDraft, HandlerRegistry, JobContext, Outcome};
use crate::store::{Completion, CompletionResult, Store, StoreError};
use crate::types::{Job, NewException};

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Identifies this process's claims; unique per process.
    pub worker_id: String,
    pub batch_size: u32,
    pub lease: Duration,
    /// How long to sleep when there is nothing to do (an ingest wakes it sooner).
    pub idle_poll: Duration,
    /// Handlers running at once within a batch.
    pub concurrency: usize,
    pub backoff: BackoffPolicy,
    /// Seed for the jitter of retry delays.
    pub seed: u64,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            worker_id: format!("seam-{}", uuid::Uuid::new_v4().simple()),
            batch_size: 512,
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_millis(200),
            concurrency: 64,
            backoff: BackoffPolicy::default(),
            seed: 0x5ea,
        }
    }
}

/// Counters since start, for the bench, /metrics and health.
#[derive(Debug, Default)]
pub struct RunnerStats {
    pub claimed: AtomicU64,
    pub done: AtomicU64,
    pub retried: AtomicU64,
    pub parked: AtomicU64,
    pub released: AtomicU64,
    /// Refused by an open circuit before running: queued again, not counted.
    pub postponed: AtomicU64,
}

pub struct Runner {
    store: Arc<dyn Store>,
    handlers: HandlerRegistry,
    clock: Arc<dyn Clock>,
    config: RunnerConfig,
    rng: Mutex<StdRng>,
    wake: Arc<Notify>,
    stats: Arc<RunnerStats>,
}

impl Runner {
    pub fn new(
        store: Arc<dyn Store>,
        handlers: HandlerRegistry,
        clock: Arc<dyn Clock>,
        config: RunnerConfig,
    ) -> Self {
        let rng = Mutex::new(StdRng::seed_from_u64(config.seed));
        Runner {
            store,
            handlers,
            clock,
            config,
            rng,
            wake: Arc::new(Notify::new()),
            stats: Arc::new(RunnerStats::default()),
        }
    }

    /// Notify this to wake an idle runner (e.g. after an ingest).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    pub fn stats(&self) -> Arc<RunnerStats> {
        self.stats.clone()
    }

    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    /// Runs until `stop` is cancelled, then finishes the batch in hand.
    pub async fn run(&self, stop: CancellationToken) -> Result<(), StoreError> {
        while !stop.is_cancelled() {
            let handled = match self.run_once(&stop).await {
                Ok(handled) => handled,
                Err(error) => {
                    // The database is unreachable or refused: nothing was
                    // committed, leases will expire and the jobs run again.
                    tracing::error!(%error, "job round failed; retrying shortly");
                    tokio::time::sleep(self.config.idle_poll.max(Duration::from_secs(1))).await;
                    continue;
                }
            };
            if handled == 0 {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(self.config.idle_poll) => {}
                }
            }
        }
        Ok(())
    }

    /// Claims one batch, runs it and commits it. Returns how many jobs it claimed.
    pub async fn run_once(&self, stop: &CancellationToken) -> Result<usize, StoreError> {
        let lease_ms = self.config.lease.as_millis() as i64;
        let jobs = self
            .store
            .claim(
                &self.config.worker_id,
                self.config.batch_size,
                lease_ms,
                self.clock.now_ms(),
            )
            .await?;
        if jobs.is_empty() {
            return Ok(0);
        }
        let claimed = jobs.len();
        self.stats
            .claimed
            .fetch_add(claimed as u64, Ordering::Relaxed);
        let job_ids: Vec<_> = jobs.iter().map(|job| job.id).collect();

        let execution = futures::stream::iter(jobs)
            .map(|job| async move {
                if stop.is_cancelled() {
                    (job.id, None)
                } else {
                    let result = self.execute(&job).await;
                    (job.id, Some(result))
                }
            })
            .buffer_unordered(self.config.concurrency.max(1))
            .collect::<Vec<_>>();
        let results = self.with_lease_renewal(&job_ids, execution).await;

        let mut completions = Vec::with_capacity(results.len());
        let mut unstarted = Vec::new();
        for (job_id, result) in results {
            match result {
                Some(result) => completions.push(Completion { job_id, result }),
                None => unstarted.push(job_id),
            }
        }
        for completion in &completions {
            let counter = match completion.result {
                CompletionResult::Done(_) => &self.stats.done,
                CompletionResult::Retry { .. } => &self.stats.retried,
                CompletionResult::Park(_) => &self.stats.parked,
                CompletionResult::Postpone { .. } => &self.stats.postponed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.store
            .complete(&self.config.worker_id, completions, self.clock.now_ms())
            .await?;
        if !unstarted.is_empty() {
            let released = self
                .store
                .release(&self.config.worker_id, &unstarted)
                .await?;
            self.stats.released.fetch_add(released, Ordering::Relaxed);
        }
        Ok(claimed)
    }

    /// Drives `work` while renewing the batch's leases every third of a lease.
    async fn with_lease_renewal<T>(
        &self,
        job_ids: &[i64],
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let period = (self.config.lease / 3).max(Duration::from_millis(50));
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tokio::pin!(work);
        loop {
            tokio::select! {
                output = &mut work => return output,
                _ = ticker.tick() => {
                    let until = self.clock.now_ms() + self.config.lease.as_millis() as i64;
                    if let Err(error) =
                        self.store.renew_leases(&self.config.worker_id, job_ids, until).await
                    {
                        tracing::warn!(%error, "could not renew job leases");
                    }
                }
            }
        }
    }

    /// Runs one job's handler and decides its completion.
    async fn execute(&self, job: &Job) -> CompletionResult {
        let Some(handler) = self.handlers.get(&job.spec.flow, &job.spec.kind) else {
            return CompletionResult::Park(self.exception_for(
                job,
                ExceptionDraft::new(
                    "no_handler",
                    OwnerTeam::Engineering,
                    format!(
                        "No handler is registered for {}/{}; the job is kept, not dropped.",
                        job.spec.flow, job.spec.kind
                    ),
                    "Enable the flow in seam.toml (or run the Seam version that queued it), then \
                     resubmit.",
                ),
                None,
            ));
        };
        let context = JobContext {
            store: self.store.clone(),
            now: self.clock.now_ms(),
        };
        tracing::trace!(flow = %job.spec.flow, kind = %job.spec.kind, entity = %job.spec.entity_key, "job started");
        let outcome = AssertUnwindSafe(handler.handle(job, &context))
            .catch_unwind()
            .await;
        tracing::trace!(flow = %job.spec.flow, kind = %job.spec.kind, entity = %job.spec.entity_key, "job finished");
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                return CompletionResult::Park(self.exception_for(
                    job,
                    ExceptionDraft::new(
                        "handler_panicked",
                        OwnerTeam::Engineering,
                        format!(
                            "The {}/{} handler crashed: {reason}",
                            job.spec.flow, job.spec.kind
                        ),
                        "This is a bug in Seam: report it with this exception's payload, then \
                         resubmit once fixed.",
                    ),
                    None,
                ));
            }
        };
        self.decide(job, outcome)
    }

    /// Applies the failure classes' default actions (see `failure`).
    fn decide(&self, job: &Job, outcome: Outcome) -> CompletionResult {
        match outcome {
            Outcome::Done(commit) => CompletionResult::Done(commit),
            Outcome::Exception(draft) => {
                CompletionResult::Park(self.exception_for(job, draft, None))
            }
            Outcome::Failed { failure, exception } => match failure.class {
                FailureClass::Duplicate => CompletionResult::Done(Commit::default()),
                // Not an attempt: the connector held the call while its
                // circuit is open; run again when it closes (see `failure`).
                FailureClass::CircuitOpen => {
                    let wait = failure.retry_after.unwrap_or(Duration::from_secs(1));
                    // A little jitter, so the jobs held by one circuit do not
                    // all arrive at its first probe together.
                    let jitter = {
                        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
                        Duration::from_millis(rand::Rng::gen_range(&mut *rng, 0..=250))
                    };
                    CompletionResult::Postpone {
                        run_after: self.clock.now_ms() + (wait + jitter).as_millis() as i64,
                        reason: failure.to_string(),
                    }
                }
                FailureClass::Transient | FailureClass::RateLimited
                    if !self.config.backoff.is_spent(job.attempts) =>
                {
                    let backoff = {
                        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
                        self.config.backoff.delay(job.attempts, &mut *rng)
                    };
                    let delay = failure
                        .retry_after
                        .map_or(backoff, |vendor| vendor.max(backoff));
                    CompletionResult::Retry {
                        run_after: self.clock.now_ms() + delay.as_millis() as i64,
                        error: failure.to_string(),
                    }
                }
                class => {
                    let draft = exception.unwrap_or_else(|| {
                        ExceptionDraft::new(
                            class.default_exception_type(),
                            class.default_owner(),
                            failure.message.clone(),
                            class.default_fix_hint(),
                        )
                    });
                    CompletionResult::Park(self.exception_for(
                        job,
                        draft,
                        Some(&failure.to_string()),
                    ))
                }
            },
        }
    }

    fn exception_for(&self, job: &Job, draft: ExceptionDraft, cause: Option<&str>) -> NewException {
        let message = match cause {
            Some(cause) if !draft.message.contains(cause) && !cause.ends_with(&draft.message) => {
                format!("{} ({cause})", draft.message)
            }
            _ => draft.message,
        };
        NewException {
            exception_type: draft.exception_type,
            owner: draft.owner,
            spec: job.spec.clone(),
            message,
            fix_hint: draft.fix_hint,
            payload: job.payload.clone(),
            attempts: job.attempts,
        }
    }
}
