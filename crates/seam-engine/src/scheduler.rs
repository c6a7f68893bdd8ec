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
}

impl Scheduler {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, tasks: Vec<ScheduledTask>) -> Self {
        Scheduler {
            store,
            clock,
            tasks,
            lock_name: "seam-scheduler".into(),
        }
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
        self.store
            .enqueue_scheduled(&effects, now - 3_600_000, now)
            .await
    }

    /// Leads when it can and, while leading, ticks twice per interval of its
    /// most frequent task (between every 50 ms and every second), so a task
    /// due every 200 ms runs every 200 ms, until `stop`.
    pub async fn run(&self, stop: CancellationToken) {
        let shortest = self
            .tasks
            .iter()
            .map(|task| task.every)
            .min()
            .unwrap_or(Duration::from_secs(1));
        let tick = (shortest / 2).clamp(Duration::from_millis(50), Duration::from_secs(1));
        self.run_every(stop, tick).await
    }

    /// As `run`, ticking every `tick` (tests and benchmarks use shorter ticks).
    pub async fn run_every(&self, stop: CancellationToken, tick: Duration) {
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
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(tick) => {}
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
