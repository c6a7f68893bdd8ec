//! `seam sandbox` and `seam demo`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use seam_sandbox::sandbox::{Sandbox, SandboxOptions};
use seam_sandbox::traffic::{Mix, Systems, TrafficConfig, TrafficGenerator};
use tokio_util::sync::CancellationToken;

use super::run::{serve_hub, shutdown_signal};

#[derive(Args)]
pub struct SandboxArgs {
    /// Seed for the simulators' data, faults and traffic.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First of five consecutive ports (Centra, 3PL, Reveni, NetSuite, Adyen).
    #[arg(long, default_value_t = 7100)]
    base_port: u16,
    /// Styles in the demo catalogue (ten SKUs each).
    #[arg(long, default_value_t = 20)]
    styles: usize,
    /// Also run the traffic generator.
    #[arg(long)]
    traffic: bool,
    /// Traffic actions per second.
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Traffic mix as JSON weights, e.g. '{"place_order": 60, "stock_movement": 40}'
    /// (keys: place_order, stock_movement, dispatch, return_request,
    /// exchange_request, receive_return, erp_edit; missing keys keep their default).
    #[arg(long, value_parser = parse_mix)]
    mix: Option<Mix>,
}

fn parse_mix(text: &str) -> Result<Mix, String> {
    serde_json::from_str(text).map_err(|e| format!("--mix: {e}"))
}

#[derive(Args)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First of five consecutive simulator ports; 0 picks free ones.
    #[arg(long, default_value_t = 0)]
    base_port: u16,
    /// Where the hub's dashboard and API listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Traffic actions per second.
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Traffic mix as JSON weights (see `seam sandbox --help`).
    #[arg(long, value_parser = parse_mix)]
    mix: Option<Mix>,
    /// Stop by itself after this long (e.g. "30s"); default: run until Ctrl-C.
    #[arg(long, value_parser = humantime_duration)]
    duration: Option<Duration>,
}

fn humantime_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| e.to_string())
}

pub async fn sandbox(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    let sandbox = Sandbox::start(SandboxOptions {
        seed: args.seed,
        base_port: args.base_port,
        styles: args.styles,
    })
    .await
    .context("starting the simulators (is a port in use? try --base-port)")?;
    eprintln!("Seam sandbox running (seed {}):", args.seed);
    for (name, url) in sandbox.urls() {
        eprintln!("  {name:<10} {url}   (admin: {url}/_admin)");
    }
    eprintln!("\nA hub connects with this seam.toml (printed on standard output):\n");
    println!("{}", sandbox.hub_config(".seam", "127.0.0.1:8080"));
    let stop = CancellationToken::new();
    let traffic = args.traffic.then(|| {
        let mut generator = TrafficGenerator::new(
            Systems::of(&sandbox),
            TrafficConfig {
                seed: args.seed,
                rate: args.rate,
                mix: args.mix.clone().unwrap_or_default(),
            },
        );
        let stop = stop.clone();
        tokio::spawn(async move { generator.run(stop).await })
    });
    eprintln!("Ctrl-C to stop.");
    shutdown_signal().await;
    stop.cancel();
    if let Some(traffic) = traffic {
        traffic.await?;
    }
    sandbox.stop().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn demo(args: DemoArgs, _config: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let sandbox = Sandbox::start(SandboxOptions {
        seed: args.seed,
        base_port: args.base_port,
        styles: 20,
    })
    .await
    .context("starting the simulators")?;
    let data = tempfile::Builder::new().prefix("seam-demo-").tempdir()?;
    let config_path = data.path().join("seam.toml");
    let data_dir = data.path().join("data");
    std::fs::write(
        &config_path,
        sandbox.hub_config(&data_dir.display().to_string(), &args.listen),
    )?;
    let config = seam_config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut reachable = config.hub.listen;
    if reachable.ip().is_unspecified() {
        reachable.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    sandbox.connect_webhooks(&format!("http://{reachable}"));

    let stop = CancellationToken::new();
    let mut hub = tokio::spawn(serve_hub(config, Some("demo".into()), stop.clone()));
    let mut generator = TrafficGenerator::new(
        Systems::of(&sandbox),
        TrafficConfig {
            seed: args.seed,
            rate: args.rate,
            mix: args.mix.clone().unwrap_or_default(),
        },
    );
    let stats = generator.stats();
    let traffic = {
        let stop = stop.clone();
        tokio::spawn(async move { generator.run(stop).await })
    };

    eprintln!("Seam demo running:");
    eprintln!("  dashboard  http://{}/", args.listen);
    eprintln!(
        "  health     http://{}/health   metrics http://{}/metrics",
        args.listen, args.listen
    );
    for (name, url) in sandbox.urls() {
        eprintln!("  {name:<10} {url}");
    }
    eprintln!("  config     {}", config_path.display());
    eprintln!("Trading at {} actions/s; Ctrl-C to stop.", args.rate);

    let deadline = async {
        match args.duration {
            Some(duration) => tokio::time::sleep(duration).await,
            None => std::future::pending::<()>().await,
        }
    };
    let ended_by_itself = tokio::select! {
        _ = shutdown_signal() => None,
        _ = deadline => None,
        result = &mut hub => Some(result),
    };
    stop.cancel();
    match ended_by_itself {
        Some(result) => result??,
        None => hub.await??,
    }
    stop.cancel();
    traffic.await?;
    sandbox.stop().await;
    use std::sync::atomic::Ordering::Relaxed;
    eprintln!(
        "Stopped. Traffic: {} orders, {} stock movements, {} dispatches, {} returns, {} exchanges, {} returns received, {} ERP edits.",
        stats.orders_placed.load(Relaxed),
        stats.stock_movements.load(Relaxed),
        stats.dispatches.load(Relaxed),
        stats.returns_requested.load(Relaxed),
        stats.exchanges_requested.load(Relaxed),
        stats.returns_received.load(Relaxed),
        stats.erp_edits.load(Relaxed),
    );
    Ok(ExitCode::SUCCESS)
}
