//! Two-way edits and cancellations.
//!
//! `poll_erp` lists sales orders NetSuite changed since the last poll and
//! journals an `erp_changed` job per change on the order's entity.
//! `erp_changed` reads the sales order and compares it with what Seam
//! holds: Seam's own writes compare equal and do nothing, so there is no
//! echo. A quantity lowered or a line removed cancels those units in
//! Centra; a quantity raised or a line added adds units in Centra at
//! NetSuite's rate (net of tax; Centra's price is that rate with tax
//! added); a price changed is the old units cancelled and the same
//! units added at the new price. Only unshipped units can change: an edit
//! that would touch shipped units is refused as an exception. Then the
//! warehouse gets the order again, and the PSP authorisation is set to the
//! new total; a refusal is an exception for CX (Finance is named in it).
//! A sales order closed in NetSuite, or an order cancelled in Centra, is
//! cancelled in the others and its authorisation released.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use seam_connectors::adyen::IdempotencyKey;
use seam_connectors::centra::{
    CancelStockAction, MonetaryValueInput, OrderInput, OrderLineAddInput, OrderLineCancel,
    ProductSizeInput,
};
use seam_connectors::netsuite::{RecordKey, RecordType, Transaction};
use seam_engine::{
    Commit, ExceptionDraft, Failure, FailureClass, HandlerRegistry, InboundEvent, Job, JobContext,
    JobHandler, JobSpec, Millis, NewEffect, Outcome, StateWrite,
};
use seam_model::order::LineAllocation;
use seam_model::{Money, OwnerTeam};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::canonical::{gross_unit_price, CanonicalLine};
use super::{
    load_record, order_entity, require_record, step, store_failure, write_record, OrderFlow,
    OrderRecord, OrderStage, FLOW,
};

pub const ERP_ENTITY: &str = "netsuite-sales-orders";

