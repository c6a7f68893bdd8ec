//! Adyen connector: the Checkout API v71 payment modifications Seam makes
//! (captures, refunds, amount updates, cancels) and the inbound standard
//! notifications that report their outcomes.
//!
//! A modification answers 201 `{pspReference, status: "received"}`: Adyen
//! has taken the request, not decided it. The outcome arrives later as a
//! notification (CAPTURE, REFUND, AUTHORISATION_ADJUSTMENT, CANCELLATION,
//! possibly CAPTURE_FAILED / REFUND_FAILED after a success), so a flow
//! records the receipt and waits for the notification before calling the
//! effect verified.
//!
//! Every modification carries an `Idempotency-Key` derived from the
//! originating record (see `IdempotencyKey::derive`): Adyen stores the first
//! answer to a key for at least 31 days and replays it, so a retry by the
//! governor or a replayed job never captures or refunds twice. Amounts go
//! out in minor units converted exactly from `Money`; an amount that is not
//! a whole number of minor units is refused before any call.
//!
//! Notifications are verified item by item with the HMAC scheme Adyen
//! documents (hex-decoded key, HMAC-SHA256 over eight `:`-joined escaped
//! fields, base64), compared in constant time; a batch is accepted only if
//! every item verifies, and the receiver then answers `[accepted]`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use rust_decimal::Decimal;
use seam_config::{AdyenConfig, Secret};
use seam_engine::governor::{CallError, CallKind, Governor};
use seam_engine::{Failure, FailureClass, Store};
use seam_model::{Currency, Money};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::http::{HttpClient, RawResponse};
use crate::signature::verify_hmac_sha256;

/// The API version Seam speaks; every modification lives under it.
pub const API_VERSION_PATH: &str = "/v71";
/// What a notification receiver answers (with HTTP 200) so Adyen stops retrying.
pub const ACCEPTED_BODY: &str = "[accepted]";
/// Adyen documents at most 64 characters for `Idempotency-Key`.
pub const IDEMPOTENCY_KEY_MAX_LEN: usize = 64;
/// `additionalData` key that carries a notification item's signature.
pub const HMAC_SIGNATURE_KEY: &str = "hmacSignature";

const SYSTEM: &str = "adyen";

// ---------------------------------------------------------------------------
// Idempotency keys

/// An `Idempotency-Key`: 1 to 64 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key for an effect, derived from the record it comes from, e.g.
    /// `order:<centra id>:capture:<shipment id>`: the lowercase hex SHA-256 of
    /// that text (exactly 64 characters). The same record always gives the
    /// same key, so a replay after a crash is recognised by Adyen; the hash
    /// keeps arbitrary ids within Adyen's length limit.
    pub fn derive(origin: &str) -> Self {
        IdempotencyKey(hex::encode(Sha256::digest(origin.as_bytes())))
    }

    /// `derive("order:<order_id>:<operation>:<sequence>")`, the convention
    /// for effects that follow from an order (sequence: a shipment id, a
    /// return id, an edit number).
    pub fn for_order(order_id: &str, operation: &str, sequence: &str) -> Self {
        Self::derive(&format!("order:{order_id}:{operation}:{sequence}"))
    }

    /// A key given as is (for example one stored with an outbox row).
    pub fn new(raw: &str) -> Result<Self, Failure> {
        if raw.is_empty()
            || raw.len() > IDEMPOTENCY_KEY_MAX_LEN
            || !raw.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Failure::data(format!(
                "'{raw}' is not a valid Adyen Idempotency-Key (1 to {IDEMPOTENCY_KEY_MAX_LEN} \
                 visible ASCII characters)"
            )));
        }
        Ok(IdempotencyKey(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------
// Amounts

/// An amount as Adyen sends it: `{"currency":"EUR","value":2500}`, minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub currency: String,
    pub value: i64,
}

impl Amount {
    /// Converts exactly; refuses (as Data) an amount that is not a whole
    /// number of the currency's minor unit or does not fit. Minor-unit
    /// digits follow ISO 4217 as `seam_model::Currency` knows it, which is
    /// also Adyen's table for the currencies Seam is used with.
    pub fn from_money(money: &Money) -> Result<Amount, Failure> {
        let digits = money.currency.minor_unit_digits();
        let scaled = money
            .amount
            .checked_mul(Decimal::from(10i64.pow(digits)))
            .ok_or_else(|| Failure::data(format!("{money} is too large for Adyen")))?;
        if !scaled.fract().is_zero() {
            return Err(Failure::data(format!(
                "{} {} is not a whole number of minor units; Adyen takes minor units only",
                money.amount, money.currency
            )));
        }
        let value = i64::try_from(scaled)
            .map_err(|_| Failure::data(format!("{money} is too large for Adyen")))?;
        Ok(Amount {
            currency: money.currency.code().to_string(),
            value,
        })
    }

    pub fn to_money(&self) -> Result<Money, seam_model::CurrencyError> {
        let currency: Currency = self.currency.parse()?;
        Ok(Money::from_minor_units(self.value, currency))
    }
}

// ---------------------------------------------------------------------------
// Modifications

/// Which modification a receipt answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModificationKind {
    Capture,
    Refund,
    AmountUpdate,
    Cancel,
}

