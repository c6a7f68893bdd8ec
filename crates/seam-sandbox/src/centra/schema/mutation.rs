//! Mutation root. Every payload carries `userErrors` and `userWarnings`; a
//! non-empty `userErrors` means nothing changed.

use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};

use super::super::auth::{caller, require};
use super::super::model::{self, EventChangeType, EventObjectType};
use super::super::state::{self as st, OrderRef, Problem, ReturnStockPolicy, StockQuantityType};
use super::super::CentraSim;
use super::catalogue::ProductSize;
use super::orders::{Order, PaymentHistoryEntry, Return, Shipment};
use super::{
    date, parse_date, sim, user_errors, user_warnings, MonetaryValueInput, OrderInput, UserError,
    UserWarning,
};

pub struct MutationRoot;

#[derive(SimpleObject)]
pub struct OrderPayload {
    pub order: Option<Order>,
    pub user_errors: Vec<UserError>,
    pub user_warnings: Vec<UserWarning>,
}

#[derive(SimpleObject)]
pub struct ShipmentPayload {
    pub shipment: Option<Shipment>,
    pub user_errors: Vec<UserError>,
    pub user_warnings: Vec<UserWarning>,
}

#[derive(SimpleObject)]
pub struct ReturnPayload {
    #[graphql(name = "return")]
    pub return_: Option<Return>,
    pub user_errors: Vec<UserError>,
    pub user_warnings: Vec<UserWarning>,
}

#[derive(SimpleObject)]
pub struct StockChangeLine {
    pub product_size: ProductSize,
    pub warehouse_id: i32,
    /// The applied delta.
    pub delivered_quantity: i64,
    pub free_to_allocate_quantity: i64,
}

#[derive(SimpleObject)]
pub struct StockChange {
    pub id: i32,
    pub description: String,
    pub created_at: String,
    pub lines: Vec<StockChangeLine>,
}

#[derive(SimpleObject)]
pub struct StockSetPayload {
    pub stock_changes: Vec<StockChange>,
    pub user_errors: Vec<UserError>,
    pub user_warnings: Vec<UserWarning>,
}

#[derive(SimpleObject)]
pub struct StockChangePayload {
    pub stock_change: Option<StockChange>,
    pub user_errors: Vec<UserError>,
    pub user_warnings: Vec<UserWarning>,
}

#[derive(SimpleObject)]
pub struct EventListenerObject {
    pub object_type: EventObjectType,
    pub change_types: Vec<EventChangeType>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(SimpleObject)]
pub struct EventListenersPayload {
    pub event_listeners: Vec<EventListenerObject>,
    pub user_errors: Vec<UserError>,
    pub user_warnings: Vec<UserWarning>,
}

#[derive(SimpleObject)]
pub struct ConfirmEventsPayload {
    pub confirmed_count: i32,
    pub user_errors: Vec<UserError>,
    pub user_warnings: Vec<UserWarning>,
}

#[derive(InputObject)]
pub struct ConfirmOrderInput {
    pub order: OrderInput,
    pub send_email: Option<bool>,
}

/// `{id}` or (simulator convenience, inferred) `{SKU}` / `{EAN}`.
#[derive(InputObject, Default, Clone)]
pub struct ProductSizeInput {
    pub id: Option<i32>,
    #[graphql(name = "SKU")]
    pub sku: Option<String>,
    #[graphql(name = "EAN")]
    pub ean: Option<String>,
}

#[derive(InputObject)]
pub struct OrderLineAddInput {
    pub size: ProductSizeInput,
    pub quantity: i32,
    pub unit_price: Option<MonetaryValueInput>,
    pub comment: Option<String>,
}

