//! Catalogue and stock: products → variants → sizes, bundles, warehouses,
//! and the stock cells per (warehouse, size) with their indexes.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::model::{
    Attribute, Bundle, BundleSection, Product, Size, StockCell, Variant, Warehouse,
};

/// Seed for one product (admin API and `CentraSim::seed_catalogue`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedProduct {
    pub product_number: String,
    pub name: String,
    pub brand: Option<String>,
    pub attributes: Vec<Attribute>,
    pub variants: Vec<SeedVariant>,
    /// Makes this a bundle: a virtual product whose single variant has one
    /// size and whose stock is derived from the sections' variants.
    pub bundle: Option<SeedBundle>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedVariant {
    pub variant_number: String,
    pub name: String,
    pub attributes: Vec<Attribute>,
    pub sizes: Vec<SeedSize>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedSize {
    /// Size-chart name, e.g. "M".
    pub name: String,
    /// Defaults to `name`.
    pub size_number: Option<String>,
    pub ean: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedBundle {
    /// FIXED or FLEXIBLE.
    pub bundle_type: String,
    pub sections: Vec<SeedBundleSection>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedBundleSection {
    pub quantity: i32,
    /// Component variants as "productNumber+variantNumber" (the variant SKU).
    pub variants: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedStock {
    pub sku: String,
    /// Warehouse name.
    pub warehouse: String,
    pub physical: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CatalogueSeed {
    pub warehouses: Vec<String>,
    pub products: Vec<SeedProduct>,
    pub stock: Vec<SeedStock>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SeededCatalogue {
    pub warehouses: BTreeMap<String, i32>,
    pub products: BTreeMap<String, i32>,
    /// SKU → product size id.
    pub sizes: BTreeMap<String, i32>,
}

#[derive(Default)]
pub struct Catalogue {
    next_product: i32,
    next_variant: i32,
    next_size: i32,
    next_warehouse: i32,
    next_section: i32,
    pub products: BTreeMap<i32, Product>,
    pub variants: HashMap<i32, Variant>,
    pub sizes: HashMap<i32, Size>,
    pub bundles: HashMap<i32, Bundle>,
    pub warehouses: BTreeMap<i32, Warehouse>,
    sku_index: HashMap<String, i32>,
    ean_index: HashMap<String, i32>,
    variant_sku_index: HashMap<String, i32>,
    product_number_index: HashMap<String, i32>,
    warehouse_names: HashMap<String, i32>,
    /// Ordered by (warehouse, size) so `Warehouse.stock` pages cheaply.
    pub stock: BTreeMap<(i32, i32), StockCell>,
}

impl Catalogue {
    pub fn size_by_sku(&self, sku: &str) -> Option<&Size> {
        self.sku_index.get(sku).and_then(|id| self.sizes.get(id))
    }

    pub fn size_by_ean(&self, ean: &str) -> Option<&Size> {
        self.ean_index.get(ean).and_then(|id| self.sizes.get(id))
    }

    pub fn warehouse_by_name(&self, name: &str) -> Option<i32> {
        self.warehouse_names.get(name).copied()
    }

    pub fn add_warehouse(&mut self, name: &str) -> i32 {
        if let Some(id) = self.warehouse_names.get(name) {
            return *id;
        }
        self.next_warehouse += 1;
        let id = self.next_warehouse;
        self.warehouses.insert(
            id,
            Warehouse {
                id,
                name: name.to_string(),
            },
        );
        self.warehouse_names.insert(name.to_string(), id);
        id
    }

    pub fn cell(&self, warehouse: i32, size: i32) -> StockCell {
        self.stock
            .get(&(warehouse, size))
            .copied()
            .unwrap_or_default()
    }

    pub fn cell_mut(&mut self, warehouse: i32, size: i32) -> &mut StockCell {
        self.stock.entry((warehouse, size)).or_default()
    }

    /// Sum over all warehouses (few), each a map lookup.
    pub fn total_fta(&self, size: i32) -> i64 {
        self.warehouses
            .keys()
            .map(|w| self.cell(*w, size).free_to_allocate())
            .sum()
    }

    /// Adds products; a product number already present is skipped with a message.
    pub fn add_products(
        &mut self,
        seeds: &[SeedProduct],
        out: &mut SeededCatalogue,
    ) -> Vec<String> {
        let mut skipped = Vec::new();
        for seed in seeds {
            if seed.product_number.is_empty()
                || self.product_number_index.contains_key(&seed.product_number)
            {
                skipped.push(format!(
                    "product {:?} skipped: empty or duplicate number",
                    seed.product_number
                ));
                continue;
            }
            self.next_product += 1;
            let product_id = self.next_product;
            let mut product = Product {
                id: product_id,
                product_number: seed.product_number.clone(),
                name: seed.name.clone(),
                brand: seed.brand.clone(),
                is_bundle: seed.bundle.is_some(),
                attributes: seed.attributes.clone(),
                variant_ids: Vec::new(),
            };
            let variants = if seed.bundle.is_some() && seed.variants.is_empty() {
                // A bundle is a virtual product with a single internal variant.
                vec![SeedVariant {
                    variant_number: "B".into(),
                    name: seed.name.clone(),
                    attributes: Vec::new(),
                    sizes: vec![SeedSize {
                        name: "One size".into(),
                        size_number: Some("1".into()),
                        ean: None,
                    }],
                }]
            } else {
                seed.variants.clone()
            };
            for seed_variant in &variants {
                self.next_variant += 1;
                let variant_id = self.next_variant;
                let mut variant = Variant {
                    id: variant_id,
                    product_id,
                    variant_number: seed_variant.variant_number.clone(),
                    name: seed_variant.name.clone(),
                    attributes: seed_variant.attributes.clone(),
                    size_ids: Vec::new(),
                };
                self.variant_sku_index.insert(
                    format!("{}{}", seed.product_number, seed_variant.variant_number),
                    variant_id,
                );
                for seed_size in &seed_variant.sizes {
                    let size_number = seed_size
                        .size_number
                        .clone()
                        .unwrap_or_else(|| seed_size.name.clone());
                    let sku = format!(
                        "{}{}{}",
                        seed.product_number, seed_variant.variant_number, size_number
                    );
                    if self.sku_index.contains_key(&sku) {
                        skipped.push(format!("size {sku} skipped: duplicate SKU"));
                        continue;
                    }
                    self.next_size += 1;
                    let size_id = self.next_size;
                    if let Some(ean) = &seed_size.ean {
                        self.ean_index.insert(ean.clone(), size_id);
                    }
                    self.sku_index.insert(sku.clone(), size_id);
                    out.sizes.insert(sku.clone(), size_id);
                    self.sizes.insert(
                        size_id,
                        Size {
                            id: size_id,
                            variant_id,
                            product_id,
                            name: seed_size.name.clone(),
                            size_number,
                            sku,
                            ean: seed_size.ean.clone(),
                        },
                    );
                    variant.size_ids.push(size_id);
                }
                product.variant_ids.push(variant_id);
                self.variants.insert(variant_id, variant);
            }
            if let Some(bundle) = &seed.bundle {
                let mut sections = Vec::new();
                for section in &bundle.sections {
                    self.next_section += 1;
                    let variant_ids = section
                        .variants
                        .iter()
                        .filter_map(|v| {
                            let found = self.variant_sku_index.get(v).copied();
                            if found.is_none() {
                                skipped.push(format!("bundle section variant {v} not found"));
                            }
                            found
                        })
                        .collect();
                    sections.push(BundleSection {
                        id: self.next_section,
                        quantity: section.quantity.max(1),
                        variant_ids,
                    });
                }
                let bundle_type = if bundle.bundle_type.is_empty() {
                    "FIXED".into()
                } else {
                    bundle.bundle_type.clone()
                };
                self.bundles.insert(
                    product_id,
                    Bundle {
                        product_id,
                        bundle_type,
                        sections,
                    },
                );
            }
            self.product_number_index
                .insert(seed.product_number.clone(), product_id);
            out.products.insert(seed.product_number.clone(), product_id);
            self.products.insert(product_id, product);
        }
        skipped
    }
}
