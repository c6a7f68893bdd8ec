//! The records the simulator keeps: one generic shape for every record type
//! (header fields, a sublist of lines, computed totals and status), so the
//! store, the transforms and the renderer share one vocabulary.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The record types the simulator serves. Path names match case-insensitively,
/// as NetSuite's do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RecordType {
    SalesOrder,
    ItemFulfillment,
    ReturnAuthorization,
    ItemReceipt,
    CreditMemo,
    CustomerRefund,
    InventoryAdjustment,
    Customer,
    InventoryItem,
}

impl RecordType {
    pub const ALL: [RecordType; 9] = [
        RecordType::SalesOrder,
        RecordType::ItemFulfillment,
        RecordType::ReturnAuthorization,
        RecordType::ItemReceipt,
        RecordType::CreditMemo,
        RecordType::CustomerRefund,
        RecordType::InventoryAdjustment,
        RecordType::Customer,
        RecordType::InventoryItem,
    ];

    pub fn from_path(name: &str) -> Option<RecordType> {
        RecordType::ALL
            .into_iter()
            .find(|kind| kind.path_name().eq_ignore_ascii_case(name))
    }

    /// The REST path segment, in NetSuite's camelCase.
    pub fn path_name(self) -> &'static str {
        match self {
            RecordType::SalesOrder => "salesOrder",
            RecordType::ItemFulfillment => "itemFulfillment",
            RecordType::ReturnAuthorization => "returnAuthorization",
            RecordType::ItemReceipt => "itemReceipt",
            RecordType::CreditMemo => "creditMemo",
            RecordType::CustomerRefund => "customerRefund",
            RecordType::InventoryAdjustment => "inventoryAdjustment",
            RecordType::Customer => "customer",
            RecordType::InventoryItem => "inventoryItem",
        }
    }

    pub fn is_transaction(self) -> bool {
        !matches!(self, RecordType::Customer | RecordType::InventoryItem)
    }

    /// Prefix of the document number (`tranId`) NetSuite shows.
    pub fn tran_prefix(self) -> &'static str {
        match self {
            RecordType::SalesOrder => "SO",
            RecordType::ItemFulfillment => "IF",
            RecordType::ReturnAuthorization => "RMA",
            RecordType::ItemReceipt => "IR",
            RecordType::CreditMemo => "CM",
            RecordType::CustomerRefund => "CR",
            RecordType::InventoryAdjustment => "ADJ",
            RecordType::Customer => "CUST",
            RecordType::InventoryItem => "ITEM",
        }
    }

    /// The name of the line sublist in request and response bodies.
    pub fn sublist(self) -> Option<&'static str> {
        match self {
            RecordType::InventoryAdjustment => Some("inventory"),
            RecordType::CustomerRefund => Some("apply"),
            RecordType::Customer | RecordType::InventoryItem => None,
            _ => Some("item"),
        }
    }
}

/// How a request names one record: internal id or `eid:` external id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    Id(u64),
    External(String),
}

impl RecordKey {
    /// Parses the `{id}` path segment; `None` when it is neither form.
    pub fn parse(segment: &str) -> Option<RecordKey> {
        if let Some(external) = segment.strip_prefix("eid:") {
            return Some(RecordKey::External(external.to_string()));
        }
        segment.parse().ok().map(RecordKey::Id)
    }
}

/// One transaction line (or inventory adjustment line).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// NetSuite's line id: assigned by the record, never reused, not an index.
    pub line: u32,
    /// Internal id of the inventory item.
    pub item: Option<u64>,
    /// Quantity; for inventory adjustments the signed `adjustQtyBy`.
    pub quantity: Decimal,
    /// Unit price; for inventory adjustments the unit cost.
    pub rate: Decimal,
    /// Line amount before the line discount: quantity × rate unless set.
    pub amount: Decimal,
    /// Tax rate in percent (`taxRate1`).
    pub tax_rate: Decimal,
    /// Line discount as a positive amount (the configured custcol field).
    pub discount: Decimal,
    pub is_closed: bool,
    /// The line on the source transaction (`orderLine`) for transformed records.
    pub order_line: Option<u32>,
    /// Sales order: fulfilled; return authorisation: received.
    pub quantity_fulfilled: Decimal,
    /// Sales order: billed (fulfilment bills without Advanced Shipping);
    /// return authorisation: credited.
    pub quantity_billed: Decimal,
    /// Sales order: quantity already authorised for return.
    pub quantity_returned: Decimal,
    /// A tax amount set on the line (`tax1Amt`) instead of computed from the rate.
    pub tax_set: Option<Decimal>,
    /// Other fields as sent: custcol_*, location, restock, taxCode...
    pub extra: Map<String, Value>,
}

