//! Turning request bodies into records: header fields, references, the line
//! sublist (merged by `line` unless `replace=item`), and the totals and status
//! NetSuite computes after every change.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::config::NetSuiteConfig;
use super::error::NsError;
use super::store::Store;
use super::types::{round_money, Line, Record, RecordKey, RecordType, Totals};
use super::wire::{boolean, decimal, line_number, optional_decimal, validate_external_id};

/// Header fields the simulator owns or reads itself; the rest are kept as sent.
const OWNED_FIELDS: &[&str] = &[
    "id",
    "externalId",
    "entity",
    "item",
    "inventory",
    "apply",
    "orderStatus",
    "status",
    "shippingCost",
    "discountRate",
    "subtotal",
    "discountTotal",
    "taxTotal",
    "total",
    "tranId",
    "createdDate",
    "lastModifiedDate",
    "links",
    "createdFrom",
    "amountRemaining",
    "estimatedTotalValue",
    "refName",
];

/// Line fields the simulator owns or reads itself.
const OWNED_LINE_FIELDS: &[&str] = &[
    "line",
    "orderLine",
    "item",
    "quantity",
    "adjustQtyBy",
    "rate",
    "unitCost",
    "amount",
    "taxRate1",
    "tax1Amt",
    "isclosed",
    "isClosed",
    "quantityFulfilled",
    "quantityfulfilled",
    "quantityBilled",
    "quantitybilled",
    "links",
    "itemreceive",
    "itemReceive",
];

pub fn as_object<'a>(body: &'a Value, path: &str) -> Result<&'a Map<String, Value>, NsError> {
    body.as_object()
        .ok_or_else(|| NsError::invalid_value(path, body))
}

/// Resolves `{"id"}`, `{"externalId"}` or `{"refName"}` (or a bare id) to an
/// internal id of `kind`.
pub fn resolve_ref(
    store: &Store,
    kind: RecordType,
    value: &Value,
    path: &str,
) -> Result<u64, NsError> {
    let invalid = || NsError::invalid_value(path, value);
    let found = match value {
        Value::String(_) | Value::Number(_) => {
            reference_id(value).and_then(|id| store.resolve(kind, &RecordKey::Id(id)))
        }
        Value::Object(map) => {
            if let Some(id) = map.get("id") {
                reference_id(id).and_then(|id| store.resolve(kind, &RecordKey::Id(id)))
            } else if let Some(Value::String(external)) = map.get("externalId") {
                store.resolve(kind, &RecordKey::External(external.clone()))
            } else if let Some(Value::String(name)) = map.get("refName") {
                find_by_name(store, kind, name)
            } else {
                None
            }
        }
        _ => None,
    };
    found.ok_or_else(invalid)
}

fn reference_id(value: &Value) -> Option<u64> {
    match value {
        Value::String(text) => text.trim().parse().ok(),
        Value::Number(number) => number.as_u64(),
        _ => None,
    }
}

fn find_by_name(store: &Store, kind: RecordType, name: &str) -> Option<u64> {
    let keys: &[&str] = match kind {
        RecordType::InventoryItem => &["itemId", "displayName"],
        _ => &["companyName", "entityId"],
    };
    store
        .records(kind)
        .find(|record| {
            keys.iter()
                .any(|key| record.fields.get(*key).and_then(Value::as_str) == Some(name))
                || record.external_id.as_deref() == Some(name)
        })
        .map(|record| record.id)
}

/// A fresh, empty record of `kind` with ids assigned.
pub fn blank(store: &mut Store, kind: RecordType, now: DateTime<Utc>) -> Record {
    let id = store.allocate_id(kind);
    let tran_id = kind
        .is_transaction()
        .then(|| store.allocate_document_number(kind));
    Record {
        kind,
        id,
        external_id: None,
        tran_id,
        fields: Map::new(),
        entity: None,
        lines: Vec::new(),
        status: None,
        created_from: None,
        discount_rate: None,
        totals: Totals::default(),
        created: now,
        last_modified: now,
        next_line: 1,
    }
}

