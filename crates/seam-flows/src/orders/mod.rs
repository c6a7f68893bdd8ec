//! Order to cash: every paid Centra order reaches the warehouse and the ERP
//! once, right, and verified; ships in parts; captures only what shipped.
//!
//! Jobs of one order run on the entity `order:<Centra order number>`, one at
//! a time, in arrival order:
//!
//! - `poll_events` reads Centra's event queue and `poll_updated` (the safety
//!   net) Centra's orders by `updatedAt`; both journal an `order_changed`
//!   job per change, deduplicated by the journal, before confirming.
//! - `order_changed` reads the order. The first time, it fixes the
//!   canonical order (lines, bundle components, allocated money) and
//!   validates it (shipping mapping, product master, address). An order
//!   with a problem is posted nowhere and parks as one exception; a
//!   resubmit runs the check again with today's mappings and products.
//!   A valid order is committed with two effects, each keyed by the Centra
//!   order id: `post_warehouse` and `post_erp`. A later change that cancels
//!   the order in Centra cancels it everywhere (`cancel`).
//! - `post_warehouse` / `post_erp` post, read the record back, compare it
//!   with what was meant, and link the ids.
//! - `dispatched` (from the warehouse feed) records the dispatch and emits
//!   `centra_shipment` (createShipment with capture, completed so Centra
//!   tells the customer) and `erp_fulfilment` (an item fulfilment of the
//!   same lines), each keyed by the dispatch.
//! - `poll_erp` / `erp_changed`: edits made in NetSuite are applied to
//!   Centra, the warehouse and the PSP authorisation (see `edits`).

pub mod canonical;
mod edits;
mod fulfil;
mod intake;
mod payments;
mod post;
mod snapshots;
pub mod validate;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use seam_connectors::adyen::AdyenClient;
use seam_connectors::centra::CentraClient;
use seam_connectors::netsuite::NetSuiteClient;
use seam_connectors::warehouse::WarehouseClient;
use seam_engine::scheduler::ScheduledTask;
use seam_engine::{Failure, HandlerRegistry, JobContext, JobSpec, Outcome, StateWrite};
use seam_model::mapping::ShippingService;
use seam_model::product::{ProductFacts, ProductRules};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::mappings::MappingSource;
use canonical::CanonicalOrder;

pub const FLOW: &str = "orders";
/// The flow the stock feed journals warehouse dispatch messages to.
pub const FULFILMENT_FLOW: &str = "fulfilment";

pub fn order_entity(number: i64) -> String {
    format!("order:{number}")
}

/// The NetSuite externalId of an order's sales order: derived from the
/// immutable Centra order id, so an upsert can never create a second one.
pub fn erp_external_id(centra_id: &str) -> String {
    format!("centra-{centra_id}")
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStage {
    /// Validated; posting to the warehouse and the ERP.
    Posting,
    /// In the warehouse and the ERP, nothing shipped yet.
    Posted,
    PartlyShipped,
    /// Every line shipped or cancelled: closed.
    Shipped,
    Cancelled,
}

/// A dispatch the warehouse confirmed, and what Seam did with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchRecord {
    pub dispatch_id: String,
    /// (Centra line id, units).
    pub lines: Vec<(i64, u32)>,
    pub carrier: String,
    pub service: String,
    pub tracking_number: String,
    /// The value Seam's allocation says this dispatch is worth (shipping
    /// included on the first dispatch only).
    pub value: rust_decimal::Decimal,
    pub includes_shipping: bool,
}

/// The order's state, kept per order entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub order: CanonicalOrder,
    pub stage: OrderStage,
    pub service: ShippingService,
    /// The sales order's internal id once posted.
    pub erp_id: Option<String>,
    /// NetSuite line number per Centra line id.
    #[serde(default)]
    pub erp_lines: Vec<(i64, u32)>,
    #[serde(default)]
    pub warehouse_version: Option<u32>,
    #[serde(default)]
    pub dispatches: Vec<DispatchRecord>,
    /// The ERP's lastModifiedDate Seam last reconciled with (edits).
    #[serde(default)]
    pub erp_seen: Option<String>,
    /// Bumped by every edit, so each edit's effects get keys of their own.
    #[serde(default)]
    pub revision: u32,
    /// Set when the order is a zero-value exchange Seam placed for a return.
    #[serde(default)]
    pub exchange_of: Option<ExchangeOrigin>,
}

