//! One reconciliation pass over a period: orders are paged through the
//! store by key (keyset pagination) and compared a fixed-size chunk at a
//! time, so a period of a million orders is never held in memory. Each
//! chunk's variances are recorded (opened, updated or cleared) and, where
//! someone must act, raised as exceptions.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use seam_engine::{
    Failure, JobSpec, Millis, NewException, NewVariance, Store, StoreError, VarianceChanges,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::compare::{
    compare_order, compare_stock, OrderIntent, OrderObservations, StockObservation, Variance,
    VarianceKind,
};
use crate::orders::{self, OrderRecord};
use crate::returns::{self, OrderReturns};

/// The flow of reconciliation jobs and of its exceptions.
pub const FLOW: &str = "reconcile";

/// The entity a variance's exception is raised on: its own, so that a
/// parked re-check never holds back the order's real work.
pub fn exception_entity(entity_key: &str) -> String {
    format!("reconcile:{entity_key}")
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("the database: {0}")]
    Store(#[from] StoreError),
    #[error("'{0}' is not a day like 2026-11-30")]
    BadDay(String),
    #[error("'{0}' is not a month like 2026-11")]
    BadMonth(String),
}

/// Business days, inclusive, as `YYYY-MM-DD` (which compare in order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: String,
    pub to: String,
}

impl Period {
    pub fn days(from: &str, to: &str) -> Result<Self, ReconcileError> {
        for day in [from, to] {
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map_err(|_| ReconcileError::BadDay(day.to_string()))?;
        }
        Ok(Period {
            from: from.to_string(),
            to: to.to_string(),
        })
    }

    /// A calendar month, `YYYY-MM`.
    pub fn month(month: &str) -> Result<Self, ReconcileError> {
        let first = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
            .map_err(|_| ReconcileError::BadMonth(month.to_string()))?;
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(|| ReconcileError::BadMonth(month.to_string()))?;
        let last = next.pred_opt().unwrap_or(first);
        Ok(Period {
            from: first.format("%Y-%m-%d").to_string(),
            to: last.format("%Y-%m-%d").to_string(),
        })
    }

    /// The `days` days up to and including the day of `now`.
    pub fn last_days(now: Millis, days: u32) -> Self {
        let today = chrono::DateTime::from_timestamp_millis(now)
            .unwrap_or_default()
            .date_naive();
        let first = today - chrono::Days::new(u64::from(days.saturating_sub(1)));
        Period {
            from: first.format("%Y-%m-%d").to_string(),
            to: today.format("%Y-%m-%d").to_string(),
        }
    }

    pub fn contains(&self, day: &str) -> bool {
        day >= self.from.as_str() && day <= self.to.as_str()
    }
}

/// Reads what the systems show for one order. The live observer reads the
/// vendors through their connectors (`gather`); the bench observes from
/// local state.
#[async_trait]
pub trait Observer: Send + Sync {
    async fn observe(
        &self,
        record: &OrderRecord,
        returns: Option<&OrderReturns>,
    ) -> Result<OrderObservations, Failure>;
}

#[derive(Debug, Clone, Copy)]
pub struct PassOptions {
    /// Orders read and compared per chunk.
    pub chunk: u32,
    /// Orders observed at once (the connectors' governors still bound the calls).
    pub concurrency: usize,
    /// Raise exceptions for variances someone must act on.
    pub raise_exceptions: bool,
}

