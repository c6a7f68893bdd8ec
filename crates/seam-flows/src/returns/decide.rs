//! The decisions of a return, on its order's entity: is the request
//! valid, what does each graded unit become, and what is the refund.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use seam_connectors::warehouse::ReturnReceipt;
use seam_engine::{
    Commit, ExceptionDraft, Failure, HandlerRegistry, Job, JobContext, JobHandler, JobSpec, Link,
    NewEffect, NewException, Outcome,
};
use seam_model::mapping::DispositionAction;
use seam_model::returns::{
    check_request, plan_refund, ItemCheck, RefundPlan, RefundedUnits, RequestedItem,
};
use seam_model::{Money, OwnerTeam};
use serde_json::json;

use super::{
    exchange_external_id, load_returns, steps, write_returns, CaseLine, ExchangeLine, OrderReturns,
    ReceivedLine, ReturnCase, ReturnFlow, ReturnSource, ReturnStage, FLOW, REVENI_LINK,
    WAREHOUSE_LINK,
};
use crate::orders::{load_record, OrderRecord};

pub(super) fn register(flow: &Arc<ReturnFlow>, registry: &mut HandlerRegistry) {
    registry.register(
        FLOW,
        "reveni_changed",
        Arc::new(ReveniChanged(flow.clone())),
    );
    registry.register(FLOW, "received", Arc::new(Received(flow.clone())));
    registry.register(
        FLOW,
        "apply_disposition",
        Arc::new(ApplyDisposition(flow.clone())),
    );
}

/// The order's state; a return for an order not yet posted waits for it.
async fn order_of(ctx: &JobContext, entity: &str) -> Result<OrderRecord, Outcome> {
    match load_record(ctx, entity).await? {
        Some(record) => Ok(record),
        None => Err(Outcome::Failed {
            failure: Failure::transient(format!("{entity} has not been received from Centra yet")),
            exception: Some(ExceptionDraft::new(
                "return_for_unknown_order",
                OwnerTeam::Cx,
                format!("A return arrived for {entity}, which Seam never received from Centra."),
                "Check that the order exists in Centra and reached Seam; resubmit once it has.",
            )),
        }),
    }
}

fn effect(kind: &str, entity: &str, key: String, payload: serde_json::Value) -> NewEffect {
    NewEffect {
        spec: JobSpec::new(FLOW, kind, entity),
        payload,
        idempotency_key: key,
    }
}

struct ReveniChanged(Arc<ReturnFlow>);

