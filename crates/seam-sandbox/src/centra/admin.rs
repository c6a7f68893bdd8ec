//! Admin API under `/_admin` (JSON): seed the catalogue, place and cancel
//! orders as checkout/AMS would, inspect orders, stock, events and stock
//! mutations, fail captures, register the webhook, set rate limits, add tokens.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{
    CatalogueSeed, CentraSim, NewOrder, RateLimitConfig, TokenConfig, WebhookTarget,
    DEFAULT_INTEGRATION,
};

pub fn router(sim: CentraSim) -> Router {
    Router::new()
        .route("/_admin/catalogue", post(seed_catalogue))
        .route("/_admin/orders", post(create_order))
        .route("/_admin/orders/{number}", get(get_order))
        .route("/_admin/orders/{number}/cancel", post(cancel_order))
        .route("/_admin/stock/{sku}", get(stock_of))
        .route("/_admin/events", get(events))
        .route("/_admin/stock-mutations", get(stock_mutations))
        .route("/_admin/captures/fail-next", post(fail_captures))
        .route("/_admin/webhook", post(set_webhook))
        .route("/_admin/webhook/deliveries", get(deliveries))
        .route(
            "/_admin/rate-limits",
            get(get_rate_limits).post(set_rate_limits),
        )
        .route("/_admin/tokens", post(add_token))
        .with_state(sim)
}

fn bad(message: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "error": message })),
    )
        .into_response()
}

async fn seed_catalogue(State(sim): State<CentraSim>, Json(seed): Json<CatalogueSeed>) -> Response {
    match sim.seed_catalogue(&seed) {
        Ok(out) => Json(out).into_response(),
        Err(e) => bad(e),
    }
}

async fn create_order(State(sim): State<CentraSim>, Json(order): Json<NewOrder>) -> Response {
    match sim.create_order(order) {
        Ok(created) => (StatusCode::CREATED, Json(created)).into_response(),
        Err(e) => bad(e),
    }
}

async fn get_order(State(sim): State<CentraSim>, Path(number): Path<i32>) -> Response {
    match sim.order(number) {
        Some(order) => Json(order).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "order not found" })),
        )
            .into_response(),
    }
}

async fn cancel_order(State(sim): State<CentraSim>, Path(number): Path<i32>) -> Response {
    match sim.cancel_order(number) {
        Ok(()) => Json(json!({ "cancelled": number })).into_response(),
        Err(e) => bad(e),
    }
}

async fn stock_of(State(sim): State<CentraSim>, Path(sku): Path<String>) -> Response {
    match sim.stock_of(&sku) {
        Some(view) => Json(view).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "unknown SKU" })),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct EventsQuery {
    integration: Option<String>,
}

async fn events(State(sim): State<CentraSim>, Query(q): Query<EventsQuery>) -> Response {
    let integration = q
        .integration
        .unwrap_or_else(|| DEFAULT_INTEGRATION.to_string());
    Json(sim.event_queue(&integration)).into_response()
}

async fn stock_mutations(State(sim): State<CentraSim>) -> Response {
    Json(sim.mutations_log()).into_response()
}

#[derive(Deserialize)]
struct FailNext {
    count: u32,
}

async fn fail_captures(State(sim): State<CentraSim>, Json(body): Json<FailNext>) -> Response {
    sim.fail_next_captures(body.count);
    Json(json!({ "failing_captures": body.count })).into_response()
}

async fn set_webhook(
    State(sim): State<CentraSim>,
    Json(target): Json<Option<WebhookTarget>>,
) -> Response {
    sim.set_webhook(target.clone());
    Json(target).into_response()
}

async fn deliveries(State(sim): State<CentraSim>) -> Response {
    Json(sim.webhook_deliveries()).into_response()
}

async fn get_rate_limits(State(sim): State<CentraSim>) -> Response {
    Json(sim.rate_limits()).into_response()
}

async fn set_rate_limits(
    State(sim): State<CentraSim>,
    Json(config): Json<RateLimitConfig>,
) -> Response {
    sim.set_rate_limits(config);
    Json(config).into_response()
}

async fn add_token(State(sim): State<CentraSim>, Json(token): Json<TokenConfig>) -> Response {
    sim.add_token(token.clone());
    Json(json!({ "token": token.token, "integration": token.integration })).into_response()
}
