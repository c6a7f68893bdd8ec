//! Which flows a configuration turns on, and their handlers and schedules:
//! one place for `seam run`, the demo, the benchmarks and the end-to-end
//! tests, so they all run the hub the same way.

use std::sync::Arc;

use seam_config::Config;
use seam_connectors::adyen::AdyenClient;
use seam_connectors::centra::{CentraClient, WarehouseInput};
use seam_connectors::netsuite::NetSuiteClient;
use seam_connectors::reveni::ReveniClient;
use seam_connectors::roles::CentraStock;
use seam_connectors::warehouse::WarehouseClient;
use seam_engine::governor::Governor;
use seam_engine::scheduler::ScheduledTask;
use seam_engine::{HandlerRegistry, Store};

use crate::mappings::MappingSource;
use crate::orders::{OrderFlow, OrderSettings};
use crate::reconcile::{LiveObserver, PassOptions, ReconcileFlow, ReconcileSettings};
use crate::returns::ReturnFlow;
use crate::stock::{StockFlow, StockSettings};

#[derive(Debug, Clone, Copy, Default)]
pub struct FlowSettings {
    pub stock: StockSettings,
    pub orders: OrderSettings,
}

pub struct Wiring {
    pub handlers: HandlerRegistry,
    pub tasks: Vec<ScheduledTask>,
    /// One line per flow: on, or off and why.
    pub report: Vec<String>,
    /// Each connector's governor (its request budget and counters), by
    /// system. One client per system is shared by every flow, so a vendor's
    /// budget is spent once, not once per flow.
    pub governors: Vec<(&'static str, Arc<Governor>)>,
}

/// The flows `config` has connectors for. `store` is given to the
/// connectors for shared rate budgets (PostgreSQL).
pub fn wire(config: &Config, store: Option<Arc<dyn Store>>, settings: FlowSettings) -> Wiring {
    let mut handlers = HandlerRegistry::new();
    let mut tasks = Vec::new();
    let mut report = Vec::new();
    let c = &config.connectors;
    let mappings = MappingSource::new(config.mappings.clone());
    mappings.register(&mut handlers);
    let centra_client = c
        .centra
        .as_ref()
        .map(|c| CentraClient::new(c, store.clone()));
    let warehouse_client = c
        .warehouse
        .as_ref()
        .map(|w| WarehouseClient::new(w, store.clone()));
    let netsuite_client = c
        .netsuite
        .as_ref()
        .map(|n| NetSuiteClient::new(n, store.clone()));
    let adyen_client = c.adyen.as_ref().map(|a| AdyenClient::new(a, store.clone()));
    let reveni_client = c
        .reveni
        .as_ref()
        .map(|r| ReveniClient::new(r, store.clone()));
    let mut governors = Vec::new();
    let mut settings = settings;
    if let Some(client) = &centra_client {
        governors.push(("centra", client.governor().clone()));
    }
    if let Some(client) = &warehouse_client {
        governors.push(("warehouse", client.governor().clone()));
    }
    if let Some(client) = &netsuite_client {
        governors.push(("netsuite", client.governor().clone()));
    }
    if let Some(client) = &adyen_client {
        governors.push(("adyen", client.governor().clone()));
    }
    if let Some(client) = &reveni_client {
        governors.push(("reveni", client.governor().clone()));
    }
    match (&c.centra, &centra_client, &warehouse_client) {
        (Some(centra), Some(centra_client), Some(warehouse_client))
            if centra.warehouse.is_some() =>
        {
            let flow = Arc::new(StockFlow {
                feed: Arc::new(warehouse_client.clone()),
                storefront: Arc::new(CentraStock::new(
                    centra_client.clone(),
                    WarehouseInput {
                        id: None,
                        name: centra.warehouse.clone(),
                    },
                )),
                mappings: Arc::new(config.mappings.clone()),
                settings: settings.stock,
            });
            flow.register(&mut handlers);
            tasks.extend(flow.scheduled_tasks());
            settings.orders.stock_flow_on = true;
            report.push("stock flow on: warehouse -> Centra".into());
        }
        (Some(_), Some(_), Some(_)) => report.push(
            "stock flow off: set connectors.centra.warehouse to the Centra warehouse that mirrors the 3PL".into(),
        ),
        _ => report.push("stock flow off: needs connectors.centra and connectors.warehouse".into()),
    }
    match (&centra_client, &netsuite_client, config.reconcile.every) {
        (Some(centra), Some(netsuite), Some(every)) => {
            let flow = Arc::new(ReconcileFlow {
                observer: LiveObserver {
                    centra: centra.clone(),
                    netsuite: netsuite.clone(),
                    reveni: reveni_client.clone(),
                },
                settings: ReconcileSettings {
                    every,
                    lookback_days: config.reconcile.lookback_days,
                    options: PassOptions::default(),
                },
            });
            flow.register(&mut handlers);
            tasks.extend(flow.scheduled_tasks());
            report.push(format!(
                "reconciliation on: every {}, orders of the last {} days",
                humantime_like(every),
                config.reconcile.lookback_days
            ));
        }
        (Some(_), Some(_), None) => report
            .push("reconciliation off (reconcile.every = \"off\"): run `seam reconcile`".into()),
        _ => report
            .push("reconciliation off: needs connectors.centra and connectors.netsuite".into()),
    }
    match (centra_client, warehouse_client, netsuite_client) {
        (Some(centra), Some(warehouse), Some(netsuite)) => {
            // Returns follow the orders Seam posted: same systems, plus
            // Reveni for requests and the PSP for refunds when configured.
            let returns = Arc::new(ReturnFlow {
                centra: centra.clone(),
                netsuite: netsuite.clone(),
                reveni: reveni_client,
                adyen: adyen_client.clone(),
                mappings: mappings.clone(),
                config: config.returns.clone(),
            });
            returns.register(&mut handlers);
            tasks.extend(returns.scheduled_tasks());
            report.push(format!(
                "returns flow on: {} -> NetSuite, Centra{}",
                if c.reveni.is_some() {
                    "Reveni requests (webhooks, and a poll every returns.reveni_poll_every) and warehouse receipts"
                } else {
                    "warehouse receipts (no Reveni connector)"
                },
                if c.adyen.is_some() { ", Adyen refunds" } else { " (no PSP connector: refunds are exceptions for Finance)" }
            ));
            let flow = Arc::new(OrderFlow::new(
                centra,
                warehouse,
                netsuite,
                adyen_client,
                mappings,
                config.products.clone(),
                config.orders.erp_customer.clone(),
                settings.orders,
            ));
            flow.register(&mut handlers);
            tasks.extend(flow.scheduled_tasks());
            report.push(format!(
                "order flow on: Centra -> warehouse and NetSuite{}",
                if c.adyen.is_some() {
                    ", Adyen authorisations"
                } else {
                    " (no PSP connector: authorisations are not adjusted)"
                }
            ));
        }
        _ => report.push(
            "order and returns flows off: need connectors.centra, connectors.warehouse and connectors.netsuite"
                .into(),
        ),
    }
    Wiring {
        handlers,
        tasks,
        report,
        governors,
    }
}

/// "1h", "30m", "45s": a schedule as people write it.
fn humantime_like(every: std::time::Duration) -> String {
    let secs = every.as_secs();
    if secs >= 3600 && secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if secs >= 60 && secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}
