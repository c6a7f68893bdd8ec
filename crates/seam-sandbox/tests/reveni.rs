//! The Reveni simulator over real HTTP: authentication, the return shape,
//! partial validation and thin webhooks with the shared-secret header.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use rust_decimal::Decimal;
use seam_sandbox::reveni::{
    self, NewReturn, NewReturnItem, OrderRef, ReturnStatus, ReveniConfig, ReveniSim, WebhookEvent,
};
use seam_sandbox::server::RunningServer;
use serde_json::{json, Value};

async fn started() -> (ReveniSim, RunningServer) {
    reveni::start(ReveniConfig::default(), 11, 0)
        .await
        .expect("reveni simulator starts")
}

fn new_return(instant: bool) -> NewReturn {
    NewReturn {
        order: OrderRef {
            external_id: "c-100234".into(),
            number: "100234".into(),
        },
        currency: "EUR".into(),
        instant,
        return_type: None,
        items: vec![
            NewReturnItem {
                sku: "TEE-M".into(),
                order_line_id: "line-1".into(),
                quantity: 1,
                return_reason: "too_small".into(),
                exchange_sku: None,
                price: Decimal::new(4900, 2),
            },
            NewReturnItem {
                sku: "JEANS-32".into(),
                order_line_id: "line-2".into(),
                quantity: 1,
                return_reason: "wrong_size".into(),
                exchange_sku: Some("JEANS-34".into()),
                price: Decimal::new(9900, 2),
            },
        ],
    }
}

fn url(server: &RunningServer, sim: &ReveniSim, rest: &str) -> String {
    format!(
        "{}/merchants/v0/stores/{}/{rest}",
        server.base_url(),
        sim.config().store_id
    )
}

