//! What must be true after a soak, each a function of the settled `World`:
//! nothing lost, nothing done twice, money and stock agreeing across the
//! systems. A case that ended as an open exception (a person owns it) is
//! not a violation of the invariants it concerns: the exception is where
//! it went. Each check counts what it looked at and names every violation.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use seam_engine::JobState;

use super::world::{major_units, World};

/// One invariant's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: &'static str,
    pub checked: usize,
    pub violations: Vec<String>,
}

impl Check {
    fn new(name: &'static str) -> Check {
        Check {
            name,
            checked: 0,
            violations: Vec::new(),
        }
    }

    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Every invariant, in the order the report lists them.
pub fn check_all(world: &World) -> Vec<Check> {
    vec![
        orders_once_in_the_warehouse(world),
        orders_once_in_the_erp(world),
        captures_equal_shipped_value(world),
        refunds_equal_reversals_posted_once(world),
        no_credit_memo_twice(world),
        stock_equals_sellable_truth(world),
        every_failure_ended_done_or_as_an_exception(world),
        no_exception_is_a_seam_bug(world),
        books_balance(world),
    ]
}

fn order_entity(number: i64) -> String {
    format!("order:{number}")
}

/// Whether an order is owned by a person now (an open exception on it).
fn held(world: &World, number: i64) -> bool {
    world.open_exception_on(&order_entity(number))
}

/// Whether Seam is expected to have posted the order: it was not cancelled
/// before Seam saw it, and no open exception holds it.
fn expected_posted(world: &World, number: i64, cancelled_in_centra: bool) -> bool {
    if held(world, number) {
        return false;
    }
    !cancelled_in_centra || world.seam_orders.contains_key(&number)
}

pub fn orders_once_in_the_warehouse(world: &World) -> Check {
    let mut check = Check::new("every Centra order once in the 3PL");
    let centra: BTreeSet<String> = world
        .centra_orders
        .iter()
        .map(|o| o.number.to_string())
        .collect();
    for order in &world.centra_orders {
        check.checked += 1;
        let there = world
            .warehouse_orders
            .contains_key(&order.number.to_string());
        if expected_posted(world, order.number, order.cancelled) && !there {
            check.violations.push(format!(
                "order {} is not in the 3PL and no exception holds it",
                order.number
            ));
        }
    }
    for number in world.warehouse_orders.keys() {
        if !centra.contains(number) {
            check
                .violations
                .push(format!("the 3PL has order {number}, which Centra does not"));
        }
    }
    check
}

pub fn orders_once_in_the_erp(world: &World) -> Check {
    let mut check = Check::new("every Centra order once in NetSuite");
    let mut by_external: BTreeMap<&str, usize> = BTreeMap::new();
    for external in &world.erp_sales_orders {
        *by_external.entry(external.as_str()).or_insert(0) += 1;
    }
    let mut known = BTreeSet::new();
    for order in &world.centra_orders {
        check.checked += 1;
        let external = seam_flows::orders::erp_external_id(&order.id);
        let count = by_external.get(external.as_str()).copied().unwrap_or(0);
        known.insert(external.clone());
        if count > 1 {
            check.violations.push(format!(
                "order {} has {count} NetSuite sales orders ({external})",
                order.number
            ));
        } else if count == 0 && expected_posted(world, order.number, order.cancelled) {
            check.violations.push(format!(
                "order {} is not in NetSuite and no exception holds it",
                order.number
            ));
        }
    }
    for (external, _) in by_external {
        if !known.contains(external) {
            check.violations.push(format!(
                "NetSuite has sales order '{external}', which is no Centra order"
            ));
        }
    }
    check
}

/// Per order: the 3PL's dispatched units are the units Seam shipped (no
/// dispatch lost or counted twice), and the PSP captured exactly what
/// Seam's allocation says the shipped units are worth.
pub fn captures_equal_shipped_value(world: &World) -> Check {
    let mut check = Check::new("captures equal shipped value");
    for (number, seam) in &world.seam_orders {
        check.checked += 1;
        if held(world, *number) {
            continue;
        }
        if let Some(warehouse) = world.warehouse_orders.get(&number.to_string()) {
            for (line, dispatched) in &warehouse.dispatched {
                let shipped = seam.shipped.get(line).copied().unwrap_or(0);
                if u64::from(shipped) != *dispatched {
                    check.violations.push(format!(
                        "order {number} line {line}: the 3PL dispatched {dispatched}, Seam shipped {shipped}"
                    ));
                }
            }
        }
        let Some(psp) = &seam.psp_reference else {
            continue;
        };
        let Some(payment) = world.payments.get(psp) else {
            check
                .violations
                .push(format!("order {number}: the PSP has no payment {psp}"));
            continue;
        };
        let captured = major_units(payment.captured, &payment.currency);
        if captured != seam.shipped_value {
            check.violations.push(format!(
                "order {number}: the PSP captured {captured} {}, the shipped units are worth {}",
                payment.currency, seam.shipped_value
            ));
        }
    }
    for order in &world.centra_orders {
        let warehouse_shipped = world
            .warehouse_orders
            .get(&order.number.to_string())
            .is_some_and(|w| w.dispatched.values().any(|u| *u > 0));
        if warehouse_shipped
            && !world.seam_orders.contains_key(&order.number)
            && !held(world, order.number)
        {
            check.violations.push(format!(
                "order {} was dispatched by the 3PL but Seam has no record of it",
                order.number
            ));
        }
    }
    check
}

fn refund_reference(case_id: &str) -> String {
    format!("return-{case_id}")
}

/// Per return: the PSP refunded once, with the return's reference, exactly
/// the reversal Seam computed (Reveni paid instant returns itself); every
/// return Reveni accepted units of has its refund computed.
pub fn refunds_equal_reversals_posted_once(world: &World) -> Check {
    let mut check = Check::new("every refund equals its reversal, posted once");
    let mut refunds: BTreeMap<&str, Vec<(&str, i64)>> = BTreeMap::new();
    for payment in world.payments.values() {
        for (reference, minor) in &payment.refunds {
            refunds
                .entry(reference.as_str())
                .or_default()
                .push((payment.currency.as_str(), *minor));
        }
    }
    let mut known = BTreeSet::new();
    for case in &world.seam_returns {
        let reference = refund_reference(&case.id);
        known.insert(reference.clone());
        let posted = refunds.get(reference.as_str()).cloned().unwrap_or_default();
        check.checked += 1;
        if held(world, case.order) {
            if posted.len() > 1 {
                check.violations.push(format!(
                    "return {} of order {}: refunded {} times",
                    case.id,
                    case.order,
                    posted.len()
                ));
            }
            continue;
        }
        match (case.refund, case.instant) {
            (Some(_), true) | (None, _) if !posted.is_empty() => check.violations.push(format!(
                "return {} of order {}: the PSP refunded {} time(s) without a refund owed through it",
                case.id,
                case.order,
                posted.len()
            )),
            (Some(plan), false) => match posted.as_slice() {
                [(currency, minor)] => {
                    let refunded = major_units(*minor, currency);
                    if refunded != plan {
                        check.violations.push(format!(
                            "return {} of order {}: refunded {refunded} {currency}, the reversal is {plan}",
                            case.id, case.order
                        ));
                    }
                }
                [] => check.violations.push(format!(
                    "return {} of order {}: {plan} is owed but the PSP refunded nothing",
                    case.id, case.order
                )),
                many => check.violations.push(format!(
                    "return {} of order {}: refunded {} times",
                    case.id,
                    case.order,
                    many.len()
                )),
            },
            _ => {}
        }
    }
    for (reference, posted) in &refunds {
        if reference.starts_with("return-") && !known.contains(*reference) {
            check.violations.push(format!(
                "the PSP made {} refund(s) '{reference}' for a return Seam does not have",
                posted.len()
            ));
        }
    }
    let seam_orders: BTreeMap<&str, i64> = world
        .seam_orders
        .values()
        .map(|o| (o.centra_id.as_str(), o.number))
        .collect();
    for found in &world.reveni_returns {
        if found.accepted_units == 0 {
            continue;
        }
        let Some(number) = seam_orders.get(found.order_external_id.as_str()) else {
            continue;
        };
        check.checked += 1;
        if held(world, *number) {
            continue;
        }
        let case = world
            .seam_returns
            .iter()
            .find(|c| c.id == found.id && c.order == *number);
        match case {
            None => check.violations.push(format!(
                "Reveni accepted {} unit(s) of return {} (order {number}), which Seam never took in",
                found.accepted_units, found.id
            )),
            Some(case) if case.takes_units && case.refund.is_none() => {
                check.violations.push(format!(
                    "Reveni accepted {} unit(s) of return {} (order {number}), but Seam computed no refund",
                    found.accepted_units, found.id
                ))
            }
            Some(_) => {}
        }
    }
    check
}

/// Per return: one NetSuite credit memo, of exactly the refund; none that
/// no return explains.
pub fn no_credit_memo_twice(world: &World) -> Check {
    let mut check = Check::new("no credit memo twice");
    let mut memos: BTreeMap<&str, Vec<Decimal>> = BTreeMap::new();
    for memo in &world.erp_credit_memos {
        memos
            .entry(memo.external_id.as_str())
            .or_default()
            .push(memo.total);
    }
    let mut known = BTreeSet::new();
    for case in &world.seam_returns {
        let external = seam_connectors::netsuite::external_id_for("seam-cm", &case.id);
        let found = memos.get(external.as_str()).cloned().unwrap_or_default();
        known.insert(external);
        check.checked += 1;
        if found.len() > 1 {
            check.violations.push(format!(
                "return {} of order {}: {} credit memos",
                case.id,
                case.order,
                found.len()
            ));
            continue;
        }
        if held(world, case.order) {
            continue;
        }
        match (case.refund, found.first()) {
            (Some(plan), Some(total)) if *total != plan => check.violations.push(format!(
                "return {} of order {}: the credit memo is {total}, the refund {plan}",
                case.id, case.order
            )),
            (Some(plan), None) => check.violations.push(format!(
                "return {} of order {}: {plan} refunded but no credit memo",
                case.id, case.order
            )),
            (None, Some(total)) => check.violations.push(format!(
                "return {} of order {}: a credit memo of {total} without a refund",
                case.id, case.order
            )),
            _ => {}
        }
    }
    for (external, found) in memos {
        if !known.contains(external) {
            check.violations.push(format!(
                "NetSuite has {} credit memo(s) '{external}' that no return explains",
                found.len()
            ));
        }
    }
    check
}

/// Per SKU: Centra holds the 3PL's sellable units (Seam's push), and what
/// Centra may still sell is what the 3PL can: its sellable units less those
/// it holds for open orders, less units Centra holds for orders that an
/// exception keeps from the 3PL (or from the 3PL's latest version of them).
pub fn stock_equals_sellable_truth(world: &World) -> Check {
    let mut check = Check::new("Centra stock equals sellable truth");
    let mut held_back: BTreeMap<&str, i64> = BTreeMap::new();
    for order in &world.centra_orders {
        let warehouse = world
            .warehouse_orders
            .get(&order.number.to_string())
            .filter(|w| !w.cancelled);
        if warehouse.is_some() && !held(world, order.number) {
            // Sent and not held: the 3PL's allocation must be Centra's,
            // which the per-SKU comparison below holds it to.
            continue;
        }
        for (sku, units) in &order.allocated {
            let at_warehouse = warehouse
                .and_then(|w| w.allocated.get(sku))
                .copied()
                .unwrap_or(0);
            *held_back.entry(sku.as_str()).or_insert(0) += (units - at_warehouse).max(0);
        }
    }
    for sku in &world.stock {
        check.checked += 1;
        if world.open_exception_on(&format!("sku:{}", sku.sku)) {
            continue;
        }
        if sku.centra_physical != sku.warehouse_sellable {
            check.violations.push(format!(
                "{}: Centra holds {} physical, the 3PL has {} sellable",
                sku.sku, sku.centra_physical, sku.warehouse_sellable
            ));
            continue;
        }
        let truth = sku.warehouse_sellable
            - sku.warehouse_allocated
            - held_back.get(sku.sku.as_str()).copied().unwrap_or(0);
        if sku.centra_free != truth {
            check.violations.push(format!(
                "{}: Centra may sell {}, the 3PL {} ({} sellable, {} held for its orders, {} for orders not sent to it)",
                sku.sku,
                sku.centra_free,
                truth,
                sku.warehouse_sellable,
                sku.warehouse_allocated,
                held_back.get(sku.sku.as_str()).copied().unwrap_or(0)
            ));
        }
    }
    check
}

/// After settling, every job ended: done (gone), or parked as an open
/// exception, or waiting behind its entity's parked job. Only the
/// scheduler's polls may still come and go.
pub fn every_failure_ended_done_or_as_an_exception(world: &World) -> Check {
    let mut check = Check::new("every failure ended as done or as an exception");
    let open_holding: BTreeSet<i64> = world
        .exceptions
        .iter()
        .filter(|e| e.open)
        .filter_map(|e| e.job_id)
        .collect();
    let parked: BTreeMap<&str, i64> = world
        .active_jobs
        .iter()
        .filter(|j| j.state == JobState::Parked)
        .fold(BTreeMap::new(), |mut first, j| {
            first.entry(j.entity.as_str()).or_insert(j.id);
            first
        });
    for job in &world.active_jobs {
        check.checked += 1;
        match job.state {
            JobState::Parked if !open_holding.contains(&job.id) => check.violations.push(format!(
                "job {} ({} for {}) is parked without an open exception",
                job.id, job.what, job.entity
            )),
            JobState::Parked => {}
            _ if job.scheduled => {}
            _ if parked.get(job.entity.as_str()).is_some_and(|p| *p < job.id) => {}
            _ => check.violations.push(format!(
                "job {} ({} for {}) is still {} after {} attempt(s){}",
                job.id,
                job.what,
                job.entity,
                job.state.as_str(),
                job.attempts,
                job.last_error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            )),
        }
    }
    let active: BTreeSet<i64> = world.active_jobs.iter().map(|j| j.id).collect();
    for exception in world.exceptions.iter().filter(|e| e.open) {
        check.checked += 1;
        if let Some(job) = exception.job_id {
            if !active.contains(&job) {
                check.violations.push(format!(
                    "exception {} ({} on {}) holds job {job}, which is gone",
                    exception.id, exception.exception_type, exception.entity
                ));
            }
        }
    }
    check
}

/// Exception types that only a bug in Seam raises.
const BUG_TYPES: [&str; 4] = [
    "handler_panicked",
    "no_handler",
    "sync_illusion",
    "invalid_data",
];

pub fn no_exception_is_a_seam_bug(world: &World) -> Check {
    let mut check = Check::new("no exception is a Seam bug");
    for exception in &world.exceptions {
        check.checked += 1;
        if BUG_TYPES.contains(&exception.exception_type.as_str()) {
            check.violations.push(format!(
                "exception {} {} on {}: {}",
                exception.id, exception.exception_type, exception.entity, exception.message
            ));
        }
    }
    check
}

#[derive(Debug, Default)]
struct Books {
    captured_psp: Decimal,
    shipped_seam: Decimal,
    captured_centra: Decimal,
    refunded_psp: Decimal,
    refunds_through_psp: Decimal,
    refunds_all: Decimal,
    credit_memos: Decimal,
}

/// Per currency, over the orders no exception holds: what the PSP captured
/// is what Seam shipped and what Centra's shipments captured; what the PSP
/// refunded is what Seam refunded through it; the credit memos are every
/// refund. The net (captured less refunded) follows.
pub fn books_balance(world: &World) -> Check {
    let mut check = Check::new("the books balance");
    let mut books: BTreeMap<String, Books> = BTreeMap::new();
    let centra: BTreeMap<i64, &super::world::CentraOrder> =
        world.centra_orders.iter().map(|o| (o.number, o)).collect();
    for (number, seam) in &world.seam_orders {
        if held(world, *number) {
            continue;
        }
        let book = books.entry(seam.currency.clone()).or_default();
        book.shipped_seam += seam.shipped_value;
        if let Some(order) = centra.get(number) {
            book.captured_centra += order.captured;
        }
        if let Some(payment) = seam
            .psp_reference
            .as_ref()
            .and_then(|psp| world.payments.get(psp))
        {
            book.captured_psp += major_units(payment.captured, &payment.currency);
            for (_, minor) in &payment.refunds {
                book.refunded_psp += major_units(*minor, &payment.currency);
            }
        }
        for case in world.seam_returns.iter().filter(|c| c.order == *number) {
            let Some(plan) = case.refund else { continue };
            book.refunds_all += plan;
            if !case.instant {
                book.refunds_through_psp += plan;
            }
            let external = seam_connectors::netsuite::external_id_for("seam-cm", &case.id);
            book.credit_memos += world
                .erp_credit_memos
                .iter()
                .filter(|m| m.external_id == external)
                .map(|m| m.total)
                .sum::<Decimal>();
        }
    }
    for (currency, book) in &books {
        let mut compare = |what: &str, left: Decimal, right: Decimal| {
            check.checked += 1;
            if left != right {
                check
                    .violations
                    .push(format!("{currency}: {what}: {left} ≠ {right}"));
            }
        };
        compare(
            "captured at the PSP vs shipped by Seam",
            book.captured_psp,
            book.shipped_seam,
        );
        compare(
            "captured at the PSP vs captured by Centra's shipments",
            book.captured_psp,
            book.captured_centra,
        );
        compare(
            "refunded at the PSP vs refunds owed through it",
            book.refunded_psp,
            book.refunds_through_psp,
        );
        compare(
            "credit memos vs refunds",
            book.credit_memos,
            book.refunds_all,
        );
    }
    check
}

/// Net money per currency (captured less refunded at the PSP), for the report.
pub fn net_by_currency(world: &World) -> BTreeMap<String, (Decimal, Decimal)> {
    let mut net: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for payment in world.payments.values() {
        let entry = net.entry(payment.currency.clone()).or_default();
        entry.0 += major_units(payment.captured, &payment.currency);
        for (_, minor) in &payment.refunds {
            entry.1 += major_units(*minor, &payment.currency);
        }
    }
    net
}

#[cfg(test)]
mod tests {
    use super::super::world::*;
    use super::*;
    use rust_decimal_macros::dec;

