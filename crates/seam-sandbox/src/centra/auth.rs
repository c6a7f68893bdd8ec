//! Integration API tokens and permissions. A token has an integration name
//! (which owns the event queue), a permission set and an optional expiry.
//! Resolvers call `require`, which records the permission in
//! `extensions.permissionsUsed` and answers Centra's authorization error.

use std::collections::BTreeSet;
use std::sync::Mutex;

use async_graphql::{Context, ErrorExtensions};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Permissions the simulator checks. Object-level names are documented;
/// the mapping of some fields to permissions is inferred.
pub const ALL_PERMISSIONS: &[&str] = &[
    "Order:read",
    "Order:write",
    "Order.shippingAddress:read",
    "Order.billingAddress:read",
    "Order.isLocked:write",
    "Customer:read",
    "PaymentHistoryEntry:read",
    "Shipment:read",
    "Shipment:write",
    "Payment.capture:write",
    "Return:read",
    "Return:write",
    "Product:read",
    "Warehouse:read",
    "Warehouse.stock:read",
    "ProductSize.stock:read",
    "ProductSize.stockTotals:read",
    "StockChange:write",
    "Event:read",
    "Event:write",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenConfig {
    pub token: String,
    pub integration: String,
    pub permissions: BTreeSet<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl TokenConfig {
    /// A token holding every permission.
    pub fn full(token: &str, integration: &str) -> Self {
        TokenConfig {
            token: token.into(),
            integration: integration.into(),
            permissions: ALL_PERMISSIONS.iter().map(|p| p.to_string()).collect(),
            expires_at: None,
        }
    }

    pub fn with_permissions(token: &str, integration: &str, permissions: &[&str]) -> Self {
        TokenConfig {
            token: token.into(),
            integration: integration.into(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
            expires_at: None,
        }
    }
}

/// The authenticated caller of one request.
pub struct Caller {
    pub integration: String,
    pub permissions: BTreeSet<String>,
    pub used: Mutex<BTreeSet<String>>,
}

impl Caller {
    pub fn new(token: &TokenConfig) -> Self {
        Caller {
            integration: token.integration.clone(),
            permissions: token.permissions.clone(),
            used: Mutex::new(BTreeSet::new()),
        }
    }

    pub fn has(&self, permission: &str) -> bool {
        self.permissions.contains(permission)
    }

    pub fn used(&self) -> Vec<String> {
        self.used
            .lock()
            .map(|u| u.iter().cloned().collect())
            .unwrap_or_default()
    }
}

pub fn caller<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Caller> {
    ctx.data::<std::sync::Arc<Caller>>().map(|c| c.as_ref())
}

/// Checks a permission for the field being resolved.
pub fn require(ctx: &Context<'_>, permission: &str) -> async_graphql::Result<()> {
    let caller = caller(ctx)?;
    if let Ok(mut used) = caller.used.lock() {
        used.insert(permission.to_string());
    }
    if caller.has(permission) {
        return Ok(());
    }
    let field = ctx.field().name().to_string();
    Err(async_graphql::Error::new(format!(
        "You need {permission} permission to access {field}."
    ))
    .extend_with(|_, e| e.set("category", "authorization")))
}
