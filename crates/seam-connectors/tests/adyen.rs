//! The Adyen connector against the Adyen simulator over loopback HTTP:
//! modifications with idempotency keys, vendor refusals classified, auth,
//! injected 5xx and 429, and real notification deliveries verified.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use rust_decimal_macros::dec;
use seam_connectors::adyen::{
    parse_notification, AdyenClient, EventCode, IdempotencyKey, IndustryUsage, ModificationKind,
    NotificationError, ACCEPTED_BODY,
};
use seam_engine::FailureClass;
use seam_model::{Currency, Money};
use seam_sandbox::adyen::{self as sim, AdyenSim, NewPayment, WebhookTarget};
use seam_sandbox::server::RunningServer;

const HMAC_KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";

fn eur(amount: rust_decimal::Decimal) -> Money {
    Money::new(amount, Currency::EUR)
}

fn client(url: &str, api_key: &str) -> AdyenClient {
    let toml = format!(
        "[connectors.adyen]\n\
         url = \"{url}\"\n\
         api_key = \"${{ADYEN_API_KEY}}\"\n\
         merchant_account = \"SeamSandboxECOM\"\n\
         hmac_key = \"${{ADYEN_HMAC_KEY}}\"\n"
    );
    let api_key = api_key.to_string();
    let config = seam_config::parse(&toml, Path::new("test.toml"), &|name| match name {
        "ADYEN_API_KEY" => Some(api_key.clone()),
        "ADYEN_HMAC_KEY" => Some(HMAC_KEY.to_string()),
        _ => None,
    })
    .expect("valid configuration");
    AdyenClient::new(&config.connectors.adyen.expect("adyen configured"), None)
}

async fn start() -> (AdyenSim, RunningServer, AdyenClient) {
    let (sim, server) = sim::start(Default::default(), 7, 0)
        .await
        .expect("simulator starts");
    let client = client(&server.base_url(), &sim.config().api_key);
    (sim, server, client)
}

fn payment(sim: &AdyenSim, reference: &str, value: i64, preauth: bool) -> String {
    sim.create_payment(NewPayment {
        merchant_reference: reference.to_string(),
        amount: sim::Amount::new("EUR", value),
        preauth,
        multiple_partial_captures: true,
        payment_method: None,
    })
    .expect("payment created")
    .psp_reference
}

async fn set_faults(server: &RunningServer, plan: serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/_admin/faults", server.base_url()))
        .json(&plan)
        .send()
        .await
        .expect("admin answers");
    assert!(response.status().is_success());
}

#[tokio::test]
async fn partial_captures_apply_once_per_idempotency_key() {
    let (sim, _server, adyen) = start().await;
    let psp = payment(&sim, "centra-100234", 10_000, false);

    let first_key = IdempotencyKey::for_order("100234", "capture", "shipment-1");
    let first = adyen
        .capture(&psp, &eur(dec!(30.00)), "centra-100234-cap-1", &first_key)
        .await
        .expect("capture received");
    assert_eq!(first.kind, ModificationKind::Capture);
    assert_eq!(first.payment_psp_reference, psp);
    assert_eq!(first.amount, Some(eur(dec!(30.00))));
    assert_ne!(first.psp_reference, psp);

    // The same shipment captured again (a replayed job): Adyen replays the first answer.
    let again = adyen
        .capture(&psp, &eur(dec!(30.00)), "centra-100234-cap-1", &first_key)
        .await
        .expect("replay answered");
    assert_eq!(again.psp_reference, first.psp_reference);

    let second_key = IdempotencyKey::for_order("100234", "capture", "shipment-2");
    let second = adyen
        .capture(&psp, &eur(dec!(20.00)), "centra-100234-cap-2", &second_key)
        .await
        .expect("second capture received");
    assert_ne!(second.psp_reference, first.psp_reference);

    let state = sim.payment(&psp).expect("payment exists");
    assert_eq!(
        state.captured, 5_000,
        "30 + 20 captured, the repeat applied once"
    );

    // 50.00 is still open; 60.00 is more than Adyen will capture.
    let over = adyen
        .capture(
            &psp,
            &eur(dec!(60.00)),
            "centra-100234-cap-3",
            &IdempotencyKey::for_order("100234", "capture", "shipment-3"),
        )
        .await
        .expect_err("over-capture refused");
    assert_eq!(over.class, FailureClass::Data);
    assert!(over.message.contains("errorCode 137"), "{}", over.message);
    assert!(
        over.message.contains("Invalid amount specified"),
        "{}",
        over.message
    );
    assert_eq!(sim.payment(&psp).expect("payment").captured, 5_000);

    // Not whole cents: refused before any call.
    let cents = adyen
        .capture(
            &psp,
            &eur(dec!(1.005)),
            "x",
            &IdempotencyKey::derive("order:100234:capture:odd"),
        )
        .await
        .expect_err("fractional cents refused");
    assert_eq!(cents.class, FailureClass::Data);
    assert_eq!(sim.payment(&psp).expect("payment").modifications.len(), 2);
}

