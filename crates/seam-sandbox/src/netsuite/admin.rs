//! The admin API: seeding items and customers, inspecting records, editing a
//! sales order as a customer-service rep would in the NetSuite UI, closing,
//! cancelling and archiving, governance settings and counts. The same
//! operations are typed methods on `NetSuiteSim` (for tests and the traffic
//! generator) and JSON routes under `/_admin`.
//!
//! "Archive" is inferred: NetSuite has no archive, so it is modelled as a
//! deletion (GET answers 404, transforms refuse) that the admin API still
//! shows.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

use super::build::{apply_update, blank, recompute};
use super::error::NsError;
use super::governance::Governance;
use super::render::record_json;
use super::types::{Record, RecordKey, RecordType};
use super::wire::{decimal, num, validate_external_id};
use super::{now, NetSuiteSim, SharedState};

fn de_decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    let value = Value::deserialize(deserializer)?;
    decimal(&value, "value").map_err(serde::de::Error::custom)
}

fn de_decimal_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(value) => decimal(&value, "value")
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// An inventory item to seed: the SKU becomes its externalId and itemId.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemSeed {
    pub sku: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Unit cost (values inventory adjustments).
    #[serde(default, deserialize_with = "de_decimal_opt")]
    pub cost: Option<Decimal>,
    /// Default sales price.
    #[serde(default, deserialize_with = "de_decimal_opt")]
    pub base_price: Option<Decimal>,
}

/// A customer to seed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerSeed {
    pub external_id: String,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// A change a customer-service rep makes to a sales order in the UI.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum OrderEdit {
    #[serde(rename_all = "camelCase")]
    SetQuantity {
        line: u32,
        #[serde(deserialize_with = "de_decimal")]
        quantity: Decimal,
    },
    #[serde(rename_all = "camelCase")]
    SetRate {
        line: u32,
        #[serde(deserialize_with = "de_decimal")]
        rate: Decimal,
    },
    /// Adds a line for the item with this SKU (externalId).
    #[serde(rename_all = "camelCase")]
    AddLine {
        sku: String,
        #[serde(deserialize_with = "de_decimal")]
        quantity: Decimal,
        #[serde(default, deserialize_with = "de_decimal_opt")]
        rate: Option<Decimal>,
        #[serde(default, deserialize_with = "de_decimal_opt")]
        tax_rate: Option<Decimal>,
    },
    #[serde(rename_all = "camelCase")]
    CloseLine { line: u32 },
}

impl OrderEdit {
    /// The sublist line this edit would PATCH.
    fn as_line(&self) -> Value {
        match self {
            OrderEdit::SetQuantity { line, quantity } => {
                json!({ "line": line, "quantity": num(*quantity) })
            }
            OrderEdit::SetRate { line, rate } => json!({ "line": line, "rate": num(*rate) }),
            OrderEdit::AddLine {
                sku,
                quantity,
                rate,
                tax_rate,
            } => {
                let mut body = json!({ "item": { "externalId": sku }, "quantity": num(*quantity) });
                if let (Some(rate), Some(map)) = (rate, body.as_object_mut()) {
                    map.insert("rate".into(), num(*rate));
                }
                if let (Some(tax_rate), Some(map)) = (tax_rate, body.as_object_mut()) {
                    map.insert("taxRate1".into(), num(*tax_rate));
                }
                body
            }
            OrderEdit::CloseLine { line } => json!({ "line": line, "isclosed": true }),
        }
    }
}

