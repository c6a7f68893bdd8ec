//! Returns as a lifecycle: a request checked against the order before any
//! RMA exists, the units followed back into the warehouse, their grade
//! turned into a restock, a hold or a write-off, and the money given back
//! once, exactly, in every system.
//!
//! Everything a return decides runs on its order's entity (`order:<n>`,
//! flow `returns`), one job at a time, so two returns of one order can
//! never together take back more units or money than the order had. The
//! state of every return of the order is kept there; each return also has
//! a timeline of its own (`return:<id>`) that CX reads.
//!
//! - `intake/reveni_return` (a Reveni webhook) reads the return and joins
//!   its order as `reveni_changed`, which re-reads it (Reveni's webhook is
//!   only a hint, so duplicates and out-of-order deliveries change nothing).
//!   A new request is checked (`seam_model::returns::check_request`):
//!   refused items go back to Reveni with their reason (`reveni_reject`),
//!   accepted ones are authorised in NetSuite (`authorise`, a return
//!   authorisation transformed from the sales order).
//! - `returns/return_receipt` (the warehouse feed) joins the order as
//!   `received`: each graded line's disposition is looked up in the
//!   mapping: restock (`stock/restock`, retried until Centra takes it),
//!   hold (the unit stays in its non-sellable status) or write off
//!   (`write_off`, a NetSuite inventory adjustment with reason and value).
//!   The received units are then accepted in Reveni (`reveni_accept`). A
//!   return the warehouse reports without any Reveni request is checked by
//!   the same rules and accepted as received.
//! - Once units are accepted, the refund is computed once
//!   (`seam_model::returns::plan_refund`, the exact reversal of the units'
//!   original allocation) and the same figures go to the NetSuite credit
//!   memo (`credit_memo`), the PSP refund (`psp_refund`), the Centra
//!   return (`centra_return`) and the refund recorded on it
//!   (`centra_refund`), each keyed by the return, so a repeated
//!   notification can never post a second credit or refund.
//! - An item asked in exchange refunds nothing: once it is due (at the
//!   request in Reveni's instant mode, once accepted otherwise) a
//!   zero-value exchange order is placed in Centra (`exchange_order`, see
//!   `exchange`), if Centra has the replacement free to allocate; if not,
//!   an exception for CX whose resubmit checks again.
//! - `poll_reveni` lists the returns Reveni changed since the last look,
//!   so a webhook Reveni never delivers is caught within one interval.

mod decide;
mod effects;
mod exchange;
mod intake;
mod poll;

use std::sync::Arc;

use seam_config::ReturnsConfig;
use seam_connectors::adyen::AdyenClient;
use seam_connectors::centra::CentraClient;
use seam_connectors::netsuite::NetSuiteClient;
use seam_connectors::reveni::ReveniClient;
use seam_engine::scheduler::ScheduledTask;
use seam_engine::{
    Failure, HandlerRegistry, JobContext, JobSpec, Outcome, StateWrite, TimelineEntry,
};
use seam_model::returns::{RefundPlan, Refusal, ReturnableLine};
use serde::{Deserialize, Serialize};

use crate::mappings::MappingSource;
use crate::orders::OrderRecord;
use crate::store_failure;

pub const FLOW: &str = "returns";
/// The link from a Reveni return id to its order's entity.
pub const REVENI_LINK: &str = "reveni-return";
/// The link from a warehouse return id to its order's entity.
pub const WAREHOUSE_LINK: &str = "warehouse-return";

/// The entity whose timeline tells one return's story.
pub fn return_entity(case_id: &str) -> String {
    format!("return:{case_id}")
}

/// Where a return is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStage {
    Requested,
    Authorised,
    InTransit,
    Received,
    Inspected,
    Credited,
    Refunded,
    Closed,
    /// Every item refused: nothing was authorised.
    Refused,
    Cancelled,
}

impl ReturnStage {
    /// Whether the return still holds its units against the order.
    pub fn claims_units(self) -> bool {
        !matches!(self, ReturnStage::Refused | ReturnStage::Cancelled)
    }
}

/// Who asked for the return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnSource {
    Reveni,
    /// The warehouse received it without any request Seam knew of.
    Warehouse,
}

/// Units of one order line a return takes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseLine {
    pub line_id: i64,
    pub sku: String,
    pub units: u32,
    /// Reveni's item id, for its decision.
    pub item_id: Option<String>,
}

/// A line the warehouse received and graded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedLine {
    pub line_id: Option<i64>,
    pub sku: String,
    pub units: u32,
    pub grade: String,
    pub disposition: String,
}

/// Units of one returned item the customer takes in exchange for another
/// variant, and the zero-value order that gives it to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeLine {
    /// Reveni's item id.
    pub item_id: String,
    /// The original order line the returned units come from.
    pub line_id: i64,
    pub returned_sku: String,
    /// The replacement.
    pub sku: String,
    pub units: u32,
    /// The idempotency key, and the exchange order's externalId in Centra.
    pub key: String,
    /// The exchange order once placed: (Centra order number, Centra order id).
    pub order: Option<(i64, String)>,
}

