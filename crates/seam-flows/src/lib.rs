//! Seam's flows: job handlers that move stock, orders, returns and money
//! between the systems. The stock flow is written against the roles in
//! `seam_connectors::roles`; the order and returns flows against the
//! vendor clients, whose shapes they need in full (see docs/orders.md and
//! docs/returns.md).

pub mod mappings;
pub mod orders;
pub mod reconcile;
pub mod returns;
pub mod stock;
pub mod wiring;

/// A database error while a job runs: transient, so the job is retried.
pub(crate) fn store_failure(error: seam_engine::StoreError) -> seam_engine::Outcome {
    seam_engine::Outcome::failed(database_failure(error))
}

pub(crate) fn database_failure(error: seam_engine::StoreError) -> seam_engine::Failure {
    seam_engine::Failure::transient(format!("the database: {error}"))
}
