//! The store contract: behaviour both backends must show, as test bodies.
//!
//! `tests/store_contract.rs` runs every function here against a fresh
//! SQLite file and, when `SEAM_TEST_DATABASE_URL` is set, against a fresh
//! PostgreSQL schema. Each body panics on a broken contract.

use std::collections::HashSet;
use std::sync::Arc;

use seam_model::OwnerTeam;
use serde_json::json;

use super::{Completion, CompletionResult, Store};
use crate::handler::Commit;
use crate::types::*;

fn event(source: &str, id: &str, entity: &str) -> InboundEvent {
    InboundEvent {
        source: source.into(),
        event_id: id.into(),
        payload: json!({ "id": id }),
        job: JobSpec::new("test", "noop", entity),
    }
}

fn done(job_id: JobId) -> Completion {
    Completion {
        job_id,
        result: CompletionResult::Done(Commit::default()),
    }
}

fn park(job: &Job, exception_type: &str) -> Completion {
    Completion {
        job_id: job.id,
        result: CompletionResult::Park(NewException {
            exception_type: exception_type.into(),
            owner: OwnerTeam::Ops,
            spec: job.spec.clone(),
            message: format!("{exception_type} for {}", job.spec.entity_key),
            fix_hint: "fix it".into(),
            payload: job.payload.clone(),
            attempts: job.attempts,
        }),
    }
}

/// The names of every contract test, for the instantiating macro's callers.
pub fn suite() -> &'static [&'static str] {
    &[
        "journal_deduplicates_by_source_and_event_id",
        "one_job_per_entity_runs_at_a_time_in_arrival_order",
        "an_expired_lease_is_claimed_again",
        "a_stale_completion_is_ignored",
        "a_retry_holds_back_only_its_own_entity",
        "exceptions_are_grouped_and_hold_their_entity_until_closed",
        "resubmits_are_audited_and_success_resolves",
        "a_resubmit_that_raises_its_problem_again_leaves_it_open",
        "effects_are_enqueued_once_per_idempotency_key",
        "timeline_links_and_state",
        "release_gives_jobs_back",
        "shared_budget_spaces_units",
        "marks_keep_changes_made_while_working",
        "a_postponed_job_keeps_its_attempts",
        "the_active_queue_and_the_journal_can_be_read_whole",
        "variances_open_update_and_clear_by_check",
        "work_in_flight_is_told_by_entity",
        "states_page_by_key_as_text",
    ]
}

pub async fn journal_deduplicates_by_source_and_event_id(store: Arc<dyn Store>) {
    let batch = vec![
        event("centra", "1", "order:1"),
        event("centra", "2", "order:2"),
        event("centra", "1", "order:1"),
    ];
    let outcomes = store.ingest(&batch, 1_000).await.unwrap();
    assert!(matches!(outcomes[0], IngestOutcome::Accepted { .. }));
    assert!(matches!(outcomes[1], IngestOutcome::Accepted { .. }));
    assert_eq!(
        outcomes[2],
        IngestOutcome::Duplicate,
        "a repeat within one batch is a duplicate"
    );
    let again = store
        .ingest(
            &[
                event("centra", "2", "order:2"),
                event("adyen", "2", "order:2"),
            ],
            2_000,
        )
        .await
        .unwrap();
    assert_eq!(again[0], IngestOutcome::Duplicate);
    assert!(
        matches!(again[1], IngestOutcome::Accepted { .. }),
        "ids are per source"
    );
    let jobs = store.claim("w", 100, 10_000, 3_000).await.unwrap();
    assert_eq!(
        jobs.len(),
        2,
        "one job per new event, and order:2's second waits its turn"
    );
    let IngestOutcome::Accepted { journal_id, .. } = outcomes[0] else {
        unreachable!()
    };
    let entry = store.journal_entry(journal_id).await.unwrap().unwrap();
    assert_eq!(
        (entry.source.as_str(), entry.event_id.as_str()),
        ("centra", "1")
    );
}

