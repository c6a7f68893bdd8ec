//! The 3PL connector: an ACS-style fashion warehouse's partner API.
//!
//! - Sales orders: `PUT /orders/{OrderNumber}` creates or modifies (the same
//!   PUT re-sent changes nothing, so the order number derived from the
//!   Centra order is the idempotency key); `GET /orders/{OrderNumber}` reads
//!   it back. HTTP Basic auth, with `AccountCode` in every body.
//! - The message feed (`/messages?after=&limit=`): stock movements, dispatch
//!   confirmations (one per parcel) and graded return receipts, cursor-paged.
//! - The stock snapshot: the per-unit CSV file ACS sends daily.
//! - Signed webhooks carrying the same messages.
//!
//! ACS publishes little: the order body follows a client's integration code,
//! the read shape, error body, message feed and signing are inferred (see
//! `../shared/apis/backends.md` §2). Every vendor-specific name is in this
//! module, so a real spec replaces them in one place.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rust_decimal::Decimal;
use seam_config::WarehouseConfig;
use seam_engine::governor::{CallError, CallKind, Governor};
use seam_engine::{Failure, FailureClass, Store};
use serde::{Deserialize, Serialize};

use crate::http::{HttpClient, RawResponse};
use crate::signature::{verify_timestamped, SignatureError};

const SYSTEM: &str = "warehouse";
/// Largest feed page the warehouse serves.
pub const MAX_FEED_PAGE: usize = 5_000;
/// Header of the signed webhooks (inferred scheme: `t=<unix>,v1=<hex>`).
pub const SIGNATURE_HEADER: &str = "x-acs-signature";
/// Header carrying the feed sequence a snapshot file was taken at.
pub const FEED_CURSOR_HEADER: &str = "x-acs-feed-cursor";
/// Largest webhook body accepted (500 messages a batch).
pub const MAX_WEBHOOK_BYTES: usize = 2 * 1024 * 1024;

/// A sales order as ACS takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcsOrder {
    #[serde(rename = "AccountCode")]
    pub account_code: String,
    #[serde(rename = "OrderNumber")]
    pub order_number: String,
    /// `YYYY-MM-DD`.
    #[serde(rename = "OrderDate")]
    pub order_date: String,
    #[serde(rename = "FirstName")]
    pub first_name: String,
    #[serde(rename = "LastName")]
    pub last_name: String,
    #[serde(rename = "MobilePhone")]
    pub mobile_phone: Option<String>,
    #[serde(rename = "Email")]
    pub email: Option<String>,
    #[serde(rename = "Delivery_Address1")]
    pub address1: String,
    #[serde(rename = "Delivery_Address2")]
    pub address2: Option<String>,
    #[serde(rename = "Delivery_Address3")]
    pub address3: Option<String>,
    #[serde(rename = "Delivery_Address4")]
    pub address4: Option<String>,
    #[serde(rename = "Delivery_City")]
    pub city: String,
    #[serde(rename = "Delivery_County")]
    pub county: Option<String>,
    #[serde(rename = "Delivery_Postcode")]
    pub postcode: String,
    #[serde(rename = "DeliveryService")]
    pub delivery_service: String,
    #[serde(rename = "DeliveryAgent")]
    pub delivery_agent: String,
    #[serde(rename = "DeliveryCharge")]
    pub delivery_charge: Option<Decimal>,
    #[serde(rename = "Comments")]
    pub comments: Option<String>,
    #[serde(rename = "OrderCancelled")]
    pub order_cancelled: bool,
    #[serde(rename = "OrderItems")]
    pub order_items: Vec<AcsOrderItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcsOrderItem {
    #[serde(rename = "LineItemId")]
    pub line_item_id: String,
    #[serde(rename = "GarmentSku", alias = "GarmentSKU")]
    pub garment_sku: String,
    #[serde(rename = "IsHire")]
    pub is_hire: bool,
    #[serde(rename = "ItemPrice")]
    pub item_price: Decimal,
    #[serde(rename = "ItemQuantity")]
    pub item_quantity: u64,
    /// Required for refurbished goods (inferred field name).
    #[serde(rename = "ItemCondition", skip_serializing_if = "Option::is_none")]
    pub item_condition: Option<String>,
    /// Required for refurbished goods (inferred field name).
    #[serde(rename = "Grade", skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
}