    /// One order of two units (line 11), one shipped and captured, one
    /// returned and refunded; stock agreeing everywhere. Every check passes.
    fn consistent() -> World {
        let mut world = World::default();
        world.centra_orders.push(CentraOrder {
            number: 1,
            id: "c1".into(),
            currency: "EUR".into(),
            cancelled: false,
            psp_reference: "PSP1".into(),
            captured: dec!(54.95),
            allocated: BTreeMap::from([("SKU-A".to_string(), 1)]),
        });
        world.warehouse_orders.insert(
            "1".into(),
            WarehouseOrder {
                cancelled: false,
                dispatched: BTreeMap::from([("11".to_string(), 1)]),
                allocated: BTreeMap::from([("SKU-A".to_string(), 1)]),
            },
        );
        world.erp_sales_orders.push("centra-c1".into());
        world.erp_credit_memos.push(CreditMemo {
            external_id: seam_connectors::netsuite::external_id_for("seam-cm", "r1"),
            total: dec!(50.00),
        });
        world.payments.insert(
            "PSP1".into(),
            Payment {
                currency: "EUR".into(),
                captured: 5_495,
                refunds: vec![("return-r1".into(), 5_000)],
            },
        );
        world.reveni_returns.push(ReveniReturn {
            id: "r1".into(),
            order_external_id: "c1".into(),
            accepted_units: 1,
        });
        world.stock.push(SkuStock {
            sku: "SKU-A".into(),
            centra_physical: 9,
            centra_free: 8,
            warehouse_sellable: 9,
            warehouse_allocated: 1,
        });
        world.seam_orders.insert(
            1,
            SeamOrder {
                number: 1,
                centra_id: "c1".into(),
                currency: "EUR".into(),
                psp_reference: Some("PSP1".into()),
                cancelled: false,
                shipped: BTreeMap::from([("11".to_string(), 1)]),
                shipped_value: dec!(54.95),
            },
        );
        world.seam_returns.push(SeamReturn {
            order: 1,
            id: "r1".into(),
            currency: "EUR".into(),
            instant: false,
            takes_units: true,
            refund: Some(dec!(50.00)),
        });
        // A fault's exception, resubmitted and resolved.
        world.exceptions.push(Exception {
            id: 1,
            entity: "order:1".into(),
            exception_type: "retries_exhausted".into(),
            open: false,
            job_id: Some(3),
            message: "NetSuite answered 503".into(),
        });
        world.active_jobs.push(ActiveJob {
            id: 90,
            entity: "centra-order-events".into(),
            what: "orders/poll_events".into(),
            state: JobState::Queued,
            scheduled: true,
            attempts: 0,
            last_error: None,
        });
        world
    }

