//! The NetSuite connector against the NetSuite simulator over loopback HTTP:
//! upserts, exact read-back, partial fulfilment, transform replays, the
//! return chain, closed and archived orders, polling for edits, concurrency
//! governance, bad credentials and injected outages.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use seam_connectors::netsuite::{
    external_id_for, AdjustmentLine, FulfilmentLine, InventoryAdjustment, NetSuiteClient,
    ReceiptLine, RecordKey, RecordType, Reference, ReturnLine, SalesOrder, SalesOrderLine, Sublist,
    Transaction,
};
use seam_engine::FailureClass;
use seam_sandbox::faults::FaultPlan;
use seam_sandbox::netsuite::{
    self as sim_ns, start, CustomerSeed, ItemSeed, NetSuiteSim, OrderEdit,
};
use seam_sandbox::server::RunningServer;

const TOKEN: &str = "netsuite-sandbox-token";

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_else(|_| panic!("{text} is a decimal"))
}

struct Harness {
    sim: NetSuiteSim,
    server: RunningServer,
    client: NetSuiteClient,
}

impl Harness {
    async fn new() -> Harness {
        let (sim, server) = start(Default::default(), 11, 0)
            .await
            .expect("the simulator starts");
        for (sku, price) in [("SKU-1", "49.99"), ("SKU-2", "10.00"), ("SKU-3", "5.50")] {
            sim.seed_item(&ItemSeed {
                sku: sku.to_string(),
                base_price: Some(dec(price)),
                cost: Some(dec("4.00")),
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
        let client = client_for(&server, TOKEN, None);
        Harness {
            sim,
            server,
            client,
        }
    }

    fn count(&self, kind: &str) -> usize {
        self.sim.counts().get(kind).copied().unwrap_or_default()
    }

    /// Upserts the standard order and returns it.
    async fn order(&self, centra_id: &str) -> Transaction {
        self.client
            .upsert_sales_order(&external_id_for("CENTRA", centra_id), &order_body("3"))
            .await
            .expect("the order is upserted")
    }

    async fn shipped_order(&self, centra_id: &str) -> Transaction {
        let order = self.order(centra_id).await;
        self.client
            .fulfil(
                &order.id,
                &external_id_for("ACS-DISP", centra_id),
                &[line(1, "2"), line(2, "3")],
            )
            .await
            .expect("the order ships");
        order
    }

    async fn sales_order(&self, id: &str) -> Transaction {
        self.client
            .get_record(RecordType::SalesOrder, &RecordKey::id(id))
            .await
            .expect("the order reads")
            .expect("the order exists")
    }
}

/// A client built from configuration text, as the binary builds it.
fn client_for(
    server: &RunningServer,
    token: &str,
    max_concurrency: Option<usize>,
) -> NetSuiteClient {
    let budget = max_concurrency
        .map(|n| format!("budget = {{ max_concurrency = {n} }}\n"))
        .unwrap_or_default();
    let text = format!(
        "[connectors.netsuite]\nurl = \"{}\"\naccount_id = \"1234567_SB1\"\ntoken = \"${{NETSUITE_TOKEN}}\"\n{budget}",
        server.base_url()
    );
    let token = token.to_string();
    let config = seam_config::parse(&text, Path::new("test.toml"), &|name| {
        (name == "NETSUITE_TOKEN").then(|| token.clone())
    })
    .unwrap_or_else(|errors| panic!("config: {errors:?}"));
    let netsuite = config.connectors.netsuite.expect("netsuite configured");
    NetSuiteClient::new(&netsuite, None)
}

/// SKU-1 × 2 at 49.99 with a 10.00 line discount, SKU-2 × n at 10.00,
/// 25 % tax, 4.95 shipping.
fn order_body(second_quantity: &str) -> SalesOrder {
    SalesOrder {
        entity: Reference::external("CUST-1"),
        order_status: Some(Reference::id("B")),
        tran_date: Some("2024-05-01".to_string()),
        other_ref_num: Some("100234".to_string()),
        memo: None,
        currency: None,
        subsidiary: None,
        location: None,
        shipping_cost: Some(dec("4.95")),
        discount_rate: None,
        item: Sublist::new(vec![
            SalesOrderLine {
                tax_rate: Some(dec("25")),
                discount: Some(dec("10.00")),
                ..SalesOrderLine::new(Reference::external("SKU-1"), dec("2"), dec("49.99"))
            },
            SalesOrderLine {
                tax_rate: Some(dec("25")),
                ..SalesOrderLine::new(
                    Reference::external("SKU-2"),
                    dec(second_quantity),
                    dec("10.00"),
                )
            },
        ]),
    }
}

fn line(order_line: u32, quantity: &str) -> FulfilmentLine {
    FulfilmentLine {
        order_line,
        quantity: dec(quantity),
        location: Some(Reference::id("6")),
    }
}

fn return_line(order_line: u32, quantity: &str) -> ReturnLine {
    ReturnLine {
        order_line,
        quantity: dec(quantity),
        ..ReturnLine::default()
    }
}

#[tokio::test]
async fn upsert_creates_once_then_updates_the_same_record_and_reads_back_exactly() {
    let h = Harness::new().await;
    let external = external_id_for("CENTRA", "1497ccf6/44 db");
    assert_eq!(external, "CENTRA-1497ccf6_2F44_20db");

    let created = h
        .client
        .upsert_sales_order(&external, &order_body("3"))
        .await
        .expect("created");
    assert_eq!(created.external_id.as_deref(), Some(external.as_str()));
    assert_eq!(created.status_code(), Some("B"));
    assert_eq!(created.status_name(), Some("Pending Fulfillment"));
    assert_eq!(
        created.entity.as_ref().and_then(|e| e.ref_name.as_deref()),
        Some("Ada Lovelace")
    );
    let lines = created.lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].line, 1);
    assert_eq!(lines[0].quantity, Some(dec("2")));
    assert_eq!(lines[0].rate, Some(dec("49.99")));
    assert_eq!(lines[0].amount, Some(dec("99.98")));
    assert_eq!(lines[0].discount, Some(dec("10.00")));
    assert_eq!(lines[0].net_amount(), Some(dec("89.98")));
    // 25 % of 89.98 is 22.495: NetSuite rounds half away from zero.
    assert_eq!(lines[0].tax_amount, Some(dec("22.50")));
    assert_eq!(lines[1].line, 2);
    assert_eq!(lines[1].amount, Some(dec("30.00")));
    assert_eq!(lines[1].tax_amount, Some(dec("7.50")));
    assert_eq!(created.subtotal, Some(dec("129.98")));
    assert_eq!(created.discount_total, Some(dec("-10.00")));
    assert_eq!(created.tax_total, Some(dec("30.00")));
    assert_eq!(created.shipping_cost, Some(dec("4.95")));
    assert_eq!(created.total, Some(dec("154.93")));
    assert_eq!(h.count("salesOrder"), 1);

    let updated = h
        .client
        .upsert_sales_order(&external, &order_body("4"))
        .await
        .expect("updated");
    assert_eq!(updated.id, created.id, "the same record");
    assert_eq!(h.count("salesOrder"), 1, "no second order");
    assert_eq!(
        updated.lines().len(),
        2,
        "replace=item: exactly the lines sent"
    );
    assert_eq!(updated.lines()[1].quantity, Some(dec("4")));
    assert_eq!(updated.subtotal, Some(dec("139.98")));
    assert_eq!(updated.tax_total, Some(dec("32.50")));
    assert_eq!(updated.total, Some(dec("167.43")));
    assert!(updated.last_modified_date.is_some());

    let by_id = h.sales_order(&created.id).await;
    assert_eq!(by_id.total, Some(dec("167.43")));
}

#[tokio::test]
async fn fulfilment_is_partial_then_the_rest_and_never_more_than_ordered() {
    let h = Harness::new().await;
    let order = h.order("4004").await;

    let first = h
        .client
        .fulfil(&order.id, "ACS-DISP-1", &[line(1, "1")])
        .await
        .expect("partial fulfilment");
    assert_eq!(first.created_from_id(), Some(order.id.as_str()));
    assert_eq!(first.status_code(), Some("C"), "shipped");
    assert_eq!(first.lines().len(), 1, "the unnamed line is left out");
    assert_eq!(first.lines()[0].order_line, Some(1));
    assert_eq!(first.lines()[0].quantity, Some(dec("1")));
    let after_first = h.sales_order(&order.id).await;
    assert_eq!(after_first.status_code(), Some("D"));
    assert_eq!(after_first.lines()[0].quantity_fulfilled, Some(dec("1")));
    assert_eq!(after_first.lines()[1].quantity_fulfilled, Some(dec("0")));

    let over = h
        .client
        .fulfil(&order.id, "ACS-DISP-2", &[line(1, "2")])
        .await
        .expect_err("only one unit is left on line 1");
    assert_eq!(over.class, FailureClass::Data);
    assert!(
        over.message.contains("remaining quantity (1)"),
        "{}",
        over.message
    );
    assert!(over.message.contains("USER_ERROR"), "{}", over.message);
    assert!(over.message.contains("ACS-DISP-2"), "{}", over.message);
    assert_eq!(h.count("itemFulfillment"), 1);

    let rest = h
        .client
        .fulfil(&order.id, "ACS-DISP-3", &[line(1, "1"), line(2, "3")])
        .await
        .expect("the rest");
    assert_eq!(rest.lines().len(), 2);
    let shipped = h.sales_order(&order.id).await;
    assert_eq!(shipped.status_code(), Some("G"), "fulfilled and billed");
    assert_eq!(h.count("itemFulfillment"), 2);
}

#[tokio::test]
async fn a_replayed_transform_returns_the_existing_record() {
    let h = Harness::new().await;
    let order = h.order("5005").await;
    let first = h
        .client
        .fulfil(&order.id, "ACS-DISP-9", &[line(1, "1")])
        .await
        .expect("fulfilled");
    let replay = h
        .client
        .fulfil(&order.id, "ACS-DISP-9", &[line(1, "1")])
        .await
        .expect("the replay succeeds");
    assert_eq!(replay.id, first.id);
    assert_eq!(h.count("itemFulfillment"), 1, "no duplicate");
    let after = h.sales_order(&order.id).await;
    assert_eq!(
        after.lines()[0].quantity_fulfilled,
        Some(dec("1")),
        "fulfilled once"
    );

    // The same externalId used for a different order is not a replay.
    let other = h.order("5006").await;
    let clash = h
        .client
        .fulfil(&other.id, "ACS-DISP-9", &[line(1, "1")])
        .await
        .expect_err("an externalId collision is refused");
    assert_eq!(clash.class, FailureClass::Data);
    assert!(
        clash.message.contains("same externalId"),
        "{}",
        clash.message
    );
    assert_eq!(h.count("itemFulfillment"), 1);
}

#[tokio::test]
async fn a_return_is_authorised_received_credited_and_refunded() {
    let h = Harness::new().await;
    let order = h.shipped_order("6006").await;

    let authorisation = h
        .client
        .return_authorization(&order.id, "REVENI-RET-55", &[return_line(1, "1")])
        .await
        .expect("authorised");
    assert_eq!(authorisation.status_code(), Some("B"), "pending receipt");
    assert_eq!(authorisation.lines().len(), 1);
    let ra_line = &authorisation.lines()[0];
    assert_eq!(ra_line.order_line, Some(1));
    assert_eq!(ra_line.rate, Some(dec("49.99")));
    assert_eq!(ra_line.amount, Some(dec("49.99")));
    assert_eq!(
        ra_line.discount,
        Some(dec("5.00")),
        "half the line discount"
    );

    let receipt = h
        .client
        .receive_return(
            &authorisation.id,
            "REVENI-RET-55-RCPT",
            &[ReceiptLine {
                order_line: ra_line.line,
                quantity: dec("1"),
                location: Some(Reference::id("6")),
            }],
            true,
        )
        .await
        .expect("received");
    assert_eq!(receipt.lines()[0].restock, Some(true));
    assert_eq!(receipt.created_from_id(), Some(authorisation.id.as_str()));

    let credit = h
        .client
        .credit_memo(&authorisation.id, "REVENI-RET-55-CM", &[])
        .await
        .expect("credited");
    assert_eq!(credit.subtotal, Some(dec("49.99")));
    assert_eq!(credit.discount_total, Some(dec("-5.00")));
    // 25 % of 44.99 = 11.2475 -> 11.25.
    assert_eq!(credit.tax_total, Some(dec("11.25")));
    assert_eq!(credit.total, Some(dec("56.24")));
    assert_eq!(credit.amount_remaining, Some(dec("56.24")));
    let replayed_credit = h
        .client
        .credit_memo(&authorisation.id, "REVENI-RET-55-CM", &[])
        .await
        .expect("replay");
    assert_eq!(replayed_credit.id, credit.id);

    let refund = h
        .client
        .customer_refund(&credit.id, "REVENI-RET-55-REF", None)
        .await
        .expect("refunded");
    assert_eq!(refund.total, Some(dec("56.24")));
    let applied = refund
        .apply
        .as_ref()
        .map(|a| a.items.clone())
        .unwrap_or_default();
    assert_eq!(applied.len(), 1);
    assert_eq!(
        applied[0].doc.as_ref().and_then(|d| d.id.as_deref()),
        Some(credit.id.as_str())
    );
    let replayed_refund = h
        .client
        .customer_refund(&credit.id, "REVENI-RET-55-REF", None)
        .await
        .expect("replay");
    assert_eq!(replayed_refund.id, refund.id);

    let credit_after = h
        .client
        .get_record(
            RecordType::CreditMemo,
            &RecordKey::external("REVENI-RET-55-CM"),
        )
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(credit_after.amount_remaining, Some(dec("0")));
    assert_eq!(credit_after.status_name(), Some("Fully Applied"));
    let authorisation_after = h
        .client
        .get_record(
            RecordType::ReturnAuthorization,
            &RecordKey::id(&authorisation.id),
        )
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(authorisation_after.status_code(), Some("G"), "refunded");
    for kind in [
        "returnAuthorization",
        "itemReceipt",
        "creditMemo",
        "customerRefund",
    ] {
        assert_eq!(h.count(kind), 1, "{kind}");
    }
}

#[tokio::test]
async fn a_credit_with_explicit_amounts_reverses_exactly_what_is_given() {
    let h = Harness::new().await;
    let order = h.shipped_order("6106").await;
    let authorisation = h
        .client
        .return_authorization(
            &order.id,
            "REVENI-RET-61",
            &[return_line(1, "2"), return_line(2, "1")],
        )
        .await
        .expect("authorised");
    let first_line = authorisation.lines()[0].line;
    let credit = h
        .client
        .credit_memo(
            &authorisation.id,
            "REVENI-RET-61-CM",
            &[ReturnLine {
                order_line: first_line,
                quantity: dec("1"),
                rate: Some(dec("44.99")),
                amount: Some(dec("44.99")),
                tax_rate: Some(dec("25")),
                discount: Some(dec("0")),
                tax_amount: None,
            }],
        )
        .await
        .expect("credited");
    assert_eq!(credit.lines().len(), 1, "only the line named");
    assert_eq!(credit.subtotal, Some(dec("44.99")));
    assert_eq!(credit.total, Some(dec("56.24")));
}

#[tokio::test]
async fn a_closed_order_refuses_a_credit_memo_with_netsuites_detail() {
    let h = Harness::new().await;
    let order = h.shipped_order("7007").await;
    let authorisation = h
        .client
        .return_authorization(&order.id, "REVENI-RET-77", &[return_line(2, "1")])
        .await
        .expect("authorised");
    let closed = h.client.close_sales_order(&order.id).await.expect("closed");
    assert_eq!(closed.status_code(), Some("H"));
    assert!(closed.lines().iter().all(|l| l.is_closed == Some(true)));

    let refused = h
        .client
        .credit_memo(&authorisation.id, "REVENI-RET-77-CM", &[])
        .await
        .expect_err("a closed order takes no credit");
    assert_eq!(refused.class, FailureClass::Data);
    assert!(
        refused.message.contains("USER_ERROR"),
        "{}",
        refused.message
    );
    assert!(refused.message.contains("is closed"), "{}", refused.message);
    assert!(
        refused
            .message
            .contains("creditMemo externalId REVENI-RET-77-CM"),
        "{}",
        refused.message
    );
    assert!(
        refused
            .message
            .contains(&format!("returnAuthorization {}", authorisation.id)),
        "{}",
        refused.message
    );
    assert_eq!(h.count("creditMemo"), 0);
}

#[tokio::test]
async fn closing_an_open_order_stops_fulfilment() {
    let h = Harness::new().await;
    let order = h.order("7107").await;
    let closed = h.client.close_sales_order(&order.id).await.expect("closed");
    assert_eq!(closed.status_code(), Some("H"));
    let again = h
        .client
        .close_sales_order(&order.id)
        .await
        .expect("idempotent");
    assert_eq!(again.id, order.id);
    let refused = h
        .client
        .fulfil(&order.id, "ACS-DISP-71", &[line(1, "1")])
        .await
        .expect_err("closed orders do not ship");
    assert_eq!(refused.class, FailureClass::Data);
    assert!(refused.message.contains("closed"), "{}", refused.message);
}

#[tokio::test]
async fn an_archived_order_is_not_found() {
    let h = Harness::new().await;
    let order = h.order("8008").await;
    h.sim
        .archive(
            sim_ns::RecordType::SalesOrder,
            &sim_ns::RecordKey::Id(order.id.parse().expect("numeric id")),
        )
        .expect("archived");
    let by_id = h
        .client
        .get_record(RecordType::SalesOrder, &RecordKey::id(&order.id))
        .await
        .expect("a 404 is an answer, not a failure");
    assert_eq!(by_id, None);
    let by_external = h
        .client
        .get_record(
            RecordType::SalesOrder,
            &RecordKey::external(external_id_for("CENTRA", "8008")),
        )
        .await
        .expect("a 404 is an answer");
    assert_eq!(by_external, None);
    let close = h
        .client
        .close_sales_order(&order.id)
        .await
        .expect_err("nothing to close");
    assert_eq!(close.class, FailureClass::Data);
    assert!(
        close.message.contains("has no salesOrder"),
        "{}",
        close.message
    );
    let fulfil = h
        .client
        .fulfil(&order.id, "ACS-DISP-80", &[line(1, "1")])
        .await
        .expect_err("nothing to fulfil");
    assert_eq!(fulfil.class, FailureClass::Data);
    assert!(
        fulfil.message.contains("does not exist"),
        "{}",
        fulfil.message
    );
}

#[tokio::test]
async fn modified_since_finds_orders_edited_in_netsuite_across_pages() {
    let h = Harness::new().await;
    let a = h.order("9001").await;
    let b = h.order("9002").await;
    let c = h.order("9003").await;
    // NetSuite keeps whole seconds: let the creations fall in an earlier one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let since = chrono::Utc::now();
    for order in [&b, &c] {
        h.sim
            .edit_order(
                &sim_ns::RecordKey::Id(order.id.parse().expect("numeric id")),
                &[OrderEdit::SetQuantity {
                    line: 2,
                    quantity: dec("5"),
                }],
            )
            .expect("edited in the UI");
    }
    let paged = h.client.clone().with_page_size(1);
    let mut found = paged
        .list_modified_since(RecordType::SalesOrder, since)
        .await
        .expect("listed");
    found.sort();
    let mut expected = vec![b.id.clone(), c.id.clone()];
    expected.sort();
    assert_eq!(found, expected, "{} was not edited", a.id);
    let edited = h.sales_order(&b.id).await;
    assert_eq!(edited.lines()[1].quantity, Some(dec("5")));
    assert!(edited.last_modified_date.expect("stamped") >= since - chrono::Duration::seconds(1));

    let later = h
        .client
        .list_modified_since(
            RecordType::SalesOrder,
            chrono::Utc::now() + chrono::Duration::hours(1),
        )
        .await
        .expect("listed");
    assert!(later.is_empty());
}

#[tokio::test]
async fn an_inventory_adjustment_posts_signed_deltas_once() {
    let h = Harness::new().await;
    let adjustment = InventoryAdjustment {
        account: Reference::id("300"),
        location: Reference::id("7"),
        subsidiary: Some(Reference::id("1")),
        memo: "ACS stock sync: 2 written off, 5 found".to_string(),
        lines: vec![
            AdjustmentLine {
                item: Reference::external("SKU-1"),
                location: None,
                adjust_qty_by: dec("-2"),
                unit_cost: None,
            },
            AdjustmentLine {
                item: Reference::external("SKU-3"),
                location: Some(Reference::id("7")),
                adjust_qty_by: dec("5"),
                unit_cost: Some(dec("4.25")),
            },
        ],
    };
    let external = external_id_for("ACS-ADJ", "2024-05-01/778");
    let posted = h
        .client
        .inventory_adjustment(&external, &adjustment)
        .await
        .expect("posted");
    let lines = posted.adjustment_lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].adjust_qty_by, Some(dec("-2")));
    assert_eq!(lines[0].unit_cost, Some(dec("4.00")), "the item's cost");
    assert_eq!(lines[1].adjust_qty_by, Some(dec("5")));
    assert_eq!(lines[1].amount, Some(dec("21.25")));
    assert_eq!(posted.estimated_total_value, Some(dec("13.25")));
    assert_eq!(
        posted.memo.as_deref(),
        Some("ACS stock sync: 2 written off, 5 found")
    );

    let replay = h
        .client
        .inventory_adjustment(&external, &adjustment)
        .await
        .expect("replayed");
    assert_eq!(replay.id, posted.id);
    assert_eq!(h.count("inventoryAdjustment"), 1);
}

