//! The stock flow: Centra shows what the warehouse can sell.
//!
//! - `poll_feed` (on the scheduler's node) reads the warehouse's message
//!   feed after the stored cursor, applies each stock movement in feed order
//!   to its SKU's position, recomputes sellable units with the mapping
//!   (unknown statuses count as not sellable and raise one exception per
//!   status), marks changed SKUs for a push, and commits all of it with the
//!   new cursor in one transaction, so each movement counts exactly once.
//!   Dispatches and return receipts are journaled with their message ids as
//!   jobs of their own flows. The first poll starts from the stock snapshot
//!   (units per SKU per status) and the feed position it reflects.
//! - `movement` applies one movement that arrived outside the feed (a
//!   webhook), the same way.
//! - `push` (every second) takes the oldest marked SKUs, computes the
//!   physical quantity Centra should hold (the stock equation in
//!   `seam_model::stock`), and sets those that changed in one write, as many
//!   SKUs per mutation as the batch allows, inside the connector's budget.
//!
//! Every movement and push is on the SKU's timeline.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use seam_connectors::roles::{FeedEventKind, StorefrontStock, WarehouseFeed};
use seam_engine::scheduler::ScheduledTask;
use seam_engine::{
    Commit, ExceptionDraft, Failure, HandlerRegistry, InboundEvent, Job, JobContext, JobHandler,
    JobSpec, Mark, MarkedKey, Millis, NewException, Outcome, StateWrite, TimelineEntry,
};
use seam_model::mapping::MappingTables;
use seam_model::stock::{StockEquation, StockPosition};
use seam_model::OwnerTeam;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::store_failure;

pub const FLOW: &str = "stock";
/// Keys: SKUs whose sellable quantity changed since the last push.
pub const PUSH_SET: &str = "stock-push";
/// Keys: SKUs whose physical stock Centra changed by itself (a completed
/// shipment lowers it): set again at the next push even when the value is
/// the one Seam set last, since Centra no longer holds it.
pub const REPUSH_SET: &str = "stock-repush";

/// The marks that have the next push set `skus` again, whatever Seam set
/// last: for a flow whose write to Centra changed Centra's physical stock.
pub fn repush_marks<'a>(skus: impl IntoIterator<Item = &'a str>) -> Vec<Mark> {
    skus.into_iter()
        .map(|sku| Mark {
            set: REPUSH_SET.into(),
            key: sku.to_string(),
        })
        .collect()
}
const FEED_ENTITY: &str = "warehouse-feed";
const PUSH_ENTITY: &str = "stock-push";
/// The state kept per SKU of what was last set in the storefront; separate
/// from the position so that a push never overwrites a movement.
const PUSHED_FLOW: &str = "stock-pushed";
const READBACK_ENTITY: &str = "stock-readback";
/// Per SKU: how many read-backs in a row found drift, and what the last
/// read-back found (the reconciler reports it).
pub const DRIFT_FLOW: &str = "stock-drift";
/// Read-backs in a row that must find drift before it is raised as an exception.
pub const DRIFT_RAISED_AFTER: i64 = 3;

/// The job `seam stock resync` enqueues: a poll that starts from a fresh snapshot.
pub fn resync_job() -> seam_engine::NewJob {
    seam_engine::NewJob {
        spec: JobSpec::new(FLOW, "poll_feed", FEED_ENTITY),
        payload: json!({ "resync": true }),
    }
}

/// The entity and flow whose state version moves each time the feed is polled.
pub const FEED_STATE: (&str, &str) = (FEED_ENTITY, FLOW);

pub fn sku_entity(sku: &str) -> String {
    format!("sku:{sku}")
}

fn sku_of(entity: &str) -> &str {
    entity.strip_prefix("sku:").unwrap_or(entity)
}

