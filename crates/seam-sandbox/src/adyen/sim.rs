//! The simulator's state and its cloneable handle, `AdyenSim`: payments,
//! stored idempotent responses, failure toggles, the webhook target and the
//! notifications sent. State sits behind one std mutex, never held across
//! an await: a modification is checked, applied and recorded under one lock,
//! so concurrent repeats of an idempotency key apply once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::StatusCode;
use chrono::Utc;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::failures::FailureToggles;
use super::idempotency::{IdempotencyStore, StoredResponse};
use super::ledger::{Event, ModificationKind, Payment, Request};
use super::notify::{self, WebhookTarget};
use super::vendor::{
    AdyenError, Amount, EventCode, ModificationRequest, ModificationResponse,
    NotificationRequestItem, IDEMPOTENCY_KEY_MAX_LEN, STATUS_RECEIVED,
};
use super::AdyenConfig;
use crate::faults::Faults;
use crate::webhooks::{DeliveryRecord, WebhookSender};

/// An authorised payment to create, as the shopper's checkout would.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewPayment {
    /// Usually the Centra order number.
    pub merchant_reference: String,
    pub amount: Amount,
    #[serde(default)]
    pub preauth: bool,
    #[serde(default)]
    pub multiple_partial_captures: bool,
    #[serde(default)]
    pub payment_method: Option<String>,
}

/// A reply to a vendor request, before it becomes HTTP.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: serde_json::Value,
    pub idempotency_key: Option<String>,
}

#[derive(Clone)]
pub struct AdyenSim {
    inner: Arc<Inner>,
}

struct Inner {
    config: AdyenConfig,
    state: Mutex<State>,
    sender: WebhookSender,
    faults: Faults,
}

struct State {
    payments: Vec<Payment>,
    index: HashMap<String, usize>,
    idempotency: IdempotencyStore,
    failures: FailureToggles,
    webhook: Option<WebhookTarget>,
    notifications: Vec<NotificationRequestItem>,
    rng: ChaCha8Rng,
}

const PSP_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

impl State {
    /// A new 16-character PSP reference, unique in this simulator.
    fn psp_reference(&mut self) -> String {
        loop {
            let reference: String = (0..16)
                .map(|_| PSP_ALPHABET[self.rng.gen_range(0..PSP_ALPHABET.len())] as char)
                .collect();
            if !self.index.contains_key(&reference) {
                return reference;
            }
        }
    }
}

fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

impl AdyenSim {
    /// Must be called inside a Tokio runtime (starts the webhook sender).
    pub fn new(config: AdyenConfig, seed: u64, faults: Faults) -> Self {
        let webhook = config.webhook_url.clone().map(|url| WebhookTarget {
            url,
            hmac_key_hex: None,
            username: None,
            password: None,
        });
        AdyenSim {
            inner: Arc::new(Inner {
                sender: WebhookSender::start(faults.clone()),
                faults,
                state: Mutex::new(State {
                    payments: Vec::new(),
                    index: HashMap::new(),
                    idempotency: IdempotencyStore::default(),
                    failures: FailureToggles::default(),
                    webhook,
                    notifications: Vec::new(),
                    rng: ChaCha8Rng::seed_from_u64(seed),
                }),
                config,
            }),
        }
    }

    pub fn config(&self) -> &AdyenConfig {
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

    fn hmac_key(&self, state: &State) -> String {
        state
            .webhook
            .as_ref()
            .and_then(|target| target.hmac_key_hex.clone())
            .unwrap_or_else(|| self.inner.config.hmac_key_hex.clone())
    }

    /// Records and sends notifications; called with the lock held, sending
    /// is a non-blocking queue push.
    fn emit(&self, state: &mut State, items: Vec<NotificationRequestItem>) {
        if let Some(target) = &state.webhook {
            for delivery in notify::deliveries(target, self.inner.config.live, &items) {
                self.inner.sender.send(delivery);
            }
        }
        state.notifications.extend(items);
    }

    /// Creates an authorised payment and emits its AUTHORISATION notification.
    pub fn create_payment(&self, new: NewPayment) -> Result<Payment, AdyenError> {
        if new.amount.value <= 0 {
            return Err(AdyenError::invalid_amount());
        }
        if !valid_currency(&new.amount.currency) {
            return Err(AdyenError::unsupported_currency());
        }
        let mut state = self.lock();
        let psp_reference = state.psp_reference();
        let payment = Payment {
            psp_reference: psp_reference.clone(),
            merchant_account: self.inner.config.merchant_account.clone(),
            merchant_reference: new.merchant_reference,
            currency: new.amount.currency.clone(),
            authorised: new.amount.value,
            captured: 0,
            refunded: 0,
            remainder_released: false,
            preauth: new.preauth,
            multiple_partial_captures: new.multiple_partial_captures,
            payment_method: new
                .payment_method
                .unwrap_or_else(|| self.inner.config.default_payment_method.clone()),
            created_at: Utc::now(),
            modifications: Vec::new(),
        };
        let event = Event {
            code: EventCode::Authorisation,
            success: true,
            reason: String::new(),
            amount: new.amount,
        };
        let item = notify::item(&payment, None, &event, &self.hmac_key(&state), Utc::now());
        let position = state.payments.len();
        state.index.insert(psp_reference, position);
        state.payments.push(payment.clone());
        self.emit(&mut state, vec![item]);
        Ok(payment)
    }

    pub fn payment(&self, psp_reference: &str) -> Option<Payment> {
        let state = self.lock();
        state
            .index
            .get(psp_reference)
            .and_then(|&i| state.payments.get(i))
            .cloned()
    }

    /// All payments in creation order.
    pub fn payments(&self) -> Vec<Payment> {
        self.lock().payments.clone()
    }

    pub fn register_webhook(&self, target: WebhookTarget) {
        self.lock().webhook = Some(target);
    }

    pub fn webhook(&self) -> Option<WebhookTarget> {
        self.lock().webhook.clone()
    }

    pub fn set_failures(&self, failures: FailureToggles) {
        self.lock().failures = failures;
    }

    pub fn failures(&self) -> FailureToggles {
        self.lock().failures.clone()
    }

    /// Every notification emitted, delivered or not, in order.
    pub fn notifications(&self) -> Vec<NotificationRequestItem> {
        self.lock().notifications.clone()
    }

    /// Delivery attempts of the webhook sender.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.inner.sender.deliveries()
    }