#[tokio::test]
async fn the_concurrency_limit_is_waited_out_and_the_governor_prevents_it() {
    let h = Harness::new().await;
    let order = h.order("1111").await;
    h.sim.set_concurrency_limit(2);
    h.sim.set_request_hold(Duration::from_millis(250));

    // The default budget (5) is above this account's limit (2): some reads
    // meet 429 CONCURRENCY_LIMIT_EXCEEDED, wait, and still succeed.
    for result in read_concurrently(&h.client, &order.id, 5).await {
        assert_eq!(
            result.expect("succeeds in the end").map(|o| o.id),
            Some(order.id.clone())
        );
    }
    let refused = h.sim.governance().refused;
    assert!(refused > 0, "the limit was met");
    assert!(
        h.client
            .governor()
            .stats()
            .rate_limited
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );

    // A budget matching the account's limit never meets it.
    let governed = client_for(&h.server, TOKEN, Some(2));
    for result in read_concurrently(&governed, &order.id, 5).await {
        assert!(result.expect("succeeds").is_some());
    }
    assert_eq!(h.sim.governance().refused, refused, "no further 429");
}

/// `n` reads of one order at once.
async fn read_concurrently(
    client: &NetSuiteClient,
    id: &str,
    n: usize,
) -> Vec<Result<Option<Transaction>, seam_engine::Failure>> {
    let mut reads = tokio::task::JoinSet::new();
    for _ in 0..n {
        let client = client.clone();
        let key = RecordKey::id(id);
        reads.spawn(async move { client.get_record(RecordType::SalesOrder, &key).await });
    }
    let mut results = Vec::new();
    while let Some(result) = reads.join_next().await {
        results.push(result.expect("the read task ends"));
    }
    results
}

