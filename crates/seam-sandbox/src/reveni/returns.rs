//! The return's life: creation as the shopper requests it in the portal,
//! status moves (shipped, received, for review...), and the merchant's
//! per-item validation with the refund or exchange order that follows.
//! Pure: time and ids are passed in.
//!
//! Rules (Reveni's help centre, backends.md §1.4): an instant return has its
//! refund paid and its exchange order created at creation; a non-instant
//! one gets them when the merchant accepts items. Rejecting an instant
//! return reverses nothing (Reveni covers the loss and recovers it
//! itself). A return is cancelled or expires only before it is shipped.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::vendor::{
    Exchange, ExchangeOrder, ExchangeOrderItem, ItemDecision, OrderRef, Refund, Return, ReturnItem,
    ReturnStatus, ReturnType, ReveniError, Review, ReviewStatus, TransactionType, ValidationItem,
};

/// A return as the shopper requests it in the portal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewReturn {
    pub order: OrderRef,
    pub currency: String,
    #[serde(default)]
    pub instant: bool,
    /// Derived from the items when absent; must agree with them when given.
    #[serde(default, rename = "type")]
    pub return_type: Option<ReturnType>,
    pub items: Vec<NewReturnItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewReturnItem {
    pub sku: String,
    pub order_line_id: String,
    pub quantity: u32,
    pub return_reason: String,
    /// The variant wanted in exchange; `None` for a refund.
    #[serde(default)]
    pub exchange_sku: Option<String>,
    /// Unit price paid, in major units.
    pub price: Decimal,
}

/// Ids come from the simulator's seeded source.
pub type NextId<'a> = &'a mut dyn FnMut() -> Uuid;

pub fn create(
    new: NewReturn,
    now: DateTime<Utc>,
    next_id: NextId<'_>,
) -> Result<Return, ReveniError> {
    if new.items.is_empty() {
        return Err(ReveniError::invalid_request(
            "a return needs at least one item",
        ));
    }
    if new.order.external_id.is_empty() {
        return Err(ReveniError::invalid_request(
            "order.external_id is required",
        ));
    }
    if new
        .items
        .iter()
        .any(|item| item.quantity == 0 || item.price < Decimal::ZERO)
    {
        return Err(ReveniError::invalid_request(
            "item quantities must be positive and prices not negative",
        ));
    }
    let exchanges = new
        .items
        .iter()
        .filter(|item| item.exchange_sku.is_some())
        .count();
    let derived = match exchanges {
        0 => ReturnType::Refund,
        n if n == new.items.len() => ReturnType::Exchange,
        _ => ReturnType::Mixed,
    };
    if new.return_type.is_some_and(|given| given != derived) {
        return Err(ReveniError::invalid_request(
            "type does not match the items' exchanges",
        ));
    }
    let items = new
        .items
        .into_iter()
        .map(|item| ReturnItem {
            item_id: next_id().to_string(),
            sku: item.sku,
            quantity: item.quantity,
            return_reason: item.return_reason,
            order_line_id: item.order_line_id,
            price: item.price,
            exchange: item.exchange_sku.map(|sku| Exchange { sku }),
            review: Review {
                status: ReviewStatus::Pending,
                accepted_quantity: 0,
                rejected_quantity: 0,
                reject_reason: None,
                reject_reason_text: None,
            },
        })
        .collect::<Vec<_>>();
    let mut created = Return {
        id: next_id(),
        status: ReturnStatus::InProgress,
        return_type: derived,
        transaction_type: if derived == ReturnType::Exchange {
            TransactionType::Exchange
        } else {
            TransactionType::Refund
        },
        instant: new.instant,
        currency: new.currency,
        order: new.order,
        return_items: items,
        refunds: Vec::new(),
        exchange_order: None,
        created_at: now,
        updated_at: now,
    };
    if created.instant {
        let all: Vec<(usize, u32)> = created
            .return_items
            .iter()
            .enumerate()
            .map(|(i, item)| (i, item.quantity))
            .collect();
        created.settle(&all, now, next_id);
    }
    Ok(created)
}

impl Return {
    /// Accepted, rejected, cancelled, expired or completed: no more changes
    /// but `COMPLETED` after a decision.
    pub fn is_decided(&self) -> bool {
        matches!(
            self.status,
            ReturnStatus::Accepted
                | ReturnStatus::PartlyAccepted
                | ReturnStatus::Rejected
                | ReturnStatus::Expired
                | ReturnStatus::Cancelled
                | ReturnStatus::Completed
        )
    }

    /// Moves the return along its logistics states (inferred transitions).
    pub fn move_to(&mut self, to: ReturnStatus, now: DateTime<Utc>) -> Result<(), ReveniError> {
        use ReturnStatus::*;
        let allowed = match to {
            Shipped => matches!(self.status, InProgress | Pending | OnHold),
            Received => matches!(self.status, InProgress | Shipped | OnHold),
            ForReview => matches!(self.status, Received | OnHold),
            OnHold | Pending => !self.is_decided() && self.status != to,
            Expired | Cancelled => matches!(self.status, InProgress | Pending | OnHold),
            Completed => matches!(self.status, Accepted | PartlyAccepted | Rejected),
            InProgress | Accepted | PartlyAccepted | Rejected => false,
        };
        if !allowed {
            return Err(ReveniError::invalid_status(format!(
                "cannot move a return from {:?} to {:?}",
                self.status, to
            )));
        }
        self.status = to;
        self.updated_at = now;
        Ok(())
    }

