//! The NetSuite connector: the SuiteTalk REST record API
//! (`{url}/services/rest/record/v1`) as the hub's ledger. It upserts sales
//! orders by externalId, reads transactions back with their lines and
//! totals, polls for records modified in NetSuite, and creates the
//! transactions that follow an order (item fulfilment, return
//! authorisation, item receipt, credit memo, customer refund) by
//! `!transform`, plus inventory adjustments and closing an order.
//!
//! Idempotency. Every record Seam creates carries an externalId derived
//! from the originating record (`external_id_for`). Sales orders use
//! NetSuite's upsert (`PUT /salesOrder/eid:<ext>`), which is idempotent by
//! itself. Transforms and inventory adjustments have no upsert: the
//! externalId is put in the body, NetSuite refuses a second record with the
//! same one, and on that refusal, or on a timeout or server error that may
//! hide a success, the connector reads the record back by `eid:` and
//! returns the existing one. A replay therefore never creates a second
//! record. (NetSuite's `X-NetSuite-Idempotency-Key` is documented for
//! asynchronous requests only, so it is not used.)
//!
//! Authentication. The config's `token` is sent as a bearer token. In
//! production NetSuite issues that token through OAuth 2.0 client
//! credentials: Seam would sign a JWT (PS256 or ES256, `kid` = the
//! certificate id mapped to the integration record; claims `iss` = client
//! id, `scope` = "rest_webservices", `aud` = the token URL, `iat`, `exp` at
//! most 60 min later), post it to `/services/rest/auth/oauth2/v1/token` and
//! renew the 1-hour access token before it expires. What is missing for
//! that: the client id, certificate id and private key in the config, a
//! JWT signer (an RSA-PSS/ECDSA crate), and a token cache that refreshes
//! and retries once on a 401.
//!
//! Failures. Non-2xx answers carry NetSuite's error document
//! (`{type, title, status, o:errorDetails: [{detail, o:errorCode,
//! o:errorPath}]}`); its details become the failure's message. 429 is
//! rate-limited (the governor waits and retries; its concurrency budget,
//! 5 by default as on a shared-tier account, should normally prevent it),
//! 401/403 auth, other 4xx data (USER_ERROR on a closed order names the
//! record), 5xx and timeouts transient. A 404 on a read is `Ok(None)`.

mod records;
mod wire;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::Method;
use seam_config::{NetSuiteConfig, Secret};
use seam_engine::governor::{CallError, CallKind, Governor};
use seam_engine::{Failure, FailureClass, Store};
use serde::Serialize;

use crate::http::{HttpClient, RawResponse};

pub use records::{
    AdjustmentLine, AdjustmentReadLine, ApplyLine, FulfilmentLine, InventoryAdjustment,
    ReceiptLine, RecordKey, RecordType, Reference, ReturnLine, SalesOrder, SalesOrderLine, Sublist,
    Transaction, TransactionLine, DISCOUNT_LINE_FIELD,
};
pub use wire::{external_id_for, is_valid_external_id, ErrorDetail, ErrorDocument};

use records::{
    AdjustmentBody, AdjustmentBodyLine, CloseLine, CloseLinesBody, CollectionPage, TransformBody,
    TransformLine,
};

const SYSTEM: &str = "netsuite";
const RECORD_PATH: &str = "/services/rest/record/v1";
/// NetSuite's largest page.
const MAX_PAGE: usize = 1000;

/// A client for one NetSuite account's REST record API.
#[derive(Clone)]
pub struct NetSuiteClient {
    http: HttpClient,
    base: String,
    token: Secret,
    page_size: usize,
}

impl NetSuiteClient {
    /// Builds the client and its governor from the resolved config; with a
    /// PostgreSQL store the rate budgets are shared by every process.
    pub fn new(config: &NetSuiteConfig, store: Option<Arc<dyn Store>>) -> Self {
        let governor = crate::governor_for(SYSTEM, &config.budget, store);
        let url = config.url.trim_end_matches('/');
        let base = if url.ends_with(RECORD_PATH) {
            url.to_string()
        } else {
            format!("{url}{RECORD_PATH}")
        };
        NetSuiteClient {
            http: HttpClient::new(SYSTEM, governor, config.budget.timeout),
            base,
            token: config.token.clone(),
            page_size: MAX_PAGE,
        }
    }

