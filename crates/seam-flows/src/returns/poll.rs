//! The safety net under Reveni's webhooks: every `returns.reveni_poll_every`
//! Seam lists the returns Reveni changed since the newest change it has
//! seen, and journals each change as the webhook would (deduplicated by the
//! return and its `updated_at`), so a webhook Reveni never delivers is
//! caught within one interval. The change then takes the webhook's path
//! (`intake/reveni_return`), which re-reads the return, so a change seen
//! by both is decided once.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use seam_engine::{
    Commit, Failure, HandlerRegistry, InboundEvent, Job, JobContext, JobHandler, JobSpec, Outcome,
    StateWrite,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ReturnFlow, FLOW};
use crate::store_failure;

/// The entity the poll runs on (one at a time) and keeps its cursor under.
pub const POLL_ENTITY: &str = "reveni-returns-poll";
/// The journal source of changes the poll finds.
pub const POLL_SOURCE: &str = "reveni-poll";
/// How far before the newest change seen each poll starts again: a change
/// Reveni stamped just before another it committed first is not skipped.
/// The journal drops what was seen already.
const OVERLAP_SECONDS: i64 = 30;
const PER_PAGE: u32 = 100;
/// Pages read per poll at most; the next poll goes on from the cursor.
const PAGES_PER_POLL: u32 = 20;

pub(super) fn register(flow: &Arc<ReturnFlow>, registry: &mut HandlerRegistry) {
    if flow.reveni.is_some() {
        registry.register(FLOW, "poll_reveni", Arc::new(PollReveni(flow.clone())));
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PollCursor {
    /// Reveni's `updated_at` of the newest change seen.
    since: Option<DateTime<Utc>>,
}

/// The job a return change becomes: the same as a webhook's.
pub fn return_changed_event(
    source: &str,
    event_id: String,
    return_id: &str,
    status: &str,
) -> InboundEvent {
    InboundEvent {
        source: source.into(),
        event_id,
        payload: json!({ "returnId": return_id, "status": status }),
        job: JobSpec::new(
            "intake",
            "reveni_return",
            format!("reveni-return:{return_id}"),
        ),
    }
}

struct PollReveni(Arc<ReturnFlow>);

#[async_trait]
impl JobHandler for PollReveni {
    async fn handle(&self, _job: &Job, ctx: &JobContext) -> Outcome {
        let Some(reveni) = &self.0.reveni else {
            return Outcome::failed(Failure::data("no Reveni connector is configured"));
        };
        let cursor: PollCursor = match ctx.store.entity_state(POLL_ENTITY, FLOW).await {
            Ok(Some(state)) => serde_json::from_value(state.state).unwrap_or_default(),
            Ok(None) => PollCursor::default(),
            Err(error) => return store_failure(error),
        };
        let now = DateTime::<Utc>::from_timestamp_millis(ctx.now).unwrap_or_default();
        // The first poll looks back a day; later ones from the newest change seen.
        let since = cursor.since.unwrap_or(now - Duration::days(1));
        let from = since - Duration::seconds(OVERLAP_SECONDS);
        let mut newest = since;
        for page in 1..=PAGES_PER_POLL {
            let found = match reveni.returns_updated_since(from, page, PER_PAGE).await {
                Ok(found) => found,
                Err(failure) => return Outcome::failed(failure),
            };
            let inbound: Vec<InboundEvent> = found
                .results
                .iter()
                .map(|r| {
                    let changed = r.updated_at.or(r.created_at).unwrap_or(now);
                    newest = newest.max(changed);
                    return_changed_event(
                        POLL_SOURCE,
                        format!("{}:{}", r.id, changed.timestamp_micros()),
                        &r.id,
                        r.status.as_str(),
                    )
                })
                .collect();
            // Journaled page by page: what is in the journal is safe even
            // if a later page fails.
            if let Err(error) = ctx.store.ingest(&inbound, ctx.now).await {
                return store_failure(error);
            }
            if !found.has_more {
                break;
            }
        }
        Outcome::Done(Commit {
            state: vec![StateWrite {
                entity_key: POLL_ENTITY.into(),
                flow: FLOW.into(),
                state: json!(PollCursor {
                    since: Some(newest)
                }),
            }],
            ..Default::default()
        })
    }
}
