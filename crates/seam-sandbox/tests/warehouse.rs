//! The warehouse simulator over real HTTP: partner API, feed, stock file,
//! webhooks and fault injection.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use seam_sandbox::server::RunningServer;
use seam_sandbox::warehouse::{
    self, vendor, CatalogueItem, DispatchLineRequest, DispatchRequest, Disposition, FeedPage,
    Grade, MessageBody, MovementRequest, OrderAck, OrderView, PartnerErrorBody, ReturnLineRequest,
    ReturnRequest, WarehouseConfig, WarehouseSim, WebhookBatch, WebhookTarget,
};
use serde_json::{json, Value};

async fn started() -> (WarehouseSim, RunningServer, reqwest::Client) {
    let (sim, server) = warehouse::start(WarehouseConfig::default(), 7, 0)
        .await
        .expect("starts");
    sim.add_catalogue_items(vec![
        CatalogueItem {
            sku: "DRESS-RED-M".into(),
            description: "Red dress M".into(),
            refurbished: false,
        },
        CatalogueItem {
            sku: "COAT-PRE-L".into(),
            description: "Pre-loved coat L".into(),
            refurbished: true,
        },
        CatalogueItem {
            sku: "SCARF-1".into(),
            description: "Scarf".into(),
            refurbished: false,
        },
    ]);
    sim.set_stock("DRESS-RED-M", vendor::status::AVAILABLE, 10)
        .expect("stock");
    sim.set_stock("COAT-PRE-L", vendor::status::AVAILABLE, 4)
        .expect("stock");
    sim.set_stock("SCARF-1", vendor::status::AVAILABLE, 5)
        .expect("stock");
    (sim, server, reqwest::Client::new())
}

fn order_body(number: &str) -> Value {
    json!({
        "AccountCode": "SEAMTEST", "OrderNumber": number, "OrderDate": "2024-05-02",
        "DispatchDate": "2024-05-03", "FirstName": "Ada", "LastName": "Lovelace",
        "MobilePhone": "07700900000", "Email": "ada@example.com",
        "Delivery_Address1": "1 Main Street", "Delivery_Address2": "", "Delivery_Address3": "",
        "Delivery_Address4": null, "Delivery_City": "Glasgow", "Delivery_County": null,
        "Delivery_Postcode": "G1 1AA", "DeliveryService": "ND", "DeliveryAgent": "DPD",
        "DeliveryCharge": null, "Comments": "", "OrderCancelled": false, "Misc1": null,
        "OrderItems": [
            {"LineItemId": "001", "GarmentSku": "DRESS-RED-M", "IsHire": false, "ItemPrice": 120.0, "ItemQuantity": 2},
            {"LineItemId": "002", "GarmentSKU": "SCARF-1", "IsHire": false, "ItemPrice": 15.5, "ItemQuantity": 1}
        ]
    })
}

async fn put(
    client: &reqwest::Client,
    server: &RunningServer,
    number: &str,
    body: &Value,
) -> reqwest::Response {
    client
        .put(format!("{}/api/v1/orders/{number}", server.base_url()))
        .basic_auth("seam", Some("seam-sandbox"))
        .json(body)
        .send()
        .await
        .expect("request")
}

