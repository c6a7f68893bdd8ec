//! `seam soak`: proof under faults. The five simulators run here with their
//! faults on and the traffic generator trading; the hub runs as child
//! processes of this binary (`seam run`), killed with SIGKILL at the plan's
//! moments and started again. When the traffic stops, the faults end,
//! everything settles, and the invariants are checked against every
//! system's records and Seam's store. A violation exits non-zero and prints
//! the command that replays the plan.
//!
//! Modules: `plan` (the seeded plan), `hubs` (the child processes),
//! `front_door` (a load balancer for the vendors' webhooks), `settle`,
//! `world` (what is read after settling), `invariants`, `report`.

mod front_door;
mod hubs;
mod invariants;
mod plan;
mod report;
mod settle;
mod world;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use seam_engine::Store;
use seam_sandbox::faults::{FaultPlan, Faults};
use seam_sandbox::sandbox::{Sandbox, SandboxOptions};
use seam_sandbox::traffic::{Systems, TrafficConfig, TrafficGenerator};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use front_door::FrontDoor;
use hubs::{Hub, DATABASE_URL_VAR};
use invariants::Check;
use plan::{PlanShape, SoakPlan, SYSTEMS};
use report::{Report, RunFigures};
use settle::Settle;
use world::World;

#[derive(Args, Debug, Clone)]
pub struct SoakArgs {
    /// Seed for the plan: faults, outages, kills and traffic.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How long the traffic runs, with faults and kills, e.g. 60s or 30m.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    duration: Duration,
    /// Traffic actions per second (checkouts, dispatches, returns, edits...).
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// Hub processes; more than one needs --database-url postgres://...
    #[arg(long, default_value_t = 1)]
    hubs: usize,
    /// A PostgreSQL database the hubs share (a fresh schema is made in it).
    /// Without it, SQLite in the working directory.
    #[arg(long)]
    database_url: Option<String>,
    /// Mean time between SIGKILLs.
    #[arg(long, value_parser = parse_duration, default_value = "15s")]
    kill_every: Duration,
    /// Mean time between outages (a system answering only 5xx for 5–40 s).
    #[arg(long, value_parser = parse_duration, default_value = "90s")]
    outage_every: Duration,
    /// How long everything may take to settle before that is a violation.
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    settle_timeout: Duration,
    /// How long nothing may move before the soak calls it settled.
    #[arg(long, value_parser = parse_duration, default_value = "25s")]
    quiet_window: Duration,
    /// Styles in the simulated catalogue (ten SKUs each).
    #[arg(long, default_value_t = 20)]
    styles: usize,
    /// Keep the working directory (hub configs and logs, SQLite file) even
    /// when every invariant holds. It is always kept on a violation.
    #[arg(long)]
    keep: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| e.to_string())
}

impl SoakArgs {
    /// The command that replays this plan.
    fn replay(&self) -> String {
        let mut line = format!(
            "seam soak --seed {} --duration {} --rate {} --hubs {} --kill-every {} --outage-every {} --styles {}",
            self.seed,
            humantime::format_duration(self.duration),
            self.rate,
            self.hubs,
            humantime::format_duration(self.kill_every),
            humantime::format_duration(self.outage_every),
            self.styles
        );
        if let Some(url) = &self.database_url {
            line.push_str(&format!(
                " --database-url {}",
                seam_engine::store::redact_url(url)
            ));
        }
        line
    }
}

