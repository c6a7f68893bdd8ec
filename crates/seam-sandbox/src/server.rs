//! Serving a simulator on a loopback port, and the admin routes every
//! simulator shares (`/_admin/faults`, `/_admin/seed`).

use std::net::SocketAddr;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::faults::{FaultPlan, Faults};

/// A simulator listening on loopback until dropped or stopped.
pub struct RunningServer {
    pub name: &'static str,
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for the server task to end.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Binds `127.0.0.1:port` (0 picks a free port) and serves the router with
/// the fault layer in front of every non-admin route.
pub async fn serve(
    name: &'static str,
    port: u16,
    router: Router,
    faults: Faults,
) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let router = router.merge(admin_fault_routes(faults.clone())).layer(
        axum::middleware::from_fn_with_state(faults, crate::faults::fault_layer),
    );
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async move { stopped.cancelled().await })
            .await;
        if let Err(error) = result {
            tracing::warn!(simulator = name, %error, "simulator server ended with an error");
        }
    });
    Ok(RunningServer {
        name,
        addr,
        stop,
        task: Some(task),
    })
}

#[derive(Deserialize)]
struct SeedRequest {
    seed: u64,
}

fn admin_fault_routes(faults: Faults) -> Router {
    Router::new()
        .route("/_admin/faults", get(get_faults).post(set_faults))
        .route("/_admin/faults/seed", post(reseed))
        .with_state(faults)
}

async fn get_faults(State(faults): State<Faults>) -> Json<FaultPlan> {
    Json(faults.plan())
}

async fn set_faults(State(faults): State<Faults>, Json(plan): Json<FaultPlan>) -> Json<FaultPlan> {
    faults.set_plan(plan.clone());
    Json(plan)
}

async fn reseed(State(faults): State<Faults>, Json(request): Json<SeedRequest>) -> Json<u64> {
    faults.reseed(request.seed);
    Json(request.seed)
}
