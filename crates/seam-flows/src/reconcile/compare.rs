//! The comparator: what Seam meant (its own order record, the returns it
//! handled) against what each system shows (compact observations the
//! gatherer read), as a list of variances. Pure: no I/O, no clock, so the
//! bench measures exactly this and most tests hit it directly.
//!
//! A difference that work still in flight explains (the order has queued
//! or running jobs, or is still being posted) is no variance: the next
//! cycle sees it settled.

use rust_decimal::Decimal;
use seam_model::{Currency, OwnerTeam};
use serde::{Deserialize, Serialize};

use crate::orders::{OrderRecord, OrderStage};
use crate::returns::OrderReturns;

/// What kind of disagreement a variance is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarianceKind {
    /// The ERP's order total differs from the storefront's.
    TotalMismatch,
    /// The ERP's tax differs from the storefront's.
    TaxMismatch,
    /// The storefront's discounts differ from what Seam allocated.
    DiscountMismatch,
    /// Seam posted the order but the ERP does not have it.
    MissingInErp,
    /// A job reported done, but the target read back now differs from what
    /// was meant (someone or something changed it after the job).
    SyncIllusion,
    /// The ERP's fulfilled units differ from the units that shipped.
    FulfilmentMismatch,
    /// The PSP captured more than the value that shipped.
    CapturedMoreThanShipped,
    /// The PSP captured less than the value that shipped.
    CapturedLessThanShipped,
    /// Money went back to the customer but the ERP has no credit memo.
    RefundWithoutCreditMemo,
    /// The ERP has a credit memo but no money went back.
    CreditMemoWithoutRefund,
    /// A credit memo or a refund differs from the refund Seam computed.
    RefundMismatch,
    /// The storefront shows more stock free to sell than the warehouse has sellable.
    StockDrift,
}

impl VarianceKind {
    pub const ALL: [VarianceKind; 12] = [
        VarianceKind::TotalMismatch,
        VarianceKind::TaxMismatch,
        VarianceKind::DiscountMismatch,
        VarianceKind::MissingInErp,
        VarianceKind::SyncIllusion,
        VarianceKind::FulfilmentMismatch,
        VarianceKind::CapturedMoreThanShipped,
        VarianceKind::CapturedLessThanShipped,
        VarianceKind::RefundWithoutCreditMemo,
        VarianceKind::CreditMemoWithoutRefund,
        VarianceKind::RefundMismatch,
        VarianceKind::StockDrift,
    ];

    /// The stable name, also the exception type.
    pub fn as_str(self) -> &'static str {
        match self {
            VarianceKind::TotalMismatch => "total_mismatch",
            VarianceKind::TaxMismatch => "tax_mismatch",
            VarianceKind::DiscountMismatch => "discount_mismatch",
            VarianceKind::MissingInErp => "missing_in_erp",
            VarianceKind::SyncIllusion => "sync_illusion",
            VarianceKind::FulfilmentMismatch => "fulfilment_mismatch",
            VarianceKind::CapturedMoreThanShipped => "captured_more_than_shipped",
            VarianceKind::CapturedLessThanShipped => "captured_less_than_shipped",
            VarianceKind::RefundWithoutCreditMemo => "refund_without_credit_memo",
            VarianceKind::CreditMemoWithoutRefund => "credit_memo_without_refund",
            VarianceKind::RefundMismatch => "refund_mismatch",
            VarianceKind::StockDrift => "stock_drift",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        VarianceKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The team that must act on it.
    pub fn owner(self) -> OwnerTeam {
        match self {
            VarianceKind::SyncIllusion | VarianceKind::MissingInErp => OwnerTeam::Engineering,
            VarianceKind::FulfilmentMismatch | VarianceKind::StockDrift => OwnerTeam::Ops,
            VarianceKind::DiscountMismatch => OwnerTeam::Merchandising,
            _ => OwnerTeam::Finance,
        }
    }

    /// What to do about it, for the exception's fix hint.
    pub fn fix_hint(self) -> &'static str {
        match self {
            VarianceKind::TotalMismatch | VarianceKind::TaxMismatch => {
                "Compare the order in Centra and NetSuite (seam trace <order>); correct the ERP order or book the difference, then resubmit to check again."
            }
            VarianceKind::DiscountMismatch => {
                "A discount was changed in Centra after the order was placed; check the voucher and correct the order, then resubmit to check again."
            }
            VarianceKind::MissingInErp => {
                "The sales order was deleted or never created in NetSuite; resubmit the order's post (seam exceptions) or re-create it, then resubmit to check again."
            }
            VarianceKind::SyncIllusion => {
                "Someone changed the record after Seam wrote it; compare it with Seam's trace, put it right in the target system, then resubmit to check again."
            }
            VarianceKind::FulfilmentMismatch => {
                "Compare the warehouse's dispatches with the NetSuite item fulfilments; add or remove the fulfilment, then resubmit to check again."
            }
            VarianceKind::CapturedMoreThanShipped | VarianceKind::CapturedLessThanShipped => {
                "Compare the captures in Adyen with the order's shipments; refund the excess or capture what is missing, then resubmit to check again."
            }
            VarianceKind::RefundWithoutCreditMemo => {
                "Create the credit memo for the refund in NetSuite (or resubmit the return's credit memo), then resubmit to check again."
            }
            VarianceKind::CreditMemoWithoutRefund => {
                "Refund the customer in Adyen (or resubmit the return's refund), or void the credit memo, then resubmit to check again."
            }
            VarianceKind::RefundMismatch => {
                "Compare the credit memo and the refunds with the return's reversal (seam trace return:<id>); correct the one that differs, then resubmit to check again."
            }
            VarianceKind::StockDrift => {
                "Find what else writes stock to this Centra warehouse (another integration, a manual edit) and stop it; then resubmit to check again."
            }
        }
    }
}

