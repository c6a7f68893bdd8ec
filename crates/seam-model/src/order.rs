//! The canonical order's money: each line's share of discounts, tax and
//! shipping, fixed once when the order is first seen, and the exact reversal
//! of returned units.
//!
//! Every split uses the one rounding rule of `allocation` (largest remainder
//! to the minor unit), so lines always sum to the order's own totals, and a
//! line's units always sum to the line: refunds of an order can never exceed
//! what was paid for the units returned.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::allocation::{allocate_proportionally, AllocationError};
use crate::money::{Currency, Money, MoneyError};

/// A line as the storefront sold it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineInput {
    pub line_id: String,
    pub sku: String,
    pub quantity: u32,
    /// Unit price paid before order-level vouchers, including tax.
    pub unit_price: Decimal,
    /// Tax rate as a fraction (0.25 for 25%).
    pub tax_rate: Decimal,
}

/// The order-level amounts the storefront reports (all including tax).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderTotals {
    pub currency: Currency,
    /// Order vouchers, as a positive amount.
    pub voucher_discount: Decimal,
    pub shipping: Decimal,
    pub shipping_tax_rate: Decimal,
    /// Total tax of the order, items and shipping.
    pub tax_total: Decimal,
    pub grand_total: Decimal,
}

/// One line's fixed share of the order's money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAllocation {
    pub line_id: String,
    pub sku: String,
    pub quantity: u32,
    /// Unit price × quantity, before vouchers.
    pub gross: Money,
    /// This line's share of the order vouchers.
    pub voucher: Money,
    /// What the customer paid for the line: gross − voucher.
    pub paid: Money,
    pub tax: Money,
    /// paid − tax.
    pub net: Money,
    /// This line's share of shipping (for reporting; shipping is captured and
    /// refunded as a whole, once).
    pub shipping: Money,
}

