//! NetSuite record shapes in the REST record API's own field names: what
//! Seam sends (sales orders, transform bodies, inventory adjustments) and
//! what it reads back (transactions with their lines and totals).
//!
//! One read shape serves every transaction type, because NetSuite renders
//! them alike: header fields, references as `{id, refName}`, a line sublist
//! (`item`, `inventory` on adjustments, `apply` on refunds) that is only a
//! link unless `expandSubResources=true`, and computed totals.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::wire;

/// The line field holding a line discount as a positive amount. NetSuite
/// has no standard line-discount amount in REST (discounts are usually
/// discount items); this custom column is the account's convention and
/// matches the simulator's default (inferred).
pub const DISCOUNT_LINE_FIELD: &str = "custcol_discount_amount";

/// The record types Seam reads and writes, by their REST path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// The REST path segment (NetSuite matches it case-insensitively).
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
}

impl std::fmt::Display for RecordType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.path_name())
    }
}

/// How a request names one record: the internal id or `eid:<externalId>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordKey {
    Id(String),
    External(String),
}

impl RecordKey {
    pub fn id(id: impl Into<String>) -> Self {
        RecordKey::Id(id.into())
    }

    pub fn external(external_id: impl Into<String>) -> Self {
        RecordKey::External(external_id.into())
    }

    /// The path segment, or why the key cannot be one: internal ids are
    /// digits and external ids are letters, digits, `_` and `-`, so neither
    /// ever needs escaping in a URL.
    pub fn segment(&self) -> Result<String, String> {
        match self {
            RecordKey::Id(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(id.clone())
            }
            RecordKey::Id(id) => Err(format!("'{id}' is not a NetSuite internal id")),
            RecordKey::External(external) if wire::is_valid_external_id(external) => {
                Ok(format!("eid:{external}"))
            }
            RecordKey::External(external) => Err(format!(
                "'{external}' is not a valid NetSuite externalId (letters, digits, _ and - only)"
            )),
        }
    }
}

impl std::fmt::Display for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordKey::Id(id) => write!(f, "{id}"),
            RecordKey::External(external) => write!(f, "externalId {external}"),
        }
    }
}

/// A reference to another record: `{"id": "98"}` or `{"externalId": "SKU-1"}`
/// when sent; `{"id", "refName"}` when read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "wire::opt_id"
    )]
    pub id: Option<String>,
    #[serde(
        rename = "externalId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
    #[serde(rename = "refName", default, skip_serializing_if = "Option::is_none")]
    pub ref_name: Option<String>,
}

impl Reference {
    pub fn id(id: impl Into<String>) -> Self {
        Reference {
            id: Some(id.into()),
            ..Default::default()
        }
    }

    pub fn external(external_id: impl Into<String>) -> Self {
        Reference {
            external_id: Some(external_id.into()),
            ..Default::default()
        }
    }
}

/// A line sublist: `{"items": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sublist<T> {
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
}

impl<T> Sublist<T> {
    pub fn new(items: Vec<T>) -> Self {
        Sublist { items }
    }
}

// ---------------------------------------------------------------- sending

/// A sales order as Seam upserts it. The externalId is set by the client
/// from the upsert's key, so the body and the URL always agree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SalesOrder {
    pub entity: Reference,
    /// "A" Pending Approval or "B" Pending Fulfillment; the account's
    /// default when absent.
    #[serde(rename = "orderStatus", skip_serializing_if = "Option::is_none")]
    pub order_status: Option<Reference>,
    /// `YYYY-MM-DD`.
    #[serde(rename = "tranDate", skip_serializing_if = "Option::is_none")]
    pub tran_date: Option<String>,
    /// The shop's order number, as the customer knows it.
    #[serde(rename = "otherRefNum", skip_serializing_if = "Option::is_none")]
    pub other_ref_num: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subsidiary: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Reference>,
    #[serde(
        rename = "shippingCost",
        with = "wire::money_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub shipping_cost: Option<Decimal>,
    /// A header discount: "-10%" or an amount.
    #[serde(rename = "discountRate", skip_serializing_if = "Option::is_none")]
    pub discount_rate: Option<String>,
    pub item: Sublist<SalesOrderLine>,
}

