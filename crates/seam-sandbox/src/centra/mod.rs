//! Simulator of Centra's Integration API (GraphQL) for the operations Seam
//! uses: orders, shipments with capture, returns, stock, catalogue, the
//! event queue and the Webhook plugin, with Centra's auth, permissions,
//! extensions and rate limits. `start` serves it; `CentraSim` is the typed
//! handle used by tests and the traffic generator without HTTP.
//!
//! Submodules: `model` (records), `catalogue` (products and stock cells),
//! `state` (the rules), `ratelimit`, `complexity`, `auth` (tokens and
//! permissions), `schema` (GraphQL types, queries and mutations), `http`
//! (the /graphql endpoint), `admin` (/_admin routes), `notify` (webhooks).

mod admin;
mod auth;
pub mod catalogue;
mod complexity;
mod http;
pub mod model;
mod notify;
pub mod ratelimit;
mod schema;
pub mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::Utc;
use serde::{Deserialize, Serialize};

pub use auth::{TokenConfig, ALL_PERMISSIONS};
pub use catalogue::{
    CatalogueSeed, SeedBundle, SeedBundleSection, SeedProduct, SeedSize, SeedStock, SeedVariant,
    SeededCatalogue,
};
pub use model::{
    AddressData, AppliedVoucher, Attribute, Event, EventChangeType, EventObjectType, Order,
    OrderStatus, PaymentEntry, PaymentEntryType, PaymentStatus, StockMutationRecord,
};
pub use ratelimit::RateLimitConfig;
pub use state::{
    CreatedOrder, NewOrder, NewOrderLine, NewVoucher, OrderRef, Problem, WebhookTarget,
};

use crate::faults::Faults;
use crate::webhooks::WebhookSender;
use ratelimit::RateLimiter;
use state::State;

/// How the simulated Centra environment is set up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CentraConfig {
    pub tokens: Vec<TokenConfig>,
    pub rate_limits: RateLimitConfig,
    /// Reported in `extensions.appVersion`.
    pub app_version: String,
}

/// The default full-permission token of a fresh simulator.
pub const DEFAULT_TOKEN: &str = "centra-sandbox-token";
/// Its integration name (owner of the event queue).
pub const DEFAULT_INTEGRATION: &str = "seam";

impl Default for CentraConfig {
    fn default() -> Self {
        CentraConfig {
            tokens: vec![TokenConfig::full(DEFAULT_TOKEN, DEFAULT_INTEGRATION)],
            rate_limits: RateLimitConfig::default(),
            app_version: "v0.32.3".into(),
        }
    }
}

/// Stock of one SKU, per warehouse and in total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockView {
    pub sku: String,
    pub size_id: i32,
    pub physical: i64,
    pub allocated: i64,
    pub free_to_allocate: i64,
    pub warehouses: Vec<WarehouseStock>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarehouseStock {
    pub warehouse_id: i32,
    pub warehouse: String,
    pub physical: i64,
    pub allocated: i64,
    pub free_to_allocate: i64,
}

pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub limiter: Mutex<RateLimiter>,
    pub tokens: Mutex<Vec<TokenConfig>>,
    pub app_version: String,
    pub webhooks: WebhookSender,
    pub faults: Faults,
}

/// Cloneable handle on one simulated Centra environment.
#[derive(Clone)]
pub struct CentraSim {
    pub(crate) shared: Arc<Shared>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock means a handler panicked; the state is still consistent
    // because every operation validates before it changes anything.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl CentraSim {
    /// Creates the simulator state. Must be called inside a Tokio runtime
    /// (the webhook sender runs as a task).
    pub fn new(config: CentraConfig, seed: u64) -> Self {
        let faults = Faults::new(seed);
        CentraSim {
            shared: Arc::new(Shared {
                state: Mutex::new(State::new(seed)),
                limiter: Mutex::new(RateLimiter::new(config.rate_limits)),
                tokens: Mutex::new(config.tokens),
                app_version: config.app_version,
                webhooks: WebhookSender::start(faults.clone()),
                faults,
            }),
        }
    }

