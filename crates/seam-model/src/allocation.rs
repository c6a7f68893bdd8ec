//! Proportional allocation of an amount across lines, exact to the minor unit.
//!
//! The one rounding rule of Seam (DESIGN.md, principle 4) is the *largest
//! remainder* method: every share is first rounded toward zero to the minor
//! unit, then the units left over are handed out one each to the shares with
//! the largest discarded remainder, ties going to the earlier line. The shares
//! therefore always sum exactly to the total, and no share is more than one
//! minor unit away from its exact proportion.

use rust_decimal::Decimal;

use crate::money::{Currency, Money};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    #[error("nothing to allocate across: no lines")]
    NoLines,
    #[error("weights must be non-negative and not all zero")]
    BadWeights,
    #[error("{0} is not a whole number of minor units")]
    NotMinorUnits(Money),
}

/// Splits `total` across lines in proportion to `weights` by the largest remainder rule.
///
/// Weights are usually the lines' gross values. When every weight is zero the
/// split is refused: an amount cannot be spread over nothing.
pub fn allocate_proportionally(
    total: Money,
    weights: &[Decimal],
) -> Result<Vec<Money>, AllocationError> {
    if weights.is_empty() {
        return Err(AllocationError::NoLines);
    }
    let weight_sum: Decimal = weights.iter().copied().sum();
    if weights.iter().any(|w| w.is_sign_negative()) || weight_sum.is_zero() {
        return Err(AllocationError::BadWeights);
    }
    let currency = total.currency;
    let total_units = total
        .to_minor_units()
        .map_err(|_| AllocationError::NotMinorUnits(total))?;
    let negative = total_units < 0;
    let total_abs = Decimal::from(total_units.unsigned_abs());

    let mut floors: Vec<i64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(Decimal, usize)> = Vec::with_capacity(weights.len());
    for (index, weight) in weights.iter().enumerate() {
        let exact = total_abs * *weight / weight_sum;
        let floor = exact.trunc();
        floors.push(i64::try_from(floor).unwrap_or(0));
        remainders.push((exact - floor, index));
    }
    let allocated: i64 = floors.iter().sum();
    let mut left_over = i64::try_from(total_abs).unwrap_or(0) - allocated;
    // Largest remainder first; the stable sort keeps earlier lines first on ties.
    remainders.sort_by_key(|r| std::cmp::Reverse(r.0));
    for (_, index) in remainders {
        if left_over <= 0 {
            break;
        }
        floors[index] += 1;
        left_over -= 1;
    }
    Ok(floors
        .into_iter()
        .map(|units| to_money(if negative { -units } else { units }, currency))
        .collect())
}

fn to_money(units: i64, currency: Currency) -> Money {
    Money::from_minor_units(units, currency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_cent_left_over_goes_to_the_largest_remainder() {
        let shares = allocate_proportionally(
            Money::new(dec!(10.00), Currency::EUR),
            &[dec!(1), dec!(1), dec!(1)],
        )
        .unwrap();
        let amounts: Vec<_> = shares.iter().map(|m| m.amount).collect();
        assert_eq!(amounts, vec![dec!(3.34), dec!(3.33), dec!(3.33)]);
    }

    #[test]
    fn negative_totals_mirror_positive_ones() {
        let shares =
            allocate_proportionally(Money::new(dec!(-10.00), Currency::EUR), &[dec!(1), dec!(2)])
                .unwrap();
        let amounts: Vec<_> = shares.iter().map(|m| m.amount).collect();
        assert_eq!(amounts, vec![dec!(-3.33), dec!(-6.67)]);
    }

    #[test]
    fn zero_weights_are_refused() {
        let total = Money::new(dec!(1), Currency::EUR);
        assert_eq!(
            allocate_proportionally(total, &[dec!(0)]),
            Err(AllocationError::BadWeights)
        );
        assert_eq!(
            allocate_proportionally(total, &[]),
            Err(AllocationError::NoLines)
        );
    }

    proptest! {
        #[test]
        fn shares_always_sum_to_the_total_and_stay_within_one_unit(
            total_units in -10_000_000i64..10_000_000,
            weights in proptest::collection::vec(0u32..100_000, 1..12),
        ) {
            prop_assume!(weights.iter().any(|w| *w > 0));
            let total = Money::from_minor_units(total_units, Currency::EUR);
            let weights: Vec<Decimal> = weights.into_iter().map(Decimal::from).collect();
            let shares = allocate_proportionally(total, &weights).unwrap();
            let sum: i64 = shares.iter().map(|m| m.to_minor_units().unwrap()).sum();
            prop_assert_eq!(sum, total_units);
            let weight_sum: Decimal = weights.iter().copied().sum();
            for (share, weight) in shares.iter().zip(&weights) {
                let exact = Decimal::from(total_units) * weight / weight_sum;
                let got = Decimal::from(share.to_minor_units().unwrap());
                prop_assert!((got - exact).abs() < Decimal::ONE);
            }
        }
    }
}