/// What a zero-value exchange order replaces: the original order and the
/// Reveni return that asked for it (read from the order's externalId,
/// `crate::returns::exchange_external_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeOrigin {
    pub original_centra_id: String,
    /// The original order's number, when Seam knows the original order.
    pub original_number: Option<i64>,
    pub return_id: String,
}

impl ExchangeOrigin {
    /// "order 1001" or, when Seam does not know it, the Centra id.
    pub fn original(&self) -> String {
        match self.original_number {
            Some(number) => format!("order {number}"),
            None => format!("the order with Centra id {}", self.original_centra_id),
        }
    }
}

impl OrderRecord {
    pub fn erp_line(&self, line_id: i64) -> Option<u32> {
        self.erp_lines
            .iter()
            .find(|(id, _)| *id == line_id)
            .map(|(_, line)| *line)
    }

    /// Shipped when every line is shipped or cancelled.
    pub fn settle_stage(&mut self) {
        if self.stage == OrderStage::Cancelled {
            return;
        }
        let any_shipped = self.order.lines.iter().any(|l| l.shipped > 0);
        let all_done = self.order.lines.iter().all(|l| l.open_units() == 0);
        self.stage = if all_done && any_shipped {
            OrderStage::Shipped
        } else if any_shipped {
            OrderStage::PartlyShipped
        } else if self.stage == OrderStage::Posting {
            OrderStage::Posting
        } else {
            OrderStage::Posted
        };
    }
}

#[derive(Debug, Clone, Copy)]
pub struct OrderSettings {
    pub events_every: Duration,
    pub updated_every: Duration,
    pub erp_every: Duration,
    /// Products are read from the product master at most this often.
    pub product_ttl: Duration,
    /// The stock flow sets Centra's stock: a completed shipment marks its
    /// SKUs for a push (see `fulfil`). Set by the wiring.
    pub stock_flow_on: bool,
}

impl Default for OrderSettings {
    fn default() -> Self {
        OrderSettings {
            events_every: Duration::from_secs(1),
            updated_every: Duration::from_secs(60),
            erp_every: Duration::from_secs(10),
            product_ttl: Duration::from_secs(300),
            stock_flow_on: false,
        }
    }
}

pub struct OrderFlow {
    pub centra: CentraClient,
    pub warehouse: WarehouseClient,
    pub netsuite: NetSuiteClient,
    /// For authorisation adjustments and cancellations.
    pub adyen: Option<AdyenClient>,
    pub mappings: MappingSource,
    pub rules: ProductRules,
    /// The NetSuite customer (externalId) web orders are booked to.
    pub erp_customer: String,
    pub settings: OrderSettings,
    pub(crate) products: ProductCache,
    /// Orders the events poll read in bulk, for the jobs it queued.
    pub(crate) snapshots: snapshots::Snapshots<seam_connectors::centra::Order>,
}

impl OrderFlow {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        centra: CentraClient,
        warehouse: WarehouseClient,
        netsuite: NetSuiteClient,
        adyen: Option<AdyenClient>,
        mappings: MappingSource,
        rules: ProductRules,
        erp_customer: String,
        settings: OrderSettings,
    ) -> Self {
        OrderFlow {
            centra,
            warehouse,
            netsuite,
            adyen,
            mappings,
            rules,
            erp_customer,
            products: ProductCache::new(settings.product_ttl),
            snapshots: Default::default(),
            settings,
        }
    }

    pub fn register(self: &Arc<Self>, registry: &mut HandlerRegistry) {
        intake::register(self, registry);
        post::register(self, registry);
        fulfil::register(self, registry);
        edits::register(self, registry);
        payments::register(registry);
    }

    pub fn scheduled_tasks(&self) -> Vec<ScheduledTask> {
        vec![
            ScheduledTask {
                name: "orders-events".into(),
                every: self.settings.events_every,
                spec: JobSpec::new(FLOW, "poll_events", intake::EVENTS_ENTITY),
            },
            ScheduledTask {
                name: "orders-updated".into(),
                every: self.settings.updated_every,
                spec: JobSpec::new(FLOW, "poll_updated", intake::UPDATED_ENTITY),
            },
            ScheduledTask {
                name: "orders-erp".into(),
                every: self.settings.erp_every,
                spec: JobSpec::new(FLOW, "poll_erp", edits::ERP_ENTITY),
            },
        ]
    }
}

