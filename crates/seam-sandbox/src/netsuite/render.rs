//! Records as the REST API returns them: `links`, string ids, references as
//! `{id, refName}`, computed totals as JSON numbers, sublists as links unless
//! `expandSubResources=true`.

use serde_json::{json, Map, Value};

use super::config::NetSuiteConfig;
use super::store::Store;
use super::types::{status_name, Line, Record, RecordType};
use super::wire::{num, timestamp};

pub fn record_url(base: &str, kind: RecordType, id: u64) -> String {
    format!("{base}/services/rest/record/v1/{}/{id}", kind.path_name())
}

fn links(href: String) -> Value {
    json!([{ "rel": "self", "href": href }])
}

fn reference(store: &Store, base: &str, kind: RecordType, id: u64) -> Value {
    let name = store.get(kind, id).map(display_name).unwrap_or_default();
    json!({ "id": id.to_string(), "refName": name, "links": links(record_url(base, kind, id)) })
}

fn display_name(record: &Record) -> String {
    for key in ["itemId", "companyName", "entityId"] {
        if let Some(Value::String(name)) = record.fields.get(key) {
            return name.clone();
        }
    }
    record
        .tran_id
        .clone()
        .unwrap_or_else(|| record.id.to_string())
}

/// The record body of `GET /<type>/<id>`.
pub fn record_json(
    store: &Store,
    config: &NetSuiteConfig,
    base: &str,
    record: &Record,
    expand: bool,
) -> Value {
    let url = record_url(base, record.kind, record.id);
    let mut body: Map<String, Value> = record.fields.clone();
    body.insert("links".into(), links(url.clone()));
    body.insert("id".into(), Value::String(record.id.to_string()));
    if let Some(external) = &record.external_id {
        body.insert("externalId".into(), Value::String(external.clone()));
    }
    if let Some(tran_id) = &record.tran_id {
        body.insert("tranId".into(), Value::String(tran_id.clone()));
    }
    body.insert(
        "createdDate".into(),
        Value::String(timestamp(record.created)),
    );
    body.insert(
        "lastModifiedDate".into(),
        Value::String(timestamp(record.last_modified)),
    );
    if let Some(entity) = record.entity {
        body.insert(
            "entity".into(),
            reference(store, base, RecordType::Customer, entity),
        );
    }
    if let Some((kind, id)) = record.created_from {
        body.insert("createdFrom".into(), reference(store, base, kind, id));
    }
    if let Some(code) = record.status {
        let name = status_name(record.kind, code);
        let key = match record.kind {
            RecordType::SalesOrder | RecordType::ReturnAuthorization => Some("orderStatus"),
            RecordType::ItemFulfillment => Some("shipStatus"),
            _ => None,
        };
        if let Some(key) = key {
            body.insert(
                key.into(),
                json!({ "id": code.to_string(), "refName": name }),
            );
        }
        body.insert("status".into(), json!({ "id": name, "refName": name }));
    }
    let totals = &record.totals;
    match record.kind {
        RecordType::SalesOrder | RecordType::ReturnAuthorization | RecordType::CreditMemo => {
            body.insert("subtotal".into(), num(totals.subtotal));
            body.insert("discountTotal".into(), num(totals.discount_total));
            body.insert("taxTotal".into(), num(totals.tax_total));
            body.insert("shippingCost".into(), num(totals.shipping_cost));
            body.insert("total".into(), num(totals.total));
            if let Some(rate) = &record.discount_rate {
                body.insert("discountRate".into(), Value::String(rate.clone()));
            }
            if record.kind == RecordType::CreditMemo {
                body.insert("amountRemaining".into(), num(totals.amount_remaining));
                body.insert("applied".into(), num(totals.applied));
            }
        }
        RecordType::InventoryAdjustment => {
            body.insert("estimatedTotalValue".into(), num(totals.total));
        }
        RecordType::CustomerRefund => {
            body.insert("total".into(), num(totals.total));
        }
        _ => {}
    }
    if let Some(sublist) = record.kind.sublist() {
        let sublist_url = format!("{url}/{sublist}");
        let value = if expand {
            sublist_json(store, config, base, record, sublist)
        } else {
            json!({ "links": links(sublist_url) })
        };
        body.insert(sublist.into(), value);
    }
    Value::Object(body)
}