async fn call(
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, url).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    (
        status,
        response.json::<Value>().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn reveni_a_wrong_key_or_store_is_refused() {
    let (sim, server) = started().await;
    let created = sim.create_return(new_return(false)).expect("created");
    let path = format!("returns/{}", created.id);
    let (status, body) = call(
        reqwest::Method::GET,
        url(&server, &sim, &path),
        "wrong",
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthorized");
    let other_store = format!("{}/merchants/v0/stores/other/{path}", server.base_url());
    let (status, _) = call(
        reqwest::Method::GET,
        other_store,
        &sim.config().api_key,
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn reveni_get_return_has_the_documented_shape() {
    let (sim, server) = started().await;
    let created = sim.create_return(new_return(false)).expect("created");
    let path = format!("returns/{}", created.id);
    let (status, body) = call(
        reqwest::Method::GET,
        url(&server, &sim, &path),
        &sim.config().api_key,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], created.id.to_string());
    assert_eq!(body["status"], "IN_PROGRESS");
    assert_eq!(body["type"], "mixed");
    assert_eq!(body["transaction_type"], "REFUND");
    assert_eq!(body["instant"], false);
    assert_eq!(
        body["order"],
        json!({"external_id": "c-100234", "number": "100234"})
    );
    let items = body["return_items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["sku"], "TEE-M");
    assert_eq!(items[0]["order_line_id"], "line-1");
    assert_eq!(items[0]["return_reason"], "too_small");
    assert_eq!(items[0]["exchange"], Value::Null);
    assert_eq!(items[0]["review"]["status"], "pending");
    assert_eq!(items[1]["exchange"], json!({"sku": "JEANS-34"}));
    assert_eq!(body["refunds"], json!([]));
    assert!(body["created_at"].is_string() && body["updated_at"].is_string());

    let (status, _) = call(
        reqwest::Method::GET,
        url(
            &server,
            &sim,
            "returns/00000000-0000-0000-0000-000000000000",
        ),
        &sim.config().api_key,
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn reveni_partial_validate_moves_the_return_and_records_the_refund() {
    let (sim, server) = started().await;
    let key = sim.config().api_key.clone();
    let created = sim.create_return(new_return(false)).expect("created");
    sim.set_status(created.id, ReturnStatus::Shipped)
        .expect("shipped");
    sim.set_status(created.id, ReturnStatus::Received)
        .expect("received");
    let tee = created.return_items[0].item_id.clone();
    let jeans = created.return_items[1].item_id.clone();
    let path = format!("returns/{}/partial_validate", created.id);

    let (status, body) = call(
        reqwest::Method::POST,
        url(&server, &sim, &path),
        &key,
        Some(json!({"items": [{"item_id": tee, "quantity": 1, "status": "accepted"}]})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "FOR_REVIEW");
    assert_eq!(body["refunds"][0]["amount"], "49.00");
    assert_eq!(body["refunds"][0]["currency"], "EUR");

    let (status, body) = call(
        reqwest::Method::POST,
        url(&server, &sim, &path),
        &key,
        Some(json!({"items": [{"item_id": jeans, "quantity": 1, "status": "rejected"}]})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request")),
        "reason required"
    );

    let (status, body) = call(
        reqwest::Method::POST,
        url(&server, &sim, &path),
        &key,
        Some(
            json!({"items": [{"item_id": jeans, "quantity": 1, "status": "rejected",
            "reject_reason": "used", "reject_reason_text": "worn and washed"}]}),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "PARTLY_ACCEPTED");
    assert_eq!(body["return_items"][1]["review"]["reject_reason"], "used");
    assert_eq!(body["exchange_order"], Value::Null);

    let (status, _) = call(
        reqwest::Method::POST,
        url(&server, &sim, &path),
        &key,
        Some(json!({"items": [{"item_id": tee, "status": "accepted"}]})),
    )
    .await;
    assert_eq!(status, 409, "a decided return cannot be validated again");

    let all_rejected = sim.create_return(new_return(false)).expect("created");
    let rejected = sim
        .reject_all(all_rejected.id, "not_received", None)
        .expect("rejected");
    assert_eq!(rejected.status, ReturnStatus::Rejected);
    assert!(rejected.refunds.is_empty());
    let accepted = sim.create_return(new_return(false)).expect("created");
    let accepted = sim.accept_all(accepted.id).expect("accepted");
    assert_eq!(accepted.status, ReturnStatus::Accepted);
    assert!(accepted.exchange_order.is_some());
}

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Delivered>>>);

/// The secret header as received, and the event.
type Delivered = (Option<String>, WebhookEvent);

async fn receiver() -> (Received, String) {
    let received = Received::default();
    let sink = received.clone();
    let app = Router::new().route(
        "/reveni",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                let secret = headers
                    .get("x-reveni-secret")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                if let Ok(event) = serde_json::from_slice::<WebhookEvent>(&body) {
                    if let Ok(mut events) = sink.0.lock() {
                        events.push((secret, event));
                    }
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/reveni", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (received, url)
}

async fn wait_for(received: &Received, count: usize) -> Vec<Delivered> {
    for _ in 0..100 {
        let events = received.0.lock().map(|e| e.clone()).unwrap_or_default();
        if events.len() >= count {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    received.0.lock().map(|e| e.clone()).unwrap_or_default()
}

#[tokio::test]
async fn reveni_webhooks_are_thin_and_carry_the_secret_header() {
    let (sim, server) = started().await;
    let key = sim.config().api_key.clone();
    let (received, hook_url) = receiver().await;
    let (status, hook) = call(
        reqwest::Method::POST,
        url(&server, &sim, "webhooks"),
        &key,
        Some(json!({"event_types": ["return.created", "return.updated"], "url": hook_url})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(hook["url"], hook_url.as_str());
    assert_eq!(
        hook["event_types"],
        json!(["return.created", "return.updated"])
    );

    let created = sim.create_return(new_return(true)).expect("created");
    sim.set_status(created.id, ReturnStatus::Shipped)
        .expect("shipped");
    let events = wait_for(&received, 2).await;
    assert_eq!(events.len(), 2);
    for (secret, event) in &events {
        assert_eq!(
            secret.as_deref(),
            Some(sim.config().secret_header_value.as_str())
        );
        assert!(event.id.starts_with("evt_"));
        assert_eq!(event.data.resource_id, created.id);
    }
    let mut names: Vec<_> = events
        .iter()
        .map(|(_, e)| (e.event.clone(), e.data.status.clone()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("return.created".to_string(), "in_progress".to_string()),
            ("return.updated".to_string(), "shipped".to_string())
        ]
    );

    let hook_id = hook["id"].as_str().unwrap_or_default();
    let response = reqwest::Client::new()
        .delete(url(&server, &sim, &format!("webhooks/{hook_id}")))
        .bearer_auth(&key)
        .send()
        .await
        .expect("deleted");
    assert_eq!(response.status().as_u16(), 204);
    sim.set_status(created.id, ReturnStatus::Received)
        .expect("received");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        wait_for(&received, 2).await.len(),
        2,
        "no delivery after unsubscribing"
    );
    assert_eq!(sim.events().len(), 3, "the event is still recorded");
}
