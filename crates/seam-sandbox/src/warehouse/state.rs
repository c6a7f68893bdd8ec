//! The warehouse's in-memory state and the stock operations on it. Orders
//! and returns add their operations in `order_book.rs` and `returns.rs`.
//! Every state change that a client of the real warehouse would learn about
//! appends a message to the feed here.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::errors::WarehouseError;
use super::messages::{FeedPage, Message, MessageBody, StockMovement};
use super::model::{
    BulkOutcome, CatalogueItem, MovementRequest, ReturnRecord, StatusTotals, StockFileInfo,
    WebhookTarget,
};
use super::order_book::Order;
use super::stock::StockLedger;
use super::vendor::{status, MAX_FEED_PAGE};

pub(crate) struct State {
    pub account_code: String,
    /// Distinguishes this instance's message ids and RFIDs (drawn from the seed).
    pub instance: u64,
    pub service_codes: Vec<String>,
    pub delivery_agents: Vec<String>,
    pub catalogue: HashMap<String, CatalogueItem>,
    pub stock: StockLedger,
    pub orders: HashMap<String, Order>,
    /// Orders short of stock, per SKU, first come first served.
    pub backorders: HashMap<String, VecDeque<String>>,
    pub returns: HashMap<String, ReturnRecord>,
    pub messages: Vec<Message>,
    pub stock_files: Vec<(StockFileInfo, String)>,
    pub stock_file_index: HashMap<String, usize>,
    pub webhook: Option<WebhookTarget>,
    /// Sequence of the last message handed to the webhook sender.
    pub webhook_cursor: u64,
    pub next_dispatch: u64,
    pub next_return: u64,
    pub rng: ChaCha8Rng,
}

pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
}

impl State {
    pub fn new(
        account_code: String,
        service_codes: Vec<String>,
        delivery_agents: Vec<String>,
        seed: u64,
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let instance = rand::Rng::gen::<u64>(&mut rng);
        State {
            account_code,
            instance,
            service_codes,
            delivery_agents,
            catalogue: HashMap::new(),
            stock: StockLedger::default(),
            orders: HashMap::new(),
            backorders: HashMap::new(),
            returns: HashMap::new(),
            messages: Vec::new(),
            stock_files: Vec::new(),
            stock_file_index: HashMap::new(),
            webhook: None,
            webhook_cursor: 0,
            next_dispatch: 0,
            next_return: 0,
            rng,
        }
    }

    /// Appends a message to the feed; returns its sequence (the cursor).
    pub fn emit(&mut self, body: MessageBody) -> u64 {
        let sequence = self.messages.len() as u64 + 1;
        self.messages.push(Message {
            message_id: format!(
                "{}-{:08X}-{sequence}",
                self.account_code, self.instance as u32
            ),
            sequence,
            body,
        });
        sequence
    }

    pub fn last_sequence(&self) -> u64 {
        self.messages.len() as u64
    }

    /// Messages after a cursor, in order; `limit` is capped at the page maximum.
    pub fn feed(&self, after: u64, limit: usize) -> FeedPage {
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(self.messages.len());
        let end = start
            .saturating_add(limit.clamp(1, MAX_FEED_PAGE))
            .min(self.messages.len());
        let messages = self.messages[start..end].to_vec();
        let next_cursor = messages.last().map_or(after, |message| message.sequence);
        FeedPage {
            messages,
            next_cursor,
            has_more: end < self.messages.len(),
        }
    }

    pub fn require_catalogued(&self, sku: &str) -> Result<(), WarehouseError> {
        if self.catalogue.contains_key(sku) {
            Ok(())
        } else {
            Err(WarehouseError::UnknownSku(sku.to_string()))
        }
    }

    /// Moves units between statuses and emits the movement.
    pub fn move_stock(
        &mut self,
        request: &MovementRequest,
        at: DateTime<Utc>,
    ) -> Result<u64, WarehouseError> {
        self.require_catalogued(&request.sku)?;
        if request.quantity == 0 {
            return Err(WarehouseError::Invalid(
                "quantity must be at least 1".into(),
            ));
        }
        if request.from == request.to {
            return Err(WarehouseError::Invalid(format!(
                "'{}' to itself is not a movement",
                request.from
            )));
        }
        if request.from.trim().is_empty() || request.to.trim().is_empty() {
            return Err(WarehouseError::Invalid("statuses must not be empty".into()));
        }
        if status::is_external(&request.from) && status::is_external(&request.to) {
            return Err(WarehouseError::Invalid(
                "one side of a movement must be a warehouse status".into(),
            ));
        }
        let units = self
            .stock
            .take(&request.sku, &request.from, request.quantity, at)?;
        self.stock.put(&request.sku, &request.to, units, at);
        if request.to == status::AVAILABLE {
            self.top_up_allocations(&request.sku);
        }
        Ok(self.emit_movement(
            &request.sku,
            &request.from,
            &request.to,
            request.quantity,
            at,
        ))
    }

    pub fn emit_movement(
        &mut self,
        sku: &str,
        from: &str,
        to: &str,
        quantity: u64,
        at: DateTime<Utc>,
    ) -> u64 {
        self.emit(MessageBody::StockMovement(StockMovement {
            sku: sku.to_string(),
            from_status: from.to_string(),
            to_status: to.to_string(),
            quantity,
            occurred_at: at,
        }))
    }

    pub fn move_many(&mut self, requests: &[MovementRequest], at: DateTime<Utc>) -> BulkOutcome {
        let mut outcome = BulkOutcome::default();
        self.messages.reserve(requests.len());
        for (index, request) in requests.iter().enumerate() {
            match self.move_stock(request, at) {
                Ok(sequence) => {
                    outcome.applied += 1;
                    outcome.last_sequence = sequence;
                }
                Err(error) => outcome.rejected.push((index, error.to_string())),
            }
        }
        outcome
    }

    /// Sets units in a status (a stock count). Silent by default, as a seed
    /// is; with `emit` the difference is announced as a movement from or to
    /// `Stock Adjustment`.
    pub fn set_stock(
        &mut self,
        sku: &str,
        to: &str,
        quantity: u64,
        emit: bool,
        at: DateTime<Utc>,
    ) -> Result<(), WarehouseError> {
        self.require_catalogued(sku)?;
        if status::is_external(to) || to.trim().is_empty() {
            return Err(WarehouseError::Invalid(format!(
                "'{to}' is not a warehouse status"
            )));
        }
        let change = self.stock.set(sku, to, quantity, at);
        if to == status::AVAILABLE && change > 0 {
            self.top_up_allocations(sku);
        }
        if emit && change > 0 {
            self.emit_movement(sku, status::STOCK_ADJUSTMENT, to, change.unsigned_abs(), at);
        } else if emit && change < 0 {
            self.emit_movement(sku, to, status::STOCK_ADJUSTMENT, change.unsigned_abs(), at);
        }
        Ok(())
    }

    pub fn status_totals(&self) -> StatusTotals {
        let mut totals = StatusTotals::new();
        for sku in self.stock.skus_sorted() {
            for (status, quantity) in self.stock.position(sku).by_status {
                *totals.entry(status).or_default() += quantity;
            }
        }
        totals
    }
}
