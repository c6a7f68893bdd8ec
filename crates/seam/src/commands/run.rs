//! `seam run`: the hub itself.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use seam_engine::backoff::BackoffPolicy;
use seam_engine::scheduler::Scheduler;
use seam_engine::{Runner, RunnerConfig, SystemClock};
use tokio_util::sync::CancellationToken;

use seam_config::Config;

use crate::context;

#[derive(Args)]
pub struct RunArgs {
    /// Names this process's job claims (default: host name and a random suffix).
    #[arg(long)]
    worker_id: Option<String>,
}

pub async fn run(path: Option<PathBuf>, args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = context::load_config(path)?;
    let stop = CancellationToken::new();
    let mut hub = tokio::spawn(serve_hub(config, args.worker_id, stop.clone()));
    let ended_by_itself = tokio::select! {
        _ = shutdown_signal() => None,
        // The hub stops by itself only on an error (e.g. the port is taken).
        result = &mut hub => Some(result),
    };
    tracing::info!("shutting down: finishing the jobs in hand");
    stop.cancel();
    match ended_by_itself {
        Some(result) => result??,
        None => hub.await??,
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Runs the hub (runner, scheduler, HTTP server) until `stop` is cancelled,
/// then finishes the jobs in hand and returns.
pub async fn serve_hub(
    config: Config,
    worker_id: Option<String>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let store = context::open_store(&config).await?;
    tracing::info!(config = %config.source.display(), "seam starting");

    // Several hub processes share one PostgreSQL database and must share
    // each vendor's budget through it; SQLite means one process, whose own
    // limiters suffice without a database write per API call.
    let shared_budgets = config
        .hub
        .database_url
        .expose()
        .starts_with("postgres")
        .then(|| store.clone());
    let settings = seam_flows::wiring::FlowSettings {
        stock: (&config.stock).into(),
        ..Default::default()
    };
    let wiring = seam_flows::wiring::wire(&config, shared_budgets, settings);
    for line in &wiring.report {
        tracing::info!("{line}");
    }
    let (handlers, tasks) = (wiring.handlers, wiring.tasks);
    let engine = &config.engine;
    let runner = Arc::new(Runner::new(
        store.clone(),
        handlers,
        Arc::new(SystemClock),
        RunnerConfig {
            worker_id: worker_id.unwrap_or_else(default_worker_id),
            ..runner_config(engine)
        },
    ));
    let runner_task = {
        let runner = runner.clone();
        let stop = stop.clone();
        tokio::spawn(async move { runner.run(stop).await })
    };
    let scheduler =
        Scheduler::new(store.clone(), Arc::new(SystemClock), tasks).waking(runner.waker());
    let scheduler_task = {
        let stop = stop.clone();
        tokio::spawn(async move { scheduler.run(stop).await })
    };
    let state = seam_server::ServerState {
        store: store.clone(),
        runner: Some(runner.stats()),
    };
    let server_stop = stop.clone();
    let c = &config.connectors;
    let ingress = seam_server::ingress::Ingress {
        store: store.clone(),
        clock: Arc::new(SystemClock),
        secrets: seam_server::ingress::IngressSecrets {
            centra: c
                .centra
                .as_ref()
                .and_then(|c| c.webhook_secret.as_ref())
                .map(|s| s.expose().to_string()),
            adyen_hmac_hex: c
                .adyen
                .as_ref()
                .and_then(|a| a.hmac_key.as_ref())
                .map(|s| s.expose().to_string()),
            reveni: c
                .reveni
                .as_ref()
                .and_then(|r| r.webhook_secret.as_ref())
                .map(|s| {
                    (
                        seam_connectors::reveni::DEFAULT_SECRET_HEADER.to_string(),
                        s.expose().to_string(),
                    )
                }),
        },
        wake: Some(runner.waker()),
    };
    let router = seam_server::router(state).merge(seam_server::ingress::routes(ingress));
    let server = seam_server::serve(config.hub.listen, router, async move {
        server_stop.cancelled().await
    })
    .await;
    // The server returns when stopped or when it cannot listen; either way stop the rest.
    stop.cancel();
    runner_task.await??;
    scheduler_task.await?;
    server.map_err(|e| anyhow::anyhow!("cannot serve on {}: {e}", config.hub.listen))?;
    Ok(())
}

/// The runner `[engine]` configures (the hub and the benchmarks run the same one).
pub(crate) fn runner_config(engine: &seam_config::EngineConfig) -> RunnerConfig {
    RunnerConfig {
        worker_id: default_worker_id(),
        batch_size: engine.batch_size,
        lease: engine.lease,
        idle_poll: Duration::from_millis(200),
        concurrency: engine.concurrency,
        backoff: BackoffPolicy {
            base: engine.backoff_base,
            cap: engine.backoff_cap,
            max_attempts: engine.max_attempts,
        },
        seed: rand::random(),
    }
}

fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "seam".into());
    format!("{host}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