#[async_trait]
impl JobHandler for ReveniChanged {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let Some(reveni) = &flow.reveni else {
            return Outcome::failed(Failure::data("no Reveni connector is configured"));
        };
        let entity = job.spec.entity_key.clone();
        let Some(id) = job.payload.get("return_id").and_then(|v| v.as_str()) else {
            return Outcome::failed(Failure::data("the job names no return"));
        };
        let record = match order_of(ctx, &entity).await {
            Ok(record) => record,
            Err(outcome) => return outcome,
        };
        let mut returns = match load_returns(ctx, &entity).await {
            Ok(returns) => returns,
            Err(outcome) => return outcome,
        };
        // Reveni's webhook is only a hint: the return as Reveni has it now
        // decides, so a duplicate or late delivery changes nothing.
        let current = match reveni.get_return(id).await {
            Ok(Some(current)) => current,
            Ok(None) => return Outcome::done(),
            Err(failure) => return Outcome::failed(failure),
        };
        let centra_id = record.order.centra_id.clone();
        let mut commit = Commit::default();
        let status = current.status.as_str().to_string();
        if returns.case(id).is_none() {
            if matches!(status.as_str(), "CANCELLED" | "EXPIRED") {
                return Outcome::done();
            }
            let items: Vec<RequestedItem> = current
                .return_items
                .iter()
                .map(|item| RequestedItem {
                    item_id: item.item_id.clone(),
                    line_id: item.order_line_id.clone(),
                    sku: item.sku.clone(),
                    units: item.quantity,
                })
                .collect();
            let checks = check_request(&returns.returnable(&record), &items);
            let mut case = ReturnCase::new(id.to_string(), ReturnSource::Reveni, current.instant);
            for check in checks {
                match check {
                    ItemCheck::Accepted {
                        item_id,
                        line_id,
                        units,
                    } => {
                        case.lines
                            .push(CaseLine::accepted(&record, &line_id, units, Some(item_id)))
                    }
                    ItemCheck::Refused { item_id, refusal } => {
                        case.refused.push((item_id, refusal))
                    }
                }
            }
            let asked = items
                .iter()
                .map(|i| format!("{} × {}", i.units, i.sku))
                .collect::<Vec<_>>()
                .join(", ");
            commit.timeline.extend(steps(
                &entity,
                id,
                ctx.now,
                "reveni",
                "requested",
                format!("order {}: {asked}", record.order.number),
            ));
            if !case.refused.is_empty() {
                let reasons = case
                    .refused
                    .iter()
                    .map(|(_, refusal)| refusal.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                commit.timeline.extend(steps(
                    &entity,
                    id,
                    ctx.now,
                    "seam",
                    "refused",
                    format!("refused before any RMA: {reasons}"),
                ));
                commit.effects.push(effect(
                    "reveni_reject",
                    &entity,
                    format!("reveni-reject:{id}"),
                    json!({ "return_id": id }),
                ));
            }
            if case.lines.is_empty() {
                case.stage = ReturnStage::Refused;
            } else {
                commit.effects.push(effect(
                    "authorise",
                    &entity,
                    format!("erp-return-authorisation:{centra_id}:{id}"),
                    json!({ "case": id }),
                ));
            }
            commit.links.push(Link {
                entity_key: entity.clone(),
                system: REVENI_LINK.into(),
                external_id: id.to_string(),
            });
            returns.cases.push(case);
        }
        let Some(case) = returns.case_mut(id) else {
            return Outcome::done();
        };
        if case.reveni_status.as_deref() != Some(status.as_str()) {
            case.reveni_status = Some(status.clone());
            commit.timeline.extend(steps(
                &entity,
                id,
                ctx.now,
                "reveni",
                &status.to_ascii_lowercase(),
                format!("Reveni reports the return as {status}"),
            ));
            if status == "CANCELLED" && case.received.is_empty() && case.refund.is_none() {
                case.stage = ReturnStage::Cancelled;
            }
        }
        // Units Reveni accepted (the merchant's decision, made by Seam on
        // inspection or by hand in Reveni) are what the money follows; an
        // item taken in exchange is settled by its exchange order, never
        // refunded.
        let mut accepted: Vec<(i64, u32)> = Vec::new();
        let mut refunded: Vec<(i64, u32)> = Vec::new();
        for item in &current.return_items {
            let units = item.review.as_ref().map_or(0, |r| r.accepted_quantity);
            let Some(line) = case
                .lines
                .iter()
                .find(|l| l.item_id.as_deref() == Some(item.item_id.as_str()))
            else {
                continue;
            };
            if units > 0 {
                accepted.push((line.line_id, units.min(line.units)));
                if item.exchange_sku().is_none() {
                    refunded.push((line.line_id, units.min(line.units)));
                }
            }
        }
        for wanted in exchanges_due(case, &current, &centra_id) {
            commit.timeline.extend(steps(
                &entity,
                id,
                ctx.now,
                "reveni",
                "exchange_requested",
                format!(
                    "{} × {} to be exchanged for {} ({}); checking Centra's stock",
                    wanted.units,
                    wanted.returned_sku,
                    wanted.sku,
                    if current.instant {
                        "instant exchange: at once"
                    } else {
                        "standard exchange: the items were accepted"
                    }
                ),
            ));
            commit.effects.push(effect(
                "exchange_order",
                &entity,
                wanted.key.clone(),
                json!({ "case": id, "key": wanted.key }),
            ));
            case.exchanges.push(wanted);
        }
        let case_id = case.id.clone();
        let needs_money = case.refund.is_none() && !accepted.is_empty();
        case.settle_stage();
        if needs_money {
            if let Some(outcome) = settle_money(
                &record,
                &mut returns,
                &case_id,
                accepted,
                refunded,
                &mut commit,
                ctx.now,
            ) {
                return outcome;
            }
        }
        commit.state.push(write_returns(&entity, &returns));
        Outcome::Done(commit)
    }
}

