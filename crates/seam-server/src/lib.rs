//! Seam's HTTP surface: health, readiness and metrics now; webhook ingress,
//! the operator JSON API and the dashboard as the flows land.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use seam_engine::runner::RunnerStats;
use seam_engine::Store;
use tokio::net::TcpListener;

#[derive(Clone)]
pub struct ServerState {
    pub store: Arc<dyn Store>,
    pub runner: Option<Arc<RunnerStats>>,
}

pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Serves `router` on `listen` until `stop` resolves.
pub async fn serve(
    listen: SocketAddr,
    router: Router,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await
}

/// The process is up.
async fn health() -> &'static str {
    "ok"
}

/// The process can do its work: the database answers.
async fn ready(State(state): State<ServerState>) -> impl IntoResponse {
    match state.store.job_counts().await {
        Ok(_) => (StatusCode::OK, "ready".to_string()),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unavailable: {error}"),
        ),
    }
}

async fn metrics(State(state): State<ServerState>) -> impl IntoResponse {
    let mut out = String::new();
    if let Ok(counts) = state.store.job_counts().await {
        out.push_str("# TYPE seam_jobs gauge\n");
        for (name, value) in [
            ("queued", counts.queued),
            ("running", counts.running),
            ("parked", counts.parked),
        ] {
            out.push_str(&format!("seam_jobs{{state=\"{name}\"}} {value}\n"));
        }
        out.push_str("# TYPE seam_open_exceptions gauge\n");
        out.push_str(&format!(
            "seam_open_exceptions {}\n",
            counts.open_exceptions
        ));
    }
    if let Some(stats) = &state.runner {
        out.push_str("# TYPE seam_jobs_finished_total counter\n");
        for (outcome, counter) in [
            ("done", &stats.done),
            ("retried", &stats.retried),
            ("parked", &stats.parked),
        ] {
            out.push_str(&format!(
                "seam_jobs_finished_total{{outcome=\"{outcome}\"}} {}\n",
                counter.load(Ordering::Relaxed)
            ));
        }
    }
    ([("content-type", "text/plain; version=0.0.4")], out)
}