/// A SKU's units by warehouse status and what the mapping makes of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SkuStock {
    pub by_status: BTreeMap<String, i64>,
    pub sellable: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Pushed {
    physical: i64,
    at: Millis,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MovementPayload {
    sku: String,
    from: String,
    to: String,
    quantity: i64,
    occurred_at: String,
}

#[derive(Debug, Clone, Copy)]
pub struct StockSettings {
    /// Messages read per feed page (the warehouse serves up to 5,000).
    pub feed_page: usize,
    /// Pages read per poll before committing the cursor.
    pub feed_pages_per_poll: usize,
    /// SKUs set per storefront write.
    pub push_batch: usize,
    pub poll_every: Duration,
    pub push_every: Duration,
    /// How often a slice of SKUs is read back from the storefront.
    pub readback_every: Duration,
    /// SKUs read back per run: the whole catalogue is covered in turn.
    pub readback_slice: u32,
    /// Units of each SKU held back from Centra (see the stock equation).
    pub safety_buffer: i64,
}

impl Default for StockSettings {
    fn default() -> Self {
        StockSettings {
            feed_page: 5_000,
            feed_pages_per_poll: 4,
            push_batch: 2_000,
            poll_every: Duration::from_secs(1),
            push_every: Duration::from_secs(1),
            readback_every: Duration::from_secs(30),
            readback_slice: 2_000,
            safety_buffer: 0,
        }
    }
}

impl From<&seam_config::StockConfig> for StockSettings {
    fn from(config: &seam_config::StockConfig) -> Self {
        StockSettings {
            push_batch: config.push_batch,
            poll_every: config.poll_every,
            push_every: config.push_every,
            readback_every: config.readback_every,
            readback_slice: config.readback_slice,
            safety_buffer: i64::from(config.safety_buffer),
            ..StockSettings::default()
        }
    }
}

pub struct StockFlow {
    pub feed: Arc<dyn WarehouseFeed>,
    pub storefront: Arc<dyn StorefrontStock>,
    pub mappings: Arc<MappingTables>,
    pub settings: StockSettings,
}

impl StockFlow {
    pub fn register(self: &Arc<Self>, registry: &mut HandlerRegistry) {
        registry.register(FLOW, "poll_feed", Arc::new(PollFeed(self.clone())));
        registry.register(FLOW, "movement", Arc::new(ApplyMovement(self.clone())));
        registry.register(FLOW, "push", Arc::new(Push(self.clone())));
        registry.register(FLOW, "remark_status", Arc::new(RemarkStatus));
        registry.register(FLOW, "remark_sku", Arc::new(RemarkSku));
        registry.register(FLOW, "readback", Arc::new(ReadBack(self.clone())));
        registry.register(FLOW, "restock", Arc::new(Restock(self.clone())));
    }

    pub fn scheduled_tasks(&self) -> Vec<ScheduledTask> {
        vec![
            ScheduledTask {
                name: "stock-feed".into(),
                every: self.settings.poll_every,
                spec: JobSpec::new(FLOW, "poll_feed", FEED_ENTITY),
            },
            ScheduledTask {
                name: "stock-push".into(),
                every: self.settings.push_every,
                spec: JobSpec::new(FLOW, "push", PUSH_ENTITY),
            },
            ScheduledTask {
                name: "stock-readback".into(),
                every: self.settings.readback_every,
                spec: JobSpec::new(FLOW, "readback", READBACK_ENTITY),
            },
        ]
    }

    /// The position's sellable units, and an exception per unknown status.
    fn evaluate(&self, sku: &str, position: &StockPosition) -> (i64, Vec<NewException>) {
        let view = position.sellable_quantity(&self.mappings);
        let exceptions = view
            .unknown_statuses
            .iter()
            .map(|status| NewException {
                exception_type: "unmapped_stock_status".into(),
                owner: OwnerTeam::Ops,
                spec: JobSpec::new(FLOW, "remark_status", format!("stock-status:{status}")),
                message: format!(
                    "The warehouse reports units in status '{status}' (first seen on {sku}), which \
                     no mapping names; they count as not sellable."
                ),
                fix_hint: format!(
                    "Add \"{status}\" to mappings.stock_statuses as sellable or not_sellable, then \
                     resubmit (rerun) to push every SKU holding it again."
                ),
                payload: json!({ "status": status }),
                attempts: 1,
            })
            .collect();
        (view.sellable, exceptions)
    }
}

async fn load<T: serde::de::DeserializeOwned + Default>(
    ctx: &JobContext,
    entity: &str,
    flow: &str,
) -> Result<T, Outcome> {
    match ctx.store.entity_state(entity, flow).await {
        Ok(Some(state)) => serde_json::from_value(state.state).map_err(|e| {
            Outcome::failed(Failure::data(format!(
                "stored {flow} state of {entity} no longer decodes: {e}"
            )))
        }),
        Ok(None) => Ok(T::default()),
        Err(error) => Err(store_failure(error)),
    }
}

struct PollFeed(Arc<StockFlow>);

#[derive(Debug, Default, Serialize, Deserialize)]
struct FeedState {
    cursor: Option<u64>,
}

#[async_trait]
impl JobHandler for PollFeed {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let state: FeedState = match load(ctx, FEED_ENTITY, FLOW).await {
            Ok(state) => state,
            Err(outcome) => return outcome,
        };
        // `seam stock resync` asks for a fresh snapshot. It is safe while
        // trading goes on: the snapshot says which feed position it reflects,
        // the feed continues from there, and Centra is given physical
        // quantities, from which it subtracts its own allocations itself.
        let resync = job
            .payload
            .get("resync")
            .and_then(|r| r.as_bool())
            .unwrap_or(false);
        let mut commit = Commit::default();
        let cursor = match state.cursor.filter(|_| !resync) {
            Some(cursor) => cursor,
            None => {
                // First run (or after a resync): start from the snapshot.
                let snapshot = match flow.feed.stock_snapshot().await {
                    Ok(snapshot) => snapshot,
                    Err(failure) => return Outcome::failed(failure),
                };
                for (sku, counts) in &snapshot.by_sku {
                    let sku = flow.mappings.canonical_sku(sku).to_string();
                    let position = StockPosition::from_counts(
                        counts.iter().map(|(s, n)| (s.as_str(), *n as i64)),
                    );
                    let (sellable, exceptions) = flow.evaluate(&sku, &position);
                    commit.exceptions.extend(exceptions);
                    let stock = SkuStock {
                        by_status: position.by_status,
                        sellable,
                    };
                    commit.state.push(StateWrite {
                        entity_key: sku_entity(&sku),
                        flow: FLOW.into(),
                        state: json!(stock),
                    });
                    commit.marks.push(Mark {
                        set: PUSH_SET.into(),
                        key: sku.clone(),
                    });
                    commit.timeline.push(TimelineEntry {
                        entity_key: sku_entity(&sku),
                        at: ctx.now,
                        system: "warehouse".into(),
                        step: "snapshot".into(),
                        detail: format!("sellable {sellable} of {}", counts.values().sum::<u64>()),
                    });
                }
                let Some(cursor) = snapshot.feed_cursor else {
                    // Without it, replaying the feed from the start would count
                    // movements the snapshot already holds twice.
                    return Outcome::Exception(ExceptionDraft::new(
                        "snapshot_without_feed_position",
                        OwnerTeam::Engineering,
                        "The warehouse's stock snapshot does not say which feed position it \
                         reflects, so the feed cannot be joined to it without counting units twice.",
                        "Ask the warehouse to send the feed cursor with the snapshot, then resubmit.",
                    ));
                };
                // The snapshot commits on its own; the next poll continues
                // the feed from the position it reflects.
                commit.state.push(StateWrite {
                    entity_key: FEED_ENTITY.into(),
                    flow: FLOW.into(),
                    state: json!(FeedState {
                        cursor: Some(cursor)
                    }),
                });
                return Outcome::Done(commit);
            }
        };
        let mut cursor = cursor;
        let mut events = Vec::new();
        // Movements are applied here, in feed order, to the positions of the
        // SKUs they touch, and committed with the cursor in one transaction:
        // the cursor is what makes each movement count once (a crash re-reads
        // from the committed cursor). A job per movement would serialise a
        // hot SKU's movements one claim round each and fall behind at peak.
        let mut movements: Vec<(String, String, seam_connectors::roles::StockMovementEvent)> =
            Vec::new();
        for _ in 0..flow.settings.feed_pages_per_poll.max(1) {
            let batch = match flow
                .feed
                .events_after(cursor, flow.settings.feed_page)
                .await
            {
                Ok(batch) => batch,
                Err(failure) if events.is_empty() && movements.is_empty() => {
                    return Outcome::failed(failure)
                }
                // Keep what was read; the next poll continues from here.
                Err(_) => break,
            };
            for event in batch.events {
                match event.kind {
                    FeedEventKind::Movement(m) => {
                        let sku = flow.mappings.canonical_sku(&m.sku).to_string();
                        movements.push((sku, event.id, m));
                    }
                    // Dispatches and return receipts belong to their own flows:
                    // journaled with the warehouse's message id, as jobs.
                    FeedEventKind::Other { kind, payload } => {
                        let flow_name = if kind == "return_receipt" {
                            "returns"
                        } else {
                            "fulfilment"
                        };
                        events.push(InboundEvent {
                            source: "warehouse".into(),
                            event_id: event.id.clone(),
                            payload,
                            job: JobSpec::new(
                                flow_name,
                                &kind,
                                format!("warehouse-message:{}", event.id),
                            ),
                        });
                    }
                }
            }
            cursor = batch.next_cursor;
            if !batch.has_more {
                break;
            }
        }
        let mut touched: Vec<String> = Vec::new();
        for (sku, _, _) in &movements {
            if !touched.contains(sku) {
                touched.push(sku.clone());
            }
        }
        let entities: Vec<String> = touched.iter().map(|sku| sku_entity(sku)).collect();
        let stored = match ctx.store.entity_states_of(FLOW, &entities).await {
            Ok(stored) => stored,
            Err(error) => return store_failure(error),
        };
        // (position, sellable before, movements applied, first and last message)
        let mut positions: HashMap<String, (SkuStock, i64, usize, String, String)> = HashMap::new();
        for (sku, message_id, m) in movements {
            let entry = positions.entry(sku.clone()).or_insert_with(|| {
                let stock: SkuStock = stored
                    .get(&sku_entity(&sku))
                    .and_then(|s| serde_json::from_value(s.state.clone()).ok())
                    .unwrap_or_default();
                let before = stock.sellable;
                (stock, before, 0, message_id.clone(), message_id.clone())
            });
            entry
                .0
                .by_status
                .entry(m.from.clone())
                .and_modify(|n| *n -= m.quantity)
                .or_insert(-m.quantity);
            *entry.0.by_status.entry(m.to.clone()).or_insert(0) += m.quantity;
            entry.2 += 1;
            entry.4 = message_id;
        }
        for sku in touched {
            let Some((stock, before, applied, first, last)) = positions.remove(&sku) else {
                continue;
            };
            let position = StockPosition {
                by_status: stock.by_status,
            };
            let (sellable, exceptions) = flow.evaluate(&sku, &position);
            commit.exceptions.extend(exceptions);
            if sellable != before {
                commit.marks.push(Mark {
                    set: PUSH_SET.into(),
                    key: sku.clone(),
                });
            }
            // One timeline step per SKU per poll, naming the messages it covers.
            commit.timeline.push(TimelineEntry {
                entity_key: sku_entity(&sku),
                at: ctx.now,
                system: "warehouse".into(),
                step: "movement".into(),
                detail: if applied == 1 {
                    format!("message {first}; sellable {before} → {sellable}")
                } else {
                    format!("{applied} movements (messages {first} … {last}); sellable {before} → {sellable}")
                },
            });
            let updated = SkuStock {
                by_status: position.by_status,
                sellable,
            };
            commit.state.push(StateWrite {
                entity_key: sku_entity(&sku),
                flow: FLOW.into(),
                state: json!(updated),
            });
        }
        // Unknown statuses seen many times in one poll are one exception each.
        commit
            .exceptions
            .dedup_by(|a, b| a.spec.entity_key == b.spec.entity_key);
        // Journal before advancing the cursor: a crash in between re-reads
        // the same messages, which the journal then recognises.
        if !events.is_empty() {
            if let Err(error) = ctx.store.ingest(&events, ctx.now).await {
                return store_failure(error);
            }
        }
        commit.state.push(StateWrite {
            entity_key: FEED_ENTITY.into(),
            flow: FLOW.into(),
            state: json!(FeedState {
                cursor: Some(cursor)
            }),
        });
        Outcome::Done(commit)
    }
}