/// Creates a record from a POST or upsert body. The caller checks the
/// external id for uniqueness and inserts.
pub fn create(
    store: &mut Store,
    config: &NetSuiteConfig,
    kind: RecordType,
    body: &Value,
    external_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<Record, NsError> {
    let map = as_object(body, "body")?;
    let external_id = match external_id {
        Some(external) => Some(external),
        None => match map.get("externalId") {
            None | Some(Value::Null) => None,
            Some(Value::String(external)) => Some(external.clone()),
            Some(other) => return Err(NsError::invalid_value("externalId", other)),
        },
    };
    if let Some(external) = &external_id {
        validate_external_id(external)?;
    }
    store.check_unique(kind, external_id.as_deref())?;
    let mut record = blank(store, kind, now);
    record.external_id = external_id;
    match kind {
        RecordType::SalesOrder | RecordType::ReturnAuthorization => {
            record.status = Some(if kind == RecordType::SalesOrder {
                config.default_order_status
            } else {
                'B'
            });
        }
        RecordType::CreditMemo => record.status = Some('A'),
        _ => {}
    }
    apply_update(store, config, &mut record, map, false, true)?;
    validate_complete(&record)?;
    recompute(&mut record);
    Ok(record)
}

/// Fields every new record of a type needs (NetSuite's mandatory fields).
fn validate_complete(record: &Record) -> Result<(), NsError> {
    let missing = |field: &str| {
        NsError::user(format!("Please enter value(s) for: {field}")).at(field.to_string())
    };
    match record.kind {
        RecordType::SalesOrder | RecordType::ReturnAuthorization | RecordType::CreditMemo => {
            if record.entity.is_none() {
                return Err(missing("entity"));
            }
            if record.lines.is_empty() {
                return Err(NsError::user(
                    "You must have at least one valid line item for this transaction.",
                )
                .at("item"));
            }
        }
        RecordType::InventoryAdjustment => {
            if !record.fields.contains_key("account") {
                return Err(missing("account"));
            }
            if record.lines.is_empty() {
                return Err(NsError::user(
                    "You must have at least one valid line item for this transaction.",
                )
                .at("inventory"));
            }
        }
        RecordType::InventoryItem if !record.fields.contains_key("itemId") => {
            return Err(missing("itemId"));
        }
        _ => {}
    }
    Ok(())
}

/// Applies a body to a record (create, PATCH, or upsert of an existing one).
/// Sublist lines with a `line` update that line; lines without one are added;
/// with `replace_lines` the lines not sent are removed.
pub fn apply_update(
    store: &Store,
    config: &NetSuiteConfig,
    record: &mut Record,
    map: &Map<String, Value>,
    replace_lines: bool,
    creating: bool,
) -> Result<(), NsError> {
    if let Some(entity) = map.get("entity") {
        record.entity = Some(resolve_ref(store, RecordType::Customer, entity, "entity")?);
    }
    if let Some(value) = map.get("shippingCost") {
        record.totals.shipping_cost = round_money(decimal(value, "shippingCost")?);
    }
    if let Some(value) = map.get("discountRate") {
        record.discount_rate = match value {
            Value::Null => None,
            Value::String(text) => Some(text.trim().to_string()),
            other => Some(decimal(other, "discountRate")?.to_string()),
        };
    }
    if let Some(value) = map.get("orderStatus") {
        let code = status_code(value)?;
        set_order_status(record, code, creating)?;
    }
    for (key, value) in map {
        if !OWNED_FIELDS.contains(&key.as_str()) {
            record.fields.insert(key.clone(), value.clone());
        }
    }
    if let Some(sublist) = record.kind.sublist() {
        if let Some(value) = map.get(sublist) {
            merge_lines(store, config, record, value, sublist, replace_lines)?;
        }
    }
    Ok(())
}

fn status_code(value: &Value) -> Result<char, NsError> {
    let text = match value {
        Value::String(text) => Some(text.as_str()),
        Value::Object(map) => map.get("id").and_then(Value::as_str),
        _ => None,
    };
    match text.map(str::trim) {
        Some(code) if code.len() == 1 => code.chars().next().map(|c| c.to_ascii_uppercase()),
        _ => None,
    }
    .ok_or_else(|| NsError::invalid_value("orderStatus", value))
}

/// Which orderStatus changes a request may make: create as A or B, approve
/// A → B, cancel (C) while nothing is fulfilled. The rest follow from
/// fulfilments and closed lines.
fn set_order_status(record: &mut Record, code: char, creating: bool) -> Result<(), NsError> {
    if !matches!(
        record.kind,
        RecordType::SalesOrder | RecordType::ReturnAuthorization
    ) {
        return Ok(());
    }
    let current = record.status.unwrap_or('A');
    if current == code {
        return Ok(());
    }
    let nothing_done = record
        .lines
        .iter()
        .all(|line| line.quantity_fulfilled.is_zero());
    let allowed = match code {
        'A' | 'B' => creating || (current == 'A' && code == 'B'),
        'C' => matches!(current, 'A' | 'B') && nothing_done,
        _ => false,
    };
    if !allowed {
        return Err(NsError::user(format!(
            "Invalid Field Value {code} for the following field: orderStatus"
        ))
        .at("orderStatus"));
    }
    record.status = Some(code);
    Ok(())
}

fn merge_lines(
    store: &Store,
    config: &NetSuiteConfig,
    record: &mut Record,
    value: &Value,
    sublist: &str,
    replace: bool,
) -> Result<(), NsError> {
    let items = value
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| NsError::invalid_value(sublist, value))?;
    let mut touched = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("{sublist}.items[{index}]");
        let fields = as_object(item, &path)?;
        let existing = match fields.get("line") {
            Some(value) => {
                let number = line_number(value, &format!("{path}.line"))?;
                let position = record
                    .lines
                    .iter()
                    .position(|line| line.line == number)
                    .ok_or_else(|| NsError::invalid_value(&format!("{path}.line"), value))?;
                Some(position)
            }
            None => None,
        };
        let position = match existing {
            Some(position) => position,
            None => {
                let line = Line::new(record.next_line);
                record.next_line += config.line_step.max(1);
                record.lines.push(line);
                record.lines.len() - 1
            }
        };
        let kind = record.kind;
        let line = &mut record.lines[position];
        apply_line(store, config, kind, line, fields, &path, existing.is_none())?;
        touched.push(line.line);
    }
    if replace {
        if let Some(kept) = record
            .lines
            .iter()
            .find(|line| !touched.contains(&line.line) && !line.quantity_fulfilled.is_zero())
        {
            return Err(NsError::user(format!(
                "You cannot remove line {} because it has been fulfilled or received.",
                kept.line
            ))
            .at(sublist));
        }
        record.lines.retain(|line| touched.contains(&line.line));
    }
    Ok(())
}

