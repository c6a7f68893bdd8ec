//! Outbound webhook delivery shared by the simulators.
//!
//! A simulator hands each notification to a `WebhookSender`, which posts it
//! to the registered URL in the background, retrying failed deliveries a few
//! times with increasing delay as the real vendors do, and applying the
//! fault plan's drops, duplicates, reordering and delays. Deliveries are recorded
//! so tests and the admin API can inspect them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::faults::Faults;

/// One notification to deliver.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What happened to a delivery attempt.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub url: String,
    pub status: Option<u16>,
    pub attempt: u32,
    pub error: Option<String>,
}

#[derive(Clone)]
pub struct WebhookSender {
    queue: mpsc::UnboundedSender<Delivery>,
    log: Arc<Mutex<Vec<DeliveryRecord>>>,
}

/// Retries after a failed delivery, as Centra's plugin does ("up to 3 with increasing delay").
const RETRY_DELAYS_MS: [u64; 3] = [200, 1_000, 3_000];

/// The longest a delivery is held back to arrive out of order when no
/// later one comes to overtake it.
const HOLD_BACK_AT_MOST: Duration = Duration::from_secs(2);

impl WebhookSender {
    /// Starts the delivery task. Must be called inside a Tokio runtime.
    pub fn start(faults: Faults) -> Self {
        let (queue, mut receiver) = mpsc::unbounded_channel::<Delivery>();
        let log = Arc::new(Mutex::new(Vec::new()));
        let task_log = log.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default();
            let mut held_back: Option<Delivery> = None;
            loop {
                // A delivery held back goes out after the next one, or on its
                // own after a while: late, never lost.
                let next = match held_back {
                    Some(_) => match tokio::time::timeout(HOLD_BACK_AT_MOST, receiver.recv()).await
                    {
                        Ok(next) => next,
                        Err(_) => {
                            if let Some(late) = held_back.take() {
                                spawn_delivery(client.clone(), late, task_log.clone());
                            }
                            continue;
                        }
                    },
                    None => receiver.recv().await,
                };
                let Some(delivery) = next else {
                    if let Some(late) = held_back.take() {
                        spawn_delivery(client.clone(), late, task_log.clone());
                    }
                    break;
                };
                let plan = faults.plan();
                if plan.webhook_drop_rate > 0.0 && faults.draw() < plan.webhook_drop_rate {
                    if let Ok(mut log) = task_log.lock() {
                        log.push(DeliveryRecord {
                            url: delivery.url.clone(),
                            status: None,
                            attempt: 0,
                            error: Some("dropped by the fault plan: never sent".into()),
                        });
                    }
                    continue;
                }
                if let Some((low, high)) = plan.webhook_delay_ms {
                    tokio::time::sleep(Duration::from_millis(faults.draw_range(low, high))).await;
                }
                if held_back.is_none()
                    && plan.webhook_reorder_rate > 0.0
                    && faults.draw() < plan.webhook_reorder_rate
                {
                    faults.count_webhook(false);
                    held_back = Some(delivery);
                    continue;
                }
                let duplicate = plan.webhook_duplicate_rate > 0.0
                    && faults.draw() < plan.webhook_duplicate_rate;
                if duplicate {
                    faults.count_webhook(true);
                }
                spawn_delivery(client.clone(), delivery.clone(), task_log.clone());
                if duplicate {
                    spawn_delivery(client.clone(), delivery, task_log.clone());
                }
                if let Some(late) = held_back.take() {
                    spawn_delivery(client.clone(), late, task_log.clone());
                }
            }
        });
        WebhookSender { queue, log }
    }

    pub fn send(&self, delivery: Delivery) {
        // The receiver lives as long as the runtime; a send after shutdown is moot.
        let _ = self.queue.send(delivery);
    }

    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }
}

fn spawn_delivery(
    client: reqwest::Client,
    delivery: Delivery,
    log: Arc<Mutex<Vec<DeliveryRecord>>>,
) {
    tokio::spawn(async move {
        for attempt in 0..=RETRY_DELAYS_MS.len() {
            let mut request = client
                .post(&delivery.url)
                .header("content-type", &delivery.content_type)
                .body(delivery.body.clone());
            for (name, value) in &delivery.headers {
                request = request.header(name, value);
            }
            let result = request.send().await;
            let (status, error) = match &result {
                Ok(response) => (Some(response.status().as_u16()), None),
                Err(e) => (None, Some(e.to_string())),
            };
            let succeeded = status.is_some_and(|s| (200..300).contains(&s));
            if let Ok(mut log) = log.lock() {
                log.push(DeliveryRecord {
                    url: delivery.url.clone(),
                    status,
                    attempt: attempt as u32 + 1,
                    error,
                });
            }
            if succeeded {
                return;
            }
            if let Some(delay) = RETRY_DELAYS_MS.get(attempt) {
                tokio::time::sleep(Duration::from_millis(*delay)).await;
            }
        }
    });
}
