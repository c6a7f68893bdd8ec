//! `seam.toml`: Seam's one configuration file.
//!
//! Parsing is strict: unknown keys are refused, every error names the file,
//! the line and the key, and secrets come from `${ENV_VAR}` references that
//! are resolved once, at load, into values that never print. `seam
//! check-config` is this crate's `load` with its errors listed.

mod error;
mod raw;
mod secret;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{ConfigError, ConfigErrors};
pub use raw::{BudgetConfig, RateConfig};
use seam_model::mapping::MappingTables;
pub use secret::Secret;

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub source: PathBuf,
    pub hub: HubConfig,
    pub engine: EngineConfig,
    pub connectors: Connectors,
    pub mappings: MappingTables,
    /// What the 3PL requires of a SKU (`[products]`).
    pub products: seam_model::product::ProductRules,
    pub orders: OrdersConfig,
    pub returns: ReturnsConfig,
    pub stock: StockConfig,
    pub reconcile: ReconcileConfig,
}

/// `[reconcile]`: the scheduled reconciliation (see docs/reconcile.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileConfig {
    /// How often the systems are compared; `None` (`every = "off"`) runs it
    /// only on demand (`seam reconcile`).
    pub every: Option<Duration>,
    /// Orders of this many days, up to today, are compared each time.
    pub lookback_days: u32,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        ReconcileConfig {
            every: Some(Duration::from_secs(3600)),
            lookback_days: 45,
        }
    }
}

/// `[stock]`: the stock flow's rhythm. Centra's budget, not these, bounds
/// how many writes are made: changes are coalesced per SKU between pushes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockConfig {
    /// How often the warehouse's movement feed is read.
    pub poll_every: Duration,
    /// How often changed SKUs are set in Centra.
    pub push_every: Duration,
    /// Most SKUs set in one Centra write.
    pub push_batch: usize,
    /// How often a slice of SKUs is read back from Centra.
    pub readback_every: Duration,
    /// SKUs read back per run.
    pub readback_slice: u32,
    /// Units of each SKU held back from Centra (safety stock): covers the
    /// second or so between a unit leaving the warehouse's sellable stock
    /// and Centra showing it, at the price of those units never selling.
    pub safety_buffer: u32,
}

impl Default for StockConfig {
    fn default() -> Self {
        StockConfig {
            poll_every: Duration::from_secs(1),
            push_every: Duration::from_secs(1),
            push_batch: 2_000,
            readback_every: Duration::from_secs(30),
            readback_slice: 2_000,
            safety_buffer: 0,
        }
    }
}

/// `[returns]`: where write-offs are booked in the ERP. Without both, a
/// unit graded for write-off is an exception for Finance instead of an
/// inventory adjustment Seam cannot place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnsConfig {
    /// The internal id of the NetSuite account write-offs are expensed to.
    pub write_off_account: Option<String>,
    /// The internal id of the NetSuite location the 3PL's stock is kept in.
    pub write_off_location: Option<String>,
    /// How often Reveni is asked for returns changed since the last look:
    /// the safety net that catches a webhook Reveni never delivered.
    pub reveni_poll_every: Duration,
}

impl Default for ReturnsConfig {
    fn default() -> Self {
        ReturnsConfig {
            write_off_account: None,
            write_off_location: None,
            reveni_poll_every: Duration::from_secs(60),
        }
    }
}

/// `[orders]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersConfig {
    /// The externalId of the NetSuite customer web orders are booked to.
    pub erp_customer: String,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        OrdersConfig {
            erp_customer: "web-customer".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct HubConfig {
    pub data_dir: PathBuf,
    /// `sqlite://...` (default: `seam.db` in the data directory) or `postgres://...`.
    pub database_url: Secret,
    pub listen: SocketAddr,
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub batch_size: u32,
    pub concurrency: usize,
    pub lease: Duration,
    pub max_attempts: i32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct Connectors {
    pub centra: Option<CentraConfig>,
    pub warehouse: Option<WarehouseConfig>,
    pub reveni: Option<ReveniConfig>,
    pub netsuite: Option<NetSuiteConfig>,
    pub adyen: Option<AdyenConfig>,
}

#[derive(Debug, Clone)]
pub struct CentraConfig {
    pub url: String,
    pub token: Secret,
    /// The Centra warehouse that mirrors the 3PL's stock (needed by the stock flow).
    pub warehouse: Option<String>,
    pub webhook_secret: Option<Secret>,
    pub budget: BudgetConfig,
}

#[derive(Debug, Clone)]
pub struct WarehouseConfig {
    pub url: String,
    pub username: String,
    pub password: Secret,
    pub account_code: String,
    pub webhook_secret: Option<Secret>,
    pub budget: BudgetConfig,
}

#[derive(Debug, Clone)]
pub struct ReveniConfig {
    pub url: String,
    pub store_id: String,
    pub api_key: Secret,
    pub webhook_secret: Option<Secret>,
    pub budget: BudgetConfig,
}

#[derive(Debug, Clone)]
pub struct NetSuiteConfig {
    pub url: String,
    pub account_id: String,
    pub token: Secret,
    pub budget: BudgetConfig,
}

#[derive(Debug, Clone)]
pub struct AdyenConfig {
    pub url: String,
    pub api_key: Secret,
    pub merchant_account: String,
    pub hmac_key: Option<Secret>,
    pub budget: BudgetConfig,
}

/// Reads and resolves `path`, taking `${VAR}` values from the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError::unlocated(
            path,
            "",
            format!("cannot read the file: {e}"),
        )])
    })?;
    parse(&text, path, &|name| std::env::var(name).ok())
}

/// Parses and resolves configuration text; `env` answers `${VAR}` lookups.
pub fn parse(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let raw = raw::RawConfig::parse(text, path)?;
    raw.resolve(text, path, env)
}

/// The configuration Seam runs with when no file is given: no connectors,
/// SQLite in `./.seam`, the dashboard on 127.0.0.1:8080.
pub fn embedded_default() -> Config {
    let text = "";
    parse(text, Path::new("<embedded default>"), &|_| None)
        .expect("the embedded default configuration is valid")
}
