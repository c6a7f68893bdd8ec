//! Reveni's own names in one place: base path, headers, statuses, types and
//! the JSON shapes of the merchant API v0 and its thin webhooks. Field names
//! seen in the public Odoo connector and Reveni's help centre are kept as
//! named there (backends.md §1); fields marked "inferred" are our design.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Every vendor route lives under `/merchants/v0/stores/{store_id}/`.
pub const API_BASE: &str = "/merchants/v0/stores";
pub const EVENT_RETURN_CREATED: &str = "return.created";
pub const EVENT_RETURN_UPDATED: &str = "return.updated";
pub const KNOWN_EVENTS: [&str; 2] = [EVENT_RETURN_CREATED, EVENT_RETURN_UPDATED];

/// Return states: the API enum of Reveni's "List Returns" tool, plus
/// `PARTLY_ACCEPTED`, which the dashboard shows for mixed outcomes but the
/// API enum does not list (inferred name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReturnStatus {
    InProgress,
    Shipped,
    Received,
    ForReview,
    Accepted,
    PartlyAccepted,
    Rejected,
    Expired,
    Cancelled,
    OnHold,
    Pending,
    Completed,
}

impl ReturnStatus {
    /// The lower-case form webhooks carry in `data.status` (`"in_progress"`).
    pub fn webhook_name(self) -> &'static str {
        match self {
            ReturnStatus::InProgress => "in_progress",
            ReturnStatus::Shipped => "shipped",
            ReturnStatus::Received => "received",
            ReturnStatus::ForReview => "for_review",
            ReturnStatus::Accepted => "accepted",
            ReturnStatus::PartlyAccepted => "partly_accepted",
            ReturnStatus::Rejected => "rejected",
            ReturnStatus::Expired => "expired",
            ReturnStatus::Cancelled => "cancelled",
            ReturnStatus::OnHold => "on_hold",
            ReturnStatus::Pending => "pending",
            ReturnStatus::Completed => "completed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReturnType {
    Refund,
    Exchange,
    Mixed,
}

/// `REFUND` or `EXCHANGE` per the API enum; a mixed return reports `REFUND`
/// (inferred).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TransactionType {
    Refund,
    Exchange,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRef {
    /// The shop platform's order id (the Centra order id).
    pub external_id: String,
    /// The order number the shopper typed in the portal.
    pub number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    pub sku: String,
}

/// Per-item review outcome (inferred shape beyond `status` and `reject_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Pending,
    Accepted,
    Rejected,
    PartlyAccepted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub status: ReviewStatus,
    /// Inferred: units accepted and rejected so far.
    pub accepted_quantity: u32,
    pub rejected_quantity: u32,
    pub reject_reason: Option<String>,
    pub reject_reason_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnItem {
    pub item_id: String,
    pub sku: String,
    pub quantity: u32,
    pub return_reason: String,
    /// The shop's order line id (the Centra order line id). Inferred name.
    pub order_line_id: String,
    /// Unit price paid, refunded per accepted unit. Inferred.
    pub price: Decimal,
    pub exchange: Option<Exchange>,
    pub review: Review,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// Decimal string in major units, e.g. `"49.00"` (inferred format).
    pub amount: Decimal,
    pub currency: String,
    pub refunded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeOrderItem {
    pub sku: String,
    pub quantity: u32,
}

/// The exchange order Reveni asks the shop to create (inferred shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeOrder {
    pub id: String,
    pub items: Vec<ExchangeOrderItem>,
    pub created_at: DateTime<Utc>,
}

/// `GET returns/{return_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Return {
    pub id: Uuid,
    pub status: ReturnStatus,
    #[serde(rename = "type")]
    pub return_type: ReturnType,
    pub transaction_type: TransactionType,
    pub instant: bool,
    /// Inferred: the currency refunds are made in.
    pub currency: String,
    pub order: OrderRef,
    pub return_items: Vec<ReturnItem>,
    pub refunds: Vec<Refund>,
    pub exchange_order: Option<ExchangeOrder>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The largest page `GET returns` answers (inferred).
pub const MAX_RETURNS_PER_PAGE: u32 = 100;

/// `GET returns` query (inferred: see `api::list_returns`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnListQuery {
    /// Returns changed at or after this instant.
    #[serde(default)]
    pub updated_after: Option<DateTime<Utc>>,
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `GET returns` answer (inferred shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnList {
    pub results: Vec<Return>,
    pub page: u32,
    pub limit: u32,
    pub has_more: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemDecision {
    Accepted,
    Rejected,
}

/// One entry of `POST returns/{id}/partial_validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationItem {
    pub item_id: String,
    /// Defaults to every unit not yet reviewed (inferred).
    #[serde(default)]
    pub quantity: Option<u32>,
    pub status: ItemDecision,
    #[serde(default)]
    pub reject_reason: Option<String>,
    #[serde(default)]
    pub reject_reason_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialValidateRequest {
    pub items: Vec<ValidationItem>,
}

/// `POST webhooks` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRequest {
    pub event_types: Vec<String>,
    pub url: String,
}

/// `POST webhooks` response and subscription record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventData {
    pub resource_id: Uuid,
    pub status: String,
}

/// The thin webhook envelope: re-fetch the return with `data.resource_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub id: String,
    pub created: i64,
    pub event: String,
    pub data: EventData,
}

/// Error body. Reveni publishes none; this flat shape is inferred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ReveniError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ReveniError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ReveniError {
            status: status.as_u16(),
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Invalid or missing API key",
        )
    }

    pub fn store_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "store_not_found", "Store not found")
    }

    pub fn return_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "return_not_found",
            "Return not found",
        )
    }

    pub fn webhook_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "webhook_not_found",
            "Webhook not found",
        )
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// The return's state forbids this (e.g. validating a cancelled return).
    pub fn invalid_status(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "invalid_status", message)
    }
}
