//! The Centra connector against the Centra simulator over loopback HTTP:
//! orders, polling, confirmation, shipments with capture (and a failed
//! capture), returns, stock in one batched mutation, catalogue, the event
//! queue, error classification, faults, rate limits and webhook signatures.

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rust_decimal::Decimal;
use seam_connectors::centra::*;
use seam_engine::FailureClass;
use seam_sandbox::centra::{
    self as sim, AddressData, Attribute, CatalogueSeed, CentraSim, NewOrder, NewOrderLine,
    NewVoucher, RateLimitConfig, SeedBundle, SeedBundleSection, SeedProduct, SeedSize, SeedStock,
    SeedVariant, TokenConfig, WebhookTarget,
};
use seam_sandbox::server::RunningServer;

const SECRET: &str = "whsec-test";

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn client_with(url: &str, token: &str, budget: &str) -> CentraClient {
    let text = format!(
        "[connectors.centra]\nurl = \"{url}/graphql\"\ntoken = \"${{CENTRA_TOKEN}}\"\n\
         webhook_secret = \"${{CENTRA_WEBHOOK_SECRET}}\"\n{budget}\n"
    );
    let token = token.to_string();
    let config = seam_config::parse(&text, Path::new("test.toml"), &|name| match name {
        "CENTRA_TOKEN" => Some(token.clone()),
        "CENTRA_WEBHOOK_SECRET" => Some(SECRET.to_string()),
        _ => None,
    })
    .expect("config parses");
    CentraClient::new(config.connectors.centra.as_ref().unwrap(), None)
}

const FAST: &str = "budget = { requests = { count = 10000, per = \"1s\" }, mutations = { count = 10000, per = \"1s\" } }";

/// A simulator with its own rate limits off (tests that want them set them).
async fn start() -> (CentraSim, RunningServer, CentraClient) {
    let (sim, server) = sim::start(Default::default(), 7, 0).await.unwrap();
    sim.set_rate_limits(RateLimitConfig {
        enabled: false,
        ..Default::default()
    });
    let client = client_with(&server.base_url(), sim::DEFAULT_TOKEN, FAST);
    (sim, server, client)
}

fn catalogue() -> CatalogueSeed {
    let size = |name: &str, ean: &str| SeedSize {
        name: name.into(),
        size_number: None,
        ean: Some(ean.into()),
    };
    CatalogueSeed {
        warehouses: vec!["Main".into(), "Outlet".into()],
        products: vec![
            SeedProduct {
                product_number: "P1".into(),
                name: "Wool coat".into(),
                brand: Some("Seam".into()),
                attributes: vec![Attribute {
                    type_name: "item_condition".into(),
                    key: None,
                    value: "new".into(),
                }],
                variants: vec![SeedVariant {
                    variant_number: "BLK".into(),
                    name: "Black".into(),
                    attributes: vec![Attribute {
                        type_name: "grade".into(),
                        key: None,
                        value: "A".into(),
                    }],
                    sizes: vec![size("S", "7300000000011"), size("M", "7300000000028")],
                }],
                bundle: None,
            },
            SeedProduct {
                product_number: "P2".into(),
                name: "Scarf".into(),
                variants: vec![SeedVariant {
                    variant_number: "RED".into(),
                    name: "Red".into(),
                    sizes: vec![size("OS", "7300000000035")],
                    ..Default::default()
                }],
                ..Default::default()
            },
            SeedProduct {
                product_number: "KIT".into(),
                name: "Coat and scarf".into(),
                bundle: Some(SeedBundle {
                    bundle_type: "FIXED".into(),
                    sections: vec![
                        SeedBundleSection {
                            quantity: 1,
                            variants: vec!["P1BLK".into()],
                        },
                        SeedBundleSection {
                            quantity: 1,
                            variants: vec!["P2RED".into()],
                        },
                    ],
                }),
                ..Default::default()
            },
        ],
        stock: vec![
            SeedStock {
                sku: "P1BLKS".into(),
                warehouse: "Main".into(),
                physical: 10,
            },
            SeedStock {
                sku: "P1BLKM".into(),
                warehouse: "Main".into(),
                physical: 10,
            },
            SeedStock {
                sku: "P2REDOS".into(),
                warehouse: "Main".into(),
                physical: 10,
            },
        ],
    }
}

