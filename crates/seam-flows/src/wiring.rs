//! Which flows a configuration turns on, and their handlers and schedules:
//! one place for `seam run`, the demo, the benchmarks and the end-to-end
//! tests, so they all run the hub the same way.

use std::sync::Arc;

use seam_config::Config;
use seam_connectors::adyen::AdyenClient;
use seam_connectors::centra::{CentraClient, WarehouseInput};
use seam_connectors::netsuite::NetSuiteClient;
use seam_connectors::roles::CentraStock;
use seam_connectors::warehouse::WarehouseClient;
use seam_engine::scheduler::ScheduledTask;
use seam_engine::{HandlerRegistry, Store};

use crate::mappings::MappingSource;
use crate::orders::{OrderFlow, OrderSettings};
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
    match (&c.centra, &c.warehouse) {
        (Some(centra), Some(warehouse)) if centra.warehouse.is_some() => {
            let flow = Arc::new(StockFlow {
                feed: Arc::new(WarehouseClient::new(warehouse, store.clone())),
                storefront: Arc::new(CentraStock::new(
                    CentraClient::new(centra, store.clone()),
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
            report.push("stock flow on: warehouse -> Centra".into());
        }
        (Some(_), Some(_)) => report.push(
            "stock flow off: set connectors.centra.warehouse to the Centra warehouse that mirrors the 3PL".into(),
        ),
        _ => report.push("stock flow off: needs connectors.centra and connectors.warehouse".into()),
    }
    match (&c.centra, &c.warehouse, &c.netsuite) {
        (Some(centra), Some(warehouse), Some(netsuite)) => {
            let flow = Arc::new(OrderFlow::new(
                CentraClient::new(centra, store.clone()),
                WarehouseClient::new(warehouse, store.clone()),
                NetSuiteClient::new(netsuite, store.clone()),
                c.adyen.as_ref().map(|a| AdyenClient::new(a, store.clone())),
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
            "order flow off: needs connectors.centra, connectors.warehouse and connectors.netsuite"
                .into(),
        ),
    }
    Wiring {
        handlers,
        tasks,
        report,
    }
}
