//! The hub the end-to-end tests run against: the five simulators over
//! HTTP, a hub (runner, scheduler and webhook ingress, every flow wired as
//! `seam run` wires it) on SQLite, and helpers to drive and watch it.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use seam_engine::scheduler::Scheduler;
use seam_engine::store::SqliteStore;
use seam_engine::{
    ExceptionFilter, ExceptionStatus, ResubmitMode, Runner, RunnerConfig, Store, SystemClock,
};
use seam_flows::orders::{order_entity, OrderSettings};
use seam_flows::stock::StockSettings;
use seam_flows::wiring::{wire, FlowSettings};
use seam_sandbox::centra::{AddressData, NewOrder, NewOrderLine};
use seam_sandbox::netsuite::{RecordKey, RecordType};
use seam_sandbox::sandbox::{Sandbox, SandboxOptions};
use seam_sandbox::warehouse::DispatchRequest;
use tokio_util::sync::CancellationToken;

pub struct Hub {
    pub sandbox: Sandbox,
    pub store: Arc<dyn Store>,
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
    pub async fn start() -> Hub {
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
        let mut config = seam_config::parse(&text, Path::new("sandbox.toml"), &|_| None).unwrap();
        // Reveni's safety-net poll within a test's patience.
        config.returns.reveni_poll_every = Duration::from_millis(500);
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
                // Retries in seconds, not minutes, so a failure that lasts
                // ends as an exception within a test's patience.
                backoff: seam_engine::backoff::BackoffPolicy {
                    base: Duration::from_millis(100),
                    cap: Duration::from_secs(2),
                    max_attempts: 8,
                },
                ..Default::default()
            },
        );
        let scheduler = Scheduler::new(store.clone(), Arc::new(SystemClock), wiring.tasks);
        // The webhook ingress, as `seam run` serves it, for Adyen's and Reveni's webhooks.
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
                reveni: Some((
                    seam_connectors::reveni::DEFAULT_SECRET_HEADER.to_string(),
                    seam_sandbox::reveni::ReveniConfig::default().secret_header_value,
                )),
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
    pub fn place(&self, lines: &[(&str, i32, Decimal)], method: &str) -> i32 {
        let lines = lines
            .iter()
            .map(|(sku, quantity, price)| NewOrderLine {
                sku: sku.to_string(),
                quantity: *quantity,
                unit_price: *price,
                tax_percent: Decimal::from(25),
                ..Default::default()
            })
            .collect();
        self.checkout(lines, method)
    }

    /// A checkout of the brand's bundle made of `components`, sold at
    /// `price` against its list price `full`.
    pub fn place_bundle(&self, components: &[String], price: Decimal, full: Decimal) -> i32 {
        let line = NewOrderLine {
            sku: self.sandbox.brand.bundle_sku.clone(),
            quantity: 1,
            unit_price: price,
            unit_original_price: Some(full),
            tax_percent: Decimal::from(25),
            bundle_items: components.to_vec(),
            ..Default::default()
        };
        self.checkout(vec![line], "Standard")
    }

    fn checkout(&self, lines: Vec<NewOrderLine>, method: &str) -> i32 {
        let items: Decimal = lines
            .iter()
            .map(|l| l.unit_price * Decimal::from(l.quantity))
            .sum();
        let shipping = Decimal::new(495, 2);
        let payment = self
            .sandbox
            .adyen
            .create_payment(seam_sandbox::adyen::NewPayment {
                merchant_reference: format!("checkout-{}", lines[0].sku),
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
                lines,
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
    pub fn new_skus(&self, n: usize) -> Vec<String> {
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

    pub async fn until(&self, what: &str, mut done: impl FnMut(&Hub) -> bool) {
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
    pub async fn every_exception(&self) -> Vec<String> {
        self.store
            .exceptions(&ExceptionFilter::default())
            .await
            .unwrap()
            .iter()
            .map(|e| format!("{} {}: {}", e.exception_type, e.spec.entity_key, e.message))
            .collect()
    }

    pub async fn open_exceptions(&self, exception_type: &str) -> Vec<seam_engine::ExceptionRecord> {
        self.store
            .exceptions(&ExceptionFilter {
                exception_type: Some(exception_type.into()),
                status: Some(ExceptionStatus::Open),
                ..Default::default()
            })
            .await
            .unwrap()
    }

    pub async fn until_exception(&self, exception_type: &str) -> seam_engine::ExceptionRecord {
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
    pub async fn until_no_open_exception(&self, exception_type: &str) {
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
    pub async fn rerun(&self, id: seam_engine::ExceptionId, actor: &str, comment: &str) {
        self.store
            .resubmit_exception(id, &ResubmitMode::Rerun, actor, comment, 0)
            .await
            .unwrap();
    }

    /// Waits for the order to be posted, ships all of it, and waits until
    /// Centra shows it shipped and NetSuite fulfilled.
    pub async fn ship_all(&self, number: i32) {
        self.until("posted to the warehouse", |h| h.in_warehouse(number))
            .await;
        self.until("posted to NetSuite", |h| h.erp_order(number).is_some())
            .await;
        self.sandbox
            .warehouse
            .dispatch(&number.to_string(), &DispatchRequest::default())
            .unwrap();
        self.until("shipped in Centra and fulfilled in NetSuite", |h| {
            let shipped = h.sandbox.centra.order(number).is_some_and(|o| {
                !o.shipments.is_empty() && o.shipments.iter().all(|s| s.is_shipped)
            });
            let fulfilled = h
                .erp_order(number)
                .is_some_and(|so| so.lines.iter().all(|l| l.quantity_fulfilled >= l.quantity));
            shipped && fulfilled
        })
        .await;
    }

    pub fn in_warehouse(&self, number: i32) -> bool {
        self.sandbox.warehouse.order(&number.to_string()).is_some()
    }

    pub fn erp_order(&self, number: i32) -> Option<seam_sandbox::netsuite::Record> {
        let id = self.sandbox.centra.order(number)?.id;
        self.sandbox
            .netsuite
            .record(
                RecordType::SalesOrder,
                &RecordKey::External(format!("centra-{id}")),
            )
            .map(|(record, _)| record)
    }

    pub async fn timeline_has(&self, number: i32, step: &str) -> bool {
        self.store
            .timeline(&order_entity(number as i64))
            .await
            .unwrap()
            .iter()
            .any(|t| t.step == step)
    }
}

pub fn eur(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}
