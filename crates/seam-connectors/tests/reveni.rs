//! The Reveni connector against the Reveni simulator over loopback HTTP:
//! reading and listing returns, partial validation, webhook subscriptions with a real
//! delivery checked by the shared-secret header, and failure classes.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use rust_decimal_macros::dec;
use seam_connectors::reveni::{
    parse_webhook, ReturnEventKind, ReturnStatus, ReturnType, ReveniClient, ReviewStatus,
    ValidationItem, WebhookError, DEFAULT_SECRET_HEADER, EVENT_RETURN_UPDATED,
};
use seam_engine::FailureClass;
use seam_model::{Currency, Money};
use seam_sandbox::reveni::{self as sim, NewReturn, NewReturnItem, OrderRef, ReveniSim};
use seam_sandbox::server::RunningServer;

fn client(url: &str, store_id: &str, api_key: &str, secret: &str) -> ReveniClient {
    let toml = format!(
        "[connectors.reveni]\n\
         url = \"{url}\"\n\
         store_id = \"{store_id}\"\n\
         api_key = \"${{REVENI_API_KEY}}\"\n\
         webhook_secret = \"${{REVENI_WEBHOOK_SECRET}}\"\n"
    );
    let (api_key, secret) = (api_key.to_string(), secret.to_string());
    let config = seam_config::parse(&toml, Path::new("test.toml"), &|name| match name {
        "REVENI_API_KEY" => Some(api_key.clone()),
        "REVENI_WEBHOOK_SECRET" => Some(secret.clone()),
        _ => None,
    })
    .expect("valid configuration");
    ReveniClient::new(&config.connectors.reveni.expect("reveni configured"), None)
}

async fn start() -> (ReveniSim, RunningServer, ReveniClient) {
    let (sim, server) = sim::start(Default::default(), 11, 0)
        .await
        .expect("simulator starts");
    let config = sim.config().clone();
    let client = client(
        &server.base_url(),
        &config.store_id,
        &config.api_key,
        &config.secret_header_value,
    );
    (sim, server, client)
}

fn new_return(instant: bool) -> NewReturn {
    NewReturn {
        order: OrderRef {
            external_id: "1497ccf644db871e".into(),
            number: "100234".into(),
        },
        currency: "EUR".into(),
        instant,
        return_type: None,
        items: vec![
            NewReturnItem {
                sku: "TEE-M".into(),
                order_line_id: "line-1".into(),
                quantity: 2,
                return_reason: "too_small".into(),
                exchange_sku: None,
                price: dec!(49.00),
            },
            NewReturnItem {
                sku: "JEANS-32".into(),
                order_line_id: "line-2".into(),
                quantity: 1,
                return_reason: "wrong_size".into(),
                exchange_sku: Some("JEANS-34".into()),
                price: dec!(99.00),
            },
        ],
    }
}

