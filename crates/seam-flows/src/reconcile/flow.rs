//! The reconciler as jobs: `reconcile/cycle` runs on a schedule over the
//! last `lookback_days` of orders and every SKU the stock flow read back;
//! `reconcile/recheck` is the resubmit of a variance's exception, which
//! checks that one order again (resolved when the variance is gone).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use seam_engine::scheduler::ScheduledTask;
use seam_engine::{
    Commit, ExceptionDraft, Failure, HandlerRegistry, Job, JobContext, JobHandler, JobSpec,
    Outcome, TimelineEntry,
};

use super::compare::{compare_order, OrderIntent, Variance, VarianceKind};
use super::gather::LiveObserver;
use super::pass::{
    exception_for, new_variance, reconcile_orders, reconcile_stock, Observer, PassOptions, Period,
    FLOW,
};
use crate::orders::{self, OrderRecord};
use crate::returns::{self, OrderReturns};
use crate::{database_failure, store_failure};

/// The entity the scheduled cycle runs on.
pub const CYCLE_ENTITY: &str = "reconcile:cycle";

#[derive(Debug, Clone, Copy)]
pub struct ReconcileSettings {
    pub every: Duration,
    pub lookback_days: u32,
    pub options: PassOptions,
}

pub struct ReconcileFlow {
    pub observer: LiveObserver,
    pub settings: ReconcileSettings,
}

impl ReconcileFlow {
    pub fn register(self: &Arc<Self>, registry: &mut HandlerRegistry) {
        registry.register(FLOW, "cycle", Arc::new(Cycle(self.clone())));
        registry.register(FLOW, "recheck", Arc::new(Recheck(self.clone())));
    }

    pub fn scheduled_tasks(&self) -> Vec<ScheduledTask> {
        vec![ScheduledTask {
            name: "reconcile".into(),
            every: self.settings.every,
            spec: JobSpec::new(FLOW, "cycle", CYCLE_ENTITY),
        }]
    }
}

struct Cycle(Arc<ReconcileFlow>);

#[async_trait]
impl JobHandler for Cycle {
    async fn handle(&self, _job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let period = Period::last_days(ctx.now, flow.settings.lookback_days);
        let orders = match reconcile_orders(
            &*ctx.store,
            &flow.observer,
            &period,
            flow.settings.options,
            ctx.now,
            &mut |_| {},
        )
        .await
        {
            Ok(summary) => summary,
            Err(error) => return Outcome::failed(Failure::transient(error.to_string())),
        };
        let stock = match reconcile_stock(&*ctx.store, flow.settings.options.chunk, ctx.now).await {
            Ok(summary) => summary,
            Err(error) => return Outcome::failed(Failure::transient(error.to_string())),
        };
        let detail = format!(
            "{} to {}: {} orders compared ({} in flight, {} unread), {} SKUs; {} variances ({} new, {} cleared)",
            period.from,
            period.to,
            orders.orders_compared,
            orders.orders_in_flight,
            orders.orders_unread,
            stock.skus_compared,
            orders.variances_found() + stock.variances_found(),
            orders.opened + stock.opened,
            orders.cleared + stock.cleared,
        );
        Outcome::Done(Commit {
            timeline: vec![TimelineEntry {
                entity_key: CYCLE_ENTITY.into(),
                at: ctx.now,
                system: "seam".into(),
                step: "reconciled".into(),
                detail,
            }],
            ..Default::default()
        })
    }
}

/// Checks one order again: the resubmit of a variance's exception.
struct Recheck(Arc<ReconcileFlow>);

#[async_trait]
impl JobHandler for Recheck {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let Some(entity) = job
            .payload
            .get("entity_key")
            .and_then(|v| v.as_str())
            .map(str::to_string)
        else {
            return Outcome::failed(Failure::data("the re-check names no entity"));
        };
        let kind = job
            .payload
            .get("variance_type")
            .and_then(|v| v.as_str())
            .and_then(VarianceKind::parse);
        let found = match recheck_order(&flow.observer, ctx, &entity).await {
            Ok(found) => found,
            Err(outcome) => return outcome,
        };
        let rows: Vec<_> = found.iter().map(new_variance).collect();
        if let Err(error) = ctx
            .store
            .record_variances(std::slice::from_ref(&entity), &rows, ctx.now)
            .await
        {
            return store_failure(error);
        }
        match found.iter().find(|v| Some(v.kind) == kind) {
            Some(still) => {
                let draft = exception_for(still).map_or_else(
                    || {
                        ExceptionDraft::new(
                            still.kind.as_str(),
                            still.owner(),
                            still.detail.clone(),
                            still.kind.fix_hint(),
                        )
                    },
                    |e| ExceptionDraft::new(&e.exception_type, e.owner, e.message, e.fix_hint),
                );
                Outcome::Exception(draft)
            }
            None => Outcome::Done(Commit {
                // Other variances the check found are raised on their own.
                exceptions: found.iter().filter_map(exception_for).collect(),
                ..Default::default()
            }),
        }
    }
}

async fn recheck_order(
    observer: &dyn Observer,
    ctx: &JobContext,
    entity: &str,
) -> Result<Vec<Variance>, Outcome> {
    let record: OrderRecord = match ctx.store.entity_state(entity, orders::FLOW).await {
        Ok(Some(state)) => serde_json::from_value(state.state).map_err(|e| {
            Outcome::failed(Failure::data(format!(
                "the stored order state of {entity} no longer decodes: {e}"
            )))
        })?,
        Ok(None) => {
            return Err(Outcome::failed(Failure::data(format!(
                "{entity} is not an order Seam knows"
            ))))
        }
        Err(error) => return Err(store_failure(error)),
    };
    let returns: Option<OrderReturns> = match ctx.store.entity_state(entity, returns::FLOW).await {
        Ok(state) => state.and_then(|s| serde_json::from_value(s.state).ok()),
        Err(error) => return Err(store_failure(error)),
    };
    match ctx.store.entities_in_flight(&[entity.to_string()]).await {
        Ok(busy) if !busy.is_empty() => {
            return Err(Outcome::failed(Failure::transient(format!(
                "{entity} has work in flight; checking again once it settles"
            ))))
        }
        Ok(_) => {}
        Err(error) => return Err(Outcome::failed(database_failure(error))),
    }
    let mut seen = observer
        .observe(&record, returns.as_ref())
        .await
        .map_err(Outcome::failed)?;
    seen.observed_at = ctx.now;
    let mut found = Vec::new();
    compare_order(
        &OrderIntent::of(&record, returns.as_ref()),
        &seen,
        &mut found,
    );
    Ok(found)
}
