//! The effects of a return, each a job of its own keyed by the return, so
//! each is done once: the NetSuite return authorisation, credit memo and
//! write-off, the PSP refund, the Centra return and the refund recorded on
//! it, and the decisions sent back to Reveni. Each reads its record back
//! (or is answered with it) and writes what it made into the return's
//! state.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use seam_connectors::adyen::IdempotencyKey;
use seam_connectors::centra::{ReturnRequest, ReturnStatus as CentraReturnStatus};
use seam_connectors::netsuite::{
    external_id_for, AdjustmentLine, InventoryAdjustment, Reference, ReturnLine,
};
use seam_connectors::reveni::ValidationItem;
use seam_engine::{
    Commit, ExceptionDraft, Failure, FailureClass, HandlerRegistry, Job, JobContext, JobHandler,
    JobSpec, Link, NewEffect, Outcome,
};
use seam_model::OwnerTeam;

use super::{load_returns, steps, write_returns, OrderReturns, ReturnCase, ReturnFlow, FLOW};
use crate::orders::canonical::share_of_units;
use crate::orders::{require_record, OrderRecord};

pub(super) fn register(flow: &Arc<ReturnFlow>, registry: &mut HandlerRegistry) {
    registry.register(FLOW, "authorise", Arc::new(Authorise(flow.clone())));
    registry.register(FLOW, "credit_memo", Arc::new(CreditMemo(flow.clone())));
    registry.register(FLOW, "psp_refund", Arc::new(PspRefund(flow.clone())));
    registry.register(FLOW, "centra_return", Arc::new(CentraReturn(flow.clone())));
    registry.register(FLOW, "centra_refund", Arc::new(CentraRefund(flow.clone())));
    registry.register(FLOW, "write_off", Arc::new(WriteOff(flow.clone())));
    registry.register(
        FLOW,
        "reveni_reject",
        Arc::new(ReveniDecision(flow.clone())),
    );
    registry.register(
        FLOW,
        "reveni_accept",
        Arc::new(ReveniDecision(flow.clone())),
    );
}

/// The order, its returns and the one this job is for.
pub(super) struct Loaded {
    pub(super) entity: String,
    pub(super) record: OrderRecord,
    returns: OrderReturns,
    case_id: String,
}

impl Loaded {
    pub(super) async fn of(job: &Job, ctx: &JobContext) -> Result<Loaded, Outcome> {
        let entity = job.spec.entity_key.clone();
        let case_id = job
            .payload
            .get("case")
            .or_else(|| job.payload.get("return_id"))
            .and_then(|v| v.as_str())
            .ok_or_else(|| Outcome::failed(Failure::data("the job names no return")))?
            .to_string();
        let record = require_record(ctx, &entity).await?;
        let returns = load_returns(ctx, &entity).await?;
        if returns.case(&case_id).is_none() {
            return Err(Outcome::failed(Failure::data(format!(
                "{entity} has no return {case_id}"
            ))));
        }
        Ok(Loaded {
            entity,
            record,
            returns,
            case_id,
        })
    }

    pub(super) fn case(&self) -> &ReturnCase {
        self.returns
            .case(&self.case_id)
            .expect("checked when loaded")
    }

    /// Changes the return, moves its stage and commits it with `commit`.
    pub(super) fn done(
        mut self,
        now: seam_engine::Millis,
        mut commit: Commit,
        change: impl FnOnce(&mut ReturnCase),
    ) -> Outcome {
        if let Some(case) = self.returns.cases.iter_mut().find(|c| c.id == self.case_id) {
            let was_closed = case.stage == super::ReturnStage::Closed;
            change(case);
            case.settle_stage();
            if case.stage == super::ReturnStage::Closed && !was_closed {
                commit.timeline.extend(steps(
                    &self.entity,
                    &self.case_id,
                    now,
                    "seam",
                    "closed",
                    case.closed_detail(),
                ));
            }
        }
        commit
            .state
            .push(write_returns(&self.entity, &self.returns));
        Outcome::Done(commit)
    }

    /// What the order is known by in a message for Finance.
    fn order_names(&self) -> String {
        format!(
            "order {} (Centra id {}, NetSuite sales order {})",
            self.record.order.number,
            self.record.order.centra_id,
            self.record.erp_id.as_deref().unwrap_or("not posted")
        )
    }
}

