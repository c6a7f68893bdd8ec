//! Public types of the simulator's typed admin API (also its `/_admin` JSON,
//! which is ours and therefore snake_case), and the partner API's order view.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::messages::{DispatchConfirmation, Disposition, Grade, ReturnedLine};

/// An item of the warehouse's catalogue (item master).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueItem {
    pub sku: String,
    #[serde(default)]
    pub description: String,
    /// Refurbished goods need `ItemCondition` and `Grade` on order lines.
    #[serde(default)]
    pub refurbished: bool,
}

/// Units of a SKU in one status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockLevel {
    pub sku: String,
    pub status: String,
    pub quantity: u64,
}

/// Move `quantity` units of a SKU from one status to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MovementRequest {
    pub sku: String,
    pub from: String,
    pub to: String,
    pub quantity: u64,
}

/// Result of a bulk movement: each movement is applied or refused alone.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BulkOutcome {
    pub applied: usize,
    /// Feed cursor of the last message emitted (0 if none).
    pub last_sequence: u64,
    /// (index in the batch, reason).
    pub rejected: Vec<(usize, String)>,
}

/// Dispatch some or all of an order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DispatchRequest {
    /// Lines and quantities in this parcel; `None` ships everything still open.
    #[serde(default)]
    pub lines: Option<Vec<DispatchLineRequest>>,
    /// Defaults to the order's `DeliveryAgent`.
    #[serde(default)]
    pub carrier: Option<String>,
    /// Defaults to the order's `DeliveryService`.
    #[serde(default)]
    pub service: Option<String>,
    /// Generated in the carrier's format when absent.
    #[serde(default)]
    pub tracking_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DispatchLineRequest {
    pub line_item_id: String,
    pub quantity: u64,
}

/// A return arriving at the warehouse, with the grading it will get.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReturnRequest {
    #[serde(default)]
    pub order_number: Option<String>,
    #[serde(default)]
    pub rma: Option<String>,
    pub lines: Vec<ReturnLineRequest>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnLineRequest {
    /// The order line; its SKU is used when `sku` is absent.
    #[serde(default)]
    pub line_item_id: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
    pub quantity: u64,
    pub grade: Grade,
    pub disposition: Disposition,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A return as the warehouse holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnRecord {
    pub return_id: String,
    pub order_number: Option<String>,
    pub rma: Option<String>,
    pub lines: Vec<ReturnedLine>,
    pub received_at: DateTime<Utc>,
    /// `None` while the units wait in `Pending Inspection`.
    pub graded_at: Option<DateTime<Utc>>,
}

/// Where webhooks go and the secret that signs them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookTarget {
    pub url: String,
    pub secret: String,
}

/// A stock file the warehouse has published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StockFileInfo {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub rows: u64,
    /// The feed cursor the file is consistent with.
    pub feed_cursor: u64,
}

/// Answer to a successful `PUT /orders/{OrderNumber}` [I].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderAck {
    pub success: bool,
    pub order_number: String,
    pub status: String,
    /// Increases with each accepted change; an identical re-PUT keeps it.
    pub version: u32,
}

/// `GET /orders/{OrderNumber}` (ACS documents no read shape; inferred [I]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderView {
    pub success: bool,
    pub account_code: String,
    pub order_number: String,
    pub status: String,
    pub version: u32,
    pub order_date: NaiveDate,
    pub delivery_service: String,
    pub delivery_agent: String,
    pub order_cancelled: bool,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub order_items: Vec<OrderLineView>,
    pub dispatches: Vec<DispatchConfirmation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderLineView {
    pub line_item_id: String,
    pub garment_sku: String,
    pub is_hire: bool,
    pub item_price: Decimal,
    pub item_quantity: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_condition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    pub quantity_allocated: u64,
    pub quantity_dispatched: u64,
    pub quantity_returned: u64,
}

/// Everything to seed in one call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Seed {
    #[serde(default)]
    pub catalogue: Vec<CatalogueItem>,
    #[serde(default)]
    pub stock: Vec<StockLevel>,
}

/// Service codes and carriers the warehouse accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceCodes {
    pub service_codes: Vec<String>,
    pub delivery_agents: Vec<String>,
}

/// Stock of every SKU by status, summed (for checks against the stock file).
pub type StatusTotals = BTreeMap<String, u64>;
