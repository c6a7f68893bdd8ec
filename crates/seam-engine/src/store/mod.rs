//! The engine's store: one contract, two backends.
//!
//! `Store` is what the runner, the CLI and the server use. `SqliteStore`
//! (the default: one WAL file in the data directory) and `PostgresStore`
//! (for several processes sharing the work) implement it from one body of
//! SQL (see `sql.rs`), and one contract suite (`contract.rs`) holds both to
//! the same behaviour.

pub mod contract;
mod postgres;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

pub use postgres::{redact_url, PostgresStore};
pub use sqlite::SqliteStore;

use crate::clock::Millis;
use crate::handler::Commit;
pub use crate::leader::LeaderLease;
use crate::types::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database url '{0}': expected sqlite://... or postgres://...")]
    UnsupportedUrl(String),
    // The cause is in the message rather than the error chain: sqlx's own
    // chain repeats it, and one clear line is what an operator needs.
    #[error("cannot open the database at {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
}

/// Which backend a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How a job ended, as the runner reports it to the store.
#[derive(Debug, Clone)]
pub struct Completion {
    pub job_id: JobId,
    pub result: CompletionResult,
}

#[derive(Debug, Clone)]
pub enum CompletionResult {
    /// Finished: delete the job and commit what the handler decided.
    Done(Commit),
    /// Try again at `run_after`, keeping the job's place in its entity's order.
    Retry { run_after: Millis, error: String },
    /// Park as an exception, holding back the entity's later jobs.
    Park(NewException),
    /// The job could not run at all (the system it needs is known to be
    /// down): queued again for `run_after` with this attempt not counted.
    Postpone { run_after: Millis, reason: String },
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Applies the embedded migrations.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Journals inbound events and queues a job for each new one, in one
    /// transaction. Returns, per event and in order, whether it was new.
    async fn ingest(
        &self,
        events: &[InboundEvent],
        now: Millis,
    ) -> Result<Vec<IngestOutcome>, StoreError>;

    async fn enqueue(&self, jobs: &[NewJob], now: Millis) -> Result<Vec<JobId>, StoreError>;

    /// Enqueues effects outside a handler (the scheduler): each key at most
    /// once ever. Returns how many were new.
    async fn enqueue_effects(&self, effects: &[NewEffect], now: Millis) -> Result<u64, StoreError>;

    /// Claims up to `limit` due jobs for `worker` with a lease of `lease_ms`:
    /// for each entity only its oldest active job, and a job whose lease
    /// expired is claimable again.
    async fn claim(
        &self,
        worker: &str,
        limit: u32,
        lease_ms: i64,
        now: Millis,
    ) -> Result<Vec<Job>, StoreError>;

    /// Applies completions in one transaction. A completion for a job no
    /// longer leased by `worker` (its lease expired and another worker took
    /// it) is skipped. Returns how many were applied.
    async fn complete(
        &self,
        worker: &str,
        completions: Vec<Completion>,
        now: Millis,
    ) -> Result<u64, StoreError>;

    /// Gives claimed jobs back to the queue unchanged (shutdown).
    async fn release(&self, worker: &str, job_ids: &[JobId]) -> Result<u64, StoreError>;

    async fn renew_leases(
        &self,
        worker: &str,
        job_ids: &[JobId],
        until: Millis,
    ) -> Result<u64, StoreError>;

    async fn entity_state(
        &self,
        entity_key: &str,
        flow: &str,
    ) -> Result<Option<EntityState>, StoreError>;

    /// Every entity's state in a flow, by entity key, a page at a time.
    async fn entity_states(
        &self,
        flow: &str,
        after_key: &str,
        limit: u32,
    ) -> Result<Vec<(String, EntityState)>, StoreError>;