pub async fn run(args: SoakArgs) -> anyhow::Result<ExitCode> {
    let postgres = args
        .database_url
        .as_deref()
        .is_some_and(|url| url.starts_with("postgres"));
    if args.hubs == 0 || (args.hubs > 1 && !postgres) {
        anyhow::bail!(
            "--hubs {} needs --database-url postgres://... (SQLite is one process)",
            args.hubs
        );
    }
    if args.database_url.is_some() && !postgres {
        anyhow::bail!("--database-url must be postgres://...; without it the soak uses SQLite");
    }
    let plan = SoakPlan::new(
        args.seed,
        PlanShape {
            duration: args.duration,
            hubs: args.hubs,
            kill_every: args.kill_every,
            outage_every: args.outage_every,
        },
    );
    eprintln!(
        "seam soak, seed {}: {:?} of traffic at {}/s, {} hub(s) on {}, {} kills and {} outages planned",
        args.seed,
        args.duration,
        args.rate,
        args.hubs,
        if postgres { "PostgreSQL" } else { "SQLite" },
        plan.kills.len(),
        plan.outages.len()
    );

    let sandbox = Sandbox::start(SandboxOptions {
        seed: args.seed,
        base_port: 0,
        styles: args.styles,
    })
    .await
    .context("starting the simulators")?;
    // Centra's 10-second limits stay (Growth tier, what the hub's budget is
    // shaped to); the hourly ones are lifted, or a long soak would measure
    // the hourly allowance rather than Seam (see docs/soak.md).
    sandbox
        .centra
        .set_rate_limits(seam_sandbox::centra::RateLimitConfig {
            requests_per_hour: 1_000_000,
            mutations_per_hour: 1_000_000,
            complexity_per_hour: u64::MAX / 4,
            ..Default::default()
        });
    let dir = tempfile::Builder::new().prefix("seam-soak-").tempdir()?;
    let database = prepare_database(&args, dir.path()).await?;
    let (database_url, store) = (database.hub_url.clone(), database.store.clone());

    let mut addresses = Vec::new();
    for _ in 0..args.hubs {
        addresses.push(hubs::free_address()?);
    }
    let front = FrontDoor::start(addresses.clone()).await?;
    sandbox.connect_webhooks(&front.url());
    // Centra's webhook plugin too, beside the event queue the hub polls.
    sandbox
        .centra
        .set_webhook(Some(seam_sandbox::centra::WebhookTarget {
            url: format!("{}/webhooks/centra", front.url()),
            secret: CENTRA_WEBHOOK_SECRET.into(),
        }));
    let mut hub_list = Vec::new();
    let mut mappings = None;
    for (index, listen) in addresses.iter().enumerate() {
        let text = hub_config(&sandbox, dir.path(), index, &listen.to_string());
        let path = dir.path().join(format!("hub-{index}.toml"));
        std::fs::write(&path, &text)?;
        if mappings.is_none() {
            let url = database_url.clone();
            let config = seam_config::parse(&text, &path, &|name| {
                (name == DATABASE_URL_VAR).then(|| url.clone())
            })
            .map_err(|e| anyhow::anyhow!("the soak's hub configuration: {e}"))?;
            mappings = Some(config.mappings);
        }
        hub_list.push(Hub::new(
            index,
            *listen,
            path,
            dir.path().join(format!("hub-{index}.log")),
            Some(database_url.clone()),
        ));
    }
    let mappings = mappings.unwrap_or_default();
    for hub in &mut hub_list {
        hub.start()?;
    }
    for hub in &mut hub_list {
        hub.wait_healthy(Duration::from_secs(60)).await?;
    }

    let mut figures = RunFigures {
        outages: plan.outages.len(),
        ..Default::default()
    };
    let mut crashes = Check {
        name: "hubs exited only when killed",
        checked: 0,
        violations: Vec::new(),
    };
    for system in SYSTEMS {
        faults_of(&sandbox, system).set_plan(plan.faults_of(system));
    }
    let mut generator = TrafficGenerator::new(
        Systems::of(&sandbox),
        TrafficConfig {
            seed: plan.traffic_seed,
            rate: args.rate,
            mix: Default::default(),
        },
    );
    let traffic_stats = generator.stats();
    let stop_traffic = CancellationToken::new();
    let traffic = {
        let stop = stop_traffic.clone();
        tokio::spawn(async move { generator.run(stop).await })
    };

    let started = Instant::now();
    run_timeline(
        &plan,
        &sandbox,
        &mut hub_list,
        started,
        args.duration,
        &mut crashes,
    )
    .await?;
    stop_traffic.cancel();
    traffic.await?;
    figures.traffic = started.elapsed();
    for system in SYSTEMS {
        faults_of(&sandbox, system).set_plan(FaultPlan::default());
    }
    for hub in &mut hub_list {
        if !hub.is_up() {
            hub.start()?;
        }
    }
    for hub in &mut hub_list {
        hub.wait_healthy(Duration::from_secs(60)).await?;
    }
    eprintln!(
        "traffic stopped after {:.0?}, faults off; settling (at most {:?})",
        figures.traffic, args.settle_timeout
    );
    let settled = Settle {
        sandbox: &sandbox,
        store: &store,
        quiet_window: args.quiet_window,
        timeout: args.settle_timeout,
    }
    .run()
    .await?;
    for hub in &mut hub_list {
        if !hub.is_up() {
            crashes.violations.push(format!(
                "{} exited by itself while settling; see {}",
                hub.name(),
                hub.log_path().display()
            ));
        }
        // The run is over: stopping with SIGKILL is one more crash, and
        // freezes the store while it is checked.
        hub.stop().await?;
    }

    let world = World::collect(&sandbox, &store, &mappings).await?;
    let mut checks = vec![Check {
        name: "everything settled",
        checked: 1,
        violations: settled
            .still_moving
            .iter()
            .map(|m| format!("after {:.0?}: {m}", settled.took))
            .collect(),
    }];
    checks.extend(invariants::check_all(&world));
    crashes.checked = hub_list.iter().map(|h| h.starts as usize).sum();
    checks.push(crashes);

    figures.orders = traffic_stats.orders_placed.load(Relaxed);
    figures.returns = traffic_stats.returns_requested.load(Relaxed)
        + traffic_stats.exchanges_requested.load(Relaxed);
    figures.dispatches = traffic_stats.dispatches.load(Relaxed);
    figures.stock_movements = traffic_stats.stock_movements.load(Relaxed);
    figures.erp_edits = traffic_stats.erp_edits.load(Relaxed);
    figures.kills = hub_list.iter().map(|h| h.kills).sum::<u32>();
    figures.restarts = hub_list.iter().map(|h| h.starts).sum::<u32>() - hub_list.len() as u32;
    figures.resubmitted = settled.resubmitted;
    figures.settle = settled.took;
    for system in SYSTEMS {
        figures.faults.add(&faults_of(&sandbox, system).counts());
    }
    let mut open_exceptions = BTreeMap::new();
    for exception in world.exceptions.iter().filter(|e| e.open) {
        *open_exceptions
            .entry(exception.exception_type.clone())
            .or_insert(0) += 1;
    }
    let replay = args.replay();
    let report = Report {
        replay: &replay,
        figures: &figures,
        checks: &checks,
        open_exceptions,
        net: invariants::net_by_currency(&world),
    };
    println!("{}", report.render());
    let passed = report.passed();
    sandbox.stop().await;
    if passed && !args.keep {
        if let (Some(url), Some(schema)) = (&args.database_url, &database.schema) {
            drop_schema(url, schema).await;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let kept = dir.keep();
    eprintln!(
        "working directory kept: {} (hub configs and logs{})",
        kept.display(),
        match &database.schema {
            Some(schema) => format!("; the PostgreSQL schema {schema} is kept too"),
            None => ", the SQLite database".into(),
        }
    );
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Where the run's records live.
struct SoakDatabase {
    /// The URL the hubs are given.
    hub_url: String,
    /// The soak's own handle on the same store.
    store: Arc<dyn Store>,
    /// The fresh PostgreSQL schema, dropped after a run that passed.
    schema: Option<String>,
}

/// SQLite in the working directory, or a fresh schema in the given PostgreSQL.
async fn prepare_database(args: &SoakArgs, dir: &Path) -> anyhow::Result<SoakDatabase> {
    match &args.database_url {
        None => {
            let url = format!("sqlite://{}", dir.join("seam.db").display());
            let store = seam_engine::open_store(&url).await?;
            store.migrate().await?;
            Ok(SoakDatabase {
                hub_url: url,
                store,
                schema: None,
            })
        }
        Some(url) => {
            let schema = format!(
                "soak_{}_{}",
                args.seed,
                chrono::Utc::now().timestamp_millis()
            );
            let store =
                seam_engine::store::PostgresStore::open_in_schema(url, Some(&schema)).await?;
            store.migrate().await?;
            let separator = if url.contains('?') { '&' } else { '?' };
            eprintln!("PostgreSQL schema {schema}");
            Ok(SoakDatabase {
                hub_url: format!("{url}{separator}options[search_path]={schema}"),
                store: Arc::new(store),
                schema: Some(schema),
            })
        }
    }
}

/// Removes a passed run's schema; a failed run's is kept for inspection.
async fn drop_schema(url: &str, schema: &str) {
    let dropped = async {
        let pool = sqlx::PgPool::connect(url).await?;
        sqlx::query(&format!(
            "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            schema.replace('"', "")
        ))
        .execute(&pool)
        .await?;
        pool.close().await;
        Ok::<_, sqlx::Error>(())
    };
    if let Err(error) = dropped.await {
        eprintln!("could not drop the schema {schema}: {error}");
    }
}

/// The sandbox's `seam.toml` for hub `index`: its own listen address and
/// data directory, the shared database from the environment, and a lease
/// short enough that a killed hub's jobs are taken over in seconds.
fn hub_config(sandbox: &Sandbox, dir: &Path, index: usize, listen: &str) -> String {
    let data_dir = dir.join(format!("hub-{index}-data"));
    let text = sandbox.hub_config(&data_dir.display().to_string(), listen);
    let text = text
        .replacen(
            "[hub]\n",
            &format!("[hub]\ndatabase_url = \"${{{DATABASE_URL_VAR}}}\"\n"),
            1,
        )
        .replacen(
            "[connectors.centra]\n",
            &format!("[connectors.centra]\nwebhook_secret = \"{CENTRA_WEBHOOK_SECRET}\"\n"),
            1,
        );
    format!("{text}\n[engine]\n# A killed hub's jobs are taken over after this.\nlease = \"10s\"\n")
}

/// The sandbox's Centra webhook plugin signs with this (not a secret).
const CENTRA_WEBHOOK_SECRET: &str = "centra-sandbox-webhook-secret";

fn faults_of(sandbox: &Sandbox, system: &str) -> Faults {
    match system {
        "centra" => sandbox.centra.faults(),
        "warehouse" => sandbox.warehouse.faults(),
        "reveni" => sandbox.reveni.faults(),
        "netsuite" => sandbox.netsuite.faults().clone(),
        _ => sandbox.adyen.faults(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Kill { hub: usize, down_for_ms: u64 },
    Restart { hub: usize },
    OutageStarts { system: usize },
    OutageEnds { system: usize },
}

/// Plays the plan against the clock: kills and restarts, outages starting
/// and ending; and watches for a hub that exits without being killed.
async fn run_timeline(
    plan: &SoakPlan,
    sandbox: &Sandbox,
    hubs: &mut [Hub],
    started: Instant,
    duration: Duration,
    crashes: &mut Check,
) -> anyhow::Result<()> {
    let mut queue: BinaryHeap<Reverse<(Duration, Event)>> = BinaryHeap::new();
    for kill in &plan.kills {
        queue.push(Reverse((
            kill.at,
            Event::Kill {
                hub: kill.hub,
                down_for_ms: kill.down_for.as_millis() as u64,
            },
        )));
    }
    for outage in &plan.outages {
        let system = SYSTEMS
            .iter()
            .position(|s| *s == outage.system)
            .unwrap_or(0);
        queue.push(Reverse((outage.at, Event::OutageStarts { system })));
        queue.push(Reverse((
            outage.at + outage.lasts,
            Event::OutageEnds { system },
        )));
    }
    let mut down: Vec<bool> = vec![false; hubs.len()];
    loop {
        let next = queue.peek().map(|Reverse((at, _))| *at);
        let until = next.unwrap_or(duration).min(duration);
        // Check on the hubs every second while waiting.
        while started.elapsed() < until {
            let wait = (until - started.elapsed()).min(Duration::from_secs(1));
            tokio::time::sleep(wait).await;
            for (index, hub) in hubs.iter_mut().enumerate() {
                if !down[index] && !hub.is_up() {
                    crashes.violations.push(format!(
                        "{} exited by itself at t+{:.1?}; see {}",
                        hub.name(),
                        started.elapsed(),
                        hub.log_path().display()
                    ));
                    hub.start()?;
                }
            }
        }
        if started.elapsed() >= duration {
            // Hubs killed near the end come back for settling.
            return Ok(());
        }
        let Some(Reverse((at, event))) = queue.pop() else {
            continue;
        };
        let t = format!("t+{:.1}s", at.as_secs_f64());
        match event {
            Event::Kill { hub, down_for_ms } => {
                if hubs[hub].kill().await? {
                    down[hub] = true;
                    eprintln!(
                        "  {t}: SIGKILL {} (down {down_for_ms} ms)",
                        hubs[hub].name()
                    );
                    queue.push(Reverse((
                        started.elapsed() + Duration::from_millis(down_for_ms),
                        Event::Restart { hub },
                    )));
                }
            }
            Event::Restart { hub } => {
                if !hubs[hub].is_up() {
                    hubs[hub].start()?;
                }
                down[hub] = false;
            }
            Event::OutageStarts { system } => {
                let name = SYSTEMS[system];
                eprintln!("  {t}: outage of {name} starts");
                faults_of(sandbox, name).set_plan(FaultPlan {
                    error_rate: 1.0,
                    ..plan.faults_of(name)
                });
            }
            Event::OutageEnds { system } => {
                let name = SYSTEMS[system];
                eprintln!("  {t}: outage of {name} ends");
                faults_of(sandbox, name).set_plan(plan.faults_of(name));
            }
        }
    }
}
