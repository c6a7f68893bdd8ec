//! The simulator's state and every rule that changes it: checkout, order
//! edits, shipments, captures, returns, stock and the event queues. Each
//! operation validates everything first and changes nothing when it returns
//! user errors, as Centra's payloads promise.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::catalogue::Catalogue;
use super::model::*;

/// A user error or warning: `{ message, path }` in every payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub message: String,
    pub path: Vec<String>,
}

impl Problem {
    pub fn new(message: impl Into<String>, path: &[&str]) -> Self {
        Problem {
            message: message.into(),
            path: path.iter().map(|p| p.to_string()).collect(),
        }
    }
}

pub type Problems = Vec<Problem>;

/// The three ways the API names an order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderRef {
    pub id: Option<String>,
    pub number: Option<i32>,
    pub external_id: Option<String>,
}

/// One event in a Webhook-plugin call: `{"type","action","date","id"}`.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookEvent {
    #[serde(rename = "type")]
    pub object_type: &'static str,
    pub action: &'static str,
    pub date: String,
    pub id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookTarget {
    pub url: String,
    pub secret: String,
}

#[derive(Default)]
pub struct Queue {
    pub listeners: BTreeMap<EventObjectType, EventListener>,
    pub events: BTreeMap<i64, Event>,
}