pub async fn one_job_per_entity_runs_at_a_time_in_arrival_order(store: Arc<dyn Store>) {
    let events: Vec<_> = (0..6)
        .map(|i| {
            event(
                "s",
                &i.to_string(),
                if i % 2 == 0 { "order:a" } else { "order:b" },
            )
        })
        .collect();
    store.ingest(&events, 0).await.unwrap();
    let mut seen: Vec<String> = Vec::new();
    for round in 0..3 {
        let jobs = store.claim("w", 100, 10_000, 10).await.unwrap();
        assert_eq!(jobs.len(), 2, "round {round}: one job of each entity");
        let entities: HashSet<_> = jobs.iter().map(|j| j.spec.entity_key.clone()).collect();
        assert_eq!(entities.len(), 2);
        assert!(store
            .claim("other", 100, 10_000, 10)
            .await
            .unwrap()
            .is_empty());
        for job in &jobs {
            seen.push(job.payload["id"].as_str().unwrap().to_string());
        }
        store
            .complete("w", jobs.iter().map(|j| done(j.id)).collect(), 20)
            .await
            .unwrap();
    }
    let a: Vec<_> = seen
        .iter()
        .filter(|id| id.parse::<u32>().unwrap() % 2 == 0)
        .cloned()
        .collect();
    assert_eq!(a, vec!["0", "2", "4"], "arrival order within an entity");
}

pub async fn an_expired_lease_is_claimed_again(store: Arc<dyn Store>) {
    store.ingest(&[event("s", "1", "sku:x")], 0).await.unwrap();
    let first = store.claim("dead", 10, 1_000, 0).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(store
        .claim("alive", 10, 1_000, 500)
        .await
        .unwrap()
        .is_empty());
    let again = store.claim("alive", 10, 1_000, 1_001).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, first[0].id);
    assert_eq!(again[0].attempts, 2);
}

pub async fn a_stale_completion_is_ignored(store: Arc<dyn Store>) {
    store.ingest(&[event("s", "1", "sku:x")], 0).await.unwrap();
    let job = store.claim("slow", 10, 1_000, 0).await.unwrap().remove(0);
    let taken = store.claim("fast", 10, 1_000, 2_000).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(
        store
            .complete("slow", vec![done(job.id)], 2_100)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.job_counts().await.unwrap().running,
        1,
        "the new owner still holds it"
    );
    assert_eq!(
        store
            .complete("fast", vec![done(job.id)], 2_200)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.job_counts().await.unwrap(), JobCounts::default());
}

pub async fn a_retry_holds_back_only_its_own_entity(store: Arc<dyn Store>) {
    store
        .ingest(
            &[
                event("s", "1", "order:bad"),
                event("s", "2", "order:bad"),
                event("s", "3", "order:ok"),
            ],
            0,
        )
        .await
        .unwrap();
    let jobs = store.claim("w", 10, 10_000, 0).await.unwrap();
    assert_eq!(jobs.len(), 2);
    let bad = jobs
        .iter()
        .find(|j| j.spec.entity_key == "order:bad")
        .unwrap();
    let ok = jobs
        .iter()
        .find(|j| j.spec.entity_key == "order:ok")
        .unwrap();
    store
        .complete(
            "w",
            vec![
                Completion {
                    job_id: bad.id,
                    result: CompletionResult::Retry {
                        run_after: 5_000,
                        error: "503".into(),
                    },
                },
                done(ok.id),
            ],
            10,
        )
        .await
        .unwrap();
    store
        .ingest(&[event("s", "4", "order:ok")], 20)
        .await
        .unwrap();
    let next = store.claim("w", 10, 10_000, 100).await.unwrap();
    assert_eq!(next.len(), 1, "the other entity keeps flowing");
    assert_eq!(next[0].spec.entity_key, "order:ok");
    store
        .complete("w", vec![done(next[0].id)], 110)
        .await
        .unwrap();
    assert!(
        store.claim("w", 10, 10_000, 200).await.unwrap().is_empty(),
        "order:bad waits"
    );
    let retried = store.claim("w", 10, 10_000, 5_000).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(
        retried[0].id, bad.id,
        "the retried job keeps its place before event 2"
    );
}