struct ApplyMovement(Arc<StockFlow>);

#[async_trait]
impl JobHandler for ApplyMovement {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let movement: MovementPayload = match job.decode() {
            Ok(m) => m,
            Err(failure) => return Outcome::failed(failure),
        };
        let entity = job.spec.entity_key.clone();
        let stock: SkuStock = match load(ctx, &entity, FLOW).await {
            Ok(stock) => stock,
            Err(outcome) => return outcome,
        };
        let mut position = StockPosition {
            by_status: stock.by_status,
        };
        position.apply_movement(&movement.from, &movement.to, movement.quantity);
        let (sellable, exceptions) = self.0.evaluate(&movement.sku, &position);
        let updated = SkuStock {
            by_status: position.by_status,
            sellable,
        };
        Outcome::Done(Commit {
            state: vec![StateWrite {
                entity_key: entity.clone(),
                flow: FLOW.into(),
                state: json!(updated),
            }],
            marks: if sellable != stock.sellable {
                vec![Mark {
                    set: PUSH_SET.into(),
                    key: movement.sku.clone(),
                }]
            } else {
                Vec::new()
            },
            timeline: vec![TimelineEntry {
                entity_key: entity,
                at: ctx.now,
                system: "warehouse".into(),
                step: "movement".into(),
                detail: format!(
                    "{} × {} → {} (sellable {} → {sellable})",
                    movement.quantity, movement.from, movement.to, stock.sellable
                ),
            }],
            exceptions,
            ..Default::default()
        })
    }
}

