//! Reveni's thin webhook: the shared-secret header and the JSON envelope,
//! as the ingress checks them. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reqwest::header::{HeaderMap, HeaderValue};

fuzz_target!(|data: &[u8]| {
    let (secret, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b""[..], data),
    };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(secret) {
        headers.insert("x-reveni-secret", value);
    }
    let _ =
        seam_connectors::reveni::parse_webhook(&headers, body, "x-reveni-secret", "fuzz-secret");
    // The right secret, so the envelope decoding is reached every time.
    headers.insert("x-reveni-secret", HeaderValue::from_static("fuzz-secret"));
    let _ =
        seam_connectors::reveni::parse_webhook(&headers, body, "x-reveni-secret", "fuzz-secret");
});