/// The exchanges of a return that fall due now and have no exchange order
/// yet. Reveni's help centre: an instant exchange creates the new order
/// straight away, a standard one once the merchant accepts the items; so
/// Seam places it when the request is checked (instant) or for the units
/// accepted (standard). Items Seam refused get none. Each new tranche of
/// units gets its own key, so the same Reveni state always derives the
/// same keys.
fn exchanges_due(
    case: &ReturnCase,
    current: &seam_connectors::reveni::Return,
    centra_id: &str,
) -> Vec<ExchangeLine> {
    if !case.stage.claims_units() {
        return Vec::new();
    }
    let mut due = Vec::new();
    for item in &current.return_items {
        let Some(sku) = item.exchange_sku() else {
            continue;
        };
        let Some(line) = case
            .lines
            .iter()
            .find(|l| l.item_id.as_deref() == Some(item.item_id.as_str()))
        else {
            continue;
        };
        let units_due = if current.instant {
            line.units
        } else {
            item.review
                .as_ref()
                .map_or(0, |r| r.accepted_quantity)
                .min(line.units)
        };
        let placed: u32 = case
            .exchanges
            .iter()
            .filter(|e| e.item_id == item.item_id)
            .map(|e| e.units)
            .sum();
        if units_due <= placed {
            continue;
        }
        due.push(ExchangeLine {
            item_id: item.item_id.clone(),
            line_id: line.line_id,
            returned_sku: line.sku.clone(),
            sku: sku.to_string(),
            units: units_due - placed,
            key: exchange_external_id(centra_id, &case.id, &item.item_id, units_due),
            order: None,
        });
    }
    due
}