/// One disagreement between systems, with both values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variance {
    pub kind: VarianceKind,
    /// `order:<n>` or `sku:<sku>`.
    pub entity_key: String,
    /// The order's date (`YYYY-MM-DD`); empty for stock.
    pub day: String,
    /// `None` for quantities (stock, units).
    pub currency: Option<Currency>,
    /// The value the first system (or Seam's intent) holds.
    pub expected: Decimal,
    /// The value the second system holds.
    pub found: Decimal,
    /// The systems compared: (where `expected` comes from, where `found` does).
    pub systems: (String, String),
    pub detail: String,
}

impl Variance {
    pub fn owner(&self) -> OwnerTeam {
        self.kind.owner()
    }

    /// found − expected.
    pub fn difference(&self) -> Decimal {
        self.found - self.expected
    }
}

/// The storefront's order as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorefrontFacts {
    pub grand_total: Decimal,
    pub tax_total: Decimal,
    /// Order discounts, as a positive amount.
    pub discounts: Decimal,
}

/// One ERP sales order line as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErpLineFacts {
    pub line: u32,
    pub quantity: Decimal,
    pub fulfilled: Decimal,
}

/// The ERP's sales order as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErpOrderFacts {
    /// NetSuite's lastModifiedDate (Unix ms).
    #[serde(default)]
    pub modified_at: Option<i64>,
    pub total: Decimal,
    pub tax_total: Decimal,
    pub lines: Vec<ErpLineFacts>,
}

/// Whether and how the ERP has the order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErpObservation {
    /// Not read (the ERP was not asked, e.g. the order was never posted).
    #[default]
    NotRead,
    /// Read: NetSuite does not have it.
    Missing,
    Found(ErpOrderFacts),
}

/// The PSP's view of the order's payment (successful operations only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PspFacts {
    pub authorised: Decimal,
    pub captured: Decimal,
    pub refunded: Decimal,
}

/// One return's money as read back in the ERP and Reveni.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnMoneyFacts {
    /// The return case id (Reveni's id, or `wh-...`).
    pub return_id: String,
    /// The credit memo's total; `None` when the ERP has none.
    pub credit_memo: Option<Decimal>,
    /// What Reveni reports refunded; `None` when not asked (not a Reveni return).
    pub reveni_refunded: Option<Decimal>,
}

/// Everything read for one order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderObservations {
    pub storefront: Option<StorefrontFacts>,
    pub erp: ErpObservation,
    pub psp: Option<PspFacts>,
    pub returns: Vec<ReturnMoneyFacts>,
    /// The order has active jobs (orders or returns flow).
    pub in_flight: bool,
    /// When the systems were read (Unix ms).
    #[serde(default)]
    pub observed_at: i64,
}

/// How long a change made in NetSuite after Seam last read the order counts
/// as an edit the edits flow (which polls every ten seconds) has still to
/// carry over, rather than a change nobody carried over.
pub const ERP_EDIT_GRACE_MS: i64 = 10 * 60 * 1000;

/// Per SKU: what the storefront shows free to sell and the warehouse's
/// sellable truth, as the stock flow's read-back last found them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockObservation {
    pub sku: String,
    pub storefront_free: i64,
    pub warehouse_sellable: i64,
}

