//! Stock held per SKU and status, one entry per physical unit so a unit keeps
//! its identity (unique SKU, RFID) as it moves between statuses, as ACS's
//! per-RFID stock file implies. Moving N units costs O(N); looking a SKU up
//! is a hash lookup.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::errors::WarehouseError;
use super::vendor::status;

/// One physical unit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unit {
    pub serial: u64,
    /// When the unit entered its current status.
    pub since: DateTime<Utc>,
}

impl Unit {
    /// `<sku>_<serial>`, after the `IC-<product>_<n>-<size>` unique SKUs in client code [I].
    pub fn unique_sku(&self, sku: &str) -> String {
        format!("{sku}_{}", self.serial)
    }

    /// A 96-bit EPC-style tag in hex, derived from the instance and serial [I].
    pub fn rfid(&self, instance: u64) -> String {
        format!("E2801160{:016X}", splitmix64(instance ^ self.serial))
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[derive(Debug, Default)]
pub(crate) struct SkuStock {
    /// Units by status; statuses with no units are removed.
    pub by_status: BTreeMap<String, Vec<Unit>>,
    /// Available units promised to open sales orders (they stay `Available`
    /// on the shelf until picked and dispatched).
    pub allocated: u64,
}

/// Stock of one SKU as the admin API and tests see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockPosition {
    pub sku: String,
    /// Units per status, physical stock only (no pseudo-statuses).
    pub by_status: BTreeMap<String, u64>,
    /// Available units allocated to open orders.
    pub allocated: u64,
    /// Available minus allocated: what can still be sold.
    pub available_units: u64,
}

#[derive(Debug, Default)]
pub(crate) struct StockLedger {
    skus: HashMap<String, SkuStock>,
    next_serial: u64,
}

impl StockLedger {
    pub fn count(&self, sku: &str, status: &str) -> u64 {
        self.skus
            .get(sku)
            .and_then(|stock| stock.by_status.get(status))
            .map_or(0, |units| units.len() as u64)
    }

    pub fn allocated(&self, sku: &str) -> u64 {
        self.skus.get(sku).map_or(0, |stock| stock.allocated)
    }

    pub fn available_units(&self, sku: &str) -> u64 {
        self.count(sku, status::AVAILABLE)
            .saturating_sub(self.allocated(sku))
    }

    /// New units with fresh serials (arrivals from outside the warehouse).
    pub fn mint(&mut self, quantity: u64, now: DateTime<Utc>) -> Vec<Unit> {
        (0..quantity)
            .map(|_| {
                self.next_serial += 1;
                Unit {
                    serial: self.next_serial,
                    since: now,
                }
            })
            .collect()
    }

    /// Takes `quantity` units out of a status; from an external status the
    /// units are new.
    pub fn take(
        &mut self,
        sku: &str,
        from: &str,
        quantity: u64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Unit>, WarehouseError> {
        if status::is_external(from) {
            return Ok(self.mint(quantity, now));
        }
        let have = self.count(sku, from);
        if have < quantity {
            return Err(WarehouseError::InsufficientStock {
                sku: sku.to_string(),
                status: from.to_string(),
                wanted: quantity,
                available: have,
            });
        }
        let Some(stock) = self.skus.get_mut(sku) else {
            return Ok(Vec::new());
        };
        let Some(units) = stock.by_status.get_mut(from) else {
            return Ok(Vec::new());
        };
        // have >= quantity was checked above, so the subtraction cannot underflow.
        let taken = units.split_off(units.len() - quantity as usize);
        if units.is_empty() {
            stock.by_status.remove(from);
        }
        Ok(taken)
    }

    /// Puts units into a status; into an external status they leave stock.
    pub fn put(&mut self, sku: &str, to: &str, units: Vec<Unit>, now: DateTime<Utc>) {
        if status::is_external(to) || units.is_empty() {
            return;
        }
        let stock = self.skus.entry(sku.to_string()).or_default();
        let target = stock.by_status.entry(to.to_string()).or_default();
        target.extend(units.into_iter().map(|unit| Unit { since: now, ..unit }));
    }

    /// Sets the number of units in a status, adding fresh units or removing
    /// the most recent ones. Returns the signed change.
    pub fn set(&mut self, sku: &str, to: &str, quantity: u64, now: DateTime<Utc>) -> i64 {
        let have = self.count(sku, to);
        if quantity > have {
            let units = self.mint(quantity - have, now);
            self.put(sku, to, units, now);
        } else if quantity < have {
            // Cannot fail: `have` units are there.
            let _ = self.take(sku, to, have - quantity, now);
        }
        quantity as i64 - have as i64
    }

    /// Promises up to `wanted` available units to an order; returns how many.
    pub fn allocate(&mut self, sku: &str, wanted: u64) -> u64 {
        let granted = wanted.min(self.available_units(sku));
        if granted > 0 {
            self.skus.entry(sku.to_string()).or_default().allocated += granted;
        }
        granted
    }

    pub fn release(&mut self, sku: &str, quantity: u64) {
        if let Some(stock) = self.skus.get_mut(sku) {
            stock.allocated = stock.allocated.saturating_sub(quantity);
        }
    }

    pub fn position(&self, sku: &str) -> StockPosition {
        let by_status = self
            .skus
            .get(sku)
            .map(|stock| {
                stock
                    .by_status
                    .iter()
                    .map(|(status, units)| (status.clone(), units.len() as u64))
                    .collect()
            })
            .unwrap_or_default();
        StockPosition {
            sku: sku.to_string(),
            by_status,
            allocated: self.allocated(sku),
            available_units: self.available_units(sku),
        }
    }

    /// SKUs holding or having held stock, sorted (for listings and files).
    pub fn skus_sorted(&self) -> Vec<&str> {
        let mut skus: Vec<&str> = self.skus.keys().map(String::as_str).collect();
        skus.sort_unstable();
        skus
    }

    /// Units of a SKU by status, for the stock file.
    pub fn units(&self, sku: &str) -> impl Iterator<Item = (&str, &Unit)> {
        self.skus.get(sku).into_iter().flat_map(|stock| {
            stock
                .by_status
                .iter()
                .flat_map(|(status, units)| units.iter().map(move |unit| (status.as_str(), unit)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_keep_their_identity_across_statuses() {
        let now = Utc::now();
        let mut ledger = StockLedger::default();
        ledger.set("S", status::AVAILABLE, 3, now);
        let moved = ledger.take("S", status::AVAILABLE, 2, now).expect("enough");
        let serials: Vec<u64> = moved.iter().map(|u| u.serial).collect();
        ledger.put("S", status::QUARANTINE, moved, now);
        let in_quarantine: Vec<u64> = ledger
            .units("S")
            .filter(|(s, _)| *s == status::QUARANTINE)
            .map(|(_, u)| u.serial)
            .collect();
        assert_eq!(in_quarantine, serials);
        assert_eq!(ledger.count("S", status::AVAILABLE), 1);
        assert!(ledger.take("S", status::AVAILABLE, 2, now).is_err());
    }

    #[test]
    fn allocation_never_exceeds_available() {
        let now = Utc::now();
        let mut ledger = StockLedger::default();
        ledger.set("S", status::AVAILABLE, 2, now);
        assert_eq!(ledger.allocate("S", 5), 2);
        assert_eq!(ledger.available_units("S"), 0);
        ledger.release("S", 1);
        assert_eq!(ledger.available_units("S"), 1);
    }
}
