//! A query-complexity estimate computed before execution, so the complexity
//! bucket can refuse a query up front. Centra's exact cost model is not
//! public; this follows what it documents: every selected field costs, nested
//! lists multiply, `freeToAllocateQuantity` is free and the other stock
//! quantities are "expensive scalars" (weights inferred).

use async_graphql::parser::types::Field;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Value as ConstValue, Variables};

const LIST_FIELDS: &[&str] = &[
    "orders",
    "edges",
    "lines",
    "shipments",
    "returns",
    "paymentHistory",
    "discountsApplied",
    "stock",
    "warehouses",
    "products",
    "variants",
    "sizes",
    "productSizes",
    "productVariants",
    "events",
    "eventListeners",
    "rateLimits",
    "sections",
    "attributes",
    "allocations",
    "stockChanges",
    "shipmentConnection",
    "userErrors",
    "userWarnings",
];

const EXPENSIVE_STOCK: &[&str] = &[
    "physicalQuantity",
    "allocatedQuantity",
    "demandQuantity",
    "availableNowQuantity",
    "availableQuantity",
    "incomingQuantity",
    "linkedIncomingQuantity",
    "unlinkedIncomingQuantity",
    "onDeliveryQuantity",
    "unshippedQuantity",
];

/// Whether the chosen operation is a mutation, and its estimated complexity.
pub struct Estimate {
    pub is_mutation: bool,
    pub complexity: u64,
}

pub fn estimate(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Option<Estimate> {
    let operation = match &doc.operations {
        DocumentOperations::Single(op) => &op.node,
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => &ops.get(name)?.node,
            None if ops.len() == 1 => &ops.values().next()?.node,
            None => return None,
        },
    };
    let complexity = selection_cost(doc, &operation.selection_set.node, variables, 0);
    Some(Estimate {
        is_mutation: operation.ty == OperationType::Mutation,
        complexity: complexity.max(1),
    })
}

fn list_size(field: &Field, variables: &Variables) -> u64 {
    for (name, value) in &field.arguments {
        if matches!(name.node.as_str(), "limit" | "first" | "last") {
            let value = value
                .node
                .clone()
                .into_const_with(|var| variables.get(&var).cloned().ok_or(()));
            if let Ok(ConstValue::Number(n)) = value {
                return n.as_u64().unwrap_or(20).clamp(1, 1_000);
            }
        }
    }
    20
}

fn selection_cost(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    variables: &Variables,
    depth: u32,
) -> u64 {
    if depth > 32 {
        return 0;
    }
    let mut total = 0u64;
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                let name = field.name.node.as_str();
                let children = selection_cost(doc, &field.selection_set.node, variables, depth + 1);
                let own = if name == "freeToAllocateQuantity" || name == "__typename" {
                    0
                } else if EXPENSIVE_STOCK.contains(&name) {
                    10
                } else {
                    1
                };
                let cost = if LIST_FIELDS.contains(&name) {
                    own + children.saturating_mul(list_size(field, variables))
                } else {
                    own + children
                };
                total = total.saturating_add(cost);
            }
            Selection::InlineFragment(fragment) => {
                total = total.saturating_add(selection_cost(
                    doc,
                    &fragment.node.selection_set.node,
                    variables,
                    depth + 1,
                ));
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = doc.fragments.get(&spread.node.fragment_name.node) {
                    total = total.saturating_add(selection_cost(
                        doc,
                        &fragment.node.selection_set.node,
                        variables,
                        depth + 1,
                    ));
                }
            }
        }
    }
    total
}
