//! `seam bench stock`: the stock flow under a warehouse pouring movements.
//!
//! The real path: the 3PL simulator emits movements over a Zipf-skewed set of
//! SKUs while checkouts keep allocating in the Centra simulator (Growth-tier
//! limits); an in-process hub (runner and scheduler on SQLite) polls the
//! feed over HTTP, applies every movement, coalesces per SKU and sets
//! Centra's stock through the governed GraphQL client. Staleness is measured
//! from the moment a movement is emitted to the first Centra write that
//! reflects it, from the Centra simulator's own log of writes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use seam_connectors::centra::{CentraClient, WarehouseInput};
use seam_connectors::roles::CentraStock;
use seam_connectors::warehouse::WarehouseClient;
use seam_engine::scheduler::Scheduler;
use seam_engine::store::SqliteStore;
use seam_engine::{HandlerRegistry, Runner, RunnerConfig, Store, SystemClock};
use seam_flows::stock::{StockFlow, StockSettings, FEED_STATE, PUSH_SET};
use seam_sandbox::brand::{Brand, WAREHOUSE_NAME};
use seam_sandbox::{centra, warehouse};
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct StockArgs {
    #[arg(long, default_value_t = 100_000)]
    skus: usize,
    /// Movements per second emitted by the warehouse.
    #[arg(long, default_value_t = 5_000)]
    rate: u32,
    #[arg(long, default_value = "60s", value_parser = |s: &str| humantime::parse_duration(s).map_err(|e| e.to_string()))]
    duration: Duration,
    /// Checkouts per second in Centra during the run.
    #[arg(long, default_value_t = 20)]
    orders: u32,
    /// Zipf exponent of the SKU popularity.
    #[arg(long, default_value_t = 1.0)]
    zipf: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Draws SKU ranks with probability proportional to 1 / rank^s.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|k| {
                total += 1.0 / ((k + 1) as f64).powf(s);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut impl Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let u = rng.gen::<f64>() * total;
        self.cumulative
            .partition_point(|c| *c < u)
            .min(self.cumulative.len() - 1)
    }
}

fn peak_rss_mb() -> Option<f64> {
    proc_status_mb("VmHWM:")
}

fn proc_status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub(crate) fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Units per SKU at the start. The snapshot file has a row per unit, so it
/// stays small. Nine movements in ten are goods-in (units arriving into
/// Available) on Zipf-drawn SKUs, which keeps their sellable count rising so
/// every Centra write can be matched to the movements it reflects; one in ten
/// takes a unit out of Available (into Quarantine) on a SKU drawn uniformly,
/// while checkouts buy the same SKUs: that is where overselling would show.
const START_UNITS: u64 = 2;

