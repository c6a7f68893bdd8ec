//! Reconciliation end to end: the five simulators over HTTP and a hub wired
//! as `seam run` wires it. Each test lets an order go through every job
//! successfully, plants one kind of drift in a simulator behind Seam's back
//! (an admin hook that moves no lastModifiedDate and sends no event), runs
//! one reconciliation cycle and sees the variance found, with both values,
//! the systems and an exception for its owner. Story S15.

mod common;

use std::time::{Duration, Instant};

use common::{eur, Hub};
use rust_decimal::Decimal;
use seam_engine::{
    ExceptionStatus, JobSpec, NewJob, VarianceFilter, VarianceRecord, VarianceStatus,
};
use seam_flows::orders::order_entity;
use seam_flows::reconcile::report::{finance_report, to_csv};
use seam_flows::reconcile::Period;
use seam_model::OwnerTeam;
use seam_sandbox::centra::{PaymentEntryType, PaymentStatus};
use seam_sandbox::netsuite::{Record, RecordKey, RecordType};

/// Places an order and waits until every job of it is done: posted to the
/// warehouse and NetSuite, read back, confirmed.
async fn settled_order(hub: &Hub) -> i32 {
    let sku = hub.new_skus(1).remove(0);
    let number = hub.place(&[(&sku, 2, eur(3333))], "Standard");
    hub.until("the order reaches the warehouse and NetSuite", |h| {
        h.in_warehouse(number) && h.erp_order(number).is_some()
    })
    .await;
    let entity = order_entity(i64::from(number));
    let started = Instant::now();
    loop {
        let busy = hub
            .store
            .entities_in_flight(std::slice::from_ref(&entity))
            .await
            .unwrap();
        if busy.is_empty() && hub.timeline_has(number, "confirmed").await {
            return number;
        }
        if busy.is_empty() && started.elapsed() > Duration::from_secs(3) {
            return number;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "order {number} never settled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs one reconciliation cycle now (as the schedule would) and waits for it.
async fn cycle(hub: &Hub) {
    let runs = |entries: Vec<seam_engine::TimelineEntry>| {
        entries.iter().filter(|e| e.step == "reconciled").count()
    };
    let before = runs(hub.store.timeline("reconcile:cycle").await.unwrap());
    hub.store
        .enqueue(
            &[NewJob {
                spec: JobSpec::new("reconcile", "cycle", "reconcile:cycle"),
                payload: serde_json::json!({}),
            }],
            0,
        )
        .await
        .unwrap();
    let started = Instant::now();
    while runs(hub.store.timeline("reconcile:cycle").await.unwrap()) <= before {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the reconciliation cycle did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn open_variances(hub: &Hub, number: i32) -> Vec<VarianceRecord> {
    let entity = order_entity(i64::from(number));
    hub.store
        .variances(&VarianceFilter {
            status: Some(VarianceStatus::Open),
            limit: 1_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|v| v.variance.entity_key == entity)
        .collect()
}

fn erp_key(hub: &Hub, number: i32) -> RecordKey {
    let id = hub.sandbox.centra.order(number).unwrap().id;
    RecordKey::External(format!("centra-{id}"))
}

fn alter_erp(hub: &Hub, number: i32, change: impl FnOnce(&mut Record)) {
    hub.sandbox
        .netsuite
        .alter_quietly(RecordType::SalesOrder, &erp_key(hub, number), change)
        .unwrap();
}

/// Plants drift, runs a cycle and returns the one variance found.
///
/// An order with a job in flight at that moment (the safety-net poll reads
/// recently updated orders again) is left for the next cycle, as designed,
/// so a cycle that skipped it is followed by another.
async fn plant_and_find(hub: &Hub, number: i32, kind: &str) -> VarianceRecord {
    let started = Instant::now();
    let found = loop {
        cycle(hub).await;
        let found = open_variances(hub, number).await;
        let skipped = hub
            .store
            .timeline("reconcile:cycle")
            .await
            .unwrap()
            .last()
            .is_some_and(|c| !c.detail.contains(" (0 in flight"));
        if !skipped || started.elapsed() > Duration::from_secs(15) {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if !found.iter().any(|v| v.variance.variance_type == kind) {
        let cycles = hub.store.timeline("reconcile:cycle").await.unwrap();
        let jobs = hub.store.active_jobs(0, 100).await.unwrap();
        panic!(
            "no {kind} variance for order {number}: {found:#?}; cycles: {:#?}; active jobs: {:#?}",
            cycles.iter().map(|c| &c.detail).collect::<Vec<_>>(),
            jobs.iter()
                .map(|j| format!(
                    "{} {} {} {:?}",
                    j.job.spec.flow, j.job.spec.kind, j.job.spec.entity_key, j.job.state
                ))
                .collect::<Vec<_>>()
        );
    }
    found
        .into_iter()
        .find(|v| v.variance.variance_type == kind)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s15_erp_total_off_by_a_rounding_cent_is_flagged_and_reported() {
    let hub = Hub::start().await;
    let number = settled_order(&hub).await;

    // Every job succeeded and the systems agree: nothing to report.
    cycle(&hub).await;
    assert_eq!(open_variances(&hub, number).await, vec![]);

    // NetSuite's total is a rounding cent off Centra's.
    let centra_total = hub.erp_order(number).unwrap().totals.total;
    alter_erp(&hub, number, |order| {
        order.totals.total += eur(1);
    });
    let variance = plant_and_find(&hub, number, "total_mismatch").await;
    let v = &variance.variance;
    assert_eq!((v.expected, v.found), (centra_total, centra_total + eur(1)));
    assert_eq!(
        (v.expected_system.as_str(), v.found_system.as_str()),
        ("centra", "netsuite")
    );
    assert_eq!(v.owner, OwnerTeam::Finance);
    assert_eq!(v.currency.as_deref(), Some("EUR"));

    // An exception for Finance, whose resubmit checks again.
    let exception = hub.until_exception("total_mismatch").await;
    assert_eq!(exception.owner, OwnerTeam::Finance);
    assert!(
        exception.message.contains(&number.to_string())
            && exception.message.contains(&centra_total.to_string()),
        "{}",
        exception.message
    );

    // The month-end report lists it with both values and the systems.
    let day = hub.sandbox.centra.order(number).unwrap();
    let month = day.order_date.format("%Y-%m").to_string();
    let period = Period::month(&month).unwrap();
    let report = finance_report(&*hub.store, &period, &Default::default(), 100)
        .await
        .unwrap();
    let line = report
        .variances
        .iter()
        .find(|l| {
            l.entity == order_entity(i64::from(number)) && l.variance_type == "total_mismatch"
        })
        .expect("the report lists the variance");
    assert_eq!(
        (line.expected, line.found, line.difference),
        (centra_total, centra_total + eur(1), eur(1))
    );
    assert_eq!(
        (line.expected_system.as_str(), line.found_system.as_str()),
        ("centra", "netsuite")
    );
    let eur_totals = report
        .currencies
        .iter()
        .find(|c| c.currency == "EUR")
        .unwrap();
    assert!(eur_totals.orders >= 1);
    assert_eq!(eur_totals.variance_difference, eur(1));
    assert_eq!(
        eur_totals.net_captured,
        eur_totals.captured - eur_totals.refunded
    );
    let csv = to_csv(&report);
    assert!(
        csv.contains(&format!(
            "total_mismatch,order:{number},{},Finance,EUR,centra,{centra_total},netsuite,{},0.01,open",
            line.day,
            centra_total + eur(1)
        )),
        "{csv}"
    );

    // Finance books the cent in NetSuite; the resubmit finds it gone and resolves.
    alter_erp(&hub, number, |order| {
        order.totals.total -= eur(1);
    });
    hub.rerun(exception.id, "finance@brand", "rounding corrected")
        .await;
    hub.until_no_open_exception("total_mismatch").await;
    let resolved = hub.store.exception(exception.id).await.unwrap().unwrap();
    assert_eq!(resolved.status, ExceptionStatus::Resolved);
    assert_eq!(open_variances(&hub, number).await, vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tax_mismatch_is_found() {
    let hub = Hub::start().await;
    let number = settled_order(&hub).await;
    let tax = hub.erp_order(number).unwrap().totals.tax_total;
    cycle(&hub).await;
    assert_eq!(open_variances(&hub, number).await, vec![]);
    alter_erp(&hub, number, |order| order.totals.tax_total -= eur(1));
    let v = plant_and_find(&hub, number, "tax_mismatch").await.variance;
    assert_eq!((v.expected, v.found), (tax, tax - eur(1)));
    hub.until_exception("tax_mismatch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_deleted_in_the_erp_is_missing_in_erp() {
    let hub = Hub::start().await;
    let number = settled_order(&hub).await;
    hub.sandbox
        .netsuite
        .archive(RecordType::SalesOrder, &erp_key(&hub, number))
        .unwrap();
    let v = plant_and_find(&hub, number, "missing_in_erp")
        .await
        .variance;
    assert_eq!(v.owner, OwnerTeam::Engineering);
    assert_eq!(v.found, Decimal::ZERO);
    hub.until_exception("missing_in_erp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_change_to_the_erp_order_after_the_job_is_a_sync_illusion() {
    let hub = Hub::start().await;
    let number = settled_order(&hub).await;
    alter_erp(&hub, number, |order| order.lines[0].quantity = Decimal::ONE);
    let v = plant_and_find(&hub, number, "sync_illusion").await.variance;
    assert_eq!((v.expected, v.found), (Decimal::from(2), Decimal::ONE));
    assert!(v.detail.contains("1 units instead of 2"), "{}", v.detail);
    let exception = hub.until_exception("sync_illusion").await;
    assert_eq!(exception.owner, OwnerTeam::Engineering);
    assert_eq!(
        exception.spec.entity_key,
        format!("reconcile:order:{number}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_fulfilled_in_the_erp_but_never_shipped_are_a_fulfilment_mismatch() {
    let hub = Hub::start().await;
    let number = settled_order(&hub).await;
    alter_erp(&hub, number, |order| {
        order.lines[0].quantity_fulfilled = Decimal::ONE
    });
    let v = plant_and_find(&hub, number, "fulfilment_mismatch")
        .await
        .variance;
    assert_eq!((v.expected, v.found), (Decimal::ZERO, Decimal::ONE));
    assert_eq!(v.owner, OwnerTeam::Ops);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_before_anything_shipped_is_captured_more_than_shipped() {
    let hub = Hub::start().await;
    let number = settled_order(&hub).await;
    assert!(hub.sandbox.centra.alter_order(number, |order| {
        let mut capture = order.payment_history[0].clone();
        capture.id += 1_000;
        capture.entry_type = PaymentEntryType::Capture;
        capture.status = PaymentStatus::Success;
        capture.value = eur(1000);
        order.payment_history.push(capture);
    }));
    let v = plant_and_find(&hub, number, "captured_more_than_shipped")
        .await
        .variance;
    assert_eq!((v.expected, v.found), (Decimal::ZERO, eur(1000)));
    assert_eq!(
        (v.expected_system.as_str(), v.found_system.as_str()),
        ("seam", "adyen")
    );
    hub.until_exception("captured_more_than_shipped").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voucher_added_in_centra_afterwards_is_a_discount_mismatch() {
    let hub = Hub::start().await;
    let number = settled_order(&hub).await;
    assert!(hub.sandbox.centra.alter_order(number, |order| {
        order.vouchers.push(seam_sandbox::centra::AppliedVoucher {
            name: "added by hand".into(),
            code: None,
            value: eur(500),
            date: chrono::Utc::now(),
        });
    }));
    let v = plant_and_find(&hub, number, "discount_mismatch")
        .await
        .variance;
    assert_eq!((v.expected, v.found), (Decimal::ZERO, eur(500)));
    assert_eq!(v.owner, OwnerTeam::Merchandising);
}

// --- Shipped and returned orders ---

/// Places an order of one unit, ships it, has it returned, received and
/// restocked, and waits until the refund is done everywhere and every job
/// of the order has finished. Returns (order number, return id).
async fn refunded_order(hub: &Hub) -> (i32, String) {
    use seam_flows::returns::{OrderReturns, ReturnStage};
    use seam_sandbox::reveni::{NewReturn, NewReturnItem, OrderRef};
    use seam_sandbox::warehouse::{Disposition, Grade, ReturnLineRequest, ReturnRequest};

    let sku = hub.new_skus(1).remove(0);
    let number = hub.place(&[(&sku, 1, eur(8000))], "Standard");
    hub.ship_all(number).await;
    let order = hub.sandbox.centra.order(number).unwrap();
    let line_id = order.lines.iter().find(|l| l.sku == sku).unwrap().id;
    let id = hub
        .sandbox
        .reveni
        .create_return(NewReturn {
            order: OrderRef {
                external_id: order.id.clone(),
                number: number.to_string(),
            },
            currency: "EUR".into(),
            instant: false,
            return_type: None,
            items: vec![NewReturnItem {
                sku: sku.clone(),
                order_line_id: line_id.to_string(),
                quantity: 1,
                return_reason: "doesn't fit".into(),
                exchange_sku: None,
                price: eur(8000),
            }],
        })
        .unwrap()
        .id
        .to_string();
    let entity = order_entity(i64::from(number));
    let stage = |hub: &Hub| {
        let store = hub.store.clone();
        let entity = entity.clone();
        let id = id.clone();
        async move {
            let state = store.entity_state(&entity, "returns").await.unwrap()?;
            let returns: OrderReturns = serde_json::from_value(state.state).ok()?;
            returns.case(&id).map(|c| c.stage)
        }
    };
    let started = Instant::now();
    while stage(hub).await.is_none_or(|s| s < ReturnStage::Authorised) {
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "never authorised"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let view = hub.sandbox.warehouse.order(&number.to_string()).unwrap();
    hub.sandbox
        .warehouse
        .receive_and_grade_return(&ReturnRequest {
            order_number: Some(number.to_string()),
            rma: Some(id.clone()),
            lines: vec![ReturnLineRequest {
                line_item_id: view
                    .order_items
                    .iter()
                    .find(|l| l.garment_sku == sku)
                    .map(|l| l.line_item_id.clone()),
                sku: None,
                quantity: 1,
                grade: Grade::A,
                disposition: Disposition::Restock,
                notes: None,
            }],
        })
        .unwrap();
    let started = Instant::now();
    loop {
        let closed = stage(hub).await == Some(ReturnStage::Closed);
        let busy = hub
            .store
            .entities_in_flight(std::slice::from_ref(&entity))
            .await
            .unwrap();
        if closed && busy.is_empty() {
            return (number, id);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the return never closed: {:#?}",
            hub.every_exception().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn credit_memo_key(id: &str) -> RecordKey {
    RecordKey::External(seam_connectors::netsuite::external_id_for("seam-cm", id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_whose_credit_memo_was_deleted_is_a_refund_without_credit_memo() {
    let hub = Hub::start().await;
    let (number, id) = refunded_order(&hub).await;
    // Shipped, captured, returned and refunded everywhere: nothing to report.
    cycle(&hub).await;
    assert_eq!(open_variances(&hub, number).await, vec![]);

    hub.sandbox
        .netsuite
        .archive(RecordType::CreditMemo, &credit_memo_key(&id))
        .unwrap();
    let v = plant_and_find(&hub, number, "refund_without_credit_memo")
        .await
        .variance;
    assert_eq!((v.expected, v.found), (eur(8000), Decimal::ZERO));
    assert_eq!(
        (v.expected_system.as_str(), v.found_system.as_str()),
        ("adyen", "netsuite")
    );
    hub.until_exception("refund_without_credit_memo").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credit_memo_changed_in_the_erp_is_a_refund_mismatch() {
    let hub = Hub::start().await;
    let (number, id) = refunded_order(&hub).await;
    hub.sandbox
        .netsuite
        .alter_quietly(RecordType::CreditMemo, &credit_memo_key(&id), |memo| {
            memo.totals.total -= eur(100);
        })
        .unwrap();
    let v = plant_and_find(&hub, number, "refund_mismatch")
        .await
        .variance;
    assert_eq!((v.expected, v.found), (eur(8000), eur(7900)));
    assert_eq!(v.found_system, "netsuite");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_reversed_behind_seams_back_is_captured_less_than_shipped() {
    let hub = Hub::start().await;
    let (number, _) = refunded_order(&hub).await;
    assert!(hub.sandbox.centra.alter_order(number, |order| {
        order
            .payment_history
            .retain(|p| p.entry_type != PaymentEntryType::Capture);
    }));
    let v = plant_and_find(&hub, number, "captured_less_than_shipped")
        .await
        .variance;
    assert_eq!(v.found, Decimal::ZERO);
    assert!(v.expected > Decimal::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_that_never_reached_the_payment_is_a_credit_memo_without_refund() {
    let hub = Hub::start().await;
    let (number, _) = refunded_order(&hub).await;
    assert!(hub.sandbox.centra.alter_order(number, |order| {
        order
            .payment_history
            .retain(|p| p.entry_type != PaymentEntryType::Refund);
    }));
    let v = plant_and_find(&hub, number, "credit_memo_without_refund")
        .await
        .variance;
    assert_eq!((v.expected, v.found), (Decimal::ZERO, eur(8000)));
    assert_eq!(
        (v.expected_system.as_str(), v.found_system.as_str()),
        ("adyen", "netsuite")
    );
    hub.until_exception("credit_memo_without_refund").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_written_to_centra_behind_the_hubs_back_is_stock_drift() {
    let hub = Hub::start().await;
    let sku = hub.new_skus(1).remove(0);
    // Wait until the stock flow knows the SKU and has nothing left to push
    // for it, so that its own push cannot overwrite the planted drift.
    let entity = format!("sku:{sku}");
    let started = Instant::now();
    loop {
        let known = hub
            .store
            .entity_state(&entity, seam_flows::stock::FLOW)
            .await
            .unwrap()
            .is_some();
        let pending = hub
            .store
            .marked(seam_flows::stock::PUSH_SET, 100_000)
            .await
            .unwrap()
            .iter()
            .any(|m| m.key == sku);
        let agrees = hub.sandbox.centra.stock_of(&sku).unwrap().physical
            == hub.sandbox.warehouse.available_units(&sku) as i64;
        if known && !pending && agrees {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the stock flow never settled {sku}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sellable = hub.sandbox.warehouse.available_units(&sku) as i64;
    assert!(hub.sandbox.centra.add_physical_quietly(&sku, 4));
    // The stock flow's read-back finds it (and pushes a correction); the
    // reconciler records what it found. A read-back takes the next slice of
    // SKUs after the last one read, so it is asked until it comes round.
    let started = Instant::now();
    let mut asked = Instant::now() - Duration::from_secs(1);
    while !hub
        .store
        .timeline(&entity)
        .await
        .unwrap()
        .iter()
        .any(|t| t.step == "drift found")
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no read-back found the drift"
        );
        if asked.elapsed() >= Duration::from_millis(500) {
            hub.store
                .enqueue(
                    &[NewJob {
                        spec: JobSpec::new("stock", "readback", "stock-readback"),
                        payload: serde_json::json!({}),
                    }],
                    0,
                )
                .await
                .unwrap();
            asked = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cycle(&hub).await;
    let drift = hub
        .store
        .variances(&VarianceFilter {
            status: Some(VarianceStatus::Open),
            limit: 1_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.variance.entity_key == entity)
        .expect("a stock_drift variance");
    let v = drift.variance;
    assert_eq!(v.variance_type, "stock_drift");
    assert_eq!(v.owner, OwnerTeam::Ops);
    assert_eq!(
        (v.expected, v.found),
        (Decimal::from(sellable), Decimal::from(sellable + 4))
    );
    assert_eq!(
        (v.expected_system.as_str(), v.found_system.as_str()),
        ("warehouse", "centra")
    );
    assert_eq!(v.currency, None);
}
