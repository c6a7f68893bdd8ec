//! The warehouse connector against the 3PL simulator over real HTTP.

use std::path::Path;

use rust_decimal::Decimal;
use seam_connectors::warehouse::{AcsOrder, AcsOrderItem, MessageBody, WarehouseClient};
use seam_engine::FailureClass;
use seam_sandbox::warehouse::{self as sim, WarehouseSim};

async fn start(
    password: &str,
) -> (
    WarehouseSim,
    seam_sandbox::server::RunningServer,
    WarehouseClient,
) {
    let (warehouse, server) = sim::start(Default::default(), 5, 0).await.unwrap();
    warehouse
        .seed(sim::Seed {
            catalogue: vec![
                sim::CatalogueItem {
                    sku: "DRESS-M".into(),
                    description: "Dress M".into(),
                    refurbished: false,
                },
                sim::CatalogueItem {
                    sku: "COAT-L".into(),
                    description: "Coat L".into(),
                    refurbished: true,
                },
            ],
            stock: vec![
                sim::StockLevel {
                    sku: "DRESS-M".into(),
                    status: "Available".into(),
                    quantity: 10,
                },
                sim::StockLevel {
                    sku: "COAT-L".into(),
                    status: "Available".into(),
                    quantity: 3,
                },
                sim::StockLevel {
                    sku: "COAT-L".into(),
                    status: "In-Refurbishment".into(),
                    quantity: 2,
                },
            ],
        })
        .unwrap();
    let defaults = sim::WarehouseConfig::default();
    let toml = format!(
        "[connectors.warehouse]\nurl = \"{}/api/v1\"\nusername = \"{}\"\npassword = \"{password}\"\naccount_code = \"{}\"\nwebhook_secret = \"hook-secret\"\n",
        server.base_url(),
        defaults.username,
        defaults.account_code
    );
    let config = seam_config::parse(&toml, Path::new("test.toml"), &|_| None).unwrap();
    let client = WarehouseClient::new(config.connectors.warehouse.as_ref().unwrap(), None);
    (warehouse, server, client)
}

fn order(client: &WarehouseClient, number: &str, service: &str, grade: Option<&str>) -> AcsOrder {
    AcsOrder {
        account_code: client.account_code().into(),
        order_number: number.into(),
        order_date: "2026-11-22".into(),
        first_name: "Alex".into(),
        last_name: "Smith".into(),
        mobile_phone: None,
        email: Some("alex@example.com".into()),
        address1: "1 High Street".into(),
        address2: None,
        address3: None,
        address4: None,
        city: "Glasgow".into(),
        county: None,
        postcode: "G1 1AA".into(),
        delivery_service: service.into(),
        delivery_agent: "DPD".into(),
        delivery_charge: None,
        comments: None,
        order_cancelled: false,
        order_items: vec![
            AcsOrderItem {
                line_item_id: "1".into(),
                garment_sku: "DRESS-M".into(),
                is_hire: false,
                item_price: Decimal::new(4995, 2),
                item_quantity: 2,
                item_condition: None,
                grade: None,
            },
            AcsOrderItem {
                line_item_id: "2".into(),
                garment_sku: "COAT-L".into(),
                is_hire: false,
                item_price: Decimal::new(12900, 2),
                item_quantity: 1,
                item_condition: Some("Refurbished".into()),
                grade: grade.map(str::to_string),
            },
        ],
    }
}

#[tokio::test]
async fn orders_are_posted_once_read_back_and_refused_with_every_reason() {
    let (_sim, _server, client) = start("seam-sandbox").await;
    let unmapped = client
        .put_order(&order(&client, "C-1", "SAT", Some("A")))
        .await
        .unwrap_err();
    assert_eq!(unmapped.class, FailureClass::Data);
    assert!(
        unmapped.message.contains("DeliveryService"),
        "{}",
        unmapped.message
    );
    let ungraded = client
        .put_order(&order(&client, "C-2", "ND", None))
        .await
        .unwrap_err();
    assert_eq!(ungraded.class, FailureClass::Data);
    assert!(ungraded.message.contains("Grade"), "{}", ungraded.message);

    let good = order(&client, "C-3", "ND", Some("A"));
    let first = client.put_order(&good).await.unwrap();
    let again = client.put_order(&good).await.unwrap();
    assert_eq!(
        first.version, again.version,
        "an identical re-PUT changes nothing"
    );
    let view = client.get_order("C-3").await.unwrap().expect("read back");
    assert_eq!(view.order_items.len(), 2);
    assert_eq!(view.delivery_service, "ND");
    assert!(client.get_order("NOPE").await.unwrap().is_none());
    let cancelled = client.cancel_order(&good).await.unwrap();
    assert_eq!(cancelled.status, "Cancelled");
}