/// Computes a return's refund once, from the units accepted for a refund
/// (`refunded`; exchanged units refund nothing), and queues the credit
/// memo, the PSP refund and the Centra return with it. `accepted` is every
/// unit accepted, exchanged or not: all of them are recorded as returned
/// in Centra. `Some` is the outcome the job ends with instead.
#[allow(clippy::too_many_arguments)]
fn settle_money(
    record: &OrderRecord,
    returns: &mut OrderReturns,
    case_id: &str,
    accepted: Vec<(i64, u32)>,
    refunded: Vec<(i64, u32)>,
    commit: &mut Commit,
    now: seam_engine::Millis,
) -> Option<Outcome> {
    let entity = crate::orders::order_entity(record.order.number);
    let mut units = Vec::new();
    for (line_id, count) in &refunded {
        let Some(line) = record.order.line(*line_id) else {
            return Some(Outcome::failed(Failure::data(format!(
                "line {line_id} is not on order {}",
                record.order.number
            ))));
        };
        units.push(RefundedUnits {
            line: &line.allocation,
            already_refunded: returns.refunded(*line_id),
            units: *count,
        });
    }
    let nothing = || RefundPlan {
        lines: Vec::new(),
        total: Money::zero(record.order.currency),
        tax: Money::zero(record.order.currency),
    };
    let plan = match plan_refund(&units) {
        _ if units.is_empty() => nothing(),
        Ok(plan) => plan,
        Err(error) => {
            return Some(Outcome::Exception(ExceptionDraft::new(
                "refund_not_computable",
                OwnerTeam::Finance,
                format!(
                    "Order {}, return {case_id}: the refund cannot be computed: {error}",
                    record.order.number
                ),
                "Check the return's units against the order; refund by hand if they are right, then resolve.",
            )))
        }
    };
    // Every refund of the order together never exceeds what was captured.
    let captured: Decimal = record.dispatches.iter().map(|d| d.value).sum();
    let refunded_before: Decimal = returns
        .cases
        .iter()
        .filter_map(|c| c.refund.as_ref())
        .map(|r| r.total.amount)
        .sum();
    if refunded_before + plan.total.amount > captured {
        commit.exceptions.push(NewException {
            exception_type: "refund_exceeds_captured".into(),
            owner: OwnerTeam::Finance,
            spec: JobSpec::new(FLOW, "reveni_changed", &entity),
            message: format!(
                "Order {}, return {case_id}: a refund of {} would bring the order's refunds to {} {}, more than the {captured} captured. Nothing was refunded.",
                record.order.number,
                plan.total,
                refunded_before + plan.total.amount,
                record.order.currency
            ),
            fix_hint: "Check the order's captures and earlier refunds in Adyen; refund by hand what is owed, then resolve.".into(),
            payload: json!({ "return_id": case_id }),
            attempts: 1,
        });
        return None;
    }
    let centra_id = record.order.centra_id.clone();
    let detail = plan
        .lines
        .iter()
        .map(|l| {
            format!(
                "line {}: {} unit(s), net {}, discount {}, tax {}",
                l.line_id, l.units, l.net.amount, l.voucher.amount, l.tax.amount
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let exchanged: u32 =
        accepted.iter().map(|(_, u)| u).sum::<u32>() - refunded.iter().map(|(_, u)| u).sum::<u32>();
    let detail = match (plan.lines.is_empty(), exchanged) {
        (true, _) => format!(
            "{exchanged} unit(s) exchanged: settled by the exchange order, nothing refunded"
        ),
        (false, 0) => detail,
        (false, _) => format!("{detail}; {exchanged} unit(s) exchanged, not refunded"),
    };
    commit.timeline.extend(steps(
        &entity,
        case_id,
        now,
        "seam",
        "refund_computed",
        format!("{} to refund ({detail})", plan.total),
    ));
    let pays = plan.total.amount > Decimal::ZERO;
    let case = returns.case_mut(case_id)?;
    case.accepted = accepted;
    case.refund = Some(plan);
    let payload = json!({ "case": case_id });
    if pays {
        commit.effects.push(effect(
            "credit_memo",
            &entity,
            format!("erp-credit-memo:{centra_id}:{case_id}"),
            payload.clone(),
        ));
    }
    if pays && !case.instant {
        commit.effects.push(effect(
            "psp_refund",
            &entity,
            format!("psp-refund:{centra_id}:{case_id}"),
            payload.clone(),
        ));
    }
    commit.effects.push(effect(
        "centra_return",
        &entity,
        format!("centra-return:{centra_id}:{case_id}"),
        payload,
    ));
    None
}

struct Received(Arc<ReturnFlow>);

#[async_trait]
impl JobHandler for Received {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let entity = job.spec.entity_key.clone();
        let receipt: ReturnReceipt = match serde_json::from_value(job.payload.clone()) {
            Ok(receipt) => receipt,
            Err(error) => {
                return Outcome::failed(Failure::data(format!(
                    "the return receipt does not decode: {error}"
                )))
            }
        };
        let record = match order_of(ctx, &entity).await {
            Ok(record) => record,
            Err(outcome) => return outcome,
        };
        let mut returns = match load_returns(ctx, &entity).await {
            Ok(returns) => returns,
            Err(outcome) => return outcome,
        };
        if returns
            .cases
            .iter()
            .any(|c| c.warehouse_return_id.as_deref() == Some(receipt.return_id.as_str()))
        {
            return Outcome::done();
        }
        let received: Vec<ReceivedLine> = receipt
            .lines
            .iter()
            .map(|l| ReceivedLine {
                line_id: l.line_item_id.as_deref().and_then(|id| id.parse().ok()),
                sku: l.sku.clone(),
                units: u32::try_from(l.quantity).unwrap_or(u32::MAX),
                grade: l.grade.clone(),
                disposition: l.disposition.clone(),
            })
            .collect();
        let mut commit = Commit::default();
        let centra_id = record.order.centra_id.clone();
        // The request these units answer: named by the RMA, or the oldest
        // open Reveni request of the order for the same SKUs.
        let matched = returns
            .cases
            .iter()
            .find(|c| receipt.rma.as_deref() == Some(c.id.as_str()))
            .or_else(|| {
                returns.cases.iter().find(|c| {
                    c.source == ReturnSource::Reveni
                        && c.stage.claims_units()
                        && c.received.is_empty()
                        && received
                            .iter()
                            .all(|r| c.lines.iter().any(|l| l.sku == r.sku))
                })
            })
            .map(|c| c.id.clone());
        let case_id = match matched {
            Some(id) => id,
            None => {
                // A return nobody asked for: the same rules decide.
                let id = format!("wh-{}", receipt.return_id);
                let items: Vec<RequestedItem> = received
                    .iter()
                    .enumerate()
                    .map(|(i, r)| RequestedItem {
                        item_id: i.to_string(),
                        line_id: r.line_id.map(|l| l.to_string()),
                        sku: r.sku.clone(),
                        units: r.units,
                    })
                    .collect();
                let mut lines = Vec::new();
                for check in check_request(&returns.returnable(&record), &items) {
                    match check {
                        ItemCheck::Accepted { line_id, units, .. } => {
                            lines.push(CaseLine::accepted(&record, &line_id, units, None))
                        }
                        ItemCheck::Refused { refusal, .. } => commit.exceptions.push(NewException {
                            exception_type: "unexpected_return".into(),
                            owner: OwnerTeam::Ops,
                            spec: JobSpec::new(FLOW, "apply_disposition", &entity),
                            message: format!(
                                "Order {}: the warehouse received return {} without a request, and it cannot be taken back: {refusal}. Nothing is refunded for it.",
                                record.order.number, receipt.return_id
                            ),
                            fix_hint: "Check the parcel against the order in the warehouse portal; send the goods back to the customer or resolve with a comment.".into(),
                            payload: json!({}),
                            attempts: 1,
                        }),
                    }
                }
                if !lines.is_empty() {
                    commit.effects.push(effect(
                        "authorise",
                        &entity,
                        format!("erp-return-authorisation:{centra_id}:{id}"),
                        json!({ "case": id }),
                    ));
                }
                let mut case = ReturnCase::new(id.clone(), ReturnSource::Warehouse, false);
                if lines.is_empty() {
                    case.stage = ReturnStage::Refused;
                }
                case.lines = lines;
                returns.cases.push(case);
                id
            }
        };
        commit.links.push(Link {
            entity_key: entity.clone(),
            system: WAREHOUSE_LINK.into(),
            external_id: receipt.return_id.clone(),
        });
        let graded = received
            .iter()
            .map(|r| {
                format!(
                    "{} × {} grade {} → {}",
                    r.units, r.sku, r.grade, r.disposition
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        commit.timeline.extend(steps(
            &entity,
            &case_id,
            ctx.now,
            "warehouse",
            "received",
            format!(
                "return {} received at {}, pending inspection",
                receipt.return_id, receipt.received_at
            ),
        ));
        commit.timeline.extend(steps(
            &entity,
            &case_id,
            ctx.now,
            "warehouse",
            "inspected",
            graded,
        ));
        let Some(case) = returns.case_mut(&case_id) else {
            return Outcome::done();
        };
        case.warehouse_return_id = Some(receipt.return_id.clone());
        case.received = received.clone();
        case.settle_stage();
        for index in 0..received.len() {
            if let Err(outcome) = dispose(
                flow,
                ctx,
                &record,
                case,
                index,
                &receipt.return_id,
                &mut commit,
            )
            .await
            {
                return outcome;
            }
        }
        // The units inspected are the merchant's decision: accepted.
        let mut accepted: Vec<(i64, u32)> = Vec::new();
        let mut decisions = Vec::new();
        let mut left: Vec<u32> = received.iter().map(|r| r.units).collect();
        for line in &case.lines {
            let mut units = 0;
            for (i, r) in received.iter().enumerate() {
                let same = r.line_id.map_or(r.sku == line.sku, |id| id == line.line_id);
                if same {
                    let take = left[i].min(line.units - units);
                    units += take;
                    left[i] -= take;
                }
            }
            if units > 0 {
                accepted.push((line.line_id, units));
                if let Some(item) = &line.item_id {
                    decisions.push(json!({ "item_id": item, "units": units }));
                }
            }
        }
        let source = case.source;
        let id = case.id.clone();
        match source {
            ReturnSource::Reveni if !decisions.is_empty() => commit.effects.push(effect(
                "reveni_accept",
                &entity,
                format!("reveni-accept:{id}:{}", receipt.return_id),
                json!({ "return_id": id, "items": decisions }),
            )),
            ReturnSource::Reveni => {}
            ReturnSource::Warehouse if !accepted.is_empty() => {
                if let Some(outcome) = settle_money(
                    &record,
                    &mut returns,
                    &id,
                    accepted.clone(),
                    accepted,
                    &mut commit,
                    ctx.now,
                ) {
                    return outcome;
                }
            }
            ReturnSource::Warehouse => {}
        }
        commit.state.push(write_returns(&entity, &returns));
        Outcome::Done(commit)
    }
}

/// What one graded line becomes, by the disposition mapping in force: a
/// restock (through the stock flow), a hold, or a write-off. A code the
/// mapping does not name is an exception for Ops; the rest of the receipt
/// still applies.
async fn dispose(
    flow: &ReturnFlow,
    ctx: &JobContext,
    record: &OrderRecord,
    case: &ReturnCase,
    index: usize,
    warehouse_return: &str,
    commit: &mut Commit,
) -> Result<(), Outcome> {
    let entity = crate::orders::order_entity(record.order.number);
    let Some(line) = case.received.get(index) else {
        return Ok(());
    };
    let mappings = flow
        .mappings
        .current(ctx.store.as_ref())
        .await
        .map_err(Outcome::failed)?;
    match mappings.disposition(&line.disposition) {
        Some(DispositionAction::Restock) => commit.effects.push(NewEffect {
            spec: JobSpec::new(
                crate::stock::FLOW,
                "restock",
                crate::stock::sku_entity(&line.sku),
            ),
            payload: json!({
                "sku": line.sku, "units": line.units, "return": case.id, "order": entity,
            }),
            idempotency_key: format!("restock:{warehouse_return}:{index}"),
        }),
        Some(DispositionAction::Hold) => commit.timeline.extend(steps(
            &entity,
            &case.id,
            ctx.now,
            "seam",
            "held",
            format!(
                "{} × {} graded {} ({}): kept out of sellable stock",
                line.units, line.sku, line.grade, line.disposition
            ),
        )),
        Some(DispositionAction::WriteOff) => commit.effects.push(effect(
            "write_off",
            &entity,
            format!(
                "write-off:{}:{warehouse_return}:{index}",
                record.order.centra_id
            ),
            json!({ "case": case.id, "index": index }),
        )),
        None => commit.exceptions.push(NewException {
            exception_type: "unmapped_disposition".into(),
            owner: OwnerTeam::Ops,
            spec: JobSpec::new(FLOW, "apply_disposition", &entity),
            message: format!(
                "Order {}, return {}: the warehouse graded {} × {} '{}' with disposition '{}', which mappings.dispositions does not name. The unit stays unsellable.",
                record.order.number, case.id, line.units, line.sku, line.grade, line.disposition
            ),
            fix_hint: format!(
                "Add \"{}\" to mappings.dispositions (restock, hold or write_off), then resubmit.",
                line.disposition
            ),
            payload: json!({ "case": case.id, "index": index }),
            attempts: 1,
        }),
    }
    Ok(())
}

/// The resubmit of `unmapped_disposition`: the line's disposition again,
/// with today's mapping.
struct ApplyDisposition(Arc<ReturnFlow>);

#[async_trait]
impl JobHandler for ApplyDisposition {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let entity = job.spec.entity_key.clone();
        let (Some(case_id), Some(index)) = (
            job.payload.get("case").and_then(|v| v.as_str()),
            job.payload.get("index").and_then(|v| v.as_u64()),
        ) else {
            return Outcome::done();
        };
        let record = match order_of(ctx, &entity).await {
            Ok(record) => record,
            Err(outcome) => return outcome,
        };
        let returns = match load_returns(ctx, &entity).await {
            Ok(returns) => returns,
            Err(outcome) => return outcome,
        };
        let Some(case) = returns.case(case_id) else {
            return Outcome::done();
        };
        let warehouse_return = case.warehouse_return_id.clone().unwrap_or_default();
        let mut commit = Commit::default();
        if let Err(outcome) = dispose(
            &self.0,
            ctx,
            &record,
            case,
            index as usize,
            &warehouse_return,
            &mut commit,
        )
        .await
        {
            return outcome;
        }
        if let Some(raised) = commit.exceptions.pop() {
            return Outcome::Exception(ExceptionDraft::new(
                &raised.exception_type,
                raised.owner,
                raised.message,
                raised.fix_hint,
            ));
        }
        Outcome::Done(commit)
    }
}
