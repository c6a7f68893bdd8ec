//! The job runner: claims due jobs, runs handlers, commits outcomes.
//!
//! `run` keeps up to `concurrency` jobs in flight, each handler on a task of
//! its own (so handlers use every core), and commits completions as they
//! finish, grouped into one transaction with whatever else finished
//! meanwhile. A job that waits (on a vendor's budget, say) therefore holds
//! back only its own entity, never the completions of faster jobs. Jobs are
//! claimed a batch at a time (never two of one entity) and started as slots
//! free up; leases are renewed from the claim until the commit. On
//! shutdown the jobs in flight finish and commit, and claimed jobs not yet
//! started are released unchanged. `run_once` is the same work one batch at
//! a time, for tests that step the runner.

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
    /// Most jobs taken by one claim.
    pub batch_size: u32,
    pub lease: Duration,
    /// How long to sleep when there is nothing to do (an ingest wakes it sooner).
    pub idle_poll: Duration,
    /// Jobs in flight at once (`run_once`: handlers at once within its batch).
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
    core: Arc<Core>,
    wake: Arc<Notify>,
}

/// What a job's task needs: shared by the runner and every task it spawns.
struct Core {
    store: Arc<dyn Store>,
    handlers: HandlerRegistry,
    clock: Arc<dyn Clock>,
    config: RunnerConfig,
    rng: Mutex<StdRng>,
    stats: Arc<RunnerStats>,
}

/// Most completions committed in one transaction.
const COMMIT_GROUP: usize = 1_024;