    /// Page size of collection queries (1..=1000; NetSuite's maximum by default).
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.clamp(1, MAX_PAGE);
        self
    }

    pub fn governor(&self) -> &Arc<Governor> {
        self.http.governor()
    }

    // ------------------------------------------------------------ orders

    /// Creates or updates the sales order with this externalId
    /// (`PUT /salesOrder/eid:<ext>?replace=item`: the lines become exactly
    /// the ones sent), then reads it back with its lines and totals.
    pub async fn upsert_sales_order(
        &self,
        external_id: &str,
        order: &SalesOrder,
    ) -> Result<Transaction, Failure> {
        let key = RecordKey::external(external_id);
        let segment = key_segment(&key)?;
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(rename = "externalId")]
            external_id: &'a str,
            #[serde(flatten)]
            order: &'a SalesOrder,
        }
        let body = to_json(&Body { external_id, order })?;
        let url = format!(
            "{}/{}/{segment}?replace=item",
            self.base,
            RecordType::SalesOrder
        );
        let action = format!("the upsert of salesOrder externalId {external_id}");
        self.call(
            CallKind::Mutation,
            Method::PUT,
            &url,
            Some(body),
            |_| Ok(()),
        )
        .await
        .map_err(|failure| refine(failure, &action))?;
        self.read_back(RecordType::SalesOrder, &key).await
    }

    /// Reads a record by internal id or `eid:`, with its lines; `None` when
    /// NetSuite does not have it (never created, or deleted).
    pub async fn get_record(
        &self,
        kind: RecordType,
        key: &RecordKey,
    ) -> Result<Option<Transaction>, Failure> {
        let url = format!(
            "{}/{kind}/{}?expandSubResources=true",
            self.base,
            key_segment(key)?
        );
        let result = self
            .call(CallKind::Read, Method::GET, &url, None, |raw| {
                raw.json::<Transaction>(SYSTEM)
            })
            .await;
        match result {
            Ok(record) => Ok(Some(record)),
            Err(failure) if is_not_found(&failure) => Ok(None),
            Err(failure) => Err(refine(failure, &format!("reading {kind} {key}"))),
        }
    }

    /// The internal ids of records of `kind` modified at or after `since`
    /// (`q=lastModifiedDate ON_OR_AFTER "..."`), every page. NetSuite keeps
    /// whole seconds, so `since` is rounded down: a poller that passes its
    /// last high-water mark sees the boundary record again rather than miss
    /// one, and deduplicates by id and lastModifiedDate.
    pub async fn list_modified_since(
        &self,
        kind: RecordType,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, Failure> {
        // The date-time format of `q` follows the account's preferences in
        // NetSuite; ISO 8601 in UTC is what Seam sends (inferred).
        let query = format!(
            "lastModifiedDate ON_OR_AFTER \"{}\"",
            since.trunc_subsecs(0).format("%Y-%m-%dT%H:%M:%SZ")
        );
        let url = format!("{}/{kind}", self.base);
        let limit = self.page_size;
        let mut ids = Vec::new();
        let mut offset = 0;
        loop {
            let params = [
                ("q", query.clone()),
                ("limit", limit.to_string()),
                ("offset", offset.to_string()),
            ];
            let token = self.token.clone();
            let page: CollectionPage = self
                .http
                .send(
                    CallKind::Read,
                    |client| {
                        client
                            .get(&url)
                            .query(&params)
                            .bearer_auth(token.expose())
                            .header(ACCEPT, "application/json")
                    },
                    |raw| raw.json::<CollectionPage>(SYSTEM),
                )
                .await
                .map_err(|failure| refine(failure, &format!("listing {kind} by {query}")))?;
            let count = page.items.len();
            ids.extend(page.items.into_iter().map(|item| item.id));
            if !page.has_more || count == 0 {
                return Ok(ids);
            }
            // NetSuite wants the offset to be a multiple of the limit.
            offset += limit;
        }
    }

    /// Closes every open line of a sales order (PATCH `isclosed`; when all
    /// lines are closed NetSuite sets status H Closed) and reads it back.
    /// Closing a closed line changes nothing, so a replay is harmless.
    pub async fn close_sales_order(&self, id: &str) -> Result<Transaction, Failure> {
        let key = RecordKey::id(id);
        let order = self
            .get_record(RecordType::SalesOrder, &key)
            .await?
            .ok_or_else(|| not_found(RecordType::SalesOrder, &key))?;
        let open: Vec<CloseLine> = order
            .lines()
            .iter()
            .filter(|line| line.is_closed != Some(true))
            .map(|line| CloseLine {
                line: line.line,
                isclosed: true,
            })
            .collect();
        if open.is_empty() {
            return Ok(order);
        }
        let body = to_json(&CloseLinesBody {
            item: Sublist::new(open),
        })?;
        let url = format!(
            "{}/{}/{}",
            self.base,
            RecordType::SalesOrder,
            key_segment(&key)?
        );
        self.call(CallKind::Mutation, Method::PATCH, &url, Some(body), |_| {
            Ok(())
        })
        .await
        .map_err(|failure| refine(failure, &format!("closing salesOrder {id}")))?;
        self.read_back(RecordType::SalesOrder, &key).await
    }

    // ------------------------------------------------------------ transforms

    /// Fulfils the given order lines (`salesOrder/{id}/!transform/itemFulfillment`,
    /// shipped). Lines not named are left out, whatever remains on them.
    pub async fn fulfil(
        &self,
        sales_order_id: &str,
        external_id: &str,
        lines: &[FulfilmentLine],
    ) -> Result<Transaction, Failure> {
        let chosen = lines
            .iter()
            .map(|line| TransformLine {
                location: line.location.clone(),
                ..TransformLine::taking(line.order_line, line.quantity)
            })
            .collect();
        let body = TransformBody {
            external_id: external_id.to_string(),
            ship_status: Some(Reference::id("C")),
            memo: None,
            total: None,
            item: None,
        };
        self.transform(
            RecordType::SalesOrder,
            sales_order_id,
            RecordType::ItemFulfillment,
            body,
            Some(chosen),
        )
        .await
    }

    /// Authorises a return of the given order lines
    /// (`salesOrder/{id}/!transform/returnAuthorization`).
    pub async fn return_authorization(
        &self,
        sales_order_id: &str,
        external_id: &str,
        lines: &[ReturnLine],
    ) -> Result<Transaction, Failure> {
        let body = TransformBody {
            external_id: external_id.to_string(),
            ship_status: None,
            memo: None,
            total: None,
            item: None,
        };
        self.transform(
            RecordType::SalesOrder,
            sales_order_id,
            RecordType::ReturnAuthorization,
            body,
            Some(lines.iter().map(money_line).collect()),
        )
        .await
    }

    /// Receives returned units (`returnAuthorization/{id}/!transform/itemReceipt`);
    /// `restock` says whether they go back on hand.
    pub async fn receive_return(
        &self,
        return_authorization_id: &str,
        external_id: &str,
        lines: &[ReceiptLine],
        restock: bool,
    ) -> Result<Transaction, Failure> {
        let chosen = lines
            .iter()
            .map(|line| TransformLine {
                location: line.location.clone(),
                restock: Some(restock),
                ..TransformLine::taking(line.order_line, line.quantity)
            })
            .collect();
        let body = TransformBody {
            external_id: external_id.to_string(),
            ship_status: None,
            memo: None,
            total: None,
            item: None,
        };
        self.transform(
            RecordType::ReturnAuthorization,
            return_authorization_id,
            RecordType::ItemReceipt,
            body,
            Some(chosen),
        )
        .await
    }

    /// Credits a return (`returnAuthorization/{id}/!transform/creditMemo`).
    /// With no lines, NetSuite credits everything not yet credited; with
    /// lines, only those, at the amounts given.
    pub async fn credit_memo(
        &self,
        return_authorization_id: &str,
        external_id: &str,
        lines: &[ReturnLine],
    ) -> Result<Transaction, Failure> {
        let body = TransformBody {
            external_id: external_id.to_string(),
            ship_status: None,
            memo: None,
            total: None,
            item: None,
        };
        let chosen = (!lines.is_empty()).then(|| lines.iter().map(money_line).collect());
        self.transform(
            RecordType::ReturnAuthorization,
            return_authorization_id,
            RecordType::CreditMemo,
            body,
            chosen,
        )
        .await
    }

    /// Refunds a credit memo (`creditMemo/{id}/!transform/customerRefund`):
    /// the whole remaining credit, or `amount`. The money itself moves at
    /// the payment provider; this records it in the ledger.
    pub async fn customer_refund(
        &self,
        credit_memo_id: &str,
        external_id: &str,
        amount: Option<rust_decimal::Decimal>,
    ) -> Result<Transaction, Failure> {
        let body = TransformBody {
            external_id: external_id.to_string(),
            ship_status: None,
            memo: None,
            total: amount,
            item: None,
        };
        self.transform(
            RecordType::CreditMemo,
            credit_memo_id,
            RecordType::CustomerRefund,
            body,
            None,
        )
        .await
    }

    /// Posts an inventory adjustment (signed `adjustQtyBy` per item) with
    /// this externalId; a replay returns the adjustment already posted.
    pub async fn inventory_adjustment(
        &self,
        external_id: &str,
        adjustment: &InventoryAdjustment,
    ) -> Result<Transaction, Failure> {
        let key = RecordKey::external(external_id);
        key_segment(&key)?;
        let body = AdjustmentBody {
            external_id: external_id.to_string(),
            account: adjustment.account.clone(),
            adj_location: adjustment.location.clone(),
            subsidiary: adjustment.subsidiary.clone(),
            memo: adjustment.memo.clone(),
            inventory: Sublist::new(
                adjustment
                    .lines
                    .iter()
                    .map(|line| AdjustmentBodyLine {
                        item: line.item.clone(),
                        location: line
                            .location
                            .clone()
                            .unwrap_or_else(|| adjustment.location.clone()),
                        adjust_qty_by: line.adjust_qty_by,
                        unit_cost: line.unit_cost,
                    })
                    .collect(),
            ),
        };
        let url = format!("{}/{}", self.base, RecordType::InventoryAdjustment);
        let action = format!("inventoryAdjustment externalId {external_id}");
        self.create_once(
            RecordType::InventoryAdjustment,
            &key,
            &url,
            &body,
            None,
            &action,
        )
        .await
    }

    // ------------------------------------------------------------ internals

    /// A transform whose new record carries `body.external_id`. With
    /// `chosen` lines, every other open source line is sent with
    /// `itemreceive: false`, since a transform otherwise copies them all.
    async fn transform(
        &self,
        source: RecordType,
        source_id: &str,
        target: RecordType,
        mut body: TransformBody,
        chosen: Option<Vec<TransformLine>>,
    ) -> Result<Transaction, Failure> {
        let source_key = RecordKey::id(source_id);
        let source_segment = key_segment(&source_key)?;
        let key = RecordKey::external(body.external_id.clone());
        key_segment(&key)?;
        let action = format!(
            "{target} externalId {} from {source} {source_id}",
            body.external_id
        );
        if let Some(mut lines) = chosen {
            // The source's line ids are keys, not indexes: read them. A source
            // that is gone is left to the transform to refuse (or, on a
            // replay, to the read-back of the record already made).
            if let Some(record) = self.get_record(source, &source_key).await? {
                for line in record.lines() {
                    if !lines.iter().any(|chosen| chosen.order_line == line.line) {
                        lines.push(TransformLine::left_out(line.line));
                    }
                }
            }
            lines.sort_by_key(|line| line.order_line);
            body.item = Some(Sublist::new(lines));
        }
        let url = format!(
            "{}/{source}/{source_segment}/!transform/{target}",
            self.base
        );
        self.create_once(target, &key, &url, &body, Some(source_id), &action)
            .await
    }

    /// POSTs a new record carrying the externalId of `key`, then reads it
    /// back. When NetSuite refuses it as a duplicate, or the answer is lost
    /// (timeout, server error: the record may exist all the same), the
    /// record already made is read back by `eid:` and returned, provided it
    /// came from the same source.
    async fn create_once(
        &self,
        kind: RecordType,
        key: &RecordKey,
        url: &str,
        body: &impl Serialize,
        source_id: Option<&str>,
        action: &str,
    ) -> Result<Transaction, Failure> {
        let body = to_json(body)?;
        let posted = self
            .call(CallKind::Mutation, Method::POST, url, Some(body), |raw| {
                Ok(location_id(&raw))
            })
            .await;
        let failure = match posted {
            Ok(_) => return self.read_back(kind, key).await,
            Err(failure) => failure,
        };
        let may_exist = is_duplicate(&failure) || failure.class == FailureClass::Transient;
        if !may_exist {
            return Err(refine(failure, action));
        }
        let existing = match self.get_record(kind, key).await {
            Ok(Some(existing)) => existing,
            // Nothing to return: the original failure is the story.
            Ok(None) | Err(_) => return Err(refine(failure, action)),
        };
        if let (Some(expected), Some(actual)) = (source_id, existing.created_from_id()) {
            if expected != actual {
                return Err(Failure::data(format!(
                    "NetSuite already has a {kind} with externalId {key_text} created from {actual}, \
                     not from {expected}: two records were given the same externalId",
                    key_text = external_text(key)
                )));
            }
        }
        tracing::info!(
            record = %kind,
            external_id = %external_text(key),
            id = %existing.id,
            "NetSuite already had this record; returning it (replay)"
        );
        Ok(existing)
    }

    /// Reads a record just written; its absence is transient (the write
    /// answered but the record is not visible yet).
    async fn read_back(&self, kind: RecordType, key: &RecordKey) -> Result<Transaction, Failure> {
        self.get_record(kind, key).await?.ok_or_else(|| {
            Failure::transient(format!(
                "NetSuite accepted the write but {kind} {key} cannot be read back yet"
            ))
        })
    }

    async fn call<T>(
        &self,
        kind: CallKind,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
        interpret: impl Fn(RawResponse) -> Result<T, CallError>,
    ) -> Result<T, Failure> {
        let token = self.token.clone();
        self.http
            .send(
                kind,
                |client| {
                    let request = client
                        .request(method.clone(), url)
                        .bearer_auth(token.expose())
                        .header(ACCEPT, "application/json");
                    match &body {
                        Some(body) => request
                            .header(CONTENT_TYPE, "application/json")
                            .body(body.clone()),
                        None => request,
                    }
                },
                interpret,
            )
            .await
    }
}