/// One order line. With `line` set the upsert updates that line; without
/// it the line is new (and `replace=item` drops the lines not sent, so a
/// re-upsert without line numbers gives the lines new numbers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SalesOrderLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub item: Reference,
    #[serde(with = "wire::money")]
    pub quantity: Decimal,
    #[serde(with = "wire::money")]
    pub rate: Decimal,
    /// The line amount before the line discount; NetSuite computes
    /// quantity × rate when absent.
    #[serde(with = "wire::money_opt", skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    /// Tax rate in percent (SuiteTax).
    #[serde(
        rename = "taxRate1",
        with = "wire::money_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub tax_rate: Option<Decimal>,
    /// The line discount as a positive amount (`DISCOUNT_LINE_FIELD`).
    #[serde(
        rename = "custcol_discount_amount",
        with = "wire::money_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub discount: Option<Decimal>,
    /// The line's tax as an amount (`tax1Amt`), so NetSuite's tax is the
    /// allocation's exactly rather than recomputed from the rate.
    #[serde(
        rename = "tax1Amt",
        with = "wire::money_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub tax_amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Reference>,
}

impl SalesOrderLine {
    pub fn new(item: Reference, quantity: Decimal, rate: Decimal) -> Self {
        SalesOrderLine {
            line: None,
            item,
            quantity,
            rate,
            amount: None,
            tax_rate: None,
            discount: None,
            tax_amount: None,
            location: None,
        }
    }
}

/// A line to fulfil: the sales order's line id and how many.
#[derive(Debug, Clone, PartialEq)]
pub struct FulfilmentLine {
    pub order_line: u32,
    pub quantity: Decimal,
    pub location: Option<Reference>,
}

/// A line to authorise for return (off a sales order line) or to credit
/// (off a return authorisation line). Rate, amount, tax rate and discount
/// override what NetSuite copies from the source, so a credit can be the
/// exact reversal of the allocation made when the order was first seen.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReturnLine {
    pub order_line: u32,
    pub quantity: Decimal,
    pub rate: Option<Decimal>,
    pub amount: Option<Decimal>,
    pub tax_rate: Option<Decimal>,
    pub discount: Option<Decimal>,
    /// The line's tax as an amount (`tax1Amt`): set when the tax must be
    /// exactly the allocation's, not recomputed from the rate.
    pub tax_amount: Option<Decimal>,
}

/// A return authorisation line received at the warehouse.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiptLine {
    pub order_line: u32,
    pub quantity: Decimal,
    pub location: Option<Reference>,
}

/// An inventory adjustment: signed deltas per item and location.
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryAdjustment {
    /// The adjustment (expense) account.
    pub account: Reference,
    /// The header location (`adjLocation`).
    pub location: Reference,
    pub subsidiary: Option<Reference>,
    /// Why stock moved ("ACS stock sync: 2 written off"); NetSuite has no
    /// standard reason field, so the reason travels in the memo.
    pub memo: String,
    pub lines: Vec<AdjustmentLine>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AdjustmentLine {
    pub item: Reference,
    /// The line location; the header location when `None`.
    pub location: Option<Reference>,
    /// A signed delta, not an absolute quantity.
    pub adjust_qty_by: Decimal,
    pub unit_cost: Option<Decimal>,
}

/// A `!transform` body: the new record's externalId and its lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TransformBody {
    #[serde(rename = "externalId")]
    pub external_id: String,
    #[serde(rename = "shipStatus", skip_serializing_if = "Option::is_none")]
    pub ship_status: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// Customer refund amount (inferred field; the whole remaining credit
    /// when absent).
    #[serde(with = "wire::money_opt", skip_serializing_if = "Option::is_none")]
    pub total: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<Sublist<TransformLine>>,
}

/// One line of a transform body, keyed by the source line (`orderLine`).
/// `itemreceive: false` leaves a source line out (documented: a transform
/// starts from every open line of the source).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TransformLine {
    #[serde(rename = "orderLine")]
    pub order_line: u32,
    #[serde(rename = "itemreceive")]
    pub item_receive: bool,
    #[serde(with = "wire::money_opt", skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restock: Option<bool>,
    #[serde(with = "wire::money_opt", skip_serializing_if = "Option::is_none")]
    pub rate: Option<Decimal>,
    #[serde(with = "wire::money_opt", skip_serializing_if = "Option::is_none")]
    pub amount: Option<Decimal>,
    #[serde(
        rename = "taxRate1",
        with = "wire::money_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub tax_rate: Option<Decimal>,
    #[serde(
        rename = "custcol_discount_amount",
        with = "wire::money_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub discount: Option<Decimal>,
    #[serde(
        rename = "tax1Amt",
        with = "wire::money_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub tax_amount: Option<Decimal>,
}

