//! Returns: which requested units may come back, and the money they take
//! back with them.
//!
//! A request is checked against the order before anything exists for it in
//! another system: an item must name a line that was bought, and no line may
//! take back more units than were shipped less those already returned or on
//! their way back ("claimed"). A unit that was never shipped cannot come
//! back; it is cancelled instead.
//!
//! A refund is the exact reversal of the returned units' original
//! allocation (`order::reverse_units`): the units returned take the next
//! unrefunded per-unit shares of the line, by the same rounding rule that
//! shipped units take their captured shares. So a line's refunds together
//! never exceed what was paid for it, and an order's refunds never exceed
//! what was captured for the units shipped.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::money::{Money, MoneyError};
use crate::order::{reverse_units, LineAllocation, LineReversal, ReversalError};

/// A line of the order as a return sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnableLine {
    pub line_id: String,
    pub sku: String,
    /// Units bought and not cancelled.
    pub bought: u32,
    pub shipped: u32,
    /// Units returned, or on their way back in another return.
    pub claimed: u32,
}

impl ReturnableLine {
    pub fn returnable(&self) -> u32 {
        self.shipped.min(self.bought).saturating_sub(self.claimed)
    }
}

/// One item of a return request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedItem {
    /// The returns platform's id of the item.
    pub item_id: String,
    /// The order line the item names, when it names one.
    pub line_id: Option<String>,
    pub sku: String,
    pub units: u32,
}

/// Why an item of a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    /// No line of the order sold this SKU (or the named line is another SKU).
    NotBought { sku: String },
    /// More units than the line has left to return.
    TooManyUnits {
        sku: String,
        requested: u32,
        returnable: u32,
        bought: u32,
        shipped: u32,
        claimed: u32,
    },
    /// Zero units requested.
    NoUnits { sku: String },
}

impl Refusal {
    /// The reason code sent back to the returns platform.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotBought { .. } => "not_purchased",
            Refusal::TooManyUnits { .. } => "quantity_exceeded",
            Refusal::NoUnits { .. } => "invalid_quantity",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotBought { sku } => write!(f, "{sku} was not bought in this order"),
            Refusal::TooManyUnits {
                sku,
                requested,
                returnable,
                bought,
                shipped,
                claimed,
            } => write!(
                f,
                "{requested} × {sku} asked back, but only {returnable} can be: {bought} bought, \
                 {shipped} shipped, {claimed} already returned or on the way back"
            ),
            Refusal::NoUnits { sku } => write!(f, "no units of {sku} were asked back"),
        }
    }
}

/// The check of one requested item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ItemCheck {
    Accepted {
        item_id: String,
        line_id: String,
        units: u32,
    },
    Refused {
        item_id: String,
        refusal: Refusal,
    },
}

/// Checks every item of a request against the order. Items are taken in
/// order, and each accepted item claims its units before the next is
/// checked, so two items naming the same line cannot together exceed it.
/// An item that names a line is held to that line; one that names none
/// takes the first line of its SKU with units left.
pub fn check_request(lines: &[ReturnableLine], items: &[RequestedItem]) -> Vec<ItemCheck> {
    let mut claimed: Vec<u32> = lines.iter().map(|l| l.claimed).collect();
    let mut checks = Vec::with_capacity(items.len());
    for item in items {
        let refuse = |refusal| ItemCheck::Refused {
            item_id: item.item_id.clone(),
            refusal,
        };
        if item.units == 0 {
            checks.push(refuse(Refusal::NoUnits {
                sku: item.sku.clone(),
            }));
            continue;
        }
        let same_sku = |line: &ReturnableLine| item.sku.is_empty() || line.sku == item.sku;
        let candidates: Vec<usize> = match &item.line_id {
            Some(id) => lines
                .iter()
                .position(|l| &l.line_id == id && same_sku(l))
                .into_iter()
                .collect(),
            None => (0..lines.len()).filter(|&i| same_sku(&lines[i])).collect(),
        };
        if candidates.is_empty() {
            checks.push(refuse(Refusal::NotBought {
                sku: item.sku.clone(),
            }));
            continue;
        }
        let left = |i: usize| {
            let line = &lines[i];
            line.shipped.min(line.bought).saturating_sub(claimed[i])
        };
        match candidates.iter().copied().find(|&i| left(i) >= item.units) {
            Some(i) => {
                claimed[i] += item.units;
                checks.push(ItemCheck::Accepted {
                    item_id: item.item_id.clone(),
                    line_id: lines[i].line_id.clone(),
                    units: item.units,
                });
            }
            None => {
                let i = candidates[0];
                let line = &lines[i];
                checks.push(refuse(Refusal::TooManyUnits {
                    sku: line.sku.clone(),
                    requested: item.units,
                    returnable: left(i),
                    bought: line.bought,
                    shipped: line.shipped,
                    claimed: claimed[i],
                }));
            }
        }
    }
    checks
}