pub(super) fn register(flow: &Arc<OrderFlow>, registry: &mut HandlerRegistry) {
    registry.register(FLOW, "poll_erp", Arc::new(PollErp(flow.clone())));
    registry.register(FLOW, "erp_changed", Arc::new(ErpChanged(flow.clone())));
    registry.register(
        FLOW,
        "cancel_warehouse",
        Arc::new(CancelWarehouse(flow.clone())),
    );
    registry.register(FLOW, "cancel_erp", Arc::new(CancelErp(flow.clone())));
    registry.register(FLOW, "cancel_centra", Arc::new(CancelCentra(flow.clone())));
    registry.register(
        FLOW,
        "adjust_payment",
        Arc::new(AdjustPayment(flow.clone())),
    );
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ErpCursor {
    since: Option<DateTime<Utc>>,
}

struct PollErp(Arc<OrderFlow>);

#[async_trait]
impl JobHandler for PollErp {
    async fn handle(&self, _job: &Job, ctx: &JobContext) -> Outcome {
        let cursor: ErpCursor = match ctx.store.entity_state(ERP_ENTITY, FLOW).await {
            Ok(Some(state)) => serde_json::from_value(state.state).unwrap_or_default(),
            Ok(None) => ErpCursor::default(),
            Err(error) => return store_failure(error),
        };
        let now = DateTime::<Utc>::from_timestamp_millis(ctx.now).unwrap_or_default();
        let since = cursor.since.unwrap_or(now - chrono::Duration::minutes(5));
        let ids = match self
            .0
            .netsuite
            .list_modified_since(RecordType::SalesOrder, since)
            .await
        {
            Ok(ids) => ids,
            Err(failure) => return Outcome::failed(failure),
        };
        let mut events = Vec::new();
        let mut newest = since;
        for id in ids {
            let record = match self
                .0
                .netsuite
                .get_record(RecordType::SalesOrder, &RecordKey::id(id.clone()))
                .await
            {
                Ok(Some(record)) => record,
                Ok(None) => continue,
                Err(failure) => return Outcome::failed(failure),
            };
            // Only Seam's own sales orders (externalId centra-<id>) are followed.
            let Some(number) = record
                .external_id
                .as_deref()
                .filter(|e| e.starts_with("centra-"))
                .and(record.other_ref_num.as_deref())
                .and_then(|n| n.parse::<i64>().ok())
            else {
                continue;
            };
            let modified = record.last_modified_date.unwrap_or(now);
            newest = newest.max(modified);
            events.push(InboundEvent {
                source: "netsuite".into(),
                // NetSuite keeps whole seconds: two edits within one second
                // share a lastModifiedDate, so the lines' content is part of
                // the event's identity (a re-check of an unchanged order is
                // harmless, a missed edit is not).
                event_id: format!(
                    "salesOrder:{id}:{}:{:016x}",
                    modified.timestamp_millis(),
                    fingerprint(&erp_lines(&record))
                ),
                payload: json!({ "erp_id": id }),
                job: JobSpec::new(FLOW, "erp_changed", order_entity(number)),
            });
        }
        if let Err(error) = ctx.store.ingest(&events, ctx.now).await {
            return store_failure(error);
        }
        Outcome::Done(Commit {
            state: vec![StateWrite {
                entity_key: ERP_ENTITY.into(),
                flow: FLOW.into(),
                state: json!(ErpCursor {
                    since: Some(newest)
                }),
            }],
            ..Default::default()
        })
    }
}

/// What one NetSuite line says, in Seam's terms.
#[derive(Debug, Clone, PartialEq)]
struct ErpLine {
    erp_line: u32,
    sku: String,
    quantity: u32,
    rate: Decimal,
    closed: bool,
}

fn erp_lines(got: &Transaction) -> Vec<ErpLine> {
    got.lines()
        .iter()
        .map(|l| ErpLine {
            erp_line: l.line,
            sku: l
                .item
                .as_ref()
                .and_then(|i| i.external_id.clone().or_else(|| i.ref_name.clone()))
                .unwrap_or_default(),
            quantity: l
                .quantity
                .and_then(|q| u32::try_from(q.trunc().mantissa()).ok())
                .unwrap_or(0),
            rate: l.rate.unwrap_or_default(),
            closed: l.is_closed == Some(true),
        })
        .collect()
}

fn fingerprint(lines: &[ErpLine]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for line in lines {
        (
            line.erp_line,
            &line.sku,
            line.quantity,
            line.rate.to_string(),
            line.closed,
        )
            .hash(&mut hasher);
    }
    hasher.finish()
}

/// An edit Seam applies to Centra.
#[derive(Debug, Clone, PartialEq)]
enum Edit {
    Cancel {
        line_id: i64,
        units: u32,
    },
    Add {
        sku: String,
        units: u32,
        /// Centra's unit price, tax included.
        unit_price: Decimal,
        /// NetSuite's rate for the units, net of tax.
        erp_rate: Decimal,
        tax_percent: Decimal,
        erp_line: u32,
    },
}

/// The edits that bring Centra to what NetSuite now says, or why not.
///
/// One NetSuite line can stand for several Centra lines: Centra cannot
/// raise a line's quantity, so a quantity raised in NetSuite becomes a new
/// Centra line mapped to the same NetSuite line. Quantities are therefore
/// compared per NetSuite line, summed over its Centra lines.
fn plan_edits(record: &OrderRecord, got: &[ErpLine]) -> Result<Vec<Edit>, String> {
    let mut edits = Vec::new();
    let mut erp_line_numbers: Vec<u32> = Vec::new();
    for (_, erp_line) in &record.erp_lines {
        if !erp_line_numbers.contains(erp_line) {
            erp_line_numbers.push(*erp_line);
        }
    }
    for erp_line in erp_line_numbers {
        let group: Vec<&CanonicalLine> = record
            .order
            .lines
            .iter()
            .filter(|l| record.erp_line(l.line_id) == Some(erp_line))
            .collect();
        let Some(first) = group.first() else {
            continue;
        };
        let current: u32 = group.iter().map(|l| l.quantity - l.cancelled).sum();
        let shipped: u32 = group.iter().map(|l| l.shipped).sum();
        let erp = got.iter().find(|g| g.erp_line == erp_line);
        let (wanted, rate) = match erp {
            None => (0, None),
            Some(g) if g.closed => (shipped, None),
            Some(g) => (g.quantity, Some(g.rate)),
        };
        // The rate and price Seam holds: those of the group's newest line
        // with units.
        let newest = group
            .iter()
            .rev()
            .find(|l| l.quantity > l.cancelled)
            .unwrap_or(first);
        let our_rate = newest.erp_unit_rate();
        let our_price = centra_unit_price(newest);
        let price_changed = rate.is_some_and(|r| {
            group
                .iter()
                .any(|l| l.quantity > l.cancelled && l.erp_unit_rate() != r)
        });
        if wanted < shipped || (price_changed && shipped > 0) {
            return Err(format!(
                "line {} ({}) has {} unit(s) shipped; NetSuite asks for {} at {}",
                erp_line,
                first.sku,
                shipped,
                wanted,
                rate.unwrap_or(our_rate)
            ));
        }
        let cancel_newest_first = |mut units: u32, edits: &mut Vec<Edit>| {
            for line in group.iter().rev() {
                let take = units.min(line.open_units());
                if take > 0 {
                    edits.push(Edit::Cancel {
                        line_id: line.line_id,
                        units: take,
                    });
                    units -= take;
                }
            }
        };
        if price_changed {
            cancel_newest_first(current - shipped, &mut edits);
            if wanted > shipped {
                let erp_rate = rate.unwrap_or(our_rate);
                edits.push(Edit::Add {
                    sku: first.sku.clone(),
                    units: wanted - shipped,
                    unit_price: gross_unit_price(erp_rate, first.tax_percent),
                    erp_rate,
                    tax_percent: first.tax_percent,
                    erp_line,
                });
            }
        } else if wanted < current {
            cancel_newest_first(current - wanted, &mut edits);
        } else if wanted > current {
            edits.push(Edit::Add {
                sku: first.sku.clone(),
                units: wanted - current,
                unit_price: our_price,
                erp_rate: our_rate,
                tax_percent: first.tax_percent,
                erp_line,
            });
        }
    }
    for g in got {
        if g.closed || g.quantity == 0 || record.erp_lines.iter().any(|(_, l)| *l == g.erp_line) {
            continue;
        }
        let tax_percent = record
            .order
            .lines
            .first()
            .map(|l| l.tax_percent)
            .unwrap_or_default();
        edits.push(Edit::Add {
            sku: g.sku.clone(),
            units: g.quantity,
            unit_price: gross_unit_price(g.rate, tax_percent),
            erp_rate: g.rate,
            tax_percent,
            erp_line: g.erp_line,
        });
    }
    Ok(edits)
}

/// A Centra line's price per unit, tax included, before vouchers.
fn centra_unit_price(line: &CanonicalLine) -> Decimal {
    (line.allocation.gross.amount / Decimal::from(line.quantity.max(1))).round_dp(2)
}

/// A new line's allocation: priced at the edit's rate, no voucher share,
/// its tax contained at its rate.
fn new_line_allocation(
    line_id: i64,
    sku: &str,
    units: u32,
    unit_price: Decimal,
    tax_percent: Decimal,
    currency: seam_model::Currency,
) -> LineAllocation {
    let gross = (unit_price * Decimal::from(units)).round_dp(currency.minor_unit_digits());
    let rate = tax_percent / Decimal::ONE_HUNDRED;
    let tax = (gross * rate / (Decimal::ONE + rate)).round_dp(currency.minor_unit_digits());
    LineAllocation {
        line_id: line_id.to_string(),
        sku: sku.to_string(),
        quantity: units,
        gross: Money::new(gross, currency),
        voucher: Money::zero(currency),
        paid: Money::new(gross, currency),
        tax: Money::new(tax, currency),
        net: Money::new(gross - tax, currency),
        shipping: Money::zero(currency),
    }
}

struct ErpChanged(Arc<OrderFlow>);

#[async_trait]
impl JobHandler for ErpChanged {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let entity = job.spec.entity_key.clone();
        let Some(mut record) = (match load_record(ctx, &entity).await {
            Ok(record) => record,
            Err(outcome) => return outcome,
        }) else {
            return Outcome::done();
        };
        let Some(erp_id) = record.erp_id.clone() else {
            return Outcome::done();
        };
        if record.stage == OrderStage::Cancelled {
            return Outcome::done();
        }
        let got = match flow
            .netsuite
            .get_record(RecordType::SalesOrder, &RecordKey::id(erp_id.clone()))
            .await
        {
            Ok(Some(got)) => got,
            Ok(None) => return Outcome::done(),
            Err(failure) => return Outcome::failed(failure),
        };
        let lines = erp_lines(&got);
        let all_closed = !lines.is_empty() && lines.iter().all(|l| l.closed);
        if all_closed && record.order.lines.iter().any(|l| l.open_units() > 0) {
            return cancel_everywhere(&entity, &mut record, "netsuite", ctx.now);
        }
        let edits = match plan_edits(&record, &lines) {
            Ok(edits) => edits,
            Err(reason) => {
                return Outcome::Exception(ExceptionDraft::new(
                    "erp_edit_touches_shipped_units",
                    OwnerTeam::Cx,
                    format!(
                        "Order {}: an edit in NetSuite cannot be applied: {reason}. Nothing was changed in Centra.",
                        record.order.number
                    ),
                    "Shipped units can only be returned, not edited: undo the edit in NetSuite (or raise a return), then resolve.",
                ))
            }
        };
        if edits.is_empty() {
            return Outcome::done();
        }
        record.revision += 1;
        let revision = record.revision;
        let order_input = OrderInput::id(record.order.centra_id.clone());
        let mut cancels = Vec::new();
        let mut adds = Vec::new();
        for edit in &edits {
            match edit {
                Edit::Cancel { line_id, units } => {
                    let line = record.order.lines.iter().find(|l| l.line_id == *line_id);
                    cancels.push(OrderLineCancel {
                        line_id: *line_id,
                        quantity: *units as i32,
                        stock_action: CancelStockAction::ReleaseBackToWarehouse,
                        cancelled_before: line.map(|l| l.cancelled as i32).unwrap_or(0),
                    });
                }
                Edit::Add {
                    sku,
                    units,
                    unit_price,
                    ..
                } => adds.push(OrderLineAddInput {
                    size: ProductSizeInput::sku(sku.clone()),
                    quantity: *units as i32,
                    unit_price: Some(MonetaryValueInput {
                        value: *unit_price,
                        currency_iso_code: Some(record.order.currency.code().to_string()),
                    }),
                    comment: Some(format!("NetSuite edit r{revision}")),
                }),
            }
        }
        if !cancels.is_empty() {
            if let Err(failure) = flow
                .centra
                .update_order_cancel_lines(&order_input, cancels)
                .await
            {
                return refused_edit(&record, failure);
            }
        }
        let mut new_lines = Vec::new();
        if !adds.is_empty() {
            let key = format!("{}:r{revision}", record.order.centra_id);
            let answer = match flow
                .centra
                .update_order_add_lines(&order_input, &key, adds)
                .await
            {
                Ok(answer) => answer,
                Err(failure) => return refused_edit(&record, failure),
            };
            let marker = format!("seam:{key}");
            new_lines = answer
                .value
                .lines
                .iter()
                .filter(|l| l.comment.as_deref().is_some_and(|c| c.contains(&marker)))
                .map(|l| {
                    (
                        l.id,
                        l.product_size
                            .as_ref()
                            .and_then(|s| s.sku.clone())
                            .unwrap_or_default(),
                        l.quantity,
                    )
                })
                .collect();
        }
        let mut described = Vec::new();
        for edit in &edits {
            match edit {
                Edit::Cancel { line_id, units } => {
                    if let Some(line) = record
                        .order
                        .lines
                        .iter_mut()
                        .find(|l| l.line_id == *line_id)
                    {
                        line.cancelled += units;
                        described.push(format!("−{units} × {}", line.sku));
                    }
                }
                Edit::Add {
                    sku,
                    units,
                    unit_price,
                    erp_rate,
                    tax_percent,
                    erp_line,
                } => {
                    let Some(pos) = new_lines
                        .iter()
                        .position(|(_, s, q)| s == sku && *q == *units as i32)
                    else {
                        return Outcome::failed(Failure::transient(format!(
                            "Centra did not show the added line for {sku}; trying again"
                        )));
                    };
                    let (line_id, _, _) = new_lines.remove(pos);
                    record.order.lines.push(CanonicalLine {
                        line_id,
                        sku: sku.clone(),
                        product_number: String::new(),
                        quantity: *units,
                        tax_percent: *tax_percent,
                        allocation: new_line_allocation(
                            line_id,
                            sku,
                            *units,
                            *unit_price,
                            *tax_percent,
                            record.order.currency,
                        ),
                        shipped: 0,
                        cancelled: 0,
                        bundle_line: None,
                        erp_rate: Some(*erp_rate),
                    });
                    // The NetSuite line now stands for this Centra line too.
                    record.erp_lines.push((line_id, *erp_line));
                    described.push(format!("+{units} × {sku} at {unit_price}"));
                }
            }
        }
        record.erp_seen = got.last_modified_date.map(|d| d.to_rfc3339());
        let id = record.order.centra_id.clone();
        let total = record.order.current_total();
        let payload = json!({ "number": record.order.number, "revision": revision });
        Outcome::Done(Commit {
            state: vec![write_record(&entity, &record)],
            effects: vec![
                NewEffect {
                    spec: JobSpec::new(FLOW, "post_warehouse", &entity),
                    payload: payload.clone(),
                    idempotency_key: format!("warehouse-order:{id}:r{revision}"),
                },
                NewEffect {
                    spec: JobSpec::new(FLOW, "adjust_payment", &entity),
                    payload: json!({ "revision": revision, "total": total.amount.to_string() }),
                    idempotency_key: format!("authorisation:{id}:r{revision}"),
                },
            ],
            timeline: vec![step(
                &entity,
                ctx.now,
                "netsuite",
                "edited",
                format!(
                    "edit r{revision} applied to Centra: {}; new total {} {}",
                    described.join(", "),
                    total.amount,
                    total.currency
                ),
            )],
            ..Default::default()
        })
    }
}