    fn violations_of(world: &World, name: &str) -> Vec<String> {
        check_all(world)
            .into_iter()
            .find(|c| c.name == name)
            .map(|c| c.violations)
            .unwrap_or_else(|| panic!("no check named {name}"))
    }

    fn open_exception(world: &mut World, entity: &str, exception_type: &str, job: Option<i64>) {
        world.exceptions.push(Exception {
            id: world.exceptions.len() as i64 + 1,
            entity: entity.into(),
            exception_type: exception_type.into(),
            open: true,
            job_id: job,
            message: "held".into(),
        });
    }

    #[test]
    fn a_consistent_world_passes_every_check() {
        for check in check_all(&consistent()) {
            assert!(check.passed(), "{}: {:?}", check.name, check.violations);
            assert!(check.checked > 0, "{} checked nothing", check.name);
        }
    }

    #[test]
    fn an_order_missing_in_the_3pl_is_a_violation_unless_an_exception_holds_it() {
        let mut world = consistent();
        world.warehouse_orders.clear();
        let found = violations_of(&world, "every Centra order once in the 3PL");
        assert!(found[0].contains("order 1 is not in the 3PL"), "{found:?}");
        open_exception(&mut world, "order:1", "unmapped_shipping_method", None);
        assert!(violations_of(&world, "every Centra order once in the 3PL").is_empty());
    }