fn apply_line(
    store: &Store,
    config: &NetSuiteConfig,
    kind: RecordType,
    line: &mut Line,
    fields: &Map<String, Value>,
    path: &str,
    is_new: bool,
) -> Result<(), NsError> {
    let adjustment = kind == RecordType::InventoryAdjustment;
    let (quantity_key, rate_key) = if adjustment {
        ("adjustQtyBy", "unitCost")
    } else {
        ("quantity", "rate")
    };
    match fields.get("item") {
        Some(item) => {
            line.item = Some(resolve_ref(
                store,
                RecordType::InventoryItem,
                item,
                &format!("{path}.item"),
            )?)
        }
        None if is_new => {
            return Err(NsError::user("Please enter value(s) for: Item").at(format!("{path}.item")))
        }
        None => {}
    }
    let quantity = optional_decimal(fields, quantity_key, &format!("{path}.{quantity_key}"))?;
    let rate = optional_decimal(fields, rate_key, &format!("{path}.{rate_key}"))?;
    let amount = optional_decimal(fields, "amount", &format!("{path}.amount"))?;
    if let Some(quantity) = quantity {
        let valid = if adjustment {
            !quantity.is_zero()
        } else {
            quantity > Decimal::ZERO
        };
        let below_done =
            !adjustment && quantity < line.quantity_fulfilled.max(line.quantity_returned);
        if !valid || below_done {
            return Err(NsError::invalid_value(
                &format!("{path}.{quantity_key}"),
                &fields[quantity_key],
            ));
        }
        line.quantity = quantity;
    } else if is_new {
        if adjustment {
            return Err(NsError::user("Please enter value(s) for: Adjust Qty. By")
                .at(format!("{path}.adjustQtyBy")));
        }
        line.quantity = Decimal::ONE;
    }
    match (rate, amount) {
        (Some(rate), _) => line.rate = rate,
        (None, Some(amount)) if !line.quantity.is_zero() => line.rate = amount / line.quantity,
        (None, _) if is_new => line.rate = default_rate(store, line.item, adjustment),
        _ => {}
    }
    if let Some(amount) = amount {
        line.amount = round_money(amount);
    } else if is_new || quantity.is_some() || rate.is_some() {
        line.amount = round_money(line.quantity * line.rate);
    }
    let tax_rate = optional_decimal(fields, "taxRate1", &format!("{path}.taxRate1"))?;
    if let Some(tax_rate) = tax_rate {
        line.tax_rate = tax_rate;
    }
    let discount_key = config.discount_line_field.as_str();
    // A tax amount set on the line stands until the line's money changes
    // without a new one: then NetSuite computes the tax from the rate again.
    match optional_decimal(fields, "tax1Amt", &format!("{path}.tax1Amt"))? {
        Some(tax) => line.tax_set = Some(round_money(tax)),
        None if quantity.is_some()
            || rate.is_some()
            || amount.is_some()
            || tax_rate.is_some()
            || fields.contains_key(discount_key) =>
        {
            line.tax_set = None
        }
        None => {}
    }
    if let Some(discount) =
        optional_decimal(fields, discount_key, &format!("{path}.{discount_key}"))?
    {
        line.discount = round_money(discount.abs());
    }
    for key in ["isclosed", "isClosed"] {
        if let Some(value) = fields.get(key) {
            line.is_closed = boolean(value, &format!("{path}.{key}"))?;
        }
    }
    for (key, value) in fields {
        if !OWNED_LINE_FIELDS.contains(&key.as_str()) && key != discount_key {
            line.extra.insert(key.clone(), value.clone());
        }
    }
    Ok(())
}

