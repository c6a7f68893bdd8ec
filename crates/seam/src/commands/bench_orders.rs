//! `seam bench orders`: order to cash from Centra to verified in the 3PL
//! and NetSuite, on the real path.
//!
//! The five simulators run on a runtime of their own (threads named `sim`),
//! the hub as `seam run` wires it on the command's runtime with SQLite, so
//! the hub's CPU time can be told from the simulators'. Orders are placed in
//! the Centra simulator at an offered rate; the hub learns of them from
//! Centra's event queue over HTTP, reads each order, validates it, posts it
//! to the 3PL and NetSuite and reads both back. An order counts as verified
//! when its state says so (both posts read back and matching); its latency
//! runs from its placing to that commit.
//!
//! Two modes:
//! - `hub`: no latency and no vendor limits (budgets lifted in the hub's
//!   config, the simulators' rate limits off): what the hub itself can do.
//! - `vendor`: the simulators at their documented limits (Centra's
//!   Growth-tier request and mutation windows, NetSuite's five concurrent
//!   requests) and with inferred latencies; the hub with its default budgets.
//!   The rate achieved is compared with the rate the slowest API allows,
//!   given the calls per order the run actually made.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rust_decimal::Decimal;

use seam_engine::governor::Governor;
use seam_engine::scheduler::Scheduler;
use seam_engine::{Runner, Store, SystemClock};
use seam_flows::orders::{order_entity, OrderSettings, FLOW};
use seam_flows::wiring::{wire, FlowSettings};
use seam_sandbox::brand::Brand;
use seam_sandbox::centra::{AddressData, NewOrder, NewOrderLine, RateLimitConfig};
use seam_sandbox::faults::FaultPlan;
use seam_sandbox::sandbox::{Sandbox, SandboxOptions};
use tokio_util::sync::CancellationToken;

use super::bench_stock::percentile;
use super::run::runner_config;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Simulators with no latency and no limits.
    Hub,
    /// Simulators at their real limits and latencies.
    Vendor,
}

#[derive(Args)]
pub struct OrdersArgs {
    #[arg(long, value_enum, default_value = "hub")]
    mode: Mode,
    /// Orders placed (hub mode).
    #[arg(long, default_value_t = 50_000)]
    orders: usize,
    /// Orders placed per second in Centra. Default: 1,500 in hub mode;
    /// 3 in vendor mode, above what the slowest API (Centra's Growth-tier
    /// mutations) allows, so the hub is never starved.
    #[arg(long)]
    rate: Option<u32>,
    /// How long orders are placed in vendor mode.
    #[arg(long, default_value = "120s", value_parser = |s: &str| humantime::parse_duration(s).map_err(|e| e.to_string()))]
    duration: Duration,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run the stock flow beside the order flow, as `seam run` does. Off by
    /// default: it spends Centra's mutation budget too (up to one stock
    /// push a second), which is not the order path's cost.
    #[arg(long)]
    with_stock: bool,
    /// Overrides `engine.batch_size` (jobs claimed per runner round).
    #[arg(long)]
    batch_size: Option<u32>,
    /// Overrides `engine.concurrency` (handlers running at once).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Runners in the hub process, each claiming its own batches.
    #[arg(long, default_value_t = 1)]
    runners: usize,
}

/// Latencies of the vendor mode (inferred from public reports of each API;
/// none of the vendors publishes figures).
const CENTRA_LATENCY_MS: (u64, u64) = (40, 120);
const WAREHOUSE_LATENCY_MS: (u64, u64) = (60, 180);
/// NetSuite holds each request this long while it counts against the
/// account's concurrency limit.
const NETSUITE_HOLD_MS: u64 = 250;
const NETSUITE_LATENCY_MS: (u64, u64) = (20, 60);
const ADYEN_LATENCY_MS: (u64, u64) = (30, 80);

fn thread_cpu() -> (f64, f64) {
    // (whole process, threads named `sim*`) in seconds of CPU.
    let ticks = 100.0;
    let parse = |stat: &str| -> Option<f64> {
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        Some((utime + stime) / ticks)
    };
    let total = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| parse(&s))
        .unwrap_or(0.0);
    let mut simulators = 0.0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let path = task.path();
            let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            if name.starts_with("sim") {
                simulators += std::fs::read_to_string(path.join("stat"))
                    .ok()
                    .and_then(|s| parse(&s))
                    .unwrap_or(0.0);
            }
        }
    }
    (total, simulators)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Lifts every connector's budget in the hub's config (hub mode).