    #[test]
    fn a_second_netsuite_sales_order_is_a_violation_even_under_an_exception() {
        let mut world = consistent();
        world.erp_sales_orders.push("centra-c1".into());
        open_exception(&mut world, "order:1", "erp_refused_order", None);
        let found = violations_of(&world, "every Centra order once in NetSuite");
        assert!(found[0].contains("2 NetSuite sales orders"), "{found:?}");
        let mut stray = consistent();
        stray.erp_sales_orders.push("centra-c9".into());
        assert!(!violations_of(&stray, "every Centra order once in NetSuite").is_empty());
    }

    #[test]
    fn a_capture_that_differs_from_the_shipped_value_is_a_violation() {
        let mut world = consistent();
        if let Some(payment) = world.payments.get_mut("PSP1") {
            payment.captured = 5_496;
        }
        let found = violations_of(&world, "captures equal shipped value");
        assert!(found[0].contains("captured 54.96"), "{found:?}");
    }

    #[test]
    fn a_dispatch_seam_never_recorded_is_a_violation() {
        let mut world = consistent();
        if let Some(order) = world.warehouse_orders.get_mut("1") {
            order.dispatched.insert("11".into(), 2);
        }
        let found = violations_of(&world, "captures equal shipped value");
        assert!(
            found[0].contains("the 3PL dispatched 2, Seam shipped 1"),
            "{found:?}"
        );
    }

