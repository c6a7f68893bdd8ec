//! The record collection's `q` parameter: `field OPERATOR value` conditions
//! joined by AND, over the fields a hub polls on (lastModifiedDate,
//! createdDate, tranDate, externalId, id, status, entity, createdFrom).
//! OR and nesting are not supported (a simplification).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use super::error::NsError;
use super::types::{status_name, Record};
use super::wire::{parse_query_time, QueryTime};

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub operator: String,
    pub values: Vec<String>,
}

fn invalid(query: &str, why: &str) -> NsError {
    NsError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER",
        format!("Invalid query parameter q: {query}. {why}"),
    )
    .at("q")
}

/// Splits a query into tokens: words, quoted strings, and bracketed lists.
fn tokens(query: &str) -> Result<Vec<String>, NsError> {
    let mut out = Vec::new();
    let mut chars = query.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '\'' {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next() {
                    Some(end) if end == c => break,
                    Some(other) => text.push(other),
                    None => return Err(invalid(query, "Unterminated string.")),
                }
            }
            out.push(text);
        } else if c == '[' {
            chars.next();
            let mut text = String::from("[");
            loop {
                match chars.next() {
                    Some(']') => break,
                    Some(other) => text.push(other),
                    None => return Err(invalid(query, "Unterminated list.")),
                }
            }
            out.push(text);
        } else {
            let mut text = String::new();
            while let Some(&next) = chars.peek() {
                if next.is_whitespace() {
                    break;
                }
                text.push(next);
                chars.next();
            }
            out.push(text);
        }
    }
    Ok(out)
}

pub fn parse(query: &str) -> Result<Vec<Condition>, NsError> {
    let tokens = tokens(query)?;
    let mut conditions = Vec::new();
    let mut rest = tokens.as_slice();
    loop {
        let [field, operator, value, tail @ ..] = rest else {
            return Err(invalid(query, "Expected: field OPERATOR value."));
        };
        let values = match value.strip_prefix('[') {
            Some(list) => list
                .split(',')
                .map(|v| v.trim().trim_matches('"').to_string())
                .filter(|v| !v.is_empty())
                .collect(),
            None => vec![value.clone()],
        };
        let condition = Condition {
            field: field.clone(),
            operator: operator.to_ascii_uppercase(),
            values,
        };
        validate(query, &condition)?;
        conditions.push(condition);
        match tail {
            [] => return Ok(conditions),
            [joiner, more @ ..] if joiner.eq_ignore_ascii_case("AND") => rest = more,
            _ => return Err(invalid(query, "Only AND is supported between conditions.")),
        }
    }
}

const DATE_FIELDS: &[&str] = &["lastModifiedDate", "createdDate", "tranDate"];
const DATE_OPERATORS: &[&str] = &["ON", "AFTER", "ON_OR_AFTER", "BEFORE", "ON_OR_BEFORE"];
const TEXT_FIELDS: &[&str] = &[
    "externalId",
    "id",
    "status",
    "orderStatus",
    "entity",
    "createdFrom",
    "tranId",
];
const TEXT_OPERATORS: &[&str] = &["IS", "IS_NOT", "EQUAL", "ANY_OF", "START_WITH", "CONTAIN"];

fn validate(query: &str, condition: &Condition) -> Result<(), NsError> {
    let field = condition.field.as_str();
    let operator = condition.operator.as_str();
    if DATE_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(field)) {
        if !DATE_OPERATORS.contains(&operator) {
            return Err(invalid(
                query,
                &format!("Operator {operator} is not valid for {field}."),
            ));
        }
        if condition
            .values
            .iter()
            .any(|v| parse_query_time(v).is_none())
        {
            return Err(invalid(query, &format!("Invalid date value for {field}.")));
        }
        return Ok(());
    }
    if TEXT_FIELDS.iter().any(|f| f.eq_ignore_ascii_case(field)) {
        if !TEXT_OPERATORS.contains(&operator) {
            return Err(invalid(
                query,
                &format!("Operator {operator} is not valid for {field}."),
            ));
        }
        return Ok(());
    }
    Err(invalid(query, &format!("Unknown field {field}.")))
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

fn date_matches(at: DateTime<Utc>, operator: &str, value: QueryTime) -> bool {
    let (start, end) = match value {
        QueryTime::Day(day) => (day_start(day), day_start(day) + Duration::days(1)),
        QueryTime::Instant(instant) => (instant, instant + Duration::seconds(1)),
    };
    match operator {
        "ON" => at >= start && at < end,
        "AFTER" => at >= end,
        "ON_OR_AFTER" => at >= start,
        "BEFORE" => at < start,
        "ON_OR_BEFORE" => at < end,
        _ => false,
    }
}

pub fn matches(record: &Record, conditions: &[Condition]) -> bool {
    conditions
        .iter()
        .all(|condition| condition_matches(record, condition))
}

fn condition_matches(record: &Record, condition: &Condition) -> bool {
    let field = condition.field.to_ascii_lowercase();
    let operator = condition.operator.as_str();
    let date = match field.as_str() {
        "lastmodifieddate" => Some(record.last_modified),
        "createddate" => Some(record.created),
        "trandate" => Some(
            record
                .fields
                .get("tranDate")
                .and_then(|v| v.as_str())
                .and_then(parse_query_time)
                .map(|t| match t {
                    QueryTime::Day(day) => day_start(day),
                    QueryTime::Instant(at) => at,
                })
                .unwrap_or(record.created),
        ),
        _ => None,
    };
    if let Some(at) = date {
        return condition
            .values
            .iter()
            .filter_map(|v| parse_query_time(v))
            .all(|value| date_matches(at, operator, value));
    }
    let actual: Vec<String> = match field.as_str() {
        "externalid" => record.external_id.iter().cloned().collect(),
        "id" => vec![record.id.to_string()],
        "tranid" => record.tran_id.iter().cloned().collect(),
        "entity" => record.entity.map(|id| id.to_string()).into_iter().collect(),
        "createdfrom" => record
            .created_from
            .map(|(_, id)| id.to_string())
            .into_iter()
            .collect(),
        _ => record
            .status
            .map(|code| vec![code.to_string(), status_name(record.kind, code).to_string()])
            .unwrap_or_default(),
    };
    let hit = |wanted: &String| match operator {
        "START_WITH" => actual.iter().any(|a| a.starts_with(wanted.as_str())),
        "CONTAIN" => actual.iter().any(|a| a.contains(wanted.as_str())),
        _ => actual.iter().any(|a| a.eq_ignore_ascii_case(wanted)),
    };
    let any = condition.values.iter().any(hit);
    if operator == "IS_NOT" {
        !any
    } else {
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_date_and_text_conditions() {
        let parsed = parse(
            r#"lastModifiedDate ON_OR_AFTER "2024-01-05 10:00:00" AND externalId ANY_OF [A-1, B-2]"#,
        );
        let conditions = parsed.unwrap_or_default();
        assert_eq!(conditions.len(), 2);
        assert_eq!(
            conditions[1].values,
            vec!["A-1".to_string(), "B-2".to_string()]
        );
        assert!(parse("lastModifiedDate SOMETIME \"2024-01-01\"").is_err());
        assert!(parse("color IS red").is_err());
        assert!(parse("id IS 1 OR id IS 2").is_err());
    }
}
