//! Reveni connector: the merchant API v0 under
//! `/merchants/v0/stores/{store_id}/` (list returns changed since a time,
//! read a return, validate its items, subscribe to webhooks) and the
//! inbound thin webhook.
//!
//! Reveni's webhooks are thin: `{id, created, event, data: {resource_id,
//! status}}`. The hub journals the envelope (deduplicated by `id`), then
//! reads the return with `get_return`, which is the only source of truth
//! for items, reviews, refunds and the exchange order.
//!
//! Authenticity of webhooks: Reveni publishes no signature scheme. Seam's
//! own convention (not Reveni's) is a shared secret sent in a header whose
//! name and value are configured on both sides (the simulator does the
//! same); `parse_webhook` compares it in constant time. Because a shared
//! secret proves less than a signature, the envelope is only a hint and the
//! return is always re-read through the authenticated API.
//!
//! Shapes: the calls and field names come from a public third-party Odoo
//! connector and Reveni's help centre (backends.md §1); the error body
//! `{status, code, message}`, `order_line_id`, `price`, `review`, the
//! refund and exchange-order shapes, and the listing of returns
//! (`returns_updated_since`) are inferred and marked so below.
//!
//! Idempotency: Reveni documents no idempotency key. `partial_validate`
//! names item ids and unit counts, and Reveni refuses to validate more units
//! than are open, so a replayed validation cannot decide a unit twice; it
//! fails as Data instead, and the flow reads the return back to see that
//! its decision is already there. `register_webhook` reads the existing
//! subscriptions first and reuses one with the same URL and events.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use rust_decimal::Decimal;
use seam_config::{ReveniConfig, Secret};
use seam_engine::governor::{CallKind, Governor};
use seam_engine::{Failure, FailureClass, Store};
use seam_model::{Currency, Money};
use serde::{Deserialize, Deserializer, Serialize};

use crate::http::HttpClient;
use crate::signature::{hmac_sha256, verify_hmac_sha256};

/// Every vendor route lives under this path, then the store id.
pub const API_BASE_PATH: &str = "/merchants/v0/stores";
pub const EVENT_RETURN_CREATED: &str = "return.created";
pub const EVENT_RETURN_UPDATED: &str = "return.updated";
/// The shared-secret header Seam expects on Reveni webhooks unless told
/// otherwise (Seam's convention; Reveni has no signature scheme).
pub const DEFAULT_SECRET_HEADER: &str = "X-Reveni-Secret";

const SYSTEM: &str = "reveni";

// ---------------------------------------------------------------------------
// Vendor shapes

/// A return's state. The API enum of Reveni's "List Returns" tool, plus
/// `PARTLY_ACCEPTED` (the dashboard's mixed outcome; inferred API name).
/// Webhooks carry the same names in lower case. A state Seam does not know
/// is kept as `Unknown` and treated as not final.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReturnStatus {
    InProgress,
    Shipped,
    Received,
    ForReview,
    Accepted,
    PartlyAccepted,
    Rejected,
    Expired,
    Cancelled,
    OnHold,
    Pending,
    Completed,
    Unknown(String),
}