/// A refusal (bad data: retrying cannot help) is raised for its owner
/// without holding the order, so the return's other effects (the refund
/// when the credit memo is refused, say) still go ahead; its resubmit runs
/// this effect again. Anything else is retried, and raised when retries
/// are spent.
pub(super) fn refused_or_failed(
    job: &Job,
    ctx: &JobContext,
    failure: Failure,
    exception: ExceptionDraft,
) -> Outcome {
    if failure.class != FailureClass::Data {
        return Outcome::Failed {
            failure,
            exception: Some(exception),
        };
    }
    let case = job
        .payload
        .get("case")
        .or_else(|| job.payload.get("return_id"))
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    Outcome::Done(Commit {
        timeline: steps(
            &job.spec.entity_key,
            case,
            ctx.now,
            "seam",
            &exception.exception_type,
            exception.message.clone(),
        ),
        exceptions: vec![seam_engine::NewException {
            exception_type: exception.exception_type,
            owner: exception.owner,
            spec: job.spec.clone(),
            message: exception.message,
            fix_hint: exception.fix_hint,
            payload: job.payload.clone(),
            attempts: job.attempts,
        }],
        ..Default::default()
    })
}

struct Authorise(Arc<ReturnFlow>);

#[async_trait]
impl JobHandler for Authorise {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let loaded = match Loaded::of(job, ctx).await {
            Ok(loaded) => loaded,
            Err(outcome) => return outcome,
        };
        let case = loaded.case();
        if case.authorisation.is_some() {
            return Outcome::done();
        }
        let Some(erp_id) = loaded.record.erp_id.clone() else {
            return Outcome::failed(Failure::transient("the sales order is not in NetSuite yet"));
        };
        let mut lines = Vec::new();
        for line in &case.lines {
            let Some(erp_line) = loaded.record.erp_line(line.line_id) else {
                return Outcome::failed(Failure::data(format!(
                    "line {} has no NetSuite line",
                    line.line_id
                )));
            };
            lines.push(ReturnLine {
                order_line: erp_line,
                quantity: Decimal::from(line.units),
                ..ReturnLine::default()
            });
        }
        let external = external_id_for("seam-ra", &case.id);
        let authorisation = match self
            .0
            .netsuite
            .return_authorization(&erp_id, &external, &lines)
            .await
        {
            Ok(authorisation) => authorisation,
            Err(failure) => {
                let message = format!(
                    "Return {} of {}: NetSuite refused the return authorisation: {}",
                    case.id,
                    loaded.order_names(),
                    failure.message
                );
                return refused_or_failed(
                    job,
                    ctx,
                    failure,
                    ExceptionDraft::new(
                        "return_authorisation_refused",
                        OwnerTeam::Finance,
                        message,
                        "Check the sales order in NetSuite (closed, archived, not fulfilled?); reopen it and resubmit, or authorise the return by hand and resolve.",
                    ),
                );
            }
        };
        let mapped: Vec<(i64, u32)> = case
            .lines
            .iter()
            .filter_map(|line| {
                let erp_line = loaded.record.erp_line(line.line_id)?;
                let ra_line = authorisation.lines_from(erp_line).next()?.line;
                Some((line.line_id, ra_line))
            })
            .collect();
        let commit = Commit {
            links: vec![Link {
                entity_key: loaded.entity.clone(),
                system: "netsuite-return-authorization".into(),
                external_id: authorisation.id.clone(),
            }],
            timeline: steps(
                &loaded.entity,
                &case.id,
                ctx.now,
                "netsuite",
                "authorised",
                format!(
                    "return authorisation {} for {} unit(s)",
                    authorisation
                        .tran_id
                        .as_deref()
                        .unwrap_or(&authorisation.id),
                    case.lines.iter().map(|l| l.units).sum::<u32>()
                ),
            ),
            ..Default::default()
        };
        let id = authorisation.id.clone();
        loaded.done(ctx.now, commit, |case| {
            case.authorisation = Some(id);
            case.authorisation_lines = mapped;
        })
    }
}

struct CreditMemo(Arc<ReturnFlow>);