/// The answer to a PUT.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderAck {
    pub success: bool,
    pub order_number: String,
    pub status: String,
    /// Increases with each accepted change; an identical re-PUT keeps it.
    pub version: u32,
}

/// An order as the warehouse reports it (inferred read shape).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderView {
    pub order_number: String,
    pub status: String,
    pub version: u32,
    pub delivery_service: String,
    pub order_cancelled: bool,
    pub order_items: Vec<OrderLineView>,
    #[serde(default)]
    pub dispatches: Vec<DispatchConfirmation>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderLineView {
    pub line_item_id: String,
    pub garment_sku: String,
    pub item_quantity: u64,
}

/// One message of the feed or of a webhook batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    #[serde(rename = "MessageId")]
    pub message_id: String,
    #[serde(rename = "Sequence")]
    pub sequence: u64,
    #[serde(flatten)]
    pub body: MessageBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Type")]
pub enum MessageBody {
    StockMovement(StockMovement),
    DispatchConfirmation(DispatchConfirmation),
    ReturnReceipt(ReturnReceipt),
    /// A message type this version does not know: kept so the feed never
    /// stalls on it, and reported by the flow.
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StockMovement {
    pub sku: String,
    pub from_status: String,
    pub to_status: String,
    pub quantity: u64,
    pub occurred_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DispatchConfirmation {
    pub order_number: String,
    pub dispatch_id: String,
    pub lines: Vec<DispatchedLine>,
    pub carrier: String,
    pub service: String,
    pub tracking_number: String,
    pub dispatched_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DispatchedLine {
    pub line_item_id: String,
    pub sku: String,
    pub quantity: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReturnReceipt {
    #[serde(default)]
    pub order_number: Option<String>,
    #[serde(default, rename = "RMA")]
    pub rma: Option<String>,
    pub return_id: String,
    pub lines: Vec<ReturnedLine>,
    pub received_at: String,
}

/// Grades (A, B, C, BER) and dispositions (RESTOCK, REFURBISH, REPAIR,
/// EX_HIRE, WRITE_OFF) stay strings: an unknown one must reach the flow,
/// which raises an exception naming it, rather than fail the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReturnedLine {
    #[serde(default)]
    pub line_item_id: Option<String>,
    pub sku: String,
    pub quantity: u64,
    pub grade: String,
    pub disposition: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FeedPage {
    pub messages: Vec<Message>,
    pub next_cursor: u64,
    pub has_more: bool,
}

/// Units per SKU per status, from a snapshot file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StockSnapshot {
    pub by_sku: HashMap<String, BTreeMap<String, u64>>,
    /// The feed sequence the snapshot reflects, when the warehouse says.
    pub feed_cursor: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("stock file row {row}: {detail}")]
    Row { row: usize, detail: String },
    #[error("stock file header lacks the column {0}")]
    MissingColumn(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook body is {0} bytes, more than allowed")]
    TooLarge(usize),
    #[error("the webhook signature was refused: {0}")]
    Signature(#[from] SignatureError),
    #[error("the webhook is for account {0}, not this one")]
    WrongAccount(String),
    #[error("the webhook body is not a warehouse message batch: {0}")]
    Malformed(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PartnerErrorBody {
    #[serde(default)]
    errors: Vec<FieldError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FieldError {
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    message: String,
}

/// Reads the partner error body: every field error in one message, so Ops
/// sees all that is wrong with an order at once.
fn partner_error(raw: &RawResponse) -> Option<CallError> {
    let status = raw.status.as_u16();
    if !(400..500).contains(&status) || status == 429 || status == 401 || status == 403 {
        return None;
    }
    let body: PartnerErrorBody = serde_json::from_slice(&raw.body).ok()?;
    if body.errors.is_empty() {
        return None;
    }
    let detail = body
        .errors
        .iter()
        .map(|e| match &e.field {
            Some(field) => format!("{field}: {}", e.message),
            None => e.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ");
    Some(CallError::Classified(Failure::new(
        FailureClass::Data,
        format!("the warehouse refused it ({status}): {detail}"),
    )))
}

#[derive(Clone)]
pub struct WarehouseClient {
    http: HttpClient,
    base: String,
    username: String,
    password: seam_config::Secret,
    account_code: String,
    webhook_secret: Option<seam_config::Secret>,
}

impl WarehouseClient {
    pub fn new(config: &WarehouseConfig, store: Option<Arc<dyn Store>>) -> Self {
        let governor = crate::governor_for(SYSTEM, &config.budget, store);
        WarehouseClient {
            http: HttpClient::new(SYSTEM, governor, config.budget.timeout),
            base: config.url.clone(),
            username: config.username.clone(),
            password: config.password.clone(),
            account_code: config.account_code.clone(),
            webhook_secret: config.webhook_secret.clone(),
        }
    }

    pub fn governor(&self) -> &Arc<Governor> {
        self.http.governor()
    }

    pub fn account_code(&self) -> &str {
        &self.account_code
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    fn order_url(&self, order_number: &str) -> String {
        // Order numbers come from Seam (derived from the Centra order), but
        // encode them anyway so no value can change the path.
        self.url(&format!("orders/{}", urlencode(order_number)))
    }

    /// Creates or modifies the order. Re-sending the same body is a no-op at
    /// the warehouse, so retries and replays are safe.
    pub async fn put_order(&self, order: &AcsOrder) -> Result<OrderAck, Failure> {
        let url = self.order_url(&order.order_number);
        self.http
            .send_with_errors(
                CallKind::Mutation,
                |client| {
                    client
                        .put(&url)
                        .basic_auth(&self.username, Some(self.password.expose()))
                        .json(order)
                },
                |raw| raw.json(SYSTEM),
                |raw| partner_error(raw).map(Err),
            )
            .await
    }

    /// Cancels by re-sending the order with `OrderCancelled`.
    pub async fn cancel_order(&self, order: &AcsOrder) -> Result<OrderAck, Failure> {
        let mut cancelled = order.clone();
        cancelled.order_cancelled = true;
        self.put_order(&cancelled).await
    }

    /// Reads an order back; `None` when the warehouse does not know it.
    pub async fn get_order(&self, order_number: &str) -> Result<Option<OrderView>, Failure> {
        let url = self.order_url(order_number);
        self.http
            .send_with_errors(
                CallKind::Read,
                |client| {
                    client
                        .get(&url)
                        .basic_auth(&self.username, Some(self.password.expose()))
                },
                |raw| raw.json(SYSTEM).map(Some),
                // A 404 is an answer, not a failure: the order is not there.
                |raw| (raw.status.as_u16() == 404).then_some(Ok(None)),
            )
            .await
    }

    /// Messages after `cursor`, oldest first, at most `limit` (≤ 5,000).
    pub async fn messages_after(&self, cursor: u64, limit: usize) -> Result<FeedPage, Failure> {
        let url = self.url("messages");
        let limit = limit.clamp(1, MAX_FEED_PAGE);
        self.http
            .send(
                CallKind::Read,
                |client| {
                    client
                        .get(&url)
                        .basic_auth(&self.username, Some(self.password.expose()))
                        .query(&[("after", cursor.to_string()), ("limit", limit.to_string())])
                },
                |raw| raw.json(SYSTEM),
            )
            .await
    }

    /// Downloads and parses the current stock snapshot file.
    pub async fn stock_snapshot(&self) -> Result<StockSnapshot, Failure> {
        let url = self.url("stock/snapshot.csv");
        self.http
            .send(
                CallKind::Read,
                |client| {
                    client
                        .get(&url)
                        .basic_auth(&self.username, Some(self.password.expose()))
                },
                |raw| {
                    let cursor = raw
                        .headers
                        .get(FEED_CURSOR_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok());
                    let mut snapshot = parse_snapshot(&raw.body).map_err(|error| {
                        CallError::Classified(Failure::data(format!(
                            "the warehouse's stock file: {error}"
                        )))
                    })?;
                    snapshot.feed_cursor = cursor;
                    Ok(snapshot)
                },
            )
            .await
    }

    /// Verifies and decodes a webhook batch with the configured secret.
    pub fn parse_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<Vec<Message>, WebhookError> {
        let secret = self
            .webhook_secret
            .as_ref()
            .map(|s| s.expose())
            .unwrap_or_default();
        parse_webhook(
            signature,
            body,
            secret.as_bytes(),
            &self.account_code,
            now_unix,
        )
    }
}

/// Parses the per-unit snapshot CSV (`account_code,sku,unique_sku,rfid,
/// location_status,status_date`) into units per SKU per status. Streams the
/// rows; a malformed row is an error naming it, never a panic.
pub fn parse_snapshot(csv_bytes: &[u8]) -> Result<StockSnapshot, SnapshotError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(csv_bytes);
    let headers = reader
        .headers()
        .map_err(|e| SnapshotError::Row {
            row: 1,
            detail: e.to_string(),
        })?
        .clone();
    let column = |name: &'static str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or(SnapshotError::MissingColumn(name))
    };
    let (sku_at, status_at) = (column("sku")?, column("location_status")?);
    let mut snapshot = StockSnapshot::default();
    for (index, record) in reader.records().enumerate() {
        let row = index + 2;
        let record = record.map_err(|e| SnapshotError::Row {
            row,
            detail: e.to_string(),
        })?;
        let sku = record.get(sku_at).map(str::trim).unwrap_or_default();
        let status = record.get(status_at).map(str::trim).unwrap_or_default();
        if sku.is_empty() {
            return Err(SnapshotError::Row {
                row,
                detail: "the sku column is empty".into(),
            });
        }
        if status.is_empty() {
            return Err(SnapshotError::Row {
                row,
                detail: "the location_status column is empty".into(),
            });
        }
        *snapshot
            .by_sku
            .entry(sku.to_string())
            .or_default()
            .entry(status.to_string())
            .or_insert(0) += 1;
    }
    Ok(snapshot)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WebhookBatch {
    account_code: String,
    messages: Vec<Message>,
}

/// Verifies `X-ACS-Signature` over `"<t>.<body>"` (within five minutes) and
/// decodes the batch; a batch for another account is refused.
pub fn parse_webhook(
    signature: Option<&str>,
    body: &[u8],
    secret: &[u8],
    account_code: &str,
    now_unix: i64,
) -> Result<Vec<Message>, WebhookError> {
    if body.len() > MAX_WEBHOOK_BYTES {
        return Err(WebhookError::TooLarge(body.len()));
    }
    if secret.is_empty() {
        return Err(WebhookError::Signature(SignatureError::Missing));
    }
    verify_timestamped(secret, signature, body, now_unix, 300)?;
    let batch: WebhookBatch =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    if batch.account_code != account_code {
        return Err(WebhookError::WrongAccount(batch.account_code));
    }
    Ok(batch.messages)
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_counts_units_per_status_and_names_bad_rows() {
        let good = b"account_code,sku,unique_sku,rfid,location_status,status_date\n\
            SEAMTEST,A1,u1,r1,Available,2026-11-22\nSEAMTEST,A1,u2,r2,Available,2026-11-22\n\
            SEAMTEST,A1,u3,r3,Quarantine,2026-11-22\nSEAMTEST,B2,u4,r4,In-Refurbishment,2026-11-22\n";
        let snapshot = parse_snapshot(good).unwrap();
        assert_eq!(snapshot.by_sku["A1"]["Available"], 2);
        assert_eq!(snapshot.by_sku["A1"]["Quarantine"], 1);
        assert_eq!(snapshot.by_sku["B2"]["In-Refurbishment"], 1);
        let bad = b"account_code,sku,unique_sku,rfid,location_status,status_date\nSEAMTEST,,u1,r1,Available,x\n";
        assert_eq!(
            parse_snapshot(bad).unwrap_err(),
            SnapshotError::Row {
                row: 2,
                detail: "the sku column is empty".into()
            }
        );
        let short = b"account_code,sku,unique_sku,rfid,location_status,status_date\nSEAMTEST,A1\n";
        assert!(matches!(
            parse_snapshot(short),
            Err(SnapshotError::Row { row: 2, .. })
        ));
        assert_eq!(
            parse_snapshot(b"sku\nA1\n").unwrap_err(),
            SnapshotError::MissingColumn("location_status")
        );
    }

    #[test]
    fn unknown_message_types_and_grades_decode() {
        let json = r#"[{"MessageId":"m1","Sequence":1,"Type":"InventoryCount"},
            {"MessageId":"m2","Sequence":2,"Type":"ReturnReceipt","ReturnId":"R1","ReceivedAt":"t",
             "Lines":[{"Sku":"A1","Quantity":1,"Grade":"Z","Disposition":"DONATE"}]}]"#;
        let messages: Vec<Message> = serde_json::from_str(json).unwrap();
        assert_eq!(messages[0].body, MessageBody::Unknown);
        let MessageBody::ReturnReceipt(receipt) = &messages[1].body else {
            panic!("a receipt")
        };
        assert_eq!(receipt.lines[0].disposition, "DONATE");
    }
}
