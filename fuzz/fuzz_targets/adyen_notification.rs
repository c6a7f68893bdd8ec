//! Adyen's notification batch: parsed and every item's HMAC checked, as the
//! ingress does. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

const KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";

fuzz_target!(|data: &[u8]| {
    let _ = seam_connectors::adyen::parse_notification(data, KEY);
    // The key itself comes from configuration: any text.
    if let Ok(key) = std::str::from_utf8(data) {
        let _ = seam_connectors::adyen::parse_notification(b"{\"notificationItems\":[]}", key);
    }
});