fn refused_edit(record: &OrderRecord, failure: Failure) -> Outcome {
    if failure.class != FailureClass::Data {
        return Outcome::failed(failure);
    }
    Outcome::Exception(ExceptionDraft::new(
        "erp_edit_refused_by_centra",
        OwnerTeam::Cx,
        format!(
            "Order {}: Centra refused the edit made in NetSuite: {}",
            record.order.number, failure.message
        ),
        "Make the change in Centra by hand or undo it in NetSuite, then resolve.",
    ))
}

struct AdjustPayment(Arc<OrderFlow>);

#[async_trait]
impl JobHandler for AdjustPayment {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let entity = job.spec.entity_key.clone();
        let record = match require_record(ctx, &entity).await {
            Ok(record) => record,
            Err(outcome) => return outcome,
        };
        let Some(adyen) = &self.0.adyen else {
            return Outcome::Done(Commit {
                timeline: vec![step(
                    &entity,
                    ctx.now,
                    "seam",
                    "authorisation_unchanged",
                    "no PSP connector configured",
                )],
                ..Default::default()
            });
        };
        let releasing = job.payload.get("cancel").and_then(|c| c.as_bool()) == Some(true);
        let Some(psp) = record.order.psp_reference.clone() else {
            // A zero-value order (an exchange) has no payment to release or adjust.
            if releasing || record.order.current_total().is_zero() {
                return Outcome::Done(Commit {
                    timeline: vec![step(
                        &entity,
                        ctx.now,
                        "seam",
                        "authorisation_unchanged",
                        "the order has no PSP payment (a zero-value order): nothing to release or adjust",
                    )],
                    ..Default::default()
                });
            }
            return Outcome::failed(Failure::data("the order has no PSP reference"));
        };
        // A resubmit (rerun) adjusts to the order's total as it is now.
        let total: Decimal = job
            .payload
            .get("total")
            .filter(|_| !job.rerun)
            .and_then(|t| t.as_str())
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| record.order.current_total().amount);
        let amount = Money::new(total, record.order.currency);
        // An effect carries its key; a resubmitted refusal gets one of its
        // own, since the PSP would answer the refused key with the refusal.
        let key = job.idempotency_key.clone().unwrap_or_else(|| {
            format!(
                "authorisation:{}:exception-{}",
                record.order.centra_id,
                job.exception_id
                    .map(|id| id.to_string())
                    .unwrap_or_else(|| job.id.to_string())
            )
        });
        let key = match IdempotencyKey::new(&key) {
            Ok(key) => key,
            Err(failure) => return Outcome::failed(failure),
        };
        let reference = format!("centra-{}", record.order.number);
        if releasing {
            return match adyen.cancel(&psp, &reference, &key).await {
                Ok(receipt) => Outcome::Done(Commit {
                    timeline: vec![step(&entity, ctx.now, "adyen", "authorisation_released", format!("cancel {}", receipt.psp_reference))],
                    ..Default::default()
                }),
                Err(failure) if failure.class == FailureClass::Data => Outcome::Exception(ExceptionDraft::new(
                    "authorisation_release_refused",
                    OwnerTeam::Finance,
                    format!("Order {}: the PSP refused to release the authorisation after the cancellation: {}", record.order.number, failure.message),
                    "Cancel the payment in the Adyen customer area, then resolve.",
                )),
                Err(failure) => Outcome::failed(failure),
            };
        }
        match adyen.update_amount(&psp, &amount, None, &reference, &key).await {
            Ok(receipt) => Outcome::Done(Commit {
                timeline: vec![step(
                    &entity,
                    ctx.now,
                    "adyen",
                    "authorisation_adjusted",
                    format!("to {} {} ({})", amount.amount, amount.currency, receipt.psp_reference),
                )],
                ..Default::default()
            }),
            Err(failure) if failure.class == FailureClass::Data => Outcome::Exception(ExceptionDraft::new(
                "authorisation_adjustment_refused",
                OwnerTeam::Cx,
                format!(
                    "Order {}: the PSP refused to set the authorisation to {} {} after the edit in NetSuite: {}. Finance: the order's total and its authorisation now differ.",
                    record.order.number, amount.amount, amount.currency, failure.message
                ),
                "Ask the customer for a new payment for the difference (or undo the edit), then resolve; Finance reconciles the difference.",
            )),
            Err(failure) => Outcome::failed(failure),
        }
    }
}