struct Push(Arc<StockFlow>);

#[async_trait]
impl JobHandler for Push {
    async fn handle(&self, _job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let limit = flow.settings.push_batch as u32;
        let (mut marks, forced) = match (
            ctx.store.marked(PUSH_SET, limit).await,
            ctx.store.marked(REPUSH_SET, limit).await,
        ) {
            (Ok(marks), Ok(forced)) => (marks, forced),
            (Err(error), _) | (_, Err(error)) => return store_failure(error),
        };
        let forced_keys: std::collections::HashSet<String> =
            forced.iter().map(|m| m.key.clone()).collect();
        for mark in &forced {
            if !marks.iter().any(|m| m.key == mark.key) {
                marks.push(MarkedKey {
                    key: mark.key.clone(),
                    first_marked_at: mark.first_marked_at,
                    // Not in the push set: nothing there to clear.
                    version: -1,
                });
            }
        }
        if marks.is_empty() {
            return Outcome::done();
        }
        let mut levels = Vec::new();
        let mut commit = Commit::default();
        let entities: Vec<String> = marks.iter().map(|m| sku_entity(&m.key)).collect();
        let (positions, pushed_before) = match (
            ctx.store.entity_states_of(FLOW, &entities).await,
            ctx.store.entity_states_of(PUSHED_FLOW, &entities).await,
        ) {
            (Ok(positions), Ok(pushed)) => (positions, pushed),
            (Err(error), _) | (_, Err(error)) => return store_failure(error),
        };
        for mark in &marks {
            let entity = sku_entity(&mark.key);
            let stock: SkuStock = positions
                .get(&entity)
                .and_then(|s| serde_json::from_value(s.state.clone()).ok())
                .unwrap_or_default();
            let pushed: Option<Pushed> = pushed_before
                .get(&entity)
                .and_then(|s| serde_json::from_value(s.state.clone()).ok());
            // Dispatched-but-not-yet-shipped units join this once the
            // fulfilment flow records them; until then the term is zero.
            let target = StockEquation {
                sellable_at_3pl: stock.sellable,
                safety_buffer: flow.settings.safety_buffer,
                ..Default::default()
            }
            .centra_physical();
            if forced_keys.contains(&mark.key)
                || pushed.as_ref().map(|p| p.physical) != Some(target)
            {
                levels.push((mark.key.clone(), target));
                commit.state.push(StateWrite {
                    entity_key: entity.clone(),
                    flow: PUSHED_FLOW.into(),
                    state: json!(Pushed {
                        physical: target,
                        at: ctx.now
                    }),
                });
                commit.timeline.push(TimelineEntry {
                    entity_key: entity,
                    at: ctx.now,
                    system: "centra".into(),
                    step: "stock set".into(),
                    detail: format!(
                        "physical {target} ({} ms after the change)",
                        (ctx.now - mark.first_marked_at).max(0)
                    ),
                });
            }
            if mark.version >= 0 {
                commit.cleared_marks.push((PUSH_SET.into(), mark.clone()));
            }
        }
        for mark in forced {
            commit.cleared_marks.push((REPUSH_SET.into(), mark));
        }
        if !levels.is_empty() {
            let refused = match push_isolating_refusals(flow.storefront.as_ref(), levels).await {
                Ok(refused) => refused,
                // Nothing is cleared: the marks stay and the next push retries.
                Err(failure) => return Outcome::failed(failure),
            };
            for (sku, reason) in refused {
                let entity = sku_entity(&sku);
                // Not recorded as pushed, so a later change or a resubmit pushes it again.
                commit
                    .state
                    .retain(|w| !(w.entity_key == entity && w.flow == PUSHED_FLOW));
                commit
                    .timeline
                    .retain(|t| !(t.entity_key == entity && t.step == "stock set"));
                commit.exceptions.push(NewException {
                    exception_type: "stock_refused_by_storefront".into(),
                    owner: OwnerTeam::Merchandising,
                    spec: JobSpec::new(FLOW, "remark_sku", entity.clone()),
                    message: format!("Centra refused the stock of {sku}: {reason}"),
                    fix_hint: format!(
                        "Check that {sku} exists in Centra with the same SKU as at the warehouse (or \
                         add an alias in mappings.sku_aliases), then resubmit."
                    ),
                    payload: json!({ "sku": sku }),
                    attempts: 1,
                });
            }
        }
        Outcome::Done(commit)
    }
}

