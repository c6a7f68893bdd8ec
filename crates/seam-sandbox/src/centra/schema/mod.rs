//! The GraphQL schema: shared scalars-at-the-edge (money, dates), payload
//! error types and inputs; objects in `orders` and `catalogue`, roots in
//! `query` and `mutation`.

mod catalogue;
mod mutation;
mod orders;
mod query;

use async_graphql::{EmptySubscription, InputObject, Schema, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::state::{OrderRef, Problem};
use super::CentraSim;

pub type CentraSchema = Schema<query::QueryRoot, mutation::MutationRoot, EmptySubscription>;

pub fn build_schema(sim: CentraSim) -> CentraSchema {
    Schema::build(query::QueryRoot, mutation::MutationRoot, EmptySubscription)
        .data(sim)
        .finish()
}

/// `DateTimeTz` rendered in Centra's default format `Y-m-d\TH:i:sP`.
/// (Exposed as String: the scalar's wire form is a string.)
pub fn date(value: &DateTime<Utc>) -> String {
    value.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Accepts ISO-8601 and Centra's "Y-m-d H:i:s" input form.
pub fn parse_date(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(parsed) = DateTime::parse_from_rfc3339(value) {
        return Some(parsed.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .map(|naive| naive.and_utc())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        })
}

#[derive(SimpleObject, Clone)]
pub struct Currency {
    pub id: i32,
    pub code: String,
}

fn currency(code: &str) -> Currency {
    let id = match code {
        "EUR" => 1,
        "SEK" => 2,
        "USD" => 3,
        "GBP" => 4,
        _ => 99,
    };
    Currency {
        id,
        code: code.to_string(),
    }
}

/// Centra's `MonetaryValue`. Amounts are kept as `Decimal`; `value` is typed
/// `Float` in Centra's schema, so it becomes an f64 only here at the edge.
/// `formattedValue` carries the exact decimal.
pub struct MonetaryValue {
    pub value: Decimal,
    pub currency: String,
}

#[async_graphql::Object]
impl MonetaryValue {
    async fn value(&self) -> f64 {
        self.value.to_f64().unwrap_or_default()
    }
    async fn currency(&self) -> Currency {
        currency(&self.currency)
    }
    async fn conversion_rate(&self) -> f64 {
        1.0
    }
    async fn formatted_value(&self) -> String {
        format!("{} {}", self.value.round_dp(2), self.currency)
    }
}

pub fn monetary(value: Decimal, currency: &str) -> MonetaryValue {
    MonetaryValue {
        value: value.round_dp(2),
        currency: currency.to_string(),
    }
}

/// `MonetaryValueInput { value, currencyIsoCode }`: the Float is read back
/// through its shortest decimal form, so 19.99 stays exactly 19.99.
#[derive(InputObject, Clone)]
pub struct MonetaryValueInput {
    pub value: f64,
    pub currency_iso_code: Option<String>,
}

impl MonetaryValueInput {
    pub fn decimal(&self) -> Option<Decimal> {
        self.value.to_string().parse().ok()
    }
}

#[derive(SimpleObject, Clone)]
pub struct UserError {
    pub message: String,
    pub path: Vec<String>,
}

#[derive(SimpleObject, Clone)]
pub struct UserWarning {
    pub message: String,
    pub path: Vec<String>,
}

pub fn user_errors(problems: Vec<Problem>) -> Vec<UserError> {
    problems
        .into_iter()
        .map(|p| UserError {
            message: p.message,
            path: p.path,
        })
        .collect()
}

pub fn user_warnings(problems: Vec<Problem>) -> Vec<UserWarning> {
    problems
        .into_iter()
        .map(|p| UserWarning {
            message: p.message,
            path: p.path,
        })
        .collect()
}

#[derive(InputObject, Clone, Default)]
pub struct OrderInput {
    pub id: Option<String>,
    pub number: Option<i32>,
    pub external_id: Option<String>,
}

impl From<&OrderInput> for OrderRef {
    fn from(input: &OrderInput) -> Self {
        OrderRef {
            id: input.id.clone(),
            number: input.number,
            external_id: input.external_id.clone(),
        }
    }
}

#[derive(InputObject, Clone, Default)]
pub struct DateRange {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl DateRange {
    pub fn contains(&self, value: &DateTime<Utc>) -> bool {
        let from = self.from.as_deref().and_then(parse_date);
        let to = self.to.as_deref().and_then(parse_date);
        from.is_none_or(|f| *value >= f) && to.is_none_or(|t| *value <= t)
    }
}

pub fn sim<'a>(ctx: &async_graphql::Context<'a>) -> async_graphql::Result<&'a CentraSim> {
    ctx.data::<CentraSim>()
}

pub fn check_limit(limit: i32, max: i32) -> async_graphql::Result<usize> {
    if !(1..=max).contains(&limit) {
        return Err(async_graphql::Error::new(format!(
            "limit must be between 1 and {max}, {limit} given"
        )));
    }
    Ok(limit as usize)
}

pub fn offset(page: i32, limit: usize) -> async_graphql::Result<usize> {
    if page < 1 {
        return Err(async_graphql::Error::new("page must be 1 or greater"));
    }
    Ok((page as usize - 1) * limit)
}
