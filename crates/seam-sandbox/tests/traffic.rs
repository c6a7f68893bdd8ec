//! The sandbox and its traffic generator.

use seam_sandbox::sandbox::{Sandbox, SandboxOptions};
use seam_sandbox::traffic::{Systems, TrafficConfig, TrafficGenerator};

async fn run(seed: u64, steps: usize) -> (Vec<String>, Sandbox, TrafficGenerator) {
    let sandbox = Sandbox::start(SandboxOptions {
        seed,
        base_port: 0,
        styles: 10,
    })
    .await
    .unwrap();
    let mut generator = TrafficGenerator::new(
        Systems::of(&sandbox),
        TrafficConfig {
            seed,
            ..Default::default()
        },
    );
    let log = (0..steps).map(|_| generator.step()).collect();
    (log, sandbox, generator)
}

#[tokio::test]
async fn traffic_places_authorised_orders_and_moves_stock() {
    let (_, sandbox, generator) = run(7, 300).await;
    let stats = generator.stats();
    let placed = generator.placed_orders().len();
    assert!(placed > 50, "orders placed: {placed}");
    assert!(
        stats
            .stock_movements
            .load(std::sync::atomic::Ordering::Relaxed)
            > 20
    );
    assert_eq!(
        sandbox.adyen.payments().len(),
        placed,
        "every order is authorised in Adyen first"
    );
    let currencies: std::collections::BTreeSet<_> = generator
        .placed_orders()
        .iter()
        .filter_map(|n| sandbox.centra.order(*n))
        .map(|o| o.currency)
        .collect();
    assert_eq!(currencies.len(), 3, "several currencies: {currencies:?}");
    let methods: std::collections::BTreeSet<_> = generator
        .placed_orders()
        .iter()
        .filter_map(|n| sandbox.centra.order(*n))
        .map(|o| o.shipping.name)
        .collect();
    assert!(
        methods.contains("Express Saturday"),
        "the unmapped method is used: {methods:?}"
    );
    for number in generator.placed_orders() {
        let order = sandbox.centra.order(*number).unwrap();
        let payment = sandbox.adyen.payment(&order.psp_reference).unwrap();
        assert_eq!(payment.currency, order.currency);
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_trading() {
    let (a, _, _) = run(11, 120).await;
    let (b, _, _) = run(11, 120).await;
    assert_eq!(a, b);
}

#[tokio::test]
async fn the_hub_config_names_every_simulator() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let config = sandbox.hub_config(".seam-demo", "127.0.0.1:8080");
    for (name, url) in sandbox.urls() {
        assert!(
            config.contains(&url),
            "{name} at {url} missing from:\n{config}"
        );
    }
}