/// A return's refund, computed once and used unchanged for the credit
/// memo, the PSP refund and the storefront.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundPlan {
    pub lines: Vec<LineReversal>,
    /// What goes back to the customer: the sum of the lines' `paid`.
    pub total: Money,
    pub tax: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("a refund needs at least one returned unit")]
    Empty,
    #[error(transparent)]
    Reversal(#[from] ReversalError),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// One line of a refund: the line's allocation, the units of it refunded
/// before, and the units refunded now.
pub struct RefundedUnits<'a> {
    pub line: &'a LineAllocation,
    pub already_refunded: u32,
    pub units: u32,
}

/// The exact reversal of the returned units.
pub fn plan_refund(units: &[RefundedUnits<'_>]) -> Result<RefundPlan, RefundError> {
    let first = units.first().ok_or(RefundError::Empty)?;
    let currency = first.line.paid.currency;
    let mut total = Money::zero(currency);
    let mut tax = Money::zero(currency);
    let mut lines = Vec::with_capacity(units.len());
    for entry in units {
        let reversal = reverse_units(entry.line, entry.already_refunded, entry.units)?;
        total = total.checked_add(&reversal.paid)?;
        tax = tax.checked_add(&reversal.tax)?;
        lines.push(reversal);
    }
    Ok(RefundPlan { lines, total, tax })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::order::{allocate_order, LineInput, OrderTotals};
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn line(id: &str, sku: &str, bought: u32, shipped: u32, claimed: u32) -> ReturnableLine {
        ReturnableLine {
            line_id: id.into(),
            sku: sku.into(),
            bought,
            shipped,
            claimed,
        }
    }

    fn item(id: &str, line: Option<&str>, sku: &str, units: u32) -> RequestedItem {
        RequestedItem {
            item_id: id.into(),
            line_id: line.map(str::to_string),
            sku: sku.into(),
            units,
        }
    }

    #[test]
    fn an_item_never_bought_is_refused_as_not_purchased() {
        let lines = [line("1", "SHIRT-M", 1, 1, 0)];
        let checks = check_request(&lines, &[item("a", None, "SHOE-42", 1)]);
        match &checks[0] {
            ItemCheck::Refused { refusal, .. } => assert_eq!(refusal.code(), "not_purchased"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn units_already_returned_or_on_the_way_count_against_the_line() {
        let lines = [line("1", "SHIRT-M", 3, 3, 2)];
        let checks = check_request(
            &lines,
            &[
                item("a", Some("1"), "SHIRT-M", 1),
                item("b", Some("1"), "SHIRT-M", 1),
            ],
        );
        assert!(matches!(checks[0], ItemCheck::Accepted { units: 1, .. }));
        match &checks[1] {
            ItemCheck::Refused { refusal, .. } => {
                assert_eq!(refusal.code(), "quantity_exceeded");
                assert!(refusal.to_string().contains("3 bought"), "{refusal}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_item_naming_a_line_of_another_sku_is_not_bought() {
        let lines = [line("1", "SHIRT-M", 1, 1, 0), line("2", "SHIRT-L", 1, 1, 0)];
        let checks = check_request(&lines, &[item("a", Some("1"), "SHIRT-L", 1)]);
        assert!(matches!(
            &checks[0],
            ItemCheck::Refused {
                refusal: Refusal::NotBought { .. },
                ..
            }
        ));
    }

    #[test]
    fn unshipped_units_cannot_come_back() {
        let lines = [line("1", "SHIRT-M", 2, 1, 0)];
        let checks = check_request(&lines, &[item("a", None, "SHIRT-M", 2)]);
        assert!(matches!(&checks[0], ItemCheck::Refused { .. }));
    }

    fn order(quantities: &[u32], prices: &[i64], voucher: i64) -> Vec<LineAllocation> {
        let inputs: Vec<LineInput> = quantities
            .iter()
            .zip(prices)
            .enumerate()
            .map(|(i, (q, p))| LineInput {
                line_id: i.to_string(),
                sku: format!("SKU{i}"),
                quantity: *q,
                unit_price: Decimal::new(*p, 2),
                tax_rate: Decimal::new(25, 2),
            })
            .collect();
        let items: i64 = quantities
            .iter()
            .zip(prices)
            .map(|(q, p)| *q as i64 * p)
            .sum();
        let voucher = voucher.min(items);
        let paid = items - voucher;
        // Tax contained in what was paid, at 25%, rounded to the cent.
        let tax = (Decimal::new(paid, 2) * Decimal::new(2, 1)).round_dp(2);
        let totals = OrderTotals {
            currency: Currency::EUR,
            voucher_discount: Decimal::new(voucher, 2),
            shipping: Decimal::ZERO,
            shipping_tax_rate: Decimal::ZERO,
            tax_total: tax,
            grand_total: Decimal::new(paid, 2),
        };
        allocate_order(&inputs, &totals).unwrap().lines
    }

    proptest! {
        /// Story S11 generalised: partial returns of discounted orders, in
        /// any order and any sizes, never refund more than was paid for the
        /// units returned, and all of a line's returns refund it exactly.
        #[test]
        fn refunds_never_exceed_what_was_paid_and_all_of_them_equal_it(
            quantities in proptest::collection::vec(1u32..5, 1..5),
            prices in proptest::collection::vec(1i64..20_000, 5),
            voucher in 0i64..10_000,
            returns in proptest::collection::vec((0usize..5, 1u32..5), 1..12),
        ) {
            let lines = order(&quantities, &prices[..quantities.len()], voucher);
            let mut refunded = vec![0u32; lines.len()];
            let mut paid_back = vec![Decimal::ZERO; lines.len()];
            for (index, units) in returns {
                let i = index % lines.len();
                let returnable = ReturnableLine {
                    line_id: lines[i].line_id.clone(), sku: lines[i].sku.clone(),
                    bought: lines[i].quantity, shipped: lines[i].quantity, claimed: refunded[i],
                };
                let check = check_request(std::slice::from_ref(&returnable), &[RequestedItem {
                    item_id: "x".into(), line_id: None, sku: lines[i].sku.clone(), units,
                }]);
                let ItemCheck::Accepted { units, .. } = check[0].clone() else {
                    prop_assert!(units > returnable.returnable());
                    continue;
                };
                let plan = plan_refund(&[RefundedUnits {
                    line: &lines[i], already_refunded: refunded[i], units,
                }]).unwrap();
                refunded[i] += units;
                paid_back[i] += plan.total.amount;
                prop_assert!(plan.total.amount >= Decimal::ZERO);
                prop_assert!(paid_back[i] <= lines[i].paid.amount);
                prop_assert_eq!(plan.lines[0].paid.amount, plan.lines[0].net.amount + plan.lines[0].tax.amount);
            }
            for (i, line) in lines.iter().enumerate() {
                if refunded[i] == line.quantity {
                    prop_assert_eq!(paid_back[i], line.paid.amount);
                }
            }
            let captured: Decimal = lines.iter().map(|l| l.paid.amount).sum();
            prop_assert!(paid_back.iter().sum::<Decimal>() <= captured);
        }
    }
}
