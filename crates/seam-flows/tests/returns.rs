//! Returns end to end against the sandbox: a Reveni request checked
//! against the order, authorised in NetSuite, received and graded by the
//! warehouse, refunded exactly once in NetSuite, Adyen and Centra, or
//! exchanged for a zero-value order; and Reveni polled when its webhooks
//! never come. Stories S05, S07, S08, S09, S10, S11 and S13.

mod common;

use std::time::{Duration, Instant};

use common::{eur, Hub};
use rust_decimal::Decimal;
use seam_flows::orders::order_entity;
use seam_flows::returns::{return_entity, OrderReturns, ReturnCase, ReturnStage};
use seam_sandbox::netsuite::{RecordKey, RecordType};
use seam_sandbox::reveni::{NewReturn, NewReturnItem, OrderRef, ReviewStatus};
use seam_sandbox::warehouse::{Disposition, Grade, ReturnLineRequest, ReturnRequest};

/// Places an order, ships all of it and waits until Centra and NetSuite
/// show it shipped. Returns the order number.
async fn shipped_order(hub: &Hub, lines: &[(&str, i32, Decimal)]) -> i32 {
    let number = hub.place(lines, "Standard");
    hub.ship_all(number).await;
    number
}

/// How many times a return's unit was restocked, by its timeline.
async fn restocks(hub: &Hub, id: &str) -> usize {
    hub.store
        .timeline(&return_entity(id))
        .await
        .unwrap()
        .iter()
        .filter(|t| t.step == "restocked")
        .count()
}

/// The Centra line id of a SKU on the order.
fn centra_line(hub: &Hub, number: i32, sku: &str) -> String {
    let order = hub.sandbox.centra.order(number).unwrap();
    order
        .lines
        .iter()
        .find(|l| l.sku == sku)
        .map(|l| l.id.to_string())
        .unwrap_or_else(|| "999999".into())
}

/// A shopper asks Reveni to take back these (SKU, units).
fn request_return(hub: &Hub, number: i32, items: &[(&str, u32)]) -> String {
    let items: Vec<_> = items
        .iter()
        .map(|(sku, units)| (*sku, *units, None))
        .collect();
    request(hub, number, &items, false)
}

/// A shopper asks Reveni to take back these (SKU, units, SKU wanted in
/// exchange), in Reveni's instant mode or not.
fn request(hub: &Hub, number: i32, items: &[(&str, u32, Option<&str>)], instant: bool) -> String {
    let order = hub.sandbox.centra.order(number).unwrap();
    let created = hub
        .sandbox
        .reveni
        .create_return(NewReturn {
            order: OrderRef {
                external_id: order.id.clone(),
                number: number.to_string(),
            },
            currency: "EUR".into(),
            instant,
            return_type: None,
            items: items
                .iter()
                .map(|(sku, units, exchange)| NewReturnItem {
                    sku: sku.to_string(),
                    order_line_id: centra_line(hub, number, sku),
                    quantity: *units,
                    return_reason: "doesn't fit".into(),
                    exchange_sku: exchange.map(str::to_string),
                    price: eur(1000),
                })
                .collect(),
        })
        .unwrap();
    created.id.to_string()
}

/// Every order Seam placed in Centra as an exchange.
fn exchange_orders(hub: &Hub) -> Vec<seam_sandbox::centra::Order> {
    hub.sandbox
        .centra
        .orders()
        .into_iter()
        .filter(|o| {
            o.external_id
                .as_deref()
                .is_some_and(|e| e.starts_with("seam-exchange:"))
        })
        .collect()
}

/// Reveni tells Seam about the return once more, as a replayed
/// notification would (a new event id, so the journal takes it).
async fn notify_again(hub: &Hub, id: &str, n: u32) {
    hub.store
        .ingest(
            &[seam_engine::InboundEvent {
                source: "reveni".into(),
                event_id: format!("evt_replayed_{id}_{n}"),
                payload: serde_json::json!({ "returnId": id }),
                job: seam_engine::JobSpec::new(
                    "intake",
                    "reveni_return",
                    format!("reveni-return:{id}"),
                ),
            }],
            0,
        )
        .await
        .unwrap();
}

