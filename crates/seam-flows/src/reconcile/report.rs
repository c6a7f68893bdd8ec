//! The month-end finance report: per currency, the orders of a period,
//! what was captured, refunded, credited and written off, and every
//! variance with both values and the systems involved. Built by streaming
//! the store (orders a page at a time, variances a page at a time); only
//! the per-currency totals and the variance lines are held.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use seam_engine::{Store, VarianceFilter, VarianceRecord, VarianceStatus};
use seam_model::mapping::{DispositionAction, MappingTables};
use serde::Serialize;

use super::pass::{Period, ReconcileError};
use crate::orders::canonical::share_of_units;
use crate::orders::{self, OrderRecord, OrderStage};
use crate::returns::{self, OrderReturns};

/// One currency's figures. Every amount is exact, in the currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CurrencyTotals {
    pub currency: String,
    /// Orders of the period (cancelled ones included in the count only).
    pub orders: u64,
    pub cancelled_orders: u64,
    /// What the customers owe for the units still ordered.
    pub ordered: Decimal,
    /// What Seam captured: the value of the units that shipped.
    pub captured: Decimal,
    /// What went back to customers (PSP refunds and Reveni's instant refunds).
    pub refunded: Decimal,
    /// Credit memos posted in the ERP.
    pub credit_memos: Decimal,
    /// Returned units written off, at their value before tax.
    pub write_offs: Decimal,
    /// captured − refunded.
    pub net_captured: Decimal,
    /// Variances in this currency (money ones) and the sum of their
    /// differences (found − expected).
    pub variances: u64,
    pub variance_difference: Decimal,
}

/// A variance as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VarianceLine {
    pub id: i64,
    pub variance_type: String,
    pub entity: String,
    pub day: String,
    pub owner: String,
    /// Empty for quantities.
    pub currency: String,
    pub expected_system: String,
    pub expected: Decimal,
    pub found_system: String,
    pub found: Decimal,
    pub difference: Decimal,
    pub status: String,
    pub detail: String,
}

impl From<&VarianceRecord> for VarianceLine {
    fn from(record: &VarianceRecord) -> Self {
        let v = &record.variance;
        VarianceLine {
            id: record.id,
            variance_type: v.variance_type.clone(),
            entity: v.entity_key.clone(),
            day: v.day.clone(),
            owner: v.owner.as_str().to_string(),
            currency: v.currency.clone().unwrap_or_default(),
            expected_system: v.expected_system.clone(),
            expected: v.expected,
            found_system: v.found_system.clone(),
            found: v.found,
            difference: v.found - v.expected,
            status: record.status.as_str().to_string(),
            detail: v.detail.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FinanceReport {
    pub period: Period,
    pub currencies: Vec<CurrencyTotals>,
    /// Variances of the period's orders that are open, and those found and
    /// cleared again within it (for the record).
    pub variances: Vec<VarianceLine>,
}

/// Adds one order (and its returns) to the per-currency totals.
pub fn add_order(
    totals: &mut BTreeMap<String, CurrencyTotals>,
    record: &OrderRecord,
    returns: Option<&OrderReturns>,
    mappings: &MappingTables,
) {
    let order = &record.order;
    let code = order.currency.code().to_string();
    let t = totals
        .entry(code.clone())
        .or_insert_with(|| CurrencyTotals {
            currency: code,
            ..Default::default()
        });
    t.orders += 1;
    if record.stage == OrderStage::Cancelled {
        t.cancelled_orders += 1;
    } else {
        t.ordered += order.current_total().amount;
    }
    t.captured += record.dispatches.iter().map(|d| d.value).sum::<Decimal>();
    for case in returns.map(|r| r.cases.as_slice()).unwrap_or_default() {
        if let Some(plan) = &case.refund {
            if case.psp_refund.is_some() || case.instant {
                t.refunded += plan.total.amount;
            }
            if case.credit_memo.is_some() {
                t.credit_memos += plan.total.amount;
            }
        }
        for line in &case.received {
            if mappings.disposition(&line.disposition) != Some(DispositionAction::WriteOff) {
                continue;
            }
            let order_line = line
                .line_id
                .and_then(|id| order.line(id))
                .or_else(|| order.lines.iter().find(|l| l.sku == line.sku));
            if let Some(l) = order_line {
                t.write_offs += share_of_units(l.allocation.net, l.quantity, line.units);
            }
        }
    }
    t.net_captured = t.captured - t.refunded;
}

/// Adds one variance to its currency's count and difference.
pub fn add_variance(totals: &mut BTreeMap<String, CurrencyTotals>, line: &VarianceLine) {
    if line.currency.is_empty() {
        return;
    }
    let t = totals
        .entry(line.currency.clone())
        .or_insert_with(|| CurrencyTotals {
            currency: line.currency.clone(),
            ..Default::default()
        });
    t.variances += 1;
    t.variance_difference += line.difference;
}

/// Builds the report of `period` from the store, a page at a time.
pub async fn finance_report(
    store: &dyn Store,
    period: &Period,
    mappings: &MappingTables,
    page: u32,
) -> Result<FinanceReport, ReconcileError> {
    let page = page.max(1);
    let mut totals: BTreeMap<String, CurrencyTotals> = BTreeMap::new();
    let mut after = String::new();
    loop {
        let states = store.entity_state_texts(orders::FLOW, &after, page).await?;
        let Some((last, _)) = states.last() else {
            break;
        };
        after = last.clone();
        let full = states.len() as u32 >= page;
        let mut records = Vec::new();
        for (key, state) in states {
            if !key.starts_with("order:") {
                continue;
            }
            if let Ok(record) = serde_json::from_str::<OrderRecord>(&state) {
                if period.contains(&record.order.order_date) {
                    records.push((key, record));
                }
            }
        }
        let keys: Vec<String> = records.iter().map(|(k, _)| k.clone()).collect();
        let returns = store.entity_states_of(returns::FLOW, &keys).await?;
        for (key, record) in &records {
            let returns: Option<OrderReturns> = returns
                .get(key)
                .and_then(|s| serde_json::from_value(s.state.clone()).ok());
            add_order(&mut totals, record, returns.as_ref(), mappings);
        }
        if !full {
            break;
        }
    }
    let mut variances = Vec::new();
    let mut after_id = 0;
    loop {
        let rows = store
            .variances(&VarianceFilter {
                day_from: Some(period.from.clone()),
                day_to: Some(period.to.clone()),
                status: None,
                after_id,
                limit: page,
            })
            .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after_id = last.id;
        let full = rows.len() as u32 >= page;
        for row in &rows {
            let line = VarianceLine::from(row);
            if row.status == VarianceStatus::Open {
                add_variance(&mut totals, &line);
            }
            variances.push(line);
        }
        if !full {
            break;
        }
    }
    Ok(FinanceReport {
        period: period.clone(),
        currencies: totals.into_values().collect(),
        variances,
    })
}

/// The report as CSV: the per-currency totals, a blank line, then one row
/// per variance.
pub fn to_csv(report: &FinanceReport) -> String {
    let mut out = String::new();
    out.push_str("period_from,period_to,currency,orders,cancelled_orders,ordered,captured,refunded,credit_memos,write_offs,net_captured,open_variances,variance_difference\n");
    for t in &report.currencies {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            report.period.from,
            report.period.to,
            t.currency,
            t.orders,
            t.cancelled_orders,
            t.ordered,
            t.captured,
            t.refunded,
            t.credit_memos,
            t.write_offs,
            t.net_captured,
            t.variances,
            t.variance_difference
        ));
    }
    out.push('\n');
    out.push_str("variance_id,type,entity,day,owner,currency,expected_system,expected,found_system,found,difference,status,detail\n");
    for v in &report.variances {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            v.id,
            csv_field(&v.variance_type),
            csv_field(&v.entity),
            v.day,
            v.owner,
            v.currency,
            csv_field(&v.expected_system),
            v.expected,
            csv_field(&v.found_system),
            v.found,
            v.difference,
            v.status,
            csv_field(&v.detail)
        ));
    }
    out
}