impl Line {
    pub fn new(line: u32) -> Line {
        Line {
            line,
            item: None,
            quantity: Decimal::ZERO,
            rate: Decimal::ZERO,
            amount: Decimal::ZERO,
            tax_rate: Decimal::ZERO,
            discount: Decimal::ZERO,
            is_closed: false,
            order_line: None,
            quantity_fulfilled: Decimal::ZERO,
            quantity_billed: Decimal::ZERO,
            quantity_returned: Decimal::ZERO,
            tax_set: None,
            extra: Map::new(),
        }
    }

    pub fn net_amount(&self) -> Decimal {
        self.amount - self.discount
    }

    pub fn tax_amount(&self) -> Decimal {
        if let Some(tax) = self.tax_set {
            return tax;
        }
        round_money(self.net_amount() * self.tax_rate / Decimal::ONE_HUNDRED)
    }
}

/// Totals NetSuite computes on a transaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub subtotal: Decimal,
    /// Negative or zero, as NetSuite shows it.
    pub discount_total: Decimal,
    pub tax_total: Decimal,
    pub shipping_cost: Decimal,
    pub total: Decimal,
    /// Credit memo: what refunds have applied so far.
    pub applied: Decimal,
    /// Credit memo: what is not yet refunded (`amountRemaining`).
    pub amount_remaining: Decimal,
}

/// One record of any type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub kind: RecordType,
    pub id: u64,
    pub external_id: Option<String>,
    pub tran_id: Option<String>,
    /// Header fields as sent, minus the ones the simulator owns.
    pub fields: Map<String, Value>,
    /// Internal id of the customer (`entity`).
    pub entity: Option<u64>,
    pub lines: Vec<Line>,
    /// Status code letter (orderStatus for orders and RAs, A/B for credit memos).
    pub status: Option<char>,
    pub created_from: Option<(RecordType, u64)>,
    /// Header discount as sent (`discountRate`: "-10%" or an amount).
    pub discount_rate: Option<String>,
    pub totals: Totals,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub next_line: u32,
}

/// Rounds to the cent, half away from zero (NetSuite's currency rounding).
pub fn round_money(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// Status names by record type and code.
pub fn status_name(kind: RecordType, code: char) -> &'static str {
    match (kind, code) {
        (RecordType::SalesOrder, 'A') | (RecordType::ReturnAuthorization, 'A') => {
            "Pending Approval"
        }
        (RecordType::SalesOrder, 'B') => "Pending Fulfillment",
        (RecordType::SalesOrder, 'C') | (RecordType::ReturnAuthorization, 'C') => "Cancelled",
        (RecordType::SalesOrder, 'D') => "Partially Fulfilled",
        (RecordType::SalesOrder, 'E') => "Pending Billing/Partially Fulfilled",
        (RecordType::SalesOrder, 'F') => "Pending Billing",
        (RecordType::SalesOrder, 'G') => "Billed",
        (RecordType::SalesOrder, 'H') | (RecordType::ReturnAuthorization, 'H') => "Closed",
        (RecordType::ReturnAuthorization, 'B') => "Pending Receipt",
        (RecordType::ReturnAuthorization, 'D') => "Partially Received",
        (RecordType::ReturnAuthorization, 'E') => "Pending Refund/Partially Received",
        (RecordType::ReturnAuthorization, 'F') => "Pending Refund",
        (RecordType::ReturnAuthorization, 'G') => "Refunded",
        (RecordType::CreditMemo, 'A') => "Open",
        (RecordType::CreditMemo, 'B') => "Fully Applied",
        (RecordType::ItemFulfillment, 'A') => "Picked",
        (RecordType::ItemFulfillment, 'B') => "Packed",
        (RecordType::ItemFulfillment, 'C') => "Shipped",
        _ => "Unknown",
    }
}