/// Seam's intent for one order, reduced to the figures compared. Built once
/// per order from its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderIntent {
    pub entity_key: String,
    pub day: String,
    pub currency: Currency,
    pub stage: OrderStage,
    pub posted_to_erp: bool,
    /// The ERP's lastModifiedDate Seam last read (Unix ms).
    pub erp_seen_at: Option<i64>,
    /// The voucher discounts Seam allocated.
    pub discounts: Decimal,
    /// The tax contained in shipping. Seam posts shipping to NetSuite as
    /// one tax-inclusive shippingCost, so NetSuite's taxTotal holds the
    /// items' tax only.
    pub shipping_tax: Decimal,
    /// Per ERP line: the units Seam means it to hold (ordered − cancelled).
    pub erp_units: Vec<(u32, Decimal)>,
    pub shipped_units: Decimal,
    /// The value shipped (Seam's allocation, shipping on the first dispatch).
    pub shipped_value: Decimal,
    /// Per return case with a refund: (case id, refund total, credit memo
    /// posted, PSP refund made, Reveni refunded up front).
    pub refunds: Vec<RefundIntent>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundIntent {
    pub return_id: String,
    pub total: Decimal,
    pub credit_memo_posted: bool,
    pub psp_refunded: bool,
    pub instant: bool,
}