fn new_order(psp: &str) -> NewOrder {
    NewOrder {
        lines: vec![
            NewOrderLine {
                sku: "P1BLKS".into(),
                quantity: 2,
                unit_price: dec("149.95"),
                unit_original_price: Some(dec("199.95")),
                tax_percent: dec("25"),
                ..Default::default()
            },
            NewOrderLine {
                sku: "P2REDOS".into(),
                quantity: 1,
                unit_price: dec("19.99"),
                tax_percent: dec("25"),
                ..Default::default()
            },
        ],
        vouchers: vec![NewVoucher {
            name: "Welcome".into(),
            code: Some("HELLO10".into()),
            value: dec("10.00"),
        }],
        currency: "EUR".into(),
        shipping_method: "Express".into(),
        shipping_price: dec("9.90"),
        shipping_tax_percent: dec("25"),
        shipping_address: AddressData {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            address1: "Main street 1".into(),
            city: "Stockholm".into(),
            zip_code: "11122".into(),
            country_code: "SE".into(),
            ..Default::default()
        },
        customer_email: "ada@example.com".into(),
        psp_reference: psp.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn orders_are_read_back_and_confirmed() {
    let (sim, _server, client) = start().await;
    sim.seed_catalogue(&catalogue()).unwrap();
    let created = sim.create_order(new_order("PSP-AAA")).unwrap();

    let order = client
        .order_by_number(i64::from(created.number))
        .await
        .unwrap()
        .expect("order exists");
    assert_eq!(order.id, created.id);
    assert_eq!(order.order_type, "DirectToConsumerOrder");
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(order.psp_reference(), Some("PSP-AAA"));
    assert_eq!(order.customer_email(), Some("ada@example.com"));
    assert_eq!(order.shipping_method(), Some("Express"));
    assert_eq!(order.lines.len(), 2);
    let coat = &order.lines[0];
    assert_eq!(coat.line_type, OrderLineType::ProductOrderLine);
    assert_eq!(
        coat.product_size.as_ref().unwrap().sku.as_deref(),
        Some("P1BLKS")
    );
    assert_eq!(coat.quantity, 2);
    assert_eq!(coat.unit_price.value, dec("149.95"));
    assert_eq!(coat.unit_original_price.value, dec("199.95"));
    assert!(coat.has_any_discount);
    assert_eq!(order.lines[1].unit_price.value, dec("19.99"));
    assert_eq!(order.discounts_applied.len(), 1);
    assert_eq!(
        order.discounts_applied[0]
            .discount
            .as_ref()
            .unwrap()
            .code
            .as_deref(),
        Some("HELLO10")
    );
    // 2 × 149.95 + 19.99 + 9.90 − 10.00, exactly.
    assert_eq!(order.totals.grand_total.value, dec("319.79"));
    assert_eq!(order.grand_total.currency.code, "EUR");
    assert_eq!(
        order.shipping_address.as_ref().unwrap().city.as_deref(),
        Some("Stockholm")
    );

    let by_id = client.order_by_id(&created.id).await.unwrap().unwrap();
    assert_eq!(by_id.number, i64::from(created.number));
    assert!(client.order_by_number(999_999).await.unwrap().is_none());

    let reference = OrderInput::number(i64::from(created.number));
    let confirmed = client.confirm_order(&reference, false).await.unwrap();
    assert_eq!(confirmed.value.status, OrderStatus::Confirmed);
    // A replay answers the confirmed order instead of failing.
    let again = client.confirm_order(&reference, false).await.unwrap();
    assert_eq!(again.value.status, OrderStatus::Confirmed);
    // A real refusal still fails, with Centra's message and path.
    let missing = client
        .confirm_order(&OrderInput::number(424_242), false)
        .await
        .unwrap_err();
    assert_eq!(missing.class, FailureClass::Data);
    assert!(missing.message.contains("Order not found."), "{missing}");
    assert!(missing.message.contains("input.order"), "{missing}");
}

/// The simulator names the sort enum values `UPDATED_AT_ASC` (async-graphql's
/// default renaming) where Centra documents `updatedAt_ASC`; the connector
/// sends Centra's name, so this runs once the simulator keeps the names.
#[tokio::test]
async fn the_updated_at_poll_pages_oldest_first() {
    let (sim, _server, client) = start().await;
    sim.seed_catalogue(&catalogue()).unwrap();
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let created = sim.create_order(new_order("PSP-AAA")).unwrap();
    let second = sim.create_order(new_order("PSP-BBB")).unwrap();
    // The safety-net poll, one order per page.
    let page = client.orders_updated_since(before, 1, None).await.unwrap();
    assert_eq!(page.total_count, 2);
    assert!(page.has_next_page);
    assert_eq!(page.orders[0].number, i64::from(created.number));
    let next = client
        .orders_updated_since(before, 1, page.end_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(next.orders[0].number, i64::from(second.number));
    assert!(!next.has_next_page);
    let later = chrono::Utc::now() + chrono::Duration::seconds(60);
    assert!(client
        .orders_updated_since(later, 100, None)
        .await
        .unwrap()
        .orders
        .is_empty());
}

#[tokio::test]
async fn shipments_capture_complete_and_return() {
    let (sim, _server, client) = start().await;
    sim.seed_catalogue(&catalogue()).unwrap();
    let created = sim.create_order(new_order("PSP-1")).unwrap();
    let reference = OrderInput::id(created.id.clone());
    client.confirm_order(&reference, false).await.unwrap();
    let order = client.order_by_id(&created.id).await.unwrap().unwrap();
    let first_line = order.lines[0].id;
    let second_line = order.lines[1].id;

    let request = ShipmentRequest {
        order: reference.clone(),
        lines: vec![(first_line, 2)],
        capture: true,
        is_paid: false,
        is_good_to_go: true,
        send_email: false,
        idempotency_key: format!("{}:shipment:1", created.id),
        shipment_info: None,
    };
    let shipped = client.create_shipment(&request).await.unwrap();
    assert!(!shipped.replayed);
    assert!(
        matches!(shipped.capture, CaptureOutcome::Captured { .. }),
        "{:?}",
        shipped.capture
    );
    assert!(shipped.shipment.is_captured);
    assert_eq!(shipped.shipment.number, format!("{}-1", created.number));
    // A replay finds the shipment by its key and creates nothing.
    let replay = client.create_shipment(&request).await.unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.shipment.id, shipped.shipment.id);
    assert_eq!(sim.order(created.number).unwrap().shipments.len(), 1);

    // A capture failing inside createShipment is surfaced, not swallowed.
    sim.fail_next_captures(1);
    let failing = client
        .create_shipment(&ShipmentRequest {
            lines: vec![(second_line, 1)],
            idempotency_key: format!("{}:shipment:2", created.id),
            ..request.clone()
        })
        .await
        .unwrap();
    assert!(!failing.shipment.is_captured);
    match &failing.capture {
        CaptureOutcome::Failed { warnings } => {
            assert!(
                warnings[0].message.contains("Capture failed"),
                "{warnings:?}"
            );
        }
        other => panic!("expected a failed capture, got {other:?}"),
    }
    assert!(!failing.user_warnings.is_empty());
    // The retry: captureShipment, refused once by the PSP, then accepted.
    sim.fail_next_captures(1);
    let refused = client
        .capture_shipment(failing.shipment.id)
        .await
        .unwrap_err();
    assert_eq!(refused.class, FailureClass::Data);
    assert!(refused.message.contains("Capture failed"), "{refused}");
    let captured = client.capture_shipment(failing.shipment.id).await.unwrap();
    assert!(captured.value.is_captured);
    let again = client.capture_shipment(failing.shipment.id).await.unwrap();
    assert!(again.value.is_captured);

    let completion = ShipmentCompletion {
        carrier: Some("DHL".into()),
        service: Some("Express".into()),
        tracking_number: Some("TRACK-123".into()),
        packages_number: Some(1),
        ..Default::default()
    };
    let done = client
        .complete_shipment(shipped.shipment.id, &completion)
        .await
        .unwrap();
    assert!(done.value.is_shipped);
    assert_eq!(done.value.tracking_number.as_deref(), Some("TRACK-123"));
    assert_eq!(
        done.value
            .carrier_information
            .as_ref()
            .unwrap()
            .carrier_name
            .as_deref(),
        Some("DHL")
    );
    let replayed = client
        .complete_shipment(shipped.shipment.id, &completion)
        .await
        .unwrap();
    assert!(replayed.value.is_shipped);
    client
        .complete_shipment(failing.shipment.id, &completion)
        .await
        .unwrap();
    let order = client.order_by_id(&created.id).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Shipped);
    assert_eq!(order.shipments.len(), 2);

    // Return one unit of the first shipment, back to stock.
    let physical_before = sim.stock_of("P1BLKS").unwrap().physical;
    let return_request = ReturnRequest {
        shipment_id: shipped.shipment.id,
        lines: vec![(shipped.shipment.lines[0].id, 1)],
        return_stock: true,
        comment: Some("too small".into()),
        idempotency_key: format!("{}:return:1", created.id),
    };
    let returned = client.create_return(&return_request).await.unwrap();
    assert_eq!(returned.value.return_status, ReturnStatus::Pending);
    assert_eq!(returned.value.total_quantity, 1);
    assert_eq!(
        sim.stock_of("P1BLKS").unwrap().physical,
        physical_before + 1
    );
    let replay = client.create_return(&return_request).await.unwrap();
    assert_eq!(replay.value.id, returned.value.id);
    assert_eq!(sim.order(created.number).unwrap().returns.len(), 1);
    let completed = client
        .complete_return(returned.value.id, false)
        .await
        .unwrap();
    assert_eq!(completed.value.return_status, ReturnStatus::Completed);
    let completed = client
        .complete_return(returned.value.id, false)
        .await
        .unwrap();
    assert_eq!(completed.value.return_status, ReturnStatus::Completed);
    // Returning more than was shipped is Centra's validation error.
    let too_many = client
        .create_return(&ReturnRequest {
            lines: vec![(shipped.shipment.lines[0].id, 5)],
            idempotency_key: "other".into(),
            ..return_request
        })
        .await
        .unwrap_err();
    assert_eq!(too_many.class, FailureClass::Data);
    assert!(too_many.message.contains("returnable"), "{too_many}");

    // The refund made at the PSP is recorded on the return once (inferred
    // mutation), never more than was captured, and never refunds again.
    let refund = seam_model::Money::new(dec("149.95"), seam_model::Currency::EUR);
    let recorded = client
        .record_return_refund(returned.value.id, &refund, "PSP-REFUND-1")
        .await
        .unwrap();
    assert!(!recorded.replayed);
    assert_eq!(recorded.entry.entry_type, PaymentHistoryEntryType::Refund);
    assert_eq!(recorded.entry.value.value, dec("149.95"));
    let again = client
        .record_return_refund(returned.value.id, &refund, "PSP-REFUND-1")
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.entry.id, recorded.entry.id);
    assert_eq!(
        client
            .return_refunds(returned.value.id)
            .await
            .unwrap()
            .len(),
        1
    );
    let too_much = seam_model::Money::new(dec("9999.00"), seam_model::Currency::EUR);
    let refused = client
        .record_return_refund(returned.value.id, &too_much, "PSP-REFUND-2")
        .await
        .unwrap_err();
    assert_eq!(refused.class, FailureClass::Data);
    assert!(refused.message.contains("captured"), "{refused}");
}