#[async_trait]
impl JobHandler for CreditMemo {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let loaded = match Loaded::of(job, ctx).await {
            Ok(loaded) => loaded,
            Err(outcome) => return outcome,
        };
        let case = loaded.case();
        let (Some(plan), None) = (&case.refund, &case.credit_memo) else {
            return Outcome::done();
        };
        let Some(authorisation) = case.authorisation.clone() else {
            return Outcome::failed(Failure::transient(
                "the return authorisation is not in NetSuite yet",
            ));
        };
        // The reversal unchanged: net after discount, the discount, and
        // the tax as an amount, so NetSuite's total is the refund exactly.
        let mut lines = Vec::new();
        for reversal in &plan.lines {
            let line_id = reversal.line_id.parse::<i64>().unwrap_or_default();
            let Some(ra_line) = case
                .authorisation_lines
                .iter()
                .find(|(id, _)| *id == line_id)
                .map(|(_, line)| *line)
            else {
                return Outcome::failed(Failure::data(format!(
                    "line {line_id} is not on the return authorisation"
                )));
            };
            let tax_percent = loaded
                .record
                .order
                .line(line_id)
                .map(|l| l.tax_percent)
                .unwrap_or_default();
            lines.push(ReturnLine {
                order_line: ra_line,
                quantity: Decimal::from(reversal.units),
                rate: None,
                amount: Some(reversal.net.amount + reversal.voucher.amount),
                tax_rate: Some(tax_percent),
                discount: Some(reversal.voucher.amount),
                tax_amount: Some(reversal.tax.amount),
            });
        }
        let external = external_id_for("seam-cm", &case.id);
        let memo = match self
            .0
            .netsuite
            .credit_memo(&authorisation, &external, &lines)
            .await
        {
            Ok(memo) => memo,
            Err(failure) => {
                let message = format!(
                    "Return {} of {}: the credit memo of {} failed in NetSuite: {}. The PSP refund and the Centra return are not held back by it.",
                    case.id,
                    loaded.order_names(),
                    plan.total,
                    failure.message
                );
                return refused_or_failed(
                    job,
                    ctx,
                    failure,
                    ExceptionDraft::new(
                        "credit_memo_refused",
                        OwnerTeam::Finance,
                        message,
                        "Reopen (or restore) the original sales order in NetSuite and resubmit, or book the credit by hand against it and resolve.",
                    ),
                );
            }
        };
        let mut commit = Commit {
            links: vec![Link {
                entity_key: loaded.entity.clone(),
                system: "netsuite-credit-memo".into(),
                external_id: memo.id.clone(),
            }],
            timeline: steps(
                &loaded.entity,
                &case.id,
                ctx.now,
                "netsuite",
                "credited",
                format!(
                    "credit memo {} of {} {}",
                    memo.tran_id.as_deref().unwrap_or(&memo.id),
                    memo.total.unwrap_or_default(),
                    plan.total.currency
                ),
            ),
            ..Default::default()
        };
        // Read back: NetSuite's total must be Seam's refund to the cent.
        if memo.total != Some(plan.total.amount) {
            commit.exceptions.push(seam_engine::NewException {
                exception_type: "credit_memo_differs".into(),
                owner: OwnerTeam::Finance,
                spec: job.spec.clone(),
                message: format!(
                    "Return {} of {}: the credit memo {} totals {:?}, but the refund is {}.",
                    case.id,
                    loaded.order_names(),
                    memo.id,
                    memo.total,
                    plan.total
                ),
                fix_hint: "Correct the credit memo in NetSuite to the refund, then resolve.".into(),
                payload: job.payload.clone(),
                attempts: 1,
            });
        }
        let id = memo.id.clone();
        loaded.done(ctx.now, commit, |case| case.credit_memo = Some(id))
    }
}

struct PspRefund(Arc<ReturnFlow>);