/// Cancels an order in the systems other than `source`, releasing what is
/// still authorised. Shipped units stay shipped.
pub(super) fn cancel_everywhere(
    entity: &str,
    record: &mut OrderRecord,
    source: &str,
    now: Millis,
) -> Outcome {
    for line in &mut record.order.lines {
        line.cancelled = line.quantity - line.shipped;
    }
    record.stage = OrderStage::Cancelled;
    let id = record.order.centra_id.clone();
    let mut effects = vec![NewEffect {
        spec: JobSpec::new(FLOW, "cancel_warehouse", entity),
        payload: json!({}),
        idempotency_key: format!("cancel-warehouse:{id}"),
    }];
    if source != "netsuite" && record.erp_id.is_some() {
        effects.push(NewEffect {
            spec: JobSpec::new(FLOW, "cancel_erp", entity),
            payload: json!({}),
            idempotency_key: format!("cancel-erp:{id}"),
        });
    }
    if source != "centra" {
        effects.push(NewEffect {
            spec: JobSpec::new(FLOW, "cancel_centra", entity),
            payload: json!({}),
            idempotency_key: format!("cancel-centra:{id}"),
        });
    }
    effects.push(NewEffect {
        spec: JobSpec::new(FLOW, "adjust_payment", entity),
        payload: json!({ "cancel": true }),
        idempotency_key: format!("cancel-payment:{id}"),
    });
    Outcome::Done(Commit {
        state: vec![write_record(entity, record)],
        effects,
        timeline: vec![step(
            entity,
            now,
            source,
            "cancelled",
            "cancelled; carrying it to the other systems and releasing the authorisation",
        )],
        ..Default::default()
    })
}