/// Sets the levels in as few writes as the storefront accepts: a batch the
/// storefront refuses as bad data is split in halves until the refusing SKUs
/// stand alone, so one unknown SKU never holds back the stock of the others.
/// Returns the SKUs refused, with the storefront's reason.
async fn push_isolating_refusals(
    storefront: &dyn StorefrontStock,
    levels: Vec<(String, i64)>,
) -> Result<Vec<(String, String)>, Failure> {
    let mut refused = Vec::new();
    let mut pending = vec![levels];
    while let Some(batch) = pending.pop() {
        let description = format!("seam: {} SKUs from the warehouse", batch.len());
        match storefront.set_physical(&batch, &description).await {
            Ok(()) => {}
            Err(failure) if failure.class == seam_engine::FailureClass::Data => {
                if batch.len() == 1 {
                    refused.push((batch[0].0.clone(), failure.message));
                } else {
                    let mut first = batch;
                    let second = first.split_off(first.len() / 2);
                    pending.push(second);
                    pending.push(first);
                }
            }
            Err(failure) => return Err(failure),
        }
    }
    Ok(refused)
}

/// Reads a slice of SKUs back from the storefront and compares what it
/// shows as free to sell with the warehouse's truth. Free-to-allocate can
/// never exceed the sellable units (it is physical minus allocations, and
/// physical is set to the sellable units), so more than that is drift that no
/// in-flight order explains: someone or something else changed the
/// storefront's stock, or a push was lost. The SKU is pushed again and the
/// drift recorded; drift found on several read-backs in a row is raised.
/// (Less than sellable is what in-flight orders explain, and errs low.)
struct ReadBack(Arc<StockFlow>);

