//! Seam's flows: job handlers that move stock, orders, returns and money
//! between the systems, written against the roles in
//! `seam_connectors::roles`, never against a vendor.

pub mod stock;