/// The whole order's allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAllocation {
    pub lines: Vec<LineAllocation>,
    pub shipping: Money,
    pub shipping_tax: Money,
    pub grand_total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderMoneyError {
    #[error("the order has no lines")]
    NoLines,
    #[error("{what} ({amount}) is not a whole number of {currency} minor units")]
    NotMinorUnits {
        what: String,
        amount: Decimal,
        currency: Currency,
    },
    #[error(
        "the storefront's totals do not add up: lines {lines} − vouchers {vouchers} + shipping {shipping} ≠ grand total {grand_total}"
    )]
    TotalsDisagree {
        lines: Decimal,
        vouchers: Decimal,
        shipping: Decimal,
        grand_total: Decimal,
    },
    #[error("tax of {tax} cannot be spread over lines that carry no tax")]
    TaxWithoutTaxableLines { tax: Decimal },
    #[error(transparent)]
    Allocation(#[from] AllocationError),
    #[error(transparent)]
    Money(#[from] MoneyError),
}

fn exact(what: &str, amount: Decimal, currency: Currency) -> Result<Money, OrderMoneyError> {
    let money = Money::new(amount, currency);
    if money.is_whole_minor_units() {
        Ok(money)
    } else {
        Err(OrderMoneyError::NotMinorUnits {
            what: what.to_string(),
            amount,
            currency,
        })
    }
}

/// Tax contained in a tax-inclusive amount, rounded half-even to the minor unit.
fn included_tax(amount: Decimal, rate: Decimal, currency: Currency) -> Decimal {
    if rate.is_zero() {
        return Decimal::ZERO;
    }
    (amount * rate / (Decimal::ONE + rate)).round_dp(currency.minor_unit_digits())
}

/// Splits zero-or-more across weights; all-zero weights get nothing (only valid for a zero total).
fn split(total: Money, weights: &[Decimal]) -> Result<Vec<Money>, OrderMoneyError> {
    if total.is_zero() {
        return Ok(vec![Money::zero(total.currency); weights.len()]);
    }
    Ok(allocate_proportionally(total, weights)?)
}

/// Fixes each line's voucher share, tax, net and shipping share.
///
/// Vouchers are spread over lines by their gross value; the order's item tax
/// (its tax total less the tax contained in shipping) is spread by each
/// line's theoretical tax at its own rate, so lines sum exactly to the
/// storefront's tax total even where the storefront rounded per order.
pub fn allocate_order(
    lines: &[LineInput],
    totals: &OrderTotals,
) -> Result<OrderAllocation, OrderMoneyError> {
    if lines.is_empty() {
        return Err(OrderMoneyError::NoLines);
    }
    let currency = totals.currency;
    let gross: Vec<Money> = lines
        .iter()
        .map(|l| {
            exact(
                &format!("line {}", l.line_id),
                l.unit_price * Decimal::from(l.quantity),
                currency,
            )
        })
        .collect::<Result<_, _>>()?;
    let voucher = exact("the voucher discount", totals.voucher_discount, currency)?;
    let shipping = exact("shipping", totals.shipping, currency)?;
    let tax_total = exact("the tax total", totals.tax_total, currency)?;
    let grand_total = exact("the grand total", totals.grand_total, currency)?;

    let lines_total: Decimal = gross.iter().map(|m| m.amount).sum();
    if lines_total - voucher.amount + shipping.amount != grand_total.amount {
        return Err(OrderMoneyError::TotalsDisagree {
            lines: lines_total,
            vouchers: voucher.amount,
            shipping: shipping.amount,
            grand_total: grand_total.amount,
        });
    }

    let gross_weights: Vec<Decimal> = gross.iter().map(|m| m.amount).collect();
    let vouchers = split(voucher, &gross_weights)?;
    let paid: Vec<Money> = gross
        .iter()
        .zip(&vouchers)
        .map(|(g, v)| g.checked_sub(v))
        .collect::<Result<_, _>>()?;

    let shipping_tax = Money::new(
        included_tax(shipping.amount, totals.shipping_tax_rate, currency),
        currency,
    );
    let item_tax = tax_total.checked_sub(&shipping_tax)?;
    let tax_weights: Vec<Decimal> = paid
        .iter()
        .zip(lines)
        .map(|(p, l)| (p.amount * l.tax_rate / (Decimal::ONE + l.tax_rate)).max(Decimal::ZERO))
        .collect();
    let taxes = if item_tax.is_zero() {
        vec![Money::zero(currency); lines.len()]
    } else if tax_weights.iter().all(|w| w.is_zero()) {
        return Err(OrderMoneyError::TaxWithoutTaxableLines {
            tax: item_tax.amount,
        });
    } else {
        allocate_proportionally(item_tax, &tax_weights)?
    };
    let paid_weights: Vec<Decimal> = paid.iter().map(|m| m.amount.max(Decimal::ZERO)).collect();
    let shipping_shares = if paid_weights.iter().all(|w| w.is_zero()) {
        split(shipping, &vec![Decimal::ONE; lines.len()])?
    } else {
        split(shipping, &paid_weights)?
    };

    let allocated = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            Ok(LineAllocation {
                line_id: line.line_id.clone(),
                sku: line.sku.clone(),
                quantity: line.quantity,
                gross: gross[i],
                voucher: vouchers[i],
                paid: paid[i],
                tax: taxes[i],
                net: paid[i].checked_sub(&taxes[i])?,
                shipping: shipping_shares[i],
            })
        })
        .collect::<Result<Vec<_>, OrderMoneyError>>()?;
    Ok(OrderAllocation {
        lines: allocated,
        shipping,
        shipping_tax,
        grand_total,
    })
}

/// One component of a bundle line: the SKU the warehouse ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleComponent {
    pub line_id: String,
    pub sku: String,
    pub quantity: u32,
    /// The component's share of the bundle's price: its list price times
    /// its quantity where known, else its quantity (an equal split per unit).
    pub weight: Decimal,
}