    /// A capture made by the storefront's payment plugin (Centra's Adyen
    /// plugin captures when a shipment is captured), through the same
    /// checks, ledger and notifications as `POST …/captures`.
    pub fn plugin_capture(
        &self,
        psp_reference: &str,
        currency: &str,
        value: Decimal,
    ) -> Result<(), String> {
        let minor = (value * Decimal::from(100)).round_dp(0);
        let body = serde_json::json!({
            "merchantAccount": self.inner.config.merchant_account,
            "amount": { "currency": currency, "value": rust_decimal::prelude::ToPrimitive::to_i64(&minor).unwrap_or(0) },
            "reference": format!("capture-{psp_reference}"),
        });
        let reply = self.modify(
            ModificationKind::Capture,
            psp_reference,
            None,
            body.to_string().as_bytes(),
        );
        if reply.status.is_success() {
            Ok(())
        } else {
            Err(
                String::from_utf8_lossy(&serde_json::to_vec(&reply.body).unwrap_or_default())
                    .into_owned(),
            )
        }
    }

    /// The whole modification request: idempotency, validation, ledger,
    /// response, notifications. `api_key_ok` is checked by the caller.
    pub(crate) fn modify(
        &self,
        kind: ModificationKind,
        payment_psp_reference: &str,
        idempotency_key: Option<String>,
        body: &[u8],
    ) -> Reply {
        let reply = |status, body| Reply {
            status,
            body,
            idempotency_key: idempotency_key.clone(),
        };
        let account = self.inner.config.company_account.clone();
        let mut state = self.lock();
        if let Some(key) = &idempotency_key {
            if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX_LEN {
                let error =
                    AdyenError::invalid_idempotency_key().with_psp_reference(state.psp_reference());
                return reply(error.status_code(), json(&error));
            }
            if let Some(stored) = state.idempotency.get(&account, key) {
                return reply(stored.status, stored.body);
            }
        }
        let (status, body) = match self.apply(&mut state, kind, payment_psp_reference, body) {
            Ok(response) => (StatusCode::CREATED, json(&response)),
            Err(error) => {
                let error = error.with_psp_reference(state.psp_reference());
                (error.status_code(), json(&error))
            }
        };
        if let Some(key) = &idempotency_key {
            let stored = StoredResponse {
                status,
                body: body.clone(),
            };
            state.idempotency.put(&account, key, stored);
        }
        reply(status, body)
    }

    fn apply(
        &self,
        state: &mut State,
        kind: ModificationKind,
        payment_psp_reference: &str,
        body: &[u8],
    ) -> Result<ModificationResponse, AdyenError> {
        let request: ModificationRequest =
            serde_json::from_slice(body).map_err(AdyenError::unparsable)?;
        let merchant_account = request
            .merchant_account
            .clone()
            .ok_or_else(AdyenError::missing_merchant_account)?;
        if merchant_account != self.inner.config.merchant_account {
            return Err(AdyenError::foreign_merchant_account());
        }
        let position = *state
            .index
            .get(payment_psp_reference)
            .ok_or_else(AdyenError::unknown_payment)?;
        let psp_reference = state.psp_reference();
        let amount = match kind {
            ModificationKind::Cancel | ModificationKind::Reversal => None,
            _ => request.amount.clone(),
        };
        let details = details(&request);
        let now = Utc::now();
        let ledger_request = Request {
            kind,
            psp_reference: psp_reference.clone(),
            reference: request.reference.clone(),
            amount: amount.clone(),
            details,
            now,
        };
        let hmac_key = self.hmac_key(state);
        let State {
            payments, failures, ..
        } = &mut *state;
        let payment = payments
            .get_mut(position)
            .ok_or_else(AdyenError::unknown_payment)?;
        let events = payment.modify(ledger_request, failures)?;
        let items: Vec<_> = events
            .iter()
            .map(|event| notify::item(payment, Some(&psp_reference), event, &hmac_key, now))
            .collect();
        self.emit(state, items);
        Ok(ModificationResponse {
            merchant_account,
            payment_psp_reference: payment_psp_reference.to_string(),
            reference: request.reference,
            psp_reference,
            status: STATUS_RECEIVED.to_string(),
            amount,
        })
    }
}

fn details(request: &ModificationRequest) -> serde_json::Value {
    let mut details = serde_json::Map::new();
    if let Some(items) = &request.line_items {
        details.insert("lineItems".into(), items.clone());
    }
    if let Some(reason) = &request.merchant_refund_reason {
        details.insert("merchantRefundReason".into(), reason.clone().into());
    }
    if let Some(usage) = request.industry_usage.as_ref().or(request.reason.as_ref()) {
        details.insert("industryUsage".into(), usage.clone().into());
    }
    if details.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::Value::Object(details)
    }
}

fn valid_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}
