//! The events the warehouse emits, in the shape both the polled feed and the
//! webhooks carry them. ACS publishes no event format: the three message
//! types and their field names are inferred from the generic 3PL documents in
//! backends.md §2.4 (shipping advice, return receipt advice with condition
//! codes, inventory adjustment advice), in ACS's PascalCase style [I].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One message of the feed. `Sequence` is its position (the feed cursor);
/// `MessageId` is unique per simulator instance and is what a consumer
/// deduplicates by.
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
}

/// N units of a SKU changed status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StockMovement {
    pub sku: String,
    pub from_status: String,
    pub to_status: String,
    pub quantity: u64,
    pub occurred_at: DateTime<Utc>,
}

/// Units of an order left the warehouse; one per parcel, so a partial
/// dispatch gives one confirmation now and another later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DispatchConfirmation {
    pub order_number: String,
    pub dispatch_id: String,
    pub lines: Vec<DispatchedLine>,
    pub carrier: String,
    pub service: String,
    pub tracking_number: String,
    pub dispatched_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DispatchedLine {
    pub line_item_id: String,
    pub sku: String,
    pub quantity: u64,
}

/// A return was received and graded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReturnReceipt {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    #[serde(default, rename = "RMA", skip_serializing_if = "Option::is_none")]
    pub rma: Option<String>,
    pub return_id: String,
    pub lines: Vec<ReturnedLine>,
    pub received_at: DateTime<Utc>,
    pub graded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReturnedLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_item_id: Option<String>,
    pub sku: String,
    pub quantity: u64,
    pub grade: Grade,
    pub disposition: Disposition,
    #[serde(default)]
    pub notes: String,
}

/// Condition grade given at inspection (backends.md §2.4 [I]; "BER" is a
/// generic repair-industry term, not found in ACS material).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Grade {
    /// Resell as new.
    A,
    /// Minor clean or repair.
    B,
    /// Needs repair.
    C,
    /// Beyond economic repair.
    #[serde(rename = "BER")]
    Ber,
}

/// What the warehouse does with a graded unit (backends.md §2.4 [I]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Disposition {
    Restock,
    Refurbish,
    Repair,
    ExHire,
    WriteOff,
}

impl Disposition {
    /// The stock status graded units move to. Inferred: RESTOCK makes them
    /// sellable, REFURBISH and REPAIR send them to refurbishment, EX_HIRE
    /// keeps them as ex-hire stock, WRITE_OFF takes them out of stock.
    pub fn target_status(self) -> &'static str {
        use super::vendor::status;
        match self {
            Disposition::Restock => status::AVAILABLE,
            Disposition::Refurbish | Disposition::Repair => status::IN_REFURBISHMENT,
            Disposition::ExHire => status::EX_HIRE,
            Disposition::WriteOff => status::WRITTEN_OFF,
        }
    }

    /// Whether a grade may take this disposition. Inferred rules: only A and
    /// B are restocked as they are; a BER unit is written off or kept as
    /// ex-hire, never restocked or repaired.
    pub fn allowed_for(self, grade: Grade) -> bool {
        match (grade, self) {
            (Grade::Ber, Disposition::WriteOff | Disposition::ExHire) => true,
            (Grade::Ber, _) => false,
            (Grade::C, Disposition::Restock) => false,
            _ => true,
        }
    }
}

/// One page of the polled feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FeedPage {
    pub messages: Vec<Message>,
    /// Pass as `after` to get the next page (the last `Sequence` returned,
    /// or the `after` given when the page is empty).
    pub next_cursor: u64,
    pub has_more: bool,
}

/// Body of one webhook POST: a batch of consecutive messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WebhookBatch {
    pub account_code: String,
    pub messages: Vec<Message>,
}
