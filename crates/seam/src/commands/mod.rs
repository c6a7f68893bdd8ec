//! One module per subcommand.

pub mod audit;
pub mod bench;
pub mod bench_orders;
pub mod bench_reconcile;
pub mod bench_stock;
pub mod check_config;
pub mod exceptions;
pub mod hub_process;
pub mod migrate;
pub mod reconcile;
pub mod run;
pub mod sandbox;
pub mod soak;
pub mod stock;
pub mod trace;