async fn feed(
    client: &reqwest::Client,
    server: &RunningServer,
    after: u64,
    limit: usize,
) -> FeedPage {
    client
        .get(format!(
            "{}/api/v1/messages?after={after}&limit={limit}",
            server.base_url()
        ))
        .basic_auth("seam", Some("seam-sandbox"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("feed page")
}

async fn error_body(response: reqwest::Response) -> PartnerErrorBody {
    let body: PartnerErrorBody = response.json().await.expect("error shape");
    assert!(!body.success);
    body
}

#[tokio::test]
async fn bad_basic_auth_is_401_with_a_challenge() {
    let (_sim, server, client) = started().await;
    let response = client
        .put(format!("{}/api/v1/orders/A-1", server.base_url()))
        .basic_auth("seam", Some("wrong"))
        .json(&order_body("A-1"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    let no_auth = client
        .get(format!("{}/api/v1/orders/A-1", server.base_url()))
        .send()
        .await
        .expect("request");
    assert_eq!(no_auth.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_account_code_is_refused() {
    let (_sim, server, client) = started().await;
    let mut body = order_body("A-2");
    body["AccountCode"] = json!("SOMEONEELSE");
    let response = put(&client, &server, "A-2", &body).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let errors = error_body(response).await.errors;
    assert_eq!(errors[0].field.as_deref(), Some("AccountCode"));
}

#[tokio::test]
async fn unknown_service_code_is_rejected_in_the_error_shape() {
    let (sim, server, client) = started().await;
    let mut body = order_body("A-3");
    body["DeliveryService"] = json!("SAT");
    let response = put(&client, &server, "A-3", &body).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let errors = error_body(response).await.errors;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field.as_deref(), Some("DeliveryService"));
    assert_eq!(errors[0].code, "UNKNOWN_DELIVERY_SERVICE");
    assert!(sim.order("A-3").is_none(), "nothing half-created");
}

#[tokio::test]
async fn refurbished_item_needs_condition_and_grade() {
    let (sim, server, client) = started().await;
    let mut body = order_body("A-4");
    body["OrderItems"] = json!([
        {"LineItemId": "001", "GarmentSku": "COAT-PRE-L", "IsHire": false, "ItemPrice": 80, "ItemQuantity": 1,
         "ItemCondition": "Very Good"}
    ]);
    let response = put(&client, &server, "A-4", &body).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let errors = error_body(response).await.errors;
    assert_eq!(errors[0].field.as_deref(), Some("OrderItems[0].Grade"));
    assert_eq!(errors[0].code, "MISSING_GRADE");

    body["OrderItems"][0]["Grade"] = json!("B");
    let response = put(&client, &server, "A-4", &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let ack: OrderAck = response.json().await.expect("ack");
    assert_eq!(ack.status, vendor::order_status::RECEIVED);
    assert_eq!(sim.available_units("COAT-PRE-L"), 3, "one unit allocated");
}

#[tokio::test]
async fn unknown_sku_and_missing_address_are_rejected() {
    let (_sim, server, client) = started().await;
    let mut body = order_body("A-5");
    body["OrderItems"][1]["GarmentSKU"] = json!("NOPE-1");
    body["Delivery_Postcode"] = json!("");
    let response = put(&client, &server, "A-5", &body).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let errors = error_body(response).await.errors;
    // Shape errors are reported first; the SKU is checked once the body reads.
    assert_eq!(errors[0].field.as_deref(), Some("Delivery_Postcode"));
    body["Delivery_Postcode"] = json!("G1 1AA");
    let errors = error_body(put(&client, &server, "A-5", &body).await)
        .await
        .errors;
    assert_eq!(errors[0].field.as_deref(), Some("OrderItems[1].GarmentSku"));
    assert_eq!(errors[0].code, "UNKNOWN_SKU");
}

#[tokio::test]
async fn malformed_json_is_400_in_the_error_shape() {
    let (_sim, server, client) = started().await;
    let response = client
        .put(format!("{}/api/v1/orders/A-6", server.base_url()))
        .basic_auth("seam", Some("seam-sandbox"))
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    error_body(response).await;
}

#[tokio::test]
async fn re_put_of_the_same_body_changes_nothing_and_a_changed_body_modifies() {
    let (sim, server, client) = started().await;
    let body = order_body("A-7");
    let first: Value = put(&client, &server, "A-7", &body)
        .await
        .json()
        .await
        .expect("json");
    let before = sim.order("A-7").expect("order");
    let second: Value = put(&client, &server, "A-7", &body)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(first, second);
    assert_eq!(sim.order("A-7").expect("order"), before);
    assert_eq!(sim.available_units("DRESS-RED-M"), 8);

    let mut changed = body.clone();
    changed["OrderItems"][0]["ItemQuantity"] = json!(3);
    let ack: OrderAck = put(&client, &server, "A-7", &changed)
        .await
        .json()
        .await
        .expect("ack");
    assert_eq!(ack.version, 2);
    assert_eq!(
        sim.available_units("DRESS-RED-M"),
        7,
        "allocation follows the modification"
    );
}

#[tokio::test]
async fn order_cancelled_on_a_re_put_cancels_and_releases_stock() {
    let (sim, server, client) = started().await;
    let mut body = order_body("A-8");
    assert_eq!(
        put(&client, &server, "A-8", &body).await.status(),
        StatusCode::OK
    );
    assert_eq!(sim.available_units("DRESS-RED-M"), 8);
    body["OrderCancelled"] = json!(true);
    let ack: OrderAck = put(&client, &server, "A-8", &body)
        .await
        .json()
        .await
        .expect("ack");
    assert_eq!(ack.status, vendor::order_status::CANCELLED);
    assert_eq!(sim.available_units("DRESS-RED-M"), 10);
    let view: OrderView = client
        .get(format!("{}/api/v1/orders/A-8", server.base_url()))
        .basic_auth("seam", Some("seam-sandbox"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("view");
    assert!(view.order_cancelled);
    // A further change to a cancelled order is refused.
    body["Comments"] = json!("please deliver anyway");
    assert_eq!(
        put(&client, &server, "A-8", &body).await.status(),
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn partial_then_final_dispatch_both_reach_the_feed_with_tracking() {
    let (sim, server, client) = started().await;
    let body = order_body("A-9");
    assert_eq!(
        put(&client, &server, "A-9", &body).await.status(),
        StatusCode::OK
    );
    let start = sim.last_sequence();

    let first = client
        .post(format!("{}/_admin/orders/A-9/dispatch", server.base_url()))
        .json(&DispatchRequest {
            lines: Some(vec![DispatchLineRequest {
                line_item_id: "001".into(),
                quantity: 2,
            }]),
            carrier: Some("DPD".into()),
            tracking_number: Some("15501234567890".into()),
            ..Default::default()
        })
        .send()
        .await
        .expect("request");
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(
        sim.order("A-9").expect("order").status,
        vendor::order_status::PART_DISPATCHED
    );

    // Once anything has shipped, the order cannot be changed.
    let mut changed = body.clone();
    changed["OrderItems"][1]["ItemQuantity"] = json!(2);
    let refused = put(&client, &server, "A-9", &changed).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(
        error_body(refused).await.errors[0].code,
        "ORDER_ALREADY_DISPATCHED"
    );

    let second = client
        .post(format!("{}/_admin/orders/A-9/dispatch", server.base_url()))
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(second.status(), StatusCode::OK);

    let page = feed(&client, &server, start, 100).await;
    let dispatches: Vec<_> = page
        .messages
        .iter()
        .filter_map(|m| match &m.body {
            MessageBody::DispatchConfirmation(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(dispatches.len(), 2);
    assert_eq!(dispatches[0].tracking_number, "15501234567890");
    assert_eq!(dispatches[0].lines.len(), 1);
    assert_eq!(dispatches[1].lines[0].line_item_id, "002");
    assert_eq!(dispatches[1].carrier, "DPD");
    assert_eq!(dispatches[1].service, "ND");
    assert_eq!(
        dispatches[1].tracking_number.len(),
        14,
        "generated DPD tracking"
    );
    let view = sim.order("A-9").expect("order");
    assert_eq!(view.status, vendor::order_status::DISPATCHED);
    assert_eq!(view.dispatches.len(), 2);
    assert_eq!(
        sim.stock("DRESS-RED-M")
            .by_status
            .get(vendor::status::AVAILABLE),
        Some(&8)
    );
    assert_eq!(sim.available_units("DRESS-RED-M"), 8);
}

#[tokio::test]
async fn a_ber_return_waits_in_inspection_then_is_written_off() {
    let (sim, server, client) = started().await;
    assert_eq!(
        put(&client, &server, "R-1", &order_body("R-1"))
            .await
            .status(),
        StatusCode::OK
    );
    sim.dispatch("R-1", &DispatchRequest::default())
        .expect("dispatched");
    let request = ReturnRequest {
        order_number: Some("R-1".into()),
        rma: None,
        lines: vec![
            ReturnLineRequest {
                line_item_id: Some("001".into()),
                sku: None,
                quantity: 1,
                grade: Grade::Ber,
                disposition: Disposition::WriteOff,
                notes: Some("torn lining".into()),
            },
            ReturnLineRequest {
                line_item_id: Some("001".into()),
                sku: None,
                quantity: 1,
                grade: Grade::A,
                disposition: Disposition::Restock,
                notes: None,
            },
        ],
    };
    let received: Value = client
        .post(format!("{}/_admin/returns", server.base_url()))
        .json(&request)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("record");
    let return_id = received["return_id"].as_str().expect("id").to_string();
    let stock = sim.stock("DRESS-RED-M");
    assert_eq!(
        stock.by_status.get(vendor::status::PENDING_INSPECTION),
        Some(&2)
    );
    assert_eq!(
        sim.available_units("DRESS-RED-M"),
        8,
        "pending units are not sellable"
    );

    let after = sim.last_sequence();
    let graded = client
        .post(format!(
            "{}/_admin/returns/{return_id}/grade",
            server.base_url()
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(graded.status(), StatusCode::OK);
    assert_eq!(
        sim.available_units("DRESS-RED-M"),
        9,
        "only the grade A unit is restocked"
    );
    assert_eq!(
        sim.stock("DRESS-RED-M")
            .by_status
            .get(vendor::status::PENDING_INSPECTION),
        None
    );

    let page = feed(&client, &server, after, 100).await;
    let receipt = page
        .messages
        .iter()
        .find_map(|m| match &m.body {
            MessageBody::ReturnReceipt(r) => Some(r.clone()),
            _ => None,
        })
        .expect("a return receipt");
    assert_eq!(receipt.order_number.as_deref(), Some("R-1"));
    assert_eq!(receipt.lines[0].grade, Grade::Ber);
    assert_eq!(receipt.lines[0].disposition, Disposition::WriteOff);
    assert_eq!(receipt.lines[0].notes, "torn lining");
    let raw = serde_json::to_value(&page.messages).expect("json");
    let text = raw.to_string();
    assert!(text.contains("\"Grade\":\"BER\"") && text.contains("\"Disposition\":\"WRITE_OFF\""));
    assert!(text.contains(&format!("\"ToStatus\":\"{}\"", vendor::status::WRITTEN_OFF)));

    // BER cannot be restocked.
    let wrong = ReturnRequest {
        rma: Some("RMA-9".into()),
        lines: vec![ReturnLineRequest {
            line_item_id: None,
            sku: Some("SCARF-1".into()),
            quantity: 1,
            grade: Grade::Ber,
            disposition: Disposition::Restock,
            notes: None,
        }],
        ..Default::default()
    };
    assert!(sim.receive_return(&wrong).is_err());
}

#[tokio::test]
async fn stock_snapshot_csv_totals_match_the_state() {
    let (sim, server, client) = started().await;
    sim.set_stock("DRESS-RED-M", vendor::status::IN_REFURBISHMENT, 3)
        .expect("stock");
    sim.set_stock("DRESS-RED-M", vendor::status::POST_RENTAL_INSPECTION, 2)
        .expect("stock");
    sim.set_stock("DRESS-RED-M", vendor::status::QUARANTINE, 1)
        .expect("stock");
    sim.set_stock("SCARF-1", "Awaiting Photography", 2)
        .expect("any status string");
    sim.move_stock(
        "SCARF-1",
        vendor::status::AVAILABLE,
        vendor::status::DAMAGED,
        1,
    )
    .expect("move");

    let response = client
        .get(format!("{}/api/v1/stock/snapshot.csv", server.base_url()))
        .basic_auth("seam", Some("seam-sandbox"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let cursor: u64 = response
        .headers()
        .get(vendor::FEED_CURSOR_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("cursor header");
    assert_eq!(cursor, sim.last_sequence());
    let text = response.text().await.expect("csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .expect("headers")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(headers, vendor::SNAPSHOT_COLUMNS);
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    let mut rfids = std::collections::HashSet::new();
    for record in reader.records() {
        let record = record.expect("row");
        assert_eq!(&record[0], "SEAMTEST");
        assert!(rfids.insert(record[3].to_string()), "RFIDs are unique");
        *totals.entry(record[4].to_string()).or_default() += 1;
    }
    assert_eq!(totals, sim.status_totals());
    assert_eq!(totals.get("Available"), Some(&(10 + 4 + 4)));
    assert_eq!(totals.get("Awaiting Photography"), Some(&2));

    // Published files are listed and fetchable by name.
    let info = sim.publish_stock_file().expect("file");
    let files: Value = client
        .get(format!("{}/api/v1/stock/files", server.base_url()))
        .basic_auth("seam", Some("seam-sandbox"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("list");
    assert_eq!(files[0]["Name"], json!(info.name));
    let file = client
        .get(format!(
            "{}/api/v1/stock/files/{}",
            server.base_url(),
            info.name
        ))
        .basic_auth("seam", Some("seam-sandbox"))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("csv");
    assert_eq!(file.lines().count() as u64, info.rows + 1);
}

#[tokio::test]
async fn message_feed_pages_by_cursor() {
    let (sim, server, client) = started().await;
    let movements: Vec<MovementRequest> = (0..25)
        .map(|i| MovementRequest {
            sku: "DRESS-RED-M".into(),
            from: if i % 2 == 0 {
                vendor::status::AVAILABLE
            } else {
                vendor::status::QUARANTINE
            }
            .into(),
            to: if i % 2 == 0 {
                vendor::status::QUARANTINE
            } else {
                vendor::status::AVAILABLE
            }
            .into(),
            quantity: 1,
        })
        .collect();
    let outcome = sim.move_many(&movements);
    assert_eq!(outcome.applied, 25);
    assert!(outcome.rejected.is_empty());

    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let page = feed(&client, &server, after, 10).await;
        assert!(page.messages.len() <= 10);
        seen.extend(page.messages.iter().map(|m| m.sequence));
        after = page.next_cursor;
        if !page.has_more {
            break;
        }
    }
    assert_eq!(seen, (1..=25).collect::<Vec<u64>>());
    let empty = feed(&client, &server, after, 10).await;
    assert!(empty.messages.is_empty());
    assert_eq!(empty.next_cursor, after);

    let too_big = client
        .get(format!(
            "{}/api/v1/messages?after=0&limit=5001",
            server.base_url()
        ))
        .basic_auth("seam", Some("seam-sandbox"))
        .send()
        .await
        .expect("request");
    assert_eq!(too_big.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn webhooks_are_batched_and_signed() {
    let (sim, _server, _client) = started().await;
    let received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let sink = received.clone();
    let receiver = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                if let Ok(mut sink) = sink.lock() {
                    sink.push((headers, body));
                }
                StatusCode::OK
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
    let secret = "whsec-test";
    sim.register_webhook(
        WebhookTarget {
            url: format!("http://{addr}/hook"),
            secret: secret.into(),
        },
        None,
    );
    let movements: Vec<MovementRequest> = (0..600)
        .map(|i| MovementRequest {
            sku: "DRESS-RED-M".into(),
            from: if i % 2 == 0 {
                vendor::status::AVAILABLE
            } else {
                vendor::status::QUARANTINE
            }
            .into(),
            to: if i % 2 == 0 {
                vendor::status::QUARANTINE
            } else {
                vendor::status::AVAILABLE
            }
            .into(),
            quantity: 1,
        })
        .collect();
    assert_eq!(sim.move_many(&movements).applied, 600);

    let mut sequences = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let deliveries = received.lock().map(|r| r.clone()).unwrap_or_default();
        sequences.clear();
        for (headers, body) in &deliveries {
            let header = headers
                .get(vendor::SIGNATURE_HEADER)
                .and_then(|v| v.to_str().ok())
                .expect("signature header");
            let now = chrono::Utc::now().timestamp();
            assert!(
                warehouse::verify_signature(secret, header, body, now, 300),
                "signature verifies"
            );
            assert!(!warehouse::verify_signature(
                "wrong", header, body, now, 300
            ));
            let batch: WebhookBatch = serde_json::from_slice(body).expect("batch");
            assert!(batch.messages.len() <= vendor::MAX_WEBHOOK_BATCH);
            sequences.extend(batch.messages.iter().map(|m| m.sequence));
        }
        if sequences.len() >= 600 {
            break;
        }
    }
    sequences.sort_unstable();
    assert_eq!(sequences, (1..=600).collect::<Vec<u64>>());
    assert!(
        received.lock().map(|r| r.len()).unwrap_or(0) >= 2,
        "600 messages need two batches"
    );
}

#[tokio::test]
async fn fail_next_gives_three_503s_then_recovers() {
    let (_sim, server, client) = started().await;
    let set = client
        .post(format!("{}/_admin/faults", server.base_url()))
        .json(&json!({ "fail_next": 3 }))
        .send()
        .await
        .expect("request");
    assert_eq!(set.status(), StatusCode::OK);
    for _ in 0..3 {
        let response = put(&client, &server, "F-1", &order_body("F-1")).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(
        put(&client, &server, "F-1", &order_body("F-1"))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn bulk_movements_are_cheap() {
    let sim = WarehouseSim::new(WarehouseConfig::default(), 1);
    sim.add_catalogue_items(vec![CatalogueItem {
        sku: "S".into(),
        description: String::new(),
        refurbished: false,
    }]);
    sim.set_stock("S", vendor::status::AVAILABLE, 1_000)
        .expect("stock");
    let batch: Vec<MovementRequest> = (0..5_000)
        .map(|i| MovementRequest {
            sku: "S".into(),
            from: if i % 2 == 0 {
                "Available"
            } else {
                "Quarantine"
            }
            .into(),
            to: if i % 2 == 0 {
                "Quarantine"
            } else {
                "Available"
            }
            .into(),
            quantity: 3,
        })
        .collect();
    let outcome = sim.move_many(&batch);
    assert_eq!(outcome.applied, 5_000);
    assert_eq!(sim.messages_after(0, 5_000).messages.len(), 5_000);
    assert_eq!(sim.stock("S").by_status.get("Available"), Some(&1_000));
}

#[tokio::test]
async fn dispositions_route_graded_units_and_adjustments_are_announced() {
    let sim = WarehouseSim::new(WarehouseConfig::default(), 3);
    sim.add_catalogue_items(vec![CatalogueItem {
        sku: "JKT".into(),
        description: String::new(),
        refurbished: false,
    }]);
    let receipt = sim
        .receive_and_grade_return(&ReturnRequest {
            rma: Some("RMA-1".into()),
            lines: vec![
                ReturnLineRequest {
                    line_item_id: None,
                    sku: Some("JKT".into()),
                    quantity: 2,
                    grade: Grade::C,
                    disposition: Disposition::Repair,
                    notes: None,
                },
                ReturnLineRequest {
                    line_item_id: None,
                    sku: Some("JKT".into()),
                    quantity: 1,
                    grade: Grade::Ber,
                    disposition: Disposition::ExHire,
                    notes: None,
                },
            ],
            ..Default::default()
        })
        .expect("graded");
    assert_eq!(receipt.rma.as_deref(), Some("RMA-1"));
    let stock = sim.stock("JKT");
    assert_eq!(
        stock.by_status.get(vendor::status::IN_REFURBISHMENT),
        Some(&2)
    );
    assert_eq!(stock.by_status.get(vendor::status::EX_HIRE), Some(&1));
    assert_eq!(stock.available_units, 0);
    assert!(
        sim.grade_return(&receipt.return_id).is_err(),
        "graded once only"
    );

    let before = sim.last_sequence();
    sim.adjust_stock("JKT", vendor::status::AVAILABLE, 4)
        .expect("adjusted");
    let page = sim.messages_after(before, 10);
    match &page.messages[0].body {
        MessageBody::StockMovement(movement) => {
            assert_eq!(movement.from_status, vendor::status::STOCK_ADJUSTMENT);
            assert_eq!(movement.to_status, vendor::status::AVAILABLE);
            assert_eq!(movement.quantity, 4);
        }
        other => panic!("expected a movement, got {other:?}"),
    }
}

#[tokio::test]
async fn an_order_beyond_stock_awaits_stock() {
    let (sim, server, client) = started().await;
    let mut body = order_body("S-1");
    body["OrderItems"][1]["ItemQuantity"] = json!(9);
    let ack: OrderAck = put(&client, &server, "S-1", &body)
        .await
        .json()
        .await
        .expect("ack");
    assert_eq!(ack.status, vendor::order_status::AWAITING_STOCK);
    assert_eq!(sim.available_units("SCARF-1"), 0);
    let view = sim.order("S-1").expect("order");
    assert_eq!(view.order_items[1].quantity_allocated, 5);
}

#[tokio::test]
async fn stock_arriving_is_allocated_to_waiting_orders_first() {
    let (sim, server, client) = started().await;
    let mut body = order_body("S-2");
    body["OrderItems"][1]["ItemQuantity"] = json!(7);
    put(&client, &server, "S-2", &body).await;
    assert_eq!(
        sim.order("S-2").expect("order").status,
        vendor::order_status::AWAITING_STOCK
    );
    sim.set_stock("SCARF-1", vendor::status::QUARANTINE, 3)
        .expect("stock");
    sim.move_stock(
        "SCARF-1",
        vendor::status::QUARANTINE,
        vendor::status::AVAILABLE,
        3,
    )
    .expect("released from quarantine");
    let view = sim.order("S-2").expect("order");
    assert_eq!(view.order_items[1].quantity_allocated, 7);
    assert_eq!(view.status, vendor::order_status::RECEIVED);
    assert_eq!(sim.available_units("SCARF-1"), 1);
}

#[tokio::test]
async fn admin_api_seeds_and_moves_stock_over_http() {
    let (sim, server) = warehouse::start(WarehouseConfig::default(), 11, 0)
        .await
        .expect("starts");
    let client = reqwest::Client::new();
    let base = server.base_url();
    let setup = client
        .post(format!("{base}/_admin/setup"))
        .json(&json!({
            "catalogue": [{"sku": "TOP-S", "description": "Top S", "refurbished": false}],
            "stock": [
                {"sku": "TOP-S", "status": "Available", "quantity": 5},
                {"sku": "TOP-S", "status": "In-Refurbishment", "quantity": 3},
                {"sku": "TOP-S", "status": "Post-Rental Inspection", "quantity": 2},
                {"sku": "TOP-S", "status": "Quarantine", "quantity": 1}
            ]
        }))
        .send()
        .await
        .expect("request");
    assert_eq!(setup.status(), StatusCode::OK);
    assert_eq!(sim.last_sequence(), 0, "seeding is silent");
    let bulk: Value = client
        .post(format!("{base}/_admin/stock/movements"))
        .json(&json!({"movements": [
            {"sku": "TOP-S", "from": "In-Refurbishment", "to": "Available", "quantity": 2},
            {"sku": "TOP-S", "from": "Quarantine", "to": "Damaged", "quantity": 5}
        ]}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("outcome");
    assert_eq!(bulk["applied"], json!(1));
    assert_eq!(bulk["rejected"][0][0], json!(1));
    let position: Value = client
        .get(format!("{base}/_admin/stock/TOP-S"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("position");
    assert_eq!(position["by_status"]["Available"], json!(7));
    assert_eq!(position["available_units"], json!(7));
    let unknown = client
        .post(format!("{base}/_admin/stock/move"))
        .json(&json!({"sku": "NOPE", "from": "Available", "to": "Damaged", "quantity": 1}))
        .send()
        .await
        .expect("request");
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
