//! `POST /<type>/{id}/!transform/<target>`: creating a child transaction from
//! a source one (fulfil an order, authorise a return, receive it, credit it,
//! refund the credit), with NetSuite's rules on what may still be done.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::build::{apply_update, as_object, blank, recompute};
use super::config::NetSuiteConfig;
use super::error::NsError;
use super::store::Store;
use super::types::{round_money, Line, RecordKey, RecordType};
use super::wire::{boolean, decimal, line_number, optional_decimal, validate_external_id};

const NO_VALID_LINES: &str = "You must have at least one valid line item for this transaction.";

/// One `!transform` call.
pub struct TransformRequest<'a> {
    pub source_kind: RecordType,
    pub source_key: &'a RecordKey,
    pub target: RecordType,
    pub body: &'a Value,
    /// `?replace=item`: only the lines sent.
    pub replace_lines: bool,
}

/// A chosen source line, the quantity taken from it, and the body's fields for it.
type Pick = (u32, Decimal, Map<String, Value>);

/// Performs a transform and returns the new record's id.
pub fn transform(
    store: &mut Store,
    config: &NetSuiteConfig,
    request: &TransformRequest<'_>,
    now: DateTime<Utc>,
) -> Result<u64, NsError> {
    let TransformRequest {
        source_kind,
        source_key,
        target,
        body,
        replace_lines,
    } = *request;
    use RecordType::*;
    if !matches!(
        (source_kind, target),
        (SalesOrder, ItemFulfillment)
            | (SalesOrder, ReturnAuthorization)
            | (ReturnAuthorization, ItemReceipt)
            | (ReturnAuthorization, CreditMemo)
            | (CreditMemo, CustomerRefund)
    ) {
        return Err(NsError::user(format!(
            "The transformation of {} into {} is not supported.",
            source_kind.path_name(),
            target.path_name()
        )));
    }
    let map = as_object(body, "body")?;
    let external_id = match map.get("externalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(external)) => Some(external.clone()),
        Some(other) => return Err(NsError::invalid_value("externalId", other)),
    };
    if let Some(external) = &external_id {
        validate_external_id(external)?;
    }
    // Transforms have no upsert: a repeated external id is a duplicate.
    store.check_unique(target, external_id.as_deref())?;
    // A deleted (archived) or unknown source refuses with a 400, as the
    // transform cannot be initialised (inferred from SOAP's INVALID_INITIALIZE_REF).
    let source_id = store.resolve(source_kind, source_key).ok_or_else(|| {
        NsError::user("Error while accessing a resource. That record does not exist.")
    })?;
    let source = store
        .get(source_kind, source_id)
        .cloned()
        .ok_or_else(NsError::not_found)?;
    check_source_open(store, &source)?;

    let mut child = blank(store, target, now);
    child.external_id = external_id;
    child.entity = source.entity;
    child.created_from = Some((source_kind, source_id));
    for key in ["currency", "subsidiary", "location", "department", "class"] {
        if let Some(value) = source.fields.get(key) {
            child.fields.insert(key.to_string(), value.clone());
        }
    }
    let header: Map<String, Value> = map
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "item" | "apply" | "entity" | "orderStatus"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    apply_update(store, config, &mut child, &header, false, true)?;

    if target == CustomerRefund {
        let amount = match optional_decimal(map, "total", "total")? {
            Some(amount) => round_money(amount),
            None => source.totals.amount_remaining,
        };
        if amount <= Decimal::ZERO || amount > source.totals.amount_remaining {
            return Err(NsError::user(format!(
                "The refund amount {amount} exceeds the credit remaining {} on {}.",
                source.totals.amount_remaining,
                source.tran_id.as_deref().unwrap_or_default()
            ))
            .at("total"));
        }
        child.totals.total = amount;
        let credit = store
            .get_mut(CreditMemo, source_id)
            .ok_or_else(NsError::not_found)?;
        credit.totals.applied += amount;
        recompute(credit);
        credit.last_modified = now;
    } else {
        let requested = requested_lines(map, "item")?;
        let picks = pick_lines(config, &source, target, &requested, replace_lines)?;
        let source_record = store
            .get_mut(source_kind, source_id)
            .ok_or_else(NsError::not_found)?;
        for (index, (order_line, quantity, overrides)) in picks.into_iter().enumerate() {
            let Some(source_line) = source_record
                .lines
                .iter_mut()
                .find(|line| line.line == order_line)
            else {
                continue;
            };
            let mut line = Line::new(child.next_line);
            child.next_line += config.line_step.max(1);
            line.order_line = Some(order_line);
            line.item = source_line.item;
            line.quantity = quantity;
            let path = format!("item.items[{index}]");
            match target {
                ItemFulfillment => {
                    source_line.quantity_fulfilled += quantity;
                    // No Advanced Shipping: the fulfilment also bills.
                    source_line.quantity_billed += quantity;
                }
                ReturnAuthorization | CreditMemo => {
                    line.rate = source_line.rate;
                    line.tax_rate = source_line.tax_rate;
                    line.amount = if quantity == source_line.quantity {
                        source_line.amount
                    } else {
                        round_money(source_line.rate * quantity)
                    };
                    line.discount = if source_line.quantity.is_zero() {
                        Decimal::ZERO
                    } else {
                        round_money(source_line.discount * quantity / source_line.quantity)
                    };
                    if target == ReturnAuthorization {
                        source_line.quantity_returned += quantity;
                    } else {
                        source_line.quantity_billed += quantity;
                    }
                    apply_money_overrides(config, &mut line, &overrides, &path)?;
                }
                ItemReceipt => source_line.quantity_fulfilled += quantity,
                _ => {}
            }
            for (key, value) in overrides {
                if !matches!(
                    key.as_str(),
                    "orderLine"
                        | "quantity"
                        | "rate"
                        | "amount"
                        | "taxRate1"
                        | "tax1Amt"
                        | "itemreceive"
                ) && key != config.discount_line_field
                {
                    line.extra.insert(key, value);
                }
            }
            child.lines.push(line);
        }
        recompute(source_record);
        source_record.last_modified = now;
    }
    if target == ItemFulfillment && !child.fields.contains_key("shipStatus") {
        child.status = Some('C');
    } else if let Some(code) = child
        .fields
        .get("shipStatus")
        .and_then(|value| value.get("id").or(Some(value)))
        .and_then(Value::as_str)
        .and_then(|text| text.chars().next())
    {
        child.status = Some(code);
    }
    if matches!(target, ReturnAuthorization) {
        child.status = Some('B');
    }
    if matches!(target, CreditMemo) {
        child.status = Some('A');
    }
    recompute(&mut child);
    let id = child.id;
    store.insert(child);
    Ok(id)
}

