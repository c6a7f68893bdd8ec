//! Where a return's news comes in: a Reveni webhook or a warehouse return
//! receipt. Each is journaled by its own source's id; these handlers only
//! find the order it belongs to and queue the decision on that order's
//! entity, so every return of an order is decided in order.

use std::sync::Arc;

use async_trait::async_trait;
use seam_connectors::warehouse::{Message, MessageBody};
use seam_engine::{
    Commit, ExceptionDraft, Failure, HandlerRegistry, Job, JobContext, JobHandler, JobSpec, NewJob,
    Outcome,
};
use seam_model::OwnerTeam;
use serde_json::json;

use super::{ReturnFlow, FLOW, REVENI_LINK};
use crate::orders::order_entity;
use crate::store_failure;

pub(super) fn register(flow: &Arc<ReturnFlow>, registry: &mut HandlerRegistry) {
    if flow.reveni.is_some() {
        registry.register(
            "intake",
            "reveni_return",
            Arc::new(RouteReveni(flow.clone())),
        );
    }
    registry.register(FLOW, "return_receipt", Arc::new(RouteReceipt));
}

fn follow_up(kind: &str, entity: String, payload: serde_json::Value) -> Outcome {
    Outcome::Done(Commit {
        follow_ups: vec![NewJob {
            spec: JobSpec::new(FLOW, kind, entity),
            payload,
        }],
        ..Default::default()
    })
}

struct RouteReveni(Arc<ReturnFlow>);

#[async_trait]
impl JobHandler for RouteReveni {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let Some(reveni) = &self.0.reveni else {
            return Outcome::failed(Failure::data("no Reveni connector is configured"));
        };
        let id = job
            .spec
            .entity_key
            .strip_prefix("reveni-return:")
            .unwrap_or(&job.spec.entity_key)
            .to_string();
        // Known already: its order is linked.
        match ctx.store.find_link(REVENI_LINK, &id).await {
            Ok(Some(entity)) => {
                return follow_up("reveni_changed", entity, json!({ "return_id": id }))
            }
            Ok(None) => {}
            Err(error) => return store_failure(error),
        }
        let found = match reveni.get_return(&id).await {
            Ok(found) => found,
            Err(failure) => return Outcome::failed(failure),
        };
        let Some(found) = found else {
            return Outcome::Exception(ExceptionDraft::new(
                "reveni_return_unknown",
                OwnerTeam::Cx,
                format!("Reveni announced return {id}, but Reveni has no such return."),
                "Check the return in Reveni's dashboard; resolve if it was deleted there.",
            ));
        };
        let by_id = ctx
            .store
            .find_link("centra-order", &found.order.external_id)
            .await;
        let by_number = ctx
            .store
            .find_link("centra-order-number", &found.order.number)
            .await;
        let entity = match (by_id, by_number) {
            (Ok(Some(entity)), _) | (_, Ok(Some(entity))) => entity,
            (Err(error), _) | (_, Err(error)) => return store_failure(error),
            // The order may not have been seen yet: retried, then raised.
            _ => {
                return Outcome::Failed {
                        failure: Failure::transient(format!(
                            "return {id} names order {} ({}), which Seam has not seen",
                            found.order.number, found.order.external_id
                        )),
                        exception: Some(ExceptionDraft::new(
                            "return_for_unknown_order",
                            OwnerTeam::Cx,
                            format!(
                                "Reveni return {id} is for order {} (Centra id {}), which Seam never received from Centra.",
                                found.order.number, found.order.external_id
                            ),
                            "Check that the order exists in Centra and reached Seam (seam trace order:<number>); resubmit once it has.",
                        )),
                }
            }
        };
        follow_up("reveni_changed", entity, json!({ "return_id": id }))
    }
}

struct RouteReceipt;

#[async_trait]
impl JobHandler for RouteReceipt {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let message: Message = match serde_json::from_value(job.payload.clone()) {
            Ok(message) => message,
            Err(error) => {
                return Outcome::failed(Failure::data(format!(
                    "the warehouse return message does not decode: {error}"
                )))
            }
        };
        let MessageBody::ReturnReceipt(receipt) = message.body else {
            return Outcome::failed(Failure::data("the message is not a return receipt"));
        };
        let payload = json!(receipt);
        if let Some(number) = receipt
            .order_number
            .as_deref()
            .and_then(|n| n.trim().parse::<i64>().ok())
        {
            return follow_up("received", order_entity(number), payload);
        }
        if let Some(rma) = &receipt.rma {
            match ctx.store.find_link(REVENI_LINK, rma).await {
                Ok(Some(entity)) => return follow_up("received", entity, payload),
                Ok(None) => {}
                Err(error) => return store_failure(error),
            }
        }
        Outcome::Exception(ExceptionDraft::new(
            "return_without_order",
            OwnerTeam::Ops,
            format!(
                "The warehouse received return {} (order '{}', RMA '{}'), which names no order or return Seam knows.",
                receipt.return_id,
                receipt.order_number.as_deref().unwrap_or(""),
                receipt.rma.as_deref().unwrap_or("")
            ),
            "Find the order in the warehouse portal and book the return against it; the units stay unsellable until then.",
        ))
    }
}
