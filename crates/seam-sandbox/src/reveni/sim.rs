//! The simulator's state and its cloneable handle, `ReveniSim`: returns,
//! webhook subscriptions and the events emitted. State sits behind one std
//! mutex, never held across an await; events are queued to the shared
//! `WebhookSender` while the lock is held (a non-blocking push), so they
//! leave in the order the changes happened.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::Utc;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::returns::{self, NewReturn};
use super::vendor::{
    EventData, ItemDecision, Return, ReturnStatus, ReveniError, ValidationItem, Webhook,
    WebhookEvent, WebhookRequest, EVENT_RETURN_CREATED, EVENT_RETURN_UPDATED, KNOWN_EVENTS,
};
use super::ReveniConfig;
use crate::faults::Faults;
use crate::webhooks::{Delivery, DeliveryRecord, WebhookSender};

#[derive(Clone)]
pub struct ReveniSim {
    inner: Arc<Inner>,
}

struct Inner {
    config: ReveniConfig,
    state: Mutex<State>,
    sender: WebhookSender,
    faults: Faults,
}

struct State {
    returns: Vec<Return>,
    webhooks: Vec<Webhook>,
    events: Vec<WebhookEvent>,
    rng: ChaCha8Rng,
}

impl State {
    fn uuid(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.rng.gen()).into_uuid()
    }

    fn event_id(&mut self) -> String {
        let bytes: [u8; 12] = self.rng.gen();
        format!("evt_{}", hex::encode(bytes))
    }

    fn position(&self, id: Uuid) -> Result<usize, ReveniError> {
        self.returns
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(ReveniError::return_not_found)
    }
}

impl ReveniSim {
    /// Must be called inside a Tokio runtime (starts the webhook sender).
    pub fn new(config: ReveniConfig, seed: u64, faults: Faults) -> Self {
        ReveniSim {
            inner: Arc::new(Inner {
                sender: WebhookSender::start(faults.clone()),
                faults,
                state: Mutex::new(State {
                    returns: Vec::new(),
                    webhooks: Vec::new(),
                    events: Vec::new(),
                    rng: ChaCha8Rng::seed_from_u64(seed),
                }),
                config,
            }),
        }
    }

    pub fn config(&self) -> &ReveniConfig {
        &self.inner.config
    }