/// The externalId (and idempotency key) of an exchange order: derived
/// from the original order, the Reveni return, the item and the units of
/// it exchanged so far, so a duplicate or replayed notification always
/// derives the same key and never places a second order.
pub fn exchange_external_id(
    original_centra_id: &str,
    return_id: &str,
    item_id: &str,
    units_through: u32,
) -> String {
    format!("seam-exchange:{original_centra_id}:{return_id}:{item_id}:{units_through}")
}

/// (original Centra order id, Reveni return id) of an exchange order's externalId.
pub fn parse_exchange_external_id(external_id: &str) -> Option<(String, String)> {
    let mut parts = external_id.split(':');
    if parts.next()? != "seam-exchange" {
        return None;
    }
    let original = parts.next().filter(|p| !p.is_empty())?;
    let return_id = parts.next().filter(|p| !p.is_empty())?;
    Some((original.to_string(), return_id.to_string()))
}

/// One return of an order and everything done for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnCase {
    /// Reveni's return id, or `wh-<warehouse return id>`.
    pub id: String,
    pub source: ReturnSource,
    /// Reveni refunded the shopper up front (instant mode): no PSP refund.
    pub instant: bool,
    pub stage: ReturnStage,
    pub lines: Vec<CaseLine>,
    pub refused: Vec<(String, Refusal)>,
    /// The Reveni status last seen.
    pub reveni_status: Option<String>,
    pub warehouse_return_id: Option<String>,
    pub received: Vec<ReceivedLine>,
    /// Units the money follows (accepted in Reveni, or received when the
    /// warehouse reported the return alone), by order line.
    pub accepted: Vec<(i64, u32)>,
    /// Computed once, when units are first accepted.
    pub refund: Option<RefundPlan>,
    /// The NetSuite return authorisation: its id and line per order line.
    pub authorisation: Option<String>,
    pub authorisation_lines: Vec<(i64, u32)>,
    pub credit_memo: Option<String>,
    pub psp_refund: Option<String>,
    pub centra_returns: Vec<i64>,
    pub centra_recorded: bool,
    /// The REFUND payment entry recorded on the Centra return.
    #[serde(default)]
    pub centra_refund: Option<String>,
    /// Items taken in exchange and their zero-value orders.
    #[serde(default)]
    pub exchanges: Vec<ExchangeLine>,
}

impl CaseLine {
    /// The case line for units of an order line, as `check_request` accepted them.
    fn accepted(record: &OrderRecord, line_id: &str, units: u32, item_id: Option<String>) -> Self {
        let line_id = line_id.parse::<i64>().unwrap_or_default();
        CaseLine {
            line_id,
            sku: record
                .order
                .line(line_id)
                .map(|l| l.sku.clone())
                .unwrap_or_default(),
            units,
            item_id,
        }
    }
}

impl ReturnCase {
    /// A return just asked for (or just found by the warehouse): nothing done yet.
    pub(crate) fn new(id: String, source: ReturnSource, instant: bool) -> Self {
        ReturnCase {
            id,
            source,
            instant,
            stage: ReturnStage::Requested,
            lines: Vec::new(),
            refused: Vec::new(),
            reveni_status: None,
            warehouse_return_id: None,
            received: Vec::new(),
            accepted: Vec::new(),
            refund: None,
            authorisation: None,
            authorisation_lines: Vec::new(),
            credit_memo: None,
            psp_refund: None,
            centra_returns: Vec::new(),
            centra_recorded: false,
            centra_refund: None,
            exchanges: Vec::new(),
        }
    }

    pub fn entity(&self) -> String {
        return_entity(&self.id)
    }

    /// Whether the refund moves money (an exchange-only return refunds nothing).
    fn refunds_money(&self) -> bool {
        self.refund
            .as_ref()
            .is_some_and(|plan| plan.total.amount > rust_decimal::Decimal::ZERO)
    }

    /// Every money step done: credited, refunded (unless Reveni paid
    /// instantly) and the return and its refund recorded in Centra; every
    /// exchanged item has its exchange order.
    fn money_done(&self) -> bool {
        let paid_back = !self.refunds_money()
            || (self.credit_memo.is_some()
                && (self.instant || self.psp_refund.is_some())
                && self.centra_refund.is_some());
        self.refund.is_some()
            && paid_back
            && self.centra_recorded
            && self.exchanges.iter().all(|e| e.order.is_some())
    }

    /// What closing the return meant, for its timeline.
    fn closed_detail(&self) -> String {
        let mut done = Vec::new();
        if self.refunds_money() {
            done.push("credited, refunded");
        }
        if !self.exchanges.is_empty() {
            done.push("exchanged");
        }
        if done.is_empty() {
            done.push("nothing to refund");
        }
        format!("{} and recorded in Centra", done.join(", "))
    }

