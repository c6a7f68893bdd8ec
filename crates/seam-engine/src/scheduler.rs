//! Scheduled work (pollers, read-backs, reconciliation) on one node.
//!
//! Every process runs a `Scheduler`, but only the one holding the leader
//! lease enqueues. Each run is an effect keyed `schedule:<task>:<slot>`,
//! where the slot is the task's interval number since the epoch, so even
//! two nodes that both believe they lead (a lease lost mid-tick) enqueue a
//! slot once.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, Millis};
use crate::store::{Store, StoreError};
use crate::types::{JobSpec, NewEffect};

#[derive(Debug, Clone)]
pub struct ScheduledTask {
    pub name: String,
    pub every: Duration,
    pub spec: JobSpec,
}

pub struct Scheduler {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    tasks: Vec<ScheduledTask>,
    lock_name: String,
    /// The runner's waker: a run enqueued is started at once, not at the
    /// runner's next idle poll.
    wake: Option<Arc<tokio::sync::Notify>>,
}

impl Scheduler {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, tasks: Vec<ScheduledTask>) -> Self {
        Scheduler {
            store,
            clock,
            tasks,
            lock_name: "seam-scheduler".into(),
            wake: None,
        }
    }

    /// Wakes the runner whenever a run is enqueued.
    pub fn waking(mut self, runner: Arc<tokio::sync::Notify>) -> Self {
        self.wake = Some(runner);
        self
    }

    /// Enqueues every task whose current slot was not enqueued yet and that
    /// has no run already waiting. Returns how many were new.
    pub async fn tick(&self) -> Result<u64, StoreError> {
        let now = self.clock.now_ms();
        let effects: Vec<NewEffect> = self
            .tasks
            .iter()
            .map(|task| due_effect(task, now))
            .collect();
        // A slot key matters only while its slot can still be current on
        // some node: an hour covers any clock skew between nodes.
        let enqueued = self
            .store
            .enqueue_scheduled(&effects, now - 3_600_000, now)
            .await?;
        if enqueued > 0 {
            if let Some(wake) = &self.wake {
                wake.notify_one();
            }
        }
        Ok(enqueued)
    }

    /// Leads when it can and, while leading, ticks as each task's next slot
    /// begins (at least once a second), so a task due every 200 ms starts
    /// every 200 ms, on time, until `stop`.
    pub async fn run(&self, stop: CancellationToken) {
        self.run_with(stop, None).await
    }

    /// As `run`, ticking every `tick` (tests and benchmarks use shorter ticks).
    pub async fn run_every(&self, stop: CancellationToken, tick: Duration) {
        self.run_with(stop, Some(tick)).await
    }

    /// How long until the next slot of any task begins.
    fn until_next_slot(&self) -> Duration {
        let now = self.clock.now_ms();
        let wait = self
            .tasks
            .iter()
            .map(|task| {
                let every = task.every.as_millis().max(1) as i64;
                every - now.rem_euclid(every)
            })
            .min()
            .unwrap_or(1_000);
        Duration::from_millis(wait.clamp(1, 1_000) as u64)
    }

    async fn run_with(&self, stop: CancellationToken, fixed_tick: Option<Duration>) {
        if self.tasks.is_empty() {
            return;
        }
        let mut lease = None;
        while !stop.is_cancelled() {
            if lease.is_none() {
                lease = match self.store.try_lead(&self.lock_name).await {
                    Ok(lease) => lease,
                    Err(error) => {
                        tracing::warn!(%error, "scheduler could not try for leadership");
                        None
                    }
                };
                if lease.is_some() {
                    tracing::info!("this node runs scheduled work");
                }
            }
            if let Some(held) = &lease {
                if held.still_held().await {
                    if let Err(error) = self.tick().await {
                        tracing::warn!(%error, "scheduled work could not be enqueued");
                    }
                } else {
                    tracing::warn!("scheduler lost leadership");
                    lease = None;
                }
            }
            let pause = match fixed_tick {
                Some(tick) => tick,
                // While not leading, try for the lease once a second.
                None if lease.is_none() => Duration::from_secs(1),
                None => self.until_next_slot(),
            };
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}

fn due_effect(task: &ScheduledTask, now: Millis) -> NewEffect {
    let every = task.every.as_millis().max(1) as i64;
    let slot = now.div_euclid(every);
    NewEffect {
        spec: task.spec.clone(),
        payload: json!({ "scheduled": task.name, "slot": slot, "at": slot * every }),
        idempotency_key: format!("schedule:{}:{slot}", task.name),
    }
}