#[async_trait]
impl JobHandler for PspRefund {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let loaded = match Loaded::of(job, ctx).await {
            Ok(loaded) => loaded,
            Err(outcome) => return outcome,
        };
        let case = loaded.case();
        let (Some(plan), None) = (&case.refund, &case.psp_refund) else {
            return Outcome::done();
        };
        let no_refund = |why: &str| {
            Outcome::Exception(ExceptionDraft::new(
                "refund_needs_manual_psp",
                OwnerTeam::Finance,
                format!(
                    "Return {} of {}: {} is owed to the customer, but {why}.",
                    case.id,
                    loaded.order_names(),
                    plan.total
                ),
                "Refund the customer in the PSP's customer area, then resolve.",
            ))
        };
        let Some(adyen) = &self.0.adyen else {
            return no_refund("no PSP connector is configured");
        };
        let Some(psp) = loaded.record.order.psp_reference.clone() else {
            return no_refund("the order has no PSP payment reference");
        };
        let key = IdempotencyKey::for_order(&loaded.record.order.centra_id, "refund", &case.id);
        let reference = format!("return-{}", case.id);
        let receipt = match adyen.refund(&psp, &plan.total, &reference, &key).await {
            Ok(receipt) => receipt,
            Err(failure) => {
                let message = format!(
                    "Return {} of {}: the PSP refused the refund of {} on payment {psp}: {}",
                    case.id,
                    loaded.order_names(),
                    plan.total,
                    failure.message
                );
                return refused_or_failed(
                    job,
                    ctx,
                    failure,
                    ExceptionDraft::new(
                        "refund_refused_by_psp",
                        OwnerTeam::Finance,
                        message,
                        "Refund the customer in the Adyen customer area (or by another means), then resolve.",
                    ),
                );
            }
        };
        let mut commit = Commit {
            timeline: steps(
                &loaded.entity,
                &case.id,
                ctx.now,
                "adyen",
                "refunded",
                format!(
                    "refund {} of {} on payment {psp} (Adyen confirms it with a REFUND notification)",
                    receipt.psp_reference, plan.total
                ),
            ),
            links: vec![Link {
                entity_key: loaded.entity.clone(),
                system: "adyen-refund".into(),
                external_id: receipt.psp_reference.clone(),
            }],
            ..Default::default()
        };
        // The refund is recorded on the Centra return next (or by the
        // Centra return itself, if that comes later).
        commit.effects.push(NewEffect {
            spec: JobSpec::new(FLOW, "centra_refund", &loaded.entity),
            payload: serde_json::json!({ "case": case.id }),
            idempotency_key: format!(
                "centra-refund:{}:{}",
                loaded.record.order.centra_id, case.id
            ),
        });
        let reference = receipt.psp_reference.clone();
        loaded.done(ctx.now, commit, |case| case.psp_refund = Some(reference))
    }
}

/// The return recorded in Centra, against the shipments the units left in:
/// every accepted unit, refunded or exchanged. Centra's stock is not
/// touched (the stock flow sets it from the warehouse, where returned units
/// are pending inspection). Once the customer has been paid back (by the
/// PSP, or by Reveni up front), the refund is recorded on it too.
struct CentraReturn(Arc<ReturnFlow>);