#[tokio::test]
async fn a_bad_token_is_an_auth_failure() {
    let h = Harness::new().await;
    let stranger = client_for(&h.server, "not-the-token", None);
    let read = stranger
        .get_record(RecordType::SalesOrder, &RecordKey::id("1"))
        .await
        .expect_err("refused");
    assert_eq!(read.class, FailureClass::Auth);
    assert!(read.message.contains("INVALID_LOGIN"), "{}", read.message);
    let write = stranger
        .upsert_sales_order("CENTRA-1", &order_body("1"))
        .await
        .expect_err("refused");
    assert_eq!(write.class, FailureClass::Auth);
    assert_eq!(h.count("salesOrder"), 0);
}

#[tokio::test]
async fn injected_outages_are_retried() {
    let h = Harness::new().await;
    h.sim.faults().set_plan(FaultPlan {
        fail_next: 2,
        ..FaultPlan::default()
    });
    let order = h.order("1212").await;
    assert_eq!(h.count("salesOrder"), 1);
    let failures = h
        .client
        .governor()
        .stats()
        .failures
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(failures, 2, "two 503s were met and retried");

    h.sim.faults().set_plan(FaultPlan {
        fail_next: 2,
        ..FaultPlan::default()
    });
    let fulfilment = h
        .client
        .fulfil(&order.id, "ACS-DISP-1212", &[line(1, "2"), line(2, "3")])
        .await
        .expect("fulfilled through the outage");
    assert_eq!(fulfilment.lines().len(), 2);
    assert_eq!(h.count("itemFulfillment"), 1);
}

