//! `seam check-config`: validate and list every error with file, line and key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let path = path.unwrap_or_else(|| Path::new("seam.toml").to_path_buf());
    match seam_config::load(&path) {
        Ok(config) => {
            let c = &config.connectors;
            let enabled: Vec<&str> = [
                c.centra.as_ref().map(|_| "centra"),
                c.warehouse.as_ref().map(|_| "warehouse"),
                c.reveni.as_ref().map(|_| "reveni"),
                c.netsuite.as_ref().map(|_| "netsuite"),
                c.adyen.as_ref().map(|_| "adyen"),
            ]
            .into_iter()
            .flatten()
            .collect();
            println!("{}: ok", path.display());
            println!("  database: {}", redact(config.hub.database_url.expose()));
            println!("  listen: {}", config.hub.listen);
            println!(
                "  connectors: {}",
                if enabled.is_empty() {
                    "none".to_string()
                } else {
                    enabled.join(", ")
                }
            );
            let m = &config.mappings;
            println!(
                "  mappings: {} shipping methods, {} stock statuses, {} dispositions, {} SKU aliases",
                m.shipping_methods.len(),
                m.stock_statuses.len(),
                m.dispositions.len(),
                m.sku_aliases.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for error in &errors.0 {
                eprintln!("{error}");
            }
            eprintln!("{} error(s) in {}", errors.0.len(), path.display());
            Ok(ExitCode::from(2))
        }
    }
}

/// A database URL with any password hidden.
pub fn redact(url: &str) -> String {
    seam_engine::store::redact_url(url)
}