pub async fn run(args: StockArgs) -> anyhow::Result<()> {
    let setup = Instant::now();
    eprintln!("setting up {} SKUs ...", args.skus);
    let brand = Brand::generate(args.skus.div_ceil(10).max(1), args.seed);
    let skus: Vec<String> = brand.skus.iter().map(|s| s.sku.clone()).collect();
    let (centra_sim, centra_server) =
        centra::start(centra::CentraConfig::default(), args.seed, 0).await?;
    centra_sim
        .seed_catalogue(&brand.centra_seed())
        .map_err(anyhow::Error::msg)?;
    let (warehouse_sim, warehouse_server) =
        warehouse::start(warehouse::WarehouseConfig::default(), args.seed, 0).await?;
    let mut seed = brand.warehouse_seed();
    seed.stock = skus
        .iter()
        .map(|sku| warehouse::StockLevel {
            sku: sku.clone(),
            status: "Available".into(),
            quantity: START_UNITS,
        })
        .collect();
    warehouse_sim.seed(seed)?;

    let simulators_mb = proc_status_mb("VmRSS:");
    let dir = tempfile::tempdir()?;
    let defaults = warehouse::WarehouseConfig::default();
    let text = format!(
        "[connectors.centra]\nurl = \"{}/graphql\"\ntoken = \"{}\"\nwarehouse = \"{WAREHOUSE_NAME}\"\n\
         [connectors.warehouse]\nurl = \"{}/api/v1\"\nusername = \"{}\"\npassword = \"{}\"\naccount_code = \"{}\"\n\
         [mappings]\nstock_statuses = {{ \"Available\" = \"sellable\", \"Quarantine\" = \"not_sellable\", \"Stock Adjustment\" = \"not_sellable\", \"Dispatched\" = \"not_sellable\" }}\n",
        centra_server.base_url(),
        centra::DEFAULT_TOKEN,
        warehouse_server.base_url(),
        defaults.username,
        defaults.password,
        defaults.account_code
    );
    let config = seam_config::parse(&text, Path::new("bench.toml"), &|_| None)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = SqliteStore::open(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await?;
    store.migrate().await?;
    let store: Arc<dyn Store> = Arc::new(store);
    let centra_config = config
        .connectors
        .centra
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no centra"))?;
    let centra_client = CentraClient::new(centra_config, Some(store.clone()));
    let governor = centra_client.governor().clone();
    let flow = Arc::new(StockFlow {
        feed: Arc::new(WarehouseClient::new(
            config
                .connectors
                .warehouse
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("no warehouse"))?,
            Some(store.clone()),
        )),
        storefront: Arc::new(CentraStock::new(
            centra_client,
            WarehouseInput {
                id: None,
                name: centra_config.warehouse.clone(),
            },
        )),
        mappings: Arc::new(config.mappings.clone()),
        settings: StockSettings {
            poll_every: Duration::from_millis(200),
            push_every: Duration::from_millis(500),
            push_batch: 5_000,
            readback_every: Duration::from_secs(3600),
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
            batch_size: 4_000,
            idle_poll: Duration::from_millis(10),
            ..Default::default()
        },
    );
    let scheduler = Scheduler::new(store.clone(), Arc::new(SystemClock), flow.scheduled_tasks());
    let runner_task = {
        let stop = stop.clone();
        tokio::spawn(async move { runner.run(stop).await })
    };
    let scheduler_task = {
        let stop = stop.clone();
        tokio::spawn(async move { scheduler.run_every(stop, Duration::from_millis(50)).await })
    };

    // The first poll takes the snapshot and sets every SKU once.
    loop {
        let polled = store
            .entity_state(FEED_STATE.0, FEED_STATE.1)
            .await?
            .is_some();
        if polled && store.marked(PUSH_SET, 1).await?.is_empty() {
            break;
        }
        anyhow::ensure!(
            setup.elapsed() < Duration::from_secs(600),
            "the initial sync did not finish"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let baseline_writes = centra_sim.mutations_log().len();
    let baseline_429 = governor.stats().rate_limited.load(Ordering::Relaxed);
    eprintln!(
        "initial sync of {} SKUs took {:.1?}; trading for {:?} ...",
        skus.len(),
        setup.elapsed(),
        args.duration
    );

    // Load: movements every 100 ms, and checkouts.
    let zipf = Zipf::new(skus.len(), args.zipf);
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let per_tick = (args.rate / 10).max(1) as usize;
    let orders_per_tick = args.orders.div_ceil(10) as usize;
    let mut moved: HashMap<usize, u64> = HashMap::new();
    // SKUs that lost units: kept apart from the goods-in SKUs so that each
    // SKU's sellable count moves one way only.
    let mut taken: std::collections::HashSet<usize> = std::collections::HashSet::new();
    let mut removed = 0u64;
    let mut emitted: Vec<(usize, chrono::DateTime<chrono::Utc>, i64)> = Vec::new();
    let mut orders_placed = 0u64;
    let progress = ProgressBar::new(args.duration.as_secs());
    progress.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} s")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let load_started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    while load_started.elapsed() < args.duration {
        ticker.tick().await;
        let now = chrono::Utc::now();
        let mut batch = Vec::with_capacity(per_tick);
        for _ in 0..per_tick {
            if rng.gen_ratio(1, 10) {
                let rank = rng.gen_range(0..skus.len());
                if warehouse_sim.available_units(&skus[rank]) > 0 && !moved.contains_key(&rank) {
                    taken.insert(rank);
                    removed += 1;
                    batch.push(warehouse::MovementRequest {
                        sku: skus[rank].clone(),
                        from: "Available".into(),
                        to: "Quarantine".into(),
                        quantity: 1,
                    });
                }
                continue;
            }
            let rank = zipf.sample(&mut rng);
            if taken.contains(&rank) {
                continue;
            }
            let count = moved.entry(rank).or_insert(0);
            *count += 1;
            emitted.push((rank, now, (START_UNITS + *count) as i64));
            batch.push(warehouse::MovementRequest {
                sku: skus[rank].clone(),
                from: "Stock Adjustment".into(),
                to: "Available".into(),
                quantity: 1,
            });
        }
        warehouse_sim.move_many(&batch);
        for _ in 0..orders_per_tick {
            // Checkouts favour the SKUs that are losing units.
            let sku = match taken.iter().nth(rng.gen_range(0..taken.len().max(1))) {
                Some(rank) if rng.gen_bool(0.8) => skus[*rank].clone(),
                _ => skus[rng.gen_range(0..skus.len())].clone(),
            };
            let order = centra::NewOrder {
                lines: vec![centra::NewOrderLine {
                    sku,
                    quantity: 1,
                    unit_price: Decimal::new(4995, 2),
                    tax_percent: Decimal::from(25),
                    ..Default::default()
                }],
                currency: "EUR".into(),
                shipping_method: "Standard".into(),
                customer_email: "bench@example.com".into(),
                psp_reference: format!("BENCH{orders_placed}"),
                ..Default::default()
            };
            if centra_sim.create_order(order).is_ok() {
                orders_placed += 1;
            }
        }
        progress.set_position(load_started.elapsed().as_secs());
    }
    progress.finish_and_clear();
    let last_sequence = warehouse_sim.last_sequence();
    let settle = Instant::now();
    loop {
        let cursor = store
            .entity_state(FEED_STATE.0, FEED_STATE.1)
            .await?
            .and_then(|s| s.state.get("cursor").and_then(|c| c.as_u64()))
            .unwrap_or(0);
        if cursor >= last_sequence && store.marked(PUSH_SET, 1).await?.is_empty() {
            break;
        }
        if settle.elapsed() > Duration::from_secs(120) {
            eprintln!("warning: not settled after 120 s");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    runner_task.await??;
    scheduler_task.await?;

    // Staleness: each movement to the first Centra write of that SKU that reflects it.
    let writes = centra_sim.mutations_log();
    let writes = &writes[baseline_writes..];
    let index: HashMap<&str, usize> = skus
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let mut per_sku: HashMap<usize, Vec<(chrono::DateTime<chrono::Utc>, i64)>> = HashMap::new();
    for write in writes {
        for item in &write.items {
            if let Some(rank) = index.get(item.sku.as_str()) {
                per_sku
                    .entry(*rank)
                    .or_default()
                    .push((write.at, item.quantity));
            }
        }
    }
    let mut staleness: Vec<i64> = Vec::with_capacity(emitted.len());
    let mut unreflected = 0u64;
    for (rank, at, value) in &emitted {
        let first = per_sku
            .get(rank)
            .and_then(|w| w.iter().find(|(t, q)| t >= at && q >= value))
            .map(|(t, _)| (*t - *at).num_milliseconds());
        match first {
            Some(ms) => staleness.push(ms),
            None => unreflected += 1,
        }
    }
    staleness.sort_unstable();
    // Oversold: units sold in Centra beyond what the warehouse can sell.
    let mut oversold = 0i64;
    for sku in &skus {
        if let Some(view) = centra_sim.stock_of(sku) {
            let sold = view.physical - view.free_to_allocate;
            let sellable = warehouse_sim
                .stock(sku)
                .by_status
                .get("Available")
                .copied()
                .unwrap_or(0) as i64;
            oversold += (sold - sellable).max(0);
        }
    }
    let rate_limited = governor.stats().rate_limited.load(Ordering::Relaxed) - baseline_429;
    println!(
        "seam bench stock: {} SKUs, {} movements/s for {:?} (Zipf s={}), {} checkouts/s",
        skus.len(),
        args.rate,
        args.duration,
        args.zipf,
        args.orders
    );
    println!(
        "  movements emitted:        {} goods-in, {} out of Available",
        emitted.len(),
        removed
    );
    println!("  checkouts placed:         {orders_placed}");
    println!(
        "  staleness (ms):           p50 {}  p99 {}  max {}  ({} movements not reflected)",
        percentile(&staleness, 0.5),
        percentile(&staleness, 0.99),
        staleness.last().copied().unwrap_or(0),
        unreflected
    );
    println!(
        "  Centra writes:            {} ({:.2} per 1,000 movements)",
        writes.len(),
        writes.len() as f64 * 1_000.0 / emitted.len().max(1) as f64
    );
    println!("  429s received:            {rate_limited}");
    println!("  units oversold:           {oversold}");
    if let Some(mb) = peak_rss_mb() {
        println!("  peak RSS:                 {mb:.0} MB (hub and both simulators in one process)");
    }
    if let (Some(peak), Some(simulators)) = (peak_rss_mb(), simulators_mb) {
        println!(
            "  of which the hub:         about {:.0} MB (peak less the simulators' {simulators:.0} MB once seeded; \
             the simulators also grow with the units the run adds)",
            peak - simulators
        );
    }
    centra_server.stop().await;
    warehouse_server.stop().await;
    Ok(())
}
