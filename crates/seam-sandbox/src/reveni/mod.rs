//! Reveni simulator: the merchant API v0 (list returns changed since a
//! time, read a return, validate its items, subscribe to webhooks), thin `return.created` / `return.updated` webhooks,
//! and an admin API playing the shopper (portal requests) and the merchant
//! (dashboard decisions).
//!
//! Layout: `vendor` holds Reveni's names and shapes; `returns` the pure
//! return life cycle; `sim` the state, handle and webhook emission; `api`
//! and `admin` the HTTP routes.
//!
//! Webhook authenticity: Reveni publishes no signature scheme. As our own
//! convention (not Reveni's), every delivery carries a shared-secret header
//! whose name and value come from `ReveniConfig`; the hub compares it and,
//! as the connector guide advises, re-reads the return anyway.

mod admin;
mod api;
mod returns;
mod sim;
pub mod vendor;

pub use returns::{NewReturn, NewReturnItem};
pub use sim::ReveniSim;
pub use vendor::{
    ItemDecision, OrderRef, Return, ReturnItem, ReturnList, ReturnListQuery, ReturnStatus,
    ReturnType, ReveniError, ReviewStatus, ValidationItem, Webhook, WebhookEvent, WebhookRequest,
};

use crate::faults::Faults;
use crate::server::{serve, RunningServer};

#[derive(Debug, Clone, PartialEq)]
pub struct ReveniConfig {
    pub store_id: String,
    /// The private API key, expected as `Authorization: Bearer <api_key>`.
    pub api_key: String,
    /// Shared-secret header on webhook deliveries (our convention).
    pub secret_header_name: String,
    pub secret_header_value: String,
}

impl Default for ReveniConfig {
    fn default() -> Self {
        ReveniConfig {
            store_id: "seam-sandbox-store".to_string(),
            api_key: "seam-sandbox-reveni-api-key".to_string(),
            secret_header_name: "X-Reveni-Secret".to_string(),
            secret_header_value: "seam-sandbox-reveni-webhook-secret".to_string(),
        }
    }
}

/// Starts the simulator on `127.0.0.1:port` (0 picks a free port).
pub async fn start(
    config: ReveniConfig,
    seed: u64,
    port: u16,
) -> std::io::Result<(ReveniSim, RunningServer)> {
    let faults = Faults::new(seed);
    let sim = ReveniSim::new(config, seed, faults.clone());
    let router = api::routes(sim.clone()).merge(admin::routes(sim.clone()));
    let server = serve("reveni", port, router, faults).await?;
    Ok((sim, server))
}
