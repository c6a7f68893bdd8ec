//! The Centra simulator over real HTTP: auth, permissions, rate limits,
//! shipments and captures, stock accounting, events, webhooks and faults.

use std::str::FromStr;

use rust_decimal::Decimal;
use seam_sandbox::centra::{
    self, AddressData, CatalogueSeed, CentraConfig, CentraSim, NewOrder, NewOrderLine,
    RateLimitConfig, SeedProduct, SeedSize, SeedStock, SeedVariant, TokenConfig, WebhookTarget,
    DEFAULT_TOKEN,
};
use seam_sandbox::server::RunningServer;
use serde_json::{json, Value};

async fn start_with(config: CentraConfig) -> (CentraSim, RunningServer) {
    let (sim, server) = centra::start(config, 7, 0).await.expect("start");
    sim.seed_catalogue(&CatalogueSeed {
        warehouses: vec!["Main".into()],
        products: vec![SeedProduct {
            product_number: "TEE".into(),
            name: "Tee".into(),
            variants: vec![SeedVariant {
                variant_number: "BLK".into(),
                name: "Black".into(),
                sizes: ["S", "M"]
                    .iter()
                    .map(|s| SeedSize {
                        name: (*s).into(),
                        ean: Some(format!("73{s}")),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        stock: vec![
            SeedStock {
                sku: "TEEBLKS".into(),
                warehouse: "Main".into(),
                physical: 10,
            },
            SeedStock {
                sku: "TEEBLKM".into(),
                warehouse: "Main".into(),
                physical: 5,
            },
        ],
    })
    .expect("seed");
    (sim, server)
}

async fn start() -> (CentraSim, RunningServer) {
    start_with(CentraConfig::default()).await
}

fn order(sku: &str, quantity: i32) -> NewOrder {
    NewOrder {
        lines: vec![NewOrderLine {
            sku: sku.into(),
            quantity,
            unit_price: Decimal::from_str("19.99").unwrap_or_default(),
            tax_percent: Decimal::from(25),
            ..Default::default()
        }],
        currency: "EUR".into(),
        shipping_method: "Express".into(),
        shipping_price: Decimal::from(5),
        shipping_tax_percent: Decimal::from(25),
        shipping_address: AddressData {
            first_name: "Ada".into(),
            country_code: "SE".into(),
            ..Default::default()
        },
        customer_email: "ada@example.com".into(),
        psp_reference: "PSP123".into(),
        ..Default::default()
    }
}

async fn gql_as(
    server: &RunningServer,
    token: &str,
    query: &str,
    variables: Value,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/graphql", server.base_url()))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request")
}

async fn gql(server: &RunningServer, query: &str, variables: Value) -> Value {
    let response = gql_as(server, DEFAULT_TOKEN, query, variables).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

const CREATE_SHIPMENT: &str = r#"mutation($n: Int!, $capture: Boolean) {
  createShipment(input: {order: {number: $n}, capture: $capture, isGoodToGo: true}) {
    shipment { id number isCaptured isPaid lines { id quantity } }
    userErrors { message path } userWarnings { message path } } }"#;

async fn confirm(server: &RunningServer, number: i32) {
    let body = gql(
        server,
        "mutation($n: Int!) { confirmOrder(input: {order: {number: $n}}) { order { status } userErrors { message } } }",
        json!({ "n": number }),
    )
    .await;
    assert_eq!(
        body["data"]["confirmOrder"]["order"]["status"], "CONFIRMED",
        "{body}"
    );
}

#[tokio::test]
async fn a_bad_token_is_refused_with_403() {
    let (_sim, server) = start().await;
    let response = gql_as(&server, "nope", "{ rateLimits { quota } }", json!({})).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn a_missing_permission_answers_centras_error_shape() {
    let (sim, server) = start().await;
    sim.add_token(TokenConfig::with_permissions(
        "limited",
        "other",
        &["Product:read"],
    ));
    let response = gql_as(
        &server,
        "limited",
        "{ orderConnection { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    let error = &body["errors"][0];
    assert_eq!(
        error["message"],
        "You need Order:read permission to access orderConnection."
    );
    assert_eq!(error["extensions"]["category"], "authorization");
    assert_eq!(error["path"], json!(["orderConnection"]));
    assert_eq!(body["extensions"]["permissionsUsed"], json!(["Order:read"]));
    assert!(body["extensions"]["complexity"].as_u64().is_some());
    assert!(body["extensions"]["appVersion"].is_string());
}

#[tokio::test]
async fn mutations_past_the_quota_get_429_with_retry_after() {
    let config = CentraConfig {
        rate_limits: RateLimitConfig {
            mutations_per_10s: 3,
            ..Default::default()
        },
        ..Default::default()
    };
    let (_sim, server) = start_with(config).await;
    let mutation =
        r#"mutation { confirmEvents(input: {eventsIds: [1]}) { userErrors { message } } }"#;
    for _ in 0..3 {
        assert_eq!(
            gql_as(&server, DEFAULT_TOKEN, mutation, json!({}))
                .await
                .status(),
            200
        );
    }
    let limited = gql_as(&server, DEFAULT_TOKEN, mutation, json!({})).await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    assert!((1..=10).contains(&retry));
    let body = gql(
        &server,
        "{ rateLimits { type intervalSeconds quota usedQuota remainingQuota } }",
        json!({}),
    )
    .await;
    let buckets = body["data"]["rateLimits"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(buckets.iter().any(|b| b["type"] == "MUTATION_COUNT"
        && b["intervalSeconds"] == "TEN_SECONDS"
        && b["usedQuota"] == 3
        && b["remainingQuota"] == 0));
}

#[tokio::test]
async fn a_shipment_on_a_held_order_is_refused() {
    let (sim, server) = start().await;
    let created = sim
        .create_order(NewOrder {
            is_on_hold: true,
            ..order("TEEBLKS", 1)
        })
        .expect("order");
    confirm(&server, created.number).await;
    let body = gql(&server, CREATE_SHIPMENT, json!({ "n": created.number })).await;
    let payload = &body["data"]["createShipment"];
    assert!(payload["shipment"].is_null());
    assert!(
        payload["userErrors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("on hold"),
        "{body}"
    );
    assert!(sim
        .order(created.number)
        .map(|o| o.shipments.is_empty())
        .unwrap_or(false));
}

#[tokio::test]
async fn a_failed_capture_is_a_warning_and_the_shipment_stays_uncaptured() {
    let (sim, server) = start().await;
    let created = sim.create_order(order("TEEBLKS", 2)).expect("order");
    confirm(&server, created.number).await;
    sim.fail_next_captures(1);
    let body = gql(
        &server,
        CREATE_SHIPMENT,
        json!({ "n": created.number, "capture": true }),
    )
    .await;
    let payload = &body["data"]["createShipment"];
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["shipment"]["isCaptured"], false);
    assert_eq!(
        payload["shipment"]["number"],
        format!("{}-1", created.number)
    );
    assert!(payload["userWarnings"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("Capture failed"));
    // A retry through captureShipment succeeds and records the PSP reference.
    let id = payload["shipment"]["id"].as_i64().unwrap_or_default();
    let body = gql(
        &server,
        "mutation($id: Int!) { captureShipment(id: $id) { shipment { isCaptured capturedValue { value } } userErrors { message } } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(
        body["data"]["captureShipment"]["shipment"]["isCaptured"], true,
        "{body}"
    );
    assert_eq!(
        body["data"]["captureShipment"]["shipment"]["capturedValue"]["value"],
        json!(44.98)
    );
    let body = gql(
        &server,
        "query($n: Int!) { order(number: $n) { paymentHistory { entryType status externalReference value { value } } } }",
        json!({ "n": created.number }),
    )
    .await;
    let history = body["data"]["order"]["paymentHistory"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let kinds: Vec<_> = history
        .iter()
        .map(|e| (e["entryType"].clone(), e["status"].clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (json!("AUTH"), json!("SUCCESS")),
            (json!("CAPTURE_FAILED"), json!("FAILED")),
            (json!("CAPTURE"), json!("SUCCESS"))
        ]
    );
    assert!(history.iter().all(|e| e["externalReference"] == "PSP123"));
}

#[tokio::test]
async fn set_stock_rejects_negative_quantities_and_changes_nothing() {
    let (sim, server) = start().await;
    let body = gql(
        &server,
        r#"mutation { setStock(input: {warehouse: {name: "Main"}, description: "count", stockQuantityType: PHYSICAL,
            productSizes: [{productSize: {SKU: "TEEBLKS"}, quantity: 3}, {productSize: {SKU: "TEEBLKM"}, quantity: -1}]}) {
            stockChanges { id } userErrors { message path } } }"#,
        json!({}),
    )
    .await;
    let errors = &body["data"]["setStock"]["userErrors"];
    assert_eq!(
        errors[0]["path"],
        json!(["input", "productSizes", "1", "quantity"]),
        "{body}"
    );
    assert_eq!(sim.stock_of("TEEBLKS").map(|s| s.physical), Some(10));
    assert!(sim.mutations_log().is_empty());
}

#[tokio::test]
async fn free_to_allocate_follows_orders_shipments_and_returns() {
    let (sim, server) = start().await;
    let fta = |sim: &CentraSim| {
        sim.stock_of("TEEBLKS")
            .map(|s| (s.physical, s.allocated, s.free_to_allocate))
    };
    assert_eq!(fta(&sim), Some((10, 0, 10)));
    assert!(
        sim.create_order(order("TEEBLKS", 11)).is_err(),
        "checkout refuses more than FTA"
    );
    let created = sim.create_order(order("TEEBLKS", 3)).expect("order");
    assert_eq!(fta(&sim), Some((10, 3, 7)));
    confirm(&server, created.number).await;
    let body = gql(
        &server,
        CREATE_SHIPMENT,
        json!({ "n": created.number, "capture": true }),
    )
    .await;
    let shipment = &body["data"]["createShipment"]["shipment"];
    let id = shipment["id"].as_i64().unwrap_or_default();
    let line_id = shipment["lines"][0]["id"].as_i64().unwrap_or_default();
    let body = gql(
        &server,
        r#"mutation($id: Int!) { completeShipment(id: $id, input: {shipmentInfo: {carrier: "DHL", trackingNumber: "T1"}}) {
            shipment { isShipped trackingNumber carrierInformation { carrierName } order { status } } userErrors { message } } }"#,
        json!({ "id": id }),
    )
    .await;
    let done = &body["data"]["completeShipment"]["shipment"];
    assert_eq!(done["isShipped"], true, "{body}");
    assert_eq!(done["order"]["status"], "SHIPPED");
    assert_eq!(done["carrierInformation"]["carrierName"], "DHL");
    assert_eq!(fta(&sim), Some((7, 0, 7)));
    let body = gql(
        &server,
        r#"mutation($id: Int!, $line: Int!) { createReturn(input: {shipment: {id: $id}, lines: [{shipmentLine: {id: $line}, quantity: 2}],
            returnStockActionPolicy: {releaseItemsBackToWarehouse: true}}) { return { id returnStatus returnedToStock } userErrors { message } } }"#,
        json!({ "id": id, "line": line_id }),
    )
    .await;
    let returned = &body["data"]["createReturn"]["return"];
    assert_eq!(returned["returnStatus"], "PENDING", "{body}");
    assert_eq!(fta(&sim), Some((9, 0, 9)));
    let return_id = returned["id"].as_i64().unwrap_or_default();
    let body = gql(
        &server,
        "mutation($id: Int!) { completeReturn(id: $id) { return { returnStatus } userErrors { message } } }",
        json!({ "id": return_id }),
    )
    .await;
    assert_eq!(
        body["data"]["completeReturn"]["return"]["returnStatus"],
        "COMPLETED"
    );
    // Cancelling an order releases its allocation.
    let other = sim.create_order(order("TEEBLKS", 4)).expect("order");
    assert_eq!(fta(&sim), Some((9, 4, 5)));
    sim.cancel_order(other.number).expect("cancel");
    assert_eq!(fta(&sim), Some((9, 0, 9)));
    // Stock as the hub reads it.
    let body = gql(
        &server,
        r#"{ warehouses { name stock(where: {SKU: ["TEEBLKS", "TEEBLKM"]}, limit: 200) { productSize { SKU } freeToAllocateQuantity } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        body["data"]["warehouses"][0]["stock"],
        json!([{ "productSize": { "SKU": "TEEBLKS" }, "freeToAllocateQuantity": 9 }, { "productSize": { "SKU": "TEEBLKM" }, "freeToAllocateQuantity": 5 }])
    );
}

#[tokio::test]
async fn events_are_served_until_confirmed() {
    let (sim, server) = start().await;
    let body = gql(
        &server,
        "mutation { setEventListeners(input: [{objectType: Order}]) { eventListeners { objectType changeTypes } userErrors { message } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        body["data"]["setEventListeners"]["eventListeners"][0]["objectType"], "Order",
        "{body}"
    );
    let created = sim.create_order(order("TEEBLKM", 1)).expect("order");
    confirm(&server, created.number).await;
    let query = "{ events(where: {objectType: [Order]}, limit: 200) { id objectType changeType objectReference order { number } } }";
    let first = gql(&server, query, json!({})).await;
    let events = first["data"]["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(events.len(), 2, "{first}");
    assert_eq!(events[0]["changeType"], "CREATED");
    assert_eq!(events[0]["objectReference"], created.number);
    assert_eq!(events[1]["changeType"], "UPDATED");
    // Unconfirmed events come back again.
    assert_eq!(
        gql(&server, query, json!({})).await["data"]["events"],
        first["data"]["events"]
    );
    let ids: Vec<i64> = events
        .iter()
        .filter_map(|e| e["id"].as_i64())
        .take(1)
        .collect();
    let body = gql(
        &server,
        "mutation($ids: [Int!]!) { confirmEvents(input: {eventsIds: $ids}) { userErrors { message } } }",
        json!({ "ids": ids }),
    )
    .await;
    assert_eq!(
        body["data"]["confirmEvents"]["userErrors"],
        json!([]),
        "{body}"
    );
    let after = gql(&server, query, json!({})).await;
    assert_eq!(after["data"]["events"].as_array().map(Vec::len), Some(1));
    assert_eq!(after["data"]["events"][0]["changeType"], "UPDATED");
}

#[tokio::test]
async fn webhooks_are_signed_as_centra_signs_them() {
    use axum::routing::post;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel::<(String, String)>();
    let receiver = axum::Router::new().route(
        "/hook",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let sender = sender.clone();
            async move {
                let signature = headers
                    .get("x-centra-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let _ = sender.send((signature, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, receiver).await;
    });
    let (sim, _server) = start().await;
    sim.set_webhook(Some(WebhookTarget {
        url: format!("http://{addr}/hook"),
        secret: "s3cret".into(),
    }));
    let created = sim.create_order(order("TEEBLKS", 1)).expect("order");
    let (signature, body) =
        tokio::time::timeout(std::time::Duration::from_secs(5), received.recv())
            .await
            .expect("delivered in time")
            .expect("delivery");
    let parts: std::collections::HashMap<&str, &str> = signature
        .split(',')
        .filter_map(|p| p.split_once('='))
        .collect();
    let t = parts.get("t").copied().unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").expect("key");
    mac.update(format!("{t}.{body}").as_bytes());
    assert_eq!(
        parts.get("v1").copied(),
        Some(hex::encode(mac.finalize().into_bytes()).as_str())
    );
    assert!(body.starts_with("payload="));
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).expect("form");
    let payload: Value = serde_json::from_str(&form[0].1).expect("payload json");
    assert_eq!(payload["events"][0]["type"], "order");
    assert_eq!(payload["events"][0]["id"], created.number);
}

#[tokio::test]
async fn fail_next_gives_three_503s() {
    let (_sim, server) = start().await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/_admin/faults", server.base_url()))
        .json(&json!({ "fail_next": 3 }))
        .send()
        .await
        .expect("faults");
    assert_eq!(response.status(), 200);
    for _ in 0..3 {
        let response = gql_as(
            &server,
            DEFAULT_TOKEN,
            "{ rateLimits { quota } }",
            json!({}),
        )
        .await;
        assert_eq!(response.status(), 503);
    }
    assert_eq!(
        gql_as(
            &server,
            DEFAULT_TOKEN,
            "{ rateLimits { quota } }",
            json!({})
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn admin_api_places_orders_and_reports_stock() {
    let (_sim, server) = start().await;
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/_admin/orders", server.base_url()))
        .json(&order("TEEBLKM", 2))
        .send()
        .await
        .expect("order");
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    assert_eq!(created["id"].as_str().map(str::len), Some(32));
    let stock: Value = client
        .get(format!("{}/_admin/stock/TEEBLKM", server.base_url()))
        .send()
        .await
        .expect("stock")
        .json()
        .await
        .expect("json");
    assert_eq!(stock["free_to_allocate"], 3);
    let body = gql(
        &server,
        "query($n: Int!) { order(number: $n) { number status totals { grandTotal { value } } shippingPriceGroup { shippingOption { name } } lines { ... on ProductOrderLine { productSize { SKU EAN } productVariant { variantNumber } quantity lineValue { value } } } } }",
        json!({ "n": created["number"] }),
    )
    .await;
    let o = &body["data"]["order"];
    assert_eq!(o["status"], "PENDING", "{body}");
    assert_eq!(o["totals"]["grandTotal"]["value"], json!(44.98));
    assert_eq!(o["shippingPriceGroup"]["shippingOption"]["name"], "Express");
    assert_eq!(o["lines"][0]["productSize"]["SKU"], "TEEBLKM");
    assert_eq!(o["lines"][0]["lineValue"]["value"], json!(39.98));
}
