//! Connectors: one module per external system, each an HTTP client with
//! typed requests and responses in the vendor's own field names. Every call
//! goes through the connector's `Governor` (see `seam_engine::governor`)
//! via `http::HttpClient`, so budgets, retries, Retry-After and the circuit
//! apply uniformly, and failures come back classified. Inbound webhook
//! parsing and signature checks live here too, next to the vendor's shapes.

pub mod adyen;
pub mod centra;
pub mod http;
pub mod netsuite;
pub mod reveni;
pub mod roles;
pub mod signature;
pub mod warehouse;

use std::sync::Arc;

use seam_config::BudgetConfig;
use seam_engine::governor::{Budget, Governor, GovernorConfig};
use seam_engine::Store;

/// Builds a connector's governor from its configured budget. With a
/// PostgreSQL store the rate budgets are shared by every process.
pub fn governor_for(
    name: &str,
    budget: &BudgetConfig,
    store: Option<Arc<dyn Store>>,
) -> Arc<Governor> {
    governor_with(name, budget, store, true)
}

/// As `governor_for`, saying whether the vendor deduplicates writes (see
/// `GovernorConfig::mutations_idempotent`).
pub fn governor_with(
    name: &str,
    budget: &BudgetConfig,
    store: Option<Arc<dyn Store>>,
    mutations_idempotent: bool,
) -> Arc<Governor> {
    let to_budget = |rate: Option<(u32, std::time::Duration)>| {
        rate.map(|(count, window)| Budget { count, window })
    };
    let config = GovernorConfig {
        requests: to_budget(budget.requests),
        mutations: to_budget(budget.mutations),
        max_concurrency: budget.max_concurrency,
        timeout: budget.timeout,
        mutations_idempotent,
        ..GovernorConfig::new(name)
    };
    Arc::new(Governor::new(config, store))
}
