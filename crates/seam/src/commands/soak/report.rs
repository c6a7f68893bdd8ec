//! The soak's report: what ran (traffic, kills, faults), how long it took
//! to settle, one row per invariant (checked, violations, PASS/FAIL), the
//! exceptions it ended with, and on a violation its details and the
//! command that replays the plan.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use rust_decimal::Decimal;
use seam_sandbox::faults::FaultCounts;

use super::invariants::Check;

/// What happened during the run, for the header and the note.
#[derive(Debug, Default)]
pub struct RunFigures {
    pub orders: u64,
    pub returns: u64,
    pub dispatches: u64,
    pub stock_movements: u64,
    pub erp_edits: u64,
    pub kills: u32,
    pub restarts: u32,
    pub outages: usize,
    pub faults: FaultCounts,
    pub resubmitted: usize,
    pub settle: Duration,
    pub traffic: Duration,
}

pub struct Report<'a> {
    pub replay: &'a str,
    pub figures: &'a RunFigures,
    pub checks: &'a [Check],
    /// Exceptions at the end, open ones by type.
    pub open_exceptions: BTreeMap<String, usize>,
    /// Money per currency: (captured, refunded) at the PSP.
    pub net: BTreeMap<String, (Decimal, Decimal)>,
}

impl Report<'_> {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(Check::passed)
    }

    pub fn render(&self) -> String {
        let f = self.figures;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "traffic {:.0?}: {} orders, {} returns and exchanges, {} dispatches, {} stock movements, {} ERP edits",
            f.traffic, f.orders, f.returns, f.dispatches, f.stock_movements, f.erp_edits
        );
        let _ = writeln!(
            out,
            "hubs killed {} times (SIGKILL), started again {} times; {} outages; faults injected: {} 5xx, {} 429, {} timeouts, {} dropped connections, {} duplicated and {} reordered webhooks, {} delayed requests",
            f.kills,
            f.restarts,
            f.outages,
            f.faults.server_errors,
            f.faults.rate_limited,
            f.faults.timeouts,
            f.faults.dropped,
            f.faults.webhook_duplicates,
            f.faults.webhook_reordered,
            f.faults.delayed
        );
        let _ = writeln!(
            out,
            "settled in {:.1?} after the traffic stopped ({} exceptions resubmitted once the faults ended)",
            f.settle, f.resubmitted
        );
        for (currency, (captured, refunded)) in &self.net {
            let _ = writeln!(
                out,
                "  {currency}: captured {captured}, refunded {refunded}, net {}",
                captured - refunded
            );
        }
        let _ = writeln!(out);
        let width = self
            .checks
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(9)
            .max(9);
        let _ = writeln!(
            out,
            "{:<width$}  {:>8}  {:>10}  result",
            "invariant", "checked", "violations"
        );
        for check in self.checks {
            let _ = writeln!(
                out,
                "{:<width$}  {:>8}  {:>10}  {}",
                check.name,
                check.checked,
                check.violations.len(),
                if check.passed() { "PASS" } else { "FAIL" }
            );
        }
        if !self.open_exceptions.is_empty() {
            let listed: Vec<String> = self
                .open_exceptions
                .iter()
                .map(|(kind, n)| format!("{kind} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "\nopen exceptions at the end (each owned by a team): {}",
                listed.join(", ")
            );
        }
        for check in self.checks.iter().filter(|c| !c.passed()) {
            let _ = writeln!(out, "\n{}:", check.name);
            for violation in check.violations.iter().take(25) {
                let _ = writeln!(out, "  - {violation}");
            }
            if check.violations.len() > 25 {
                let _ = writeln!(out, "  ... and {} more", check.violations.len() - 25);
            }
        }
        if !self.passed() {
            let _ = writeln!(
                out,
                "\nreplay: {}\n(the same seed gives the same plan: faults, outages, kills and traffic; the interleaving with the hub's timing can differ)",
                self.replay
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_check_prints_its_violations_and_the_replay_command() {
        let checks = vec![
            Check {
                name: "no credit memo twice",
                checked: 4,
                violations: vec![],
            },
            Check {
                name: "the books balance",
                checked: 3,
                violations: vec!["EUR: credit memos vs refunds: 10 ≠ 9".into()],
            },
        ];
        let figures = RunFigures::default();
        let report = Report {
            replay: "seam soak --seed 7 --duration 60s",
            figures: &figures,
            checks: &checks,
            open_exceptions: BTreeMap::new(),
            net: BTreeMap::new(),
        };
        assert!(!report.passed());
        let text = report.render();
        assert!(text.contains("no credit memo twice"), "{text}");
        assert!(text.contains("PASS") && text.contains("FAIL"), "{text}");
        assert!(
            text.contains("  - EUR: credit memos vs refunds: 10 ≠ 9"),
            "{text}"
        );
        assert!(
            text.contains("replay: seam soak --seed 7 --duration 60s"),
            "{text}"
        );
    }
}