#[async_trait]
impl JobHandler for CentraReturn {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let loaded = match Loaded::of(job, ctx).await {
            Ok(loaded) => loaded,
            Err(outcome) => return outcome,
        };
        let case = loaded.case();
        let Some(plan) = &case.refund else {
            return Outcome::done();
        };
        if case.centra_recorded {
            return Outcome::done();
        }
        let order = match flow
            .centra
            .order_by_id(&loaded.record.order.centra_id)
            .await
        {
            Ok(Some(order)) => order,
            Ok(None) => return Outcome::failed(Failure::data("Centra no longer has the order")),
            Err(failure) => return Outcome::failed(failure),
        };
        // Units per shipment line, taken from the shipments in order.
        let mut by_shipment: Vec<(i64, Vec<(i64, i32)>)> = Vec::new();
        for (line_id, units) in &case.accepted {
            let line_id = *line_id;
            let mut left = *units as i32;
            for shipment in order.shipments.iter().filter(|s| s.is_shipped) {
                for line in &shipment.lines {
                    if left == 0 || line.order_line.as_ref().map(|l| l.id) != Some(line_id) {
                        continue;
                    }
                    let take = (line.quantity - line.returned_quantity).min(left);
                    if take <= 0 {
                        continue;
                    }
                    left -= take;
                    match by_shipment.iter_mut().find(|(id, _)| *id == shipment.id) {
                        Some((_, lines)) => lines.push((line.id, take)),
                        None => by_shipment.push((shipment.id, vec![(line.id, take)])),
                    }
                }
            }
            if left > 0 && !case.centra_returns.is_empty() {
                // Already returned in Centra by an earlier attempt.
                left = 0;
            }
            if left > 0 {
                return Outcome::Exception(ExceptionDraft::new(
                    "centra_return_refused",
                    OwnerTeam::Ops,
                    format!(
                        "Return {} of order {}: Centra's shipments have no {units} unreturned unit(s) of line {line_id} to record the return against.",
                        case.id, loaded.record.order.number
                    ),
                    "Record the return in Centra by hand, then resolve.",
                ));
            }
        }
        let exchanged = case
            .exchanges
            .iter()
            .map(|e| format!("; {} × {} exchanged for {}", e.units, e.returned_sku, e.sku))
            .collect::<String>();
        let mut made = Vec::new();
        for (shipment_id, lines) in by_shipment {
            let request = ReturnRequest {
                shipment_id,
                lines,
                return_stock: false,
                comment: Some(if case.refunds_money() {
                    format!(
                        "Seam return {}: refund {} (NetSuite and the PSP carry the same amount){exchanged}",
                        case.id, plan.total
                    )
                } else {
                    format!("Seam return {}: nothing refunded{exchanged}", case.id)
                }),
                idempotency_key: format!("seam-{}-{shipment_id}", case.id),
            };
            let created = match flow.centra.create_return(&request).await {
                Ok(created) => created.value,
                Err(failure) => {
                    let message = format!(
                        "Return {} of order {}: Centra refused the return: {}",
                        case.id, loaded.record.order.number, failure.message
                    );
                    return refused_or_failed(
                        job,
                        ctx,
                        failure,
                        ExceptionDraft::new(
                            "centra_return_refused",
                            OwnerTeam::Ops,
                            message,
                            "Check the order's shipments in Centra; record the return by hand and resolve, or resubmit.",
                        ),
                    );
                }
            };
            if created.return_status != CentraReturnStatus::Completed {
                if let Err(failure) = flow.centra.complete_return(created.id, false).await {
                    return Outcome::failed(failure);
                }
            }
            made.push(created.id);
        }
        let mut commit = Commit {
            timeline: steps(
                &loaded.entity,
                &case.id,
                ctx.now,
                "centra",
                "recorded_in_centra",
                format!(
                    "Centra return(s) {made:?} completed, refund {}{exchanged}",
                    plan.total
                ),
            ),
            ..Default::default()
        };
        // The refund, if the customer has been paid back already.
        let mut recorded = None;
        if let (Some(return_id), Some(reference)) = (made.first(), refund_reference(case)) {
            match record_refund(flow, &loaded, *return_id, &reference, ctx.now).await {
                Ok((entry, steps)) => {
                    commit.timeline.extend(steps);
                    recorded = Some(entry);
                }
                Err(failure) if failure.class == FailureClass::Data => {
                    // The return is recorded; only the refund entry is
                    // refused: raised on its own, with its own resubmit.
                    let (message, hint) = refund_refused(&loaded, &failure);
                    commit.exceptions.push(seam_engine::NewException {
                        exception_type: "centra_refund_refused".into(),
                        owner: OwnerTeam::Finance,
                        spec: JobSpec::new(FLOW, "centra_refund", &loaded.entity),
                        message,
                        fix_hint: hint.into(),
                        payload: serde_json::json!({ "case": case.id }),
                        attempts: 1,
                    });
                }
                Err(failure) => return Outcome::failed(failure),
            }
        }
        loaded.done(ctx.now, commit, |case| {
            case.centra_returns.extend(made);
            case.centra_recorded = true;
            if recorded.is_some() {
                case.centra_refund = recorded;
            }
        })
    }
}

/// The reference of the refund made: the PSP's, or Reveni's when it paid
/// the customer up front. `None` while the customer has not been paid
/// back (nothing to record yet) or when the return refunds nothing.
fn refund_reference(case: &ReturnCase) -> Option<String> {
    if !case.refunds_money() || case.centra_refund.is_some() {
        return None;
    }
    match (&case.psp_refund, case.instant) {
        (Some(psp), _) => Some(psp.clone()),
        (None, true) => Some(format!("reveni-{}", case.id)),
        (None, false) => None,
    }
}

/// Records the return's refund on the Centra return (never a refund
/// itself: see `CentraClient::record_return_refund`). Answers the payment
/// entry id and the timeline steps.
async fn record_refund(
    flow: &ReturnFlow,
    loaded: &Loaded,
    return_id: i64,
    reference: &str,
    now: seam_engine::Millis,
) -> Result<(String, Vec<seam_engine::TimelineEntry>), Failure> {
    let case = loaded.case();
    let Some(plan) = &case.refund else {
        return Err(Failure::data("the return has no refund"));
    };
    let recorded = flow
        .centra
        .record_return_refund(return_id, &plan.total, reference)
        .await?;
    let steps = steps(
        &loaded.entity,
        &case.id,
        now,
        "centra",
        "refund_recorded_in_centra",
        format!(
            "refund {} recorded on Centra return {return_id} (payment entry {}, reference {reference}){}",
            plan.total,
            recorded.entry.id,
            if recorded.replayed {
                "; found from an earlier attempt"
            } else {
                ""
            }
        ),
    );
    Ok((recorded.entry.id.to_string(), steps))
}

