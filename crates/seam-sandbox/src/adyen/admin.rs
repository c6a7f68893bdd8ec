//! The simulator's admin API under `/_admin` (not Adyen's): create
//! authorised payments, inspect them, register the webhook target, toggle
//! failures, and read the notifications and delivery attempts.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::failures::FailureToggles;
use super::ledger::{Payment, PaymentStatus};
use super::notify::WebhookTarget;
use super::sim::{AdyenSim, NewPayment};

/// A payment with its derived figures, as the admin API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    #[serde(flatten)]
    pub payment: Payment,
    pub status: PaymentStatus,
    pub open_authorisation: i64,
    pub refundable: i64,
}

impl From<Payment> for PaymentView {
    fn from(payment: Payment) -> Self {
        PaymentView {
            status: payment.status(),
            open_authorisation: payment.open_authorisation(),
            refundable: payment.refundable(),
            payment,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    merchant_reference: Option<String>,
}

pub fn routes(sim: AdyenSim) -> Router {
    Router::new()
        .route("/_admin/payments", get(list_payments).post(create_payment))
        .route("/_admin/payments/{psp_reference}", get(get_payment))
        .route("/_admin/webhook", get(get_webhook).post(register_webhook))
        .route("/_admin/failures", get(get_failures).post(set_failures))
        .route("/_admin/notifications", get(notifications))
        .route("/_admin/deliveries", get(deliveries))
        .with_state(sim)
}

fn admin_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

async fn create_payment(State(sim): State<AdyenSim>, Json(new): Json<NewPayment>) -> Response {
    match sim.create_payment(new) {
        Ok(payment) => (StatusCode::CREATED, Json(PaymentView::from(payment))).into_response(),
        Err(error) => admin_error(StatusCode::BAD_REQUEST, error.message),
    }
}

async fn list_payments(
    State(sim): State<AdyenSim>,
    Query(query): Query<ListQuery>,
) -> Json<Vec<PaymentView>> {
    let payments = sim
        .payments()
        .into_iter()
        .filter(|p| {
            query
                .merchant_reference
                .as_ref()
                .is_none_or(|r| &p.merchant_reference == r)
        })
        .map(PaymentView::from)
        .collect();
    Json(payments)
}

async fn get_payment(State(sim): State<AdyenSim>, Path(psp_reference): Path<String>) -> Response {
    match sim.payment(&psp_reference) {
        Some(payment) => Json(PaymentView::from(payment)).into_response(),
        None => admin_error(StatusCode::NOT_FOUND, format!("no payment {psp_reference}")),
    }
}

async fn get_webhook(State(sim): State<AdyenSim>) -> Json<Option<WebhookTarget>> {
    Json(sim.webhook())
}

async fn register_webhook(
    State(sim): State<AdyenSim>,
    Json(target): Json<WebhookTarget>,
) -> Response {
    if let Some(key) = &target.hmac_key_hex {
        if hex::decode(key).map_or(true, |bytes| bytes.is_empty()) {
            return admin_error(StatusCode::BAD_REQUEST, "hmacKeyHex must be non-empty hex");
        }
    }
    sim.register_webhook(target.clone());
    Json(target).into_response()
}

async fn get_failures(State(sim): State<AdyenSim>) -> Json<FailureToggles> {
    Json(sim.failures())
}

async fn set_failures(
    State(sim): State<AdyenSim>,
    Json(failures): Json<FailureToggles>,
) -> Json<FailureToggles> {
    sim.set_failures(failures.clone());
    Json(failures)
}

async fn notifications(State(sim): State<AdyenSim>) -> Response {
    Json(sim.notifications()).into_response()
}

async fn deliveries(State(sim): State<AdyenSim>) -> Response {
    Json(sim.deliveries()).into_response()
}