impl OrderIntent {
    pub fn of(record: &OrderRecord, returns: Option<&OrderReturns>) -> Self {
        let order = &record.order;
        let mut erp_units: Vec<(u32, Decimal)> = Vec::new();
        for line in &order.lines {
            if let Some(erp_line) = record.erp_line(line.line_id) {
                let units = Decimal::from(line.quantity.saturating_sub(line.cancelled));
                match erp_units.iter_mut().find(|(l, _)| *l == erp_line) {
                    Some((_, sum)) => *sum += units,
                    None => erp_units.push((erp_line, units)),
                }
            }
        }
        let refunds = returns
            .map(|r| {
                r.cases
                    .iter()
                    .filter_map(|case| {
                        let plan = case.refund.as_ref()?;
                        (plan.total.amount > Decimal::ZERO).then(|| RefundIntent {
                            return_id: case.id.clone(),
                            total: plan.total.amount,
                            credit_memo_posted: case.credit_memo.is_some(),
                            psp_refunded: case.psp_refund.is_some(),
                            instant: case.instant,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        OrderIntent {
            entity_key: crate::orders::order_entity(order.number),
            day: order.order_date.clone(),
            currency: order.currency,
            stage: record.stage,
            posted_to_erp: record.erp_id.is_some(),
            erp_seen_at: record
                .erp_seen
                .as_deref()
                .and_then(|seen| chrono::DateTime::parse_from_rfc3339(seen).ok())
                .map(|seen| seen.timestamp_millis()),
            discounts: order
                .lines
                .iter()
                .map(|l| l.allocation.voucher.amount)
                .sum(),
            shipping_tax: order.shipping_tax.amount,
            erp_units,
            shipped_units: order.lines.iter().map(|l| Decimal::from(l.shipped)).sum(),
            shipped_value: record.dispatches.iter().map(|d| d.value).sum(),
            refunds,
        }
    }
}

fn variance(
    intent: &OrderIntent,
    kind: VarianceKind,
    expected: Decimal,
    found: Decimal,
    systems: (&str, &str),
    detail: String,
) -> Variance {
    Variance {
        kind,
        entity_key: intent.entity_key.clone(),
        day: intent.day.clone(),
        currency: Some(intent.currency),
        expected,
        found,
        systems: (systems.0.to_string(), systems.1.to_string()),
        detail,
    }
}

/// Compares one order. Appends its variances to `out` (so a chunk reuses one buffer).
pub fn compare_order(intent: &OrderIntent, seen: &OrderObservations, out: &mut Vec<Variance>) {
    // In flight: a job will move the figures; a cancelled order has nothing to hold.
    if seen.in_flight || matches!(intent.stage, OrderStage::Posting | OrderStage::Cancelled) {
        return;
    }
    if let ErpObservation::Found(erp) = &seen.erp {
        // Lines that differ right after a change in NetSuite are an edit
        // the edits flow has still to carry over (a change that moved no
        // line, such as a fulfilment, is compared as usual).
        if edit_pending(intent, erp, seen.observed_at) && !line_differences(intent, erp).is_empty()
        {
            return;
        }
    }
    let number = intent.entity_key.trim_start_matches("order:");
    if let Some(front) = &seen.storefront {
        if front.discounts.abs() != intent.discounts {
            out.push(variance(
                intent,
                VarianceKind::DiscountMismatch,
                intent.discounts,
                front.discounts.abs(),
                ("seam", "centra"),
                format!("Order {number}: Centra shows discounts of {}, Seam allocated {} when the order was placed.", front.discounts.abs(), intent.discounts),
            ));
        }
    }
    match &seen.erp {
        ErpObservation::NotRead => {}
        ErpObservation::Missing => {
            if intent.posted_to_erp {
                let expected = seen
                    .storefront
                    .as_ref()
                    .map_or(Decimal::ZERO, |f| f.grand_total);
                out.push(variance(
                    intent,
                    VarianceKind::MissingInErp,
                    expected,
                    Decimal::ZERO,
                    ("centra", "netsuite"),
                    format!("Order {number}: Seam posted it to NetSuite, but NetSuite no longer has the sales order."),
                ));
            }
        }
        ErpObservation::Found(erp) => compare_erp(intent, seen, erp, number, out),
    }
    if let Some(psp) = &seen.psp {
        if psp.captured > intent.shipped_value {
            out.push(variance(
                intent,
                VarianceKind::CapturedMoreThanShipped,
                intent.shipped_value,
                psp.captured,
                ("seam", "adyen"),
                format!(
                    "Order {number}: Adyen captured {}, but only {} shipped.",
                    psp.captured, intent.shipped_value
                ),
            ));
        } else if psp.captured < intent.shipped_value {
            out.push(variance(
                intent,
                VarianceKind::CapturedLessThanShipped,
                intent.shipped_value,
                psp.captured,
                ("seam", "adyen"),
                format!(
                    "Order {number}: {} shipped, but Adyen captured only {}.",
                    intent.shipped_value, psp.captured
                ),
            ));
        }
        let psp_refunds: Decimal = intent
            .refunds
            .iter()
            .filter(|r| r.psp_refunded)
            .map(|r| r.total)
            .sum();
        if psp.refunded != psp_refunds {
            out.push(variance(
                intent,
                VarianceKind::RefundMismatch,
                psp_refunds,
                psp.refunded,
                ("seam", "adyen"),
                format!("Order {number}: Adyen refunded {}, the returns Seam refunded add up to {psp_refunds}.", psp.refunded),
            ));
        }
    }
    compare_returns(intent, seen, number, out);
}

/// NetSuite changed the order after Seam last read it, and recently.
fn edit_pending(intent: &OrderIntent, erp: &ErpOrderFacts, observed_at: i64) -> bool {
    match (erp.modified_at, intent.erp_seen_at) {
        (Some(modified), Some(seen)) => {
            modified > seen && observed_at.saturating_sub(modified) < ERP_EDIT_GRACE_MS
        }
        _ => false,
    }
}

/// Per ERP line Seam wrote: how the units NetSuite holds differ.
fn line_differences(intent: &OrderIntent, erp: &ErpOrderFacts) -> Vec<String> {
    let mut differences = Vec::new();
    for (line, units) in &intent.erp_units {
        match erp.lines.iter().find(|l| l.line == *line) {
            Some(have) if have.quantity == *units => {}
            Some(have) => differences.push(format!(
                "line {line}: {} units instead of {units}",
                have.quantity
            )),
            None => differences.push(format!("line {line} is gone")),
        }
    }
    differences
}

fn compare_erp(
    intent: &OrderIntent,
    seen: &OrderObservations,
    erp: &ErpOrderFacts,
    number: &str,
    out: &mut Vec<Variance>,
) {
    // Sync illusion: the units Seam wrote, line by line, are no longer what
    // NetSuite holds (edits made in NetSuite are carried into Seam's record
    // by the edits flow, so what remains is a change nobody carried over).
    let differences = line_differences(intent, erp);
    if !differences.is_empty() {
        let expected: Decimal = intent.erp_units.iter().map(|(_, u)| *u).sum();
        let found: Decimal = erp.lines.iter().map(|l| l.quantity).sum();
        out.push(Variance {
            currency: None,
            ..variance(
                intent,
                VarianceKind::SyncIllusion,
                expected,
                found,
                ("seam", "netsuite"),
                format!(
                    "Order {number}: NetSuite's sales order no longer holds what Seam wrote: {}.",
                    differences.join("; ")
                ),
            )
        });
    }
    if let Some(front) = &seen.storefront {
        if erp.total != front.grand_total {
            out.push(variance(
                intent,
                VarianceKind::TotalMismatch,
                front.grand_total,
                erp.total,
                ("centra", "netsuite"),
                format!(
                    "Order {number}: Centra's total is {}, NetSuite's is {}.",
                    front.grand_total, erp.total
                ),
            ));
        }
        let item_tax = front.tax_total - intent.shipping_tax;
        if erp.tax_total != item_tax {
            out.push(variance(
                intent,
                VarianceKind::TaxMismatch,
                item_tax,
                erp.tax_total,
                ("centra", "netsuite"),
                format!(
                    "Order {number}: Centra's tax on the items is {item_tax} (of {} with shipping), NetSuite's is {}.",
                    front.tax_total, erp.tax_total
                ),
            ));
        }
    }
    let fulfilled: Decimal = erp.lines.iter().map(|l| l.fulfilled).sum();
    if fulfilled != intent.shipped_units {
        out.push(Variance {
            currency: None,
            ..variance(
                intent,
                VarianceKind::FulfilmentMismatch,
                intent.shipped_units,
                fulfilled,
                ("warehouse", "netsuite"),
                format!("Order {number}: the warehouse shipped {} units, NetSuite has {fulfilled} fulfilled.", intent.shipped_units),
            )
        });
    }
}

fn compare_returns(
    intent: &OrderIntent,
    seen: &OrderObservations,
    number: &str,
    out: &mut Vec<Variance>,
) {
    let psp_refunded_nothing = seen.psp.as_ref().is_some_and(|p| p.refunded.is_zero());
    for facts in &seen.returns {
        let Some(refund) = intent
            .refunds
            .iter()
            .find(|r| r.return_id == facts.return_id)
        else {
            // A credit memo for a return Seam never refunded.
            if let Some(memo) = facts.credit_memo {
                out.push(variance(
                    intent,
                    VarianceKind::CreditMemoWithoutRefund,
                    Decimal::ZERO,
                    memo,
                    ("adyen", "netsuite"),
                    format!("Order {number}, return {}: NetSuite has a credit memo of {memo}, but nothing was refunded.", facts.return_id),
                ));
            }
            continue;
        };
        // Money went back: Reveni refunded up front (instant), or Seam
        // refunded through the PSP and the PSP shows refunds on the payment.
        let money_back = if refund.instant {
            facts.reveni_refunded.is_some_and(|r| r > Decimal::ZERO)
        } else {
            refund.psp_refunded && !psp_refunded_nothing
        };
        let refund_system = if refund.instant { "reveni" } else { "adyen" };
        match facts.credit_memo {
            None if money_back => out.push(variance(
                intent,
                VarianceKind::RefundWithoutCreditMemo,
                refund.total,
                Decimal::ZERO,
                (refund_system, "netsuite"),
                format!("Order {number}, return {}: {} was refunded in {refund_system}, but NetSuite has no credit memo.", facts.return_id, refund.total),
            )),
            None => {}
            Some(memo) if !money_back => out.push(variance(
                intent,
                VarianceKind::CreditMemoWithoutRefund,
                Decimal::ZERO,
                memo,
                (refund_system, "netsuite"),
                format!("Order {number}, return {}: NetSuite has a credit memo of {memo}, but {refund_system} refunded nothing.", facts.return_id),
            )),
            Some(memo) if memo != refund.total => out.push(variance(
                intent,
                VarianceKind::RefundMismatch,
                refund.total,
                memo,
                ("seam", "netsuite"),
                format!("Order {number}, return {}: the credit memo is {memo}, the refund Seam computed is {}.", facts.return_id, refund.total),
            )),
            Some(_) => {}
        }
        if let Some(reveni) = facts.reveni_refunded {
            if refund.instant && reveni != refund.total {
                out.push(variance(
                    intent,
                    VarianceKind::RefundMismatch,
                    refund.total,
                    reveni,
                    ("seam", "reveni"),
                    format!("Order {number}, return {}: Reveni refunded {reveni}, the refund Seam computed is {}.", facts.return_id, refund.total),
                ));
            }
        }
    }
}

/// Compares one SKU's storefront stock with the warehouse's sellable truth.
/// Less free to sell than sellable is what open orders explain (and errs
/// low); more is drift.
pub fn compare_stock(seen: &StockObservation, out: &mut Vec<Variance>) {
    if seen.storefront_free > seen.warehouse_sellable {
        out.push(Variance {
            kind: VarianceKind::StockDrift,
            entity_key: format!("sku:{}", seen.sku),
            day: String::new(),
            currency: None,
            expected: Decimal::from(seen.warehouse_sellable),
            found: Decimal::from(seen.storefront_free),
            systems: ("warehouse".into(), "centra".into()),
            detail: format!(
                "{}: Centra shows {} free to sell, the warehouse has {} sellable.",
                seen.sku, seen.storefront_free, seen.warehouse_sellable
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::canonical::{CanonicalLine, CanonicalOrder};
    use crate::orders::DispatchRecord;
    use crate::returns::{ReturnCase, ReturnStage};
    use seam_model::mapping::ShippingService;
    use seam_model::order::LineAllocation;
    use seam_model::returns::RefundPlan;
    use seam_model::Money;

    fn eur(cents: i64) -> Decimal {
        Decimal::new(cents, 2)
    }

    fn money(cents: i64) -> Money {
        Money::new(eur(cents), Currency::EUR)
    }

    /// Order 1001: 2 × 50.00, voucher 10.00, shipping 5.00: 95.00, tax 19.00;
    /// both units shipped and captured; one unit returned and refunded (45.00).
    fn record() -> OrderRecord {
        let allocation = LineAllocation {
            line_id: "10".into(),
            sku: "SKU-1".into(),
            quantity: 2,
            gross: money(10000),
            voucher: money(1000),
            paid: money(9000),
            tax: money(1800),
            net: money(7200),
            shipping: money(500),
        };
        OrderRecord {
            order: CanonicalOrder {
                centra_id: "c1001".into(),
                number: 1001,
                currency: Currency::EUR,
                order_date: "2026-11-23".into(),
                shipping_method: None,
                address: None,
                psp_reference: Some("psp1".into()),
                lines: vec![CanonicalLine {
                    line_id: 10,
                    sku: "SKU-1".into(),
                    product_number: "P1".into(),
                    quantity: 2,
                    tax_percent: Decimal::from(25),
                    allocation,
                    shipped: 2,
                    cancelled: 0,
                    bundle_line: None,
                    erp_rate: None,
                }],
                shipping: money(500),
                shipping_tax: money(100),
                grand_total: money(9500),
            },
            stage: OrderStage::Shipped,
            service: ShippingService {
                service: "48".into(),
                agent: None,
            },
            erp_id: Some("77".into()),
            erp_lines: vec![(10, 1)],
            warehouse_version: Some(1),
            dispatches: vec![DispatchRecord {
                dispatch_id: "d1".into(),
                lines: vec![(10, 2)],
                carrier: "DPD".into(),
                service: "48".into(),
                tracking_number: "T1".into(),
                value: eur(9500),
                includes_shipping: true,
            }],
            erp_seen: None,
            revision: 0,
            exchange_of: None,
        }
    }

    fn returns() -> OrderReturns {
        let mut case = ReturnCase::new("r1".into(), crate::returns::ReturnSource::Reveni, false);
        case.stage = ReturnStage::Closed;
        case.refund = Some(RefundPlan {
            lines: vec![],
            total: money(4500),
            tax: money(900),
        });
        case.credit_memo = Some("cm1".into());
        case.psp_refund = Some("pspref1".into());
        OrderReturns { cases: vec![case] }
    }

    fn seen() -> OrderObservations {
        OrderObservations {
            storefront: Some(StorefrontFacts {
                grand_total: eur(9500),
                tax_total: eur(1900),
                discounts: eur(-1000),
            }),
            erp: ErpObservation::Found(ErpOrderFacts {
                modified_at: None,
                total: eur(9500),
                tax_total: eur(1800),
                lines: vec![ErpLineFacts {
                    line: 1,
                    quantity: Decimal::from(2),
                    fulfilled: Decimal::from(2),
                }],
            }),
            psp: Some(PspFacts {
                authorised: eur(9500),
                captured: eur(9500),
                refunded: eur(4500),
            }),
            returns: vec![ReturnMoneyFacts {
                return_id: "r1".into(),
                credit_memo: Some(eur(4500)),
                reveni_refunded: Some(Decimal::ZERO),
            }],
            in_flight: false,
            observed_at: 0,
        }
    }

    fn found(
        record: &OrderRecord,
        returns: &OrderReturns,
        seen: &OrderObservations,
    ) -> Vec<Variance> {
        let mut out = Vec::new();
        compare_order(&OrderIntent::of(record, Some(returns)), seen, &mut out);
        out
    }

    fn erp_mut(seen: &mut OrderObservations) -> &mut ErpOrderFacts {
        match &mut seen.erp {
            ErpObservation::Found(erp) => erp,
            _ => unreachable!("the fixture has an ERP order"),
        }
    }

    fn only(variances: &[Variance]) -> &Variance {
        assert_eq!(variances.len(), 1, "{variances:#?}");
        &variances[0]
    }

    #[test]
    fn systems_that_agree_have_no_variance() {
        assert_eq!(found(&record(), &returns(), &seen()), vec![]);
    }

    #[test]
    fn total_mismatch_by_a_rounding_cent_names_both_values_and_systems() {
        let mut seen = seen();
        erp_mut(&mut seen).total = eur(9501);
        let v = found(&record(), &returns(), &seen);
        let v = only(&v);
        assert_eq!(v.kind, VarianceKind::TotalMismatch);
        assert_eq!((v.expected, v.found), (eur(9500), eur(9501)));
        assert_eq!(v.systems, ("centra".to_string(), "netsuite".to_string()));
        assert_eq!(v.owner(), OwnerTeam::Finance);
        assert_eq!(v.difference(), eur(1));
        assert_eq!(v.currency, Some(Currency::EUR));
    }

    #[test]
    fn tax_mismatch() {
        let mut seen = seen();
        erp_mut(&mut seen).tax_total = eur(1799);
        let v = found(&record(), &returns(), &seen);
        assert_eq!(only(&v).kind, VarianceKind::TaxMismatch);
        assert_eq!((v[0].expected, v[0].found), (eur(1800), eur(1799)));
    }

    #[test]
    fn discount_mismatch() {
        let mut seen = seen();
        if let Some(front) = seen.storefront.as_mut() {
            front.discounts = eur(-1500);
        }
        let v = found(&record(), &returns(), &seen);
        assert_eq!(only(&v).kind, VarianceKind::DiscountMismatch);
        assert_eq!((v[0].expected, v[0].found), (eur(1000), eur(1500)));
    }

    #[test]
    fn missing_in_erp_only_once_posted() {
        let mut seen = seen();
        seen.erp = ErpObservation::Missing;
        let v = found(&record(), &returns(), &seen);
        assert_eq!(only(&v).kind, VarianceKind::MissingInErp);
        assert_eq!(v[0].owner(), OwnerTeam::Engineering);
        let mut unposted = record();
        unposted.erp_id = None;
        assert_eq!(found(&unposted, &returns(), &seen), vec![]);
    }

    #[test]
    fn sync_illusion_when_the_erp_order_was_changed_after_the_job() {
        let mut seen = seen();
        erp_mut(&mut seen).lines[0].quantity = Decimal::ONE;
        let v = found(&record(), &returns(), &seen);
        let v = only(&v);
        assert_eq!(v.kind, VarianceKind::SyncIllusion);
        assert_eq!((v.expected, v.found), (Decimal::from(2), Decimal::ONE));
        assert!(
            v.detail.contains("line 1: 1 units instead of 2"),
            "{}",
            v.detail
        );
        assert_eq!(v.currency, None);
    }

    #[test]
    fn an_erp_edit_not_yet_carried_over_is_in_flight_until_its_grace_ends() {
        let mut record = record();
        record.erp_seen = Some("2026-11-23T10:00:00Z".into());
        let seen_at = 1_795_428_000_000; // 2026-11-23T10:00:00Z
        let mut seen = seen();
        let erp = erp_mut(&mut seen);
        erp.lines[0].quantity = Decimal::ONE;
        erp.modified_at = Some(seen_at + 60_000);
        seen.observed_at = seen_at + 120_000;
        assert_eq!(found(&record, &returns(), &seen), vec![]);
        seen.observed_at = seen_at + 60_000 + ERP_EDIT_GRACE_MS;
        let v = found(&record, &returns(), &seen);
        assert_eq!(only(&v).kind, VarianceKind::SyncIllusion);
        // A recent change that moved no line (a fulfilment) is compared at once.
        let mut seen = self::seen();
        let erp = erp_mut(&mut seen);
        erp.total = eur(9501);
        erp.modified_at = Some(seen_at + 60_000);
        seen.observed_at = seen_at + 120_000;
        let v = found(&record, &returns(), &seen);
        assert_eq!(only(&v).kind, VarianceKind::TotalMismatch);
    }

    #[test]
    fn fulfilment_mismatch() {
        let mut seen = seen();
        erp_mut(&mut seen).lines[0].fulfilled = Decimal::ONE;
        let v = found(&record(), &returns(), &seen);
        assert_eq!(only(&v).kind, VarianceKind::FulfilmentMismatch);
        assert_eq!(v[0].owner(), OwnerTeam::Ops);
    }

    #[test]
    fn captured_more_and_less_than_shipped() {
        let mut seen = seen();
        if let Some(psp) = seen.psp.as_mut() {
            psp.captured = eur(9600);
        }
        let v = found(&record(), &returns(), &seen);
        assert_eq!(only(&v).kind, VarianceKind::CapturedMoreThanShipped);
        assert_eq!((v[0].expected, v[0].found), (eur(9500), eur(9600)));
        if let Some(psp) = seen.psp.as_mut() {
            psp.captured = eur(5000);
        }
        let v = found(&record(), &returns(), &seen);
        assert_eq!(only(&v).kind, VarianceKind::CapturedLessThanShipped);
    }

    #[test]
    fn refund_without_credit_memo() {
        let mut seen = seen();
        seen.returns[0].credit_memo = None;
        let v = found(&record(), &returns(), &seen);
        let v = only(&v);
        assert_eq!(v.kind, VarianceKind::RefundWithoutCreditMemo);
        assert_eq!((v.expected, v.found), (eur(4500), Decimal::ZERO));
        assert_eq!(v.systems, ("adyen".to_string(), "netsuite".to_string()));
    }

    #[test]
    fn credit_memo_without_refund() {
        let mut returns = returns();
        returns.cases[0].psp_refund = None;
        let mut seen = seen();
        if let Some(psp) = seen.psp.as_mut() {
            psp.refunded = Decimal::ZERO;
        }
        let v = found(&record(), &returns, &seen);
        assert_eq!(only(&v).kind, VarianceKind::CreditMemoWithoutRefund);
        assert_eq!((v[0].expected, v[0].found), (Decimal::ZERO, eur(4500)));
        // A credit memo for a return Seam never refunded at all.
        let mut seen = self::seen();
        seen.returns.push(ReturnMoneyFacts {
            return_id: "r2".into(),
            credit_memo: Some(eur(100)),
            reveni_refunded: None,
        });
        let v = found(&record(), &self::returns(), &seen);
        assert_eq!(only(&v).kind, VarianceKind::CreditMemoWithoutRefund);
    }

    #[test]
    fn refund_mismatch_in_the_erp_the_psp_and_reveni() {
        let mut seen = seen();
        seen.returns[0].credit_memo = Some(eur(4400));
        let v = found(&record(), &returns(), &seen);
        assert_eq!(only(&v).kind, VarianceKind::RefundMismatch);
        assert_eq!(v[0].systems.1, "netsuite");

        let mut seen = self::seen();
        if let Some(psp) = seen.psp.as_mut() {
            psp.refunded = eur(9000);
        }
        let v = found(&record(), &returns(), &seen);
        assert_eq!(only(&v).kind, VarianceKind::RefundMismatch);
        assert_eq!(v[0].systems.1, "adyen");

        let mut instant = returns();
        instant.cases[0].instant = true;
        instant.cases[0].psp_refund = None;
        let mut seen = self::seen();
        seen.psp = None;
        seen.returns[0].reveni_refunded = Some(eur(4000));
        let v = found(&record(), &instant, &seen);
        assert_eq!(only(&v).kind, VarianceKind::RefundMismatch);
        assert_eq!(v[0].systems.1, "reveni");
    }

    #[test]
    fn work_in_flight_or_mid_posting_explains_a_difference() {
        let mut seen = seen();
        erp_mut(&mut seen).total = eur(1);
        seen.in_flight = true;
        assert_eq!(found(&record(), &returns(), &seen), vec![]);
        seen.in_flight = false;
        let mut posting = record();
        posting.stage = OrderStage::Posting;
        assert_eq!(found(&posting, &returns(), &seen), vec![]);
    }

    #[test]
    fn stock_drift_only_when_the_storefront_shows_more() {
        let mut out = Vec::new();
        let mut seen = StockObservation {
            sku: "SKU-1".into(),
            storefront_free: 4,
            warehouse_sellable: 5,
        };
        compare_stock(&seen, &mut out);
        assert!(out.is_empty());
        seen.storefront_free = 7;
        compare_stock(&seen, &mut out);
        let v = only(&out);
        assert_eq!(v.kind, VarianceKind::StockDrift);
        assert_eq!((v.expected, v.found), (Decimal::from(5), Decimal::from(7)));
        assert_eq!(v.entity_key, "sku:SKU-1");
    }

    #[test]
    fn kinds_round_trip_by_name() {
        for kind in VarianceKind::ALL {
            assert_eq!(VarianceKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(VarianceKind::parse("nonsense"), None);
    }
}
