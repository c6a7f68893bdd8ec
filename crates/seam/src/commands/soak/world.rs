//! What the soak reads once everything has settled: each simulator's own
//! records and Seam's store, reduced to the facts the invariants compare.
//! The simulators are read in process (their handles), the store through
//! the `Store` trait, as any tool would.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use rust_decimal::Decimal;
use seam_engine::{ExceptionFilter, ExceptionStatus, JobState, Store};
use seam_flows::orders::{OrderRecord, OrderStage};
use seam_flows::returns::OrderReturns;
use seam_model::mapping::MappingTables;
use seam_model::Currency;
use seam_sandbox::adyen::{ModificationKind, Outcome as ModificationOutcome};
use seam_sandbox::netsuite::RecordType;
use seam_sandbox::sandbox::Sandbox;

/// A Centra order as the storefront has it.
#[derive(Debug, Clone, PartialEq)]
pub struct CentraOrder {
    pub number: i64,
    pub id: String,
    pub currency: String,
    pub cancelled: bool,
    pub psp_reference: String,
    /// What Centra's shipments captured, in major units.
    pub captured: Decimal,
    /// Units still allocated in Centra, by SKU.
    pub allocated: BTreeMap<String, i64>,
}

/// An order as the 3PL has it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WarehouseOrder {
    pub cancelled: bool,
    /// Units dispatched, by line item id.
    pub dispatched: BTreeMap<String, u64>,
    /// Units the 3PL holds for the order, by SKU.
    pub allocated: BTreeMap<String, i64>,
}

