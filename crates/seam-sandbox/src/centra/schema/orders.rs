//! Order-side GraphQL objects: the `Order` interface (DirectToConsumerOrder),
//! `OrderLine` (ProductOrderLine, BundleOrderLine, BundleItemOrderLine),
//! payments, `Shipment` and `Return`. Objects hold a snapshot of the order
//! taken under the lock, so resolving never holds it.

// async-graphql's `#[graphql(field(...))]` interface lists repeat `ty`/`arg` keys by design.
#![allow(clippy::duplicated_attributes)]

use std::sync::Arc;

use async_graphql::{Context, Interface, Object, SimpleObject};
use rust_decimal::Decimal;

use super::super::auth::require;
use super::super::model::{
    self, LineKind, OrderStatus, PaymentEntryType, PaymentStatus, ReturnStatus,
};
use super::super::state::{grand_total, included_tax, line_values, tax_included, voucher_total};
use super::catalogue::{Product, ProductSize, ProductVariant, Warehouse};
use super::{date, monetary, sim, MonetaryValue};

fn excluding_tax(amount: Decimal, tax_percent: Decimal, including: bool) -> Decimal {
    if including {
        amount
    } else {
        amount - included_tax(amount, tax_percent)
    }
}

#[derive(Interface)]
#[graphql(
    name = "Order",
    field(name = "id", ty = "String"),
    field(name = "number", ty = "i32"),
    field(name = "status", ty = "OrderStatus"),
    field(name = "is_on_hold", ty = "bool"),
    field(name = "is_locked", ty = "bool"),
    field(name = "created_at", ty = "String"),
    field(name = "updated_at", ty = "String"),
    field(name = "order_date", ty = "String"),
    field(name = "external_id", ty = "Option<String>"),
    field(name = "currency_base_rate", ty = "f64"),
    field(
        name = "grand_total",
        ty = "MonetaryValue",
        arg(name = "including_tax", ty = "bool", default = true)
    ),
    field(name = "totals", ty = "OrderTotals"),
    field(name = "discounts_applied", ty = "Vec<AppliedDiscount>"),
    field(name = "shipping_price_group", ty = "ShippingPriceGroup"),
    field(name = "shipping_address", ty = "Option<Address>"),
    field(name = "billing_address", ty = "Option<Address>"),
    field(name = "payment_method", ty = "PaymentMethod"),
    field(name = "payment_history", ty = "Vec<PaymentHistoryEntry>"),
    field(
        name = "lines",
        ty = "Vec<OrderLine>",
        arg(name = "include_fully_cancelled", ty = "bool", default = false)
    ),
    field(name = "shipments", ty = "Vec<Shipment>"),
    field(name = "returns", ty = "Vec<Return>"),
    field(name = "internal_comment", ty = "Option<String>")
)]
pub enum Order {
    DirectToConsumerOrder(DirectToConsumerOrder),
}

impl Order {
    pub fn from_model(order: model::Order) -> Self {
        Order::DirectToConsumerOrder(DirectToConsumerOrder(Arc::new(order)))
    }
}

pub struct DirectToConsumerOrder(pub Arc<model::Order>);

#[derive(SimpleObject)]
pub struct Customer {
    pub id: i32,
    pub email: String,
}

#[derive(SimpleObject)]
pub struct Country {
    pub code: String,
    pub name: String,
}

#[derive(SimpleObject)]
pub struct Address {
    pub first_name: String,
    pub last_name: String,
    pub company_name: Option<String>,
    pub address1: String,
    pub address2: Option<String>,
    pub city: String,
    pub zip_code: String,
    pub state_or_province: Option<String>,
    pub country: Option<Country>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
}

