//! What the PSP tells Seam afterwards: Adyen reports the outcome of most
//! modifications (authorisation adjustments, captures, cancellations,
//! refunds) asynchronously, as notifications the ingress journals as
//! `intake/adyen_notification` jobs on `payment:<pspReference>`.
//!
//! A notification is matched to its order through the link Seam wrote when
//! it first saw the order (`adyen-payment` → `order:<number>`) and goes on
//! the order's timeline. A refusal becomes an exception on the order, owned
//! by the team that acts on it, whose resubmit runs the refused step again
//! with today's data. A notification for a payment Seam never linked (one
//! taken before Seam ran, or for another channel) stays journaled and is
//! recorded on the payment's own timeline: nothing to act on.

use std::sync::Arc;

use async_trait::async_trait;
use seam_engine::{
    Commit, HandlerRegistry, Job, JobContext, JobHandler, JobSpec, NewException, Outcome,
};
use seam_model::OwnerTeam;
use serde::Deserialize;
use serde_json::json;

use super::{load_record, step, store_failure, FLOW};

/// The link system naming an order's PSP payment.
pub const PAYMENT_LINK: &str = "adyen-payment";

pub(super) fn register(registry: &mut HandlerRegistry) {
    registry.register("intake", "adyen_notification", Arc::new(AdyenNotification));
    registry.register(FLOW, "payment_review", Arc::new(PaymentReview));
}

/// The notification as the ingress journals it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    event_code: String,
    success: bool,
    psp_reference: String,
    #[serde(default)]
    original_reference: Option<String>,
    #[serde(default)]
    amount: Option<Amount>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Amount {
    value: String,
    currency: String,
}

impl Notification {
    fn payment(&self) -> &str {
        self.original_reference
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or(&self.psp_reference)
    }

    fn amount(&self) -> String {
        self.amount
            .as_ref()
            .map(|a| format!("{} {}", a.value, a.currency))
            .unwrap_or_default()
    }

    fn reason(&self) -> &str {
        self.reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or("no reason given")
    }
}

/// What a refused modification means, and who acts on it.
struct Refusal {
    exception_type: &'static str,
    owner: OwnerTeam,
    what: &'static str,
    fix_hint: &'static str,
    /// The job a resubmit runs on the order.
    retry: (&'static str, serde_json::Value),
}

fn refusal(event_code: &str) -> Option<Refusal> {
    Some(match event_code {
        "AUTHORISATION_ADJUSTMENT" => Refusal {
            exception_type: "authorisation_adjustment_refused",
            owner: OwnerTeam::Cx,
            what: "the PSP refused to set the authorisation to the edited order's total. Finance: the order's total and its authorisation now differ",
            fix_hint: "Ask the customer for a new payment for the difference (or undo the edit), or resubmit to try the adjustment again with the order's current total.",
            retry: ("adjust_payment", json!({})),
        },
        "CANCELLATION" | "CANCEL_OR_REFUND" => Refusal {
            exception_type: "authorisation_release_refused",
            owner: OwnerTeam::Finance,
            what: "the PSP refused to release the authorisation of a cancelled order",
            fix_hint: "Cancel the payment in the Adyen customer area and resolve, or resubmit to try the release again.",
            retry: ("adjust_payment", json!({ "cancel": true })),
        },
        "CAPTURE" | "CAPTURE_FAILED" => Refusal {
            exception_type: "capture_refused_by_psp",
            owner: OwnerTeam::Finance,
            what: "the PSP did not capture money for shipped goods",
            fix_hint: "Capture the shipped value in the Adyen customer area (or with Centra's captureShipment), then resolve.",
            retry: ("payment_review", json!({})),
        },
        "REFUND" | "REFUND_FAILED" => Refusal {
            exception_type: "refund_refused_by_psp",
            owner: OwnerTeam::Finance,
            what: "the PSP did not pay a refund back to the customer",
            fix_hint: "Refund the customer in the Adyen customer area (or by another means), then resolve.",
            retry: ("payment_review", json!({})),
        },
        _ => return None,
    })
}

struct AdyenNotification;

#[async_trait]
impl JobHandler for AdyenNotification {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let notification: Notification = match serde_json::from_value(job.payload.clone()) {
            Ok(notification) => notification,
            Err(error) => {
                return Outcome::failed(seam_engine::Failure::data(format!(
                    "the journaled Adyen notification cannot be read: {error}"
                )))
            }
        };
        let payment = notification.payment().to_string();
        let order = match ctx.store.find_link(PAYMENT_LINK, &payment).await {
            Ok(order) => order,
            Err(error) => return store_failure(error),
        };
        let outcome = if notification.success {
            "succeeded"
        } else {
            "refused"
        };
        let detail = format!(
            "{} {outcome}: {} ({}){}",
            notification.event_code,
            notification.amount(),
            notification.psp_reference,
            if notification.success {
                String::new()
            } else {
                format!(": {}", notification.reason())
            }
        );
        let Some(entity) = order else {
            // Not a payment of an order Seam handles.
            return Outcome::Done(Commit {
                timeline: vec![step(
                    &job.spec.entity_key,
                    ctx.now,
                    "adyen",
                    "unmatched_notification",
                    detail,
                )],
                ..Default::default()
            });
        };
        let mut commit = Commit {
            timeline: vec![step(
                &entity,
                ctx.now,
                "adyen",
                &notification.event_code.to_ascii_lowercase(),
                detail,
            )],
            ..Default::default()
        };
        if !notification.success || notification.event_code.ends_with("_FAILED") {
            if let Some(refusal) = refusal(&notification.event_code) {
                let number = match load_record(ctx, &entity).await {
                    Ok(Some(record)) => record.order.number.to_string(),
                    Ok(None) => entity.clone(),
                    Err(outcome) => return outcome,
                };
                let (kind, payload) = refusal.retry;
                commit.exceptions.push(NewException {
                    exception_type: refusal.exception_type.into(),
                    owner: refusal.owner,
                    spec: JobSpec::new(FLOW, kind, &entity),
                    message: format!(
                        "Order {number}: {} ({}, {}, PSP reference {}).",
                        refusal.what,
                        notification.reason(),
                        notification.amount(),
                        notification.psp_reference
                    ),
                    fix_hint: refusal.fix_hint.into(),
                    payload,
                    attempts: 0,
                });
            }
        }
        Outcome::Done(commit)
    }
}

/// The resubmit of a refusal that Seam cannot redo itself (the money moves
/// in the PSP's customer area): records that someone looked at it.
struct PaymentReview;

#[async_trait]
impl JobHandler for PaymentReview {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        Outcome::Done(Commit {
            timeline: vec![step(
                &job.spec.entity_key,
                ctx.now,
                "seam",
                "payment_reviewed",
                "the PSP's refusal was resubmitted; nothing is re-sent automatically",
            )],
            ..Default::default()
        })
    }
}