    #[test]
    fn a_refund_posted_twice_or_differing_from_the_reversal_is_a_violation() {
        let mut twice = consistent();
        if let Some(payment) = twice.payments.get_mut("PSP1") {
            payment.refunds.push(("return-r1".into(), 5_000));
        }
        let found = violations_of(&twice, "every refund equals its reversal, posted once");
        assert!(found[0].contains("refunded 2 times"), "{found:?}");
        let mut off = consistent();
        if let Some(payment) = off.payments.get_mut("PSP1") {
            payment.refunds[0].1 = 4_999;
        }
        let found = violations_of(&off, "every refund equals its reversal, posted once");
        assert!(found[0].contains("the reversal is 50.00"), "{found:?}");
    }

    #[test]
    fn an_accepted_return_seam_never_refunded_is_a_violation() {
        let mut world = consistent();
        world.seam_returns[0].refund = None;
        world.erp_credit_memos.clear();
        if let Some(payment) = world.payments.get_mut("PSP1") {
            payment.refunds.clear();
        }
        let found = violations_of(&world, "every refund equals its reversal, posted once");
        assert!(
            found.iter().any(|v| v.contains("Seam computed no refund")),
            "{found:?}"
        );
    }

    #[test]
    fn a_second_credit_memo_is_a_violation() {
        let mut world = consistent();
        let again = world.erp_credit_memos[0].clone();
        world.erp_credit_memos.push(again);
        let found = violations_of(&world, "no credit memo twice");
        assert!(found[0].contains("2 credit memos"), "{found:?}");
    }

