//! Query root: orders (page and relay style), shipments, returns, catalogue,
//! warehouses and stock, events and rate limits.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use base64::Engine;

use super::super::auth::{caller, require};
use super::super::model::{self, EventChangeType, EventObjectType, OrderStatus};
use super::catalogue::{Product, ProductSize, ProductVariant, Warehouse};
use super::orders::{Order, Return, Shipment};
use super::{check_limit, date, offset, sim, DateRange};

pub struct QueryRoot;

#[derive(InputObject, Default)]
pub struct OrderFilter {
    pub id: Option<Vec<String>>,
    pub number: Option<Vec<i32>>,
    pub status: Option<Vec<OrderStatus>>,
    pub external_id: Option<Vec<String>>,
    pub created_at: Option<DateRange>,
    pub updated_at: Option<DateRange>,
    pub order_date: Option<DateRange>,
    pub is_on_hold: Option<bool>,
    pub is_locked: Option<bool>,
}

impl OrderFilter {
    fn matches(&self, o: &model::Order) -> bool {
        self.id.as_ref().is_none_or(|ids| ids.contains(&o.id))
            && self.number.as_ref().is_none_or(|n| n.contains(&o.number))
            && self.status.as_ref().is_none_or(|s| s.contains(&o.status))
            && self
                .external_id
                .as_ref()
                .is_none_or(|e| o.external_id.as_ref().is_some_and(|x| e.contains(x)))
            && self
                .created_at
                .as_ref()
                .is_none_or(|r| r.contains(&o.created_at))
            && self
                .updated_at
                .as_ref()
                .is_none_or(|r| r.contains(&o.updated_at))
            && self
                .order_date
                .as_ref()
                .is_none_or(|r| r.contains(&o.order_date))
            && self.is_on_hold.is_none_or(|h| h == o.is_on_hold)
            && self.is_locked.is_none_or(|l| l == o.is_locked)
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum OrderSort {
    #[graphql(name = "number_ASC")]
    number_ASC,
    #[graphql(name = "number_DESC")]
    number_DESC,
    #[graphql(name = "id_ASC")]
    id_ASC,
    #[graphql(name = "id_DESC")]
    id_DESC,
    #[graphql(name = "updatedAt_ASC")]
    updatedAt_ASC,
    #[graphql(name = "updatedAt_DESC")]
    updatedAt_DESC,
    #[graphql(name = "createdAt_ASC")]
    createdAt_ASC,
    #[graphql(name = "createdAt_DESC")]
    createdAt_DESC,
    #[graphql(name = "orderDate_ASC")]
    orderDate_ASC,
    #[graphql(name = "orderDate_DESC")]
    orderDate_DESC,
}

fn sorted_orders(
    sim: &super::super::CentraSim,
    filter: Option<&OrderFilter>,
    sort: &[OrderSort],
) -> Vec<model::Order> {
    let mut orders: Vec<model::Order> =
        sim.with_state(|s| match filter.and_then(|f| f.number.as_ref()) {
            // By number: looked up, not scanned (the events poll reads a page
            // of orders this way).
            Some(numbers) => numbers
                .iter()
                .filter_map(|n| s.orders.get(n))
                .filter(|o| filter.is_none_or(|f| f.matches(o)))
                .cloned()
                .collect(),
            None => s
                .orders
                .values()
                .filter(|o| filter.is_none_or(|f| f.matches(o)))
                .cloned()
                .collect(),
        });
    let key = sort.first().copied().unwrap_or(OrderSort::number_DESC);
    orders.sort_by(|a, b| {
        use OrderSort::*;
        let ordering = match key {
            number_ASC | number_DESC => a.number.cmp(&b.number),
            id_ASC | id_DESC => a.id.cmp(&b.id),
            updatedAt_ASC | updatedAt_DESC => a
                .updated_at
                .cmp(&b.updated_at)
                .then(a.number.cmp(&b.number)),
            createdAt_ASC | createdAt_DESC => a
                .created_at
                .cmp(&b.created_at)
                .then(a.number.cmp(&b.number)),
            orderDate_ASC | orderDate_DESC => a
                .order_date
                .cmp(&b.order_date)
                .then(a.number.cmp(&b.number)),
        };
        if matches!(
            key,
            number_DESC | id_DESC | updatedAt_DESC | createdAt_DESC | orderDate_DESC
        ) {
            ordering.reverse()
        } else {
            ordering
        }
    });
    orders
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

#[derive(SimpleObject)]
pub struct OrderEdge {
    pub cursor: String,
    pub node: Order,
}

#[derive(SimpleObject)]
pub struct OrderConnection {
    pub total_count: i32,
    pub page_info: PageInfo,
    pub edges: Vec<OrderEdge>,
}

/// Cursors encode the position, like Centra's `base64("number:166")`; opaque to clients.
fn cursor(position: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("position:{position}"))
}

fn decode_cursor(value: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("position:")?
        .parse()
        .ok()
}

#[derive(InputObject, Default)]
pub struct ShipmentFilter {
    pub id: Option<Vec<i32>>,
    pub number: Option<Vec<String>>,
    pub order_id: Option<Vec<String>>,
    pub is_shipped: Option<bool>,
    pub is_captured: Option<bool>,
}

#[derive(InputObject, Default)]
pub struct ReturnFilter {
    pub id: Option<Vec<i32>>,
}

#[derive(InputObject, Default)]
pub struct ProductFilter {
    pub id: Option<Vec<i32>>,
    pub product_number: Option<Vec<String>>,
}

/// Simulator's per-size lookup filter (inferred; Centra reaches sizes through products).
#[derive(InputObject, Default)]
pub struct ProductSizeFilter {
    pub id: Option<Vec<i32>>,
    #[graphql(name = "SKU")]
    pub sku: Option<Vec<String>>,
    #[graphql(name = "EAN")]
    pub ean: Option<Vec<String>>,
}

#[derive(InputObject, Default)]
pub struct EventFilter {
    pub object_type: Option<Vec<EventObjectType>>,
    pub change_type: Option<Vec<EventChangeType>>,
}

pub struct Event(pub model::Event);

#[Object]
impl Event {
    async fn id(&self) -> i64 {
        self.0.id
    }
    async fn object_type(&self) -> EventObjectType {
        self.0.object_type
    }
    async fn change_type(&self) -> EventChangeType {
        self.0.change_type
    }
    /// Usually an id; the order number for orders.
    async fn object_reference(&self) -> i64 {
        self.0.object_reference
    }
    async fn created_at(&self) -> String {
        date(&self.0.created_at)
    }
    /// The current state of an order (null when deleted or not an order).
    async fn order(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Order>> {
        if self.0.object_type != EventObjectType::Order
            || self.0.change_type == EventChangeType::Deleted
        {
            return Ok(None);
        }
        let number = i32::try_from(self.0.object_reference).unwrap_or_default();
        Ok(sim(ctx)?.order(number).map(Order::from_model))
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitType {
    RequestCount,
    QueryComplexity,
    MutationCount,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitInterval {
    TenSeconds,
    OneHour,
}

#[derive(SimpleObject)]
pub struct RateLimit {
    #[graphql(name = "type")]
    pub limit_type: RateLimitType,
    pub interval_seconds: RateLimitInterval,
    pub quota: i64,
    pub used_quota: i64,
    pub remaining_quota: i64,
}

#[Object]
impl QueryRoot {
    async fn order(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
        number: Option<i32>,
        external_id: Option<String>,
    ) -> async_graphql::Result<Option<Order>> {
        require(ctx, "Order:read")?;
        let reference = super::super::state::OrderRef {
            id,
            number,
            external_id,
        };
        Ok(sim(ctx)?
            .with_state(|s| s.find_order(&reference).cloned())
            .map(Order::from_model))
    }

    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<OrderFilter>,
        #[graphql(default_with = "vec![OrderSort::number_DESC]")] sort: Vec<OrderSort>,
        #[graphql(default = 20)] limit: i32,
        #[graphql(default = 1)] page: i32,
    ) -> async_graphql::Result<Vec<Order>> {
        require(ctx, "Order:read")?;
        let limit = check_limit(limit, 100)?;
        let skip = offset(page, limit)?;
        Ok(sorted_orders(sim(ctx)?, filter.as_ref(), &sort)
            .into_iter()
            .skip(skip)
            .take(limit)
            .map(Order::from_model)
            .collect())
    }

    async fn order_connection(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<OrderFilter>,
        #[graphql(default_with = "vec![OrderSort::number_DESC]")] sort: Vec<OrderSort>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<OrderConnection> {
        require(ctx, "Order:read")?;
        let first = check_limit(first.unwrap_or(20), 100)?;
        let start = match after {
            Some(c) => {
                decode_cursor(&c).ok_or_else(|| async_graphql::Error::new("invalid cursor"))? + 1
            }
            None => 0,
        };
        let orders = sorted_orders(sim(ctx)?, filter.as_ref(), &sort);
        let total = orders.len();
        let edges: Vec<OrderEdge> = orders
            .into_iter()
            .enumerate()
            .skip(start)
            .take(first)
            .map(|(i, o)| OrderEdge {
                cursor: cursor(i),
                node: Order::from_model(o),
            })
            .collect();
        Ok(OrderConnection {
            total_count: total as i32,
            page_info: PageInfo {
                has_next_page: start + edges.len() < total,
                has_previous_page: start > 0,
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }

    async fn shipments(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<ShipmentFilter>,
        #[graphql(default = 20)] limit: i32,
        #[graphql(default = 1)] page: i32,
    ) -> async_graphql::Result<Vec<Shipment>> {
        require(ctx, "Shipment:read")?;
        let limit = check_limit(limit, 200)?;
        let skip = offset(page, limit)?;
        let f = filter.unwrap_or_default();
        Ok(sim(ctx)?.with_state(|s| {
            s.all_shipments()
                .filter(|(o, sh)| {
                    f.id.as_ref().is_none_or(|ids| ids.contains(&sh.id))
                        && f.number.as_ref().is_none_or(|n| n.contains(&sh.number))
                        && f.order_id.as_ref().is_none_or(|ids| ids.contains(&o.id))
                        && f.is_shipped.is_none_or(|v| v == sh.is_shipped)
                        && f.is_captured.is_none_or(|v| v == sh.is_captured)
                })
                .skip(skip)
                .take(limit)
                .map(|(o, sh)| Shipment::new(std::sync::Arc::new(o.clone()), sh.id))
                .collect()
        }))
    }

    async fn shipment(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> async_graphql::Result<Option<Shipment>> {
        require(ctx, "Shipment:read")?;
        Ok(sim(ctx)?.with_state(|s| {
            s.shipment(id)
                .map(|(o, sh)| Shipment::new(std::sync::Arc::new(o.clone()), sh.id))
        }))
    }

    async fn returns(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<ReturnFilter>,
        #[graphql(default = 20)] limit: i32,
        #[graphql(default = 1)] page: i32,
    ) -> async_graphql::Result<Vec<Return>> {
        require(ctx, "Return:read")?;
        let limit = check_limit(limit, 200)?;
        let skip = offset(page, limit)?;
        let f = filter.unwrap_or_default();
        Ok(sim(ctx)?.with_state(|s| {
            s.all_returns()
                .filter(|(_, r)| f.id.as_ref().is_none_or(|ids| ids.contains(&r.id)))
                .skip(skip)
                .take(limit)
                .map(|(o, r)| Return::new(std::sync::Arc::new(o.clone()), r.id))
                .collect()
        }))
    }

    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<ProductFilter>,
        #[graphql(default = 20)] limit: i32,
        #[graphql(default = 1)] page: i32,
    ) -> async_graphql::Result<Vec<Product>> {
        require(ctx, "Product:read")?;
        let limit = check_limit(limit, 200)?;
        let skip = offset(page, limit)?;
        let f = filter.unwrap_or_default();
        Ok(sim(ctx)?.with_state(|s| {
            s.catalogue
                .products
                .values()
                .filter(|p| f.id.as_ref().is_none_or(|ids| ids.contains(&p.id)))
                .filter(|p| {
                    f.product_number
                        .as_ref()
                        .is_none_or(|n| n.contains(&p.product_number))
                })
                .skip(skip)
                .take(limit)
                .cloned()
                .map(Product)
                .collect()
        }))
    }

    async fn product_variants(
        &self,
        ctx: &Context<'_>,
        id: Vec<i32>,
    ) -> async_graphql::Result<Vec<ProductVariant>> {
        require(ctx, "Product:read")?;
        Ok(sim(ctx)?.with_state(|s| {
            id.iter()
                .filter_map(|v| s.catalogue.variants.get(v).cloned())
                .map(ProductVariant)
                .collect()
        }))
    }

    /// Per-size lookup by id, SKU or EAN (inferred convenience query).
    async fn product_sizes(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: ProductSizeFilter,
        #[graphql(default = 200)] limit: i32,
        #[graphql(default = 1)] page: i32,
    ) -> async_graphql::Result<Vec<ProductSize>> {
        require(ctx, "Product:read")?;
        let limit = check_limit(limit, 200)?;
        let skip = offset(page, limit)?;
        Ok(sim(ctx)?.with_state(|s| {
            let c = &s.catalogue;
            let mut sizes: Vec<model::Size> = Vec::new();
            sizes.extend(
                filter
                    .id
                    .iter()
                    .flatten()
                    .filter_map(|id| c.sizes.get(id).cloned()),
            );
            sizes.extend(
                filter
                    .sku
                    .iter()
                    .flatten()
                    .filter_map(|sku| c.size_by_sku(sku).cloned()),
            );
            sizes.extend(
                filter
                    .ean
                    .iter()
                    .flatten()
                    .filter_map(|ean| c.size_by_ean(ean).cloned()),
            );
            sizes
                .into_iter()
                .skip(skip)
                .take(limit)
                .map(ProductSize)
                .collect()
        }))
    }

    async fn warehouses(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Warehouse>> {
        require(ctx, "Warehouse:read")?;
        Ok(sim(ctx)?.with_state(|s| {
            s.catalogue
                .warehouses
                .values()
                .cloned()
                .map(Warehouse)
                .collect()
        }))
    }

    async fn warehouse(
        &self,
        ctx: &Context<'_>,
        id: i32,
    ) -> async_graphql::Result<Option<Warehouse>> {
        require(ctx, "Warehouse:read")?;
        Ok(sim(ctx)?
            .with_state(|s| s.catalogue.warehouses.get(&id).cloned())
            .map(Warehouse))
    }

    /// The oldest unconfirmed events of the caller's integration.
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<EventFilter>,
        #[graphql(default = 20)] limit: i32,
    ) -> async_graphql::Result<Vec<Event>> {
        require(ctx, "Event:read")?;
        let limit = check_limit(limit, 200)?;
        let integration = caller(ctx)?.integration.clone();
        let f = filter.unwrap_or_default();
        let objects = f.object_type.unwrap_or_default();
        let changes = f.change_type.unwrap_or_default();
        Ok(sim(ctx)?
            .with_state(|s| s.events(&integration, &objects, &changes, limit))
            .into_iter()
            .map(Event)
            .collect())
    }

    /// Needs no permission (documented).
    async fn rate_limits(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RateLimit>> {
        use super::super::ratelimit::LimitKind;
        let buckets = sim(ctx)?.limiter().buckets();
        Ok(buckets
            .into_iter()
            .map(|b| RateLimit {
                limit_type: match b.kind {
                    LimitKind::RequestCount => RateLimitType::RequestCount,
                    LimitKind::MutationCount => RateLimitType::MutationCount,
                    LimitKind::QueryComplexity => RateLimitType::QueryComplexity,
                },
                interval_seconds: if b.interval == "TEN_SECONDS" {
                    RateLimitInterval::TenSeconds
                } else {
                    RateLimitInterval::OneHour
                },
                quota: b.quota as i64,
                used_quota: b.used as i64,
                remaining_quota: b.quota.saturating_sub(b.used) as i64,
            })
            .collect())
    }
}