#[derive(InputObject)]
pub struct OrderLineRef {
    pub id: i32,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CancelStockAction {
    ReleaseBackToWarehouse,
    RemoveFromStock,
}

#[derive(InputObject)]
pub struct OrderLineCancelInput {
    pub line: OrderLineRef,
    pub quantity: i32,
    pub stock_action: Option<CancelStockAction>,
}

#[derive(InputObject, Default)]
pub struct DirectToConsumerOrderUpdateInput {
    pub add_lines: Option<Vec<OrderLineAddInput>>,
    pub cancel_lines: Option<Vec<OrderLineCancelInput>>,
    pub is_on_hold: Option<bool>,
    pub external_id: Option<String>,
    pub internal_comment: Option<String>,
}

#[derive(InputObject)]
pub struct ShipmentLineInput {
    pub order_line: OrderLineRef,
    pub quantity: i32,
}

#[derive(InputObject, Default)]
pub struct ShipmentInfoInput {
    pub carrier: Option<String>,
    pub service: Option<String>,
    pub packages_number: Option<i32>,
    pub tracking_number: Option<String>,
    pub return_tracking_number: Option<String>,
}

impl From<Option<ShipmentInfoInput>> for st::ShipmentInfo {
    fn from(input: Option<ShipmentInfoInput>) -> Self {
        let i = input.unwrap_or_default();
        st::ShipmentInfo {
            carrier: i.carrier,
            service: i.service,
            packages_number: i.packages_number,
            tracking_number: i.tracking_number,
            return_tracking_number: i.return_tracking_number,
        }
    }
}

#[derive(InputObject)]
pub struct ShipmentCreateInput {
    pub order: OrderInput,
    pub lines: Option<Vec<ShipmentLineInput>>,
    pub is_good_to_go: Option<bool>,
    pub is_paid: Option<bool>,
    pub capture: Option<bool>,
    pub send_email: Option<bool>,
    pub created_at: Option<String>,
    pub shipment_info: Option<ShipmentInfoInput>,
    pub external_id: Option<String>,
}

#[derive(InputObject, Default)]
pub struct ShipmentCompleteInput {
    pub shipped_at: Option<String>,
    pub shipment_info: Option<ShipmentInfoInput>,
    pub send_email: Option<bool>,
}

#[derive(InputObject)]
pub struct ShipmentRef {
    pub id: i32,
}

#[derive(InputObject)]
pub struct ReturnLineCreateInput {
    pub shipment_line: OrderLineRef,
    pub quantity: i32,
}

#[derive(InputObject)]
pub struct WarehouseInput {
    pub id: Option<i32>,
    pub name: Option<String>,
}

#[derive(InputObject)]
pub struct SendToWarehouseInput {
    pub warehouse: WarehouseInput,
}

#[derive(InputObject, Default)]
pub struct StockPolicyActionInput {
    pub release_items_back_to_warehouse: Option<bool>,
    pub send_items_to_different_warehouse: Option<SendToWarehouseInput>,
    pub remove_items_from_stock: Option<bool>,
}

#[derive(InputObject)]
pub struct ReturnCreateInput {
    pub shipment: ShipmentRef,
    pub lines: Vec<ReturnLineCreateInput>,
    pub return_stock_action_policy: StockPolicyActionInput,
    pub comment: Option<String>,
    pub external_id: Option<String>,
}

#[derive(InputObject, Default)]
pub struct ReturnCompleteInput {
    pub send_email: Option<bool>,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum StockQuantityTypeInput {
    Physical,
    /// Inferred name of the FTA value.
    Fta,
}

#[derive(InputObject)]
pub struct SizeRef {
    pub id: Option<i32>,
    pub name: Option<String>,
}

#[derive(InputObject)]
pub struct VariantRef {
    pub id: i32,
}

#[derive(InputObject)]
pub struct SizeStockLevelInput {
    pub size: SizeRef,
    pub quantity: i64,
}

#[derive(InputObject)]
pub struct ProductVariantStockSetInput {
    pub product_variant: VariantRef,
    pub size_stock_levels: Vec<SizeStockLevelInput>,
}

#[derive(InputObject)]
pub struct StockSetProductSizeInput {
    pub product_size: ProductSizeInput,
    pub quantity: i64,
}

#[derive(InputObject)]
pub struct StockSetInput {
    pub warehouse: WarehouseInput,
    pub description: String,
    pub stock_quantity_type: StockQuantityTypeInput,
    pub product_variants: Option<Vec<ProductVariantStockSetInput>>,
    pub product_sizes: Option<Vec<StockSetProductSizeInput>>,
}

#[derive(InputObject)]
pub struct SizeChangeInput {
    pub size: SizeRef,
    pub delivered_quantity: i64,
}

#[derive(InputObject)]
pub struct ProductVariantStockChangeInput {
    pub product_variant: VariantRef,
    pub size_changes: Vec<SizeChangeInput>,
}

#[derive(InputObject)]
pub struct StockChangeProductSizeInput {
    pub product_size: ProductSizeInput,
    pub delivered_quantity: i64,
}

#[derive(InputObject)]
pub struct StockChangeInput {
    pub into_warehouse: Option<WarehouseInput>,
    pub out_from_warehouse: Option<WarehouseInput>,
    pub description: String,
    pub product_variants: Option<Vec<ProductVariantStockChangeInput>>,
    pub product_sizes: Option<Vec<StockChangeProductSizeInput>>,
}

#[derive(InputObject)]
pub struct EventListenerInput {
    pub object_type: EventObjectType,
    pub change_types: Option<Vec<EventChangeType>>,
}

#[derive(InputObject)]
pub struct ConfirmEventsInput {
    pub events_ids: Vec<i64>,
}

// Inferred: Centra's public docs confirm no Integration API mutation that
// creates an order. `createDirectToConsumerOrder` is our design in the style
// of the documented mutations (an input object; a payload with the object,
// userErrors and userWarnings); a brand going live checks it first.

#[derive(InputObject, Default)]
pub struct CountryInput {
    pub code: String,
}

#[derive(InputObject, Default)]
pub struct AddressInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub zip_code: Option<String>,
    pub state_or_province: Option<String>,
    pub country: Option<CountryInput>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
}

impl From<AddressInput> for model::AddressData {
    fn from(a: AddressInput) -> Self {
        model::AddressData {
            first_name: a.first_name.unwrap_or_default(),
            last_name: a.last_name.unwrap_or_default(),
            company_name: a.company_name,
            address1: a.address1.unwrap_or_default(),
            address2: a.address2,
            city: a.city.unwrap_or_default(),
            zip_code: a.zip_code.unwrap_or_default(),
            state_or_province: a.state_or_province,
            country_code: a.country.map(|c| c.code).unwrap_or_default(),
            email: a.email,
            phone_number: a.phone_number,
        }
    }
}

#[derive(InputObject, Default)]
pub struct CustomerInfoInput {
    pub email: Option<String>,
}

/// The shipping option by name (the simulator's options are named).
#[derive(InputObject)]
pub struct ShippingMethodInput {
    pub name: String,
}

#[derive(InputObject)]
pub struct OrderLineCreateInput {
    pub size: ProductSizeInput,
    pub quantity: i32,
    /// Including tax; 0 makes a zero-value line.
    pub unit_price: MonetaryValueInput,
    pub tax_percent: Option<f64>,
    pub comment: Option<String>,
}

#[derive(InputObject)]
pub struct DirectToConsumerOrderCreateInput {
    /// Required: the caller's key, unique per order; read back with `order(externalId:)`.
    pub external_id: String,
    pub currency_iso_code: String,
    pub customer_info: Option<CustomerInfoInput>,
    pub shipping_address: AddressInput,
    pub billing_address: Option<AddressInput>,
    pub shipping_method: Option<ShippingMethodInput>,
    pub shipping_cost: Option<MonetaryValueInput>,
    pub lines: Vec<OrderLineCreateInput>,
    pub internal_comment: Option<String>,
}

#[derive(SimpleObject)]
pub struct DirectToConsumerOrderCreatePayload {
    pub order: Option<Order>,
    pub user_errors: Vec<UserError>,
    pub user_warnings: Vec<UserWarning>,
}

// Inferred: `ReturnRefundPayload{return paymentHistoryEntry
// paymentHistoryEntries userErrors userWarnings}` is in Centra's schema, but
// the mutation's name and input are not public. `refundReturn` is our design.

#[derive(InputObject)]
pub struct ReturnRefundInput {
    /// The amount refunded, including tax.
    pub value: MonetaryValueInput,
    /// The reference of the refund where it was made (the PSP's).
    pub external_reference: Option<String>,
    /// True would ask Centra's payment plugin to refund; only recording a
    /// refund made elsewhere is simulated.
    #[graphql(default = false)]
    pub refund_payment: bool,
}

#[derive(SimpleObject)]
pub struct ReturnRefundPayload {
    #[graphql(name = "return")]
    pub return_: Option<Return>,
    pub payment_history_entry: Option<PaymentHistoryEntry>,
    pub payment_history_entries: Vec<PaymentHistoryEntry>,
    pub user_errors: Vec<UserError>,
    pub user_warnings: Vec<UserWarning>,
}

/// Checkout lines from the API's lines: sizes resolved to SKUs, prices
/// and tax rates exact.
fn order_lines(
    state: &st::State,
    lines: &[OrderLineCreateInput],
) -> Result<Vec<st::NewOrderLine>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let idx = i.to_string();
        let sku = size_id(state, &line.size)
            .and_then(|id| state.catalogue.sizes.get(&id))
            .map(|size| size.sku.clone());
        let Some(sku) = sku else {
            problems.push(Problem::new(
                "Product size not found.",
                &["input", "lines", &idx, "size"],
            ));
            continue;
        };
        let tax = line
            .tax_percent
            .unwrap_or_default()
            .to_string()
            .parse::<rust_decimal::Decimal>()
            .ok();
        let (Some(price), Some(tax)) = (line.unit_price.decimal(), tax) else {
            problems.push(Problem::new(
                "Invalid unit price or tax percent.",
                &["input", "lines", &idx],
            ));
            continue;
        };
        out.push(st::NewOrderLine {
            sku,
            quantity: line.quantity,
            unit_price: price,
            unit_original_price: None,
            tax_percent: tax,
            comment: line.comment.clone(),
            bundle_items: Vec::new(),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn order_payload(sim: &CentraSim, result: Result<i32, Vec<Problem>>) -> OrderPayload {
    match result {
        Ok(number) => OrderPayload {
            order: sim.order(number).map(Order::from_model),
            user_errors: vec![],
            user_warnings: vec![],
        },
        Err(problems) => OrderPayload {
            order: None,
            user_errors: user_errors(problems),
            user_warnings: vec![],
        },
    }
}

fn shipment_object(sim: &CentraSim, id: i32) -> Option<Shipment> {
    sim.with_state(|s| {
        s.shipment(id)
            .map(|(o, _)| Shipment::new(Arc::new(o.clone()), id))
    })
}

fn shipment_payload(
    sim: &CentraSim,
    result: Result<(i32, Vec<Problem>), Vec<Problem>>,
) -> ShipmentPayload {
    match result {
        Ok((id, warnings)) => ShipmentPayload {
            shipment: shipment_object(sim, id),
            user_errors: vec![],
            user_warnings: user_warnings(warnings),
        },
        Err(problems) => ShipmentPayload {
            shipment: None,
            user_errors: user_errors(problems),
            user_warnings: vec![],
        },
    }
}

fn return_payload(sim: &CentraSim, result: Result<i32, Vec<Problem>>) -> ReturnPayload {
    match result {
        Ok(id) => ReturnPayload {
            return_: sim.with_state(|s| {
                s.return_record(id)
                    .map(|(o, _)| Return::new(Arc::new(o.clone()), id))
            }),
            user_errors: vec![],
            user_warnings: vec![],
        },
        Err(problems) => ReturnPayload {
            return_: None,
            user_errors: user_errors(problems),
            user_warnings: vec![],
        },
    }
}

fn warehouse_id(state: &st::State, input: &WarehouseInput) -> Option<i32> {
    match (&input.id, &input.name) {
        (Some(id), _) => state.catalogue.warehouses.contains_key(id).then_some(*id),
        (None, Some(name)) => state.catalogue.warehouse_by_name(name),
        _ => None,
    }
}

fn size_id(state: &st::State, input: &ProductSizeInput) -> Option<i32> {
    let c = &state.catalogue;
    if let Some(id) = input.id {
        return c.sizes.contains_key(&id).then_some(id);
    }
    if let Some(sku) = &input.sku {
        return c.size_by_sku(sku).map(|s| s.id);
    }
    input
        .ean
        .as_deref()
        .and_then(|e| c.size_by_ean(e))
        .map(|s| s.id)
}

fn variant_size(state: &st::State, variant: i32, size: &SizeRef) -> Option<i32> {
    let c = &state.catalogue;
    let v = c.variants.get(&variant)?;
    if let Some(id) = size.id {
        return v.size_ids.contains(&id).then_some(id);
    }
    let name = size.name.as_deref()?;
    v.size_ids
        .iter()
        .copied()
        .find(|id| c.sizes.get(id).is_some_and(|s| s.name == name))
}

/// Flattens variant and size forms into (size id, quantity, input path); unknown sizes become -1 (reported later).
fn stock_items<V, S>(
    state: &st::State,
    variants: &[V],
    sizes: &[S],
    variant_parts: impl Fn(&V) -> (i32, Vec<(&SizeRef, i64)>),
    size_parts: impl Fn(&S) -> (&ProductSizeInput, i64),
    levels_name: &str,
) -> Vec<(i32, i64, Vec<String>)> {
    let mut items = Vec::with_capacity(sizes.len());
    for (i, v) in variants.iter().enumerate() {
        let (variant, levels) = variant_parts(v);
        for (j, (size, quantity)) in levels.into_iter().enumerate() {
            let id = variant_size(state, variant, size).unwrap_or(-1);
            items.push((
                id,
                quantity,
                vec![
                    "input".into(),
                    "productVariants".into(),
                    i.to_string(),
                    levels_name.into(),
                    j.to_string(),
                ],
            ));
        }
    }
    for (i, s) in sizes.iter().enumerate() {
        let (size, quantity) = size_parts(s);
        let id = size_id(state, size).unwrap_or(-1);
        items.push((
            id,
            quantity,
            vec!["input".into(), "productSizes".into(), i.to_string()],
        ));
    }
    items
}

fn stock_change_object(sim: &CentraSim, record: st::StockChangeRecord) -> StockChange {
    let lines = sim.with_state(|s| {
        record
            .lines
            .iter()
            .filter_map(|l| {
                Some(StockChangeLine {
                    product_size: ProductSize(s.catalogue.sizes.get(&l.size_id)?.clone()),
                    warehouse_id: l.warehouse_id,
                    delivered_quantity: l.delta,
                    free_to_allocate_quantity: l.free_to_allocate,
                })
            })
            .collect()
    });
    StockChange {
        id: record.id,
        description: record.description,
        created_at: date(&record.created_at),
        lines,
    }
}

fn listeners(list: Vec<model::EventListener>) -> Vec<EventListenerObject> {
    list.into_iter()
        .map(|l| EventListenerObject {
            object_type: l.object_type,
            change_types: l.change_types.into_iter().collect(),
            created_at: date(&l.created_at),
            updated_at: date(&l.updated_at),
        })
        .collect()
}

#[Object]
impl MutationRoot {
    /// PENDING → CONFIRMED.
    async fn confirm_order(
        &self,
        ctx: &Context<'_>,
        input: ConfirmOrderInput,
    ) -> async_graphql::Result<OrderPayload> {
        require(ctx, "Order:write")?;
        let sim = sim(ctx)?;
        let reference = OrderRef::from(&input.order);
        Ok(order_payload(
            sim,
            sim.with_state(|s| s.confirm_order(&reference)),
        ))
    }

    async fn update_direct_to_consumer_order(
        &self,
        ctx: &Context<'_>,
        order: OrderInput,
        input: DirectToConsumerOrderUpdateInput,
    ) -> async_graphql::Result<OrderPayload> {
        require(ctx, "Order:write")?;
        let sim = sim(ctx)?;
        let reference = OrderRef::from(&order);
        let result = sim.with_state(|s| {
            let mut problems = Vec::new();
            let mut update = st::OrderUpdate {
                is_on_hold: input.is_on_hold,
                external_id: input.external_id.clone(),
                internal_comment: input.internal_comment.clone(),
                ..Default::default()
            };
            for (i, add) in input.add_lines.iter().flatten().enumerate() {
                let Some(size) = size_id(s, &add.size) else {
                    problems.push(Problem::new(
                        "Product size not found.",
                        &["input", "addLines", &i.to_string(), "size"],
                    ));
                    continue;
                };
                let unit_price = match &add.unit_price {
                    Some(p) => match p.decimal() {
                        Some(d) => Some(d),
                        None => {
                            problems.push(Problem::new(
                                "Invalid price.",
                                &["input", "addLines", &i.to_string(), "unitPrice"],
                            ));
                            continue;
                        }
                    },
                    None => None,
                };
                update.add_lines.push(st::AddLine {
                    size_id: size,
                    quantity: add.quantity,
                    unit_price,
                    comment: add.comment.clone(),
                });
            }
            for cancel in input.cancel_lines.iter().flatten() {
                update.cancel_lines.push(st::CancelLine {
                    line_id: cancel.line.id,
                    quantity: cancel.quantity,
                    remove_from_stock: cancel.stock_action
                        == Some(CancelStockAction::RemoveFromStock),
                });
            }
            if !problems.is_empty() {
                return Err(problems);
            }
            s.update_order(&reference, update)
        });
        Ok(order_payload(sim, result))
    }

    async fn create_shipment(
        &self,
        ctx: &Context<'_>,
        input: ShipmentCreateInput,
    ) -> async_graphql::Result<ShipmentPayload> {
        require(ctx, "Shipment:write")?;
        let capture = input.capture.unwrap_or(false);
        if capture {
            require(ctx, "Payment.capture:write")?;
        }
        let may_process_locked = caller(ctx)?.has("Order.isLocked:write");
        let sim = sim(ctx)?;
        let new = st::NewShipment {
            order: OrderRef::from(&input.order),
            lines: input
                .lines
                .iter()
                .flatten()
                .map(|l| (l.order_line.id, l.quantity))
                .collect(),
            capture,
            is_paid: input.is_paid.unwrap_or(false),
            is_good_to_go: input.is_good_to_go.unwrap_or(false),
            send_email: input.send_email.unwrap_or(false),
            external_id: input.external_id,
            created_at: input.created_at.as_deref().and_then(parse_date),
            info: input.shipment_info.into(),
        };
        Ok(shipment_payload(
            sim,
            sim.with_state(|s| s.create_shipment(new, may_process_locked)),
        ))
    }

    async fn complete_shipment(
        &self,
        ctx: &Context<'_>,
        id: Option<i32>,
        external_id: Option<String>,
        input: Option<ShipmentCompleteInput>,
    ) -> async_graphql::Result<ShipmentPayload> {
        require(ctx, "Shipment:write")?;
        let sim = sim(ctx)?;
        let input = input.unwrap_or_default();
        let shipped_at = input.shipped_at.as_deref().and_then(parse_date);
        let send_email = input.send_email.unwrap_or(false);
        let info: st::ShipmentInfo = input.shipment_info.into();
        let result = sim.with_state(|s| {
            let id = id.or_else(|| {
                external_id
                    .as_deref()
                    .and_then(|e| s.shipment_by_external(e))
            });
            let Some(id) = id else {
                return Err(vec![Problem::new("Shipment not found.", &["id"])]);
            };
            s.complete_shipment(id, info, shipped_at, send_email)
                .map(|id| (id, vec![]))
        });
        Ok(shipment_payload(sim, result))
    }

    async fn capture_shipment(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> async_graphql::Result<ShipmentPayload> {
        require(ctx, "Payment.capture:write")?;
        let sim = sim(ctx)?;
        Ok(shipment_payload(
            sim,
            sim.with_state(|s| s.capture_shipment(id).map(|id| (id, vec![]))),
        ))
    }

    async fn create_return(
        &self,
        ctx: &Context<'_>,
        input: ReturnCreateInput,
    ) -> async_graphql::Result<ReturnPayload> {
        require(ctx, "Return:write")?;
        let sim = sim(ctx)?;
        let result = sim.with_state(|s| {
            let p = &input.return_stock_action_policy;
            let mut chosen = Vec::new();
            if p.release_items_back_to_warehouse == Some(true) {
                chosen.push(ReturnStockPolicy::ReleaseBackToWarehouse);
            }
            if let Some(target) = &p.send_items_to_different_warehouse {
                chosen.push(ReturnStockPolicy::SendToWarehouse(
                    warehouse_id(s, &target.warehouse).unwrap_or(-1),
                ));
            }
            if p.remove_items_from_stock == Some(true) {
                chosen.push(ReturnStockPolicy::RemoveFromStock);
            }
            if chosen.len() != 1 {
                return Err(vec![Problem::new(
                    "Give exactly one stock action policy.",
                    &["input", "returnStockActionPolicy"],
                )]);
            }
            let Some(policy) = chosen.pop() else {
                return Err(vec![]);
            };
            s.create_return(st::NewReturn {
                shipment_id: input.shipment.id,
                lines: input
                    .lines
                    .iter()
                    .map(|l| (l.shipment_line.id, l.quantity))
                    .collect(),
                policy,
                comment: input.comment.clone(),
                external_id: input.external_id.clone(),
            })
        });
        Ok(return_payload(sim, result))
    }

    async fn complete_return(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: Option<ReturnCompleteInput>,
    ) -> async_graphql::Result<ReturnPayload> {
        require(ctx, "Return:write")?;
        let _ = input;
        let sim = sim(ctx)?;
        Ok(return_payload(
            sim,
            sim.with_state(|s| s.complete_return(id)),
        ))
    }

    /// Absolute stock per size in one warehouse (PHYSICAL or FTA); rejects negatives.
    async fn set_stock(
        &self,
        ctx: &Context<'_>,
        input: StockSetInput,
    ) -> async_graphql::Result<StockSetPayload> {
        require(ctx, "StockChange:write")?;
        let sim = sim(ctx)?;
        let kind = match input.stock_quantity_type {
            StockQuantityTypeInput::Physical => StockQuantityType::Physical,
            StockQuantityTypeInput::Fta => StockQuantityType::FreeToAllocate,
        };
        let result = sim.with_state(|s| {
            let Some(warehouse) = warehouse_id(s, &input.warehouse) else {
                return Err(vec![Problem::new(
                    "Warehouse not found.",
                    &["input", "warehouse"],
                )]);
            };
            let items = stock_items(
                s,
                input.product_variants.as_deref().unwrap_or_default(),
                input.product_sizes.as_deref().unwrap_or_default(),
                |v: &ProductVariantStockSetInput| {
                    (
                        v.product_variant.id,
                        v.size_stock_levels
                            .iter()
                            .map(|l| (&l.size, l.quantity))
                            .collect(),
                    )
                },
                |p: &StockSetProductSizeInput| (&p.product_size, p.quantity),
                "sizeStockLevels",
            );
            s.set_stock(warehouse, &input.description, kind, &items)
        });
        Ok(match result {
            Ok(record) => StockSetPayload {
                stock_changes: vec![stock_change_object(sim, record)],
                user_errors: vec![],
                user_warnings: vec![],
            },
            Err(problems) => StockSetPayload {
                stock_changes: vec![],
                user_errors: user_errors(problems),
                user_warnings: vec![],
            },
        })
    }

    /// Stock deltas: into a warehouse, out of one, or a transfer.
    async fn change_stock(
        &self,
        ctx: &Context<'_>,
        input: StockChangeInput,
    ) -> async_graphql::Result<StockChangePayload> {
        require(ctx, "StockChange:write")?;
        let sim = sim(ctx)?;
        let result = sim.with_state(|s| {
            let mut problems = Vec::new();
            let into = input.into_warehouse.as_ref().map(|w| warehouse_id(s, w));
            let out = input
                .out_from_warehouse
                .as_ref()
                .map(|w| warehouse_id(s, w));
            if into == Some(None) {
                problems.push(Problem::new(
                    "Warehouse not found.",
                    &["input", "intoWarehouse"],
                ));
            }
            if out == Some(None) {
                problems.push(Problem::new(
                    "Warehouse not found.",
                    &["input", "outFromWarehouse"],
                ));
            }
            if !problems.is_empty() {
                return Err(problems);
            }
            let items = stock_items(
                s,
                input.product_variants.as_deref().unwrap_or_default(),
                input.product_sizes.as_deref().unwrap_or_default(),
                |v: &ProductVariantStockChangeInput| {
                    (
                        v.product_variant.id,
                        v.size_changes
                            .iter()
                            .map(|l| (&l.size, l.delivered_quantity))
                            .collect(),
                    )
                },
                |p: &StockChangeProductSizeInput| (&p.product_size, p.delivered_quantity),
                "sizeChanges",
            );
            s.change_stock(into.flatten(), out.flatten(), &input.description, &items)
        });
        Ok(match result {
            Ok(record) => StockChangePayload {
                stock_change: Some(stock_change_object(sim, record)),
                user_errors: vec![],
                user_warnings: vec![],
            },
            Err(problems) => StockChangePayload {
                stock_change: None,
                user_errors: user_errors(problems),
                user_warnings: vec![],
            },
        })
    }

    async fn set_event_listeners(
        &self,
        ctx: &Context<'_>,
        input: Vec<EventListenerInput>,
    ) -> async_graphql::Result<EventListenersPayload> {
        require(ctx, "Event:write")?;
        let integration = caller(ctx)?.integration.clone();
        let wanted: Vec<_> = input
            .into_iter()
            .map(|l| (l.object_type, l.change_types.unwrap_or_default()))
            .collect();
        let list = sim(ctx)?.with_state(|s| s.set_event_listeners(&integration, &wanted));
        Ok(EventListenersPayload {
            event_listeners: listeners(list),
            user_errors: vec![],
            user_warnings: vec![],
        })
    }

    async fn unset_event_listeners(
        &self,
        ctx: &Context<'_>,
        input: Vec<EventListenerInput>,
    ) -> async_graphql::Result<EventListenersPayload> {
        require(ctx, "Event:write")?;
        let integration = caller(ctx)?.integration.clone();
        let wanted: Vec<_> = input
            .into_iter()
            .map(|l| (l.object_type, l.change_types.unwrap_or_default()))
            .collect();
        let list = sim(ctx)?.with_state(|s| s.unset_event_listeners(&integration, &wanted));
        Ok(EventListenersPayload {
            event_listeners: listeners(list),
            user_errors: vec![],
            user_warnings: vec![],
        })
    }

    async fn confirm_events(
        &self,
        ctx: &Context<'_>,
        input: ConfirmEventsInput,
    ) -> async_graphql::Result<ConfirmEventsPayload> {
        require(ctx, "Event:write")?;
        let integration = caller(ctx)?.integration.clone();
        Ok(
            match sim(ctx)?.with_state(|s| s.confirm_events(&integration, &input.events_ids)) {
                Ok(n) => ConfirmEventsPayload {
                    confirmed_count: n as i32,
                    user_errors: vec![],
                    user_warnings: vec![],
                },
                Err(problems) => ConfirmEventsPayload {
                    confirmed_count: 0,
                    user_errors: user_errors(problems),
                    user_warnings: vec![],
                },
            },
        )
    }

    /// Inferred mutation (see `DirectToConsumerOrderCreateInput`): places an
    /// order as the checkout would, allocating stock; no payment is taken,
    /// so the order carries no authorisation.
    async fn create_direct_to_consumer_order(
        &self,
        ctx: &Context<'_>,
        input: DirectToConsumerOrderCreateInput,
    ) -> async_graphql::Result<DirectToConsumerOrderCreatePayload> {
        require(ctx, "Order:write")?;
        let sim = sim(ctx)?;
        let result = sim.with_state(|s| {
            let lines = order_lines(s, &input.lines)?;
            let shipping_price = match input.shipping_cost.as_ref().map(|c| c.decimal()) {
                None => rust_decimal::Decimal::ZERO,
                Some(Some(value)) => value,
                Some(None) => {
                    return Err(vec![Problem::new(
                        "Invalid shipping cost.",
                        &["input", "shippingCost"],
                    )])
                }
            };
            let email = input.customer_info.and_then(|c| c.email);
            let shipping_address: model::AddressData = input.shipping_address.into();
            let number = s.create_direct_to_consumer_order(st::NewOrder {
                lines,
                vouchers: Vec::new(),
                currency: input.currency_iso_code,
                shipping_method: input.shipping_method.map(|m| m.name).unwrap_or_default(),
                shipping_price,
                shipping_tax_percent: rust_decimal::Decimal::ZERO,
                billing_address: input.billing_address.map(Into::into),
                customer_email: email
                    .or_else(|| shipping_address.email.clone())
                    .unwrap_or_default(),
                shipping_address,
                payment_method: None,
                psp_reference: String::new(),
                external_id: Some(input.external_id),
                is_on_hold: false,
                order_date: None,
            })?;
            if let Some(order) = s.orders.get_mut(&number) {
                order.internal_comment = input.internal_comment;
            }
            Ok(number)
        });
        Ok(match result {
            Ok(number) => DirectToConsumerOrderCreatePayload {
                order: sim.order(number).map(Order::from_model),
                user_errors: vec![],
                user_warnings: vec![],
            },
            Err(problems) => DirectToConsumerOrderCreatePayload {
                order: None,
                user_errors: user_errors(problems),
                user_warnings: vec![],
            },
        })
    }

    /// Inferred mutation (see `ReturnRefundInput`): records a refund made
    /// elsewhere as a REFUND entry of the return; moves no money.
    async fn refund_return(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: ReturnRefundInput,
    ) -> async_graphql::Result<ReturnRefundPayload> {
        require(ctx, "Return:write")?;
        let sim = sim(ctx)?;
        let result = sim.with_state(|s| {
            let Some(value) = input.value.decimal() else {
                return Err(vec![Problem::new("Invalid value.", &["input", "value"])]);
            };
            if let (Some(code), Some((order, _))) =
                (&input.value.currency_iso_code, s.return_record(id))
            {
                if *code != order.currency {
                    return Err(vec![Problem::new(
                        format!("The order is in {}, not {code}.", order.currency),
                        &["input", "value", "currencyIsoCode"],
                    )]);
                }
            }
            s.refund_return(
                id,
                value,
                input.external_reference.clone(),
                input.refund_payment,
            )
        });
        Ok(match result {
            Ok(entry_id) => sim
                .with_state(|s| {
                    let (order, _) = s.return_record(id)?;
                    let order = std::sync::Arc::new(order.clone());
                    let entries: Vec<PaymentHistoryEntry> = order
                        .payment_history
                        .iter()
                        .filter(|p| p.return_id == Some(id))
                        .map(|p| PaymentHistoryEntry::new(p.clone(), &order.currency))
                        .collect();
                    let entry = order
                        .payment_history
                        .iter()
                        .find(|p| p.id == entry_id)
                        .map(|p| PaymentHistoryEntry::new(p.clone(), &order.currency));
                    Some(ReturnRefundPayload {
                        return_: Some(Return::new(order, id)),
                        payment_history_entry: entry,
                        payment_history_entries: entries,
                        user_errors: vec![],
                        user_warnings: vec![],
                    })
                })
                .unwrap_or(ReturnRefundPayload {
                    return_: None,
                    payment_history_entry: None,
                    payment_history_entries: vec![],
                    user_errors: vec![],
                    user_warnings: vec![],
                }),
            Err(problems) => ReturnRefundPayload {
                return_: None,
                payment_history_entry: None,
                payment_history_entries: vec![],
                user_errors: user_errors(problems),
                user_warnings: vec![],
            },
        })
    }
}
