//! The REST record routes under `/services/rest/record/v1`: create, read by
//! id or `eid:`, upsert, patch, delete, list with `q`, sublists, transforms.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::build::{apply_update, as_object, create, recompute};
use super::error::NsError;
use super::render::{collection_json, line_json, record_json, record_url, sublist_json};
use super::transform::{transform, TransformRequest};
use super::types::{RecordKey, RecordType};
use super::{now, query, SharedState};

type Params = Query<HashMap<String, String>>;

/// The base URL as the caller reached us (NetSuite's Location is absolute).
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn record_type(name: &str) -> Result<RecordType, NsError> {
    RecordType::from_path(name).ok_or_else(|| {
        NsError::new(
            StatusCode::NOT_FOUND,
            "INVALID_RCRD_TYPE",
            format!("Record type '{name}' does not exist."),
        )
    })
}

fn record_key(segment: &str) -> Result<RecordKey, NsError> {
    let key = RecordKey::parse(segment).ok_or_else(NsError::not_found)?;
    if let RecordKey::External(external) = &key {
        super::wire::validate_external_id(external)?;
    }
    Ok(key)
}

fn parse_body(bytes: &Bytes) -> Result<Value, NsError> {
    if bytes.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(bytes).map_err(|error| {
        NsError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_CONTENT",
            format!("The request could not be understood by the server due to malformed syntax: {error}"),
        )
    })
}

fn replaces_lines(params: &HashMap<String, String>, kind: RecordType) -> bool {
    let sublist = kind.sublist().unwrap_or("item");
    params.get("replace").is_some_and(|value| {
        value
            .split(',')
            .any(|name| name.trim().eq_ignore_ascii_case(sublist))
    })
}

