//! The engine's records: journal entries, jobs, exceptions, timeline and links.

use std::fmt;
use std::str::FromStr;

use seam_model::OwnerTeam;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Millis;

pub type JobId = i64;
pub type ExceptionId = i64;

/// An inbound event as it arrived (webhook, poll result, file row), plus the
/// job it becomes. `(source, event_id)` is its identity: the same pair twice
/// is a duplicate, acknowledged and never processed again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboundEvent {
    pub source: String,
    pub event_id: String,
    pub payload: Value,
    pub job: JobSpec,
}

/// What to run: a flow's handler kind for one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub flow: String,
    pub kind: String,
    /// The entity the job acts on (`order:<centra id>`, `sku:<sku>`, ...). Jobs
    /// of one entity run one at a time, in arrival order.
    pub entity_key: String,
}

impl JobSpec {
    pub fn new(flow: &str, kind: &str, entity_key: impl Into<String>) -> Self {
        JobSpec {
            flow: flow.to_string(),
            kind: kind.to_string(),
            entity_key: entity_key.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IngestOutcome {
    /// Journaled for the first time and queued as this job.
    Accepted { journal_id: i64, job_id: JobId },
    /// Already journaled earlier: acknowledged, not queued again.
    Duplicate,
}

/// A job to enqueue directly (scheduler, CLI, a handler's follow-up).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewJob {
    pub spec: JobSpec,
    pub payload: Value,
}

/// An effect decided by a handler: it runs as its own job after the
/// decision commits, and carries an idempotency key derived from the
/// originating record, so it is enqueued once and posted once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewEffect {
    pub spec: JobSpec,
    pub payload: Value,
    pub idempotency_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Parked,
}

impl JobState {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Parked => "parked",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(JobState::Queued),
            "running" => Some(JobState::Running),
            "parked" => Some(JobState::Parked),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub spec: JobSpec,
    pub payload: Value,
    pub idempotency_key: Option<String>,
    pub journal_id: Option<i64>,
    pub state: JobState,
    /// Set by a "re-run with today's config and data" resubmit: the handler
    /// should fetch the record afresh instead of trusting the stored payload.
    pub rerun: bool,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub exception_id: Option<ExceptionId>,
    pub created_at: Millis,
}

/// Writes one flow's state for an entity (replacing the previous one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateWrite {
    pub entity_key: String,
    pub flow: String,
    pub state: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntityState {
    pub state: Value,
    pub version: i64,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExceptionStatus {
    Open,
    Resolved,
    Ignored,
}

impl ExceptionStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ExceptionStatus::Open => "open",
            ExceptionStatus::Resolved => "resolved",
            ExceptionStatus::Ignored => "ignored",
        }
    }
}

impl FromStr for ExceptionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(ExceptionStatus::Open),
            "resolved" => Ok(ExceptionStatus::Resolved),
            "ignored" => Ok(ExceptionStatus::Ignored),
            other => Err(format!(
                "'{other}' is not a status; expected open, resolved or ignored"
            )),
        }
    }
}