impl TransformLine {
    pub fn left_out(order_line: u32) -> Self {
        TransformLine {
            order_line,
            item_receive: false,
            quantity: None,
            location: None,
            restock: None,
            rate: None,
            amount: None,
            tax_rate: None,
            discount: None,
            tax_amount: None,
        }
    }

    pub fn taking(order_line: u32, quantity: Decimal) -> Self {
        TransformLine {
            item_receive: true,
            quantity: Some(quantity),
            ..TransformLine::left_out(order_line)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct AdjustmentBody {
    #[serde(rename = "externalId")]
    pub external_id: String,
    pub account: Reference,
    #[serde(rename = "adjLocation")]
    pub adj_location: Reference,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subsidiary: Option<Reference>,
    pub memo: String,
    pub inventory: Sublist<AdjustmentBodyLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct AdjustmentBodyLine {
    pub item: Reference,
    pub location: Reference,
    #[serde(rename = "adjustQtyBy", with = "wire::money")]
    pub adjust_qty_by: Decimal,
    #[serde(
        rename = "unitCost",
        with = "wire::money_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub unit_cost: Option<Decimal>,
}

/// The PATCH that closes lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CloseLinesBody {
    pub item: Sublist<CloseLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CloseLine {
    pub line: u32,
    pub isclosed: bool,
}

// ---------------------------------------------------------------- reading

/// A transaction as `GET /<type>/<id>?expandSubResources=true` returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Transaction {
    /// The internal id.
    #[serde(deserialize_with = "wire::id")]
    pub id: String,
    #[serde(rename = "externalId", default)]
    pub external_id: Option<String>,
    /// The document number ("SO1042").
    #[serde(rename = "tranId", default)]
    pub tran_id: Option<String>,
    #[serde(default)]
    pub entity: Option<Reference>,
    #[serde(rename = "createdFrom", default)]
    pub created_from: Option<Reference>,
    /// Sales orders and return authorisations: `{id: "B", refName: "Pending Fulfillment"}`.
    #[serde(rename = "orderStatus", default)]
    pub order_status: Option<Reference>,
    /// Item fulfilments: A Picked, B Packed, C Shipped.
    #[serde(rename = "shipStatus", default)]
    pub ship_status: Option<Reference>,
    /// The status by name (`{id: "Pending Fulfillment"}`).
    #[serde(default)]
    pub status: Option<Reference>,
    #[serde(default)]
    pub memo: Option<String>,
    #[serde(rename = "otherRefNum", default)]
    pub other_ref_num: Option<String>,
    #[serde(
        rename = "createdDate",
        default,
        deserialize_with = "wire::opt_timestamp"
    )]
    pub created_date: Option<DateTime<Utc>>,
    #[serde(
        rename = "lastModifiedDate",
        default,
        deserialize_with = "wire::opt_timestamp"
    )]
    pub last_modified_date: Option<DateTime<Utc>>,
    #[serde(default, with = "wire::money_opt")]
    pub subtotal: Option<Decimal>,
    /// Negative or zero, as NetSuite shows it.
    #[serde(rename = "discountTotal", default, with = "wire::money_opt")]
    pub discount_total: Option<Decimal>,
    #[serde(rename = "taxTotal", default, with = "wire::money_opt")]
    pub tax_total: Option<Decimal>,
    #[serde(rename = "shippingCost", default, with = "wire::money_opt")]
    pub shipping_cost: Option<Decimal>,
    #[serde(default, with = "wire::money_opt")]
    pub total: Option<Decimal>,
    #[serde(rename = "discountRate", default, deserialize_with = "wire::opt_text")]
    pub discount_rate: Option<String>,
    /// Credit memos: what refunds have not yet used.
    #[serde(rename = "amountRemaining", default, with = "wire::money_opt")]
    pub amount_remaining: Option<Decimal>,
    /// Credit memos: what refunds have applied.
    #[serde(default, with = "wire::money_opt")]
    pub applied: Option<Decimal>,
    /// Inventory adjustments: the value of the change.
    #[serde(rename = "estimatedTotalValue", default, with = "wire::money_opt")]
    pub estimated_total_value: Option<Decimal>,
    #[serde(default)]
    pub item: Option<Sublist<TransactionLine>>,
    #[serde(default)]
    pub inventory: Option<Sublist<AdjustmentReadLine>>,
    #[serde(default)]
    pub apply: Option<Sublist<ApplyLine>>,
}

impl Transaction {
    /// The item lines (empty unless read with `expandSubResources`).
    pub fn lines(&self) -> &[TransactionLine] {
        self.item
            .as_ref()
            .map(|s| s.items.as_slice())
            .unwrap_or(&[])
    }