impl ModificationKind {
    fn path(self) -> &'static str {
        match self {
            ModificationKind::Capture => "captures",
            ModificationKind::Refund => "refunds",
            ModificationKind::AmountUpdate => "amountUpdates",
            ModificationKind::Cancel => "cancels",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            ModificationKind::Capture => "capture",
            ModificationKind::Refund => "refund",
            ModificationKind::AmountUpdate => "amount update",
            ModificationKind::Cancel => "cancel",
        }
    }
}

/// Why an authorised amount changes (`industryUsage`). Adyen introduced
/// the name in v72 and called it `reason` before; the v71 endpoint is sent
/// `industryUsage` (inferred to be accepted there, as the simulator does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum IndustryUsage {
    DelayedCharge,
    NoShow,
    Installment,
}

/// The body of every modification request, in Adyen's names.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationRequest {
    pub merchant_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry_usage: Option<IndustryUsage>,
}

/// The 201 answer, in Adyen's names.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationResponse {
    #[serde(default)]
    pub merchant_account: String,
    #[serde(default)]
    pub payment_psp_reference: String,
    #[serde(default)]
    pub reference: Option<String>,
    pub psp_reference: String,
    pub status: String,
    #[serde(default)]
    pub amount: Option<Amount>,
}

/// Adyen has received a modification: its own PSP reference, which the
/// outcome notification will carry as `pspReference` (with the payment's
/// as `originalReference`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModificationReceipt {
    pub kind: ModificationKind,
    pub payment_psp_reference: String,
    pub psp_reference: String,
    pub merchant_account: String,
    pub reference: Option<String>,
    pub amount: Option<Money>,
}

/// Adyen's error body: `{status, errorCode, message, errorType, pspReference?}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdyenError {
    pub status: u16,
    pub error_code: String,
    pub message: String,
    #[serde(default)]
    pub error_type: String,
    #[serde(default)]
    pub psp_reference: Option<String>,
}

/// The client for Adyen's Checkout modifications.
#[derive(Clone)]
pub struct AdyenClient {
    http: HttpClient,
    base: String,
    api_key: Result<HeaderValue, String>,
    merchant_account: String,
    hmac_key: Option<Secret>,
}

impl AdyenClient {
    /// Builds the client and its governor from the configuration; with a
    /// PostgreSQL store the request budget is shared by every process.
    pub fn new(config: &AdyenConfig, store: Option<Arc<dyn Store>>) -> Self {
        let governor = crate::governor_for(SYSTEM, &config.budget, store);
        Self::with_governor(config, governor)
    }

    /// Builds the client around a governor made elsewhere (tests, benches).
    pub fn with_governor(config: &AdyenConfig, governor: Arc<Governor>) -> Self {
        let api_key = HeaderValue::from_str(config.api_key.expose())
            .map(|mut value| {
                value.set_sensitive(true);
                value
            })
            .map_err(|_| "the configured Adyen API key is not a valid header value".to_string());
        let base = config.url.trim_end_matches('/');
        let base = base.strip_suffix(API_VERSION_PATH).unwrap_or(base);
        AdyenClient {
            http: HttpClient::new(SYSTEM, governor, config.budget.timeout),
            base: format!("{base}{API_VERSION_PATH}"),
            api_key,
            merchant_account: config.merchant_account.clone(),
            hmac_key: config.hmac_key.clone(),
        }
    }