fn unlimited(config: &str) -> String {
    let budget = "budget = { requests = { count = 1000000, per = \"1s\" }, \
                  mutations = { count = 1000000, per = \"1s\" }, max_concurrency = 256 }";
    let mut text = String::new();
    for line in config.lines() {
        text.push_str(line);
        text.push('\n');
        if line.starts_with("[connectors.") {
            text.push_str(budget);
            text.push('\n');
        }
    }
    text
}

struct Placed {
    /// (order number, placed at in ms).
    orders: Vec<(i32, i64)>,
    refused: u64,
}

/// Places orders at `rate` per second until `count` are placed or `until`.
async fn place_orders(
    sandbox: Arc<Sandbox>,
    skus: Vec<String>,
    rate: u32,
    count: usize,
    until: Duration,
    stop: CancellationToken,
) -> Placed {
    let mut placed = Placed {
        orders: Vec::with_capacity(count.min(1_000_000)),
        refused: 0,
    };
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    let mut i = 0usize;
    // Counted by attempts: an order Centra refuses is reported, not retried.
    while i < count && started.elapsed() < until && !stop.is_cancelled() {
        ticker.tick().await;
        // Catch up with the rate since the start, so ticks that ran late
        // do not lower it.
        let due = ((started.elapsed().as_secs_f64() * f64::from(rate)) as usize).min(count);
        while i < due {
            let sku = &skus[i % skus.len()];
            let second = &skus[(i * 7 + 3) % skus.len()];
            let mut lines = vec![NewOrderLine {
                sku: sku.clone(),
                quantity: 1,
                unit_price: Decimal::new(4995, 2),
                tax_percent: Decimal::from(25),
                ..Default::default()
            }];
            // One order in three has a second line.
            if i % 3 == 0 && second != sku {
                lines.push(NewOrderLine {
                    sku: second.clone(),
                    quantity: 2,
                    unit_price: Decimal::new(2995, 2),
                    tax_percent: Decimal::from(25),
                    ..Default::default()
                });
            }
            let order = NewOrder {
                lines,
                currency: "EUR".into(),
                shipping_method: if i % 4 == 0 { "Express" } else { "Standard" }.into(),
                shipping_price: Decimal::new(495, 2),
                shipping_tax_percent: Decimal::from(25),
                shipping_address: AddressData {
                    first_name: "Bench".into(),
                    last_name: format!("Customer {i}"),
                    address1: "1 High Street".into(),
                    city: "London".into(),
                    zip_code: "N1 9GU".into(),
                    country_code: "GB".into(),
                    ..Default::default()
                },
                customer_email: format!("bench{i}@example.com"),
                psp_reference: format!("BENCH{i:08}"),
                ..Default::default()
            };
            match sandbox.centra.create_order(order) {
                Ok(created) => placed.orders.push((created.number, now_ms())),
                Err(_) => placed.refused += 1,
            }
            i += 1;
        }
    }
    placed
}