impl Runner {
    pub fn new(
        store: Arc<dyn Store>,
        handlers: HandlerRegistry,
        clock: Arc<dyn Clock>,
        config: RunnerConfig,
    ) -> Self {
        let rng = Mutex::new(StdRng::seed_from_u64(config.seed));
        Runner {
            core: Arc::new(Core {
                store,
                handlers,
                clock,
                config,
                rng,
                stats: Arc::new(RunnerStats::default()),
            }),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Notify this to wake an idle runner (e.g. after an ingest).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    pub fn stats(&self) -> Arc<RunnerStats> {
        self.core.stats.clone()
    }

    pub fn config(&self) -> &RunnerConfig {
        &self.core.config
    }

    /// Runs until `stop` is cancelled, then lets the jobs in flight finish
    /// and commits them.
    pub async fn run(&self, stop: CancellationToken) -> Result<(), StoreError> {
        let core = &self.core;
        let config = &core.config;
        let slots = config.concurrency.max(1);
        let batch = config.batch_size.max(1) as usize;
        let (done_tx, done_rx) = tokio::sync::mpsc::unbounded_channel();
        // Jobs claimed and not yet committed: their leases are renewed.
        let held: Arc<Mutex<std::collections::HashSet<i64>>> = Arc::default();
        let committer = tokio::spawn(commit_loop(
            core.clone(),
            done_rx,
            held.clone(),
            self.wake.clone(),
        ));
        // Claimed in batches (one claim statement per job would cost more
        // than the jobs), started as slots free up.
        let mut ready: std::collections::VecDeque<Job> = std::collections::VecDeque::new();
        let mut in_flight = tokio::task::JoinSet::new();
        let period = (config.lease / 3).max(Duration::from_millis(50));
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        // Whether the last claim found all it asked for: if not, wait for a
        // wake-up, a commit or the idle poll before asking again.
        let mut queue_drained = false;
        loop {
            let stopping = stop.is_cancelled();
            if stopping {
                if !ready.is_empty() {
                    // Claimed but not started: back to the queue unchanged.
                    let unstarted: Vec<i64> = ready.drain(..).map(|job| job.id).collect();
                    match core.store.release(&config.worker_id, &unstarted).await {
                        Ok(released) => {
                            core.stats.released.fetch_add(released, Ordering::Relaxed);
                        }
                        // Their leases run out and they are claimed again.
                        Err(error) => tracing::warn!(%error, "could not release unstarted jobs"),
                    }
                    let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
                    for id in unstarted {
                        held.remove(&id);
                    }
                }
                if in_flight.is_empty() {
                    break;
                }
            }
            while in_flight.len() < slots {
                let Some(job) = ready.pop_front() else { break };
                let core = core.clone();
                in_flight.spawn(async move {
                    let result = core.execute(&job).await;
                    Completion {
                        job_id: job.id,
                        result,
                    }
                });
            }
            // Keep about a batch claimed ahead of the free slots.
            if !stopping && !queue_drained && ready.len() <= batch / 4 {
                let want = batch - ready.len();
                match core
                    .store
                    .claim(
                        &config.worker_id,
                        want as u32,
                        config.lease.as_millis() as i64,
                        core.clock.now_ms(),
                    )
                    .await
                {
                    Ok(jobs) => {
                        queue_drained = jobs.len() < want;
                        core.stats
                            .claimed
                            .fetch_add(jobs.len() as u64, Ordering::Relaxed);
                        let mut ids = held.lock().unwrap_or_else(|p| p.into_inner());
                        for job in jobs {
                            ids.insert(job.id);
                            ready.push_back(job);
                        }
                        if !ready.is_empty() && in_flight.len() < slots {
                            continue;
                        }
                    }
                    Err(error) => {
                        // Nothing was claimed; try again shortly.
                        tracing::error!(%error, "claiming jobs failed; retrying shortly");
                        queue_drained = true;
                    }
                }
            }
            tokio::select! {
                finished = in_flight.join_next(), if !in_flight.is_empty() => {
                    if let Some(finished) = finished {
                        match finished {
                            Ok(completion) => {
                                let _ = done_tx.send(completion);
                            }
                            // `execute` catches a handler's panic; a task
                            // can only fail here if it was aborted. Its lease
                            // runs out and the job runs again.
                            Err(error) => tracing::error!(%error, "a job task ended abnormally"),
                        }
                    }
                }
                _ = renew.tick() => {
                    let ids: Vec<i64> = held
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .iter()
                        .copied()
                        .collect();
                    if !ids.is_empty() {
                        let until = core.clock.now_ms() + config.lease.as_millis() as i64;
                        if let Err(error) = core.store.renew_leases(&config.worker_id, &ids, until).await {
                            tracing::warn!(%error, "could not renew job leases");
                        }
                    }
                }
                _ = self.wake.notified(), if !stopping => queue_drained = false,
                _ = tokio::time::sleep(config.idle_poll), if !stopping => queue_drained = false,
                _ = stop.cancelled(), if !stopping => {}
            }
        }
        drop(done_tx);
        committer
            .await
            .map_err(|e| StoreError::Conflict(format!("the commit task failed: {e}")))?;
        Ok(())
    }

    /// Claims one batch, runs it and commits it. Returns how many jobs it claimed.
    pub async fn run_once(&self, stop: &CancellationToken) -> Result<usize, StoreError> {
        let core = &self.core;
        let lease_ms = core.config.lease.as_millis() as i64;
        let jobs = core
            .store
            .claim(
                &core.config.worker_id,
                core.config.batch_size,
                lease_ms,
                core.clock.now_ms(),
            )
            .await?;
        if jobs.is_empty() {
            return Ok(0);
        }
        let claimed = jobs.len();
        core.stats
            .claimed
            .fetch_add(claimed as u64, Ordering::Relaxed);
        let job_ids: Vec<_> = jobs.iter().map(|job| job.id).collect();

        let execution = futures::stream::iter(jobs)
            .map(|job| async move {
                if stop.is_cancelled() {
                    (job.id, None)
                } else {
                    let result = core.execute(&job).await;
                    (job.id, Some(result))
                }
            })
            .buffer_unordered(core.config.concurrency.max(1))
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
        core.count(&completions);
        core.store
            .complete(&core.config.worker_id, completions, core.clock.now_ms())
            .await?;
        if !unstarted.is_empty() {
            let released = core
                .store
                .release(&core.config.worker_id, &unstarted)
                .await?;
            core.stats.released.fetch_add(released, Ordering::Relaxed);
        }
        Ok(claimed)
    }

    /// Drives `work` while renewing the batch's leases every third of a lease.
    async fn with_lease_renewal<T>(
        &self,
        job_ids: &[i64],
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let core = &self.core;
        let period = (core.config.lease / 3).max(Duration::from_millis(50));
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tokio::pin!(work);
        loop {
            tokio::select! {
                output = &mut work => return output,
                _ = ticker.tick() => {
                    let until = core.clock.now_ms() + core.config.lease.as_millis() as i64;
                    if let Err(error) =
                        core.store.renew_leases(&core.config.worker_id, job_ids, until).await
                    {
                        tracing::warn!(%error, "could not renew job leases");
                    }
                }
            }
        }
    }
}

/// Commits completions as they arrive, each time all that have arrived
/// (up to `COMMIT_GROUP`) in one transaction, so a busy runner commits in
/// large groups and an idle one at once. A commit the database refuses
/// commits nothing: the group's leases are no longer renewed, run out, and
/// the jobs run again (their effects carry idempotency keys), as they would
/// had the process died.
async fn commit_loop(
    core: Arc<Core>,
    mut done: tokio::sync::mpsc::UnboundedReceiver<Completion>,
    held: Arc<Mutex<std::collections::HashSet<i64>>>,
    wake: Arc<Notify>,
) {
    let mut group = Vec::new();
    while let Some(first) = done.recv().await {
        group.push(first);
        while group.len() < COMMIT_GROUP {
            match done.try_recv() {
                Ok(completion) => group.push(completion),
                Err(_) => break,
            }
        }
        let ids: Vec<i64> = group.iter().map(|c| c.job_id).collect();
        core.count(&group);
        let completions = std::mem::take(&mut group);
        if let Err(error) = core
            .store
            .complete(&core.config.worker_id, completions, core.clock.now_ms())
            .await
        {
            tracing::error!(%error, jobs = ids.len(), "committing finished jobs failed; they will run again when their leases end");
            tokio::time::sleep(core.config.idle_poll.max(Duration::from_secs(1))).await;
        }
        {
            let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
            for id in ids {
                held.remove(&id);
            }
        }
        // The commit may have freed an entity's next job or queued effects.
        wake.notify_one();
    }
}

impl Core {
    fn count(&self, completions: &[Completion]) {
        for completion in completions {
            let counter = match completion.result {
                CompletionResult::Done(_) => &self.stats.done,
                CompletionResult::Retry { .. } => &self.stats.retried,
                CompletionResult::Park(_) => &self.stats.parked,
                CompletionResult::Postpone { .. } => &self.stats.postponed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
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