fn address(a: &model::AddressData) -> Address {
    Address {
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        company_name: a.company_name.clone(),
        address1: a.address1.clone(),
        address2: a.address2.clone(),
        city: a.city.clone(),
        zip_code: a.zip_code.clone(),
        state_or_province: a.state_or_province.clone(),
        country: (!a.country_code.is_empty()).then(|| Country {
            code: a.country_code.clone(),
            name: a.country_code.clone(),
        }),
        email: a.email.clone(),
        phone_number: a.phone_number.clone(),
    }
}

#[derive(SimpleObject)]
pub struct ShippingOption {
    pub id: i32,
    pub name: String,
    pub uri: String,
}

/// The order's shipping method: `shippingPriceGroup { shippingOption { id name uri } }` (centra.md §2).
#[derive(SimpleObject)]
pub struct ShippingPriceGroup {
    pub shipping_option: ShippingOption,
}

#[derive(SimpleObject)]
pub struct PaymentMethod {
    pub uri: String,
    pub plugin: String,
    pub name: String,
}

#[derive(SimpleObject)]
pub struct Voucher {
    pub name: String,
    pub code: Option<String>,
    /// Inferred: the simulator's vouchers are all order-level amounts.
    #[graphql(name = "type")]
    pub voucher_type: String,
}

#[derive(SimpleObject)]
pub struct AppliedDiscount {
    pub value: MonetaryValue,
    pub date: String,
    pub discount: Voucher,
}

#[derive(SimpleObject)]
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

pub struct PaymentHistoryEntry {
    entry: model::PaymentEntry,
    currency: String,
}

impl PaymentHistoryEntry {
    pub fn new(entry: model::PaymentEntry, currency: &str) -> Self {
        PaymentHistoryEntry {
            entry,
            currency: currency.to_string(),
        }
    }
}

#[Object]
impl PaymentHistoryEntry {
    async fn id(&self) -> i32 {
        self.entry.id
    }
    async fn created_at(&self) -> String {
        date(&self.entry.created_at)
    }
    async fn entry_type(&self) -> PaymentEntryType {
        self.entry.entry_type
    }
    async fn status(&self) -> PaymentStatus {
        self.entry.status
    }
    /// The PSP's reference (Adyen pspReference).
    async fn external_reference(&self) -> &str {
        &self.entry.external_reference
    }
    async fn value(&self) -> MonetaryValue {
        monetary(self.entry.value, &self.currency)
    }
    async fn payment_method(&self) -> &str {
        &self.entry.payment_method
    }
}

/// The REFUND entries recorded against one return (Centra's
/// `Return.refundPaymentHistory`: "points to a refund ... triggered by this return").
fn refund_entries(order: &model::Order, return_id: i32) -> Vec<PaymentHistoryEntry> {
    order
        .payment_history
        .iter()
        .filter(|p| {
            p.return_id == Some(return_id)
                && matches!(
                    p.entry_type,
                    PaymentEntryType::Refund | PaymentEntryType::RefundFailed
                )
        })
        .map(|p| PaymentHistoryEntry::new(p.clone(), &order.currency))
        .collect()
}

