//! `seam migrate`: apply the embedded migrations.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::context;

pub async fn run(path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config = context::load_config(path)?;
    context::open_store(&config).await?;
    println!(
        "database is up to date: {}",
        super::check_config::redact(config.hub.database_url.expose())
    );
    Ok(ExitCode::SUCCESS)
}