fn refund_refused(loaded: &Loaded, failure: &Failure) -> (String, &'static str) {
    let case = loaded.case();
    (
        format!(
            "Return {} of {}: the customer was refunded {}, but Centra refused to record the refund on its return: {}",
            case.id,
            loaded.order_names(),
            case.refund
                .as_ref()
                .map(|p| p.total.to_string())
                .unwrap_or_default(),
            failure.message
        ),
        "Record the refund on the return in Centra by hand (nothing is refunded again), then resolve; or resubmit.",
    )
}

/// The refund recorded on the Centra return, once the PSP has refunded
/// (queued by the PSP refund). A return not yet recorded in Centra records
/// the refund itself when it is.
struct CentraRefund(Arc<ReturnFlow>);

#[async_trait]
impl JobHandler for CentraRefund {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let loaded = match Loaded::of(job, ctx).await {
            Ok(loaded) => loaded,
            Err(outcome) => return outcome,
        };
        let case = loaded.case();
        let (Some(return_id), Some(reference)) =
            (case.centra_returns.first().copied(), refund_reference(case))
        else {
            return Outcome::done();
        };
        match record_refund(&self.0, &loaded, return_id, &reference, ctx.now).await {
            Ok((entry, steps)) => {
                let commit = Commit {
                    timeline: steps,
                    ..Default::default()
                };
                loaded.done(ctx.now, commit, |case| case.centra_refund = Some(entry))
            }
            Err(failure) => {
                let (message, hint) = refund_refused(&loaded, &failure);
                refused_or_failed(
                    job,
                    ctx,
                    failure,
                    ExceptionDraft::new("centra_refund_refused", OwnerTeam::Finance, message, hint),
                )
            }
        }
    }
}

/// A unit graded for write-off: a NetSuite inventory adjustment with its
/// reason and value, for Finance.
struct WriteOff(Arc<ReturnFlow>);

#[async_trait]
impl JobHandler for WriteOff {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let loaded = match Loaded::of(job, ctx).await {
            Ok(loaded) => loaded,
            Err(outcome) => return outcome,
        };
        let case = loaded.case();
        let index = job
            .payload
            .get("index")
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as usize;
        let Some(line) = case.received.get(index) else {
            return Outcome::failed(Failure::data("the return has no such received line"));
        };
        // The unit's value: its share of what was paid for it, before tax.
        let order_line = line
            .line_id
            .and_then(|id| loaded.record.order.line(id))
            .or_else(|| loaded.record.order.lines.iter().find(|l| l.sku == line.sku));
        let value = order_line.map_or(Decimal::ZERO, |l| {
            share_of_units(l.allocation.net, l.quantity, line.units)
        });
        let currency = loaded.record.order.currency;
        let (Some(account), Some(location)) = (
            flow.config.write_off_account.clone(),
            flow.config.write_off_location.clone(),
        ) else {
            return Outcome::Exception(ExceptionDraft::new(
                "write_off_not_configured",
                OwnerTeam::Finance,
                format!(
                    "Return {} of order {}: {} × {} was graded {} and written off at the warehouse (value {value} {currency}), but no write-off account is configured.",
                    case.id, loaded.record.order.number, line.units, line.sku, line.grade
                ),
                "Set returns.write_off_account and returns.write_off_location in seam.toml, restart, then resubmit.",
            ));
        };
        let memo = format!(
            "Seam: return {} of order {}: {} × {} graded {} ({}), written off; value {value} {currency}",
            case.id, loaded.record.order.number, line.units, line.sku, line.grade, line.disposition
        );
        let adjustment = InventoryAdjustment {
            account: Reference::id(account),
            location: Reference::id(location),
            subsidiary: None,
            memo: memo.clone(),
            lines: vec![AdjustmentLine {
                item: Reference::external(line.sku.clone()),
                location: None,
                adjust_qty_by: -Decimal::from(line.units),
                unit_cost: None,
            }],
        };
        let warehouse_return = case.warehouse_return_id.clone().unwrap_or_default();
        let external = external_id_for("seam-wo", &format!("{warehouse_return}-{index}"));
        let posted = match flow
            .netsuite
            .inventory_adjustment(&external, &adjustment)
            .await
        {
            Ok(posted) => posted,
            Err(failure) => {
                let message = format!(
                    "Return {} of order {}: the write-off of {} × {} (value {value} {currency}) failed in NetSuite: {}",
                    case.id, loaded.record.order.number, line.units, line.sku, failure.message
                );
                return refused_or_failed(
                    job,
                    ctx,
                    failure,
                    ExceptionDraft::new(
                        "write_off_refused",
                        OwnerTeam::Finance,
                        message,
                        "Check the item, account and location in NetSuite, then resubmit; or book the adjustment by hand and resolve.",
                    ),
                );
            }
        };
        let commit = Commit {
            links: vec![Link {
                entity_key: loaded.entity.clone(),
                system: "netsuite-inventory-adjustment".into(),
                external_id: posted.id.clone(),
            }],
            timeline: steps(
                &loaded.entity,
                &case.id,
                ctx.now,
                "netsuite",
                "written_off",
                format!(
                    "inventory adjustment {}: {memo}",
                    posted.tran_id.as_deref().unwrap_or(&posted.id)
                ),
            ),
            ..Default::default()
        };
        loaded.done(ctx.now, commit, |_| {})
    }
}

