//! Reading and writing the JSON values NetSuite exchanges: decimals as JSON
//! numbers (exact, via their decimal text, never through a float in this
//! code), external ids, and the date formats the query language accepts.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::{Number, Value};

use super::error::NsError;

/// A decimal as a JSON number. serde_json keeps the shortest text that
/// round-trips, which is the decimal's own text for any amount a ledger holds.
pub fn num(value: Decimal) -> Value {
    Number::from_str(&value.normalize().to_string())
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Reads a decimal from a JSON number or numeric string.
pub fn decimal(value: &Value, field: &str) -> Result<Decimal, NsError> {
    let parsed = match value {
        Value::Number(number) => {
            let text = number.to_string();
            Decimal::from_str(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .ok()
        }
        Value::String(text) => Decimal::from_str(text.trim()).ok(),
        _ => None,
    };
    parsed.ok_or_else(|| NsError::invalid_value(field, value))
}

pub fn optional_decimal(
    body: &serde_json::Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<Decimal>, NsError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => decimal(value, path).map(Some),
    }
}

pub fn boolean(value: &Value, field: &str) -> Result<bool, NsError> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") || text == "T" => Ok(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") || text == "F" => Ok(false),
        other => Err(NsError::invalid_value(field, other)),
    }
}

/// Reads a line number (`line`, `orderLine`) from a number or a string.
pub fn line_number(value: &Value, field: &str) -> Result<u32, NsError> {
    let parsed = match value {
        Value::Number(number) => number.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| NsError::invalid_value(field, value))
}

/// External ids may hold letters, digits, `_` and `-` only (documented).
pub fn validate_external_id(external_id: &str) -> Result<(), NsError> {
    let valid = !external_id.is_empty()
        && external_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(NsError::user(format!(
            "Invalid externalId value {external_id}. An external ID can contain only letters, numbers, underscores and hyphens."
        ))
        .at("externalId"))
    }
}

/// The timestamp format the REST API returns.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A date or date-time in a query: either a whole day or an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QueryTime {
    Day(NaiveDate),
    Instant(DateTime<Utc>),
}

/// Parses the date forms a query may carry: ISO 8601 / RFC 3339, ISO with a
/// space, ISO date, and NetSuite's default US preference (`1/5/2024`,
/// `1/5/2024 10:22 am`). Times without a zone are read as UTC (the
/// simulated account's time zone; inferred).
pub fn parse_query_time(text: &str) -> Option<QueryTime> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(QueryTime::Instant(at.with_timezone(&Utc)));
    }
    let date_times = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %I:%M %p",
        "%m/%d/%Y %I:%M:%S %p",
    ];
    for format in date_times {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(QueryTime::Instant(Utc.from_utc_datetime(&naive)));
        }
    }
    for format in ["%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y"] {
        if let Ok(day) = NaiveDate::parse_from_str(text, format) {
            return Some(QueryTime::Day(day));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_travel_as_exact_json_numbers() {
        let value = num(Decimal::new(4999, 2));
        assert_eq!(value.to_string(), "49.99");
        assert_eq!(decimal(&value, "rate").ok(), Some(Decimal::new(4999, 2)));
        assert_eq!(num(Decimal::new(4900, 2)).to_string(), "49");
        assert_eq!(
            decimal(&Value::from("12.345"), "rate").ok(),
            Some(Decimal::new(12345, 3))
        );
    }

    #[test]
    fn external_ids_allow_letters_digits_underscore_hyphen() {
        assert!(validate_external_id("CENTRA-100_234").is_ok());
        assert!(validate_external_id("CENTRA 1").is_err());
        assert!(validate_external_id("a/b").is_err());
        assert!(validate_external_id("").is_err());
    }

    #[test]
    fn query_times_in_several_formats() {
        assert!(matches!(
            parse_query_time("2024-01-05T10:22:00Z"),
            Some(QueryTime::Instant(_))
        ));
        assert!(matches!(
            parse_query_time("2024-01-05 10:22:00"),
            Some(QueryTime::Instant(_))
        ));
        assert!(matches!(
            parse_query_time("1/5/2024 10:22 am"),
            Some(QueryTime::Instant(_))
        ));
        assert!(matches!(
            parse_query_time("1/5/2024"),
            Some(QueryTime::Day(_))
        ));
        assert_eq!(parse_query_time("yesterday"), None);
    }
}
