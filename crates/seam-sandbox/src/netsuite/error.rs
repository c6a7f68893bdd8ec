//! NetSuite's REST error document: an RFC 9110 problem type with
//! `o:errorDetails`, built once here so every route answers in the same shape.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// One refusal, in NetSuite's terms.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct NsError {
    pub status: StatusCode,
    pub code: String,
    pub detail: String,
    pub path: Option<String>,
}

impl NsError {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        NsError {
            status,
            code: code.to_string(),
            detail: detail.into(),
            path: None,
        }
    }

    /// A 400 `USER_ERROR`, NetSuite's catch-all for business-rule refusals.
    pub fn user(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "USER_ERROR", detail)
    }

    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NONEXISTENT_ID",
            "The record instance does not exist. Provide a valid record instance ID.",
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_LOGIN",
            "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.",
        )
    }

    /// Reading a field that should be a reference, a number or a string failed.
    pub fn invalid_value(field: &str, value: &Value) -> Self {
        let shown = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        Self::user(format!(
            "Error while accessing a resource. Invalid Field Value {shown} for the following field: {field}"
        ))
        .at(field)
    }

    /// The problem document NetSuite sends.
    pub fn body(&self) -> Value {
        let (reference, title) = problem_type(self.status);
        let mut detail = json!({ "detail": self.detail, "o:errorCode": self.code });
        if let (Some(path), Some(map)) = (&self.path, detail.as_object_mut()) {
            map.insert("o:errorPath".to_string(), Value::String(path.clone()));
        }
        json!({
            "type": reference,
            "title": title,
            "status": self.status.as_u16(),
            "o:errorDetails": [detail],
        })
    }
}

fn problem_type(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => (
            "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
            "Bad Request",
        ),
        401 => (
            "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2",
            "Unauthorized",
        ),
        403 => (
            "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.4",
            "Forbidden",
        ),
        404 => (
            "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5",
            "Not Found",
        ),
        405 => (
            "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.6",
            "Method Not Allowed",
        ),
        429 => (
            "https://www.rfc-editor.org/rfc/rfc6585.html#section-4",
            "Too Many Requests",
        ),
        _ => (
            "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.1",
            "Internal Server Error",
        ),
    }
}

impl IntoResponse for NsError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Ok(value) = "application/vnd.oracle.resource+json; type=error".parse() {
            response
                .headers_mut()
                .insert(axum::http::header::CONTENT_TYPE, value);
        }
        response
    }
}
