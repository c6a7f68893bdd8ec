//! The NetSuite simulator over real HTTP: auth, records, upserts, transforms,
//! closed and archived orders, governance, queries and injected faults.

use std::time::Duration;

use base64::Engine;
use reqwest::{Client, Response, StatusCode};
use seam_sandbox::netsuite::{start, CustomerSeed, ItemSeed, NetSuiteConfig, NetSuiteSim};
use seam_sandbox::server::RunningServer;
use serde_json::{json, Value};

const TOKEN: &str = "netsuite-sandbox-token";

struct Harness {
    sim: NetSuiteSim,
    server: RunningServer,
    client: Client,
}

impl Harness {
    async fn new() -> Harness {
        let (sim, server) = start(NetSuiteConfig::default(), 7, 0)
            .await
            .expect("the simulator starts");
        for (sku, price) in [("SKU-1", "49.99"), ("SKU-2", "10.00"), ("SKU-3", "5.50")] {
            sim.seed_item(&ItemSeed {
                sku: sku.to_string(),
                base_price: price.parse().ok(),
                cost: "4.00".parse().ok(),
                ..ItemSeed::default()
            })
            .expect("item seeded");
        }
        sim.seed_customer(&CustomerSeed {
            external_id: "CUST-1".to_string(),
            company_name: Some("Ada Lovelace".to_string()),
            email: None,
        })
        .expect("customer seeded");
        Harness {
            sim,
            server,
            client: Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    fn record(&self, path: &str) -> String {
        self.url(&format!("/services/rest/record/v1/{path}"))
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self
            .client
            .request(method, self.record(path))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request sent")
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self.send(reqwest::Method::GET, path, None).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POSTs and returns the new id from Location (asserting 204).
    async fn create(&self, path: &str, body: Value) -> String {
        let response = self.send(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "{:?}",
            response.text().await
        );
        location_id(&response)
    }

    async fn post_error(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self.send(reqwest::Method::POST, path, Some(body)).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn order(&self, external_id: &str) -> String {
        self.create(
            "salesOrder",
            json!({
                "externalId": external_id,
                "entity": {"externalId": "CUST-1"},
                "tranDate": "2024-05-01",
                "currency": {"refName": "EUR"},
                "item": {"items": [
                    {"item": {"externalId": "SKU-1"}, "quantity": 3, "rate": 49.99, "taxRate1": 25},
                    {"item": {"externalId": "SKU-2"}, "quantity": 1, "rate": 10, "taxRate1": 25}
                ]}
            }),
        )
        .await
    }

    async fn admin(&self, path: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("admin request")
    }
}

fn location_id(response: &Response) -> String {
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location header")
        .to_string();
    location.rsplit('/').next().unwrap_or_default().to_string()
}

fn error_code(body: &Value) -> &str {
    body["o:errorDetails"][0]["o:errorCode"]
        .as_str()
        .unwrap_or_default()
}

fn status_of(body: &Value) -> &str {
    body["orderStatus"]["id"].as_str().unwrap_or_default()
}

fn jwt(claims: Value) -> String {
    let encode = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = json!({"alg": "PS256", "typ": "JWT", "kid": "cert-1"});
    format!("{}.{}.bm90LXZlcmlmaWVk", encode(header), encode(claims))
}

#[tokio::test]
async fn token_endpoint_issues_a_bearer_and_bad_tokens_get_401() {
    let h = Harness::new().await;
    let token_url = h.url("/services/rest/auth/oauth2/v1/token");
    let now = chrono::Utc::now().timestamp();
    let assertion = jwt(json!({
        "iss": "seam-sandbox-client", "scope": "rest_webservices",
        "aud": token_url, "iat": now, "exp": now + 1800
    }));
    let form = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let response = h
        .client
        .post(&token_url)
        .form(&form)
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], "3600");
    let access = body["access_token"].as_str().expect("a token").to_string();
    let ok = h
        .client
        .get(h.record("salesOrder"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("get");
    assert_eq!(ok.status(), StatusCode::OK);

    let wrong_client = jwt(json!({
        "iss": "someone-else", "scope": "rest_webservices",
        "aud": token_url, "iat": now, "exp": now + 1800
    }));
    let form = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", wrong_client.as_str()),
    ];
    let refused = h
        .client
        .post(&token_url)
        .form(&form)
        .send()
        .await
        .expect("token");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

    for auth in [Some("Bearer nope"), None] {
        let mut request = h.client.get(h.record("salesOrder"));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.expect("get");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            body["type"],
            "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2"
        );
        assert_eq!(body["title"], "Unauthorized");
        assert_eq!(body["status"], 401);
        assert_eq!(error_code(&body), "INVALID_LOGIN");
        let detail = body["o:errorDetails"][0]["detail"]
            .as_str()
            .unwrap_or_default();
        assert!(detail.starts_with("Invalid login attempt."), "{detail}");
    }

    h.sim.expire_tokens();
    let expired = h
        .client
        .get(h.record("salesOrder"))
        .bearer_auth(&access)
        .send()
        .await;
    assert_eq!(
        expired.map(|r| r.status()).ok(),
        Some(StatusCode::UNAUTHORIZED)
    );
}

#[tokio::test]
async fn create_answers_204_with_location_and_the_record_reads_back() {
    let h = Harness::new().await;
    let response = h
        .send(
            reqwest::Method::POST,
            "salesOrder",
            Some(json!({
                "externalId": "CENTRA-1001",
                "entity": {"externalId": "CUST-1"},
                "memo": "web order",
                "shippingCost": 4.95,
                "item": {"items": [
                    {"item": {"externalId": "SKU-1"}, "quantity": 2, "rate": 49.99,
                     "taxRate1": 25, "custcol_discount_amount": 10},
                    {"item": {"refName": "SKU-3"}, "quantity": 1}
                ]}
            })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let location = response.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    let id = location_id(&response);
    assert_eq!(location, h.record(&format!("salesOrder/{id}")));

    let (status, order) = h.get(&format!("salesOrder/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(order["id"], id.as_str());
    assert_eq!(order["externalId"], "CENTRA-1001");
    assert_eq!(status_of(&order), "B");
    // 2 × 49.99 + 5.50 = 105.48; discount 10; tax 25 % of 89.98 = 22.50.
    assert_eq!(order["subtotal"].to_string(), "105.48");
    assert_eq!(order["discountTotal"].to_string(), "-10");
    assert_eq!(order["taxTotal"].to_string(), "22.5");
    assert_eq!(order["total"].to_string(), "122.93");
    assert!(
        order["item"]["links"].is_array(),
        "sublists are links unless expanded"
    );

    let (_, by_eid) = h.get("SALESORDER/eid:CENTRA-1001").await;
    assert_eq!(
        by_eid["id"],
        id.as_str(),
        "type names match case-insensitively"
    );
    let (_, lines) = h.get(&format!("salesOrder/{id}/item")).await;
    let items = lines["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["line"], 1);
    assert_eq!(items[0]["rate"].to_string(), "49.99");
    assert_eq!(items[1]["rate"].to_string(), "5.5", "the item's base price");
    let (_, expanded) = h
        .get(&format!("salesOrder/{id}?expandSubResources=true"))
        .await;
    assert_eq!(expanded["item"]["items"].as_array().map(Vec::len), Some(2));
    let (missing, body) = h.get("salesOrder/eid:NOPE").await;
    assert_eq!(missing, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "NONEXISTENT_ID");
}

#[tokio::test]
async fn upsert_by_external_id_creates_then_updates_one_record() {
    let h = Harness::new().await;
    let body = |memo: &str| {
        json!({
            "entity": {"externalId": "CUST-1"}, "memo": memo,
            "item": {"items": [{"item": {"externalId": "SKU-2"}, "quantity": 2, "rate": 10}]}
        })
    };
    let first = h
        .send(
            reqwest::Method::PUT,
            "salesOrder/eid:CENTRA-2002?replace=item",
            Some(body("one")),
        )
        .await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let id = location_id(&first);
    let second = h
        .send(
            reqwest::Method::PUT,
            "salesOrder/eid:CENTRA-2002?replace=item",
            Some(body("two")),
        )
        .await;
    assert_eq!(second.status(), StatusCode::NO_CONTENT);
    assert_eq!(location_id(&second), id);
    assert_eq!(h.sim.counts().get("salesOrder"), Some(&1));
    let (_, order) = h
        .get("salesOrder/eid:CENTRA-2002?expandSubResources=true")
        .await;
    assert_eq!(order["memo"], "two");
    assert_eq!(order["item"]["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(order["total"].to_string(), "20");

    let by_id = h
        .send(
            reqwest::Method::PUT,
            &format!("salesOrder/{id}"),
            Some(body("x")),
        )
        .await;
    assert!(by_id.status().is_client_error(), "upsert needs eid:");
}

#[tokio::test]
async fn external_ids_are_validated_and_unique() {
    let h = Harness::new().await;
    let (status, body) = h
        .post_error(
            "salesOrder",
            json!({"externalId": "CENTRA 1/2", "entity": {"externalId": "CUST-1"},
                   "item": {"items": [{"item": {"externalId": "SKU-1"}, "quantity": 1}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "USER_ERROR");
    assert_eq!(body["o:errorDetails"][0]["o:errorPath"], "externalId");

    h.order("CENTRA-3003").await;
    let (status, body) = h
        .post_error(
            "salesOrder",
            json!({"externalId": "CENTRA-3003", "entity": {"externalId": "CUST-1"},
                   "item": {"items": [{"item": {"externalId": "SKU-1"}, "quantity": 1}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "DUP_RCRD");

    let (status, body) = h
        .post_error(
            "salesOrder",
            json!({"entity": {"externalId": "CUST-1"},
                   "item": {"items": [{"item": {"externalId": "NO-SUCH-SKU"}, "quantity": 1}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["o:errorDetails"][0]["o:errorPath"],
        "item.items[0].item"
    );
    assert_eq!(h.sim.counts().get("salesOrder"), Some(&1));
}

#[tokio::test]
async fn fulfilment_is_partial_then_complete_and_never_exceeds_the_order() {
    let h = Harness::new().await;
    let so = h.order("CENTRA-4004").await;
    let transform = format!("salesOrder/{so}/!transform/itemFulfillment");
    let partial = format!("{transform}?replace=item");
    let fulfilment = h
        .create(&partial, json!({"externalId": "ACS-DISP-1", "item": {"items": [{"orderLine": 1, "quantity": 2}]}}))
        .await;
    let (_, order) = h.get(&format!("salesOrder/{so}")).await;
    assert_eq!(status_of(&order), "D");
    let (_, shipped) = h
        .get(&format!(
            "itemFulfillment/{fulfilment}?expandSubResources=true"
        ))
        .await;
    assert_eq!(shipped["createdFrom"]["id"], so.as_str());
    assert_eq!(shipped["item"]["items"][0]["orderLine"], 1);
    assert_eq!(shipped["item"]["items"][0]["quantity"].to_string(), "2");

    let (status, body) = h
        .post_error(&partial, json!({"externalId": "ACS-DISP-2", "item": {"items": [{"orderLine": 1, "quantity": 2}]}}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "USER_ERROR");

    // Without replace=item every open line comes along with what is left.
    let (status, body) = h
        .post_error(&transform, json!({"externalId": "ACS-DISP-1"}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "DUP_RCRD")
    );
    let (_, existing) = h.get("itemFulfillment/eid:ACS-DISP-1").await;
    assert_eq!(existing["id"], fulfilment.as_str());
    h.create(&transform, json!({"externalId": "ACS-DISP-3"}))
        .await;
    let (_, order) = h.get(&format!("salesOrder/{so}/item")).await;
    assert_eq!(order["items"][0]["quantityFulfilled"].to_string(), "3");
    assert_eq!(order["items"][1]["quantityBilled"].to_string(), "1");
    let (_, order) = h.get(&format!("salesOrder/{so}")).await;
    assert_eq!(
        status_of(&order),
        "G",
        "fulfilment bills without Advanced Shipping"
    );

    let (status, body) = h
        .post_error(&transform, json!({"externalId": "ACS-DISP-4"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let detail = body["o:errorDetails"][0]["detail"]
        .as_str()
        .unwrap_or_default();
    assert!(detail.contains("at least one valid line item"), "{detail}");
    assert_eq!(h.sim.counts().get("itemFulfillment"), Some(&2));
}

#[tokio::test]
async fn a_return_is_received_credited_and_refunded() {
    let h = Harness::new().await;
    let so = h.order("CENTRA-5005").await;
    h.create(
        &format!("salesOrder/{so}/!transform/itemFulfillment"),
        json!({"externalId": "DISP-5"}),
    )
    .await;
    let ra = h
        .create(
            &format!("salesOrder/{so}/!transform/returnAuthorization?replace=item"),
            json!({"externalId": "REVENI-RET-5", "item": {"items": [{"orderLine": 1, "quantity": 1}]}}),
        )
        .await;
    let (_, rma) = h.get(&format!("returnAuthorization/{ra}")).await;
    assert_eq!(status_of(&rma), "B");
    assert_eq!(rma["total"].to_string(), "62.49", "49.99 + 25 % tax");

    h.create(
        &format!("returnAuthorization/{ra}/!transform/itemReceipt"),
        json!({"externalId": "REVENI-RET-5-RCPT", "item": {"items": [{"orderLine": 1, "quantity": 1, "restock": true}]}}),
    )
    .await;
    let (_, rma) = h.get(&format!("returnAuthorization/{ra}")).await;
    assert_eq!(status_of(&rma), "F");

    let cm = h
        .create(
            &format!("returnAuthorization/{ra}/!transform/creditMemo"),
            json!({"externalId": "REVENI-RET-5-CM"}),
        )
        .await;
    let (_, credit) = h.get(&format!("creditMemo/{cm}")).await;
    assert_eq!(credit["total"].to_string(), "62.49");
    assert_eq!(credit["status"]["id"], "Open");
    let (_, rma) = h.get(&format!("returnAuthorization/{ra}")).await;
    assert_eq!(status_of(&rma), "G");

    let refund = h
        .create(
            &format!("creditMemo/{cm}/!transform/customerRefund"),
            json!({"externalId": "REVENI-RET-5-REF"}),
        )
        .await;
    let (_, refunded) = h.get(&format!("customerRefund/{refund}")).await;
    assert_eq!(refunded["total"].to_string(), "62.49");
    let (_, credit) = h.get(&format!("creditMemo/{cm}")).await;
    assert_eq!(credit["amountRemaining"].to_string(), "0");
    assert_eq!(credit["status"]["id"], "Fully Applied");
    let (status, _) = h
        .post_error(
            &format!("creditMemo/{cm}/!transform/customerRefund"),
            json!({"externalId": "REVENI-RET-5-REF2"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "nothing left to refund");
}

#[tokio::test]
async fn closed_orders_refuse_new_children() {
    let h = Harness::new().await;
    let so = h.order("CENTRA-6006").await;
    h.create(
        &format!("salesOrder/{so}/!transform/itemFulfillment?replace=item"),
        json!({"externalId": "DISP-6", "item": {"items": [{"orderLine": 1, "quantity": 1}]}}),
    )
    .await;
    let ra = h
        .create(
            &format!("salesOrder/{so}/!transform/returnAuthorization"),
            json!({"externalId": "RET-6"}),
        )
        .await;

    // Closing by PATCH of every line, as NetSuite documents.
    let patch = h
        .send(
            reqwest::Method::PATCH,
            &format!("salesOrder/{so}"),
            Some(json!({"item": {"items": [{"line": 1, "isclosed": true}, {"line": 2, "isclosed": true}]}})),
        )
        .await;
    assert_eq!(patch.status(), StatusCode::NO_CONTENT);
    let (_, order) = h.get(&format!("salesOrder/{so}")).await;
    assert_eq!(status_of(&order), "H");

    let (status, body) = h
        .post_error(
            &format!("salesOrder/{so}/!transform/itemFulfillment"),
            json!({"externalId": "DISP-7"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], 400);
    assert_eq!(body["title"], "Bad Request");
    assert_eq!(error_code(&body), "USER_ERROR");
    let (status, body) = h
        .post_error(
            &format!("returnAuthorization/{ra}/!transform/creditMemo"),
            json!({"externalId": "RET-6-CM"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "credit on a closed order (S08)"
    );
    assert_eq!(error_code(&body), "USER_ERROR");
    assert_eq!(h.sim.counts().get("creditMemo"), Some(&0));
}

#[tokio::test]
async fn archived_orders_answer_404_and_refuse_transforms() {
    let h = Harness::new().await;
    let so = h.order("CENTRA-7007").await;
    let archived = h
        .admin(
            &format!("/_admin/records/salesOrder/{so}/archive"),
            json!({}),
        )
        .await;
    assert_eq!(archived.status(), StatusCode::NO_CONTENT);
    let (status, body) = h.get(&format!("salesOrder/{so}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "NONEXISTENT_ID");
    let (status, _) = h.get("salesOrder/eid:CENTRA-7007").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = h
        .post_error(
            &format!("salesOrder/{so}/!transform/itemFulfillment"),
            json!({"externalId": "DISP-8"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "USER_ERROR")
    );
    let inspect: Value = h
        .client
        .get(h.url(&format!("/_admin/records/salesOrder/{so}")))
        .send()
        .await
        .expect("admin")
        .json()
        .await
        .expect("json");
    assert_eq!(inspect["archived"], true);
    assert_eq!(h.sim.counts().get("salesOrder"), Some(&0));
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_get_429() {
    let h = Harness::new().await;
    let set = h
        .admin("/_admin/governance", json!({"limit": 2, "holdMs": 800}))
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let client = h.client.clone();
        let url = h.record("salesOrder");
        tasks.push(tokio::spawn(async move {
            let response = client
                .get(url)
                .bearer_auth(TOKEN)
                .send()
                .await
                .expect("get");
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }));
    }
    let mut ok = 0;
    let mut limited = 0;
    for task in tasks {
        let (status, body) = task.await.expect("task");
        if status == StatusCode::OK {
            ok += 1;
        } else {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(error_code(&body), "CONCURRENCY_LIMIT_EXCEEDED");
            limited += 1;
        }
    }
    assert!(ok >= 2 && limited >= 1, "ok {ok}, limited {limited}");
    assert_eq!(h.sim.governance().in_flight, 0, "slots are given back");
}

#[tokio::test]
async fn last_modified_query_finds_an_order_edited_in_netsuite() {
    let h = Harness::new().await;
    let edited = h.order("CENTRA-8008").await;
    h.order("CENTRA-8009").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let since = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
    let edit = h
        .admin(
            &format!("/_admin/orders/{edited}/edit"),
            json!({"edits": [
                {"op": "setQuantity", "line": 2, "quantity": 2},
                {"op": "addLine", "sku": "SKU-3", "quantity": 1, "rate": 5.5, "taxRate": 25}
            ]}),
        )
        .await;
    assert_eq!(edit.status(), StatusCode::NO_CONTENT);

    let query = format!("lastModifiedDate ON_OR_AFTER \"{since}\"");
    let response = h
        .client
        .get(h.record("salesOrder"))
        .query(&[("q", query.as_str()), ("limit", "10")])
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("query");
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.expect("json");
    assert_eq!(page["totalResults"], 1);
    assert_eq!(page["hasMore"], false);
    assert_eq!(page["items"][0]["id"], edited.as_str());

    let (_, lines) = h.get(&format!("salesOrder/{edited}/item")).await;
    assert_eq!(lines["items"][2]["line"], 3);
    // 3 × 49.99 + 2 × 10 + 5.50 = 175.47, tax 43.87 (per line: 37.49 + 5 + 1.38).
    let (_, order) = h.get(&format!("salesOrder/{edited}")).await;
    assert_eq!(order["subtotal"].to_string(), "175.47");
    assert_eq!(order["total"].to_string(), "219.34");

    let bad = h
        .client
        .get(h.record("salesOrder"))
        .query(&[("q", "lastModifiedDate SOMETIME \"x\"")])
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("query");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn fail_next_gives_three_503s() {
    let h = Harness::new().await;
    let set = h.admin("/_admin/faults", json!({"fail_next": 3})).await;
    assert_eq!(set.status(), StatusCode::OK);
    for _ in 0..3 {
        let (status, _) = h.get("salesOrder").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
    let (status, _) = h.get("salesOrder").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn inventory_adjustment_records_a_valued_write_off() {
    let h = Harness::new().await;
    let id = h
        .create(
            "inventoryAdjustment",
            json!({"externalId": "ACS-BER-1", "account": {"id": "300"}, "adjLocation": {"id": "7"},
            "subsidiary": {"id": "1"}, "memo": "Beyond Economic Repair",
            "inventory": {"items": [
                {"item": {"externalId": "SKU-1"}, "location": {"id": "7"}, "adjustQtyBy": -2}
            ]}}),
        )
        .await;
    let (_, adjustment) = h
        .get(&format!("inventoryAdjustment/{id}?expandSubResources=true"))
        .await;
    assert_eq!(
        adjustment["estimatedTotalValue"].to_string(),
        "-8",
        "2 × cost 4.00"
    );
    assert_eq!(
        adjustment["inventory"]["items"][0]["adjustQtyBy"].to_string(),
        "-2"
    );
    assert_eq!(adjustment["memo"], "Beyond Economic Repair");
}
