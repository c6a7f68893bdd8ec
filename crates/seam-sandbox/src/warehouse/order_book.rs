//! Sales orders: create or modify by re-PUT, cancel, allocate available
//! units, dispatch in one or more parcels.

use std::collections::HashMap;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rand::Rng;

use super::errors::{code, FieldError, PartnerError, WarehouseError};
use super::messages::{DispatchConfirmation, DispatchedLine, MessageBody};
use super::model::{DispatchRequest, OrderAck, OrderLineView, OrderView};
use super::order::{check_references, OrderRequest, References};
use super::state::State;
use super::stock::Unit;
use super::vendor::{field, order_status, status};

pub(crate) struct Order {
    pub request: OrderRequest,
    pub version: u32,
    pub lines: Vec<LineState>,
    pub dispatches: Vec<DispatchConfirmation>,
    /// Units shipped per line, so a return brings back the same RFIDs.
    pub shipped_units: HashMap<String, Vec<Unit>>,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) struct LineState {
    pub line_item_id: String,
    pub sku: String,
    pub quantity: u64,
    pub allocated: u64,
    pub dispatched: u64,
    pub returned: u64,
}

impl Order {
    pub fn status(&self) -> &'static str {
        if self.request.cancelled {
            order_status::CANCELLED
        } else if self
            .lines
            .iter()
            .all(|line| line.dispatched >= line.quantity)
        {
            order_status::DISPATCHED
        } else if self.lines.iter().any(|line| line.dispatched > 0) {
            order_status::PART_DISPATCHED
        } else if self.lines.iter().any(|line| line.allocated < line.quantity) {
            order_status::AWAITING_STOCK
        } else {
            order_status::RECEIVED
        }
    }

    pub fn ack(&self) -> OrderAck {
        OrderAck {
            success: true,
            order_number: self.request.order_number.clone(),
            status: self.status().to_string(),
            version: self.version,
        }
    }

    pub fn view(&self, account_code: &str) -> OrderView {
        let order_items = self
            .request
            .items
            .iter()
            .zip(&self.lines)
            .map(|(item, line)| OrderLineView {
                line_item_id: item.line_item_id.clone(),
                garment_sku: item.sku.clone(),
                is_hire: item.is_hire,
                item_price: item.price,
                item_quantity: item.quantity,
                item_condition: item.item_condition.clone(),
                grade: item.grade.clone(),
                quantity_allocated: line.allocated,
                quantity_dispatched: line.dispatched,
                quantity_returned: line.returned,
            })
            .collect();
        OrderView {
            success: true,
            account_code: account_code.to_string(),
            order_number: self.request.order_number.clone(),
            status: self.status().to_string(),
            version: self.version,
            order_date: self.request.order_date,
            delivery_service: self.request.delivery_service.clone(),
            delivery_agent: self.request.delivery_agent.clone(),
            order_cancelled: self.request.cancelled,
            received_at: self.received_at,
            updated_at: self.updated_at,
            order_items,
            dispatches: self.dispatches.clone(),
        }
    }

    fn has_dispatched(&self) -> bool {
        self.lines.iter().any(|line| line.dispatched > 0)
    }
}

fn lines_of(request: &OrderRequest) -> Vec<LineState> {
    request
        .items
        .iter()
        .map(|item| LineState {
            line_item_id: item.line_item_id.clone(),
            sku: item.sku.clone(),
            quantity: item.quantity,
            allocated: 0,
            dispatched: 0,
            returned: 0,
        })
        .collect()
}

