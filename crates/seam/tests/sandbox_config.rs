//! The seam.toml that `seam sandbox` prints is a valid configuration that
//! connects every connector to its simulator.

use std::path::Path;

use seam_sandbox::sandbox::{Sandbox, SandboxOptions};

#[tokio::test]
async fn the_sandbox_config_loads_with_every_connector() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let text = sandbox.hub_config(".seam-test", "127.0.0.1:0");
    let config = seam_config::parse(&text, Path::new("sandbox.toml"), &|_| None)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let c = &config.connectors;
    assert!(c.centra.is_some() && c.warehouse.is_some() && c.reveni.is_some());
    assert!(c.netsuite.is_some() && c.adyen.is_some());
    assert!(config.mappings.shipping_service("Standard").is_some());
    assert!(
        config
            .mappings
            .shipping_service("Express Saturday")
            .is_none(),
        "left unmapped for S03"
    );
    sandbox.stop().await;
}