#[Object]
impl DirectToConsumerOrder {
    async fn id(&self) -> String {
        self.0.id.clone()
    }
    async fn number(&self) -> i32 {
        self.0.number
    }
    async fn status(&self) -> OrderStatus {
        self.0.status
    }
    async fn is_on_hold(&self) -> bool {
        self.0.is_on_hold
    }
    async fn is_locked(&self) -> bool {
        self.0.is_locked
    }
    async fn created_at(&self) -> String {
        date(&self.0.created_at)
    }
    async fn updated_at(&self) -> String {
        date(&self.0.updated_at)
    }
    async fn order_date(&self) -> String {
        date(&self.0.order_date)
    }
    async fn external_id(&self) -> Option<String> {
        self.0.external_id.clone()
    }
    async fn currency_base_rate(&self) -> f64 {
        1.0
    }
    async fn grand_total(&self, #[graphql(default = true)] including_tax: bool) -> MonetaryValue {
        let total = grand_total(&self.0);
        let value = if including_tax {
            total
        } else {
            total - tax_included(&self.0)
        };
        monetary(value, &self.0.currency)
    }
    async fn totals(&self) -> OrderTotals {
        let o = &self.0;
        let c = o.currency.as_str();
        let quantity: i32 = o
            .lines
            .iter()
            .filter(|l| l.kind != LineKind::Bundle)
            .map(|l| l.quantity)
            .sum();
        let cancelled: i32 = o
            .lines
            .iter()
            .filter(|l| l.kind != LineKind::Bundle)
            .map(|l| l.cancelled_quantity)
            .sum();
        let shipped: i32 = o
            .lines
            .iter()
            .filter(|l| l.kind != LineKind::Bundle)
            .map(|l| l.shipped_quantity)
            .sum();
        OrderTotals {
            quantity,
            original_quantity: quantity + cancelled,
            cancelled_quantity: cancelled,
            unexpedited_quantity: quantity - shipped,
            line_values: monetary(line_values(o), c),
            shipping: monetary(o.shipping_value, c),
            handling: monetary(Decimal::ZERO, c),
            discounts: monetary(-voucher_total(o), c),
            tax_included: monetary(tax_included(o), c),
            tax_added: monetary(Decimal::ZERO, c),
            tax_deducted: monetary(Decimal::ZERO, c),
            grand_total: monetary(grand_total(o), c),
        }
    }
    async fn discounts_applied(&self) -> Vec<AppliedDiscount> {
        self.0
            .vouchers
            .iter()
            .map(|v| AppliedDiscount {
                value: monetary(v.value, &self.0.currency),
                date: date(&v.date),
                discount: Voucher {
                    name: v.name.clone(),
                    code: v.code.clone(),
                    voucher_type: "VOUCHER".into(),
                },
            })
            .collect()
    }
    async fn shipping_price_group(&self) -> ShippingPriceGroup {
        let s = &self.0.shipping;
        ShippingPriceGroup {
            shipping_option: ShippingOption {
                id: s.id,
                name: s.name.clone(),
                uri: s.uri.clone(),
            },
        }
    }
    async fn shipping_address(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Address>> {
        require(ctx, "Order.shippingAddress:read")?;
        Ok(Some(address(&self.0.shipping_address)))
    }
    async fn billing_address(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Address>> {
        require(ctx, "Order.billingAddress:read")?;
        Ok(Some(address(&self.0.billing_address)))
    }
    async fn customer(&self, ctx: &Context<'_>) -> async_graphql::Result<Customer> {
        require(ctx, "Customer:read")?;
        Ok(Customer {
            id: self.0.customer_id,
            email: self.0.customer_email.clone(),
        })
    }
    async fn payment_method(&self) -> PaymentMethod {
        let m = &self.0.payment_method;
        PaymentMethod {
            uri: m.clone(),
            plugin: "adyen".into(),
            name: m.clone(),
        }
    }
    async fn payment_history(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<PaymentHistoryEntry>> {
        require(ctx, "PaymentHistoryEntry:read")?;
        Ok(self
            .0
            .payment_history
            .iter()
            .map(|e| PaymentHistoryEntry {
                entry: e.clone(),
                currency: self.0.currency.clone(),
            })
            .collect())
    }
    async fn lines(
        &self,
        #[graphql(default = false)] include_fully_cancelled: bool,
    ) -> Vec<OrderLine> {
        self.0
            .lines
            .iter()
            .filter(|l| include_fully_cancelled || l.quantity > 0 || l.cancelled_quantity == 0)
            .map(|l| OrderLine::new(&self.0, l.id))
            .collect()
    }
    async fn shipments(&self) -> Vec<Shipment> {
        self.0
            .shipments
            .iter()
            .map(|s| Shipment::new(self.0.clone(), s.id))
            .collect()
    }
    async fn returns(&self) -> Vec<Return> {
        self.0
            .returns
            .iter()
            .map(|r| Return::new(self.0.clone(), r.id))
            .collect()
    }
    async fn internal_comment(&self) -> Option<String> {
        self.0.internal_comment.clone()
    }
}

#[derive(Interface)]
#[graphql(
    name = "OrderLine",
    field(name = "id", ty = "i32"),
    field(name = "product_number", ty = "String"),
    field(name = "size", ty = "String"),
    field(name = "product_name", ty = "String"),
    field(name = "product_variant_name", ty = "String"),
    field(name = "comment", ty = "Option<String>"),
    field(name = "quantity", ty = "i32"),
    field(name = "cancelled_quantity", ty = "i32"),
    field(name = "returned_quantity", ty = "i32"),
    field(name = "shipped_quantity", ty = "i32"),
    field(name = "has_any_discount", ty = "bool"),
    field(
        name = "unit_original_price",
        ty = "MonetaryValue",
        arg(name = "including_tax", ty = "bool", default = true)
    ),
    field(
        name = "unit_price",
        ty = "MonetaryValue",
        arg(name = "including_tax", ty = "bool", default = true)
    ),
    field(name = "discount_percent", ty = "f64"),
    field(name = "tax_percent", ty = "f64"),
    field(
        name = "line_value",
        ty = "MonetaryValue",
        arg(name = "including_tax", ty = "bool", default = true)
    ),
    field(name = "product", ty = "Option<Product>"),
    field(name = "product_variant", ty = "Option<ProductVariant>"),
    field(name = "product_size", ty = "Option<ProductSize>"),
    field(name = "allocations", ty = "Vec<OrderLineAllocation>")
)]
#[allow(clippy::enum_variant_names)] // Centra's own type names
pub enum OrderLine {
    ProductOrderLine(ProductOrderLine),
    BundleOrderLine(BundleOrderLine),
    BundleItemOrderLine(BundleItemOrderLine),
}

/// A line snapshot with the order currency.
#[derive(Clone)]
pub struct LineData {
    line: model::OrderLine,
    currency: String,
}

impl OrderLine {
    pub fn new(order: &model::Order, line_id: i32) -> Self {
        // Line ids come from the same order snapshot; an unknown id cannot
        // happen, but an empty placeholder is safer than a panic.
        let line = order
            .lines
            .iter()
            .find(|l| l.id == line_id)
            .cloned()
            .unwrap_or_else(|| placeholder_line(line_id));
        let data = LineData {
            line,
            currency: order.currency.clone(),
        };
        match data.line.kind {
            LineKind::Product => OrderLine::ProductOrderLine(ProductOrderLine(data)),
            LineKind::Bundle => OrderLine::BundleOrderLine(BundleOrderLine(data)),
            LineKind::BundleItem { .. } => {
                OrderLine::BundleItemOrderLine(BundleItemOrderLine(data))
            }
        }
    }
}

fn placeholder_line(id: i32) -> model::OrderLine {
    model::OrderLine {
        id,
        kind: LineKind::Product,
        size_id: 0,
        product_id: 0,
        variant_id: 0,
        product_number: String::new(),
        product_name: String::new(),
        variant_name: String::new(),
        variant_number: String::new(),
        size: String::new(),
        sku: String::new(),
        ean: None,
        brand: None,
        comment: None,
        quantity: 0,
        cancelled_quantity: 0,
        returned_quantity: 0,
        shipped_quantity: 0,
        unit_original_price: Decimal::ZERO,
        unit_price: Decimal::ZERO,
        tax_percent: Decimal::ZERO,
        allocations: Vec::new(),
    }
}

pub struct ProductOrderLine(LineData);
pub struct BundleOrderLine(LineData);
pub struct BundleItemOrderLine(LineData);

#[derive(SimpleObject)]
pub struct OrderLineAllocation {
    pub quantity: i32,
    pub warehouse: Warehouse,
}

macro_rules! order_line_object {
    ($ty:ident { $($extra:tt)* }) => {
        #[Object]
        impl $ty {
            async fn id(&self) -> i32 { self.0.line.id }
            async fn product_number(&self) -> String { self.0.line.product_number.clone() }
            async fn size(&self) -> String { self.0.line.size.clone() }
            async fn product_name(&self) -> String { self.0.line.product_name.clone() }
            async fn product_variant_name(&self) -> String { self.0.line.variant_name.clone() }
            async fn comment(&self) -> Option<String> { self.0.line.comment.clone() }
            async fn quantity(&self) -> i32 { self.0.line.quantity }
            async fn cancelled_quantity(&self) -> i32 { self.0.line.cancelled_quantity }
            async fn returned_quantity(&self) -> i32 { self.0.line.returned_quantity }
            /// Inferred (seen in a public client, not confirmed in the SDL).
            async fn shipped_quantity(&self) -> i32 { self.0.line.shipped_quantity }
            async fn has_any_discount(&self) -> bool { self.0.line.unit_price < self.0.line.unit_original_price }
            async fn unit_original_price(&self, #[graphql(default = true)] including_tax: bool) -> MonetaryValue {
                let l = &self.0.line;
                monetary(excluding_tax(l.unit_original_price, l.tax_percent, including_tax), &self.0.currency)
            }
            async fn unit_price(&self, #[graphql(default = true)] including_tax: bool) -> MonetaryValue {
                let l = &self.0.line;
                monetary(excluding_tax(l.unit_price, l.tax_percent, including_tax), &self.0.currency)
            }
            async fn discount_percent(&self) -> f64 {
                use rust_decimal::prelude::ToPrimitive;
                let l = &self.0.line;
                if l.unit_original_price.is_zero() { return 0.0; }
                ((Decimal::ONE - l.unit_price / l.unit_original_price) * Decimal::ONE_HUNDRED).round_dp(2).to_f64().unwrap_or_default()
            }
            async fn tax_percent(&self) -> f64 {
                use rust_decimal::prelude::ToPrimitive;
                self.0.line.tax_percent.to_f64().unwrap_or_default()
            }
            async fn line_value(&self, #[graphql(default = true)] including_tax: bool) -> MonetaryValue {
                let l = &self.0.line;
                let value = l.unit_price * Decimal::from(l.quantity);
                monetary(excluding_tax(value, l.tax_percent, including_tax), &self.0.currency)
            }
            async fn product(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Product>> {
                Ok(sim(ctx)?.with_state(|s| s.catalogue.products.get(&self.0.line.product_id).cloned()).map(Product))
            }
            async fn product_variant(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ProductVariant>> {
                Ok(sim(ctx)?.with_state(|s| s.catalogue.variants.get(&self.0.line.variant_id).cloned()).map(ProductVariant))
            }
            async fn product_size(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ProductSize>> {
                Ok(sim(ctx)?.with_state(|s| s.catalogue.sizes.get(&self.0.line.size_id).cloned()).map(ProductSize))
            }
            async fn allocations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OrderLineAllocation>> {
                let sim = sim(ctx)?;
                Ok(self.0.line.allocations.iter().filter_map(|(w, q)| {
                    let warehouse = sim.with_state(|s| s.catalogue.warehouses.get(w).cloned())?;
                    Some(OrderLineAllocation { quantity: *q, warehouse: Warehouse(warehouse) })
                }).collect())
            }
            $($extra)*
        }
    };
}

order_line_object!(ProductOrderLine {});
order_line_object!(BundleOrderLine {});
order_line_object!(BundleItemOrderLine {
    /// The bundle line this item belongs to (inferred field).
    async fn bundle_line_id(&self) -> Option<i32> {
        match self.0.line.kind {
            LineKind::BundleItem { bundle_line_id } => Some(bundle_line_id),
            _ => None,
        }
    }
});

#[derive(SimpleObject)]
pub struct CarrierInformation {
    pub carrier_name: Option<String>,
    pub service_name: Option<String>,
}

#[derive(Interface)]
#[graphql(
    name = "Shipment",
    field(name = "id", ty = "i32"),
    field(name = "number", ty = "String"),
    field(name = "external_id", ty = "Option<String>"),
    field(name = "created_at", ty = "String"),
    field(name = "updated_at", ty = "String"),
    field(name = "is_good_to_go", ty = "bool"),
    field(name = "is_shipped", ty = "bool"),
    field(name = "is_paid", ty = "bool"),
    field(name = "is_captured", ty = "bool"),
    field(name = "paid_at", ty = "Option<String>"),
    field(name = "captured_at", ty = "Option<String>"),
    field(name = "captured_value", ty = "Option<MonetaryValue>"),
    field(name = "shipped_at", ty = "Option<String>"),
    field(name = "tracking_number", ty = "Option<String>"),
    field(name = "return_tracking_number", ty = "Option<String>"),
    field(name = "number_of_packages", ty = "Option<i32>"),
    field(name = "carrier_information", ty = "CarrierInformation"),
    field(
        name = "grand_total",
        ty = "MonetaryValue",
        arg(name = "including_tax", ty = "bool", default = true)
    ),
    field(name = "lines", ty = "Vec<ShipmentLine>"),
    field(name = "order", ty = "Order")
)]
pub enum Shipment {
    DirectToConsumerShipment(DirectToConsumerShipment),
}

impl Shipment {
    pub fn new(order: Arc<model::Order>, id: i32) -> Self {
        Shipment::DirectToConsumerShipment(DirectToConsumerShipment { order, id })
    }
}

pub struct DirectToConsumerShipment {
    order: Arc<model::Order>,
    id: i32,
}

impl DirectToConsumerShipment {
    fn get(&self) -> async_graphql::Result<&model::Shipment> {
        self.order
            .shipments
            .iter()
            .find(|s| s.id == self.id)
            .ok_or_else(|| "shipment vanished".into())
    }
}

fn opt_date(value: &Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
    value.as_ref().map(date)
}

#[Object]
impl DirectToConsumerShipment {
    async fn id(&self) -> i32 {
        self.id
    }
    async fn number(&self) -> async_graphql::Result<String> {
        Ok(self.get()?.number.clone())
    }
    async fn external_id(&self) -> async_graphql::Result<Option<String>> {
        Ok(self.get()?.external_id.clone())
    }
    async fn created_at(&self) -> async_graphql::Result<String> {
        Ok(date(&self.get()?.created_at))
    }
    async fn updated_at(&self) -> async_graphql::Result<String> {
        Ok(date(&self.get()?.updated_at))
    }
    async fn is_good_to_go(&self) -> async_graphql::Result<bool> {
        Ok(self.get()?.is_good_to_go)
    }
    async fn is_shipped(&self) -> async_graphql::Result<bool> {
        Ok(self.get()?.is_shipped)
    }
    async fn is_paid(&self) -> async_graphql::Result<bool> {
        Ok(self.get()?.is_paid)
    }
    async fn is_captured(&self) -> async_graphql::Result<bool> {
        Ok(self.get()?.is_captured)
    }
    async fn paid_at(&self) -> async_graphql::Result<Option<String>> {
        Ok(opt_date(&self.get()?.paid_at))
    }
    async fn captured_at(&self) -> async_graphql::Result<Option<String>> {
        Ok(opt_date(&self.get()?.captured_at))
    }
    async fn captured_value(&self) -> async_graphql::Result<Option<MonetaryValue>> {
        Ok(self
            .get()?
            .captured_value
            .map(|v| monetary(v, &self.order.currency)))
    }
    async fn shipped_at(&self) -> async_graphql::Result<Option<String>> {
        Ok(opt_date(&self.get()?.shipped_at))
    }
    async fn tracking_number(&self) -> async_graphql::Result<Option<String>> {
        Ok(self.get()?.tracking_number.clone())
    }
    async fn return_tracking_number(&self) -> async_graphql::Result<Option<String>> {
        Ok(self.get()?.return_tracking_number.clone())
    }
    async fn number_of_packages(&self) -> async_graphql::Result<Option<i32>> {
        Ok(self.get()?.number_of_packages)
    }
    async fn carrier_information(&self) -> async_graphql::Result<CarrierInformation> {
        let s = self.get()?;
        Ok(CarrierInformation {
            carrier_name: s.carrier_name.clone(),
            service_name: s.service_name.clone(),
        })
    }
    async fn grand_total(
        &self,
        #[graphql(default = true)] including_tax: bool,
    ) -> async_graphql::Result<MonetaryValue> {
        let s = self.get()?;
        let mut total = s.shipping_value;
        let mut tax = included_tax(s.shipping_value, self.order.shipping_tax_percent);
        for sl in &s.lines {
            if let Some(l) = self.order.lines.iter().find(|l| l.id == sl.order_line_id) {
                let value = l.unit_price * Decimal::from(sl.quantity);
                total += value;
                tax += included_tax(value, l.tax_percent);
            }
        }
        Ok(monetary(
            if including_tax { total } else { total - tax },
            &self.order.currency,
        ))
    }
    async fn lines(&self) -> async_graphql::Result<Vec<ShipmentLine>> {
        Ok(self
            .get()?
            .lines
            .iter()
            .map(|l| ShipmentLine {
                order: self.order.clone(),
                line: l.clone(),
            })
            .collect())
    }
    async fn order(&self) -> Order {
        Order::DirectToConsumerOrder(DirectToConsumerOrder(self.order.clone()))
    }
}

pub struct ShipmentLine {
    order: Arc<model::Order>,
    line: model::ShipmentLine,
}

impl ShipmentLine {
    fn find_order_line(&self) -> Option<&model::OrderLine> {
        self.order
            .lines
            .iter()
            .find(|l| l.id == self.line.order_line_id)
    }
}

#[Object]
impl ShipmentLine {
    async fn id(&self) -> i32 {
        self.line.id
    }
    async fn quantity(&self) -> i32 {
        self.line.quantity
    }
    async fn returned_quantity(&self) -> i32 {
        self.line.returned_quantity
    }
    async fn unit_price(&self, #[graphql(default = true)] including_tax: bool) -> MonetaryValue {
        let (price, tax) = self
            .find_order_line()
            .map(|l| (l.unit_price, l.tax_percent))
            .unwrap_or_default();
        monetary(
            excluding_tax(price, tax, including_tax),
            &self.order.currency,
        )
    }
    async fn line_value(&self, #[graphql(default = true)] including_tax: bool) -> MonetaryValue {
        let (price, tax) = self
            .find_order_line()
            .map(|l| (l.unit_price, l.tax_percent))
            .unwrap_or_default();
        let value = price * Decimal::from(self.line.quantity);
        monetary(
            excluding_tax(value, tax, including_tax),
            &self.order.currency,
        )
    }
    async fn order_line(&self) -> OrderLine {
        OrderLine::new(&self.order, self.line.order_line_id)
    }
}

#[derive(Interface)]
#[graphql(
    name = "Return",
    field(name = "id", ty = "i32"),
    field(name = "return_status", ty = "ReturnStatus"),
    field(name = "external_id", ty = "Option<String>"),
    field(name = "created_at", ty = "String"),
    field(name = "total_quantity", ty = "i32"),
    field(name = "returned_to_stock", ty = "bool"),
    field(name = "comment", ty = "Option<String>"),
    field(name = "lines", ty = "Vec<ReturnLine>"),
    field(name = "refund_payment_history", ty = "Vec<PaymentHistoryEntry>"),
    field(name = "shipment", ty = "Option<Shipment>"),
    field(name = "order", ty = "Order")
)]
pub enum Return {
    DirectToConsumerReturn(DirectToConsumerReturn),
}