    /// The merchant's decision on some units (`partial_validate`). All
    /// entries are checked before any is applied. Once every unit is
    /// reviewed the return becomes ACCEPTED, REJECTED or PARTLY_ACCEPTED;
    /// until then it is FOR_REVIEW (inferred).
    pub fn validate(
        &mut self,
        entries: &[ValidationItem],
        now: DateTime<Utc>,
        next_id: NextId<'_>,
    ) -> Result<(), ReveniError> {
        if self.is_decided() {
            return Err(ReveniError::invalid_status(format!(
                "the return is {:?} and can no longer be validated",
                self.status
            )));
        }
        if entries.is_empty() {
            return Err(ReveniError::invalid_request("items must not be empty"));
        }
        let mut reviewed = self.return_items.clone();
        let mut newly_accepted: Vec<(usize, u32)> = Vec::new();
        for entry in entries {
            let position = reviewed
                .iter()
                .position(|item| item.item_id == entry.item_id)
                .ok_or_else(|| {
                    ReveniError::invalid_request(format!("unknown item_id {}", entry.item_id))
                })?;
            let item = &mut reviewed[position];
            let open =
                item.quantity - item.review.accepted_quantity - item.review.rejected_quantity;
            let quantity = entry.quantity.unwrap_or(open);
            if quantity == 0 || quantity > open {
                return Err(ReveniError::invalid_request(format!(
                    "item {} has {open} unit(s) left to validate, not {quantity}",
                    entry.item_id
                )));
            }
            match entry.status {
                ItemDecision::Accepted => {
                    item.review.accepted_quantity += quantity;
                    newly_accepted.push((position, quantity));
                }
                ItemDecision::Rejected => {
                    let reason = entry.reject_reason.as_deref().unwrap_or("").trim();
                    if reason.is_empty() {
                        return Err(ReveniError::invalid_request(
                            "reject_reason is required to reject an item",
                        ));
                    }
                    item.review.rejected_quantity += quantity;
                    item.review.reject_reason = Some(reason.to_string());
                    item.review.reject_reason_text = entry.reject_reason_text.clone();
                }
            }
            item.review.status = review_status(item);
        }
        self.return_items = reviewed;
        if !self.instant {
            self.settle(&newly_accepted, now, next_id);
        }
        self.status = self.status_after_review();
        self.updated_at = now;
        Ok(())
    }

    fn status_after_review(&self) -> ReturnStatus {
        let statuses: Vec<_> = self
            .return_items
            .iter()
            .map(|item| item.review.status)
            .collect();
        if statuses.contains(&ReviewStatus::Pending) {
            ReturnStatus::ForReview
        } else if statuses.iter().all(|s| *s == ReviewStatus::Accepted) {
            ReturnStatus::Accepted
        } else if statuses.iter().all(|s| *s == ReviewStatus::Rejected) {
            ReturnStatus::Rejected
        } else {
            ReturnStatus::PartlyAccepted
        }
    }

    /// Records the refund and exchange units for these (item, quantity) pairs.
    fn settle(&mut self, units: &[(usize, u32)], now: DateTime<Utc>, next_id: NextId<'_>) {
        let mut refund = Decimal::ZERO;
        let mut exchanged: Vec<ExchangeOrderItem> = Vec::new();
        for &(position, quantity) in units {
            let Some(item) = self.return_items.get(position) else {
                continue;
            };
            match &item.exchange {
                None => refund += item.price * Decimal::from(quantity),
                Some(exchange) => match exchanged.iter_mut().find(|e| e.sku == exchange.sku) {
                    Some(line) => line.quantity += quantity,
                    None => exchanged.push(ExchangeOrderItem {
                        sku: exchange.sku.clone(),
                        quantity,
                    }),
                },
            }
        }
        if refund > Decimal::ZERO {
            self.refunds.push(Refund {
                amount: refund,
                currency: self.currency.clone(),
                refunded_at: now,
            });
        }
        if exchanged.is_empty() {
            return;
        }
        let order = self.exchange_order.get_or_insert_with(|| ExchangeOrder {
            id: next_id().to_string(),
            items: Vec::new(),
            created_at: now,
        });
        for line in exchanged {
            match order.items.iter_mut().find(|e| e.sku == line.sku) {
                Some(existing) => existing.quantity += line.quantity,
                None => order.items.push(line),
            }
        }
    }

    pub fn refunded_total(&self) -> Decimal {
        self.refunds.iter().map(|refund| refund.amount).sum()
    }
}