/// Seam's decision sent to Reveni: refused items with their reason
/// (`reveni_reject`), or units accepted on inspection (`reveni_accept`).
struct ReveniDecision(Arc<ReturnFlow>);

#[async_trait]
impl JobHandler for ReveniDecision {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let Some(reveni) = &self.0.reveni else {
            return Outcome::failed(Failure::data("no Reveni connector is configured"));
        };
        let loaded = match Loaded::of(job, ctx).await {
            Ok(loaded) => loaded,
            Err(outcome) => return outcome,
        };
        let case = loaded.case();
        let accepting = job.spec.kind == "reveni_accept";
        let items: Vec<ValidationItem> = if accepting {
            job.payload
                .get("items")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .filter_map(|item| {
                    Some(ValidationItem::accept(
                        item.get("item_id")?.as_str()?,
                        item.get("units")?.as_u64()? as u32,
                    ))
                })
                .collect()
        } else {
            case.refused
                .iter()
                .map(|(item_id, refusal)| ValidationItem {
                    item_id: item_id.clone(),
                    quantity: None,
                    status: seam_connectors::reveni::ItemDecision::Rejected,
                    reject_reason: Some(refusal.code().into()),
                    reject_reason_text: Some(refusal.to_string()),
                })
                .collect()
        };
        if items.is_empty() {
            return Outcome::done();
        }
        if let Err(failure) = reveni.partial_validate(&case.id, &items).await {
            // A replay is refused as data: the decision may be there already.
            let decided = match reveni.get_return(&case.id).await {
                Ok(Some(current)) => items.iter().all(|wanted| {
                    current
                        .return_items
                        .iter()
                        .find(|i| i.item_id == wanted.item_id)
                        .and_then(|i| i.review.as_ref())
                        .is_some_and(|r| {
                            if accepting {
                                r.accepted_quantity > 0
                            } else {
                                r.rejected_quantity > 0
                            }
                        })
                }),
                _ => false,
            };
            if !decided {
                let message = format!(
                    "Return {} of order {}: Reveni did not take Seam's decision ({}): {}",
                    case.id,
                    loaded.record.order.number,
                    if accepting {
                        "accept the inspected units"
                    } else {
                        "refuse items that cannot be returned"
                    },
                    failure.message
                );
                return refused_or_failed(
                    job,
                    ctx,
                    failure,
                    ExceptionDraft::new(
                        "reveni_decision_refused",
                        OwnerTeam::Cx,
                        message,
                        "Make the decision in Reveni's dashboard, then resolve; or resubmit.",
                    ),
                );
            }
        }
        let detail = if accepting {
            format!(
                "{} unit(s) accepted in Reveni after inspection",
                items.iter().filter_map(|i| i.quantity).sum::<u32>()
            )
        } else {
            format!(
                "{} item(s) refused in Reveni with their reasons",
                items.len()
            )
        };
        Outcome::Done(Commit {
            timeline: steps(
                &loaded.entity,
                &case.id,
                ctx.now,
                "reveni",
                if accepting {
                    "accepted"
                } else {
                    "refusal_sent"
                },
                detail,
            ),
            ..Default::default()
        })
    }
}