/// Closed, cancelled, pending-approval or fully processed sources refuse new
/// children. For credit memos off a return authorisation the original sales
/// order must still be open and present too (inferred; it is what makes a
/// refund on a closed or archived order fail).
fn check_source_open(store: &Store, source: &super::types::Record) -> Result<(), NsError> {
    let refuse = |why: &str| {
        NsError::user(format!(
            "{NO_VALID_LINES} {} {} is {why}.",
            source.kind.path_name(),
            source.tran_id.as_deref().unwrap_or_default()
        ))
    };
    match source.status {
        Some('A') if source.kind != RecordType::CreditMemo => {
            return Err(refuse("pending approval"))
        }
        Some('C') if source.kind != RecordType::CreditMemo => return Err(refuse("cancelled")),
        Some('H') => return Err(refuse("closed")),
        _ => {}
    }
    if source.kind == RecordType::ReturnAuthorization {
        if let Some((kind, id)) = source.created_from {
            if store.is_archived(kind, id) {
                return Err(NsError::user(format!(
                    "{NO_VALID_LINES} The original {} {id} no longer exists.",
                    kind.path_name()
                )));
            }
            if let Some(order) = store.get(kind, id) {
                if matches!(order.status, Some('C' | 'H')) {
                    return Err(NsError::user(format!(
                        "{NO_VALID_LINES} The original {} {} is closed.",
                        kind.path_name(),
                        order.tran_id.as_deref().unwrap_or_default()
                    )));
                }
            }
        }
    }
    Ok(())
}

type Requested = Vec<(u32, Map<String, Value>)>;

fn requested_lines(map: &Map<String, Value>, sublist: &str) -> Result<Requested, NsError> {
    let Some(value) = map.get(sublist) else {
        return Ok(Vec::new());
    };
    let items = value
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| NsError::invalid_value(sublist, value))?;
    let mut requested = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("{sublist}.items[{index}]");
        let fields = as_object(item, &path)?;
        let order_line = fields
            .get("orderLine")
            .or_else(|| fields.get("line"))
            .ok_or_else(|| NsError::user("Please enter value(s) for: orderLine").at(&path))?;
        let order_line = line_number(order_line, &format!("{path}.orderLine"))?;
        requested.push((order_line, fields.clone()));
    }
    Ok(requested)
}