fn review_status(item: &ReturnItem) -> ReviewStatus {
    let review = &item.review;
    if review.accepted_quantity + review.rejected_quantity < item.quantity {
        ReviewStatus::Pending
    } else if review.rejected_quantity == 0 {
        ReviewStatus::Accepted
    } else if review.accepted_quantity == 0 {
        ReviewStatus::Rejected
    } else {
        ReviewStatus::PartlyAccepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn ids() -> impl FnMut() -> Uuid {
        let mut n = 0u128;
        move || {
            n += 1;
            Uuid::from_u128(n)
        }
    }

    fn new_return(instant: bool) -> NewReturn {
        NewReturn {
            order: OrderRef {
                external_id: "c-100234".into(),
                number: "100234".into(),
            },
            currency: "EUR".into(),
            instant,
            return_type: None,
            items: vec![
                NewReturnItem {
                    sku: "TEE-M".into(),
                    order_line_id: "line-1".into(),
                    quantity: 2,
                    return_reason: "too_small".into(),
                    exchange_sku: None,
                    price: Decimal::new(4900, 2),
                },
                NewReturnItem {
                    sku: "JEANS-32".into(),
                    order_line_id: "line-2".into(),
                    quantity: 1,
                    return_reason: "wrong_size".into(),
                    exchange_sku: Some("JEANS-34".into()),
                    price: Decimal::new(9900, 2),
                },
            ],
        }
    }

    fn accept(item_id: &str, quantity: Option<u32>) -> ValidationItem {
        ValidationItem {
            item_id: item_id.into(),
            quantity,
            status: ItemDecision::Accepted,
            reject_reason: None,
            reject_reason_text: None,
        }
    }

    #[test]
    fn a_mixed_non_instant_return_refunds_only_accepted_units() {
        let mut next = ids();
        let mut r = create(new_return(false), Utc::now(), &mut next).expect("created");
        assert_eq!(r.return_type, ReturnType::Mixed);
        assert!(r.refunds.is_empty());
        let tee = r.return_items[0].item_id.clone();
        let jeans = r.return_items[1].item_id.clone();
        r.validate(&[accept(&tee, Some(1))], Utc::now(), &mut next)
            .expect("valid");
        assert_eq!(r.status, ReturnStatus::ForReview);
        assert_eq!(r.refunded_total(), Decimal::new(4900, 2));
        let reject = ValidationItem {
            item_id: tee.clone(),
            quantity: Some(1),
            status: ItemDecision::Rejected,
            reject_reason: Some("damaged".into()),
            reject_reason_text: Some("stain on the front".into()),
        };
        r.validate(&[reject, accept(&jeans, None)], Utc::now(), &mut next)
            .expect("valid");
        assert_eq!(r.status, ReturnStatus::PartlyAccepted);
        assert_eq!(
            r.return_items[0].review.status,
            ReviewStatus::PartlyAccepted
        );
        assert_eq!(r.refunded_total(), Decimal::new(4900, 2));
        let exchange = r.exchange_order.as_ref().expect("exchange order");
        assert_eq!(
            exchange.items,
            [ExchangeOrderItem {
                sku: "JEANS-34".into(),
                quantity: 1
            }]
        );
        assert!(r
            .validate(&[accept(&tee, None)], Utc::now(), &mut next)
            .is_err());
    }

    #[test]
    fn an_instant_return_is_settled_at_creation_and_not_again() {
        let mut next = ids();
        let mut r = create(new_return(true), Utc::now(), &mut next).expect("created");
        assert_eq!(r.refunded_total(), Decimal::new(9800, 2));
        assert!(r.exchange_order.is_some());
        let all: Vec<_> = r
            .return_items
            .iter()
            .map(|i| accept(&i.item_id, None))
            .collect();
        r.validate(&all, Utc::now(), &mut next).expect("valid");
        assert_eq!(r.status, ReturnStatus::Accepted);
        assert_eq!(r.refunds.len(), 1);
    }

    #[test]
    fn invalid_validations_change_nothing() {
        let mut next = ids();
        let mut r = create(new_return(false), Utc::now(), &mut next).expect("created");
        let before = r.clone();
        let tee = r.return_items[0].item_id.clone();
        assert!(r
            .validate(&[accept(&tee, Some(3))], Utc::now(), &mut next)
            .is_err());
        let no_reason = ValidationItem {
            status: ItemDecision::Rejected,
            ..accept(&tee, None)
        };
        assert!(r
            .validate(&[accept(&tee, Some(1)), no_reason], Utc::now(), &mut next)
            .is_err());
        assert!(r
            .validate(&[accept("nope", None)], Utc::now(), &mut next)
            .is_err());
        assert_eq!(r, before);
    }

    #[test]
    fn logistics_moves_and_cancellation_follow_the_flow() {
        let mut next = ids();
        let mut r = create(new_return(false), Utc::now(), &mut next).expect("created");
        assert!(r.move_to(ReturnStatus::ForReview, Utc::now()).is_err());
        r.move_to(ReturnStatus::Shipped, Utc::now())
            .expect("shipped");
        assert!(r.move_to(ReturnStatus::Cancelled, Utc::now()).is_err());
        r.move_to(ReturnStatus::Received, Utc::now())
            .expect("received");
        r.move_to(ReturnStatus::ForReview, Utc::now())
            .expect("for review");
    }
}
