//! The simulated Centra's records: catalogue, stock cells, orders with their
//! lines, payments, shipments and returns, and queued events. Plain data; the
//! rules that change them live in `state`.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A custom attribute on a product or variant (Centra's "attributes": a type
/// name plus one or more elements with key/value). Used as the product master
/// for 3PL data such as `item_condition` / `grade` on refurbished goods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// Attribute type name, e.g. "item_condition".
    pub type_name: String,
    /// Element key, e.g. "grade"; Centra mapped attributes have one or more elements.
    #[serde(default)]
    pub key: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub id: i32,
    pub product_number: String,
    pub name: String,
    pub brand: Option<String>,
    pub is_bundle: bool,
    pub attributes: Vec<Attribute>,
    pub variant_ids: Vec<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    pub id: i32,
    pub product_id: i32,
    pub variant_number: String,
    pub name: String,
    pub attributes: Vec<Attribute>,
    pub size_ids: Vec<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Size {
    pub id: i32,
    pub variant_id: i32,
    pub product_id: i32,
    /// The size name from the size chart, e.g. "M" (what order lines call `size`).
    pub name: String,
    pub size_number: String,
    /// Read-only: productNumber + variantNumber + sizeNumber.
    pub sku: String,
    pub ean: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BundleSection {
    pub id: i32,
    pub quantity: i32,
    pub variant_ids: Vec<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bundle {
    pub product_id: i32,
    /// FIXED or FLEXIBLE.
    pub bundle_type: String,
    pub sections: Vec<BundleSection>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Warehouse {
    pub id: i32,
    pub name: String,
}

/// Stock of one size in one warehouse. FTA = physical − allocated; the API's
/// FTA ignores warehouse threshold and variant stock offset (documented).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StockCell {
    pub physical: i64,
    pub allocated: i64,
}

impl StockCell {
    pub fn free_to_allocate(&self) -> i64 {
        self.physical - self.allocated
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, async_graphql::Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Processing,
    Shipped,
    Cancelled,
    /// Inferred from the AMS status list (Archived = 5).
    Archived,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressData {
    pub first_name: String,
    pub last_name: String,
    pub company_name: Option<String>,
    pub address1: String,
    pub address2: Option<String>,
    pub city: String,
    pub zip_code: String,
    pub state_or_province: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    pub email: Option<String>,
    pub phone_number: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppliedVoucher {
    pub name: String,
    pub code: Option<String>,
    /// Discount amount (positive number), including tax.
    pub value: Decimal,
    pub date: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentEntryType {
    Auth,
    Capture,
    CaptureFailed,
    CaptureRequest,
    Refund,
    RefundFailed,
    Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Success,
    Pending,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct PaymentEntry {
    pub id: i32,
    pub created_at: DateTime<Utc>,
    pub entry_type: PaymentEntryType,
    pub status: PaymentStatus,
    /// The PSP's reference (Adyen pspReference of the authorisation).
    pub external_reference: String,
    pub value: Decimal,
    pub payment_method: String,
    pub shipment_id: Option<i32>,
    pub return_id: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LineKind {
    Product,
    /// The priced bundle line; its items carry the stock.
    Bundle,
    /// A component of a bundle; priced at zero, allocates stock.
    BundleItem {
        bundle_line_id: i32,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderLine {
    pub id: i32,
    pub kind: LineKind,
    pub size_id: i32,
    pub product_id: i32,
    pub variant_id: i32,
    pub product_number: String,
    pub product_name: String,
    pub variant_name: String,
    pub variant_number: String,
    pub size: String,
    pub sku: String,
    pub ean: Option<String>,
    pub brand: Option<String>,
    pub comment: Option<String>,
    /// Current quantity, excluding cancelled units.
    pub quantity: i32,
    pub cancelled_quantity: i32,
    pub returned_quantity: i32,
    pub shipped_quantity: i32,
    /// Prices include tax (Centra DTC pricelists are tax-inclusive).
    pub unit_original_price: Decimal,
    pub unit_price: Decimal,
    pub tax_percent: Decimal,
    /// Units still allocated per warehouse: (warehouse id, quantity).
    pub allocations: Vec<(i32, i32)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShipmentLine {
    pub id: i32,
    pub order_line_id: i32,
    pub quantity: i32,
    pub returned_quantity: i32,
    /// Where the units leave from (warehouse id, quantity).
    pub from_warehouses: Vec<(i32, i32)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Shipment {
    pub id: i32,
    pub number: String,
    pub order_number: i32,
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub lines: Vec<ShipmentLine>,
    pub is_good_to_go: bool,
    pub is_shipped: bool,
    pub is_paid: bool,
    pub is_captured: bool,
    pub paid_at: Option<DateTime<Utc>>,
    pub captured_at: Option<DateTime<Utc>>,
    pub captured_value: Option<Decimal>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub carrier_name: Option<String>,
    pub service_name: Option<String>,
    pub tracking_number: Option<String>,
    pub return_tracking_number: Option<String>,
    pub number_of_packages: Option<i32>,
    pub send_email: bool,
    /// Shipping cost charged on this shipment (only the first one carries it).
    pub shipping_value: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, async_graphql::Enum)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReturnStatus {
    /// Inferred: AMS shows "Pending" and "Completed"; the enum is not documented.
    Pending,
    Completed,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReturnLine {
    pub id: i32,
    pub shipment_line_id: i32,
    pub order_line_id: i32,
    pub quantity: i32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReturnRecord {
    pub id: i32,
    pub order_number: i32,
    pub shipment_id: i32,
    pub external_id: Option<String>,
    pub status: ReturnStatus,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub returned_to_stock: bool,
    pub return_warehouse_id: Option<i32>,
    pub comment: Option<String>,
    pub lines: Vec<ReturnLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShippingOption {
    pub id: i32,
    pub name: String,
    pub uri: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub id: String,
    pub number: i32,
    pub external_id: Option<String>,
    pub status: OrderStatus,
    pub is_on_hold: bool,
    pub is_locked: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub order_date: DateTime<Utc>,
    pub currency: String,
    pub currency_base_rate: Decimal,
    pub country_code: String,
    pub lines: Vec<OrderLine>,
    pub vouchers: Vec<AppliedVoucher>,
    pub shipping: ShippingOption,
    /// Shipping price including tax.
    pub shipping_value: Decimal,
    pub shipping_tax_percent: Decimal,
    pub shipping_address: AddressData,
    pub billing_address: AddressData,
    pub customer_id: i32,
    pub customer_email: String,
    pub payment_method: String,
    pub psp_reference: String,
    pub payment_history: Vec<PaymentEntry>,
    pub shipments: Vec<Shipment>,
    pub returns: Vec<ReturnRecord>,
    pub internal_comment: Option<String>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[graphql(rename_items = "PascalCase")]
pub enum EventObjectType {
    Order,
    Shipment,
    Return,
    Product,
    ProductVariant,
    ProductSize,
    StockChange,
    Warehouse,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventChangeType {
    Created,
    Updated,
    Completed,
    Deleted,
    DependentDataChanged,
}

pub const ALL_CHANGE_TYPES: [EventChangeType; 5] = [
    EventChangeType::Created,
    EventChangeType::Updated,
    EventChangeType::Completed,
    EventChangeType::Deleted,
    EventChangeType::DependentDataChanged,
];

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub object_type: EventObjectType,
    pub change_type: EventChangeType,
    /// Usually the object's id; the order number for orders (documented).
    pub object_reference: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventListener {
    pub object_type: EventObjectType,
    pub change_types: BTreeSet<EventChangeType>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One setStock/changeStock call as received, for staleness benchmarks.
#[derive(Debug, Clone, Serialize)]
pub struct StockMutationRecord {
    pub at: DateTime<Utc>,
    /// "setStock" or "changeStock".
    pub mutation: String,
    pub description: String,
    /// (SKU, warehouse id, quantity given: absolute for setStock, delta for changeStock).
    pub items: Vec<StockMutationItem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StockMutationItem {
    pub sku: String,
    pub warehouse_id: i32,
    pub quantity: i64,
}