#[derive(Debug, Default, Serialize, Deserialize)]
struct ReadBackState {
    after: String,
}

#[async_trait]
impl JobHandler for ReadBack {
    async fn handle(&self, _job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let state: ReadBackState = match load(ctx, READBACK_ENTITY, FLOW).await {
            Ok(state) => state,
            Err(outcome) => return outcome,
        };
        let page = match ctx
            .store
            .entity_states(FLOW, &state.after, flow.settings.readback_slice)
            .await
        {
            Ok(page) => page,
            Err(error) => return store_failure(error),
        };
        let next_after = page.last().map(|(key, _)| key.clone()).unwrap_or_default();
        let sellable: BTreeMap<String, i64> = page
            .iter()
            .filter(|(key, _)| key.starts_with("sku:"))
            .filter_map(|(key, state)| {
                let stock: SkuStock = serde_json::from_value(state.state.clone()).ok()?;
                Some((sku_of(key).to_string(), stock.sellable))
            })
            .collect();
        let mut commit = Commit::default();
        commit.state.push(StateWrite {
            entity_key: READBACK_ENTITY.into(),
            flow: FLOW.into(),
            state: json!(ReadBackState { after: next_after }),
        });
        if sellable.is_empty() {
            return Outcome::Done(commit);
        }
        let skus: Vec<String> = sellable.keys().cloned().collect();
        let shown = match flow.storefront.free_to_allocate(&skus).await {
            Ok(shown) => shown,
            Err(failure) => return Outcome::failed(failure),
        };
        for (sku, truth) in &sellable {
            let Some(free) = shown.get(sku).copied() else {
                continue;
            };
            let entity = sku_entity(sku);
            let previous: i64 = match ctx.store.entity_state(&entity, DRIFT_FLOW).await {
                Ok(state) => state
                    .and_then(|s| s.state.get("in_a_row").and_then(|n| n.as_i64()))
                    .unwrap_or(0),
                Err(error) => return store_failure(error),
            };
            let drifting = free > *truth;
            let in_a_row = if drifting { previous + 1 } else { 0 };
            if in_a_row != previous {
                commit.state.push(StateWrite {
                    entity_key: entity.clone(),
                    flow: DRIFT_FLOW.into(),
                    state: json!({ "in_a_row": in_a_row, "free": free, "sellable": truth }),
                });
            }
            commit.timeline.push(TimelineEntry {
                entity_key: entity.clone(),
                at: ctx.now,
                system: "centra".into(),
                step: if drifting {
                    "drift found".into()
                } else {
                    "read back".into()
                },
                detail: format!(
                    "Centra shows {free} free to sell; the warehouse has {truth} sellable"
                ),
            });
            if drifting {
                commit.marks.push(Mark {
                    set: PUSH_SET.into(),
                    key: sku.clone(),
                });
                // Forget what was pushed, so the correction is sent even if
                // the target did not change.
                commit.state.push(StateWrite {
                    entity_key: entity.clone(),
                    flow: PUSHED_FLOW.into(),
                    state: json!(Pushed {
                        physical: -1,
                        at: ctx.now
                    }),
                });
                if in_a_row >= DRIFT_RAISED_AFTER {
                    commit.exceptions.push(NewException {
                        exception_type: "stock_drift_persists".into(),
                        owner: OwnerTeam::Ops,
                        spec: JobSpec::new(FLOW, "remark_sku", entity.clone()),
                        message: format!(
                            "Centra keeps showing more of {sku} free to sell ({free}) than the \
                             warehouse can sell ({truth}), after {in_a_row} corrections."
                        ),
                        fix_hint: "Find what else writes stock to this Centra warehouse (another \
                                   integration, a manual edit) and stop it; then resubmit."
                            .into(),
                        payload: json!({ "sku": sku }),
                        attempts: in_a_row as i32,
                    });
                }
            }
        }
        Outcome::Done(commit)
    }
}

