//! The Adyen simulator over real HTTP: authentication, the modification
//! state machine, idempotency, signed notifications and fault injection.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use seam_sandbox::adyen::{
    self, AdyenConfig, AdyenSim, Amount, EventCode, FailureToggles, NewPayment, NotificationBatch,
    NotificationRequestItem, PaymentStatus,
};
use seam_sandbox::server::RunningServer;
use serde_json::{json, Value};

async fn started() -> (AdyenSim, RunningServer) {
    adyen::start(AdyenConfig::default(), 7, 0)
        .await
        .expect("adyen simulator starts")
}

fn payment(sim: &AdyenSim, value: i64, preauth: bool, mpc: bool) -> String {
    sim.create_payment(NewPayment {
        merchant_reference: "100234".into(),
        amount: Amount::new("EUR", value),
        preauth,
        multiple_partial_captures: mpc,
        payment_method: None,
    })
    .expect("payment created")
    .psp_reference
}

async fn modify(
    server: &RunningServer,
    sim: &AdyenSim,
    psp: &str,
    action: &str,
    body: Value,
    key: Option<&str>,
) -> (u16, Value, Option<String>) {
    let url = format!("{}/v71/payments/{psp}/{action}", server.base_url());
    let mut request = reqwest::Client::new()
        .post(url)
        .header("X-API-Key", &sim.config().api_key)
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let echoed = response
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body, echoed)
}

fn money(sim: &AdyenSim, value: i64) -> Value {
    json!({"merchantAccount": sim.config().merchant_account, "amount": {"currency": "EUR", "value": value}, "reference": "centra-100234-mod"})
}

#[tokio::test]
async fn adyen_a_wrong_api_key_gets_adyens_401() {
    let (sim, server) = started().await;
    let psp = payment(&sim, 1000, false, false);
    let response = reqwest::Client::new()
        .post(format!("{}/v71/payments/{psp}/captures", server.base_url()))
        .header("X-API-Key", "wrong")
        .json(&money(&sim, 100))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({"status":401,"errorCode":"000","message":"HTTP Status Response - Unauthorized","errorType":"security"})
    );
}

#[tokio::test]
async fn adyen_capturing_more_than_authorised_is_422() {
    let (sim, server) = started().await;
    let psp = payment(&sim, 1000, false, false);
    let (status, body, _) = modify(&server, &sim, &psp, "captures", money(&sim, 1001), None).await;
    assert_eq!(status, 422);
    assert_eq!(body["errorCode"], "137");
    assert_eq!(body["errorType"], "validation");
    assert_eq!(body["pspReference"].as_str().map(str::len), Some(16));
}

#[tokio::test]
async fn adyen_partial_captures_with_mpc_and_the_remainder_cancelled_without() {
    let (sim, server) = started().await;
    let with_mpc = payment(&sim, 10_000, false, true);
    let (status, body, _) = modify(
        &server,
        &sim,
        &with_mpc,
        "captures",
        money(&sim, 4_000),
        None,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["status"], "received");
    assert_eq!(body["paymentPspReference"], with_mpc.as_str());
    assert_eq!(body["amount"], json!({"currency":"EUR","value":4000}));
    let new_psp = body["pspReference"].as_str().unwrap_or_default();
    assert_eq!(new_psp.len(), 16);
    assert_ne!(new_psp, with_mpc);
    let (status, _, _) = modify(
        &server,
        &sim,
        &with_mpc,
        "captures",
        money(&sim, 6_000),
        None,
    )
    .await;
    assert_eq!(status, 201);
    let p = sim.payment(&with_mpc).expect("payment");
    assert_eq!((p.captured, p.status()), (10_000, PaymentStatus::Captured));

    let without = payment(&sim, 10_000, false, false);
    let (status, _, _) = modify(
        &server,
        &sim,
        &without,
        "captures",
        money(&sim, 4_000),
        None,
    )
    .await;
    assert_eq!(status, 201);
    let (status, _, _) = modify(
        &server,
        &sim,
        &without,
        "captures",
        money(&sim, 1_000),
        None,
    )
    .await;
    assert_eq!(
        status, 422,
        "the remainder was cancelled by the partial capture"
    );
    let p = sim.payment(&without).expect("payment");
    assert_eq!((p.captured, p.open_authorisation()), (4_000, 0));
}

#[tokio::test]
async fn adyen_refunding_more_than_captured_is_422() {
    let (sim, server) = started().await;
    let psp = payment(&sim, 5_000, false, false);
    modify(&server, &sim, &psp, "captures", money(&sim, 3_000), None).await;
    let (status, body, _) = modify(&server, &sim, &psp, "refunds", money(&sim, 3_001), None).await;
    assert_eq!((status, body["errorCode"].as_str()), (422, Some("137")));
    let (status, _, _) = modify(&server, &sim, &psp, "refunds", money(&sim, 3_000), None).await;
    assert_eq!(status, 201);
    let wrong_currency = json!({"merchantAccount": sim.config().merchant_account, "amount": {"currency":"SEK","value":1}});
    let (status, body, _) = modify(&server, &sim, &psp, "refunds", wrong_currency, None).await;
    assert_eq!((status, body["errorCode"].as_str()), (422, Some("138")));
}

