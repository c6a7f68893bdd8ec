//! `WarehouseSim`: the cloneable handle on the simulator's state, used by the
//! HTTP handlers and directly by tests, the traffic generator and the
//! benchmark. The state sits behind one std `Mutex` that is never held across
//! an `.await`; webhooks are batched by a background pump.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::Notify;

use super::errors::{PartnerError, WarehouseError};
use super::messages::{DispatchConfirmation, FeedPage, ReturnReceipt, WebhookBatch};
use super::model::{
    BulkOutcome, CatalogueItem, DispatchRequest, MovementRequest, OrderAck, OrderView,
    ReturnRecord, ReturnRequest, Seed, ServiceCodes, StatusTotals, StockFileInfo, WebhookTarget,
};
use super::order::OrderRequest;
use super::signing::signature_header;
use super::state::{now, State};
use super::stock::StockPosition;
use super::vendor::{MAX_WEBHOOK_BATCH, SIGNATURE_HEADER};
use super::{snapshot, WarehouseConfig};
use crate::faults::Faults;
use crate::webhooks::{Delivery, DeliveryRecord, WebhookSender};

/// Handle on one simulated warehouse; clones share the state.
#[derive(Clone)]
pub struct WarehouseSim {
    shared: Arc<Shared>,
}

struct Shared {
    config: WarehouseConfig,
    state: Mutex<State>,
    wake: Arc<Notify>,
    faults: Faults,
    sender: Mutex<Option<WebhookSender>>,
}

