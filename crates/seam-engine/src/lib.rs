//! Seam's durable engine.
//!
//! Inbound events are journaled (deduplicated by their source's own id)
//! before they are acknowledged, become jobs ordered per entity, and run
//! through flow handlers. A handler's outcome (done with the state it
//! changed and the effects it decided, retry, or exception) commits in one
//! transaction. The store behind it is SQLite by default and PostgreSQL when
//! several processes share the work; both pass one contract suite.

pub mod backoff;
pub mod clock;
pub mod failure;
pub mod governor;
pub mod handler;
pub mod leader;
pub mod runner;
pub mod scheduler;
pub mod store;
pub mod types;

pub use clock::{Clock, ManualClock, Millis, SystemClock};
pub use failure::{Failure, FailureClass};
pub use handler::{Commit, ExceptionDraft, HandlerRegistry, JobContext, JobHandler, Outcome};
pub use runner::{Runner, RunnerConfig};
pub use store::{open_store, Store, StoreError};
pub use types::*;
