//! A demo fashion brand: one seeded catalogue, loaded consistently into
//! every simulator (Centra products and stock, the 3PL's item catalogue and
//! stock by status, NetSuite items and a web customer).
//!
//! It has what real catalogues have and integrations trip over: several
//! colours and sizes per style, refurbished variants that need Item Condition
//! and Grade (a few lack the Grade, as in story S04), a bundle, and stock
//! spread over non-sellable statuses.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::centra::{
    Attribute, CatalogueSeed, SeedBundle, SeedBundleSection, SeedProduct, SeedSize, SeedStock,
    SeedVariant,
};
use crate::warehouse::{CatalogueItem, Seed, StockLevel};

pub const WAREHOUSE_NAME: &str = "ACS Eurocentral";
pub const SIZES: [&str; 5] = ["XS", "S", "M", "L", "XL"];
/// Shipping methods offered at checkout; the last one has no 3PL service
/// code in the demo mapping (story S03).
pub const SHIPPING_METHODS: [&str; 4] = ["Standard", "Express", "Next Day", "Express Saturday"];
pub const BUNDLE_PRODUCT: &str = "BND100";

/// One sellable size.
#[derive(Debug, Clone, Serialize)]
pub struct Sku {
    pub sku: String,
    pub product_number: String,
    pub variant_number: String,
    pub size: String,
    /// Price including VAT, in EUR.
    pub price_eur: Decimal,
    pub refurbished: bool,
    /// False for the refurbished variants whose Grade is missing in the product master.
    pub graded: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Brand {
    pub skus: Vec<Sku>,
    /// Initial units per SKU by 3PL status.
    pub stock: Vec<(String, &'static str, u64)>,
    pub bundle_sku: String,
    /// The component variant SKUs (product+variant) of the bundle's sections.
    pub bundle_sections: Vec<String>,
}

impl Brand {
    /// A catalogue of `styles` styles (two colours each, five sizes) from `seed`.
    pub fn generate(styles: usize, seed: u64) -> Brand {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut skus = Vec::new();
        let mut stock = Vec::new();
        for style in 0..styles {
            let product_number = format!("P{:04}", 1000 + style);
            let price_eur = Decimal::new(rng.gen_range(2_900..=24_900) / 100 * 100 + 95, 2);
            // Every fifth style is sold refurbished (pre-loved, graded).
            let refurbished = style % 5 == 4;
            for (v, _colour) in ["BLK", "NVY"].iter().enumerate() {
                let variant_number = format!("V{}", v + 1);
                // The first refurbished style's second colour lacks a Grade (S04).
                let graded = !(refurbished && style == 4 && v == 1);
                for size in SIZES {
                    let sku = format!("{product_number}{variant_number}{size}");
                    let available = rng.gen_range(0..=20);
                    stock.push((sku.clone(), "Available", available));
                    if rng.gen_bool(0.3) {
                        stock.push((sku.clone(), "In-Refurbishment", rng.gen_range(1..=3)));
                    }
                    if rng.gen_bool(0.2) {
                        stock.push((sku.clone(), "Post-Rental Inspection", rng.gen_range(1..=2)));
                    }
                    if rng.gen_bool(0.1) {
                        stock.push((sku.clone(), "Quarantine", 1));
                    }
                    skus.push(Sku {
                        sku,
                        product_number: product_number.clone(),
                        variant_number: variant_number.clone(),
                        size: size.to_string(),
                        price_eur,
                        refurbished,
                        graded,
                    });
                }
            }
        }
        let bundle_sections = vec![
            "P1000V1".to_string(),
            "P1001V1".to_string(),
            "P1002V1".to_string(),
        ];
        Brand {
            skus,
            stock,
            bundle_sku: format!("{BUNDLE_PRODUCT}V1OS"),
            bundle_sections,
        }
    }

    pub fn sku(&self, sku: &str) -> Option<&Sku> {
        self.skus.iter().find(|s| s.sku == sku)
    }

    /// Units in the 3PL's Available status at the start.
    pub fn available(&self, sku: &str) -> u64 {
        self.stock
            .iter()
            .filter(|(s, status, _)| s == sku && *status == "Available")
            .map(|(_, _, q)| q)
            .sum()
    }

    /// The catalogue and stock as Centra holds them (stock = what is sellable at start).
    pub fn centra_seed(&self) -> CatalogueSeed {
        let mut products: Vec<SeedProduct> = Vec::new();
        for sku in &self.skus {
            if products
                .last()
                .is_none_or(|p| p.product_number != sku.product_number)
            {
                products.push(SeedProduct {
                    product_number: sku.product_number.clone(),
                    name: format!("Style {}", sku.product_number),
                    brand: Some("Seam Demo".into()),
                    ..Default::default()
                });
            }
            let product = products.last_mut().expect("pushed above");
            if product
                .variants
                .last()
                .is_none_or(|v| v.variant_number != sku.variant_number)
            {
                let mut attributes = Vec::new();
                if sku.refurbished {
                    attributes.push(Attribute {
                        type_name: "item_condition".into(),
                        key: Some("condition".into()),
                        value: "Refurbished".into(),
                    });
                    if sku.graded {
                        attributes.push(Attribute {
                            type_name: "grade".into(),
                            key: Some("grade".into()),
                            value: "A".into(),
                        });
                    }
                }
                product.variants.push(SeedVariant {
                    variant_number: sku.variant_number.clone(),
                    name: if sku.variant_number == "V1" {
                        "Black".into()
                    } else {
                        "Navy".into()
                    },
                    attributes,
                    sizes: Vec::new(),
                });
            }
            let variant = product.variants.last_mut().expect("pushed above");
            variant.sizes.push(SeedSize {
                name: sku.size.clone(),
                size_number: Some(sku.size.clone()),
                ean: None,
            });
        }
        products.push(SeedProduct {
            product_number: BUNDLE_PRODUCT.into(),
            name: "Capsule bundle (3 pieces)".into(),
            brand: Some("Seam Demo".into()),
            bundle: Some(SeedBundle {
                bundle_type: "FIXED".into(),
                sections: self
                    .bundle_sections
                    .iter()
                    .map(|variant| SeedBundleSection {
                        quantity: 1,
                        variants: vec![variant.clone()],
                    })
                    .collect(),
            }),
            variants: vec![SeedVariant {
                variant_number: "V1".into(),
                name: "Bundle".into(),
                attributes: Vec::new(),
                sizes: vec![SeedSize {
                    name: "OS".into(),
                    size_number: Some("OS".into()),
                    ean: None,
                }],
            }],
            ..Default::default()
        });
        // Summed once for every SKU: asking `available` per SKU would scan
        // the whole stock list once per SKU.
        let mut available: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
        for (sku, status, quantity) in &self.stock {
            if *status == "Available" {
                *available.entry(sku.as_str()).or_default() += quantity;
            }
        }
        let stock = self
            .skus
            .iter()
            .map(|s| SeedStock {
                sku: s.sku.clone(),
                warehouse: WAREHOUSE_NAME.into(),
                physical: available.get(s.sku.as_str()).copied().unwrap_or(0) as i64,
            })
            .collect();
        CatalogueSeed {
            warehouses: vec![WAREHOUSE_NAME.into()],
            products,
            stock,
        }
    }

    /// The 3PL's item catalogue and stock by status.
    pub fn warehouse_seed(&self) -> Seed {
        Seed {
            catalogue: self
                .skus
                .iter()
                .map(|s| CatalogueItem {
                    sku: s.sku.clone(),
                    description: format!("{} {} {}", s.product_number, s.variant_number, s.size),
                    refurbished: s.refurbished,
                })
                .collect(),
            stock: self
                .stock
                .iter()
                .map(|(sku, status, quantity)| StockLevel {
                    sku: sku.clone(),
                    status: status.to_string(),
                    quantity: *quantity,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_brand() {
        let a = Brand::generate(10, 7);
        let b = Brand::generate(10, 7);
        assert_eq!(a.skus.len(), 100);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        assert!(
            a.skus.iter().any(|s| s.refurbished && !s.graded),
            "an ungraded refurbished SKU (S04)"
        );
        assert_eq!(
            a.centra_seed().products.len(),
            11,
            "ten styles and the bundle"
        );
    }
}