/// The warehouse receives and grades the parcel of return `rma`.
fn receive(hub: &Hub, number: i32, rma: &str, lines: &[(&str, u64, Grade, Disposition)]) {
    let view = hub.sandbox.warehouse.order(&number.to_string()).unwrap();
    let request = ReturnRequest {
        order_number: Some(number.to_string()),
        rma: Some(rma.to_string()),
        lines: lines
            .iter()
            .map(|(sku, units, grade, disposition)| ReturnLineRequest {
                line_item_id: view
                    .order_items
                    .iter()
                    .find(|l| l.garment_sku == *sku)
                    .map(|l| l.line_item_id.clone()),
                sku: None,
                quantity: *units,
                grade: *grade,
                disposition: *disposition,
                notes: None,
            })
            .collect(),
    };
    hub.sandbox
        .warehouse
        .receive_and_grade_return(&request)
        .unwrap();
}

async fn case(hub: &Hub, number: i32, id: &str) -> Option<ReturnCase> {
    let state = hub
        .store
        .entity_state(&order_entity(i64::from(number)), "returns")
        .await
        .unwrap()?;
    let returns: OrderReturns = serde_json::from_value(state.state).unwrap();
    returns.case(id).cloned()
}

async fn until_stage(hub: &Hub, number: i32, id: &str, stage: ReturnStage) -> ReturnCase {
    let started = Instant::now();
    loop {
        if let Some(found) = case(hub, number, id).await {
            if found.stage >= stage && found.stage.claims_units() == stage.claims_units() {
                return found;
            }
        }
        if started.elapsed() > Duration::from_secs(25) {
            let story = hub.store.timeline(&return_entity(id)).await.unwrap();
            panic!(
                "return {id} did not reach {stage:?}: {:?}; exceptions {:#?}; timeline {story:#?}",
                case(hub, number, id).await.map(|c| c.stage),
                hub.every_exception().await
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn credit_memos_of(hub: &Hub, authorisation: &str) -> Vec<seam_sandbox::netsuite::Record> {
    let id: u64 = authorisation.parse().unwrap();
    hub.sandbox
        .netsuite
        .records(RecordType::CreditMemo)
        .into_iter()
        .filter(|m| m.created_from.map(|(_, from)| from) == Some(id))
        .collect()
}

fn refunded_cents(hub: &Hub, number: i32) -> i64 {
    let psp = hub.sandbox.centra.order(number).unwrap().psp_reference;
    hub.sandbox.adyen.payment(&psp).unwrap().refunded
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s10_a_request_for_an_item_never_bought_or_too_many_units_is_refused_before_any_rma() {
    let hub = Hub::start().await;
    let skus = hub.new_skus(2);
    let number = shipped_order(&hub, &[(&skus[0], 1, eur(4995))]).await;
    // Two units of a line bought once, and a SKU this order never had.
    let id = request_return(&hub, number, &[(&skus[0], 2), (&skus[1], 1)]);

    let refused = until_stage(&hub, number, &id, ReturnStage::Refused).await;
    assert_eq!(refused.refused.len(), 2);
    assert!(refused.authorisation.is_none());
    hub.until("the refusals reach Reveni with their reasons", |h| {
        let r = h.sandbox.reveni.get_return(id.parse().unwrap()).unwrap();
        r.return_items
            .iter()
            .all(|i| i.review.status == ReviewStatus::Rejected)
    })
    .await;
    let answered = hub.sandbox.reveni.get_return(id.parse().unwrap()).unwrap();
    let reasons: Vec<String> = answered
        .return_items
        .iter()
        .filter_map(|i| i.review.reject_reason.clone())
        .collect();
    assert!(
        reasons.contains(&"quantity_exceeded".to_string()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"not_purchased".to_string()),
        "{reasons:?}"
    );
    assert!(answered.return_items.iter().all(|i| i
        .review
        .reject_reason_text
        .as_deref()
        .is_some_and(|t| !t.is_empty())));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        hub.sandbox
            .netsuite
            .records(RecordType::ReturnAuthorization)
            .is_empty(),
        "no RMA exists for a refused request"
    );

    // A valid request for the unit that was bought goes on to an RMA.
    let valid = request_return(&hub, number, &[(&skus[0], 1)]);
    let authorised = until_stage(&hub, number, &valid, ReturnStage::Authorised).await;
    assert!(authorised.authorisation.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s11_one_item_of_a_discounted_bundle_refunds_its_exact_share_everywhere() {
    let hub = Hub::start().await;
    let brand = &hub.sandbox.brand;
    // One size of each of the bundle's three sections, in stock.
    let components: Vec<String> = brand
        .bundle_sections
        .iter()
        .map(|variant| {
            brand
                .skus
                .iter()
                .find(|s| {
                    s.sku.starts_with(variant.as_str())
                        && hub
                            .sandbox
                            .centra
                            .stock_of(&s.sku)
                            .is_some_and(|v| v.free_to_allocate >= 2)
                })
                .unwrap()
                .sku
                .clone()
        })
        .collect();
    let price = |sku: &str| brand.sku(sku).unwrap().price_eur.round_dp(0);
    let full: Decimal = components.iter().map(|c| price(c)).sum();
    // The bundle sells at a 20% promotion.
    let bundle_price = (full * Decimal::new(8, 1)).round_dp(2);
    let number = hub.place_bundle(&components, bundle_price, full);
    hub.ship_all(number).await;

    let returned = &components[1];
    let id = request_return(&hub, number, &[(returned, 1)]);
    until_stage(&hub, number, &id, ReturnStage::Authorised).await;
    receive(
        &hub,
        number,
        &id,
        &[(returned, 1, Grade::A, Disposition::Restock)],
    );
    let closed = until_stage(&hub, number, &id, ReturnStage::Closed).await;

    // Its exact share: Centra prices a bundle's items at zero, so the
    // bundle's price is spread over its pieces equally, by the one
    // rounding rule (largest remainder), and this is the second piece.
    let shares = seam_model::allocate_proportionally(
        seam_model::Money::new(bundle_price, seam_model::Currency::EUR),
        &[Decimal::ONE, Decimal::ONE, Decimal::ONE],
    )
    .unwrap();
    let expected = shares[1].amount;
    let plan = closed.refund.clone().unwrap();
    assert_eq!(plan.total.amount, expected);
    assert!(plan.total.amount < bundle_price);
    // The same figure in the ERP credit memo, the PSP and Centra.
    let memos = credit_memos_of(&hub, closed.authorisation.as_deref().unwrap());
    assert_eq!(memos.len(), 1);
    assert_eq!(memos[0].totals.total, expected);
    assert_eq!(memos[0].totals.tax_total, plan.tax.amount);
    hub.until("Adyen refunded the share", |h| {
        refunded_cents(h, number)
            == (expected * Decimal::from(100))
                .round_dp(0)
                .try_into()
                .unwrap_or(0i64)
    })
    .await;
    let centra = hub.sandbox.centra.order(number).unwrap();
    assert_eq!(centra.returns.len(), 1);
    assert!(centra.returns[0]
        .comment
        .as_deref()
        .is_some_and(|c| c.contains(&expected.to_string())));
    // The refund recorded on Centra's return, the same figure, once.
    let refunds: Vec<_> = centra
        .payment_history
        .iter()
        .filter(|p| p.entry_type == seam_sandbox::centra::model::PaymentEntryType::Refund)
        .collect();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0].value, expected);
    assert_eq!(refunds[0].return_id, Some(centra.returns[0].id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s13_cx_sees_every_stage_of_a_return_with_times_on_one_timeline() {
    let hub = Hub::start().await;
    let sku = hub.new_skus(1).remove(0);
    let number = shipped_order(&hub, &[(&sku, 2, eur(3995))]).await;
    let id = request_return(&hub, number, &[(&sku, 1)]);
    until_stage(&hub, number, &id, ReturnStage::Authorised).await;
    hub.sandbox
        .reveni
        .set_status(
            id.parse().unwrap(),
            seam_sandbox::reveni::ReturnStatus::Shipped,
        )
        .unwrap();
    until_stage(&hub, number, &id, ReturnStage::InTransit).await;
    receive(
        &hub,
        number,
        &id,
        &[(&sku, 1, Grade::B, Disposition::Refurbish)],
    );
    until_stage(&hub, number, &id, ReturnStage::Closed).await;

    let timeline = hub.store.timeline(&return_entity(&id)).await.unwrap();
    let at = |step: &str| {
        timeline
            .iter()
            .find(|t| t.step == step)
            .unwrap_or_else(|| panic!("no '{step}' step in {timeline:#?}"))
    };
    let stages = [
        ("requested", "reveni"),
        ("authorised", "netsuite"),
        ("shipped", "reveni"),
        ("received", "warehouse"),
        ("inspected", "warehouse"),
        ("credited", "netsuite"),
        ("refunded", "adyen"),
        ("recorded_in_centra", "centra"),
        ("closed", "seam"),
    ];
    let mut last = 0;
    for (step, system) in stages {
        let entry = at(step);
        assert_eq!(entry.system, system, "{step}");
        assert!(entry.at >= last, "{step} is in order");
        last = entry.at;
    }
    assert!(
        at("inspected").detail.contains("grade B"),
        "{}",
        at("inspected").detail
    );
    assert!(at("held").detail.contains("kept out of sellable stock"));
    // The order's own timeline tells the same story, and the return is
    // found by its Reveni id.
    let order_story = hub
        .store
        .timeline(&order_entity(i64::from(number)))
        .await
        .unwrap();
    assert!(order_story.iter().any(|t| t.step == "return credited"));
    assert_eq!(
        hub.store.find_link("reveni-return", &id).await.unwrap(),
        Some(order_entity(i64::from(number)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s05_ber_return_is_written_off_for_finance_and_never_restocked() {
    let hub = Hub::start().await;
    let sku = hub.new_skus(1).remove(0);
    let number = shipped_order(&hub, &[(&sku, 1, eur(8000))]).await;
    // After the sale Centra holds what the warehouse can sell.
    hub.until("Centra holds the warehouse's sellable units", |h| {
        h.sandbox.centra.stock_of(&sku).unwrap().physical
            == h.sandbox.warehouse.available_units(&sku) as i64
    })
    .await;
    let before = hub.sandbox.centra.stock_of(&sku).unwrap().physical;
    let id = request_return(&hub, number, &[(&sku, 1)]);
    until_stage(&hub, number, &id, ReturnStage::Authorised).await;
    receive(
        &hub,
        number,
        &id,
        &[(&sku, 1, Grade::Ber, Disposition::WriteOff)],
    );
    until_stage(&hub, number, &id, ReturnStage::Closed).await;

    hub.until("the write-off is in NetSuite", |h| {
        !h.sandbox
            .netsuite
            .records(RecordType::InventoryAdjustment)
            .is_empty()
    })
    .await;
    let adjustments = hub
        .sandbox
        .netsuite
        .records(RecordType::InventoryAdjustment);
    assert_eq!(adjustments.len(), 1, "written off once");
    let memo = adjustments[0]
        .fields
        .get("memo")
        .and_then(|m| m.as_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        memo.contains("BER") && memo.contains("written off"),
        "{memo}"
    );
    assert!(
        memo.contains("64.00 EUR"),
        "the value (net of 25% VAT): {memo}"
    );
    assert_eq!(adjustments[0].lines[0].quantity, Decimal::from(-1));
    // Never restocked: Centra's stock is what it was after the sale.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(hub.sandbox.centra.stock_of(&sku).unwrap().physical, before);
    let timeline = hub.store.timeline(&return_entity(&id)).await.unwrap();
    assert!(timeline.iter().any(|t| t.step == "written_off"));
    assert!(!timeline.iter().any(|t| t.step == "restocked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s08_a_credit_memo_on_a_closed_order_is_a_finance_exception_and_a_duplicate_posts_nothing_twice(
) {
    let hub = Hub::start().await;
    let sku = hub.new_skus(1).remove(0);
    let number = shipped_order(&hub, &[(&sku, 1, eur(5000))]).await;
    let id = request_return(&hub, number, &[(&sku, 1)]);
    let authorised = until_stage(&hub, number, &id, ReturnStage::Authorised).await;
    // Finance closes the original sales order before the return is credited.
    let so = hub.erp_order(number).unwrap();
    hub.sandbox
        .netsuite
        .close_order(&RecordKey::Id(so.id))
        .unwrap();
    receive(
        &hub,
        number,
        &id,
        &[(&sku, 1, Grade::A, Disposition::Restock)],
    );

    let exception = hub.until_exception("credit_memo_refused").await;
    assert_eq!(exception.owner, seam_model::OwnerTeam::Finance);
    let centra_id = hub.sandbox.centra.order(number).unwrap().id;
    assert!(
        exception.message.contains(&number.to_string()),
        "{}",
        exception.message
    );
    assert!(
        exception.message.contains(&centra_id),
        "{}",
        exception.message
    );
    assert!(
        exception.message.contains("closed"),
        "{}",
        exception.message
    );
    // The customer is still refunded, once.
    hub.until("refunded in Adyen", |h| refunded_cents(h, number) == 5000)
        .await;

    // Reveni tells Seam again (a duplicate notification) and the return
    // moves on in Reveni: nothing is credited or refunded a second time.
    for _ in 0..2 {
        hub.sandbox
            .reveni
            .set_status(
                id.parse().unwrap(),
                seam_sandbox::reveni::ReturnStatus::Completed,
            )
            .ok();
    }
    hub.rerun(
        exception.id,
        "finance",
        "retrying after the order was reopened",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(refunded_cents(&hub, number), 5000, "refunded once");
    let memos = credit_memos_of(&hub, authorised.authorisation.as_deref().unwrap());
    assert!(memos.is_empty(), "the closed order takes no credit memo");
    let refunds = hub
        .sandbox
        .adyen
        .payment(&hub.sandbox.centra.order(number).unwrap().psp_reference)
        .unwrap()
        .modifications
        .iter()
        .filter(|m| format!("{:?}", m.kind).contains("Refund"))
        .count();
    assert_eq!(refunds, 1);
    hub.until_exception("credit_memo_refused").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s07_a_restock_through_503s_lands_once_and_through_an_outage_waits_for_centra() {
    let hub = Hub::start().await;
    let skus = hub.new_skus(2);
    let number = shipped_order(&hub, &[(&skus[0], 1, eur(3000)), (&skus[1], 1, eur(2000))]).await;
    let id = request_return(&hub, number, &[(&skus[0], 1)]);
    until_stage(&hub, number, &id, ReturnStage::Authorised).await;
    // Centra answers the next three requests with 503 as the unit is
    // graded (fewer failures than open Seam's circuit breaker).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let faults = hub.sandbox.centra.faults();
    faults.set_plan(seam_sandbox::faults::FaultPlan {
        fail_next: 3,
        ..Default::default()
    });
    receive(
        &hub,
        number,
        &id,
        &[(&skus[0], 1, Grade::A, Disposition::Restock)],
    );
    hub.until("the restocked unit shows in Centra", |h| {
        h.sandbox.centra.stock_of(&skus[0]).unwrap().physical
            == h.sandbox.warehouse.available_units(&skus[0]) as i64
    })
    .await;
    until_stage(&hub, number, &id, ReturnStage::Closed).await;
    assert_eq!(restocks(&hub, &id).await, 1, "applied once");
    assert!(hub.open_exceptions("restock_failed").await.is_empty());

    // Centra refuses everything for a while: its failures open Seam's
    // circuit breaker, which holds calls to Centra for 30 s. The restock
    // waits for Centra (it used to spend every attempt on the breaker's
    // refusals in those 30 s and park as an exception), and lands once,
    // by itself, when Centra answers again.
    let second = request_return(&hub, number, &[(&skus[1], 1)]);
    until_stage(&hub, number, &second, ReturnStage::Authorised).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    faults.set_plan(seam_sandbox::faults::FaultPlan {
        error_rate: 1.0,
        ..Default::default()
    });
    receive(
        &hub,
        number,
        &second,
        &[(&skus[1], 1, Grade::A, Disposition::Restock)],
    );
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(
        hub.open_exceptions("restock_failed").await.is_empty(),
        "held by the breaker, not parked: {:?}",
        hub.every_exception().await
    );
    faults.set_plan(seam_sandbox::faults::FaultPlan::default());
    let started = Instant::now();
    while restocks(&hub, &second).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the second restock never reached Centra; exceptions: {:?}",
            hub.every_exception().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    until_stage(&hub, number, &second, ReturnStage::Closed).await;
    assert_eq!(
        hub.sandbox.centra.stock_of(&skus[1]).unwrap().physical,
        hub.sandbox.warehouse.available_units(&skus[1]) as i64
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(restocks(&hub, &second).await, 1, "applied once");
    assert!(hub.open_exceptions("restock_failed").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s09_an_available_exchange_is_one_zero_value_order_linked_to_the_original_that_reaches_the_warehouse_and_netsuite(
) {
    let hub = Hub::start().await;
    let skus = hub.new_skus(3);
    let (kept, exchanged, wanted) = (&skus[0], &skus[1], &skus[2]);
    let number = shipped_order(&hub, &[(kept, 1, eur(3000)), (exchanged, 1, eur(2000))]).await;
    // Every Reveni notification arrives twice.
    hub.sandbox
        .reveni
        .faults()
        .set_plan(seam_sandbox::faults::FaultPlan {
            webhook_duplicate_rate: 1.0,
            ..Default::default()
        });
    // A mixed return, standard (not instant): one item refunded, the other
    // exchanged for another size once the items are accepted.
    let id = request(
        &hub,
        number,
        &[(kept, 1, None), (exchanged, 1, Some(wanted))],
        false,
    );
    until_stage(&hub, number, &id, ReturnStage::Authorised).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        exchange_orders(&hub).is_empty(),
        "a standard exchange waits for the items to be accepted"
    );
    receive(
        &hub,
        number,
        &id,
        &[
            (kept, 1, Grade::A, Disposition::Restock),
            (exchanged, 1, Grade::A, Disposition::Restock),
        ],
    );
    let closed = until_stage(&hub, number, &id, ReturnStage::Closed).await;

    // Exactly one zero-value order in Centra, for the wanted size, naming the original.
    let orders = exchange_orders(&hub);
    assert_eq!(orders.len(), 1, "{orders:#?}");
    let exchange = &orders[0];
    assert_eq!(exchange.lines.len(), 1);
    assert_eq!(exchange.lines[0].sku, *wanted);
    assert_eq!(exchange.lines[0].unit_price, Decimal::ZERO);
    assert_eq!(exchange.shipping_value, Decimal::ZERO);
    assert!(exchange
        .internal_comment
        .as_deref()
        .is_some_and(|c| c.contains(&number.to_string()) && c.contains(&id)));
    assert!(
        exchange.payment_history.is_empty(),
        "nobody paid: no authorisation"
    );
    assert_eq!(
        closed.exchanges[0].order.as_ref().map(|(n, _)| *n),
        Some(i64::from(exchange.number))
    );
    // Linked to the original, on both timelines and the return's.
    let original = order_entity(i64::from(number));
    assert_eq!(
        hub.store
            .find_link("exchange-order", &exchange.number.to_string())
            .await
            .unwrap(),
        Some(original.clone())
    );
    let story = hub.store.timeline(&return_entity(&id)).await.unwrap();
    let ordered = story
        .iter()
        .find(|t| t.step == "exchange_ordered")
        .unwrap_or_else(|| panic!("no exchange_ordered step in {story:#?}"));
    assert!(ordered.detail.contains(&exchange.number.to_string()));
    assert!(hub.timeline_has(number, "return exchange_ordered").await);
    assert!(hub.timeline_has(exchange.number, "exchange_of").await);

    // It follows the order flow: the 3PL and NetSuite, the sales order
    // naming the original.
    hub.until("the exchange order is in the warehouse and NetSuite", |h| {
        h.in_warehouse(exchange.number) && h.erp_order(exchange.number).is_some()
    })
    .await;
    let so = hub.erp_order(exchange.number).unwrap();
    let memo = so
        .fields
        .get("memo")
        .and_then(|m| m.as_str())
        .unwrap_or_default();
    assert!(
        memo.contains("exchange") && memo.contains(&number.to_string()),
        "{memo}"
    );
    assert_eq!(so.totals.total, Decimal::ZERO);
    // Shipped like any order, with nothing to capture: marked paid.
    hub.ship_all(exchange.number).await;
    let shipped = hub.sandbox.centra.order(exchange.number).unwrap();
    assert!(shipped
        .shipments
        .iter()
        .all(|s| s.is_paid && !s.is_captured));
    assert!(hub.open_exceptions("capture_failed").await.is_empty());

    // The money: only the refunded item, everywhere; nothing for the exchange.
    let plan = closed.refund.clone().unwrap();
    assert_eq!(plan.total.amount, eur(3000));
    let memos = credit_memos_of(&hub, closed.authorisation.as_deref().unwrap());
    assert_eq!(memos.len(), 1);
    assert_eq!(memos[0].totals.total, eur(3000));
    hub.until("Adyen refunded the kept item only", |h| {
        refunded_cents(h, number) == 3000
    })
    .await;
    let centra = hub.sandbox.centra.order(number).unwrap();
    let returned: i32 = centra.lines.iter().map(|l| l.returned_quantity).sum();
    assert_eq!(returned, 2, "both units are recorded as returned in Centra");

    // A replayed notification, and the poll, place no second order.
    notify_again(&hub, &id, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(exchange_orders(&hub).len(), 1);
    let again = case(&hub, number, &id).await.unwrap();
    assert_eq!(again.exchanges.len(), 1);
    assert_eq!(refunded_cents(&hub, number), 3000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s09_an_unavailable_exchange_places_no_order_and_tells_cx_until_stock_arrives() {
    let hub = Hub::start().await;
    let skus = hub.new_skus(2);
    let (bought, wanted) = (&skus[0], &skus[1]);
    let number = shipped_order(&hub, &[(bought, 1, eur(4000))]).await;
    // The wanted size sells out at the warehouse; Centra follows.
    hub.sandbox
        .warehouse
        .adjust_stock(wanted, "Available", 0)
        .unwrap();
    hub.until("Centra shows the wanted size sold out", |h| {
        h.sandbox
            .centra
            .stock_of(wanted)
            .is_some_and(|s| s.free_to_allocate == 0)
    })
    .await;
    // An instant exchange: the order is due at once.
    let id = request(&hub, number, &[(bought, 1, Some(wanted))], true);

    let exception = hub.until_exception("exchange_unavailable").await;
    assert_eq!(exception.owner, seam_model::OwnerTeam::Cx);
    for named in [wanted.as_str(), &number.to_string(), &id] {
        assert!(exception.message.contains(named), "{}", exception.message);
    }
    assert!(exception.fix_hint.contains("resubmit"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(exchange_orders(&hub).is_empty(), "no order without stock");
    let waiting = case(&hub, number, &id).await.unwrap();
    assert!(waiting.exchanges[0].order.is_none());
    assert!(waiting.refund.is_none(), "an exchange refunds nothing");

    // Stock arrives; CX resubmits: the order is placed, once.
    hub.sandbox
        .warehouse
        .adjust_stock(wanted, "Available", 5)
        .unwrap();
    hub.until("Centra has the wanted size again", |h| {
        h.sandbox
            .centra
            .stock_of(wanted)
            .is_some_and(|s| s.free_to_allocate >= 1)
    })
    .await;
    hub.rerun(exception.id, "cx", "the size is back in stock")
        .await;
    hub.until_no_open_exception("exchange_unavailable").await;
    hub.until("the exchange order is placed and posted", |h| {
        exchange_orders(h)
            .first()
            .is_some_and(|o| h.in_warehouse(o.number))
    })
    .await;
    notify_again(&hub, &id, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let orders = exchange_orders(&hub);
    assert_eq!(orders.len(), 1, "{orders:#?}");
    assert_eq!(orders[0].lines[0].sku, *wanted);
    assert!(hub.open_exceptions("exchange_unavailable").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_whose_webhooks_reveni_never_delivers_is_found_by_the_poll_and_authorised() {
    let hub = Hub::start().await;
    let sku = hub.new_skus(1).remove(0);
    let number = shipped_order(&hub, &[(&sku, 1, eur(2500))]).await;
    hub.sandbox
        .reveni
        .faults()
        .set_plan(seam_sandbox::faults::FaultPlan {
            webhook_drop_rate: 1.0,
            ..Default::default()
        });
    let id = request_return(&hub, number, &[(&sku, 1)]);
    let authorised = until_stage(&hub, number, &id, ReturnStage::Authorised).await;
    assert!(authorised.authorisation.is_some());
    assert!(
        hub.sandbox
            .reveni
            .deliveries()
            .iter()
            .all(|d| d.status.is_none()),
        "no webhook reached the hub"
    );
    // The change came in through the poll's journal entries.
    let story = hub.store.timeline(&return_entity(&id)).await.unwrap();
    assert!(story.iter().any(|t| t.step == "requested"));
}
