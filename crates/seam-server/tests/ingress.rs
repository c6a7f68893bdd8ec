//! Webhook ingress: what verifies is journaled once before it is
//! acknowledged; what does not never reaches the journal.

use std::sync::Arc;
use std::time::Duration;

use seam_connectors::signature::hmac_sha256;
use seam_engine::store::SqliteStore;
use seam_engine::{Store, SystemClock};
use seam_server::ingress::{routes, Ingress, IngressSecrets};

const CENTRA_SECRET: &str = "centra-webhook-secret";

async fn start() -> (Arc<dyn Store>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let adyen = seam_sandbox::adyen::AdyenConfig::default();
    let reveni = seam_sandbox::reveni::ReveniConfig::default();
    let ingress = Ingress {
        store: store.clone(),
        clock: Arc::new(SystemClock),
        secrets: IngressSecrets {
            centra: Some(CENTRA_SECRET.into()),
            adyen_hmac_hex: Some(adyen.hmac_key_hex),
            reveni: Some((reveni.secret_header_name, reveni.secret_header_value)),
        },
        wake: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, routes(ingress)).await });
    (store, base, dir)
}

fn centra_signature(secret: &str, t: i64, body: &str) -> String {
    format!(
        "t={t},v1={}",
        hex::encode(hmac_sha256(
            secret.as_bytes(),
            format!("{t}.{body}").as_bytes()
        ))
    )
}

async fn journaled(store: &Arc<dyn Store>) -> i64 {
    store.job_counts().await.unwrap().queued
}

#[tokio::test]
async fn centra_webhooks_are_verified_journaled_once_and_refused_otherwise() {
    let (store, base, _dir) = start().await;
    let client = reqwest::Client::new();
    let url = format!("{base}/webhooks/centra");
    let payload = r#"{"events":[{"type":"order","action":"update","date":"2026-11-22 10:00:00.1","id":1001},{"type":"shipment","action":"good_to_go","date":"2026-11-22 10:00:00.2","id":7}]}"#;
    let body = format!("payload={}", serde_urlencoded_encode(payload));
    let now = chrono::Utc::now().timestamp();
    let send = |body: String, signature: String| {
        client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-centra-signature", signature)
            .body(body)
            .send()
    };

    let ok = send(body.clone(), centra_signature(CENTRA_SECRET, now, &body))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(journaled(&store).await, 2);
    let replay = send(body.clone(), centra_signature(CENTRA_SECRET, now, &body))
        .await
        .unwrap();
    assert_eq!(replay.status(), 200, "a retried delivery is acknowledged");
    assert_eq!(journaled(&store).await, 2, "and never queued twice");

    let wrong = send(body.clone(), centra_signature("other", now, &body))
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let stale = send(
        body.clone(),
        centra_signature(CENTRA_SECRET, now - 3_600, &body),
    )
    .await
    .unwrap();
    assert_eq!(stale.status(), 401, "an old signature is a replay");
    let tampered = body.replace("1001", "1002");
    let forged = send(tampered, centra_signature(CENTRA_SECRET, now, &body))
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let garbage = "payload=not-json".to_string();
    let malformed = send(
        garbage.clone(),
        centra_signature(CENTRA_SECRET, now, &garbage),
    )
    .await
    .unwrap();
    assert_eq!(malformed.status(), 400);
    let huge = format!("payload={}", "x".repeat(2 * 1024 * 1024));
    let oversized = send(huge.clone(), centra_signature(CENTRA_SECRET, now, &huge))
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);
    assert_eq!(
        journaled(&store).await,
        2,
        "nothing refused reached the journal"
    );
    let open = store.exceptions(&Default::default()).await.unwrap();
    assert!(open.is_empty());
}

