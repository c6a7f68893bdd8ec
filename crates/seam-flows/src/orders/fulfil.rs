//! Fulfilment: a warehouse dispatch, partial or whole, becomes a Centra
//! shipment of exactly those lines with carrier and tracking (captured, and
//! completed so Centra tells the customer) and a NetSuite item fulfilment of
//! the same lines. The order stays open until every line has shipped or was
//! cancelled.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use seam_connectors::centra::{
    CaptureOutcome, OrderInput, ShipmentCompletion, ShipmentInfoInput, ShipmentRequest,
};
use seam_connectors::netsuite::FulfilmentLine;
use seam_connectors::warehouse::{DispatchConfirmation, Message, MessageBody};
use seam_engine::{
    Commit, ExceptionDraft, Failure, FailureClass, HandlerRegistry, Job, JobContext, JobHandler,
    JobSpec, Link, NewEffect, NewJob, Outcome,
};
use seam_model::OwnerTeam;
use serde_json::json;

use super::canonical::share_of_units;
use super::{
    load_record, order_entity, require_record, step, write_record, DispatchRecord, OrderFlow,
    OrderStage, FLOW, FULFILMENT_FLOW,
};

pub(super) fn register(flow: &Arc<OrderFlow>, registry: &mut HandlerRegistry) {
    registry.register(
        FULFILMENT_FLOW,
        "dispatch_confirmation",
        Arc::new(RouteDispatch),
    );
    registry.register(FLOW, "dispatched", Arc::new(Dispatched));
    registry.register(
        FLOW,
        "centra_shipment",
        Arc::new(CentraShipment(flow.clone())),
    );
    registry.register(
        FLOW,
        "erp_fulfilment",
        Arc::new(ErpFulfilment(flow.clone())),
    );
}

/// A dispatch message from the feed joins its order's entity, so it is
/// ordered with everything else that happens to the order.
struct RouteDispatch;

#[async_trait]
impl JobHandler for RouteDispatch {
    async fn handle(&self, job: &Job, _ctx: &JobContext) -> Outcome {
        let message: Message = match serde_json::from_value(job.payload.clone()) {
            Ok(message) => message,
            Err(error) => {
                return Outcome::failed(Failure::data(format!(
                    "the warehouse dispatch message does not decode: {error}"
                )))
            }
        };
        let MessageBody::DispatchConfirmation(dispatch) = message.body else {
            return Outcome::failed(Failure::data("the message is not a dispatch confirmation"));
        };
        let Ok(number) = dispatch.order_number.trim().parse::<i64>() else {
            return Outcome::Exception(ExceptionDraft::new(
                "dispatch_for_unknown_order",
                OwnerTeam::Ops,
                format!(
                    "The warehouse dispatched order '{}', which is not a Centra order number Seam posted.",
                    dispatch.order_number
                ),
                "Check the order in the warehouse portal; if it was keyed by hand, ship it in Centra by hand.",
            ));
        };
        Outcome::Done(Commit {
            follow_ups: vec![NewJob {
                spec: JobSpec::new(FLOW, "dispatched", order_entity(number)),
                payload: json!(dispatch),
            }],
            ..Default::default()
        })
    }
}

struct Dispatched;