    pub fn merchant_account(&self) -> &str {
        &self.merchant_account
    }

    pub fn governor(&self) -> &Arc<Governor> {
        self.http.governor()
    }

    /// Captures `amount` of the payment. A partial capture releases the
    /// rest of the authorisation unless the account has multiple partial
    /// captures enabled (Adyen's default, not Seam's choice).
    pub async fn capture(
        &self,
        psp_reference: &str,
        amount: &Money,
        reference: &str,
        key: &IdempotencyKey,
    ) -> Result<ModificationReceipt, Failure> {
        let amount = positive_amount(amount, "capture")?;
        self.modify(
            ModificationKind::Capture,
            psp_reference,
            Some(amount),
            reference,
            None,
            key,
        )
        .await
    }

    /// Refunds `amount` of what has been captured.
    pub async fn refund(
        &self,
        psp_reference: &str,
        amount: &Money,
        reference: &str,
        key: &IdempotencyKey,
    ) -> Result<ModificationReceipt, Failure> {
        let amount = positive_amount(amount, "refund")?;
        self.modify(
            ModificationKind::Refund,
            psp_reference,
            Some(amount),
            reference,
            None,
            key,
        )
        .await
    }

    /// Sets the authorised amount to `new_total` (larger or smaller). Only
    /// for pre-authorised payments with nothing captured yet; the issuer's
    /// decision arrives as an AUTHORISATION_ADJUSTMENT notification.
    pub async fn update_amount(
        &self,
        psp_reference: &str,
        new_total: &Money,
        industry_usage: Option<IndustryUsage>,
        reference: &str,
        key: &IdempotencyKey,
    ) -> Result<ModificationReceipt, Failure> {
        let amount = positive_amount(new_total, "amount update")?;
        self.modify(
            ModificationKind::AmountUpdate,
            psp_reference,
            Some(amount),
            reference,
            industry_usage,
            key,
        )
        .await
    }

    /// Releases what is still authorised and not captured.
    pub async fn cancel(
        &self,
        psp_reference: &str,
        reference: &str,
        key: &IdempotencyKey,
    ) -> Result<ModificationReceipt, Failure> {
        self.modify(
            ModificationKind::Cancel,
            psp_reference,
            None,
            reference,
            None,
            key,
        )
        .await
    }

    /// Parses and verifies a notification batch with the configured HMAC key.
    pub fn parse_notification(&self, body: &[u8]) -> Result<Notification, NotificationError> {
        let key = self
            .hmac_key
            .as_ref()
            .ok_or(NotificationError::InvalidKey)?;
        parse_notification(body, key.expose())
    }

    async fn modify(
        &self,
        kind: ModificationKind,
        psp_reference: &str,
        amount: Option<Amount>,
        reference: &str,
        industry_usage: Option<IndustryUsage>,
        key: &IdempotencyKey,
    ) -> Result<ModificationReceipt, Failure> {
        check_psp_reference(psp_reference)?;
        let api_key = self
            .api_key
            .clone()
            .map_err(|message| Failure::new(FailureClass::Auth, message))?;
        let request = ModificationRequest {
            merchant_account: self.merchant_account.clone(),
            amount,
            reference: (!reference.is_empty()).then(|| reference.to_string()),
            industry_usage,
        };
        let url = format!("{}/payments/{psp_reference}/{}", self.base, kind.path());
        self.http
            .send(
                CallKind::Mutation,
                |client| {
                    client
                        .post(&url)
                        .header("X-API-Key", api_key.clone())
                        .header("Idempotency-Key", key.as_str())
                        .header(CONTENT_TYPE, "application/json")
                        .json(&request)
                },
                |raw| receipt(kind, &raw),
            )
            .await
            .map_err(|failure| explain(failure, kind))
    }
}

fn positive_amount(money: &Money, what: &str) -> Result<Amount, Failure> {
    let amount = Amount::from_money(money)?;
    if amount.value <= 0 {
        return Err(Failure::data(format!(
            "a {what} needs a positive amount, not {money}"
        )));
    }
    Ok(amount)
}