impl Return {
    pub fn new(order: Arc<model::Order>, id: i32) -> Self {
        Return::DirectToConsumerReturn(DirectToConsumerReturn { order, id })
    }
}

pub struct DirectToConsumerReturn {
    order: Arc<model::Order>,
    id: i32,
}

impl DirectToConsumerReturn {
    fn get(&self) -> async_graphql::Result<&model::ReturnRecord> {
        self.order
            .returns
            .iter()
            .find(|r| r.id == self.id)
            .ok_or_else(|| "return vanished".into())
    }
}

#[Object]
impl DirectToConsumerReturn {
    async fn id(&self) -> i32 {
        self.id
    }
    async fn return_status(&self) -> async_graphql::Result<ReturnStatus> {
        Ok(self.get()?.status)
    }
    async fn external_id(&self) -> async_graphql::Result<Option<String>> {
        Ok(self.get()?.external_id.clone())
    }
    async fn created_at(&self) -> async_graphql::Result<String> {
        Ok(date(&self.get()?.created_at))
    }
    async fn total_quantity(&self) -> async_graphql::Result<i32> {
        Ok(self.get()?.lines.iter().map(|l| l.quantity).sum())
    }
    async fn returned_to_stock(&self) -> async_graphql::Result<bool> {
        Ok(self.get()?.returned_to_stock)
    }
    async fn comment(&self) -> async_graphql::Result<Option<String>> {
        Ok(self.get()?.comment.clone())
    }
    async fn return_warehouse(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Warehouse>> {
        let id = self.get()?.return_warehouse_id;
        Ok(id
            .and_then(|w| {
                sim(ctx)
                    .ok()?
                    .with_state(|s| s.catalogue.warehouses.get(&w).cloned())
            })
            .map(Warehouse))
    }
    async fn lines(&self) -> async_graphql::Result<Vec<ReturnLine>> {
        Ok(self
            .get()?
            .lines
            .iter()
            .map(|l| ReturnLine {
                order: self.order.clone(),
                line: l.clone(),
            })
            .collect())
    }
    async fn refund_payment_history(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<PaymentHistoryEntry>> {
        require(ctx, "PaymentHistoryEntry:read")?;
        Ok(refund_entries(&self.order, self.get()?.id))
    }
    async fn shipment(&self) -> async_graphql::Result<Option<Shipment>> {
        Ok(Some(Shipment::new(
            self.order.clone(),
            self.get()?.shipment_id,
        )))
    }
    async fn order(&self) -> Order {
        Order::DirectToConsumerOrder(DirectToConsumerOrder(self.order.clone()))
    }
}

pub struct ReturnLine {
    order: Arc<model::Order>,
    line: model::ReturnLine,
}

#[Object]
impl ReturnLine {
    async fn id(&self) -> i32 {
        self.line.id
    }
    async fn quantity(&self) -> i32 {
        self.line.quantity
    }
    async fn line_value(&self, #[graphql(default = true)] including_tax: bool) -> MonetaryValue {
        let (price, tax) = self
            .order
            .lines
            .iter()
            .find(|l| l.id == self.line.order_line_id)
            .map(|l| (l.unit_price, l.tax_percent))
            .unwrap_or_default();
        let value = price * Decimal::from(self.line.quantity);
        monetary(
            excluding_tax(value, tax, including_tax),
            &self.order.currency,
        )
    }
    async fn order_line(&self) -> OrderLine {
        OrderLine::new(&self.order, self.line.order_line_id)
    }
    async fn shipment_line(&self) -> Option<ShipmentLine> {
        self.order
            .shipments
            .iter()
            .flat_map(|s| s.lines.iter())
            .find(|l| l.id == self.line.shipment_line_id)
            .map(|l| ShipmentLine {
                order: self.order.clone(),
                line: l.clone(),
            })
    }
}
