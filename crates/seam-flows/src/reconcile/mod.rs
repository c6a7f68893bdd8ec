//! Reconciliation: compares the systems themselves, so that drift no job
//! noticed is found anyway (see docs/reconcile.md).
//!
//! - `compare`: the pure comparator, Seam's intent per order against what
//!   each system shows, as typed variances.

pub mod compare;

pub use compare::{
    compare_order, compare_stock, ErpObservation, ErpOrderFacts, OrderIntent, OrderObservations,
    PspFacts, ReturnMoneyFacts, StockObservation, StorefrontFacts, Variance, VarianceKind,
};
