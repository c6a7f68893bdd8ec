//! Seam's flows: job handlers that move stock, orders, returns and money
//! between the systems. The stock flow is written against the roles in
//! `seam_connectors::roles`; the order flow against the vendor clients,
//! whose shapes it needs in full (see docs/orders.md).

pub mod mappings;
pub mod orders;
pub mod stock;
pub mod wiring;
