//! The shared fault layer over real HTTP: what a client sees.

use std::time::{Duration, Instant};

use seam_sandbox::faults::FaultPlan;

async fn adyen() -> (seam_sandbox::server::RunningServer, reqwest::Client) {
    let (_, server) = seam_sandbox::adyen::start(Default::default(), 3, 0)
        .await
        .unwrap();
    (
        server,
        reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap(),
    )
}

async fn set_plan(client: &reqwest::Client, base: &str, plan: &FaultPlan) {
    let response = client
        .post(format!("{base}/_admin/faults"))
        .json(plan)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

#[tokio::test]
async fn faults_look_to_a_client_as_the_real_thing_would() {
    let (server, client) = adyen().await;
    let base = server.base_url();
    let target = format!("{base}/v71/payments/NOPE/captures");

    set_plan(
        &client,
        &base,
        &FaultPlan {
            rate_limit_rate: 1.0,
            retry_after_secs: 7,
            ..Default::default()
        },
    )
    .await;
    let response = client.post(&target).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");

    set_plan(
        &client,
        &base,
        &FaultPlan {
            drop_rate: 1.0,
            ..Default::default()
        },
    )
    .await;
    let dropped = async { client.post(&target).send().await?.bytes().await };
    assert!(
        dropped.await.is_err(),
        "a dropped connection is an error, not an answer"
    );

    set_plan(
        &client,
        &base,
        &FaultPlan {
            timeout_rate: 1.0,
            hang_ms: 300,
            ..Default::default()
        },
    )
    .await;
    let started = Instant::now();
    let response = client.post(&target).send().await.unwrap();
    assert_eq!(response.status(), 504);
    assert!(started.elapsed() >= Duration::from_millis(300));

    set_plan(
        &client,
        &base,
        &FaultPlan {
            latency_ms: Some((150, 150)),
            ..Default::default()
        },
    )
    .await;
    let started = Instant::now();
    let response = client.post(&target).send().await.unwrap();
    assert_ne!(response.status(), 504);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "latency added before the real answer"
    );

    set_plan(
        &client,
        &base,
        &FaultPlan {
            error_rate: 1.0,
            ..Default::default()
        },
    )
    .await;
    let response = client.post(&target).send().await.unwrap();
    assert!(response.status().is_server_error());

    // The admin API itself is never faulted, so a test can always turn faults off.
    set_plan(&client, &base, &FaultPlan::default()).await;
    let response = client.post(&target).send().await.unwrap();
    assert_eq!(
        response.status(),
        401,
        "back to the simulator's own answer (no API key)"
    );
}

/// A webhook held back to arrive out of order is delivered late when no
/// later one comes to overtake it, never dropped (the last notification of
/// a quiet period used to wait forever for a successor).
#[tokio::test]
async fn a_held_back_webhook_is_delivered_late_not_lost() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use seam_sandbox::faults::Faults;
    use seam_sandbox::webhooks::{Delivery, WebhookSender};

    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let faults = Faults::new(9);
    faults.set_plan(FaultPlan {
        webhook_reorder_rate: 1.0,
        ..Default::default()
    });
    let sender = WebhookSender::start(faults.clone());
    sender.send(Delivery {
        url,
        headers: vec![],
        content_type: "application/json".into(),
        body: b"{}".to_vec(),
    });
    let started = Instant::now();
    while received.load(Ordering::SeqCst) == 0 && started.elapsed() < Duration::from_secs(6) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(received.load(Ordering::SeqCst), 1, "delivered, late");
    assert_eq!(faults.counts().webhook_reordered, 1);
}
