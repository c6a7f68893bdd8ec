//! Loading the configuration and opening the store, shared by the commands.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use seam_config::Config;
use seam_engine::Store;

/// Loads the configuration the command line names, or the default one.
pub fn load_config(path: Option<PathBuf>) -> anyhow::Result<Config> {
    let path = path.or_else(|| {
        let local = Path::new("seam.toml");
        local.exists().then(|| local.to_path_buf())
    });
    match path {
        Some(path) => seam_config::load(&path).map_err(|errors| {
            anyhow::anyhow!("{errors}\n(run `seam check-config` to list every problem)")
        }),
        None => Ok(seam_config::embedded_default()),
    }
}

/// Opens and migrates the configured store.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let store = seam_engine::open_store(config.hub.database_url.expose())
        .await
        .with_context(|| format!("configured in {}", config.source.display()))?;
    store.migrate().await.context("migrating the database")?;
    Ok(store)
}