impl NetSuiteSim {
    /// Seeds (or updates) an inventory item; returns its internal id.
    pub fn seed_item(&self, seed: &ItemSeed) -> Result<u64, NsError> {
        validate_external_id(&seed.sku)?;
        let mut state = self.shared.lock();
        let store = &mut state.store;
        let key = RecordKey::External(seed.sku.clone());
        let mut record = match store.resolve(RecordType::InventoryItem, &key) {
            Some(id) => store
                .get(RecordType::InventoryItem, id)
                .cloned()
                .ok_or_else(NsError::not_found)?,
            None => blank(store, RecordType::InventoryItem, now()),
        };
        record.external_id = Some(seed.sku.clone());
        record
            .fields
            .insert("itemId".into(), Value::String(seed.sku.clone()));
        let name = seed
            .display_name
            .clone()
            .unwrap_or_else(|| seed.sku.clone());
        record
            .fields
            .insert("displayName".into(), Value::String(name));
        if let Some(cost) = seed.cost {
            record.fields.insert("cost".into(), num(cost));
        }
        if let Some(price) = seed.base_price {
            record.fields.insert("basePrice".into(), num(price));
        }
        let id = record.id;
        store.insert(record);
        Ok(id)
    }

    /// Seeds (or updates) a customer; returns its internal id.
    pub fn seed_customer(&self, seed: &CustomerSeed) -> Result<u64, NsError> {
        validate_external_id(&seed.external_id)?;
        let mut state = self.shared.lock();
        let store = &mut state.store;
        let key = RecordKey::External(seed.external_id.clone());
        let mut record = match store.resolve(RecordType::Customer, &key) {
            Some(id) => store
                .get(RecordType::Customer, id)
                .cloned()
                .ok_or_else(NsError::not_found)?,
            None => blank(store, RecordType::Customer, now()),
        };
        record.external_id = Some(seed.external_id.clone());
        let name = seed
            .company_name
            .clone()
            .unwrap_or_else(|| seed.external_id.clone());
        record
            .fields
            .insert("companyName".into(), Value::String(name));
        if let Some(email) = &seed.email {
            record
                .fields
                .insert("email".into(), Value::String(email.clone()));
        }
        let id = record.id;
        store.insert(record);
        Ok(id)
    }

    /// A record (live or archived) and whether it is archived.
    pub fn record(&self, kind: RecordType, key: &RecordKey) -> Option<(Record, bool)> {
        let state = self.shared.lock();
        state
            .store
            .find_any(kind, key)
            .map(|(record, archived)| (record.clone(), archived))
    }

    /// A record as `GET ...?expandSubResources=true` shows it, plus `archived`.
    pub fn record_json(&self, kind: RecordType, key: &RecordKey) -> Option<Value> {
        let state = self.shared.lock();
        let (record, archived) = state.store.find_any(kind, key)?;
        let mut body = record_json(
            &state.store,
            &self.shared.config,
            &state.base_url,
            record,
            true,
        );
        if let Some(map) = body.as_object_mut() {
            map.insert("archived".into(), Value::Bool(archived));
        }
        Some(body)
    }

    /// Live records of a type, by internal id.
    pub fn records(&self, kind: RecordType) -> Vec<Record> {
        self.shared.lock().store.records(kind).cloned().collect()
    }

    /// Archived (deleted) records of a type.
    pub fn archived_records(&self, kind: RecordType) -> Vec<Record> {
        self.shared
            .lock()
            .store
            .archived_records(kind)
            .cloned()
            .collect()
    }