impl ReturnStatus {
    pub fn parse(name: &str) -> Self {
        match name.trim().to_ascii_uppercase().as_str() {
            "IN_PROGRESS" => ReturnStatus::InProgress,
            "SHIPPED" => ReturnStatus::Shipped,
            "RECEIVED" => ReturnStatus::Received,
            "FOR_REVIEW" => ReturnStatus::ForReview,
            "ACCEPTED" => ReturnStatus::Accepted,
            "PARTLY_ACCEPTED" => ReturnStatus::PartlyAccepted,
            "REJECTED" => ReturnStatus::Rejected,
            "EXPIRED" => ReturnStatus::Expired,
            "CANCELLED" => ReturnStatus::Cancelled,
            "ON_HOLD" => ReturnStatus::OnHold,
            "PENDING" => ReturnStatus::Pending,
            "COMPLETED" => ReturnStatus::Completed,
            _ => ReturnStatus::Unknown(name.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ReturnStatus::InProgress => "IN_PROGRESS",
            ReturnStatus::Shipped => "SHIPPED",
            ReturnStatus::Received => "RECEIVED",
            ReturnStatus::ForReview => "FOR_REVIEW",
            ReturnStatus::Accepted => "ACCEPTED",
            ReturnStatus::PartlyAccepted => "PARTLY_ACCEPTED",
            ReturnStatus::Rejected => "REJECTED",
            ReturnStatus::Expired => "EXPIRED",
            ReturnStatus::Cancelled => "CANCELLED",
            ReturnStatus::OnHold => "ON_HOLD",
            ReturnStatus::Pending => "PENDING",
            ReturnStatus::Completed => "COMPLETED",
            ReturnStatus::Unknown(name) => name,
        }
    }

    /// The merchant's decision is made (or the return ended without one).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            ReturnStatus::Accepted
                | ReturnStatus::PartlyAccepted
                | ReturnStatus::Rejected
                | ReturnStatus::Expired
                | ReturnStatus::Cancelled
                | ReturnStatus::Completed
        )
    }
}

impl<'de> Deserialize<'de> for ReturnStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ReturnStatus::parse(&String::deserialize(d)?))
    }
}

impl fmt::Display for ReturnStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `type`: refund, exchange or (help centre) mixed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReturnType {
    Refund,
    Exchange,
    Mixed,
    Unknown(String),
}

impl<'de> Deserialize<'de> for ReturnType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(match name.to_ascii_lowercase().as_str() {
            "refund" => ReturnType::Refund,
            "exchange" => ReturnType::Exchange,
            "mixed" => ReturnType::Mixed,
            _ => ReturnType::Unknown(name),
        })
    }
}

/// Per-item review state (inferred names beyond `status`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReviewStatus {
    Pending,
    Accepted,
    Rejected,
    PartlyAccepted,
    Unknown(String),
}

