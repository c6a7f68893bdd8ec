//! Catalogue and stock GraphQL objects: Product → ProductVariant →
//! ProductSize, bundles, attributes, warehouses and `Stock`.

use async_graphql::{Context, InputObject, Object, SimpleObject};

use super::super::auth::require;
use super::super::model::{self, StockCell};
use super::super::CentraSim;
use super::{check_limit, offset, sim};

pub struct Product(pub model::Product);
pub struct ProductVariant(pub model::Variant);
pub struct ProductSize(pub model::Size);
pub struct Warehouse(pub model::Warehouse);

#[derive(SimpleObject)]
pub struct AttributeType {
    pub name: String,
}

#[derive(SimpleObject)]
pub struct AttributeStringElement {
    pub key: String,
    pub value: String,
}

/// Centra's attribute shape `{ type { name } elements { key value } }`;
/// modelled from Centra's docs on attributes, not from centra.md (inferred).
#[derive(SimpleObject)]
pub struct Attribute {
    #[graphql(name = "type")]
    pub attribute_type: AttributeType,
    pub elements: Vec<AttributeStringElement>,
}

fn attributes(list: &[model::Attribute]) -> Vec<Attribute> {
    list.iter()
        .map(|a| Attribute {
            attribute_type: AttributeType {
                name: a.type_name.clone(),
            },
            elements: vec![AttributeStringElement {
                key: a.key.clone().unwrap_or_else(|| "value".into()),
                value: a.value.clone(),
            }],
        })
        .collect()
}

#[derive(SimpleObject)]
pub struct BundleSection {
    pub id: i32,
    pub quantity: i32,
    pub product_variants: Vec<ProductVariant>,
}

#[derive(SimpleObject)]
pub struct Bundle {
    pub id: i32,
    #[graphql(name = "type")]
    pub bundle_type: String,
    pub sections: Vec<BundleSection>,
}