/// What is left to do on a source line for this target.
fn remaining(target: RecordType, line: &Line) -> Decimal {
    if line.is_closed {
        return Decimal::ZERO;
    }
    let left = match target {
        RecordType::ItemFulfillment => line.quantity - line.quantity_fulfilled,
        RecordType::ReturnAuthorization => line.quantity_fulfilled - line.quantity_returned,
        RecordType::ItemReceipt => line.quantity - line.quantity_fulfilled,
        RecordType::CreditMemo => line.quantity - line.quantity_billed,
        _ => Decimal::ZERO,
    };
    left.max(Decimal::ZERO)
}

/// Chooses the lines and quantities of the new record: every line with
/// something left (unless `replace=item` or the account copies only listed
/// lines), with the body's lines merged by `orderLine`.
fn pick_lines(
    config: &NetSuiteConfig,
    source: &super::types::Record,
    target: RecordType,
    requested: &Requested,
    replace_lines: bool,
) -> Result<Vec<Pick>, NsError> {
    let copy_unlisted = config.transform_copies_unlisted_lines && !replace_lines;
    let mut picks = Vec::new();
    for (index, (order_line, fields)) in requested.iter().enumerate() {
        let path = format!("item.items[{index}]");
        let line = source
            .lines
            .iter()
            .find(|line| line.line == *order_line)
            .ok_or_else(|| {
                NsError::user(format!(
                    "Invalid orderLine {order_line}: no such line on the source."
                ))
                .at(format!("{path}.orderLine"))
            })?;
        let include = match fields
            .get("itemreceive")
            .or_else(|| fields.get("itemReceive"))
        {
            Some(value) => boolean(value, &format!("{path}.itemreceive"))?,
            None => true,
        };
        if !include {
            continue;
        }
        let left = remaining(target, line);
        let quantity = match fields.get("quantity") {
            Some(value) => decimal(value, &format!("{path}.quantity"))?,
            None => left,
        };
        if quantity <= Decimal::ZERO && left > Decimal::ZERO {
            continue;
        }
        if quantity > left || left.is_zero() {
            return Err(NsError::user(format!(
                "You cannot {} more than the remaining quantity ({left}) of line {order_line}.",
                verb(target)
            ))
            .at(format!("{path}.quantity")));
        }
        picks.push((*order_line, quantity, fields.clone()));
    }
    if copy_unlisted {
        for line in &source.lines {
            let listed = requested
                .iter()
                .any(|(order_line, _)| *order_line == line.line);
            let left = remaining(target, line);
            if !listed && left > Decimal::ZERO {
                picks.push((line.line, left, Map::new()));
            }
        }
        picks.sort_by_key(|(order_line, _, _)| *order_line);
    }
    if picks.is_empty() {
        return Err(NsError::user(NO_VALID_LINES).at("item"));
    }
    Ok(picks)
}

fn verb(target: RecordType) -> &'static str {
    match target {
        RecordType::ItemFulfillment => "fulfill",
        RecordType::ReturnAuthorization => "return",
        RecordType::ItemReceipt => "receive",
        _ => "credit",
    }
}

/// A return or credit line may override rate, amount, tax rate and discount,
/// so a refund can be the exact reversal of the original allocation.
fn apply_money_overrides(
    config: &NetSuiteConfig,
    line: &mut Line,
    fields: &Map<String, Value>,
    path: &str,
) -> Result<(), NsError> {
    let rate = optional_decimal(fields, "rate", &format!("{path}.rate"))?;
    let amount = optional_decimal(fields, "amount", &format!("{path}.amount"))?;
    if let Some(rate) = rate {
        line.rate = rate;
        line.amount = round_money(rate * line.quantity);
    }
    if let Some(amount) = amount {
        line.amount = round_money(amount);
    }
    if let Some(tax_rate) = optional_decimal(fields, "taxRate1", &format!("{path}.taxRate1"))? {
        line.tax_rate = tax_rate;
    }
    if let Some(tax) = optional_decimal(fields, "tax1Amt", &format!("{path}.tax1Amt"))? {
        line.tax_set = Some(round_money(tax));
    }
    let key = config.discount_line_field.as_str();
    if let Some(discount) = optional_decimal(fields, key, &format!("{path}.{key}"))? {
        line.discount = round_money(discount.abs());
    }
    Ok(())
}