pub async fn run(args: OrdersArgs) -> anyhow::Result<()> {
    let setup = Instant::now();
    // A brand whose sellable SKUs never run out during the run.
    let mut brand = Brand::generate(50, args.seed);
    let orderable: Vec<String> = brand
        .skus
        .iter()
        .filter(|s| !s.refurbished || s.graded)
        .map(|s| s.sku.clone())
        .collect();
    // Each order takes one unit of one SKU and, one time in three, two of
    // another, round robin. The 3PL simulator keeps a row per unit, so give
    // each SKU what the run needs and a margin, no more.
    let expected_orders = match args.mode {
        Mode::Hub => args.orders as u64,
        Mode::Vendor => u64::from(args.rate.unwrap_or(3)) * args.duration.as_secs(),
    };
    let units = expected_orders * 3 / orderable.len().max(1) as u64 + 20;
    for (sku, status, stock) in &mut brand.stock {
        if *status == "Available" && orderable.contains(sku) {
            *stock = units;
        }
    }
    // The simulators get a runtime (and threads) of their own.
    let (sim_runtime, sandbox) = std::thread::spawn(move || -> anyhow::Result<_> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sim")
            .enable_all()
            .build()?;
        let sandbox = runtime.block_on(Sandbox::start_with_brand(
            SandboxOptions {
                seed: args.seed,
                base_port: 0,
                styles: 50,
            },
            brand,
        ))?;
        Ok((runtime, sandbox))
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the simulators' thread panicked"))??;
    let sandbox = Arc::new(sandbox);

    let dir = tempfile::tempdir()?;
    let mut text = sandbox.hub_config(&dir.path().display().to_string(), "127.0.0.1:0");
    if !args.with_stock {
        // Without connectors.centra.warehouse the stock flow stays off.
        text = text
            .lines()
            .filter(|line| !line.starts_with("warehouse = "))
            .map(|line| format!("{line}\n"))
            .collect();
    }
    match args.mode {
        Mode::Hub => {
            text = unlimited(&text);
            sandbox.centra.set_rate_limits(RateLimitConfig {
                enabled: false,
                ..RateLimitConfig::default()
            });
            sandbox.netsuite.set_concurrency_limit(100_000);
        }
        Mode::Vendor => {
            let latency = |range: (u64, u64)| FaultPlan {
                latency_ms: Some(range),
                ..Default::default()
            };
            sandbox.centra.faults().set_plan(latency(CENTRA_LATENCY_MS));
            sandbox
                .warehouse
                .faults()
                .set_plan(latency(WAREHOUSE_LATENCY_MS));
            sandbox
                .netsuite
                .faults()
                .set_plan(latency(NETSUITE_LATENCY_MS));
            sandbox
                .netsuite
                .set_request_hold(Duration::from_millis(NETSUITE_HOLD_MS));
            sandbox.adyen.faults().set_plan(latency(ADYEN_LATENCY_MS));
        }
    }
    let config = seam_config::parse(&text, std::path::Path::new("bench.toml"), &|_| None)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = crate::context::open_store(&config).await?;
    let wiring = wire(
        &config,
        None,
        FlowSettings {
            orders: OrderSettings {
                // As `seam run` polls, but without the safety-net poll and
                // the ERP edit poll competing for the measurement.
                updated_every: Duration::from_secs(3600),
                erp_every: Duration::from_secs(3600),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let governors = wiring.governors.clone();
    let engine = &config.engine;
    let runners: Vec<Runner> = (0..args.runners.max(1))
        .map(|_| {
            Runner::new(
                store.clone(),
                wiring.handlers.clone(),
                Arc::new(SystemClock),
                {
                    let mut runner = runner_config(engine);
                    runner.batch_size = args.batch_size.unwrap_or(engine.batch_size);
                    runner.concurrency = args.concurrency.unwrap_or(engine.concurrency);
                    runner
                },
            )
        })
        .collect();
    let stop = CancellationToken::new();
    let scheduler = Scheduler::new(store.clone(), Arc::new(SystemClock), wiring.tasks);
    let runner_tasks: Vec<_> = runners
        .into_iter()
        .map(|runner| {
            let stop = stop.clone();
            tokio::spawn(async move { runner.run(stop).await })
        })
        .collect();
    let scheduler_task = {
        let stop = stop.clone();
        tokio::spawn(async move { scheduler.run(stop).await })
    };
    // Centra queues events only for an integration listening for them, and
    // the hub registers its listener on its first events poll: orders placed
    // before would reach it only through the updatedAt safety net, which
    // this bench turns off. A hub in service has listened long before.
    let listening_since = Instant::now();
    while !sandbox
        .centra
        .has_event_listeners(seam_sandbox::centra::DEFAULT_INTEGRATION)
    {
        anyhow::ensure!(
            listening_since.elapsed() < Duration::from_secs(60),
            "the hub did not start listening to Centra's event queue within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the stock flow's first sync finish (when on), so it is not measured.
    if args.with_stock {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    eprintln!(
        "set up in {:.1?}: {} SKUs, mode {:?}",
        setup.elapsed(),
        orderable.len(),
        args.mode
    );

    let calls_before = calls(&governors);
    let (total_before, sims_before) = thread_cpu();
    let rate = args.rate.unwrap_or(match args.mode {
        Mode::Hub => 1_500,
        Mode::Vendor => 3,
    });
    let (count, until) = match args.mode {
        Mode::Hub => (args.orders, Duration::from_secs(24 * 3600)),
        Mode::Vendor => (usize::MAX, args.duration),
    };
    let load_started = Instant::now();
    let generator = sim_runtime.spawn(place_orders(
        sandbox.clone(),
        orderable.clone(),
        rate,
        count,
        until,
        stop.clone(),
    ));
    let progress = ProgressBar::new(match args.mode {
        Mode::Hub => args.orders as u64,
        Mode::Vendor => args.duration.as_secs(),
    });
    progress.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut tracker = Tracker::default();
    let placed = {
        let mut generator = generator;
        loop {
            tokio::select! {
                placed = &mut generator => break placed?,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {
                    match args.mode {
                        Mode::Hub => progress.set_position(tracker.verified.len() as u64),
                        Mode::Vendor => progress.set_position(load_started.elapsed().as_secs()),
                    }
                }
            }
        }
    };
    let placing = load_started.elapsed();
    tracker.pending = placed.orders.iter().copied().collect();
    // Wait for every placed order to be verified (or parked).
    let settle_limit = match args.mode {
        Mode::Hub => Duration::from_secs(600),
        // Every placed order is finished, so that calls per order divide
        // the calls by the orders that made them.
        Mode::Vendor => Duration::from_secs(300),
    };
    let settle = Instant::now();
    while !tracker.pending.is_empty() && settle.elapsed() < settle_limit {
        tracker.poll(store.as_ref()).await?;
        if args.mode == Mode::Hub {
            progress.set_position(tracker.verified.len() as u64);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tracker.poll(store.as_ref()).await?;
    progress.finish_and_clear();
    let (total_after, sims_after) = thread_cpu();
    let calls_after = calls(&governors);
    stop.cancel();
    for task in runner_tasks {
        task.await??;
    }
    scheduler_task.await?;

    let first_placed = placed.orders.first().map(|(_, at)| *at).unwrap_or(0);
    let mut latencies: Vec<i64> = tracker
        .verified
        .iter()
        .filter_map(|(number, done)| tracker.placed_at.get(number).map(|at| done - at))
        .collect();
    latencies.sort_unstable();
    let last_done = tracker
        .verified
        .values()
        .copied()
        .max()
        .unwrap_or(first_placed);
    let verified = tracker.verified.len();
    let hub_cpu = (total_after - total_before) - (sims_after - sims_before);
    let exceptions = store.job_counts().await?.open_exceptions;

    println!(
        "seam bench orders ({:?} mode): {} orders placed at {rate}/s in {:.1?} ({} refused by Centra)",
        args.mode,
        placed.orders.len(),
        placing,
        placed.refused
    );
    println!(
        "  verified in 3PL and NetSuite: {verified}   open exceptions: {exceptions}   unfinished: {}",
        tracker.pending.len()
    );
    if !tracker.pending.is_empty() {
        print_unfinished(store.as_ref(), &tracker).await?;
    }
    match args.mode {
        Mode::Hub => {
            let span = (last_done - first_placed).max(1) as f64 / 1_000.0;
            println!(
                "  throughput:   {:.0} orders/s (placing to the last verified: {span:.1} s)",
                verified as f64 / span
            );
        }
        Mode::Vendor => {
            // Steady state: the window after the first 20 s of placing.
            let window_start = first_placed + 20_000;
            let window_end = first_placed + placing.as_millis() as i64;
            let in_window = tracker
                .verified
                .values()
                .filter(|at| **at >= window_start && **at < window_end)
                .count();
            let achieved = in_window as f64 / ((window_end - window_start).max(1) as f64 / 1_000.0);
            println!("  achieved:     {achieved:.2} orders/s (steady state, after the first 20 s)");
            let per_order = |delta: u64| delta as f64 / verified.max(1) as f64;
            // What each API allows when an order spends only the calls it
            // must (reading the order and confirming it in Centra; PUT and
            // read-back at the 3PL; upsert and read-back in NetSuite),
            // whatever this run spent: polling overhead counts against Seam.
            let mut slowest: Option<(&str, f64)> = None;
            for (name, governor) in &governors {
                let config = governor.config();
                let (calls, mutations) = (
                    calls_after[name].0 - calls_before[name].0,
                    calls_after[name].1 - calls_before[name].1,
                );
                let (needed_calls, needed_mutations) = match *name {
                    "centra" => (2.0, 1.0),
                    "warehouse" | "netsuite" => (2.0, 0.0),
                    _ => (0.0, 0.0),
                };
                let mut bounds = Vec::new();
                if let Some(budget) = config.requests.filter(|_| needed_calls > 0.0) {
                    bounds.push((
                        "requests",
                        f64::from(budget.count) / budget.window.as_secs_f64() / needed_calls,
                    ));
                }
                if let Some(budget) = config.mutations.filter(|_| needed_mutations > 0.0) {
                    bounds.push((
                        "mutations",
                        f64::from(budget.count) / budget.window.as_secs_f64() / needed_mutations,
                    ));
                }
                if *name == "netsuite" {
                    let seconds_per_call = (NETSUITE_HOLD_MS as f64
                        + (NETSUITE_LATENCY_MS.0 + NETSUITE_LATENCY_MS.1) as f64 / 2.0)
                        / 1_000.0;
                    bounds.push((
                        "concurrency",
                        config.max_concurrency as f64 / seconds_per_call / needed_calls,
                    ));
                }
                for (what, allowed) in &bounds {
                    if slowest.is_none_or(|(_, s)| *allowed < s) {
                        slowest = Some((what, *allowed));
                    }
                }
                println!(
                    "  {name:<10} {:.2} calls/order ({:.2} mutations/order) made; allows {}",
                    per_order(calls),
                    per_order(mutations),
                    if bounds.is_empty() {
                        "no limit on orders".to_string()
                    } else {
                        bounds
                            .iter()
                            .map(|(what, allowed)| format!("{allowed:.2} orders/s by {what}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                );
            }
            println!(
                "  Centra answered 429 {} times (the hub's governors saw {})",
                sandbox.centra.rate_limited(),
                governors
                    .iter()
                    .map(|(_, g)| g.stats().rate_limited.load(Ordering::Relaxed))
                    .sum::<u64>()
            );
            if let Some((what, allowed)) = slowest {
                println!(
                    "  slowest API allows {allowed:.2} orders/s (its {what} budget); achieved {:.0}% of it",
                    achieved / allowed * 100.0
                );
            }
        }
    }
    println!(
        "  latency (ms):  p50 {}  p99 {}  max {}   (placed in Centra to verified in both)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0)
    );
    println!(
        "  hub CPU:       {:.2} ms per order ({hub_cpu:.1} s in all; simulators {:.1} s)",
        hub_cpu * 1_000.0 / verified.max(1) as f64,
        sims_after - sims_before
    );
    sim_runtime.shutdown_background();
    Ok(())
}

/// Where the first unfinished orders are stuck: their stage and queued
/// jobs, so a failed run says why.
async fn print_unfinished(store: &dyn Store, tracker: &Tracker) -> anyhow::Result<()> {
    let mut numbers: Vec<i32> = tracker.pending.keys().copied().collect();
    numbers.sort_unstable();
    numbers.truncate(5);
    let keys: Vec<String> = numbers
        .iter()
        .map(|n| order_entity(i64::from(*n)))
        .collect();
    let states = store.entity_states_of(FLOW, &keys).await?;
    let mut jobs = Vec::new();
    let mut after = 0;
    loop {
        let page = store.active_jobs(after, 1_000).await?;
        let Some(last) = page.last() else { break };
        after = last.job.id;
        jobs.extend(
            page.into_iter()
                .filter(|active| keys.contains(&active.job.spec.entity_key)),
        );
    }
    for key in &keys {
        let stage = states
            .get(key)
            .and_then(|state| state.state.get("stage").cloned())
            .map_or("never seen".to_string(), |stage| stage.to_string());
        println!("  unfinished {key}: stage {stage}");
        for active in jobs.iter().filter(|a| &a.job.spec.entity_key == key) {
            println!(
                "    job {} {}: attempts {}, last error {}",
                active.job.id,
                active.job.spec.kind,
                active.job.attempts,
                active.last_error.as_deref().unwrap_or("none")
            );
        }
    }
    Ok(())
}

/// (calls, mutations) per governor.
fn calls(governors: &[(&'static str, Arc<Governor>)]) -> HashMap<&'static str, (u64, u64)> {
    governors
        .iter()
        .map(|(name, governor)| {
            let stats = governor.stats();
            (
                *name,
                (
                    stats.calls.load(Ordering::Relaxed),
                    stats.mutations.load(Ordering::Relaxed),
                ),
            )
        })
        .collect()
}

/// Which placed orders are verified, and when, from the hub's own state.
#[derive(Default)]
struct Tracker {
    placed_at: HashMap<i32, i64>,
    pending: HashMap<i32, i64>,
    /// Order number → when the commit that verified it happened.
    verified: HashMap<i32, i64>,
}

impl Tracker {
    async fn poll(&mut self, store: &dyn Store) -> anyhow::Result<()> {
        if self.placed_at.is_empty() {
            self.placed_at = self.pending.clone();
        }
        let numbers: Vec<i32> = self.pending.keys().copied().collect();
        for chunk in numbers.chunks(500) {
            let keys: Vec<String> = chunk.iter().map(|n| order_entity(i64::from(*n))).collect();
            let states = store
                .entity_states_of(FLOW, &keys)
                .await
                .context("reading order states")?;
            for number in chunk {
                let Some(state) = states.get(&order_entity(i64::from(*number))) else {
                    continue;
                };
                if state.state.get("stage").and_then(|s| s.as_str()) == Some("posted") {
                    self.pending.remove(number);
                    self.verified.insert(*number, state.updated_at);
                }
            }
        }
        Ok(())
    }
}
