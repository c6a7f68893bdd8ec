//! The canonical order: a Centra order as Seam fixes it when it first sees
//! it. Lines are what the warehouse ships (a bundle becomes its component
//! SKUs), and each line's money (gross, voucher share, tax, net, shipping
//! share) is allocated once, by the one rounding rule, so that every later
//! capture, credit memo and refund is computed from the same numbers.

use rust_decimal::Decimal;
use seam_connectors::centra::{Order, OrderLineType};
use seam_model::order::{
    allocate_order, expand_bundle, BundleComponent, LineAllocation, LineInput, OrderTotals,
};
use seam_model::{Currency, Money};
use serde::{Deserialize, Serialize};

/// A line as Seam posts it: one SKU the warehouse ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanonicalLine {
    /// The Centra order line id (a bundle's component line for bundles).
    pub line_id: i64,
    pub sku: String,
    pub product_number: String,
    pub quantity: u32,
    /// Tax rate in percent, as Centra and NetSuite write it.
    pub tax_percent: Decimal,
    pub allocation: LineAllocation,
    /// Units the warehouse dispatched and Centra shipped.
    #[serde(default)]
    pub shipped: u32,
    /// Units cancelled after posting.
    #[serde(default)]
    pub cancelled: u32,
    /// For a bundle's component: the bundle line (Centra line id, units),
    /// which Centra ships once all its components have shipped.
    #[serde(default)]
    pub bundle_line: Option<(i64, u32)>,
    /// For a line added by an edit made in NetSuite: the NetSuite rate it
    /// was added at. Its rate as Seam derives it from the allocation can
    /// differ from it by a cent (the tax is rounded on the gross price), and
    /// the edit poll must not take that cent for a price change.
    #[serde(default)]
    pub erp_rate: Option<Decimal>,
}

impl CanonicalLine {
    pub fn open_units(&self) -> u32 {
        self.quantity
            .saturating_sub(self.shipped)
            .saturating_sub(self.cancelled)
    }
}

impl CanonicalLine {
    /// The line's price per unit as NetSuite's rate shows it: net of tax,
    /// before the voucher share (which NetSuite holds as the line discount),
    /// rounded to the cent. Computed over all the line's units, so it does
    /// not move when some are cancelled.
    pub fn erp_unit_rate(&self) -> Decimal {
        if let Some(rate) = self.erp_rate {
            return rate;
        }
        let before_discount = self.allocation.net.amount + self.allocation.voucher.amount;
        (before_discount / Decimal::from(self.quantity.max(1))).round_dp(2)
    }
}

