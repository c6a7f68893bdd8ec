//! Posting a validated order to the warehouse and to NetSuite, each read
//! back and compared with what was meant before it counts as done.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use seam_connectors::netsuite::{
    RecordKey, RecordType, Reference, SalesOrder, SalesOrderLine, Sublist, Transaction,
};
use seam_connectors::warehouse::{AcsOrder, AcsOrderItem, OrderView};
use seam_engine::{
    Commit, ExceptionDraft, FailureClass, HandlerRegistry, Job, JobContext, JobHandler, Link,
    Outcome,
};
use seam_model::OwnerTeam;

use super::{
    erp_external_id, require_record, step, write_record, OrderFlow, OrderRecord, OrderStage, FLOW,
};

pub(super) fn register(flow: &Arc<OrderFlow>, registry: &mut HandlerRegistry) {
    registry.register(
        FLOW,
        "post_warehouse",
        Arc::new(PostWarehouse(flow.clone())),
    );
    registry.register(FLOW, "post_erp", Arc::new(PostErp(flow.clone())));
}

/// The warehouse's order number: the Centra order number, which is what
/// Ops and customers quote.
pub(crate) fn warehouse_order_number(record: &OrderRecord) -> String {
    record.order.number.to_string()
}

/// The order as the warehouse takes it: the open units of each line
/// (shipped units stay on their lines, so dispatches still match them).
pub(crate) fn acs_order(
    flow: &OrderFlow,
    record: &OrderRecord,
    facts: &std::collections::HashMap<String, Option<seam_model::product::ProductFacts>>,
) -> AcsOrder {
    let order = &record.order;
    let address = order
        .address
        .clone()
        .unwrap_or_else(|| super::canonical::DeliveryAddress {
            first_name: String::new(),
            last_name: String::new(),
            address1: String::new(),
            address2: None,
            city: String::new(),
            postcode: String::new(),
            country: String::new(),
            email: None,
            phone: None,
        });
    AcsOrder {
        account_code: flow.warehouse.account_code().to_string(),
        order_number: warehouse_order_number(record),
        order_date: order.order_date.clone(),
        first_name: address.first_name,
        last_name: address.last_name,
        mobile_phone: address.phone,
        email: address.email,
        address1: address.address1,
        address2: address.address2,
        address3: None,
        address4: Some(address.country),
        city: address.city,
        county: None,
        postcode: address.postcode,
        delivery_service: record.service.service.clone(),
        delivery_agent: record.service.agent.clone().unwrap_or_default(),
        delivery_charge: Some(order.shipping.amount),
        comments: None,
        order_cancelled: record.stage == OrderStage::Cancelled,
        order_items: order
            .lines
            .iter()
            .filter(|l| l.quantity > l.cancelled)
            .map(|l| {
                let facts = facts.get(&l.sku).cloned().flatten();
                let refurbished = facts.as_ref().is_some_and(|f| flow.rules.is_refurbished(f));
                let units = l.quantity - l.cancelled;
                AcsOrderItem {
                    line_item_id: l.line_id.to_string(),
                    garment_sku: l.sku.clone(),
                    is_hire: false,
                    item_price: (l.allocation.paid.amount / Decimal::from(l.quantity.max(1)))
                        .round_dp(2),
                    item_quantity: u64::from(units),
                    item_condition: facts
                        .as_ref()
                        .filter(|_| refurbished)
                        .and_then(|f| f.item_condition.clone()),
                    grade: facts
                        .as_ref()
                        .filter(|_| refurbished)
                        .and_then(|f| f.grade.clone()),
                }
            })
            .collect(),
    }
}

/// What the read-back must show: every line with its units and the service.
fn warehouse_differences(sent: &AcsOrder, view: &OrderView) -> Vec<String> {
    let mut differences = Vec::new();
    if view.delivery_service != sent.delivery_service {
        differences.push(format!(
            "service {} instead of {}",
            view.delivery_service, sent.delivery_service
        ));
    }
    if view.order_cancelled != sent.order_cancelled {
        differences.push(format!("cancelled is {}", view.order_cancelled));
    }
    for item in &sent.order_items {
        match view
            .order_items
            .iter()
            .find(|v| v.line_item_id == item.line_item_id)
        {
            None => differences.push(format!("line {} is missing", item.line_item_id)),
            Some(v)
                if v.garment_sku != item.garment_sku || v.item_quantity != item.item_quantity =>
            {
                differences.push(format!(
                    "line {}: {} × {} instead of {} × {}",
                    item.line_item_id,
                    v.item_quantity,
                    v.garment_sku,
                    item.item_quantity,
                    item.garment_sku
                ))
            }
            Some(_) => {}
        }
    }
    if view.order_items.len() != sent.order_items.len() {
        differences.push(format!(
            "{} lines instead of {}",
            view.order_items.len(),
            sent.order_items.len()
        ));
    }
    differences
}

