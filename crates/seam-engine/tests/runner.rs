//! The runner end to end on a real store: outcomes and their default
//! actions, shutdown, and two engines sharing one PostgreSQL database.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use seam_engine::backoff::BackoffPolicy;
use seam_engine::store::{PostgresStore, SqliteStore, Store};
use seam_engine::*;
use serde_json::json;
use tokio_util::sync::CancellationToken;

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (Arc::new(store), dir)
}

fn events(n: usize, entities: usize) -> Vec<InboundEvent> {
    (0..n)
        .map(|i| InboundEvent {
            source: "test".into(),
            event_id: i.to_string(),
            payload: json!({ "seq": i }),
            job: JobSpec::new("test", "record", format!("entity:{}", i % entities)),
        })
        .collect()
}

/// Records every run, and fails the test if two jobs of one entity overlap.
#[derive(Default)]
struct Recorder {
    running: Mutex<HashSet<String>>,
    runs: Mutex<HashMap<i64, usize>>,
    order: Mutex<HashMap<String, Vec<u64>>>,
    overlaps: AtomicUsize,
}

#[async_trait]
impl JobHandler for Recorder {
    async fn handle(&self, job: &Job, _ctx: &JobContext) -> Outcome {
        if !self
            .running
            .lock()
            .unwrap()
            .insert(job.spec.entity_key.clone())
        {
            self.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
        *self.runs.lock().unwrap().entry(job.id).or_default() += 1;
        self.order
            .lock()
            .unwrap()
            .entry(job.spec.entity_key.clone())
            .or_default()
            .push(job.payload["seq"].as_u64().unwrap());
        self.running.lock().unwrap().remove(&job.spec.entity_key);
        Outcome::done()
    }
}

fn runner(store: Arc<dyn Store>, handler: Arc<dyn JobHandler>, worker: &str) -> Runner {
    let mut handlers = HandlerRegistry::new();
    handlers.register("test", "record", handler);
    Runner::new(
        store,
        handlers,
        Arc::new(SystemClock),
        RunnerConfig {
            worker_id: worker.into(),
            batch_size: 64,
            idle_poll: Duration::from_millis(20),
            backoff: BackoffPolicy {
                base: Duration::from_millis(10),
                cap: Duration::from_millis(50),
                max_attempts: 3,
            },
            ..RunnerConfig::default()
        },
    )
}

async fn drain(store: &Arc<dyn Store>) {
    for _ in 0..500 {
        let counts = store.job_counts().await.unwrap();
        if counts.queued == 0 && counts.running == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "jobs did not drain: {:?}",
        store.job_counts().await.unwrap()
    );
}

async fn two_engines_share_the_work(store_a: Arc<dyn Store>, store_b: Arc<dyn Store>) {
    let total = 1_500;
    store_a
        .ingest(&events(total, 40), SystemClock.now_ms())
        .await
        .unwrap();
    let recorder = Arc::new(Recorder::default());
    let stop = CancellationToken::new();
    let a = Arc::new(runner(store_a.clone(), recorder.clone(), "engine-a"));
    let b = Arc::new(runner(store_b, recorder.clone(), "engine-b"));
    let tasks = [a.clone(), b.clone()].map(|r| {
        let stop = stop.clone();
        tokio::spawn(async move { r.run(stop).await })
    });
    drain(&store_a).await;
    stop.cancel();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        recorder.overlaps.load(Ordering::SeqCst),
        0,
        "two jobs of one entity ran at once"
    );
    let runs = recorder.runs.lock().unwrap();
    assert_eq!(runs.len(), total, "every job ran");
    assert!(runs.values().all(|n| *n == 1), "no job ran twice");
    for (entity, seqs) in recorder.order.lock().unwrap().iter() {
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        assert_eq!(&sorted, seqs, "{entity} ran out of arrival order");
    }
    let shared = a.stats().done.load(Ordering::Relaxed) + b.stats().done.load(Ordering::Relaxed);
    assert_eq!(shared, total as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_one_sqlite_store_never_overlap() {
    let (store, _dir) = sqlite().await;
    two_engines_share_the_work(store.clone(), store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_one_postgres_database_never_overlap() {
    let Ok(url) = std::env::var("SEAM_TEST_DATABASE_URL") else {
        eprintln!("SEAM_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let schema = format!("runner_{}", uuid::Uuid::new_v4().simple());
    // Two pools, as two `seam run` processes would have.
    let a = PostgresStore::open_in_schema(&url, Some(&schema))
        .await
        .unwrap();
    a.migrate().await.unwrap();
    let b = PostgresStore::open_in_schema(&url, Some(&schema))
        .await
        .unwrap();
    two_engines_share_the_work(Arc::new(a), Arc::new(b)).await;
}

#[tokio::test]
async fn only_one_postgres_node_leads_scheduled_work() {
    let Ok(url) = std::env::var("SEAM_TEST_DATABASE_URL") else {
        return;
    };
    let schema = format!("leader_{}", uuid::Uuid::new_v4().simple());
    let a = PostgresStore::open_in_schema(&url, Some(&schema))
        .await
        .unwrap();
    let b = PostgresStore::open_in_schema(&url, Some(&schema))
        .await
        .unwrap();
    let name = format!("scheduler-{schema}");
    let lease = a.try_lead(&name).await.unwrap().expect("first node leads");
    assert!(lease.still_held().await);
    assert!(
        b.try_lead(&name).await.unwrap().is_none(),
        "second node must not lead"
    );
    drop(lease);
    let mut taken = None;
    for _ in 0..50 {
        taken = b.try_lead(&name).await.unwrap();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(taken.is_some(), "leadership passes on when the leader goes");
}

/// Fails in a scripted way per entity.
struct Scripted {
    calls: AtomicUsize,
}

#[async_trait]
impl JobHandler for Scripted {
    async fn handle(&self, job: &Job, _ctx: &JobContext) -> Outcome {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match job.spec.entity_key.as_str() {
            "always-503" => Outcome::failed(Failure::transient("warehouse answered 503")),
            "bad-data" => Outcome::Failed {
                failure: Failure::data("shipping method 'Express Saturday' has no service code"),
                exception: Some(ExceptionDraft::new(
                    "shipping_method_unmapped",
                    seam_model::OwnerTeam::Ops,
                    "Order 1001 uses shipping method 'Express Saturday', which has no 3PL service code.",
                    "Add 'Express Saturday' to mappings.shipping_methods, then resubmit.",
                )),
            },
            "dup" => Outcome::failed(Failure::new(FailureClass::Duplicate, "already there")),
            "auth" => Outcome::failed(Failure::new(FailureClass::Auth, "401")),
            "panics" => panic!("boom"),
            _ => Outcome::done(),
        }
    }
}

#[tokio::test]
async fn every_failure_ends_done_retried_or_as_an_exception() {
    let (store, _dir) = sqlite().await;
    let handler = Arc::new(Scripted {
        calls: AtomicUsize::new(0),
    });
    let r = runner(store.clone(), handler.clone(), "w");
    let specs = ["always-503", "bad-data", "dup", "auth", "panics", "fine"];
    let batch: Vec<_> = specs
        .iter()
        .map(|entity| InboundEvent {
            source: "t".into(),
            event_id: entity.to_string(),
            payload: json!({}),
            job: JobSpec::new("test", "record", *entity),
        })
        .chain(std::iter::once(InboundEvent {
            source: "t".into(),
            event_id: "orphan".into(),
            payload: json!({}),
            job: JobSpec::new("nobody", "handles-this", "x"),
        }))
        .collect();
    store.ingest(&batch, SystemClock.now_ms()).await.unwrap();
    let stop = CancellationToken::new();
    for _ in 0..100 {
        r.run_once(&stop).await.unwrap();
        let counts = store.job_counts().await.unwrap();
        if counts.queued == 0 && counts.running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open = store.exceptions(&ExceptionFilter::default()).await.unwrap();
    let by_entity: HashMap<_, _> = open
        .iter()
        .map(|e| (e.spec.entity_key.as_str(), e))
        .collect();
    assert_eq!(by_entity["always-503"].exception_type, "retries_exhausted");
    assert_eq!(
        by_entity["always-503"].attempts, 3,
        "retried up to the configured attempts"
    );
    assert_eq!(
        by_entity["bad-data"].exception_type,
        "shipping_method_unmapped"
    );
    assert_eq!(by_entity["bad-data"].owner, seam_model::OwnerTeam::Ops);
    assert_eq!(
        by_entity["bad-data"].attempts, 1,
        "data errors are not retried"
    );
    assert_eq!(by_entity["auth"].exception_type, "credentials_refused");
    assert_eq!(by_entity["panics"].exception_type, "handler_panicked");
    assert_eq!(by_entity["x"].exception_type, "no_handler");
    assert!(!by_entity.contains_key("dup") && !by_entity.contains_key("fine"));
    assert_eq!(
        store.job_counts().await.unwrap().parked,
        5,
        "parked jobs are kept, not lost"
    );
}

#[tokio::test]
async fn shutdown_releases_what_it_did_not_start() {
    let (store, _dir) = sqlite().await;
    store
        .ingest(&events(10, 10), SystemClock.now_ms())
        .await
        .unwrap();
    let r = runner(store.clone(), Arc::new(Recorder::default()), "w");
    let stop = CancellationToken::new();
    stop.cancel();
    assert_eq!(r.run_once(&stop).await.unwrap(), 10);
    let counts = store.job_counts().await.unwrap();
    assert_eq!(
        (counts.queued, counts.running),
        (10, 0),
        "released, not stuck until the lease ends"
    );
    assert_eq!(r.stats().released.load(Ordering::Relaxed), 10);
}

#[tokio::test]
async fn scheduled_slots_are_enqueued_once_even_by_two_nodes() {
    use seam_engine::scheduler::{ScheduledTask, Scheduler};
    let (store, _dir) = sqlite().await;
    let clock = ManualClock::new(1_000_000);
    let task = ScheduledTask {
        name: "stock-readback".into(),
        every: Duration::from_secs(60),
        spec: JobSpec::new("stock", "readback", "schedule:stock-readback"),
    };
    let a = Scheduler::new(store.clone(), Arc::new(clock.clone()), vec![task.clone()]);
    let b = Scheduler::new(store.clone(), Arc::new(clock.clone()), vec![task]);
    assert_eq!(a.tick().await.unwrap(), 1);
    assert_eq!(
        b.tick().await.unwrap(),
        0,
        "the same slot from another node is not enqueued"
    );
    clock.advance_ms(60_000);
    assert_eq!(
        b.tick().await.unwrap(),
        0,
        "the next slot is not enqueued while the last run still waits"
    );
    let claimed = store.claim("w", 10, 60_000, clock.now_ms()).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        b.tick().await.unwrap(),
        1,
        "once that run has started, the next slot is"
    );
    assert_eq!(store.job_counts().await.unwrap().queued, 1);
    assert_eq!(store.job_counts().await.unwrap().running, 1);
}

#[test]
fn a_payload_that_no_longer_decodes_is_a_data_failure_naming_the_job() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Expected {
        order_id: String,
    }
    let job = Job {
        id: 12,
        spec: JobSpec::new("orders", "post", "order:a"),
        payload: json!({ "orderId": 5 }),
        idempotency_key: None,
        journal_id: None,
        state: JobState::Running,
        rerun: false,
        attempts: 1,
        exception_id: None,
        created_at: 0,
    };
    let failure = job.decode::<Expected>().unwrap_err();
    assert_eq!(failure.class, FailureClass::Data);
    assert!(
        failure.message.contains("job 12 (orders/post for order:a)"),
        "{}",
        failure.message
    );
    assert!(failure.message.contains("order_id"), "{}", failure.message);
}

/// Sleeps for the job's `sleep_ms`.
struct Sleeper;

#[async_trait]
impl JobHandler for Sleeper {
    async fn handle(&self, job: &Job, _ctx: &JobContext) -> Outcome {
        let ms = job.payload["sleep_ms"].as_u64().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Outcome::done()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_job_does_not_hold_back_the_commits_of_fast_ones() {
    let (store, _dir) = sqlite().await;
    // One job that waits (as on a vendor's budget), then fast jobs behind it.
    let mut batch = vec![InboundEvent {
        source: "t".into(),
        event_id: "slow".into(),
        payload: json!({ "sleep_ms": 3_000 }),
        job: JobSpec::new("test", "sleep", "entity:slow"),
    }];
    batch.extend((0..200).map(|i| InboundEvent {
        source: "t".into(),
        event_id: format!("fast-{i}"),
        payload: json!({ "sleep_ms": 1 }),
        job: JobSpec::new("test", "sleep", format!("entity:{}", i % 20)),
    }));
    store.ingest(&batch, SystemClock.now_ms()).await.unwrap();
    let mut handlers = HandlerRegistry::new();
    handlers.register("test", "sleep", Arc::new(Sleeper));
    let runner = Arc::new(Runner::new(
        store.clone(),
        handlers,
        Arc::new(SystemClock),
        RunnerConfig {
            batch_size: 512,
            concurrency: 16,
            idle_poll: Duration::from_millis(20),
            ..RunnerConfig::default()
        },
    ));
    let stop = CancellationToken::new();
    let task = {
        let (runner, stop) = (runner.clone(), stop.clone());
        tokio::spawn(async move { runner.run(stop).await })
    };
    // Every fast job (20 entities, 10 each in arrival order) commits while
    // the slow one is still running.
    let started = std::time::Instant::now();
    loop {
        let counts = store.job_counts().await.unwrap();
        if counts.queued == 0 && counts.running == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_millis(2_500),
            "the fast jobs waited for the slow one: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(runner.stats().done.load(Ordering::Relaxed), 200);
    drain(&store).await;
    stop.cancel();
    task.await.unwrap().unwrap();
    assert_eq!(runner.stats().done.load(Ordering::Relaxed), 201);
}

/// Calls a system through a governor; the system fails its first
/// `outage` calls, then answers.
struct BehindCircuit {
    governor: Arc<seam_engine::governor::Governor>,
    outage: AtomicUsize,
}

#[async_trait]
impl JobHandler for BehindCircuit {
    async fn handle(&self, _job: &Job, _ctx: &JobContext) -> Outcome {
        use seam_engine::governor::{CallError, CallKind};
        let result = self
            .governor
            .call(CallKind::Read, || async {
                let left = self.outage.load(Ordering::SeqCst);
                if left > 0 {
                    self.outage.store(left - 1, Ordering::SeqCst);
                    Err(CallError::Status {
                        status: 503,
                        retry_after: None,
                        message: "down".into(),
                    })
                } else {
                    Ok(())
                }
            })
            .await;
        match result {
            Ok(()) => Outcome::done(),
            Err(failure) => Outcome::failed(failure),
        }
    }
}

#[tokio::test]
async fn jobs_held_by_an_open_circuit_wait_for_it_without_spending_attempts() {
    use seam_engine::governor::{Governor, GovernorConfig};
    let (store, _dir) = sqlite().await;
    // Three failures open the circuit for 400 ms; a job may try three times,
    // 10–50 ms apart: without waiting for the circuit, every job held by it
    // would spend its attempts inside the open period and park.
    let governor = Arc::new(Governor::new(
        GovernorConfig {
            retries: 0,
            retry_base: Duration::from_millis(1),
            circuit_failures: 3,
            circuit_open_for: Duration::from_millis(400),
            ..GovernorConfig::new("vendor")
        },
        None,
    ));
    let handler = Arc::new(BehindCircuit {
        governor: governor.clone(),
        outage: AtomicUsize::new(3),
    });
    let mut handlers = HandlerRegistry::new();
    handlers.register("test", "record", handler);
    let r = Runner::new(
        store.clone(),
        handlers,
        Arc::new(SystemClock),
        RunnerConfig {
            worker_id: "w".into(),
            idle_poll: Duration::from_millis(10),
            // One at a time, so the circuit is open when the later jobs call.
            concurrency: 1,
            backoff: BackoffPolicy {
                base: Duration::from_millis(10),
                cap: Duration::from_millis(50),
                max_attempts: 3,
            },
            ..RunnerConfig::default()
        },
    );
    store
        .ingest(&events(8, 8), SystemClock.now_ms())
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        r.run_once(&stop).await.unwrap();
        let counts = store.job_counts().await.unwrap();
        if counts.queued == 0 && counts.running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let exceptions = store.exceptions(&ExceptionFilter::default()).await.unwrap();
    assert!(
        exceptions.is_empty(),
        "a job held by the circuit was parked: {:?}",
        exceptions
            .iter()
            .map(|e| (&e.spec.entity_key, e.attempts, &e.message))
            .collect::<Vec<_>>()
    );
    assert_eq!(r.stats().done.load(Ordering::Relaxed), 8);
    assert!(r.stats().postponed.load(Ordering::Relaxed) > 0);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the jobs waited for the circuit to close"
    );
}

#[tokio::test]
async fn a_system_that_never_recovers_still_ends_as_an_exception() {
    use seam_engine::governor::{Governor, GovernorConfig};
    let (store, _dir) = sqlite().await;
    // Every call fails; each time the circuit lets one through (the probe),
    // the failure it meets counts, so waiting for the circuit never keeps a
    // job from its exception.
    let governor = Arc::new(Governor::new(
        GovernorConfig {
            retries: 0,
            retry_base: Duration::from_millis(1),
            circuit_failures: 1,
            circuit_open_for: Duration::from_millis(100),
            ..GovernorConfig::new("vendor")
        },
        None,
    ));
    let handler = Arc::new(BehindCircuit {
        governor,
        outage: AtomicUsize::new(usize::MAX),
    });
    let mut handlers = HandlerRegistry::new();
    handlers.register("test", "record", handler);
    let r = Runner::new(
        store.clone(),
        handlers,
        Arc::new(SystemClock),
        RunnerConfig {
            worker_id: "w".into(),
            idle_poll: Duration::from_millis(10),
            backoff: BackoffPolicy {
                base: Duration::from_millis(10),
                cap: Duration::from_millis(20),
                max_attempts: 3,
            },
            ..RunnerConfig::default()
        },
    );
    store
        .ingest(&events(1, 1), SystemClock.now_ms())
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        r.run_once(&stop).await.unwrap();
        let counts = store.job_counts().await.unwrap();
        if counts.queued == 0 && counts.running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let exceptions = store.exceptions(&ExceptionFilter::default()).await.unwrap();
    assert_eq!(exceptions.len(), 1);
    assert_eq!(exceptions[0].exception_type, "retries_exhausted");
    assert_eq!(exceptions[0].attempts, 3);
    assert!(r.stats().postponed.load(Ordering::Relaxed) > 0);
}
