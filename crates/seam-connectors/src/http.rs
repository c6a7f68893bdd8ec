//! The one way connectors talk HTTP: through a governor, with errors
//! classified the same way for every vendor.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use seam_engine::governor::{parse_retry_after, CallError, CallKind, Governor};
use seam_engine::Failure;

/// An answer as it came back, before the connector reads it.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Decodes a JSON body; a body that does not decode is reported as the
    /// vendor sending something unreadable (transient: proxies and
    /// half-deployed vendors do this, and a retry usually reads it).
    pub fn json<T: serde::de::DeserializeOwned>(&self, system: &str) -> Result<T, CallError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            CallError::Classified(Failure::transient(format!(
                "{system} sent an answer Seam cannot read ({error}): {}",
                truncate(&self.text(), 300)
            )))
        })
    }
}

/// A reqwest client bound to one system's governor.
#[derive(Clone)]
pub struct HttpClient {
    system: &'static str,
    client: reqwest::Client,
    governor: Arc<Governor>,
}

impl HttpClient {
    pub fn new(system: &'static str, governor: Arc<Governor>, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("seam/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        HttpClient {
            system,
            client,
            governor,
        }
    }

    pub fn system(&self) -> &'static str {
        self.system
    }

    pub fn governor(&self) -> &Arc<Governor> {
        &self.governor
    }

    /// Sends the request `build` makes (rebuilt on every retry) and lets
    /// `interpret` turn a 2xx answer into a value or a classified error;
    /// non-2xx answers become `CallError::Status` with Retry-After parsed.
    pub async fn send<T>(
        &self,
        kind: CallKind,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        interpret: impl Fn(RawResponse) -> Result<T, CallError>,
    ) -> Result<T, Failure> {
        self.send_with_errors(kind, build, interpret, |_| None::<Result<T, CallError>>)
            .await
    }

    /// As `send`, letting `interpret_error` read a non-2xx answer's full body
    /// first: `Some(Err(..))` classifies it by the vendor's own error codes,
    /// `Some(Ok(..))` makes it an answer (a 404 meaning "not there"), `None`
    /// falls back to the status-based classification.
    pub async fn send_with_errors<T>(
        &self,
        kind: CallKind,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        interpret: impl Fn(RawResponse) -> Result<T, CallError>,
        interpret_error: impl Fn(&RawResponse) -> Option<Result<T, CallError>>,
    ) -> Result<T, Failure> {
        let system = self.system;
        self.governor
            .call(kind, || {
                let request = build(&self.client);
                let interpret = &interpret;
                let interpret_error = &interpret_error;
                async move {
                    let response = request.send().await.map_err(transport_error)?;
                    let status = response.status();
                    let headers = response.headers().clone();
                    let body = response.bytes().await.map_err(transport_error)?.to_vec();
                    let raw = RawResponse {
                        status,
                        headers,
                        body,
                    };
                    if status.is_success() {
                        return interpret(raw);
                    }
                    if let Some(answer) = interpret_error(&raw) {
                        return answer;
                    }
                    let retry_after = raw
                        .headers
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    Err(CallError::Status {
                        status: status.as_u16(),
                        retry_after,
                        message: format!("{system}: {}", truncate(&raw.text(), 500)),
                    })
                }
            })
            .await
    }
}

fn transport_error(error: reqwest::Error) -> CallError {
    if error.is_timeout() {
        CallError::Timeout
    } else if error.is_connect() {
        CallError::NotSent(error.to_string())
    } else {
        CallError::Transport(error.to_string())
    }
}

pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