fn flag(params: &HashMap<String, String>, name: &str) -> bool {
    params
        .get(name)
        .is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

fn no_content_at(location: String) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Which types may be created directly; fulfilments, receipts and refunds
/// only come from transforms (as in NetSuite).
fn creatable(kind: RecordType) -> Result<(), NsError> {
    match kind {
        RecordType::ItemFulfillment | RecordType::ItemReceipt | RecordType::CustomerRefund => {
            Err(NsError::user(format!(
                "A {} can only be created by transforming its source transaction.",
                kind.path_name()
            )))
        }
        _ => Ok(()),
    }
}

/// `POST /<type>`.
pub async fn post_record(
    State(shared): State<SharedState>,
    Path(type_name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, NsError> {
    let kind = record_type(&type_name)?;
    creatable(kind)?;
    let body = parse_body(&body)?;
    let mut state = shared.lock();
    let record = create(&mut state.store, &shared.config, kind, &body, None, now())?;
    let id = record.id;
    state.store.insert(record);
    Ok(no_content_at(record_url(&base_url(&headers), kind, id)))
}

/// `GET /<type>/<id>` and `GET /<type>/eid:<ext>`.
pub async fn get_record(
    State(shared): State<SharedState>,
    Path((type_name, key)): Path<(String, String)>,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Json<Value>, NsError> {
    let kind = record_type(&type_name)?;
    let key = record_key(&key)?;
    let state = shared.lock();
    let record = state.store.find(kind, &key)?;
    let expand = flag(&params, "expandSubResources");
    Ok(Json(record_json(
        &state.store,
        &shared.config,
        &base_url(&headers),
        record,
        expand,
    )))
}

/// `PUT /<type>/eid:<ext>`: upsert. Creates when missing, otherwise updates
/// like PATCH (sublists merge by `line` unless `replace=item`).
pub async fn put_record(
    State(shared): State<SharedState>,
    Path((type_name, key)): Path<(String, String)>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, NsError> {
    let kind = record_type(&type_name)?;
    let RecordKey::External(external) = record_key(&key)? else {
        return Err(NsError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "USER_ERROR",
            "Upsert (PUT) requires an external id in the URL: /<type>/eid:<externalId>.",
        ));
    };
    creatable(kind)?;
    let body = parse_body(&body)?;
    let map = as_object(&body, "body")?;
    if let Some(Value::String(sent)) = map.get("externalId") {
        if *sent != external {
            return Err(NsError::user(
                "The externalId in the body differs from the one in the URL.",
            )
            .at("externalId"));
        }
    }
    let replace = replaces_lines(&params, kind);
    let mut state = shared.lock();
    let existing = state
        .store
        .resolve(kind, &RecordKey::External(external.clone()));
    let id = match existing {
        None => {
            let record = create(
                &mut state.store,
                &shared.config,
                kind,
                &body,
                Some(external),
                now(),
            )?;
            let id = record.id;
            state.store.insert(record);
            id
        }
        Some(id) => {
            update(&mut state, &shared.config, kind, id, map, replace)?;
            id
        }
    };
    Ok(no_content_at(record_url(&base_url(&headers), kind, id)))
}

fn update(
    state: &mut super::State,
    config: &super::NetSuiteConfig,
    kind: RecordType,
    id: u64,
    map: &serde_json::Map<String, Value>,
    replace: bool,
) -> Result<(), NsError> {
    let mut record = state
        .store
        .get(kind, id)
        .cloned()
        .ok_or_else(NsError::not_found)?;
    apply_update(&state.store, config, &mut record, map, replace, false)?;
    recompute(&mut record);
    record.last_modified = now();
    if let Some(slot) = state.store.get_mut(kind, id) {
        *slot = record;
    }
    Ok(())
}

/// `PATCH /<type>/<id>`.
pub async fn patch_record(
    State(shared): State<SharedState>,
    Path((type_name, key)): Path<(String, String)>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, NsError> {
    let kind = record_type(&type_name)?;
    let key = record_key(&key)?;
    let body = parse_body(&body)?;
    let map = as_object(&body, "body")?;
    if let Some(Value::String(external)) = map.get("externalId") {
        super::wire::validate_external_id(external)?;
    }
    let replace = replaces_lines(&params, kind);
    let mut state = shared.lock();
    let id = state
        .store
        .resolve(kind, &key)
        .ok_or_else(NsError::not_found)?;
    if let Some(Value::String(external)) = map.get("externalId") {
        let current = state
            .store
            .get(kind, id)
            .and_then(|r| r.external_id.clone());
        if current.as_deref() != Some(external.as_str()) {
            state.store.check_unique(kind, Some(external))?;
            state.store.set_external_id(kind, id, external.clone());
        }
    }
    update(&mut state, &shared.config, kind, id, map, replace)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /<type>/<id>`. NetSuite refuses to delete a transaction that
/// others were created from (the message is inferred).
pub async fn delete_record(
    State(shared): State<SharedState>,
    Path((type_name, key)): Path<(String, String)>,
) -> Result<Response, NsError> {
    let kind = record_type(&type_name)?;
    let key = record_key(&key)?;
    let mut state = shared.lock();
    let id = state
        .store
        .resolve(kind, &key)
        .ok_or_else(NsError::not_found)?;
    if !state.store.children(kind, id).is_empty() {
        return Err(NsError::user(
            "This record cannot be deleted because it has dependent records.",
        ));
    }
    state.store.archive(kind, id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /<type>?q=&limit=&offset=`.
pub async fn list_records(
    State(shared): State<SharedState>,
    Path(type_name): Path<String>,
    Query(params): Params,
    headers: HeaderMap,
) -> Result<Json<Value>, NsError> {
    let kind = record_type(&type_name)?;
    let number = |name: &str, default: usize| -> Result<usize, NsError> {
        match params.get(name) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|_| {
                NsError::new(
                    StatusCode::BAD_REQUEST,
                    "INVALID_PARAMETER",
                    format!("Invalid value for the parameter {name}."),
                )
            }),
        }
    };
    let limit = number("limit", 1000)?.clamp(1, 1000);
    let offset = number("offset", 0)?;
    if offset % limit != 0 {
        // NetSuite requires offset to be a multiple of limit (documented).
        return Err(NsError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
            "The offset must be a multiple of the limit.",
        ));
    }
    let query_text = params
        .get("q")
        .map(String::as_str)
        .filter(|q| !q.trim().is_empty());
    let conditions = match query_text {
        Some(text) => query::parse(text)?,
        None => Vec::new(),
    };
    let state = shared.lock();
    let ids: Vec<u64> = state
        .store
        .records(kind)
        .filter(|record| query::matches(record, &conditions))
        .map(|record| record.id)
        .collect();
    Ok(Json(collection_json(
        &base_url(&headers),
        kind,
        &ids,
        offset,
        limit,
        query_text,
    )))
}

/// `GET /<type>/<id>/<sublist>`: the lines, expanded.
pub async fn get_sublist(
    State(shared): State<SharedState>,
    Path((type_name, key, sublist)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, NsError> {
    let kind = record_type(&type_name)?;
    let key = record_key(&key)?;
    let state = shared.lock();
    let record = state.store.find(kind, &key)?;
    let name = kind
        .sublist()
        .filter(|name| name.eq_ignore_ascii_case(&sublist));
    let name = name.ok_or_else(NsError::not_found)?;
    Ok(Json(sublist_json(
        &state.store,
        &shared.config,
        &base_url(&headers),
        record,
        name,
    )))
}

/// `GET /<type>/<id>/<sublist>/<line>`: one line.
pub async fn get_line(
    State(shared): State<SharedState>,
    Path((type_name, key, sublist, line)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, NsError> {
    let kind = record_type(&type_name)?;
    let key = record_key(&key)?;
    let state = shared.lock();
    let record = state.store.find(kind, &key)?;
    let name = kind
        .sublist()
        .filter(|name| name.eq_ignore_ascii_case(&sublist));
    let name = name.ok_or_else(NsError::not_found)?;
    let number: u32 = line.parse().map_err(|_| NsError::not_found())?;
    let found = record
        .lines
        .iter()
        .find(|l| l.line == number)
        .ok_or_else(NsError::not_found)?;
    let base = base_url(&headers);
    let url = format!("{}/{name}", record_url(&base, kind, record.id));
    Ok(Json(line_json(
        &state.store,
        &shared.config,
        &base,
        record,
        found,
        &url,
    )))
}

/// `POST /<type>/<id>/!transform/<target>` (the `!` may arrive
/// percent-encoded, as OAuth 1.0 clients must send it).
pub async fn post_transform(
    State(shared): State<SharedState>,
    Path((type_name, key, action, target)): Path<(String, String, String, String)>,
    Query(params): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, NsError> {
    if action != "!transform" {
        return Err(NsError::not_found());
    }
    let kind = record_type(&type_name)?;
    let target = record_type(&target)?;
    let key = record_key(&key)?;
    let body = parse_body(&body)?;
    let replace = replaces_lines(&params, target);
    let mut state = shared.lock();
    let request = TransformRequest {
        source_kind: kind,
        source_key: &key,
        target,
        body: &body,
        replace_lines: replace,
    };
    let id = transform(&mut state.store, &shared.config, &request, now())?;
    Ok(no_content_at(record_url(&base_url(&headers), target, id)))
}
