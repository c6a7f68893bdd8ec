//! Inbound Centra Webhook plugin calls ("Integration API" version): a
//! form-encoded `payload=<urlencoded JSON {"events":[...]}>` body, signed with
//! `X-Centra-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
//! Pure functions: verify first (constant time, 300 s window), then decode.
//! Never panics on any input.

use serde::Deserialize;

use crate::signature::{verify_timestamped, SignatureError};

/// The header Centra signs with.
pub const SIGNATURE_HEADER: &str = "x-centra-signature";
/// Allowed clock difference between Centra's `t=` and ours.
pub const TOLERANCE_SECS: i64 = 300;
/// Larger bodies are refused before any work: the plugin sends at most 100
/// events per call (its default), about 10 KiB.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook body is {0} bytes, more than the {MAX_BODY_BYTES} allowed")]
    TooLarge(usize),
    #[error("the webhook signature was refused: {0}")]
    Signature(#[from] SignatureError),
    #[error("the webhook body is not a Centra payload: {0}")]
    Malformed(String),
}

/// Object types the plugin reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookObjectType {
    Order,
    Shipment,
    Customer,
    Account,
    Return,
    #[serde(other)]
    Unknown,
}

/// Actions seen in Centra's docs; the full vocabulary is undocumented, so
/// anything else is `Unknown` rather than an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookAction {
    Insert,
    Create,
    Update,
    GoodToGo,
    Delete,
    #[serde(other)]
    Unknown,
}

/// One event: `{"type","action","date","id"}`. `id` is the order number for
/// orders and the object id otherwise (as in the events queue).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WebhookEvent {
    #[serde(rename = "type")]
    pub object_type: WebhookObjectType,
    pub action: WebhookAction,
    /// Centra's text form, e.g. "2021-01-29 14:40:58.628033" (no zone).
    pub date: String,
    pub id: i64,
}

impl WebhookEvent {
    /// A key unique per delivery of one change, for the journal's dedupe.
    pub fn dedupe_key(&self) -> String {
        format!(
            "{:?}:{:?}:{}:{}",
            self.object_type, self.action, self.id, self.date
        )
    }
}

#[derive(Deserialize)]
struct Payload {
    events: Vec<WebhookEvent>,
}

/// Verifies and decodes one call. `headers` are the request's headers,
/// `body` the raw bytes exactly as received.
pub fn parse_webhook(
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    secret: &[u8],
    now_unix: i64,
) -> Result<Vec<WebhookEvent>, WebhookError> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    parse_signed(signature, body, secret, now_unix)
}

/// As `parse_webhook`, given the signature header's value.
pub fn parse_signed(
    signature: Option<&str>,
    body: &[u8],
    secret: &[u8],
    now_unix: i64,
) -> Result<Vec<WebhookEvent>, WebhookError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(WebhookError::TooLarge(body.len()));
    }
    verify_timestamped(secret, signature, body, now_unix, TOLERANCE_SECS)?;
    decode_body(body)
}

/// Decodes `payload=<urlencoded JSON>` (other form fields are ignored).
pub fn decode_body(body: &[u8]) -> Result<Vec<WebhookEvent>, WebhookError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| WebhookError::Malformed("the body is not UTF-8".into()))?;
    let mut payload = None;
    for pair in text.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if form_decode(name)? == "payload" {
            payload = Some(form_decode(value)?);
            break;
        }
    }
    let json = payload.ok_or_else(|| WebhookError::Malformed("no payload field".into()))?;
    let payload: Payload = serde_json::from_str(&json)
        .map_err(|e| WebhookError::Malformed(format!("payload JSON: {e}")))?;
    Ok(payload.events)
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn form_decode(text: &str) -> Result<String, WebhookError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| WebhookError::Malformed("bad percent escape".into()))?;
                out.push(hex);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| WebhookError::Malformed("payload is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::hmac_sha256;

    fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
        let mut message = t.to_string().into_bytes();
        message.push(b'.');
        message.extend_from_slice(body);
        format!("t={t},v1={}", hex::encode(hmac_sha256(secret, &message)))
    }

    const BODY: &[u8] = b"payload=%7B%22events%22%3A%5B%7B%22type%22%3A%22order%22%2C%22action%22%3A%22update%22%2C%22date%22%3A%222021-01-29+14%3A40%3A58.628033%22%2C%22id%22%3A2735%7D%2C%7B%22type%22%3A%22shipment%22%2C%22action%22%3A%22good_to_go%22%2C%22date%22%3A%222021-01-29+14%3A40%3A58.628239%22%2C%22id%22%3A1902%7D%5D%7D";

    #[test]
    fn the_documented_example_decodes() {
        let header = sign(b"k", 1_000, BODY);
        let events = parse_signed(Some(&header), BODY, b"k", 1_100).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].object_type, WebhookObjectType::Order);
        assert_eq!(events[0].action, WebhookAction::Update);
        assert_eq!(events[0].date, "2021-01-29 14:40:58.628033");
        assert_eq!(events[1].action, WebhookAction::GoodToGo);
        assert_eq!(events[1].id, 1902);
    }

    #[test]
    fn bad_input_is_a_typed_error_never_a_panic() {
        let header = sign(b"k", 1_000, BODY);
        assert!(matches!(
            parse_signed(Some(&header), BODY, b"other", 1_000),
            Err(WebhookError::Signature(SignatureError::Mismatch))
        ));
        assert!(matches!(
            parse_signed(Some(&header), BODY, b"k", 1_000 + 301),
            Err(WebhookError::Signature(SignatureError::Stale))
        ));
        let big = vec![b'a'; MAX_BODY_BYTES + 1];
        assert!(matches!(
            parse_signed(None, &big, b"k", 0),
            Err(WebhookError::TooLarge(_))
        ));
        for body in [
            &b"payload=%ZZ"[..],
            b"payload=%7",
            b"nothing=1",
            b"payload=%7B%7D",
            b"\xff\xfe",
        ] {
            let header = sign(b"k", 5, body);
            assert!(matches!(
                parse_signed(Some(&header), body, b"k", 5),
                Err(WebhookError::Malformed(_))
            ));
        }
    }
}
