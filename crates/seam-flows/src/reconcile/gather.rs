//! Gathering: what each system shows for one order, read through the
//! connectors (and so within their governors' budgets), reduced to the
//! compact observations the comparator takes.
//!
//! - Centra: the order's totals, tax and discounts, and its payment
//!   history, which is the PSP's record of the payment as Centra's Adyen
//!   plugin keeps it (authorisations, captures, refunds with their
//!   pspReference). Adyen itself has no API to read a payment's
//!   modifications back; it reports them as notifications, which go on
//!   the order's timeline.
//! - NetSuite: the sales order by its externalId (lines, units fulfilled,
//!   total, tax) and each refunded return's credit memo by its externalId.
//! - Reveni: what it refunded for each of its returns.

use async_trait::async_trait;
use rust_decimal::Decimal;
use seam_connectors::centra::{CentraClient, PaymentHistoryEntryType, PaymentStatus};
use seam_connectors::netsuite::{external_id_for, NetSuiteClient, RecordKey, RecordType};
use seam_connectors::reveni::ReveniClient;
use seam_engine::Failure;

use super::compare::{
    ErpLineFacts, ErpObservation, ErpOrderFacts, OrderObservations, PspFacts, ReturnMoneyFacts,
    StorefrontFacts,
};
use super::pass::Observer;
use crate::orders::{erp_external_id, OrderRecord};
use crate::returns::{OrderReturns, ReturnSource};

/// Reads the live systems.
#[derive(Clone)]
pub struct LiveObserver {
    pub centra: CentraClient,
    pub netsuite: NetSuiteClient,
    pub reveni: Option<ReveniClient>,
}

#[async_trait]
impl Observer for LiveObserver {
    async fn observe(
        &self,
        record: &OrderRecord,
        returns: Option<&OrderReturns>,
    ) -> Result<OrderObservations, Failure> {
        let mut seen = OrderObservations::default();
        if let Some(order) = self.centra.order_by_number(record.order.number).await? {
            let totals = &order.totals;
            seen.storefront = Some(StorefrontFacts {
                grand_total: totals.grand_total.value,
                tax_total: totals.tax_included.value + totals.tax_added.value,
                discounts: totals.discounts.value.abs(),
            });
            let mut psp = PspFacts::default();
            for entry in &order.payment_history {
                if entry.status != PaymentStatus::Success {
                    continue;
                }
                match entry.entry_type {
                    PaymentHistoryEntryType::Auth => psp.authorised += entry.value.value,
                    PaymentHistoryEntryType::Capture => psp.captured += entry.value.value,
                    PaymentHistoryEntryType::Refund => psp.refunded += entry.value.value.abs(),
                    _ => {}
                }
            }
            // A zero-value order (an exchange) has no payment to compare.
            if record.exchange_of.is_none() {
                seen.psp = Some(psp);
            }
        }
        if record.erp_id.is_some() {
            let key = RecordKey::external(erp_external_id(&record.order.centra_id));
            seen.erp = match self
                .netsuite
                .get_record(RecordType::SalesOrder, &key)
                .await?
            {
                None => ErpObservation::Missing,
                Some(order) => ErpObservation::Found(ErpOrderFacts {
                    modified_at: order.last_modified_date.map(|d| d.timestamp_millis()),
                    total: order.total.unwrap_or_default(),
                    tax_total: order.tax_total.unwrap_or_default(),
                    lines: order
                        .lines()
                        .iter()
                        .map(|line| ErpLineFacts {
                            line: line.line,
                            quantity: line.quantity.unwrap_or_default(),
                            fulfilled: line.quantity_fulfilled.unwrap_or_default(),
                        })
                        .collect(),
                }),
            };
        }
        for case in returns.map(|r| r.cases.as_slice()).unwrap_or_default() {
            let refunds_money = case
                .refund
                .as_ref()
                .is_some_and(|plan| plan.total.amount > Decimal::ZERO);
            if !refunds_money && case.credit_memo.is_none() {
                continue;
            }
            let key = RecordKey::external(external_id_for("seam-cm", &case.id));
            let credit_memo = self
                .netsuite
                .get_record(RecordType::CreditMemo, &key)
                .await?
                .map(|memo| memo.total.unwrap_or_default().abs());
            let reveni_refunded = match (&self.reveni, case.source) {
                (Some(reveni), ReturnSource::Reveni) => Some(
                    reveni
                        .get_return(&case.id)
                        .await?
                        .map_or(Decimal::ZERO, |r| r.refunded_total()),
                ),
                _ => None,
            };
            seen.returns.push(ReturnMoneyFacts {
                return_id: case.id.clone(),
                credit_memo,
                reveni_refunded,
            });
        }
        Ok(seen)
    }
}