pub async fn exceptions_are_grouped_and_hold_their_entity_until_closed(store: Arc<dyn Store>) {
    store
        .ingest(&[event("s", "1", "order:x"), event("s", "2", "order:x")], 0)
        .await
        .unwrap();
    let job = store.claim("w", 10, 10_000, 0).await.unwrap().remove(0);
    store
        .complete("w", vec![park(&job, "shipping_method_unmapped")], 10)
        .await
        .unwrap();
    assert!(
        store.claim("w", 10, 10_000, 20).await.unwrap().is_empty(),
        "entity held"
    );
    let open = store
        .exceptions(&ExceptionFilter {
            status: Some(ExceptionStatus::Open),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    let exception = &open[0];
    assert_eq!(exception.owner, OwnerTeam::Ops);
    assert_eq!(exception.job_id, Some(job.id));
    assert_eq!(exception.spec.entity_key, "order:x");
    // The same cause for the same entity again is grouped, not repeated.
    let raised = store
        .raise_exceptions(
            &[NewException {
                exception_type: "shipping_method_unmapped".into(),
                owner: OwnerTeam::Ops,
                spec: job.spec.clone(),
                message: "again".into(),
                fix_hint: "fix".into(),
                payload: json!({}),
                attempts: 1,
            }],
            30,
        )
        .await
        .unwrap();
    assert_eq!(raised, vec![exception.id]);
    let grouped = store.exception(exception.id).await.unwrap().unwrap();
    assert_eq!(grouped.occurrences, 2);
    assert_eq!(grouped.last_seen, 30);
    assert_eq!(grouped.first_seen, 10);
    assert_eq!(grouped.payload, job.payload, "the original payload is kept");
    store
        .close_exception(
            exception.id,
            ExceptionStatus::Ignored,
            "ops@brand",
            "posted by hand",
            40,
        )
        .await
        .unwrap();
    let released = store.claim("w", 10, 10_000, 50).await.unwrap();
    assert_eq!(
        released.len(),
        1,
        "closing releases the entity's later jobs"
    );
    assert_eq!(released[0].payload["id"], "2");
    let closed = store.exception(exception.id).await.unwrap().unwrap();
    assert_eq!(closed.status, ExceptionStatus::Ignored);
    assert_eq!(closed.closed_by.as_deref(), Some("ops@brand"));
    assert!(store
        .close_exception(exception.id, ExceptionStatus::Resolved, "x", "", 60)
        .await
        .is_err());
}

/// A resubmitted job that completes but raises the same problem again (a
/// refusal raised without holding the entity): its exception is resolved,
/// and the problem is open again as a new exception, not lost in the old one.
pub async fn a_resubmit_that_raises_its_problem_again_leaves_it_open(store: Arc<dyn Store>) {
    store
        .ingest(&[event("s", "1", "order:again")], 0)
        .await
        .unwrap();
    let job = store.claim("w", 10, 10_000, 0).await.unwrap().remove(0);
    store
        .complete("w", vec![park(&job, "credit_memo_refused")], 10)
        .await
        .unwrap();
    let first = store.exceptions(&ExceptionFilter::default()).await.unwrap()[0].id;
    store
        .resubmit_exception(first, &ResubmitMode::Rerun, "finance", "", 20)
        .await
        .unwrap();
    let rerun = store.claim("w", 10, 10_000, 30).await.unwrap().remove(0);
    let Completion {
        result: CompletionResult::Park(again),
        ..
    } = park(&rerun, "credit_memo_refused")
    else {
        unreachable!()
    };
    let completion = Completion {
        job_id: rerun.id,
        result: CompletionResult::Done(Commit {
            exceptions: vec![again],
            ..Default::default()
        }),
    };
    store.complete("w", vec![completion], 40).await.unwrap();
    let open = store
        .exceptions(&ExceptionFilter {
            status: Some(ExceptionStatus::Open),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1, "the problem is still open");
    assert_ne!(open[0].id, first);
    assert_eq!(
        store.exception(first).await.unwrap().unwrap().status,
        ExceptionStatus::Resolved
    );
}

pub async fn resubmits_are_audited_and_success_resolves(store: Arc<dyn Store>) {
    store
        .ingest(&[event("s", "1", "order:r")], 0)
        .await
        .unwrap();
    let job = store.claim("w", 10, 10_000, 0).await.unwrap().remove(0);
    store
        .complete("w", vec![park(&job, "sku_incomplete")], 10)
        .await
        .unwrap();
    let id = store.exceptions(&ExceptionFilter::default()).await.unwrap()[0].id;

    let job_id = store
        .resubmit_exception(id, &ResubmitMode::Replay, "ops", "try again", 20)
        .await
        .unwrap();
    assert_eq!(
        job_id, job.id,
        "a replay reuses the parked job and its place"
    );
    assert!(
        store
            .resubmit_exception(id, &ResubmitMode::Replay, "ops", "", 21)
            .await
            .is_err(),
        "already queued"
    );
    let replayed = store.claim("w", 10, 10_000, 30).await.unwrap().remove(0);
    assert_eq!(replayed.payload, job.payload);
    assert!(!replayed.rerun);
    store
        .complete("w", vec![park(&replayed, "sku_incomplete")], 40)
        .await
        .unwrap();

    store
        .resubmit_exception(id, &ResubmitMode::Rerun, "ops", "mapping fixed", 50)
        .await
        .unwrap();
    let rerun = store.claim("w", 10, 10_000, 60).await.unwrap().remove(0);
    assert!(rerun.rerun);
    assert_eq!(rerun.attempts, 1, "a resubmit starts the attempts afresh");
    store
        .complete("w", vec![park(&rerun, "sku_incomplete")], 70)
        .await
        .unwrap();

    let edited = json!({ "id": "1", "grade": "A" });
    store
        .resubmit_exception(
            id,
            &ResubmitMode::Edit {
                payload: edited.clone(),
            },
            "merch",
            "added grade",
            80,
        )
        .await
        .unwrap();
    let edit = store.claim("w", 10, 10_000, 90).await.unwrap().remove(0);
    assert_eq!(edit.payload, edited);
    store.complete("w", vec![done(edit.id)], 100).await.unwrap();

    let resolved = store.exception(id).await.unwrap().unwrap();
    assert_eq!(resolved.status, ExceptionStatus::Resolved);
    assert_eq!(resolved.occurrences, 3);
    let audit = store.exception_audit(id).await.unwrap();
    let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "resubmit_replay",
            "resubmit_rerun",
            "resubmit_edit",
            "resolved"
        ]
    );
    assert_eq!(audit[2].actor, "merch");
    assert_eq!(audit[2].detail["payload"], edited);
}

pub async fn effects_are_enqueued_once_per_idempotency_key(store: Arc<dyn Store>) {
    store
        .ingest(&[event("s", "1", "order:e"), event("s", "2", "order:e")], 0)
        .await
        .unwrap();
    let effect = NewEffect {
        spec: JobSpec::new("orders", "post_to_warehouse", "order:e"),
        payload: json!({ "order": "e" }),
        idempotency_key: "order:e:post_to_warehouse".into(),
    };
    let commit = Commit {
        state: vec![StateWrite {
            entity_key: "order:e".into(),
            flow: "orders".into(),
            state: json!({ "stage": "validated" }),
        }],
        effects: vec![effect.clone()],
        ..Default::default()
    };
    let first = store.claim("w", 10, 10_000, 0).await.unwrap().remove(0);
    store
        .complete(
            "w",
            vec![Completion {
                job_id: first.id,
                result: CompletionResult::Done(commit.clone()),
            }],
            10,
        )
        .await
        .unwrap();
    let second = store.claim("w", 10, 10_000, 20).await.unwrap().remove(0);
    assert_eq!(
        second.payload["id"], "2",
        "the second event runs before the effect it did not decide"
    );
    store
        .complete(
            "w",
            vec![Completion {
                job_id: second.id,
                result: CompletionResult::Done(commit),
            }],
            30,
        )
        .await
        .unwrap();
    let effects = store.claim("w", 10, 10_000, 40).await.unwrap();
    assert_eq!(effects.len(), 1);
    assert_eq!(
        effects[0].idempotency_key.as_deref(),
        Some("order:e:post_to_warehouse")
    );
    assert_eq!(effects[0].spec.kind, "post_to_warehouse");
    store
        .complete("w", vec![done(effects[0].id)], 50)
        .await
        .unwrap();
    assert!(
        store.claim("w", 10, 10_000, 60).await.unwrap().is_empty(),
        "never enqueued twice"
    );
    let state = store
        .entity_state("order:e", "orders")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.state["stage"], "validated");
    assert_eq!(state.version, 2);
}