/// The expanded sublist (`GET /<type>/<id>/item`, or with expandSubResources).
pub fn sublist_json(
    store: &Store,
    config: &NetSuiteConfig,
    base: &str,
    record: &Record,
    sublist: &str,
) -> Value {
    let url = format!("{}/{sublist}", record_url(base, record.kind, record.id));
    let items: Vec<Value> = if record.kind == RecordType::CustomerRefund {
        record
            .created_from
            .map(|(kind, id)| {
                vec![json!({
                    "links": [],
                    "apply": true,
                    "doc": reference(store, base, kind, id),
                    "amount": num(record.totals.total),
                })]
            })
            .unwrap_or_default()
    } else {
        record
            .lines
            .iter()
            .map(|line| line_json(store, config, base, record, line, &url))
            .collect()
    };
    json!({
        "links": links(url),
        "count": items.len(),
        "hasMore": false,
        "items": items,
        "offset": 0,
        "totalResults": items.len(),
    })
}

pub fn line_json(
    store: &Store,
    config: &NetSuiteConfig,
    base: &str,
    record: &Record,
    line: &Line,
    sublist_url: &str,
) -> Value {
    let mut body: Map<String, Value> = line.extra.clone();
    body.insert(
        "links".into(),
        links(format!("{sublist_url}/{}", line.line)),
    );
    body.insert("line".into(), json!(line.line));
    if let Some(item) = line.item {
        body.insert(
            "item".into(),
            reference(store, base, RecordType::InventoryItem, item),
        );
    }
    if let Some(order_line) = line.order_line {
        body.insert("orderLine".into(), json!(order_line));
    }
    match record.kind {
        RecordType::InventoryAdjustment => {
            body.insert("adjustQtyBy".into(), num(line.quantity));
            body.insert("unitCost".into(), num(line.rate));
            body.insert("amount".into(), num(line.amount));
        }
        RecordType::ItemFulfillment | RecordType::ItemReceipt => {
            body.insert("quantity".into(), num(line.quantity));
            body.insert("itemreceive".into(), Value::Bool(true));
        }
        _ => {
            body.insert("quantity".into(), num(line.quantity));
            body.insert("rate".into(), num(line.rate));
            body.insert("amount".into(), num(line.amount));
            body.insert("taxRate1".into(), num(line.tax_rate));
            body.insert("tax1Amt".into(), num(line.tax_amount()));
            body.insert(config.discount_line_field.clone(), num(line.discount));
            body.insert("isclosed".into(), Value::Bool(line.is_closed));
            match record.kind {
                RecordType::SalesOrder => {
                    body.insert("quantityFulfilled".into(), num(line.quantity_fulfilled));
                    body.insert("quantityBilled".into(), num(line.quantity_billed));
                }
                RecordType::ReturnAuthorization => {
                    body.insert("quantityReceived".into(), num(line.quantity_fulfilled));
                    body.insert("quantityBilled".into(), num(line.quantity_billed));
                }
                _ => {}
            }
        }
    }
    Value::Object(body)
}

/// `GET /<type>` collection page.
pub fn collection_json(
    base: &str,
    kind: RecordType,
    ids: &[u64],
    offset: usize,
    limit: usize,
    query: Option<&str>,
) -> Value {
    let total = ids.len();
    let page: Vec<Value> = ids
        .iter()
        .skip(offset)
        .take(limit)
        .map(|id| json!({ "id": id.to_string(), "links": links(record_url(base, kind, *id)) }))
        .collect();
    let has_more = offset + page.len() < total;
    let page_url = |offset: usize| {
        let mut url = format!(
            "{base}/services/rest/record/v1/{}?limit={limit}&offset={offset}",
            kind.path_name()
        );
        if let Some(query) = query {
            url.push('&');
            url.push_str(&serde_urlencoded::to_string([("q", query)]).unwrap_or_default());
        }
        url
    };
    let mut page_links = vec![json!({ "rel": "self", "href": page_url(offset) })];
    if has_more {
        page_links.push(json!({ "rel": "next", "href": page_url(offset + limit) }));
    }
    json!({
        "links": page_links,
        "count": page.len(),
        "hasMore": has_more,
        "items": page,
        "offset": offset,
        "totalResults": total,
    })
}