#[tokio::test]
async fn the_feed_carries_partial_dispatches_returns_and_bulk_movements_in_order() {
    let (warehouse, _server, client) = start("seam-sandbox").await;
    client
        .put_order(&order(&client, "C-9", "ND", Some("B")))
        .await
        .unwrap();
    let part = sim::DispatchRequest {
        lines: Some(vec![sim::DispatchLineRequest {
            line_item_id: "1".into(),
            quantity: 2,
        }]),
        carrier: None,
        service: None,
        tracking_number: None,
    };
    warehouse.dispatch("C-9", &part).unwrap();
    let rest = sim::DispatchRequest {
        lines: None,
        carrier: None,
        service: None,
        tracking_number: None,
    };
    warehouse.dispatch("C-9", &rest).unwrap();
    let movements: Vec<_> = (0..5_000)
        .map(|i| sim::MovementRequest {
            sku: "DRESS-M".into(),
            from: if i % 2 == 0 {
                "Available".into()
            } else {
                "Quarantine".into()
            },
            to: if i % 2 == 0 {
                "Quarantine".into()
            } else {
                "Available".into()
            },
            quantity: 1,
        })
        .collect();
    assert_eq!(warehouse.move_many(&movements).applied, 5_000);

    let mut cursor = 0;
    let mut dispatches = Vec::new();
    let mut stock_moves = 0;
    let mut last_sequence = 0;
    loop {
        let page = client.messages_after(cursor, 1_500).await.unwrap();
        for message in &page.messages {
            assert!(message.sequence > last_sequence, "in order");
            last_sequence = message.sequence;
            match &message.body {
                MessageBody::DispatchConfirmation(d) => dispatches.push(d.clone()),
                MessageBody::StockMovement(_) => stock_moves += 1,
                _ => {}
            }
        }
        cursor = page.next_cursor;
        if !page.has_more {
            break;
        }
    }
    assert_eq!(dispatches.len(), 2, "one confirmation per parcel");
    assert!(dispatches.iter().all(|d| !d.tracking_number.is_empty()));
    assert_eq!(dispatches[0].lines.len(), 1);
    assert!(stock_moves >= 5_000);
}

#[tokio::test]
async fn the_snapshot_matches_the_warehouse_and_webhooks_verify() {
    let (warehouse, _server, client) = start("seam-sandbox").await;
    let snapshot = client.stock_snapshot().await.unwrap();
    assert_eq!(snapshot.by_sku["COAT-L"]["Available"], 3);
    assert_eq!(snapshot.by_sku["COAT-L"]["In-Refurbishment"], 2);
    assert_eq!(snapshot.by_sku["DRESS-M"]["Available"], 10);
    assert_eq!(warehouse.stock("COAT-L").by_status["In-Refurbishment"], 2);

    let body = br#"{"AccountCode":"SEAMTEST","Messages":[{"MessageId":"m1","Sequence":1,"Type":"StockMovement","Sku":"A","FromStatus":"Available","ToStatus":"Quarantine","Quantity":1,"OccurredAt":"t"}]}"#;
    let now = chrono::Utc::now().timestamp();
    let header = seam_sandbox::warehouse::signature_header("hook-secret", now, body);
    let messages = client.parse_webhook(Some(&header), body, now).unwrap();
    assert_eq!(messages.len(), 1);
    let forged = seam_sandbox::warehouse::signature_header("guess", now, body);
    assert!(client.parse_webhook(Some(&forged), body, now).is_err());
    let stale = seam_sandbox::warehouse::signature_header("hook-secret", now - 3_600, body);
    assert!(client.parse_webhook(Some(&stale), body, now).is_err());
}

#[tokio::test]
async fn a_wrong_password_is_auth_and_outages_are_ridden_out() {
    let (_sim, server, client) = start("wrong").await;
    let refused = client.messages_after(0, 10).await.unwrap_err();
    assert_eq!(refused.class, FailureClass::Auth);
    let (_sim2, server2, good) = start("seam-sandbox").await;
    reqwest::Client::new()
        .post(format!("{}/_admin/faults", server2.base_url()))
        .json(&serde_json::json!({ "fail_next": 2 }))
        .send()
        .await
        .unwrap();
    assert!(
        good.messages_after(0, 10).await.is_ok(),
        "two 503s are retried"
    );
    drop(server);
}