#[tokio::test]
async fn refunds_are_bounded_by_what_was_captured() {
    let (sim, _server, adyen) = start().await;
    let psp = payment(&sim, "centra-100300", 8_000, false);
    adyen
        .capture(
            &psp,
            &eur(dec!(80.00)),
            "cap",
            &IdempotencyKey::for_order("100300", "capture", "s1"),
        )
        .await
        .expect("captured");
    let key = IdempotencyKey::for_order("100300", "refund", "return-1");
    let refund = adyen
        .refund(&psp, &eur(dec!(25.50)), "centra-100300-ret-1", &key)
        .await
        .expect("refund received");
    assert_eq!(refund.kind, ModificationKind::Refund);
    adyen
        .refund(&psp, &eur(dec!(25.50)), "centra-100300-ret-1", &key)
        .await
        .expect("replay answered");
    assert_eq!(sim.payment(&psp).expect("payment").refunded, 2_550);

    let over = adyen
        .refund(
            &psp,
            &eur(dec!(60.00)),
            "centra-100300-ret-2",
            &IdempotencyKey::for_order("100300", "refund", "return-2"),
        )
        .await
        .expect_err("over-refund refused");
    assert_eq!(over.class, FailureClass::Data);
    assert!(over.message.contains("137"), "{}", over.message);
    assert_eq!(sim.payment(&psp).expect("payment").refunded, 2_550);
}

#[tokio::test]
async fn amounts_update_before_capture_and_not_after() {
    let (sim, _server, adyen) = start().await;
    let psp = payment(&sim, "centra-100400", 10_000, true);
    let receipt = adyen
        .update_amount(
            &psp,
            &eur(dec!(120.00)),
            Some(IndustryUsage::DelayedCharge),
            "centra-100400-edit-1",
            &IdempotencyKey::for_order("100400", "amount-update", "edit-1"),
        )
        .await
        .expect("amount update received");
    assert_eq!(receipt.kind, ModificationKind::AmountUpdate);
    let state = sim.payment(&psp).expect("payment");
    assert_eq!(state.authorised, 12_000);
    assert_eq!(
        state.modifications[0].details["industryUsage"],
        "delayedCharge"
    );

    adyen
        .capture(
            &psp,
            &eur(dec!(120.00)),
            "cap",
            &IdempotencyKey::for_order("100400", "capture", "s1"),
        )
        .await
        .expect("captured");
    let refused = adyen
        .update_amount(
            &psp,
            &eur(dec!(130.00)),
            None,
            "centra-100400-edit-2",
            &IdempotencyKey::for_order("100400", "amount-update", "edit-2"),
        )
        .await
        .expect_err("no update after capture");
    assert_eq!(refused.class, FailureClass::Data);
    assert!(
        refused.message.contains("errorCode 010"),
        "{}",
        refused.message
    );
    assert_eq!(sim.payment(&psp).expect("payment").authorised, 12_000);
}