/// Product facts by SKU from the product master, kept for a while. Only
/// complete answers are kept: a SKU that fails the check is read again next
/// time, so a fix in the product master is seen on resubmit at once.
pub(crate) struct ProductCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (std::time::Instant, ProductFacts)>>,
}

impl ProductCache {
    fn new(ttl: Duration) -> Self {
        ProductCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Facts for each (SKU, product number); `None` for a SKU the product
    /// master does not have.
    pub(crate) async fn facts(
        &self,
        centra: &CentraClient,
        rules: &ProductRules,
        wanted: &[(String, String)],
    ) -> Result<HashMap<String, Option<ProductFacts>>, Failure> {
        let mut found = HashMap::new();
        let mut missing_products = Vec::new();
        {
            let entries = self.entries.lock().await;
            for (sku, product_number) in wanted {
                match entries.get(sku) {
                    Some((at, facts)) if at.elapsed() < self.ttl => {
                        found.insert(sku.clone(), Some(facts.clone()));
                    }
                    _ => {
                        if !missing_products.contains(product_number) {
                            missing_products.push(product_number.clone());
                        }
                    }
                }
            }
        }
        if missing_products.is_empty() {
            return Ok(found);
        }
        // Ask for exactly the products wanted: Centra prices a query by the
        // page size it asks for, not by what it returns.
        let limit = missing_products.len() as u32;
        let filter = seam_connectors::centra::ProductFilter {
            id: None,
            product_number: Some(missing_products),
        };
        let products = centra.products(&filter, limit, 1).await?;
        let mut entries = self.entries.lock().await;
        for product in &products {
            for facts in product.sku_facts() {
                if rules.check(&facts).is_empty() {
                    entries.insert(
                        facts.sku.clone(),
                        (std::time::Instant::now(), facts.clone()),
                    );
                }
                if wanted.iter().any(|(sku, _)| *sku == facts.sku) {
                    found.insert(facts.sku.clone(), Some(facts));
                }
            }
        }
        for (sku, _) in wanted {
            found.entry(sku.clone()).or_insert(None);
        }
        Ok(found)
    }
}

pub(crate) use crate::store_failure;

pub(crate) async fn load_record(
    ctx: &JobContext,
    entity: &str,
) -> Result<Option<OrderRecord>, Outcome> {
    match ctx.store.entity_state(entity, FLOW).await {
        Ok(Some(state)) => serde_json::from_value(state.state).map(Some).map_err(|e| {
            Outcome::failed(Failure::data(format!(
                "the stored order state of {entity} no longer decodes: {e}"
            )))
        }),
        Ok(None) => Ok(None),
        Err(error) => Err(store_failure(error)),
    }
}

/// The order's state, which a job that follows the first sight requires.
pub(crate) async fn require_record(ctx: &JobContext, entity: &str) -> Result<OrderRecord, Outcome> {
    load_record(ctx, entity)
        .await?
        .ok_or_else(|| Outcome::failed(Failure::data(format!("{entity} has no order state"))))
}

pub(crate) fn write_record(entity: &str, record: &OrderRecord) -> StateWrite {
    StateWrite {
        entity_key: entity.to_string(),
        flow: FLOW.into(),
        state: serde_json::to_value(record).unwrap_or_default(),
    }
}

pub(crate) fn step(
    entity: &str,
    now: seam_engine::Millis,
    system: &str,
    step: &str,
    detail: impl Into<String>,
) -> seam_engine::TimelineEntry {
    seam_engine::TimelineEntry {
        entity_key: entity.to_string(),
        at: now,
        system: system.into(),
        step: step.into(),
        detail: detail.into(),
    }
}