#[tokio::test]
async fn an_order_placed_through_the_api_is_created_once_and_free_to_allocate_is_read() {
    let (sim, _server, client) = start().await;
    sim.seed_catalogue(&catalogue()).unwrap();
    assert_eq!(
        client.free_to_allocate_total("P1BLKM").await.unwrap(),
        Some(10)
    );
    assert_eq!(client.free_to_allocate_total("NOPE").await.unwrap(), None);
    let new = NewDirectToConsumerOrder {
        external_id: "seam-exchange:abc:r1:i1:1".into(),
        currency: "EUR".into(),
        customer_email: Some("ada@example.com".into()),
        shipping_address: AddressInput {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            address1: "Main street 1".into(),
            city: "Stockholm".into(),
            zip_code: "11122".into(),
            country: CountryInput { code: "SE".into() },
            ..Default::default()
        },
        shipping_method: Some("Express".into()),
        shipping_cost: Decimal::ZERO,
        lines: vec![OrderLineCreate {
            sku: "P1BLKM".into(),
            quantity: 1,
            unit_price: Decimal::ZERO,
            tax_percent: dec("25"),
            comment: None,
        }],
        internal_comment: Some("Exchange for order 1001".into()),
    };
    let placed = client.create_direct_to_consumer_order(&new).await.unwrap();
    assert!(!placed.replayed);
    assert_eq!(placed.order.grand_total.value, Decimal::ZERO);
    assert_eq!(
        placed.order.psp_reference(),
        None,
        "nobody paid: no authorisation"
    );
    assert_eq!(
        placed.order.external_id.as_deref(),
        Some("seam-exchange:abc:r1:i1:1")
    );
    assert_eq!(
        client.free_to_allocate_total("P1BLKM").await.unwrap(),
        Some(9)
    );
    let again = client.create_direct_to_consumer_order(&new).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.order.number, placed.order.number);
    assert_eq!(sim.orders().len(), 1);
    // More than is free to allocate is Centra's refusal, a Data failure.
    let refused = client
        .create_direct_to_consumer_order(&NewDirectToConsumerOrder {
            external_id: "other".into(),
            lines: vec![OrderLineCreate {
                quantity: 50,
                ..new.lines[0].clone()
            }],
            ..new.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.class, FailureClass::Data);
    assert!(refused.message.contains("not enough stock"), "{refused}");
}