#[tokio::test]
async fn a_cancel_releases_the_authorisation() {
    let (sim, _server, adyen) = start().await;
    let psp = payment(&sim, "centra-100500", 4_000, false);
    let receipt = adyen
        .cancel(
            &psp,
            "centra-100500-cancel",
            &IdempotencyKey::for_order("100500", "cancel", "1"),
        )
        .await
        .expect("cancel received");
    assert_eq!(receipt.kind, ModificationKind::Cancel);
    assert_eq!(receipt.amount, None);
    let state = sim.payment(&psp).expect("payment");
    assert!(state.remainder_released);
    assert_eq!(state.open_authorisation(), 0);

    // An unknown payment is Adyen's validation error, not a transient one.
    let unknown = adyen
        .cancel(
            "ZZZZZZZZZZZZZZZZ",
            "x",
            &IdempotencyKey::derive("order:none:cancel:1"),
        )
        .await
        .expect_err("unknown payment");
    assert_eq!(unknown.class, FailureClass::Data);
    assert!(unknown.message.contains("167"), "{}", unknown.message);
    // A reference that is not a PSP reference never reaches the URL.
    let bad = adyen
        .cancel("../admin", "x", &IdempotencyKey::derive("y"))
        .await
        .expect_err("refused");
    assert_eq!(bad.class, FailureClass::Data);
}

