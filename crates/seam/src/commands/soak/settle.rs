//! Letting everything settle after the traffic stops and the faults end:
//! an operator resubmits what the faults exhausted (as the runbook says),
//! then the soak waits until nothing moves. Quiet means: no job but the
//! scheduler's polls is queued or running (a job waiting behind its
//! entity's exception is held, not moving), no SKU waits for a stock push,
//! the 3PL's feed is read to its end, Centra's event queue is empty, and
//! the journal has not grown, for a whole quiet window (long enough for
//! the slowest poll that matters and for a vendor's webhook retries).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use seam_engine::{ExceptionFilter, ExceptionStatus, JobState, ResubmitMode, Store};
use seam_sandbox::sandbox::Sandbox;

use super::world::read_active_jobs;

/// Exception types a transient fault ends in, which an operator resubmits
/// once the system is healthy again.
pub const RESUBMITTED_TYPES: [&str; 2] = ["retries_exhausted", "rate_limited_too_long"];

#[derive(Debug, Default)]
pub struct Settled {
    pub took: Duration,
    /// Exceptions the operator resubmitted.
    pub resubmitted: usize,
    /// What still moved when time ran out (empty when settled).
    pub still_moving: Vec<String>,
}

pub struct Settle<'a> {
    pub sandbox: &'a Sandbox,
    pub store: &'a Arc<dyn Store>,
    pub quiet_window: Duration,
    pub timeout: Duration,
}

impl Settle<'_> {
    pub async fn run(&self) -> anyhow::Result<Settled> {
        let started = Instant::now();
        let mut settled = Settled::default();
        let mut resubmitted: BTreeSet<i64> = BTreeSet::new();
        let mut quiet_since: Option<Instant> = None;
        let mut high_water = -1;
        let mut last_report = Instant::now();
        loop {
            settled.resubmitted += self.resubmit_transient(&mut resubmitted).await?;
            let moving = self.what_moves().await?;
            let journal = self.store.journal_high_water().await?;
            let grew = journal != high_water;
            high_water = journal;
            if moving.is_empty() && !grew {
                let since = *quiet_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.quiet_window {
                    settled.took = started.elapsed();
                    return Ok(settled);
                }
            } else {
                quiet_since = None;
            }
            if started.elapsed() >= self.timeout {
                settled.took = started.elapsed();
                settled.still_moving = if moving.is_empty() {
                    vec!["the journal kept growing".into()]
                } else {
                    moving
                };
                return Ok(settled);
            }
            if last_report.elapsed() >= Duration::from_secs(15) {
                last_report = Instant::now();
                eprintln!(
                    "  settling for {:.0?}: {}",
                    started.elapsed(),
                    if moving.is_empty() {
                        "quiet".to_string()
                    } else {
                        summary(&moving)
                    }
                );
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Resubmits (replay) each open exception a transient fault ended in, once.
    async fn resubmit_transient(&self, done: &mut BTreeSet<i64>) -> anyhow::Result<usize> {
        let mut count = 0;
        for exception_type in RESUBMITTED_TYPES {
            let open = self
                .store
                .exceptions(&ExceptionFilter {
                    status: Some(ExceptionStatus::Open),
                    exception_type: Some(exception_type.into()),
                    limit: Some(10_000),
                    ..Default::default()
                })
                .await?;
            for exception in open {
                if !done.insert(exception.id) {
                    continue;
                }
                let result = self
                    .store
                    .resubmit_exception(
                        exception.id,
                        &ResubmitMode::Replay,
                        "seam soak",
                        "the faults have ended; resubmitted as the runbook says",
                        chrono::Utc::now().timestamp_millis(),
                    )
                    .await;
                match result {
                    Ok(_) => count += 1,
                    Err(error) => eprintln!(
                        "  could not resubmit exception {} ({exception_type}): {error}",
                        exception.id
                    ),
                }
            }
        }
        Ok(count)
    }

    /// One line per thing that is still moving; empty when quiet.
    async fn what_moves(&self) -> anyhow::Result<Vec<String>> {
        let mut moving = Vec::new();
        let jobs = read_active_jobs(self.store).await?;
        let mut first_parked: BTreeMap<&str, i64> = BTreeMap::new();
        for job in jobs.iter().filter(|j| j.state == JobState::Parked) {
            first_parked.entry(job.entity.as_str()).or_insert(job.id);
        }
        for job in &jobs {
            let held = first_parked
                .get(job.entity.as_str())
                .is_some_and(|parked| *parked <= job.id);
            if !job.scheduled && !held {
                moving.push(format!(
                    "job {} {} for {} is {}",
                    job.id,
                    job.what,
                    job.entity,
                    job.state.as_str()
                ));
            }
        }
        for set in [seam_flows::stock::PUSH_SET, seam_flows::stock::REPUSH_SET] {
            if !self.store.marked(set, 1).await?.is_empty() {
                moving.push(format!("SKUs wait for a stock push ({set})"));
            }
        }
        let (entity, flow) = seam_flows::stock::FEED_STATE;
        let cursor = self
            .store
            .entity_state(entity, flow)
            .await?
            .and_then(|state| state.state.get("cursor").and_then(|c| c.as_u64()));
        let last = self.sandbox.warehouse.last_sequence();
        if cursor != Some(last) {
            moving.push(format!("the 3PL's feed is read to {cursor:?} of {last}"));
        }
        let unconfirmed = self
            .sandbox
            .centra
            .event_queue(seam_sandbox::centra::DEFAULT_INTEGRATION)
            .len();
        if unconfirmed > 0 {
            moving.push(format!("{unconfirmed} Centra events unconfirmed"));
        }
        Ok(moving)
    }
}

fn summary(moving: &[String]) -> String {
    let shown: Vec<&str> = moving.iter().take(3).map(String::as_str).collect();
    if moving.len() > 3 {
        format!("{} (and {} more)", shown.join("; "), moving.len() - 3)
    } else {
        shown.join("; ")
    }
}
