//! The status page shows real counts and open exceptions, escaped.

use std::sync::Arc;

use seam_engine::store::SqliteStore;
use seam_engine::{JobSpec, NewException, Store};
use seam_model::OwnerTeam;

#[tokio::test]
async fn the_status_page_lists_open_exceptions_by_team() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    store
        .raise_exceptions(
            &[NewException {
                exception_type: "shipping_method_unmapped".into(),
                owner: OwnerTeam::Ops,
                spec: JobSpec::new("orders", "post", "order:1"),
                message: "Order 1001 uses <Express Saturday>".into(),
                fix_hint: "Map it, then resubmit.".into(),
                payload: serde_json::json!({}),
                attempts: 1,
            }],
            0,
        )
        .await
        .unwrap();
    let router = seam_server::router(seam_server::ServerState {
        store,
        runner: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let page = reqwest::get(format!("http://{address}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Open exceptions: 1."), "{page}");
    assert!(
        page.contains("shipping_method_unmapped") && page.contains("Ops"),
        "{page}"
    );
    assert!(
        page.contains("&lt;Express Saturday&gt;"),
        "text is escaped: {page}"
    );
    assert!(!page.contains("<Express Saturday>"));
}
