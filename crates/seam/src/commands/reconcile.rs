//! `seam reconcile`: compare the systems for a period now (the hub also
//! does it on a schedule, `[reconcile] every`), and the month-end finance
//! report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use seam_connectors::centra::CentraClient;
use seam_connectors::netsuite::NetSuiteClient;
use seam_connectors::reveni::ReveniClient;
use seam_engine::{Clock, SystemClock};
use seam_flows::reconcile::report::{finance_report, to_csv};
use seam_flows::reconcile::{
    reconcile_orders, reconcile_stock, LiveObserver, PassOptions, PassSummary, Period,
};

use crate::context;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReconcileArgs {
    #[command(subcommand)]
    command: Option<ReconcileCommand>,
    /// First day of the orders to compare (YYYY-MM-DD, inclusive).
    #[arg(long, requires = "to", conflicts_with = "since")]
    from: Option<String>,
    /// Last day (inclusive).
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// Orders from this day (YYYY-MM-DD) up to today. Without any of
    /// these: the last `reconcile.lookback_days` days.
    #[arg(long)]
    since: Option<String>,
    /// Orders read and compared per chunk.
    #[arg(long, default_value_t = 500)]
    chunk: u32,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum ReconcileCommand {
    /// The month-end finance report: orders, captures, refunds, credit
    /// memos, write-offs and variances, per currency.
    Report(ReportArgs),
}

#[derive(Args)]
pub struct ReportArgs {
    /// The month, YYYY-MM.
    #[arg(long)]
    period: String,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

pub async fn run(path: Option<PathBuf>, args: ReconcileArgs) -> anyhow::Result<ExitCode> {
    let config = context::load_config(path)?;
    let store = context::open_store(&config).await?;
    if let Some(ReconcileCommand::Report(report)) = args.command {
        let period = Period::month(&report.period)?;
        let built = finance_report(&*store, &period, &config.mappings, 1_000).await?;
        let text = match report.format {
            Format::Csv => to_csv(&built),
            Format::Json => serde_json::to_string_pretty(&built)? + "\n",
        };
        match report.output {
            Some(file) => std::fs::write(&file, text)
                .with_context(|| format!("writing {}", file.display()))?,
            None => print!("{text}"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let now = SystemClock.now_ms();
    let period = match (&args.from, &args.to, &args.since) {
        (Some(from), Some(to), _) => Period::days(from, to)?,
        (_, _, Some(since)) => Period::days(since, &Period::last_days(now, 1).to)?,
        _ => Period::last_days(now, config.reconcile.lookback_days),
    };
    let connectors = &config.connectors;
    let (Some(centra), Some(netsuite)) = (&connectors.centra, &connectors.netsuite) else {
        anyhow::bail!(
            "reconciliation needs connectors.centra and connectors.netsuite in {}",
            config.source.display()
        );
    };
    let observer = LiveObserver {
        centra: CentraClient::new(centra, Some(store.clone())),
        netsuite: NetSuiteClient::new(netsuite, Some(store.clone())),
        reveni: connectors
            .reveni
            .as_ref()
            .map(|r| ReveniClient::new(r, Some(store.clone()))),
    };
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message(format!("reconciling {} to {}", period.from, period.to));
    let started = Instant::now();
    let options = PassOptions {
        chunk: args.chunk.max(1),
        ..PassOptions::default()
    };
    let progress_bar = bar.clone();
    let orders = reconcile_orders(
        &*store,
        &observer,
        &period,
        options,
        now,
        &mut move |s: &PassSummary| {
            progress_bar.set_message(format!(
                "{} orders read, {} compared, {} variances",
                s.orders_scanned,
                s.orders_compared,
                s.variances_found()
            ))
        },
    )
    .await?;
    let stock = reconcile_stock(&*store, options.chunk, now).await?;
    bar.finish_and_clear();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "period": period,
                "orders": orders,
                "stock": stock,
                "seconds": started.elapsed().as_secs_f64(),
            }))?
        );
    } else {
        println!(
            "reconciled {} to {} in {:.1?}: {} orders compared ({} left for next time: {} in flight, {} unread), {} SKUs",
            period.from,
            period.to,
            started.elapsed(),
            orders.orders_compared,
            orders.orders_in_flight + orders.orders_unread,
            orders.orders_in_flight,
            orders.orders_unread,
            stock.skus_compared
        );
        for (kind, n) in orders.found.iter().chain(stock.found.iter()) {
            println!("  {kind}: {n}");
        }
        println!(
            "variances: {} new, {} still open, {} cleared; {} exceptions raised",
            orders.opened + stock.opened,
            orders.seen_again + stock.seen_again,
            orders.cleared + stock.cleared,
            orders.exceptions_raised
        );
        for reason in &orders.unread_reasons {
            println!("  unread: {reason}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
