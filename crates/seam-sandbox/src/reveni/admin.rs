//! The simulator's admin API under `/_admin` (not Reveni's): create return
//! requests as a shopper would, move them through logistics states, accept
//! or reject them as the merchant would in Reveni's dashboard, cancel, and
//! inspect returns, subscriptions, events and deliveries.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::returns::NewReturn;
use super::sim::ReveniSim;
use super::vendor::{Return, ReturnStatus, ReveniError, ValidationItem};

#[derive(Deserialize)]
struct StatusChange {
    status: ReturnStatus,
}

#[derive(Deserialize)]
struct Rejection {
    reject_reason: String,
    #[serde(default)]
    reject_reason_text: Option<String>,
}

#[derive(Deserialize)]
struct Validation {
    items: Vec<ValidationItem>,
}

pub fn routes(sim: ReveniSim) -> Router {
    Router::new()
        .route("/_admin/returns", get(list_returns).post(create_return))
        .route("/_admin/returns/{id}", get(get_return))
        .route("/_admin/returns/{id}/status", post(set_status))
        .route("/_admin/returns/{id}/validate", post(validate))
        .route("/_admin/returns/{id}/accept", post(accept))
        .route("/_admin/returns/{id}/reject", post(reject))
        .route("/_admin/returns/{id}/cancel", post(cancel))
        .route("/_admin/webhooks", get(webhooks))
        .route("/_admin/events", get(events))
        .route("/_admin/deliveries", get(deliveries))
        .with_state(sim)
}

fn reply(result: Result<Return, ReveniError>) -> Response {
    match result {
        Ok(changed) => Json(changed).into_response(),
        Err(error) => (error.status_code(), Json(error)).into_response(),
    }
}

fn parse_id(raw: &str) -> Result<Uuid, ReveniError> {
    Uuid::parse_str(raw).map_err(|_| ReveniError::return_not_found())
}

async fn create_return(State(sim): State<ReveniSim>, Json(new): Json<NewReturn>) -> Response {
    match sim.create_return(new) {
        Ok(created) => (StatusCode::CREATED, Json(created)).into_response(),
        Err(error) => (error.status_code(), Json(error)).into_response(),
    }
}

async fn list_returns(State(sim): State<ReveniSim>) -> Json<Vec<Return>> {
    Json(sim.returns())
}

async fn get_return(State(sim): State<ReveniSim>, Path(id): Path<String>) -> Response {
    reply(parse_id(&id).and_then(|id| sim.get_return(id).ok_or_else(ReveniError::return_not_found)))
}

async fn set_status(
    State(sim): State<ReveniSim>,
    Path(id): Path<String>,
    Json(change): Json<StatusChange>,
) -> Response {
    reply(parse_id(&id).and_then(|id| sim.set_status(id, change.status)))
}

async fn validate(
    State(sim): State<ReveniSim>,
    Path(id): Path<String>,
    Json(validation): Json<Validation>,
) -> Response {
    reply(parse_id(&id).and_then(|id| sim.validate(id, &validation.items)))
}

async fn accept(State(sim): State<ReveniSim>, Path(id): Path<String>) -> Response {
    reply(parse_id(&id).and_then(|id| sim.accept_all(id)))
}

async fn reject(
    State(sim): State<ReveniSim>,
    Path(id): Path<String>,
    Json(rejection): Json<Rejection>,
) -> Response {
    reply(
        parse_id(&id).and_then(|id| {
            sim.reject_all(id, &rejection.reject_reason, rejection.reject_reason_text)
        }),
    )
}

async fn cancel(State(sim): State<ReveniSim>, Path(id): Path<String>) -> Response {
    reply(parse_id(&id).and_then(|id| sim.cancel(id)))
}

async fn webhooks(State(sim): State<ReveniSim>) -> Response {
    Json(sim.webhooks()).into_response()
}

async fn events(State(sim): State<ReveniSim>) -> Response {
    Json(sim.events()).into_response()
}

async fn deliveries(State(sim): State<ReveniSim>) -> Response {
    Json(sim.deliveries()).into_response()
}