impl<'de> Deserialize<'de> for ReviewStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(match name.to_ascii_lowercase().as_str() {
            "pending" => ReviewStatus::Pending,
            "accepted" => ReviewStatus::Accepted,
            "rejected" => ReviewStatus::Rejected,
            "partly_accepted" => ReviewStatus::PartlyAccepted,
            _ => ReviewStatus::Unknown(name),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderRef {
    /// The shop platform's order id (the Centra order id).
    pub external_id: String,
    /// The order number the shopper typed in the portal.
    #[serde(default)]
    pub number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Exchange {
    pub sku: String,
}

/// The merchant's review of one item (inferred shape beyond `status` and
/// `reject_reason`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Review {
    pub status: ReviewStatus,
    #[serde(default)]
    pub accepted_quantity: u32,
    #[serde(default)]
    pub rejected_quantity: u32,
    #[serde(default)]
    pub reject_reason: Option<String>,
    #[serde(default)]
    pub reject_reason_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReturnItem {
    pub item_id: String,
    pub sku: String,
    pub quantity: u32,
    #[serde(default)]
    pub return_reason: String,
    /// The shop's order line id (the Centra order line id). Inferred name.
    #[serde(default)]
    pub order_line_id: Option<String>,
    /// Unit price paid, major units. Inferred.
    #[serde(default, deserialize_with = "exact::option")]
    pub price: Option<Decimal>,
    /// The variant wanted in exchange; `None` for a refund.
    #[serde(default)]
    pub exchange: Option<Exchange>,
    #[serde(default)]
    pub review: Option<Review>,
}

impl ReturnItem {
    pub fn exchange_sku(&self) -> Option<&str> {
        self.exchange.as_ref().map(|e| e.sku.as_str())
    }
}

/// A refund Reveni made (inferred shape; the amount is exact, major units).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Refund {
    #[serde(deserialize_with = "exact::required")]
    pub amount: Decimal,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub refunded_at: Option<DateTime<Utc>>,
}

impl Refund {
    /// The refund as `Money`, with the return's currency when the refund names none.
    pub fn money(&self, return_currency: Option<&str>) -> Option<Money> {
        let code = self.currency.as_deref().or(return_currency)?;
        let currency = Currency::from_str(code).ok()?;
        Some(Money::new(self.amount, currency))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExchangeOrderItem {
    pub sku: String,
    pub quantity: u32,
}

/// The exchange order Reveni asks the shop to create (inferred shape).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExchangeOrder {
    pub id: String,
    #[serde(default)]
    pub items: Vec<ExchangeOrderItem>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

/// `GET returns/{return_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Return {
    pub id: String,
    pub status: ReturnStatus,
    #[serde(rename = "type")]
    pub return_type: ReturnType,
    /// `REFUND` or `EXCHANGE` (API enum); kept as sent.
    #[serde(default)]
    pub transaction_type: Option<String>,
    /// Refunded or exchanged before the items come back.
    #[serde(default)]
    pub instant: bool,
    /// Inferred: the currency refunds are made in.
    #[serde(default)]
    pub currency: Option<String>,
    pub order: OrderRef,
    #[serde(default)]
    pub return_items: Vec<ReturnItem>,
    #[serde(default)]
    pub refunds: Vec<Refund>,
    #[serde(default)]
    pub exchange_order: Option<ExchangeOrder>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl Return {
    /// The sum of the refunds Reveni reports, exactly.
    pub fn refunded_total(&self) -> Decimal {
        self.refunds.iter().map(|refund| refund.amount).sum()
    }
}

/// The largest page `returns_updated_since` asks for (inferred limit).
pub const MAX_RETURNS_PER_PAGE: u32 = 100;

/// One page of `GET returns?updated_after=` (inferred shape: Reveni's MCP
/// tool "List Returns" shows the API lists returns, but its REST route,
/// parameters and answer are not public).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReturnPage {
    pub results: Vec<Return>,
    #[serde(default)]
    pub has_more: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemDecision {
    Accepted,
    Rejected,
}

/// One entry of `POST returns/{id}/partial_validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationItem {
    pub item_id: String,
    /// Units decided; Reveni takes every open unit when absent (inferred).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    pub status: ItemDecision,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_reason_text: Option<String>,
}

impl ValidationItem {
    pub fn accept(item_id: &str, quantity: u32) -> Self {
        ValidationItem {
            item_id: item_id.to_string(),
            quantity: Some(quantity),
            status: ItemDecision::Accepted,
            reject_reason: None,
            reject_reason_text: None,
        }
    }

    /// Reveni requires a reason to reject.
    pub fn reject(item_id: &str, quantity: u32, reason: &str, text: Option<&str>) -> Self {
        ValidationItem {
            item_id: item_id.to_string(),
            quantity: Some(quantity),
            status: ItemDecision::Rejected,
            reject_reason: Some(reason.to_string()),
            reject_reason_text: text.map(str::to_string),
        }
    }
}

#[derive(Serialize)]
struct PartialValidateRequest<'a> {
    items: &'a [ValidationItem],
}

#[derive(Serialize)]
struct WebhookRequest<'a> {
    event_types: &'a [String],
    url: &'a str,
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
}

/// Reveni's error body; Reveni publishes none, this flat shape is inferred.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReveniError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

// ---------------------------------------------------------------------------
// Client

#[derive(Clone)]
pub struct ReveniClient {
    http: HttpClient,
    base: String,
    authorization: Result<HeaderValue, String>,
    webhook_secret: Option<Secret>,
}

impl ReveniClient {
    pub fn new(config: &ReveniConfig, store: Option<Arc<dyn Store>>) -> Self {
        let governor = crate::governor_for(SYSTEM, &config.budget, store);
        Self::with_governor(config, governor)
    }

    pub fn with_governor(config: &ReveniConfig, governor: Arc<Governor>) -> Self {
        let authorization = HeaderValue::from_str(&format!("Bearer {}", config.api_key.expose()))
            .map(|mut value| {
                value.set_sensitive(true);
                value
            })
            .map_err(|_| "the configured Reveni API key is not a valid header value".to_string());
        // `url` is the API host; a URL that already names the v0 path
        // (`…/merchants/v0`, or down to the stores) is accepted too.
        let url = config.url.trim_end_matches('/');
        let host = url.find("/merchants/v0").map_or(url, |at| &url[..at]);
        ReveniClient {
            http: HttpClient::new(SYSTEM, governor, config.budget.timeout),
            base: format!("{host}{API_BASE_PATH}/{}", config.store_id),
            authorization,
            webhook_secret: config.webhook_secret.clone(),
        }
    }

    pub fn governor(&self) -> &Arc<Governor> {
        self.http.governor()
    }

    /// Reads a return; `Ok(None)` when Reveni has no return with this id.
    pub async fn get_return(&self, return_id: &str) -> Result<Option<Return>, Failure> {
        check_id(return_id, "return id")?;
        let url = format!("{}/returns/{return_id}", self.base);
        let result = self
            .call(CallKind::Read, reqwest::Method::GET, &url, None, |raw| {
                raw.json::<Return>(SYSTEM)
            })
            .await;
        match result {
            Err(failure) if vendor_code(&failure).as_deref() == Some("return_not_found") => {
                Ok(None)
            }
            other => other
                .map(Some)
                .map_err(|f| explain(f, "reading the return")),
        }
    }

    /// Returns changed at or after `since` (Reveni's own `updated_at`),
    /// oldest change first, `limit` (1..=100) per page, pages from 1: the
    /// safety net for webhooks Reveni never delivers. Inferred route and
    /// parameters (`GET returns?updated_after=&page=&limit=`); a real
    /// Reveni account must confirm them before go-live.
    pub async fn returns_updated_since(
        &self,
        since: DateTime<Utc>,
        page: u32,
        limit: u32,
    ) -> Result<ReturnPage, Failure> {
        let mut url = reqwest::Url::parse(&format!("{}/returns", self.base))
            .map_err(|e| Failure::data(format!("the Reveni URL is not valid: {e}")))?;
        url.query_pairs_mut()
            .append_pair(
                "updated_after",
                &since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            )
            .append_pair("page", &page.max(1).to_string())
            .append_pair("limit", &limit.clamp(1, MAX_RETURNS_PER_PAGE).to_string());
        self.call(
            CallKind::Read,
            reqwest::Method::GET,
            url.as_str(),
            None,
            |raw| raw.json::<ReturnPage>(SYSTEM),
        )
        .await
        .map_err(|f| explain(f, "listing returns"))
    }

    /// The merchant's decision on some units of a return; answers the
    /// return as it is afterwards (inferred: the simulator does so).
    pub async fn partial_validate(
        &self,
        return_id: &str,
        items: &[ValidationItem],
    ) -> Result<Return, Failure> {
        check_id(return_id, "return id")?;
        if items.is_empty() {
            return Err(Failure::data("a validation needs at least one item"));
        }
        let url = format!("{}/returns/{return_id}/partial_validate", self.base);
        let body = serde_json::to_vec(&PartialValidateRequest { items })
            .map_err(|e| Failure::data(format!("cannot encode the validation: {e}")))?;
        self.call(
            CallKind::Mutation,
            reqwest::Method::POST,
            &url,
            Some(body),
            |raw| raw.json::<Return>(SYSTEM),
        )
        .await
        .map_err(|f| explain(f, "validating the return"))
    }

    /// Subscribes `url` to `event_types`, reusing an existing subscription
    /// with the same URL that already covers them (so a replay does not
    /// subscribe twice). Listing subscriptions is inferred; where it is not
    /// available the subscription is simply created.
    pub async fn register_webhook(
        &self,
        url: &str,
        event_types: &[&str],
    ) -> Result<Webhook, Failure> {
        let event_types: Vec<String> = event_types.iter().map(|t| t.to_string()).collect();
        let list_url = format!("{}/webhooks", self.base);
        match self
            .call(
                CallKind::Read,
                reqwest::Method::GET,
                &list_url,
                None,
                |raw| raw.json::<Vec<Webhook>>(SYSTEM),
            )
            .await
        {
            Ok(existing) => {
                if let Some(found) = existing.into_iter().find(|hook| {
                    hook.url == url && event_types.iter().all(|t| hook.event_types.contains(t))
                }) {
                    return Ok(found);
                }
            }
            Err(failure) if failure.class == FailureClass::Data => {}
            Err(failure) => return Err(explain(failure, "listing webhooks")),
        }
        let body = serde_json::to_vec(&WebhookRequest {
            event_types: &event_types,
            url,
        })
        .map_err(|e| Failure::data(format!("cannot encode the subscription: {e}")))?;
        self.call(
            CallKind::Mutation,
            reqwest::Method::POST,
            &list_url,
            Some(body),
            |raw| raw.json::<Webhook>(SYSTEM),
        )
        .await
        .map_err(|f| explain(f, "registering the webhook"))
    }

    /// Removes a subscription; `Ok(false)` when it was already gone.
    pub async fn delete_webhook(&self, webhook_id: &str) -> Result<bool, Failure> {
        check_id(webhook_id, "webhook id")?;
        let url = format!("{}/webhooks/{webhook_id}", self.base);
        let result = self
            .call(
                CallKind::Mutation,
                reqwest::Method::DELETE,
                &url,
                None,
                |_| Ok(()),
            )
            .await;
        match result {
            Ok(()) => Ok(true),
            Err(failure) if vendor_code(&failure).as_deref() == Some("webhook_not_found") => {
                Ok(false)
            }
            Err(failure) => Err(explain(failure, "deleting the webhook")),
        }
    }

    /// Checks and decodes a delivery with the configured secret in
    /// `secret_header` (usually `DEFAULT_SECRET_HEADER`).
    pub fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        secret_header: &str,
    ) -> Result<WebhookEvent, WebhookError> {
        let secret = self
            .webhook_secret
            .as_ref()
            .ok_or(WebhookError::NoSecretConfigured)?;
        parse_webhook(headers, body, secret_header, secret.expose())
    }

    async fn call<T>(
        &self,
        kind: CallKind,
        method: reqwest::Method,
        url: &str,
        body: Option<Vec<u8>>,
        interpret: impl Fn(crate::http::RawResponse) -> Result<T, seam_engine::governor::CallError>,
    ) -> Result<T, Failure> {
        let authorization = self
            .authorization
            .clone()
            .map_err(|message| Failure::new(FailureClass::Auth, message))?;
        self.http
            .send(
                kind,
                |client| {
                    let request = client
                        .request(method.clone(), url)
                        .header(AUTHORIZATION, authorization.clone());
                    match &body {
                        Some(body) => request
                            .header(CONTENT_TYPE, "application/json")
                            .body(body.clone()),
                        None => request,
                    }
                },
                interpret,
            )
            .await
    }
}

