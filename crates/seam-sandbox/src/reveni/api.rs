//! Reveni's vendor routes under `/merchants/v0/stores/{store_id}/`:
//! returns (list, read, partial_validate) and webhook subscriptions, with
//! `Authorization: Bearer <api_key>`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::sim::ReveniSim;
use super::vendor::{
    PartialValidateRequest, ReturnList, ReturnListQuery, ReveniError, WebhookRequest, API_BASE,
    MAX_RETURNS_PER_PAGE,
};

pub fn routes(sim: ReveniSim) -> Router {
    let path = |rest: &str| format!("{API_BASE}/{{store_id}}/{rest}");
    Router::new()
        .route(&path("returns"), get(list_returns))
        .route(&path("returns/{return_id}"), get(get_return))
        .route(
            &path("returns/{return_id}/partial_validate"),
            post(partial_validate),
        )
        .route(&path("webhooks"), post(create_webhook).get(list_webhooks))
        .route(&path("webhooks/{webhook_id}"), delete(delete_webhook))
        .with_state(sim)
}

fn respond(result: Result<Response, ReveniError>) -> Response {
    result.unwrap_or_else(|error| (error.status_code(), Json(error)).into_response())
}

/// Key first (401), then store (404): a valid key for another store is a
/// 404, as an unknown resource (inferred).
fn authorize(sim: &ReveniSim, headers: &HeaderMap, store_id: &str) -> Result<(), ReveniError> {
    let token = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    if token != Some(sim.config().api_key.as_str()) {
        return Err(ReveniError::unauthorized());
    }
    if store_id != sim.config().store_id {
        return Err(ReveniError::store_not_found());
    }
    Ok(())
}

fn return_id(raw: &str) -> Result<Uuid, ReveniError> {
    Uuid::parse_str(raw).map_err(|_| ReveniError::return_not_found())
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ReveniError> {
    serde_json::from_slice(body)
        .map_err(|e| ReveniError::invalid_request(format!("invalid body: {e}")))
}

async fn get_return(
    State(sim): State<ReveniSim>,
    Path((store_id, raw_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    respond((|| {
        authorize(&sim, &headers, &store_id)?;
        let found = sim
            .get_return(return_id(&raw_id)?)
            .ok_or_else(ReveniError::return_not_found)?;
        Ok(Json(found).into_response())
    })())
}

/// Inferred: Reveni's MCP tool "List Returns" shows the API can list
/// returns, but no public source gives the REST route or its parameters.
/// This is our design: `updated_after` (RFC 3339, inclusive), oldest change
/// first, `page` from 1 and `limit` 1..=100.
async fn list_returns(
    State(sim): State<ReveniSim>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<ReturnListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    respond((|| {
        authorize(&sim, &headers, &store_id)?;
        let Query(query) =
            query.map_err(|e| ReveniError::invalid_request(format!("invalid query: {e}")))?;
        let limit = query.limit.unwrap_or(50);
        if !(1..=MAX_RETURNS_PER_PAGE).contains(&limit) {
            return Err(ReveniError::invalid_request(format!(
                "limit must be between 1 and {MAX_RETURNS_PER_PAGE}"
            )));
        }
        let page = query.page.unwrap_or(1);
        if page == 0 {
            return Err(ReveniError::invalid_request("page starts at 1"));
        }
        let mut found: Vec<_> = sim
            .returns()
            .into_iter()
            .filter(|r| {
                query
                    .updated_after
                    .is_none_or(|after| r.updated_at >= after)
            })
            .collect();
        found.sort_by_key(|r| (r.updated_at, r.id));
        let skip = (page as usize - 1) * limit as usize;
        let has_more = found.len() > skip + limit as usize;
        let results = found.into_iter().skip(skip).take(limit as usize).collect();
        Ok(Json(ReturnList {
            results,
            page,
            limit,
            has_more,
        })
        .into_response())
    })())
}

async fn partial_validate(
    State(sim): State<ReveniSim>,
    Path((store_id, raw_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond((|| {
        authorize(&sim, &headers, &store_id)?;
        let id = return_id(&raw_id)?;
        let request: PartialValidateRequest = parse(&body)?;
        Ok(Json(sim.validate(id, &request.items)?).into_response())
    })())
}

async fn create_webhook(
    State(sim): State<ReveniSim>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond((|| {
        authorize(&sim, &headers, &store_id)?;
        let hook = sim.subscribe(parse::<WebhookRequest>(&body)?)?;
        Ok((StatusCode::CREATED, Json(hook)).into_response())
    })())
}

/// Listing subscriptions is not in the public connector's calls (inferred).
async fn list_webhooks(
    State(sim): State<ReveniSim>,
    Path(store_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    respond(authorize(&sim, &headers, &store_id).map(|()| Json(sim.webhooks()).into_response()))
}

async fn delete_webhook(
    State(sim): State<ReveniSim>,
    Path((store_id, webhook_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    respond((|| {
        authorize(&sim, &headers, &store_id)?;
        if !sim.unsubscribe(&webhook_id) {
            return Err(ReveniError::webhook_not_found());
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}
