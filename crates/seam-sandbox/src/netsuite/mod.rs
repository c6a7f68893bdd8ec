//! NetSuite simulator: the SuiteTalk REST record API
//! (`/services/rest/record/v1/...`) with OAuth 2.0 client-credentials tokens,
//! NetSuite's error document, externalId upserts, transforms between
//! transactions, record queries, concurrency governance, and an admin API
//! for seeding, inspecting and editing records as a NetSuite user would.
//!
//! Modules, one job each: `config` (account setup), `types` (the record
//! shape), `wire` (JSON numbers, ids, dates), `store` (records and indexes),
//! `build` (request bodies to records, totals, status), `transform`,
//! `query` (`q`), `render` (records to JSON), `auth`, `governance`, `rest`
//! (record routes), `admin` (the `/_admin` API and the typed handle).
//!
//! Where NetSuite's behaviour is inferred rather than documented, the code
//! says so next to it.

mod admin;
mod auth;
mod build;
mod config;
mod error;
mod governance;
mod query;
mod render;
mod rest;
mod store;
mod transform;
mod types;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, SubsecRound, Utc};

pub use admin::{CustomerSeed, ItemSeed, OrderEdit};
pub use config::NetSuiteConfig;
pub use error::NsError;
pub use governance::Governance;
pub use types::{Line, Record, RecordKey, RecordType, Totals};

use crate::faults::Faults;
use crate::server::{serve, RunningServer};
use store::Store;

/// Everything the simulator remembers.
struct State {
    store: Store,
    /// Issued access tokens and when they expire.
    tokens: HashMap<String, DateTime<Utc>>,
    governance: Governance,
    /// Where the server listens, for links the typed admin API renders.
    base_url: String,
}

struct Shared {
    config: NetSuiteConfig,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a handler panicked; the records are still whole
        // because every change is prepared on a copy before it is stored.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

type SharedState = Arc<Shared>;

/// NetSuite timestamps have whole seconds.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// A handle on a running (or router-less) simulator: the typed admin API.
#[derive(Clone)]
pub struct NetSuiteSim {
    shared: SharedState,
    faults: Faults,
}

impl NetSuiteSim {
    /// A simulator without a server (for tests that need no HTTP).
    pub fn new(config: NetSuiteConfig, seed: u64) -> NetSuiteSim {
        let governance = Governance {
            limit: config.concurrency_limit,
            in_flight: 0,
            hold: Duration::ZERO,
            refused: 0,
        };
        NetSuiteSim {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State {
                    store: Store::new(seed),
                    tokens: HashMap::new(),
                    governance,
                    base_url: "http://127.0.0.1".to_string(),
                }),
            }),
            faults: Faults::new(seed),
        }
    }

    pub fn config(&self) -> &NetSuiteConfig {
        &self.shared.config
    }

    /// The fault plan in front of the REST routes.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The axum router: REST routes behind governance and auth, the token
    /// endpoint, and `/_admin`. `serve` adds the fault layer.
    pub fn router(&self) -> Router {
        let record = "/services/rest/record/v1";
        let governed = Router::new()
            .route(
                &format!("{record}/{{type}}"),
                get(rest::list_records).post(rest::post_record),
            )
            .route(
                &format!("{record}/{{type}}/{{key}}"),
                get(rest::get_record)
                    .put(rest::put_record)
                    .patch(rest::patch_record)
                    .delete(rest::delete_record),
            )
            .route(
                &format!("{record}/{{type}}/{{key}}/{{sublist}}"),
                get(rest::get_sublist),
            )
            .route(
                &format!("{record}/{{type}}/{{key}}/{{sublist}}/{{line}}"),
                get(rest::get_line).post(rest::post_transform),
            )
            .layer(axum::middleware::from_fn_with_state(
                self.shared.clone(),
                governance::govern,
            ));
        Router::new()
            .merge(governed)
            .route(auth::TOKEN_PATH, post(auth::token))
            .merge(admin::routes())
            .with_state(self.shared.clone())
    }
}

/// Starts the simulator on `127.0.0.1:port` (0 picks a free port).
pub async fn start(
    config: NetSuiteConfig,
    seed: u64,
    port: u16,
) -> std::io::Result<(NetSuiteSim, RunningServer)> {
    let sim = NetSuiteSim::new(config, seed);
    let server = serve("netsuite", port, sim.router(), sim.faults.clone()).await?;
    sim.shared.lock().base_url = server.base_url();
    Ok((sim, server))
}