/// PSP references are 16 alphanumerics; anything else would also change
/// the URL path, so it is refused before the call.
fn check_psp_reference(psp_reference: &str) -> Result<(), Failure> {
    if psp_reference.is_empty()
        || psp_reference.len() > 64
        || !psp_reference.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(Failure::data(format!(
            "'{psp_reference}' is not an Adyen PSP reference"
        )));
    }
    Ok(())
}

fn receipt(kind: ModificationKind, raw: &RawResponse) -> Result<ModificationReceipt, CallError> {
    let response: ModificationResponse = raw.json(SYSTEM)?;
    if response.status != "received" {
        return Err(CallError::Classified(Failure::data(format!(
            "Adyen answered the {} with status '{}' instead of 'received'",
            kind.noun(),
            response.status
        ))));
    }
    let amount = match &response.amount {
        Some(amount) => Some(amount.to_money().map_err(|error| {
            CallError::Classified(Failure::data(format!(
                "Adyen answered the {} with an amount Seam cannot read: {error}",
                kind.noun()
            )))
        })?),
        None => None,
    };
    Ok(ModificationReceipt {
        kind,
        payment_psp_reference: response.payment_psp_reference,
        psp_reference: response.psp_reference,
        merchant_account: response.merchant_account,
        reference: response.reference,
        amount,
    })
}

/// Rewrites a failure whose message carries Adyen's error body so it reads
/// `errorCode ... : message`; the class stays the governor's (422 and other
/// 4xx: data; 401/403: auth; 5xx: transient; 429: rate-limited).
fn explain(failure: Failure, kind: ModificationKind) -> Failure {
    let Some(error) = vendor_body::<AdyenError>(&failure.message) else {
        return failure;
    };
    let psp = error
        .psp_reference
        .as_deref()
        .map(|p| format!(" (pspReference {p})"))
        .unwrap_or_default();
    let message = match failure.class {
        FailureClass::Auth => format!(
            "Adyen refused the credentials for the {}: errorCode {} ({}): {}{psp}",
            kind.noun(),
            error.error_code,
            error.error_type,
            error.message
        ),
        _ => format!(
            "Adyen refused the {} ({}): errorCode {} ({}): {}{psp}",
            kind.noun(),
            error.status,
            error.error_code,
            error.error_type,
            error.message
        ),
    };
    Failure { message, ..failure }
}

/// The vendor's JSON error body inside a failure message (`HttpClient`
/// puts the answer's body after the system name).
pub(crate) fn vendor_body<T: serde::de::DeserializeOwned>(message: &str) -> Option<T> {
    let start = message.find('{')?;
    serde_json::Deserializer::from_str(&message[start..])
        .into_iter::<T>()
        .next()?
        .ok()
}

// ---------------------------------------------------------------------------
// Notifications

/// Notification event codes Seam acts on; others are kept by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventCode {
    Authorisation,
    AuthorisationAdjustment,
    Capture,
    CaptureFailed,
    Refund,
    RefundFailed,
    RefundedReversed,
    Cancellation,
    CancelOrRefund,
    Chargeback,
    Other(String),
}

impl EventCode {
    pub fn parse(code: &str) -> Self {
        match code {
            "AUTHORISATION" => EventCode::Authorisation,
            "AUTHORISATION_ADJUSTMENT" => EventCode::AuthorisationAdjustment,
            "CAPTURE" => EventCode::Capture,
            "CAPTURE_FAILED" => EventCode::CaptureFailed,
            "REFUND" => EventCode::Refund,
            "REFUND_FAILED" => EventCode::RefundFailed,
            "REFUNDED_REVERSED" => EventCode::RefundedReversed,
            "CANCELLATION" => EventCode::Cancellation,
            "CANCEL_OR_REFUND" => EventCode::CancelOrRefund,
            "CHARGEBACK" => EventCode::Chargeback,
            other => EventCode::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            EventCode::Authorisation => "AUTHORISATION",
            EventCode::AuthorisationAdjustment => "AUTHORISATION_ADJUSTMENT",
            EventCode::Capture => "CAPTURE",
            EventCode::CaptureFailed => "CAPTURE_FAILED",
            EventCode::Refund => "REFUND",
            EventCode::RefundFailed => "REFUND_FAILED",
            EventCode::RefundedReversed => "REFUNDED_REVERSED",
            EventCode::Cancellation => "CANCELLATION",
            EventCode::CancelOrRefund => "CANCEL_OR_REFUND",
            EventCode::Chargeback => "CHARGEBACK",
            EventCode::Other(code) => code,
        }
    }
}

