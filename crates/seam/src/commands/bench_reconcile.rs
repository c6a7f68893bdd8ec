//! `seam bench reconcile`: orders compared per second from local state, and
//! peak memory. A fresh SQLite store is seeded with synthetic orders (three
//! lines, shipped and captured; every tenth with a refunded return), then
//! one real reconciliation pass (`seam_flows::reconcile::reconcile_orders`:
//! keyset pages from the store, in-flight check, returns lookup,
//! observation, comparison, variances and exceptions recorded) runs over
//! them. The observations come from local state, as agreeing systems would
//! report them, with a rounding cent planted in the ERP total of every
//! `--variance-every`th order, so the variance path is measured too.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rust_decimal::Decimal;
use seam_engine::store::{Completion, CompletionResult, SqliteStore};
use seam_engine::{Commit, Failure, JobSpec, NewJob, StateWrite, Store};
use seam_flows::orders::canonical::{CanonicalLine, CanonicalOrder};
use seam_flows::orders::{DispatchRecord, OrderRecord, OrderStage};
use seam_flows::reconcile::{
    reconcile_orders, ErpLineFacts, ErpObservation, ErpOrderFacts, Observer, OrderObservations,
    PassOptions, Period, PspFacts, ReturnMoneyFacts, StorefrontFacts,
};
use seam_flows::returns::{OrderReturns, ReturnCase, ReturnSource, ReturnStage};
use seam_model::mapping::ShippingService;
use seam_model::order::LineAllocation;
use seam_model::returns::RefundPlan;
use seam_model::{Currency, Money};
use serde_json::json;

#[derive(Args)]
pub struct ReconcileArgs {
    /// Orders to seed and compare.
    #[arg(long, default_value_t = 200_000)]
    orders: u64,
    /// Orders read and compared per chunk.
    #[arg(long, default_value_t = 1_000)]
    chunk: u32,
    /// Plant a rounding-cent total mismatch in every n-th order.
    #[arg(long, default_value_t = 1_000)]
    variance_every: u64,
}

fn eur(cents: i64) -> Money {
    Money::new(Decimal::new(cents, 2), Currency::EUR)
}

fn order(n: u64) -> OrderRecord {
    let number = n as i64 + 1;
    let lines: Vec<CanonicalLine> = (0..3)
        .map(|i| {
            let line_id = number * 10 + i;
            CanonicalLine {
                line_id,
                sku: format!("SKU-{}", (n * 3 + i as u64) % 5_000),
                product_number: format!("P{}", n % 1_000),
                quantity: 1,
                tax_percent: Decimal::from(25),
                allocation: LineAllocation {
                    line_id: line_id.to_string(),
                    sku: format!("SKU-{}", (n * 3 + i as u64) % 5_000),
                    quantity: 1,
                    gross: eur(5000),
                    voucher: eur(500),
                    paid: eur(4500),
                    tax: eur(900),
                    net: eur(3600),
                    shipping: eur(100),
                },
                shipped: 1,
                cancelled: 0,
                bundle_line: None,
                erp_rate: None,
            }
        })
        .collect();
    let erp_lines = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (l.line_id, i as u32 + 1))
        .collect();
    OrderRecord {
        order: CanonicalOrder {
            centra_id: format!("c{number}"),
            number,
            currency: Currency::EUR,
            order_date: format!("2026-11-{:02}", n % 30 + 1),
            shipping_method: Some("Standard".into()),
            address: None,
            psp_reference: Some(format!("psp{number}")),
            lines,
            shipping: eur(300),
            shipping_tax: eur(60),
            grand_total: eur(13800),
        },
        stage: OrderStage::Shipped,
        service: ShippingService {
            service: "48".into(),
            agent: None,
        },
        erp_id: Some(number.to_string()),
        erp_lines,
        warehouse_version: Some(1),
        dispatches: vec![DispatchRecord {
            dispatch_id: format!("d{number}"),
            lines: vec![],
            carrier: "DPD".into(),
            service: "48".into(),
            tracking_number: format!("T{number}"),
            value: Decimal::new(13800, 2),
            includes_shipping: true,
        }],
        erp_seen: None,
        revision: 0,
        exchange_of: None,
    }
}

fn returned(n: u64) -> OrderReturns {
    OrderReturns {
        cases: vec![ReturnCase {
            id: format!("r{n}"),
            source: ReturnSource::Reveni,
            instant: false,
            stage: ReturnStage::Closed,
            lines: vec![],
            refused: vec![],
            reveni_status: Some("COMPLETED".into()),
            warehouse_return_id: None,
            received: vec![],
            accepted: vec![],
            refund: Some(RefundPlan {
                lines: vec![],
                total: eur(4500),
                tax: eur(900),
            }),
            authorisation: Some("ra".into()),
            authorisation_lines: vec![],
            credit_memo: Some("cm".into()),
            psp_refund: Some("ref".into()),
            centra_returns: vec![],
            centra_recorded: true,
            centra_refund: Some("cr".into()),
            exchanges: vec![],
        }],
    }
}

/// What agreeing systems would show for an order, derived from the hub's
/// own state; every `variance_every`-th order's ERP total is a cent off.
struct LocalObserver {
    variance_every: u64,
}

