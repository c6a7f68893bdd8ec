//! `seam bench`: measures Seam's real paths, never a shortcut.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use seam_engine::store::{PostgresStore, SqliteStore};
use seam_engine::{
    Clock, HandlerRegistry, InboundEvent, Job, JobContext, JobHandler, JobSpec, Outcome, Runner,
    RunnerConfig, Store, SystemClock,
};
use tokio_util::sync::CancellationToken;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Jobs per second through journal, job, a no-op handler and done.
    Engine(EngineArgs),
    /// The stock flow: staleness, writes, 429s and overselling under load.
    Stock(super::bench_stock::StockArgs),
    /// Order to cash: orders/s from Centra to verified in the 3PL and
    /// NetSuite, latency and CPU per order (hub mode), or the share of the
    /// slowest vendor API's allowance achieved (vendor mode).
    Orders(super::bench_orders::OrdersArgs),
    /// Reconciliation: orders compared per second from local state, and
    /// peak memory (VmHWM).
    Reconcile(super::bench_reconcile::ReconcileArgs),
}

#[derive(Args)]
pub struct EngineArgs {
    /// How many events to push through.
    #[arg(long, default_value_t = 200_000)]
    jobs: usize,
    /// Distinct entities the events spread over.
    #[arg(long, default_value_t = 50_000)]
    entities: usize,
    /// Events per ingest transaction (as a webhook batch or poll page).
    #[arg(long, default_value_t = 1_000)]
    ingest_batch: usize,
    /// Jobs claimed and committed per runner round.
    #[arg(long, default_value_t = 2_000)]
    claim_batch: u32,
    /// Runners in this process.
    #[arg(long, default_value_t = 1)]
    runners: usize,
    /// `postgres://...` to measure PostgreSQL (a fresh schema is created and
    /// dropped); default: a fresh SQLite file in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
}

struct NoOp;

#[async_trait]
impl JobHandler for NoOp {
    async fn handle(&self, _job: &Job, _ctx: &JobContext) -> Outcome {
        Outcome::done()
    }
}

pub async fn run(_config: Option<PathBuf>, command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Engine(args) => engine(args).await,
        BenchCommand::Stock(args) => super::bench_stock::run(args)
            .await
            .map(|()| ExitCode::SUCCESS),
        BenchCommand::Orders(args) => super::bench_orders::run(args)
            .await
            .map(|()| ExitCode::SUCCESS),
        BenchCommand::Reconcile(args) => super::bench_reconcile::run(args)
            .await
            .map(|()| ExitCode::SUCCESS),
    }
}

async fn engine(args: EngineArgs) -> anyhow::Result<ExitCode> {
    let _temp;
    let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let (store, label): (Arc<dyn Store>, String) = match &args.database_url {
        Some(url) if url.starts_with("postgres") => {
            let store = PostgresStore::open_in_schema(url, Some(&schema)).await?;
            (Arc::new(store), "PostgreSQL".into())
        }
        Some(url) => (
            Arc::new(SqliteStore::open(url).await?),
            format!("SQLite ({url})"),
        ),
        None => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            _temp = dir;
            (
                Arc::new(SqliteStore::open(&url).await?),
                "SQLite (WAL, synchronous=FULL)".into(),
            )
        }
    };
    store.migrate().await?;

    let mut handlers = HandlerRegistry::new();
    handlers.register("bench", "noop", Arc::new(NoOp));
    let runners: Vec<Arc<Runner>> = (0..args.runners.max(1))
        .map(|i| {
            Arc::new(Runner::new(
                store.clone(),
                handlers.clone(),
                Arc::new(SystemClock),
                RunnerConfig {
                    worker_id: format!("bench-{i}"),
                    batch_size: args.claim_batch,
                    idle_poll: Duration::from_millis(5),
                    concurrency: 512,
                    ..RunnerConfig::default()
                },
            ))
        })
        .collect();

    let progress = ProgressBar::new(args.jobs as u64);
    progress.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} jobs done ({per_sec})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let stop = CancellationToken::new();
    let started = Instant::now();
    let tasks: Vec<_> = runners
        .iter()
        .map(|runner| {
            let runner = runner.clone();
            let stop = stop.clone();
            tokio::spawn(async move { runner.run(stop).await })
        })
        .collect();

    let ingest = {
        let store = store.clone();
        let wakers: Vec<_> = runners.iter().map(|r| r.waker()).collect();
        let (jobs, entities, batch) = (args.jobs, args.entities.max(1), args.ingest_batch.max(1));
        tokio::spawn(async move {
            let mut next = 0usize;
            while next < jobs {
                let end = (next + batch).min(jobs);
                let events: Vec<InboundEvent> = (next..end)
                    .map(|i| InboundEvent {
                        source: "bench".into(),
                        event_id: i.to_string(),
                        payload: serde_json::json!({ "seq": i }),
                        job: JobSpec::new("bench", "noop", format!("sku:{}", i % entities)),
                    })
                    .collect();
                store.ingest(&events, SystemClock.now_ms()).await?;
                wakers.iter().for_each(|w| w.notify_one());
                next = end;
            }
            anyhow::Ok(started.elapsed())
        })
    };

    let done = || {
        runners
            .iter()
            .map(|r| r.stats().done.load(Ordering::Relaxed))
            .sum::<u64>()
    };
    while done() < args.jobs as u64 {
        progress.set_position(done());
        tokio::time::sleep(Duration::from_millis(50)).await;
        if ingest.is_finished() && started.elapsed() > Duration::from_secs(3600) {
            anyhow::bail!("the benchmark did not finish within an hour");
        }
    }
    let elapsed = started.elapsed();
    progress.finish_and_clear();
    let ingest_elapsed = ingest.await??;
    stop.cancel();
    for task in tasks {
        task.await??;
    }
    let counts = store.job_counts().await?;
    anyhow::ensure!(
        counts.queued == 0 && counts.running == 0,
        "jobs left behind: {counts:?}"
    );

    let rate = args.jobs as f64 / elapsed.as_secs_f64();
    println!("seam bench engine: {label}");
    println!(
        "  jobs:             {} over {} entities",
        args.jobs, args.entities
    );
    println!(
        "  batches:          ingest {} events, claim {} jobs, {} runner(s)",
        args.ingest_batch, args.claim_batch, args.runners
    );
    println!(
        "  ingest finished:  {:.2} s ({:.0} events/s journaled and queued)",
        ingest_elapsed.as_secs_f64(),
        args.jobs as f64 / ingest_elapsed.as_secs_f64()
    );
    println!("  all jobs done:    {:.2} s", elapsed.as_secs_f64());
    println!("  throughput:       {rate:.0} jobs/s (journal -> job -> no-op handler -> done)");

    if args
        .database_url
        .as_deref()
        .is_some_and(|u| u.starts_with("postgres"))
    {
        if let Some(url) = &args.database_url {
            let pool = sqlx::PgPool::connect(url).await?;
            sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .execute(&pool)
                .await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