#[tokio::test]
async fn a_return_reads_back_typed() {
    let (sim, server, reveni) = start().await;
    let created = sim.create_return(new_return(false)).expect("created");
    let id = created.id.to_string();
    let read = reveni
        .get_return(&id)
        .await
        .expect("answered")
        .expect("found");
    assert_eq!(read.id, id);
    assert_eq!(read.status, ReturnStatus::InProgress);
    assert_eq!(read.return_type, ReturnType::Mixed);
    assert!(!read.instant);
    assert_eq!(read.order.external_id, "1497ccf644db871e");
    assert_eq!(read.order.number, "100234");
    assert_eq!(read.return_items.len(), 2);
    let tee = &read.return_items[0];
    assert_eq!(tee.sku, "TEE-M");
    assert_eq!(tee.quantity, 2);
    assert_eq!(tee.order_line_id.as_deref(), Some("line-1"));
    assert_eq!(tee.return_reason, "too_small");
    assert_eq!(tee.price, Some(dec!(49.00)));
    assert_eq!(tee.exchange_sku(), None);
    assert_eq!(
        tee.review.as_ref().map(|r| r.status.clone()),
        Some(ReviewStatus::Pending)
    );
    assert_eq!(read.return_items[1].exchange_sku(), Some("JEANS-34"));
    assert!(read.refunds.is_empty());
    assert!(read.exchange_order.is_none());

    // An instant return is refunded and exchanged at creation.
    let instant = sim.create_return(new_return(true)).expect("created");
    let read = reveni
        .get_return(&instant.id.to_string())
        .await
        .expect("answered")
        .expect("found");
    assert!(read.instant);
    assert_eq!(read.refunded_total(), dec!(98.00));
    assert_eq!(
        read.refunds[0].money(read.currency.as_deref()),
        Some(Money::new(dec!(98.00), Currency::EUR))
    );
    let exchange = read.exchange_order.expect("exchange order");
    assert_eq!(exchange.items[0].sku, "JEANS-34");
    assert_eq!(exchange.items[0].quantity, 1);

    // Unknown return: None. Not an id: refused before the call.
    assert_eq!(
        reveni
            .get_return("00000000-0000-4000-8000-000000000000")
            .await
            .expect("answered"),
        None
    );
    let bad = reveni.get_return("../webhooks").await.expect_err("refused");
    assert_eq!(bad.class, FailureClass::Data);

    // Two injected 503s are retried by the governor.
    let response = reqwest::Client::new()
        .post(format!("{}/_admin/faults", server.base_url()))
        .json(&serde_json::json!({ "fail_next": 2 }))
        .send()
        .await
        .expect("admin answers");
    assert!(response.status().is_success());
    let again = reveni
        .get_return(&id)
        .await
        .expect("answered after retries");
    assert!(again.is_some());
    assert_eq!(
        reveni
            .governor()
            .stats()
            .failures
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
}

#[tokio::test]
async fn partial_validation_accepts_rejects_and_refuses() {
    let (sim, _server, reveni) = start().await;
    let created = sim.create_return(new_return(false)).expect("created");
    let id = created.id.to_string();
    let tee = created.return_items[0].item_id.clone();
    let jeans = created.return_items[1].item_id.clone();

    let after = reveni
        .partial_validate(&id, &[ValidationItem::accept(&tee, 1)])
        .await
        .expect("validated");
    assert_eq!(after.status, ReturnStatus::ForReview);
    assert_eq!(after.refunded_total(), dec!(49.00));

    // A rejection without a reason is Reveni's validation error.
    let mut no_reason = ValidationItem::reject(&tee, 1, "", None);
    no_reason.reject_reason = None;
    let failure = reveni
        .partial_validate(&id, &[no_reason])
        .await
        .expect_err("refused");
    assert_eq!(failure.class, FailureClass::Data);
    assert!(
        failure.message.contains("reject_reason is required"),
        "{}",
        failure.message
    );

    let after = reveni
        .partial_validate(
            &id,
            &[
                ValidationItem::reject(&tee, 1, "damaged", Some("stain on the front")),
                ValidationItem::accept(&jeans, 1),
            ],
        )
        .await
        .expect("validated");
    assert_eq!(after.status, ReturnStatus::PartlyAccepted);
    let review = after.return_items[0].review.as_ref().expect("review");
    assert_eq!(review.status, ReviewStatus::PartlyAccepted);
    assert_eq!(review.reject_reason.as_deref(), Some("damaged"));
    assert_eq!(after.refunded_total(), dec!(49.00));
    assert!(after.exchange_order.is_some());

    // Decided: a replayed validation cannot decide twice; it is Data (not a duplicate).
    let replay = reveni
        .partial_validate(&id, &[ValidationItem::accept(&jeans, 1)])
        .await
        .expect_err("refused");
    assert_eq!(replay.class, FailureClass::Data);
    assert!(
        replay.message.contains("invalid_status"),
        "{}",
        replay.message
    );
    let read = reveni.get_return(&id).await.expect("read").expect("found");
    assert_eq!(read.refunded_total(), dec!(49.00));
}

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn receiver() -> (String, Received) {
    async fn take(State(received): State<Received>, headers: HeaderMap, body: Bytes) {
        received.lock().expect("lock").push((headers, body));
    }
    let received: Received = Arc::default();
    let router = Router::new()
        .route("/reveni", post(take))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/reveni", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, received)
}

#[tokio::test]
async fn webhooks_are_registered_delivered_and_checked() {
    let (sim, _server, reveni) = start().await;
    let (url, received) = receiver().await;
    let hook = reveni
        .register_webhook(&url, &[EVENT_RETURN_UPDATED])
        .await
        .expect("registered");
    assert_eq!(hook.url, url);
    assert_eq!(hook.event_types, [EVENT_RETURN_UPDATED]);
    // A replayed registration reuses the subscription.
    let again = reveni
        .register_webhook(&url, &[EVENT_RETURN_UPDATED])
        .await
        .expect("registered");
    assert_eq!(again.id, hook.id);
    assert_eq!(sim.webhooks().len(), 1);

    let unknown_event = reveni
        .register_webhook(&url, &["return.exploded"])
        .await
        .expect_err("refused");
    assert_eq!(unknown_event.class, FailureClass::Data);
    assert!(
        unknown_event.message.contains("invalid_request"),
        "{}",
        unknown_event.message
    );

    let created = sim.create_return(new_return(false)).expect("created");
    sim.set_status(created.id, sim::ReturnStatus::Shipped)
        .expect("shipped");
    let mut delivered = Vec::new();
    for _ in 0..100 {
        delivered = received.lock().expect("lock").clone();
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Subscribed to updates only: the creation was not delivered.
    assert_eq!(delivered.len(), 1, "one return.updated delivery");
    let (headers, body) = &delivered[0];
    let event = reveni
        .parse_webhook(headers, body, DEFAULT_SECRET_HEADER)
        .expect("accepted");
    assert_eq!(event.kind, ReturnEventKind::Updated);
    assert_eq!(event.resource_id, created.id.to_string());
    assert_eq!(event.status, ReturnStatus::Shipped);
    assert!(event.id.starts_with("evt_"));
    assert_eq!(event.id, sim.events()[1].id);

    // The hub then re-reads the return.
    let read = reveni
        .get_return(&event.resource_id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(read.status, ReturnStatus::Shipped);

    assert_eq!(
        parse_webhook(headers, body, DEFAULT_SECRET_HEADER, "not-the-secret"),
        Err(WebhookError::WrongSecret)
    );
    let wrong_client = client("http://127.0.0.1:9", "s", "k", "another-secret");
    assert_eq!(
        wrong_client.parse_webhook(headers, body, DEFAULT_SECRET_HEADER),
        Err(WebhookError::WrongSecret)
    );
    assert!(matches!(
        parse_webhook(&HeaderMap::new(), body, DEFAULT_SECRET_HEADER, "x"),
        Err(WebhookError::MissingSecret(_))
    ));

    assert!(reveni.delete_webhook(&hook.id).await.expect("deleted"));
    assert!(sim.webhooks().is_empty());
    assert!(!reveni.delete_webhook(&hook.id).await.expect("already gone"));
}

#[tokio::test]
async fn wrong_credentials_are_auth_failures() {
    let (sim, server, _) = start().await;
    let created = sim.create_return(new_return(false)).expect("created");
    let config = sim.config().clone();
    let bad_key = client(
        &server.base_url(),
        &config.store_id,
        "not-the-key",
        "secret",
    );
    let failure = bad_key
        .get_return(&created.id.to_string())
        .await
        .expect_err("refused");
    assert_eq!(failure.class, FailureClass::Auth);
    assert!(
        failure.message.contains("Invalid or missing API key"),
        "{}",
        failure.message
    );
    let failure = bad_key
        .partial_validate(
            &created.id.to_string(),
            &[ValidationItem::accept(&created.return_items[0].item_id, 1)],
        )
        .await
        .expect_err("refused");
    assert_eq!(failure.class, FailureClass::Auth);
    assert!(sim
        .get_return(created.id)
        .expect("exists")
        .refunds
        .is_empty());

    let bad_store = client(
        &server.base_url(),
        "another-store",
        &config.api_key,
        "secret",
    );
    let failure = bad_store
        .get_return(&created.id.to_string())
        .await
        .expect_err("refused");
    assert_eq!(failure.class, FailureClass::Auth);
    assert!(
        failure.message.contains("store_not_found"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn returns_changed_since_a_time_are_listed_oldest_first_in_pages() {
    let (sim, _server, client) = start().await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let first = sim.create_return(new_return(false)).unwrap();
    let second = sim.create_return(new_return(true)).unwrap();
    let page = client.returns_updated_since(before, 1, 1).await.unwrap();
    assert_eq!(page.results.len(), 1);
    assert!(page.has_more);
    assert_eq!(page.results[0].id, first.id.to_string());
    let page = client.returns_updated_since(before, 2, 1).await.unwrap();
    assert_eq!(page.results[0].id, second.id.to_string());
    assert!(!page.has_more);
    // A change moves a return to the end, after the cursor of what was seen.
    let seen = page.results[0].updated_at.unwrap();
    sim.cancel(first.id).unwrap();
    let changed = client.returns_updated_since(seen, 1, 100).await.unwrap();
    let ids: Vec<_> = changed.results.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, vec![second.id.to_string(), first.id.to_string()]);
    assert_eq!(changed.results[1].status, ReturnStatus::Cancelled);
}
