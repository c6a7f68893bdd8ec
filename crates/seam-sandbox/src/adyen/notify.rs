//! Turning ledger events into signed standard notifications and handing
//! them to the shared `WebhookSender` (one item per batch, in event order;
//! the fault plan may still duplicate, delay or reorder them).

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::ledger::{Event, Payment};
use super::signature::{sign, SignedFields};
use super::vendor::{
    NotificationBatch, NotificationItem, NotificationRequestItem, HMAC_SIGNATURE_KEY,
};
use crate::webhooks::Delivery;

/// Where notifications go, as configured in Adyen's Customer Area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookTarget {
    pub url: String,
    /// Overrides the configured HMAC key (hex) when set.
    #[serde(default)]
    pub hmac_key_hex: Option<String>,
    /// Optional basic authentication, which Adyen offers per webhook.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

/// Builds the signed item for one event. `modification` is the
/// modification's PSP reference, `None` for the AUTHORISATION itself.
pub fn item(
    payment: &Payment,
    modification: Option<&str>,
    event: &Event,
    hmac_key_hex: &str,
    now: DateTime<Utc>,
) -> NotificationRequestItem {
    let (psp_reference, original_reference) = match modification {
        Some(reference) => (reference.to_string(), Some(payment.psp_reference.clone())),
        None => (payment.psp_reference.clone(), None),
    };
    let mut item = NotificationRequestItem {
        event_code: event.code,
        success: if event.success { "true" } else { "false" }.to_string(),
        psp_reference,
        original_reference,
        merchant_account_code: payment.merchant_account.clone(),
        merchant_reference: payment.merchant_reference.clone(),
        amount: event.amount.clone(),
        event_date: now.to_rfc3339_opts(SecondsFormat::Secs, false),
        reason: event.reason.clone(),
        payment_method: payment.payment_method.clone(),
        additional_data: Default::default(),
    };
    match sign(hmac_key_hex, &SignedFields::of(&item)) {
        Ok(signature) => {
            item.additional_data
                .insert(HMAC_SIGNATURE_KEY.to_string(), signature);
        }
        Err(error) => {
            // Sent unsigned so the receiver's verification fails visibly.
            tracing::warn!(%error, "adyen simulator: cannot sign notification");
        }
    }
    item
}

/// One delivery per item, in the given order.
pub fn deliveries(
    target: &WebhookTarget,
    live: bool,
    items: &[NotificationRequestItem],
) -> Vec<Delivery> {
    let mut headers = Vec::new();
    if let (Some(user), Some(password)) = (&target.username, &target.password) {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        headers.push(("authorization".to_string(), format!("Basic {credentials}")));
    }
    items
        .iter()
        .filter_map(|item| {
            let batch = NotificationBatch {
                live: live.to_string(),
                notification_items: vec![NotificationItem {
                    notification_request_item: item.clone(),
                }],
            };
            let body = serde_json::to_vec(&batch).ok()?;
            Some(Delivery {
                url: target.url.clone(),
                headers: headers.clone(),
                content_type: "application/json".to_string(),
                body,
            })
        })
        .collect()
}