impl WarehouseSim {
    /// A simulator without HTTP or webhook delivery (see `start` for both).
    pub fn new(config: WarehouseConfig, seed: u64) -> Self {
        let mut state = State::new(
            config.account_code.clone(),
            config.service_codes.clone(),
            config.delivery_agents.clone(),
            seed,
        );
        state.webhook = config.webhook.clone();
        WarehouseSim {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(state),
                wake: Arc::new(Notify::new()),
                faults: Faults::new(seed),
                sender: Mutex::new(None),
            }),
        }
    }

    pub fn config(&self) -> &WarehouseConfig {
        &self.shared.config
    }

    /// The fault plan served at `/_admin/faults`.
    pub fn faults(&self) -> Faults {
        self.shared.faults.clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a handler panicked; the state is still consistent
        // because every operation checks before it changes anything.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wake_webhooks(&self) {
        self.shared.wake.notify_one();
    }

    // ---- catalogue and stock -------------------------------------------

    /// Seeds catalogue items, then stock levels (silently, as a stock count).
    pub fn seed(&self, seed: Seed) -> Result<(), WarehouseError> {
        self.add_catalogue_items(seed.catalogue);
        for level in seed.stock {
            self.set_stock(&level.sku, &level.status, level.quantity)?;
        }
        Ok(())
    }

    pub fn add_catalogue_items(&self, items: Vec<CatalogueItem>) {
        let mut state = self.state();
        for item in items {
            state.catalogue.insert(item.sku.clone(), item);
        }
    }

    pub fn catalogue(&self) -> Vec<CatalogueItem> {
        let mut items: Vec<_> = self.state().catalogue.values().cloned().collect();
        items.sort_by(|a, b| a.sku.cmp(&b.sku));
        items
    }

    /// Sets the units of a SKU in a status without emitting a movement.
    pub fn set_stock(&self, sku: &str, status: &str, quantity: u64) -> Result<(), WarehouseError> {
        self.state().set_stock(sku, status, quantity, false, now())
    }

    /// Sets the units of a SKU in a status and emits the difference as a
    /// movement from or to `Stock Adjustment`.
    pub fn adjust_stock(
        &self,
        sku: &str,
        status: &str,
        quantity: u64,
    ) -> Result<(), WarehouseError> {
        self.state().set_stock(sku, status, quantity, true, now())?;
        self.wake_webhooks();
        Ok(())
    }

    pub fn stock(&self, sku: &str) -> StockPosition {
        self.state().stock.position(sku)
    }

    pub fn all_stock(&self) -> Vec<StockPosition> {
        let state = self.state();
        state
            .stock
            .skus_sorted()
            .into_iter()
            .map(|sku| state.stock.position(sku))
            .collect()
    }

    /// Units per status summed over all SKUs.
    pub fn status_totals(&self) -> StatusTotals {
        self.state().status_totals()
    }

    /// Sellable truth: units `Available` and not allocated to an open order.
    pub fn available_units(&self, sku: &str) -> u64 {
        self.state().stock.available_units(sku)
    }

    /// Moves units between statuses; returns the movement's feed sequence.
    pub fn move_stock(
        &self,
        sku: &str,
        from: &str,
        to: &str,
        quantity: u64,
    ) -> Result<u64, WarehouseError> {
        let request = MovementRequest {
            sku: sku.into(),
            from: from.into(),
            to: to.into(),
            quantity,
        };
        let sequence = self.state().move_stock(&request, now())?;
        self.wake_webhooks();
        Ok(sequence)
    }

    /// Applies a batch of movements under one lock (the benchmark's path).
    pub fn move_many(&self, movements: &[MovementRequest]) -> BulkOutcome {
        let outcome = self.state().move_many(movements, now());
        self.wake_webhooks();
        outcome
    }

    // ---- orders ----------------------------------------------------------

    /// What `PUT /orders/{OrderNumber}` does once the body is read.
    pub fn put_order(&self, request: OrderRequest) -> Result<OrderAck, PartnerError> {
        self.state().put_order(request, now())
    }

    pub fn order(&self, order_number: &str) -> Option<OrderView> {
        let state = self.state();
        state
            .orders
            .get(order_number)
            .map(|order| order.view(&state.account_code))
    }

    pub fn orders(&self) -> Vec<OrderView> {
        let state = self.state();
        let mut orders: Vec<_> = state
            .orders
            .values()
            .map(|order| order.view(&state.account_code))
            .collect();
        orders.sort_by(|a, b| a.order_number.cmp(&b.order_number));
        orders
    }

    /// Ships some or all of an order and emits the dispatch confirmation.
    pub fn dispatch(
        &self,
        order_number: &str,
        request: &DispatchRequest,
    ) -> Result<DispatchConfirmation, WarehouseError> {
        let confirmation = self.state().dispatch(order_number, request, now())?;
        self.wake_webhooks();
        Ok(confirmation)
    }

    // ---- returns ---------------------------------------------------------

    /// A return arrives; its units wait in `Pending Inspection`.
    pub fn receive_return(&self, request: &ReturnRequest) -> Result<ReturnRecord, WarehouseError> {
        let record = self.state().receive_return(request, now())?;
        self.wake_webhooks();
        Ok(record)
    }

    /// Grades a received return and emits its return receipt.
    pub fn grade_return(&self, return_id: &str) -> Result<ReturnReceipt, WarehouseError> {
        let receipt = self.state().grade_return(return_id, now())?;
        self.wake_webhooks();
        Ok(receipt)
    }

    /// Receives and grades in one step.
    pub fn receive_and_grade_return(
        &self,
        request: &ReturnRequest,
    ) -> Result<ReturnReceipt, WarehouseError> {
        let record = self.receive_return(request)?;
        self.grade_return(&record.return_id)
    }

    pub fn return_record(&self, return_id: &str) -> Option<ReturnRecord> {
        self.state().returns.get(return_id).cloned()
    }

    pub fn returns(&self) -> Vec<ReturnRecord> {
        let mut returns: Vec<_> = self.state().returns.values().cloned().collect();
        returns.sort_by(|a, b| a.return_id.cmp(&b.return_id));
        returns
    }

    // ---- feed, files, webhooks --------------------------------------------

    /// Messages after `after`, at most `limit` (capped at 5,000).
    pub fn messages_after(&self, after: u64, limit: usize) -> FeedPage {
        self.state().feed(after, limit)
    }

    /// Sequence of the newest message (0 when none).
    pub fn last_sequence(&self) -> u64 {
        self.state().last_sequence()
    }

    /// The live stock CSV and the feed cursor it is consistent with.
    pub fn stock_snapshot_csv(&self) -> Result<(String, u64), WarehouseError> {
        let state = self.state();
        let (text, _) =
            snapshot::render(&state).map_err(|e| WarehouseError::Invalid(e.to_string()))?;
        Ok((text, state.last_sequence()))
    }

    /// Publishes the current stock as a named file (the daily file).
    pub fn publish_stock_file(&self) -> Result<StockFileInfo, WarehouseError> {
        snapshot::publish(&mut self.state(), now())
            .map_err(|e| WarehouseError::Invalid(e.to_string()))
    }

    pub fn stock_files(&self) -> Vec<StockFileInfo> {
        self.state()
            .stock_files
            .iter()
            .map(|(info, _)| info.clone())
            .collect()
    }

    /// A published stock file: its description and CSV text.
    pub fn stock_file(&self, name: &str) -> Option<(StockFileInfo, String)> {
        let state = self.state();
        let index = *state.stock_file_index.get(name)?;
        state.stock_files.get(index).cloned()
    }

    /// Registers where webhooks go. Messages after `after` are delivered
    /// (default: only messages emitted from now on).
    pub fn register_webhook(&self, target: WebhookTarget, after: Option<u64>) {
        {
            let mut state = self.state();
            state.webhook_cursor = after
                .unwrap_or(state.last_sequence())
                .min(state.last_sequence());
            state.webhook = Some(target);
        }
        self.wake_webhooks();
    }

    pub fn webhook(&self) -> Option<WebhookTarget> {
        self.state().webhook.clone()
    }

    /// Delivery attempts so far (empty without `start`).
    pub fn webhook_deliveries(&self) -> Vec<DeliveryRecord> {
        match self.shared.sender.lock() {
            Ok(sender) => sender
                .as_ref()
                .map(WebhookSender::deliveries)
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    pub fn service_codes(&self) -> ServiceCodes {
        let state = self.state();
        ServiceCodes {
            service_codes: state.service_codes.clone(),
            delivery_agents: state.delivery_agents.clone(),
        }
    }

    pub fn set_service_codes(&self, codes: ServiceCodes) {
        let mut state = self.state();
        state.service_codes = codes.service_codes;
        state.delivery_agents = codes.delivery_agents;
    }

    /// Starts webhook delivery: a pump that sends each run of new messages
    /// in signed batches of up to 500. Must be called inside a Tokio runtime.
    pub(crate) fn start_webhooks(&self) {
        let sender = WebhookSender::start(self.shared.faults.clone());
        if let Ok(mut slot) = self.shared.sender.lock() {
            *slot = Some(sender.clone());
        }
        let weak = Arc::downgrade(&self.shared);
        let wake = self.shared.wake.clone();
        tokio::spawn(pump(weak, wake, sender));
    }
}

/// Sends every message after the webhook cursor, in batches; ends when the
/// simulator is gone. Batches may arrive out of order (deliveries run
/// concurrently and the fault plan may reorder them): consumers order by
/// `Sequence` and deduplicate by `MessageId`.
async fn pump(weak: Weak<Shared>, wake: Arc<Notify>, sender: WebhookSender) {
    loop {
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let Some(shared) = weak.upgrade() else { return };
        loop {
            let batch = {
                let mut state = shared
                    .state
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let Some(target) = state.webhook.clone() else {
                    break;
                };
                let page = state.feed(state.webhook_cursor, MAX_WEBHOOK_BATCH);
                if page.messages.is_empty() {
                    break;
                }
                state.webhook_cursor = page.next_cursor;
                (
                    target,
                    WebhookBatch {
                        account_code: state.account_code.clone(),
                        messages: page.messages,
                    },
                )
            };
            let (target, batch) = batch;
            let Ok(body) = serde_json::to_vec(&batch) else {
                continue;
            };
            let header = signature_header(&target.secret, now().timestamp(), &body);
            sender.send(Delivery {
                url: target.url,
                headers: vec![(SIGNATURE_HEADER.to_string(), header)],
                content_type: "application/json".to_string(),
                body,
            });
        }
    }
}