/// Ids go into URL paths: uuids and similar tokens only.
fn check_id(id: &str, what: &str) -> Result<(), Failure> {
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Failure::data(format!("'{id}' is not a Reveni {what}")));
    }
    Ok(())
}

/// Reveni's error body inside a failure message (`HttpClient` puts the
/// answer's body after the system name).
fn vendor_error(failure: &Failure) -> Option<ReveniError> {
    let start = failure.message.find('{')?;
    serde_json::Deserializer::from_str(&failure.message[start..])
        .into_iter::<ReveniError>()
        .next()?
        .ok()
}

fn vendor_code(failure: &Failure) -> Option<String> {
    vendor_error(failure).map(|error| error.code)
}

/// Restates a failure with Reveni's code and message, and corrects two
/// classes: a 409 `invalid_status` is the return's state refusing the
/// change (Data, not a duplicate), and `store_not_found` means the
/// configured store id does not belong to the API key (Auth: a
/// configuration problem for Engineering).
fn explain(failure: Failure, doing: &str) -> Failure {
    let Some(error) = vendor_error(&failure) else {
        return failure;
    };
    let class = match (error.code.as_str(), failure.class) {
        ("store_not_found", _) => FailureClass::Auth,
        (_, FailureClass::Duplicate) => FailureClass::Data,
        (_, class) => class,
    };
    Failure {
        class,
        message: format!(
            "Reveni refused {doing} ({} {}): {}",
            error.status, error.code, error.message
        ),
        retry_after: failure.retry_after,
    }
}

