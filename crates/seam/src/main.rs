//! `seam`: the command line of the integration hub.
//!
//! Data goes to standard output, logs and progress to standard error, so
//! that `seam exceptions list --json | jq` works.

mod commands;
mod context;
mod logging;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "seam",
    version,
    about = "The integration hub between Centra and the systems behind it"
)]
struct Cli {
    /// The configuration file. Without one, ./seam.toml is used if it
    /// exists, else the embedded default (SQLite in ./.seam, no connectors).
    #[arg(long, short, global = true, env = "SEAM_CONFIG")]
    config: Option<PathBuf>,

    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = logging::LogFormat::Human)]
    log_format: logging::LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub: webhooks, pollers, job runner and dashboard.
    Run(commands::run::RunArgs),
    /// The demo: the five simulators, a hub on SQLite in a temporary
    /// directory wired to them, and the traffic generator.
    Demo(commands::sandbox::DemoArgs),
    /// Run the simulators of Centra, the 3PL, Reveni, NetSuite and Adyen,
    /// and print the seam.toml that connects a hub to them.
    Sandbox(commands::sandbox::SandboxArgs),
    /// Validate the configuration and name every error's file, line and key.
    CheckConfig,
    /// Apply the database migrations and exit.
    Migrate,
    /// List, inspect, resubmit and resolve exceptions.
    #[command(subcommand)]
    Exceptions(commands::exceptions::ExceptionsCommand),
    /// Operations on the stock flow (resync).
    #[command(subcommand)]
    Stock(commands::stock::StockCommand),
    /// Audit the catalogue against what the 3PL requires (exits 1 when a
    /// SKU would be refused).
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Compare Centra, NetSuite, the PSP, Reveni and the 3PL for a period
    /// (`report`: the month-end finance report).
    Reconcile(commands::reconcile::ReconcileArgs),
    /// Print the story of an order, return or SKU across every system.
    Trace(commands::trace::TraceArgs),
    /// Measure Seam's own throughput.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
    /// Proof under faults: simulators with faults on, traffic, the hub
    /// killed with SIGKILL and restarted, then the invariants checked.
    Soak(commands::soak::SoakArgs),
}

// glibc's allocator spent a tenth of the order benchmark's CPU in malloc
// and free (consolidation under many threads); mimalloc does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let config_path = cli.config;
        match cli.command {
            Command::Run(args) => commands::run::run(config_path, args).await,
            Command::Demo(args) => commands::sandbox::demo(args, config_path).await,
            Command::Sandbox(args) => commands::sandbox::sandbox(args).await,
            Command::CheckConfig => commands::check_config::run(config_path),
            Command::Migrate => commands::migrate::run(config_path).await,
            Command::Exceptions(command) => commands::exceptions::run(config_path, command).await,
            Command::Stock(command) => commands::stock::run(config_path, command).await,
            Command::Audit(command) => commands::audit::run(config_path, command).await,
            Command::Reconcile(args) => commands::reconcile::run(config_path, args).await,
            Command::Trace(args) => commands::trace::run(config_path, args).await,
            Command::Bench(command) => commands::bench::run(config_path, command).await,
            Command::Soak(args) => commands::soak::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
