//! Adyen's vendor routes: the Checkout API v71 modifications, with
//! `X-API-Key` authentication and `Idempotency-Key` echoing.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::ledger::ModificationKind;
use super::sim::AdyenSim;
use super::vendor::{AdyenError, API_KEY_HEADER, API_PREFIX, IDEMPOTENCY_KEY_HEADER};

pub fn routes(sim: AdyenSim) -> Router {
    let path = |action: &str| format!("{API_PREFIX}/payments/{{payment_psp_reference}}/{action}");
    Router::new()
        .route(&path("captures"), post(captures))
        .route(&path("refunds"), post(refunds))
        .route(&path("amountUpdates"), post(amount_updates))
        .route(&path("cancels"), post(cancels))
        .route(&path("reversals"), post(reversals))
        .with_state(sim)
}

type Args = (State<AdyenSim>, Path<String>, HeaderMap, Bytes);

async fn captures(
    State(sim): State<AdyenSim>,
    Path(psp): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    modification(
        ModificationKind::Capture,
        (State(sim), Path(psp), headers, body),
    )
}

async fn refunds(
    State(sim): State<AdyenSim>,
    Path(psp): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    modification(
        ModificationKind::Refund,
        (State(sim), Path(psp), headers, body),
    )
}

async fn amount_updates(
    State(sim): State<AdyenSim>,
    Path(psp): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    modification(
        ModificationKind::AmountUpdate,
        (State(sim), Path(psp), headers, body),
    )
}

async fn cancels(
    State(sim): State<AdyenSim>,
    Path(psp): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    modification(
        ModificationKind::Cancel,
        (State(sim), Path(psp), headers, body),
    )
}

async fn reversals(
    State(sim): State<AdyenSim>,
    Path(psp): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    modification(
        ModificationKind::Reversal,
        (State(sim), Path(psp), headers, body),
    )
}

fn modification(kind: ModificationKind, (State(sim), Path(psp), headers, body): Args) -> Response {
    let api_key = headers
        .get(API_KEY_HEADER)
        .and_then(|value| value.to_str().ok());
    if api_key != Some(sim.config().api_key.as_str()) {
        let error = AdyenError::unauthorized();
        return (error.status_code(), Json(error)).into_response();
    }
    let idempotency_key = headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let reply = sim.modify(kind, &psp, idempotency_key, &body);
    let mut response = (reply.status, Json(reply.body)).into_response();
    if let Some(key) = reply
        .idempotency_key
        .and_then(|k| HeaderValue::from_str(&k).ok())
    {
        response.headers_mut().insert(IDEMPOTENCY_KEY_HEADER, key);
    }
    response
}
