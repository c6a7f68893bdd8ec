//! Centra's webhook plugin call: the signature header and the form body,
//! checked and decoded as the ingress does. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seam_connectors::centra::webhook;

fuzz_target!(|data: &[u8]| {
    // The first line is the X-Centra-Signature header, the rest the body.
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b""[..], data),
    };
    let header = std::str::from_utf8(header).ok();
    let _ = webhook::parse_signed(header, body, b"fuzz-secret", 1_800_000_000);
    let _ = webhook::decode_body(body);
    if let Some(header) = header {
        let _ = seam_connectors::signature::verify_timestamped(
            b"fuzz-secret",
            Some(header),
            body,
            i64::MAX,
            300,
        );
        let _ = seam_connectors::signature::verify_timestamped(
            b"fuzz-secret",
            Some(header),
            body,
            i64::MIN,
            300,
        );
    }
});
