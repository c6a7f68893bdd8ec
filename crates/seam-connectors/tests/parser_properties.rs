//! Property tests of every parser outside input reaches (the same doors the
//! fuzz targets in `fuzz/` hammer): arbitrary and mutated-valid input never
//! panics, and valid input round-trips.

use base64::Engine;
use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue};
use seam_connectors::adyen::{self, Amount};
use seam_connectors::centra::{self, webhook};
use seam_connectors::reveni;
use seam_connectors::signature::{hmac_sha256, verify_timestamped, SignatureError};
use seam_connectors::warehouse::{self, Message, MessageBody, StockMovement};

const ADYEN_KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";

fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn sign_centra(secret: &[u8], t: i64, body: &[u8]) -> String {
    let mut message = t.to_string().into_bytes();
    message.push(b'.');
    message.extend_from_slice(body);
    format!("t={t},v1={}", hex::encode(hmac_sha256(secret, &message)))
}

/// Flips, drops or inserts bytes of a valid input.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for (at, how, byte) in edits {
        if bytes.is_empty() {
            bytes.push(*byte);
            continue;
        }
        let at = at % bytes.len();
        match how % 3 {
            0 => bytes[at] ^= byte | 1,
            1 => {
                bytes.remove(at);
            }
            _ => bytes.insert(at, *byte),
        }
    }
    bytes
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8)
}

fn centra_events() -> impl Strategy<Value = Vec<(String, String, i64, String)>> {
    let kind = prop::sample::select(vec!["order", "shipment", "return", "customer", "account"]);
    let action = prop::sample::select(vec!["insert", "create", "update", "good_to_go", "delete"]);
    prop::collection::vec((kind, action, any::<i64>(), "[0-9: .-]{0,30}"), 0..12).prop_map(
        |events| {
            events
                .into_iter()
                .map(|(k, a, id, date)| (k.to_string(), a.to_string(), id, date))
                .collect()
        },
    )
}

