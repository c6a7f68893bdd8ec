//! On PostgreSQL a connector's request budget is one budget for every
//! process, because the vendor's limit is per account.

use std::sync::Arc;
use std::time::{Duration, Instant};

use seam_engine::governor::{Budget, CallError, CallKind, Governor, GovernorConfig};
use seam_engine::store::PostgresStore;
use seam_engine::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_vendor_budget() {
    let Ok(url) = std::env::var("SEAM_TEST_DATABASE_URL") else {
        eprintln!("SEAM_TEST_DATABASE_URL is not set: skipped");
        return;
    };
    let schema = format!("governor_{}", uuid::Uuid::new_v4().simple());
    let a = PostgresStore::open_in_schema(&url, Some(&schema))
        .await
        .unwrap();
    a.migrate().await.unwrap();
    let b = PostgresStore::open_in_schema(&url, Some(&schema))
        .await
        .unwrap();
    let config = GovernorConfig {
        // 10 mutations per second for the whole account.
        mutations: Some(Budget {
            count: 10,
            window: Duration::from_secs(1),
        }),
        ..GovernorConfig::new("centra")
    };
    let stores: [Arc<dyn Store>; 2] = [Arc::new(a), Arc::new(b)];
    let governors: Vec<Arc<Governor>> = stores
        .iter()
        .map(|s| Arc::new(Governor::new(config.clone(), Some(s.clone()))))
        .collect();
    let started = Instant::now();
    let tasks: Vec<_> = governors
        .iter()
        .map(|governor| {
            let governor = governor.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    governor
                        .call(CallKind::Mutation, || async { Ok::<_, CallError>(()) })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // 20 calls at 10 per second (one may burst) take well over a second
    // together; two private budgets would finish in about one.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1_800),
        "shared budget not enforced: {elapsed:?}"
    );
}