pub async fn timeline_links_and_state(store: Arc<dyn Store>) {
    store
        .ingest(&[event("s", "1", "order:t")], 0)
        .await
        .unwrap();
    let job = store.claim("w", 10, 10_000, 0).await.unwrap().remove(0);
    let commit = Commit {
        timeline: vec![
            TimelineEntry {
                entity_key: "order:t".into(),
                at: 5,
                system: "centra".into(),
                step: "order seen".into(),
                detail: "#100".into(),
            },
            TimelineEntry {
                entity_key: "order:t".into(),
                at: 7,
                system: "warehouse".into(),
                step: "posted".into(),
                detail: "ACS-100".into(),
            },
        ],
        links: vec![Link {
            entity_key: "order:t".into(),
            system: "warehouse".into(),
            external_id: "ACS-100".into(),
        }],
        ..Default::default()
    };
    store
        .complete(
            "w",
            vec![Completion {
                job_id: job.id,
                result: CompletionResult::Done(commit),
            }],
            10,
        )
        .await
        .unwrap();
    store
        .append_timeline(&[TimelineEntry {
            entity_key: "order:t".into(),
            at: 6,
            system: "netsuite".into(),
            step: "posted".into(),
            detail: "SO-1".into(),
        }])
        .await
        .unwrap();
    let steps: Vec<_> = store
        .timeline("order:t")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.system)
        .collect();
    assert_eq!(steps, vec!["centra", "netsuite", "warehouse"]);
    store
        .put_links(
            &[Link {
                entity_key: "order:t".into(),
                system: "netsuite".into(),
                external_id: "77".into(),
            }],
            20,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .find_link("warehouse", "ACS-100")
            .await
            .unwrap()
            .as_deref(),
        Some("order:t")
    );
    assert_eq!(store.find_link("warehouse", "nope").await.unwrap(), None);
    assert_eq!(store.links_of("order:t").await.unwrap().len(), 2);
}

