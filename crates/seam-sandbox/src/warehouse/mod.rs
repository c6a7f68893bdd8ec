//! The 3PL simulator: an ACS-style UK fashion warehouse (rental, resale,
//! refurbishment, grading) speaking ACS's partner API.
//!
//! What ACS documents or client code shows (backends.md §2, tagged [S]/[V]):
//! `PUT /api/v1/orders/{OrderNumber}` creates or modifies (re-PUT) an order,
//! with HTTP Basic auth and `AccountCode` in the body, the flat order body
//! fields, `OrderCancelled` on a re-PUT to cancel, service codes `24`/`48`/
//! `ND` and carriers `RM`/`DPD`, and a daily stock CSV per RFID with a
//! location status. Everything else is inferred [I] and marked where it is
//! coded: the order read shape, the error shape, `ItemCondition`/`Grade` for
//! refurbished goods, the message feed and its three message types, webhook
//! batching and signing, grading rules and the status names the warehouse
//! moves units through. Vendor names live in `vendor.rs`.
//!
//! Modules, one job each:
//! - `vendor`: every ACS-specific name and limit
//! - `messages`: the events in the feed and webhooks
//! - `errors`: the partner error shape and admin errors
//! - `order`: reading and validating the order body
//! - `stock`: units per SKU and status, allocation
//! - `state`, `order_book`, `returns`: the warehouse's state and operations
//! - `snapshot`: the stock CSV file
//! - `signing`: webhook signatures
//! - `sim`: the cloneable handle and the webhook pump
//! - `partner`, `admin`: the HTTP routes

mod admin;
mod errors;
mod messages;
mod model;
mod order;
mod order_book;
mod partner;
mod returns;
mod signing;
mod sim;
mod snapshot;
mod state;
mod stock;
pub mod vendor;

pub use errors::{FieldError, PartnerError, PartnerErrorBody, WarehouseError};
pub use messages::{
    DispatchConfirmation, DispatchedLine, Disposition, FeedPage, Grade, Message, MessageBody,
    ReturnReceipt, ReturnedLine, StockMovement, WebhookBatch,
};
pub use model::{
    BulkOutcome, CatalogueItem, DispatchLineRequest, DispatchRequest, MovementRequest, OrderAck,
    OrderLineView, OrderView, ReturnLineRequest, ReturnRecord, ReturnRequest, Seed, ServiceCodes,
    StatusTotals, StockFileInfo, StockLevel, WebhookTarget,
};
pub use order::{parse_order, DeliveryAddress, OrderItem, OrderRequest};
pub use signing::{signature_header, verify_signature};
pub use sim::WarehouseSim;
pub use stock::StockPosition;

use crate::server::RunningServer;

/// How the simulated warehouse is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct WarehouseConfig {
    /// HTTP Basic credentials of the partner API.
    pub username: String,
    pub password: String,
    /// The brand's account at the warehouse; orders must carry it.
    pub account_code: String,
    /// Accepted `DeliveryService` codes.
    pub service_codes: Vec<String>,
    /// Accepted `DeliveryAgent` carriers.
    pub delivery_agents: Vec<String>,
    /// Where webhooks go from the start (also settable at runtime).
    pub webhook: Option<WebhookTarget>,
}

impl Default for WarehouseConfig {
    fn default() -> Self {
        WarehouseConfig {
            username: "seam".to_string(),
            password: "seam-sandbox".to_string(),
            account_code: "SEAMTEST".to_string(),
            service_codes: vec!["24".into(), "48".into(), "ND".into()],
            delivery_agents: vec!["RM".into(), "DPD".into()],
            webhook: None,
        }
    }
}

/// Starts the warehouse on `127.0.0.1:port` (0 picks a free port) with the
/// fault layer, the partner API, the admin API and webhook delivery.
pub async fn start(
    config: WarehouseConfig,
    seed: u64,
    port: u16,
) -> std::io::Result<(WarehouseSim, RunningServer)> {
    let sim = WarehouseSim::new(config, seed);
    sim.start_webhooks();
    let router = partner::routes(sim.clone()).merge(admin::routes(sim.clone()));
    let server = crate::server::serve("warehouse", port, router, sim.faults()).await?;
    Ok((sim, server))
}