    /// Moves to the furthest stage the facts support, never backwards.
    fn settle_stage(&mut self) {
        if !self.stage.claims_units() {
            return;
        }
        let reached = if self.money_done() {
            ReturnStage::Closed
        } else if self.psp_refund.is_some() {
            ReturnStage::Refunded
        } else if self.credit_memo.is_some() {
            ReturnStage::Credited
        } else if !self.received.is_empty() {
            ReturnStage::Inspected
        } else if self.reveni_status.as_deref() == Some("RECEIVED") {
            ReturnStage::Received
        } else if self.reveni_status.as_deref() == Some("SHIPPED") {
            ReturnStage::InTransit
        } else if self.authorisation.is_some() {
            ReturnStage::Authorised
        } else {
            ReturnStage::Requested
        };
        self.stage = self.stage.max(reached);
    }
}

/// Every return of one order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReturns {
    pub cases: Vec<ReturnCase>,
}

impl OrderReturns {
    pub fn case(&self, id: &str) -> Option<&ReturnCase> {
        self.cases.iter().find(|c| c.id == id)
    }

    fn case_mut(&mut self, id: &str) -> Option<&mut ReturnCase> {
        self.cases.iter_mut().find(|c| c.id == id)
    }

    /// Units of a line held by returns (returned or on their way back).
    fn claimed(&self, line_id: i64) -> u32 {
        self.cases
            .iter()
            .filter(|c| c.stage.claims_units())
            .flat_map(|c| &c.lines)
            .filter(|l| l.line_id == line_id)
            .map(|l| l.units)
            .sum()
    }

    /// Units of a line refunded by earlier returns' refunds.
    fn refunded(&self, line_id: i64) -> u32 {
        let id = line_id.to_string();
        self.cases
            .iter()
            .filter_map(|c| c.refund.as_ref())
            .flat_map(|r| &r.lines)
            .filter(|l| l.line_id == id)
            .map(|l| l.units)
            .sum()
    }

    /// The order's lines as a new request sees them.
    fn returnable(&self, record: &OrderRecord) -> Vec<ReturnableLine> {
        record
            .order
            .lines
            .iter()
            .map(|l| ReturnableLine {
                line_id: l.line_id.to_string(),
                sku: l.sku.clone(),
                bought: l.quantity.saturating_sub(l.cancelled),
                shipped: l.shipped,
                claimed: self.claimed(l.line_id),
            })
            .collect()
    }
}

pub struct ReturnFlow {
    pub centra: CentraClient,
    pub netsuite: NetSuiteClient,
    pub reveni: Option<ReveniClient>,
    pub adyen: Option<AdyenClient>,
    pub mappings: MappingSource,
    pub config: ReturnsConfig,
}

impl ReturnFlow {
    pub fn register(self: &Arc<Self>, registry: &mut HandlerRegistry) {
        intake::register(self, registry);
        decide::register(self, registry);
        effects::register(self, registry);
        exchange::register(self, registry);
        poll::register(self, registry);
    }

    /// The Reveni safety-net poll, when Reveni is connected.
    pub fn scheduled_tasks(&self) -> Vec<ScheduledTask> {
        if self.reveni.is_none() {
            return Vec::new();
        }
        vec![ScheduledTask {
            name: "returns-reveni-poll".into(),
            every: self.config.reveni_poll_every,
            spec: JobSpec::new(FLOW, "poll_reveni", poll::POLL_ENTITY),
        }]
    }
}

pub(crate) async fn load_returns(ctx: &JobContext, entity: &str) -> Result<OrderReturns, Outcome> {
    match ctx.store.entity_state(entity, FLOW).await {
        Ok(Some(state)) => serde_json::from_value(state.state).map_err(|e| {
            Outcome::failed(Failure::data(format!(
                "the stored returns of {entity} no longer decode: {e}"
            )))
        }),
        Ok(None) => Ok(OrderReturns::default()),
        Err(error) => Err(store_failure(error)),
    }
}

pub(crate) fn write_returns(entity: &str, returns: &OrderReturns) -> StateWrite {
    StateWrite {
        entity_key: entity.to_string(),
        flow: FLOW.into(),
        state: serde_json::to_value(returns).unwrap_or_default(),
    }
}

/// A step on the return's own timeline and, shortened, on its order's.
pub(crate) fn steps(
    order_entity: &str,
    case_id: &str,
    at: seam_engine::Millis,
    system: &str,
    step: &str,
    detail: impl Into<String>,
) -> Vec<TimelineEntry> {
    let detail = detail.into();
    vec![
        TimelineEntry {
            entity_key: return_entity(case_id),
            at,
            system: system.into(),
            step: step.into(),
            detail: detail.clone(),
        },
        TimelineEntry {
            entity_key: order_entity.to_string(),
            at,
            system: system.into(),
            step: format!("return {step}"),
            detail: format!("return {case_id}: {detail}"),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exchange_key_names_its_original_order_and_return() {
        let key = exchange_external_id("1497ccf644db871e", "5b1c-uuid", "item-1", 2);
        assert_eq!(key, "seam-exchange:1497ccf644db871e:5b1c-uuid:item-1:2");
        assert_eq!(
            parse_exchange_external_id(&key),
            Some(("1497ccf644db871e".into(), "5b1c-uuid".into()))
        );
        for other in [
            "",
            "centra-123",
            "seam-exchange:",
            "seam-exchange::r:i:1",
            "x:a:b",
        ] {
            assert_eq!(parse_exchange_external_id(other), None, "{other}");
        }
    }
}