/// A new line's default price: the item's `basePrice` (sales) or `cost`
/// (adjustments), else zero.
fn default_rate(store: &Store, item: Option<u64>, adjustment: bool) -> Decimal {
    let key = if adjustment { "cost" } else { "basePrice" };
    item.and_then(|id| store.get(RecordType::InventoryItem, id))
        .and_then(|record| record.fields.get(key))
        .and_then(|value| decimal(value, key).ok())
        .unwrap_or(Decimal::ZERO)
}

/// Recomputes totals and the derived status after any change.
pub fn recompute(record: &mut Record) {
    match record.kind {
        RecordType::SalesOrder | RecordType::ReturnAuthorization | RecordType::CreditMemo => {
            let subtotal: Decimal = record.lines.iter().map(|line| line.amount).sum();
            let line_discounts: Decimal = record.lines.iter().map(|line| line.discount).sum();
            let header_discount = header_discount(record.discount_rate.as_deref(), subtotal);
            let tax_total: Decimal = record.lines.iter().map(Line::tax_amount).sum();
            let totals = &mut record.totals;
            totals.subtotal = subtotal;
            totals.discount_total = header_discount - line_discounts;
            totals.tax_total = tax_total;
            totals.total = subtotal + totals.discount_total + tax_total + totals.shipping_cost;
            totals.amount_remaining = totals.total - totals.applied;
        }
        RecordType::InventoryAdjustment => {
            record.totals.total = record.lines.iter().map(|line| line.amount).sum();
        }
        _ => {}
    }
    record.status = derived_status(record);
}

/// A header discount: "-10%" of the subtotal, or an amount (NetSuite shows
/// discounts as negative numbers; a positive one is read as a discount too).
/// It does not reduce tax here: a simplification, lines carry their own
/// discounts when tax must follow them.
fn header_discount(rate: Option<&str>, subtotal: Decimal) -> Decimal {
    let Some(rate) = rate else {
        return Decimal::ZERO;
    };
    let parsed = if let Some(percent) = rate.strip_suffix('%') {
        percent
            .trim()
            .parse::<Decimal>()
            .ok()
            .map(|p| round_money(subtotal * p.abs() / Decimal::ONE_HUNDRED))
    } else {
        rate.parse::<Decimal>()
            .ok()
            .map(|amount| round_money(amount.abs()))
    };
    -parsed.unwrap_or(Decimal::ZERO)
}

/// NetSuite's status rules. Sales orders: without Advanced Shipping an item
/// fulfilment also bills, so a fully fulfilled order is G Billed and F/E are
/// not reached. Return authorisations: partial receipt E, full receipt F,
/// fully credited G Refunded.
fn derived_status(record: &Record) -> Option<char> {
    let current = record.status?;
    match record.kind {
        RecordType::SalesOrder | RecordType::ReturnAuthorization => {
            if matches!(current, 'A' | 'C') {
                return Some(current);
            }
            if !record.lines.is_empty() && record.lines.iter().all(|line| line.is_closed) {
                return Some('H');
            }
            let open: Vec<&Line> = record.lines.iter().filter(|line| !line.is_closed).collect();
            let any_done = record
                .lines
                .iter()
                .any(|line| !line.quantity_fulfilled.is_zero());
            let all_done = open
                .iter()
                .all(|line| line.quantity_fulfilled >= line.quantity);
            if record.kind == RecordType::SalesOrder {
                Some(match (any_done, all_done) {
                    (true, true) => 'G',
                    (true, false) => 'D',
                    _ => 'B',
                })
            } else {
                let all_credited = open
                    .iter()
                    .all(|line| line.quantity_billed >= line.quantity);
                Some(if all_credited {
                    'G'
                } else if any_done && all_done {
                    'F'
                } else if any_done {
                    'E'
                } else {
                    'B'
                })
            }
        }
        RecordType::CreditMemo => Some(if record.totals.amount_remaining <= Decimal::ZERO {
            'B'
        } else {
            'A'
        }),
        _ => Some(current),
    }
}