#[Object]
impl Product {
    async fn id(&self) -> i32 {
        self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn product_number(&self) -> &str {
        &self.0.product_number
    }
    async fn brand_name(&self) -> Option<String> {
        self.0.brand.clone()
    }
    async fn is_bundle(&self) -> bool {
        self.0.is_bundle
    }
    async fn attributes(&self) -> Vec<Attribute> {
        attributes(&self.0.attributes)
    }
    async fn variants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProductVariant>> {
        let ids = self.0.variant_ids.clone();
        Ok(sim(ctx)?.with_state(|s| {
            ids.iter()
                .filter_map(|id| s.catalogue.variants.get(id).cloned())
                .map(ProductVariant)
                .collect()
        }))
    }
    async fn bundle(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Bundle>> {
        let id = self.0.id;
        Ok(sim(ctx)?.with_state(|s| {
            let bundle = s.catalogue.bundles.get(&id)?;
            Some(Bundle {
                id,
                bundle_type: bundle.bundle_type.clone(),
                sections: bundle
                    .sections
                    .iter()
                    .map(|section| BundleSection {
                        id: section.id,
                        quantity: section.quantity,
                        product_variants: section
                            .variant_ids
                            .iter()
                            .filter_map(|v| s.catalogue.variants.get(v).cloned())
                            .map(ProductVariant)
                            .collect(),
                    })
                    .collect(),
            })
        }))
    }
}

#[Object]
impl ProductVariant {
    async fn id(&self) -> i32 {
        self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn variant_number(&self) -> &str {
        &self.0.variant_number
    }
    async fn attributes(&self) -> Vec<Attribute> {
        attributes(&self.0.attributes)
    }
    async fn product(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Product>> {
        let id = self.0.product_id;
        Ok(sim(ctx)?
            .with_state(|s| s.catalogue.products.get(&id).cloned())
            .map(Product))
    }
    async fn product_sizes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ProductSize>> {
        let ids = self.0.size_ids.clone();
        Ok(sim(ctx)?.with_state(|s| {
            ids.iter()
                .filter_map(|id| s.catalogue.sizes.get(id).cloned())
                .map(ProductSize)
                .collect()
        }))
    }
}

#[derive(SimpleObject)]
pub struct StockTotals {
    pub free_to_allocate_quantity: i64,
    pub physical_quantity: i64,
    pub allocated_quantity: i64,
    pub available_now_quantity: i64,
}

#[Object]
impl ProductSize {
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// Read-only: productNumber + variantNumber + sizeNumber.
    #[graphql(name = "SKU")]
    async fn sku(&self) -> &str {
        &self.0.sku
    }
    #[graphql(name = "EAN")]
    async fn ean(&self) -> Option<String> {
        self.0.ean.clone()
    }
    async fn size_number(&self) -> &str {
        &self.0.size_number
    }
    async fn description(&self) -> &str {
        &self.0.name
    }
    async fn product_variant(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<ProductVariant>> {
        let id = self.0.variant_id;
        Ok(sim(ctx)?
            .with_state(|s| s.catalogue.variants.get(&id).cloned())
            .map(ProductVariant))
    }
    /// Stock per warehouse, sorted by warehouse id.
    async fn stock(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Stock>> {
        require(ctx, "ProductSize.stock:read")?;
        let size = self.0.clone();
        Ok(sim(ctx)?.with_state(|s| {
            s.catalogue
                .warehouses
                .values()
                .map(|w| Stock {
                    cell: s.catalogue.cell(w.id, size.id),
                    size: size.clone(),
                    warehouse: w.clone(),
                })
                .collect()
        }))
    }
    async fn stock_totals(&self, ctx: &Context<'_>) -> async_graphql::Result<StockTotals> {
        require(ctx, "ProductSize.stockTotals:read")?;
        let id = self.0.id;
        Ok(sim(ctx)?.with_state(|s| {
            let mut total = StockCell::default();
            for w in s.catalogue.warehouses.keys() {
                let cell = s.catalogue.cell(*w, id);
                total.physical += cell.physical;
                total.allocated += cell.allocated;
            }
            StockTotals {
                free_to_allocate_quantity: total.free_to_allocate(),
                physical_quantity: total.physical,
                allocated_quantity: total.allocated,
                available_now_quantity: total.free_to_allocate(),
            }
        }))
    }
}

/// Stock of one size in one warehouse.
pub struct Stock {
    pub cell: StockCell,
    pub size: model::Size,
    pub warehouse: model::Warehouse,
}

#[Object]
impl Stock {
    async fn product_size(&self) -> ProductSize {
        ProductSize(self.size.clone())
    }
    async fn warehouse(&self) -> Warehouse {
        Warehouse(self.warehouse.clone())
    }
    /// Cheap in complexity (documented).
    async fn free_to_allocate_quantity(&self) -> i64 {
        self.cell.free_to_allocate()
    }
    async fn physical_quantity(&self) -> i64 {
        self.cell.physical
    }
    async fn allocated_quantity(&self) -> i64 {
        self.cell.allocated
    }
    /// No demand or incoming is modelled, so these equal FTA / zero.
    async fn available_now_quantity(&self) -> i64 {
        self.cell.free_to_allocate()
    }
    async fn demand_quantity(&self) -> i64 {
        0
    }
    async fn incoming_quantity(&self) -> i64 {
        0
    }
}

/// Filter of `Warehouse.stock`. Field names are inferred (the StockFilter
/// SDL was not available); `SKU` is a simulator convenience.
#[derive(InputObject, Default)]
pub struct StockFilter {
    pub product_size_id: Option<Vec<i32>>,
    #[graphql(name = "SKU")]
    pub sku: Option<Vec<String>>,
    pub product_variant_id: Option<Vec<i32>>,
    pub product_id: Option<Vec<i32>>,
}

/// Reads one page of a warehouse's stock without scanning: an id/SKU filter
/// looks cells up directly; otherwise the ordered map is ranged from the warehouse.
pub fn warehouse_stock(
    sim: &CentraSim,
    warehouse: &model::Warehouse,
    filter: Option<&StockFilter>,
    limit: usize,
    skip: usize,
) -> Vec<Stock> {
    sim.with_state(|s| {
        let c = &s.catalogue;
        let make = |size: &model::Size| Stock {
            cell: c.cell(warehouse.id, size.id),
            size: size.clone(),
            warehouse: warehouse.clone(),
        };
        let mut ids: Option<Vec<i32>> = None;
        if let Some(filter) = filter {
            let mut wanted = Vec::new();
            let mut any = false;
            if let Some(list) = &filter.product_size_id {
                any = true;
                wanted.extend(list.iter().copied());
            }
            if let Some(list) = &filter.sku {
                any = true;
                wanted.extend(
                    list.iter()
                        .filter_map(|sku| c.size_by_sku(sku).map(|s| s.id)),
                );
            }
            if let Some(list) = &filter.product_variant_id {
                any = true;
                wanted.extend(
                    list.iter()
                        .filter_map(|v| c.variants.get(v))
                        .flat_map(|v| v.size_ids.iter().copied()),
                );
            }
            if let Some(list) = &filter.product_id {
                any = true;
                for p in list.iter().filter_map(|p| c.products.get(p)) {
                    wanted.extend(
                        p.variant_ids
                            .iter()
                            .filter_map(|v| c.variants.get(v))
                            .flat_map(|v| v.size_ids.iter().copied()),
                    );
                }
            }
            if any {
                wanted.sort_unstable();
                wanted.dedup();
                ids = Some(wanted);
            }
        }
        match ids {
            Some(ids) => ids
                .iter()
                .filter_map(|id| c.sizes.get(id))
                .skip(skip)
                .take(limit)
                .map(make)
                .collect(),
            None => c
                .stock
                .range((warehouse.id, i32::MIN)..=(warehouse.id, i32::MAX))
                .skip(skip)
                .take(limit)
                .filter_map(|((_, size), _)| c.sizes.get(size))
                .map(make)
                .collect(),
        }
    })
}

#[Object]
impl Warehouse {
    async fn id(&self) -> i32 {
        self.0.id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Stock rows of this warehouse (sizes that ever had stock), sorted by size id.
    async fn stock(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<StockFilter>,
        #[graphql(default = 20)] limit: i32,
        #[graphql(default = 1)] page: i32,
    ) -> async_graphql::Result<Vec<Stock>> {
        require(ctx, "Warehouse.stock:read")?;
        let limit = check_limit(limit, 200)?;
        let skip = offset(page, limit)?;
        Ok(warehouse_stock(
            sim(ctx)?,
            &self.0,
            filter.as_ref(),
            limit,
            skip,
        ))
    }
}