    pub fn line(&self, line: u32) -> Option<&TransactionLine> {
        self.lines().iter().find(|l| l.line == line)
    }

    /// The lines that came from one source line (`orderLine`).
    pub fn lines_from(&self, order_line: u32) -> impl Iterator<Item = &TransactionLine> {
        self.lines()
            .iter()
            .filter(move |l| l.order_line == Some(order_line))
    }

    /// The inventory adjustment lines.
    pub fn adjustment_lines(&self) -> &[AdjustmentReadLine] {
        self.inventory
            .as_ref()
            .map(|s| s.items.as_slice())
            .unwrap_or(&[])
    }

    /// The status code letter: orderStatus, else shipStatus.
    pub fn status_code(&self) -> Option<&str> {
        self.order_status
            .as_ref()
            .or(self.ship_status.as_ref())
            .and_then(|s| s.id.as_deref())
    }

    /// The status as NetSuite names it ("Pending Fulfillment").
    pub fn status_name(&self) -> Option<&str> {
        let status = self.status.as_ref().or(self.order_status.as_ref())?;
        status.ref_name.as_deref().or(status.id.as_deref())
    }

    /// The internal id of the record this one was created from.
    pub fn created_from_id(&self) -> Option<&str> {
        self.created_from.as_ref().and_then(|r| r.id.as_deref())
    }
}

/// One transaction line as read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TransactionLine {
    /// The line id: a key assigned by NetSuite, not an index.
    #[serde(deserialize_with = "wire::line_number")]
    pub line: u32,
    #[serde(default)]
    pub item: Option<Reference>,
    /// On transformed records: the source line this came from.
    #[serde(
        rename = "orderLine",
        default,
        deserialize_with = "wire::opt_line_number"
    )]
    pub order_line: Option<u32>,
    #[serde(default, with = "wire::money_opt")]
    pub quantity: Option<Decimal>,
    #[serde(default, with = "wire::money_opt")]
    pub rate: Option<Decimal>,
    /// Before the line discount.
    #[serde(default, with = "wire::money_opt")]
    pub amount: Option<Decimal>,
    #[serde(rename = "taxRate1", default, with = "wire::money_opt")]
    pub tax_rate: Option<Decimal>,
    #[serde(rename = "tax1Amt", default, with = "wire::money_opt")]
    pub tax_amount: Option<Decimal>,
    #[serde(rename = "custcol_discount_amount", default, with = "wire::money_opt")]
    pub discount: Option<Decimal>,
    #[serde(rename = "isclosed", default)]
    pub is_closed: Option<bool>,
    #[serde(rename = "quantityFulfilled", default, with = "wire::money_opt")]
    pub quantity_fulfilled: Option<Decimal>,
    #[serde(rename = "quantityBilled", default, with = "wire::money_opt")]
    pub quantity_billed: Option<Decimal>,
    #[serde(rename = "quantityReceived", default, with = "wire::money_opt")]
    pub quantity_received: Option<Decimal>,
    #[serde(default)]
    pub restock: Option<bool>,
}

impl TransactionLine {
    /// Amount after the line discount.
    pub fn net_amount(&self) -> Option<Decimal> {
        Some(self.amount? - self.discount.unwrap_or_default())
    }
}

/// One inventory adjustment line as read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AdjustmentReadLine {
    #[serde(deserialize_with = "wire::line_number")]
    pub line: u32,
    #[serde(default)]
    pub item: Option<Reference>,
    #[serde(rename = "adjustQtyBy", default, with = "wire::money_opt")]
    pub adjust_qty_by: Option<Decimal>,
    #[serde(rename = "unitCost", default, with = "wire::money_opt")]
    pub unit_cost: Option<Decimal>,
    #[serde(default, with = "wire::money_opt")]
    pub amount: Option<Decimal>,
}

/// A customer refund's `apply` line: the credit memo it used.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApplyLine {
    #[serde(default)]
    pub apply: Option<bool>,
    #[serde(default)]
    pub doc: Option<Reference>,
    #[serde(default, with = "wire::money_opt")]
    pub amount: Option<Decimal>,
}

/// A page of `GET /<type>?q=...`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct CollectionPage {
    #[serde(default)]
    pub items: Vec<CollectionItem>,
    #[serde(rename = "hasMore", default)]
    pub has_more: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct CollectionItem {
    #[serde(deserialize_with = "wire::id")]
    pub id: String,
}