// ---------------------------------------------------------------------------
// Inbound webhooks

/// Which event a webhook reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReturnEventKind {
    Created,
    Updated,
    Other(String),
}

/// A verified thin webhook: re-read the return `resource_id` before acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// Reveni's event id (`evt_...`): the journal's dedupe key.
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    pub kind: ReturnEventKind,
    /// The return id.
    pub resource_id: String,
    /// The return's state when the event was sent (may be stale by the
    /// time it arrives; the re-read return wins).
    pub status: ReturnStatus,
}

impl WebhookEvent {
    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.created, 0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("no Reveni webhook secret is configured")]
    NoSecretConfigured,
    #[error("the shared-secret header {0} is missing")]
    MissingSecret(String),
    #[error("the shared-secret header does not match")]
    WrongSecret,
    #[error("the body is not a Reveni webhook: {0}")]
    Malformed(String),
}

#[derive(Deserialize)]
struct RawEvent {
    id: String,
    #[serde(default)]
    created: i64,
    event: String,
    data: RawEventData,
}

#[derive(Deserialize)]
struct RawEventData {
    resource_id: String,
    status: String,
}

/// Checks the shared-secret header (constant time; see the module header:
/// this is Seam's convention, Reveni signs nothing) and decodes the thin
/// envelope. Never panics, whatever the input.
pub fn parse_webhook(
    headers: &HeaderMap,
    body: &[u8],
    secret_header: &str,
    expected_secret: &str,
) -> Result<WebhookEvent, WebhookError> {
    if expected_secret.is_empty() {
        return Err(WebhookError::NoSecretConfigured);
    }
    let received = headers
        .get(secret_header)
        .ok_or_else(|| WebhookError::MissingSecret(secret_header.to_string()))?;
    // Comparing MACs of both values keyed by each value hides the secret's
    // length and compares in constant time (`verify_slice` is constant-time).
    const LABEL: &[u8] = b"seam:reveni:webhook-secret";
    let expected_tag = hmac_sha256(expected_secret.as_bytes(), LABEL);
    if !verify_hmac_sha256(received.as_bytes(), LABEL, &expected_tag) {
        return Err(WebhookError::WrongSecret);
    }
    let raw: RawEvent =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    if raw.id.is_empty() || raw.data.resource_id.is_empty() {
        return Err(WebhookError::Malformed(
            "id and data.resource_id must not be empty".into(),
        ));
    }
    let kind = match raw.event.as_str() {
        EVENT_RETURN_CREATED => ReturnEventKind::Created,
        EVENT_RETURN_UPDATED => ReturnEventKind::Updated,
        _ => ReturnEventKind::Other(raw.event),
    };
    Ok(WebhookEvent {
        id: raw.id,
        created: raw.created,
        kind,
        resource_id: raw.data.resource_id,
        status: ReturnStatus::parse(&raw.data.status),
    })
}

