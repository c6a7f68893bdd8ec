//! Everything checked before an order is posted anywhere: a shipping method
//! the 3PL has a service code for, SKUs the product master knows and
//! describes as the 3PL requires, and a complete delivery address. An order
//! with any problem is posted nowhere (never half-posted); all its problems
//! are reported at once, under the type and owner of the first.

use std::collections::HashMap;

use seam_engine::ExceptionDraft;
use seam_model::mapping::{MappingTables, ShippingService};
use seam_model::product::{ProductFacts, ProductProblem, ProductRules};
use seam_model::OwnerTeam;

use super::canonical::CanonicalOrder;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderProblem {
    UnmappedShippingMethod(String),
    NoShippingMethod,
    Product {
        sku: String,
        problem: ProductProblem,
    },
    IncompleteAddress(Vec<&'static str>),
}

impl OrderProblem {
    fn exception_type(&self) -> &'static str {
        match self {
            OrderProblem::UnmappedShippingMethod(_) | OrderProblem::NoShippingMethod => {
                "unmapped_shipping_method"
            }
            OrderProblem::Product {
                problem: ProductProblem::UnknownSku,
                ..
            } => "unknown_sku",
            OrderProblem::Product { .. } => "product_incomplete",
            OrderProblem::IncompleteAddress(_) => "incomplete_address",
        }
    }

    fn owner(&self) -> OwnerTeam {
        match self {
            OrderProblem::Product {
                problem: ProductProblem::UnknownSku,
                ..
            } => OwnerTeam::Ops,
            OrderProblem::Product { .. } => OwnerTeam::Merchandising,
            OrderProblem::IncompleteAddress(_) => OwnerTeam::Cx,
            _ => OwnerTeam::Ops,
        }
    }

    fn describe(&self) -> String {
        match self {
            OrderProblem::UnmappedShippingMethod(method) => {
                format!("shipping method '{method}' has no 3PL service code")
            }
            OrderProblem::NoShippingMethod => "the order has no shipping method".into(),
            OrderProblem::Product { sku, problem } => problem.describe(sku),
            OrderProblem::IncompleteAddress(missing) => {
                format!("the delivery address lacks {}", missing.join(", "))
            }
        }
    }

    fn fix_hint(&self) -> String {
        match self {
            OrderProblem::UnmappedShippingMethod(method) => format!(
                "Add \"{method}\" = {{ service = \"<3PL service code>\", agent = \"<carrier>\" }} to mappings.shipping_methods in seam.toml and restart the hub, then resubmit with --mode rerun: the order is posted once."
            ),
            OrderProblem::NoShippingMethod => {
                "Set a shipping method on the order in Centra, then resubmit.".into()
            }
            OrderProblem::Product { sku, problem } => problem.fix_hint(sku),
            OrderProblem::IncompleteAddress(_) => {
                "Complete the delivery address on the order in Centra, then resubmit.".into()
            }
        }
    }
}

/// The order's shipping service, or every reason it cannot be posted.
pub fn validate(
    order: &CanonicalOrder,
    mappings: &MappingTables,
    products: &HashMap<String, Option<ProductFacts>>,
    rules: &ProductRules,
) -> Result<ShippingService, Vec<OrderProblem>> {
    let mut problems = Vec::new();
    let service = match order.shipping_method.as_deref() {
        None => {
            problems.push(OrderProblem::NoShippingMethod);
            None
        }
        Some(method) => match mappings.shipping_service(method) {
            Some(service) => Some(service.clone()),
            None => {
                problems.push(OrderProblem::UnmappedShippingMethod(method.to_string()));
                None
            }
        },
    };
    let mut seen = Vec::new();
    for line in &order.lines {
        if seen.contains(&line.sku) {
            continue;
        }
        seen.push(line.sku.clone());
        match products.get(&line.sku).cloned().flatten() {
            None => problems.push(OrderProblem::Product {
                sku: line.sku.clone(),
                problem: ProductProblem::UnknownSku,
            }),
            Some(facts) => {
                for problem in rules.check(&facts) {
                    problems.push(OrderProblem::Product {
                        sku: line.sku.clone(),
                        problem,
                    });
                }
            }
        }
    }
    let mut missing = Vec::new();
    match &order.address {
        None => missing.push("an address"),
        Some(a) => {
            for (value, name) in [
                (&a.last_name, "a last name"),
                (&a.address1, "a street address"),
                (&a.city, "a city"),
                (&a.postcode, "a postcode"),
                (&a.country, "a country"),
            ] {
                if value.trim().is_empty() {
                    missing.push(name);
                }
            }
        }
    }
    if !missing.is_empty() {
        problems.push(OrderProblem::IncompleteAddress(missing));
    }
    match (service, problems.is_empty()) {
        (Some(service), true) => Ok(service),
        _ => Err(problems),
    }
}

/// One exception for all of an order's problems.
pub fn exception_for(order: &CanonicalOrder, problems: &[OrderProblem]) -> ExceptionDraft {
    let first = &problems[0];
    let details: Vec<String> = problems.iter().map(OrderProblem::describe).collect();
    let hints: Vec<String> = problems.iter().map(OrderProblem::fix_hint).collect();
    let mut hints_unique = Vec::new();
    for hint in hints {
        if !hints_unique.contains(&hint) {
            hints_unique.push(hint);
        }
    }
    ExceptionDraft::new(
        first.exception_type(),
        first.owner(),
        format!(
            "Order {} ({}) was not sent to the warehouse or the ERP: {}.",
            order.number,
            order.centra_id,
            details.join("; ")
        ),
        hints_unique.join(" "),
    )
}