impl Default for PassOptions {
    fn default() -> Self {
        PassOptions {
            chunk: 500,
            concurrency: 8,
            raise_exceptions: true,
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassSummary {
    /// Orders read from the store (all periods).
    pub orders_scanned: u64,
    /// Orders of the period compared.
    pub orders_compared: u64,
    /// Orders of the period left for the next pass: work in flight.
    pub orders_in_flight: u64,
    /// Orders of the period whose systems could not be read (or whose
    /// stored state no longer decodes): left for the next pass.
    pub orders_unread: u64,
    pub skus_compared: u64,
    /// Variances found, by type.
    pub found: BTreeMap<String, u64>,
    pub opened: u64,
    pub seen_again: u64,
    pub cleared: u64,
    pub exceptions_raised: u64,
    /// The first few reasons an order could not be read.
    pub unread_reasons: Vec<String>,
}

impl PassSummary {
    fn add_changes(&mut self, changes: VarianceChanges) {
        self.opened += changes.opened;
        self.seen_again += changes.seen_again;
        self.cleared += changes.cleared;
    }

    pub fn variances_found(&self) -> u64 {
        self.found.values().sum()
    }
}

pub fn new_variance(variance: &Variance) -> NewVariance {
    NewVariance {
        variance_type: variance.kind.as_str().to_string(),
        entity_key: variance.entity_key.clone(),
        day: variance.day.clone(),
        owner: variance.owner(),
        currency: variance.currency.map(|c| c.code().to_string()),
        expected: variance.expected,
        found: variance.found,
        expected_system: variance.systems.0.clone(),
        found_system: variance.systems.1.clone(),
        detail: variance.detail.clone(),
    }
}

/// The exception a variance opens where someone must act. Stock drift is
/// not raised here: the stock flow already corrects it and raises
/// `stock_drift_persists` when a correction does not hold.
pub fn exception_for(variance: &Variance) -> Option<NewException> {
    if variance.kind == VarianceKind::StockDrift {
        return None;
    }
    let (expected_system, found_system) = &variance.systems;
    Some(NewException {
        exception_type: variance.kind.as_str().to_string(),
        owner: variance.owner(),
        spec: JobSpec::new(FLOW, "recheck", exception_entity(&variance.entity_key)),
        message: format!(
            "{} ({expected_system}: {}, {found_system}: {})",
            variance.detail, variance.expected, variance.found
        ),
        fix_hint: variance.kind.fix_hint().to_string(),
        payload: json!({
            "entity_key": variance.entity_key,
            "variance_type": variance.kind.as_str(),
            "expected": variance.expected.to_string(),
            "found": variance.found.to_string(),
            "systems": [expected_system, found_system],
            "currency": variance.currency.map(|c| c.code().to_string()),
        }),
        attempts: 0,
    })
}

/// Compares the orders of `period`, chunk by chunk. `progress` is told the
/// orders scanned so far after each chunk.
pub async fn reconcile_orders(
    store: &dyn Store,
    observer: &dyn Observer,
    period: &Period,
    options: PassOptions,
    now: Millis,
    progress: &mut (dyn FnMut(&PassSummary) + Send),
) -> Result<PassSummary, ReconcileError> {
    let mut summary = PassSummary::default();
    let mut after = String::new();
    let mut variances: Vec<Variance> = Vec::new();
    loop {
        let page = store
            .entity_state_texts(orders::FLOW, &after, options.chunk.max(1))
            .await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = last.clone();
        let full = page.len() as u32 >= options.chunk.max(1);
        summary.orders_scanned += page.len() as u64;
        let mut records: Vec<(String, OrderRecord)> = Vec::with_capacity(page.len());
        for (key, state) in page {
            if !key.starts_with("order:") {
                continue;
            }
            match serde_json::from_str::<OrderRecord>(&state) {
                Ok(record) if period.contains(&record.order.order_date) => {
                    records.push((key, record))
                }
                Ok(_) => {}
                Err(error) => {
                    summary.orders_unread += 1;
                    note(
                        &mut summary,
                        format!("{key}: the stored order no longer decodes: {error}"),
                    );
                }
            }
        }
        if !records.is_empty() {
            compare_chunk(
                store,
                observer,
                records,
                options,
                now,
                &mut summary,
                &mut variances,
            )
            .await?;
        }
        progress(&summary);
        if !full {
            break;
        }
    }
    Ok(summary)
}

fn note(summary: &mut PassSummary, reason: String) {
    if summary.unread_reasons.len() < 10 {
        summary.unread_reasons.push(reason);
    }
}

async fn compare_chunk(
    store: &dyn Store,
    observer: &dyn Observer,
    records: Vec<(String, OrderRecord)>,
    options: PassOptions,
    now: Millis,
    summary: &mut PassSummary,
    variances: &mut Vec<Variance>,
) -> Result<(), ReconcileError> {
    let keys: Vec<String> = records.iter().map(|(key, _)| key.clone()).collect();
    let busy = store.entities_in_flight(&keys).await?;
    let mut returns: HashMap<String, OrderReturns> = HashMap::new();
    for (key, state) in store.entity_states_of(returns::FLOW, &keys).await? {
        if let Ok(decoded) = serde_json::from_value::<OrderReturns>(state.state) {
            returns.insert(key, decoded);
        }
    }
    let mut pending: Vec<&(String, OrderRecord)> = Vec::with_capacity(records.len());
    for entry in &records {
        if !busy.contains(&entry.0) {
            pending.push(entry);
        }
    }
    let mut observed: Vec<(String, OrderIntent, Result<OrderObservations, Failure>)> =
        Vec::with_capacity(pending.len());
    for group in pending.chunks(options.concurrency.max(1)) {
        let mut reads = Vec::with_capacity(group.len());
        for (key, record) in group.iter().copied() {
            reads.push(observer.observe(record, returns.get(key)));
        }
        let seen = futures::future::join_all(reads).await;
        for ((key, record), seen) in group.iter().copied().zip(seen) {
            observed.push((key.clone(), OrderIntent::of(record, returns.get(key)), seen));
        }
    }
    summary.orders_in_flight += busy.len() as u64;
    variances.clear();
    let mut checked = Vec::with_capacity(observed.len());
    for (key, intent, seen) in observed {
        match seen {
            Ok(mut seen) => {
                seen.observed_at = now;
                compare_order(&intent, &seen, variances);
                checked.push(key);
            }
            Err(failure) => {
                summary.orders_unread += 1;
                note(summary, format!("{key}: {}", failure.message));
            }
        }
    }
    summary.orders_compared += checked.len() as u64;
    record(store, &checked, variances, options, now, summary).await
}

async fn record(
    store: &dyn Store,
    checked: &[String],
    variances: &[Variance],
    options: PassOptions,
    now: Millis,
    summary: &mut PassSummary,
) -> Result<(), ReconcileError> {
    for variance in variances {
        *summary
            .found
            .entry(variance.kind.as_str().to_string())
            .or_default() += 1;
    }
    let rows: Vec<NewVariance> = variances.iter().map(new_variance).collect();
    let changes = store.record_variances(checked, &rows, now).await?;
    summary.add_changes(changes);
    if options.raise_exceptions {
        let exceptions: Vec<NewException> = variances.iter().filter_map(exception_for).collect();
        if !exceptions.is_empty() {
            store.raise_exceptions(&exceptions, now).await?;
            summary.exceptions_raised += exceptions.len() as u64;
        }
    }
    Ok(())
}

/// Compares every SKU the stock flow has read back: the storefront's free
/// stock against the warehouse's sellable truth, as the read-back last
/// found them (the stock flow does the reading; this records the drift as
/// variances for the report).
pub async fn reconcile_stock(
    store: &dyn Store,
    chunk: u32,
    now: Millis,
) -> Result<PassSummary, ReconcileError> {
    let mut summary = PassSummary::default();
    let mut after = String::new();
    let mut variances = Vec::new();
    let options = PassOptions {
        raise_exceptions: false,
        ..PassOptions::default()
    };
    loop {
        let page = store
            .entity_states(crate::stock::DRIFT_FLOW, &after, chunk.max(1))
            .await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = last.clone();
        let full = page.len() as u32 >= chunk.max(1);
        variances.clear();
        let mut checked = Vec::with_capacity(page.len());
        for (key, state) in &page {
            let Some(sku) = key.strip_prefix("sku:") else {
                continue;
            };
            checked.push(key.clone());
            let field = |name: &str| state.state.get(name).and_then(|v| v.as_i64());
            if field("in_a_row").unwrap_or(0) == 0 {
                continue;
            }
            if let (Some(free), Some(sellable)) = (field("free"), field("sellable")) {
                compare_stock(
                    &StockObservation {
                        sku: sku.to_string(),
                        storefront_free: free,
                        warehouse_sellable: sellable,
                    },
                    &mut variances,
                );
            }
        }
        summary.skus_compared += checked.len() as u64;
        record(store, &checked, &variances, options, now, &mut summary).await?;
        if !full {
            break;
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_inclusive_days() {
        let november = Period::month("2026-11").unwrap();
        assert_eq!(
            (november.from.as_str(), november.to.as_str()),
            ("2026-11-01", "2026-11-30")
        );
        assert!(november.contains("2026-11-30"));
        assert!(!november.contains("2026-12-01"));
        assert_eq!(Period::month("2026-12").unwrap().to, "2026-12-31");
        assert!(Period::month("2026-13").is_err());
        assert!(Period::days("2026-11-01", "yesterday").is_err());
        // 2026-11-30T12:00Z, three days.
        let last = Period::last_days(1_796_040_000_000, 3);
        assert_eq!(
            (last.from.as_str(), last.to.as_str()),
            ("2026-11-28", "2026-11-30")
        );
    }
}
