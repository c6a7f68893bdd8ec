//! The two error vocabularies: what the partner API answers (ACS publishes
//! no error format, so the shape below is designed [I]), and what the typed
//! admin operations return.
//!
//! Partner error body, the one place it is built:
//! `{"Success":false,"Errors":[{"Code":"UNKNOWN_SKU","Field":"OrderItems[0].GarmentSku","Message":"…"}]}`
//! with 400 (body is not JSON), 401 (Basic auth), 403 (AccountCode not this
//! account's), 404 (unknown order), 409 (order already dispatched or
//! cancelled) or 422 (field validation; every failing field is listed).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::vendor;

/// One problem with a request, named by its JSON path in the order body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FieldError {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl FieldError {
    pub fn new(code: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            code: code.to_string(),
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn general(code: &str, message: impl Into<String>) -> Self {
        FieldError {
            code: code.to_string(),
            field: None,
            message: message.into(),
        }
    }
}

/// Machine-readable codes carried in `Errors[].Code` [I].
pub mod code {
    pub const REQUIRED: &str = "REQUIRED";
    pub const INVALID: &str = "INVALID";
    pub const UNKNOWN_SERVICE: &str = "UNKNOWN_DELIVERY_SERVICE";
    pub const UNKNOWN_AGENT: &str = "UNKNOWN_DELIVERY_AGENT";
    pub const UNKNOWN_SKU: &str = "UNKNOWN_SKU";
    pub const MISSING_CONDITION: &str = "MISSING_ITEM_CONDITION";
    pub const MISSING_GRADE: &str = "MISSING_GRADE";
    pub const UNAUTHORIZED: &str = "UNAUTHORIZED";
    pub const WRONG_ACCOUNT: &str = "WRONG_ACCOUNT_CODE";
    pub const NOT_FOUND: &str = "ORDER_NOT_FOUND";
    pub const ALREADY_DISPATCHED: &str = "ORDER_ALREADY_DISPATCHED";
    pub const CANCELLED: &str = "ORDER_CANCELLED";
    pub const MALFORMED: &str = "MALFORMED_BODY";
}

/// The partner API's error response.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerError {
    pub status: StatusCode,
    pub errors: Vec<FieldError>,
}

/// The partner API's error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PartnerErrorBody {
    pub success: bool,
    pub errors: Vec<FieldError>,
}

impl PartnerError {
    pub fn validation(errors: Vec<FieldError>) -> Self {
        PartnerError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        }
    }

    pub fn single(status: StatusCode, error: FieldError) -> Self {
        PartnerError {
            status,
            errors: vec![error],
        }
    }

    pub fn unauthorized() -> Self {
        Self::single(
            StatusCode::UNAUTHORIZED,
            FieldError::general(
                code::UNAUTHORIZED,
                "Authorization has been denied for this request.",
            ),
        )
    }

    pub fn malformed(detail: impl std::fmt::Display) -> Self {
        Self::single(
            StatusCode::BAD_REQUEST,
            FieldError::general(
                code::MALFORMED,
                format!("The request body is not valid JSON: {detail}"),
            ),
        )
    }

    pub fn not_found(order_number: &str) -> Self {
        Self::single(
            StatusCode::NOT_FOUND,
            FieldError::new(
                code::NOT_FOUND,
                vendor::field::ORDER_NUMBER,
                format!("Order {order_number} was not found."),
            ),
        )
    }
}

impl IntoResponse for PartnerError {
    fn into_response(self) -> Response {
        let challenge = self.status == StatusCode::UNAUTHORIZED;
        let mut response = (
            self.status,
            Json(PartnerErrorBody {
                success: false,
                errors: self.errors,
            }),
        )
            .into_response();
        if challenge {
            let value = format!("Basic realm=\"{}\"", vendor::AUTH_REALM);
            if let Ok(value) = HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// Why an admin operation (dispatch, return, stock move, …) was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WarehouseError {
    #[error("SKU {0} is not in the item catalogue")]
    UnknownSku(String),
    #[error("SKU {sku} has {available} units in status '{status}', {wanted} wanted")]
    InsufficientStock {
        sku: String,
        status: String,
        wanted: u64,
        available: u64,
    },
    #[error("order {0} not found")]
    UnknownOrder(String),
    #[error("order {order} has no line {line}")]
    UnknownLine { order: String, line: String },
    #[error("order {0} is cancelled")]
    OrderCancelled(String),
    #[error("return {0} not found")]
    UnknownReturn(String),
    #[error("return {0} is already graded")]
    AlreadyGraded(String),
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl WarehouseError {
    fn status(&self) -> StatusCode {
        match self {
            WarehouseError::UnknownOrder(_) | WarehouseError::UnknownReturn(_) => {
                StatusCode::NOT_FOUND
            }
            WarehouseError::InsufficientStock { .. }
            | WarehouseError::OrderCancelled(_)
            | WarehouseError::AlreadyGraded(_) => StatusCode::CONFLICT,
            WarehouseError::UnknownSku(_)
            | WarehouseError::UnknownLine { .. }
            | WarehouseError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// Admin API errors are plain `{"error": "..."}`: the admin API is ours, not ACS's.
impl IntoResponse for WarehouseError {
    fn into_response(self) -> Response {
        (
            self.status(),
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}