    #[test]
    fn centra_stock_off_the_3pls_truth_is_a_violation() {
        let mut world = consistent();
        world.stock[0].centra_physical = 8;
        let found = violations_of(&world, "Centra stock equals sellable truth");
        assert!(found[0].contains("8 physical"), "{found:?}");
        let mut oversold = consistent();
        oversold.stock[0].centra_free = 9;
        let found = violations_of(&oversold, "Centra stock equals sellable truth");
        assert!(
            found[0].contains("Centra may sell 9, the 3PL 8"),
            "{found:?}"
        );
    }

    #[test]
    fn units_held_for_an_order_kept_from_the_3pl_explain_the_difference() {
        let mut world = consistent();
        world.centra_orders.push(CentraOrder {
            number: 2,
            id: "c2".into(),
            currency: "EUR".into(),
            cancelled: false,
            psp_reference: "PSP2".into(),
            captured: Decimal::ZERO,
            allocated: BTreeMap::from([("SKU-A".to_string(), 1)]),
        });
        world.stock[0].centra_free = 7;
        open_exception(&mut world, "order:2", "unmapped_shipping_method", Some(7));
        world.active_jobs.push(ActiveJob {
            id: 7,
            entity: "order:2".into(),
            what: "orders/order_changed".into(),
            state: JobState::Parked,
            scheduled: false,
            attempts: 1,
            last_error: None,
        });
        for check in check_all(&world) {
            assert!(check.passed(), "{}: {:?}", check.name, check.violations);
        }
    }