/// Spreads a bundle line's fixed allocation over its components, so that
/// each component SKU carries its own gross, voucher, tax and net (the
/// bundle discount is spread with the price, by the one rounding rule).
/// The components always sum exactly to the bundle line.
pub fn expand_bundle(
    bundle: &LineAllocation,
    components: &[BundleComponent],
) -> Result<Vec<LineAllocation>, OrderMoneyError> {
    if components.is_empty() {
        return Ok(vec![bundle.clone()]);
    }
    let weights: Vec<Decimal> = components
        .iter()
        .map(|c| c.weight.max(Decimal::ZERO))
        .collect();
    let weights = if weights.iter().all(|w| w.is_zero()) {
        components
            .iter()
            .map(|c| Decimal::from(c.quantity.max(1)))
            .collect()
    } else {
        weights
    };
    let gross = split(bundle.gross, &weights)?;
    let voucher = split(bundle.voucher, &weights)?;
    let tax = split(bundle.tax, &weights)?;
    let shipping = split(bundle.shipping, &weights)?;
    components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let paid = gross[i].checked_sub(&voucher[i])?;
            Ok(LineAllocation {
                line_id: c.line_id.clone(),
                sku: c.sku.clone(),
                quantity: c.quantity,
                gross: gross[i],
                voucher: voucher[i],
                paid,
                tax: tax[i],
                net: paid.checked_sub(&tax[i])?,
                shipping: shipping[i],
            })
        })
        .collect()
}

