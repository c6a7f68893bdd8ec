//! Mapping tables: how one system's values translate into another's.
//!
//! They start from `seam.toml` and can be changed at runtime by the people
//! who see the exceptions. A value no table names is never guessed: the
//! lookups return `None` and the flow raises an exception naming the table
//! and the value.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Whether units in a 3PL stock status can be sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockStatusClass {
    Sellable,
    NotSellable,
}

/// What a return's disposition code makes Seam do with the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DispositionAction {
    /// Back to sellable stock.
    Restock,
    /// Kept in a non-sellable status (refurbishment, repair, ex-hire).
    Hold,
    /// Written off: an ERP inventory adjustment for Finance.
    WriteOff,
}

macro_rules! snake_case_from_str {
    ($ty:ty, $what:literal, $($text:literal => $value:expr),+) => {
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($value),)+
                    other => Err(format!(
                        concat!("'{}' is not a ", $what, "; expected one of: {}"),
                        other,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

snake_case_from_str!(StockStatusClass, "stock status class",
    "sellable" => StockStatusClass::Sellable, "not_sellable" => StockStatusClass::NotSellable);
snake_case_from_str!(DispositionAction, "disposition action",
    "restock" => DispositionAction::Restock, "hold" => DispositionAction::Hold,
    "write_off" => DispositionAction::WriteOff);

/// A 3PL shipping service for a storefront shipping method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingService {
    /// The 3PL's service code, e.g. `ND` (next day), `24`, `48`.
    pub service: String,
    /// The carrier the 3PL books, e.g. `DPD` or `RM`.
    pub agent: Option<String>,
}

impl fmt::Display for ShippingService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.agent {
            Some(agent) => write!(f, "{} via {agent}", self.service),
            None => f.write_str(&self.service),
        }
    }
}

/// Every mapping table, keyed by the source system's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MappingTables {
    pub shipping_methods: BTreeMap<String, ShippingService>,
    pub stock_statuses: BTreeMap<String, StockStatusClass>,
    pub dispositions: BTreeMap<String, DispositionAction>,
    pub sku_aliases: BTreeMap<String, String>,
}

impl MappingTables {
    pub fn shipping_service(&self, method: &str) -> Option<&ShippingService> {
        self.shipping_methods.get(method)
    }
    pub fn stock_status(&self, status: &str) -> Option<StockStatusClass> {
        self.stock_statuses.get(status).copied()
    }
    pub fn disposition(&self, code: &str) -> Option<DispositionAction> {
        self.dispositions.get(code).copied()
    }
    /// The canonical SKU for a SKU as another system spells it.
    pub fn canonical_sku<'a>(&'a self, sku: &'a str) -> &'a str {
        self.sku_aliases.get(sku).map(String::as_str).unwrap_or(sku)
    }
}