    pub fn faults(&self) -> Faults {
        self.shared.faults.clone()
    }

    /// Runs `f` on the state, then sends any webhook notifications it produced
    /// (after the lock is released).
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let (result, outbox, target) = {
            let mut state = lock(&self.shared.state);
            let result = f(&mut state);
            let outbox = std::mem::take(&mut state.outbox);
            (result, outbox, state.webhook.clone())
        };
        if let (false, Some(target)) = (outbox.is_empty(), target) {
            notify::send(&self.shared.webhooks, &target, &outbox);
        }
        result
    }

    pub(crate) fn limiter(&self) -> MutexGuard<'_, RateLimiter> {
        lock(&self.shared.limiter)
    }

    pub(crate) fn token(&self, token: &str) -> Option<TokenConfig> {
        let now = Utc::now();
        lock(&self.shared.tokens)
            .iter()
            .find(|t| t.token == token && t.expires_at.is_none_or(|e| e > now))
            .cloned()
    }

    pub fn add_token(&self, token: TokenConfig) {
        let mut tokens = lock(&self.shared.tokens);
        tokens.retain(|t| t.token != token.token);
        tokens.push(token);
    }

    pub fn seed_catalogue(&self, seed: &CatalogueSeed) -> Result<SeededCatalogue, String> {
        self.with_state(|state| {
            let mut out = SeededCatalogue::default();
            for name in &seed.warehouses {
                out.warehouses
                    .insert(name.clone(), state.catalogue.add_warehouse(name));
            }
            let skipped = state.catalogue.add_products(&seed.products, &mut out);
            for stock in &seed.stock {
                let size = state.catalogue.size_by_sku(&stock.sku).map(|s| s.id);
                let warehouse = state.catalogue.warehouse_by_name(&stock.warehouse);
                match (size, warehouse) {
                    (Some(size), Some(warehouse)) if stock.physical >= 0 => {
                        state.catalogue.cell_mut(warehouse, size).physical = stock.physical;
                    }
                    _ => {
                        return Err(format!(
                            "stock for {} in {:?}: unknown SKU or warehouse, or negative",
                            stock.sku, stock.warehouse
                        ))
                    }
                }
            }
            for message in skipped {
                tracing::debug!(%message, "centra seed");
            }
            Ok(out)
        })
    }

    /// Places an order as the checkout would: allocates stock, records the authorisation.
    pub fn create_order(&self, order: NewOrder) -> Result<CreatedOrder, String> {
        self.with_state(|state| state.create_order(order))
    }

    pub fn order(&self, number: i32) -> Option<Order> {
        self.with_state(|state| state.orders.get(&number).cloned())
    }

    /// Changes an order as a direct fix in Centra's database would: no
    /// event and no webhook (reconciliation tests plant drift with it).
    /// Returns whether the order exists.
    pub fn alter_order(&self, number: i32, change: impl FnOnce(&mut Order)) -> bool {
        self.with_state(|state| state.orders.get_mut(&number).map(change).is_some())
    }

    /// Every order, by number (the soak reads them all after a run).
    pub fn orders(&self) -> Vec<Order> {
        self.with_state(|state| state.orders.values().cloned().collect())
    }

    /// Cancels an order as an AMS user would (before capture only).
    pub fn cancel_order(&self, number: i32) -> Result<(), String> {
        self.with_state(|state| {
            state
                .cancel_order(
                    &OrderRef {
                        number: Some(number),
                        ..Default::default()
                    },
                    false,
                )
                .map(|_| ())
        })
    }

    /// Confirms a PENDING order, as an operator (or another integration) would.
    pub fn confirm_order(&self, number: i32) -> Result<(), String> {
        self.with_state(|state| {
            state
                .confirm_order(&OrderRef {
                    number: Some(number),
                    ..Default::default()
                })
                .map(|_| ())
                .map_err(|problems| format!("{problems:?}"))
        })
    }

    /// Adds physical units of a SKU in every warehouse, as another
    /// integration or a manual edit would: no stock mutation is logged and
    /// no event is sent (reconciliation tests plant drift with it).
    /// Returns whether the SKU exists.
    pub fn add_physical_quietly(&self, sku: &str, units: i64) -> bool {
        self.with_state(|state| {
            let catalogue = &mut state.catalogue;
            let Some(size) = catalogue.size_by_sku(sku).map(|s| s.id) else {
                return false;
            };
            let warehouses: Vec<i32> = catalogue.warehouses.values().map(|w| w.id).collect();
            for warehouse in warehouses {
                catalogue.cell_mut(warehouse, size).physical += units;
            }
            true
        })
    }

    pub fn stock_of(&self, sku: &str) -> Option<StockView> {
        self.with_state(|state| {
            let catalogue = &state.catalogue;
            let size = catalogue.size_by_sku(sku)?;
            let warehouses: Vec<WarehouseStock> = catalogue
                .warehouses
                .values()
                .map(|w| {
                    let cell = catalogue.cell(w.id, size.id);
                    WarehouseStock {
                        warehouse_id: w.id,
                        warehouse: w.name.clone(),
                        physical: cell.physical,
                        allocated: cell.allocated,
                        free_to_allocate: cell.free_to_allocate(),
                    }
                })
                .collect();
            Some(StockView {
                sku: size.sku.clone(),
                size_id: size.id,
                physical: warehouses.iter().map(|w| w.physical).sum(),
                allocated: warehouses.iter().map(|w| w.allocated).sum(),
                free_to_allocate: warehouses.iter().map(|w| w.free_to_allocate).sum(),
                warehouses,
            })
        })
    }

    /// Every setStock/changeStock call received, oldest first.
    pub fn mutations_log(&self) -> Vec<StockMutationRecord> {
        self.with_state(|state| state.stock_mutations.clone())
    }

    /// Unconfirmed events of an integration's queue, oldest first.
    pub fn event_queue(&self, integration: &str) -> Vec<Event> {
        self.with_state(|state| state.events(integration, &[], &[], usize::MAX))
    }

    /// Whether an integration has registered an event listener (Centra
    /// queues events only for listeners, so changes made before this are
    /// not in its queue).
    pub fn has_event_listeners(&self, integration: &str) -> bool {
        self.with_state(|state| {
            state
                .queues
                .get(integration)
                .is_some_and(|queue| !queue.listeners.is_empty())
        })
    }

    /// Makes the next `n` capture attempts fail at the PSP.
    pub fn fail_next_captures(&self, n: u32) {
        self.with_state(|state| state.failing_captures = n);
    }

    /// Connects the payment plugin: each capture is also made at the PSP.
    pub fn set_psp_capture(&self, capture: state::PspCapture) {
        self.with_state(|state| state.psp_capture = Some(capture));
    }

    /// Registers the Webhook plugin's URL and endpoint secret (None disables it).
    pub fn set_webhook(&self, target: Option<WebhookTarget>) {
        self.with_state(|state| state.webhook = target);
    }

    pub fn set_rate_limits(&self, config: RateLimitConfig) {
        self.limiter().set_config(config);
    }

    pub fn rate_limits(&self) -> RateLimitConfig {
        self.limiter().config()
    }

    /// Requests answered 429 (rate limited) since the limits were last set.
    pub fn rate_limited(&self) -> u64 {
        self.limiter().rejected()
    }

    /// Webhook deliveries attempted so far.
    pub fn webhook_deliveries(&self) -> Vec<crate::webhooks::DeliveryRecord> {
        self.shared.webhooks.deliveries()
    }
}

/// Starts the simulator on `127.0.0.1:port` (0 picks a free port).
pub async fn start(
    config: CentraConfig,
    seed: u64,
    port: u16,
) -> std::io::Result<(CentraSim, crate::server::RunningServer)> {
    let sim = CentraSim::new(config, seed);
    let router = http::router(sim.clone()).merge(admin::router(sim.clone()));
    let server = crate::server::serve("centra", port, router, sim.faults()).await?;
    Ok((sim, server))
}