/// A returned unit graded sellable (an effect of the returns flow, keyed by
/// the warehouse return): the SKU's stock is set in the storefront now,
/// from the position that already counts the unit, rather than waiting for
/// the next push. The level is absolute, so a replay sets the same number
/// again and never adds a unit twice. A storefront that keeps failing ends
/// in an exception for Ops holding the restock; one that refuses it, at once.
struct Restock(Arc<StockFlow>);

#[async_trait]
impl JobHandler for Restock {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let flow = &self.0;
        let entity = job.spec.entity_key.clone();
        let sku = sku_of(&entity).to_string();
        let units = job
            .payload
            .get("units")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let case = job
            .payload
            .get("return")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let order = job.payload.get("order").and_then(|v| v.as_str());
        let stock: SkuStock = match load(ctx, &entity, FLOW).await {
            Ok(stock) => stock,
            Err(outcome) => return outcome,
        };
        let target = StockEquation {
            sellable_at_3pl: stock.sellable,
            safety_buffer: flow.settings.safety_buffer,
            ..Default::default()
        }
        .centra_physical();
        let description = format!("seam: restock of return {case}");
        if let Err(failure) = flow
            .storefront
            .set_physical(&[(sku.clone(), target)], &description)
            .await
        {
            let exception = ExceptionDraft::new(
                if failure.class == seam_engine::FailureClass::Data {
                    "restock_refused"
                } else {
                    "restock_failed"
                },
                OwnerTeam::Ops,
                format!(
                    "Return {case}: {units} × {sku} was graded sellable, but Centra did not take the restock: {}",
                    failure.message
                ),
                format!(
                    "Check {sku} in Centra (does it exist in the warehouse Seam writes to?), then resubmit; the unit stays unsold until then."
                ),
            );
            return if failure.class == seam_engine::FailureClass::Data {
                Outcome::Exception(exception)
            } else {
                Outcome::Failed {
                    failure,
                    exception: Some(exception),
                }
            };
        }
        let detail = format!("{units} × {sku} back in sellable stock: Centra now holds {target}");
        let mut timeline = vec![TimelineEntry {
            entity_key: entity.clone(),
            at: ctx.now,
            system: "centra".into(),
            step: "restocked".into(),
            detail: format!("return {case}: {detail}"),
        }];
        if let Some(order) = order {
            timeline.extend(crate::returns::steps(
                order,
                case,
                ctx.now,
                "centra",
                "restocked",
                detail,
            ));
        }
        Outcome::Done(Commit {
            state: vec![StateWrite {
                entity_key: entity,
                flow: PUSHED_FLOW.into(),
                state: json!(Pushed {
                    physical: target,
                    at: ctx.now
                }),
            }],
            timeline,
            ..Default::default()
        })
    }
}