pub(crate) fn sync_illusion(system: &str, number: i64, differences: &[String]) -> ExceptionDraft {
    ExceptionDraft::new(
        "sync_illusion",
        OwnerTeam::Engineering,
        format!(
            "Order {number}: {system} accepted the write but reads back differently: {}.",
            differences.join("; ")
        ),
        format!("Compare the order in {system} with Seam's trace (seam trace {number}); correct it in {system} or resubmit to write it again."),
    )
}

struct PostWarehouse(Arc<OrderFlow>);

#[async_trait]
impl JobHandler for PostWarehouse {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let entity = job.spec.entity_key.clone();
        let mut record = match require_record(ctx, &entity).await {
            Ok(record) => record,
            Err(outcome) => return outcome,
        };
        let wanted = record.order.sku_products();
        let facts = match flow
            .products
            .facts(&flow.centra, &flow.rules, &wanted)
            .await
        {
            Ok(facts) => facts,
            Err(failure) => return Outcome::failed(failure),
        };
        let sent = acs_order(flow, &record, &facts);
        let ack = match flow.warehouse.put_order(&sent).await {
            Ok(ack) => ack,
            Err(failure) if failure.class == FailureClass::Data => {
                return Outcome::Exception(ExceptionDraft::new(
                    "warehouse_refused_order",
                    OwnerTeam::Ops,
                    format!(
                        "The warehouse refused order {}: {}",
                        record.order.number, failure.message
                    ),
                    "Fix what the warehouse names (mapping, product attribute or address), then resubmit.",
                ))
            }
            Err(failure) => return Outcome::failed(failure),
        };
        let view = match flow.warehouse.get_order(&sent.order_number).await {
            Ok(Some(view)) => view,
            Ok(None) => {
                return Outcome::Exception(sync_illusion(
                    "the warehouse",
                    record.order.number,
                    &["the order is not there".into()],
                ))
            }
            Err(failure) => return Outcome::failed(failure),
        };
        let differences = warehouse_differences(&sent, &view);
        if !differences.is_empty() {
            return Outcome::Exception(sync_illusion(
                "the warehouse",
                record.order.number,
                &differences,
            ));
        }
        // The warehouse has it: confirm it in Centra (PENDING → CONFIRMED),
        // which Centra requires before shipments. Replay-safe.
        let order_input = seam_connectors::centra::OrderInput::id(record.order.centra_id.clone());
        if let Err(failure) = flow.centra.confirm_order(&order_input, false).await {
            return Outcome::failed(failure);
        }
        record.warehouse_version = Some(ack.version);
        if record.stage == OrderStage::Posting && record.erp_id.is_some() {
            record.stage = OrderStage::Posted;
        }
        Outcome::Done(Commit {
            state: vec![write_record(&entity, &record)],
            links: vec![Link {
                entity_key: entity.clone(),
                system: "warehouse-order".into(),
                external_id: sent.order_number.clone(),
            }],
            timeline: vec![step(
                &entity,
                ctx.now,
                "warehouse",
                "posted",
                format!(
                    "order {} v{} ({}), {} lines, read back and matching",
                    sent.order_number,
                    ack.version,
                    ack.status,
                    sent.order_items.len()
                ),
            )],
            ..Default::default()
        })
    }
}

/// The sales order as NetSuite gets it. Each line carries the allocation
/// of its open units unchanged: `amount` is the net before the voucher
/// share, the voucher share is the line discount, and the tax goes as an
/// amount (`tax1Amt`) with its rate, so NetSuite neither adds VAT to a
/// price that already contains it nor rounds the tax another way; each
/// line's total is what the customer paid for it. `rate` is the line's net
/// unit price for people reading the order (`CanonicalLine::erp_unit_rate`).
/// Shipping goes once, at the price the customer paid for it.
pub(crate) fn sales_order(flow: &OrderFlow, record: &OrderRecord) -> SalesOrder {
    let order = &record.order;
    SalesOrder {
        entity: Reference::external(flow.erp_customer.clone()),
        order_status: Some(Reference::id("B")),
        tran_date: Some(order.order_date.clone()),
        other_ref_num: Some(order.number.to_string()),
        memo: Some(match &record.exchange_of {
            Some(exchange) => format!(
                "Centra order {}: zero-value exchange for Centra {} (Reveni return {})",
                order.number,
                exchange.original(),
                exchange.return_id
            ),
            None => format!("Centra order {}", order.number),
        }),
        currency: None,
        subsidiary: None,
        location: None,
        shipping_cost: Some(order.shipping.amount),
        discount_rate: None,
        item: Sublist::new(
            order
                .lines
                .iter()
                .map(|l| {
                    let units = l.quantity.saturating_sub(l.cancelled);
                    let share =
                        |amount| super::canonical::share_of_units(amount, l.quantity, units);
                    let (paid, tax, voucher) = (
                        share(l.allocation.paid),
                        share(l.allocation.tax),
                        share(l.allocation.voucher),
                    );
                    let mut line = SalesOrderLine::new(
                        Reference::external(l.sku.clone()),
                        Decimal::from(units),
                        l.erp_unit_rate(),
                    );
                    line.line = record.erp_line(l.line_id);
                    // paid − tax is the net after the voucher share.
                    line.amount = Some(paid - tax + voucher);
                    line.tax_rate = Some(l.tax_percent);
                    line.tax_amount = Some(tax);
                    line.discount = (!voucher.is_zero()).then_some(voucher);
                    line
                })
                .collect(),
        ),
    }
}

