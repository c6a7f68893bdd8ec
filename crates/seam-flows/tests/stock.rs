//! The stock flow end to end: the 3PL and Centra simulators over HTTP, a
//! hub (runner and scheduler) on SQLite, stories S01, S02 and S12.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use seam_connectors::centra::{CentraClient, WarehouseInput};
use seam_connectors::roles::CentraStock;
use seam_connectors::warehouse::WarehouseClient;
use seam_engine::scheduler::Scheduler;
use seam_engine::store::SqliteStore;
use seam_engine::{ExceptionFilter, HandlerRegistry, Runner, RunnerConfig, Store, SystemClock};
use seam_flows::stock::{StockFlow, StockSettings};
use seam_sandbox::sandbox::{Sandbox, SandboxOptions};
use tokio_util::sync::CancellationToken;

struct Hub {
    centra: CentraClient,
    sandbox: Sandbox,
    store: Arc<dyn Store>,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Hub {
    /// Starts the sandbox, lets `prepare` set the 3PL's stock before the hub
    /// first looks, then starts the hub.
    async fn start(prepare: impl FnOnce(&Sandbox)) -> Hub {
        let sandbox = Sandbox::start(SandboxOptions {
            seed: 3,
            base_port: 0,
            styles: 3,
        })
        .await
        .unwrap();
        prepare(&sandbox);
        let dir = tempfile::tempdir().unwrap();
        let text = sandbox.hub_config(&dir.path().display().to_string(), "127.0.0.1:0");
        let config = seam_config::parse(&text, Path::new("sandbox.toml"), &|_| None).unwrap();
        let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("hub.db").display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        let centra = config.connectors.centra.as_ref().unwrap();
        let flow = Arc::new(StockFlow {
            feed: Arc::new(WarehouseClient::new(
                config.connectors.warehouse.as_ref().unwrap(),
                None,
            )),
            storefront: Arc::new(CentraStock::new(
                CentraClient::new(centra, None),
                WarehouseInput {
                    id: None,
                    name: centra.warehouse.clone(),
                },
            )),
            mappings: Arc::new(config.mappings.clone()),
            settings: StockSettings {
                poll_every: Duration::from_millis(200),
                push_every: Duration::from_millis(200),
                readback_every: Duration::from_millis(300),
                ..Default::default()
            },
        });
        let mut handlers = HandlerRegistry::new();
        flow.register(&mut handlers);
        let stop = CancellationToken::new();
        let runner = Runner::new(
            store.clone(),
            handlers,
            Arc::new(SystemClock),
            RunnerConfig {
                idle_poll: Duration::from_millis(20),
                ..Default::default()
            },
        );
        let scheduler =
            Scheduler::new(store.clone(), Arc::new(SystemClock), flow.scheduled_tasks());
        let (s1, s2) = (stop.clone(), stop.clone());
        tokio::spawn(async move { runner.run(s1).await });
        tokio::spawn(async move { scheduler.run_every(s2, Duration::from_millis(100)).await });
        let centra = CentraClient::new(config.connectors.centra.as_ref().unwrap(), None);
        Hub {
            centra,
            sandbox,
            store,
            stop,
            _dir: dir,
        }
    }

    fn centra_physical(&self, sku: &str) -> i64 {
        self.sandbox
            .centra
            .stock_of(sku)
            .map(|s| s.physical)
            .unwrap_or(-1)
    }

    fn centra_fta(&self, sku: &str) -> i64 {
        self.sandbox
            .centra
            .stock_of(sku)
            .map(|s| s.free_to_allocate)
            .unwrap_or(-1)
    }

    async fn until(&self, what: &str, mut done: impl FnMut(&Hub) -> bool) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if done(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for: {what}");
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s01_only_sellable_statuses_reach_centra_and_unknown_ones_raise_one_exception() {
    let sku = "P1000V1M";
    let other = "P1001V1S";
    let hub = Hub::start(|sandbox| {
        let w = &sandbox.warehouse;
        for (status, units) in [
            ("Available", 5),
            ("In-Refurbishment", 3),
            ("Post-Rental Inspection", 2),
            ("Quarantine", 1),
        ] {
            w.set_stock(sku, status, units).unwrap();
        }
        // A status no mapping names, on two SKUs.
        w.set_stock(sku, "Awaiting Photos", 2).unwrap();
        w.set_stock(other, "Awaiting Photos", 1).unwrap();
    })
    .await;
    hub.until("Centra shows 5 for the SKU", |h| {
        h.centra_physical(sku) == 5
    })
    .await;
    let exceptions = hub
        .store
        .exceptions(&ExceptionFilter {
            exception_type: Some("unmapped_stock_status".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        exceptions.len(),
        1,
        "one exception per unknown status, not per SKU"
    );
    assert_eq!(exceptions[0].owner, seam_model::OwnerTeam::Ops);
    assert!(exceptions[0].message.contains("Awaiting Photos"));
    // A movement out of a sellable status is pushed in near real time.
    hub.sandbox
        .warehouse
        .move_stock(sku, "Available", "Quarantine", 2)
        .unwrap();
    hub.until("Centra follows the movement", |h| {
        h.centra_physical(sku) == 3
    })
    .await;
    let timeline = hub.store.timeline(&format!("sku:{sku}")).await.unwrap();
    let steps: Vec<_> = timeline.iter().map(|t| t.step.as_str()).collect();
    assert!(
        steps.contains(&"snapshot") && steps.contains(&"movement") && steps.contains(&"stock set"),
        "{steps:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s12_returned_units_are_pending_inspection_until_graded_sellable() {
    let sku = "P1002V2L";
    let hub = Hub::start(|sandbox| {
        sandbox.warehouse.set_stock(sku, "Available", 4).unwrap();
    })
    .await;
    hub.until("Centra shows 4", |h| h.centra_physical(sku) == 4)
        .await;
    let request = seam_sandbox::warehouse::ReturnRequest {
        order_number: None,
        rma: Some("RMA-1".into()),
        lines: vec![seam_sandbox::warehouse::ReturnLineRequest {
            line_item_id: None,
            sku: Some(sku.into()),
            quantity: 1,
            grade: seam_sandbox::warehouse::Grade::A,
            disposition: seam_sandbox::warehouse::Disposition::Restock,
            notes: None,
        }],
    };
    let received = hub.sandbox.warehouse.receive_return(&request).unwrap();
    // The unit is back in the building but pending inspection: not sellable.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        hub.centra_physical(sku),
        4,
        "pending inspection is not sellable"
    );
    hub.sandbox
        .warehouse
        .grade_return(&received.return_id)
        .unwrap();
    hub.until("the graded unit becomes sellable", |h| {
        h.centra_physical(sku) == 5
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s02_a_sale_and_a_movement_crossing_never_oversell() {
    let sku = "P1000V2S";
    let hub = Hub::start(|sandbox| {
        sandbox.warehouse.set_stock(sku, "Available", 3).unwrap();
    })
    .await;
    hub.until("Centra shows 3", |h| h.centra_physical(sku) == 3)
        .await;
    // A customer buys one in Centra while the 3PL quarantines one.
    let order = seam_sandbox::centra::NewOrder {
        lines: vec![seam_sandbox::centra::NewOrderLine {
            sku: sku.into(),
            quantity: 1,
            unit_price: rust_decimal::Decimal::new(4995, 2),
            tax_percent: rust_decimal::Decimal::from(25),
            ..Default::default()
        }],
        currency: "EUR".into(),
        shipping_method: "Standard".into(),
        customer_email: "a@example.com".into(),
        psp_reference: "PSP1".into(),
        ..Default::default()
    };
    hub.sandbox.centra.create_order(order).unwrap();
    hub.sandbox
        .warehouse
        .move_stock(sku, "Available", "Quarantine", 1)
        .unwrap();
    let started = Instant::now();
    let mut max_fta = 0;
    while started.elapsed() < Duration::from_secs(3) {
        max_fta = max_fta.max(hub.centra_fta(sku));
        if hub.centra_physical(sku) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Truth: 2 sellable at the 3PL, 1 of them sold in Centra and not yet at the 3PL.
    hub.until("Centra converges", |h| h.centra_physical(sku) == 2)
        .await;
    assert_eq!(hub.centra_fta(sku), 1, "what can still be promised");
    assert!(
        max_fta <= 2,
        "never more than was sellable before the movement landed: {max_fta}"
    );
    assert_eq!(hub.centra_fta(sku), 2 - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sku_centra_refuses_is_raised_and_holds_back_no_other() {
    let sku = "P1001V2M";
    let hub = Hub::start(|sandbox| {
        sandbox
            .warehouse
            .add_catalogue_items(vec![seam_sandbox::warehouse::CatalogueItem {
                sku: "GHOST-1".into(),
                description: "only at the warehouse".into(),
                refurbished: false,
            }]);
        sandbox
            .warehouse
            .set_stock("GHOST-1", "Available", 4)
            .unwrap();
        sandbox.warehouse.set_stock(sku, "Available", 7).unwrap();
    })
    .await;
    hub.until("the other SKUs are pushed", |h| h.centra_physical(sku) == 7)
        .await;
    let mut refused = Vec::new();
    for _ in 0..100 {
        refused = hub
            .store
            .exceptions(&ExceptionFilter {
                exception_type: Some("stock_refused_by_storefront".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        if !refused.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].spec.entity_key, "sku:GHOST-1");
    assert_eq!(refused[0].owner, seam_model::OwnerTeam::Merchandising);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_that_no_order_explains_is_found_on_read_back_and_corrected() {
    let sku = "P1002V1XS";
    let hub = Hub::start(|sandbox| {
        sandbox.warehouse.set_stock(sku, "Available", 6).unwrap();
    })
    .await;
    hub.until("Centra shows 6", |h| h.centra_physical(sku) == 6)
        .await;
    // Someone else writes stock into the same Centra warehouse.
    hub.centra
        .set_stock(
            &WarehouseInput {
                id: None,
                name: Some(seam_sandbox::brand::WAREHOUSE_NAME.into()),
            },
            seam_connectors::centra::StockQuantityType::Physical,
            "a manual edit",
            &[(seam_connectors::centra::ProductSizeInput::sku(sku), 25)],
        )
        .await
        .unwrap();
    assert_eq!(hub.centra_physical(sku), 25);
    hub.until("the read-back corrects it", |h| h.centra_physical(sku) == 6)
        .await;
    let timeline = hub.store.timeline(&format!("sku:{sku}")).await.unwrap();
    assert!(
        timeline
            .iter()
            .any(|t| t.step == "drift found" && t.detail.contains("25")),
        "{timeline:?}"
    );
}
