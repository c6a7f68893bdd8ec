//! The partner API as ACS's clients call it (`/api/v1`, HTTP Basic auth plus
//! `AccountCode` in the order body; backends.md §2.2 [S]). The read routes
//! (order status, message feed, stock files) are inferred [I].

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde_json::Value;

use super::errors::{code, FieldError, PartnerError};
use super::order::parse_order;
use super::sim::WarehouseSim;
use super::vendor::{field, DEFAULT_FEED_PAGE, FEED_CURSOR_HEADER, MAX_FEED_PAGE};

pub(crate) fn routes(sim: WarehouseSim) -> Router {
    Router::new()
        .route(
            "/api/v1/orders/{order_number}",
            get(get_order).put(put_order),
        )
        .route("/api/v1/messages", get(get_messages))
        .route("/api/v1/stock/snapshot.csv", get(get_snapshot))
        .route("/api/v1/stock/files", get(list_stock_files))
        .route("/api/v1/stock/files/{name}", get(get_stock_file))
        .with_state(sim)
}

/// HTTP Basic with the configured username and password.
fn authorize(sim: &WarehouseSim, headers: &HeaderMap) -> Result<(), PartnerError> {
    let config = sim.config();
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok());
    match credentials.as_deref().and_then(|text| text.split_once(':')) {
        Some((user, password)) if user == config.username && password == config.password => Ok(()),
        _ => Err(PartnerError::unauthorized()),
    }
}

async fn put_order(
    State(sim): State<WarehouseSim>,
    Path(order_number): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<super::model::OrderAck>, PartnerError> {
    authorize(&sim, &headers)?;
    let value: Value = serde_json::from_slice(&body).map_err(PartnerError::malformed)?;
    if let Some(account) = value.get(field::ACCOUNT_CODE).and_then(Value::as_str) {
        if account != sim.config().account_code {
            return Err(PartnerError::single(
                StatusCode::FORBIDDEN,
                FieldError::new(
                    code::WRONG_ACCOUNT,
                    field::ACCOUNT_CODE,
                    format!("AccountCode '{account}' is not valid for these credentials."),
                ),
            ));
        }
    }
    let request = parse_order(&value).map_err(PartnerError::validation)?;
    if request.order_number != order_number {
        return Err(PartnerError::validation(vec![FieldError::new(
            code::INVALID,
            field::ORDER_NUMBER,
            format!(
                "OrderNumber '{}' in the body does not match '{order_number}' in the URL.",
                request.order_number
            ),
        )]));
    }
    sim.put_order(request).map(Json)
}

async fn get_order(
    State(sim): State<WarehouseSim>,
    Path(order_number): Path<String>,
    headers: HeaderMap,
) -> Result<Json<super::model::OrderView>, PartnerError> {
    authorize(&sim, &headers)?;
    sim.order(&order_number)
        .map(Json)
        .ok_or_else(|| PartnerError::not_found(&order_number))
}

/// `?after=<cursor>&limit=<n>`: messages with `Sequence > after`, oldest first.
async fn get_messages(
    State(sim): State<WarehouseSim>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<super::messages::FeedPage>, PartnerError> {
    authorize(&sim, &headers)?;
    let after = number_param(&query, "after", 0)?;
    let limit = number_param(&query, "limit", DEFAULT_FEED_PAGE as u64)?;
    if limit == 0 || limit > MAX_FEED_PAGE as u64 {
        return Err(PartnerError::single(
            StatusCode::BAD_REQUEST,
            FieldError::new(
                code::INVALID,
                "limit",
                format!("limit must be between 1 and {MAX_FEED_PAGE}."),
            ),
        ));
    }
    Ok(Json(sim.messages_after(after, limit as usize)))
}

fn number_param(
    query: &HashMap<String, String>,
    name: &str,
    default: u64,
) -> Result<u64, PartnerError> {
    match query.get(name) {
        None => Ok(default),
        Some(text) if text.is_empty() => Ok(default),
        Some(text) => text.parse::<u64>().map_err(|_| {
            PartnerError::single(
                StatusCode::BAD_REQUEST,
                FieldError::new(
                    code::INVALID,
                    name,
                    format!("{name} must be a whole number."),
                ),
            )
        }),
    }
}

fn csv_response(text: String, cursor: u64, filename: &str) -> Response {
    let mut response = (StatusCode::OK, text).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&cursor.to_string()) {
        headers.insert(FEED_CURSOR_HEADER, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn get_snapshot(
    State(sim): State<WarehouseSim>,
    headers: HeaderMap,
) -> Result<Response, PartnerError> {
    authorize(&sim, &headers)?;
    let (text, cursor) = sim.stock_snapshot_csv().map_err(|error| PartnerError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        errors: vec![FieldError::general(code::INVALID, error.to_string())],
    })?;
    Ok(csv_response(text, cursor, "snapshot.csv"))
}

async fn list_stock_files(
    State(sim): State<WarehouseSim>,
    headers: HeaderMap,
) -> Result<Json<Vec<super::model::StockFileInfo>>, PartnerError> {
    authorize(&sim, &headers)?;
    Ok(Json(sim.stock_files()))
}

async fn get_stock_file(
    State(sim): State<WarehouseSim>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PartnerError> {
    authorize(&sim, &headers)?;
    match sim.stock_file(&name) {
        Some((info, text)) => Ok(csv_response(text, info.feed_cursor, &name)),
        None => Err(PartnerError::single(
            StatusCode::NOT_FOUND,
            FieldError::general(
                "FILE_NOT_FOUND",
                format!("Stock file {name} was not found."),
            ),
        )),
    }
}