#[tokio::test]
async fn a_wrong_api_key_is_an_auth_failure() {
    let (sim, server, _) = start().await;
    let psp = payment(&sim, "centra-100600", 1_000, false);
    let wrong = client(&server.base_url(), "not-the-key");
    let failure = wrong
        .capture(
            &psp,
            &eur(dec!(10.00)),
            "cap",
            &IdempotencyKey::for_order("100600", "capture", "s1"),
        )
        .await
        .expect_err("refused");
    assert_eq!(failure.class, FailureClass::Auth);
    assert!(
        failure.message.contains("Unauthorized"),
        "{}",
        failure.message
    );
    assert_eq!(sim.payment(&psp).expect("payment").captured, 0);
    // Only one attempt: auth failures are not retried.
    assert_eq!(
        wrong
            .governor()
            .stats()
            .calls
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[tokio::test]
async fn injected_outages_and_rate_limits_are_ridden_out() {
    let (sim, server, adyen) = start().await;
    let psp = payment(&sim, "centra-100700", 5_000, false);
    set_faults(&server, serde_json::json!({ "fail_next": 2 })).await;
    let receipt = adyen
        .capture(
            &psp,
            &eur(dec!(50.00)),
            "cap",
            &IdempotencyKey::for_order("100700", "capture", "s1"),
        )
        .await
        .expect("captured after two 503s");
    assert_eq!(receipt.kind, ModificationKind::Capture);
    let calls = |client: &AdyenClient| {
        client
            .governor()
            .stats()
            .calls
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    assert_eq!(calls(&adyen), 3);
    assert_eq!(sim.payment(&psp).expect("payment").captured, 5_000);

    // A 429 storm that ends: the governor waits out Retry-After and succeeds.
    set_faults(
        &server,
        serde_json::json!({ "rate_limit_rate": 1.0, "retry_after_secs": 1 }),
    )
    .await;
    let url = server.base_url();
    let clear = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        reqwest::Client::new()
            .post(format!("{url}/_admin/faults"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("admin answers");
    });
    adyen
        .refund(
            &psp,
            &eur(dec!(5.00)),
            "ret",
            &IdempotencyKey::for_order("100700", "refund", "r1"),
        )
        .await
        .expect("refund after the 429s");
    clear.await.expect("cleared");
    assert!(
        adyen
            .governor()
            .stats()
            .rate_limited
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    assert_eq!(sim.payment(&psp).expect("payment").refunded, 500);
}

type Received = Arc<Mutex<Vec<Bytes>>>;

async fn receiver() -> (String, Received) {
    async fn accept(State(received): State<Received>, body: Bytes) -> &'static str {
        received.lock().expect("lock").push(body);
        ACCEPTED_BODY
    }
    let received: Received = Arc::default();
    let router = Router::new()
        .route("/adyen", post(accept))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/adyen", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, received)
}

async fn wait_for(received: &Received, count: usize) -> Vec<Bytes> {
    for _ in 0..100 {
        let bodies = received.lock().expect("lock").clone();
        if bodies.len() >= count {
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {count} notifications arrived");
}

#[tokio::test]
async fn delivered_notifications_verify_and_tampered_ones_do_not() {
    let (sim, _server, adyen) = start().await;
    let (url, received) = receiver().await;
    sim.register_webhook(WebhookTarget {
        url,
        hmac_key_hex: None,
        username: None,
        password: None,
    });
    let psp = payment(&sim, "centra-100800", 7_500, false);
    let receipt = adyen
        .capture(
            &psp,
            &eur(dec!(75.00)),
            "centra-100800-cap-1",
            &IdempotencyKey::for_order("100800", "capture", "s1"),
        )
        .await
        .expect("captured");
    let bodies = wait_for(&received, 2).await;

    let mut items = Vec::new();
    for body in &bodies {
        let notification = adyen.parse_notification(body).expect("verifies");
        assert!(!notification.live);
        items.extend(notification.items);
    }
    let authorisation = items
        .iter()
        .find(|i| i.event_code == EventCode::Authorisation)
        .expect("AUTHORISATION delivered");
    assert_eq!(authorisation.psp_reference, psp);
    assert_eq!(authorisation.original_reference, None);
    assert_eq!(authorisation.merchant_reference, "centra-100800");
    let capture = items
        .iter()
        .find(|i| i.event_code == EventCode::Capture)
        .expect("CAPTURE delivered");
    assert!(capture.success);
    assert_eq!(capture.psp_reference, receipt.psp_reference);
    assert_eq!(capture.payment_psp_reference(), psp);
    assert_eq!(capture.amount, eur(dec!(75.00)));
    assert_eq!(capture.merchant_account_code, "SeamSandboxECOM");
    let key = capture.dedupe_key();
    assert_eq!(key.psp_reference, receipt.psp_reference);
    assert_eq!(key.event_code, "CAPTURE");
    assert!(key.success);
    assert_ne!(key, authorisation.dedupe_key());

    // The same delivery with the amount changed in transit.
    let capture_body = bodies
        .iter()
        .find(|b| String::from_utf8_lossy(b).contains("\"CAPTURE\""))
        .expect("capture body");
    let tampered = String::from_utf8_lossy(capture_body).replace("7500", "750");
    assert_ne!(tampered.as_bytes(), &capture_body[..]);
    assert!(matches!(
        parse_notification(tampered.as_bytes(), HMAC_KEY),
        Err(NotificationError::BadSignature { index: 0, .. })
    ));
    // A signature made with another key.
    assert!(matches!(
        parse_notification(capture_body, &"11".repeat(32)),
        Err(NotificationError::BadSignature { .. })
    ));
    // A batch is accepted only if every item verifies.
    let mut batch: serde_json::Value = serde_json::from_slice(capture_body).expect("json");
    let good = batch["notificationItems"][0].clone();
    let mut bad = good.clone();
    bad["NotificationRequestItem"]["merchantReference"] = "centra-999".into();
    batch["notificationItems"] = serde_json::json!([good, bad]);
    let mixed = serde_json::to_vec(&batch).expect("json");
    assert!(matches!(
        parse_notification(&mixed, HMAC_KEY),
        Err(NotificationError::BadSignature { index: 1, .. })
    ));
}
