//! NetSuite's wire conventions: amounts as exact JSON numbers, ids that
//! arrive as strings or numbers, external ids, and the error document.
//!
//! Money never passes through a binary float. serde_json (without its
//! `arbitrary_precision` feature, which would change number handling for
//! the whole workspace) parses numbers to f64 before a visitor sees them,
//! so amounts are captured as `RawValue`, the number's own text, and parsed
//! into `Decimal` from that text; outgoing amounts are written as raw number
//! text the same way.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// Parses the text of a JSON number (or of a JSON string holding a number).
pub fn decimal_from_json_text(text: &str) -> Option<Decimal> {
    let text = text.trim();
    let unquoted;
    let number = if text.starts_with('"') {
        unquoted = serde_json::from_str::<String>(text).ok()?;
        unquoted.trim()
    } else {
        text
    };
    Decimal::from_str(number)
        .ok()
        .or_else(|| Decimal::from_scientific(number).ok())
}

/// The JSON number text of a decimal (no exponent, no trailing zeros).
pub fn decimal_json_text(value: Decimal) -> String {
    let normalized = value.normalize();
    if normalized.is_zero() {
        "0".to_string()
    } else {
        normalized.to_string()
    }
}

/// `#[serde(with = "money")]` for `Decimal`.
pub mod money {
    use super::*;

    #[allow(dead_code)] // the read shapes happen to use only optional amounts
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        decimal_from_json_text(raw.get())
            .ok_or_else(|| D::Error::custom(format!("not a decimal number: {}", raw.get())))
    }

    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        RawValue::from_string(decimal_json_text(*value))
            .map_err(S::Error::custom)?
            .serialize(serializer)
    }
}

/// `#[serde(with = "money_opt", default)]` for `Option<Decimal>`; null is `None`.
pub mod money_opt {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Decimal>, D::Error> {
        let Some(raw) = Option::<Box<RawValue>>::deserialize(deserializer)? else {
            return Ok(None);
        };
        if raw.get().trim() == "null" {
            return Ok(None);
        }
        decimal_from_json_text(raw.get())
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("not a decimal number: {}", raw.get())))
    }

    pub fn serialize<S: Serializer>(
        value: &Option<Decimal>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => super::money::serialize(value, serializer),
            None => serializer.serialize_none(),
        }
    }
}

/// An id that NetSuite renders as a string (`"647"`) but may send as a number.
pub fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => Ok(text),
        Value::Number(number) if number.is_u64() || number.is_i64() => Ok(number.to_string()),
        other => Err(D::Error::custom(format!("not an id: {other}"))),
    }
}

pub fn opt_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(Value::Number(number)) if number.is_u64() || number.is_i64() => {
            Ok(Some(number.to_string()))
        }
        Some(other) => Err(D::Error::custom(format!("not an id: {other}"))),
    }
}

/// A line number (`line`, `orderLine`): a number or a numeric string.
pub fn line_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    opt_line_number(deserializer)?.ok_or_else(|| D::Error::custom("missing line number"))
}

pub fn opt_line_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u32>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("not a line number: {number}"))),
        Some(Value::String(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("not a line number: {text}"))),
        Some(other) => Err(D::Error::custom(format!("not a line number: {other}"))),
    }
}

/// A field NetSuite may send as text or as a number (`discountRate`: "-10%"
/// or -5), kept as its text so nothing is lost.
pub fn opt_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let Some(raw) = Option::<Box<RawValue>>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    if text.starts_with('"') {
        return serde_json::from_str::<String>(text)
            .map(Some)
            .map_err(D::Error::custom);
    }
    Ok(Some(text.to_string()))
}

/// A timestamp; a format Seam does not know reads as `None` rather than
/// failing the whole record (the account's date preference can vary).
pub fn opt_timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, D::Error> {
    let text = Option::<Value>::deserialize(deserializer)?;
    Ok(text
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
        .map(|at| at.with_timezone(&chrono::Utc)))
}

/// Whether NetSuite accepts `value` as an externalId: letters, digits, `_`
/// and `-` only (documented).
pub fn is_valid_external_id(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Maps any id to a valid externalId, deterministically and without
/// collisions: ASCII letters, digits and `-` stay; `_` is the escape
/// character, written `__`; every other byte of the UTF-8 text becomes `_`
/// and two upper-case hex digits. The prefix and the id are joined by `-`
/// (`external_id_for("CENTRA", "100234")` is `CENTRA-100234`). The same
/// input always gives the same externalId, which is what makes a replayed
/// upsert or transform land on the record the first attempt made.
pub fn external_id_for(prefix: &str, id: &str) -> String {
    fn encode(text: &str, out: &mut String) {
        for byte in text.bytes() {
            match byte {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => out.push(byte as char),
                b'_' => out.push_str("__"),
                other => out.push_str(&format!("_{other:02X}")),
            }
        }
    }
    let mut out = String::with_capacity(prefix.len() + id.len() + 1);
    encode(prefix, &mut out);
    out.push('-');
    encode(id, &mut out);
    out
}

/// NetSuite's error document:
/// `{type, title, status, o:errorDetails: [{detail, o:errorCode, o:errorPath}]}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ErrorDocument {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(rename = "o:errorDetails", default)]
    pub details: Vec<ErrorDetail>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(rename = "o:errorCode", default)]
    pub code: Option<String>,
    #[serde(rename = "o:errorPath", default)]
    pub path: Option<String>,
}