/// Checkout input (admin API and `CentraSim::create_order`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewOrder {
    pub lines: Vec<NewOrderLine>,
    pub vouchers: Vec<NewVoucher>,
    pub currency: String,
    pub shipping_method: String,
    /// Shipping price including tax.
    pub shipping_price: Decimal,
    pub shipping_tax_percent: Decimal,
    pub shipping_address: AddressData,
    /// Defaults to the shipping address.
    pub billing_address: Option<AddressData>,
    pub customer_email: String,
    pub payment_method: Option<String>,
    /// The PSP reference of the authorisation (Adyen pspReference).
    pub psp_reference: String,
    pub external_id: Option<String>,
    pub is_on_hold: bool,
    pub order_date: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewOrderLine {
    pub sku: String,
    pub quantity: i32,
    /// Unit price paid, including tax.
    pub unit_price: Decimal,
    /// Defaults to `unit_price` (no discount).
    pub unit_original_price: Option<Decimal>,
    pub tax_percent: Decimal,
    pub comment: Option<String>,
    /// For a bundle SKU: the chosen component size SKUs, one per section.
    pub bundle_items: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewVoucher {
    pub name: String,
    pub code: Option<String>,
    pub value: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CreatedOrder {
    pub id: String,
    pub number: i32,
}

pub struct AddLine {
    pub size_id: i32,
    pub quantity: i32,
    pub unit_price: Option<Decimal>,
    pub comment: Option<String>,
}

pub struct CancelLine {
    pub line_id: i32,
    pub quantity: i32,
    /// REMOVE_FROM_STOCK instead of releasing back to the warehouse.
    pub remove_from_stock: bool,
}

#[derive(Default)]
pub struct OrderUpdate {
    pub add_lines: Vec<AddLine>,
    pub cancel_lines: Vec<CancelLine>,
    pub is_on_hold: Option<bool>,
    pub external_id: Option<String>,
    pub internal_comment: Option<String>,
    pub shipping_address: Option<AddressData>,
    pub billing_address: Option<AddressData>,
}

#[derive(Default)]
pub struct NewShipment {
    pub order: OrderRef,
    /// (order line id, quantity); empty means everything not yet in a shipment (inferred).
    pub lines: Vec<(i32, i32)>,
    pub capture: bool,
    pub is_paid: bool,
    pub is_good_to_go: bool,
    pub send_email: bool,
    pub external_id: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub info: ShipmentInfo,
}

#[derive(Default, Clone)]
pub struct ShipmentInfo {
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub packages_number: Option<i32>,
    pub tracking_number: Option<String>,
    pub return_tracking_number: Option<String>,
}

pub enum ReturnStockPolicy {
    ReleaseBackToWarehouse,
    SendToWarehouse(i32),
    RemoveFromStock,
}

pub struct NewReturn {
    pub shipment_id: i32,
    /// (shipment line id, quantity)
    pub lines: Vec<(i32, i32)>,
    pub policy: ReturnStockPolicy,
    pub comment: Option<String>,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockQuantityType {
    Physical,
    FreeToAllocate,
}

/// One line of a stock mutation as applied, returned in the payload.
#[derive(Debug, Clone)]
pub struct AppliedStockLine {
    pub size_id: i32,
    pub warehouse_id: i32,
    pub delta: i64,
    pub free_to_allocate: i64,
}

#[derive(Debug, Clone)]
pub struct StockChangeRecord {
    pub id: i32,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub lines: Vec<AppliedStockLine>,
}

pub struct State {
    rng: ChaCha8Rng,
    pub catalogue: Catalogue,
    pub orders: BTreeMap<i32, Order>,
    order_ids: HashMap<String, i32>,
    order_external_ids: HashMap<String, i32>,
    shipment_index: HashMap<i32, i32>,
    return_index: HashMap<i32, i32>,
    next_order_number: i32,
    next_line_id: i32,
    next_shipment_id: i32,
    next_shipment_line_id: i32,
    next_return_id: i32,
    next_return_line_id: i32,
    next_payment_id: i32,
    next_customer_id: i32,
    next_stock_change_id: i32,
    next_event_id: i64,
    customers: HashMap<String, i32>,
    pub queues: HashMap<String, Queue>,
    pub webhook: Option<WebhookTarget>,
    pub outbox: Vec<WebhookEvent>,
    pub stock_mutations: Vec<StockMutationRecord>,
    pub failing_captures: u32,
    /// The payment plugin: captures the shipped value at the PSP, as
    /// Centra's Adyen plugin does (the sandbox connects it to the Adyen
    /// simulator). Without it, captures are recorded in Centra only.
    pub psp_capture: Option<PspCapture>,
}

/// (PSP reference, currency, amount) → the PSP's answer.
pub type PspCapture =
    std::sync::Arc<dyn Fn(&str, &str, Decimal) -> Result<(), String> + Send + Sync>;

fn money(value: Decimal) -> Decimal {
    value.round_dp(2)
}

impl State {
    pub fn new(seed: u64) -> Self {
        State {
            rng: ChaCha8Rng::seed_from_u64(seed),
            catalogue: Catalogue::default(),
            orders: BTreeMap::new(),
            order_ids: HashMap::new(),
            order_external_ids: HashMap::new(),
            shipment_index: HashMap::new(),
            return_index: HashMap::new(),
            next_order_number: 1000,
            next_line_id: 0,
            next_shipment_id: 0,
            next_shipment_line_id: 0,
            next_return_id: 0,
            next_return_line_id: 0,
            next_payment_id: 0,
            next_customer_id: 0,
            next_stock_change_id: 0,
            next_event_id: 0,
            customers: HashMap::new(),
            queues: HashMap::new(),
            webhook: None,
            outbox: Vec::new(),
            stock_mutations: Vec::new(),
            failing_captures: 0,
            psp_capture: None,
        }
    }

    // ---- lookups -------------------------------------------------------

    pub fn order_number(&self, order: &OrderRef) -> Option<i32> {
        if let Some(number) = order.number {
            return self.orders.contains_key(&number).then_some(number);
        }
        if let Some(id) = &order.id {
            return self.order_ids.get(id).copied();
        }
        if let Some(external) = &order.external_id {
            return self.order_external_ids.get(external).copied();
        }
        None
    }

    pub fn find_order(&self, order: &OrderRef) -> Option<&Order> {
        self.order_number(order).and_then(|n| self.orders.get(&n))
    }

    pub fn shipment(&self, id: i32) -> Option<(&Order, &Shipment)> {
        let order = self.orders.get(self.shipment_index.get(&id)?)?;
        let shipment = order.shipments.iter().find(|s| s.id == id)?;
        Some((order, shipment))
    }

    pub fn shipment_by_external(&self, external: &str) -> Option<i32> {
        self.orders
            .values()
            .flat_map(|o| o.shipments.iter())
            .find(|s| s.external_id.as_deref() == Some(external))
            .map(|s| s.id)
    }

    pub fn return_record(&self, id: i32) -> Option<(&Order, &ReturnRecord)> {
        let order = self.orders.get(self.return_index.get(&id)?)?;
        let record = order.returns.iter().find(|r| r.id == id)?;
        Some((order, record))
    }

    pub fn all_shipments(&self) -> impl Iterator<Item = (&Order, &Shipment)> {
        self.orders
            .values()
            .flat_map(|o| o.shipments.iter().map(move |s| (o, s)))
    }

    pub fn all_returns(&self) -> impl Iterator<Item = (&Order, &ReturnRecord)> {
        self.orders
            .values()
            .flat_map(|o| o.returns.iter().map(move |r| (o, r)))
    }

    // ---- events and webhooks ---------------------------------------------

    /// Queues an event for every integration listening to it, and a Webhook
    /// plugin notification for the types the plugin covers.
    pub fn emit(&mut self, object_type: EventObjectType, change: EventChangeType, reference: i64) {
        let now = Utc::now();
        for queue in self.queues.values_mut() {
            let listening = queue
                .listeners
                .get(&object_type)
                .is_some_and(|l| l.change_types.contains(&change));
            if listening {
                self.next_event_id += 1;
                let id = self.next_event_id;
                queue.events.insert(
                    id,
                    Event {
                        id,
                        object_type,
                        change_type: change,
                        object_reference: reference,
                        created_at: now,
                    },
                );
            }
        }
        if self.webhook.is_some() {
            // The plugin's "Integration API" version covers order, shipment,
            // customer, account and return. Action names beyond
            // insert/create/update/good_to_go are undocumented: we send
            // "insert" for created objects and "update" otherwise (inferred).
            let kind = match object_type {
                EventObjectType::Order => Some("order"),
                EventObjectType::Shipment => Some("shipment"),
                EventObjectType::Return => Some("return"),
                _ => None,
            };
            if let Some(kind) = kind {
                let action = if change == EventChangeType::Created {
                    "insert"
                } else {
                    "update"
                };
                self.outbox.push(WebhookEvent {
                    object_type: kind,
                    action,
                    date: now.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
                    id: reference,
                });
            }
        }
    }

    pub fn set_event_listeners(
        &mut self,
        integration: &str,
        listeners: &[(EventObjectType, Vec<EventChangeType>)],
    ) -> Vec<EventListener> {
        let now = Utc::now();
        let queue = self.queues.entry(integration.to_string()).or_default();
        for (object_type, changes) in listeners {
            let entry = queue
                .listeners
                .entry(*object_type)
                .or_insert_with(|| EventListener {
                    object_type: *object_type,
                    change_types: BTreeSet::new(),
                    created_at: now,
                    updated_at: now,
                });
            // Idempotent and additive (documented); no change types means all.
            if changes.is_empty() {
                entry.change_types.extend(ALL_CHANGE_TYPES);
            } else {
                entry.change_types.extend(changes.iter().copied());
            }
            entry.updated_at = now;
        }
        queue.listeners.values().cloned().collect()
    }

    /// Removes change types (all if empty) and deletes their queued events (documented).
    pub fn unset_event_listeners(
        &mut self,
        integration: &str,
        listeners: &[(EventObjectType, Vec<EventChangeType>)],
    ) -> Vec<EventListener> {
        let queue = self.queues.entry(integration.to_string()).or_default();
        for (object_type, changes) in listeners {
            let removed: Vec<EventChangeType> = if changes.is_empty() {
                ALL_CHANGE_TYPES.to_vec()
            } else {
                changes.clone()
            };
            if let Some(listener) = queue.listeners.get_mut(object_type) {
                for change in &removed {
                    listener.change_types.remove(change);
                }
                if listener.change_types.is_empty() {
                    queue.listeners.remove(object_type);
                }
            }
            queue.events.retain(|_, e| {
                !(e.object_type == *object_type && removed.contains(&e.change_type))
            });
        }
        queue.listeners.values().cloned().collect()
    }

    pub fn events(
        &self,
        integration: &str,
        object_types: &[EventObjectType],
        change_types: &[EventChangeType],
        limit: usize,
    ) -> Vec<Event> {
        let Some(queue) = self.queues.get(integration) else {
            return Vec::new();
        };
        queue
            .events
            .values()
            .filter(|e| object_types.is_empty() || object_types.contains(&e.object_type))
            .filter(|e| change_types.is_empty() || change_types.contains(&e.change_type))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Confirms events; ids not in the queue are ignored (inferred: confirming is idempotent).
    pub fn confirm_events(&mut self, integration: &str, ids: &[i64]) -> Result<usize, Problems> {
        if ids.len() > 200 {
            return Err(vec![Problem::new(
                "You can confirm at most 200 events at once.",
                &["input", "eventsIds"],
            )]);
        }
        let Some(queue) = self.queues.get_mut(integration) else {
            return Ok(0);
        };
        Ok(ids
            .iter()
            .filter(|id| queue.events.remove(id).is_some())
            .count())
    }

    // ---- checkout ----------------------------------------------------------

    fn new_order_id(&mut self) -> String {
        loop {
            let bytes: [u8; 16] = self.rng.gen();
            let id = hex::encode(bytes);
            if !self.order_ids.contains_key(&id) {
                return id;
            }
        }
    }

    fn size_line(
        &mut self,
        size_id: i32,
        kind: LineKind,
        quantity: i32,
        (unit_price, original, tax): (Decimal, Decimal, Decimal),
        comment: Option<String>,
    ) -> Option<OrderLine> {
        let size = self.catalogue.sizes.get(&size_id)?.clone();
        let variant = self.catalogue.variants.get(&size.variant_id)?.clone();
        let product = self.catalogue.products.get(&size.product_id)?.clone();
        self.next_line_id += 1;
        Some(OrderLine {
            id: self.next_line_id,
            kind,
            size_id,
            product_id: product.id,
            variant_id: variant.id,
            product_number: product.product_number,
            product_name: product.name,
            variant_name: variant.name,
            variant_number: variant.variant_number,
            size: size.name,
            sku: size.sku,
            ean: size.ean,
            brand: product.brand,
            comment,
            quantity,
            cancelled_quantity: 0,
            returned_quantity: 0,
            shipped_quantity: 0,
            unit_original_price: original,
            unit_price,
            tax_percent: tax,
            allocations: Vec::new(),
        })
    }

    /// Allocates `quantity` of a size across warehouses in id order (the
    /// simulator's single allocation rule; inferred simplification).
    fn allocate(&mut self, size_id: i32, quantity: i32) -> Vec<(i32, i32)> {
        let mut left = i64::from(quantity);
        let mut taken = Vec::new();
        let warehouses: Vec<i32> = self.catalogue.warehouses.keys().copied().collect();
        for warehouse in warehouses {
            if left == 0 {
                break;
            }
            let cell = self.catalogue.cell_mut(warehouse, size_id);
            let take = cell.free_to_allocate().clamp(0, left);
            if take > 0 {
                cell.allocated += take;
                left -= take;
                taken.push((warehouse, take as i32));
            }
        }
        taken
    }

    fn release(&mut self, line: &mut OrderLine, quantity: i32, remove_from_stock: bool) {
        let mut left = quantity;
        for (warehouse, allocated) in line.allocations.iter_mut().rev() {
            if left == 0 {
                break;
            }
            let take = (*allocated).min(left);
            *allocated -= take;
            left -= take;
            let cell = self.catalogue.cell_mut(*warehouse, line.size_id);
            cell.allocated -= i64::from(take);
            if remove_from_stock {
                cell.physical -= i64::from(take);
            }
        }
        line.allocations.retain(|(_, q)| *q > 0);
    }

    /// Resolves checkout lines into (size id, kind, qty, price, original, tax, comment) and checks stock.
    pub fn create_order(&mut self, new: NewOrder) -> Result<CreatedOrder, String> {
        if new.lines.is_empty() {
            return Err("an order needs at least one line".into());
        }
        let mut wanted: HashMap<i32, i64> = HashMap::new();
        struct Planned {
            size_id: i32,
            line: NewOrderLine,
            items: Vec<(i32, i32)>,
        }
        let mut planned = Vec::new();
        for line in &new.lines {
            if line.quantity <= 0 {
                return Err(format!("line {}: quantity must be positive", line.sku));
            }
            if line.unit_price < Decimal::ZERO {
                return Err(format!("line {}: negative price", line.sku));
            }
            let size = self
                .catalogue
                .size_by_sku(&line.sku)
                .ok_or_else(|| format!("unknown SKU {}", line.sku))?;
            let mut items = Vec::new();
            if let Some(bundle) = self.catalogue.bundles.get(&size.product_id) {
                if line.bundle_items.len() != bundle.sections.len() {
                    return Err(format!(
                        "bundle {} needs one item SKU per section ({})",
                        line.sku,
                        bundle.sections.len()
                    ));
                }
                for (section, item_sku) in bundle.sections.iter().zip(&line.bundle_items) {
                    let item = self
                        .catalogue
                        .size_by_sku(item_sku)
                        .ok_or_else(|| format!("unknown bundle item SKU {item_sku}"))?;
                    if !section.variant_ids.contains(&item.variant_id) {
                        return Err(format!(
                            "{item_sku} is not in bundle section {}",
                            section.id
                        ));
                    }
                    let quantity = line.quantity * section.quantity;
                    *wanted.entry(item.id).or_default() += i64::from(quantity);
                    items.push((item.id, quantity));
                }
            } else {
                *wanted.entry(size.id).or_default() += i64::from(line.quantity);
            }
            planned.push(Planned {
                size_id: size.id,
                line: line.clone(),
                items,
            });
        }
        for (size_id, quantity) in &wanted {
            let fta = self.catalogue.total_fta(*size_id);
            if fta < *quantity {
                let sku = self
                    .catalogue
                    .sizes
                    .get(size_id)
                    .map(|s| s.sku.clone())
                    .unwrap_or_default();
                return Err(format!(
                    "not enough stock for {sku}: {quantity} wanted, {fta} free to allocate"
                ));
            }
        }
        if let Some(external) = &new.external_id {
            if self.order_external_ids.contains_key(external) {
                return Err(format!("externalId {external} is already used"));
            }
        }
        let now = Utc::now();
        let mut lines = Vec::new();
        for plan in planned {
            let original = plan
                .line
                .unit_original_price
                .unwrap_or(plan.line.unit_price);
            let kind = if plan.items.is_empty() {
                LineKind::Product
            } else {
                LineKind::Bundle
            };
            let Some(mut line) = self.size_line(
                plan.size_id,
                kind,
                plan.line.quantity,
                (plan.line.unit_price, original, plan.line.tax_percent),
                plan.line.comment.clone(),
            ) else {
                return Err(format!(
                    "catalogue entry for {} is incomplete",
                    plan.line.sku
                ));
            };
            if plan.items.is_empty() {
                line.allocations = self.allocate(plan.size_id, plan.line.quantity);
                lines.push(line);
            } else {
                let bundle_line_id = line.id;
                lines.push(line);
                for (item_size, quantity) in plan.items {
                    // Items are priced at zero; the bundle line carries the price (inferred).
                    let kind = LineKind::BundleItem { bundle_line_id };
                    if let Some(mut item) = self.size_line(
                        item_size,
                        kind,
                        quantity,
                        (Decimal::ZERO, Decimal::ZERO, plan.line.tax_percent),
                        None,
                    ) {
                        item.allocations = self.allocate(item_size, quantity);
                        lines.push(item);
                    }
                }
            }
        }
        self.next_order_number += 1;
        let number = self.next_order_number;
        let id = self.new_order_id();
        let customer_id = match self.customers.get(&new.customer_email) {
            Some(id) => *id,
            None => {
                self.next_customer_id += 1;
                self.customers
                    .insert(new.customer_email.clone(), self.next_customer_id);
                self.next_customer_id
            }
        };
        let shipping_name = if new.shipping_method.is_empty() {
            "Standard".to_string()
        } else {
            new.shipping_method.clone()
        };
        let mut order = Order {
            id: id.clone(),
            number,
            external_id: new.external_id.clone(),
            status: OrderStatus::Pending,
            is_on_hold: new.is_on_hold,
            is_locked: false,
            created_at: now,
            updated_at: now,
            order_date: new.order_date.unwrap_or(now),
            currency: if new.currency.is_empty() {
                "EUR".into()
            } else {
                new.currency.clone()
            },
            currency_base_rate: Decimal::ONE,
            country_code: new.shipping_address.country_code.clone(),
            lines,
            vouchers: new
                .vouchers
                .iter()
                .map(|v| AppliedVoucher {
                    name: v.name.clone(),
                    code: v.code.clone(),
                    value: money(v.value),
                    date: now,
                })
                .collect(),
            shipping: ShippingOption {
                id: shipping_option_id(&shipping_name),
                uri: shipping_name.to_lowercase().replace(' ', "-"),
                name: shipping_name,
            },
            shipping_value: money(new.shipping_price),
            shipping_tax_percent: new.shipping_tax_percent,
            billing_address: new
                .billing_address
                .clone()
                .unwrap_or_else(|| new.shipping_address.clone()),
            shipping_address: new.shipping_address,
            customer_id,
            customer_email: new.customer_email,
            payment_method: new.payment_method.unwrap_or_else(|| "adyen-drop-in".into()),
            psp_reference: new.psp_reference.clone(),
            payment_history: Vec::new(),
            shipments: Vec::new(),
            returns: Vec::new(),
            internal_comment: None,
        };
        let total = grand_total(&order);
        // An order nobody paid for (a zero-value exchange order placed
        // through the API) has no authorisation to record.
        if !new.psp_reference.is_empty() {
            self.next_payment_id += 1;
            order.payment_history.push(PaymentEntry {
                id: self.next_payment_id,
                created_at: now,
                entry_type: PaymentEntryType::Auth,
                status: PaymentStatus::Success,
                external_reference: new.psp_reference,
                value: total,
                payment_method: order.payment_method.clone(),
                shipment_id: None,
                return_id: None,
            });
        }
        if let Some(external) = &order.external_id {
            self.order_external_ids.insert(external.clone(), number);
        }
        self.order_ids.insert(id.clone(), number);
        self.orders.insert(number, order);
        self.emit(
            EventObjectType::Order,
            EventChangeType::Created,
            i64::from(number),
        );
        Ok(CreatedOrder { id, number })
    }

    /// `createDirectToConsumerOrder` (inferred mutation, see the schema):
    /// the checkout's rules, with Centra's userErrors instead of a refusal
    /// string. The externalId is required and unique, so a second create
    /// with the same one changes nothing.
    pub fn create_direct_to_consumer_order(&mut self, new: NewOrder) -> Result<i32, Problems> {
        let external = new.external_id.clone().unwrap_or_default();
        if external.trim().is_empty() {
            return Err(vec![Problem::new(
                "externalId is required.",
                &["input", "externalId"],
            )]);
        }
        if self.order_external_ids.contains_key(&external) {
            return Err(vec![Problem::new(
                format!("An order with externalId {external} already exists."),
                &["input", "externalId"],
            )]);
        }
        self.create_order(new)
            .map(|created| created.number)
            .map_err(|message| vec![Problem::new(message, &["input", "lines"])])
    }

    /// `refundReturn` (inferred mutation, see the schema): records a refund
    /// made outside Centra as a REFUND payment entry of the return. Centra's
    /// payment plugin is not asked to refund (`refund_payment` must be false
    /// here: the simulator does not refund through its plugin), so recording
    /// never moves money. At most what was captured less what was refunded.
    pub fn refund_return(
        &mut self,
        return_id: i32,
        value: Decimal,
        external_reference: Option<String>,
        refund_payment: bool,
    ) -> Result<i32, Problems> {
        let Some((order, _)) = self.return_record(return_id) else {
            return Err(vec![Problem::new("Return not found.", &["id"])]);
        };
        let mut problems = Vec::new();
        if refund_payment {
            problems.push(Problem::new(
                "Refunding through the payment plugin is not available here; record a refund made elsewhere (refundPayment: false).",
                &["input", "refundPayment"],
            ));
        }
        if value <= Decimal::ZERO || value.round_dp(2) != value {
            problems.push(Problem::new(
                "The value must be positive, in whole cents.",
                &["input", "value"],
            ));
        }
        let sum = |kind: PaymentEntryType| -> Decimal {
            order
                .payment_history
                .iter()
                .filter(|p| p.entry_type == kind && p.status == PaymentStatus::Success)
                .map(|p| p.value)
                .sum()
        };
        let refundable = sum(PaymentEntryType::Capture) - sum(PaymentEntryType::Refund);
        if value > refundable {
            problems.push(Problem::new(
                format!("Cannot refund {value}: {refundable} is captured and not yet refunded."),
                &["input", "value"],
            ));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let number = order.number;
        self.next_payment_id += 1;
        let id = self.next_payment_id;
        if let Some(order) = self.orders.get_mut(&number) {
            let reference = external_reference.unwrap_or_else(|| order.psp_reference.clone());
            order.payment_history.push(PaymentEntry {
                id,
                created_at: Utc::now(),
                entry_type: PaymentEntryType::Refund,
                status: PaymentStatus::Success,
                external_reference: reference,
                value,
                payment_method: order.payment_method.clone(),
                shipment_id: None,
                return_id: Some(return_id),
            });
        }
        self.emit(
            EventObjectType::Return,
            EventChangeType::Updated,
            i64::from(return_id),
        );
        self.touch_order(number);
        Ok(id)
    }

    fn touch_order(&mut self, number: i32) {
        if let Some(order) = self.orders.get_mut(&number) {
            order.updated_at = Utc::now();
        }
        self.emit(
            EventObjectType::Order,
            EventChangeType::Updated,
            i64::from(number),
        );
    }

    pub fn confirm_order(&mut self, order: &OrderRef) -> Result<i32, Problems> {
        let Some(number) = self.order_number(order) else {
            return Err(vec![Problem::new("Order not found.", &["input", "order"])]);
        };
        let Some(order) = self.orders.get_mut(&number) else {
            return Err(vec![]);
        };
        if order.status != OrderStatus::Pending {
            return Err(vec![Problem::new(
                format!(
                    "Only PENDING orders can be confirmed; order {number} is {}.",
                    status_name(order.status)
                ),
                &["input", "order"],
            )]);
        }
        order.status = OrderStatus::Confirmed;
        self.touch_order(number);
        Ok(number)
    }

    /// Cancels every unshipped unit and the order itself, as an AMS user would.
    pub fn cancel_order(
        &mut self,
        order: &OrderRef,
        remove_from_stock: bool,
    ) -> Result<i32, String> {
        let number = self.order_number(order).ok_or("order not found")?;
        let Some(mut order) = self.orders.remove(&number) else {
            return Err("order not found".into());
        };
        let captured = order.shipments.iter().any(|s| s.is_captured);
        let blocked = if captured {
            Some("a captured order must be refunded, not cancelled")
        } else if matches!(
            order.status,
            OrderStatus::Cancelled | OrderStatus::Shipped | OrderStatus::Archived
        ) {
            Some("the order can no longer be cancelled")
        } else {
            None
        };
        if let Some(reason) = blocked {
            self.orders.insert(number, order);
            return Err(reason.into());
        }
        for index in 0..order.lines.len() {
            let in_shipments = in_shipments(&order, order.lines[index].id);
            let line = &mut order.lines[index];
            let cancellable = line.quantity - in_shipments;
            if cancellable > 0 {
                line.quantity -= cancellable;
                line.cancelled_quantity += cancellable;
                if !line.allocations.is_empty() {
                    let mut taken = line.clone();
                    self.release(&mut taken, cancellable, remove_from_stock);
                    order.lines[index].allocations = taken.allocations;
                }
            }
        }
        order.status = OrderStatus::Cancelled;
        self.next_payment_id += 1;
        order.payment_history.push(PaymentEntry {
            id: self.next_payment_id,
            created_at: Utc::now(),
            entry_type: PaymentEntryType::Cancel,
            status: PaymentStatus::Success,
            external_reference: order.psp_reference.clone(),
            value: grand_total(&order),
            payment_method: order.payment_method.clone(),
            shipment_id: None,
            return_id: None,
        });
        self.orders.insert(number, order);
        self.touch_order(number);
        Ok(number)
    }

    pub fn update_order(&mut self, order: &OrderRef, update: OrderUpdate) -> Result<i32, Problems> {
        let Some(number) = self.order_number(order) else {
            return Err(vec![Problem::new("Order not found.", &["order"])]);
        };
        let Some(current) = self.orders.get(&number) else {
            return Err(vec![]);
        };
        let mut problems = Vec::new();
        if matches!(
            current.status,
            OrderStatus::Cancelled | OrderStatus::Archived
        ) && (!update.add_lines.is_empty() || !update.cancel_lines.is_empty())
        {
            problems.push(Problem::new(
                "Lines of a cancelled or archived order cannot be changed.",
                &["order"],
            ));
        }
        let mut cancel_totals: HashMap<i32, i32> = HashMap::new();
        for (index, cancel) in update.cancel_lines.iter().enumerate() {
            let idx = index.to_string();
            let path = ["input", "cancelLines", idx.as_str()];
            let Some(line) = current.lines.iter().find(|l| l.id == cancel.line_id) else {
                problems.push(Problem::new(
                    format!("Order line {} not found.", cancel.line_id),
                    &path,
                ));
                continue;
            };
            let total = cancel_totals.entry(line.id).or_default();
            *total += cancel.quantity;
            let cancellable = line.quantity - in_shipments(current, line.id);
            if cancel.quantity <= 0 || *total > cancellable {
                problems.push(Problem::new(
                    format!(
                        "Cannot cancel {} of line {}: {} can be cancelled.",
                        cancel.quantity,
                        line.id,
                        cancellable.max(0)
                    ),
                    &[&path[..], &["quantity"]].concat(),
                ));
            }
        }
        let mut wanted: HashMap<i32, i64> = HashMap::new();
        for (index, add) in update.add_lines.iter().enumerate() {
            let idx = index.to_string();
            if add.quantity <= 0 {
                problems.push(Problem::new(
                    "Quantity must be positive.",
                    &["input", "addLines", &idx, "quantity"],
                ));
            }
            if !self.catalogue.sizes.contains_key(&add.size_id)
                || self.catalogue.bundles.contains_key(
                    &self
                        .catalogue
                        .sizes
                        .get(&add.size_id)
                        .map_or(0, |s| s.product_id),
                )
            {
                problems.push(Problem::new(
                    "Product size not found or not addable.",
                    &["input", "addLines", &idx, "size"],
                ));
                continue;
            }
            *wanted.entry(add.size_id).or_default() += i64::from(add.quantity.max(0));
        }
        for (size_id, quantity) in &wanted {
            let fta = self.catalogue.total_fta(*size_id);
            if fta < *quantity {
                problems.push(Problem::new(
                    format!("Not enough stock: {quantity} wanted, {fta} free to allocate."),
                    &["input", "addLines"],
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let Some(mut order) = self.orders.remove(&number) else {
            return Err(vec![]);
        };
        for cancel in &update.cancel_lines {
            if let Some(index) = order.lines.iter().position(|l| l.id == cancel.line_id) {
                let mut line = order.lines[index].clone();
                line.quantity -= cancel.quantity;
                line.cancelled_quantity += cancel.quantity;
                self.release(&mut line, cancel.quantity, cancel.remove_from_stock);
                order.lines[index] = line;
            }
        }
        for add in update.add_lines {
            let allocations = self.allocate(add.size_id, add.quantity);
            // addLines grows an existing line only when size, price and comment
            // match exactly; otherwise it adds a new line (documented pitfall;
            // display and delivery window are not modelled).
            let matching = order.lines.iter_mut().find(|l| {
                l.kind == LineKind::Product
                    && l.size_id == add.size_id
                    && add.unit_price.is_none_or(|p| p == l.unit_price)
                    && l.comment == add.comment
            });
            if let Some(line) = matching {
                line.quantity += add.quantity;
                merge_allocations(&mut line.allocations, &allocations);
                continue;
            }
            let template = order
                .lines
                .iter()
                .find(|l| l.kind == LineKind::Product && l.size_id == add.size_id)
                .cloned();
            let price = add
                .unit_price
                .or(template.as_ref().map(|t| t.unit_price))
                .unwrap_or_default();
            let original = template
                .as_ref()
                .map(|t| t.unit_original_price)
                .unwrap_or(price);
            let tax = template
                .as_ref()
                .or(order.lines.first())
                .map(|t| t.tax_percent)
                .unwrap_or_default();
            if let Some(mut line) = self.size_line(
                add.size_id,
                LineKind::Product,
                add.quantity,
                (price, original.max(price), tax),
                add.comment,
            ) {
                line.allocations = allocations;
                order.lines.push(line);
            }
        }
        if let Some(hold) = update.is_on_hold {
            order.is_on_hold = hold;
        }
        if let Some(external) = update.external_id {
            if let Some(old) = order.external_id.take() {
                self.order_external_ids.remove(&old);
            }
            self.order_external_ids.insert(external.clone(), number);
            order.external_id = Some(external);
        }
        if update.internal_comment.is_some() {
            order.internal_comment = update.internal_comment;
        }
        if let Some(address) = update.shipping_address {
            order.shipping_address = address;
        }
        if let Some(address) = update.billing_address {
            order.billing_address = address;
        }
        let nothing_left = order.lines.iter().all(|l| l.quantity == 0);
        if nothing_left && order.shipments.is_empty() && order.status != OrderStatus::Cancelled {
            // Inferred: cancelling every line cancels the order.
            order.status = OrderStatus::Cancelled;
        }
        settle_status(&mut order);
        self.orders.insert(number, order);
        self.touch_order(number);
        Ok(number)
    }

    // ---- shipments -----------------------------------------------------------

    /// Creates a shipment. Returns the shipment id and warnings (a failed capture).
    pub fn create_shipment(
        &mut self,
        new: NewShipment,
        may_process_locked: bool,
    ) -> Result<(i32, Problems), Problems> {
        let Some(number) = self.order_number(&new.order) else {
            return Err(vec![Problem::new("Order not found.", &["input", "order"])]);
        };
        let Some(order) = self.orders.get(&number) else {
            return Err(vec![]);
        };
        let mut problems = Vec::new();
        if order.is_on_hold {
            problems.push(Problem::new(
                "Order is on hold; shipments cannot be created.",
                &["input", "order"],
            ));
        }
        if order.is_locked && !may_process_locked {
            problems.push(Problem::new(
                "Order is locked; you need Order.isLocked:write permission to process it.",
                &["input", "order"],
            ));
        }
        if !matches!(
            order.status,
            OrderStatus::Confirmed | OrderStatus::Processing
        ) {
            // Inferred: only confirmed orders can be shipped.
            problems.push(Problem::new(
                format!(
                    "Order status {} does not allow shipments.",
                    status_name(order.status)
                ),
                &["input", "order"],
            ));
        }
        let mut lines: Vec<(i32, i32)> = new.lines.clone();
        if lines.is_empty() {
            lines = order
                .lines
                .iter()
                .map(|l| (l.id, l.quantity - in_shipments(order, l.id)))
                .filter(|(_, q)| *q > 0)
                .collect();
            if lines.is_empty() {
                problems.push(Problem::new("Nothing left to ship.", &["input", "lines"]));
            }
        }
        let mut totals: HashMap<i32, i32> = HashMap::new();
        for (index, (line_id, quantity)) in lines.iter().enumerate() {
            let idx = index.to_string();
            let Some(line) = order.lines.iter().find(|l| l.id == *line_id) else {
                problems.push(Problem::new(
                    format!("Order line {line_id} not found."),
                    &["input", "lines", &idx, "orderLine"],
                ));
                continue;
            };
            let total = totals.entry(*line_id).or_default();
            *total += quantity;
            let open = line.quantity - in_shipments(order, line.id);
            if *quantity <= 0 || *total > open {
                problems.push(Problem::new(
                    format!(
                        "Cannot ship {quantity} of line {line_id}: {} left to ship.",
                        open.max(0)
                    ),
                    &["input", "lines", &idx, "quantity"],
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let now = Utc::now();
        let Some(mut order) = self.orders.remove(&number) else {
            return Err(vec![]);
        };
        self.next_shipment_id += 1;
        let shipment_id = self.next_shipment_id;
        let mut shipment_lines = Vec::new();
        for (line_id, quantity) in lines {
            self.next_shipment_line_id += 1;
            shipment_lines.push(ShipmentLine {
                id: self.next_shipment_line_id,
                order_line_id: line_id,
                quantity,
                returned_quantity: 0,
                from_warehouses: Vec::new(),
            });
        }
        let shipping_value = if order.shipments.is_empty() {
            order.shipping_value
        } else {
            Decimal::ZERO
        };
        let mut shipment = Shipment {
            id: shipment_id,
            number: format!("{}-{}", order.number, order.shipments.len() + 1),
            order_number: number,
            external_id: new.external_id,
            created_at: new.created_at.unwrap_or(now),
            updated_at: now,
            lines: shipment_lines,
            is_good_to_go: new.is_good_to_go,
            is_shipped: false,
            is_paid: new.is_paid && !new.capture,
            is_captured: false,
            paid_at: (new.is_paid && !new.capture).then_some(now),
            captured_at: None,
            captured_value: None,
            shipped_at: None,
            carrier_name: new.info.carrier,
            service_name: new.info.service,
            tracking_number: new.info.tracking_number,
            return_tracking_number: new.info.return_tracking_number,
            number_of_packages: new.info.packages_number,
            send_email: new.send_email,
            shipping_value,
        };
        let mut warnings = Vec::new();
        if new.capture {
            // A failed capture does not fail createShipment (documented): the
            // shipment exists with isCaptured false and the reason is a warning.
            if let Err(reason) = self.capture(&mut order, &mut shipment) {
                warnings.push(Problem::new(
                    format!("Capture failed: {reason}"),
                    &["input", "capture"],
                ));
            }
        }
        if order.status == OrderStatus::Confirmed {
            order.status = OrderStatus::Processing;
        }
        order.shipments.push(shipment);
        order.updated_at = now;
        self.shipment_index.insert(shipment_id, number);
        self.orders.insert(number, order);
        self.emit(
            EventObjectType::Shipment,
            EventChangeType::Created,
            i64::from(shipment_id),
        );
        self.touch_order(number);
        Ok((shipment_id, warnings))
    }

    /// Value of a shipment: its lines, its shipping, less its share of vouchers;
    /// the shipment that completes the order takes what is left of the total.
    fn shipment_value(order: &Order, shipment: &Shipment) -> Decimal {
        let lines: Decimal = shipment
            .lines
            .iter()
            .filter_map(|sl| {
                order
                    .lines
                    .iter()
                    .find(|l| l.id == sl.order_line_id)
                    .map(|l| l.unit_price * Decimal::from(sl.quantity))
            })
            .sum();
        let order_lines = line_values(order);
        let discounts = voucher_total(order);
        let share = if order_lines.is_zero() {
            Decimal::ZERO
        } else {
            discounts * lines / order_lines
        };
        money(lines + shipment.shipping_value - share).max(Decimal::ZERO)
    }

    fn capture(&mut self, order: &mut Order, shipment: &mut Shipment) -> Result<Decimal, String> {
        let already: Decimal = order
            .payment_history
            .iter()
            .filter(|p| {
                p.entry_type == PaymentEntryType::Capture && p.status == PaymentStatus::Success
            })
            .map(|p| p.value)
            .sum();
        let authorised = grand_total(order);
        let value = Self::shipment_value(order, shipment)
            .min(authorised - already)
            .max(Decimal::ZERO);
        let now = Utc::now();
        self.next_payment_id += 1;
        let mut entry = PaymentEntry {
            id: self.next_payment_id,
            created_at: now,
            entry_type: PaymentEntryType::Capture,
            status: PaymentStatus::Success,
            // Inferred: Centra stores the authorisation's pspReference on the capture entry.
            external_reference: order.psp_reference.clone(),
            value,
            payment_method: order.payment_method.clone(),
            shipment_id: Some(shipment.id),
            return_id: None,
        };
        // An injected failure stops before the PSP; otherwise the plugin
        // captures at the PSP, whose refusal fails the capture too.
        let injected = self.failing_captures > 0;
        self.failing_captures = self.failing_captures.saturating_sub(1);
        let refused_by_psp = !injected
            && match (&self.psp_capture, value > Decimal::ZERO) {
                (Some(capture), true) => {
                    capture(&order.psp_reference, &order.currency, value).is_err()
                }
                _ => false,
            };
        if injected || refused_by_psp {
            entry.entry_type = PaymentEntryType::CaptureFailed;
            entry.status = PaymentStatus::Failed;
            order.payment_history.push(entry);
            return Err("the payment provider refused the capture".into());
        }
        order.payment_history.push(entry);
        shipment.is_captured = true;
        shipment.is_paid = true;
        shipment.captured_at = Some(now);
        shipment.paid_at = Some(now);
        shipment.captured_value = Some(value);
        Ok(value)
    }

    /// `captureShipment`: a PSP refusal fails the mutation (documented), so
    /// nothing is recorded then.
    pub fn capture_shipment(&mut self, shipment_id: i32) -> Result<i32, Problems> {
        let Some((order, shipment)) = self.shipment(shipment_id) else {
            return Err(vec![Problem::new("Shipment not found.", &["id"])]);
        };
        if shipment.is_captured {
            return Err(vec![Problem::new("Shipment is already captured.", &["id"])]);
        }
        let number = order.number;
        if self.failing_captures > 0 {
            self.failing_captures -= 1;
            return Err(vec![Problem::new(
                "Capture failed: the payment provider refused the capture.",
                &["id"],
            )]);
        }
        let Some(mut order) = self.orders.remove(&number) else {
            return Err(vec![]);
        };
        if let Some(index) = order.shipments.iter().position(|s| s.id == shipment_id) {
            let mut shipment = order.shipments[index].clone();
            let _ = self.capture(&mut order, &mut shipment);
            shipment.updated_at = Utc::now();
            order.shipments[index] = shipment;
        }
        settle_status(&mut order);
        self.orders.insert(number, order);
        self.emit(
            EventObjectType::Shipment,
            EventChangeType::Updated,
            i64::from(shipment_id),
        );
        self.touch_order(number);
        Ok(shipment_id)
    }

    pub fn complete_shipment(
        &mut self,
        shipment_id: i32,
        info: ShipmentInfo,
        shipped_at: Option<DateTime<Utc>>,
        send_email: bool,
    ) -> Result<i32, Problems> {
        let Some((order, shipment)) = self.shipment(shipment_id) else {
            return Err(vec![Problem::new("Shipment not found.", &["id"])]);
        };
        if shipment.is_shipped {
            return Err(vec![Problem::new(
                "Shipment is already completed.",
                &["id"],
            )]);
        }
        if order.is_on_hold {
            return Err(vec![Problem::new("Order is on hold.", &["id"])]);
        }
        let number = order.number;
        let Some(mut order) = self.orders.remove(&number) else {
            return Err(vec![]);
        };
        let Some(index) = order.shipments.iter().position(|s| s.id == shipment_id) else {
            self.orders.insert(number, order);
            return Err(vec![]);
        };
        let mut shipment = order.shipments[index].clone();
        for shipment_line in &mut shipment.lines {
            let Some(line) = order
                .lines
                .iter_mut()
                .find(|l| l.id == shipment_line.order_line_id)
            else {
                continue;
            };
            line.shipped_quantity += shipment_line.quantity;
            // A completed shipment lowers physical and allocated stock.
            let mut left = shipment_line.quantity;
            for (warehouse, allocated) in line.allocations.iter_mut() {
                if left == 0 {
                    break;
                }
                let take = (*allocated).min(left);
                if take == 0 {
                    continue;
                }
                *allocated -= take;
                left -= take;
                let cell = self.catalogue.cell_mut(*warehouse, line.size_id);
                cell.allocated -= i64::from(take);
                cell.physical -= i64::from(take);
                shipment_line.from_warehouses.push((*warehouse, take));
            }
            line.allocations.retain(|(_, q)| *q > 0);
        }
        let now = Utc::now();
        shipment.is_shipped = true;
        shipment.shipped_at = Some(shipped_at.unwrap_or(now));
        shipment.updated_at = now;
        shipment.send_email = send_email;
        shipment.carrier_name = info.carrier.or(shipment.carrier_name);
        shipment.service_name = info.service.or(shipment.service_name);
        shipment.tracking_number = info.tracking_number.or(shipment.tracking_number);
        shipment.return_tracking_number = info
            .return_tracking_number
            .or(shipment.return_tracking_number);
        shipment.number_of_packages = info.packages_number.or(shipment.number_of_packages);
        shipment.is_good_to_go = true;
        order.shipments[index] = shipment;
        settle_status(&mut order);
        self.orders.insert(number, order);
        self.emit(
            EventObjectType::Shipment,
            EventChangeType::Completed,
            i64::from(shipment_id),
        );
        self.touch_order(number);
        Ok(shipment_id)
    }

    // ---- returns ---------------------------------------------------------------

    pub fn create_return(&mut self, new: NewReturn) -> Result<i32, Problems> {
        let Some((order, shipment)) = self.shipment(new.shipment_id) else {
            return Err(vec![Problem::new(
                "Shipment not found.",
                &["input", "shipment"],
            )]);
        };
        let mut problems = Vec::new();
        if !shipment.is_shipped {
            problems.push(Problem::new(
                "Only completed shipments can be returned.",
                &["input", "shipment"],
            ));
        }
        if new.lines.is_empty() {
            problems.push(Problem::new(
                "A return needs at least one line.",
                &["input", "lines"],
            ));
        }
        if let ReturnStockPolicy::SendToWarehouse(w) = new.policy {
            if !self.catalogue.warehouses.contains_key(&w) {
                problems.push(Problem::new(
                    "Warehouse not found.",
                    &[
                        "input",
                        "returnStockActionPolicy",
                        "sendItemsToDifferentWarehouse",
                    ],
                ));
            }
        }
        let mut totals: HashMap<i32, i32> = HashMap::new();
        for (index, (line_id, quantity)) in new.lines.iter().enumerate() {
            let idx = index.to_string();
            let Some(line) = shipment.lines.iter().find(|l| l.id == *line_id) else {
                problems.push(Problem::new(
                    format!("Shipment line {line_id} not found."),
                    &["input", "lines", &idx, "shipmentLine"],
                ));
                continue;
            };
            let total = totals.entry(*line_id).or_default();
            *total += quantity;
            let open = line.quantity - line.returned_quantity;
            if *quantity <= 0 || *total > open {
                problems.push(Problem::new(
                    format!(
                        "Cannot return {quantity} of shipment line {line_id}: {open} returnable."
                    ),
                    &["input", "lines", &idx, "quantity"],
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let number = order.number;
        let Some(mut order) = self.orders.remove(&number) else {
            return Err(vec![]);
        };
        let Some(shipment_index) = order.shipments.iter().position(|s| s.id == new.shipment_id)
        else {
            self.orders.insert(number, order);
            return Err(vec![]);
        };
        self.next_return_id += 1;
        let return_id = self.next_return_id;
        let mut return_lines = Vec::new();
        let mut return_warehouse = None;
        for (line_id, quantity) in &new.lines {
            let Some(shipment_line) = order.shipments[shipment_index]
                .lines
                .iter_mut()
                .find(|l| l.id == *line_id)
            else {
                continue;
            };
            shipment_line.returned_quantity += quantity;
            let order_line_id = shipment_line.order_line_id;
            let sources = shipment_line.from_warehouses.clone();
            let Some(order_line) = order.lines.iter_mut().find(|l| l.id == order_line_id) else {
                continue;
            };
            order_line.returned_quantity += quantity;
            let size_id = order_line.size_id;
            let has_stock = !matches!(order_line.kind, LineKind::Bundle);
            // A return that restocks raises physical stock at once (as the REST
            // `returnStock` does; inferred for the Integration API).
            if has_stock {
                match new.policy {
                    ReturnStockPolicy::ReleaseBackToWarehouse => {
                        let warehouse = sources
                            .first()
                            .map(|(w, _)| *w)
                            .or_else(|| self.catalogue.warehouses.keys().next().copied());
                        if let Some(warehouse) = warehouse {
                            self.catalogue.cell_mut(warehouse, size_id).physical +=
                                i64::from(*quantity);
                            return_warehouse = Some(warehouse);
                        }
                    }
                    ReturnStockPolicy::SendToWarehouse(warehouse) => {
                        self.catalogue.cell_mut(warehouse, size_id).physical +=
                            i64::from(*quantity);
                        return_warehouse = Some(warehouse);
                    }
                    ReturnStockPolicy::RemoveFromStock => {}
                }
            }
            self.next_return_line_id += 1;
            return_lines.push(ReturnLine {
                id: self.next_return_line_id,
                shipment_line_id: *line_id,
                order_line_id,
                quantity: *quantity,
            });
        }
        order.returns.push(ReturnRecord {
            id: return_id,
            order_number: number,
            shipment_id: new.shipment_id,
            external_id: new.external_id,
            status: ReturnStatus::Pending,
            created_at: Utc::now(),
            completed_at: None,
            returned_to_stock: !matches!(new.policy, ReturnStockPolicy::RemoveFromStock),
            return_warehouse_id: return_warehouse,
            comment: new.comment,
            lines: return_lines,
        });
        self.return_index.insert(return_id, number);
        self.orders.insert(number, order);
        self.emit(
            EventObjectType::Return,
            EventChangeType::Created,
            i64::from(return_id),
        );
        self.touch_order(number);
        Ok(return_id)
    }

    pub fn complete_return(&mut self, return_id: i32) -> Result<i32, Problems> {
        let Some((order, record)) = self.return_record(return_id) else {
            return Err(vec![Problem::new("Return not found.", &["id"])]);
        };
        if record.status == ReturnStatus::Completed {
            return Err(vec![Problem::new("Return is already completed.", &["id"])]);
        }
        let number = order.number;
        if let Some(order) = self.orders.get_mut(&number) {
            if let Some(record) = order.returns.iter_mut().find(|r| r.id == return_id) {
                record.status = ReturnStatus::Completed;
                record.completed_at = Some(Utc::now());
            }
        }
        self.emit(
            EventObjectType::Return,
            EventChangeType::Completed,
            i64::from(return_id),
        );
        self.touch_order(number);
        Ok(return_id)
    }

    // ---- stock -------------------------------------------------------------------

    fn log_stock(&mut self, mutation: &str, description: &str, lines: &[(i32, i32, i64)]) {
        let items = lines
            .iter()
            .map(|(size, warehouse, quantity)| StockMutationItem {
                sku: self
                    .catalogue
                    .sizes
                    .get(size)
                    .map(|s| s.sku.clone())
                    .unwrap_or_default(),
                warehouse_id: *warehouse,
                quantity: *quantity,
            })
            .collect();
        self.stock_mutations.push(StockMutationRecord {
            at: Utc::now(),
            mutation: mutation.into(),
            description: description.into(),
            items,
        });
    }

    /// `setStock`: absolute PHYSICAL or FTA quantities per size in one warehouse.
    /// `items` are (size id, quantity, path of the input item).
    pub fn set_stock(
        &mut self,
        warehouse: i32,
        description: &str,
        kind: StockQuantityType,
        items: &[(i32, i64, Vec<String>)],
    ) -> Result<StockChangeRecord, Problems> {
        let mut problems = Vec::new();
        if !self.catalogue.warehouses.contains_key(&warehouse) {
            problems.push(Problem::new(
                "Warehouse not found.",
                &["input", "warehouse"],
            ));
        }
        for (size, quantity, path) in items {
            if !self.catalogue.sizes.contains_key(size) {
                problems.push(Problem {
                    message: format!("Product size {size} not found."),
                    path: path.clone(),
                });
            }
            if *quantity < 0 {
                problems.push(Problem {
                    message: "Quantity must be greater than or equal to 0.".into(),
                    path: [path.clone(), vec!["quantity".into()]].concat(),
                });
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut lines = Vec::with_capacity(items.len());
        for (size, quantity, _) in items {
            let cell = self.catalogue.cell_mut(warehouse, *size);
            let target_physical = match kind {
                StockQuantityType::Physical => *quantity,
                StockQuantityType::FreeToAllocate => *quantity + cell.allocated,
            };
            let delta = target_physical - cell.physical;
            cell.physical = target_physical;
            lines.push(AppliedStockLine {
                size_id: *size,
                warehouse_id: warehouse,
                delta,
                free_to_allocate: cell.free_to_allocate(),
            });
        }
        let logged: Vec<(i32, i32, i64)> =
            items.iter().map(|(s, q, _)| (*s, warehouse, *q)).collect();
        self.log_stock("setStock", description, &logged);
        Ok(self.stock_change(description, lines))
    }

    fn stock_change(
        &mut self,
        description: &str,
        lines: Vec<AppliedStockLine>,
    ) -> StockChangeRecord {
        self.next_stock_change_id += 1;
        let id = self.next_stock_change_id;
        self.emit(
            EventObjectType::StockChange,
            EventChangeType::Created,
            i64::from(id),
        );
        StockChangeRecord {
            id,
            description: description.into(),
            created_at: Utc::now(),
            lines,
        }
    }

    /// `changeStock`: deltas into a warehouse, out of one, or a transfer.
    /// Quantities must be positive; removing more than FTA is refused
    /// (documented for transfers, inferred for plain removals).
    pub fn change_stock(
        &mut self,
        into: Option<i32>,
        out: Option<i32>,
        description: &str,
        items: &[(i32, i64, Vec<String>)],
    ) -> Result<StockChangeRecord, Problems> {
        let mut problems = Vec::new();
        if into.is_none() && out.is_none() {
            problems.push(Problem::new(
                "Give intoWarehouse, outFromWarehouse or both.",
                &["input"],
            ));
        }
        if into.is_some() && into == out {
            problems.push(Problem::new(
                "intoWarehouse and outFromWarehouse must differ.",
                &["input"],
            ));
        }
        for (warehouse, name) in [(into, "intoWarehouse"), (out, "outFromWarehouse")] {
            if let Some(w) = warehouse {
                if !self.catalogue.warehouses.contains_key(&w) {
                    problems.push(Problem::new("Warehouse not found.", &["input", name]));
                }
            }
        }
        let mut removed: HashMap<i32, i64> = HashMap::new();
        for (size, quantity, path) in items {
            if !self.catalogue.sizes.contains_key(size) {
                problems.push(Problem {
                    message: format!("Product size {size} not found."),
                    path: path.clone(),
                });
                continue;
            }
            if *quantity <= 0 {
                problems.push(Problem {
                    message: "deliveredQuantity must be positive.".into(),
                    path: [path.clone(), vec!["deliveredQuantity".into()]].concat(),
                });
                continue;
            }
            if let Some(w) = out {
                let total = removed.entry(*size).or_default();
                *total += quantity;
                let fta = self.catalogue.cell(w, *size).free_to_allocate();
                if *total > fta {
                    problems.push(Problem {
                        message: format!("Cannot remove {total}: only {fta} free to allocate."),
                        path: [path.clone(), vec!["deliveredQuantity".into()]].concat(),
                    });
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut lines = Vec::new();
        let mut logged = Vec::new();
        for (size, quantity, _) in items {
            if let Some(w) = out {
                let cell = self.catalogue.cell_mut(w, *size);
                cell.physical -= quantity;
                lines.push(AppliedStockLine {
                    size_id: *size,
                    warehouse_id: w,
                    delta: -quantity,
                    free_to_allocate: cell.free_to_allocate(),
                });
                logged.push((*size, w, -quantity));
            }
            if let Some(w) = into {
                let cell = self.catalogue.cell_mut(w, *size);
                cell.physical += quantity;
                lines.push(AppliedStockLine {
                    size_id: *size,
                    warehouse_id: w,
                    delta: *quantity,
                    free_to_allocate: cell.free_to_allocate(),
                });
                logged.push((*size, w, *quantity));
            }
        }
        self.log_stock("changeStock", description, &logged);
        Ok(self.stock_change(description, lines))
    }
}

pub fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "PENDING",
        OrderStatus::Confirmed => "CONFIRMED",
        OrderStatus::Processing => "PROCESSING",
        OrderStatus::Shipped => "SHIPPED",
        OrderStatus::Cancelled => "CANCELLED",
        OrderStatus::Archived => "ARCHIVED",
    }
}

fn shipping_option_id(name: &str) -> i32 {
    // Stable small id per method name.
    (name
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 900
        + 100) as i32
}

fn merge_allocations(into: &mut Vec<(i32, i32)>, more: &[(i32, i32)]) {
    for (warehouse, quantity) in more {
        match into.iter_mut().find(|(w, _)| w == warehouse) {
            Some(entry) => entry.1 += quantity,
            None => into.push((*warehouse, *quantity)),
        }
    }
}

/// Units of a line already placed in shipments.
pub fn in_shipments(order: &Order, line_id: i32) -> i32 {
    order
        .shipments
        .iter()
        .flat_map(|s| s.lines.iter())
        .filter(|l| l.order_line_id == line_id)
        .map(|l| l.quantity)
        .sum()
}

pub fn line_values(order: &Order) -> Decimal {
    order
        .lines
        .iter()
        .map(|l| l.unit_price * Decimal::from(l.quantity))
        .sum()
}

pub fn voucher_total(order: &Order) -> Decimal {
    order.vouchers.iter().map(|v| v.value).sum()
}

/// Tax included in a tax-inclusive amount.
pub fn included_tax(amount: Decimal, tax_percent: Decimal) -> Decimal {
    let rate = tax_percent / Decimal::ONE_HUNDRED;
    money(amount - amount / (Decimal::ONE + rate))
}

pub fn tax_included(order: &Order) -> Decimal {
    // Inferred simplification: voucher tax is not broken out per rate.
    let lines: Decimal = order
        .lines
        .iter()
        .map(|l| included_tax(l.unit_price * Decimal::from(l.quantity), l.tax_percent))
        .sum();
    lines + included_tax(order.shipping_value, order.shipping_tax_percent)
}

pub fn grand_total(order: &Order) -> Decimal {
    money(line_values(order) + order.shipping_value - voucher_total(order)).max(Decimal::ZERO)
}

/// PROCESSING → SHIPPED when every unit is shipped or cancelled and every
/// shipment is shipped and paid (documented).
fn settle_status(order: &mut Order) {
    if order.status != OrderStatus::Processing {
        return;
    }
    let all_shipped = order.lines.iter().all(|l| l.shipped_quantity >= l.quantity);
    let all_done = order
        .shipments
        .iter()
        .all(|s| s.is_shipped && (s.is_paid || s.is_captured));
    if all_shipped && all_done && !order.shipments.is_empty() {
        order.status = OrderStatus::Shipped;
    }
}