/// Resubmit target of `stock_refused_by_storefront`: pushes the SKU again.
struct RemarkSku;

#[async_trait]
impl JobHandler for RemarkSku {
    async fn handle(&self, job: &Job, _ctx: &JobContext) -> Outcome {
        let sku = sku_of(&job.spec.entity_key).to_string();
        Outcome::Done(Commit {
            marks: vec![Mark {
                set: PUSH_SET.into(),
                key: sku,
            }],
            ..Default::default()
        })
    }
}

/// Resubmit target of `unmapped_stock_status`: marks every SKU holding the
/// status, so the mapping now in force is pushed.
struct RemarkStatus;

#[async_trait]
impl JobHandler for RemarkStatus {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome {
        let Some(status) = job.payload.get("status").and_then(|s| s.as_str()) else {
            return Outcome::Exception(ExceptionDraft::new(
                "invalid_data",
                OwnerTeam::Engineering,
                "The resubmitted payload has no \"status\".",
                "Resubmit with --mode replay or an edited payload {\"status\": \"...\"}.",
            ));
        };
        let mut marks = Vec::new();
        let mut after = String::new();
        loop {
            let page = match ctx.store.entity_states(FLOW, &after, 1_000).await {
                Ok(page) => page,
                Err(error) => return store_failure(error),
            };
            let Some((last, _)) = page.last() else { break };
            after = last.clone();
            for (entity, state) in &page {
                let holds = state
                    .state
                    .get("by_status")
                    .and_then(|b| b.get(status))
                    .and_then(|n| n.as_i64());
                if holds.is_some_and(|n| n > 0) {
                    marks.push(Mark {
                        set: PUSH_SET.into(),
                        key: sku_of(entity).to_string(),
                    });
                }
            }
        }
        Outcome::Done(Commit {
            marks,
            ..Default::default()
        })
    }
}