/// Exact decimals from JSON: strings are parsed exactly; integers are
/// exact; a JSON number with a fraction is read from its shortest
/// round-trip text (serde_json has already made it an f64), which is the
/// text Reveni sent for any amount with fewer than 16 significant digits.
mod exact {
    use rust_decimal::Decimal;
    use serde::de::{self, Visitor};
    use serde::{Deserialize, Deserializer};

    struct ExactVisitor;

    impl Visitor<'_> for ExactVisitor {
        type Value = Decimal;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a decimal amount as a string or number")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
            Decimal::from_str_exact(v.trim()).map_err(E::custom)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
            if !v.is_finite() {
                return Err(E::custom("not a finite amount"));
            }
            Decimal::from_str_exact(&v.to_string()).map_err(E::custom)
        }
    }

    struct Exact(Decimal);

    impl<'de> Deserialize<'de> for Exact {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(ExactVisitor).map(Exact)
        }
    }

    pub fn required<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        d.deserialize_any(ExactVisitor)
    }

    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Ok(Option::<Exact>::deserialize(d)?.map(|e| e.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    const ENVELOPE: &[u8] = br#"{"id":"evt_1","created":1700000000,"event":"return.updated",
        "data":{"resource_id":"5b1c-uuid","status":"in_progress"}}"#;

    #[test]
    fn webhooks_need_the_shared_secret() {
        let ok = parse_webhook(
            &headers("x-reveni-secret", "s3cret"),
            ENVELOPE,
            DEFAULT_SECRET_HEADER,
            "s3cret",
        )
        .expect("accepted");
        assert_eq!(ok.kind, ReturnEventKind::Updated);
        assert_eq!(ok.status, ReturnStatus::InProgress);
        assert_eq!(ok.resource_id, "5b1c-uuid");
        assert_eq!(ok.created_at().map(|t| t.timestamp()), Some(1_700_000_000));
        for wrong in ["s3cre", "s3cret ", "S3CRET", ""] {
            assert_eq!(
                parse_webhook(
                    &headers(DEFAULT_SECRET_HEADER, wrong),
                    ENVELOPE,
                    DEFAULT_SECRET_HEADER,
                    "s3cret"
                ),
                Err(WebhookError::WrongSecret),
                "{wrong:?}"
            );
        }
        assert!(matches!(
            parse_webhook(&HeaderMap::new(), ENVELOPE, DEFAULT_SECRET_HEADER, "s3cret"),
            Err(WebhookError::MissingSecret(_))
        ));
        assert_eq!(
            parse_webhook(
                &headers("x-reveni-secret", ""),
                ENVELOPE,
                "x-reveni-secret",
                ""
            ),
            Err(WebhookError::NoSecretConfigured)
        );
        for body in [&b""[..], b"{}", b"[1]", &[0xff, 0x00]] {
            assert!(matches!(
                parse_webhook(
                    &headers(DEFAULT_SECRET_HEADER, "s3cret"),
                    body,
                    DEFAULT_SECRET_HEADER,
                    "s3cret"
                ),
                Err(WebhookError::Malformed(_))
            ));
        }
    }

    #[test]
    fn returns_decode_with_exact_amounts_and_unknown_states_kept() {
        let json = r#"{"id":"r1","status":"SOMETHING_NEW","type":"mixed","order":{"external_id":"c-1","number":"1"},
            "return_items":[{"item_id":"i1","sku":"TEE-M","quantity":2,"price":"49.90","review":{"status":"pending"}}],
            "refunds":[{"amount":"0.10","currency":"EUR"},{"amount":0.2},{"amount":3}]}"#;
        let r: Return = serde_json::from_str(json).expect("decodes");
        assert_eq!(r.status, ReturnStatus::Unknown("SOMETHING_NEW".into()));
        assert!(!r.status.is_final());
        assert_eq!(r.return_type, ReturnType::Mixed);
        assert_eq!(r.return_items[0].price, Some(dec!(49.90)));
        assert_eq!(r.refunded_total(), dec!(3.30));
        assert_eq!(
            r.refunds[1].money(Some("EUR")),
            Some(Money::new(dec!(0.2), Currency::EUR))
        );
        assert!(serde_json::from_str::<Refund>(r#"{"amount":"1.2.3"}"#).is_err());
    }

    #[test]
    fn reveni_errors_are_reclassified() {
        let conflict = Failure::new(
            FailureClass::Duplicate,
            "reveni reports it already has this: reveni: {\"status\":409,\"code\":\"invalid_status\",\"message\":\"the return is Accepted\"}",
        );
        let explained = explain(conflict, "validating the return");
        assert_eq!(explained.class, FailureClass::Data);
        assert!(explained.message.contains("invalid_status"));
        let store = Failure::data(
            "reveni rejected the request (404): reveni: {\"status\":404,\"code\":\"store_not_found\",\"message\":\"Store not found\"}",
        );
        assert_eq!(explain(store, "x").class, FailureClass::Auth);
    }
}
