//! Webhook signature checks shared by connectors: HMAC-SHA256 compared in
//! constant time, with a timestamp window against replays.

use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature header is malformed: {0}")]
    Malformed(String),
    #[error("the signature's timestamp is outside the allowed window")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

/// HMAC-SHA256 of `message` under `secret`.
pub fn hmac_sha256(secret: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Whether `expected` equals the HMAC of `message`, in constant time.
pub fn verify_hmac_sha256(secret: &[u8], message: &[u8], expected: &[u8]) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(message);
    mac.verify_slice(expected).is_ok()
}

/// Verifies a `t=<unix>,v1=<hex>` header over `"<t>.<raw body>"`, the scheme
/// of Centra's webhook plugin (and the one the 3PL simulator follows).
pub fn verify_timestamped(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed("t is not a number".into()))?,
                )
            }
            Some(("v1", value)) => signatures.push(
                hex::decode(value)
                    .map_err(|_| SignatureError::Malformed("v1 is not hex".into()))?,
            ),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| SignatureError::Malformed("no t=".into()))?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed("no v1=".into()));
    }
    // `abs_diff`: a timestamp from the far ends of time (the sender's to
    // choose) is stale, not an arithmetic overflow.
    if now_unix.abs_diff(timestamp) > tolerance_secs.max(0).unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let mut message = timestamp.to_string().into_bytes();
    message.push(b'.');
    message.extend_from_slice(body);
    if signatures
        .iter()
        .any(|s| verify_hmac_sha256(secret, &message, s))
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(secret: &[u8], t: i64, body: &[u8]) -> String {
        let mut message = t.to_string().into_bytes();
        message.push(b'.');
        message.extend_from_slice(body);
        format!("t={t},v1={}", hex::encode(hmac_sha256(secret, &message)))
    }

    #[test]
    fn timestamped_signatures_are_checked_and_windowed() {
        let body = b"payload=%7B%7D";
        let good = header(b"s3cret", 1_000, body);
        assert_eq!(
            verify_timestamped(b"s3cret", Some(&good), body, 1_010, 300),
            Ok(())
        );
        assert_eq!(
            verify_timestamped(b"other", Some(&good), body, 1_010, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_timestamped(b"s3cret", Some(&good), b"payload=x", 1_010, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_timestamped(b"s3cret", Some(&good), body, 2_000, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_timestamped(b"s3cret", None, body, 1_000, 300),
            Err(SignatureError::Missing)
        );
        assert!(matches!(
            verify_timestamped(b"s3cret", Some("t=x,v1=00"), body, 1_000, 300),
            Err(SignatureError::Malformed(_))
        ));
        // Found by the property tests: a timestamp at the far end of time
        // overflowed the window's subtraction (a panic on outside input).
        let far = header(b"s3cret", i64::MIN, body);
        assert_eq!(
            verify_timestamped(b"s3cret", Some(&far), body, 1_000, 300),
            Err(SignatureError::Stale)
        );
    }
}
