//! The front door: what a load balancer does for several hubs. Vendors
//! send their webhooks to one address; each request goes to the hubs in
//! turn and, when one cannot be reached (killed, restarting), to the next.
//! When none answers, the vendor gets 502 and retries as it would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct Upstreams {
    hubs: Arc<Vec<SocketAddr>>,
    next: Arc<AtomicUsize>,
    client: reqwest::Client,
}

pub struct FrontDoor {
    pub address: SocketAddr,
    stop: CancellationToken,
}

impl FrontDoor {
    pub async fn start(hubs: Vec<SocketAddr>) -> anyhow::Result<FrontDoor> {
        let upstreams = Upstreams {
            hubs: Arc::new(hubs),
            next: Arc::new(AtomicUsize::new(0)),
            client: super::hubs::reqwest_client(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let router = axum::Router::new().fallback(forward).with_state(upstreams);
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await;
        });
        Ok(FrontDoor { address, stop })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for FrontDoor {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn forward(
    State(upstreams): State<Upstreams>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let count = upstreams.hubs.len();
    let first = upstreams.next.fetch_add(1, Ordering::Relaxed);
    for offset in 0..count {
        let hub = upstreams.hubs[(first + offset) % count];
        let mut request = upstreams
            .client
            .request(method.clone(), format!("http://{hub}{path}"))
            .body(body.clone());
        for (name, value) in &headers {
            if name != "host" && name != "content-length" {
                request = request.header(name, value);
            }
        }
        match request.send().await {
            Ok(answer) => {
                let status = StatusCode::from_u16(answer.status().as_u16())
                    .unwrap_or(StatusCode::BAD_GATEWAY);
                let content_type = answer.headers().get("content-type").cloned();
                let body = answer.bytes().await.unwrap_or_default();
                let mut response = (status, body).into_response();
                if let Some(content_type) = content_type {
                    response.headers_mut().insert("content-type", content_type);
                }
                return response;
            }
            // Not reachable (down, or died mid-request): the next hub.
            Err(_) => continue,
        }
    }
    (StatusCode::BAD_GATEWAY, "no hub is reachable").into_response()
}
