//! Webhook ingress: verify, journal, then acknowledge.
//!
//! Each route checks the sender's signature (or shared secret) with the
//! connector's own parser, refuses what does not verify or decode with the
//! right status (401, 400, 413) before anything is stored, and journals every
//! event, deduplicated by the sender's own id, before it answers 2xx. A
//! duplicate (a vendor retry, a replayed delivery) is acknowledged and never
//! queued again. When the journal cannot be written the answer is 503, so the
//! sender retries: an event is never acknowledged without being stored.
//!
//! Events become jobs of the `intake` flow, keyed by the entity they concern,
//! so that one order's, payment's or return's events run in arrival order.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use seam_connectors::{adyen, centra, reveni};
use seam_engine::{Clock, InboundEvent, JobSpec, Store};
use serde_json::json;
use tokio::sync::Notify;

/// The flow every webhook event is queued to.
pub const INTAKE_FLOW: &str = "intake";

/// Largest webhook body accepted (Centra batches up to 100 events).
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;

/// Window within which a timestamped signature is accepted, against replays.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// The secrets each webhook is verified with; a source without one has no route.
#[derive(Clone, Default)]
pub struct IngressSecrets {
    pub centra: Option<String>,
    pub adyen_hmac_hex: Option<String>,
    pub reveni: Option<(String, String)>,
}

#[derive(Clone)]
pub struct Ingress {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub secrets: IngressSecrets,
    /// Woken after each journal write so the runner picks the jobs up at once.
    pub wake: Option<Arc<Notify>>,
}

pub fn routes(ingress: Ingress) -> Router {
    let mut router = Router::new();
    if ingress.secrets.centra.is_some() {
        router = router.route("/webhooks/centra", post(centra_webhook));
    }
    if ingress.secrets.adyen_hmac_hex.is_some() {
        router = router.route("/webhooks/adyen", post(adyen_webhook));
    }
    if ingress.secrets.reveni.is_some() {
        router = router.route("/webhooks/reveni", post(reveni_webhook));
    }
    router
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES))
        .with_state(ingress)
}

fn refuse(status: StatusCode, source: &str, reason: impl std::fmt::Display) -> Response {
    tracing::warn!(source, %reason, status = status.as_u16(), "webhook refused");
    (status, format!("{reason}\n")).into_response()
}

impl Ingress {
    /// Journals the events, then says how to answer.
    async fn journal(&self, source: &str, events: Vec<InboundEvent>, ok: &'static str) -> Response {
        match self.store.ingest(&events, self.clock.now_ms()).await {
            Ok(outcomes) => {
                let duplicates = outcomes
                    .iter()
                    .filter(|o| **o == seam_engine::IngestOutcome::Duplicate)
                    .count();
                tracing::debug!(
                    source,
                    events = events.len(),
                    duplicates,
                    "webhook journaled"
                );
                if let Some(wake) = &self.wake {
                    wake.notify_one();
                }
                (StatusCode::OK, ok).into_response()
            }
            Err(error) => {
                tracing::error!(source, %error, "webhook not journaled; asking the sender to retry");
                refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    source,
                    "not stored, please retry",
                )
            }
        }
    }
}

async fn centra_webhook(
    State(ingress): State<Ingress>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = ingress.secrets.centra.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let now = ingress.clock.now_ms() / 1000;
    let events = match centra::webhook::parse_webhook(&headers, &body, secret.as_bytes(), now) {
        Ok(events) => events,
        Err(centra::WebhookError::TooLarge(_)) => {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, "centra", "body too large")
        }
        Err(error @ centra::WebhookError::Signature(_)) => {
            return refuse(StatusCode::UNAUTHORIZED, "centra", error)
        }
        Err(error) => return refuse(StatusCode::BAD_REQUEST, "centra", error),
    };
    let events = events
        .into_iter()
        .map(|event| {
            let kind = centra_object_name(event.object_type);
            let action = format!("{:?}", event.action).to_ascii_lowercase();
            InboundEvent {
                source: "centra".into(),
                event_id: format!("{kind}:{}:{action}:{}", event.id, event.date),
                payload: json!({ "type": kind, "action": action, "id": event.id, "date": event.date }),
                job: JobSpec::new(INTAKE_FLOW, &format!("centra_{kind}"), format!("centra-{kind}:{}", event.id)),
            }
        })
        .collect();
    ingress.journal("centra", events, "ok").await
}

/// The name of a Centra webhook's object type in Seam's journal and jobs:
/// its events run as `intake/centra_<name>` on `centra-<name>:<id>`.
pub fn centra_object_name(object_type: centra::WebhookObjectType) -> String {
    format!("{object_type:?}").to_ascii_lowercase()
}

async fn adyen_webhook(State(ingress): State<Ingress>, body: Bytes) -> Response {
    let Some(key) = ingress.secrets.adyen_hmac_hex.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let notification = match adyen::parse_notification(&body, key) {
        Ok(notification) => notification,
        Err(error @ adyen::NotificationError::Malformed(_)) => {
            return refuse(StatusCode::BAD_REQUEST, "adyen", error)
        }
        Err(error) => return refuse(StatusCode::UNAUTHORIZED, "adyen", error),
    };
    let events = notification
        .items
        .iter()
        .map(|item| InboundEvent {
            source: "adyen".into(),
            event_id: item.dedupe_key().to_string(),
            payload: json!({
                "eventCode": item.event_code.as_str(),
                "success": item.success,
                "pspReference": item.psp_reference,
                "originalReference": item.original_reference,
                "merchantReference": item.merchant_reference,
                "amount": { "value": item.amount.amount.to_string(), "currency": item.amount.currency.code() },
                "reason": item.reason,
            }),
            job: JobSpec::new(
                INTAKE_FLOW,
                "adyen_notification",
                format!("payment:{}", item.payment_psp_reference()),
            ),
        })
        .collect();
    // Adyen treats anything but this exact body as a failed delivery.
    ingress.journal("adyen", events, adyen::ACCEPTED_BODY).await
}

async fn reveni_webhook(
    State(ingress): State<Ingress>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((header, secret)) = ingress.secrets.reveni.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let event = match reveni::parse_webhook(&headers, &body, &header, &secret) {
        Ok(event) => event,
        Err(error @ reveni::WebhookError::Malformed(_)) => {
            return refuse(StatusCode::BAD_REQUEST, "reveni", error)
        }
        Err(error) => return refuse(StatusCode::UNAUTHORIZED, "reveni", error),
    };
    let events = vec![InboundEvent {
        source: "reveni".into(),
        event_id: event.id.clone(),
        payload: json!({ "id": event.id, "created": event.created, "returnId": event.resource_id }),
        job: JobSpec::new(
            INTAKE_FLOW,
            "reveni_return",
            format!("reveni-return:{}", event.resource_id),
        ),
    }];
    ingress.journal("reveni", events, "ok").await
}