    /// As `entity_states`, each state as its stored JSON text: for readers
    /// that page through many states and decode each into their own type in
    /// one pass (reconciliation).
    async fn entity_state_texts(
        &self,
        flow: &str,
        after_key: &str,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// The states in a flow of the given entities (absent ones are left out).
    async fn entity_states_of(
        &self,
        flow: &str,
        entity_keys: &[String],
    ) -> Result<std::collections::HashMap<String, EntityState>, StoreError>;

    async fn journal_entry(&self, id: i64) -> Result<Option<JournalEntry>, StoreError>;

    /// Raises exceptions that hold no job (e.g. from the reconciler),
    /// grouped with an open one of the same entity and type.
    async fn raise_exceptions(
        &self,
        exceptions: &[NewException],
        now: Millis,
    ) -> Result<Vec<ExceptionId>, StoreError>;

    async fn exceptions(
        &self,
        filter: &ExceptionFilter,
    ) -> Result<Vec<ExceptionRecord>, StoreError>;

    async fn exception(&self, id: ExceptionId) -> Result<Option<ExceptionRecord>, StoreError>;

    async fn exception_audit(&self, id: ExceptionId) -> Result<Vec<AuditEntry>, StoreError>;

    /// Resubmits an open exception (audited). Returns the job that will run.
    async fn resubmit_exception(
        &self,
        id: ExceptionId,
        mode: &ResubmitMode,
        actor: &str,
        comment: &str,
        now: Millis,
    ) -> Result<JobId, StoreError>;

    /// Resolves or ignores an open exception (audited); its parked job is
    /// dropped so that the entity's later jobs flow again.
    async fn close_exception(
        &self,
        id: ExceptionId,
        status: ExceptionStatus,
        actor: &str,
        comment: &str,
        now: Millis,
    ) -> Result<(), StoreError>;

    async fn append_timeline(&self, entries: &[TimelineEntry]) -> Result<(), StoreError>;

    async fn timeline(&self, entity_key: &str) -> Result<Vec<TimelineEntry>, StoreError>;

    async fn put_links(&self, links: &[Link], now: Millis) -> Result<(), StoreError>;

    async fn links_of(&self, entity_key: &str) -> Result<Vec<Link>, StoreError>;

    /// The entity an external id belongs to.
    async fn find_link(
        &self,
        system: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError>;

    async fn job_counts(&self) -> Result<JobCounts, StoreError>;

    /// Marks keys outside a handler's commit.
    async fn mark(&self, marks: &[Mark], now: Millis) -> Result<(), StoreError>;

    /// Up to `limit` marked keys of a set, oldest first.
    async fn marked(&self, set: &str, limit: u32) -> Result<Vec<MarkedKey>, StoreError>;

    /// Clears marks that were not re-marked since they were read.
    async fn clear_marks(&self, set: &str, handled: &[MarkedKey]) -> Result<u64, StoreError>;

    /// Takes one unit of a shared request budget (GCRA): `emission_ms` is
    /// the interval between units at the sustained rate, `burst` the number
    /// that may go at once. Returns `None` when granted, or how long to wait.
    async fn take_budget(
        &self,
        bucket: &str,
        emission_ms: i64,
        burst: i64,
        now: Millis,
    ) -> Result<Option<Millis>, StoreError>;

    /// Tries to become the one node that runs scheduled work.
    async fn try_lead(&self, name: &str) -> Result<Option<LeaderLease>, StoreError>;

    // --- Scheduler ---

    /// Enqueues scheduled runs (each key at most once, as `enqueue_effects`),
    /// except for a task whose entity already has a queued job: that job
    /// will do the same work, so a slow task never piles up runs behind it.
    /// Forgets slot keys decided before `forget_before` (they can no longer
    /// come again). Returns how many were enqueued.
    async fn enqueue_scheduled(
        &self,
        runs: &[NewEffect],
        forget_before: Millis,
        now: Millis,
    ) -> Result<u64, StoreError>;

    // --- Reconciliation ---

    /// Records one check of the `checked` entities, in one transaction: a
    /// variance found is opened, or updated (values, detail, last seen) when
    /// one of its entity and type is open already; an open variance of a
    /// checked entity that the check did not find again is cleared.
    async fn record_variances(
        &self,
        checked: &[String],
        found: &[NewVariance],
        now: Millis,
    ) -> Result<VarianceChanges, StoreError>;

    /// Variances by business day and status, oldest id first, a page at a
    /// time (`after_id`, `limit`).
    async fn variances(&self, filter: &VarianceFilter) -> Result<Vec<VarianceRecord>, StoreError>;

    /// Which of the entities have active jobs (queued, running, or parked
    /// behind an open exception): work in flight, or a problem a person
    /// already owns, that explains a difference between systems.
    async fn entities_in_flight(
        &self,
        entity_keys: &[String],
    ) -> Result<std::collections::HashSet<String>, StoreError>;

    // --- The soak (`seam soak`): reading the whole store after a run ---

    /// Active jobs (queued, running, parked) with ids above `after_id`,
    /// oldest first, at most `limit`.
    async fn active_jobs(&self, after_id: JobId, limit: u32) -> Result<Vec<ActiveJob>, StoreError>;

    /// The newest journal entry's id (0 when the journal is empty): it moves
    /// whenever an event arrives, so a quiet system keeps it still.
    async fn journal_high_water(&self) -> Result<i64, StoreError>;
}

/// Opens the store a database URL names: `sqlite://path` (created if
/// missing) or `postgres://...`.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_string()))
    }
}

/// Parses stored JSON; a value that no longer parses is kept as its raw
/// text so that nothing is lost and the handler can report it.
pub(crate) fn parse_json(raw: &str) -> serde_json::Value {
    serde_json::from_str(raw).unwrap_or_else(|_| serde_json::Value::String(raw.to_string()))
}