pub async fn release_gives_jobs_back(store: Arc<dyn Store>) {
    store
        .ingest(&[event("s", "1", "a"), event("s", "2", "b")], 0)
        .await
        .unwrap();
    let jobs = store.claim("w", 10, 60_000, 0).await.unwrap();
    let ids: Vec<_> = jobs.iter().map(|j| j.id).collect();
    assert_eq!(store.release("w", &ids).await.unwrap(), 2);
    let again = store.claim("v", 10, 60_000, 1).await.unwrap();
    assert_eq!(
        again.len(),
        2,
        "released jobs are claimable at once, not after the lease"
    );
    assert!(
        again.iter().all(|j| j.attempts == 1),
        "a release does not spend an attempt"
    );
}

pub async fn shared_budget_spaces_units(store: Arc<dyn Store>) {
    // 100 ms between units, a burst of 2.
    assert_eq!(
        store
            .take_budget("centra:mutations", 100, 2, 1_000)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_budget("centra:mutations", 100, 2, 1_000)
            .await
            .unwrap(),
        None
    );
    let wait = store
        .take_budget("centra:mutations", 100, 2, 1_000)
        .await
        .unwrap();
    assert_eq!(wait, Some(100));
    assert_eq!(
        store
            .take_budget("centra:mutations", 100, 2, 1_100)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.take_budget("other", 100, 2, 1_100).await.unwrap(),
        None,
        "buckets are separate"
    );
}

pub async fn marks_keep_changes_made_while_working(store: Arc<dyn Store>) {
    let mark = |key: &str| Mark {
        set: "stock-push".into(),
        key: key.into(),
    };
    store.ingest(&[event("s", "1", "sku:a")], 0).await.unwrap();
    let job = store.claim("w", 10, 10_000, 0).await.unwrap().remove(0);
    let commit = Commit {
        marks: vec![mark("A"), mark("B")],
        ..Default::default()
    };
    store
        .complete(
            "w",
            vec![Completion {
                job_id: job.id,
                result: CompletionResult::Done(commit),
            }],
            100,
        )
        .await
        .unwrap();
    store.mark(&[mark("A")], 150).await.unwrap();
    let taken = store.marked("stock-push", 10).await.unwrap();
    assert_eq!(
        taken.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(),
        vec!["A", "B"]
    );
    assert_eq!(
        taken[0].first_marked_at, 100,
        "a re-mark keeps the first time"
    );
    store.mark(&[mark("B")], 200).await.unwrap();
    assert_eq!(
        store.clear_marks("stock-push", &taken).await.unwrap(),
        1,
        "B changed meanwhile"
    );
    let left = store.marked("stock-push", 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].key, "B");
    assert!(store.marked("other", 10).await.unwrap().is_empty());
}