/// Centra's unit price (tax included) for a NetSuite rate (net of tax).
pub fn gross_unit_price(erp_rate: Decimal, tax_percent: Decimal) -> Decimal {
    (erp_rate * (Decimal::ONE + tax_percent / Decimal::ONE_HUNDRED)).round_dp(2)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAddress {
    pub first_name: String,
    pub last_name: String,
    pub address1: String,
    pub address2: Option<String>,
    pub city: String,
    pub postcode: String,
    pub country: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanonicalOrder {
    pub centra_id: String,
    pub number: i64,
    pub currency: Currency,
    /// `YYYY-MM-DD`.
    pub order_date: String,
    pub shipping_method: Option<String>,
    pub address: Option<DeliveryAddress>,
    pub psp_reference: Option<String>,
    pub lines: Vec<CanonicalLine>,
    pub shipping: Money,
    pub shipping_tax: Money,
    pub grand_total: Money,
}

impl CanonicalOrder {
    pub fn line(&self, line_id: i64) -> Option<&CanonicalLine> {
        self.lines.iter().find(|l| l.line_id == line_id)
    }

    /// (SKU, product number) of every line: what the product master is asked.
    pub fn sku_products(&self) -> Vec<(String, String)> {
        self.lines
            .iter()
            .map(|l| (l.sku.clone(), l.product_number.clone()))
            .collect()
    }

    /// What the customer owes for the units still ordered (not cancelled):
    /// the authorisation Seam keeps the PSP at.
    pub fn current_total(&self) -> Money {
        let mut total = self.shipping.amount;
        for line in &self.lines {
            let kept = line.quantity.saturating_sub(line.cancelled);
            total += share_of_units(line.allocation.paid, line.quantity, kept);
        }
        Money::new(total, self.currency)
    }
}

/// The first `units` of `quantity` equal shares of `amount` by the rounding
/// rule: the same split `reverse_units` uses, so shipped and returned units
/// always take the same shares.
pub fn share_of_units(amount: Money, quantity: u32, units: u32) -> Decimal {
    if units == 0 || quantity == 0 {
        return Decimal::ZERO;
    }
    if units >= quantity {
        return amount.amount;
    }
    let weights = vec![Decimal::ONE; quantity as usize];
    match seam_model::allocate_proportionally(amount, &weights) {
        Ok(shares) => shares[..units as usize].iter().map(|m| m.amount).sum(),
        Err(_) => amount.amount * Decimal::from(units) / Decimal::from(quantity),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("Centra's currency '{0}' is not an ISO 4217 code")]
    Currency(String),
    #[error("line {0} has no SKU")]
    LineWithoutSku(i64),
    #[error("line {line}: negative quantity {quantity}")]
    Quantity { line: i64, quantity: i32 },
    #[error("{0}")]
    Money(#[from] seam_model::order::OrderMoneyError),
}

fn percent_to_rate(percent: Decimal) -> Decimal {
    percent / Decimal::ONE_HUNDRED
}

/// Fixes the canonical order from Centra's. Shipping is assumed taxed at the
/// order's highest line rate (Centra does not report shipping's own rate;
/// in the EU shipping follows the main supply).
pub fn canonical_order(order: &Order) -> Result<CanonicalOrder, CanonicalError> {
    let currency: Currency = order
        .grand_total
        .currency
        .code
        .parse()
        .map_err(|_| CanonicalError::Currency(order.grand_total.currency.code.clone()))?;
    let mut inputs = Vec::new();
    let mut priced = Vec::new();
    for line in &order.lines {
        if line.line_type == OrderLineType::BundleItemOrderLine {
            continue;
        }
        let quantity = u32::try_from(line.quantity).map_err(|_| CanonicalError::Quantity {
            line: line.id,
            quantity: line.quantity,
        })?;
        if quantity == 0 {
            continue;
        }
        let sku = line
            .product_size
            .as_ref()
            .and_then(|s| s.sku.clone())
            .ok_or(CanonicalError::LineWithoutSku(line.id))?;
        inputs.push(LineInput {
            line_id: line.id.to_string(),
            sku,
            quantity,
            unit_price: line.unit_price.value,
            tax_rate: percent_to_rate(line.tax_percent),
        });
        priced.push(line);
    }
    let shipping_rate = priced
        .iter()
        .map(|l| l.tax_percent)
        .max()
        .unwrap_or_default();
    let totals = OrderTotals {
        currency,
        voucher_discount: order.totals.discounts.value.abs(),
        shipping: order.totals.shipping.value,
        shipping_tax_rate: percent_to_rate(shipping_rate),
        tax_total: order.totals.tax_included.value,
        grand_total: order.grand_total.value,
    };
    let allocation = allocate_order(&inputs, &totals)?;
    let mut lines = Vec::new();
    for (line, allocated) in priced.iter().zip(allocation.lines) {
        let product_number = line.product_number.clone().unwrap_or_default();
        if line.line_type != OrderLineType::BundleOrderLine {
            lines.push(CanonicalLine {
                line_id: line.id,
                sku: allocated.sku.clone(),
                product_number,
                quantity: allocated.quantity,
                tax_percent: line.tax_percent,
                allocation: allocated,
                shipped: 0,
                cancelled: 0,
                bundle_line: None,
                erp_rate: None,
            });
            continue;
        }
        let items: Vec<_> = order
            .lines
            .iter()
            .filter(|l| {
                l.line_type == OrderLineType::BundleItemOrderLine
                    && l.bundle_line_id == Some(line.id)
                    && l.quantity > 0
            })
            .collect();
        let mut components = Vec::new();
        for item in &items {
            let sku = item
                .product_size
                .as_ref()
                .and_then(|s| s.sku.clone())
                .ok_or(CanonicalError::LineWithoutSku(item.id))?;
            let quantity = item.quantity as u32;
            let list = item.unit_original_price.value;
            components.push(BundleComponent {
                line_id: item.id.to_string(),
                sku,
                quantity,
                weight: if list > Decimal::ZERO {
                    list * Decimal::from(quantity)
                } else {
                    Decimal::from(quantity)
                },
            });
        }
        for (item, part) in items.iter().zip(expand_bundle(&allocated, &components)?) {
            lines.push(CanonicalLine {
                line_id: item.id,
                sku: part.sku.clone(),
                product_number: item.product_number.clone().unwrap_or_default(),
                quantity: part.quantity,
                tax_percent: line.tax_percent,
                allocation: part,
                shipped: 0,
                cancelled: 0,
                bundle_line: Some((line.id, line.quantity.max(0) as u32)),
                erp_rate: None,
            });
        }
    }
    let address = order.shipping_address.as_ref().map(|a| DeliveryAddress {
        first_name: a.first_name.clone().unwrap_or_default(),
        last_name: a.last_name.clone().unwrap_or_default(),
        address1: a.address1.clone().unwrap_or_default(),
        address2: a.address2.clone().filter(|s| !s.is_empty()),
        city: a.city.clone().unwrap_or_default(),
        postcode: a.zip_code.clone().unwrap_or_default(),
        country: a
            .country
            .as_ref()
            .map(|c| c.code.clone())
            .unwrap_or_default(),
        email: order.customer_email().map(str::to_string),
        phone: a.phone_number.clone().filter(|s| !s.is_empty()),
    });
    Ok(CanonicalOrder {
        centra_id: order.id.clone(),
        number: order.number,
        currency,
        order_date: order.order_date.format("%Y-%m-%d").to_string(),
        shipping_method: order.shipping_method().map(str::to_string),
        address,
        psp_reference: order.psp_reference().map(str::to_string),
        lines,
        shipping: allocation.shipping,
        shipping_tax: allocation.shipping_tax,
        grand_total: allocation.grand_total,
    })
}
