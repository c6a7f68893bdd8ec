//! The contract between the runner and flow handlers.
//!
//! A handler decides; the runner acts. A handler reads what it needs, calls
//! connectors (through their governors) and returns an `Outcome`. The
//! runner commits a `Done` outcome's state, effects, timeline steps, links
//! and raised exceptions in one transaction with the job's completion.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use seam_model::OwnerTeam;

use crate::clock::Millis;
use crate::failure::Failure;
use crate::store::Store;
use crate::types::{Job, Link, NewEffect, NewException, NewJob, StateWrite, TimelineEntry};

/// Everything a `Done` outcome commits together with the job's completion.
#[derive(Debug, Clone, Default)]
pub struct Commit {
    pub state: Vec<StateWrite>,
    pub effects: Vec<NewEffect>,
    pub follow_ups: Vec<NewJob>,
    pub timeline: Vec<TimelineEntry>,
    pub links: Vec<Link>,
    /// Keys to revisit later, by set (e.g. SKUs whose stock must be pushed).
    pub marks: Vec<crate::types::Mark>,
    /// Marks this job handled, cleared unless re-marked meanwhile.
    pub cleared_marks: Vec<(String, crate::types::MarkedKey)>,
    /// Exceptions raised without holding this job (e.g. one unmapped stock
    /// status seen while the rest of the snapshot applied).
    pub exceptions: Vec<NewException>,
}

impl Commit {
    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
            && self.effects.is_empty()
            && self.follow_ups.is_empty()
            && self.timeline.is_empty()
            && self.links.is_empty()
            && self.exceptions.is_empty()
            && self.marks.is_empty()
            && self.cleared_marks.is_empty()
    }
}

/// An exception decided by a handler; the runner fills in entity, payload and attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionDraft {
    pub exception_type: String,
    pub owner: OwnerTeam,
    pub message: String,
    pub fix_hint: String,
}

impl ExceptionDraft {
    pub fn new(
        exception_type: &str,
        owner: OwnerTeam,
        message: impl Into<String>,
        fix_hint: impl Into<String>,
    ) -> Self {
        ExceptionDraft {
            exception_type: exception_type.to_string(),
            owner,
            message: message.into(),
            fix_hint: fix_hint.into(),
        }
    }
}

/// What a handler decided.
#[derive(Debug, Clone)]
pub enum Outcome {
    Done(Commit),
    /// A classified failure: the class's default action applies
    /// (see `failure`), with the draft used if it ends as an exception.
    Failed {
        failure: Failure,
        exception: Option<ExceptionDraft>,
    },
    /// Park the job as an exception now, whatever the class.
    Exception(ExceptionDraft),
}

impl Outcome {
    pub fn done() -> Self {
        Outcome::Done(Commit::default())
    }
    pub fn failed(failure: Failure) -> Self {
        Outcome::Failed {
            failure,
            exception: None,
        }
    }
}

/// What a handler may read while it decides.
pub struct JobContext {
    pub store: Arc<dyn Store>,
    pub now: Millis,
}

#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn handle(&self, job: &Job, ctx: &JobContext) -> Outcome;
}

/// Handlers by (flow, kind).
#[derive(Default, Clone)]
pub struct HandlerRegistry {
    handlers: HashMap<(String, String), Arc<dyn JobHandler>>,
}

impl HandlerRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&mut self, flow: &str, kind: &str, handler: Arc<dyn JobHandler>) {
        self.handlers
            .insert((flow.to_string(), kind.to_string()), handler);
    }

    pub fn get(&self, flow: &str, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers
            .get(&(flow.to_string(), kind.to_string()))
            .cloned()
    }
}
