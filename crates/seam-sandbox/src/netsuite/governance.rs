//! NetSuite's concurrency governance: at most N requests in flight per
//! account; the next one is refused with 429 at once. An admin "hold" keeps
//! each admitted request in flight a while, so tests can fill the slots.
//! The bearer check runs inside the governed section, as NetSuite counts
//! every request.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::check_bearer;
use super::error::NsError;
use super::SharedState;

#[derive(Debug, Clone, PartialEq)]
pub struct Governance {
    pub limit: usize,
    pub in_flight: usize,
    /// Extra time each admitted request holds its slot.
    pub hold: Duration,
    /// Requests refused with 429 so far.
    pub refused: u64,
}

/// Gives the slot back when the request ends, however it ends.
struct Slot(SharedState);

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.governance.in_flight = state.governance.in_flight.saturating_sub(1);
    }
}

pub async fn govern(State(shared): State<SharedState>, request: Request, next: Next) -> Response {
    let admitted = {
        let mut state = shared.lock();
        let governance = &mut state.governance;
        if governance.in_flight >= governance.limit {
            governance.refused += 1;
            None
        } else {
            governance.in_flight += 1;
            Some(governance.hold)
        }
    };
    let Some(hold) = admitted else {
        return NsError::new(
            StatusCode::TOO_MANY_REQUESTS,
            &shared.config.concurrency_error_code,
            "The request could not be processed because the concurrency limit for the account has been exceeded. Retry the request later.",
        )
        .into_response();
    };
    let _slot = Slot(shared.clone());
    if !hold.is_zero() {
        tokio::time::sleep(hold).await;
    }
    if let Err(error) = check_bearer(&shared, request.headers()) {
        return error.into_response();
    }
    next.run(request).await
}