#[async_trait]
impl JobHandler for Dispatched {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let entity = job.spec.entity_key.clone();
        let dispatch: DispatchConfirmation = match serde_json::from_value(job.payload.clone()) {
            Ok(dispatch) => dispatch,
            Err(error) => {
                return Outcome::failed(Failure::data(format!(
                    "the dispatch does not decode: {error}"
                )))
            }
        };
        let Some(mut record) = (match load_record(ctx, &entity).await {
            Ok(record) => record,
            Err(outcome) => return outcome,
        }) else {
            return Outcome::Exception(ExceptionDraft::new(
                "dispatch_for_unknown_order",
                OwnerTeam::Ops,
                format!(
                    "The warehouse dispatched order {} ({}), which Seam never posted.",
                    dispatch.order_number, dispatch.dispatch_id
                ),
                "Check the order in the warehouse portal; ship it in Centra by hand if it was keyed there by hand.",
            ));
        };
        if record
            .dispatches
            .iter()
            .any(|d| d.dispatch_id == dispatch.dispatch_id)
        {
            return Outcome::done();
        }
        let mut lines = Vec::new();
        let mut value = Decimal::ZERO;
        for dispatched in &dispatch.lines {
            let Some(line) = dispatched
                .line_item_id
                .parse::<i64>()
                .ok()
                .and_then(|id| record.order.lines.iter_mut().find(|l| l.line_id == id))
            else {
                return Outcome::Exception(ExceptionDraft::new(
                    "dispatch_line_unknown",
                    OwnerTeam::Ops,
                    format!(
                        "Dispatch {} of order {} names line {} ({}), which the order does not have.",
                        dispatch.dispatch_id, record.order.number, dispatched.line_item_id, dispatched.sku
                    ),
                    "Check the dispatch in the warehouse portal against the order.",
                ));
            };
            let units = u32::try_from(dispatched.quantity).unwrap_or(u32::MAX);
            if units > line.open_units() {
                return Outcome::Exception(ExceptionDraft::new(
                    "dispatch_exceeds_order",
                    OwnerTeam::Ops,
                    format!(
                        "Dispatch {} of order {} ships {} × {}, but only {} are open on that line.",
                        dispatch.dispatch_id,
                        record.order.number,
                        units,
                        line.sku,
                        line.open_units()
                    ),
                    "Check the dispatch in the warehouse portal; nothing was shipped in Centra.",
                ));
            }
            // The shipped units take the next shares of the line, by the same
            // rule returns use, so shipped value and refunds always agree.
            value += share_of_units(line.allocation.paid, line.quantity, line.shipped + units)
                - share_of_units(line.allocation.paid, line.quantity, line.shipped);
            line.shipped += units;
            lines.push((line.line_id, units));
        }
        let includes_shipping = record.dispatches.is_empty();
        if includes_shipping {
            value += record.order.shipping.amount;
        }
        record.dispatches.push(DispatchRecord {
            dispatch_id: dispatch.dispatch_id.clone(),
            lines: lines.clone(),
            carrier: dispatch.carrier.clone(),
            service: dispatch.service.clone(),
            tracking_number: dispatch.tracking_number.clone(),
            value,
            includes_shipping,
        });
        record.settle_stage();
        let id = record.order.centra_id.clone();
        let payload = json!({ "dispatch_id": dispatch.dispatch_id });
        Outcome::Done(Commit {
            state: vec![write_record(&entity, &record)],
            effects: vec![
                NewEffect {
                    spec: JobSpec::new(FLOW, "centra_shipment", &entity),
                    payload: payload.clone(),
                    idempotency_key: format!("centra-shipment:{id}:{}", dispatch.dispatch_id),
                },
                NewEffect {
                    spec: JobSpec::new(FLOW, "erp_fulfilment", &entity),
                    payload,
                    idempotency_key: format!("erp-fulfilment:{id}:{}", dispatch.dispatch_id),
                },
            ],
            links: vec![Link {
                entity_key: entity.clone(),
                system: "tracking-number".into(),
                external_id: dispatch.tracking_number.clone(),
            }],
            timeline: vec![step(
                &entity,
                ctx.now,
                "warehouse",
                "dispatched",
                format!(
                    "{} ({} {}, tracking {}): {} unit(s) worth {} {}{}; order {}",
                    dispatch.dispatch_id,
                    dispatch.carrier,
                    dispatch.service,
                    dispatch.tracking_number,
                    lines.iter().map(|(_, u)| u).sum::<u32>(),
                    value,
                    record.order.currency,
                    if includes_shipping {
                        " incl. shipping"
                    } else {
                        ""
                    },
                    match record.stage {
                        OrderStage::Shipped => "fully shipped",
                        _ => "still open",
                    }
                ),
            )],
            ..Default::default()
        })
    }
}

fn dispatch_of<'a>(
    record: &'a super::OrderRecord,
    job: &Job,
) -> Result<&'a DispatchRecord, Box<Outcome>> {
    let id = job
        .payload
        .get("dispatch_id")
        .and_then(|d| d.as_str())
        .unwrap_or_default();
    record
        .dispatches
        .iter()
        .find(|d| d.dispatch_id == id)
        .ok_or_else(|| {
            Box::new(Outcome::failed(Failure::data(format!(
                "no dispatch {id} on the order"
            ))))
        })
}

struct CentraShipment(Arc<OrderFlow>);

