//! The soak's plan, drawn from its seed: how each simulator misbehaves,
//! when a simulator goes down altogether (an outage), and when which hub
//! is killed and how long it stays down. The same seed, duration and shape
//! give the same plan; what the hub does in between depends on timing, so
//! a replay repeats the plan, not every interleaving.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use seam_sandbox::faults::FaultPlan;

/// The five simulated systems, in the order the sandbox starts them.
pub const SYSTEMS: [&str; 5] = ["centra", "warehouse", "reveni", "netsuite", "adyen"];

/// What shapes a plan besides the seed.
#[derive(Debug, Clone, Copy)]
pub struct PlanShape {
    pub duration: Duration,
    pub hubs: usize,
    /// Mean time between kills (each gap is drawn from half to one and a
    /// half times it).
    pub kill_every: Duration,
    /// Mean time between outages.
    pub outage_every: Duration,
}

/// One SIGKILL: at `at` after traffic starts, hub `hub` dies and is started
/// again `down_for` later (as a supervisor would).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kill {
    pub at: Duration,
    pub hub: usize,
    pub down_for: Duration,
}

/// A stretch during which one system answers every request with 5xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    pub at: Duration,
    pub system: &'static str,
    pub lasts: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SoakPlan {
    pub seed: u64,
    /// The steady misbehaviour of each system, by `SYSTEMS` order.
    pub faults: Vec<(&'static str, FaultPlan)>,
    pub outages: Vec<Outage>,
    pub kills: Vec<Kill>,
    /// The traffic generator's own seed.
    pub traffic_seed: u64,
}

/// Independent streams from one seed, so adding draws to one part of the
/// plan never changes another.
fn stream(seed: u64, part: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ part.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn between(rng: &mut ChaCha8Rng, low: u64, high: u64) -> u64 {
    rng.gen_range(low..=high.max(low))
}

impl SoakPlan {
    pub fn new(seed: u64, shape: PlanShape) -> SoakPlan {
        let mut rng = stream(seed, 1);
        let faults = SYSTEMS
            .iter()
            .map(|system| (*system, steady_faults(&mut rng, system)))
            .collect();
        SoakPlan {
            seed,
            faults,
            outages: outages(&mut stream(seed, 2), &shape),
            kills: kills(&mut stream(seed, 3), &shape),
            traffic_seed: stream(seed, 4).gen(),
        }
    }

    pub fn faults_of(&self, system: &str) -> FaultPlan {
        self.faults
            .iter()
            .find(|(name, _)| *name == system)
            .map(|(_, plan)| plan.clone())
            .unwrap_or_default()
    }
}

/// Latency with a slow tail, a few percent of 5xx, single 429s and, for
/// the systems whose limits are shared with other integrations (Centra,
/// NetSuite), 429 storms; hangs answered 504, dropped connections, and
/// duplicated, reordered and delayed webhooks.
fn steady_faults(rng: &mut ChaCha8Rng, system: &str) -> FaultPlan {
    let storms = matches!(system, "centra" | "netsuite");
    FaultPlan {
        latency_ms: Some((between(rng, 1, 5), between(rng, 20, 60))),
        latency_tail_rate: 0.01,
        latency_tail_ms: Some((500, between(rng, 1_000, 3_000))),
        rate_limit_storm_ms: storms
            .then(|| (between(rng, 40_000, 90_000), between(rng, 2_000, 5_000))),
        error_rate: between(rng, 20, 60) as f64 / 1_000.0,
        rate_limit_rate: between(rng, 5, 20) as f64 / 1_000.0,
        retry_after_secs: 1,
        timeout_rate: between(rng, 2, 8) as f64 / 1_000.0,
        hang_ms: between(rng, 2_000, 6_000),
        drop_rate: between(rng, 2, 8) as f64 / 1_000.0,
        fail_next: 0,
        webhook_duplicate_rate: between(rng, 50, 150) as f64 / 1_000.0,
        webhook_reorder_rate: between(rng, 20, 80) as f64 / 1_000.0,
        webhook_delay_ms: Some((0, between(rng, 100, 500))),
        // Lost webhooks are left out: Seam's pollers catch them, but only
        // on their own (minutes-long) intervals, longer than a short soak
        // lets the hub settle.
        webhook_drop_rate: 0.0,
    }
}

fn outages(rng: &mut ChaCha8Rng, shape: &PlanShape) -> Vec<Outage> {
    let mut outages = Vec::new();
    let mean = shape.outage_every.as_millis().max(1) as u64;
    let mut at = between(rng, mean / 2, mean * 3 / 2);
    // Keep the last fifth of the run free of outages, so the run ends trading.
    while at < shape.duration.as_millis() as u64 * 4 / 5 {
        outages.push(Outage {
            at: Duration::from_millis(at),
            system: SYSTEMS[rng.gen_range(0..SYSTEMS.len())],
            lasts: Duration::from_millis(between(rng, 5_000, 40_000)),
        });
        at += between(rng, mean / 2, mean * 3 / 2);
    }
    outages
}

fn kills(rng: &mut ChaCha8Rng, shape: &PlanShape) -> Vec<Kill> {
    let mut kills = Vec::new();
    let mean = shape.kill_every.as_millis().max(1) as u64;
    let mut at = between(rng, mean / 2, mean * 3 / 2);
    while at < shape.duration.as_millis() as u64 {
        kills.push(Kill {
            at: Duration::from_millis(at),
            hub: rng.gen_range(0..shape.hubs.max(1)),
            down_for: Duration::from_millis(between(rng, 0, 3_000)),
        });
        at += between(rng, mean / 2, mean * 3 / 2);
    }
    kills
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> PlanShape {
        PlanShape {
            duration: Duration::from_secs(600),
            hubs: 2,
            kill_every: Duration::from_secs(20),
            outage_every: Duration::from_secs(120),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_plan_and_another_seed_another() {
        assert_eq!(SoakPlan::new(7, shape()), SoakPlan::new(7, shape()));
        assert_ne!(SoakPlan::new(7, shape()), SoakPlan::new(8, shape()));
    }

    #[test]
    fn kills_and_outages_fall_inside_the_run_and_reach_every_hub() {
        let plan = SoakPlan::new(3, shape());
        assert!(plan.kills.len() >= 15, "{}", plan.kills.len());
        assert!(plan
            .kills
            .iter()
            .all(|k| k.at < shape().duration && k.hub < 2));
        assert!(plan.kills.iter().any(|k| k.hub == 0) && plan.kills.iter().any(|k| k.hub == 1));
        assert!(plan.kills.windows(2).all(|w| w[0].at < w[1].at));
        assert!(!plan.outages.is_empty());
        assert!(plan
            .outages
            .iter()
            .all(|o| o.at < shape().duration * 4 / 5 && SYSTEMS.contains(&o.system)));
    }

    #[test]
    fn every_system_misbehaves_within_sane_rates() {
        let plan = SoakPlan::new(11, shape());
        assert_eq!(plan.faults.len(), SYSTEMS.len());
        for (system, faults) in &plan.faults {
            let failing =
                faults.error_rate + faults.rate_limit_rate + faults.timeout_rate + faults.drop_rate;
            assert!(failing > 0.0 && failing < 0.15, "{system}: {failing}");
            assert!(faults.webhook_duplicate_rate > 0.0);
        }
        assert!(plan.faults_of("centra").rate_limit_storm_ms.is_some());
        assert!(plan.faults_of("adyen").rate_limit_storm_ms.is_none());
    }
}
