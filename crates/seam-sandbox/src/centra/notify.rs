//! The Centra Webhook plugin: form-encoded `payload=<JSON>` POSTs signed with
//! `X-Centra-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::state::{WebhookEvent, WebhookTarget};
use crate::webhooks::{Delivery, WebhookSender};

/// The plugin's default "Max number of events per webhook call".
const MAX_EVENTS_PER_CALL: usize = 100;

pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

pub fn send(sender: &WebhookSender, target: &WebhookTarget, events: &[WebhookEvent]) {
    for chunk in events.chunks(MAX_EVENTS_PER_CALL) {
        let json = serde_json::json!({ "events": chunk }).to_string();
        let Ok(body) = serde_urlencoded::to_string([("payload", json.as_str())]) else {
            continue;
        };
        let timestamp = chrono::Utc::now().timestamp();
        let signature = signature(&target.secret, timestamp, body.as_bytes());
        sender.send(Delivery {
            url: target.url.clone(),
            headers: vec![(
                "X-Centra-Signature".into(),
                format!("t={timestamp},v1={signature}"),
            )],
            content_type: "application/x-www-form-urlencoded".into(),
            body: body.into_bytes(),
        });
    }
}
