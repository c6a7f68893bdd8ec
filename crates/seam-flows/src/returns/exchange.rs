//! The exchange order: a returned item the customer takes in another
//! variant becomes a zero-value Centra order for the replacement, linked to
//! the original order, if Centra has it free to allocate. It then follows
//! the order flow like any order (3PL and NetSuite, exactly once). If the
//! replacement is not available, no order: an exception for CX names the
//! SKU, and its resubmit checks Centra's stock again.
//!
//! Exactly once: the order's externalId is the effect's idempotency key
//! (original order, Reveni return, item, units), and Centra is asked for an
//! order with that externalId before one is created.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use seam_connectors::centra::{
    AddressInput, CountryInput, NewDirectToConsumerOrder, OrderLineCreate,
};
use seam_engine::{
    Commit, ExceptionDraft, Failure, HandlerRegistry, Job, JobContext, JobHandler, Link, Outcome,
    TimelineEntry,
};
use seam_model::OwnerTeam;

use super::effects::{refused_or_failed, Loaded};
use super::{steps, ExchangeLine, ReturnFlow, FLOW};
use crate::orders::{order_entity, OrderRecord};

/// The link from an exchange order's number to the original order's entity.
pub const EXCHANGE_ORDER_LINK: &str = "exchange-order";
/// The link from an exchange order's key to the exchange order's own entity.
pub const EXCHANGE_FOR_LINK: &str = "exchange-for";

pub(super) fn register(flow: &Arc<ReturnFlow>, registry: &mut HandlerRegistry) {
    registry.register(
        FLOW,
        "exchange_order",
        Arc::new(ExchangeOrder(flow.clone())),
    );
}

/// The zero-value order for an exchange: the replacement priced 0, sent
/// where the original went, by the same shipping method, free of shipping.
fn exchange_request(
    record: &OrderRecord,
    case_id: &str,
    exchange: &ExchangeLine,
) -> Result<NewDirectToConsumerOrder, Failure> {
    let order = &record.order;
    let Some(address) = &order.address else {
        return Err(Failure::data(format!(
            "order {} has no delivery address to send the exchange to",
            order.number
        )));
    };
    let tax_percent = order
        .line(exchange.line_id)
        .map_or(Decimal::ZERO, |l| l.tax_percent);
    Ok(NewDirectToConsumerOrder {
        external_id: exchange.key.clone(),
        currency: order.currency.to_string(),
        customer_email: address.email.clone(),
        shipping_address: AddressInput {
            first_name: address.first_name.clone(),
            last_name: address.last_name.clone(),
            address1: address.address1.clone(),
            address2: address.address2.clone(),
            city: address.city.clone(),
            zip_code: address.postcode.clone(),
            country: CountryInput {
                code: address.country.clone(),
            },
            email: address.email.clone(),
            phone_number: address.phone.clone(),
        },
        shipping_method: order.shipping_method.clone(),
        shipping_cost: Decimal::ZERO,
        lines: vec![OrderLineCreate {
            sku: exchange.sku.clone(),
            quantity: i32::try_from(exchange.units).unwrap_or(i32::MAX),
            unit_price: Decimal::ZERO,
            tax_percent,
            comment: Some(format!(
                "Exchange for {} of order {}",
                exchange.returned_sku, order.number
            )),
        }],
        internal_comment: Some(format!(
            "Zero-value exchange for order {} (Reveni return {case_id}, item {}): {} × {} replaces the returned {}. Placed by Seam.",
            order.number, exchange.item_id, exchange.units, exchange.sku, exchange.returned_sku
        )),
    })
}

struct ExchangeOrder(Arc<ReturnFlow>);