impl fmt::Display for ExceptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An exception as a handler or the runner raises it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewException {
    /// A stable, machine-readable cause such as `shipping_method_unmapped`.
    pub exception_type: String,
    pub owner: OwnerTeam,
    pub spec: JobSpec,
    /// One sentence a person in the owner team understands.
    pub message: String,
    /// What to do about it.
    pub fix_hint: String,
    pub payload: Value,
    pub attempts: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExceptionRecord {
    pub id: ExceptionId,
    pub exception_type: String,
    pub owner: OwnerTeam,
    pub spec: JobSpec,
    pub message: String,
    pub fix_hint: String,
    pub payload: Value,
    pub attempts: i32,
    /// How many times this cause was raised for this entity while open.
    pub occurrences: i32,
    pub first_seen: Millis,
    pub last_seen: Millis,
    pub status: ExceptionStatus,
    /// The parked job this exception holds, if any.
    pub job_id: Option<JobId>,
    pub closed_by: Option<String>,
    pub closed_at: Option<Millis>,
    pub closing_comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExceptionFilter {
    pub status: Option<ExceptionStatus>,
    pub owner: Option<OwnerTeam>,
    pub exception_type: Option<String>,
    pub entity_key: Option<String>,
    pub limit: Option<u32>,
}

/// The three ways to resubmit an exception.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ResubmitMode {
    /// Run the original payload again, as it was.
    Replay,
    /// Run again with today's config and data: the handler refetches the record.
    Rerun,
    /// Run with a corrected payload.
    Edit { payload: Value },
}

impl ResubmitMode {
    pub fn name(&self) -> &'static str {
        match self {
            ResubmitMode::Replay => "replay",
            ResubmitMode::Rerun => "rerun",
            ResubmitMode::Edit { .. } => "edit",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEntry {
    pub exception_id: ExceptionId,
    pub at: Millis,
    pub actor: String,
    pub action: String,
    pub comment: String,
    pub detail: Value,
}

/// One step of an entity's story, in one system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub entity_key: String,
    pub at: Millis,
    /// The system where it happened: `centra`, `warehouse`, `netsuite`, `adyen`, `reveni`, `seam`.
    pub system: String,
    pub step: String,
    pub detail: String,
}

/// One identity of an entity in another system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub entity_key: String,
    pub system: String,
    pub external_id: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCounts {
    pub queued: i64,
    pub running: i64,
    pub parked: i64,
    pub open_exceptions: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournalEntry {
    pub id: i64,
    pub source: String,
    pub event_id: String,
    pub payload: Value,
    pub received_at: Millis,
}

impl Job {
    /// Decodes the payload into the handler's type. A payload that no longer
    /// decodes (an older Seam queued it, or someone edited it badly) is a data
    /// failure naming the job and the field, so the job parks instead of vanishing.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::failure::Failure> {
        serde_json::from_value(self.payload.clone()).map_err(|error| {
            crate::failure::Failure::data(format!(
                "job {} ({}/{} for {}): the payload no longer decodes: {error}",
                self.id, self.spec.flow, self.spec.kind, self.spec.entity_key
            ))
        })
    }
}

/// A key to revisit in a mark set (see `Store::marked`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub set: String,
    pub key: String,
}

/// A mark as read: clear it with the same version once handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkedKey {
    pub key: String,
    pub first_marked_at: Millis,
    pub version: i64,
}

/// An active job with its schedule and last error, as a tool inspecting
/// the queue (the soak's settle check) sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActiveJob {
    pub job: Job,
    /// When it may run next (a retry's backoff, a postponement).
    pub run_after: Millis,
    pub last_error: Option<String>,
}

/// A reconciliation variance as the reconciler found it: two systems
/// disagree about one entity, with both values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewVariance {
    /// A stable cause such as `total_mismatch`.
    pub variance_type: String,
    pub entity_key: String,
    /// The business day it belongs to (`YYYY-MM-DD`, the order's date);
    /// empty for entities without one (stock).
    pub day: String,
    pub owner: OwnerTeam,
    /// `None` for quantities.
    pub currency: Option<String>,
    pub expected: rust_decimal::Decimal,
    pub found: rust_decimal::Decimal,
    pub expected_system: String,
    pub found_system: String,
    pub detail: String,
}

/// Whether a variance still stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarianceStatus {
    Open,
    /// A later check found the systems agreeing again.
    Cleared,
}

impl VarianceStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            VarianceStatus::Open => "open",
            VarianceStatus::Cleared => "cleared",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarianceRecord {
    pub id: i64,
    pub variance: NewVariance,
    pub status: VarianceStatus,
    pub first_seen: Millis,
    pub last_seen: Millis,
    pub cleared_at: Option<Millis>,
}

/// Which variances to list: by business day (inclusive, `YYYY-MM-DD`
/// strings compare in order), a page at a time by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VarianceFilter {
    pub day_from: Option<String>,
    pub day_to: Option<String>,
    pub status: Option<VarianceStatus>,
    pub after_id: i64,
    pub limit: u32,
}

/// What recording a check's variances changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VarianceChanges {
    /// Variances not open before.
    pub opened: u64,
    /// Open variances found again (values and last seen updated).
    pub seen_again: u64,
    /// Open variances of checked entities that the check no longer found.
    pub cleared: u64,
}