    /// Live records per type (keyed by REST name), for invariant checks.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let state = self.shared.lock();
        RecordType::ALL
            .iter()
            .map(|kind| {
                (
                    kind.path_name().to_string(),
                    state.store.records(*kind).count(),
                )
            })
            .collect()
    }

    /// Edits a sales order as a rep would in the UI; lastModifiedDate moves.
    pub fn edit_order(&self, key: &RecordKey, edits: &[OrderEdit]) -> Result<(), NsError> {
        let lines: Vec<Value> = edits.iter().map(OrderEdit::as_line).collect();
        let mut patch = Map::new();
        patch.insert("item".into(), json!({ "items": lines }));
        self.modify(RecordType::SalesOrder, key, |_| Ok(()), &patch)
    }

    /// Changes a record as a script or a direct database fix would: no
    /// validation, no recompute, and lastModifiedDate does not move, so no
    /// poll for modified records sees it (reconciliation tests plant drift
    /// with it).
    pub fn alter_quietly(
        &self,
        kind: RecordType,
        key: &RecordKey,
        change: impl FnOnce(&mut Record),
    ) -> Result<(), NsError> {
        let mut state = self.shared.lock();
        let id = state
            .store
            .resolve(kind, key)
            .ok_or_else(NsError::not_found)?;
        let record = state
            .store
            .get_mut(kind, id)
            .ok_or_else(NsError::not_found)?;
        change(record);
        Ok(())
    }

    /// Closes every line of a sales order (status H Closed).
    pub fn close_order(&self, key: &RecordKey) -> Result<(), NsError> {
        self.modify(
            RecordType::SalesOrder,
            key,
            |record| {
                for line in &mut record.lines {
                    line.is_closed = true;
                }
                Ok(())
            },
            &Map::new(),
        )
    }

    /// Cancels a sales order that nothing was fulfilled from (status C).
    pub fn cancel_order(&self, key: &RecordKey) -> Result<(), NsError> {
        let mut patch = Map::new();
        patch.insert("orderStatus".into(), json!({ "id": "C" }));
        self.modify(RecordType::SalesOrder, key, |_| Ok(()), &patch)
    }

    /// Archives (deletes) a record whatever depends on it.
    pub fn archive(&self, kind: RecordType, key: &RecordKey) -> Result<(), NsError> {
        let mut state = self.shared.lock();
        let id = state
            .store
            .resolve(kind, key)
            .ok_or_else(NsError::not_found)?;
        state.store.archive(kind, id)
    }

    pub fn set_concurrency_limit(&self, limit: usize) {
        self.shared.lock().governance.limit = limit;
    }

    /// Keeps every admitted REST request in flight this long (to fill slots).
    pub fn set_request_hold(&self, hold: Duration) {
        self.shared.lock().governance.hold = hold;
    }

    pub fn governance(&self) -> Governance {
        self.shared.lock().governance.clone()
    }

    /// Expires every issued access token (the static token stays valid).
    pub fn expire_tokens(&self) {
        self.shared.lock().tokens.clear();
    }

    fn modify(
        &self,
        kind: RecordType,
        key: &RecordKey,
        change: impl FnOnce(&mut Record) -> Result<(), NsError>,
        patch: &Map<String, Value>,
    ) -> Result<(), NsError> {
        let mut state = self.shared.lock();
        let id = state
            .store
            .resolve(kind, key)
            .ok_or_else(NsError::not_found)?;
        let mut record = state
            .store
            .get(kind, id)
            .cloned()
            .ok_or_else(NsError::not_found)?;
        change(&mut record)?;
        apply_update(
            &state.store,
            &self.shared.config,
            &mut record,
            patch,
            false,
            false,
        )?;
        recompute(&mut record);
        record.last_modified = now();
        if let Some(slot) = state.store.get_mut(kind, id) {
            *slot = record;
        }
        Ok(())
    }
}

fn sim(shared: SharedState) -> NetSuiteSim {
    // The fault plan is not needed by admin routes; the server owns it.
    NetSuiteSim {
        shared,
        faults: crate::faults::Faults::new(0),
    }
}

fn kind_of(name: &str) -> Result<RecordType, NsError> {
    RecordType::from_path(name).ok_or_else(NsError::not_found)
}

fn key_of(segment: &str) -> Result<RecordKey, NsError> {
    RecordKey::parse(segment).ok_or_else(NsError::not_found)
}

async fn seed_items(
    State(shared): State<SharedState>,
    Json(items): Json<Vec<ItemSeed>>,
) -> Result<Json<Value>, NsError> {
    let sim = sim(shared);
    let mut ids = Vec::new();
    for item in &items {
        ids.push(json!({ "id": sim.seed_item(item)?.to_string(), "externalId": item.sku }));
    }
    Ok(Json(Value::Array(ids)))
}

