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

pub mod ingress;

#[derive(Clone)]
pub struct ServerState {
    pub store: Arc<dyn Store>,
    pub runner: Option<Arc<RunnerStats>>,
}

pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// The largest request body the hub reads on any route (a webhook batch
/// is the largest thing anyone sends it): larger is refused with 413
/// before any handler runs.
pub const MAX_REQUEST_BYTES: usize = ingress::MAX_WEBHOOK_BYTES;

/// Serves `router` on `listen` until `stop` resolves, with the request body
/// limit on every route.
pub async fn serve(
    listen: SocketAddr,
    router: Router,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router.layer(tower_http::limit::RequestBodyLimitLayer::new(
        MAX_REQUEST_BYTES,
    ));
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await
}

/// A plain status page: job counts and the open exceptions by team. The
/// full operator dashboard grows from here.
async fn status_page(State(state): State<ServerState>) -> impl IntoResponse {
    let counts = state.store.job_counts().await;
    let exceptions = state
        .store
        .exceptions(&seam_engine::ExceptionFilter {
            status: Some(seam_engine::ExceptionStatus::Open),
            limit: Some(200),
            ..Default::default()
        })
        .await;
    let mut body = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Seam</title>\
         <style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}\
         table{border-collapse:collapse}td,th{padding:.3rem .7rem;border-bottom:1px solid #ddd;\
         text-align:left}th{background:#f4f4f4}.n{text-align:right}</style></head><body>\
         <h1>Seam</h1>",
    );
    match counts {
        Ok(c) => body.push_str(&format!(
            "<p>Jobs: {} queued, {} running, {} held by exceptions. Open exceptions: {}.</p>",
            c.queued, c.running, c.parked, c.open_exceptions
        )),
        Err(error) => body.push_str(&format!(
            "<p>The database is unavailable: {}</p>",
            escape(&error.to_string())
        )),
    }
    if let Ok(exceptions) = exceptions {
        body.push_str("<h2>Open exceptions</h2>");
        if exceptions.is_empty() {
            body.push_str("<p>None.</p>");
        } else {
            body.push_str("<table><tr><th>id</th><th>team</th><th>type</th><th>entity</th><th class=n>times</th><th>message</th><th>what to do</th></tr>");
            for e in exceptions {
                body.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td>{}</td><td>{}</td></tr>",
                    e.id,
                    e.owner,
                    escape(&e.exception_type),
                    escape(&e.spec.entity_key),
                    e.occurrences,
                    escape(&e.message),
                    escape(&e.fix_hint)
                ));
            }
            body.push_str("</table>");
        }
    }
    body.push_str("<p><a href=\"/health\">health</a> · <a href=\"/ready\">ready</a> · <a href=\"/metrics\">metrics</a></p></body></html>");
    axum::response::Html(body)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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
            ("postponed", &stats.postponed),
        ] {
            out.push_str(&format!(
                "seam_jobs_finished_total{{outcome=\"{outcome}\"}} {}\n",
                counter.load(Ordering::Relaxed)
            ));
        }
    }
    ([("content-type", "text/plain; version=0.0.4")], out)
}