struct CancelWarehouse(Arc<OrderFlow>);

#[async_trait]
impl JobHandler for CancelWarehouse {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let entity = job.spec.entity_key.clone();
        let record = match load_record(ctx, &entity).await {
            Ok(Some(record)) => record,
            Ok(None) => return Outcome::done(),
            Err(outcome) => return outcome,
        };
        let facts = std::collections::HashMap::new();
        let order = super::post::acs_order(flow, &record, &facts);
        match flow.warehouse.cancel_order(&order).await {
            Ok(ack) => Outcome::Done(Commit {
                timeline: vec![step(
                    &entity,
                    ctx.now,
                    "warehouse",
                    "cancelled",
                    format!("order {} v{}", ack.order_number, ack.version),
                )],
                ..Default::default()
            }),
            Err(failure) => Outcome::failed(failure),
        }
    }
}

struct CancelErp(Arc<OrderFlow>);

#[async_trait]
impl JobHandler for CancelErp {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let entity = job.spec.entity_key.clone();
        let record = match load_record(ctx, &entity).await {
            Ok(Some(record)) => record,
            Ok(None) => return Outcome::done(),
            Err(outcome) => return outcome,
        };
        let Some(erp_id) = record.erp_id else {
            return Outcome::done();
        };
        match self.0.netsuite.close_sales_order(&erp_id).await {
            Ok(got) => Outcome::Done(Commit {
                timeline: vec![step(
                    &entity,
                    ctx.now,
                    "netsuite",
                    "closed",
                    format!("sales order {} closed", got.tran_id.unwrap_or(got.id)),
                )],
                ..Default::default()
            }),
            Err(failure) => Outcome::failed(failure),
        }
    }
}

