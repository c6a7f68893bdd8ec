//! The simulator's admin API under `/_admin` (ours, JSON, snake_case, no
//! auth): seed, inspect, move stock, dispatch, receive and grade returns,
//! publish stock files, register the webhook. Each route is a thin wrapper
//! over the same method of `WarehouseSim`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::errors::WarehouseError;
use super::model::{
    CatalogueItem, DispatchRequest, MovementRequest, ReturnRequest, Seed, ServiceCodes, StockLevel,
    WebhookTarget,
};
use super::sim::WarehouseSim;
use super::vendor::DEFAULT_FEED_PAGE;

pub(crate) fn routes(sim: WarehouseSim) -> Router {
    Router::new()
        .route("/_admin/setup", post(setup))
        .route("/_admin/catalogue", get(catalogue).post(add_catalogue))
        .route(
            "/_admin/service-codes",
            get(service_codes).post(set_service_codes),
        )
        .route("/_admin/stock", get(all_stock).post(set_stock))
        .route("/_admin/stock/totals", get(status_totals))
        .route("/_admin/stock/move", post(move_stock))
        .route("/_admin/stock/movements", post(move_many))
        .route(
            "/_admin/stock/files",
            get(stock_files).post(publish_stock_file),
        )
        .route("/_admin/stock/{sku}", get(stock_of))
        .route("/_admin/orders", get(orders))
        .route("/_admin/orders/{order_number}", get(order))
        .route("/_admin/orders/{order_number}/dispatch", post(dispatch))
        .route("/_admin/returns", get(returns).post(receive_return))
        .route("/_admin/returns/{return_id}", get(return_record))
        .route("/_admin/returns/{return_id}/grade", post(grade_return))
        .route("/_admin/messages", get(messages))
        .route("/_admin/webhook", get(webhook).post(register_webhook))
        .route("/_admin/webhook/deliveries", get(webhook_deliveries))
        .with_state(sim)
}

type AdminResult = Result<Response, WarehouseError>;

fn ok(value: impl serde::Serialize) -> AdminResult {
    Ok(Json(value).into_response())
}

async fn setup(State(sim): State<WarehouseSim>, Json(seed): Json<Seed>) -> AdminResult {
    sim.seed(seed)?;
    ok(json!({ "ok": true }))
}

async fn catalogue(State(sim): State<WarehouseSim>) -> AdminResult {
    ok(sim.catalogue())
}

#[derive(Deserialize)]
struct CatalogueBody {
    items: Vec<CatalogueItem>,
}

async fn add_catalogue(
    State(sim): State<WarehouseSim>,
    Json(body): Json<CatalogueBody>,
) -> AdminResult {
    let count = body.items.len();
    sim.add_catalogue_items(body.items);
    ok(json!({ "added": count }))
}

async fn service_codes(State(sim): State<WarehouseSim>) -> AdminResult {
    ok(sim.service_codes())
}

async fn set_service_codes(
    State(sim): State<WarehouseSim>,
    Json(codes): Json<ServiceCodes>,
) -> AdminResult {
    sim.set_service_codes(codes);
    ok(sim.service_codes())
}

async fn all_stock(State(sim): State<WarehouseSim>) -> AdminResult {
    ok(sim.all_stock())
}

async fn stock_of(State(sim): State<WarehouseSim>, Path(sku): Path<String>) -> AdminResult {
    ok(sim.stock(&sku))
}

async fn status_totals(State(sim): State<WarehouseSim>) -> AdminResult {
    ok(sim.status_totals())
}

#[derive(Deserialize)]
struct SetStockBody {
    levels: Vec<StockLevel>,
    /// Announce each change as a movement from/to `Stock Adjustment`.
    #[serde(default)]
    emit: bool,
}