/// A job held by an open circuit is queued again for later without the
/// attempt counting: attempts are for failures of the work itself.
pub async fn a_postponed_job_keeps_its_attempts(store: Arc<dyn Store>) {
    store
        .ingest(&[event("s", "1", "order:p")], 0)
        .await
        .unwrap();
    let first = store.claim("w", 10, 10_000, 0).await.unwrap().remove(0);
    assert_eq!(first.attempts, 1);
    let postpone = |job_id| Completion {
        job_id,
        result: CompletionResult::Postpone {
            run_after: 5_000,
            reason: "circuit_open: centra is failing repeatedly".into(),
        },
    };
    assert_eq!(
        store
            .complete("w", vec![postpone(first.id)], 10)
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .claim("w", 10, 10_000, 4_999)
            .await
            .unwrap()
            .is_empty(),
        "not before run_after"
    );
    let again = store.claim("w", 10, 10_000, 5_000).await.unwrap().remove(0);
    assert_eq!(again.id, first.id);
    assert_eq!(again.attempts, 1, "the postponed run did not count");
    assert_eq!(
        store
            .complete("other", vec![postpone(again.id)], 5_010)
            .await
            .unwrap(),
        0,
        "only the lease holder postpones"
    );
}

/// What a tool inspecting a run sees: every active job with its schedule
/// and last error, a page at a time, and how far the journal has grown.
pub async fn the_active_queue_and_the_journal_can_be_read_whole(store: Arc<dyn Store>) {
    assert_eq!(store.journal_high_water().await.unwrap(), 0);
    let events: Vec<_> = (0..3)
        .map(|i| event("s", &i.to_string(), &format!("order:{i}")))
        .collect();
    store.ingest(&events, 0).await.unwrap();
    let high = store.journal_high_water().await.unwrap();
    assert!(high > 0);
    store.ingest(&events, 10).await.unwrap();
    assert_eq!(
        store.journal_high_water().await.unwrap(),
        high,
        "duplicates do not move it"
    );
    let claimed = store.claim("w", 1, 10_000, 0).await.unwrap().remove(0);
    store
        .complete(
            "w",
            vec![Completion {
                job_id: claimed.id,
                result: CompletionResult::Retry {
                    run_after: 7_000,
                    error: "transient: the warehouse answered 503".into(),
                },
            }],
            20,
        )
        .await
        .unwrap();
    let first_page = store.active_jobs(0, 2).await.unwrap();
    assert_eq!(first_page.len(), 2);
    let retried = &first_page[0];
    assert_eq!(retried.job.id, claimed.id);
    assert_eq!(retried.run_after, 7_000);
    assert_eq!(
        retried.last_error.as_deref(),
        Some("transient: the warehouse answered 503")
    );
    let rest = store.active_jobs(first_page[1].job.id, 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert!(rest.iter().all(|a| a.job.state == JobState::Queued));
}

fn variance(entity: &str, kind: &str, day: &str, expected: i64, found: i64) -> NewVariance {
    NewVariance {
        variance_type: kind.into(),
        entity_key: entity.into(),
        day: day.into(),
        owner: OwnerTeam::Finance,
        currency: Some("EUR".into()),
        expected: rust_decimal::Decimal::new(expected, 2),
        found: rust_decimal::Decimal::new(found, 2),
        expected_system: "centra".into(),
        found_system: "netsuite".into(),
        detail: format!("{kind} of {entity}"),
    }
}

/// A check opens what it finds, updates what is still open, and clears
/// what it no longer finds for the entities it checked (only those).
pub async fn variances_open_update_and_clear_by_check(store: Arc<dyn Store>) {
    let checked = vec!["order:1".to_string(), "order:2".to_string()];
    let first = store
        .record_variances(
            &checked,
            &[
                variance("order:1", "total_mismatch", "2026-11-03", 9500, 9501),
                variance("order:2", "tax_mismatch", "2026-11-30", 1900, 1899),
                variance("sku:A", "stock_drift", "", 500, 700),
            ],
            1_000,
        )
        .await
        .unwrap();
    assert_eq!(
        first,
        VarianceChanges {
            opened: 3,
            seen_again: 0,
            cleared: 0
        }
    );
    // Order 1 still differs (by more now), order 2 agrees again, sku:A was not checked.
    let second = store
        .record_variances(
            &checked,
            &[variance(
                "order:1",
                "total_mismatch",
                "2026-11-03",
                9500,
                9502,
            )],
            2_000,
        )
        .await
        .unwrap();
    assert_eq!(
        second,
        VarianceChanges {
            opened: 0,
            seen_again: 1,
            cleared: 1
        }
    );
    let all = store
        .variances(&VarianceFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let one = &all[0];
    assert_eq!(one.variance.entity_key, "order:1");
    assert_eq!(one.variance.found, rust_decimal::Decimal::new(9502, 2));
    assert_eq!(one.variance.currency.as_deref(), Some("EUR"));
    assert_eq!(one.variance.owner, OwnerTeam::Finance);
    assert_eq!((one.first_seen, one.last_seen), (1_000, 2_000));
    assert_eq!(one.status, VarianceStatus::Open);
    assert_eq!(all[1].status, VarianceStatus::Cleared);
    assert_eq!(all[1].cleared_at, Some(2_000));
    assert_eq!(all[2].status, VarianceStatus::Open, "sku:A was not checked");

    // By business day (inclusive), by status, and a page at a time.
    let november = |status| VarianceFilter {
        day_from: Some("2026-11-01".into()),
        day_to: Some("2026-11-30".into()),
        status,
        after_id: 0,
        limit: 100,
    };
    assert_eq!(store.variances(&november(None)).await.unwrap().len(), 2);
    let open = store
        .variances(&november(Some(VarianceStatus::Open)))
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    let page = store
        .variances(&VarianceFilter {
            after_id: all[0].id,
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, all[1].id);

    // Found again after clearing: a new variance opens.
    let third = store
        .record_variances(
            &["order:2".to_string()],
            &[variance(
                "order:2",
                "tax_mismatch",
                "2026-11-30",
                1900,
                1898,
            )],
            3_000,
        )
        .await
        .unwrap();
    assert_eq!(third.opened, 1);
}

pub async fn work_in_flight_is_told_by_entity(store: Arc<dyn Store>) {
    store
        .ingest(&[event("s", "1", "order:1"), event("s", "2", "order:2")], 0)
        .await
        .unwrap();
    let keys = vec![
        "order:1".to_string(),
        "order:2".to_string(),
        "order:3".to_string(),
    ];
    let busy = store.entities_in_flight(&keys).await.unwrap();
    assert_eq!(busy.len(), 2);
    let claimed = store.claim("w", 1, 10_000, 0).await.unwrap();
    assert_eq!(
        store.entities_in_flight(&keys).await.unwrap().len(),
        2,
        "running counts"
    );
    store
        .complete("w", vec![done(claimed[0].id)], 10)
        .await
        .unwrap();
    let busy = store.entities_in_flight(&keys).await.unwrap();
    assert_eq!(busy.len(), 1);
    assert!(!busy.contains(&claimed[0].spec.entity_key));
    // A job parked behind an open exception still holds its entity.
    let parked = store.claim("w", 1, 10_000, 20).await.unwrap();
    store
        .complete("w", vec![park(&parked[0], "broken")], 30)
        .await
        .unwrap();
    assert!(store
        .entities_in_flight(&keys)
        .await
        .unwrap()
        .contains(&parked[0].spec.entity_key));
}

/// Entity states a page at a time by key, as their stored JSON text.
pub async fn states_page_by_key_as_text(store: Arc<dyn Store>) {
    store.ingest(&[event("s", "1", "seed")], 0).await.unwrap();
    let job = store.claim("w", 1, 10_000, 0).await.unwrap().remove(0);
    let state = |key: &str, flow: &str| StateWrite {
        entity_key: key.into(),
        flow: flow.into(),
        state: json!({ "key": key, "total": "95.01" }),
    };
    let commit = Commit {
        state: vec![
            state("order:3", "orders"),
            state("order:1", "orders"),
            state("order:2", "orders"),
            state("order:1", "returns"),
        ],
        ..Default::default()
    };
    store
        .complete(
            "w",
            vec![Completion {
                job_id: job.id,
                result: CompletionResult::Done(commit),
            }],
            10,
        )
        .await
        .unwrap();
    let first = store.entity_state_texts("orders", "", 2).await.unwrap();
    assert_eq!(
        first.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        vec!["order:1", "order:2"]
    );
    let decoded: serde_json::Value = serde_json::from_str(&first[0].1).unwrap();
    assert_eq!(decoded, json!({ "key": "order:1", "total": "95.01" }));
    let rest = store
        .entity_state_texts("orders", &first[1].0, 2)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].0, "order:3");
    assert!(store
        .entity_state_texts("orders", "order:3", 2)
        .await
        .unwrap()
        .is_empty());
}