#[tokio::test]
async fn a_lasting_outage_is_transient_and_nothing_is_created() {
    let h = Harness::new().await;
    h.sim.faults().set_plan(FaultPlan {
        fail_next: 4,
        ..FaultPlan::default()
    });
    let failure = h
        .client
        .upsert_sales_order("CENTRA-1313", &order_body("1"))
        .await
        .expect_err("four 503s outlast three retries");
    assert_eq!(failure.class, FailureClass::Transient);
    assert!(failure.message.contains("503"), "{}", failure.message);
    assert_eq!(h.count("salesOrder"), 0);
}

#[tokio::test]
async fn a_write_whose_answers_are_lost_is_found_by_reading_back() {
    let h = Harness::new().await;
    let adjustment = InventoryAdjustment {
        account: Reference::id("300"),
        location: Reference::id("7"),
        subsidiary: None,
        memo: "cycle count".to_string(),
        lines: vec![AdjustmentLine {
            item: Reference::external("SKU-2"),
            location: None,
            adjust_qty_by: dec("-1"),
            unit_cost: None,
        }],
    };
    // The first attempt landed...
    let first = h
        .client
        .inventory_adjustment("ACS-ADJ-LOST", &adjustment)
        .await
        .expect("posted");
    // ...and every answer to the retry is lost: the retries are spent on
    // 503s, then the read-back by externalId finds the record.
    h.sim.faults().set_plan(FaultPlan {
        fail_next: 4,
        ..FaultPlan::default()
    });
    let stats = h.client.governor().stats();
    let before = stats.failures.load(std::sync::atomic::Ordering::Relaxed);
    let replay = h
        .client
        .inventory_adjustment("ACS-ADJ-LOST", &adjustment)
        .await
        .expect("the existing adjustment is returned");
    assert_eq!(replay.id, first.id);
    assert_eq!(
        stats.failures.load(std::sync::atomic::Ordering::Relaxed) - before,
        4
    );
    assert_eq!(h.count("inventoryAdjustment"), 1);
}

#[tokio::test]
async fn a_concurrency_limit_that_never_lifts_is_rate_limited() {
    let h = Harness::new().await;
    h.sim.set_concurrency_limit(0);
    let failure = h
        .client
        .get_record(RecordType::SalesOrder, &RecordKey::id("1"))
        .await
        .expect_err("every request is refused");
    assert_eq!(failure.class, FailureClass::RateLimited);
    assert!(
        failure.message.contains("CONCURRENCY_LIMIT_EXCEEDED"),
        "{}",
        failure.message
    );
    assert_eq!(
        h.sim.governance().refused,
        4,
        "the first try and three waits"
    );
}
