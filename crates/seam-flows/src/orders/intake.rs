//! Intake: Centra's event queue (and its webhooks, journaled by the
//! ingress), the updatedAt poll as a safety net, and the decision made when
//! an order is first seen or changes.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use seam_connectors::centra::{
    EventChangeType, EventFilter, EventListenerInput, EventObjectType, Order, OrderStatus,
};
use seam_engine::{
    Commit, Failure, HandlerRegistry, InboundEvent, Job, JobContext, JobHandler, JobSpec, Link,
    NewEffect, Outcome, StateWrite,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::canonical::canonical_order;
use super::validate::{exception_for, validate};
use super::{
    load_record, order_entity, step, store_failure, write_record, OrderFlow, OrderRecord,
    OrderStage, FLOW,
};

pub const EVENTS_ENTITY: &str = "centra-order-events";
pub const UPDATED_ENTITY: &str = "centra-orders-updated";
/// Centra's largest page of events (its `limit` accepts 1–200).
const EVENTS_PER_POLL: usize = 200;
const PAGES_PER_POLL: usize = 10;

pub(super) fn register(flow: &Arc<OrderFlow>, registry: &mut HandlerRegistry) {
    registry.register(
        FLOW,
        "poll_events",
        Arc::new(PollEvents {
            flow: flow.clone(),
            listening: AtomicBool::new(false),
            confirmed_at: AtomicI64::new(0),
            read_ahead: Default::default(),
        }),
    );
    registry.register(FLOW, "poll_updated", Arc::new(PollUpdated(flow.clone())));
    registry.register(FLOW, "order_changed", Arc::new(OrderChanged(flow.clone())));
    // Webhooks from Centra's plugin, journaled by the ingress.
    registry.register("intake", "centra_order", Arc::new(WebhookOrder));
    // The plugin also reports shipments, returns, customers and accounts.
    // Seam makes the shipments and returns itself and reads them with their
    // order: these are journaled (nothing is dropped unread) and need no work.
    for kind in [
        "centra_shipment",
        "centra_return",
        "centra_customer",
        "centra_account",
        "centra_unknown",
    ] {
        registry.register("intake", kind, Arc::new(WebhookNotice));
    }
}

/// The job an order change becomes, whatever told Seam of it.
pub fn order_changed_event(source: &str, event_id: String, number: i64) -> InboundEvent {
    InboundEvent {
        source: source.into(),
        event_id,
        payload: json!({ "number": number }),
        job: JobSpec::new(FLOW, "order_changed", order_entity(number)),
    }
}

/// The job of an event from Centra's queue: it names the event, so that it
/// can take the order the poll read for it (see `snapshots`).
fn queued_order_event(event_id: i64, number: i64) -> InboundEvent {
    let event = event_id.to_string();
    InboundEvent {
        payload: json!({ "number": number, "event": event }),
        ..order_changed_event(EVENTS_SOURCE, event, number)
    }
}

const EVENTS_SOURCE: &str = "centra-events";

struct PollEvents {
    flow: Arc<OrderFlow>,
    listening: AtomicBool,
    /// When events were last confirmed (ms), see `CONFIRM_EVERY_MS`.
    confirmed_at: AtomicI64,
    /// Events whose orders were read ahead: Centra serves an event again
    /// until it is confirmed, and its order need not be read again.
    read_ahead: std::sync::Mutex<std::collections::HashSet<i64>>,
}

/// Confirming events is a mutation, and Centra's Growth tier allows 20 per
/// 10 s for everything, each order's confirmation included. Journaled
/// events are safe (the journal dedupes a re-read, and their orders are not
/// read ahead again), so they are confirmed when half a page is waiting or
/// this long after the last confirmation, not on every poll; until then
/// Centra keeps returning them with the poll it answers anyway.
const CONFIRM_EVERY_MS: i64 = 60_000;
/// Confirm at once when this many are unconfirmed, so new events keep
/// fitting in one page.
const CONFIRM_AT: usize = 100;

impl PollEvents {
    /// Reads the orders of a page of events in one request per 100 and
    /// leaves them for the jobs of those events, before the jobs exist. A
    /// failure costs nothing but the saving: each job then reads its order.
    async fn read_ahead(&self, events: &[&seam_connectors::centra::Event]) {
        let events: Vec<_> = {
            let done = self.read_ahead.lock().unwrap_or_else(|p| p.into_inner());
            events
                .iter()
                .copied()
                .filter(|e| !done.contains(&e.id))
                .collect()
        };
        let mut numbers: Vec<i64> = events.iter().map(|e| e.object_reference).collect();
        numbers.sort_unstable();
        numbers.dedup();
        if numbers.is_empty() {
            return;
        }
        match self.flow.centra.orders_by_numbers(&numbers).await {
            Ok(orders) => {
                for order in orders {
                    let number = order.number;
                    let answered = events
                        .iter()
                        .filter(|e| e.object_reference == number)
                        .map(|e| e.id.to_string())
                        .collect();
                    self.flow.snapshots.put(number, order, answered);
                }
                let mut done = self.read_ahead.lock().unwrap_or_else(|p| p.into_inner());
                // Bounded: forgetting only costs a second read.
                if done.len() > 100_000 {
                    done.clear();
                }
                done.extend(events.iter().map(|e| e.id));
            }
            Err(failure) => {
                tracing::debug!(%failure, "reading a page of orders ahead failed; each job reads its own")
            }
        }
    }
}

#[async_trait]
impl JobHandler for PollEvents {
    async fn handle(&self, _job: &Job, ctx: &JobContext) -> Outcome {
        let centra = &self.flow.centra;
        if !self.listening.load(Ordering::Relaxed) {
            // Idempotent and additive in Centra: safe from every node.
            let listeners = [EventListenerInput {
                object_type: EventObjectType::Order,
                change_types: vec![],
            }];
            if let Err(failure) = centra.set_event_listeners(&listeners).await {
                return Outcome::failed(failure);
            }
            self.listening.store(true, Ordering::Relaxed);
        }
        let filter = EventFilter {
            object_type: vec![EventObjectType::Order],
            change_type: vec![],
        };
        // A full page means more are waiting: read on, up to a bound so one
        // job never holds the queue for long.
        for _ in 0..PAGES_PER_POLL {
            let events = match centra.events(&filter, EVENTS_PER_POLL).await {
                Ok(events) => events,
                Err(failure) => return Outcome::failed(failure),
            };
            if events.is_empty() {
                break;
            }
            let changed: Vec<_> = events
                .iter()
                .filter(|e| e.change_type != EventChangeType::Deleted)
                .collect();
            self.read_ahead(&changed).await;
            let inbound: Vec<InboundEvent> = changed
                .iter()
                .map(|e| queued_order_event(e.id, e.object_reference))
                .collect();
            // Journaled before Centra is told they were read: nothing is lost if
            // this process dies in between (the events come again and dedupe).
            if let Err(error) = ctx.store.ingest(&inbound, ctx.now).await {
                return store_failure(error);
            }
            let due = ctx.now - self.confirmed_at.load(Ordering::Relaxed) >= CONFIRM_EVERY_MS;
            if events.len() < CONFIRM_AT && !due {
                break;
            }
            let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
            if let Err(failure) = centra.confirm_events(&ids).await {
                return Outcome::failed(failure);
            }
            {
                // Confirmed events are not served again.
                let mut done = self.read_ahead.lock().unwrap_or_else(|p| p.into_inner());
                for id in &ids {
                    done.remove(id);
                }
            }
            self.confirmed_at.store(ctx.now, Ordering::Relaxed);
            if events.len() < EVENTS_PER_POLL {
                break;
            }
        }
        Outcome::done()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct UpdatedCursor {
    since: Option<DateTime<Utc>>,
}

struct PollUpdated(Arc<OrderFlow>);

#[async_trait]
impl JobHandler for PollUpdated {
    async fn handle(&self, _job: &Job, ctx: &JobContext) -> Outcome {
        let cursor: UpdatedCursor = match ctx.store.entity_state(UPDATED_ENTITY, FLOW).await {
            Ok(Some(state)) => serde_json::from_value(state.state).unwrap_or_default(),
            Ok(None) => UpdatedCursor::default(),
            Err(error) => return store_failure(error),
        };
        // The first run looks back a day; later runs from the newest change seen.
        let since = cursor.since.unwrap_or_else(|| {
            DateTime::<Utc>::from_timestamp_millis(ctx.now).unwrap_or_default()
                - chrono::Duration::days(1)
        });
        let mut newest = since;
        let mut after: Option<String> = None;
        let mut inbound = Vec::new();
        for _ in 0..20 {
            let page = match self
                .0
                .centra
                .orders_updated_since(since, 100, after.as_deref())
                .await
            {
                Ok(page) => page,
                Err(failure) => return Outcome::failed(failure),
            };
            for order in &page.orders {
                let updated = order.updated_at.with_timezone(&Utc);
                newest = newest.max(updated);
                inbound.push(order_changed_event(
                    "centra-updated",
                    format!("{}:{}", order.id, updated.timestamp()),
                    order.number,
                ));
            }
            if !page.has_next_page {
                break;
            }
            after = page.end_cursor;
        }
        if let Err(error) = ctx.store.ingest(&inbound, ctx.now).await {
            return store_failure(error);
        }
        Outcome::Done(Commit {
            state: vec![StateWrite {
                entity_key: UPDATED_ENTITY.into(),
                flow: FLOW.into(),
                state: json!(UpdatedCursor {
                    since: Some(newest)
                }),
            }],
            ..Default::default()
        })
    }
}

/// A Centra webhook about an order: the id Centra sends is the order's
/// number for orders (as in the event queue), so it joins the order's entity.
struct WebhookOrder;

#[async_trait]
impl JobHandler for WebhookOrder {
    async fn handle(&self, job: &Job, _ctx: &JobContext) -> Outcome {
        let Some(number) = job.payload.get("id").and_then(|v| v.as_i64()) else {
            return Outcome::failed(Failure::data("the Centra webhook has no order id"));
        };
        Outcome::Done(Commit {
            follow_ups: vec![seam_engine::NewJob {
                spec: JobSpec::new(FLOW, "order_changed", order_entity(number)),
                payload: json!({ "number": number }),
            }],
            ..Default::default()
        })
    }
}

/// A Centra webhook about something other than an order.
struct WebhookNotice;

#[async_trait]
impl JobHandler for WebhookNotice {
    async fn handle(&self, _job: &Job, _ctx: &JobContext) -> Outcome {
        Outcome::done()
    }
}

struct OrderChanged(Arc<OrderFlow>);

#[async_trait]
impl JobHandler for OrderChanged {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let Some(number) = job.payload.get("number").and_then(|v| v.as_i64()) else {
            return Outcome::failed(Failure::data("the job names no Centra order number"));
        };
        let entity = order_entity(number);
        let record = match load_record(ctx, &entity).await {
            Ok(record) => record,
            Err(outcome) => return outcome,
        };
        // The order as the events poll read it for this event, or as Centra
        // has it now.
        let snapshot = job
            .payload
            .get("event")
            .and_then(|e| e.as_str())
            .and_then(|event| self.0.snapshots.take(number, event));
        let read = match snapshot {
            Some(order) => Ok(Some(order)),
            None => self.0.centra.order_by_number(number).await,
        };
        let order = match read {
            Ok(Some(order)) => order,
            Ok(None) => {
                return Outcome::failed(Failure::data(format!(
                    "Centra has no order number {number}"
                )))
            }
            Err(failure) => return Outcome::failed(failure),
        };
        match record {
            None => self.first_seen(&entity, &order, ctx).await,
            Some(record) => changed(&entity, record, &order, ctx),
        }
    }
}

impl OrderChanged {
    async fn first_seen(&self, entity: &str, order: &Order, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        if matches!(order.status, OrderStatus::Cancelled) {
            return Outcome::Done(Commit {
                timeline: vec![step(
                    entity,
                    ctx.now,
                    "centra",
                    "ignored",
                    "cancelled before Seam first saw it: nothing to post",
                )],
                ..Default::default()
            });
        }
        let canonical = match canonical_order(order) {
            Ok(canonical) => canonical,
            Err(error) => {
                return Outcome::Exception(seam_engine::ExceptionDraft::new(
                    "order_money_invalid",
                    seam_model::OwnerTeam::Finance,
                    format!(
                        "Order {} ({}): its amounts cannot be allocated: {error}",
                        order.number, order.id
                    ),
                    "Check the order's totals in Centra; once corrected, resubmit.",
                ))
            }
        };
        let mappings = match flow.mappings.current(ctx.store.as_ref()).await {
            Ok(mappings) => mappings,
            Err(failure) => return Outcome::failed(failure),
        };
        let wanted = canonical.sku_products();
        let products = match flow
            .products
            .facts(&flow.centra, &flow.rules, &wanted)
            .await
        {
            Ok(products) => products,
            Err(failure) => return Outcome::failed(failure),
        };
        let service = match validate(&canonical, &mappings, &products, &flow.rules) {
            Ok(service) => service,
            Err(problems) => return Outcome::Exception(exception_for(&canonical, &problems)),
        };
        // A zero-value exchange Seam placed for a return names its original.
        let exchange_of = match order
            .external_id
            .as_deref()
            .and_then(crate::returns::parse_exchange_external_id)
        {
            Some((original_centra_id, return_id)) => {
                let original_number = match ctx
                    .store
                    .find_link("centra-order", &original_centra_id)
                    .await
                {
                    Ok(entity) => entity
                        .and_then(|e| e.strip_prefix("order:").and_then(|n| n.parse::<i64>().ok())),
                    Err(error) => return store_failure(error),
                };
                Some(super::ExchangeOrigin {
                    original_centra_id,
                    original_number,
                    return_id,
                })
            }
            None => None,
        };
        let record = OrderRecord {
            stage: OrderStage::Posting,
            service,
            erp_id: None,
            erp_lines: Vec::new(),
            warehouse_version: None,
            dispatches: Vec::new(),
            erp_seen: None,
            revision: 0,
            exchange_of,
            order: canonical,
        };
        let id = &record.order.centra_id;
        let payload = json!({ "number": order.number });
        Outcome::Done(Commit {
            state: vec![write_record(entity, &record)],
            effects: vec![
                NewEffect {
                    spec: JobSpec::new(FLOW, "post_warehouse", entity),
                    payload: payload.clone(),
                    idempotency_key: format!("warehouse-order:{id}"),
                },
                NewEffect {
                    spec: JobSpec::new(FLOW, "post_erp", entity),
                    payload,
                    idempotency_key: format!("erp-order:{id}"),
                },
            ],
            links: [
                Some(Link {
                    entity_key: entity.to_string(),
                    system: "centra-order".into(),
                    external_id: id.clone(),
                }),
                Some(Link {
                    entity_key: entity.to_string(),
                    system: "centra-order-number".into(),
                    external_id: order.number.to_string(),
                }),
                // The PSP's notifications name the payment, not the order.
                record.order.psp_reference.clone().map(|psp| Link {
                    entity_key: entity.to_string(),
                    system: super::payments::PAYMENT_LINK.into(),
                    external_id: psp,
                }),
            ]
            .into_iter()
            .flatten()
            .collect(),
            timeline: vec![step(
                entity,
                ctx.now,
                "seam",
                "validated",
                format!(
                    "{} lines, {} {}; shipping '{}' → {}; posting to the warehouse and the ERP{}",
                    record.order.lines.len(),
                    record.order.grand_total.amount,
                    record.order.currency,
                    record.order.shipping_method.as_deref().unwrap_or(""),
                    record.service,
                    record
                        .exchange_of
                        .as_ref()
                        .map(|x| format!(
                            " (zero-value exchange for {}, Reveni return {})",
                            x.original(),
                            x.return_id
                        ))
                        .unwrap_or_default()
                ),
            )],
            ..Default::default()
        })
    }
}

/// A later change in Centra. A cancellation is carried to the others;
/// anything else Centra changes on its own (payment entries, its status
/// following shipments) needs nothing from Seam.
fn changed(entity: &str, mut record: OrderRecord, order: &Order, ctx: &JobContext) -> Outcome {
    if matches!(order.status, OrderStatus::Cancelled) && record.stage != OrderStage::Cancelled {
        return super::edits::cancel_everywhere(entity, &mut record, "centra", ctx.now);
    }
    Outcome::done()
}