#[tokio::test]
async fn order_edits_add_and_cancel_lines_once() {
    let (sim, _server, client) = start().await;
    sim.seed_catalogue(&catalogue()).unwrap();
    let created = sim.create_order(new_order("PSP-E")).unwrap();
    let reference = OrderInput::id(created.id.clone());
    let add = vec![OrderLineAddInput {
        size: ProductSizeInput::sku("P1BLKM"),
        quantity: 1,
        unit_price: Some(MonetaryValueInput {
            value: dec("149.95"),
            currency_iso_code: Some("EUR".into()),
        }),
        comment: None,
    }];
    let added = client
        .update_order_add_lines(&reference, "edit-1", add.clone())
        .await
        .unwrap();
    assert_eq!(added.value.lines.len(), 3);
    assert_eq!(added.value.lines[2].unit_price.value, dec("149.95"));
    let replay = client
        .update_order_add_lines(&reference, "edit-1", add)
        .await
        .unwrap();
    assert_eq!(replay.value.lines.len(), 3, "a replay adds nothing");

    let line = added.value.lines[0].id;
    let cancel = vec![OrderLineCancel {
        line_id: line,
        quantity: 1,
        stock_action: CancelStockAction::ReleaseBackToWarehouse,
        cancelled_before: 0,
    }];
    let cancelled = client
        .update_order_cancel_lines(&reference, cancel.clone())
        .await
        .unwrap();
    let after = cancelled.value.lines.iter().find(|l| l.id == line).unwrap();
    assert_eq!((after.quantity, after.cancelled_quantity), (1, 1));
    let replay = client
        .update_order_cancel_lines(&reference, cancel)
        .await
        .unwrap();
    let after = replay.value.lines.iter().find(|l| l.id == line).unwrap();
    assert_eq!(
        (after.quantity, after.cancelled_quantity),
        (1, 1),
        "not cancelled twice"
    );

    let unknown = client
        .update_order_add_lines(
            &reference,
            "edit-2",
            vec![OrderLineAddInput {
                size: ProductSizeInput::sku("NOPE"),
                quantity: 1,
                unit_price: None,
                comment: None,
            }],
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.class, FailureClass::Data);
    assert!(
        unknown.message.contains("Product size not found."),
        "{unknown}"
    );
    assert!(
        unknown.message.contains("input.addLines.0.size"),
        "{unknown}"
    );
}