/// Quotes a field that holds a comma, a quote or a line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: i64, currency: &str, expected: i64, found: i64) -> VarianceLine {
        VarianceLine {
            id,
            variance_type: "total_mismatch".into(),
            entity: format!("order:{id}"),
            day: "2026-11-03".into(),
            owner: "Finance".into(),
            currency: currency.into(),
            expected_system: "centra".into(),
            expected: Decimal::new(expected, 2),
            found_system: "netsuite".into(),
            found: Decimal::new(found, 2),
            difference: Decimal::new(found - expected, 2),
            status: "open".into(),
            detail: "Order 1: Centra's total is 95.00, NetSuite's is 95.01.".into(),
        }
    }

    #[test]
    fn variance_differences_add_up_per_currency_and_quantities_stay_out() {
        let mut totals = BTreeMap::new();
        let lines = [
            line(1, "EUR", 9500, 9501),
            line(2, "EUR", 1900, 1850),
            line(3, "SEK", 100000, 100100),
            line(4, "", 5, 7),
        ];
        for l in &lines {
            add_variance(&mut totals, l);
        }
        let eur = &totals["EUR"];
        assert_eq!(eur.variances, 2);
        assert_eq!(eur.variance_difference, Decimal::new(-49, 2));
        assert_eq!(totals["SEK"].variance_difference, Decimal::new(100, 2));
        assert_eq!(totals.len(), 2);
    }

    #[test]
    fn csv_quotes_details_and_lists_both_values() {
        let report = FinanceReport {
            period: Period::month("2026-11").unwrap(),
            currencies: vec![CurrencyTotals {
                currency: "EUR".into(),
                orders: 1,
                ..Default::default()
            }],
            variances: vec![line(1, "EUR", 9500, 9501)],
        };
        let csv = to_csv(&report);
        assert!(csv.contains("2026-11-01,2026-11-30,EUR,1,0,"), "{csv}");
        assert!(
            csv.contains("1,total_mismatch,order:1,2026-11-03,Finance,EUR,centra,95.00,netsuite,95.01,0.01,open,\"Order 1: Centra's total is 95.00, NetSuite's is 95.01.\""),
            "{csv}"
        );
    }
}
