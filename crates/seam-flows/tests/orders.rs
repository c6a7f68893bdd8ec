//! Order to cash end to end: the five simulators over HTTP, a hub (runner
//! and scheduler, every flow wired as `seam run` wires it) on SQLite,
//! stories S03, S04, S06 and S14.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use seam_engine::scheduler::Scheduler;
use seam_engine::store::SqliteStore;
use seam_engine::{
    ExceptionFilter, ExceptionStatus, ResubmitMode, Runner, RunnerConfig, Store, SystemClock,
};
use seam_flows::mappings::{change_job, MappingChange};
use seam_flows::orders::{order_entity, OrderSettings};
use seam_flows::stock::StockSettings;
use seam_flows::wiring::{wire, FlowSettings};
use seam_model::mapping::ShippingService;
use seam_sandbox::centra::{AddressData, NewOrder, NewOrderLine};
use seam_sandbox::netsuite::{OrderEdit, RecordKey, RecordType};
use seam_sandbox::sandbox::{Sandbox, SandboxOptions};
use seam_sandbox::warehouse::{DispatchLineRequest, DispatchRequest};
use tokio_util::sync::CancellationToken;

struct Hub {
    sandbox: Sandbox,
    store: Arc<dyn Store>,
    stop: CancellationToken,
    /// Order numbers placed, for a failure's story.
    placed: std::sync::Mutex<Vec<i32>>,
    _dir: tempfile::TempDir,
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Hub {
    async fn start() -> Hub {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let sandbox = Sandbox::start(SandboxOptions {
            seed: 5,
            base_port: 0,
            styles: 10,
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let text = sandbox.hub_config(&dir.path().display().to_string(), "127.0.0.1:0");
        let config = seam_config::parse(&text, Path::new("sandbox.toml"), &|_| None).unwrap();
        let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("hub.db").display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        let wiring = wire(
            &config,
            None,
            FlowSettings {
                stock: StockSettings {
                    poll_every: Duration::from_millis(200),
                    push_every: Duration::from_millis(200),
                    readback_every: Duration::from_secs(3600),
                    ..Default::default()
                },
                orders: OrderSettings {
                    events_every: Duration::from_millis(200),
                    updated_every: Duration::from_secs(5),
                    erp_every: Duration::from_millis(300),
                    ..Default::default()
                },
            },
        );
        let stop = CancellationToken::new();
        let runner = Runner::new(
            store.clone(),
            wiring.handlers,
            Arc::new(SystemClock),
            RunnerConfig {
                idle_poll: Duration::from_millis(20),
                ..Default::default()
            },
        );
        let scheduler = Scheduler::new(store.clone(), Arc::new(SystemClock), wiring.tasks);
        // The webhook ingress, as `seam run` serves it, for Adyen's notifications.
        let ingress = seam_server::ingress::Ingress {
            store: store.clone(),
            clock: Arc::new(SystemClock),
            secrets: seam_server::ingress::IngressSecrets {
                adyen_hmac_hex: config
                    .connectors
                    .adyen
                    .as_ref()
                    .and_then(|a| a.hmac_key.as_ref())
                    .map(|k| k.expose().to_string()),
                ..Default::default()
            },
            wake: Some(runner.waker()),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        sandbox.connect_webhooks(&format!("http://{}", listener.local_addr().unwrap()));
        let s3 = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, seam_server::ingress::routes(ingress))
                .with_graceful_shutdown(async move { s3.cancelled().await })
                .await
        });
        let (s1, s2) = (stop.clone(), stop.clone());
        tokio::spawn(async move { runner.run(s1).await });
        tokio::spawn(async move { scheduler.run_every(s2, Duration::from_millis(100)).await });
        Hub {
            sandbox,
            store,
            stop,
            placed: Default::default(),
            _dir: dir,
        }
    }

    /// A checkout: authorised in Adyen, placed in Centra. Returns the order number.
    fn place(&self, lines: &[(&str, i32, Decimal)], method: &str) -> i32 {
        let items: Decimal = lines.iter().map(|(_, q, p)| p * Decimal::from(*q)).sum();
        let shipping = Decimal::new(495, 2);
        let payment = self
            .sandbox
            .adyen
            .create_payment(seam_sandbox::adyen::NewPayment {
                merchant_reference: format!("checkout-{}", lines[0].0),
                amount: seam_sandbox::adyen::Amount {
                    currency: "EUR".into(),
                    value: rust_decimal::prelude::ToPrimitive::to_i64(
                        &((items + shipping) * Decimal::from(100)),
                    )
                    .unwrap(),
                },
                preauth: true,
                multiple_partial_captures: true,
                payment_method: None,
            })
            .unwrap();
        let created = self
            .sandbox
            .centra
            .create_order(NewOrder {
                lines: lines
                    .iter()
                    .map(|(sku, quantity, price)| NewOrderLine {
                        sku: sku.to_string(),
                        quantity: *quantity,
                        unit_price: *price,
                        tax_percent: Decimal::from(25),
                        ..Default::default()
                    })
                    .collect(),
                currency: "EUR".into(),
                shipping_method: method.into(),
                shipping_price: shipping,
                shipping_tax_percent: Decimal::from(25),
                shipping_address: AddressData {
                    first_name: "Alex".into(),
                    last_name: "Customer".into(),
                    address1: "1 High Street".into(),
                    city: "Glasgow".into(),
                    zip_code: "G1 1AA".into(),
                    country_code: "GB".into(),
                    email: Some("alex@example.com".into()),
                    ..Default::default()
                },
                customer_email: "alex@example.com".into(),
                payment_method: Some("adyen-drop-in".into()),
                psp_reference: payment.psp_reference,
                ..Default::default()
            })
            .unwrap();
        self.placed.lock().unwrap().push(created.number);
        created.number
    }

    /// SKUs in stock in Centra, new (not refurbished) goods.
    fn new_skus(&self, n: usize) -> Vec<String> {
        self.sandbox
            .brand
            .skus
            .iter()
            .filter(|s| !s.refurbished)
            .filter(|s| {
                self.sandbox
                    .centra
                    .stock_of(&s.sku)
                    .is_some_and(|v| v.free_to_allocate >= 3)
            })
            .take(n)
            .map(|s| s.sku.clone())
            .collect()
    }

    async fn until(&self, what: &str, mut done: impl FnMut(&Hub) -> bool) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if done(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let seen = self.every_exception().await;
        let counts = self.store.job_counts().await.unwrap();
        let mut stories = String::new();
        let placed = self.placed.lock().unwrap().clone();
        for number in placed {
            let entity = order_entity(i64::from(number));
            for entry in self.store.timeline(&entity).await.unwrap_or_default() {
                stories.push_str(&format!(
                    "\n  {} {} {} {}: {}",
                    entry.entity_key, entry.at, entry.system, entry.step, entry.detail
                ));
            }
        }
        panic!("timed out waiting for: {what}; jobs {counts:?}; exceptions: {seen:#?}; timelines:{stories}");
    }

    /// Every exception, for a failure message.
    async fn every_exception(&self) -> Vec<String> {
        self.store
            .exceptions(&ExceptionFilter::default())
            .await
            .unwrap()
            .iter()
            .map(|e| format!("{} {}: {}", e.exception_type, e.spec.entity_key, e.message))
            .collect()
    }

    async fn open_exceptions(&self, exception_type: &str) -> Vec<seam_engine::ExceptionRecord> {
        self.store
            .exceptions(&ExceptionFilter {
                exception_type: Some(exception_type.into()),
                status: Some(ExceptionStatus::Open),
                ..Default::default()
            })
            .await
            .unwrap()
    }

    async fn until_exception(&self, exception_type: &str) -> seam_engine::ExceptionRecord {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Some(found) = self.open_exceptions(exception_type).await.pop() {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let seen = self.every_exception().await;
        panic!("no {exception_type} exception was raised; exceptions: {seen:#?}");
    }

    /// Waits until no `exception_type` exception is open (its resubmit succeeded).
    async fn until_no_open_exception(&self, exception_type: &str) {
        let started = Instant::now();
        while !self.open_exceptions(exception_type).await.is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "a {exception_type} exception stays open after its resubmit succeeded"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resubmits an exception with today's configuration and data.
    async fn rerun(&self, id: seam_engine::ExceptionId, actor: &str, comment: &str) {
        self.store
            .resubmit_exception(id, &ResubmitMode::Rerun, actor, comment, 0)
            .await
            .unwrap();
    }

    fn in_warehouse(&self, number: i32) -> bool {
        self.sandbox.warehouse.order(&number.to_string()).is_some()
    }

    fn erp_order(&self, number: i32) -> Option<seam_sandbox::netsuite::Record> {
        let id = self.sandbox.centra.order(number)?.id;
        self.sandbox
            .netsuite
            .record(
                RecordType::SalesOrder,
                &RecordKey::External(format!("centra-{id}")),
            )
            .map(|(record, _)| record)
    }

    async fn timeline_has(&self, number: i32, step: &str) -> bool {
        self.store
            .timeline(&order_entity(number as i64))
            .await
            .unwrap()
            .iter()
            .any(|t| t.step == step)
    }
}

fn eur(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s03_unmapped_shipping_method_waits_then_posts_exactly_once() {
    let hub = Hub::start().await;
    let sku = hub.new_skus(1).remove(0);
    let number = hub.place(&[(&sku, 1, eur(4995))], "Express Saturday");

    let exception = hub.until_exception("unmapped_shipping_method").await;
    assert_eq!(exception.owner, seam_model::OwnerTeam::Ops);
    assert!(
        exception.message.contains("Express Saturday"),
        "{}",
        exception.message
    );
    assert!(
        exception.message.contains(&number.to_string()),
        "{}",
        exception.message
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !hub.in_warehouse(number),
        "not sent half-right: nothing in the warehouse"
    );
    assert!(hub.erp_order(number).is_none(), "nothing in NetSuite");

    // Ops adds the mapping, then resubmits.
    let change = MappingChange::ShippingMethod {
        method: "Express Saturday".into(),
        service: Some(ShippingService {
            service: "ND".into(),
            agent: Some("DPD".into()),
        }),
    };
    hub.store
        .enqueue(&[change_job(&change, "ops@brand")], 0)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    hub.rerun(exception.id, "ops@brand", "mapping added").await;
    hub.until("the order reaches the warehouse and NetSuite", |h| {
        h.in_warehouse(number) && h.erp_order(number).is_some()
    })
    .await;
    // A second resubmit or a replayed event changes nothing.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let view = hub.sandbox.warehouse.order(&number.to_string()).unwrap();
    assert_eq!(view.version, 1, "posted exactly once");
    assert_eq!(view.delivery_service, "ND");
    let erp_orders = hub
        .sandbox
        .netsuite
        .records(RecordType::SalesOrder)
        .into_iter()
        .filter(|r| {
            r.fields.get("otherRefNum").and_then(|v| v.as_str()) == Some(&number.to_string())
        })
        .count();
    assert_eq!(erp_orders, 1, "one sales order in NetSuite");
    assert!(hub
        .open_exceptions("unmapped_shipping_method")
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s04_refurbished_sku_without_grade_waits_for_the_product_master() {
    let hub = Hub::start().await;
    let ungraded = hub
        .sandbox
        .brand
        .skus
        .iter()
        .find(|s| {
            s.refurbished
                && !s.graded
                && hub
                    .sandbox
                    .centra
                    .stock_of(&s.sku)
                    .is_some_and(|v| v.free_to_allocate > 0)
        })
        .expect("the brand has an ungraded refurbished SKU in stock")
        .sku
        .clone();
    let graded = hub
        .sandbox
        .brand
        .skus
        .iter()
        .find(|s| {
            s.refurbished
                && s.graded
                && hub
                    .sandbox
                    .centra
                    .stock_of(&s.sku)
                    .is_some_and(|v| v.free_to_allocate > 0)
        })
        .unwrap()
        .sku
        .clone();
    // A graded refurbished SKU is enriched from the product master and posted.
    let fine = hub.place(&[(&graded, 1, eur(2995))], "Standard");
    hub.until("the graded order is posted", |h| h.in_warehouse(fine))
        .await;
    let view = hub.sandbox.warehouse.order(&fine.to_string()).unwrap();
    assert_eq!(view.order_items.len(), 1);

    let number = hub.place(&[(&ungraded, 1, eur(2995))], "Standard");
    let exception = hub.until_exception("product_incomplete").await;
    assert_eq!(exception.owner, seam_model::OwnerTeam::Merchandising);
    assert!(
        exception.message.contains(&ungraded),
        "{}",
        exception.message
    );
    assert!(
        exception.fix_hint.contains("grade"),
        "{}",
        exception.fix_hint
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!hub.in_warehouse(number));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s06_three_lines_ship_two_now_one_later() {
    let hub = Hub::start().await;
    let skus = hub.new_skus(3);
    let number = hub.place(
        &[
            (&skus[0], 1, eur(4995)),
            (&skus[1], 1, eur(2995)),
            (&skus[2], 1, eur(1995)),
        ],
        "Standard",
    );
    hub.until("posted to the warehouse", |h| h.in_warehouse(number))
        .await;
    hub.until("posted to NetSuite", |h| h.erp_order(number).is_some())
        .await;
    let view = hub.sandbox.warehouse.order(&number.to_string()).unwrap();
    let line = |sku: &str| {
        view.order_items
            .iter()
            .find(|l| l.garment_sku == sku)
            .unwrap()
            .line_item_id
            .clone()
    };
    hub.sandbox
        .warehouse
        .dispatch(
            &number.to_string(),
            &DispatchRequest {
                lines: Some(vec![
                    DispatchLineRequest {
                        line_item_id: line(&skus[0]),
                        quantity: 1,
                    },
                    DispatchLineRequest {
                        line_item_id: line(&skus[1]),
                        quantity: 1,
                    },
                ]),
                ..Default::default()
            },
        )
        .unwrap();
    hub.until("the first shipment in Centra", |h| {
        h.sandbox
            .centra
            .order(number)
            .is_some_and(|o| o.shipments.len() == 1 && o.shipments[0].is_shipped)
    })
    .await;
    let order = hub.sandbox.centra.order(number).unwrap();
    let first = &order.shipments[0];
    assert_eq!(first.lines.len(), 2);
    assert!(first.tracking_number.is_some());
    assert!(first.is_captured);
    // Shipped value: the two lines and shipping, once.
    assert_eq!(first.captured_value, Some(eur(4995 + 2995 + 495)));
    assert_ne!(
        format!("{:?}", order.status),
        "Shipped",
        "the order stays open while a line is unshipped"
    );

    hub.sandbox
        .warehouse
        .dispatch(&number.to_string(), &DispatchRequest::default())
        .unwrap();
    hub.until("the second shipment in Centra", |h| {
        h.sandbox
            .centra
            .order(number)
            .is_some_and(|o| o.shipments.len() == 2 && o.shipments.iter().all(|s| s.is_shipped))
    })
    .await;
    let order = hub.sandbox.centra.order(number).unwrap();
    let second = &order.shipments[1];
    assert_eq!(second.lines.len(), 1);
    assert_eq!(
        second.captured_value,
        Some(eur(1995)),
        "shipping is charged once"
    );
    let captured: Decimal = order
        .shipments
        .iter()
        .filter_map(|s| s.captured_value)
        .sum();
    assert_eq!(captured, eur(4995 + 2995 + 1995 + 495));
    // NetSuite has an item fulfilment per dispatch.
    hub.until("two item fulfilments in NetSuite", |h| {
        let id = h.erp_order(number).map(|r| r.id);
        h.sandbox
            .netsuite
            .records(RecordType::ItemFulfillment)
            .iter()
            .filter(|f| {
                f.created_from
                    .map(|(_, from)| Some(from) == id)
                    .unwrap_or(false)
            })
            .count()
            == 2
    })
    .await;
    assert!(hub.timeline_has(number, "shipped").await);
    assert_eq!(format!("{:?}", order.status), "Shipped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s06_a_capture_that_fails_inside_create_shipment_is_retried() {
    let hub = Hub::start().await;
    let skus = hub.new_skus(1);
    let number = hub.place(&[(&skus[0], 1, eur(4995))], "Standard");
    hub.until("posted", |h| h.in_warehouse(number)).await;
    hub.sandbox.centra.fail_next_captures(1);
    hub.sandbox
        .warehouse
        .dispatch(&number.to_string(), &DispatchRequest::default())
        .unwrap();
    hub.until("the shipment is captured after all", |h| {
        h.sandbox
            .centra
            .order(number)
            .is_some_and(|o| o.shipments.len() == 1 && o.shipments[0].is_captured)
    })
    .await;
    let started = Instant::now();
    while !hub.timeline_has(number, "capture_failed").await {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the failed capture is on the timeline"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s14_quantity_change_and_added_line_in_the_erp_reach_centra_and_the_psp() {
    let hub = Hub::start().await;
    let skus = hub.new_skus(2);
    let number = hub.place(&[(&skus[0], 1, eur(4995))], "Standard");
    hub.until("posted to NetSuite", |h| h.erp_order(number).is_some())
        .await;
    let so = hub.erp_order(number).unwrap();
    let first_line = so.lines[0].line;
    hub.sandbox
        .netsuite
        .edit_order(
            &RecordKey::Id(so.id),
            &[
                OrderEdit::SetQuantity {
                    line: first_line,
                    quantity: Decimal::from(2),
                },
                OrderEdit::AddLine {
                    sku: skus[1].clone(),
                    quantity: Decimal::ONE,
                    rate: Some(eur(2995)),
                    tax_rate: Some(Decimal::from(25)),
                },
            ],
        )
        .unwrap();
    hub.until("Centra has the edit", |h| {
        h.sandbox.centra.order(number).is_some_and(|o| {
            let units = |sku: &str| -> i32 {
                o.lines
                    .iter()
                    .filter(|l| l.sku == sku)
                    .map(|l| l.quantity)
                    .sum()
            };
            units(&skus[0]) == 2 && units(&skus[1]) == 1
        })
    })
    .await;
    let psp = hub.sandbox.centra.order(number).unwrap().psp_reference;
    hub.until("the authorisation is the new total", |h| {
        h.sandbox
            .adyen
            .payment(&psp)
            .is_some_and(|p| p.open_authorisation() == 4995 * 2 + 2995 + 495)
    })
    .await;
    hub.until("the warehouse has the edited order", |h| {
        h.sandbox
            .warehouse
            .order(&number.to_string())
            .is_some_and(|v| v.order_items.iter().map(|l| l.item_quantity).sum::<u64>() == 3)
    })
    .await;
    // Applied once: later polls of the same NetSuite order change nothing.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let units: i32 = hub
        .sandbox
        .centra
        .order(number)
        .unwrap()
        .lines
        .iter()
        .map(|l| l.quantity)
        .sum();
    assert_eq!(units, 3, "the edit was applied more than once");
    let edits = hub
        .store
        .timeline(&order_entity(i64::from(number)))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.step == "edited")
        .count();
    assert_eq!(edits, 1);
}

/// Adyen answers an amount update asynchronously; a refusal arrives as an
/// AUTHORISATION_ADJUSTMENT notification with success false.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s14_an_adjustment_the_psp_refuses_is_an_exception_for_cx_and_a_resubmit_retries_it() {
    let hub = Hub::start().await;
    let skus = hub.new_skus(1);
    let number = hub.place(&[(&skus[0], 1, eur(4995))], "Standard");
    hub.until("posted to NetSuite", |h| h.erp_order(number).is_some())
        .await;
    hub.sandbox
        .adyen
        .set_failures(seam_sandbox::adyen::FailureToggles {
            refuse_amount_updates: 1,
            ..Default::default()
        });
    let so = hub.erp_order(number).unwrap();
    hub.sandbox
        .netsuite
        .edit_order(
            &RecordKey::Id(so.id),
            &[OrderEdit::SetQuantity {
                line: so.lines[0].line,
                quantity: Decimal::from(2),
            }],
        )
        .unwrap();
    let refused = hub
        .until_exception("authorisation_adjustment_refused")
        .await;
    assert_eq!(refused.owner, seam_model::OwnerTeam::Cx);
    assert_eq!(refused.spec.entity_key, order_entity(i64::from(number)));
    assert!(
        refused.message.contains(&number.to_string()) && refused.message.contains("Finance"),
        "{}",
        refused.message
    );
    let psp = hub.sandbox.centra.order(number).unwrap().psp_reference;
    let authorised = |h: &Hub| {
        h.sandbox
            .adyen
            .payment(&psp)
            .map(|p| p.open_authorisation())
            .unwrap_or_default()
    };
    assert_eq!(
        authorised(&hub),
        4995 + 495,
        "the refused adjustment changed nothing"
    );
    hub.rerun(refused.id, "cx@brand", "customer agreed").await;
    hub.until("the authorisation is the edited total", |h| {
        authorised(h) == 4995 * 2 + 495
    })
    .await;
    hub.until_no_open_exception("authorisation_adjustment_refused")
        .await;
}
