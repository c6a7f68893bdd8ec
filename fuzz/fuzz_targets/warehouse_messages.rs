//! The 3PL's messages: a feed page, a signed webhook batch and the per-unit
//! stock snapshot CSV, decoded as the connector does. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seam_connectors::warehouse::{self, FeedPage, Message};

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<FeedPage>(data);
    let _ = serde_json::from_slice::<Vec<Message>>(data);
    let _ = warehouse::parse_snapshot(data);
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (std::str::from_utf8(&data[..at]).ok(), &data[at + 1..]),
        None => (None, data),
    };
    let _ = warehouse::parse_webhook(header, body, b"fuzz-secret", "SEAMTEST", 1_800_000_000);
});