impl fmt::Display for EventCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified notification batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub live: bool,
    pub items: Vec<NotificationItem>,
}

/// One verified `NotificationRequestItem`.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationItem {
    pub event_code: EventCode,
    pub success: bool,
    /// The modification's reference for modifications, the payment's for AUTHORISATION.
    pub psp_reference: String,
    /// The payment's reference, on modifications.
    pub original_reference: Option<String>,
    pub merchant_account_code: String,
    pub merchant_reference: String,
    pub amount: Money,
    /// Why it failed, when `success` is false; `None` when empty.
    pub reason: Option<String>,
    pub event_date: Option<String>,
    pub payment_method: Option<String>,
}

/// Adyen's documented de-duplication key: (pspReference, eventCode, success).
/// A CAPTURE success and a later CAPTURE_FAILED for the same capture are two
/// events; a redelivery of either is the same event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NotificationKey {
    pub psp_reference: String,
    pub event_code: String,
    pub success: bool,
}

impl fmt::Display for NotificationKey {
    /// `pspReference:eventCode:success`, usable as a journal event id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.psp_reference, self.event_code, self.success
        )
    }
}

impl NotificationItem {
    pub fn dedupe_key(&self) -> NotificationKey {
        NotificationKey {
            psp_reference: self.psp_reference.clone(),
            event_code: self.event_code.as_str().to_string(),
            success: self.success,
        }
    }

    /// The payment this item concerns: `originalReference` on
    /// modifications, `pspReference` on the authorisation itself.
    pub fn payment_psp_reference(&self) -> &str {
        self.original_reference
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or(&self.psp_reference)
    }
}

