//! OAuth 2.0 client credentials (machine to machine) as NetSuite does it: a
//! JWT client assertion exchanged for a 1-hour bearer token, and the bearer
//! check every record request passes.
//!
//! Simplification (inferred, deliberate): real NetSuite verifies the JWT's
//! PS256/ES256 signature against the certificate uploaded for the client.
//! The simulator decodes the header and claims and checks `iss`, `scope`,
//! `aud`, `iat` and `exp`, but does not verify the signature.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::error::NsError;
use super::SharedState;

pub const TOKEN_PATH: &str = "/services/rest/auth/oauth2/v1/token";
const ALGORITHMS: &[&str] = &["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn decode_part(part: &str) -> Option<Value> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Checks a client assertion's header and claims; the reason on refusal.
pub fn check_assertion(
    assertion: &str,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<(), &'static str> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, _signature] = parts.as_slice() else {
        return Err("The client assertion is not a JWT.");
    };
    let header = decode_part(header).ok_or("The JWT header cannot be decoded.")?;
    let claims = decode_part(claims).ok_or("The JWT payload cannot be decoded.")?;
    let algorithm = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !ALGORITHMS.contains(&algorithm) {
        return Err("Unsupported JWT algorithm.");
    }
    if header.get("kid").and_then(Value::as_str).is_none() {
        return Err("The JWT header has no kid (certificate id).");
    }
    if claims.get("iss").and_then(Value::as_str) != Some(client_id) {
        return Err("Unknown client (iss).");
    }
    let scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !scope
        .split([',', ' '])
        .any(|s| s.trim() == "rest_webservices")
    {
        return Err("The scope must include rest_webservices.");
    }
    // The audience is the token URL. The simulator runs on loopback under any
    // host, so it accepts any URL ending in the token path (inferred).
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud.ends_with(TOKEN_PATH),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| aud.ends_with(TOKEN_PATH)),
        _ => false,
    };
    if !audience_ok {
        return Err("The audience (aud) must be the token endpoint URL.");
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or("The JWT has no iat.")?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or("The JWT has no exp.")?;
    let now = now.timestamp();
    if exp <= now {
        return Err("The JWT has expired.");
    }
    if exp - iat > 3600 || exp < iat {
        return Err("exp must be no more than 60 minutes after iat.");
    }
    if iat > now + 60 {
        return Err("iat is in the future.");
    }
    Ok(())
}

/// `POST /services/rest/auth/oauth2/v1/token`.
pub async fn token(State(shared): State<SharedState>, body: String) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, v)| v.as_str())
    };
    if field("grant_type") != Some("client_credentials") {
        return oauth_error(
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    if field("client_assertion_type")
        != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    {
        return oauth_error(
            "invalid_request",
            "client_assertion_type must be jwt-bearer",
        );
    }
    let Some(assertion) = field("client_assertion") else {
        return oauth_error("invalid_request", "client_assertion is missing");
    };
    let now = Utc::now();
    if let Err(reason) = check_assertion(assertion, &shared.config.client_id, now) {
        return oauth_error("invalid_grant", reason);
    }
    let ttl = shared.config.token_ttl_secs;
    let access_token = format!("ns-{}", uuid::Uuid::new_v4().simple());
    shared
        .lock()
        .tokens
        .insert(access_token.clone(), now + Duration::seconds(ttl));
    // NetSuite sends expires_in as a string.
    Json(json!({ "access_token": access_token, "token_type": "Bearer", "expires_in": ttl.to_string() }))
        .into_response()
}

/// The bearer check on every record request.
pub fn check_bearer(shared: &SharedState, headers: &HeaderMap) -> Result<(), NsError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(NsError::unauthorized)?;
    if shared.config.static_token.as_deref() == Some(token) {
        return Ok(());
    }
    let state = shared.lock();
    match state.tokens.get(token) {
        Some(expires) if *expires > Utc::now() => Ok(()),
        _ => Err(NsError::unauthorized()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: Value, claims: Value) -> String {
        let encode = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        format!("{}.{}.c2ln", encode(&header), encode(&claims))
    }

    #[test]
    fn assertions_are_checked_claim_by_claim() {
        let now = Utc::now();
        let header = json!({"alg": "PS256", "typ": "JWT", "kid": "cert-1"});
        let claims = |iss: &str, scope: &str, exp_in: i64| {
            json!({"iss": iss, "scope": scope, "aud": format!("https://x{TOKEN_PATH}"),
                   "iat": now.timestamp(), "exp": now.timestamp() + exp_in})
        };
        assert!(check_assertion(
            &jwt(header.clone(), claims("c", "rest_webservices", 600)),
            "c",
            now
        )
        .is_ok());
        assert!(check_assertion(
            &jwt(
                header.clone(),
                claims("c", "restlets,rest_webservices", 600)
            ),
            "c",
            now
        )
        .is_ok());
        assert!(check_assertion(
            &jwt(header.clone(), claims("other", "rest_webservices", 600)),
            "c",
            now
        )
        .is_err());
        assert!(
            check_assertion(&jwt(header.clone(), claims("c", "restlets", 600)), "c", now).is_err()
        );
        assert!(check_assertion(
            &jwt(header.clone(), claims("c", "rest_webservices", 7200)),
            "c",
            now
        )
        .is_err());
        assert!(check_assertion(
            &jwt(json!({"alg": "none"}), claims("c", "rest_webservices", 600)),
            "c",
            now
        )
        .is_err());
        assert!(check_assertion("not-a-jwt", "c", now).is_err());
    }
}
