//! Centra's GraphQL answers decoded into the connector's response types,
//! and an order that decodes turned into Seam's canonical order (its money
//! allocated), as the order flow does. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seam_connectors::centra::{self, Order, Product, Shipment, StockChange};

fuzz_target!(|data: &[u8]| {
    if let Ok(answer) = centra::decode_answer::<Option<Order>>(data, "order", false) {
        if let Some(order) = answer.value {
            let _ = seam_flows::orders::canonical::canonical_order(&order);
        }
    }
    if let Ok(answer) = centra::decode_answer::<Vec<Order>>(data, "orders", false) {
        for order in &answer.value {
            let _ = seam_flows::orders::canonical::canonical_order(order);
        }
    }
    let _ = centra::decode_answer::<Vec<Product>>(data, "products", false);
    let _ = centra::decode_answer::<serde_json::Value>(data, "createShipment", true);
    let _ = centra::decode_answer::<Option<Shipment>>(data, "shipment", false);
    let _ = centra::decode_answer::<Vec<StockChange>>(data, "stockChanges", true);
});
