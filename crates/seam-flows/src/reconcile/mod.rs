//! Reconciliation: compares the systems themselves, so that drift no job
//! noticed is found anyway (see docs/reconcile.md).
//!
//! - `compare`: the pure comparator, Seam's intent per order against what
//!   each system shows, as typed variances.
//! - `gather`: reads what each system shows, through the connectors.
//! - `flow`: the scheduled cycle and the re-check an exception's resubmit runs.
//! - `pass`: a streaming pass over a period, chunk by chunk, recording
//!   variances and raising exceptions.
//! - `report`: the month-end finance report, per currency, CSV and JSON.

pub mod compare;
pub mod flow;
pub mod gather;
pub mod pass;
pub mod report;

pub use compare::{
    compare_order, compare_stock, ErpLineFacts, ErpObservation, ErpOrderFacts, OrderIntent,
    OrderObservations, PspFacts, ReturnMoneyFacts, StockObservation, StorefrontFacts, Variance,
    VarianceKind,
};
pub use flow::{ReconcileFlow, ReconcileSettings};
pub use gather::LiveObserver;
pub use pass::{
    reconcile_orders, reconcile_stock, Observer, PassOptions, PassSummary, Period, ReconcileError,
    FLOW,
};
