//! Returns: units arrive into `Pending Inspection` (not sellable), then a
//! grading step moves them where their grade and disposition send them and
//! emits the return receipt. The two steps are separate so scenario S12 (a
//! returned unit is not sellable until graded) can be observed.

use chrono::{DateTime, Utc};

use super::errors::WarehouseError;
use super::messages::{MessageBody, ReturnReceipt, ReturnedLine};
use super::model::{ReturnRecord, ReturnRequest};
use super::state::State;
use super::vendor::status;

impl State {
    /// A return arrives: its units go to `Pending Inspection`.
    pub fn receive_return(
        &mut self,
        request: &ReturnRequest,
        at: DateTime<Utc>,
    ) -> Result<ReturnRecord, WarehouseError> {
        if request.order_number.is_none() && request.rma.is_none() {
            return Err(WarehouseError::Invalid(
                "a return names an order number or an RMA".into(),
            ));
        }
        if request.lines.is_empty() {
            return Err(WarehouseError::Invalid(
                "a return has at least one line".into(),
            ));
        }
        let order = match &request.order_number {
            Some(number) => Some(
                self.orders
                    .get(number)
                    .ok_or_else(|| WarehouseError::UnknownOrder(number.clone()))?,
            ),
            None => None,
        };
        // Resolve and check every line before changing anything.
        let mut lines = Vec::with_capacity(request.lines.len());
        for wanted in &request.lines {
            if wanted.quantity == 0 {
                return Err(WarehouseError::Invalid(
                    "return quantity must be at least 1".into(),
                ));
            }
            if !wanted.disposition.allowed_for(wanted.grade) {
                return Err(WarehouseError::Invalid(format!(
                    "grade {:?} cannot take disposition {:?}",
                    wanted.grade, wanted.disposition
                )));
            }
            let order_line = match (&order, &wanted.line_item_id) {
                (Some(order), Some(line_id)) => Some(
                    order
                        .lines
                        .iter()
                        .find(|line| &line.line_item_id == line_id)
                        .ok_or_else(|| WarehouseError::UnknownLine {
                            order: order.request.order_number.clone(),
                            line: line_id.clone(),
                        })?,
                ),
                _ => None,
            };
            let sku = match (&wanted.sku, order_line) {
                (Some(sku), _) => sku.clone(),
                (None, Some(line)) => line.sku.clone(),
                (None, None) => {
                    return Err(WarehouseError::Invalid(
                        "a return line names a SKU or an order line".into(),
                    ))
                }
            };
            self.require_catalogued(&sku)?;
            if let Some(line) = order_line {
                let already = lines
                    .iter()
                    .filter(|l: &&ReturnedLine| {
                        l.line_item_id.as_deref() == Some(line.line_item_id.as_str())
                    })
                    .map(|l| l.quantity)
                    .sum::<u64>();
                let returnable = line.dispatched.saturating_sub(line.returned);
                if already + wanted.quantity > returnable {
                    return Err(WarehouseError::Invalid(format!(
                        "line {} has {returnable} dispatched units not yet returned",
                        line.line_item_id
                    )));
                }
            }
            lines.push(ReturnedLine {
                line_item_id: wanted.line_item_id.clone(),
                sku,
                quantity: wanted.quantity,
                grade: wanted.grade,
                disposition: wanted.disposition,
                notes: wanted.notes.clone().unwrap_or_default(),
            });
        }

        for line in &lines {
            // The same RFIDs come back when the order shipped them.
            let mut units = Vec::new();
            if let (Some(number), Some(line_id)) = (&request.order_number, &line.line_item_id) {
                if let Some(order) = self.orders.get_mut(number) {
                    if let Some(shipped) = order.shipped_units.get_mut(line_id) {
                        let keep = shipped.len().saturating_sub(line.quantity as usize);
                        units = shipped.split_off(keep);
                    }
                    if let Some(order_line) =
                        order.lines.iter_mut().find(|l| &l.line_item_id == line_id)
                    {
                        order_line.returned += line.quantity;
                    }
                }
            }
            let missing = line.quantity.saturating_sub(units.len() as u64);
            units.extend(self.stock.mint(missing, at));
            self.stock
                .put(&line.sku, status::PENDING_INSPECTION, units, at);
            self.emit_movement(
                &line.sku,
                status::DISPATCHED,
                status::PENDING_INSPECTION,
                line.quantity,
                at,
            );
        }
        self.next_return += 1;
        let record = ReturnRecord {
            return_id: format!("RET-{:06}", self.next_return),
            order_number: request.order_number.clone(),
            rma: request.rma.clone(),
            lines,
            received_at: at,
            graded_at: None,
        };
        self.returns
            .insert(record.return_id.clone(), record.clone());
        Ok(record)
    }

    /// Grades a received return: units leave `Pending Inspection` for the
    /// status their disposition names, and the return receipt is emitted.
    pub fn grade_return(
        &mut self,
        return_id: &str,
        at: DateTime<Utc>,
    ) -> Result<ReturnReceipt, WarehouseError> {
        let record = self
            .returns
            .get(return_id)
            .ok_or_else(|| WarehouseError::UnknownReturn(return_id.to_string()))?;
        if record.graded_at.is_some() {
            return Err(WarehouseError::AlreadyGraded(return_id.to_string()));
        }
        let lines = record.lines.clone();
        // Check first: the admin may have moved pending units elsewhere.
        let mut needed: Vec<(&str, u64)> = Vec::new();
        for line in &lines {
            match needed.iter_mut().find(|(sku, _)| *sku == line.sku) {
                Some((_, total)) => *total += line.quantity,
                None => needed.push((line.sku.as_str(), line.quantity)),
            }
        }
        for (sku, quantity) in &needed {
            let pending = self.stock.count(sku, status::PENDING_INSPECTION);
            if pending < *quantity {
                return Err(WarehouseError::InsufficientStock {
                    sku: sku.to_string(),
                    status: status::PENDING_INSPECTION.to_string(),
                    wanted: *quantity,
                    available: pending,
                });
            }
        }
        for line in &lines {
            let target = line.disposition.target_status();
            let units =
                self.stock
                    .take(&line.sku, status::PENDING_INSPECTION, line.quantity, at)?;
            self.stock.put(&line.sku, target, units, at);
            if target == status::AVAILABLE {
                self.top_up_allocations(&line.sku);
            }
            self.emit_movement(
                &line.sku,
                status::PENDING_INSPECTION,
                target,
                line.quantity,
                at,
            );
        }
        let receipt = match self.returns.get_mut(return_id) {
            Some(record) => {
                record.graded_at = Some(at);
                ReturnReceipt {
                    order_number: record.order_number.clone(),
                    rma: record.rma.clone(),
                    return_id: record.return_id.clone(),
                    lines,
                    received_at: record.received_at,
                    graded_at: at,
                }
            }
            None => return Err(WarehouseError::UnknownReturn(return_id.to_string())),
        };
        self.emit(MessageBody::ReturnReceipt(receipt.clone()));
        Ok(receipt)
    }
}
