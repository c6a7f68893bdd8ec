//! What the 3PL requires of a product before it accepts an order for it.
//!
//! A fashion 3PL that sells refurbished goods picks a unit by its condition
//! and grade, so an order line for a refurbished SKU must carry both; an
//! order line for a SKU it does not know is refused. Seam checks this from
//! the product master (Centra's product attributes) before anything is
//! posted, and `seam audit products` runs the same check over the whole
//! catalogue before any order arrives (story S04).
//!
//! The rule, in one place: a SKU whose Item Condition is one of the
//! refurbished conditions needs a Grade, and the Grade must be one the 3PL
//! sells. A SKU without an Item Condition is sold as new.

use serde::{Deserialize, Serialize};

/// A SKU as the product master describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductFacts {
    pub sku: String,
    pub product_number: String,
    pub item_condition: Option<String>,
    pub grade: Option<String>,
}

/// Why the 3PL would refuse an order line for a SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ProductProblem {
    /// The product master has no such SKU.
    UnknownSku,
    /// Refurbished, but the product master gives no Grade.
    MissingGrade { item_condition: String },
    /// A Grade the 3PL does not sell.
    InvalidGrade { grade: String, allowed: Vec<String> },
}

impl ProductProblem {
    /// The column value in the audit and the exception detail.
    pub fn code(&self) -> &'static str {
        match self {
            ProductProblem::UnknownSku => "unknown_sku",
            ProductProblem::MissingGrade { .. } => "missing_grade",
            ProductProblem::InvalidGrade { .. } => "invalid_grade",
        }
    }

    pub fn describe(&self, sku: &str) -> String {
        match self {
            ProductProblem::UnknownSku => format!("{sku} is not in the product master"),
            ProductProblem::MissingGrade { item_condition } => format!(
                "{sku} is sold as '{item_condition}' but has no Grade in the product master"
            ),
            ProductProblem::InvalidGrade { grade, allowed } => format!(
                "{sku} has Grade '{grade}', which the 3PL does not take (expected one of {})",
                allowed.join(", ")
            ),
        }
    }

    pub fn fix_hint(&self, sku: &str) -> String {
        match self {
            ProductProblem::UnknownSku => format!(
                "Check the SKU on the order; if it was renamed, add a SKU alias for {sku} in the mappings."
            ),
            ProductProblem::MissingGrade { .. } | ProductProblem::InvalidGrade { .. } => format!(
                "Set the 'grade' attribute of {sku}'s variant in Centra's product master, then resubmit."
            ),
        }
    }
}

/// The 3PL's requirements, from configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRules {
    /// Item Conditions that mark a unit as refurbished (case-insensitive).
    pub refurbished_conditions: Vec<String>,
    /// Grades the 3PL sells refurbished units under.
    pub grades: Vec<String>,
}

impl Default for ProductRules {
    fn default() -> Self {
        ProductRules {
            refurbished_conditions: vec!["Refurbished".into(), "Pre-owned".into(), "Used".into()],
            grades: vec!["A".into(), "B".into(), "C".into()],
        }
    }
}

impl ProductRules {
    pub fn is_refurbished(&self, facts: &ProductFacts) -> bool {
        facts.item_condition.as_deref().is_some_and(|condition| {
            self.refurbished_conditions
                .iter()
                .any(|c| c.eq_ignore_ascii_case(condition.trim()))
        })
    }

    /// Every reason the 3PL would refuse this SKU; empty when it would take it.
    pub fn check(&self, facts: &ProductFacts) -> Vec<ProductProblem> {
        let mut problems = Vec::new();
        if !self.is_refurbished(facts) {
            return problems;
        }
        match facts.grade.as_deref().map(str::trim) {
            None | Some("") => problems.push(ProductProblem::MissingGrade {
                item_condition: facts.item_condition.clone().unwrap_or_default(),
            }),
            Some(grade) if !self.grades.iter().any(|g| g == grade) => {
                problems.push(ProductProblem::InvalidGrade {
                    grade: grade.to_string(),
                    allowed: self.grades.clone(),
                })
            }
            Some(_) => {}
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(condition: Option<&str>, grade: Option<&str>) -> ProductFacts {
        ProductFacts {
            sku: "P1004V2M".into(),
            product_number: "P1004".into(),
            item_condition: condition.map(str::to_string),
            grade: grade.map(str::to_string),
        }
    }

    #[test]
    fn new_goods_need_nothing_more() {
        let rules = ProductRules::default();
        assert!(rules.check(&facts(None, None)).is_empty());
        assert!(rules.check(&facts(Some("New"), None)).is_empty());
    }

    #[test]
    fn refurbished_goods_need_a_grade_the_3pl_sells() {
        let rules = ProductRules::default();
        assert_eq!(
            rules.check(&facts(Some("refurbished"), None)),
            vec![ProductProblem::MissingGrade {
                item_condition: "refurbished".into()
            }]
        );
        assert_eq!(
            rules.check(&facts(Some("Refurbished"), Some("Z")))[0].code(),
            "invalid_grade"
        );
        assert!(rules
            .check(&facts(Some("Refurbished"), Some("B")))
            .is_empty());
    }
}