impl ErrorDocument {
    /// Finds the error document in a text that holds one, such as the
    /// message of a failure the HTTP client built from a non-2xx answer
    /// (`netsuite rejected the request (400): netsuite: {...}`). Text after
    /// the document is ignored; a document cut short by the client's
    /// truncation is read field by field as far as it goes.
    pub fn find(text: &str) -> Option<ErrorDocument> {
        let start = text.find('{')?;
        let json = &text[start..];
        let mut stream = serde_json::Deserializer::from_str(json).into_iter::<ErrorDocument>();
        if let Some(Ok(document)) = stream.next() {
            if document.status.is_some() || !document.details.is_empty() {
                return Some(document);
            }
            return None;
        }
        // Truncated: pick the fields out of the text.
        let status = string_after(json, "\"status\":")
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|digits| digits.parse().ok());
        let code = quoted_after(json, "\"o:errorCode\":");
        let detail = quoted_after(json, "\"detail\":");
        if status.is_none() && code.is_none() && detail.is_none() {
            return None;
        }
        Some(ErrorDocument {
            kind: None,
            title: quoted_after(json, "\"title\":"),
            status,
            details: vec![ErrorDetail {
                detail,
                code,
                path: quoted_after(json, "\"o:errorPath\":"),
            }],
        })
    }

    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.details.iter().filter_map(|d| d.code.as_deref())
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.codes().any(|c| c.eq_ignore_ascii_case(code))
    }

    /// The details as one sentence: `CODE: detail (at path); ...`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .details
            .iter()
            .map(|detail| {
                let mut part = String::new();
                if let Some(code) = &detail.code {
                    part.push_str(code);
                    part.push_str(": ");
                }
                part.push_str(detail.detail.as_deref().unwrap_or("(no detail)"));
                if let Some(path) = &detail.path {
                    part.push_str(&format!(" (at {path})"));
                }
                part
            })
            .collect();
        if parts.is_empty() {
            return self
                .title
                .clone()
                .unwrap_or_else(|| "an error without details".to_string());
        }
        parts.join("; ")
    }
}

fn string_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(key)? + key.len();
    Some(text[at..].trim_start())
}

/// The JSON string after `key`, unescaped as far as it goes.
fn quoted_after(text: &str, key: &str) -> Option<String> {
    let rest = string_after(text, key)?.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => break,
            },
            other => out.push(other),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_come_from_the_number_text() {
        assert_eq!(decimal_from_json_text("49.99"), Some(Decimal::new(4999, 2)));
        assert_eq!(
            decimal_from_json_text("\"12.345\""),
            Some(Decimal::new(12345, 3))
        );
        assert_eq!(decimal_from_json_text("1e2"), Some(Decimal::new(100, 0)));
        // More digits than an f64 holds survive intact.
        assert_eq!(
            decimal_from_json_text("12345678901234567.89").map(|d| d.to_string()),
            Some("12345678901234567.89".to_string())
        );
        assert_eq!(decimal_from_json_text("true"), None);
        assert_eq!(decimal_json_text(Decimal::new(4900, 2)), "49");
        assert_eq!(decimal_json_text(Decimal::new(-5, 1)), "-0.5");
    }

    #[test]
    fn external_ids_are_valid_deterministic_and_distinct() {
        assert_eq!(external_id_for("CENTRA", "100234"), "CENTRA-100234");
        let inputs = ["a b", "a_b", "a_20b", "a/b", "ä", "", "a-b", "a__b"];
        let mapped: Vec<String> = inputs
            .iter()
            .map(|id| external_id_for("CENTRA", id))
            .collect();
        for (input, external) in inputs.iter().zip(&mapped) {
            assert!(is_valid_external_id(external), "{input} -> {external}");
            assert_eq!(external, &external_id_for("CENTRA", input));
        }
        let mut unique = mapped.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), mapped.len(), "{mapped:?}");
        assert_eq!(external_id_for("CENTRA", "a b"), "CENTRA-a_20b");
        assert_eq!(external_id_for("CENTRA", "a_b"), "CENTRA-a__b");
    }

    #[test]
    fn error_documents_are_found_whole_or_truncated() {
        let message = r#"netsuite rejected the request (400): netsuite: {"type":"x","title":"Bad Request","status":400,"o:errorDetails":[{"detail":"You must have \"one\" line.","o:errorCode":"USER_ERROR","o:errorPath":"item"}]}"#;
        let document = ErrorDocument::find(message).unwrap_or_default();
        assert_eq!(document.status, Some(400));
        assert!(document.has_code("USER_ERROR"));
        assert_eq!(
            document.describe(),
            "USER_ERROR: You must have \"one\" line. (at item)"
        );
        let truncated = r#"netsuite: {"type":"x","title":"Not Found","status":404,"o:errorDetails":[{"detail":"The record inst…"#;
        let document = ErrorDocument::find(truncated).unwrap_or_default();
        assert_eq!(document.status, Some(404));
        assert_eq!(
            document.details[0].detail.as_deref(),
            Some("The record inst…")
        );
        assert_eq!(ErrorDocument::find("injected fault: failing"), None);
        assert_eq!(ErrorDocument::find("{\"other\": 1}"), None);
    }
}