async fn seed_customers(
    State(shared): State<SharedState>,
    Json(customers): Json<Vec<CustomerSeed>>,
) -> Result<Json<Value>, NsError> {
    let sim = sim(shared);
    let mut ids = Vec::new();
    for customer in &customers {
        let id = sim.seed_customer(customer)?;
        ids.push(json!({ "id": id.to_string(), "externalId": customer.external_id }));
    }
    Ok(Json(Value::Array(ids)))
}

async fn list(
    State(shared): State<SharedState>,
    Path(type_name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, NsError> {
    let kind = kind_of(&type_name)?;
    let sim = sim(shared);
    let archived = params.get("archived").is_some_and(|v| v == "true");
    let records = if archived {
        sim.archived_records(kind)
    } else {
        sim.records(kind)
    };
    let bodies: Vec<Value> = records
        .iter()
        .filter_map(|record| sim.record_json(kind, &RecordKey::Id(record.id)))
        .collect();
    Ok(Json(Value::Array(bodies)))
}

async fn inspect(
    State(shared): State<SharedState>,
    Path((type_name, key)): Path<(String, String)>,
) -> Result<Json<Value>, NsError> {
    let kind = kind_of(&type_name)?;
    sim(shared)
        .record_json(kind, &key_of(&key)?)
        .map(Json)
        .ok_or_else(NsError::not_found)
}

async fn archive(
    State(shared): State<SharedState>,
    Path((type_name, key)): Path<(String, String)>,
) -> Result<Response, NsError> {
    sim(shared).archive(kind_of(&type_name)?, &key_of(&key)?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct EditRequest {
    edits: Vec<OrderEdit>,
}

async fn edit(
    State(shared): State<SharedState>,
    Path(key): Path<String>,
    Json(request): Json<EditRequest>,
) -> Result<Response, NsError> {
    sim(shared).edit_order(&key_of(&key)?, &request.edits)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn close(
    State(shared): State<SharedState>,
    Path(key): Path<String>,
) -> Result<Response, NsError> {
    sim(shared).close_order(&key_of(&key)?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn cancel(
    State(shared): State<SharedState>,
    Path(key): Path<String>,
) -> Result<Response, NsError> {
    sim(shared).cancel_order(&key_of(&key)?)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn counts(State(shared): State<SharedState>) -> Json<BTreeMap<String, usize>> {
    Json(sim(shared).counts())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GovernanceRequest {
    limit: Option<usize>,
    hold_ms: Option<u64>,
}

fn governance_json(governance: &Governance) -> Value {
    json!({
        "limit": governance.limit,
        "inFlight": governance.in_flight,
        "holdMs": u64::try_from(governance.hold.as_millis()).unwrap_or(u64::MAX),
        "refused": governance.refused,
    })
}

async fn get_governance(State(shared): State<SharedState>) -> Json<Value> {
    Json(governance_json(&sim(shared).governance()))
}

async fn set_governance(
    State(shared): State<SharedState>,
    Json(request): Json<GovernanceRequest>,
) -> Json<Value> {
    let sim = sim(shared);
    if let Some(limit) = request.limit {
        sim.set_concurrency_limit(limit);
    }
    if let Some(hold) = request.hold_ms {
        sim.set_request_hold(Duration::from_millis(hold));
    }
    Json(governance_json(&sim.governance()))
}

async fn expire_tokens(State(shared): State<SharedState>) -> StatusCode {
    sim(shared).expire_tokens();
    StatusCode::NO_CONTENT
}

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/_admin/seed/items", post(seed_items))
        .route("/_admin/seed/customers", post(seed_customers))
        .route("/_admin/records/{type}", get(list))
        .route("/_admin/records/{type}/{key}", get(inspect))
        .route("/_admin/records/{type}/{key}/archive", post(archive))
        .route("/_admin/orders/{key}/edit", post(edit))
        .route("/_admin/orders/{key}/close", post(close))
        .route("/_admin/orders/{key}/cancel", post(cancel))
        .route("/_admin/counts", get(counts))
        .route(
            "/_admin/governance",
            get(get_governance).post(set_governance),
        )
        .route("/_admin/tokens/expire", post(expire_tokens))
}