impl State {
    /// `PUT /orders/{OrderNumber}`: create, modify, cancel, or (identical
    /// body) change nothing and answer as before.
    pub fn put_order(
        &mut self,
        request: OrderRequest,
        at: DateTime<Utc>,
    ) -> Result<OrderAck, PartnerError> {
        if let Some(existing) = self.orders.get(&request.order_number) {
            if existing.request == request {
                return Ok(existing.ack());
            }
        }
        let errors = check_references(
            &request,
            &References {
                service_codes: &self.service_codes,
                delivery_agents: &self.delivery_agents,
                catalogue: &self.catalogue,
            },
        );
        if !errors.is_empty() {
            return Err(PartnerError::validation(errors));
        }
        let Some(mut order) = self.orders.remove(&request.order_number) else {
            let mut order = Order {
                lines: lines_of(&request),
                request,
                version: 1,
                dispatches: Vec::new(),
                shipped_units: HashMap::new(),
                received_at: at,
                updated_at: at,
            };
            if !order.request.cancelled {
                self.allocate(&mut order);
            }
            let ack = order.ack();
            self.orders
                .insert(order.request.order_number.clone(), order);
            return Ok(ack);
        };
        let refusal = if order.request.cancelled {
            Some((code::CANCELLED, "is cancelled and cannot be changed"))
        } else if order.has_dispatched() {
            // Inferred: a picked and shipped order is out of the warehouse's hands.
            Some((
                code::ALREADY_DISPATCHED,
                "has already been dispatched and cannot be changed or cancelled",
            ))
        } else {
            None
        };
        if let Some((error_code, reason)) = refusal {
            let number = order.request.order_number.clone();
            self.orders.insert(number.clone(), order);
            return Err(PartnerError::single(
                StatusCode::CONFLICT,
                FieldError::new(
                    error_code,
                    field::ORDER_NUMBER,
                    format!("Order {number} {reason}."),
                ),
            ));
        }
        self.release(&mut order);
        order.lines = lines_of(&request);
        order.request = request;
        order.version += 1;
        order.updated_at = at;
        if !order.request.cancelled {
            self.allocate(&mut order);
        }
        let ack = order.ack();
        self.orders
            .insert(order.request.order_number.clone(), order);
        Ok(ack)
    }

    fn allocate(&mut self, order: &mut Order) {
        for line in &mut order.lines {
            let open = line
                .quantity
                .saturating_sub(line.dispatched + line.allocated);
            line.allocated += self.stock.allocate(&line.sku, open);
            if line.allocated + line.dispatched < line.quantity {
                let waiting = self.backorders.entry(line.sku.clone()).or_default();
                if !waiting.contains(&order.request.order_number) {
                    waiting.push_back(order.request.order_number.clone());
                }
            }
        }
    }

    /// Releases an order's allocations and hands the units to orders waiting for them.
    fn release(&mut self, order: &mut Order) {
        let mut freed = Vec::new();
        for line in &mut order.lines {
            if line.allocated > 0 {
                self.stock.release(&line.sku, line.allocated);
                freed.push(line.sku.clone());
            }
            line.allocated = 0;
        }
        for sku in freed {
            self.top_up_allocations(&sku);
        }
    }

    /// Allocates newly available units of a SKU to orders awaiting stock, in
    /// arrival order (inferred: a WMS allocates backorders first come, first
    /// served). Only the orders waiting for this SKU are visited.
    pub fn top_up_allocations(&mut self, sku: &str) {
        let Some(waiting) = self.backorders.get_mut(sku) else {
            return;
        };
        while let Some(number) = waiting.front() {
            if self.stock.available_units(sku) == 0 {
                return;
            }
            let mut still_short = false;
            if let Some(order) = self
                .orders
                .get_mut(number)
                .filter(|order| !order.request.cancelled)
            {
                for line in order.lines.iter_mut().filter(|line| line.sku == sku) {
                    let open = line
                        .quantity
                        .saturating_sub(line.dispatched + line.allocated);
                    line.allocated += self.stock.allocate(sku, open);
                    still_short |= line.allocated + line.dispatched < line.quantity;
                }
            }
            if still_short {
                return;
            }
            waiting.pop_front();
        }
        self.backorders.remove(sku);
    }

