//! The roles flows speak to. A flow never names a vendor: it asks a
//! `WarehouseFeed` for what happened at the warehouse and a
//! `StorefrontStock` to show stock, and this module says which connector
//! plays which role. Replacing the 3PL or the storefront is a new impl here.

use async_trait::async_trait;
use seam_engine::Failure;
use serde_json::Value;

use std::collections::HashMap;

use crate::centra::{
    CentraClient, ProductSizeInput, StockQuantityType, StockSelection, WarehouseInput,
};
use crate::warehouse::{MessageBody, WarehouseClient};

/// N units of a SKU changed status at the warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockMovementEvent {
    pub sku: String,
    pub from: String,
    pub to: String,
    pub quantity: i64,
    pub occurred_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FeedEventKind {
    Movement(StockMovementEvent),
    /// Dispatches, return receipts and anything newer: journaled for their
    /// own flows with the message as it came.
    Other {
        kind: String,
        payload: Value,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    /// The warehouse's own message id: the journal's dedupe key.
    pub id: String,
    pub sequence: u64,
    pub kind: FeedEventKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedBatch {
    pub events: Vec<FeedEvent>,
    pub next_cursor: u64,
    pub has_more: bool,
}

/// Units per SKU per status, and the feed position it reflects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StockSnapshot {
    pub by_sku: std::collections::HashMap<String, std::collections::BTreeMap<String, u64>>,
    pub feed_cursor: Option<u64>,
}

#[async_trait]
pub trait WarehouseFeed: Send + Sync + 'static {
    /// Events after `cursor`, oldest first.
    async fn events_after(&self, cursor: u64, limit: usize) -> Result<FeedBatch, Failure>;

    /// Every SKU's units by status now, with the feed cursor it reflects.
    async fn stock_snapshot(&self) -> Result<StockSnapshot, Failure>;
}

#[async_trait]
pub trait StorefrontStock: Send + Sync + 'static {
    /// Sets the physical quantity of each SKU in one write; the storefront
    /// computes what is free to sell from it (see `seam_model::stock`).
    async fn set_physical(
        &self,
        levels: &[(String, i64)],
        description: &str,
    ) -> Result<(), Failure>;

    /// What the storefront shows as free to sell, per SKU it knows.
    async fn free_to_allocate(&self, skus: &[String]) -> Result<HashMap<String, i64>, Failure>;
}

#[async_trait]
impl WarehouseFeed for WarehouseClient {
    async fn events_after(&self, cursor: u64, limit: usize) -> Result<FeedBatch, Failure> {
        let page = self.messages_after(cursor, limit).await?;
        let events = page
            .messages
            .into_iter()
            .map(|message| {
                let kind = match &message.body {
                    MessageBody::StockMovement(m) => FeedEventKind::Movement(StockMovementEvent {
                        sku: m.sku.clone(),
                        from: m.from_status.clone(),
                        to: m.to_status.clone(),
                        quantity: i64::try_from(m.quantity).unwrap_or(i64::MAX),
                        occurred_at: m.occurred_at.clone(),
                    }),
                    other => FeedEventKind::Other {
                        kind: match other {
                            MessageBody::DispatchConfirmation(_) => "dispatch_confirmation",
                            MessageBody::ReturnReceipt(_) => "return_receipt",
                            _ => "unknown_message",
                        }
                        .to_string(),
                        payload: serde_json::to_value(&message).unwrap_or(Value::Null),
                    },
                };
                FeedEvent {
                    id: message.message_id,
                    sequence: message.sequence,
                    kind,
                }
            })
            .collect();
        Ok(FeedBatch {
            events,
            next_cursor: page.next_cursor,
            has_more: page.has_more,
        })
    }

    async fn stock_snapshot(&self) -> Result<StockSnapshot, Failure> {
        let snapshot = WarehouseClient::stock_snapshot(self).await?;
        Ok(StockSnapshot {
            by_sku: snapshot.by_sku,
            feed_cursor: snapshot.feed_cursor,
        })
    }
}

/// Centra, writing into one of its warehouses.
pub struct CentraStock {
    pub client: CentraClient,
    pub warehouse: WarehouseInput,
    /// The warehouse's id, looked up once by name for reads.
    pub warehouse_id: tokio::sync::OnceCell<i64>,
}

impl CentraStock {
    pub fn new(client: CentraClient, warehouse: WarehouseInput) -> Self {
        CentraStock {
            client,
            warehouse,
            warehouse_id: tokio::sync::OnceCell::new(),
        }
    }

    async fn warehouse_id(&self) -> Result<i64, Failure> {
        if let Some(id) = self.warehouse.id {
            return Ok(id);
        }
        self.warehouse_id
            .get_or_try_init(|| async {
                let name = self.warehouse.name.clone().unwrap_or_default();
                self.client
                    .warehouses()
                    .await?
                    .into_iter()
                    .find(|w| w.name == name)
                    .map(|w| w.id)
                    .ok_or_else(|| Failure::data(format!("Centra has no warehouse named '{name}'")))
            })
            .await
            .copied()
    }
}

#[async_trait]
impl StorefrontStock for CentraStock {
    async fn set_physical(
        &self,
        levels: &[(String, i64)],
        description: &str,
    ) -> Result<(), Failure> {
        let sizes: Vec<(ProductSizeInput, i64)> = levels
            .iter()
            .map(|(sku, qty)| (ProductSizeInput::sku(sku.clone()), (*qty).max(0)))
            .collect();
        self.client
            .set_stock(
                &self.warehouse,
                StockQuantityType::Physical,
                description,
                &sizes,
            )
            .await
            .map(|_| ())
    }

    async fn free_to_allocate(&self, skus: &[String]) -> Result<HashMap<String, i64>, Failure> {
        let warehouse = self.warehouse_id().await?;
        let levels = self
            .client
            .free_to_allocate(warehouse, &StockSelection::Skus(skus.to_vec()))
            .await?;
        Ok(levels
            .into_iter()
            .filter_map(|level| {
                level
                    .product_size
                    .sku
                    .map(|sku| (sku, level.free_to_allocate_quantity))
            })
            .collect())
    }
}
