//! `Idempotency-Key` handling: the first response to a key is stored and
//! replayed unchanged for every repeat, scoped to the company account.
//! Adyen keeps keys at least 31 days; the simulator keeps them for its
//! lifetime. Only answers the handler produced are stored (a fault injected
//! in front of the handler never reaches it), matching Adyen, which does not
//! store transient errors.

use std::collections::HashMap;

use axum::http::StatusCode;

#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: StatusCode,
    pub body: serde_json::Value,
}

#[derive(Debug, Default)]
pub struct IdempotencyStore {
    responses: HashMap<(String, String), StoredResponse>,
}

impl IdempotencyStore {
    pub fn get(&self, account: &str, key: &str) -> Option<StoredResponse> {
        self.responses
            .get(&(account.to_string(), key.to_string()))
            .cloned()
    }

    pub fn put(&mut self, account: &str, key: &str, response: StoredResponse) {
        self.responses
            .entry((account.to_string(), key.to_string()))
            .or_insert(response);
    }
}