#[async_trait]
impl JobHandler for CentraShipment {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let entity = job.spec.entity_key.clone();
        let record = match require_record(ctx, &entity).await {
            Ok(record) => record,
            Err(outcome) => return outcome,
        };
        let dispatch = match dispatch_of(&record, job) {
            Ok(dispatch) => dispatch,
            Err(outcome) => return *outcome,
        };
        let mut lines = dispatch.lines.clone();
        // A bundle line is shipped in Centra with the dispatch that completes
        // its components.
        let mut bundles: Vec<(i64, u32)> = Vec::new();
        for (line_id, _) in &dispatch.lines {
            if let Some(bundle) = record.order.line(*line_id).and_then(|l| l.bundle_line) {
                let complete = record
                    .order
                    .lines
                    .iter()
                    .filter(|l| l.bundle_line == Some(bundle))
                    .all(|l| l.open_units() == 0);
                if complete && !bundles.contains(&bundle) {
                    bundles.push(bundle);
                }
            }
        }
        lines.extend(bundles.iter().map(|(id, units)| (*id, *units)));
        let key = job.idempotency_key.clone().unwrap_or_else(|| {
            format!(
                "centra-shipment:{}:{}",
                record.order.centra_id, dispatch.dispatch_id
            )
        });
        // An order nobody paid for (a zero-value exchange) has nothing to
        // capture and no PSP payment: its shipment is marked paid instead.
        let zero_value = record.order.grand_total.is_zero();
        let request = ShipmentRequest {
            order: OrderInput::id(record.order.centra_id.clone()),
            lines: lines.iter().map(|(id, q)| (*id, *q as i32)).collect(),
            capture: !zero_value,
            is_paid: zero_value,
            is_good_to_go: true,
            send_email: false,
            idempotency_key: key,
            shipment_info: Some(ShipmentInfoInput {
                carrier: Some(dispatch.carrier.clone()),
                service: Some(dispatch.service.clone()),
                packages_number: Some(1),
                tracking_number: Some(dispatch.tracking_number.clone()),
                return_tracking_number: None,
            }),
        };
        let created = match flow.centra.create_shipment(&request).await {
            Ok(created) => created,
            Err(failure) => return Outcome::failed(failure),
        };
        let shipment = created.shipment.clone();
        let mut timeline = Vec::new();
        let captured = match created.capture {
            CaptureOutcome::Captured { value } => value.map(|v| v.value),
            CaptureOutcome::NotRequested => None,
            CaptureOutcome::Failed { warnings } => {
                // Centra does not fail createShipment when the capture fails:
                // the shipment exists uncaptured. Capture it now; if the PSP
                // still refuses, retry later and in the end raise it.
                let reason: Vec<String> = warnings.iter().map(|w| w.message.clone()).collect();
                timeline.push(step(
                    &entity,
                    ctx.now,
                    "centra",
                    "capture_failed",
                    format!("shipment {}: {}", shipment.number, reason.join("; ")),
                ));
                match flow.centra.capture_shipment(shipment.id).await {
                    Ok(answer) => answer.value.captured_value.map(|v| v.value),
                    Err(failure) => {
                        let exception = ExceptionDraft::new(
                            "capture_failed",
                            OwnerTeam::Finance,
                            format!(
                                "Order {}: shipment {} is shipped but its payment of {} {} is not captured: {}",
                                record.order.number,
                                shipment.number,
                                dispatch.value,
                                record.order.currency,
                                failure.message
                            ),
                            "Check the payment in Adyen (authorisation expired or refused?); capture the shipment in Centra, then resolve, or resubmit to try again.",
                        );
                        let failure = if failure.class == FailureClass::Data {
                            // A refusal can be temporary at the PSP: retried with backoff.
                            Failure::transient(failure.message)
                        } else {
                            failure
                        };
                        return Outcome::Failed {
                            failure,
                            exception: Some(exception),
                        };
                    }
                }
            }
        };
        if !shipment.is_shipped {
            let completion = ShipmentCompletion {
                carrier: Some(dispatch.carrier.clone()),
                service: Some(dispatch.service.clone()),
                tracking_number: Some(dispatch.tracking_number.clone()),
                return_tracking_number: None,
                packages_number: Some(1),
                send_email: true,
                shipped_at: None,
            };
            if let Err(failure) = flow
                .centra
                .complete_shipment(shipment.id, &completion)
                .await
            {
                return Outcome::Failed {
                    failure,
                    exception: Some(ExceptionDraft::new(
                        "shipment_not_completed",
                        OwnerTeam::Ops,
                        format!(
                            "Order {}: shipment {} exists and is captured but could not be completed; the customer has not been told.",
                            record.order.number, shipment.number
                        ),
                        "Complete the shipment in Centra with the tracking number, or resubmit.",
                    )),
                };
            }
        }
        let mut exceptions = Vec::new();
        let captured_text = match captured {
            Some(value) if value > dispatch.value => {
                exceptions.push(seam_engine::NewException {
                    exception_type: "captured_more_than_shipped".into(),
                    owner: OwnerTeam::Finance,
                    spec: JobSpec::new(FLOW, "centra_shipment", &entity),
                    message: format!(
                        "Order {}: shipment {} captured {value} {}, but the shipped units are worth {} by Seam's allocation.",
                        record.order.number, shipment.number, record.order.currency, dispatch.value
                    ),
                    fix_hint: "Refund the difference in Adyen, or resolve with a comment if the difference is agreed.".into(),
                    payload: job.payload.clone(),
                    attempts: 1,
                });
                format!("captured {value} (expected {})", dispatch.value)
            }
            Some(value) => format!("captured {value} of {} shipped", dispatch.value),
            None if zero_value => "a zero-value order: marked paid, nothing to capture".into(),
            None => "nothing captured".into(),
        };
        timeline.push(step(
            &entity,
            ctx.now,
            "centra",
            "shipped",
            format!(
                "shipment {} with {} line(s), tracking {}; {captured_text}{}",
                shipment.number,
                lines.len(),
                dispatch.tracking_number,
                if created.replayed {
                    " (found from an earlier attempt)"
                } else {
                    ""
                }
            ),
        ));
        // Completing the shipment lowered Centra's physical stock by the
        // units shipped, which the warehouse's dispatch had already taken
        // out of the sellable units Seam sets: the SKUs are set again, or
        // Centra would stay that many units short (below zero, even) until
        // some other movement of the SKU.
        let marks = if flow.settings.stock_flow_on {
            crate::stock::repush_marks(
                dispatch
                    .lines
                    .iter()
                    .filter_map(|(line_id, _)| record.order.line(*line_id))
                    .map(|line| line.sku.as_str()),
            )
        } else {
            Vec::new()
        };
        Outcome::Done(Commit {
            timeline,
            exceptions,
            marks,
            links: vec![Link {
                entity_key: entity.clone(),
                system: "centra-shipment".into(),
                external_id: shipment.number.clone(),
            }],
            ..Default::default()
        })
    }
}

