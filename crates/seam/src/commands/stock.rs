//! `seam stock`: operations on the stock flow.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use seam_engine::{Clock, SystemClock};
use seam_flows::stock::{resync_job, FEED_STATE, PUSH_SET};

use crate::context;

#[derive(Subcommand)]
pub enum StockCommand {
    /// Rebuild every SKU's position from a fresh warehouse snapshot and set
    /// Centra again; safe while trading goes on. Needs `seam run` running.
    Resync {
        /// Give up waiting after this long.
        #[arg(long, default_value = "30m", value_parser = |s: &str| humantime::parse_duration(s).map_err(|e| e.to_string()))]
        timeout: Duration,
    },
}

pub async fn run(path: Option<PathBuf>, command: StockCommand) -> anyhow::Result<ExitCode> {
    let config = context::load_config(path)?;
    let store = context::open_store(&config).await?;
    let StockCommand::Resync { timeout } = command;
    let before = store
        .entity_state(FEED_STATE.0, FEED_STATE.1)
        .await?
        .map(|s| s.version)
        .unwrap_or(0);
    store.enqueue(&[resync_job()], SystemClock.now_ms()).await?;
    let started = Instant::now();
    let spinner = ProgressBar::new_spinner();
    spinner.set_message("waiting for the hub to take a fresh snapshot (is `seam run` running?)");
    spinner.enable_steady_tick(Duration::from_millis(120));
    loop {
        let version = store
            .entity_state(FEED_STATE.0, FEED_STATE.1)
            .await?
            .map(|s| s.version)
            .unwrap_or(0);
        if version > before {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < timeout,
            "no hub took the resync within {timeout:?}; it stays queued"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    spinner.finish_and_clear();
    let total = store.marked(PUSH_SET, u32::MAX).await?.len() as u64;
    let bar = ProgressBar::new(total.max(1));
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} SKUs set in Centra ({eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    loop {
        let remaining = store.marked(PUSH_SET, u32::MAX).await?.len() as u64;
        bar.set_position(total.saturating_sub(remaining));
        if remaining == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < timeout,
            "{remaining} SKUs still to push after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bar.finish_and_clear();
    println!(
        "resync done: {total} SKUs checked against a fresh snapshot in {:.1?}",
        started.elapsed()
    );
    Ok(ExitCode::SUCCESS)
}