#[tokio::test]
async fn stock_is_set_in_one_mutation_and_read_back() {
    let (sim, _server, client) = start().await;
    let sizes: Vec<SeedSize> = (0..500)
        .map(|i| SeedSize {
            name: format!("S{i:03}"),
            ..Default::default()
        })
        .collect();
    let seeded = sim
        .seed_catalogue(&CatalogueSeed {
            warehouses: vec!["Main".into()],
            products: vec![SeedProduct {
                product_number: "BIG".into(),
                name: "Many sizes".into(),
                variants: vec![SeedVariant {
                    variant_number: "V".into(),
                    name: "V".into(),
                    sizes,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            stock: vec![],
        })
        .unwrap();
    let warehouses = client.warehouses().await.unwrap();
    assert_eq!(warehouses.len(), 1);
    let warehouse = warehouses[0].id;
    assert_eq!(warehouse, i64::from(seeded.warehouses["Main"]));

    let skus: Vec<String> = (0..500).map(|i| format!("BIGVS{i:03}")).collect();
    let levels: Vec<(ProductSizeInput, i64)> = skus
        .iter()
        .enumerate()
        .map(|(i, sku)| (ProductSizeInput::sku(sku), i as i64 % 7))
        .collect();
    let set = client
        .set_stock(
            &WarehouseInput::id(warehouse),
            StockQuantityType::Physical,
            "stock-take 2024-01-01",
            &levels,
        )
        .await
        .unwrap();
    assert_eq!(set.value.len(), 1);
    assert_eq!(set.value[0].lines.len(), 500);
    let log = sim.mutations_log();
    assert_eq!(log.len(), 1, "one mutation for 500 sizes");
    assert_eq!(log[0].mutation, "setStock");
    assert_eq!(log[0].items.len(), 500);

    let fta = client
        .free_to_allocate(warehouse, &StockSelection::Skus(skus.clone()))
        .await
        .unwrap();
    assert_eq!(fta.len(), 500);
    for (i, row) in fta.iter().enumerate() {
        assert_eq!(row.product_size.sku.as_deref(), Some(skus[i].as_str()));
        assert_eq!(row.free_to_allocate_quantity, i as i64 % 7);
    }
    let page = client
        .free_to_allocate(
            warehouse,
            &StockSelection::Page {
                page: 3,
                limit: 200,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.len(), 100);

    // Deltas: in and out in one call each direction.
    let changed = client
        .change_stock(
            &WarehouseInput::id(warehouse),
            "delivery ASN-9",
            &[
                (ProductSizeInput::sku("BIGVS006"), 4),
                (ProductSizeInput::sku("BIGVS005"), -2),
            ],
        )
        .await
        .unwrap();
    assert_eq!(changed.value.len(), 2);
    let fta = client
        .free_to_allocate(
            warehouse,
            &StockSelection::Skus(vec!["BIGVS006".into(), "BIGVS005".into()]),
        )
        .await
        .unwrap();
    let by_sku = |sku: &str| {
        fta.iter()
            .find(|r| r.product_size.sku.as_deref() == Some(sku))
            .unwrap()
            .free_to_allocate_quantity
    };
    assert_eq!(by_sku("BIGVS006"), 6 + 4);
    assert_eq!(by_sku("BIGVS005"), 5 - 2);

    // Centra's validation: a negative absolute value is a user error.
    let refused = client
        .set_stock(
            &WarehouseInput::id(warehouse),
            StockQuantityType::Physical,
            "bad",
            &[(ProductSizeInput::sku("BIGVS001"), -1)],
        )
        .await
        .unwrap_err();
    assert_eq!(refused.class, FailureClass::Data);
    assert!(
        refused
            .message
            .contains("Quantity must be greater than or equal to 0."),
        "{refused}"
    );
    assert!(
        refused.message.contains("input.productSizes.0.quantity"),
        "{refused}"
    );
    let too_much = client
        .change_stock(
            &WarehouseInput::id(warehouse),
            "bad",
            &[(ProductSizeInput::sku("BIGVS001"), -100)],
        )
        .await
        .unwrap_err();
    assert!(too_much.message.contains("free to allocate"), "{too_much}");
}

#[tokio::test]
async fn catalogue_has_skus_attributes_and_bundles() {
    let (sim, _server, client) = start().await;
    sim.seed_catalogue(&catalogue()).unwrap();
    let products = client
        .products(&ProductFilter::default(), 200, 1)
        .await
        .unwrap();
    assert_eq!(products.len(), 3);
    let coat = products.iter().find(|p| p.product_number == "P1").unwrap();
    let variant = &coat.variants[0];
    assert_eq!(variant.product_sizes.len(), 2);
    assert_eq!(variant.product_sizes[0].sku, "P1BLKS");
    assert_eq!(
        variant.product_sizes[0].ean.as_deref(),
        Some("7300000000011")
    );
    assert_eq!(coat.attribute(variant, "item_condition"), Some("new"));
    assert_eq!(coat.attribute(variant, "grade"), Some("A"));
    let kit = products.iter().find(|p| p.product_number == "KIT").unwrap();
    assert!(kit.is_bundle);
    let bundle = kit.bundle.as_ref().unwrap();
    assert_eq!(bundle.sections.len(), 2);
    assert_eq!(
        bundle.sections[1].product_variants[0]
            .variant_number
            .as_deref(),
        Some("RED")
    );
    let only = client
        .products(
            &ProductFilter {
                product_number: Some(vec!["P2".into()]),
                ..Default::default()
            },
            10,
            1,
        )
        .await
        .unwrap();
    assert_eq!(only.len(), 1);

    // A bundle order reads back as bundle and bundle item lines.
    let mut order = new_order("PSP-K");
    order.lines = vec![NewOrderLine {
        sku: "KITB1".into(),
        quantity: 1,
        unit_price: dec("159.00"),
        tax_percent: dec("25"),
        bundle_items: vec!["P1BLKM".into(), "P2REDOS".into()],
        ..Default::default()
    }];
    let created = sim.create_order(order).unwrap();
    let read = client.order_by_id(&created.id).await.unwrap().unwrap();
    let kinds: Vec<OrderLineType> = read.lines.iter().map(|l| l.line_type).collect();
    assert_eq!(
        kinds,
        vec![
            OrderLineType::BundleOrderLine,
            OrderLineType::BundleItemOrderLine,
            OrderLineType::BundleItemOrderLine
        ]
    );
    assert_eq!(read.lines[1].bundle_line_id, Some(read.lines[0].id));
}

#[tokio::test]
async fn the_event_queue_is_read_and_confirmed() {
    let (sim, _server, client) = start().await;
    sim.seed_catalogue(&catalogue()).unwrap();
    let listeners = client
        .set_event_listeners(&[EventListenerInput {
            object_type: EventObjectType::Order,
            change_types: vec![EventChangeType::Created],
        }])
        .await
        .unwrap();
    assert_eq!(listeners[0].object_type, EventObjectType::Order);
    assert_eq!(listeners[0].change_types, vec![EventChangeType::Created]);
    let first = sim.create_order(new_order("PSP-Q1")).unwrap();
    let second = sim.create_order(new_order("PSP-Q2")).unwrap();

    let events = client.events(&EventFilter::default(), 500).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].change_type, EventChangeType::Created);
    assert_eq!(events[0].object_reference, i64::from(first.number));
    assert_eq!(events[1].object_reference, i64::from(second.number));
    let only_one = client.events(&EventFilter::default(), 1).await.unwrap();
    assert_eq!(only_one.len(), 1);

    // 450 ids: three calls of at most 200, unknown ids ignored by Centra.
    let mut ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    ids.extend(10_000..10_448);
    assert_eq!(client.confirm_events(&ids).await.unwrap(), 450);
    assert!(sim.event_queue(sim::DEFAULT_INTEGRATION).is_empty());
    assert!(client
        .events(&EventFilter::default(), 200)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn credentials_and_permissions_are_auth_failures() {
    let (sim, server, _client) = start().await;
    let bad = client_with(&server.base_url(), "wrong-token", FAST);
    let failure = bad.warehouses().await.unwrap_err();
    assert_eq!(failure.class, FailureClass::Auth);
    assert!(failure.message.contains("invalid or expired"), "{failure}");

    sim.add_token(TokenConfig::with_permissions(
        "narrow",
        "other",
        &["Warehouse:read"],
    ));
    let narrow = client_with(&server.base_url(), "narrow", FAST);
    assert!(narrow.warehouses().await.is_ok());
    let denied = narrow.order_by_number(1).await.unwrap_err();
    assert_eq!(denied.class, FailureClass::Auth);
    assert!(
        denied.message.contains("You need Order:read permission"),
        "{denied}"
    );
}

#[tokio::test]
async fn faults_and_rate_limits_are_governed() {
    let (sim, server, client) = start().await;
    sim.seed_catalogue(&catalogue()).unwrap();
    // Two injected 503s through the admin API: the governor retries them.
    reqwest::Client::new()
        .post(format!("{}/_admin/faults", server.base_url()))
        .json(&serde_json::json!({ "fail_next": 2 }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    assert_eq!(client.warehouses().await.unwrap().len(), 2);
    assert!(client.governor().stats().failures.load(Ordering::Relaxed) >= 2);

    // Centra's own limit, made small: the 429's Retry-After is waited out.
    sim.set_rate_limits(RateLimitConfig {
        requests_per_10s: 2,
        short_window_ms: 1_000,
        ..Default::default()
    });
    let started = std::time::Instant::now();
    for _ in 0..4 {
        client.rate_limits().await.unwrap();
    }
    assert!(
        client
            .governor()
            .stats()
            .rate_limited
            .load(Ordering::Relaxed)
            >= 1
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    let buckets = client.rate_limits().await.unwrap();
    let requests = buckets
        .iter()
        .find(|b| {
            b.limit_type == RateLimitType::RequestCount
                && b.interval_seconds == RateLimitInterval::TenSeconds
        })
        .unwrap();
    assert_eq!(requests.quota, 2);

    // 429 after 429: RateLimited once the governor's waits are spent.
    sim.set_rate_limits(RateLimitConfig {
        enabled: false,
        ..Default::default()
    });
    sim.faults().set_plan(seam_sandbox::faults::FaultPlan {
        rate_limit_rate: 1.0,
        retry_after_secs: 1,
        ..Default::default()
    });
    let limited = client.warehouses().await.unwrap_err();
    assert_eq!(limited.class, FailureClass::RateLimited);
    assert_eq!(limited.retry_after, Some(Duration::from_secs(1)));
}

/// Receives one HTTP request on loopback and answers 200.
async fn receive_one(listener: tokio::net::TcpListener) -> (reqwest::header::HeaderMap, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut socket, _) = listener.accept().await.unwrap();
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, length) = loop {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed early");
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_string();
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while buffer.len() < head_end + length {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        buffer.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut headers = reqwest::header::HeaderMap::new();
    for line in head.lines().skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            if let (Ok(name), Ok(value)) = (
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()),
                reqwest::header::HeaderValue::from_str(v.trim()),
            ) {
                headers.append(name, value);
            }
        }
    }
    socket
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    (headers, buffer[head_end..head_end + length].to_vec())
}

#[tokio::test]
async fn a_real_webhook_delivery_is_verified_and_tampering_refused() {
    let (sim, _server, client) = start().await;
    sim.seed_catalogue(&catalogue()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/centra", listener.local_addr().unwrap());
    let receiver = tokio::spawn(receive_one(listener));
    sim.set_webhook(Some(WebhookTarget {
        url,
        secret: SECRET.into(),
    }));
    let created = sim.create_order(new_order("PSP-W")).unwrap();
    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), receiver)
        .await
        .expect("a delivery arrives")
        .unwrap();
    let now = chrono::Utc::now().timestamp();

    let events = client.parse_webhook(&headers, &body, now).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].object_type, WebhookObjectType::Order);
    assert_eq!(events[0].action, WebhookAction::Insert);
    assert_eq!(events[0].id, i64::from(created.number));

    let mut tampered = body.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(matches!(
        client.parse_webhook(&headers, &tampered, now),
        Err(WebhookError::Signature(
            seam_connectors::signature::SignatureError::Mismatch
        ))
    ));
    assert!(matches!(
        client.parse_webhook(&headers, &body, now + 301),
        Err(WebhookError::Signature(
            seam_connectors::signature::SignatureError::Stale
        ))
    ));
    assert!(matches!(
        webhook::parse_webhook(&headers, &body, b"wrong secret", now),
        Err(WebhookError::Signature(
            seam_connectors::signature::SignatureError::Mismatch
        ))
    ));
    let unsigned = reqwest::header::HeaderMap::new();
    assert!(matches!(
        client.parse_webhook(&unsigned, &body, now),
        Err(WebhookError::Signature(
            seam_connectors::signature::SignatureError::Missing
        ))
    ));
}
