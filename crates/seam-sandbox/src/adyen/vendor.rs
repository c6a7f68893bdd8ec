//! Adyen's own names in one place: header names, error codes and messages,
//! webhook event codes, and the JSON shapes of the Checkout API v71
//! modifications and of standard notifications, in Adyen's field names.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// Every vendor route lives under this version prefix.
pub const API_PREFIX: &str = "/v71";
pub const API_KEY_HEADER: &str = "x-api-key";
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Adyen documents a maximum of 64 characters for `Idempotency-Key`.
pub const IDEMPOTENCY_KEY_MAX_LEN: usize = 64;
/// What a notification receiver must answer so Adyen stops retrying.
pub const ACCEPTED_BODY: &str = "[accepted]";
/// `additionalData` key carrying the notification signature.
pub const HMAC_SIGNATURE_KEY: &str = "hmacSignature";

/// Amount in minor units, as Adyen sends it: `{"currency":"EUR","value":2500}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub currency: String,
    pub value: i64,
}

impl Amount {
    pub fn new(currency: impl Into<String>, value: i64) -> Self {
        Amount {
            currency: currency.into(),
            value,
        }
    }
}

/// Body of every modification request (captures, refunds, amountUpdates,
/// cancels, reversals). Unknown fields are ignored, as Adyen does.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationRequest {
    pub merchant_account: Option<String>,
    pub amount: Option<Amount>,
    pub reference: Option<String>,
    pub line_items: Option<serde_json::Value>,
    pub merchant_refund_reason: Option<String>,
    /// v72 name of the amount-update reason (`delayedCharge`, `noShow`, `installment`).
    pub industry_usage: Option<String>,
    /// Older versions' name of `industryUsage`.
    pub reason: Option<String>,
}

/// The 201 answer to every modification: received, not the outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationResponse {
    pub merchant_account: String,
    pub payment_psp_reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub psp_reference: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
}

pub const STATUS_RECEIVED: &str = "received";

/// Adyen's error body: `{status, errorCode, message, errorType, pspReference?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdyenError {
    pub status: u16,
    pub error_code: String,
    pub message: String,
    pub error_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psp_reference: Option<String>,
}

impl AdyenError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>, kind: &str) -> Self {
        AdyenError {
            status: status.as_u16(),
            error_code: code.to_string(),
            message: message.into(),
            error_type: kind.to_string(),
            psp_reference: None,
        }
    }

    pub fn with_psp_reference(mut self, psp_reference: String) -> Self {
        self.psp_reference = Some(psp_reference);
        self
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
    }

    /// Wrong or missing `X-API-Key` (documented shape, code 000).
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "000",
            "HTTP Status Response - Unauthorized",
            "security",
        )
    }

    /// Body is not JSON or has a field of the wrong type. Inferred: Adyen
    /// answers unparsable input with 400 and code 702.
    pub fn unparsable(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "702",
            format!("Unable to parse the request: {detail}"),
            "validation",
        )
    }

    /// Code 100, documented message.
    pub fn missing_amount() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "100",
            "Required object 'amount' is not provided.",
            "validation",
        )
    }

    /// Code 137 "Invalid amount specified": used for non-positive amounts and,
    /// inferred, for captures or refunds above what the payment allows.
    pub fn invalid_amount() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "137",
            "Invalid amount specified",
            "validation",
        )
    }

    /// Code 138 "Unsupported currency specified": inferred for a currency
    /// that differs from the payment's.
    pub fn unsupported_currency() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "138",
            "Unsupported currency specified",
            "validation",
        )
    }

    /// Code 167: inferred for a payment PSP reference this account does not know.
    pub fn unknown_payment() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "167",
            "Original pspReference required for this operation",
            "validation",
        )
    }

    /// Code 901 "Invalid Merchant Account". Missing → 422 validation;
    /// another account than the credential's → 403 security (inferred).
    pub fn missing_merchant_account() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "901",
            "Invalid Merchant Account",
            "validation",
        )
    }

    pub fn foreign_merchant_account() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "901",
            "Invalid Merchant Account",
            "security",
        )
    }

    /// Code 010 "Not allowed": inferred for modifications the payment's state
    /// forbids (amount update after capture, reversal with partial captures).
    pub fn not_allowed(detail: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "010",
            format!("Not allowed: {detail}"),
            "validation",
        )
    }

    /// Inferred: an `Idempotency-Key` over 64 characters is a validation error.
    pub fn invalid_idempotency_key() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "000",
            "Idempotency-Key must be at most 64 characters",
            "validation",
        )
    }
}

/// Webhook event codes the simulator emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventCode {
    Authorisation,
    AuthorisationAdjustment,
    Capture,
    CaptureFailed,
    Refund,
    RefundFailed,
    Cancellation,
    CancelOrRefund,
}

impl EventCode {
    pub fn as_str(self) -> &'static str {
        match self {
            EventCode::Authorisation => "AUTHORISATION",
            EventCode::AuthorisationAdjustment => "AUTHORISATION_ADJUSTMENT",
            EventCode::Capture => "CAPTURE",
            EventCode::CaptureFailed => "CAPTURE_FAILED",
            EventCode::Refund => "REFUND",
            EventCode::RefundFailed => "REFUND_FAILED",
            EventCode::Cancellation => "CANCELLATION",
            EventCode::CancelOrRefund => "CANCEL_OR_REFUND",
        }
    }
}

/// Reasons sent with `success: "false"`. Adyen's wording varies by scheme;
/// these are representative, not exhaustive (inferred).
pub mod reasons {
    pub const CAPTURE_REFUSED: &str = "Capture refused by the acquirer";
    pub const CAPTURE_FAILED: &str = "Capture failed: the card scheme rejected it";
    pub const REFUND_REFUSED: &str = "Refund refused by the acquirer";
    pub const REFUND_FAILED: &str = "Refund failed: the card scheme rejected it";
    pub const ADJUSTMENT_REFUSED: &str = "Authorisation adjustment refused by the issuer";
    pub const ADJUSTMENT_NOT_PREAUTH: &str =
        "Authorisation adjustment requires a pre-authorised payment";
    pub const NOTHING_TO_CANCEL: &str = "Transaction has no remaining authorisation to cancel";
    pub const NOTHING_TO_REVERSE: &str = "Transaction has nothing left to cancel or refund";
}

/// One standard notification, in Adyen's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRequestItem {
    pub event_code: EventCode,
    /// The string `"true"` or `"false"`, as Adyen sends it.
    pub success: String,
    pub psp_reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_reference: Option<String>,
    pub merchant_account_code: String,
    pub merchant_reference: String,
    pub amount: Amount,
    pub event_date: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub payment_method: String,
    #[serde(default)]
    pub additional_data: BTreeMap<String, String>,
}

impl NotificationRequestItem {
    pub fn is_success(&self) -> bool {
        self.success == "true"
    }

    pub fn hmac_signature(&self) -> Option<&str> {
        self.additional_data
            .get(HMAC_SIGNATURE_KEY)
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationItem {
    #[serde(rename = "NotificationRequestItem")]
    pub notification_request_item: NotificationRequestItem,
}

/// A delivery: `{"live":"false","notificationItems":[...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationBatch {
    pub live: String,
    pub notification_items: Vec<NotificationItem>,
}