async fn set_stock(State(sim): State<WarehouseSim>, Json(body): Json<SetStockBody>) -> AdminResult {
    for level in &body.levels {
        if body.emit {
            sim.adjust_stock(&level.sku, &level.status, level.quantity)?;
        } else {
            sim.set_stock(&level.sku, &level.status, level.quantity)?;
        }
    }
    ok(body
        .levels
        .iter()
        .map(|level| sim.stock(&level.sku))
        .collect::<Vec<_>>())
}

async fn move_stock(
    State(sim): State<WarehouseSim>,
    Json(body): Json<MovementRequest>,
) -> AdminResult {
    let sequence = sim.move_stock(&body.sku, &body.from, &body.to, body.quantity)?;
    ok(json!({ "sequence": sequence, "stock": sim.stock(&body.sku) }))
}

#[derive(Deserialize)]
struct MovementsBody {
    movements: Vec<MovementRequest>,
}

async fn move_many(
    State(sim): State<WarehouseSim>,
    Json(body): Json<MovementsBody>,
) -> AdminResult {
    ok(sim.move_many(&body.movements))
}

async fn stock_files(State(sim): State<WarehouseSim>) -> AdminResult {
    ok(sim.stock_files())
}

async fn publish_stock_file(State(sim): State<WarehouseSim>) -> AdminResult {
    ok(sim.publish_stock_file()?)
}

async fn orders(State(sim): State<WarehouseSim>) -> AdminResult {
    ok(sim.orders())
}

async fn order(State(sim): State<WarehouseSim>, Path(order_number): Path<String>) -> AdminResult {
    ok(sim
        .order(&order_number)
        .ok_or(WarehouseError::UnknownOrder(order_number))?)
}

async fn dispatch(
    State(sim): State<WarehouseSim>,
    Path(order_number): Path<String>,
    Json(body): Json<DispatchRequest>,
) -> AdminResult {
    ok(sim.dispatch(&order_number, &body)?)
}

#[derive(Deserialize)]
struct ReturnBody {
    #[serde(flatten)]
    request: ReturnRequest,
    /// Grade at once instead of leaving the units in `Pending Inspection`.
    #[serde(default)]
    grade_now: bool,
}

async fn receive_return(
    State(sim): State<WarehouseSim>,
    Json(body): Json<ReturnBody>,
) -> AdminResult {
    let record = sim.receive_return(&body.request)?;
    if body.grade_now {
        sim.grade_return(&record.return_id)?;
    }
    ok(sim.return_record(&record.return_id).unwrap_or(record))
}

async fn returns(State(sim): State<WarehouseSim>) -> AdminResult {
    ok(sim.returns())
}

async fn return_record(
    State(sim): State<WarehouseSim>,
    Path(return_id): Path<String>,
) -> AdminResult {
    ok(sim
        .return_record(&return_id)
        .ok_or(WarehouseError::UnknownReturn(return_id))?)
}

async fn grade_return(
    State(sim): State<WarehouseSim>,
    Path(return_id): Path<String>,
) -> AdminResult {
    ok(sim.grade_return(&return_id)?)
}

async fn messages(
    State(sim): State<WarehouseSim>,
    Query(query): Query<HashMap<String, String>>,
) -> AdminResult {
    let after = query
        .get("after")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let limit = query
        .get("limit")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(DEFAULT_FEED_PAGE);
    ok(sim.messages_after(after, limit))
}

#[derive(Deserialize)]
struct WebhookBody {
    #[serde(flatten)]
    target: WebhookTarget,
    /// Deliver messages after this cursor (default: only new ones).
    #[serde(default)]
    after: Option<u64>,
}

async fn register_webhook(
    State(sim): State<WarehouseSim>,
    Json(body): Json<WebhookBody>,
) -> AdminResult {
    sim.register_webhook(body.target, body.after);
    ok(json!({ "ok": true }))
}

async fn webhook(State(sim): State<WarehouseSim>) -> AdminResult {
    // The secret is not echoed back.
    ok(json!({ "url": sim.webhook().map(|target| target.url) }))
}

async fn webhook_deliveries(State(sim): State<WarehouseSim>) -> AdminResult {
    ok(sim.webhook_deliveries())
}