/// The line of a return or credit, with its money overrides.
fn money_line(line: &ReturnLine) -> TransformLine {
    TransformLine {
        rate: line.rate,
        amount: line.amount,
        tax_rate: line.tax_rate,
        discount: line.discount,
        tax_amount: line.tax_amount,
        ..TransformLine::taking(line.order_line, line.quantity)
    }
}

fn key_segment(key: &RecordKey) -> Result<String, Failure> {
    key.segment().map_err(Failure::data)
}

fn external_text(key: &RecordKey) -> &str {
    match key {
        RecordKey::Id(id) | RecordKey::External(id) => id,
    }
}

fn to_json(body: &impl Serialize) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(body)
        .map_err(|error| Failure::data(format!("cannot write the NetSuite request: {error}")))
}

/// The new record's internal id from `Location: …/<type>/<id>`.
fn location_id(raw: &RawResponse) -> Option<String> {
    let location = raw.headers.get(LOCATION)?.to_str().ok()?;
    let id = location.trim_end_matches('/').rsplit('/').next()?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_string())
}

fn not_found(kind: RecordType, key: &RecordKey) -> Failure {
    Failure::data(format!(
        "NetSuite has no {kind} {key} (it was never created or has been deleted)"
    ))
}

/// Whether a failure is NetSuite's 404 (the record does not exist).
pub fn is_not_found(failure: &Failure) -> bool {
    if failure.class != FailureClass::Data {
        return false;
    }
    match ErrorDocument::find(&failure.message) {
        Some(document) if document.status.is_some() => document.status == Some(404),
        _ => failure.message.contains("rejected the request (404)"),
    }
}