    pub fn faults(&self) -> Faults {
        self.inner.faults.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records the thin event and queues it to every subscriber of its type.
    fn emit(&self, state: &mut State, event: &str, changed: &Return) {
        let envelope = WebhookEvent {
            id: state.event_id(),
            created: Utc::now().timestamp(),
            event: event.to_string(),
            data: EventData {
                resource_id: changed.id,
                status: changed.status.webhook_name().to_string(),
            },
        };
        if let Ok(body) = serde_json::to_vec(&envelope) {
            let config = &self.inner.config;
            for hook in state
                .webhooks
                .iter()
                .filter(|h| h.event_types.iter().any(|t| t == event))
            {
                self.inner.sender.send(Delivery {
                    url: hook.url.clone(),
                    headers: vec![(
                        config.secret_header_name.clone(),
                        config.secret_header_value.clone(),
                    )],
                    content_type: "application/json".to_string(),
                    body: body.clone(),
                });
            }
        }
        state.events.push(envelope);
    }

    /// Applies `change` to one return and emits `return.updated` if it succeeds.
    fn update(
        &self,
        id: Uuid,
        change: impl FnOnce(&mut Return, &mut dyn FnMut() -> Uuid) -> Result<(), ReveniError>,
    ) -> Result<Return, ReveniError> {
        let mut state = self.lock();
        let position = state.position(id)?;
        let mut changed = state.returns[position].clone();
        let mut rng = state.rng.clone();
        let mut next_id = || uuid::Builder::from_random_bytes(rng.gen()).into_uuid();
        change(&mut changed, &mut next_id)?;
        state.rng = rng;
        state.returns[position] = changed.clone();
        self.emit(&mut state, EVENT_RETURN_UPDATED, &changed);
        Ok(changed)
    }

    /// A shopper's return request from the portal; emits `return.created`.
    pub fn create_return(&self, new: NewReturn) -> Result<Return, ReveniError> {
        let mut state = self.lock();
        let mut rng = state.rng.clone();
        let mut next_id = || uuid::Builder::from_random_bytes(rng.gen()).into_uuid();
        let created = returns::create(new, Utc::now(), &mut next_id)?;
        state.rng = rng;
        state.returns.push(created.clone());
        self.emit(&mut state, EVENT_RETURN_CREATED, &created);
        Ok(created)
    }

    pub fn get_return(&self, id: Uuid) -> Option<Return> {
        self.lock().returns.iter().find(|r| r.id == id).cloned()
    }

    /// All returns in creation order.
    pub fn returns(&self) -> Vec<Return> {
        self.lock().returns.clone()
    }

    /// Moves a return along (shipped, received, for review, on hold...).
    pub fn set_status(&self, id: Uuid, status: ReturnStatus) -> Result<Return, ReveniError> {
        self.update(id, |r, _| r.move_to(status, Utc::now()))
    }

    pub fn cancel(&self, id: Uuid) -> Result<Return, ReveniError> {
        self.set_status(id, ReturnStatus::Cancelled)
    }

    /// The merchant's per-item decision, from the API or the dashboard.
    pub fn validate(&self, id: Uuid, items: &[ValidationItem]) -> Result<Return, ReveniError> {
        self.update(id, |r, next_id| r.validate(items, Utc::now(), next_id))
    }

    /// Dashboard "Accept": every unit not yet reviewed.
    pub fn accept_all(&self, id: Uuid) -> Result<Return, ReveniError> {
        self.decide_all(id, ItemDecision::Accepted, None, None)
    }

    /// Dashboard "Reject" (a reason is required).
    pub fn reject_all(
        &self,
        id: Uuid,
        reason: &str,
        text: Option<String>,
    ) -> Result<Return, ReveniError> {
        self.decide_all(id, ItemDecision::Rejected, Some(reason.to_string()), text)
    }

    fn decide_all(
        &self,
        id: Uuid,
        status: ItemDecision,
        reject_reason: Option<String>,
        reject_reason_text: Option<String>,
    ) -> Result<Return, ReveniError> {
        let current = self
            .get_return(id)
            .ok_or_else(ReveniError::return_not_found)?;
        let items: Vec<ValidationItem> = current
            .return_items
            .iter()
            .filter(|i| i.review.accepted_quantity + i.review.rejected_quantity < i.quantity)
            .map(|i| ValidationItem {
                item_id: i.item_id.clone(),
                quantity: None,
                status,
                reject_reason: reject_reason.clone(),
                reject_reason_text: reject_reason_text.clone(),
            })
            .collect();
        self.validate(id, &items)
    }

    /// `POST webhooks`.
    pub fn subscribe(&self, request: WebhookRequest) -> Result<Webhook, ReveniError> {
        if request.event_types.is_empty()
            || request
                .event_types
                .iter()
                .any(|t| !KNOWN_EVENTS.contains(&t.as_str()))
        {
            return Err(ReveniError::invalid_request(format!(
                "event_types must be a non-empty subset of {KNOWN_EVENTS:?}"
            )));
        }
        if !(request.url.starts_with("http://") || request.url.starts_with("https://")) {
            return Err(ReveniError::invalid_request("url must be an http(s) URL"));
        }
        let mut state = self.lock();
        let hook = Webhook {
            id: state.uuid().to_string(),
            url: request.url,
            event_types: request.event_types,
        };
        state.webhooks.push(hook.clone());
        Ok(hook)
    }

    /// `DELETE webhooks/{id}`; false when there was no such subscription.
    pub fn unsubscribe(&self, id: &str) -> bool {
        let mut state = self.lock();
        let before = state.webhooks.len();
        state.webhooks.retain(|hook| hook.id != id);
        state.webhooks.len() != before
    }

    pub fn webhooks(&self) -> Vec<Webhook> {
        self.lock().webhooks.clone()
    }

    /// Every event emitted, delivered or not, in order.
    pub fn events(&self) -> Vec<WebhookEvent> {
        self.lock().events.clone()
    }

    /// Delivery attempts of the webhook sender.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.inner.sender.deliveries()
    }
}