fn signed_adyen_item(
    psp: &str,
    merchant_reference: &str,
    value: i64,
    event_code: &str,
    success: bool,
) -> serde_json::Value {
    let amount = Amount {
        currency: "EUR".into(),
        value,
    };
    let success = if success { "true" } else { "false" };
    let payload = adyen::notification_signing_payload(
        psp,
        "ORIGINAL",
        "SeamECOM",
        merchant_reference,
        &amount,
        event_code,
        success,
    );
    let key = hex::decode(ADYEN_KEY).unwrap();
    let signature =
        base64::engine::general_purpose::STANDARD.encode(hmac_sha256(&key, payload.as_bytes()));
    serde_json::json!({"NotificationRequestItem": {
        "eventCode": event_code, "success": success, "pspReference": psp,
        "originalReference": "ORIGINAL", "merchantAccountCode": "SeamECOM",
        "merchantReference": merchant_reference,
        "amount": {"value": value, "currency": "EUR"},
        "reason": "", "additionalData": {"hmacSignature": signature}
    }})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn signature_headers_never_panic(header in ".{0,120}", body in prop::collection::vec(any::<u8>(), 0..64), now in any::<i64>(), tolerance in any::<i64>()) {
        let _ = verify_timestamped(b"secret", Some(&header), &body, now, tolerance);
    }

    #[test]
    fn a_timestamp_at_either_end_of_time_is_stale_not_a_panic(t in any::<i64>(), now in prop::sample::select(vec![i64::MIN, i64::MAX, 0])) {
        let header = sign_centra(b"secret", t, b"body");
        let verdict = verify_timestamped(b"secret", Some(&header), b"body", now, 300);
        let within = (i128::from(now) - i128::from(t)).abs() <= 300;
        prop_assert_eq!(verdict.is_ok(), within);
        if !within {
            prop_assert_eq!(verdict, Err(SignatureError::Stale));
        }
    }

    #[test]
    fn centra_webhook_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = webhook::decode_body(&body);
        let header = sign_centra(b"k", 1_000, &body);
        let _ = webhook::parse_signed(Some(&header), &body, b"k", 1_000);
    }

    #[test]
    fn centra_webhooks_round_trip_and_survive_mutation(events in centra_events(), damage in edits()) {
        let json = serde_json::json!({"events": events.iter().map(|(k, a, id, date)| {
            serde_json::json!({"type": k, "action": a, "id": id, "date": date})
        }).collect::<Vec<_>>()}).to_string();
        let body = format!("payload={}", form_encode(&json)).into_bytes();
        let header = sign_centra(b"k", 5_000, &body);
        let decoded = webhook::parse_signed(Some(&header), &body, b"k", 5_100).unwrap();
        prop_assert_eq!(decoded.len(), events.len());
        for (event, (_, _, id, date)) in decoded.iter().zip(&events) {
            prop_assert_eq!(event.id, *id);
            prop_assert_eq!(&event.date, date);
        }
        let damaged = mutate(body.clone(), &damage);
        if damaged != body {
            // The signature no longer matches a changed body.
            prop_assert!(webhook::parse_signed(Some(&header), &damaged, b"k", 5_100).is_err());
        }
        let _ = webhook::decode_body(&damaged);
    }

    #[test]
    fn adyen_batches_never_panic(body in prop::collection::vec(any::<u8>(), 0..512), key in "[0-9A-Fa-f]{0,70}") {
        let _ = adyen::parse_notification(&body, ADYEN_KEY);
        let _ = adyen::parse_notification(&body, &key);
    }

    #[test]
    fn adyen_signed_items_round_trip_and_tampering_is_refused(
        items in prop::collection::vec(("[A-Z0-9]{16}", "[a-z0-9:\\\\-]{0,20}", 0i64..10_000_000, prop::sample::select(vec!["CAPTURE", "REFUND", "AUTHORISATION", "CANCELLATION"]), any::<bool>()), 1..5),
        damage in edits(),
    ) {
        let batch = serde_json::json!({
            "live": "false",
            "notificationItems": items.iter().map(|(psp, reference, value, code, success)| {
                signed_adyen_item(psp, reference, *value, code, *success)
            }).collect::<Vec<_>>()
        });
        let body = serde_json::to_vec(&batch).unwrap();
        let parsed = adyen::parse_notification(&body, ADYEN_KEY).unwrap();
        prop_assert_eq!(parsed.items.len(), items.len());
        for (item, (psp, reference, value, code, success)) in parsed.items.iter().zip(&items) {
            prop_assert_eq!(&item.psp_reference, psp);
            prop_assert_eq!(&item.merchant_reference, reference);
            prop_assert_eq!(item.amount.to_minor_units().unwrap(), *value);
            prop_assert_eq!(item.event_code.as_str(), *code);
            prop_assert_eq!(item.success, *success);
        }
        let _ = adyen::parse_notification(&mutate(body, &damage), ADYEN_KEY);
        // A changed amount in a validly shaped batch never verifies.
        let mut forged = batch.clone();
        forged["notificationItems"][0]["NotificationRequestItem"]["amount"]["value"] =
            serde_json::json!(items[0].2 + 1);
        let forged = serde_json::to_vec(&forged).unwrap();
        let is_bad_signature = matches!(
            adyen::parse_notification(&forged, ADYEN_KEY),
            Err(adyen::NotificationError::BadSignature { .. })
        );
        prop_assert!(is_bad_signature);
    }

    #[test]
    fn reveni_webhooks_never_panic_and_round_trip(
        secret in prop::collection::vec(any::<u8>(), 0..40),
        body in prop::collection::vec(any::<u8>(), 0..256),
        id in "evt_[a-z0-9]{1,20}",
        resource in "[0-9a-f-]{1,36}",
        created in any::<i64>(),
    ) {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&secret) {
            headers.insert("x-reveni-secret", value);
        }
        let _ = reveni::parse_webhook(&headers, &body, "x-reveni-secret", "the-secret");
        let mut good = HeaderMap::new();
        good.insert("x-reveni-secret", HeaderValue::from_static("the-secret"));
        let _ = reveni::parse_webhook(&good, &body, "x-reveni-secret", "the-secret");
        let valid = serde_json::json!({"id": id, "created": created, "event": "return.updated",
            "data": {"resource_id": resource, "status": "accepted"}}).to_string();
        let event = reveni::parse_webhook(&good, valid.as_bytes(), "x-reveni-secret", "the-secret").unwrap();
        prop_assert_eq!(&event.id, &id);
        prop_assert_eq!(&event.resource_id, &resource);
        prop_assert_eq!(event.created, created);
        let refused = reveni::parse_webhook(&headers, valid.as_bytes(), "x-reveni-secret", "the-secret");
        prop_assert_eq!(refused.is_ok(), secret == b"the-secret");
    }

    #[test]
    fn warehouse_messages_and_snapshots_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = serde_json::from_slice::<warehouse::FeedPage>(&data);
        let _ = serde_json::from_slice::<Vec<Message>>(&data);
        let _ = warehouse::parse_snapshot(&data);
        let _ = warehouse::parse_webhook(None, &data, b"s", "SEAMTEST", 0);
    }

    #[test]
    fn warehouse_messages_round_trip(moves in prop::collection::vec(("[A-Z0-9]{1,12}", "[A-Za-z -]{1,20}", "[A-Za-z -]{1,20}", any::<u64>()), 0..10)) {
        let messages: Vec<Message> = moves.iter().enumerate().map(|(i, (sku, from, to, quantity))| Message {
            message_id: format!("m{i}"),
            sequence: i as u64,
            body: MessageBody::StockMovement(StockMovement {
                sku: sku.clone(),
                from_status: from.clone(),
                to_status: to.clone(),
                quantity: *quantity,
                occurred_at: "2026-11-22T10:00:00Z".into(),
            }),
        }).collect();
        let json = serde_json::to_vec(&messages).unwrap();
        let back: Vec<Message> = serde_json::from_slice(&json).unwrap();
        prop_assert_eq!(back, messages);
    }

    #[test]
    fn stock_snapshots_count_every_unit(rows in prop::collection::vec(("[A-Z0-9]{1,8}", prop::sample::select(vec!["Available", "Quarantine", "In-Refurbishment"])), 0..40), damage in edits()) {
        let mut csv = String::from("account_code,sku,unique_sku,rfid,location_status,status_date\n");
        for (i, (sku, status)) in rows.iter().enumerate() {
            csv.push_str(&format!("SEAMTEST,{sku},u{i},r{i},{status},2026-11-22\n"));
        }
        let snapshot = warehouse::parse_snapshot(csv.as_bytes()).unwrap();
        let counted: u64 = snapshot.by_sku.values().flat_map(|s| s.values()).sum();
        prop_assert_eq!(counted, rows.len() as u64);
        let _ = warehouse::parse_snapshot(&mutate(csv.into_bytes(), &damage));
    }

    #[test]
    fn centra_answers_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = centra::decode_answer::<Option<centra::Order>>(&body, "order", false);
        let _ = centra::decode_answer::<Vec<centra::Product>>(&body, "products", false);
        let _ = centra::decode_answer::<serde_json::Value>(&body, "createShipment", true);
    }

    #[test]
    fn centra_answers_with_any_json_never_panic(value in json_value(), root in prop::sample::select(vec!["order", "orders", "createShipment"])) {
        let body = serde_json::json!({"data": {root: value}}).to_string();
        let _ = centra::decode_answer::<Option<centra::Order>>(body.as_bytes(), root, false);
        let _ = centra::decode_answer::<Vec<centra::Order>>(body.as_bytes(), root, true);
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>().prop_map(|n| serde_json::json!(n)),
        ".{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "id",
                    "number",
                    "status",
                    "lines",
                    "quantity",
                    "unitPrice",
                    "value",
                    "currency",
                    "code",
                    "totals",
                    "grandTotal",
                    "shipments",
                    "userErrors"
                ])
                .prop_map(String::from),
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
