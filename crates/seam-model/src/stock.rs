//! Stock positions and the stock equation.
//!
//! The 3PL is the truth of what physically exists and in which status. Only
//! statuses the mapping names as sellable count; an unknown status counts as
//! not sellable (and the flow raises one exception per unknown status).
//! Returned units sit in a non-sellable "pending inspection" status until the
//! warehouse grades them sellable.
//!
//! # The equation
//!
//! Seam sets Centra's **physical** quantity, never its free-to-allocate:
//! Centra computes `FTA = physical − allocated` itself, at the moment it
//! answers, so a sale made a moment ago (already in Centra's `allocated`) is
//! never added back by a push that was computed before it.
//!
//! ```text
//! centra_physical = sellable_at_3pl
//!                 + held_at_3pl_outside_sellable     (units the 3PL reserved for posted
//!                                                     Centra orders and moved out of its
//!                                                     sellable statuses, if it does so)
//!                 + dispatched_not_yet_shipped_in_centra
//!                 − safety_buffer                    (units held back on purpose, 0 by default)
//! ```
//!
//! - `sellable_at_3pl` is the sum of the SKU's units in sellable statuses.
//!   Units the 3PL holds for Centra orders it has received but not yet
//!   dispatched are still counted here when the 3PL keeps them in a sellable
//!   status (ACS does: allocation does not change a unit's status).
//! - `held_at_3pl_outside_sellable` adds them back where a 3PL moves reserved
//!   units into a status of their own; otherwise Centra would subtract them
//!   twice (once missing from physical, once in allocated).
//! - `dispatched_not_yet_shipped_in_centra` covers the window between the 3PL
//!   dispatching and Seam completing the Centra shipment: the 3PL has already
//!   removed the units, Centra still counts them allocated.
//!
//! - `safety_buffer` is the brand's safety stock (`[stock] safety_buffer`):
//!   a unit that leaves the sellable statuses reaches Centra a second or so
//!   later, and a checkout in that second can sell it; holding back N units
//!   per SKU absorbs up to N such removals, at the price of those units.
//!
//! With these terms (and no buffer) Centra's FTA equals the 3PL's sellable units minus the
//! units sold in Centra that the 3PL has not reserved yet: exactly what can
//! still be promised. Anything uncertain errs low.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::mapping::{MappingTables, StockStatusClass};

/// One SKU's units by 3PL status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockPosition {
    pub by_status: BTreeMap<String, i64>,
}

/// What the mapping makes of a position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SellableView {
    pub sellable: i64,
    pub not_sellable: i64,
    /// Statuses with units that no mapping names (counted as not sellable).
    pub unknown_statuses: Vec<String>,
}

impl StockPosition {
    pub fn from_counts<'a>(counts: impl IntoIterator<Item = (&'a str, i64)>) -> Self {
        let mut by_status = BTreeMap::new();
        for (status, units) in counts {
            *by_status.entry(status.to_string()).or_insert(0) += units;
        }
        StockPosition { by_status }
    }

    /// Applies a movement of `units` from one status to another.
    pub fn apply_movement(&mut self, from: &str, to: &str, units: i64) {
        *self.by_status.entry(from.to_string()).or_insert(0) -= units;
        *self.by_status.entry(to.to_string()).or_insert(0) += units;
    }

    /// Sellable units under `mappings`: only statuses mapped as sellable count.
    pub fn sellable_quantity(&self, mappings: &MappingTables) -> SellableView {
        let mut view = SellableView::default();
        for (status, units) in &self.by_status {
            let units = (*units).max(0);
            match mappings.stock_status(status) {
                Some(StockStatusClass::Sellable) => view.sellable += units,
                Some(StockStatusClass::NotSellable) => view.not_sellable += units,
                None => {
                    view.not_sellable += units;
                    if units > 0 {
                        view.unknown_statuses.push(status.clone());
                    }
                }
            }
        }
        view
    }
}

/// The terms of the stock equation for one SKU (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockEquation {
    pub sellable_at_3pl: i64,
    pub held_at_3pl_outside_sellable: i64,
    pub dispatched_not_yet_shipped_in_centra: i64,
    pub safety_buffer: i64,
}

impl StockEquation {
    /// The physical quantity Seam sets in Centra; never negative.
    pub fn centra_physical(&self) -> i64 {
        (self.sellable_at_3pl
            + self.held_at_3pl_outside_sellable
            + self.dispatched_not_yet_shipped_in_centra
            - self.safety_buffer)
            .max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mappings() -> MappingTables {
        let mut m = MappingTables::default();
        m.stock_statuses
            .insert("Available".into(), StockStatusClass::Sellable);
        for status in [
            "In-Refurbishment",
            "Post-Rental Inspection",
            "Quarantine",
            "Pending Inspection",
        ] {
            m.stock_statuses
                .insert(status.into(), StockStatusClass::NotSellable);
        }
        m
    }

    #[test]
    fn only_mapped_sellable_statuses_count() {
        // Story S01: Available 5, In-Refurbishment 3, Post-Rental Inspection 2, Quarantine 1.
        let position = StockPosition::from_counts([
            ("Available", 5),
            ("In-Refurbishment", 3),
            ("Post-Rental Inspection", 2),
            ("Quarantine", 1),
            ("Awaiting Photos", 4),
        ]);
        let view = position.sellable_quantity(&mappings());
        assert_eq!(view.sellable, 5);
        assert_eq!(view.not_sellable, 10);
        assert_eq!(view.unknown_statuses, vec!["Awaiting Photos".to_string()]);
    }

    #[test]
    fn returned_units_are_sellable_only_once_graded_sellable() {
        // Story S12.
        let mut position = StockPosition::from_counts([("Available", 2)]);
        position.apply_movement("Dispatched", "Pending Inspection", 1);
        assert_eq!(position.sellable_quantity(&mappings()).sellable, 2);
        position.apply_movement("Pending Inspection", "Available", 1);
        assert_eq!(position.sellable_quantity(&mappings()).sellable, 3);
    }

    #[test]
    fn centra_fta_is_what_can_still_be_promised() {
        // 10 sellable at the 3PL, of which 3 are reserved for posted Centra
        // orders (kept Available, as ACS does); 2 more sold in Centra and not
        // yet posted; 1 dispatched whose Centra shipment is not completed yet.
        let equation = StockEquation {
            sellable_at_3pl: 10,
            held_at_3pl_outside_sellable: 0,
            dispatched_not_yet_shipped_in_centra: 1,
            safety_buffer: 0,
        };
        let centra_allocated = 3 + 2 + 1;
        let fta = equation.centra_physical() - centra_allocated;
        assert_eq!(
            fta,
            10 - 3 - 2,
            "free units at the 3PL minus sales not yet reserved there"
        );
    }

    #[test]
    fn a_safety_buffer_holds_units_back_and_never_goes_below_zero() {
        let equation = |sellable, buffer| StockEquation {
            sellable_at_3pl: sellable,
            safety_buffer: buffer,
            ..Default::default()
        };
        assert_eq!(equation(10, 2).centra_physical(), 8);
        assert_eq!(equation(1, 2).centra_physical(), 0);
        // One unit leaves the warehouse's sellable stock and Centra has not
        // heard yet: with a buffer of one, what Centra still offers is no
        // more than what the warehouse can sell.
        let stale = equation(3, 1).centra_physical();
        assert!(stale <= 2);
    }
}
