//! Centra's types as the connector reads and writes them, in Centra's own
//! names (serde renames to camelCase, `SKU`/`EAN` as Centra spells them).
//! Money is `rust_decimal`: Centra types `MonetaryValue.value` as a Float,
//! which is decoded through its shortest text form, so 19.99 stays 19.99.

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};

/// Decodes a JSON number (Centra Floats) into an exact decimal via its
/// shortest round-trip text, never through f64 arithmetic.
pub(crate) fn decimal_from_number<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let number = serde_json::Number::deserialize(d)?;
    parse_decimal(&number.to_string()).map_err(serde::de::Error::custom)
}

fn parse_decimal(text: &str) -> Result<Decimal, String> {
    text.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|e| format!("{text} is not a decimal amount: {e}"))
}

/// Centra's `DateTimeTz` in its default output format `Y-m-d\TH:i:sP`.
pub type DateTimeTz = DateTime<FixedOffset>;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Currency {
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MonetaryValue {
    #[serde(deserialize_with = "decimal_from_number")]
    pub value: Decimal,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    Processing,
    Shipped,
    Cancelled,
    /// Inferred from the AMS status list.
    Archived,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Country {
    pub code: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub zip_code: Option<String>,
    pub state_or_province: Option<String>,
    pub country: Option<Country>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Customer {
    pub id: i64,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ShippingOption {
    pub id: i64,
    pub name: String,
    pub uri: Option<String>,
}

/// The order's shipping method lives at `shippingPriceGroup.shippingOption`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingPriceGroup {
    pub shipping_option: Option<ShippingOption>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PaymentMethod {
    pub uri: Option<String>,
    pub plugin: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentHistoryEntryType {
    Auth,
    Capture,
    CapturePending,
    CaptureFailed,
    CaptureRequest,
    Refund,
    RefundRequest,
    RefundFailed,
    Cancel,
    CancelRequest,
    MarkedAsPaid,
    MarkedAsUnpaid,
    Prepaid,
    AuthPending,
    AdditionalOrderPayment,
    Invoice,
    Other,
    AuthGiftCard,
    CaptureGiftCard,
    CancelGiftCard,
    RefundGiftCard,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Success,
    Pending,
    Failed,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentHistoryEntry {
    pub id: i64,
    pub created_at: DateTimeTz,
    pub entry_type: PaymentHistoryEntryType,
    pub status: PaymentStatus,
    /// The PSP's reference (Adyen pspReference).
    pub external_reference: Option<String>,
    pub value: MonetaryValue,
    pub payment_method: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Voucher {
    pub name: String,
    pub code: Option<String>,
    #[serde(rename = "type")]
    pub voucher_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AppliedDiscount {
    pub value: MonetaryValue,
    pub date: Option<DateTimeTz>,
    pub discount: Option<Voucher>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderTotals {
    pub quantity: i32,
    pub original_quantity: i32,
    pub cancelled_quantity: i32,
    pub unexpedited_quantity: i32,
    pub line_values: MonetaryValue,
    pub shipping: MonetaryValue,
    pub handling: MonetaryValue,
    pub discounts: MonetaryValue,
    pub tax_included: MonetaryValue,
    pub tax_added: MonetaryValue,
    pub tax_deducted: MonetaryValue,
    pub grand_total: MonetaryValue,
}

/// Which implementation of Centra's `OrderLine` interface a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[allow(clippy::enum_variant_names)] // Centra's own type names
pub enum OrderLineType {
    ProductOrderLine,
    BundleOrderLine,
    BundleItemOrderLine,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantRef {
    pub id: i64,
    pub variant_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SizeRef {
    pub id: i64,
    #[serde(rename = "SKU")]
    pub sku: Option<String>,
    #[serde(rename = "EAN")]
    pub ean: Option<String>,
    pub size_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    #[serde(rename = "__typename")]
    pub line_type: OrderLineType,
    pub id: i64,
    pub product_number: Option<String>,
    pub size: Option<String>,
    pub product_name: Option<String>,
    pub product_variant_name: Option<String>,
    pub comment: Option<String>,
    /// Current quantity, cancelled units excluded.
    pub quantity: i32,
    pub cancelled_quantity: i32,
    pub returned_quantity: i32,
    pub has_any_discount: bool,
    pub unit_original_price: MonetaryValue,
    pub unit_price: MonetaryValue,
    #[serde(deserialize_with = "decimal_from_number")]
    pub discount_percent: Decimal,
    #[serde(deserialize_with = "decimal_from_number")]
    pub tax_percent: Decimal,
    pub line_value: MonetaryValue,
    pub product_variant: Option<VariantRef>,
    pub product_size: Option<SizeRef>,
    /// On BundleItemOrderLine: the bundle line it belongs to (inferred field).
    #[serde(default)]
    pub bundle_line_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IdRef {
    pub id: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentLine {
    pub id: i64,
    pub quantity: i32,
    pub returned_quantity: i32,
    pub order_line: Option<IdRef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarrierInformation {
    pub carrier_name: Option<String>,
    pub service_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shipment {
    pub id: i64,
    /// "<order number>-<n>".
    pub number: String,
    pub external_id: Option<String>,
    pub created_at: DateTimeTz,
    pub updated_at: DateTimeTz,
    pub is_good_to_go: bool,
    pub is_shipped: bool,
    pub is_paid: bool,
    pub is_captured: bool,
    pub paid_at: Option<DateTimeTz>,
    pub captured_at: Option<DateTimeTz>,
    pub captured_value: Option<MonetaryValue>,
    pub shipped_at: Option<DateTimeTz>,
    pub tracking_number: Option<String>,
    pub return_tracking_number: Option<String>,
    pub number_of_packages: Option<i32>,
    pub carrier_information: Option<CarrierInformation>,
    pub grand_total: MonetaryValue,
    pub lines: Vec<ShipmentLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReturnStatus {
    /// Inferred: AMS shows Pending and Completed; the enum is undocumented.
    Pending,
    Completed,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnLine {
    pub id: i64,
    pub quantity: i32,
    pub shipment_line: Option<IdRef>,
    pub order_line: Option<IdRef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Return {
    pub id: i64,
    pub return_status: ReturnStatus,
    pub external_id: Option<String>,
    pub created_at: DateTimeTz,
    pub total_quantity: i32,
    pub returned_to_stock: bool,
    pub comment: Option<String>,
    pub lines: Vec<ReturnLine>,
    #[serde(default)]
    pub shipment: Option<IdRef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// DirectToConsumerOrder or WholesaleOrder.
    #[serde(rename = "__typename")]
    pub order_type: String,
    /// 32-hex id: the immutable key of everything that follows from an order.
    pub id: String,
    pub number: i64,
    pub status: OrderStatus,
    pub is_on_hold: bool,
    pub is_locked: bool,
    pub created_at: DateTimeTz,
    pub updated_at: DateTimeTz,
    pub order_date: DateTimeTz,
    pub external_id: Option<String>,
    pub internal_comment: Option<String>,
    pub grand_total: MonetaryValue,
    pub totals: OrderTotals,
    pub discounts_applied: Vec<AppliedDiscount>,
    pub shipping_price_group: Option<ShippingPriceGroup>,
    pub shipping_address: Option<Address>,
    pub billing_address: Option<Address>,
    pub payment_method: Option<PaymentMethod>,
    pub payment_history: Vec<PaymentHistoryEntry>,
    pub lines: Vec<OrderLine>,
    pub shipments: Vec<Shipment>,
    /// DirectToConsumerOrder only.
    #[serde(default)]
    pub customer: Option<Customer>,
}

impl Order {
    /// The shipping method's name (`shippingPriceGroup.shippingOption.name`).
    pub fn shipping_method(&self) -> Option<&str> {
        self.shipping_price_group
            .as_ref()?
            .shipping_option
            .as_ref()
            .map(|o| o.name.as_str())
    }

    /// The PSP reference of the successful authorisation.
    pub fn psp_reference(&self) -> Option<&str> {
        self.payment_history
            .iter()
            .find(|p| {
                p.entry_type == PaymentHistoryEntryType::Auth && p.status == PaymentStatus::Success
            })
            .and_then(|p| p.external_reference.as_deref())
    }

    pub fn customer_email(&self) -> Option<&str> {
        self.customer.as_ref().and_then(|c| c.email.as_deref())
    }
}

/// One page of the updatedAt poll.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderPage {
    pub orders: Vec<Order>,
    pub total_count: i64,
    pub has_next_page: bool,
    /// Pass back as `after` for the next page.
    pub end_cursor: Option<String>,
}

/// `{ message, path }` of a payload's userErrors and userWarnings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct UserProblem {
    pub message: String,
    #[serde(default)]
    pub path: Vec<String>,
}

pub type UserWarning = UserProblem;

/// An order by id, number or external id (`OrderInput`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

impl OrderInput {
    pub fn id(id: impl Into<String>) -> Self {
        OrderInput {
            id: Some(id.into()),
            ..Default::default()
        }
    }
    pub fn number(number: i64) -> Self {
        OrderInput {
            number: Some(number),
            ..Default::default()
        }
    }
}

/// A product size by id, or by `SKU`/`EAN`. The SKU/EAN forms are inferred
/// (Centra's documented inputs take `{id}`; the simulator accepts all three).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProductSizeInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(rename = "SKU", skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(rename = "EAN", skip_serializing_if = "Option::is_none")]
    pub ean: Option<String>,
}

impl ProductSizeInput {
    pub fn id(id: i64) -> Self {
        ProductSizeInput {
            id: Some(id),
            ..Default::default()
        }
    }
    pub fn sku(sku: impl Into<String>) -> Self {
        ProductSizeInput {
            sku: Some(sku.into()),
            ..Default::default()
        }
    }
}

/// A warehouse by id or name (`WarehouseInput`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WarehouseInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl WarehouseInput {
    pub fn id(id: i64) -> Self {
        WarehouseInput {
            id: Some(id),
            name: None,
        }
    }
}

/// `MonetaryValueInput`. Centra types `value` as a Float, so the decimal
/// becomes an f64 only here, at the wire; two-decimal amounts survive exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct MonetaryValueInput {
    pub value: Decimal,
    pub currency_iso_code: Option<String>,
}

impl Serialize for MonetaryValueInput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use rust_decimal::prelude::ToPrimitive;
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("MonetaryValueInput", 2)?;
        st.serialize_field("value", &self.value.to_f64().unwrap_or_default())?;
        if let Some(code) = &self.currency_iso_code {
            st.serialize_field("currencyIsoCode", code)?;
        }
        st.end()
    }
}

/// One line of `addLines`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineAddInput {
    pub size: ProductSizeInput,
    pub quantity: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<MonetaryValueInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CancelStockAction {
    ReleaseBackToWarehouse,
    RemoveFromStock,
}

/// One line of `cancelLines`, with the cancelled quantity the decision was
/// based on (`cancelled_before`), which makes a replay detectable.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLineCancel {
    pub line_id: i64,
    pub quantity: i32,
    pub stock_action: CancelStockAction,
    pub cancelled_before: i32,
}

/// `ShipmentInfoInput`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentInfoInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packages_number: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_tracking_number: Option<String>,
}

/// What `create_shipment` sends.
#[derive(Debug, Clone, PartialEq)]
pub struct ShipmentRequest {
    pub order: OrderInput,
    /// (order line id, quantity).
    pub lines: Vec<(i64, i32)>,
    /// Capture the shipment's value at the PSP as part of creating it.
    pub capture: bool,
    /// Mark the shipment paid without a capture (an order nobody pays
    /// for, such as a zero-value exchange order).
    pub is_paid: bool,
    pub is_good_to_go: bool,
    pub send_email: bool,
    /// Written as the shipment's `externalId`; the replay key (see `create_shipment`).
    pub idempotency_key: String,
    pub shipment_info: Option<ShipmentInfoInput>,
}

/// What `complete_shipment` sends.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShipmentCompletion {
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub tracking_number: Option<String>,
    pub return_tracking_number: Option<String>,
    pub packages_number: Option<i32>,
    pub send_email: bool,
    pub shipped_at: Option<DateTimeTz>,
}

/// How the result of the capture requested inside `createShipment` came out.
/// Centra does not fail the mutation when the capture fails: the shipment
/// exists uncaptured and the reason is only a userWarning. This type makes
/// that outcome impossible to overlook.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a failed capture inside createShipment must be handled (retry with capture_shipment)"]
pub enum CaptureOutcome {
    NotRequested,
    Captured {
        value: Option<MonetaryValue>,
    },
    /// The shipment exists but is not captured; the warnings carry Centra's reason.
    Failed {
        warnings: Vec<UserWarning>,
    },
}

impl CaptureOutcome {
    pub fn is_failed(&self) -> bool {
        matches!(self, CaptureOutcome::Failed { .. })
    }
}

/// What `create_shipment` answers.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "check `capture`: a failed capture is not an error in Centra"]
pub struct ShipmentCreated {
    pub shipment: Shipment,
    pub capture: CaptureOutcome,
    /// Every userWarning of the payload, capture-related or not.
    pub user_warnings: Vec<UserWarning>,
    /// True when a shipment with this idempotency key already existed and
    /// nothing was created.
    pub replayed: bool,
}

/// What `create_return` sends.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnRequest {
    pub shipment_id: i64,
    /// (shipment line id, quantity).
    pub lines: Vec<(i64, i32)>,
    /// true: release the items back to the warehouse; false: remove them from stock.
    pub return_stock: bool,
    pub comment: Option<String>,
    /// Written as the return's `externalId`; the replay key.
    pub idempotency_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StockQuantityType {
    Physical,
    /// Inferred name of the free-to-allocate variant.
    Fta,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockChangeLine {
    pub product_size: SizeRef,
    pub delivered_quantity: i64,
    pub free_to_allocate_quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockChange {
    pub id: i64,
    pub description: String,
    pub created_at: DateTimeTz,
    pub lines: Vec<StockChangeLine>,
}

/// What `free_to_allocate` reads.
#[derive(Debug, Clone, PartialEq)]
pub enum StockSelection {
    /// These SKUs (paged by the connector, 200 per call).
    Skus(Vec<String>),
    /// These product size ids (paged by the connector, 200 per call).
    SizeIds(Vec<i64>),
    /// One page (1-based) of every stock row of the warehouse.
    Page { page: u32, limit: u32 },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeToAllocate {
    pub product_size: SizeRef,
    pub free_to_allocate_quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Warehouse {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AttributeType {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AttributeElement {
    pub key: String,
    pub value: String,
}

/// `{ type { name } elements { key value } }` (shape inferred from Centra's
/// attribute docs; the simulator follows it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Attribute {
    #[serde(rename = "type")]
    pub attribute_type: AttributeType,
    pub elements: Vec<AttributeElement>,
}

/// The first element value of the attribute whose type is `type_name`.
pub fn attribute_value<'a>(attributes: &'a [Attribute], type_name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|a| a.attribute_type.name.eq_ignore_ascii_case(type_name))
        .and_then(|a| a.elements.first())
        .map(|e| e.value.as_str())
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductSize {
    pub id: i64,
    #[serde(rename = "SKU")]
    pub sku: String,
    #[serde(rename = "EAN")]
    pub ean: Option<String>,
    pub size_number: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductVariant {
    pub id: i64,
    pub name: Option<String>,
    pub variant_number: Option<String>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    #[serde(default)]
    pub product_sizes: Vec<ProductSize>,
}

impl ProductVariant {
    /// A variant attribute, falling back to none: e.g. "item_condition", "grade".
    pub fn attribute(&self, type_name: &str) -> Option<&str> {
        attribute_value(&self.attributes, type_name)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleSection {
    pub id: i64,
    pub quantity: i32,
    pub product_variants: Vec<ProductVariant>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Bundle {
    pub id: i64,
    #[serde(rename = "type")]
    pub bundle_type: String,
    pub sections: Vec<BundleSection>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub product_number: String,
    pub brand_name: Option<String>,
    pub is_bundle: bool,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    pub variants: Vec<ProductVariant>,
    pub bundle: Option<Bundle>,
}

impl Product {
    /// A product attribute, or the same attribute on `variant` when the
    /// product has none (product master values may sit on either level).
    pub fn attribute<'a>(
        &'a self,
        variant: &'a ProductVariant,
        type_name: &str,
    ) -> Option<&'a str> {
        variant
            .attribute(type_name)
            .or_else(|| attribute_value(&self.attributes, type_name))
    }
}

/// Which products `products` reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_number: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventObjectType {
    Order,
    Shipment,
    Return,
    Product,
    ProductVariant,
    ProductSize,
    StockChange,
    Warehouse,
    Customer,
    PaymentHistoryEntry,
    PurchaseOrder,
    Bundle,
    Display,
    Voucher,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventChangeType {
    Created,
    Updated,
    Completed,
    Deleted,
    DependentDataChanged,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventListenerInput {
    pub object_type: EventObjectType,
    /// Empty: every change type.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub change_types: Vec<EventChangeType>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventListener {
    pub object_type: EventObjectType,
    pub change_types: Vec<EventChangeType>,
    pub created_at: Option<DateTimeTz>,
    pub updated_at: Option<DateTimeTz>,
}

/// Which events `events` reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFilter {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub object_type: Vec<EventObjectType>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub change_type: Vec<EventChangeType>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: i64,
    pub object_type: EventObjectType,
    pub change_type: EventChangeType,
    /// Usually the object's id; the order number for orders.
    pub object_reference: i64,
    pub created_at: DateTimeTz,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RateLimitType {
    RequestCount,
    QueryComplexity,
    MutationCount,
    #[serde(other)]
    Unknown,
}

/// An enum in Centra's schema, not a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RateLimitInterval {
    TenSeconds,
    OneHour,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    #[serde(rename = "type")]
    pub limit_type: RateLimitType,
    pub interval_seconds: RateLimitInterval,
    pub quota: i64,
    pub used_quota: i64,
    pub remaining_quota: i64,
}

/// `extensions` of every answer.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Extensions {
    pub complexity: Option<u64>,
    pub permissions_used: Vec<String>,
    pub app_version: Option<String>,
    pub deprecated_fields_used: Vec<String>,
}

/// Centra attribute type names that carry the 3PL's product attributes.
pub const ITEM_CONDITION_ATTRIBUTE: &str = "item_condition";
pub const GRADE_ATTRIBUTE: &str = "grade";

impl Product {
    /// Each SKU of the product as the product master describes it (the
    /// variant's attribute first, then the product's).
    pub fn sku_facts(&self) -> Vec<seam_model::product::ProductFacts> {
        let mut facts = Vec::new();
        for variant in &self.variants {
            for size in &variant.product_sizes {
                facts.push(seam_model::product::ProductFacts {
                    sku: size.sku.clone(),
                    product_number: self.product_number.clone(),
                    item_condition: self
                        .attribute(variant, ITEM_CONDITION_ATTRIBUTE)
                        .map(str::to_string),
                    grade: self.attribute(variant, GRADE_ATTRIBUTE).map(str::to_string),
                });
            }
        }
        facts
    }
}

// ---- inferred: orders placed and refunds recorded through the API -------------

/// A country by ISO code, as the inferred `AddressInput` takes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CountryInput {
    pub code: String,
}

/// `AddressInput` of the inferred `createDirectToConsumerOrder` (the
/// `Address` type's fields, written back).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressInput {
    pub first_name: String,
    pub last_name: String,
    pub address1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    pub city: String,
    pub zip_code: String,
    pub country: CountryInput,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// One line of an order placed through the API.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLineCreate {
    pub sku: String,
    pub quantity: i32,
    /// Including tax; zero for a zero-value line.
    pub unit_price: Decimal,
    pub tax_percent: Decimal,
    pub comment: Option<String>,
}

/// An order Seam places in Centra (inferred mutation
/// `createDirectToConsumerOrder`). `external_id` is the idempotency key:
/// the order is read back by it before it is created.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDirectToConsumerOrder {
    pub external_id: String,
    pub currency: String,
    pub customer_email: Option<String>,
    pub shipping_address: AddressInput,
    /// The shipping option's name.
    pub shipping_method: Option<String>,
    pub shipping_cost: Decimal,
    pub lines: Vec<OrderLineCreate>,
    /// Shown in AMS: what the order is and where it comes from.
    pub internal_comment: Option<String>,
}

/// What `create_direct_to_consumer_order` answers.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderPlaced {
    pub order: Order,
    /// True when an order with the external id already existed and
    /// nothing was created.
    pub replayed: bool,
}

/// A REFUND entry Seam recorded on a Centra return (inferred mutation
/// `refundReturn`), and whether it was there already.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundRecorded {
    pub entry: PaymentHistoryEntry,
    pub replayed: bool,
}
