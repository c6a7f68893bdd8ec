//! `seam bench stock`: the stock flow under a warehouse pouring movements.
//!
//! The real path: the 3PL simulator emits movements over a Zipf-skewed set of
//! SKUs while checkouts keep allocating in the Centra simulator (Growth-tier
//! limits); the hub, `seam run` as a child process on SQLite (so its memory
//! and CPU are its own), polls the feed over HTTP, applies every movement,
//! coalesces per SKU and sets Centra's stock through the governed GraphQL
//! client. Staleness is measured from the moment a movement is emitted to
//! the first Centra write that reflects it, from the Centra simulator's own
//! log of writes.
//!
//! Overselling is counted at each checkout: a sale Centra accepts when the
//! warehouse has no sellable unit left that another order has not already
//! taken. The warehouse only takes units out of Available that no Centra
//! order holds (a 3PL that had the orders would not quarantine a picked
//! unit), so every oversold unit is one the storefront showed too late.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use seam_engine::store::SqliteStore;
use seam_engine::Store;
use seam_flows::stock::{FEED_STATE, PUSH_SET};
use seam_sandbox::brand::{Brand, WAREHOUSE_NAME};
use seam_sandbox::{centra, warehouse};

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
    /// The hub's `stock.safety_buffer`: units per SKU held back from Centra.
    #[arg(long, default_value_t = 0)]
    safety_buffer: u32,
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

    let dir = tempfile::tempdir()?;
    let defaults = warehouse::WarehouseConfig::default();
    let listen = super::hub_process::free_local_address()?;
    // The hub's rhythm for the benchmark: the feed read five times a second
    // and changes pushed twice a second, as many SKUs per write as needed.
    let text = format!(
        "[hub]\ndata_dir = \"{}\"\nlisten = \"{listen}\"\n\
         [engine]\nbatch_size = 1024\nconcurrency = 64\n\
         [stock]\npoll_every = \"200ms\"\npush_every = \"500ms\"\npush_batch = 5000\nreadback_every = \"1h\"\nsafety_buffer = {}\n\
         [connectors.centra]\nurl = \"{}/graphql\"\ntoken = \"{}\"\nwarehouse = \"{WAREHOUSE_NAME}\"\n\
         [connectors.warehouse]\nurl = \"{}/api/v1\"\nusername = \"{}\"\npassword = \"{}\"\naccount_code = \"{}\"\n\
         [mappings]\nstock_statuses = {{ \"Available\" = \"sellable\", \"Quarantine\" = \"not_sellable\", \"Stock Adjustment\" = \"not_sellable\", \"Dispatched\" = \"not_sellable\" }}\n",
        dir.path().display(),
        args.safety_buffer,
        centra_server.base_url(),
        centra::DEFAULT_TOKEN,
        warehouse_server.base_url(),
        defaults.username,
        defaults.password,
        defaults.account_code
    );
    let config_path = dir.path().join("seam.toml");
    std::fs::write(&config_path, &text)?;
    // Refuse a broken config here, with its errors, rather than in the child.
    seam_config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let log_path = dir.path().join("hub.log");
    let mut hub = super::hub_process::HubProcess::spawn(&config_path, &log_path, listen)?;
    hub.wait_ready(Duration::from_secs(60)).await?;
    let hub_ready = Instant::now();
    eprintln!(
        "simulators seeded and hub ready after {:.1?}",
        setup.elapsed()
    );
    // The hub's own database, read alongside it (SQLite's WAL allows it) to
    // see when the feed has caught up and every change is pushed.
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&format!(
            "sqlite://{}",
            dir.path().join("seam.db").display()
        ))
        .await?,
    );

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
            "the initial sync did not finish (hub log: {})",
            log_path.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let baseline_writes = centra_sim.mutations_log().len();
    let synced_in = hub_ready.elapsed();
    let baseline_429 = centra_sim.rate_limited();
    let sync_usage = hub.usage();
    eprintln!(
        "initial sync: the hub set {} SKUs in Centra from the warehouse's snapshot in {:.1?} ({baseline_writes} writes); trading for {:?} ...",
        skus.len(),
        synced_in,
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
    // (SKU, when, Available units left): each unit taken out of Available.
    let mut removals: Vec<(usize, chrono::DateTime<chrono::Utc>, i64)> = Vec::new();
    let mut emitted: Vec<(usize, chrono::DateTime<chrono::Utc>, i64)> = Vec::new();
    let mut orders_placed = 0u64;
    // Sales Centra accepted with no unpromised sellable unit at the warehouse.
    let mut oversold_at_sale = 0u64;
    // Checkouts Centra refused although the warehouse had a unit to sell.
    let mut refused_sellable = 0u64;
    // Units the warehouse can sell that no Centra order holds yet.
    let unpromised = |sku: &str| -> i64 {
        let allocated = centra_sim.stock_of(sku).map_or(0, |view| view.allocated);
        warehouse_sim.available_units(sku) as i64 - allocated
    };
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
        // Units taken out of a SKU earlier in this tick (not yet applied).
        let mut out_this_tick: HashMap<usize, i64> = HashMap::new();
        let mut draws = 0;
        while batch.len() < per_tick && draws < per_tick * 20 {
            draws += 1;
            if rng.gen_ratio(1, 10) {
                let rank = rng.gen_range(0..skus.len());
                let out = out_this_tick.get(&rank).copied().unwrap_or(0);
                if moved.contains_key(&rank) || unpromised(&skus[rank]) - out <= 0 {
                    continue;
                }
                taken.insert(rank);
                *out_this_tick.entry(rank).or_default() += 1;
                let left = warehouse_sim.available_units(&skus[rank]) as i64 - out - 1;
                removals.push((rank, now, left));
                batch.push(warehouse::MovementRequest {
                    sku: skus[rank].clone(),
                    from: "Available".into(),
                    to: "Quarantine".into(),
                    quantity: 1,
                });
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
            let truth = unpromised(&order.lines[0].sku);
            if centra_sim.create_order(order).is_ok() {
                orders_placed += 1;
                if truth <= 0 {
                    oversold_at_sale += 1;
                }
            } else if truth > 0 {
                // Centra showed none while the warehouse had one to sell:
                // a safety buffer's cost (or staleness the other way).
                refused_sellable += 1;
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
    let usage = hub.usage();
    hub.stop();

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
    // What Seam sets for a sellable count: the count less the safety buffer.
    let buffer = i64::from(args.safety_buffer);
    let shown = |sellable: i64| (sellable - buffer).max(0);
    let mut staleness: Vec<i64> = Vec::with_capacity(emitted.len());
    let mut unreflected = 0u64;
    for (rank, at, value) in &emitted {
        if shown(*value) == shown(*value - 1) {
            // Inside the buffer: Centra's figure does not change.
            continue;
        }
        let first = per_sku
            .get(rank)
            .and_then(|w| w.iter().find(|(t, q)| t >= at && *q >= shown(*value)))
            .map(|(t, _)| (*t - *at).num_milliseconds());
        match first {
            Some(ms) => staleness.push(ms),
            None => unreflected += 1,
        }
    }
    staleness.sort_unstable();
    // The same for units taken out: the first write at or below what is left.
    let mut removal_staleness: Vec<i64> = Vec::with_capacity(removals.len());
    for (rank, at, left) in &removals {
        if shown(*left) == shown(*left + 1) {
            continue;
        }
        let first = per_sku
            .get(rank)
            .and_then(|w| w.iter().find(|(t, q)| t >= at && *q <= shown(*left)))
            .map(|(t, _)| (*t - *at).num_milliseconds());
        match first {
            Some(ms) => removal_staleness.push(ms),
            None => unreflected += 1,
        }
    }
    removal_staleness.sort_unstable();
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
    let rate_limited = centra_sim.rate_limited() - baseline_429;
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
        removals.len()
    );
    println!(
        "  checkouts placed:         {orders_placed} ({refused_sellable} refused by Centra while the warehouse had the unit)"
    );
    println!(
        "  staleness, goods in (ms): p50 {}  p99 {}  max {}  ({} movements not reflected)",
        percentile(&staleness, 0.5),
        percentile(&staleness, 0.99),
        staleness.last().copied().unwrap_or(0),
        unreflected
    );
    println!(
        "  staleness, units out (ms): p50 {}  p99 {}  max {}",
        percentile(&removal_staleness, 0.5),
        percentile(&removal_staleness, 0.99),
        removal_staleness.last().copied().unwrap_or(0)
    );
    println!(
        "  Centra writes:            {} ({:.2} per 1,000 movements)",
        writes.len(),
        writes.len() as f64 * 1_000.0 / (emitted.len() + removals.len()).max(1) as f64
    );
    println!("  429s received:            {rate_limited}");
    println!(
        "  initial sync:             {} SKUs in {:.1?}, {baseline_writes} writes",
        skus.len(),
        synced_in
    );
    println!(
        "  units oversold:           {oversold_at_sale} at checkout ({oversold} sold beyond the warehouse's sellable units at the end)"
    );
    println!(
        "  hub peak RSS:             {:.0} MB ({:.0} MB after the initial sync)",
        usage.peak_rss_mb, sync_usage.peak_rss_mb
    );
    println!(
        "  hub CPU:                  {:.1} s while trading ({:.1} s for the initial sync)",
        usage.cpu_seconds - sync_usage.cpu_seconds,
        sync_usage.cpu_seconds
    );
    centra_server.stop().await;
    warehouse_server.stop().await;
    Ok(())
}
