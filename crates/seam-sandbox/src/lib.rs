//! Simulators of the five systems Seam connects, speaking their real HTTP
//! APIs over loopback: Centra (GraphQL), the 3PL (ACS-style partner API),
//! Reveni, NetSuite (REST record API) and Adyen (Checkout modifications).
//!
//! They are part of the product: integrators develop and test mappings
//! against them before go-live, the end-to-end tests and benchmarks run over
//! them, and `seam demo` shows Seam working with them. Each simulator keeps
//! consistent state, rejects what the real system rejects in that system's
//! error shape, and has an admin API under `/_admin` (seed, inspect, inject
//! faults, release events). Where the vendor's behaviour is inferred rather
//! than documented, the code says so next to it.

pub mod adyen;
pub mod brand;
pub mod centra;
pub mod faults;
pub mod netsuite;
pub mod reveni;
pub mod sandbox;
pub mod server;
pub mod traffic;
pub mod warehouse;
pub mod webhooks;