struct ErpFulfilment(Arc<OrderFlow>);

#[async_trait]
impl JobHandler for ErpFulfilment {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let entity = job.spec.entity_key.clone();
        let record = match require_record(ctx, &entity).await {
            Ok(record) => record,
            Err(outcome) => return outcome,
        };
        let dispatch = match dispatch_of(&record, job) {
            Ok(dispatch) => dispatch,
            Err(outcome) => return *outcome,
        };
        let Some(erp_id) = record.erp_id.clone() else {
            // The sales order is not posted yet: it is queued ahead of this
            // job on the same order, so this is only a late retry.
            return Outcome::failed(Failure::transient("the sales order is not in NetSuite yet"));
        };
        let mut lines = Vec::new();
        for (line_id, units) in &dispatch.lines {
            let Some(erp_line) = record.erp_line(*line_id) else {
                return Outcome::failed(Failure::data(format!(
                    "line {line_id} has no NetSuite line"
                )));
            };
            lines.push(FulfilmentLine {
                order_line: erp_line,
                quantity: Decimal::from(*units),
                location: None,
            });
        }
        let external = format!("fulfil-{}-{}", record.order.centra_id, dispatch.dispatch_id)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect::<String>();
        let fulfilment = match flow.netsuite.fulfil(&erp_id, &external, &lines).await {
            Ok(fulfilment) => fulfilment,
            Err(failure) if seam_connectors::netsuite::is_duplicate(&failure) => {
                return Outcome::Done(Commit {
                    timeline: vec![step(
                        &entity,
                        ctx.now,
                        "netsuite",
                        "fulfilled",
                        format!("item fulfilment {external} was already there"),
                    )],
                    ..Default::default()
                })
            }
            Err(failure) if failure.class == FailureClass::Data => {
                return Outcome::Exception(ExceptionDraft::new(
                    "erp_fulfilment_refused",
                    OwnerTeam::Finance,
                    format!(
                        "NetSuite refused the item fulfilment of dispatch {} on order {}: {}",
                        dispatch.dispatch_id, record.order.number, failure.message
                    ),
                    "Check the sales order in NetSuite (closed? lines edited?), then resubmit.",
                ))
            }
            Err(failure) => return Outcome::failed(failure),
        };
        Outcome::Done(Commit {
            links: vec![Link {
                entity_key: entity.clone(),
                system: "netsuite-item-fulfillment".into(),
                external_id: fulfilment.id.clone(),
            }],
            timeline: vec![step(
                &entity,
                ctx.now,
                "netsuite",
                "fulfilled",
                format!(
                    "item fulfilment {} for dispatch {} ({} line(s))",
                    fulfilment.tran_id.as_deref().unwrap_or(&fulfilment.id),
                    dispatch.dispatch_id,
                    lines.len()
                ),
            )],
            ..Default::default()
        })
    }
}
