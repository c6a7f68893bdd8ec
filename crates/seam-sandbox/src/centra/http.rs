//! `POST /graphql`: bearer-token auth (403 on an unknown or expired token),
//! rate limits (429 with Retry-After in seconds), execution, and the
//! `extensions { complexity permissionsUsed appVersion }` of every answer.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use super::auth::Caller;
use super::schema::{build_schema, CentraSchema};
use super::{complexity, CentraSim};

#[derive(Clone)]
struct Endpoint {
    sim: CentraSim,
    schema: CentraSchema,
}

pub fn router(sim: CentraSim) -> Router {
    let schema = build_schema(sim.clone());
    Router::new()
        .route("/graphql", post(graphql))
        .with_state(Endpoint { sim, schema })
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let mut parts = value.splitn(2, ' ');
        if let (Some(scheme), Some(token)) = (parts.next(), parts.next()) {
            if scheme.eq_ignore_ascii_case("bearer") {
                return Some(token.trim().to_string());
            }
        }
    }
    // The documented cookie alternative: `Cookie: graphql-access=<token>`.
    let cookies = headers.get("cookie").and_then(|v| v.to_str().ok())?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == "graphql-access")
        .map(|(_, value)| value.to_string())
}

fn error_response(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "errors": [{ "message": message }] }))).into_response()
}

async fn graphql(State(endpoint): State<Endpoint>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(token) = bearer(&headers).and_then(|t| endpoint.sim.token(&t)) else {
        return error_response(
            StatusCode::FORBIDDEN,
            "Access denied: the token is invalid or expired.",
        );
    };
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!("Bad request body: {error}"),
            )
        }
    };
    let document = match async_graphql::parser::parse_query(&request.query) {
        Ok(document) => document,
        Err(error) => {
            return error_response(StatusCode::BAD_REQUEST, &format!("Syntax error: {error}"))
        }
    };
    let Some(estimate) = complexity::estimate(
        &document,
        request.operation_name.as_deref(),
        &request.variables,
    ) else {
        return error_response(StatusCode::BAD_REQUEST, "Unknown or ambiguous operation.");
    };
    if let Err(seconds) = endpoint
        .sim
        .limiter()
        .admit(estimate.is_mutation, estimate.complexity)
    {
        let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.");
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert("retry-after", value);
        }
        return response;
    }
    let caller = std::sync::Arc::new(Caller::new(&token));
    let response = endpoint.schema.execute(request.data(caller.clone())).await;
    let mut body = match serde_json::to_value(&response) {
        Ok(body) => body,
        Err(_) => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not encode the response",
            )
        }
    };
    if let Some(object) = body.as_object_mut() {
        object.insert(
            "extensions".into(),
            json!({
                "complexity": estimate.complexity,
                "permissionsUsed": caller.used(),
                "appVersion": endpoint.sim.shared.app_version,
            }),
        );
    }
    (StatusCode::OK, Json(body)).into_response()
}