#[tokio::test]
async fn adyen_an_idempotency_key_replays_the_first_response_and_applies_once() {
    let (sim, server) = started().await;
    let psp = payment(&sim, 10_000, false, true);
    let key = "100234:capture:shipment-1";
    let first = modify(
        &server,
        &sim,
        &psp,
        "captures",
        money(&sim, 2_500),
        Some(key),
    )
    .await;
    let second = modify(
        &server,
        &sim,
        &psp,
        "captures",
        money(&sim, 2_500),
        Some(key),
    )
    .await;
    assert_eq!(first.0, 201);
    assert_eq!(first, second);
    assert_eq!(second.2.as_deref(), Some(key));
    let p = sim.payment(&psp).expect("payment");
    assert_eq!((p.captured, p.modifications.len()), (2_500, 1));

    let long_key = "k".repeat(65);
    let (status, _, _) = modify(
        &server,
        &sim,
        &psp,
        "captures",
        money(&sim, 1),
        Some(&long_key),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn adyen_an_amount_update_is_refused_after_capture() {
    let (sim, server) = started().await;
    let psp = payment(&sim, 10_000, true, false);
    let (status, _, _) = modify(
        &server,
        &sim,
        &psp,
        "amountUpdates",
        money(&sim, 12_000),
        None,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(sim.payment(&psp).map(|p| p.authorised), Some(12_000));
    modify(&server, &sim, &psp, "captures", money(&sim, 12_000), None).await;
    let (status, body, _) = modify(
        &server,
        &sim,
        &psp,
        "amountUpdates",
        money(&sim, 13_000),
        None,
    )
    .await;
    assert_eq!((status, body["errorCode"].as_str()), (422, Some("010")));
}

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<NotificationRequestItem>>>);

async fn receiver() -> (Received, String) {
    let received = Received::default();
    let sink = received.clone();
    let app = Router::new().route(
        "/adyen",
        post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                if let Ok(batch) = serde_json::from_slice::<NotificationBatch>(&body) {
                    if let Ok(mut items) = sink.0.lock() {
                        items.extend(
                            batch
                                .notification_items
                                .into_iter()
                                .map(|i| i.notification_request_item),
                        );
                    }
                }
                "[accepted]"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/adyen", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (received, url)
}

async fn wait_for(received: &Received, count: usize) -> Vec<NotificationRequestItem> {
    for _ in 0..100 {
        let items = received.0.lock().map(|i| i.clone()).unwrap_or_default();
        if items.len() >= count {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    received.0.lock().map(|i| i.clone()).unwrap_or_default()
}

#[tokio::test]
async fn adyen_notifications_are_delivered_and_their_hmac_verifies() {
    let (sim, server) = started().await;
    let (received, url) = receiver().await;
    let registered = reqwest::Client::new()
        .post(format!("{}/_admin/webhook", server.base_url()))
        .json(&json!({"url": url}))
        .send()
        .await
        .expect("registered");
    assert_eq!(registered.status().as_u16(), 200);
    let psp = payment(&sim, 5_000, false, false);
    let (_, body, _) = modify(&server, &sim, &psp, "captures", money(&sim, 5_000), None).await;
    let items = wait_for(&received, 2).await;
    assert_eq!(items.len(), 2);
    let key = &sim.config().hmac_key_hex;
    for item in &items {
        assert!(adyen::verify_notification(key, item), "{item:?}");
    }
    let capture = items
        .iter()
        .find(|i| i.event_code == EventCode::Capture)
        .expect("CAPTURE");
    assert_eq!(
        capture.psp_reference,
        body["pspReference"].as_str().unwrap_or_default()
    );
    assert_eq!(capture.original_reference.as_deref(), Some(psp.as_str()));
    assert_eq!(
        (capture.success.as_str(), capture.amount.value),
        ("true", 5_000)
    );
    let mut tampered = capture.clone();
    tampered.amount.value = 5_001;
    assert!(!adyen::verify_notification(key, &tampered));
}

#[tokio::test]
async fn adyen_injected_refund_refusals_arrive_as_failed_notifications() {
    let (sim, server) = started().await;
    let (received, url) = receiver().await;
    sim.register_webhook(adyen::WebhookTarget {
        url,
        hmac_key_hex: None,
        username: None,
        password: None,
    });
    let psp = payment(&sim, 5_000, false, false);
    modify(&server, &sim, &psp, "captures", money(&sim, 5_000), None).await;
    sim.set_failures(FailureToggles {
        refuse_refunds: 1,
        ..Default::default()
    });
    let (status, _, _) = modify(&server, &sim, &psp, "refunds", money(&sim, 1_000), None).await;
    assert_eq!(status, 201, "the refusal comes later, as a webhook");
    let items = wait_for(&received, 3).await;
    let refund = items
        .iter()
        .find(|i| i.event_code == EventCode::Refund)
        .expect("REFUND");
    assert_eq!(refund.success, "false");
    assert!(!refund.reason.is_empty());
    assert_eq!(sim.payment(&psp).map(|p| p.refunded), Some(0));
}

#[tokio::test]
async fn adyen_fail_next_three_gives_three_503s() {
    let (sim, server) = started().await;
    let psp = payment(&sim, 5_000, false, true);
    let client = reqwest::Client::new();
    let plan = client
        .post(format!("{}/_admin/faults", server.base_url()))
        .json(&json!({"fail_next": 3}))
        .send()
        .await
        .expect("plan set");
    assert_eq!(plan.status().as_u16(), 200);
    for _ in 0..3 {
        let (status, _, _) = modify(&server, &sim, &psp, "captures", money(&sim, 100), None).await;
        assert_eq!(status, 503);
    }
    let (status, _, _) = modify(&server, &sim, &psp, "captures", money(&sim, 100), None).await;
    assert_eq!(status, 201);
    assert_eq!(sim.payment(&psp).map(|p| p.captured), Some(100));
}
