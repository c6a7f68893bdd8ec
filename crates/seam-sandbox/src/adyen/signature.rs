//! The HMAC signature of Adyen standard notifications: HMAC-SHA256 with the
//! hex-decoded key over
//! `pspReference:originalReference:merchantAccountCode:merchantReference:amount.value:amount.currency:eventCode:success`,
//! each field with `\` and `:` escaped, missing fields as empty strings,
//! base64-encoded. The simulator signs with it; tests can verify with it.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::vendor::NotificationRequestItem;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the HMAC key is not valid hex")]
    KeyNotHex,
    #[error("the HMAC key is empty")]
    EmptyKey,
}

/// The eight signed fields of a notification.
#[derive(Debug, Clone, Copy)]
pub struct SignedFields<'a> {
    pub psp_reference: &'a str,
    pub original_reference: &'a str,
    pub merchant_account_code: &'a str,
    pub merchant_reference: &'a str,
    pub value: i64,
    pub currency: &'a str,
    pub event_code: &'a str,
    pub success: &'a str,
}

impl<'a> SignedFields<'a> {
    pub fn of(item: &'a NotificationRequestItem) -> Self {
        SignedFields {
            psp_reference: &item.psp_reference,
            original_reference: item.original_reference.as_deref().unwrap_or(""),
            merchant_account_code: &item.merchant_account_code,
            merchant_reference: &item.merchant_reference,
            value: item.amount.value,
            currency: &item.amount.currency,
            event_code: item.event_code.as_str(),
            success: &item.success,
        }
    }
}

fn escape(field: &str) -> String {
    field.replace('\\', "\\\\").replace(':', "\\:")
}

/// The string that is signed.
pub fn signing_payload(fields: &SignedFields<'_>) -> String {
    let value = fields.value.to_string();
    [
        fields.psp_reference,
        fields.original_reference,
        fields.merchant_account_code,
        fields.merchant_reference,
        value.as_str(),
        fields.currency,
        fields.event_code,
        fields.success,
    ]
    .iter()
    .map(|field| escape(field))
    .collect::<Vec<_>>()
    .join(":")
}

fn mac(hmac_key_hex: &str, fields: &SignedFields<'_>) -> Result<HmacSha256, SignatureError> {
    let key = hex::decode(hmac_key_hex.trim()).map_err(|_| SignatureError::KeyNotHex)?;
    if key.is_empty() {
        return Err(SignatureError::EmptyKey);
    }
    let mut mac = HmacSha256::new_from_slice(&key).map_err(|_| SignatureError::EmptyKey)?;
    mac.update(signing_payload(fields).as_bytes());
    Ok(mac)
}

/// The base64 `hmacSignature` for these fields.
pub fn sign(hmac_key_hex: &str, fields: &SignedFields<'_>) -> Result<String, SignatureError> {
    let tag = mac(hmac_key_hex, fields)?.finalize().into_bytes();
    Ok(base64::engine::general_purpose::STANDARD.encode(tag))
}

/// Whether `signature` (base64) is the right one, compared in constant time.
pub fn verify(hmac_key_hex: &str, fields: &SignedFields<'_>, signature: &str) -> bool {
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    match mac(hmac_key_hex, fields) {
        Ok(mac) => mac.verify_slice(&expected).is_ok(),
        Err(_) => false,
    }
}

/// Verifies a received item against its own `additionalData.hmacSignature`.
pub fn verify_item(hmac_key_hex: &str, item: &NotificationRequestItem) -> bool {
    item.hmac_signature()
        .is_some_and(|signature| verify(hmac_key_hex, &SignedFields::of(item), signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";

    fn fields(merchant_reference: &str) -> SignedFields<'_> {
        SignedFields {
            psp_reference: "7914073381342284",
            original_reference: "",
            merchant_account_code: "TestMerchant",
            merchant_reference,
            value: 1130,
            currency: "EUR",
            event_code: "AUTHORISATION",
            success: "true",
        }
    }

    #[test]
    fn payload_escapes_colons_and_backslashes_and_keeps_empty_fields() {
        let payload = signing_payload(&fields(r"order:1\a"));
        assert_eq!(
            payload,
            r"7914073381342284::TestMerchant:order\:1\\a:1130:EUR:AUTHORISATION:true"
        );
    }

    #[test]
    fn a_signature_verifies_and_a_tampered_field_does_not() {
        let signature = sign(KEY, &fields("TestPayment-1407325143704")).expect("valid key");
        assert!(verify(
            KEY,
            &fields("TestPayment-1407325143704"),
            &signature
        ));
        assert!(!verify(KEY, &fields("TestPayment-other"), &signature));
        assert!(!verify(
            "00",
            &fields("TestPayment-1407325143704"),
            &signature
        ));
    }

    #[test]
    fn a_key_that_is_not_hex_is_refused() {
        assert_eq!(sign("zz", &fields("x")), Err(SignatureError::KeyNotHex));
        assert_eq!(sign("", &fields("x")), Err(SignatureError::EmptyKey));
    }
}