    #[test]
    fn units_added_to_an_order_the_3pl_refused_are_explained_by_its_exception() {
        // An edit added a unit in Centra; the 3PL, having dispatched, refused
        // the new version: an exception holds the order.
        let mut world = consistent();
        world.centra_orders[0]
            .allocated
            .insert("SKU-A".to_string(), 2);
        world.stock[0].centra_free = 7;
        let found = violations_of(&world, "Centra stock equals sellable truth");
        assert!(
            found[0].contains("Centra may sell 7, the 3PL 8"),
            "{found:?}"
        );
        open_exception(&mut world, "order:1", "warehouse_refused_order", None);
        assert!(violations_of(&world, "Centra stock equals sellable truth").is_empty());
    }

    #[test]
    fn a_job_left_queued_or_parked_without_an_exception_is_a_violation() {
        let mut world = consistent();
        world.active_jobs.push(ActiveJob {
            id: 5,
            entity: "order:1".into(),
            what: "orders/post_erp".into(),
            state: JobState::Queued,
            scheduled: false,
            attempts: 3,
            last_error: Some("transient: NetSuite answered 503".into()),
        });
        let found = violations_of(&world, "every failure ended as done or as an exception");
        assert!(
            found[0].contains("still queued after 3 attempt(s)"),
            "{found:?}"
        );
        world.active_jobs[1].state = JobState::Parked;
        let found = violations_of(&world, "every failure ended as done or as an exception");
        assert!(
            found[0].contains("parked without an open exception"),
            "{found:?}"
        );
        open_exception(&mut world, "order:1", "retries_exhausted", Some(5));
        world.active_jobs.push(ActiveJob {
            id: 6,
            entity: "order:1".into(),
            what: "orders/dispatched".into(),
            state: JobState::Queued,
            scheduled: false,
            attempts: 0,
            last_error: None,
        });
        assert!(
            violations_of(&world, "every failure ended as done or as an exception").is_empty(),
            "a job behind its entity's parked job waits for the exception"
        );
    }

    #[test]
    fn an_exception_only_a_bug_raises_is_a_violation() {
        let mut world = consistent();
        world.exceptions.push(Exception {
            id: 1,
            entity: "order:1".into(),
            exception_type: "handler_panicked".into(),
            open: false,
            job_id: None,
            message: "boom".into(),
        });
        assert_eq!(violations_of(&world, "no exception is a Seam bug").len(), 1);
    }

    #[test]
    fn books_that_do_not_balance_are_a_violation() {
        let mut world = consistent();
        world.centra_orders[0].captured = dec!(54.90);
        world.erp_credit_memos[0].total = dec!(49.99);
        let found = violations_of(&world, "the books balance");
        assert!(
            found
                .iter()
                .any(|v| v.contains("captured by Centra's shipments")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|v| v.contains("credit memos vs refunds")),
            "{found:?}"
        );
    }
}