    /// Ships a parcel: units leave `Available`, a movement per SKU and a
    /// dispatch confirmation are emitted.
    pub fn dispatch(
        &mut self,
        order_number: &str,
        request: &DispatchRequest,
        at: DateTime<Utc>,
    ) -> Result<DispatchConfirmation, WarehouseError> {
        let order = self
            .orders
            .get(order_number)
            .ok_or_else(|| WarehouseError::UnknownOrder(order_number.to_string()))?;
        if order.request.cancelled {
            return Err(WarehouseError::OrderCancelled(order_number.to_string()));
        }
        let parcel: Vec<(usize, u64)> = match &request.lines {
            None => order
                .lines
                .iter()
                .enumerate()
                .filter(|(_, line)| line.dispatched < line.quantity)
                .map(|(index, line)| (index, line.quantity - line.dispatched))
                .collect(),
            Some(lines) => {
                let mut parcel = Vec::with_capacity(lines.len());
                for wanted in lines {
                    let index = order
                        .lines
                        .iter()
                        .position(|line| line.line_item_id == wanted.line_item_id)
                        .ok_or_else(|| WarehouseError::UnknownLine {
                            order: order_number.to_string(),
                            line: wanted.line_item_id.clone(),
                        })?;
                    parcel.push((index, wanted.quantity));
                }
                parcel
            }
        };
        if parcel.is_empty() {
            return Err(WarehouseError::Invalid(format!(
                "order {order_number} has nothing left to dispatch"
            )));
        }
        let mut per_line: HashMap<usize, u64> = HashMap::new();
        let mut per_sku: HashMap<&str, u64> = HashMap::new();
        for (index, quantity) in &parcel {
            let line = &order.lines[*index];
            if *quantity == 0 {
                return Err(WarehouseError::Invalid(format!(
                    "line {} quantity must be at least 1",
                    line.line_item_id
                )));
            }
            let total = per_line.entry(*index).or_default();
            *total += quantity;
            if *total > line.quantity - line.dispatched {
                return Err(WarehouseError::Invalid(format!(
                    "line {} has {} units left to dispatch",
                    line.line_item_id,
                    line.quantity - line.dispatched
                )));
            }
            *per_sku.entry(line.sku.as_str()).or_default() += quantity;
        }
        for (sku, quantity) in &per_sku {
            let available = self.stock.count(sku, status::AVAILABLE);
            if available < *quantity {
                return Err(WarehouseError::InsufficientStock {
                    sku: sku.to_string(),
                    status: status::AVAILABLE.to_string(),
                    wanted: *quantity,
                    available,
                });
            }
        }
        let carrier = request
            .carrier
            .clone()
            .unwrap_or_else(|| order.request.delivery_agent.clone());
        let service = request
            .service
            .clone()
            .unwrap_or_else(|| order.request.delivery_service.clone());
        let tracking_number = match &request.tracking_number {
            Some(tracking) => tracking.clone(),
            None => tracking_number_for(&carrier, &mut self.rng),
        };

        // Checked above: every line exists and every SKU has the units.
        let Some(mut order) = self.orders.remove(order_number) else {
            return Err(WarehouseError::UnknownOrder(order_number.to_string()));
        };
        let mut lines = Vec::with_capacity(parcel.len());
        let mut moved: Vec<(String, u64)> = Vec::new();
        for (index, quantity) in parcel {
            let line = &mut order.lines[index];
            let units = self
                .stock
                .take(&line.sku, status::AVAILABLE, quantity, at)?;
            order
                .shipped_units
                .entry(line.line_item_id.clone())
                .or_default()
                .extend(units);
            let released = line.allocated.min(quantity);
            line.allocated -= released;
            self.stock.release(&line.sku, released);
            line.dispatched += quantity;
            lines.push(DispatchedLine {
                line_item_id: line.line_item_id.clone(),
                sku: line.sku.clone(),
                quantity,
            });
            match moved.iter_mut().find(|(sku, _)| *sku == line.sku) {
                Some((_, total)) => *total += quantity,
                None => moved.push((line.sku.clone(), quantity)),
            }
        }
        self.next_dispatch += 1;
        let confirmation = DispatchConfirmation {
            order_number: order_number.to_string(),
            dispatch_id: format!("DSP-{:06}", self.next_dispatch),
            lines,
            carrier,
            service,
            tracking_number,
            dispatched_at: at,
        };
        order.dispatches.push(confirmation.clone());
        order.updated_at = at;
        self.orders.insert(order_number.to_string(), order);
        for (sku, quantity) in moved {
            self.emit_movement(&sku, status::AVAILABLE, status::DISPATCHED, quantity, at);
        }
        self.emit(MessageBody::DispatchConfirmation(confirmation.clone()));
        Ok(confirmation)
    }
}

/// A tracking number in the carrier's usual shape: Royal Mail's S10
/// (`AB123456785GB`, with its check digit), DPD's 14 digits, else generic [I].
fn tracking_number_for(carrier: &str, rng: &mut impl Rng) -> String {
    match carrier {
        "RM" => {
            let serial: u32 = rng.gen_range(0..100_000_000);
            let digits: Vec<u32> = format!("{serial:08}")
                .chars()
                .filter_map(|c| c.to_digit(10))
                .collect();
            let weights = [8, 6, 4, 2, 3, 5, 9, 7];
            let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
            let check = match 11 - sum % 11 {
                10 => 0,
                11 => 5,
                other => other,
            };
            let a = char::from(b'A' + rng.gen_range(0..26u8));
            let b = char::from(b'A' + rng.gen_range(0..26u8));
            format!("{a}{b}{serial:08}{check}GB")
        }
        "DPD" => format!("{:014}", rng.gen_range(0..100_000_000_000_000u64)),
        _ => format!("TRK{:010}", rng.gen_range(0..10_000_000_000u64)),
    }
}