fn erp_differences(sent: &SalesOrder, got: &Transaction) -> Vec<String> {
    let mut differences = Vec::new();
    let lines = got.lines();
    if lines.len() != sent.item.items.len() {
        differences.push(format!(
            "{} lines instead of {}",
            lines.len(),
            sent.item.items.len()
        ));
        return differences;
    }
    for (i, (want, have)) in sent.item.items.iter().zip(lines).enumerate() {
        if have.quantity != Some(want.quantity) {
            differences.push(format!(
                "line {}: quantity {:?} instead of {}",
                i + 1,
                have.quantity,
                want.quantity
            ));
        }
    }
    differences
}

/// What a sales order an earlier attempt made must still show: a line for
/// each line Seam posts (people may have changed quantities since).
fn erp_lines_missing(sent: &SalesOrder, got: &Transaction) -> Vec<String> {
    let lines = got.lines().len();
    if lines < sent.item.items.len() {
        vec![format!(
            "{lines} lines instead of at least {}",
            sent.item.items.len()
        )]
    } else {
        Vec::new()
    }
}

struct PostErp(Arc<OrderFlow>);

#[async_trait]
impl JobHandler for PostErp {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let entity = job.spec.entity_key.clone();
        let mut record = match require_record(ctx, &entity).await {
            Ok(record) => record,
            Err(outcome) => return outcome,
        };
        let external = erp_external_id(&record.order.centra_id);
        let sent = sales_order(flow, &record);
        // A sales order already there was made by an earlier attempt of this
        // job (the process died before it committed). It is taken as it is:
        // writing it again would undo any edit a person made in NetSuite
        // since, which the edit poll carries to Centra instead. A resubmit
        // (say of a read-back that differed) writes it again, as its hint says.
        let resubmitted = job.exception_id.is_some() || job.rerun;
        let existing = if resubmitted {
            None
        } else {
            match flow
                .netsuite
                .get_record(
                    RecordType::SalesOrder,
                    &RecordKey::external(external.clone()),
                )
                .await
            {
                Ok(existing) => existing,
                Err(failure) => return Outcome::failed(failure),
            }
        };
        let adopted = existing.is_some();
        let got = match existing {
            Some(got) => Ok(got),
            None => flow.netsuite.upsert_sales_order(&external, &sent).await,
        };
        let got = match got {
            Ok(got) => got,
            Err(failure) if failure.class == FailureClass::Data => {
                return Outcome::Exception(ExceptionDraft::new(
                    "erp_refused_order",
                    OwnerTeam::Finance,
                    format!(
                        "NetSuite refused sales order {external} for order {}: {}",
                        record.order.number, failure.message
                    ),
                    "Fix what NetSuite names (item, customer, tax code), then resubmit.",
                ))
            }
            Err(failure) => return Outcome::failed(failure),
        };
        let differences = if adopted {
            // Edits since are NetSuite's to make; only the lines must be there.
            erp_lines_missing(&sent, &got)
        } else {
            erp_differences(&sent, &got)
        };
        if !differences.is_empty() {
            return Outcome::Exception(sync_illusion(
                "NetSuite",
                record.order.number,
                &differences,
            ));
        }
        record.erp_id = Some(got.id.clone());
        record.erp_lines = record
            .order
            .lines
            .iter()
            .zip(got.lines())
            .map(|(l, g)| (l.line_id, g.line))
            .collect();
        record.erp_seen = got.last_modified_date.map(|d| d.to_rfc3339());
        if record.stage == OrderStage::Posting && record.warehouse_version.is_some() {
            record.stage = OrderStage::Posted;
        }
        let total_note = match got.total {
            Some(total) if total != record.order.current_total().amount => format!(
                "; NetSuite's total {total} differs from Centra's {} (reconciliation reports it)",
                record.order.current_total().amount
            ),
            Some(total) => format!(", total {total}"),
            None => String::new(),
        };
        Outcome::Done(Commit {
            state: vec![write_record(&entity, &record)],
            links: vec![
                Link {
                    entity_key: entity.clone(),
                    system: "netsuite-sales-order".into(),
                    external_id: got.id.clone(),
                },
                Link {
                    entity_key: entity.clone(),
                    system: "netsuite-external-id".into(),
                    external_id: external.clone(),
                },
            ],
            timeline: vec![step(
                &entity,
                ctx.now,
                "netsuite",
                "posted",
                format!(
                    "sales order {} ({}), {} lines, {}{total_note}",
                    got.tran_id.as_deref().unwrap_or(&got.id),
                    external,
                    got.lines().len(),
                    if adopted {
                        "found from an earlier attempt and taken as it is"
                    } else {
                        "read back and matching"
                    }
                ),
            )],
            ..Default::default()
        })
    }
}