/// The exact reversal of `units` returned units of a line, of which
/// `already_returned` were refunded before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineReversal {
    pub line_id: String,
    pub units: u32,
    pub gross: Money,
    pub voucher: Money,
    /// What goes back to the customer for these units.
    pub paid: Money,
    pub tax: Money,
    pub net: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReversalError {
    #[error("line {line_id}: {requested} units requested but only {remaining} of {bought} remain unreturned")]
    TooManyUnits {
        line_id: String,
        requested: u32,
        remaining: u32,
        bought: u32,
    },
    #[error(transparent)]
    Allocation(#[from] AllocationError),
}

/// Reverses units of a line: each component (gross, voucher, tax) is split
/// over the line's units by the rounding rule, and the returned units take
/// the next unrefunded shares, so every refund of the line together equals
/// the line exactly and never exceeds it.
pub fn reverse_units(
    line: &LineAllocation,
    already_returned: u32,
    units: u32,
) -> Result<LineReversal, ReversalError> {
    let remaining = line.quantity.saturating_sub(already_returned);
    if units == 0 || units > remaining {
        return Err(ReversalError::TooManyUnits {
            line_id: line.line_id.clone(),
            requested: units,
            remaining,
            bought: line.quantity,
        });
    }
    let range = already_returned as usize..(already_returned + units) as usize;
    let per_unit = vec![Decimal::ONE; line.quantity as usize];
    let take = |total: Money| -> Result<Money, ReversalError> {
        let shares = allocate_proportionally(total, &per_unit)?;
        let amount: Decimal = shares[range.clone()].iter().map(|m| m.amount).sum();
        Ok(Money::new(amount, total.currency))
    };
    let gross = take(line.gross)?;
    let voucher = take(line.voucher)?;
    let tax = take(line.tax)?;
    let paid = Money::new(gross.amount - voucher.amount, gross.currency);
    let net = Money::new(paid.amount - tax.amount, gross.currency);
    Ok(LineReversal {
        line_id: line.line_id.clone(),
        units,
        gross,
        voucher,
        paid,
        tax,
        net,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn line(id: &str, quantity: u32, unit_price: Decimal, tax_rate: Decimal) -> LineInput {
        LineInput {
            line_id: id.into(),
            sku: format!("SKU-{id}"),
            quantity,
            unit_price,
            tax_rate,
        }
    }

    proptest! {
        #[test]
        fn bundle_components_sum_to_the_bundle_line(
            cents in 0i64..100_000,
            voucher_cents in 0i64..10_000,
            tax_cents in 0i64..20_000,
            weights in proptest::collection::vec(0u32..50_000, 1..5),
            quantity in 1u32..4,
        ) {
            let eur = |c: i64| Money::from_minor_units(c, Currency::EUR);
            let voucher = voucher_cents.min(cents);
            let bundle = LineAllocation {
                line_id: "b".into(), sku: "BND".into(), quantity,
                gross: eur(cents), voucher: eur(voucher), paid: eur(cents - voucher),
                tax: eur(tax_cents.min(cents - voucher)), net: eur(cents - voucher - tax_cents.min(cents - voucher)),
                shipping: eur(0),
            };
            let components: Vec<BundleComponent> = weights.iter().enumerate().map(|(i, w)| BundleComponent {
                line_id: format!("c{i}"), sku: format!("C{i}"), quantity, weight: Decimal::from(*w),
            }).collect();
            let parts = expand_bundle(&bundle, &components).unwrap();
            let sum = |f: fn(&LineAllocation) -> Decimal| parts.iter().map(f).sum::<Decimal>();
            prop_assert_eq!(sum(|l| l.gross.amount), bundle.gross.amount);
            prop_assert_eq!(sum(|l| l.voucher.amount), bundle.voucher.amount);
            prop_assert_eq!(sum(|l| l.paid.amount), bundle.paid.amount);
            prop_assert_eq!(sum(|l| l.tax.amount), bundle.tax.amount);
            prop_assert_eq!(sum(|l| l.net.amount), bundle.net.amount);
            for part in &parts {
                prop_assert_eq!(part.paid.amount, part.gross.amount - part.voucher.amount);
                prop_assert!(part.paid.amount >= Decimal::ZERO || bundle.paid.amount < Decimal::ZERO);
            }
        }
    }

    #[test]
    fn a_bundle_item_return_reverses_its_exact_share() {
        // Story S11: three pieces of a bundle with a 20% promotion, 25% VAT.
        let lines = [
            line("a", 1, dec!(79.20), dec!(0.25)),
            line("b", 1, dec!(39.20), dec!(0.25)),
            line("c", 1, dec!(31.60), dec!(0.25)),
        ];
        let totals = OrderTotals {
            currency: Currency::EUR,
            voucher_discount: dec!(0),
            shipping: dec!(4.95),
            shipping_tax_rate: dec!(0.25),
            tax_total: dec!(31.00),
            grand_total: dec!(154.95),
        };
        let allocation = allocate_order(&lines, &totals).unwrap();
        let tax: Decimal = allocation.lines.iter().map(|l| l.tax.amount).sum();
        assert_eq!(tax + allocation.shipping_tax.amount, dec!(31.00));
        let b = &allocation.lines[1];
        let refund = reverse_units(b, 0, 1).unwrap();
        assert_eq!(refund.paid.amount, dec!(39.20));
        assert_eq!(refund.tax.amount + refund.net.amount, dec!(39.20));
        assert_eq!(refund.tax, b.tax);
    }

    #[test]
    fn totals_that_do_not_add_up_are_refused() {
        let totals = OrderTotals {
            currency: Currency::EUR,
            voucher_discount: dec!(0),
            shipping: dec!(0),
            shipping_tax_rate: dec!(0),
            tax_total: dec!(2),
            grand_total: dec!(10.01),
        };
        let error = allocate_order(&[line("a", 1, dec!(10), dec!(0.25))], &totals).unwrap_err();
        assert!(matches!(error, OrderMoneyError::TotalsDisagree { .. }));
    }

    #[test]
    fn more_units_than_remain_cannot_be_reversed() {
        let totals = OrderTotals {
            currency: Currency::EUR,
            voucher_discount: dec!(0),
            shipping: dec!(0),
            shipping_tax_rate: dec!(0),
            tax_total: dec!(4),
            grand_total: dec!(20),
        };
        let allocation = allocate_order(&[line("a", 2, dec!(10), dec!(0.25))], &totals).unwrap();
        assert!(reverse_units(&allocation.lines[0], 1, 2).is_err());
        assert!(reverse_units(&allocation.lines[0], 2, 1).is_err());
    }

    fn order_strategy() -> impl Strategy<Value = (Vec<LineInput>, OrderTotals)> {
        let line = (
            1u32..4,
            100i64..50_000,
            prop_oneof![Just(0i64), Just(6), Just(12), Just(20), Just(25)],
        );
        (proptest::collection::vec(line, 1..6), 0u32..40, 0i64..1_500).prop_map(
            |(raw, voucher_percent, shipping_cents)| {
                let lines: Vec<LineInput> = raw
                    .iter()
                    .enumerate()
                    .map(|(i, (q, cents, rate))| LineInput {
                        line_id: i.to_string(),
                        sku: format!("S{i}"),
                        quantity: *q,
                        unit_price: Decimal::new(*cents, 2),
                        tax_rate: Decimal::new(*rate, 2),
                    })
                    .collect();
                let items: Decimal = lines
                    .iter()
                    .map(|l| l.unit_price * Decimal::from(l.quantity))
                    .sum();
                let voucher =
                    (items * Decimal::from(voucher_percent) / Decimal::from(100)).round_dp(2);
                let shipping = Decimal::new(shipping_cents, 2);
                // The storefront rounds tax per line, as many do.
                let shipping_tax = (shipping * dec!(0.25) / dec!(1.25)).round_dp(2);
                let item_tax: Decimal = lines
                    .iter()
                    .map(|l| {
                        let paid =
                            l.unit_price * Decimal::from(l.quantity) * (items - voucher) / items;
                        (paid * l.tax_rate / (Decimal::ONE + l.tax_rate)).round_dp(2)
                    })
                    .sum();
                let totals = OrderTotals {
                    currency: Currency::EUR,
                    voucher_discount: voucher,
                    shipping,
                    shipping_tax_rate: dec!(0.25),
                    tax_total: item_tax + shipping_tax,
                    grand_total: items - voucher + shipping,
                };
                (lines, totals)
            },
        )
    }

    proptest! {
        #[test]
        fn lines_always_sum_to_the_storefront_totals((lines, totals) in order_strategy()) {
            let allocation = allocate_order(&lines, &totals).unwrap();
            let sum = |f: fn(&LineAllocation) -> Decimal| allocation.lines.iter().map(f).sum::<Decimal>();
            prop_assert_eq!(sum(|l| l.voucher.amount), totals.voucher_discount);
            prop_assert_eq!(sum(|l| l.tax.amount) + allocation.shipping_tax.amount, totals.tax_total);
            prop_assert_eq!(sum(|l| l.paid.amount) + totals.shipping, totals.grand_total);
            prop_assert_eq!(sum(|l| l.shipping.amount), totals.shipping);
            for l in &allocation.lines {
                prop_assert_eq!(l.net.amount + l.tax.amount, l.paid.amount);
                prop_assert!(l.paid.is_whole_minor_units() && l.tax.is_whole_minor_units());
            }
        }

        #[test]
        fn partial_returns_never_refund_more_than_was_paid(
            (lines, totals) in order_strategy(),
            steps in proptest::collection::vec(1u32..3, 1..6),
        ) {
            let allocation = allocate_order(&lines, &totals).unwrap();
            for line in &allocation.lines {
                let mut returned = 0;
                let mut refunded = Decimal::ZERO;
                let mut tax_refunded = Decimal::ZERO;
                for step in &steps {
                    let units = (*step).min(line.quantity - returned);
                    if units == 0 { break; }
                    let reversal = reverse_units(line, returned, units).unwrap();
                    returned += units;
                    refunded += reversal.paid.amount;
                    tax_refunded += reversal.tax.amount;
                    prop_assert!(refunded <= line.paid.amount);
                }
                if returned == line.quantity {
                    prop_assert_eq!(refunded, line.paid.amount, "a full return refunds exactly the line");
                    prop_assert_eq!(tax_refunded, line.tax.amount);
                }
            }
        }
    }
}