#[async_trait]
impl JobHandler for ExchangeOrder {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let centra = &self.0.centra;
        let loaded = match Loaded::of(job, ctx).await {
            Ok(loaded) => loaded,
            Err(outcome) => return outcome,
        };
        let Some(key) = job.payload.get("key").and_then(|k| k.as_str()) else {
            return Outcome::failed(Failure::data("the job names no exchange"));
        };
        let case = loaded.case();
        let Some(exchange) = case.exchanges.iter().find(|e| e.key == key).cloned() else {
            return Outcome::failed(Failure::data(format!(
                "return {} has no exchange {key}",
                case.id
            )));
        };
        if exchange.order.is_some() {
            return Outcome::done();
        }
        let number = loaded.record.order.number;
        let case_id = case.id.clone();
        // Placed by an earlier attempt (a lost answer, a replay)?
        let existing = match centra.order_by_external_id(key).await {
            Ok(existing) => existing,
            Err(failure) => return Outcome::failed(failure),
        };
        let (placed, replayed) = match existing {
            Some(order) => (order, true),
            None => {
                // Centra's free to allocate: the cheap stock field.
                let free = match centra.free_to_allocate_total(&exchange.sku).await {
                    Ok(free) => free,
                    Err(failure) => return Outcome::failed(failure),
                };
                if free.unwrap_or(0) < i64::from(exchange.units) {
                    return unavailable(job, ctx, &loaded, &exchange, free);
                }
                let request = match exchange_request(&loaded.record, &case_id, &exchange) {
                    Ok(request) => request,
                    Err(failure) => return refused(job, ctx, &loaded, &exchange, failure),
                };
                match centra.create_direct_to_consumer_order(&request).await {
                    Ok(placed) => (placed.order, placed.replayed),
                    Err(failure) => return refused(job, ctx, &loaded, &exchange, failure),
                }
            }
        };
        let original = loaded.entity.clone();
        let new_entity = order_entity(placed.number);
        let detail = format!(
            "zero-value exchange order {} (Centra id {}): {} × {} for the returned {}, linked to order {number}{}",
            placed.number,
            placed.id,
            exchange.units,
            exchange.sku,
            exchange.returned_sku,
            if replayed { "; found from an earlier attempt" } else { "" }
        );
        let mut timeline = steps(
            &original,
            &case_id,
            ctx.now,
            "centra",
            "exchange_ordered",
            detail,
        );
        timeline.push(TimelineEntry {
            entity_key: new_entity.clone(),
            at: ctx.now,
            system: "seam".into(),
            step: "exchange_of".into(),
            detail: format!(
                "zero-value exchange for order {number}, Reveni return {case_id}: {} × {} replaces the returned {}",
                exchange.units, exchange.sku, exchange.returned_sku
            ),
        });
        let commit = Commit {
            timeline,
            links: vec![
                Link {
                    entity_key: original,
                    system: EXCHANGE_ORDER_LINK.into(),
                    external_id: placed.number.to_string(),
                },
                Link {
                    entity_key: new_entity,
                    system: EXCHANGE_FOR_LINK.into(),
                    external_id: exchange.key.clone(),
                },
            ],
            ..Default::default()
        };
        let order = (placed.number, placed.id.clone());
        loaded.done(ctx.now, commit, |case| {
            if let Some(line) = case.exchanges.iter_mut().find(|e| e.key == exchange.key) {
                line.order = Some(order);
            }
        })
    }
}

/// Not enough free to allocate (or an unknown SKU): no order, and an
/// exception for CX that does not hold the order's other work; its
/// resubmit runs this effect again, which checks stock again.
fn unavailable(
    job: &Job,
    ctx: &JobContext,
    loaded: &Loaded,
    exchange: &ExchangeLine,
    free: Option<i64>,
) -> Outcome {
    let stock = match free {
        None => format!("Centra does not know SKU {}", exchange.sku),
        Some(free) => format!(
            "Centra has {} of {} free to allocate",
            free.max(0),
            exchange.sku
        ),
    };
    let message = format!(
        "Order {}, Reveni return {}: the customer asked to exchange {} × {} for {}, but {stock}. No exchange order was placed.",
        loaded.record.order.number,
        loaded.case().id,
        exchange.units,
        exchange.returned_sku,
        exchange.sku
    );
    refused_or_failed(
        job,
        ctx,
        Failure::data(message.clone()),
        ExceptionDraft::new(
            "exchange_unavailable",
            OwnerTeam::Cx,
            message,
            format!(
                "When {} is back in stock, resubmit (rerun): Seam checks Centra's stock again and places the zero-value exchange order once. Or agree another size or a refund with the customer in Reveni, then resolve.",
                exchange.sku
            ),
        ),
    )
}

/// Centra refused the order (or it could not be built): an exception for
/// CX; transient failures are retried first.
fn refused(
    job: &Job,
    ctx: &JobContext,
    loaded: &Loaded,
    exchange: &ExchangeLine,
    failure: Failure,
) -> Outcome {
    let message = format!(
        "Order {}, Reveni return {}: the zero-value exchange order ({} × {} for the returned {}) could not be placed in Centra: {}",
        loaded.record.order.number,
        loaded.case().id,
        exchange.units,
        exchange.sku,
        exchange.returned_sku,
        failure.message
    );
    refused_or_failed(
        job,
        ctx,
        failure,
        ExceptionDraft::new(
            "exchange_order_refused",
            OwnerTeam::Cx,
            message,
            "Check the replacement SKU and the original order's address in Centra; fix and resubmit, or place the exchange order by hand and resolve.",
        ),
    )
}