/// Why a notification batch was refused. The receiver answers an error
/// status (not `[accepted]`) so Adyen redelivers, and raises an alert: a
/// bad signature means a wrong key or a forged request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("the notification body is not an Adyen notification batch: {0}")]
    Malformed(String),
    #[error("the HMAC key is missing, empty or not hex")]
    InvalidKey,
    #[error("notification item {index} ({psp_reference}) has no hmacSignature")]
    MissingSignature { index: usize, psp_reference: String },
    #[error("notification item {index} ({psp_reference}) has a signature that does not match")]
    BadSignature { index: usize, psp_reference: String },
    #[error("notification item {index} ({psp_reference}) is invalid: {detail}")]
    InvalidItem {
        index: usize,
        psp_reference: String,
        detail: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBatch {
    #[serde(default)]
    live: serde_json::Value,
    notification_items: Vec<RawItemWrapper>,
}

#[derive(Deserialize)]
struct RawItemWrapper {
    #[serde(rename = "NotificationRequestItem")]
    item: RawItem,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawItem {
    event_code: String,
    success: String,
    psp_reference: String,
    #[serde(default)]
    original_reference: Option<String>,
    #[serde(default)]
    merchant_account_code: String,
    #[serde(default)]
    merchant_reference: String,
    amount: Amount,
    #[serde(default)]
    event_date: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    payment_method: Option<String>,
    #[serde(default)]
    additional_data: BTreeMap<String, serde_json::Value>,
}

impl RawItem {
    /// `pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success`
    /// over the fields exactly as received, each with `\` and `:` escaped.
    fn signing_payload(&self) -> String {
        let value = self.amount.value.to_string();
        [
            self.psp_reference.as_str(),
            self.original_reference.as_deref().unwrap_or(""),
            self.merchant_account_code.as_str(),
            self.merchant_reference.as_str(),
            value.as_str(),
            self.amount.currency.as_str(),
            self.event_code.as_str(),
            self.success.as_str(),
        ]
        .iter()
        .map(|field| field.replace('\\', "\\\\").replace(':', "\\:"))
        .collect::<Vec<_>>()
        .join(":")
    }
}

/// The signing string of one item (exposed for tools that sign test data).
pub fn notification_signing_payload(
    psp_reference: &str,
    original_reference: &str,
    merchant_account_code: &str,
    merchant_reference: &str,
    amount: &Amount,
    event_code: &str,
    success: &str,
) -> String {
    RawItem {
        event_code: event_code.to_string(),
        success: success.to_string(),
        psp_reference: psp_reference.to_string(),
        original_reference: Some(original_reference.to_string()),
        merchant_account_code: merchant_account_code.to_string(),
        merchant_reference: merchant_reference.to_string(),
        amount: amount.clone(),
        event_date: None,
        reason: None,
        payment_method: None,
        additional_data: BTreeMap::new(),
    }
    .signing_payload()
}

/// Parses a notification batch and verifies every item's
/// `additionalData.hmacSignature` with the hex Customer Area key. The batch
/// is accepted only if every item verifies; the first failing item is
/// reported. Never panics, whatever the input.
pub fn parse_notification(
    body: &[u8],
    hmac_key_hex: &str,
) -> Result<Notification, NotificationError> {
    let key = hex::decode(hmac_key_hex.trim()).map_err(|_| NotificationError::InvalidKey)?;
    if key.is_empty() {
        return Err(NotificationError::InvalidKey);
    }
    let batch: RawBatch = serde_json::from_slice(body)
        .map_err(|error| NotificationError::Malformed(error.to_string()))?;
    let live = match &batch.live {
        serde_json::Value::String(text) => text == "true",
        serde_json::Value::Bool(flag) => *flag,
        _ => false,
    };
    let mut items = Vec::with_capacity(batch.notification_items.len());
    for (index, RawItemWrapper { item }) in batch.notification_items.into_iter().enumerate() {
        let signature = item
            .additional_data
            .get(HMAC_SIGNATURE_KEY)
            .and_then(|value| value.as_str())
            .ok_or_else(|| NotificationError::MissingSignature {
                index,
                psp_reference: item.psp_reference.clone(),
            })?;
        let bad_signature = || NotificationError::BadSignature {
            index,
            psp_reference: item.psp_reference.clone(),
        };
        let expected = base64::engine::general_purpose::STANDARD
            .decode(signature.trim())
            .map_err(|_| bad_signature())?;
        if !verify_hmac_sha256(&key, item.signing_payload().as_bytes(), &expected) {
            return Err(bad_signature());
        }
        let invalid = |detail: String| NotificationError::InvalidItem {
            index,
            psp_reference: item.psp_reference.clone(),
            detail,
        };
        let success = match item.success.as_str() {
            "true" => true,
            "false" => false,
            other => return Err(invalid(format!("success is '{other}', not true or false"))),
        };
        let amount = item
            .amount
            .to_money()
            .map_err(|error| invalid(error.to_string()))?;
        items.push(NotificationItem {
            event_code: EventCode::parse(&item.event_code),
            success,
            psp_reference: item.psp_reference,
            original_reference: item.original_reference.filter(|r| !r.is_empty()),
            merchant_account_code: item.merchant_account_code,
            merchant_reference: item.merchant_reference,
            amount,
            reason: item.reason.filter(|r| !r.is_empty()),
            event_date: item.event_date,
            payment_method: item.payment_method.filter(|m| !m.is_empty()),
        });
    }
    Ok(Notification { live, items })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";

    fn signed_batch(merchant_reference: &str, tamper: bool) -> Vec<u8> {
        let amount = Amount {
            currency: "EUR".into(),
            value: 2500,
        };
        let payload = notification_signing_payload(
            "993617894906488A",
            "993617894903480A",
            "SeamECOM",
            merchant_reference,
            &amount,
            "CAPTURE",
            "true",
        );
        let key = hex::decode(KEY).unwrap();
        let signature = base64::engine::general_purpose::STANDARD
            .encode(crate::signature::hmac_sha256(&key, payload.as_bytes()));
        let value = if tamper { 2600 } else { 2500 };
        serde_json::to_vec(&serde_json::json!({
            "live": "false",
            "notificationItems": [{"NotificationRequestItem": {
                "eventCode": "CAPTURE", "success": "true",
                "pspReference": "993617894906488A", "originalReference": "993617894903480A",
                "merchantAccountCode": "SeamECOM", "merchantReference": merchant_reference,
                "amount": {"value": value, "currency": "EUR"},
                "eventDate": "2024-05-01T10:00:00+02:00", "reason": "",
                "additionalData": {"hmacSignature": signature}
            }}]
        }))
        .unwrap()
    }

    #[test]
    fn idempotency_keys_are_deterministic_and_fit_adyens_limit() {
        let a = IdempotencyKey::for_order("1497ccf6", "capture", "shipment-2");
        assert_eq!(
            a,
            IdempotencyKey::derive("order:1497ccf6:capture:shipment-2")
        );
        assert_eq!(a.as_str().len(), 64);
        assert_ne!(
            a,
            IdempotencyKey::for_order("1497ccf6", "capture", "shipment-3")
        );
        assert!(IdempotencyKey::new(&"x".repeat(65)).is_err());
        assert!(IdempotencyKey::new("").is_err());
        assert!(IdempotencyKey::new("order 1").is_err());
    }

    #[test]
    fn amounts_convert_exactly_or_are_refused() {
        let eur = |amount| Money::new(amount, Currency::EUR);
        assert_eq!(Amount::from_money(&eur(dec!(25.00))).unwrap().value, 2500);
        assert_eq!(Amount::from_money(&eur(dec!(0.1))).unwrap().value, 10);
        let jpy = Money::new(dec!(1500), "JPY".parse().unwrap());
        assert_eq!(Amount::from_money(&jpy).unwrap().value, 1500);
        let error = Amount::from_money(&eur(dec!(10.005))).unwrap_err();
        assert_eq!(error.class, FailureClass::Data);
        assert!(Amount::from_money(&eur(Decimal::MAX)).is_err());
    }

    #[test]
    fn colons_and_backslashes_are_escaped_in_the_signing_string() {
        let payload = notification_signing_payload(
            "A",
            "",
            "M",
            r"order:1\a",
            &Amount {
                currency: "EUR".into(),
                value: 1130,
            },
            "AUTHORISATION",
            "true",
        );
        assert_eq!(payload, r"A::M:order\:1\\a:1130:EUR:AUTHORISATION:true");
    }

    #[test]
    fn a_signed_batch_verifies_and_a_tampered_one_does_not() {
        let notification =
            parse_notification(&signed_batch("centra:100234", false), KEY).expect("verifies");
        assert!(!notification.live);
        let item = &notification.items[0];
        assert_eq!(item.event_code, EventCode::Capture);
        assert!(item.success);
        assert_eq!(item.amount, Money::new(dec!(25.00), Currency::EUR));
        assert_eq!(item.reason, None);
        assert_eq!(item.payment_psp_reference(), "993617894903480A");
        assert_eq!(
            item.dedupe_key().to_string(),
            "993617894906488A:CAPTURE:true"
        );
        assert!(matches!(
            parse_notification(&signed_batch("centra:100234", true), KEY),
            Err(NotificationError::BadSignature { index: 0, .. })
        ));
        assert!(matches!(
            parse_notification(&signed_batch("centra:100234", false), "00ff"),
            Err(NotificationError::BadSignature { .. })
        ));
        assert_eq!(
            parse_notification(&signed_batch("x", false), "not hex"),
            Err(NotificationError::InvalidKey)
        );
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for body in [
            &b""[..],
            b"[accepted]",
            b"{\"notificationItems\":[{}]}",
            b"{\"notificationItems\":[{\"NotificationRequestItem\":{\"eventCode\":1}}]}",
            &[0xff, 0xfe, 0x00],
        ] {
            assert!(parse_notification(body, KEY).is_err());
        }
    }

    #[test]
    fn vendor_error_bodies_are_found_in_failure_messages() {
        let message = "adyen rejected the request (422): adyen: {\"status\":422,\
                       \"errorCode\":\"137\",\"message\":\"Invalid amount specified\",\
                       \"errorType\":\"validation\"}";
        let failure = explain(Failure::data(message), ModificationKind::Capture);
        assert_eq!(failure.class, FailureClass::Data);
        assert!(failure.message.contains("errorCode 137"));
        assert!(failure.message.contains("Invalid amount specified"));
        let truncated = Failure::data("adyen rejected the request (422): adyen: {\"status\":4…");
        assert_eq!(
            explain(truncated.clone(), ModificationKind::Capture),
            truncated
        );
    }
}