fn serde_urlencoded_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn adyen_notifications_from_the_simulator_are_journaled_and_acknowledged() {
    let (store, base, _dir) = start().await;
    let (adyen, _server) = seam_sandbox::adyen::start(Default::default(), 1, 0)
        .await
        .unwrap();
    adyen.register_webhook(seam_sandbox::adyen::WebhookTarget {
        url: format!("{base}/webhooks/adyen"),
        hmac_key_hex: None,
        username: None,
        password: None,
    });
    adyen
        .create_payment(seam_sandbox::adyen::NewPayment {
            merchant_reference: "1001".into(),
            amount: seam_sandbox::adyen::Amount {
                currency: "EUR".into(),
                value: 4_995,
            },
            preauth: true,
            multiple_partial_captures: true,
            payment_method: None,
        })
        .unwrap();
    for _ in 0..50 {
        if journaled(&store).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        journaled(&store).await,
        1,
        "the AUTHORISATION notification was journaled"
    );
    let deliveries = adyen.deliveries();
    assert!(
        deliveries.iter().any(|d| d.status == Some(200)),
        "{deliveries:?}"
    );

    let forged = r#"{"live":"false","notificationItems":[{"NotificationRequestItem":{"eventCode":"CAPTURE","success":"true","pspReference":"X","originalReference":"Y","merchantAccountCode":"M","merchantReference":"R","amount":{"value":1,"currency":"EUR"},"eventDate":"2026-11-22T10:00:00+01:00","reason":"","additionalData":{"hmacSignature":"bm9wZQ=="}}}]}"#;
    let response = reqwest::Client::new()
        .post(format!("{base}/webhooks/adyen"))
        .body(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(journaled(&store).await, 1);
}

#[tokio::test]
async fn reveni_webhooks_need_the_shared_secret() {
    let (store, base, _dir) = start().await;
    let url = format!("{base}/webhooks/reveni");
    let config = seam_sandbox::reveni::ReveniConfig::default();
    let body = r#"{"id":"evt_1","created":1700000000,"event":"return.created","data":{"resource_id":"9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d","status":"in_progress"}}"#;
    let client = reqwest::Client::new();
    let ok = client
        .post(&url)
        .header(&config.secret_header_name, &config.secret_header_value)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let again = client
        .post(&url)
        .header(&config.secret_header_name, &config.secret_header_value)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let wrong = client
        .post(&url)
        .header(&config.secret_header_name, "guess")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let missing = client.post(&url).body(body).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(journaled(&store).await, 1);
}

/// Found by the soak: with Centra's webhook plugin on, every shipment and
/// return webhook (Seam's own writes echoed) parked as `no_handler`. Every
/// object type the Centra route journals has a handler in the hub.
#[tokio::test]
async fn every_centra_webhook_the_hub_journals_has_a_handler() {
    use seam_connectors::centra::WebhookObjectType;
    let sandbox = seam_sandbox::sandbox::Sandbox::start(Default::default())
        .await
        .unwrap();
    let text = sandbox.hub_config("data", "127.0.0.1:0").replacen(
        "[connectors.centra]\n",
        "[connectors.centra]\nwebhook_secret = \"s\"\n",
        1,
    );
    let config = seam_config::parse(&text, std::path::Path::new("seam.toml"), &|_| None).unwrap();
    let wiring = seam_flows::wiring::wire(&config, None, Default::default());
    for object_type in [
        WebhookObjectType::Order,
        WebhookObjectType::Shipment,
        WebhookObjectType::Customer,
        WebhookObjectType::Account,
        WebhookObjectType::Return,
        WebhookObjectType::Unknown,
    ] {
        let kind = format!(
            "centra_{}",
            seam_server::ingress::centra_object_name(object_type)
        );
        assert!(
            wiring
                .handlers
                .get(seam_server::ingress::INTAKE_FLOW, &kind)
                .is_some(),
            "no handler for intake/{kind}"
        );
    }
}

/// Every door, every way a webhook can be bad: each is refused with its
/// status and the journal does not move; the one good delivery is
/// journaled once, and its replay is acknowledged without a second entry.
#[tokio::test]
async fn every_webhook_door_refuses_bad_input_before_the_journal() {
    let (store, base, _dir) = start().await;
    let client = reqwest::Client::new();
    let now = chrono::Utc::now().timestamp();
    let reveni = seam_sandbox::reveni::ReveniConfig::default();
    let huge = "x".repeat(2 * 1024 * 1024);
    let centra_body = format!(
        "payload={}",
        serde_urlencoded_encode(
            r#"{"events":[{"type":"order","action":"update","date":"d","id":7}]}"#
        )
    );
    let reveni_body = r#"{"id":"evt_9","created":1700000000,"event":"return.updated","data":{"resource_id":"r-9","status":"accepted"}}"#;
    struct Case {
        what: &'static str,
        path: &'static str,
        headers: Vec<(String, String)>,
        body: String,
        status: u16,
    }
    let centra = |signature: String, _body: &str| {
        vec![
            ("x-centra-signature".to_string(), signature),
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ),
        ]
    };
    let reveni_secret = |value: &str| vec![(reveni.secret_header_name.clone(), value.to_string())];
    let cases = vec![
        Case { what: "centra malformed", path: "/webhooks/centra", headers: centra(centra_signature(CENTRA_SECRET, now, "payload=%7B"), "payload=%7B"), body: "payload=%7B".into(), status: 400 },
        Case { what: "centra oversized", path: "/webhooks/centra", headers: centra(centra_signature(CENTRA_SECRET, now, &huge), &huge), body: huge.clone(), status: 413 },
        Case { what: "centra wrongly signed", path: "/webhooks/centra", headers: centra(centra_signature("guess", now, &centra_body), &centra_body), body: centra_body.clone(), status: 401 },
        Case { what: "centra unsigned", path: "/webhooks/centra", headers: vec![], body: centra_body.clone(), status: 401 },
        Case { what: "centra stale", path: "/webhooks/centra", headers: centra(centra_signature(CENTRA_SECRET, now - 301, &centra_body), &centra_body), body: centra_body.clone(), status: 401 },
        Case { what: "centra from the future", path: "/webhooks/centra", headers: centra(centra_signature(CENTRA_SECRET, now + 3_600, &centra_body), &centra_body), body: centra_body.clone(), status: 401 },
        Case { what: "adyen malformed", path: "/webhooks/adyen", headers: vec![], body: "{\"notificationItems\":".into(), status: 400 },
        Case { what: "adyen oversized", path: "/webhooks/adyen", headers: vec![], body: huge.clone(), status: 413 },
        Case { what: "adyen unsigned", path: "/webhooks/adyen", headers: vec![], body: r#"{"notificationItems":[{"NotificationRequestItem":{"eventCode":"CAPTURE","success":"true","pspReference":"X","amount":{"value":1,"currency":"EUR"}}}]}"#.into(), status: 401 },
        Case { what: "reveni malformed", path: "/webhooks/reveni", headers: reveni_secret(&reveni.secret_header_value), body: "{\"id\":".into(), status: 400 },
        Case { what: "reveni oversized", path: "/webhooks/reveni", headers: reveni_secret(&reveni.secret_header_value), body: huge.clone(), status: 413 },
        Case { what: "reveni wrong secret", path: "/webhooks/reveni", headers: reveni_secret("guess"), body: reveni_body.into(), status: 401 },
        Case { what: "reveni no secret", path: "/webhooks/reveni", headers: vec![], body: reveni_body.into(), status: 401 },
    ];
    let before = store.journal_high_water().await.unwrap();
    for case in cases {
        let mut request = client.post(format!("{base}{}", case.path)).body(case.body);
        for (name, value) in &case.headers {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), case.status, "{}", case.what);
        assert_eq!(
            store.journal_high_water().await.unwrap(),
            before,
            "{} reached the journal",
            case.what
        );
    }
    // The good ones: journaled once; a replay is acknowledged, not journaled again.
    for _ in 0..2 {
        let ok = client
            .post(format!("{base}/webhooks/reveni"))
            .header(&reveni.secret_header_name, &reveni.secret_header_value)
            .body(reveni_body)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let ok = client
            .post(format!("{base}/webhooks/centra"))
            .header(
                "x-centra-signature",
                centra_signature(CENTRA_SECRET, now, &centra_body),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(centra_body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
    }
    let after = store.journal_high_water().await.unwrap();
    assert_eq!(
        after - before,
        2,
        "one entry per event, none for the replays"
    );
}

/// The hub reads no request body larger than its limit, on any route.
#[tokio::test]
async fn every_route_has_a_body_limit() {
    let (store, _base, _dir) = start().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let router = seam_server::router(seam_server::ServerState {
        store,
        runner: None,
    });
    tokio::spawn(seam_server::serve(address, router, std::future::pending()));
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..50 {
        if client
            .get(format!("http://{address}/health"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up);
    for path in ["/", "/health", "/metrics", "/anything"] {
        let response = client
            .post(format!("http://{address}{path}"))
            .body(vec![b'x'; seam_server::MAX_REQUEST_BYTES + 1])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413, "{path}");
    }
}