#[async_trait]
impl Observer for LocalObserver {
    async fn observe(
        &self,
        record: &OrderRecord,
        returns: Option<&OrderReturns>,
    ) -> Result<OrderObservations, Failure> {
        let order = &record.order;
        let tax: Decimal = order
            .lines
            .iter()
            .map(|l| l.allocation.tax.amount)
            .sum::<Decimal>();
        let total = order.current_total().amount;
        let planted = (order.number as u64) % self.variance_every.max(1) == 0;
        let cases = returns.map(|r| r.cases.as_slice()).unwrap_or_default();
        Ok(OrderObservations {
            storefront: Some(StorefrontFacts {
                grand_total: total,
                tax_total: tax + order.shipping_tax.amount,
                discounts: order
                    .lines
                    .iter()
                    .map(|l| l.allocation.voucher.amount)
                    .sum(),
            }),
            erp: ErpObservation::Found(ErpOrderFacts {
                modified_at: None,
                total: if planted {
                    total + Decimal::new(1, 2)
                } else {
                    total
                },
                tax_total: tax,
                lines: order
                    .lines
                    .iter()
                    .filter_map(|l| {
                        Some(ErpLineFacts {
                            line: record.erp_line(l.line_id)?,
                            quantity: Decimal::from(l.quantity - l.cancelled),
                            fulfilled: Decimal::from(l.shipped),
                        })
                    })
                    .collect(),
            }),
            psp: Some(PspFacts {
                authorised: order.grand_total.amount,
                captured: record.dispatches.iter().map(|d| d.value).sum(),
                refunded: cases
                    .iter()
                    .filter(|c| c.psp_refund.is_some())
                    .filter_map(|c| c.refund.as_ref().map(|p| p.total.amount))
                    .sum(),
            }),
            returns: cases
                .iter()
                .map(|c| ReturnMoneyFacts {
                    return_id: c.id.clone(),
                    credit_memo: c.refund.as_ref().map(|p| p.total.amount),
                    reveni_refunded: Some(Decimal::ZERO),
                })
                .collect(),
            in_flight: false,
            observed_at: 0,
        })
    }
}

/// Peak resident memory of this process so far (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Writes order (and return) states outside any flow: one seeding job per
/// batch, completed with the batch's state writes.
async fn seed(store: &Arc<dyn Store>, orders: u64, bar: &ProgressBar) -> anyhow::Result<()> {
    const BATCH: u64 = 2_000;
    let mut next = 0;
    while next < orders {
        let end = (next + BATCH).min(orders);
        let mut state = Vec::with_capacity((end - next) as usize);
        for n in next..end {
            let record = order(n);
            let entity = seam_flows::orders::order_entity(record.order.number);
            if n % 10 == 0 {
                state.push(StateWrite {
                    entity_key: entity.clone(),
                    flow: seam_flows::returns::FLOW.into(),
                    state: serde_json::to_value(returned(n))?,
                });
            }
            state.push(StateWrite {
                entity_key: entity,
                flow: seam_flows::orders::FLOW.into(),
                state: serde_json::to_value(&record)?,
            });
        }
        store
            .enqueue(
                &[NewJob {
                    spec: JobSpec::new("bench", "seed", "bench:seed"),
                    payload: json!({}),
                }],
                0,
            )
            .await?;
        let job = store
            .claim("bench-seed", 1, 60_000, 0)
            .await?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("the seeding job was not claimable"))?;
        store
            .complete(
                "bench-seed",
                vec![Completion {
                    job_id: job.id,
                    result: CompletionResult::Done(Commit {
                        state,
                        ..Default::default()
                    }),
                }],
                0,
            )
            .await?;
        next = end;
        bar.set_position(next);
    }
    Ok(())
}

pub async fn run(args: ReconcileArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await?);
    store.migrate().await?;
    let style = ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::new(args.orders);
    bar.set_style(style.clone());
    bar.set_message("orders seeded");
    let seeding = Instant::now();
    seed(&store, args.orders, &bar).await?;
    bar.finish_and_clear();
    eprintln!(
        "seeded {} orders in {:.1?} (peak memory so far {:.0} MB)",
        args.orders,
        seeding.elapsed(),
        peak_rss_mb()
    );
    let before = peak_rss_mb();

    let bar = ProgressBar::new(args.orders);
    bar.set_style(style);
    bar.set_message("orders compared");
    let observer = LocalObserver {
        variance_every: args.variance_every,
    };
    let period = Period::month("2026-11")?;
    let started = Instant::now();
    let progress = bar.clone();
    let summary = reconcile_orders(
        &*store,
        &observer,
        &period,
        PassOptions {
            chunk: args.chunk,
            concurrency: 64,
            raise_exceptions: true,
        },
        1,
        &mut move |s| progress.set_position(s.orders_scanned),
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let by_kind: HashMap<_, _> = summary.found.iter().collect();
    println!(
        "seam bench reconcile: {} orders from local state (SQLite), chunks of {}",
        args.orders, args.chunk
    );
    println!(
        "compared {} orders in {seconds:.2} s: {:.0} orders/s",
        summary.orders_compared,
        summary.orders_compared as f64 / seconds.max(1e-9)
    );
    println!(
        "variances found {} ({by_kind:?}), opened {}, exceptions raised {}",
        summary.variances_found(),
        summary.opened,
        summary.exceptions_raised
    );
    println!(
        "peak memory (VmHWM): {:.0} MB before the pass, {:.0} MB after",
        before,
        peak_rss_mb()
    );
    anyhow::ensure!(
        summary.orders_compared == args.orders,
        "only {} of {} orders were compared ({:?})",
        summary.orders_compared,
        args.orders,
        summary.unread_reasons
    );
    Ok(())
}