/// A payment at the PSP, in minor units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payment {
    pub currency: String,
    pub captured: i64,
    /// Refunds the PSP made, by the merchant reference they carry.
    pub refunds: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReveniReturn {
    pub id: String,
    pub order_external_id: String,
    pub accepted_units: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreditMemo {
    pub external_id: String,
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SkuStock {
    pub sku: String,
    pub centra_physical: i64,
    pub centra_free: i64,
    /// The 3PL's units in statuses the mapping calls sellable.
    pub warehouse_sellable: i64,
    /// Of those, units the 3PL holds for open orders.
    pub warehouse_allocated: i64,
}

/// An order as Seam holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeamOrder {
    pub number: i64,
    pub centra_id: String,
    pub currency: String,
    pub psp_reference: Option<String>,
    pub cancelled: bool,
    /// Units shipped, by line id (the 3PL's line item id).
    pub shipped: BTreeMap<String, u32>,
    /// What the dispatches are worth by Seam's allocation.
    pub shipped_value: Decimal,
}

/// A return as Seam holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeamReturn {
    pub order: i64,
    pub id: String,
    pub currency: String,
    /// Reveni paid the shopper itself: no PSP refund.
    pub instant: bool,
    /// Whether any units were taken back at all (not every item refused).
    pub takes_units: bool,
    pub refund: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    pub id: i64,
    pub entity: String,
    pub exception_type: String,
    pub open: bool,
    pub job_id: Option<i64>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActiveJob {
    pub id: i64,
    pub entity: String,
    pub what: String,
    pub state: JobState,
    /// A scheduler's job (a poll): always coming, never "stuck".
    pub scheduled: bool,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// Everything the invariants compare.
#[derive(Debug, Clone, Default)]
pub struct World {
    pub centra_orders: Vec<CentraOrder>,
    /// By the 3PL's order number.
    pub warehouse_orders: BTreeMap<String, WarehouseOrder>,
    /// NetSuite sales orders' external ids, one entry per record.
    pub erp_sales_orders: Vec<String>,
    pub erp_credit_memos: Vec<CreditMemo>,
    /// By PSP reference.
    pub payments: BTreeMap<String, Payment>,
    pub reveni_returns: Vec<ReveniReturn>,
    pub stock: Vec<SkuStock>,
    pub seam_orders: BTreeMap<i64, SeamOrder>,
    pub seam_returns: Vec<SeamReturn>,
    pub exceptions: Vec<Exception>,
    pub active_jobs: Vec<ActiveJob>,
}

impl World {
    /// Reads the simulators and the store.
    pub async fn collect(
        sandbox: &Sandbox,
        store: &Arc<dyn Store>,
        mappings: &MappingTables,
    ) -> anyhow::Result<World> {
        let mut world = World::default();
        for order in sandbox.centra.orders() {
            let mut allocated = BTreeMap::new();
            for line in &order.lines {
                let units: i64 = line.allocations.iter().map(|(_, q)| i64::from(*q)).sum();
                if units > 0 {
                    *allocated.entry(line.sku.clone()).or_insert(0) += units;
                }
            }
            world.centra_orders.push(CentraOrder {
                number: i64::from(order.number),
                id: order.id.clone(),
                currency: order.currency.clone(),
                cancelled: order.status == seam_sandbox::centra::OrderStatus::Cancelled,
                psp_reference: order.psp_reference.clone(),
                captured: order
                    .shipments
                    .iter()
                    .filter_map(|s| s.captured_value)
                    .sum(),
                allocated,
            });
        }
        for view in sandbox.warehouse.orders() {
            world.warehouse_orders.insert(
                view.order_number.clone(),
                WarehouseOrder {
                    cancelled: view.order_cancelled,
                    dispatched: view
                        .order_items
                        .iter()
                        .map(|item| (item.line_item_id.clone(), item.quantity_dispatched))
                        .collect(),
                    allocated: view
                        .order_items
                        .iter()
                        .fold(BTreeMap::new(), |mut by_sku, item| {
                            *by_sku.entry(item.garment_sku.clone()).or_insert(0) +=
                                item.quantity_allocated as i64;
                            by_sku
                        }),
                },
            );
        }
        let netsuite = &sandbox.netsuite;
        for kind in [RecordType::SalesOrder, RecordType::CreditMemo] {
            let records = netsuite
                .records(kind)
                .into_iter()
                .chain(netsuite.archived_records(kind));
            for record in records {
                let external_id = record.external_id.clone().unwrap_or_default();
                match kind {
                    RecordType::SalesOrder => world.erp_sales_orders.push(external_id),
                    _ => world.erp_credit_memos.push(CreditMemo {
                        external_id,
                        total: record.totals.total,
                    }),
                }
            }
        }
        for payment in sandbox.adyen.payments() {
            let refunds = payment
                .modifications
                .iter()
                .filter(|m| {
                    m.kind == ModificationKind::Refund
                        && m.outcome == ModificationOutcome::Succeeded
                })
                .map(|m| {
                    (
                        m.reference.clone().unwrap_or_default(),
                        m.amount.as_ref().map_or(0, |a| a.value),
                    )
                })
                .collect();
            world.payments.insert(
                payment.psp_reference.clone(),
                Payment {
                    currency: payment.currency.clone(),
                    captured: payment.captured,
                    refunds,
                },
            );
        }
        for found in sandbox.reveni.returns() {
            world.reveni_returns.push(ReveniReturn {
                id: found.id.to_string(),
                order_external_id: found.order.external_id.clone(),
                accepted_units: found
                    .return_items
                    .iter()
                    .map(|i| i.review.accepted_quantity)
                    .sum(),
            });
        }
        for sku in &sandbox.brand.skus {
            let Some(centra) = sandbox.centra.stock_of(&sku.sku) else {
                continue;
            };
            let warehouse = sandbox.warehouse.stock(&sku.sku);
            let position = seam_model::stock::StockPosition::from_counts(
                warehouse
                    .by_status
                    .iter()
                    .map(|(status, units)| (status.as_str(), *units as i64)),
            );
            world.stock.push(SkuStock {
                sku: sku.sku.clone(),
                centra_physical: centra.physical,
                centra_free: centra.free_to_allocate,
                warehouse_sellable: position.sellable_quantity(mappings).sellable,
                warehouse_allocated: warehouse.allocated as i64,
            });
        }
        world.read_store(store).await?;
        Ok(world)
    }

    async fn read_store(&mut self, store: &Arc<dyn Store>) -> anyhow::Result<()> {
        let mut after = String::new();
        loop {
            let page = store
                .entity_states(seam_flows::orders::FLOW, &after, 500)
                .await?;
            let Some((last, _)) = page.last() else { break };
            after = last.clone();
            for (entity, state) in page {
                let Some(number) = order_number(&entity) else {
                    continue;
                };
                let record: OrderRecord = serde_json::from_value(state.state)
                    .with_context(|| format!("Seam's state of {entity} does not decode"))?;
                self.seam_orders.insert(number, seam_order(&record));
            }
        }
        let mut after = String::new();
        loop {
            let page = store
                .entity_states(seam_flows::returns::FLOW, &after, 500)
                .await?;
            let Some((last, _)) = page.last() else { break };
            after = last.clone();
            for (entity, state) in page {
                let Some(number) = order_number(&entity) else {
                    continue;
                };
                let returns: OrderReturns = serde_json::from_value(state.state)
                    .with_context(|| format!("Seam's returns of {entity} do not decode"))?;
                let currency = self
                    .seam_orders
                    .get(&number)
                    .map(|o| o.currency.clone())
                    .unwrap_or_default();
                for case in returns.cases {
                    self.seam_returns.push(SeamReturn {
                        order: number,
                        id: case.id.clone(),
                        currency: currency.clone(),
                        instant: case.instant,
                        takes_units: !case.lines.is_empty(),
                        refund: case.refund.as_ref().map(|plan| plan.total.amount),
                    });
                }
            }
        }
        let exceptions = store
            .exceptions(&ExceptionFilter {
                limit: Some(u32::MAX),
                ..Default::default()
            })
            .await?;
        self.exceptions = exceptions
            .into_iter()
            .map(|e| Exception {
                id: e.id,
                entity: e.spec.entity_key,
                exception_type: e.exception_type,
                open: e.status == ExceptionStatus::Open,
                job_id: e.job_id,
                message: e.message,
            })
            .collect();
        self.active_jobs = read_active_jobs(store).await?;
        Ok(())
    }

    pub fn open_exception_on(&self, entity: &str) -> bool {
        self.exceptions.iter().any(|e| e.open && e.entity == entity)
    }
}

/// Every active job in the store.
pub async fn read_active_jobs(store: &Arc<dyn Store>) -> anyhow::Result<Vec<ActiveJob>> {
    let mut jobs = Vec::new();
    let mut after = 0;
    loop {
        let page = store.active_jobs(after, 1_000).await?;
        let Some(last) = page.last() else { break };
        after = last.job.id;
        jobs.extend(page.into_iter().map(|active| {
            ActiveJob {
                id: active.job.id,
                what: format!("{}/{}", active.job.spec.flow, active.job.spec.kind),
                entity: active.job.spec.entity_key,
                state: active.job.state,
                scheduled: active
                    .job
                    .idempotency_key
                    .as_deref()
                    .is_some_and(|key| key.starts_with("schedule:")),
                attempts: active.job.attempts,
                last_error: active.last_error,
            }
        }));
    }
    Ok(jobs)
}

fn order_number(entity: &str) -> Option<i64> {
    entity.strip_prefix("order:")?.parse().ok()
}

fn seam_order(record: &OrderRecord) -> SeamOrder {
    SeamOrder {
        number: record.order.number,
        centra_id: record.order.centra_id.clone(),
        currency: record.order.currency.code().to_string(),
        psp_reference: record.order.psp_reference.clone(),
        cancelled: record.stage == OrderStage::Cancelled,
        shipped: record
            .order
            .lines
            .iter()
            .map(|l| (l.line_id.to_string(), l.shipped))
            .collect(),
        shipped_value: record.dispatches.iter().map(|d| d.value).sum(),
    }
}

/// Minor units of `currency` as a decimal amount (ISO 4217 digits).
pub fn major_units(minor: i64, currency: &str) -> Decimal {
    let digits = currency
        .parse::<Currency>()
        .map(|c| c.minor_unit_digits())
        .unwrap_or(2);
    Decimal::new(minor, digits)
}