/// Whether a failure is NetSuite refusing a second record with an
/// externalId already used (`DUP_RCRD`; a 409 where a proxy says so).
pub fn is_duplicate(failure: &Failure) -> bool {
    if failure.class == FailureClass::Duplicate {
        return true;
    }
    ErrorDocument::find(&failure.message).is_some_and(|document| {
        document.has_code("DUP_RCRD")
            || document.has_code("DUP_ENTITY")
            || document.has_code("DUP_ITEM")
    })
}

/// Rewrites a failure around NetSuite's error document: the message names
/// what was being done and carries NetSuite's details; the class follows
/// the status (a RESTlet-style 400 `SSS_REQUEST_LIMIT_EXCEEDED` or a 429
/// code is a rate limit whatever the status).
fn refine(failure: Failure, action: &str) -> Failure {
    let Some(document) = ErrorDocument::find(&failure.message) else {
        return Failure {
            message: format!("NetSuite, {action}: {}", failure.message),
            ..failure
        };
    };
    let limited = document.status == Some(429)
        || document.has_code("CONCURRENCY_LIMIT_EXCEEDED")
        || document.has_code("SSS_REQUEST_LIMIT_EXCEEDED");
    let class = if limited {
        FailureClass::RateLimited
    } else {
        failure.class
    };
    let status = document
        .status
        .map(|status| format!(" ({status})"))
        .unwrap_or_default();
    Failure {
        class,
        message: format!("NetSuite refused {action}{status}: {}", document.describe()),
        retry_after: failure.retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_rewritten_around_the_error_document() {
        let failure = Failure::data(
            r#"netsuite rejected the request (400): netsuite: {"type":"t","title":"Bad Request","status":400,"o:errorDetails":[{"detail":"The original salesOrder SO1 is closed.","o:errorCode":"USER_ERROR"}]}"#,
        );
        let refined = refine(
            failure,
            "creditMemo externalId X from returnAuthorization 7",
        );
        assert_eq!(refined.class, FailureClass::Data);
        assert_eq!(
            refined.message,
            "NetSuite refused creditMemo externalId X from returnAuthorization 7 (400): USER_ERROR: The original salesOrder SO1 is closed."
        );
        let limited = Failure::data(
            r#"netsuite rejected the request (400): netsuite: {"status":400,"o:errorDetails":[{"detail":"busy","o:errorCode":"SSS_REQUEST_LIMIT_EXCEEDED"}]}"#,
        );
        assert_eq!(refine(limited, "x").class, FailureClass::RateLimited);
        let missing = Failure::data(
            r#"netsuite rejected the request (404): netsuite: {"status":404,"o:errorDetails":[{"detail":"gone","o:errorCode":"NONEXISTENT_ID"}]}"#,
        );
        assert!(is_not_found(&missing));
        assert!(!is_not_found(&Failure::data("rejected the request (400)")));
        let duplicate = Failure::data(
            r#"netsuite: {"status":400,"o:errorDetails":[{"detail":"exists","o:errorCode":"DUP_RCRD"}]}"#,
        );
        assert!(is_duplicate(&duplicate));
        assert!(!is_duplicate(&missing));
    }

    #[test]
    fn record_keys_are_checked_before_they_reach_a_url() {
        assert_eq!(RecordKey::id("42").segment(), Ok("42".to_string()));
        assert!(RecordKey::id("../42").segment().is_err());
        assert_eq!(
            RecordKey::external("CENTRA-1").segment(),
            Ok("eid:CENTRA-1".to_string())
        );
        assert!(RecordKey::external("a b").segment().is_err());
    }

    #[test]
    fn amounts_travel_as_exact_number_text() {
        let line = SalesOrderLine {
            tax_rate: Some(rust_decimal::Decimal::new(25, 0)),
            discount: Some(rust_decimal::Decimal::new(1000, 2)),
            ..SalesOrderLine::new(
                Reference::external("SKU-1"),
                rust_decimal::Decimal::new(2, 0),
                rust_decimal::Decimal::new(4999, 2),
            )
        };
        let text = serde_json::to_string(&line).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"item":{"externalId":"SKU-1"},"quantity":2,"rate":49.99,"taxRate1":25,"custcol_discount_amount":10}"#
        );
        let read: TransactionLine = serde_json::from_str(
            r#"{"line":3,"quantity":2,"rate":0.1,"amount":"0.30","tax1Amt":12345678901234567.89}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.rate, Some(rust_decimal::Decimal::new(1, 1)));
        assert_eq!(read.amount, Some(rust_decimal::Decimal::new(30, 2)));
        assert_eq!(
            read.tax_amount.map(|d| d.to_string()),
            Some("12345678901234567.89".to_string())
        );
    }
}