struct CancelCentra(Arc<OrderFlow>);

#[async_trait]
impl JobHandler for CancelCentra {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let entity = job.spec.entity_key.clone();
        let order = match self
            .0
            .centra
            .order_by_number(
                match entity.strip_prefix("order:").and_then(|n| n.parse().ok()) {
                    Some(number) => number,
                    None => return Outcome::failed(Failure::data("not an order entity")),
                },
            )
            .await
        {
            Ok(Some(order)) => order,
            Ok(None) => return Outcome::done(),
            Err(failure) => return Outcome::failed(failure),
        };
        let cancels: Vec<OrderLineCancel> = order
            .lines
            .iter()
            .filter(|l| l.quantity > 0)
            .map(|l| OrderLineCancel {
                line_id: l.id,
                quantity: l.quantity,
                stock_action: CancelStockAction::ReleaseBackToWarehouse,
                cancelled_before: l.cancelled_quantity,
            })
            .collect();
        if cancels.is_empty() {
            return Outcome::done();
        }
        match self
            .0
            .centra
            .update_order_cancel_lines(&OrderInput::id(order.id.clone()), cancels)
            .await
        {
            Ok(_) => Outcome::Done(Commit {
                timeline: vec![step(
                    &entity,
                    ctx.now,
                    "centra",
                    "cancelled",
                    "open lines cancelled in Centra",
                )],
                ..Default::default()
            }),
            Err(failure) => Outcome::failed(failure),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_model::mapping::ShippingService;
    use seam_model::Currency;

    fn line(line_id: i64, quantity: u32, unit: i64) -> CanonicalLine {
        CanonicalLine {
            line_id,
            sku: "SKU-1".into(),
            product_number: "P1".into(),
            quantity,
            tax_percent: Decimal::from(25),
            allocation: new_line_allocation(
                line_id,
                "SKU-1",
                quantity,
                Decimal::new(unit, 2),
                Decimal::from(25),
                Currency::EUR,
            ),
            shipped: 0,
            cancelled: 0,
            bundle_line: None,
            erp_rate: None,
        }
    }

    fn record(lines: Vec<CanonicalLine>, erp_lines: Vec<(i64, u32)>) -> OrderRecord {
        OrderRecord {
            order: super::super::canonical::CanonicalOrder {
                centra_id: "c1".into(),
                number: 1,
                currency: Currency::EUR,
                order_date: "2026-11-23".into(),
                shipping_method: None,
                address: None,
                psp_reference: None,
                lines,
                shipping: Money::zero(Currency::EUR),
                shipping_tax: Money::zero(Currency::EUR),
                grand_total: Money::zero(Currency::EUR),
            },
            stage: OrderStage::Posted,
            service: ShippingService {
                service: "48".into(),
                agent: None,
            },
            erp_id: Some("7".into()),
            erp_lines,
            warehouse_version: Some(1),
            dispatches: vec![],
            erp_seen: None,
            revision: 0,
            exchange_of: None,
        }
    }

    /// A NetSuite line at a rate net of tax (a Centra price of 49.95 at
    /// 25% is a rate of 39.96).
    fn erp(erp_line: u32, quantity: u32, unit: i64) -> ErpLine {
        ErpLine {
            erp_line,
            sku: "SKU-1".into(),
            quantity,
            rate: Decimal::new(unit, 2),
            closed: false,
        }
    }

    #[test]
    fn a_raised_quantity_is_one_added_line_and_seen_again_changes_nothing() {
        let before = record(vec![line(10, 1, 4995)], vec![(10, 1)]);
        let edits = plan_edits(&before, &[erp(1, 2, 3996)]).unwrap();
        assert!(matches!(
            edits.as_slice(),
            [Edit::Add {
                units: 1,
                erp_line: 1,
                ..
            }]
        ));
        // After the edit Centra has two lines for NetSuite line 1; the same
        // NetSuite state read again (a second event) plans nothing.
        let after = record(
            vec![line(10, 1, 4995), line(11, 1, 4995)],
            vec![(10, 1), (11, 1)],
        );
        assert_eq!(plan_edits(&after, &[erp(1, 2, 3996)]).unwrap(), vec![]);
    }

    #[test]
    fn a_lowered_quantity_cancels_the_newest_lines_first() {
        let after = record(
            vec![line(10, 1, 4995), line(11, 2, 4995)],
            vec![(10, 1), (11, 1)],
        );
        let edits = plan_edits(&after, &[erp(1, 1, 3996)]).unwrap();
        assert_eq!(
            edits,
            vec![Edit::Cancel {
                line_id: 11,
                units: 2
            }]
        );
    }

    #[test]
    fn a_price_change_on_a_shipped_line_is_refused() {
        let mut shipped = line(10, 2, 4995);
        shipped.shipped = 1;
        let before = record(vec![shipped], vec![(10, 1)]);
        assert!(plan_edits(&before, &[erp(1, 2, 3196)]).is_err());
        assert!(plan_edits(&before, &[erp(1, 0, 3996)]).is_err());
        // Lowering to the shipped units only is fine.
        assert_eq!(
            plan_edits(&before, &[erp(1, 1, 3996)]).unwrap(),
            vec![Edit::Cancel {
                line_id: 10,
                units: 1
            }]
        );
    }

    #[test]
    fn a_new_netsuite_rate_becomes_a_centra_price_with_tax_and_is_then_seen_as_unchanged() {
        let before = record(vec![line(10, 1, 4995)], vec![(10, 1)]);
        let edits = plan_edits(&before, &[erp(1, 1, 3196)]).unwrap();
        assert_eq!(
            edits,
            vec![
                Edit::Cancel {
                    line_id: 10,
                    units: 1
                },
                Edit::Add {
                    sku: "SKU-1".into(),
                    units: 1,
                    unit_price: Decimal::new(3995, 2),
                    erp_rate: Decimal::new(3196, 2),
                    tax_percent: Decimal::from(25),
                    erp_line: 1,
                }
            ]
        );
        // A rate whose price with tax rounds: the added line keeps the rate
        // it came from, so the next poll sees no change.
        let mut added = line(11, 1, 3333);
        added.erp_rate = Some(Decimal::new(2667, 2));
        let mut old = line(10, 1, 4995);
        old.cancelled = 1;
        let after = record(vec![old, added], vec![(10, 1), (11, 1)]);
        assert_eq!(plan_edits(&after, &[erp(1, 1, 2667)]).unwrap(), vec![]);
    }
}
